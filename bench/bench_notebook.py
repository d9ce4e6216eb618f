"""Time to a first result in a notebook: ``import custseg``, the README's Python snippet and
``custseg.segment()`` on the Mall data, against a plain scikit-learn K-Means notebook cell on
the same data (read the CSV, scale, elbow loop over k = 1..10, K-Means with k = 5).

Each variant runs in a fresh interpreter (a "Restart kernel, run all"; the operating
system's file cache warm after a first untimed run), ``--repeat`` times; the median and the
fastest run are reported, split into imports and work.  Then the same code again in one
process whose imports are done ("warm": a second run of the cell).  Run:

    .venv/bin/python bench/bench_notebook.py --repeat 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap

IMPORT = """
import time
t0 = time.perf_counter()
import custseg
t1 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "work": 0.0}))
"""

README = """
import time
t0 = time.perf_counter()
from custseg import Segmenter, load_table, demo_data_path
import custseg.segmenter
t1 = time.perf_counter()
df = load_table(demo_data_path())
seg = Segmenter(features=["Annual Income (k$)", "Spending Score (1-100)"], random_state=0)
seg.fit(df)
seg.k_, seg.labels_, [s.name for s in seg.segments_], seg.profiles_
seg.k_selection_.explanation
seg.predict(df)
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "k": int(seg.k_)}))
"""

SEGMENT = """
import time
t0 = time.perf_counter()
import custseg
import custseg.segmenter
t1 = time.perf_counter()
result = custseg.segment(custseg.demo_data_path(),
                         features=["Annual Income (k$)", "Spending Score (1-100)"])
card = result._repr_html_()
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "k": result.k}))
"""

# What the notebook custseg replaces does, in one cell: read, scale, elbow loop, K-Means.
SKLEARN = """
import time
t0 = time.perf_counter()
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from custseg.io import demo_data_path
t1 = time.perf_counter()
df = pd.read_csv(demo_data_path())
X = StandardScaler().fit_transform(df[["Annual Income (k$)", "Spending Score (1-100)"]])
inertia = [KMeans(k, n_init=10, random_state=0).fit(X).inertia_ for k in range(1, 11)]
labels = KMeans(5, n_init=10, random_state=0).fit_predict(X)
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "k": 5}))
"""

VARIANTS = {"import custseg": IMPORT, "README snippet (Segmenter)": README,
            "custseg.segment() + card": SEGMENT, "plain scikit-learn cell": SKLEARN}


def fresh(code: str) -> dict[str, float]:
    """Run ``code`` in a new interpreter; its timings plus the process's wall time."""
    import time

    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", "import json\n" + textwrap.dedent(code)],
                         check=True, capture_output=True, text=True,
                         env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}).stdout
    timings = json.loads(out.strip().splitlines()[-1])
    timings["process"] = time.perf_counter() - t
    return timings


def warm(code: str, repeat: int) -> float:
    """Median time of the work part of ``code`` run again in this process (imports done)."""
    import time

    namespace: dict[str, object] = {"json": json}
    body = textwrap.dedent(code).replace("print(json.dumps(", "_ = ((")
    exec(compile(body, "<cell>", "exec"), namespace)  # first run: imports
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        exec(compile(body, "<cell>", "exec"), namespace)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {args.repeat} fresh interpreters per variant "
          "(after one untimed run), OMP_NUM_THREADS=1")
    print(f"{'variant':<30} {'imports':>9} {'work':>7} {'in-cell':>8} {'process':>8} "
          f"{'fastest':>8} {'warm':>7}")
    for name, code in VARIANTS.items():
        fresh(code)  # file cache warm
        runs = [fresh(code) for _ in range(args.repeat)]
        imports = statistics.median(r["imports"] for r in runs)
        work = statistics.median(r["work"] for r in runs)
        cell = statistics.median(r["imports"] + r["work"] for r in runs)
        process = statistics.median(r["process"] for r in runs)
        fastest = min(r["imports"] + r["work"] for r in runs)
        again = warm(code, args.repeat) if name != "import custseg" else 0.0
        print(f"{name:<30} {imports:>8.3f}s {work:>6.3f}s {cell:>7.3f}s {process:>7.3f}s "
              f"{fastest:>7.3f}s {again:>6.3f}s", flush=True)


if __name__ == "__main__":
    main()
