"""scikit-learn's estimator contract suite on the public estimators."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from custseg import Segmenter


@parametrize_with_checks([Segmenter(k=3, random_state=0), Segmenter(k="auto", k_range=(2, 4),
                                                                    random_state=0)])
def test_sklearn_contract(estimator, check):
    check(estimator)
