"""Batch scoring keeps memory bounded: peak RSS of `custseg score` against the number of rows.

Generates CSV files of N customers (3 numeric features, an id) in a temporary folder, fits a
model on 5,000 of them, then runs the real `custseg score` command on each file in a
subprocess under `/usr/bin/time -f %M` and reads its peak RSS.  The file is never loaded whole:
peak RSS should stay flat as N grows.  Run:

    .venv/bin/python bench/bench_score.py --rows 200000 1000000 5000000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def write_customers(path: Path, n: int, seed: int = 0, chunk: int = 1_000_000) -> None:
    rng = np.random.RandomState(seed)
    centres = np.array([[20, 20, 5], [80, 20, 30], [50, 80, 60], [20, 80, 90]], dtype=float)
    with open(path, "w") as fh:
        fh.write("customer_id,income,spending,visits\n")
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            X = centres[rng.randint(4, size=m)] + rng.normal(0, 6, (m, 3))
            ids = np.char.add("C", np.arange(start, start + m).astype(str))
            pd.DataFrame({"customer_id": ids, "income": X[:, 0].round(2),
                          "spending": X[:, 1].round(2), "visits": X[:, 2].round(1)}).to_csv(
                fh, header=False, index=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("custseg"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_customers(root / "train.csv", 5_000, seed=1)
        subprocess.run([exe, "segment", str(root / "train.csv"), "--k", "4", "--out",
                        str(root / "run"), "-q"], check=True)
        print("rows,seconds,peak_rss_mb,rows_per_second")
        for n in args.rows:
            data = root / f"c{n}.csv"
            write_customers(data, n)
            t = time.perf_counter()
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", exe, "score",
                                   str(root / "run" / "model"), str(data), "--out",
                                   str(root / "scored.csv"), "--force", "-q"],
                                  check=True, capture_output=True, text=True)
            seconds = time.perf_counter() - t
            peak_kb = int(proc.stderr.strip().splitlines()[-1])
            print(f"{n},{seconds:.1f},{peak_kb / 1024:.0f},{n / seconds:.0f}", flush=True)
            data.unlink()


if __name__ == "__main__":
    main()
