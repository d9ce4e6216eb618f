"""Mixed numeric + categorical segments: k-prototypes (Huang 1997).

The cost of a customer to a segment is the squared Euclidean distance on the (scaled)
numeric features plus ``gamma`` times the number of categorical features that differ from
the segment's mode.  ``gamma`` is chosen automatically so that both kinds of feature weigh
the same on average, as R's ``clustMixType::lambdaest`` does: the mean variance of the
numeric features divided by the mean concentration ``1 - sum(p_level^2)`` of the categorical
ones (the chance that two random customers differ on it).  Huang's (1997) rule of thumb,
half the mean standard deviation, under-weights the categories (0.5 after standard scaling,
whatever the categories look like).  The value used is reported.

How it is computed: each categorical column is one-hot encoded and scaled by
``sqrt(gamma / 2)`` (:meth:`KPrototypesSegments.scoring_matrix`), so that two different
levels are ``gamma`` apart in squared Euclidean distance.  The k-prototypes cost of a
customer to a prototype (numeric means and categorical modes: a corner of that space) is
then the squared distance between them.  The fit is batch k-prototypes in that space, with
NumPy: k-means++ seeds drawn among the customers (scikit-learn's ``kmeans_plusplus``), then
every customer goes to its cheapest prototype and each prototype moves to its members'
numeric means and categorical modes, until no customer moves; the cheapest of ``n_init``
seedings is kept.  The ``kmodes`` package, used before, visits the customers one by one in
Python (about 1.5 s for Mall's 200 customers, where this takes milliseconds:
``bench/bench_kprototypes.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

#: Most assign/update rounds of one seeding (it usually settles in under 20).
MAX_ITER = 100


def _cheapest(S: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cheapest prototype (lowest index on ties) and its cost (squared distance)."""
    d = np.einsum("ij,ij->i", S, S)[:, None] - 2.0 * (S @ P.T)
    d += np.einsum("ij,ij->i", P, P)[None, :]
    labels = d.argmin(axis=1)
    return labels, np.maximum(d[np.arange(len(S)), labels], 0.0)


def _prototypes(S: np.ndarray, labels: np.ndarray, k: int, n_num: int,
                blocks: list[slice], weight: float, cost: np.ndarray) -> np.ndarray:
    """Each segment's members' numeric means and categorical modes (the lowest level on
    ties), in the scoring space.  An empty segment takes the customer that costs most where
    it is (as scikit-learn's K-Means does), one at a time."""
    counts = np.bincount(labels, minlength=k)
    if (counts == 0).any():
        labels = labels.copy()
        order = np.argsort(-cost, kind="stable")
        taken = 0
        for j in np.flatnonzero(counts == 0):
            while counts[labels[order[taken]]] <= 1:
                taken += 1
            counts[labels[order[taken]]] -= 1
            labels[order[taken]] = j
            counts[j] = 1
            taken += 1
    sums = np.zeros((k, S.shape[1]))
    np.add.at(sums, labels, S)
    P = np.empty_like(sums)
    P[:, :n_num] = sums[:, :n_num] / counts[:, None]
    for block in blocks:
        part = sums[:, block]
        P[:, block] = 0.0
        P[np.arange(k), block.start + part.argmax(axis=1)] = weight
    return P


