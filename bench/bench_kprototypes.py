"""k-prototypes: custseg's batch implementation (``KPrototypesSegments``) against the ``kmodes``
package it replaced (``KPrototypes(init="Cao")``, which visits customers one by one), on the
matrices ``Segmenter(algorithm="kprototypes")`` segments: Mall (3 numbers + Gender) and
samples of the bank-marketing table (7 numbers + 9 categories).  Same matrix, same k, same
gamma, five seedings each; time of one fit and its k-prototypes cost (numeric squared
distances plus gamma per category that differs from the mode), computed the same way for both.

    .venv/bin/python bench/bench_kprototypes.py            # Mall, bank 2,000 and 10,000
    .venv/bin/python bench/bench_kprototypes.py --bank-rows 2000 --repeats 1

One thread (``threadpool_limits(1)``).  ``kmodes`` must be installed (it is a dependency of
custseg so that bundles written before this implementation still load).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from custseg import Segmenter
from custseg.algorithms.kprototypes import KPrototypesSegments

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def matrix(df: pd.DataFrame) -> tuple[np.ndarray, list[int], float]:
    """The matrix, categorical indices and gamma the Segmenter hands to k-prototypes."""
    seg = Segmenter(algorithm="kprototypes", k=3, random_state=0, stability=False)
    seg.fit(df)
    X = seg.preprocessor_.transform(seg.typed_features(df))
    return np.asarray(X, dtype=float), list(seg.model_.categorical_), seg.model_.gamma_


def cost(X: np.ndarray, labels: np.ndarray, cat: list[int], gamma: float) -> float:
    """k-prototypes cost of ``labels`` with each segment's own means and modes."""
    num = [i for i in range(X.shape[1]) if i not in cat]
    total = 0.0
    for j in np.unique(labels):
        part = X[labels == j]
        total += float(((part[:, num] - part[:, num].mean(axis=0)) ** 2).sum())
        for c in cat:
            _, counts = np.unique(part[:, c], return_counts=True)
            total += gamma * (len(part) - counts.max())
    return total


def timed(fit, repeats: int) -> tuple[float, np.ndarray]:
    times, labels = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        labels = fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times), labels


def row(name: str, X: np.ndarray, cat: list[int], gamma: float, k: int, repeats: int) -> None:
    from kmodes.kprototypes import KPrototypes

    ours = KPrototypesSegments(k, categorical=cat, gamma=gamma, n_init=5, random_state=0)
    theirs = KPrototypes(n_clusters=k, gamma=gamma, n_init=5, init="Cao", random_state=0)
    t_ours, l_ours = timed(lambda: ours.fit(X).labels_, repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_theirs, l_theirs = timed(lambda: theirs.fit(X, categorical=cat).labels_, repeats)
    c_ours, c_theirs = cost(X, l_ours, cat, gamma), cost(X, l_theirs, cat, gamma)
    print(f"| {name} | {len(X):,} x {X.shape[1]} ({len(cat)} cat.) | {k} | {t_theirs:.3f} "
          f"| {t_ours:.4f} | {t_theirs / t_ours:.0f}x | {c_theirs:.2f} | {c_ours:.2f} "
          f"| {100 * (c_ours / c_theirs - 1):+.2f}% |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bank-rows", default="2000,10000")
    ap.add_argument("--ks", default="3,5,8")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    tables = {"Mall": pd.read_csv(DATA / "mall_customers.csv").drop(columns="CustomerID")}
    bank = pd.read_csv(DATA / "bank_marketing.csv", sep=";").drop(columns="y")
    for n in (int(r) for r in args.bank_rows.split(",") if r):
        tables[f"bank {n:,}"] = bank.sample(n, random_state=0).reset_index(drop=True)
    print("| table | matrix | k | kmodes s | custseg s | speed-up | kmodes cost | custseg cost "
          "| custseg vs kmodes |")
    print("|---|---|---|---|---|---|---|---|---|")
    with threadpool_limits(1):
        for name, df in tables.items():
            X, cat, gamma = matrix(df)
            for k in ks:
                row(name, X, cat, gamma, k, args.repeats if len(X) < 5000 else 1)


if __name__ == "__main__":
    main()
