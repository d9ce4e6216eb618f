"""Benchmark: the whole ``custseg segment`` on 100k to 10M customers against the notebook way.

Synthetic customers (bench/scale_data.py: 6 features, 5 planted segments, an id) are written
on the fly to a temporary folder as CSV and Parquet, and deleted afterwards.  Each run is a
separate process; its wall time and peak resident memory (``ru_maxrss`` of that process,
from ``os.wait4``) are measured, with the machine's load average when it started.

* ``custseg``: ``custseg segment FILE --out DIR -q --seed 0 --engine E`` — the whole thing:
  read, checks, preprocessing, k chosen among 2..10, final K-Means, profiles, names,
  the segments file (``--format auto``, the default: ``segments.parquet`` above 1M
  customers on the fast path, else ``segments.csv``), summary.json, report.html, model.
  ``E`` is ``local`` (the fast path), ``standard`` or ``auto``.
* ``notebook``: the usual notebook pipeline, in plain pandas + scikit-learn:
  ``pd.read_csv`` (or ``read_parquet``), ``StandardScaler``, ``KMeans(n_init=10)`` for
  k = 1..10, silhouette on a 10,000 sample for every k >= 2, k = the best silhouette (the
  elbow by kneed is reported beside it), the final ``KMeans(n_init=10)`` fit with that k,
  ``df.to_csv`` of the table with its segment.

Both partitions are then scored in the same space (the features standardised on all
customers): ``inertia`` there is comparable between the two.

Run (results go in docs/benchmarks.md)::

    python bench/bench_scale.py --rows 1000000,10000000 --formats csv,parquet
    # this checkout against another (its src folder), alternating in every repeat:
    python bench/bench_scale.py --rows 10000000 --formats csv --engines auto --repeats 3 \
        --baseline-max-rows 0 --baseline-src /work/main/src
    python bench/bench_scale.py --rows 100000,300000,1000000,3000000,10000000 \
        --formats csv --engines local,standard --plot docs/scaling.png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scale_data import FEATURES  # noqa: E402

NOTEBOOK = r'''
import json, sys, time
import numpy as np, pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
path, out = sys.argv[1], sys.argv[2]
features = json.loads(sys.argv[3])
t0 = time.perf_counter()
df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
X = StandardScaler().fit_transform(df[features])
inertia, sil = {}, {}
for k in range(1, 11):
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
    inertia[k] = km.inertia_
    if k >= 2:
        sil[k] = silhouette_score(X, km.labels_, sample_size=10_000, random_state=0)
best = max(sil, key=sil.get)
from kneed import KneeLocator
elbow = KneeLocator(list(inertia), list(inertia.values()), curve="convex",
                    direction="decreasing").knee
km = KMeans(n_clusters=best, n_init=10, random_state=0).fit(X)
df["segment"] = km.labels_
df.to_csv(out, index=False)
print(json.dumps({"k": int(best), "elbow": None if elbow is None else int(elbow),
                  "inertia": float(km.inertia_), "seconds": time.perf_counter() - t0}))
'''


def run(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``cmd``; wall time, peak RSS (MB) of that process, its stdout, the load before.

    The peak is the child's ``ru_maxrss``; it would include this process's own memory at
    the fork, so this process stays small: data generation and scoring run in children."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    out_text = proc.stdout.read()
    err_text = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{cmd} failed ({status}):\n{err_text[-3000:]}")
    return {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "stdout": out_text, "load": load}


def cpu_model() -> str:
    """The CPU's model name and its widest vector instructions (from /proc/cpuinfo)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in text.splitlines()[:40] if ":" in line)
    model = fields.get("model name\t", fields.get("model name", "unknown CPU")).strip()
    flags = set(fields.get("flags\t\t", fields.get("flags", "")).split())
    simd = [f for f in ("avx512f", "avx2", "avx", "sse4_2") if f in flags][:1]
    return f"{model} ({simd[0] if simd else 'no AVX'})"


