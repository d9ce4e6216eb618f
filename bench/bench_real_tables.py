"""The default run on real customer tables, end to end: `custseg segment FILE --out DIR -q`
as a user types it (a new process each time: start-up, read, roles, k chosen, fit,
profiles, report, model and every output written), wall time and peak RSS.

Each table runs ``--repeat`` times (median and range reported) after one untimed warm-up run
(so the numba and import caches are warm; the warm-up time is reported apart as "cold").
The machine (CPU model and flags, cores, load average) is printed with the table.  Run:

    .venv/bin/python bench/bench_real_tables.py                       # bank + credit card
    .venv/bin/python bench/bench_real_tables.py --tables wholesale_customers bank_marketing
    # and the same runs of another checkout (e.g. the commit before issue 12) as a baseline:
    git worktree add /tmp/base 49fabd8
    .venv/bin/python bench/bench_real_tables.py --baseline-src /tmp/base/src

Target (issue 12): bank_marketing (45,211 x 17) and credit_card_clients (30,000 x 25)
each at most 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine  # bench/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def run_once(exe: list[str], path: Path, out: Path, env: dict[str, str] | None = None
             ) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one default run."""
    t0 = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-f", "%M", *exe, "segment", str(path), "--out",
                          str(out), "--force", "-q"], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"custseg failed on {path}:\n{res.stderr}")
    rss_kb = float(res.stderr.strip().splitlines()[-1])
    return wall, rss_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", nargs="+", default=["bank_marketing", "credit_card_clients"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help="also run `python -m custseg.cli` with this src folder first on "
                        "PYTHONPATH (another checkout), in the same process run")
    args = parser.parse_args()
    versions: list[tuple[str, list[str], dict[str, str] | None]] = []
    if args.baseline_src is not None:
        env = {**os.environ, "PYTHONPATH": str(args.baseline_src.resolve())}
        versions.append(("baseline", [sys.executable, "-m", "custseg.cli"], env))
    versions.append(("this", [str(Path(sys.executable).with_name("custseg"))], None))
    print(f"machine: {machine()}")
    print("| version | table | rows x cols | k | cold (s) | warm median (s) | warm range (s) "
          "| peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tables:
            path = DATA / f"{name}.csv"
            for version, exe, env in versions:
                out = Path(tmp) / f"{version}-{name}"
                cold, _ = run_once(exe, path, out, env)
                runs = [run_once(exe, path, out, env) for _ in range(args.repeat)]
                walls = [w for w, _ in runs]
                summary = json.loads((out / "summary.json").read_text())
                shape = f"{summary['input']['rows']:,} x {summary['input']['columns']}"
                print(f"| {version} | {name} | {shape} | {summary['k']} | {cold:.2f} | "
                      f"{statistics.median(walls):.2f} | {min(walls):.2f}-{max(walls):.2f} | "
                      f"{max(r for _, r in runs):.0f} |", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
