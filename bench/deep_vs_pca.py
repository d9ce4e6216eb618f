"""Deep profiling against PCA + K-Means on data with many correlated features.

Synthetic customers: ``k`` segments in a 3-dimensional latent space (e.g. price
sensitivity, engagement, basket size), seen through ``d`` correlated, non-linear features
(``tanh`` of random mixtures of the latent factors, plus noise), like 30 behavioural
metrics that all echo a few underlying traits.  For several seeds, segments are found with
the number of segments fixed to the truth, so that only the representation differs:

* K-Means on all scaled features;
* PCA to 3 components, then K-Means;
* the custseg autoencoder (embedding of 3), then K-Means (``Segmenter(algorithm="deep")``).

Reported: the adjusted Rand index against the planted segments (median and range over
seeds) and the wall time.  Run:

    .venv/bin/python bench/deep_vs_pca.py --seeds 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler


def make_data(seed: int, n: int = 3000, k: int = 5, d: int = 30, noise: float = 0.3):
    rng = np.random.RandomState(seed)
    centres = rng.normal(0, 1.6, (k, 3))
    y = rng.randint(k, size=n)
    z = centres[y] + rng.normal(0, 0.45, (n, 3))
    W = rng.normal(0, 1, (3, d))
    b = rng.normal(0, 0.5, d)
    X = np.tanh(z @ W / np.sqrt(3) + b) * rng.uniform(1, 50, d) + rng.normal(0, noise, (n, d))
    return pd.DataFrame(X, columns=[f"metric_{i:02d}" for i in range(d)]), y


def main() -> None:
    from custseg import Segmenter

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for seed in range(args.seeds):
        df, y = make_data(seed)
        Z = StandardScaler().fit_transform(df)
        t = time.perf_counter()
        raw = KMeans(5, n_init=10, random_state=seed).fit_predict(Z)
        t_raw = time.perf_counter() - t
        t = time.perf_counter()
        pca = KMeans(5, n_init=10, random_state=seed).fit_predict(
            PCA(3, random_state=seed).fit_transform(Z))
        t_pca = time.perf_counter() - t
        t = time.perf_counter()
        deep = Segmenter(k=5, algorithm="deep", log="none", random_state=seed).fit(df).labels_
        t_deep = time.perf_counter() - t
        rows.append({"seed": seed, "kmeans_ari": adjusted_rand_score(y, raw),
                     "pca_kmeans_ari": adjusted_rand_score(y, pca),
                     "deep_ari": adjusted_rand_score(y, deep),
                     "kmeans_s": t_raw, "pca_s": t_pca, "deep_s": t_deep})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))
    print("median:", table.median().round(3).to_dict())


if __name__ == "__main__":
    main()