def common_inertia(data: Path, labels_path: Path, column: str = "segment") -> float:
    """Within-segment sum of squares of a partition, features standardised on all rows."""
    import numpy as np
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    read = pq.read_table if data.suffix == ".parquet" else pacsv.read_csv
    table = read(data)
    X = np.column_stack([table.column(f).to_numpy().astype(np.float64) for f in FEATURES])
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    lread = pq.read_table if labels_path.suffix == ".parquet" else pacsv.read_csv
    labels = lread(labels_path, **({"columns": [column]} if labels_path.suffix == ".parquet"
                                   else {})).column(column).to_numpy()
    total = 0.0
    for s in np.unique(labels):
        part = X[labels == s]
        total += float(((part - part.mean(axis=0)) ** 2).sum())
    return total


def inertia_in_child(data: Path, labels_path: Path) -> float:
    """:func:`common_inertia` in a child process (this one stays small)."""
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from bench_scale import "
            f"common_inertia; print(common_inertia(__import__('pathlib').Path({str(data)!r}), "
            f"__import__('pathlib').Path({str(labels_path)!r})))")
    return float(run([sys.executable, "-c", code])["stdout"].strip())


def _with_summary(m: dict, out: Path) -> dict:
    """A run's measures with k, inertia, stage timings and segments file of its summary."""
    summary = json.loads((out / "summary.json").read_text())
    m.update(k=summary["k"], inertia_own=summary["quality"]["inertia"],
             timings=summary["timings"],
             engine=summary.get("engine", {}).get("name", "standard"),
             segments_file=summary.get("engine", {}).get("segments_file", "segments.csv"))
    return m


