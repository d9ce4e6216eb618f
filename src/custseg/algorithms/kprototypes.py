"""Mixed numeric + categorical segments: k-prototypes (Huang 1997, the ``kmodes`` package).

The cost of a customer to a segment is the squared Euclidean distance on the (scaled)
numeric features plus ``gamma`` times the number of categorical features that differ from
the segment's mode.  ``gamma`` is chosen automatically so that both kinds of feature weigh
the same on average, as R's ``clustMixType::lambdaest`` does: the mean variance of the
numeric features divided by the mean concentration ``1 - sum(p_level^2)`` of the categorical
ones (the chance that two random customers differ on it).  Huang's (1997) rule of thumb,
half the mean standard deviation, under-weights the categories (0.5 after standard scaling,
whatever the categories look like).  The value used is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.utils.validation import check_is_fitted, validate_data


class KPrototypesSegments(ClusterMixin, BaseEstimator):
    """k-prototypes on numeric columns plus categorical columns given as integer codes.

    Parameters
    ----------
    n_clusters : int, default=3
    categorical : sequence of int, optional
        Indices of the categorical columns (integer codes).  Without any, this is K-Means.
    gamma : float, optional
        Weight of a categorical mismatch; automatic when None (:meth:`balanced_gamma`).
    n_init : int, default=5
    random_state : int or None

    Attributes
    ----------
    labels_, gamma_, cluster_centers_ (numeric means, then categorical modes),
    model_ (the fitted ``kmodes.kprototypes.KPrototypes`` or ``KMeans``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> cat = np.repeat([0.0, 1.0, 2.0], 20)[:, None]
    >>> num = cat * 3 + rng.normal(scale=0.5, size=(60, 1))
    >>> seg = KPrototypesSegments(n_clusters=3, categorical=[1], random_state=0)
    >>> sorted(np.bincount(seg.fit(np.c_[num, cat]).labels_).tolist())
    [20, 20, 20]
    """

    def __init__(self, n_clusters: int = 3, *, categorical: Sequence[int] | None = None,
                 gamma: float | None = None, n_init: int = 5, random_state: Any = None) -> None:
        self.n_clusters = n_clusters
        self.categorical = categorical
        self.gamma = gamma
        self.n_init = n_init
        self.random_state = random_state

    def _cat(self, n_features: int) -> list[int]:
        cat = sorted({int(c) for c in (self.categorical or [])})
        if any(not 0 <= c < n_features for c in cat):
            raise ValueError(f"categorical indices {cat} out of range for {n_features} columns")
        return cat

    @staticmethod
    def balanced_gamma(X: np.ndarray, categorical: Sequence[int]) -> float:
        """Mean numeric variance / mean categorical concentration (see the module docstring).

        >>> import numpy as np
        >>> X = np.c_[np.r_[-1.0, 1, -1, 1], np.r_[0.0, 0, 1, 1]]
        >>> KPrototypesSegments.balanced_gamma(X, [1])
        2.0
        """
        cat = list(categorical)
        num = [i for i in range(X.shape[1]) if i not in cat]
        variance = float(np.mean(X[:, num].var(axis=0))) if num else 1.0
        conc = []
        for c in cat:
            _, counts = np.unique(X[:, c], return_counts=True)
            p = counts / counts.sum()
            conc.append(1.0 - float((p**2).sum()))
        mean_conc = float(np.mean(conc)) if conc else 0.0
        if mean_conc <= 0 or variance <= 0:
            return 1.0
        return variance / mean_conc

    def fit(self, X: Any, y: Any = None) -> KPrototypesSegments:
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        cat = self._cat(X.shape[1])
        self.categorical_ = cat
        self.levels_ = [np.unique(X[:, c]) for c in cat]
        num = [i for i in range(X.shape[1]) if i not in cat]
        if not cat or not num:
            if cat:  # categorical only: k-modes is k-prototypes without numeric columns
                from kmodes.kmodes import KModes

                self.model_ = KModes(n_clusters=self.n_clusters, n_init=self.n_init,
                                     init="Cao", random_state=self.random_state).fit(X)
            else:
                self.model_ = KMeans(self.n_clusters, n_init=self.n_init,
                                     random_state=self.random_state).fit(X)
            self.gamma_ = 0.0 if not cat else float("inf")
        else:
            from kmodes.kprototypes import KPrototypes

            gamma = self.gamma if self.gamma is not None else self.balanced_gamma(X, cat)
            self.model_ = KPrototypes(n_clusters=self.n_clusters, gamma=gamma,
                                      n_init=self.n_init, init="Cao",
                                      random_state=self.random_state)
            self.model_.fit(X, categorical=cat)
            self.gamma_ = float(self.model_.gamma)
        self.labels_ = np.asarray(self.model_.labels_, dtype=np.int64)
        self.cluster_centers_ = np.asarray(self.model_.cluster_centroids_
                                           if hasattr(self.model_, "cluster_centroids_")
                                           else self.model_.cluster_centers_, dtype=float)
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        cat = self.categorical_
        num = [i for i in range(X.shape[1]) if i not in cat]
        if cat and num:
            return np.asarray(self.model_.predict(X, categorical=cat), dtype=np.int64)
        return np.asarray(self.model_.predict(X), dtype=np.int64)

    def scoring_matrix(self, X: Any) -> np.ndarray:
        """Numeric columns, then one-hot categorical columns times ``sqrt(gamma / 2)``: squared
        Euclidean distances in it equal the k-prototypes cost, so silhouette and the other
        internal scores can be computed on it."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        cat = self.categorical_
        num = [i for i in range(X.shape[1]) if i not in cat]
        parts = [X[:, num]]
        weight = np.sqrt(self.gamma_ / 2) if np.isfinite(self.gamma_) else 1.0
        for c, levels in zip(cat, self.levels_, strict=True):  # levels seen in fit
            parts.append((X[:, [c]] == levels[None, :]).astype(float) * weight)
        return np.hstack(parts)
