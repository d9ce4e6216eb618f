"""The report's charts and page: time of `render_report` and of building its charts
(`report_charts`) on real tables, this checkout against a baseline checkout in the same run;
and the whole `custseg demo --out DIR -q` in a fresh process.

Each version runs in its own Python process (``PYTHONPATH`` = its ``src``): every table is
segmented once (untimed), then the charts and the page are built ``--repeat`` times in that
process (median reported).  The demo runs ``--demo-repeat`` times a version (median), the
versions taking turns.  Run:

    mkdir -p /tmp/base && git archive 3ad5106 src | tar -x -C /tmp/base
    .venv/bin/python bench/bench_report.py --baseline-src /tmp/base/src
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
WORKER = """
import json, statistics, sys, time
import custseg
from custseg.report import render_report, report_charts
out = {}
for path in sys.argv[2:]:
    seg = custseg.segment(path)
    seg._views()
    result = seg.result
    render_report(result)  # warm: imports, templates, caches
    times = {"charts": [], "page": []}
    for _ in range(int(sys.argv[1])):
        t0 = time.perf_counter(); report_charts(result); t1 = time.perf_counter()
        render_report(result); t2 = time.perf_counter()
        times["charts"].append(t1 - t0); times["page"].append(t2 - t1)
    out[path] = {k: statistics.median(v) for k, v in times.items()}
    shape = result.summary["input"]
    out[path]["shape"] = f"{shape['rows']:,} x {shape['columns']}"
print(json.dumps(out))
"""


def in_process(src: Path, tables: list[Path], repeat: int) -> dict[str, dict[str, float]]:
    """Median seconds of the charts and of the page, per table, with ``src`` imported."""
    env = {**os.environ, "PYTHONPATH": str(src.resolve()), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", WORKER, str(repeat), *map(str, tables)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def demo_once(src: Path) -> float:
    """Wall seconds of one `custseg demo --out DIR -q` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "custseg.cli", "demo", "--out",
                        str(Path(tmp) / "demo"), "-q"], env=env, check=True,
                       capture_output=True)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-src", type=Path, required=True)
    parser.add_argument("--tables", nargs="+",
                        default=["mall_customers", "wholesale_customers", "credit_card_clients"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--demo-repeat", type=int, default=3)
    args = parser.parse_args()
    versions = {"baseline": args.baseline_src, "this": ROOT / "src"}
    tables = [DATA / f"{name}.csv" for name in args.tables]
    print(f"machine: {machine()}")
    found = {v: in_process(src, tables, args.repeat) for v, src in versions.items()}
    print("| table | rows x cols | charts before (s) | charts after (s) | ratio "
          "| render_report before (s) | render_report after (s) | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for path in map(str, tables):
        b, a = found["baseline"][path], found["this"][path]
        print(f"| {Path(path).stem} | {a['shape']} | {b['charts']:.3f} | {a['charts']:.3f} | "
              f"{b['charts'] / a['charts']:.1f} | {b['page']:.3f} | {a['page']:.3f} | "
              f"{b['page'] / a['page']:.1f} |")
    walls: dict[str, list[float]] = {v: [] for v in versions}
    for _ in range(args.demo_repeat):
        for v, src in versions.items():
            walls[v].append(demo_once(src))
    for v in versions:
        print(f"`custseg demo --out DIR -q`, {v}: median {statistics.median(walls[v]):.2f} s "
              f"(runs {', '.join(f'{w:.2f}' for w in walls[v])})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
