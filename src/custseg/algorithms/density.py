"""Density-based segments (HDBSCAN): customers in no dense region are "Unassigned" (-1)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted, validate_data


def default_min_cluster_size(n_samples: int) -> int:
    """1% of the customers, at least 5 and at most 1,000.

    >>> default_min_cluster_size(200), default_min_cluster_size(10_000_000)
    (5, 1000)
    """
    return int(np.clip(n_samples // 100, 5, 1000))


class DensitySegments(ClusterMixin, BaseEstimator):
    """HDBSCAN segments; chooses the number of segments itself.

    Parameters
    ----------
    min_cluster_size : int, optional
        Smallest segment; default :func:`default_min_cluster_size`.
    min_samples : int, optional
        Density smoothing (default: ``min_cluster_size``).

    Attributes
    ----------
    labels_ : segment of each row, -1 for noise ("Unassigned")
    probabilities_ : strength of each row's membership (0 for noise)
    n_clusters_ : number of segments found
    cluster_centers_ : mean of each segment's rows
    model_ : the fitted ``hdbscan.HDBSCAN`` (with prediction data)

    New customers are assigned with ``hdbscan.approximate_predict``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 0.3, (60, 2)), rng.normal(6, 0.3, (60, 2))]
    >>> DensitySegments(min_cluster_size=10).fit(X).n_clusters_
    2
    """

    def __init__(self, min_cluster_size: int | None = None, *,
                 min_samples: int | None = None) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples

    def fit(self, X: Any, y: Any = None) -> DensitySegments:
        import hdbscan

        # copy: the hdbscan package cannot read read-only (memory-mapped) arrays
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2, copy=True)
        size = self.min_cluster_size or default_min_cluster_size(X.shape[0])
        size = int(max(2, min(size, X.shape[0])))
        min_samples = self.min_samples or min(size, X.shape[0] - 1) or 1
        self.min_cluster_size_ = size
        self.model_ = hdbscan.HDBSCAN(min_cluster_size=size, min_samples=min_samples,
                                      prediction_data=True).fit(X)
        self.labels_ = self.model_.labels_.astype(np.int64)
        self.probabilities_ = self.model_.probabilities_
        self.n_clusters_ = int(self.labels_.max() + 1)
        self.cluster_centers_ = (np.vstack([X[self.labels_ == s].mean(axis=0)
                                            for s in range(self.n_clusters_)])
                                 if self.n_clusters_ else np.zeros((0, X.shape[1])))
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.approximate(X)[0]

    def predict_proba_max(self, X: Any) -> np.ndarray:
        """Strength of the predicted membership of each new row (0 for noise)."""
        return self.approximate(X)[1]

    def approximate(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Segment (-1: noise) and membership strength of new rows (HDBSCAN's approximate
        prediction)."""
        import hdbscan

        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, copy=True)
        if self.n_clusters_ == 0:
            return np.full(X.shape[0], -1, dtype=np.int64), np.zeros(X.shape[0])
        labels, strengths = hdbscan.approximate_predict(self.model_, X)
        return np.asarray(labels, dtype=np.int64), np.asarray(strengths)
