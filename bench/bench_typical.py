"""Typical sizes, as a user runs them (issue 14, part 3): each command in its own process,
process start-up included, warm (one untimed run first), median of ``--repeat`` runs.

- ``custseg demo`` (Mall, 200 customers)
- ``custseg segment`` on a generated 10,000 x 20 table
- ``custseg segment`` on a generated 8,950 x 17 credit-card-like table (skewed balances and
  payments, purchase counts, shares within 0-1, a tenure in months)
- ``custseg score`` of 50 customers with the demo's model (made by this code)
- ``custseg compare-methods`` on Mall

and, as the baseline of the same run, the floor every command stands on: a Python process
that only imports pandas and scikit-learn's K-Means (``python -c "import pandas,
sklearn.cluster"``).  Machines differ by 2x in start-up alone (a slow VM imports scikit-learn
in 2 s, a quick one in 0.8 s), so each row also gives its time over the floor's.

    python bench/bench_typical.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGETS = {"demo": 1.5, "10k x 20": 3.0, "8,950 x 17": 5.0, "score 50": 1.0,
           "compare-methods": 15.0}


def wide_table(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    """Five planted groups; every fourth column skewed money, counts, shares, measures."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (5, cols))
    X = centres[rng.integers(0, 5, rows)] + rng.normal(0, 1, (rows, cols))
    data: dict[str, object] = {"customer_id": [f"C{i:06d}" for i in range(rows)]}
    for j in range(cols):
        v = X[:, j]
        v = (np.exp(v / 3) * 100 if j % 4 == 0 else np.round(np.abs(v) * 3) if j % 4 == 1
             else 1 / (1 + np.exp(-v)) if j % 4 == 2 else v)
        data[f"feature_{j}"] = np.round(v, 3)
    pd.DataFrame(data).to_csv(path, index=False)


