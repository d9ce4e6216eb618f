"""K-Means quality: how often each method finds every planted group, and its inertia against
scikit-learn's ``KMeans(n_init=10)`` (data generated on the fly, never written).

    .venv/bin/python bench/bench_kmeans_quality.py                 # 30 seeds x 15/25/50 groups
    .venv/bin/python bench/bench_kmeans_quality.py --seeds 5       # quick

Planted groups (as tests/unit/test_kmeans.py): centres on a unit grid jittered by at most 0.1,
sizes log-uniform in 20..400 customers, Gaussian spread 0.08 truncated at 3 sd, so two groups
are at least 0.32 apart at their edges.  "Found" means every fitted cluster is exactly one
planted group (adjusted Rand index 1).  A second table gives the worst and mean inertia
ratio to ``KMeans(n_init=10)`` on data without planted answers (uniform, Gaussian,
overlapping blobs).  Every method runs on one thread (``--threads``): the data are small.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from custseg.algorithms.kmeans import FastKMeans

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from planted import planted_groups


def unplanted(seed: int):
    rng = np.random.default_rng(seed)
    yield "uniform 2-D, k=8", rng.uniform(size=(2000, 2)), 8
    yield "uniform 5-D, k=10", rng.uniform(size=(3000, 5)), 10
    yield "Gaussian 6-D, k=12", rng.standard_normal((3000, 6)), 12
    X, _ = make_blobs(3000, centers=10, n_features=4, cluster_std=2.0, random_state=seed)
    yield "overlapping blobs 4-D, k=10", X, 10


METHODS = {
    'KMeans(n_init="auto") (1 k-means++ run)': lambda k, s, t: KMeans(k, random_state=s),
    "KMeans(n_init=10)": lambda k, s, t: KMeans(k, n_init=10, random_state=s),
    "FastKMeans(repair=False)": lambda k, s, t: FastKMeans(k, repair=False, random_state=s,
                                                            n_threads=t),
    "FastKMeans() (repair)": lambda k, s, t: FastKMeans(k, random_state=s, n_threads=t),
}
BASELINE = "KMeans(n_init=10)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--groups", default="15,25,50")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    found = {}
    ratios = {}
    times = {}
    with threadpool_limits(limits=args.threads):
        for g in (int(x) for x in args.groups.split(",")):
            for seed in range(args.seeds):
                X, y = planted_groups(g, seed)
                inertia = {}
                for name, make in METHODS.items():
                    t = time.perf_counter()
                    model = make(g, seed, args.threads).fit(X)
                    times.setdefault((g, name), []).append(time.perf_counter() - t)
                    inertia[name] = model.inertia_
                    ok = adjusted_rand_score(y, model.labels_) == 1.0
                    found[(g, name)] = found.get((g, name), 0) + ok
                for name in METHODS:
                    ratios.setdefault((g, name), []).append(inertia[name] / inertia[BASELINE])
            print(f"  {g} groups done", flush=True)

        other = {}
        for seed in range(min(args.seeds, 10)):
            for label, X, k in unplanted(seed):
                base = KMeans(k, n_init=10, random_state=seed).fit(X).inertia_
                for name, make in METHODS.items():
                    value = make(k, seed, args.threads).fit(X).inertia_
                    other.setdefault((label, name), []).append(value / base)

    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(f"Planted groups, {args.seeds} seeds each: share of seeds where every group is found;"
          f" inertia / {BASELINE} (mean, worst); median wall time per fit\n")
    print("| groups | method | found every group | inertia ratio mean | worst | time (ms) |")
    print("|---|---|---|---|---|---|")
    for g in (int(x) for x in args.groups.split(",")):
        for name in METHODS:
            r = ratios[(g, name)]
            print(f"| {g} | {name} | {found[(g, name)]}/{args.seeds} "
                  f"({found[(g, name)] / args.seeds:.0%}) | {statistics.mean(r):.4f} | "
                  f"{max(r):.4f} | {statistics.median(times[(g, name)]) * 1e3:.0f} |")
    print(f"\nNo planted answer, {min(args.seeds, 10)} seeds: inertia / {BASELINE}\n")
    print("| data | method | mean | worst |")
    print("|---|---|---|---|")
    for (label, name), r in other.items():
        print(f"| {label} | {name} | {statistics.mean(r):.4f} | {max(r):.4f} |")


if __name__ == "__main__":
    main()
