"""The Segmenter estimator on DataFrames and arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

import custseg.segmenter as segmenter_module
from custseg import Segmenter, demo_data_path, load_table
from custseg.errors import DataError, UsageError
from custseg.segmenter import parse_k

DEMO_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
EXPECTED = [((55.3, 49.5), 81), ((86.5, 82.1), 39), ((88.2, 17.1), 35), ((26.3, 20.9), 23),
            ((25.7, 79.4), 22)]


def blobs(n_per=60, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    centres = np.array([[0, 0, 0], [8, 8, 0], [0, 8, 8], [8, 0, 8]], dtype=float)
    X = np.vstack([c + rng.normal(size=(n_per, 3)) for c in centres]).astype(dtype)
    y = np.repeat(np.arange(4), n_per)
    return X, y


@pytest.fixture(scope="module")
def mall():
    return load_table(demo_data_path())


def test_mall_reference_segments(mall):
    seg = Segmenter(features=DEMO_FEATURES, random_state=0).fit(mall)
    assert seg.k_ == 5
    for s, ((inc, spe), n) in zip(seg.segments_, EXPECTED, strict=True):
        assert s.size == n
        assert s.mean[DEMO_FEATURES[0]] == pytest.approx(inc, abs=0.05)
        assert s.mean[DEMO_FEATURES[1]] == pytest.approx(spe, abs=0.05)
    assert seg.roles_.id_column == "CustomerID"
    assert seg.roles_.categorical == ["Genre"]
    assert seg.labels_.shape == (200,)
    assert np.bincount(seg.labels_).tolist() == [81, 39, 35, 23, 22]
    assert seg.k_selection_.confidence_label == "high"
    # the input is not modified
    assert list(mall.columns) == ["CustomerID", "Genre", "Age", "Annual Income (k$)",
                                  "Spending Score (1-100)"]
    assert mall["CustomerID"].iloc[0] == "0001"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", ["array", "dataframe"])
def test_recovers_planted_groups(dtype, container):
    X, y = blobs(dtype=dtype)
    data = X if container == "array" else pd.DataFrame(X, columns=["a b", "c (k$)", "d"])
    seg = Segmenter(random_state=0).fit(data)
    assert seg.k_ == 4
    assert adjusted_rand_score(y, seg.labels_) == pytest.approx(1.0)
    np.testing.assert_array_equal(seg.predict(data), seg.labels_)
    d = seg.transform(data)
    assert d.shape == (len(X), 4)
    np.testing.assert_array_equal(d.argmin(axis=1), seg.labels_)
    np.testing.assert_allclose(d.min(axis=1), seg.distances_, rtol=1e-6)


def test_segments_ordered_by_size_largest_first():
    rng = np.random.RandomState(3)
    X = np.vstack([rng.normal(size=(n, 2)) + c for n, c in [(30, (0, 0)), (120, (10, 0)),
                                                             (60, (0, 10))]])
    seg = Segmenter(k=3, random_state=0).fit(X)
    assert np.bincount(seg.labels_).tolist() == [120, 60, 30]
    assert [s.size for s in seg.segments_] == [120, 60, 30]


def test_missing_values_are_imputed_or_dropped():
    X, _ = blobs()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df.loc[[3, 70, 150], "b"] = np.nan
    seg = Segmenter(k=4, random_state=0).fit(df)
    assert (seg.labels_ >= 0).all()
    assert seg.cleaning_["imputed"] == {"b": 3}
    dropped = Segmenter(k=4, impute="drop", random_state=0).fit(df)
    assert (dropped.labels_ == -1).sum() == 3
    assert dropped.labels_[[3, 70, 150]].tolist() == [-1, -1, -1]
    assert not dropped.fit_mask_[[3, 70, 150]].any()
    assert dropped.cleaning_["rows_dropped_missing"] == 3


def test_exact_duplicates_share_their_twins_segment():
    X, _ = blobs()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df = pd.concat([df, df.iloc[[0, 100]]], ignore_index=True)
    seg = Segmenter(k=4, random_state=0).fit(df)
    assert seg.cleaning_["duplicate_rows_dropped"] == 2
    assert seg.fit_mask_.sum() == 240
    assert seg.labels_[240] == seg.labels_[0] and seg.labels_[241] == seg.labels_[100]


@pytest.mark.parametrize("use_categorical", [False, True])
def test_categorical_describes_or_segments(use_categorical):
    X, y = blobs()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["plan"] = np.where(y % 2 == 0, "basic", "gold")
    seg = Segmenter(k=4, use_categorical=use_categorical, random_state=0).fit(df)
    assert ("plan" in seg.features_) is use_categorical
    assert all(set(s.categories["plan"]) <= {"basic", "gold"} for s in seg.segments_)
    assert adjusted_rand_score(y, seg.labels_) == pytest.approx(1.0)


def test_assign_by_name_ignores_other_columns(mall):
    seg = Segmenter(features=DEMO_FEATURES, random_state=0).fit(mall)
    new = mall[[DEMO_FEATURES[1], DEMO_FEATURES[0]]].head(10).assign(extra="x")
    out = seg.assign(new)
    assert out["segment"].tolist() == seg.labels_[:10].tolist()
    assert out["segment_name"].iloc[0] == seg.segments_[out["segment"].iloc[0]].name
    with pytest.raises(DataError, match="Spending Score"):
        seg.assign(mall[[DEMO_FEATURES[0]]])
    bad = new.copy()
    bad[DEMO_FEATURES[0]] = bad[DEMO_FEATURES[0]].astype(object)
    bad.loc[0, DEMO_FEATURES[0]] = "12k"
    with pytest.raises(DataError, match="12k"):
        seg.assign(bad)


def test_same_seed_same_result_different_seed_allowed(mall):
    a = Segmenter(random_state=1).fit(mall)
    b = Segmenter(random_state=1).fit(mall)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_large_data_selects_k_on_a_sample(monkeypatch):
    monkeypatch.setattr(segmenter_module, "SELECTION_SAMPLE", 300)
    X, y = blobs(n_per=250)
    seg = Segmenter(random_state=0).fit(X)
    assert seg.k_selection_.n_samples == 300
    assert seg.k_ == 4
    assert adjusted_rand_score(y, seg.labels_) == pytest.approx(1.0)


@pytest.mark.parametrize(("value", "expected"), [("5", 5), ("2..10", (2, 10)), ("3-6", (3, 6)),
                                                 ("auto", (2, 10)), (7, 7)])
def test_parse_k(value, expected):
    assert parse_k(value) == expected


@pytest.mark.parametrize("value", ["1", "abc", "10..2", "0..3", ""])
def test_parse_k_rejects(value):
    with pytest.raises(UsageError, match="`k` must be") as err:
        parse_k(value)
    assert err.value.parameter == "k"


@pytest.mark.parametrize("params", [{"k": 1}, {"k": "nonsense"}, {"k_range": (5, 2)},
                                    {"impute": "mean"}, {"scaling": "zscore"}])
def test_bad_parameters_raise_usage_error(params):
    X, _ = blobs()
    with pytest.raises(UsageError):
        Segmenter(**params).fit(X)


def test_fewer_customers_than_segments():
    X, _ = blobs()
    with pytest.raises(DataError, match="fewer than the 6 segments"):
        Segmenter(k=6).fit(X[:4])


def test_categorical_only_features_name_segments_by_category(mall):
    seg = Segmenter(features=["Genre"], random_state=0).fit(mall)
    assert seg.k_ == 2  # only two distinct customers' values: k capped, said so
    assert seg.k_selection_.method == "only-possible"
    assert sorted(s.name for s in seg.segments_) == ["Female", "Male"]
    with pytest.raises(DataError, match="only 2 distinct"):
        Segmenter(k=3, features=["Genre"], random_state=0).fit(mall)


def test_mixed_features_add_dominant_category_to_name(mall):
    seg = Segmenter(k=3, features=["Genre", "Age"], random_state=0).fit(mall)
    assert "Genre" in seg.features_
    names = [s.name for s in seg.segments_]
    assert any(n.endswith("Female") or n.endswith("Male") for n in names)
    # the age in plain words: "Younger · Female", "Older", never "Low age"
    assert all(n.split(" · ")[0] in ("Younger", "Middle-aged", "Older") for n in names), names


def test_non_string_column_names_fit_and_predict():
    X, _ = blobs()
    df = pd.DataFrame(X)  # columns 0, 1, 2
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)  # and an exact duplicate row
    seg = Segmenter(k=4, random_state=0).fit(df)
    assert seg.features_ == ["0", "1", "2"]
    np.testing.assert_array_equal(seg.predict(df.head(5)), seg.labels_[:5])


def test_predict_refuses_huge_values():
    X, _ = blobs()
    seg = Segmenter(k=4, random_state=0).fit(pd.DataFrame(X, columns=["a", "b", "c"]))
    with pytest.raises(DataError, match="too large"):
        seg.predict(pd.DataFrame({"a": [1e300], "b": [0.0], "c": [0.0]}))


def test_range_with_many_identical_customers_keeps_only_valid_k():
    # 3 distinct customers repeated: only k = 2 and 3 can give non-empty segments
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0]]), [50, 30, 20], axis=0)
    X = X + np.r_[np.zeros((99, 2)), [[1e-9, 0.0]]]  # 4 distinct rows, one a hair apart
    seg = Segmenter(random_state=0).fit(X)
    assert seg.k_ in (2, 3)
    assert all(s.size > 0 for s in seg.segments_)


def _group_centres(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.vstack([X[labels == j].mean(axis=0) for j in np.unique(labels)])


@pytest.mark.parametrize("seed", [0, 1])
def test_k_given_every_group_gets_a_centre_where_ten_kmeans_starts_miss_one(seed):
    """Issue 14: on an A3-like set (50 touching groups) with k given, the standard engine's
    K-Means finds every group (centroid index 0) thanks to the repair step; without it, the
    same run (ten k-means++ starts) leaves a group without a centre."""
    from dataclasses import replace

    from custseg.algorithms import registry
    from planted import a3_like, centroid_index

    X, _, true = a3_like(seed)
    seg = Segmenter(k=50, random_state=seed).fit(X)
    assert centroid_index(true, _group_centres(X, seg.labels_)) == 0
    kmeans = registry.get("kmeans")
    registry.register(replace(kmeans, refine=None), replace=True)
    try:
        unrepaired = Segmenter(k=50, random_state=seed).fit(X)
    finally:
        registry.register(kmeans, replace=True)
    assert centroid_index(true, _group_centres(X, unrepaired.labels_)) >= 1
    assert seg.inertia_ < unrepaired.inertia_