def credit_table(path: Path, rows: int = 8950, seed: int = 0) -> None:
    """A credit-card usage table shaped like the public CC General data (17 columns)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 4, rows)
    spend = rng.lognormal(np.array([5, 6.5, 7.5, 4])[group], 1.0)
    advance = np.where(group == 3, rng.lognormal(7, 1, rows), 0) * (rng.random(rows) < 0.6)
    share = lambda a, b: np.clip(rng.beta(a, b, rows), 0, 1)  # noqa: E731
    df = pd.DataFrame({
        "CUST_ID": [f"C{10001 + i}" for i in range(rows)],
        "BALANCE": np.round(rng.lognormal(np.array([6, 7, 7.5, 8])[group], 1.0), 2),
        "BALANCE_FREQUENCY": np.round(share(8, 1), 6),
        "PURCHASES": np.round(spend, 2),
        "ONEOFF_PURCHASES": np.round(spend * share(2, 3), 2),
        "INSTALLMENTS_PURCHASES": np.round(spend * share(2, 3), 2),
        "CASH_ADVANCE": np.round(advance, 2),
        "PURCHASES_FREQUENCY": np.round(share(2, 2), 6),
        "ONEOFF_PURCHASES_FREQUENCY": np.round(share(1, 3), 6),
        "PURCHASES_INSTALLMENTS_FREQUENCY": np.round(share(1, 2), 6),
        "CASH_ADVANCE_FREQUENCY": np.round(np.where(advance > 0, share(1, 4), 0), 6),
        "CASH_ADVANCE_TRX": np.where(advance > 0, rng.poisson(4, rows), 0),
        "PURCHASES_TRX": rng.poisson(np.array([5, 15, 40, 2])[group]),
        "CREDIT_LIMIT": np.round(rng.lognormal(8.2, 0.6, rows), -2),
        "PAYMENTS": np.round(rng.lognormal(7, 1.1, rows), 2),
        "MINIMUM_PAYMENTS": np.round(rng.lognormal(6, 1.2, rows), 2),
        "PRC_FULL_PAYMENT": np.round(np.where(rng.random(rows) < 0.6, 0, share(2, 2)), 6),
        "TENURE": rng.choice([6, 8, 10, 11, 12], rows, p=[.03, .03, .04, .05, .85]),
    })
    df.drop(columns=["BALANCE_FREQUENCY"]).to_csv(path, index=False)


#: The baseline: a process importing what every command imports.
FLOOR = [sys.executable, "-c", "import pandas, sklearn.cluster"]


def timed(args: list[str], repeat: int, cwd: Path, baseline: str | None = None
          ) -> tuple[list[float], list[float]]:
    """Wall times of ``repeat`` runs after a warm-up; with ``baseline`` (the ``src`` folder
    of another commit), the same command run with that code alternates with this one's."""
    exe = Path(sys.executable).with_name("custseg")
    env = {**os.environ, "COLUMNS": "120"}
    # with a baseline, both codes come through PYTHONPATH: the same import search for both
    here = str(Path(__file__).resolve().parents[1] / "src")
    envs = ([{**env, "PYTHONPATH": here}, {**env, "PYTHONPATH": baseline}] if baseline
            else [env])
    argv = args if args and args[0] == sys.executable else [str(exe), *args]
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat + 1):
        for which, e in enumerate(envs):
            t0 = time.perf_counter()
            proc = subprocess.run(argv, cwd=cwd, env=e, capture_output=True, text=True)
            elapsed = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"{args}: exit {proc.returncode}\n{proc.stderr}")
            if i:  # the first run warms the file cache and Numba's
                times[which].append(elapsed)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline-src", help="the src folder of another commit (git archive "
                    "COMMIT src | tar -x -C DIR): its runs alternate with this code's")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="custseg-typical-"))
    try:
        from custseg.io import demo_data_path

        mall = demo_data_path()
        wide_table(work / "t10k.csv", 10_000, 20)
        credit_table(work / "credit.csv")
        (work / "m50.csv").write_text(
            "\n".join(mall.read_text("utf-8").splitlines()[:51]) + "\n", "utf-8")
        # the model scored: made by this code (the demo runs below rewrite demo/ with
        # either code; a model of this code is what its users score, and the baseline's
        # code scores it too)
        here = str(Path(__file__).resolve().parents[1] / "src")
        subprocess.run([str(Path(sys.executable).with_name("custseg")), "demo", "--out",
                        str(work / "model-demo"), "-q"], check=True,
                       env={**os.environ, "PYTHONPATH": here})
        runs = {
            "demo": ["demo", "--out", "demo", "-q"],
            "10k x 20": ["segment", "t10k.csv", "--out", "t10k", "--force", "-q"],
            "8,950 x 17": ["segment", "credit.csv", "--out", "credit", "--force", "-q"],
            "score 50": ["score", "model-demo/model", "m50.csv", "--out", "s.csv", "--force", "-q"],
            "compare-methods": ["compare-methods", str(mall), "--out", "cmp", "--force",
                                "-q"],
        }
        sys.path.insert(0, str(Path(__file__).parent))
        from machine import machine

        print(f"machine: {machine()}")
        floor = statistics.median(timed(FLOOR, args.repeat, work)[0])
        base = args.baseline_src
        extra = " | baseline median | baseline runs | this / baseline" if base else ""
        print(f"| run | target | median | runs | median / floor{extra} |\n"
              "|---|---|---|---|---|" + ("---|---|---|" if base else ""))
        print(f"| floor: import pandas, sklearn.cluster | | {floor:.2f} s | | 1.0 |"
              + (" | | |" if base else ""))
        for name, cmd in runs.items():
            times, before = timed(cmd, args.repeat, work, base)
            med = statistics.median(times)
            row = (f"| {name} | {TARGETS[name]:g} s | {med:.2f} s | "
                   + ", ".join(f"{t:.2f}" for t in times) + f" | {med / floor:.1f} |")
            if base:
                old = statistics.median(before)
                row += (f" {old:.2f} s | " + ", ".join(f"{t:.2f}" for t in before)
                        + f" | {med / old:.2f} |")
            print(row, flush=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
