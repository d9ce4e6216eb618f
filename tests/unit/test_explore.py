"""The report's numbers (custseg.explore): histograms, correlations, stratified samples,
silhouettes and population statistics, checked against direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score

from custseg.explore import (
    MAX_LEVELS,
    category_counts,
    explore_file,
    explore_table,
    histogram,
    segment_views,
    stratified_sample,
)
from custseg.io import demo_data_path, read_table
from custseg.pipeline import segment_file

DEMO_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


@pytest.fixture(scope="module")
def demo():
    return segment_file(demo_data_path(), features=DEMO_FEATURES, random_state=0)


@pytest.fixture(scope="module")
def demo3():
    """Age, income and spending: three features, a PCA projection and a scatter matrix."""
    return segment_file(demo_data_path(), random_state=0)


# ----------------------------------------------------------------------------- histogram
@pytest.mark.parametrize("values", [
    np.random.default_rng(0).lognormal(3, 1, 5000),
    np.random.default_rng(1).normal(0, 1, 777),
    np.array([3.0, 3.0, 3.0]),
    np.random.default_rng(2).integers(18, 70, 400).astype(float),
])
def test_histogram_counts_add_up(values):
    with_missing = np.concatenate([values, [np.nan, np.nan, np.inf]])
    h = histogram(with_missing, "x")
    assert sum(h.counts) == h.n_values == len(values)
    assert h.n_missing == 3
    assert len(h.edges) == len(h.counts) + 1
    assert np.all(np.diff(h.edges) > 0)
    assert h.edges[0] <= values.min() and h.edges[-1] >= values.max()
    assert len(h.counts) <= 40
    # every value counted in the bin whose edges hold it
    idx = np.clip(np.searchsorted(h.edges, values, side="right") - 1, 0, len(h.counts) - 1)
    assert np.bincount(idx, minlength=len(h.counts)).tolist() == h.counts


def test_histogram_of_small_integers_has_one_bin_per_value():
    h = histogram(np.array([1.0, 1, 2, 4, 4, 4]), "visits")
    assert h.counts == [2, 1, 0, 3]
    assert h.edges == [0.5, 1.5, 2.5, 3.5, 4.5]


def test_histogram_of_nothing():
    h = histogram(np.array([np.nan, np.nan]), "x")
    assert h.counts == [] and h.n_values == 0 and h.n_missing == 2


def test_category_counts_order_other_and_missing():
    s = pd.Series(["b", "a", "b", None, "c", "a", "b"] + [f"l{i}" for i in range(30)])
    c = category_counts(s, "col")
    assert c.levels[:2] == ["b", "a"] and c.counts[:2] == [3, 2]
    assert len(c.levels) == MAX_LEVELS
    assert sum(c.counts) + c.n_other + c.n_missing == len(s)
    assert c.n_missing == 1


# ----------------------------------------------------------------------------- overview
def test_overview_of_demo_matches_the_data(demo):
    ov = demo.overview
    raw = pd.read_csv(demo_data_path())
    hist = {h.column: h for h in ov.histograms}
    assert list(hist) == [*DEMO_FEATURES, "Age"]  # features first
    assert hist["Age"].is_feature is False and hist[DEMO_FEATURES[0]].is_feature
    for col, h in hist.items():
        assert sum(h.counts) == h.n_values == raw[col].notna().sum() == ov.n_rows
    genre = ov.categories[0]
    assert genre.column == "Genre"
    assert dict(zip(genre.levels, genre.counts, strict=True)) == raw["Genre"].value_counts(
    ).to_dict()
    corr = ov.correlation
    assert list(corr.columns) == list(hist)
    np.testing.assert_allclose(corr.to_numpy(), corr.to_numpy().T)
    np.testing.assert_allclose(np.diag(corr.to_numpy()), 1.0)
    assert corr.loc["Age", "Spending Score (1-100)"] == pytest.approx(
        raw["Age"].corr(raw["Spending Score (1-100)"]))
    assert ov.input_sha256 == demo.summary["input_sha256"]
    assert ov.cleaning == demo.summary["cleaning"]


def test_explore_counts_cleaning_without_changing_the_table(tmp_path):
    f = tmp_path / "messy.csv"
    rows = ["id,spend,visits,region"] + [f"C{i},{i * 10},{i % 7},{'NS'[i % 2]}"
                                         for i in range(1, 60)]
    rows[3] = "C3,?,2,N"          # a missing marker
    rows[5] = "C5,12k,4,S"        # junk
    rows.append(rows[10])         # an exact duplicate row
    f.write_text("\n".join(rows) + "\n")
    table, info = read_table(f)
    before = table.copy()
    ov = explore_table(table, info)
    pd.testing.assert_frame_equal(table, before)
    assert ov.n_rows == 59 and ov.input["rows"] == 60
    assert ov.cleaning["duplicate_rows_dropped"] == 1
    assert ov.cleaning["missing_markers"] == {"spend": 1}
    assert ov.cleaning["junk_coerced"] == {"spend": 1}
    spend = next(h for h in ov.histograms if h.column == "spend")
    assert spend.n_missing == 2 and spend.n_values == 57
    assert ov.roles["id_column"] == "id"
    assert {w["code"] for w in ov.warnings} >= {"junk", "missing-marker", "duplicate-row"}


def test_explore_file_says_what_segment_would_do():
    ov = explore_file(demo_data_path(), features=DEMO_FEATURES)
    assert ov.features == DEMO_FEATURES
    assert ov.preprocessing["scaling"] == "standard"
    assert set(ov.preprocessing["skewness"]) == set(DEMO_FEATURES)


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("sizes,max_points", [
    ([9000, 900, 100], 1000),
    ([50_000, 3, 40, 7_000], 3000),
    ([100, 100], 150),
    ([10, 10, 10], 500),
])
def test_stratified_sample_is_bounded_and_keeps_every_segment(sizes, max_points):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    np.random.default_rng(0).shuffle(labels)
    idx = stratified_sample(labels, max_points, random_state=0)
    n = len(labels)
    assert len(idx) == min(n, max_points)
    assert len(np.unique(idx)) == len(idx) and np.all(np.diff(idx) > 0)
    got = np.bincount(labels[idx], minlength=len(sizes))
    assert np.all(got >= np.minimum(sizes, 20))  # small segments stay visible
    if n > max_points:
        expected = np.array(sizes) * max_points / n
        big = np.array(sizes) > 20 * n / max_points
        # proportional, give or take the minimum of the small segments
        assert np.all(np.abs(got[big] - expected[big]) <= 20 * len(sizes) + 1)


def test_stratified_sample_is_deterministic():
    labels = np.repeat([0, 1, 2], [5000, 3000, 2000])
    a = stratified_sample(labels, 1000, random_state=7)
    b = stratified_sample(labels, 1000, random_state=7)
    c = stratified_sample(labels, 1000, random_state=8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_stratified_sample_rejects_zero():
    with pytest.raises(ValueError, match="max_points"):
        stratified_sample(np.zeros(5), 0)


# ----------------------------------------------------------------------------- segments
def test_views_of_demo(demo):
    v = demo.views
    s = demo.summary
    assert v.n_customers == 200 and not v.sampled and not v.projected
    assert (v.x_name, v.y_name) == tuple(DEMO_FEATURES)
    assert len(v.points) == 200 and len(v.silhouette) == 200
    assert v.points["id"].iloc[0] == "0001"
    # centres in the scatter = the segments' means in summary.json
    for seg in s["segments"]:
        row = v.centres[v.centres["segment"] == seg["id"]].iloc[0]
        assert row["x"] == pytest.approx(seg["centre"][DEMO_FEATURES[0]], abs=1e-5)
        assert row["y"] == pytest.approx(seg["centre"][DEMO_FEATURES[1]], abs=1e-5)
    # every customer's silhouette: its mean is the partition's silhouette
    assert v.silhouette["silhouette"].between(-1, 1).all()
    assert v.silhouette["silhouette"].mean() == pytest.approx(s["quality"]["silhouette"],
                                                              abs=1e-5)
    raw = pd.read_csv(demo_data_path())
    assert v.population_mean["Age"] == pytest.approx(raw["Age"].mean())
    assert v.population_median[DEMO_FEATURES[0]] == pytest.approx(raw[DEMO_FEATURES[0]]
                                                                   .median())
    assert v.category_shares["Genre"] == {"Female": 0.56, "Male": 0.44}
    assert len(v.matrix_rows) == 0  # two features: no scatter matrix


def test_views_with_three_features_project_and_have_a_matrix(demo3):
    v = demo3.views
    assert v.projected and v.x_name == "component 1"
    assert 0 < len(v.matrix_rows) <= 1000
    assert {"Age", *DEMO_FEATURES} <= set(v.points.columns)


def test_views_sample_when_asked_for_fewer_points(demo3):
    seg = demo3.segmenter
    v = segment_views(seg, demo3.table, demo3.projection, max_points=60, matrix_points=30,
                      silhouette_points=50, random_state=1)
    assert v.sampled and v.silhouette_sampled
    assert len(v.points) == 60 and len(v.silhouette) == 50 and len(v.matrix_rows) == 30
    labels = seg.labels_[seg.fit_mask_]
    # stratified: every segment is in the samples
    assert set(v.points["segment"]) == set(labels) == set(v.silhouette["segment"])
    # the sampled rows are the customers they say they are
    proj = demo3.projection.set_index("id")
    for _, row in v.points.iterrows():
        assert proj.loc[row["id"], "segment"] == row["segment"]
        assert proj.loc[row["id"], "x"] == pytest.approx(row["x"])
    # the silhouette of a sample approximates the whole one
    assert v.silhouette["silhouette"].mean() == pytest.approx(
        demo3.summary["quality"]["silhouette"], abs=0.1)
    again = segment_views(seg, demo3.table, demo3.projection, max_points=60,
                          matrix_points=30, silhouette_points=50, random_state=1)
    pd.testing.assert_frame_equal(v.points, again.points)


def test_views_on_a_large_table_stay_bounded():
    rng = np.random.default_rng(0)
    n = 30_000
    X = np.vstack([rng.normal(0, 1, (n // 2, 2)), rng.normal(6, 1, (n - n // 2, 2))])
    df = pd.DataFrame({"id": [f"c{i}" for i in range(n)], "a": X[:, 0], "b": X[:, 1]})
    from custseg.pipeline import projection_frame
    from custseg.segmenter import Segmenter

    seg = Segmenter(k=2, random_state=0).fit(df)
    v = segment_views(seg, df, projection_frame(seg, df))
    assert len(v.points) == 3000 and len(v.silhouette) == 2000
    assert v.sampled
    sil_direct = silhouette_score(
        seg.preprocessor_.transform(df[["a", "b"]]), seg.labels_, sample_size=5000,
        random_state=0)
    assert v.silhouette["silhouette"].mean() == pytest.approx(sil_direct, abs=0.03)
