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
