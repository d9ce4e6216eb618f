"""custseg's K-Means next to scikit-learn, scikit-learn-intelex and faiss, in one process run,
on the same data: a table of times and ratios (data generated on the fly, never written
except the end-to-end CSV, in a temporary folder).

    .venv/bin/python bench/peers.py                          # defaults: a few minutes
    .venv/bin/python bench/peers.py --rows 20000000          # bigger kernel data
    .venv/bin/python bench/peers.py --only kernel --ks 5,10,20,50,100
    .venv/bin/python bench/peers.py --only kernel --baseline-src /tmp/base/src  # vs a checkout
    .venv/bin/python bench/peers.py --out bench/results/peers.md

scikit-learn-intelex and faiss are optional (``pip install scikit-learn-intelex faiss-cpu``):
a peer that is not installed is reported as such and skipped.  Every peer gets the same
number of threads (``--threads``, default every core).

Sections (``--only`` picks some):

* ``kernel``: one Lloyd iteration (assign every row to its nearest centre and sum the
  clusters) on ``--rows`` x 6 float32 rows, the same centres for every library, at each k of
  ``--ks``: custseg's :func:`~custseg.algorithms.kmeans.lloyd_step`, scikit-learn's own loop
  body (``sklearn.cluster._k_means_lloyd.lloyd_iter_chunked_dense``, called directly) and, for
  the peers without a one-iteration entry point, (fit with 1 + ``--iter-span`` iterations −
  fit with 1) / ``--iter-span`` from the same centres with no early stop.  The bound is one
  streaming pass over the same array (a parallel sum, the same threads): no Lloyd iteration
  can read the data faster.  Median of ``--repeats`` after one warm-up.
* ``fit``: a whole fit on the same data, k = ``--fit-k``: from the same given centres for
  exactly ``--fit-iters`` iterations, then each library's default fit to convergence
  (custseg: k-means++ and repair on a sample, Lloyd on all rows; scikit-learn and
  scikit-learn-intelex: ``KMeans(n_init=1)``; faiss: ``Kmeans`` with its defaults, 25
  iterations on a sample of 256 rows per centre).  Inertia of every result computed the same
  way (float64, on every row).
* ``choose``: choose k in 2..10 and fit it on ``--choose-rows`` standardised customers
  (bench/scale_data.py's table: 5 planted segments): custseg's way (``select_k`` on a
  sample with FastKMeans, then FastKMeans from the sample's centres on every row), against a
  loop over k of ``KMeans(k)`` on every row with the silhouette on a 10,000-row sample (the
  best silhouette wins), for scikit-learn, scikit-learn-intelex and faiss.
* ``e2e``: end to end on a generated ``--e2e-rows`` CSV: ``custseg segment FILE --out DIR
  -q --seed 0 --format csv`` run in this process (``custseg.cli.main``), against the
  notebook pipeline
  (``pd.read_csv``, ``StandardScaler``, ``KMeans(n_init=10)`` for k = 1..10 with the
  silhouette on a 10,000 sample, the final fit, ``to_csv``) with scikit-learn's and
  scikit-learn-intelex's ``KMeans``.  Modules already imported by the earlier sections are
  not imported again: these times leave out the start of a new process.
* ``compile``: custseg's first ``FastKMeans`` fit in a fresh process (50,000 x 4 float32)
  with an empty Numba cache (compile and write it) and with the cache written (load it):
  bench/bench_kmeans_kernel.py's measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

D = 6
SECTIONS = ("kernel", "fit", "choose", "e2e", "compile")


# ----------------------------------------------------------------------------- machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> str:
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return " ".join(f for f in wanted if f in have)
    except OSError:
        pass
    return "unknown"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def numba_target() -> str:
    """The CPU Numba compiles for (``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` can emulate an
    older one, e.g. an AVX2-only processor on an AVX-512 machine)."""
    import llvmlite.binding as ll
    import numba

    name = numba.config.CPU_NAME or ll.get_host_cpu_name()
    features = numba.config.CPU_FEATURES
    if features:
        on = {f[1:] for f in features.split(",") if f.startswith("+")}
        simd = [f for f in ("avx2", "fma", "avx512f") if f in on]
        return f"{name} (features set: {' '.join(simd) or 'no AVX2'})"
    return f"{name} (host features)"


def peers() -> dict[str, Any]:
    """Optional peers that are importable: name -> module."""
    found: dict[str, Any] = {}
    try:
        import sklearnex.cluster

        found["scikit-learn-intelex"] = sklearnex.cluster
    except Exception:
        pass
    try:
        import faiss

        found["faiss"] = faiss
    except Exception:
        pass
    return found


def versions(found: dict[str, Any]) -> str:
    import numba
    import sklearn

    import custseg

    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}",
             f"custseg {getattr(custseg, '__version__', '?')}", f"numba {numba.__version__}",
             f"scikit-learn {sklearn.__version__}"]
    if "scikit-learn-intelex" in found:
        import sklearnex

        parts.append(f"scikit-learn-intelex {getattr(sklearnex, '__version__', '?')}")
    else:
        parts.append("scikit-learn-intelex not installed")
    if "faiss" in found:
        parts.append(f"faiss {found['faiss'].__version__}")
    else:
        parts.append("faiss not installed")
    return ", ".join(parts)


def thread_counts(found: dict[str, Any]) -> str:
    import numba
    from threadpoolctl import threadpool_info

    parts = [f"numba {numba.get_num_threads()} ({numba.threading_layer()} layer)"]
    seen = set()
    for info in threadpool_info():
        key = (info["internal_api"], info["num_threads"])
        if key not in seen:
            seen.add(key)
            parts.append(f"{info['internal_api']} {info['num_threads']}")
    if "faiss" in found:
        parts.append(f"faiss OpenMP {found['faiss'].omp_get_max_threads()}")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- timing


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def once(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def make_data(n: int, seed: int = 0) -> np.ndarray:
    """``n`` x 6 float32: 8 overlapping Gaussian groups (the same data as
    bench/bench_kmeans_kernel.py)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D), dtype=np.float32)
    X += rng.integers(0, 8, n)[:, None].astype(np.float32) * 3
    return X


def inertia_of(X: np.ndarray, centres: np.ndarray, step: int = 1 << 18) -> float:
    """Sum of squared distances to the nearest centre, float64, in slices (the same for every
    library's result)."""
    C = np.asarray(centres, dtype=np.float64)
    cc = (C**2).sum(axis=1)
    total = 0.0
    for i in range(0, X.shape[0], step):
        x = X[i:i + step].astype(np.float64)
        d = (x**2).sum(axis=1)[:, None] - 2 * x @ C.T + cc[None, :]
        total += float(np.maximum(d.min(axis=1), 0).sum())
    return total


# ----------------------------------------------------------------------------- kernel


def streaming_pass(X: np.ndarray, repeats: int) -> float:
    """Median time of one parallel pass reading every value of ``X`` once."""
    from numba import njit, prange

    @njit(parallel=True, fastmath=True, cache=True)
    def psum(a):  # pragma: no cover - compiled
        s = 0.0
        for i in prange(a.shape[0]):
            s += a[i]
        return s

    flat = X.reshape(-1)
    return median_time(lambda: psum(flat), repeats)


def sklearn_iteration(X: np.ndarray, C: np.ndarray, threads: int) -> Callable[[], Any]:
    from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_dense

    n = X.shape[0]
    w = np.ones(n, dtype=X.dtype)
    C = C.astype(X.dtype)
    new = np.empty_like(C)
    weight = np.empty(len(C), dtype=X.dtype)
    labels = np.empty(n, dtype=np.int32)
    shift = np.empty(len(C), dtype=X.dtype)
    return lambda: lloyd_iter_chunked_dense(X, w, C, new, weight, labels, shift, threads)


def sklearnex_fit(module: Any, X: np.ndarray, C: np.ndarray, iters: int) -> Any:
    km = module.KMeans(n_clusters=len(C), init=C.astype(X.dtype), n_init=1, max_iter=iters,
                       tol=0.0, algorithm="lloyd")
    return km.fit(X)


def faiss_fit(faiss: Any, X: np.ndarray, C: np.ndarray | None, k: int, iters: int,
              subsample: bool = False, seed: int = 0) -> Any:
    km = faiss.Kmeans(X.shape[1], k, niter=iters, nredo=1, verbose=False, seed=seed,
                      spherical=False)
    if not subsample:  # every row, as the others (faiss samples 256 rows a centre by default)
        km.cp.max_points_per_centroid = X.shape[0]
    if C is None:
        km.train(X)
    else:
        km.train(X, init_centroids=np.ascontiguousarray(C, dtype=np.float32))
    return km


def per_iteration(fit: Callable[[int], Any], span: int, repeats: int) -> float:
    """(time of ``fit(1 + span)`` − time of ``fit(1)``) / span, medians of ``repeats``."""
    fit(1)
    one = statistics.median(once(lambda: fit(1))[0] for _ in range(repeats))
    many = statistics.median(once(lambda: fit(1 + span))[0] for _ in range(max(1, repeats // 2)))
    return max(many - one, 0.0) / span


def kernel_centres(X: np.ndarray, ks: list[int]) -> list[np.ndarray]:
    """The centres of every k (rows drawn with a fixed seed: the same in every process)."""
    rng = np.random.default_rng(1)
    return [X[rng.choice(X.shape[0], k, replace=False)].astype(np.float64) for k in ks]


def custseg_iterations(X: np.ndarray, ks: list[int], threads: int,
                       repeats: int) -> dict[int, float]:
    """Median time of custseg's ``lloyd_step`` at every k (the custseg imported here)."""
    from custseg.algorithms.kmeans import lloyd_step

    return {k: median_time(lambda C=C: lloyd_step(X, C, n_threads=threads), repeats)
            for k, C in zip(ks, kernel_centres(X, ks), strict=True)}


def baseline_iterations(src: Path, rows: int, ks: list[int], threads: int,
                        repeats: int) -> dict[int, float]:
    """:func:`custseg_iterations` of the custseg in ``src`` (another checkout), in a child
    process on the same data and centres."""
    import json
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--baseline-worker", "--rows",
           str(rows), "--ks", ",".join(map(str, ks)), "--threads", str(threads),
           "--repeats", str(repeats)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def kernel_section(X: np.ndarray, ks: list[int], threads: int, repeats: int, span: int,
                   found: dict[str, Any], lines: list[str],
                   baseline: dict[str, dict[int, float]] | None = None) -> None:
    from custseg.algorithms.kmeans import lloyd_step

    n = X.shape[0]
    bound = streaming_pass(X, repeats)
    print(f"  one streaming pass over {X.nbytes / 1e6:.0f} MB: {bound * 1e3:.1f} ms "
          f"({X.nbytes / bound / 1e9:.1f} GB/s)", flush=True)
    names = ["custseg", *(baseline or {}), "scikit-learn", *found]
    header = ("| k | bound (one pass) | " + " | ".join(f"{m} ms" for m in names)
              + " | custseg / bound | " + " | ".join(f"{m} / custseg" for m in names[1:])
              + (" | baseline / custseg (child) |" if baseline else " |"))
    lines += [f"### Lloyd iteration, {n:,} x {D} float32, {threads} threads "
              f"(median of {repeats})", "",
              f"Bound: one streaming pass over the {X.nbytes / 1e6:.0f} MB, {bound * 1e3:.1f} ms "
              f"({X.nbytes / bound / 1e9:.1f} GB/s).  `peer / custseg` above 1: custseg is "
              "faster.", "", header, "|" + "---|" * (header.count("|") - 1)]
    for k, C in zip(ks, kernel_centres(X, ks), strict=True):
        t: dict[str, float] = {}
        t["custseg"] = median_time(lambda C=C: lloyd_step(X, C, n_threads=threads), repeats)
        for m, times in (baseline or {}).items():
            t[m] = times[k]
        t["scikit-learn"] = median_time(sklearn_iteration(X, C, threads), repeats)
        if "scikit-learn-intelex" in found:
            mod = found["scikit-learn-intelex"]
            t["scikit-learn-intelex"] = per_iteration(
                lambda it, C=C, mod=mod: sklearnex_fit(mod, X, C, it), span, repeats)
        if "faiss" in found:
            fz = found["faiss"]
            t["faiss"] = per_iteration(
                lambda it, C=C, fz=fz, k=k: faiss_fit(fz, X, C, k, it), span, max(3, repeats // 2))
        print(f"  k={k}: " + ", ".join(f"{m} {v * 1e3:.1f} ms" for m, v in t.items()),
              flush=True)
        lines.append(f"| {k} | {bound * 1e3:.1f} | "
                     + " | ".join(f"{t[m] * 1e3:.1f}" for m in names)
                     + f" | {t['custseg'] / bound:.2f} | "
                     + " | ".join(f"{t[m] / t['custseg']:.2f}" for m in names[1:])
                     + (f" | {t['baseline'] / t['custseg (child)']:.2f} |" if baseline
                        else " |"))
    lines.append("")


# ----------------------------------------------------------------------------- whole fit


def fit_section(X: np.ndarray, k: int, iters: int, threads: int, found: dict[str, Any],
                lines: list[str]) -> None:
    from sklearn.cluster import KMeans

    from custseg.algorithms.kmeans import FastKMeans

    n = X.shape[0]
    rng = np.random.default_rng(2)
    C = X[rng.choice(n, k, replace=False)].astype(np.float64)
    rows: list[tuple[str, str, float, int | str, float]] = []

    def record(kind: str, name: str, fn: Callable[[], Any], n_iter: Callable[[Any], Any],
               centres: Callable[[Any], np.ndarray]) -> None:
        seconds, model = once(fn)
        rows.append((kind, name, seconds, n_iter(model), inertia_of(X, centres(model))))
        print(f"  {kind}, {name}: {seconds:.2f} s, {rows[-1][3]} iterations", flush=True)

    fixed = f"{iters} iterations from the same centres"
    FastKMeans(k, random_state=0).fit(X[:50_000])  # compiled (or loaded) outside the timing
    # custseg's default threads: every core on large data, one on the seeding sample
    record(fixed, "custseg", lambda: FastKMeans(k, init=C, repair=False, max_iter=iters,
                                                tol=0).fit(X),
           lambda m: m.n_iter_, lambda m: m.cluster_centers_)
    record(fixed, "scikit-learn", lambda: KMeans(k, init=C.astype(np.float32), n_init=1,
                                                 max_iter=iters, tol=0).fit(X),
           lambda m: m.n_iter_, lambda m: m.cluster_centers_)
    if "scikit-learn-intelex" in found:
        mod = found["scikit-learn-intelex"]
        record(fixed, "scikit-learn-intelex", lambda: sklearnex_fit(mod, X, C, iters),
               lambda m: m.n_iter_, lambda m: m.cluster_centers_)
    if "faiss" in found:
        fz = found["faiss"]
        record(fixed, "faiss", lambda: faiss_fit(fz, X, C, k, iters), lambda m: iters,
               lambda m: m.centroids)
    conv = "to convergence, defaults"
    record(conv, "custseg `FastKMeans(k)`", lambda: FastKMeans(k, random_state=0).fit(X),
           lambda m: m.n_iter_, lambda m: m.cluster_centers_)
    record(conv, "scikit-learn `KMeans(k, n_init=1)`",
           lambda: KMeans(k, n_init=1, random_state=0).fit(X),
           lambda m: m.n_iter_, lambda m: m.cluster_centers_)
    if "scikit-learn-intelex" in found:
        mod = found["scikit-learn-intelex"]
        record(conv, "scikit-learn-intelex `KMeans(k, n_init=1)`",
               lambda: mod.KMeans(k, n_init=1, random_state=0).fit(X),
               lambda m: m.n_iter_, lambda m: m.cluster_centers_)
    if "faiss" in found:
        fz = found["faiss"]
        record(conv, "faiss `Kmeans(d, k)` (25 iterations, sampled)",
               lambda: faiss_fit(fz, X, None, k, 25, subsample=True), lambda m: 25,
               lambda m: m.centroids)
    lines += [f"### Whole fit, {n:,} x {D} float32, k = {k}", "",
              "| fit | library | seconds | iterations | inertia | seconds / custseg's |",
              "|---|---|---|---|---|---|"]
    for kind in (fixed, conv):
        base = next(r[2] for r in rows if r[0] == kind)
        for r in rows:
            if r[0] == kind:
                lines.append(f"| {kind} | {r[1]} | {r[2]:.2f} | {r[3]} | {r[4]:.6e} | "
                             f"{r[2] / base:.2f} |")
    lines.append("")


# ----------------------------------------------------------------------------- choose k


def customers(n: int) -> np.ndarray:
    """bench/scale_data.py's customers, standardised (float32)."""
    import pyarrow as pa
    from scale_data import FEATURES, make_customers

    table = pa.concat_tables(make_customers(n, seed=0))
    raw = np.column_stack([table.column(f).to_numpy().astype(np.float64) for f in FEATURES])
    Z = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    return np.ascontiguousarray(Z, dtype=np.float32)


def silhouette_loop(Z: np.ndarray, fit: Callable[[int], np.ndarray]) -> tuple[int, np.ndarray]:
    """The usual loop: fit every k in 2..10, silhouette on a 10,000 sample, best wins."""
    from sklearn.metrics import silhouette_score

    best = (-2.0, 0, None)
    for k in range(2, 11):
        labels, centres = fit(k)
        s = silhouette_score(Z, labels, sample_size=10_000, random_state=0)
        if s > best[0]:
            best = (s, k, centres)
    return best[1], best[2]


def choose_section(n: int, threads: int, found: dict[str, Any], lines: list[str]) -> None:
    from sklearn.cluster import KMeans

    from custseg.algorithms.kmeans import FastKMeans, assign
    from custseg.engines.local import selection_sample_size
    from custseg.engines.local_stages import selection_kernels
    from custseg.selection import select_k

    Z = customers(n)
    rows = []

    def custseg_way() -> tuple[int, np.ndarray]:
        rng = np.random.default_rng(0)
        m = selection_sample_size(n)
        sample = np.sort(rng.choice(n, m, replace=False)) if m < n else np.arange(n)
        sel = select_k(Z[sample], range(2, 11), random_state=0, algorithm="fastkmeans",
                       sampling_error=m < n, options={"kernels": selection_kernels(n)})
        km = FastKMeans(sel.chosen_k, init=sel.model.cluster_centers_, repair=False,
                        random_state=0).fit(Z)
        assign(Z, km.cluster_centers_)
        return sel.chosen_k, km.cluster_centers_

    def sk(k: int) -> tuple[np.ndarray, np.ndarray]:
        km = KMeans(k, random_state=0).fit(Z)
        return km.labels_, km.cluster_centers_

    ways: list[tuple[str, Callable[[], tuple[int, np.ndarray]]]] = [
        ("custseg (`select_k` on a sample + FastKMeans on all)", custseg_way),
        ("scikit-learn (`KMeans(k)` loop + silhouette)", lambda: silhouette_loop(Z, sk)),
    ]
    if "scikit-learn-intelex" in found:
        mod = found["scikit-learn-intelex"]

        def skx(k: int) -> tuple[np.ndarray, np.ndarray]:
            km = mod.KMeans(k, random_state=0).fit(Z)
            return km.labels_, km.cluster_centers_

        ways.append(("scikit-learn-intelex (`KMeans(k)` loop + silhouette)",
                     lambda: silhouette_loop(Z, skx)))
    if "faiss" in found:
        fz = found["faiss"]

        def fa(k: int) -> tuple[np.ndarray, np.ndarray]:
            km = faiss_fit(fz, Z, None, k, 25, subsample=True)
            return km.index.search(Z, 1)[1].ravel(), km.centroids

        ways.append(("faiss (`Kmeans(d, k)` loop + silhouette)", lambda: silhouette_loop(Z, fa)))
    for name, fn in ways:
        seconds, (k, centres) = once(fn)
        rows.append((name, seconds, k, inertia_of(Z, centres)))
        print(f"  choose k, {name}: {seconds:.2f} s, k = {k}", flush=True)
    base = rows[0][1]
    lines += [f"### Choose k in 2..10 and fit, {n:,} customers x {D} (5 planted segments)", "",
              "| way | seconds | k | inertia | seconds / custseg's |", "|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]:.2f} | {r[2]} | {r[3]:.6e} | {r[1] / base:.2f} |"
              for r in rows]
    lines.append("")


# ----------------------------------------------------------------------------- end to end


def notebook(path: Path, out: Path, KMeans: Any) -> int:
    """The notebook pipeline of bench/bench_scale.py, in this process."""
    import pandas as pd
    from scale_data import FEATURES
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    df = pd.read_csv(path)
    X = StandardScaler().fit_transform(df[list(FEATURES)])
    sil = {}
    for k in range(1, 11):
        km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
        if k >= 2:
            sil[k] = silhouette_score(X, km.labels_, sample_size=10_000, random_state=0)
    best = max(sil, key=sil.get)
    km = KMeans(n_clusters=best, n_init=10, random_state=0).fit(X)
    df["segment"] = km.labels_
    df.to_csv(out, index=False)
    return best


def e2e_section(n: int, found: dict[str, Any], lines: list[str]) -> None:
    import json

    from scale_data import write
    from sklearn.cluster import KMeans

    from custseg.cli import main as custseg_main

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = write(n, Path(tmp) / "customers.csv")
        size = path.stat().st_size / 1e6

        def custseg_run() -> int:
            out = Path(tmp) / "custseg-out"
            code = custseg_main(["segment", str(path), "--out", str(out), "-q", "--seed", "0",
                                 "--format", "csv", "--force"])
            if code != 0:
                raise RuntimeError(f"custseg segment exited with {code}")
            return int(json.loads((out / "summary.json").read_text())["k"])

        ways: list[tuple[str, Callable[[], int]]] = [
            ("custseg `segment --format csv` (in process)", custseg_run),
            ("notebook, scikit-learn `KMeans(n_init=10)`",
             lambda: notebook(path, Path(tmp) / "nb.csv", KMeans)),
        ]
        if "scikit-learn-intelex" in found:
            ways.append(("notebook, scikit-learn-intelex `KMeans(n_init=10)`",
                         lambda: notebook(path, Path(tmp) / "nbx.csv",
                                          found["scikit-learn-intelex"].KMeans)))
        for name, fn in ways:
            seconds, k = once(fn)
            rows.append((name, seconds, k))
            print(f"  end to end, {name}: {seconds:.2f} s, k = {k}", flush=True)
    base = rows[0][1]
    lines += [f"### End to end, {n:,} customers, CSV of {size:.0f} MB", "",
              "| run | seconds | k | seconds / custseg's |", "|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]:.2f} | {r[2]} | {r[1] / base:.2f} |" for r in rows]
    lines.append("")


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000,
                        help="rows of the kernel and whole-fit data (x 6 float32)")
    parser.add_argument("--ks", default="5,10,20,50")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--iter-span", type=int, default=10,
                        help="extra iterations timed for the peers without a one-iteration call")
    parser.add_argument("--fit-k", type=int, default=5)
    parser.add_argument("--fit-iters", type=int, default=20)
    parser.add_argument("--choose-rows", type=int, default=1_000_000)
    parser.add_argument("--e2e-rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections among {', '.join(SECTIONS)}")
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help="kernel section: also time lloyd_step of the custseg in this src "
                             "folder (another checkout), in a child process, same data")
    parser.add_argument("--baseline-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown file (default bench/results/peers-<date>.md)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"--only: unknown section(s) {unknown}; choose among {list(SECTIONS)}")

    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    ks = [int(k) for k in args.ks.split(",")]
    if args.baseline_worker:  # the child of --baseline-src: custseg's times as JSON
        import json

        with threadpool_limits(limits=args.threads):
            times = custseg_iterations(make_data(args.rows), ks, args.threads, args.repeats)
        print(json.dumps(times))
        return 0
    found = peers()
    if "faiss" in found:
        found["faiss"].omp_set_num_threads(args.threads)
    started = dt.datetime.now()
    before = load()
    print(f"load average before: {before}", flush=True)
    lines: list[str] = []
    with threadpool_limits(limits=args.threads):
        X = make_data(args.rows) if {"kernel", "fit"} & set(only) else None
        if "kernel" in only:
            baseline = None
            if args.baseline_src is not None:
                # both checkouts alone in a child process: in this one the other libraries'
                # OpenMP threads (and the bound's) may still be spinning when custseg runs
                print(f"  baseline {args.baseline_src} and this checkout, each in a child "
                      "process ...", flush=True)
                baseline = {
                    "baseline": baseline_iterations(args.baseline_src, args.rows, ks,
                                                    args.threads, args.repeats),
                    "custseg (child)": baseline_iterations(HERE.parent / "src", args.rows, ks,
                                                           args.threads, args.repeats)}
            kernel_section(X, ks, args.threads, args.repeats, args.iter_span, found, lines,
                           baseline)
        if "fit" in only:
            fit_section(X, args.fit_k, args.fit_iters, args.threads, found, lines)
        del X
        if "choose" in only:
            choose_section(args.choose_rows, args.threads, found, lines)
        if "e2e" in only:
            e2e_section(args.e2e_rows, found, lines)
    if "compile" in only:
        from bench_kmeans_kernel import compile_times

        lines += ["### First fit in a fresh process (Numba cache, compiled kernels)", "",
                  "| data, cache | seconds |"
                  + (" baseline | ratio |" if args.baseline_src else ""),
                  "|---|---|" + ("---|---|" if args.baseline_src else "")]
        base = dict(compile_times(args.baseline_src)) if args.baseline_src else {}
        for label, seconds in compile_times():
            print(f"  first fit, {label}: {seconds:.2f} s"
                  + (f" (baseline {base[label]:.2f} s)" if base else ""), flush=True)
            lines.append(f"| {label} | {seconds:.2f} |" + (
                f" {base[label]:.2f} | {seconds / base[label]:.2f} |" if base else ""))
        lines.append("")
    after = load()
    head = [f"# custseg K-Means next to its peers ({started:%Y-%m-%d %H:%M})", "",
            "```", "python bench/peers.py " + " ".join(argv if argv is not None
                                                      else sys.argv[1:]), "```", "",
            f"- machine: {cpu_model()}; flags: {cpu_flags()}; {os.cpu_count()} cores; "
            f"{platform.system()} {platform.machine()}",
            f"- Numba compiles for: {numba_target()}",
            f"- threads: {thread_counts(found)}; every library run with {args.threads}",
            f"- load average before: {before}; after: {after}",
            f"- {versions(found)}", ""]
    text = "\n".join(head + lines)
    print("\n" + text)
    out = args.out or HERE / "results" / f"peers-{started:%Y-%m-%d}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
