"""Time per Lloyd iteration against the memory-bandwidth bound, custseg's Numba kernel vs
scikit-learn's, and one whole K-Means fit (data generated on the fly, never written).

    .venv/bin/python bench/bench_kmeans_kernel.py                  # 10M rows, d = 4 and 6
    .venv/bin/python bench/bench_kmeans_kernel.py --rows 1000000   # quick

The bound of one iteration is ``n * d * 4`` bytes (the float32 data, read once) at the read
bandwidth measured here: the best of several parallel sums (Numba, all cores) over a 1.6 GB
float32 array.  scikit-learn's iteration is its own chunked kernel
(``sklearn.cluster._k_means_lloyd.lloyd_iter_chunked_dense``, the loop body of
``KMeans(algorithm="lloyd")``), called directly on float64 and float32 data; custseg's is
``custseg.algorithms.kmeans.lloyd_step`` without the Python wrapper (kernel + chunk
reduction).  Each figure is the median of ``--repeats`` runs after a warm-up.  The whole
fit compares ``KMeans(5, n_init=1)`` (float64, scikit-learn's default dtype) with
``FastKMeans(5)`` on float32 and float64.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

#: The read bandwidth quoted in issue 7 for this machine, for a second, stable column.
REFERENCE_GBS = 30.0


def load() -> str:
    return " ".join(os.getloadavg().__repr__().strip("()").split(", "))


def read_bandwidth(repeats: int) -> tuple[float, float]:
    """(GB/s on all cores with Numba, GB/s single-thread numpy sum) over 1.6 GB float32."""
    from numba import njit, prange

    @njit(parallel=True, fastmath=True, cache=False)
    def psum(a):  # pragma: no cover - compiled
        s = 0.0
        for i in prange(a.shape[0]):
            s += a[i]
        return s

    a = np.ones(400_000_000, dtype=np.float32)
    psum(a[:1000])
    par, one = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        psum(a)
        par.append(time.perf_counter() - t)
        t = time.perf_counter()
        a.sum()
        one.append(time.perf_counter() - t)
    return a.nbytes / min(par) / 1e9, a.nbytes / min(one) / 1e9


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def sklearn_iteration(X: np.ndarray, C: np.ndarray, n_threads: int):
    from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_dense

    n, _ = X.shape
    w = np.ones(n, dtype=X.dtype)
    C = C.astype(X.dtype)
    new = np.empty_like(C)
    weight = np.empty(len(C), dtype=X.dtype)
    labels = np.empty(n, dtype=np.int32)
    shift = np.empty(len(C), dtype=X.dtype)
    return lambda: lloyd_iter_chunked_dense(X, w, C, new, weight, labels, shift, n_threads)


def custseg_iteration(X: np.ndarray, C: np.ndarray):
    from custseg.algorithms.kmeans import _pass

    return lambda: _pass(X, None, C)


def compile_times(src: Path | None = None) -> list[tuple[str, float]]:
    """First fit in a fresh process with the compiled kernels (``kernels="compiled"``: on
    50,000 rows ``"auto"`` would take the NumPy ones and compile nothing), float32 then
    float64 in the same process: with an empty cache (compile and write it), then with the
    cache written (load it).  ``src``: the ``src`` folder of another checkout to time
    instead of the installed custseg."""
    import tempfile

    code = ("import time, numpy as np; t0 = time.perf_counter()\n"
            "from custseg.algorithms.kmeans import FastKMeans\n"
            "X = np.random.default_rng(0).standard_normal((50_000, 4))\n"
            "for dt in (np.float32, np.float64):\n"
            "    t = time.perf_counter()\n"
            "    FastKMeans(5, random_state=0, kernels='compiled').fit(X.astype(dt))\n"
            "    print(time.perf_counter() - t)\n")
    out = []
    with tempfile.TemporaryDirectory() as cache:
        # NUMBA_CACHE_DIR takes precedence over the in-tree __pycache__: a cold cache
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        if src is not None:
            env["PYTHONPATH"] = str(src)

        def run() -> list[float]:
            r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                               text=True, check=True)
            return [float(v) for v in r.stdout.split()]

        cold = run()
        warm = [run() for _ in "abc"]
        for i, dtype in enumerate(("float32", "float64")):
            out.append((f"{dtype}, cold cache (compile + write)", cold[i]))
            out.append((f"{dtype}, warm cache (load), median of 3",
                        statistics.median(w[i] for w in warm)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dims", default="4,6")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-fit", action="store_true", help="skip the whole-fit comparison")
    parser.add_argument("--no-compile", action="store_true", help="skip compile timings")
    args = parser.parse_args()

    import numba
    import sklearn

    threads = numba.config.NUMBA_NUM_THREADS
    print(f"load average before: {load()}; {os.cpu_count()} cores; numba {numba.__version__}, "
          f"scikit-learn {sklearn.__version__}, numpy {np.__version__}", flush=True)
    bw, bw1 = read_bandwidth(args.repeats)
    print(f"read bandwidth: {bw:.1f} GB/s (all cores, Numba), {bw1:.1f} GB/s (numpy sum, "
          "one thread)", flush=True)

    rows = []
    rng = np.random.default_rng(0)
    n, k = args.rows, args.k
    for d in (int(x) for x in args.dims.split(",")):
        X32 = rng.standard_normal((n, d), dtype=np.float32)
        X32 += rng.integers(0, 8, n)[:, None].astype(np.float32) * 3
        C = X32[rng.choice(n, k, replace=False)].astype(np.float64)
        bound = n * d * 4 / (bw * 1e9)
        X64 = X32.astype(np.float64)
        for name, fn in (
            ("scikit-learn, float64", sklearn_iteration(X64, C, threads)),
            ("scikit-learn, float32", sklearn_iteration(X32, C, threads)),
            ("custseg (Numba), float64", custseg_iteration(X64, C)),
            ("custseg (Numba), float32", custseg_iteration(X32, C)),
        ):
            t = median_time(fn, args.repeats)
            rows.append((d, name, t, t / bound))
            print(f"  d={d} {name}: {t * 1e3:.1f} ms per iteration = {t / bound:.2f} x bound",
                  flush=True)
        del X64

    fits = []
    if not args.no_fit:
        from sklearn.cluster import KMeans

        from custseg.algorithms.kmeans import FastKMeans

        X32 = rng.standard_normal((n, 4), dtype=np.float32)
        X32 += rng.integers(0, 8, n)[:, None].astype(np.float32) * 3
        X64 = X32.astype(np.float64)
        FastKMeans(k, random_state=0).fit(X32[:100_000])
        FastKMeans(k, random_state=0).fit(X64[:100_000])
        for name, make, X in (
            ("KMeans(5, n_init=1), float64", lambda s: KMeans(k, n_init=1, random_state=s), X64),
            ("FastKMeans(5), float64", lambda s: FastKMeans(k, random_state=s), X64),
            ("FastKMeans(5), float32", lambda s: FastKMeans(k, random_state=s), X32),
        ):
            times, inertia = [], []
            for seed in range(3):
                t = time.perf_counter()
                model = make(seed).fit(X)
                times.append(time.perf_counter() - t)
                inertia.append(model.inertia_)
            fits.append((name, statistics.median(times), statistics.median(inertia)))
            print(f"  {name}: {statistics.median(times):.2f} s, inertia "
                  f"{statistics.median(inertia):.6e}", flush=True)

    compiled = [] if args.no_compile else compile_times()
    print(f"\nload average after: {load()}\n")
    print(f"read bandwidth {bw:.1f} GB/s; n = {n:,}, k = {k}; bound = n·d·4 bytes / bandwidth\n")
    print(f"| d | kernel | ms per iteration | × bound ({bw:.0f} GB/s) | × bound at "
          f"{REFERENCE_GBS:.0f} GB/s |")
    print("|---|---|---|---|---|")
    for d, name, t, ratio in rows:
        at_reference = t / (n * d * 4 / (REFERENCE_GBS * 1e9))
        print(f"| {d} | {name} | {t * 1e3:.1f} | {ratio:.1f} | {at_reference:.1f} |")
    if fits:
        base = fits[0][1]
        print(f"\nwhole fit, {n:,} × 4, k = {k} (median of 3 seeds)\n")
        print("| fit | seconds | vs KMeans | inertia |")
        print("|---|---|---|---|")
        for name, t, inertia in fits:
            print(f"| {name} | {t:.2f} | {base / t:.1f}× faster | {inertia:.6e} |")
    if compiled:
        print("\nfirst FastKMeans fit in a fresh process (50,000 × 4 float32)\n")
        print("| cache | seconds |")
        print("|---|---|")
        for label, t in compiled:
            print(f"| {label} | {t:.2f} |")


if __name__ == "__main__":
    main()
