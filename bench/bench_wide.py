"""The default run on a wide customer table (issue 13): thousands of numeric columns.

A deterministic customer table is generated (seed 0): an id column and ``--columns`` numeric
columns cycling through money-like skewed amounts (``spend_...``), whole counts
(``orders_...``), shares within 0-1 (``return_rate_...``) and plain measures
(``score_...``), drawn from a few latent customer groups so that there is structure to find.
It is written as CSV to a temporary folder and segmented with the default options, in
process (:func:`custseg.pipeline.segment_file` + :func:`~custseg.pipeline.write_outputs`) and,
with ``--cli``, as a user types it (``custseg segment FILE --out DIR``, a new process).

Reported: wall time of each stage, the Python warnings emitted (with the default filters, as
a user sees them, and counted per category), the warnings listed in ``summary.json``, and
for the CLI its wall time and the number of warning lines it printed.  ``--max-columns``
passes the column limit through (0: the library default); a refused table reports the time
to the refusal and the message.  The machine (CPU model and flags, cores, load average) is
printed first.  Run:

    .venv/bin/python bench/bench_wide.py --columns 2000 --rows 5000 --cli
    .venv/bin/python bench/bench_wide.py --columns 10000 --rows 5000 --cli   # refused
    .venv/bin/python bench/bench_wide.py --columns 500 --profile prof.out    # cProfile
    # the commit before issue 13 as a baseline (in process only):
    mkdir /tmp/base && git archive 03ef7ae src | tar -x -C /tmp/base
    .venv/bin/python bench/bench_wide.py --columns 2000 --src /tmp/base/src

Target (issue 13): 2,000 columns x 5,000 rows in at most 15 s with at most a few summary
lines of warnings; beyond the column limit, refused in at most 5 s with a message that says
what to do.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from machine import machine  # bench/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]


KINDS = ("spend", "orders", "return_rate", "score")


def wide_table(n_columns: int, n_rows: int, *, groups: int = 4, seed: int = 0) -> pd.DataFrame:
    """``n_rows`` customers, an id and ``n_columns`` numeric columns of mixed kinds."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, n_rows)
    centres = rng.normal(0.0, 1.0, (groups, n_columns))
    latent = centres[group] + rng.normal(0.0, 1.0, (n_rows, n_columns))
    data: dict[str, np.ndarray] = {"customer_id": np.arange(1, n_rows + 1)}
    for j in range(n_columns):
        kind = KINDS[j % len(KINDS)]
        x = latent[:, j]
        name = f"{kind}_{j // len(KINDS) + 1}"
        if kind == "spend":  # money: log-normal, skewed, two decimals
            data[name] = np.round(np.exp(3.0 + 0.8 * x), 2)
        elif kind == "orders":  # whole counts
            data[name] = rng.poisson(np.exp(1.0 + 0.5 * x))
        elif kind == "return_rate":  # a share within 0-1
            data[name] = np.round(1.0 / (1.0 + np.exp(-(x - 1.5))), 4)
        else:  # a plain measure
            data[name] = np.round(50.0 + 10.0 * x, 1)
    return pd.DataFrame(data)


def write_table(n_columns: int, n_rows: int, folder: Path) -> Path:
    path = folder / f"wide_{n_columns}x{n_rows}.csv"
    wide_table(n_columns, n_rows).to_csv(path, index=False)
    return path


def run_in_process(path: Path, out: Path, max_columns: int, profile: str | None) -> None:
    from custseg.errors import CustsegError
    from custseg.pipeline import segment_file, write_outputs

    options = {"random_state": 0}
    if max_columns:
        options["max_columns"] = max_columns
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")  # as a user sees them: once per place and message
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        try:
            result = segment_file(path, command="bench_wide", **options)
            t_fit = time.perf_counter() - t0
            write_outputs(result, out, force=True)
        except CustsegError as err:
            wall = time.perf_counter() - t0
            print(f"in process: refused after {wall:.2f} s "
                  f"({type(err).__name__}, exit code {err.exit_code}):\n{err}")
            return
        finally:
            if prof:
                prof.disable()
                prof.dump_stats(profile)
        wall = time.perf_counter() - t0
    per_kind = collections.Counter(f"{w.category.__name__}: {str(w.message)[:70]}"
                                   for w in caught)
    timings = result.summary["timings"]
    print(f"in process: {wall:.1f} s (segment_file {t_fit:.1f} s); stages: "
          + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    print(f"  k = {result.summary['k']}, features used: {len(result.summary['features'])}, "
          f"summary warnings: {len(result.summary['warnings'])}")
    for w in result.summary["warnings"][:5]:
        print(f"    - {w['column'] or ''}: {w['message'][:100]}")
    print(f"  Python warnings: {len(caught)}")
    for what, n in per_kind.most_common(8):
        print(f"    {n:6d} x {what}")
    print(f"  report.html: {(out / 'report.html').stat().st_size / 1e6:.1f} MB")


def run_cli(path: Path, out: Path, max_columns: int) -> None:
    exe = [str(ROOT / ".venv" / "bin" / "custseg"), "segment", str(path), "--out", str(out),
           "--force"]
    if max_columns:
        exe += ["--max-columns", str(max_columns)]
    t0 = time.perf_counter()
    res = subprocess.run(exe, capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "120"})
    wall = time.perf_counter() - t0
    text = res.stdout + res.stderr
    lines = [ln for ln in text.splitlines() if re.search(r"warning", ln, re.IGNORECASE)]
    print(f"CLI: {wall:.1f} s, exit code {res.returncode}, {len(text.splitlines())} lines "
          f"printed, {len(lines)} of them warnings")
    if res.returncode != 0:
        print("  " + res.stderr.strip().replace("\n", "\n  ")[:1500])
    for ln in lines[:5]:
        print(f"    {ln[:110]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--columns", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--max-columns", type=int, default=0,
                    help="column limit to pass (0: the library default)")
    ap.add_argument("--cli", action="store_true", help="also run the command line")
    ap.add_argument("--no-in-process", action="store_true")
    ap.add_argument("--profile", help="write a cProfile of the in-process run here")
    ap.add_argument("--src", default=str(ROOT / "src"),
                    help="custseg sources to run in process (e.g. an older checkout's, "
                    "extracted with git archive, as a baseline)")
    args = ap.parse_args()
    sys.path.insert(0, args.src)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        path = write_table(args.columns, args.rows, folder)
        print(f"table: {args.rows:,} rows x {args.columns:,} numeric columns + id, "
              f"{path.stat().st_size / 1e6:.0f} MB CSV, generated in "
              f"{time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        from custseg.io import read_table

        table, _ = read_table(path)
        print(f"read_table alone: {time.perf_counter() - t0:.2f} s, shape {table.shape}")
        del table
        if not args.no_in_process:
            run_in_process(path, folder / "out", args.max_columns, args.profile)
        if args.cli:
            run_cli(path, folder / "out-cli", args.max_columns)


if __name__ == "__main__":
    main()
