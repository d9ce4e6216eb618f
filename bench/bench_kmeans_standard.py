"""The standard engine's K-Means (scikit-learn's ``KMeans(n_init=10)``) against custseg's
``FastKMeans(n_init=10)`` (the same number of seedings, each followed by the repair step), on
the very matrices the standard engine chooses k on, k = 2..10: total time and each k's
inertia relative to scikit-learn's (negative: FastKMeans is lower, better).

    .venv/bin/python bench/bench_kmeans_standard.py                   # the shared tables
    .venv/bin/python bench/bench_kmeans_standard.py wholesale mall    # some of them

The matrix is the argument ``custseg.segmenter`` passes to ``select_k`` during a default
``custseg.segment(path, random_state=0)`` (recorded by wrapping that function; the run is
otherwise unchanged).  One thread for both (``n_threads=1``; scikit-learn under
``threadpool_limits(1)``).  Slow: several minutes on the 10,000-customer samples.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TABLES = {
    "wholesale": "wholesale_customers.csv",
    "mall": "mall_customers.csv",
    "credit": "credit_card_clients.csv",
    "bank": "bank_marketing.csv",
}


def selection_matrix(path: Path) -> np.ndarray:
    """The matrix the standard engine chooses k on for ``path`` (default run, seed 0)."""
    import custseg.segmenter as segmenter
    from custseg import segment

    seen: dict[str, np.ndarray] = {}
    original = segmenter.select_k

    def recording(Zs: np.ndarray, k_values: list[int], **kw: object) -> object:
        seen["Z"] = Zs
        return original(Zs, k_values, **kw)

    segmenter.select_k = recording
    try:
        segment(str(path), random_state=0)
    finally:
        segmenter.select_k = original
    return np.ascontiguousarray(seen["Z"], dtype=np.float64)


def main() -> None:
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    from custseg.algorithms.kmeans import FastKMeans

    names = sys.argv[1:] or list(TABLES)
    print("| table | matrix | scikit-learn s | FastKMeans s | ratio "
          "| inertia / scikit-learn's - 1, k = 2..10 |")
    print("|---|---|---|---|---|---|")
    for name in names:
        Z = selection_matrix(DATA / TABLES[name])
        t_sk = t_fast = 0.0
        rel = []
        for k in range(2, 11):
            with threadpool_limits(1):
                t = time.perf_counter()
                a = KMeans(k, n_init=10, random_state=0).fit(Z)
                t_sk += time.perf_counter() - t
            t = time.perf_counter()
            b = FastKMeans(k, n_init=10, random_state=0, n_threads=1).fit(Z)
            t_fast += time.perf_counter() - t
            rel.append(f"{b.inertia_ / a.inertia_ - 1:+.4f}")
        print(f"| {name} | {Z.shape[0]:,} x {Z.shape[1]} | {t_sk:.2f} | {t_fast:.2f} | "
              f"{t_fast / t_sk:.0f} | {' '.join(rel)} |", flush=True)


if __name__ == "__main__":
    main()
