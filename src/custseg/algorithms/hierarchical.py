"""Ward hierarchical clustering that scales: exact up to 20,000 customers, on K-Means
micro-clusters weighted by their sizes above.

Ward's criterion merges, at each step, the two groups whose union increases the total
within-group sum of squares the least: for groups A and B with sizes ``n_a``, ``n_b`` and
centres ``c_a``, ``c_b`` the increase is ``n_a n_b / (n_a + n_b) * ||c_a - c_b||^2``.  On
micro-clusters the same formula with their sizes as weights gives the tree that Ward would
build if each micro-cluster's customers sat on its centre.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.utils.validation import check_is_fitted, validate_data


def weighted_ward_linkage(centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Ward linkage of weighted points, in SciPy's linkage format.

    Column 2 holds the merge height ``sqrt(2 * increase in within-group sum of squares)``,
    which equals SciPy's Ward distance for unit weights; column 3 the number of points
    (micro-clusters) under the merge, as SciPy expects.

    >>> import numpy as np
    >>> from scipy.cluster.hierarchy import linkage
    >>> X = np.array([[0.0], [1.0], [5.0], [6.0], [20.0]])
    >>> np.allclose(weighted_ward_linkage(X, np.ones(5)), linkage(X, "ward"))
    True
    """
    m = len(centres)
    c = np.asarray(centres, dtype=np.float64).copy()
    w = np.asarray(weights, dtype=np.float64).copy()
    ids = np.arange(m)
    leaves = np.ones(m)
    active = np.ones(m, dtype=bool)
    sq = ((c[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    cost = (w[:, None] * w[None, :]) / (w[:, None] + w[None, :]) * sq
    np.fill_diagonal(cost, np.inf)
    out = np.zeros((m - 1, 4))
    for step in range(m - 1):
        flat = int(np.argmin(cost))
        i, j = divmod(flat, m)
        if i > j:
            i, j = j, i
        out[step] = [min(ids[i], ids[j]), max(ids[i], ids[j]),
                     np.sqrt(2 * cost[i, j]), leaves[i] + leaves[j]]
        leaves[i] += leaves[j]
        c[i] = (w[i] * c[i] + w[j] * c[j]) / (w[i] + w[j])
        w[i] += w[j]
        ids[i] = m + step
        active[j] = False
        cost[j, :] = np.inf
        cost[:, j] = np.inf
        d = ((c[active] - c[i]) ** 2).sum(-1)
        new = w[active] * w[i] / (w[active] + w[i]) * d
        cost[i, active] = new
        cost[active, i] = new
        cost[i, i] = np.inf
    return out


class WardClustering(ClusterMixin, BaseEstimator):
    """Ward agglomerative clustering with a size-weighted micro-cluster mode for large data.

    Parameters
    ----------
    n_clusters : int, default=3
    exact_limit : int, default=20000
        Up to this many rows the tree is built on the customers themselves; above, on
        ``micro_clusters`` K-Means micro-clusters weighted by size.
    micro_clusters : int, default=300
    random_state : int or None
        Seed of the micro-cluster K-Means.

    Attributes
    ----------
    labels_, cluster_centers_ (mean of each segment), linkage_ (SciPy format, for the
    dendrogram), micro_ (True when built on micro-clusters), n_leaves_.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((5, 2)), np.ones((5, 2)) * 10]
    >>> WardClustering(n_clusters=2).fit(X).labels_.tolist()
    [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    """

    def __init__(self, n_clusters: int = 3, *, exact_limit: int = 20_000,
                 micro_clusters: int = 300, random_state: Any = None) -> None:
        self.n_clusters = n_clusters
        self.exact_limit = exact_limit
        self.micro_clusters = micro_clusters
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> WardClustering:
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        n = X.shape[0]
        if not 1 <= self.n_clusters <= n:
            raise ValueError(f"n_clusters must be between 1 and n_samples={n}, "
                             f"got {self.n_clusters}")
        self.micro_ = n > self.exact_limit
        if self.micro_:
            m = min(self.micro_clusters, n)
            km = KMeans(m, n_init=1, random_state=self.random_state).fit(X)
            leaf_of_row = km.labels_
            weights = np.bincount(leaf_of_row, minlength=m).astype(float)
            keep = weights > 0
            remap = np.cumsum(keep) - 1
            leaf_of_row = remap[leaf_of_row]
            centres, weights = km.cluster_centers_[keep], weights[keep]
        else:
            leaf_of_row = np.arange(n)
            centres, weights = X, np.ones(n)
        if len(centres) > 1:
            if self.micro_:
                self.linkage_ = weighted_ward_linkage(centres, weights)
            else:
                from scipy.cluster.hierarchy import linkage

                self.linkage_ = linkage(centres, method="ward")
        else:
            self.linkage_ = np.zeros((0, 4))
        self.n_leaves_ = len(centres)
        self._leaf_of_row = leaf_of_row
        self._X_fit = X
        self._set_k(self.n_clusters)
        return self

    def _cut(self, k: int) -> np.ndarray:
        from scipy.cluster.hierarchy import cut_tree

        if self.n_leaves_ <= 1 or k <= 1:
            return np.zeros(len(self._leaf_of_row), dtype=np.int64)
        k = min(k, self.n_leaves_)
        leaf_labels = cut_tree(self.linkage_, n_clusters=k).ravel()
        return leaf_labels[self._leaf_of_row].astype(np.int64)

    def _set_k(self, k: int) -> None:
        labels = self._cut(k)
        self.labels_ = labels
        self.cluster_centers_ = np.vstack([self._X_fit[labels == s].mean(axis=0)
                                           for s in range(labels.max() + 1)])

    def labels_for(self, k: int) -> np.ndarray:
        """Labels of the fitted rows when the tree is cut into ``k`` segments (no refit)."""
        check_is_fitted(self)
        return self._cut(k)

    def with_k(self, k: int) -> WardClustering:
        """Re-cut the fitted tree at ``k`` segments, in place; returns self."""
        check_is_fitted(self)
        self.n_clusters = k
        self._set_k(k)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Nearest segment centre."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return pairwise_distances_argmin(X, self.cluster_centers_)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_X_fit", None)  # training data do not belong in a saved model
        state.pop("_leaf_of_row", None)
        return state
