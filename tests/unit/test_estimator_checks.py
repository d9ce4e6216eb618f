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
from custseg.algorithms.kmeans import FastKMeans


def _expected_failures(estimator):
    if isinstance(estimator, FastKMeans):  # as scikit-learn's own KMeans (labels permute)
        return {"check_sample_weight_equivalence_on_dense_data":
                "sample_weight is not equivalent to removing/repeating samples."}
    return {}


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
    FastKMeans(n_clusters=3, random_state=0),
    FastKMeans(n_clusters=3, repair=False, n_threads=1, random_state=0),
], expected_failed_checks=_expected_failures)
def test_sklearn_contract(estimator, check):
    check(estimator)
