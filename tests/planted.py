"""Data with many well-separated planted groups: the K-Means quality tests
(tests/unit/test_kmeans.py) and benchmark (bench/bench_kmeans_quality.py) use the same groups."""

from __future__ import annotations

import numpy as np


def planted_groups(n_groups: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_groups`` well-separated groups in 2-D: centres on a unit grid jittered by at most
    0.1, sizes log-uniform in 20..400, Gaussian spread 0.08 truncated at 3 sd.  Two groups
    are at least 0.8 apart, their points at least 0.32: clearly apart."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_groups)))
    grid = np.array([(i, j) for i in range(side) for j in range(side)], dtype=float)
    centres = grid[rng.choice(len(grid), n_groups, replace=False)]
    centres += rng.uniform(-0.1, 0.1, centres.shape)
    sizes = np.exp(rng.uniform(np.log(20), np.log(400), n_groups)).astype(int)
    y = np.repeat(np.arange(n_groups), sizes)
    noise = rng.normal(0, 0.08, (len(y), 2))
    norm = np.linalg.norm(noise, axis=1, keepdims=True)
    noise *= np.minimum(1, 0.24 / np.maximum(norm, 1e-12))
    return centres[y] + noise, y


def a3_like(seed: int, k: int = 50, per: int = 150) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shaped like Fränti's A3 set (7,500 points, 50 round groups of 150 in 2-D): centres
    drawn uniformly at least 1 apart, Gaussian spread 0.3, so neighbouring groups touch.
    Ten k-means++ starts (scikit-learn's ``KMeans(n_init=10)``) leave one group without a
    centre on most seeds.  Returns the points, their groups and the true centres."""
    rng = np.random.default_rng(seed)
    side = np.sqrt(k) * 1.25
    centres: list[np.ndarray] = []
    while len(centres) < k:
        c = rng.uniform(0, side, 2)
        if all(np.hypot(*(c - o)) >= 1.0 for o in centres):
            centres.append(c)
    C = np.array(centres)
    y = np.repeat(np.arange(k), per)
    return C[y] + rng.normal(0, 0.3, (len(y), 2)), y, C


def centroid_index(true: np.ndarray, found: np.ndarray) -> int:
    """Fränti's centroid index: how many true centres no found centre is nearest to (and the
    other way round), the larger of the two; 0 when every group has its centre."""
    d = ((found[:, None, :] - true[None, :, :]) ** 2).sum(axis=-1)
    return max(len(true) - len(np.unique(d.argmin(axis=1))),
               len(found) - len(np.unique(d.argmin(axis=0))))
