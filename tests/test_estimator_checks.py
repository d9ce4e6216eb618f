"""scikit-learn's estimator contract suite on the public estimators."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from custseg import Segmenter
from custseg.algorithms import (
    DensitySegments,
    GaussianMixtureSegments,
    KPrototypesSegments,
    WardClustering,
)


@parametrize_with_checks([
    Segmenter(k=3, random_state=0),
    Segmenter(k="auto", k_range=(2, 4), random_state=0),
    Segmenter(k=3, algorithm="hierarchical", random_state=0),
    Segmenter(k=3, algorithm="gmm", random_state=0),
    WardClustering(n_clusters=3),
    WardClustering(n_clusters=3, exact_limit=10, micro_clusters=8, random_state=0),
    GaussianMixtureSegments(n_clusters=3, random_state=0),
    KPrototypesSegments(n_clusters=3, random_state=0),
    DensitySegments(),
])
def test_sklearn_contract(estimator, check):
    check(estimator)