def _report(runs: list[dict], out: Path, data: Path, n: int, fmt: str, who: str) -> dict:
    """Median wall time, peak memory, k and common inertia of the repeats of one version."""
    inertia = inertia_in_child(data, out / runs[-1]["segments_file"])
    med = statistics.median(x["wall"] for x in runs)
    res = {"rows": n, "format": fmt, "who": f"custseg ({who})",
           "wall": med, "walls": [round(x["wall"], 2) for x in runs],
           "rss_mb": max(x["rss_mb"] for x in runs), "k": runs[0]["k"],
           "inertia": inertia, "load": [round(x["load"], 2) for x in runs],
           "timings": runs[-1]["timings"], "engine": runs[0]["engine"],
           "segments_file": runs[-1]["segments_file"]}
    print(f"  custseg --engine {who} ({res['engine']}): median "
          f"{med:.2f} s {res['walls']}, peak {res['rss_mb']:,.0f} MB, "
          f"k={res['k']}, inertia {inertia:,.1f}, load {res['load']}, "
          f"{res['segments_file']}", flush=True)
    print(f"    stages: {runs[-1]['timings']}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1000000,10000000")
    ap.add_argument("--formats", default="csv,parquet")
    ap.add_argument("--engines", default="local", help="custseg engines to run, e.g. local,auto")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--baseline-max-rows", type=int, default=1_000_000,
                    help="run the notebook baseline up to this many customers")
    ap.add_argument("--standard-max-rows", type=int, default=1_000_000,
                    help="run custseg --engine standard up to this many customers")
    ap.add_argument("--output-format", default="auto",
                    help="custseg --format (auto: Parquet above 1M customers on the fast path)")
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="also run custseg from this source folder (e.g. another checkout's "
                         "src), alternating with this one in every repeat")
    ap.add_argument("--plot", type=Path, help="write a log-log plot of time and memory")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--tmp", type=Path, default=None)
    ap.add_argument("--replot", type=Path, help="only draw --plot from a --json of a run")
    a = ap.parse_args()
    if a.replot:
        plot(json.loads(a.replot.read_text()), a.plot)
        return
    versions = [("", [str(Path(sys.executable).with_name("custseg"))], None)]
    if a.baseline_src is not None:
        env = {**os.environ, "PYTHONPATH": str(a.baseline_src.resolve())}
        here_env = {**os.environ, "PYTHONPATH": str((HERE.parent / "src").resolve())}
        versions = [("", [sys.executable, "-m", "custseg"], here_env),
                    ("baseline ", [sys.executable, "-m", "custseg"], env)]
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, {platform.machine()}, load average "
          f"{os.getloadavg()[0]:.2f}")
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="custseg-bench-", dir=a.tmp))
    try:
        for n in [int(x) for x in a.rows.split(",")]:
            for fmt in a.formats.split(","):
                data = tmp / f"customers-{n}.{fmt}"
                t = time.perf_counter()
                run([sys.executable, str(HERE / "scale_data.py"), "--rows", str(n),
                     "--out", str(data)])
                print(f"{n:,} customers, {fmt}: {data.stat().st_size / 1e6:,.0f} MB, "
                      f"generated in {time.perf_counter() - t:.1f} s", flush=True)
                for engine in a.engines.split(","):
                    if engine == "standard" and n > a.standard_max_rows:
                        continue
                    runs_of: dict[str, list[dict]] = {label: [] for label, _, _ in versions}
                    for r in range(a.repeats):  # the versions alternate: same load for each
                        for label, exe, env in versions:
                            out = tmp / f"out-{label.strip() or 'this'}-{engine}-{r}"
                            shutil.rmtree(out, ignore_errors=True)
                            m = run([*exe, "segment", str(data), "--out", str(out), "-q",
                                     "--seed", "0", "--engine", engine,
                                     "--format", a.output_format], env)
                            runs_of[label].append(_with_summary(m, out))
                            if r < a.repeats - 1:
                                shutil.rmtree(out, ignore_errors=True)
                    for label, runs in runs_of.items():
                        out = tmp / f"out-{label.strip() or 'this'}-{engine}-{a.repeats - 1}"
                        results.append(_report(runs, out, data, n, fmt, f"{label}{engine}"))
                        shutil.rmtree(out, ignore_errors=True)
                if n <= a.baseline_max_rows:
                    out_csv = tmp / "notebook.csv"
                    m = run([sys.executable, "-c", NOTEBOOK, str(data), str(out_csv),
                             json.dumps(list(FEATURES))])
                    info = json.loads(m["stdout"].strip().splitlines()[-1])
                    inertia = inertia_in_child(data, out_csv)
                    res = {"rows": n, "format": fmt, "who": "notebook", "wall": m["wall"],
                           "walls": [round(m["wall"], 2)], "rss_mb": m["rss_mb"],
                           "k": info["k"], "elbow": info["elbow"], "inertia": inertia,
                           "load": [round(m["load"], 2)]}
                    results.append(res)
                    print(f"  notebook: {m['wall']:.2f} s, peak {m['rss_mb']:,.0f} MB, "
                          f"k={info['k']} (elbow {info['elbow']}), inertia {inertia:,.1f}, "
                          f"load {res['load']}", flush=True)
                    out_csv.unlink(missing_ok=True)
                    for r in results:
                        if r["rows"] == n and r["format"] == fmt and r["who"] != "notebook":
                            print(f"    {r['who']}: {m['wall'] / r['wall']:.1f}x faster, "
                                  f"inertia {100 * (r['inertia'] / inertia - 1):+.3f}% vs "
                                  f"notebook, same k: {r['k'] == info['k']}")
                data.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    if a.plot:
        plot(results, a.plot)


def plot(results: list[dict], path: Path) -> None:
    """Log-log plot of wall time and peak memory against the number of customers."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("wall time (s)", "peak memory (MB)"))
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        groups.setdefault((r["who"], r["format"]), []).append(r)
    colours = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b"]
    for i, ((who, fmt), rs) in enumerate(groups.items()):
        rs = sorted(rs, key=lambda r: r["rows"])
        x = [r["rows"] for r in rs]
        name = f"{who}, {fmt}"
        line = {"color": colours[i % len(colours)]}
        fig.add_trace(go.Scatter(x=x, y=[r["wall"] for r in rs], name=name, line=line,
                                 mode="lines+markers", legendgroup=name), 1, 1)
        fig.add_trace(go.Scatter(x=x, y=[r["rss_mb"] for r in rs], name=name, line=line,
                                 mode="lines+markers", legendgroup=name, showlegend=False),
                      1, 2)
    fig.update_xaxes(type="log", title="customers")
    fig.update_yaxes(type="log")
    fig.update_layout(width=1100, height=450, template="plotly_white",
                      title="custseg segment: time and memory against size (log-log)")
    fig.write_image(str(path), scale=1)
    print(f"plot written to {path}")


if __name__ == "__main__":
    main()
