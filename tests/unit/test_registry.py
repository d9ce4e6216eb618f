"""The algorithm registry: built-in capabilities, and a new method added in one place."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import pairwise_distances_argmin

import custseg
from custseg import Segmenter, demo_data_path, load_table
from custseg.algorithms import ALGORITHMS, registry
from custseg.errors import UsageError

FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


def test_builtin_capabilities():
    caps = {name: registry.get(name).capabilities for name in registry.names()}
    assert list(caps) == ["kmeans", "hierarchical", "gmm", "kprototypes", "hdbscan", "deep"]
    assert list(ALGORITHMS) == list(caps)
    assert {n for n, c in caps.items() if not c.needs_k} == {"hdbscan"}
    assert {n for n, c in caps.items() if c.gives_probabilities} == {"gmm", "hdbscan"}
    assert {n for n, c in caps.items() if c.handles_categoricals} == {"kprototypes"}
    assert {n for n, c in caps.items() if c.has_noise_label} == {"hdbscan"}
    assert {n for n, c in caps.items() if c.centres_only} == {"kmeans"}
    assert {n for n, c in caps.items() if c.one_fit_for_all_k} == {"hierarchical"}
    assert {n for n, c in caps.items() if c.flags_unclear} == {"gmm"}
    assert registry.get("deep").requires is not None and registry.get("deep").embedding
    # the fast path's K-Means is registered but not offered to users
    assert "fastkmeans" in registry.names(internal=True)
    assert registry.get("fastkmeans").capabilities.parallel_k


def test_capabilities_are_frozen_and_unknown_names_refused():
    with pytest.raises(AttributeError):
        registry.get("kmeans").capabilities.needs_k = False  # type: ignore[misc]
    with pytest.raises(UsageError, match="algorithm must be one of") as err:
        registry.get("kmeanz")
    assert err.value.parameter == "algorithm"
    assert registry.capabilities("kmeanz").gives_probabilities is False
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.get("kmeans"))
    with pytest.raises(TypeError, match="takes no option"):
        registry.get("gmm").make(3, random_state=0, min_samples=4)


class NearestRows(ClusterMixin, BaseEstimator):
    """Toy method: k random customers are the centres; each customer joins the nearest."""

    def __init__(self, n_clusters: int = 3, random_state: int | None = None) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        distinct = np.unique(X, axis=0)
        rows = np.random.RandomState(self.random_state).choice(len(distinct), self.n_clusters,
                                                               replace=False)
        self.cluster_centers_ = distinct[rows]
        self.labels_ = self.predict(X)
        return self

    def predict(self, X):
        return pairwise_distances_argmin(np.asarray(X, dtype=float), self.cluster_centers_)


@pytest.fixture
def toy():
    """The recipe of custseg.algorithms.registry: one factory, one spec, registered."""

    def build(k, *, random_state, n_init="auto", n_samples=0):
        return NearestRows(k, random_state=random_state)

    spec = registry.register(registry.AlgorithmSpec("nearest-rows", "nearest random rows",
                                                    build, registry.Capabilities()))
    yield spec
    registry.unregister(spec.name)


def test_a_registered_toy_method_runs_end_to_end(toy):
    df = load_table(demo_data_path())
    seg = Segmenter(algorithm="nearest-rows", k=(3, 4), features=FEATURES,
                    random_state=0).fit(df)
    assert seg.k_ in (3, 4) and len(seg.segments_) == seg.k_
    assert len(seg.profiles_) == seg.k_ and all(s.name for s in seg.segments_)
    np.testing.assert_array_equal(seg.predict(df), seg.labels_)
    assert "probability" not in seg.assign(df).columns
    # through the library's one-call face: summary and profiles like any method
    result = custseg.segment(df, algorithm="nearest-rows", k=3, features=FEATURES)
    assert result.summary["algorithm"] == "nearest-rows" and result.summary["k"] == 3
    assert len(result.profiles) == 3
    assert "nearest-rows" in registry.names()


def test_unregistered_toy_is_refused_again(toy):
    registry.unregister(toy.name)
    with pytest.raises(UsageError, match="nearest-rows"):
        Segmenter(algorithm="nearest-rows", k=3).fit(load_table(demo_data_path()))
