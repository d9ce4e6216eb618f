"""Segmentation methods on data with planted structure: each recovers it where it should."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score as ari

from conftest import invoke
from custseg import Segmenter
from custseg.algorithms.hierarchical import WardClustering
from custseg.comparison import compare_methods
from custseg.errors import UsageError
from custseg.stability import bootstrap_stability, jaccard_per_segment


def different_blobs(seed=0):
    """Three round groups of very different sizes and spreads."""
    rng = np.random.RandomState(seed)
    spec = [((0, 0), 0.6, 500), ((7, 0), 1.5, 150), ((0, 7), 0.3, 60)]
    X = np.vstack([rng.normal(c, s, (n, 2)) for c, s, n in spec])
    return pd.DataFrame(X, columns=["a", "b"]), np.repeat([0, 1, 2], [n for *_, n in spec])


def elongated(seed=0):
    """Three long parallel bands: K-Means cuts across them."""
    rng = np.random.RandomState(seed)
    X = np.vstack([np.c_[rng.normal(0, 5, 300), rng.normal(off, 0.3, 300)]
                   for off in (0, 3, 6)])
    return pd.DataFrame(X, columns=["a", "b"]), np.repeat([0, 1, 2], 300)


def mixed(seed=0):
    """Groups told apart mostly by two categorical columns (95% pure), weakly by numbers."""
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1, 2], 200)
    num = rng.normal(0, 1, (600, 2)) + np.c_[y * 1.5, np.zeros(600)]
    region = np.array(["north", "south", "west"])[y]
    flip = rng.rand(600) < 0.05
    region[flip] = rng.choice(["north", "south", "west"], flip.sum())
    channel = np.array(["web", "store", "phone"])[(y + (rng.rand(600) < 0.05)) % 3]
    return pd.DataFrame({"spend": num[:, 0], "visits": num[:, 1], "region": region,
                         "channel": channel}), y


def noisy(seed=0):
    """Three dense groups plus 60 customers scattered uniformly (noise, label -1)."""
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.normal(c, 0.5, (200, 2)) for c in ((0, 0), (6, 0), (3, 5))])
    noise = rng.uniform(-3, 9, (60, 2))
    y = np.r_[np.repeat([0, 1, 2], 200), -np.ones(60, int)]
    return pd.DataFrame(np.r_[X, noise], columns=["a", "b"]), y


@pytest.mark.parametrize("algorithm", ["kmeans", "hierarchical", "gmm", "hdbscan"])
def test_blobs_of_different_sizes_and_spreads(algorithm):
    df, y = different_blobs()
    seg = Segmenter(algorithm=algorithm, k_range=(2, 6), random_state=0).fit(df)
    assert seg.k_ == 3
    assigned = seg.labels_ >= 0
    assert assigned.mean() > 0.95
    assert ari(y[assigned], seg.labels_[assigned]) >= 0.9


def test_elongated_groups_need_a_mixture_or_density():
    df, y = elongated()
    gmm = Segmenter(algorithm="gmm", k_range=(2, 6), random_state=0).fit(df)
    assert gmm.k_ == 3 and gmm.k_selection_.votes["bic"] == 3
    assert ari(y, gmm.labels_) >= 0.9
    assert np.nanmean(gmm.probabilities_) > 0.9
    dens = Segmenter(algorithm="hdbscan", random_state=0).fit(df)
    assigned = dens.labels_ >= 0
    assert ari(y[assigned], dens.labels_[assigned]) >= 0.9
    kmeans = Segmenter(algorithm="kmeans", k_range=(2, 6), random_state=0).fit(df)
    assert ari(y, kmeans.labels_) < 0.7  # why the other methods exist


def test_mixed_numeric_and_categorical_groups():
    df, y = mixed()
    kp = Segmenter(algorithm="kprototypes", k=3, random_state=0).fit(df)
    assert set(kp.features_) == {"spend", "visits", "region", "channel"}
    assert ari(y, kp.labels_) >= 0.9
    assert kp.model_.gamma_ == pytest.approx(
        kp.model_.balanced_gamma(kp.preprocessor_.transform(
            kp.typed_features(df)), kp.model_.categorical_))
    # each segment is mostly one region, and its profile says so
    for s in kp.segments_:
        assert max(s.categories["region"].values()) > 0.8
    numeric_only = Segmenter(algorithm="kmeans", k=3, random_state=0).fit(df)
    assert ari(y, numeric_only.labels_) < 0.6


def kprototypes_cost(X, cat, gamma, centres):
    """The k-prototypes cost of every row to every centre, written out as Huang defines it:
    squared distance on the numeric columns plus gamma per categorical column that differs."""
    num = [i for i in range(X.shape[1]) if i not in cat]
    n_num = len(num)
    numeric = ((X[:, num][:, None, :] - centres[None, :, :n_num]) ** 2).sum(axis=2)
    differ = (X[:, cat][:, None, :] != centres[None, :, n_num:]).sum(axis=2)
    return numeric + gamma * differ


@pytest.mark.parametrize("n_numeric", [2, 0])
def test_kprototypes_ends_where_no_customer_is_cheaper_elsewhere(n_numeric):
    from custseg.algorithms.kprototypes import KPrototypesSegments

    df, _ = mixed(seed=1)
    codes = np.c_[pd.factorize(df["region"])[0], pd.factorize(df["channel"])[0]]
    X = np.c_[df[["spend", "visits"]].to_numpy()[:, :n_numeric], codes].astype(float)
    cat = [n_numeric, n_numeric + 1]
    model = KPrototypesSegments(4, categorical=cat, random_state=0).fit(X)
    gamma = model.gamma_ if n_numeric else 1.0  # categories only: k-modes, mismatches count
    cost = kprototypes_cost(X, cat, gamma, model.cluster_centers_)
    # every customer sits with its cheapest prototype...
    chosen = cost[np.arange(len(X)), model.labels_]
    assert np.all(chosen <= cost.min(axis=1) + 1e-9)
    assert model.cost_ == pytest.approx(chosen.sum())
    # ...and each prototype is its members' numeric means and categorical modes
    for j in range(4):
        members = X[model.labels_ == j]
        assert len(members) > 0
        np.testing.assert_allclose(model.cluster_centers_[j, :n_numeric],
                                   members[:, :n_numeric].mean(axis=0))
        for c in cat:
            values, counts = np.unique(members[:, c], return_counts=True)
            assert model.cluster_centers_[j, c] == values[counts.argmax()]
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    again = KPrototypesSegments(4, categorical=cat, random_state=0).fit(X)
    np.testing.assert_array_equal(again.labels_, model.labels_)


def test_kprototypes_gives_an_emptied_segment_the_costliest_customer():
    from custseg.algorithms.kprototypes import KPrototypesSegments, _prototypes

    X = np.array([[0.0, 0], [0.0, 0], [1.0, 1], [1.0, 1], [5.0, 2], [5.0, 0]])
    model = KPrototypesSegments(4, categorical=[1], random_state=0).fit(X)
    assert sorted(np.bincount(model.labels_, minlength=4).tolist()) == [1, 1, 2, 2]
    assert model.cost_ == pytest.approx(0.0)
    # a round that leaves segment 2 empty: it takes the customer that costs most (row 4)
    S = model.scoring_matrix(X)
    labels = np.array([0, 0, 1, 1, 1, 3])
    cost = np.array([0.0, 0.0, 0.0, 0.0, 9.0, 1.0])
    P = _prototypes(S, labels, 4, 1, [slice(1, 4)], model._weight(), cost)
    np.testing.assert_allclose(P[2], S[4])
    np.testing.assert_allclose(P[1], S[2])


def test_noise_goes_to_unassigned():
    df, y = noisy()
    seg = Segmenter(algorithm="hdbscan", random_state=0).fit(df)
    assert seg.k_ == 3
    planted = y >= 0
    assigned = seg.labels_ >= 0
    assert ari(y[planted & assigned], seg.labels_[planted & assigned]) >= 0.9
    assert (seg.labels_[~planted] == -1).mean() >= 0.25  # scattered customers left out
    assert (seg.labels_[planted] == -1).mean() <= 0.05  # dense ones kept
    new = pd.DataFrame({"a": [0.1, 50.0], "b": [0.0, 50.0]})
    assert seg.predict(new)[1] == -1  # far from every dense region


@pytest.mark.parametrize("algorithm", ["hierarchical", "gmm", "kprototypes", "hdbscan"])
def test_predict_agrees_with_fit(algorithm):
    df, _ = mixed() if algorithm == "kprototypes" else different_blobs()
    seg = Segmenter(algorithm=algorithm, k=3, random_state=0).fit(df)
    assert (seg.predict(df) == seg.labels_).mean() >= 0.97
    scored = seg.assign(df.head(20))
    assert list(scored.columns[:3]) == ["segment", "segment_name", "distance"]
    assert ("probability" in scored.columns) is (algorithm in ("gmm", "hdbscan"))


def test_hierarchical_micro_clusters_match_the_exact_tree():
    df, y = different_blobs(seed=3)
    exact = WardClustering(3).fit(df.to_numpy())
    micro = WardClustering(3, exact_limit=100, micro_clusters=60, random_state=0).fit(
        df.to_numpy())
    assert micro.micro_ and micro.n_leaves_ == 60 and not exact.micro_
    assert ari(exact.labels_, micro.labels_) >= 0.95
    assert ari(y, micro.labels_) >= 0.9
    for k in (2, 3, 4, 5):
        assert len(np.unique(micro.labels_for(k))) == k
    # a cut can be changed without refitting
    assert len(np.unique(micro.with_k(4).labels_)) == 4


def test_comparison_picks_a_suitable_method():
    df, _ = elongated()
    everything = ["kmeans", "hierarchical", "gmm", "kprototypes", "hdbscan"]
    c = compare_methods(df, k_range=(2, 6), n_resamples=8, methods=everything)
    assert c.recommended in ("gmm", "hdbscan")
    assert {r.algorithm for r in c.results} == {"kmeans", "hierarchical", "gmm", "hdbscan"}
    assert "kprototypes" in c.skipped  # no categorical column
    df, _ = mixed()
    c = compare_methods(df, k=3, n_resamples=8, methods=everything)
    assert c.recommended == "kprototypes"


def test_stability_flags_segments_not_to_be_trusted():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(400, 2))  # no structure: arbitrary cuts move between re-fits
    from sklearn.cluster import KMeans

    def fit(Z, seed):
        return KMeans(8, n_init=1, random_state=seed).fit_predict(Z)

    st = bootstrap_stability(X, fit(X, 0), fit, n_resamples=10, random_state=0)
    assert st.mean_ari < 0.8
    assert st.unstable_segments  # some segments dissolve
    blobs, _ = different_blobs()
    Z = blobs.to_numpy()
    ref = KMeans(3, n_init=5, random_state=0).fit_predict(Z)
    st = bootstrap_stability(Z, ref, lambda A, s: KMeans(3, n_init=5, random_state=s)
                             .fit_predict(A), n_resamples=10, random_state=0)
    assert st.mean_ari > 0.95 and not st.unstable_segments


def test_jaccard_per_segment_handles_unassigned():
    ref = np.array([0, 0, 1, 1, -1])
    other = np.array([-1, 0, 1, 1, 1])
    np.testing.assert_allclose(jaccard_per_segment(ref, other), [0.5, 2 / 3])


def test_stability_option_adds_a_vote_and_segment_stability():
    df, _ = different_blobs()
    seg = Segmenter(k_range=(2, 5), stability=True, random_state=0).fit(df)
    assert seg.k_selection_.votes["stability"] == 3
    assert all(s.stability is not None for s in seg.k_selection_.scores)
    assert len(seg.stability_.jaccard) == 3 and min(seg.stability_.jaccard) > 0.9


def test_unknown_algorithm_is_a_usage_error():
    df, _ = different_blobs()
    with pytest.raises(UsageError, match="algorithm"):
        Segmenter(algorithm="dbscan").fit(df)


def test_cli_algorithms_and_compare_methods(tmp_path):
    df, _ = noisy()
    df.insert(0, "customer_id", [f"C{i:04d}" for i in range(len(df))])
    path = tmp_path / "noisy.csv"
    df.to_csv(path, index=False)
    proc = invoke("segment", str(path), "--algorithm", "hdbscan", "--out", "h", "-q",
                  cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    seg = pd.read_csv(tmp_path / "h" / "segments.csv")
    assert {"probability", "segment_name"} <= set(seg.columns)
    assert (seg.loc[seg["segment"] == -1, "segment_name"] == "Unassigned").all()
    summary = json.loads((tmp_path / "h" / "summary.json").read_text())
    assert summary["algorithm"] == "hdbscan" and summary["k_selection"]["method"] == "density"
    assert summary["unassigned"]["size"] == int((seg["segment"] == -1).sum())

    proc = invoke("segment", str(path), "--algorithm", "gmm", "--stability", "--k",
                  "2..5", "--out", "g", "-q", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    assert "bic" in summary["k_selection"]["votes"] and "stability" in summary
    assert all("stable" in s for s in summary["segments"])

    proc = invoke("compare-methods", str(path), "--k", "2..5", "--resamples", "5",
                  "--methods", "kmeans,gmm,hdbscan", "--out", "cmp", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    doc = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert doc["recommended"] in {r["algorithm"] for r in doc["results"]}
    html = (tmp_path / "cmp" / "comparison.html").read_text()
    assert "Recommended" in html and "<script" not in html
    assert "Recommended:" in proc.stdout

    proc = invoke("segment", str(path), "--algorithm", "dbscan", "--out", "x", "-q",
                  cwd=tmp_path)
    assert proc.exit_code == 2 and "algorithm" in proc.stderr


@pytest.mark.parametrize(("algorithm", "marker"), [
    ("hierarchical", 'id="chart-dendrogram"'),
    ("hdbscan", 'class="note unassigned"'),
    ("gmm", 'class="note unclear"'),
])
def test_report_shows_what_each_method_adds(algorithm, marker):
    from custseg.io import demo_data_path
    from custseg.pipeline import segment_file
    from custseg.report import render_report

    result = segment_file(demo_data_path(), algorithm=algorithm, random_state=0,
                          features=["Annual Income (k$)", "Spending Score (1-100)"])
    html = render_report(result)
    assert marker in html
    for other in {'id="chart-dendrogram"', 'class="note unassigned"'} - {marker}:
        assert other not in html
