"""The standard engine's repair step (``custseg.algorithms.kmeans.repair_fit``) on sets shaped
like Fränti's A3 (50 touching groups of 150 points, ``tests/planted.py:a3_like``), k = 50
given: centroid index of scikit-learn's ``KMeans(n_init=10)`` before and after the repair,
the moves kept and the repair's time; then the repair's time on the matrices the standard
engine chooses k on (the shared tables, as ``bench/bench_kmeans_standard.py`` records them).

    .venv/bin/python bench/bench_repair.py                 # 12 seeds, then the shared tables
    .venv/bin/python bench/bench_repair.py --seeds 3 --tables mall

One thread (``threadpool_limits(1)``; the repair runs on one thread below 200,000 rows).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from custseg.algorithms.kmeans import repair_fit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

from bench_kmeans_standard import DATA, TABLES, selection_matrix  # noqa: E402

from planted import a3_like, centroid_index  # noqa: E402


def a3_rows(seeds: int) -> None:
    print("| seed | centroid index, KMeans(n_init=10) | after repair | moves kept / tried "
          "| repair s |")
    print("|---|---|---|---|---|")
    for seed in range(seeds):
        X, _, true = a3_like(seed)
        km = KMeans(50, n_init=10, random_state=seed).fit(X)
        t = time.perf_counter()
        fixed = repair_fit(km, X, random_state=seed)
        spent = time.perf_counter() - t
        print(f"| {seed} | {centroid_index(true, km.cluster_centers_)} | "
              f"{centroid_index(true, fixed.cluster_centers_)} | {fixed.n_repair_accepted_} / "
              f"{fixed.n_repair_trials_} | {spent:.2f} |", flush=True)


def table_rows(names: list[str]) -> None:
    print("\n| table | matrix | k | KMeans(n_init=10) s | repair s | inertia change "
          "| kept / tried |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        Z = selection_matrix(DATA / TABLES[name])
        for k in (3, 5, 8, 10):
            t = time.perf_counter()
            km = KMeans(k, n_init=10, random_state=0).fit(Z)
            t_fit = time.perf_counter() - t
            t = time.perf_counter()
            fixed = repair_fit(km, Z, random_state=0)
            t_rep = time.perf_counter() - t
            print(f"| {name} | {Z.shape[0]:,} x {Z.shape[1]} | {k} | {t_fit:.2f} | {t_rep:.2f} | "
                  f"{fixed.inertia_ / km.inertia_ - 1:+.4%} | {fixed.n_repair_accepted_} / "
                  f"{fixed.n_repair_trials_} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--tables", default="mall,wholesale,bank,credit")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    with threadpool_limits(1):
        a3_rows(args.seeds)
        table_rows([t for t in args.tables.split(",") if t])


if __name__ == "__main__":
    main()