def _one_seeding(S: np.ndarray, k: int, n_num: int, blocks: list[slice], weight: float,
                 seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Prototypes, labels and cost of batch k-prototypes from one k-means++ seeding."""
    P, _ = kmeans_plusplus(S, k, random_state=seed)
    labels, cost = _cheapest(S, P)
    for _ in range(MAX_ITER):
        P = _prototypes(S, labels, k, n_num, blocks, weight, cost)
        new, cost = _cheapest(S, P)
        if np.array_equal(new, labels):
            break
        labels = new
    return P, labels, float(cost.sum())


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
        Seedings tried; the cheapest fit is kept.
    random_state : int or None

    Attributes
    ----------
    labels_, gamma_, cost_ (the k-prototypes cost of the fit), cluster_centers_ (numeric
    means, then categorical modes as codes), levels_ (each categorical column's codes seen
    in fit), model_ (scikit-learn's ``KMeans`` when there is no categorical column).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> cat = np.repeat([0.0, 1.0, 2.0], 20)[:, None]
    >>> num = cat * 3 + rng.normal(scale=0.5, size=(60, 1))
    >>> seg = KPrototypesSegments(n_clusters=3, categorical=[1], random_state=0)
    >>> sorted(np.bincount(seg.fit(np.c_[num, cat]).labels_).tolist())
    [20, 20, 20]
    >>> sorted(seg.cluster_centers_[:, 1].tolist())  # each segment's mode of the category
    [0.0, 1.0, 2.0]
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
        if not cat:
            self.model_ = KMeans(self.n_clusters, n_init=self.n_init,
                                 random_state=self.random_state).fit(X)
            self.gamma_ = 0.0
            self.labels_ = np.asarray(self.model_.labels_, dtype=np.int64)
            self.cluster_centers_ = np.asarray(self.model_.cluster_centers_, dtype=float)
            self.cost_ = float(self.model_.inertia_)
            return self
        # without numeric columns this is k-modes: only mismatches count (gamma infinite)
        self.gamma_ = (float("inf") if not num else
                       float(self.gamma) if self.gamma is not None else
                       self.balanced_gamma(X, cat))
        S = self.scoring_matrix(X)
        k, n_num = int(self.n_clusters), len(num)
        blocks, start = [], n_num
        for levels in self.levels_:
            blocks.append(slice(start, start + len(levels)))
            start += len(levels)
        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max,
                                                              size=max(1, int(self.n_init)))
        best = None
        for seed in seeds:
            fit = _one_seeding(S, k, n_num, blocks, self._weight(), int(seed))
            if best is None or fit[2] < best[2]:
                best = fit
        assert best is not None
        P, labels, cost = best
        self.labels_ = labels.astype(np.int64)
        self.cost_ = cost if num else cost / 2  # categories only: one per mismatch
        modes = [self.levels_[j][P[:, b].argmax(axis=1)] for j, b in enumerate(blocks)]
        self.cluster_centers_ = np.column_stack([P[:, :n_num], *modes]).astype(float)
        return self

    def _weight(self) -> float:
        """The scale of the one-hot columns: ``sqrt(gamma / 2)``, 1 without numeric columns."""
        return float(np.sqrt(self.gamma_ / 2)) if np.isfinite(self.gamma_) else 1.0

    def _prototype_matrix(self) -> np.ndarray:
        """The prototypes (``cluster_centers_``) in the scoring space."""
        return self.scoring_matrix(self.cluster_centers_, columns="centres")

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        if not self.categorical_:
            return np.asarray(self.model_.predict(X), dtype=np.int64)
        labels, _ = _cheapest(self.scoring_matrix(X), self._prototype_matrix())
        return labels.astype(np.int64)

    def scoring_matrix(self, X: Any, columns: str = "data") -> np.ndarray:
        """Numeric columns, then one-hot categorical columns times ``sqrt(gamma / 2)``: squared
        Euclidean distances in it equal the k-prototypes cost, so silhouette and the other
        internal scores can be computed on it.  ``columns="centres"`` reads ``X`` laid out
        as ``cluster_centers_`` (numeric columns first) rather than as the data."""
        check_is_fitted(self, "levels_")
        X = np.asarray(X, dtype=np.float64)
        cat = self.categorical_
        if columns == "centres":
            n_num = X.shape[1] - len(cat)
            num, cat = list(range(n_num)), list(range(n_num, X.shape[1]))
        else:
            num = [i for i in range(X.shape[1]) if i not in cat]
        parts = [X[:, num]]
        weight = self._weight()
        for c, levels in zip(cat, self.levels_, strict=True):  # levels seen in fit
            parts.append((X[:, [c]] == levels[None, :]).astype(float) * weight)
        return np.hstack(parts)
