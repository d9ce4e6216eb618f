"""Gaussian mixture segments with membership probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted, validate_data

#: A customer whose highest membership probability is below this has no clear segment.
UNCLEAR_PROBABILITY = 0.6


class GaussianMixtureSegments(ClusterMixin, BaseEstimator):
    """Gaussian mixture model: soft segments of any ellipsoidal shape and size.

    Parameters
    ----------
    n_clusters : int, default=3
        Number of mixture components (segments).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    n_init : int, default=5
        Initialisations, each from randomly chosen customers (``random_from_data``: K-Means
        initialisations trap elongated segments in K-Means-like solutions); the best
        likelihood wins.
    random_state : int or None

    Attributes
    ----------
    labels_ : most probable segment of each row
    probabilities_ : probability of that segment
    cluster_centers_ : component means
    bic_ : Bayesian information criterion of the fit (lower is better)
    model_ : the fitted ``sklearn.mixture.GaussianMixture``

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(0, 1, (50, 2)), rng.normal(8, 1, (50, 2))]
    >>> seg = GaussianMixtureSegments(n_clusters=2, random_state=0).fit(X)
    >>> sorted(np.bincount(seg.labels_).tolist()), bool(seg.probabilities_.min() > 0.9)
    ([50, 50], True)
    """

    def __init__(self, n_clusters: int = 3, *, covariance_type: str = "full", n_init: int = 5,
                 random_state: Any = None) -> None:
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> GaussianMixtureSegments:
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        self.model_ = GaussianMixture(
            n_components=self.n_clusters, covariance_type=self.covariance_type,
            n_init=self.n_init, init_params="random_from_data", reg_covar=1e-5,
            random_state=self.random_state,
        ).fit(X)
        proba = self.model_.predict_proba(X)
        self.labels_ = proba.argmax(axis=1)
        self.probabilities_ = proba.max(axis=1)
        self.cluster_centers_ = self.model_.means_
        self.bic_ = float(self.model_.bic(X))
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.model_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Membership probability of every segment, shape (n_samples, n_clusters)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.model_.predict_proba(X)
