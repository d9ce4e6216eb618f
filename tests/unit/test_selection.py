"""k selection: scores, elbow, consensus, confidence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from custseg.selection import SILHOUETTE_SAMPLE, KScore, consensus, find_elbow, select_k


def grid_blobs(nx: int, ny: int, seed: int = 0, spacing: float = 10.0) -> np.ndarray:
    """Well-separated groups of different sizes on a grid (spacing = 10 standard deviations)."""
    rng = np.random.RandomState(seed)
    centres = np.array([(i * spacing, j * spacing) for i in range(nx) for j in range(ny)])
    sizes = rng.randint(40, 120, size=len(centres))
    X = np.vstack([c + rng.normal(size=(n, 2)) for c, n in zip(centres, sizes, strict=True)])
    return StandardScaler().fit_transform(X)


@pytest.mark.parametrize(("nx", "ny", "k_max"), [(2, 3, 10), (3, 3, 12), (4, 4, 20)])
def test_consensus_finds_many_separated_groups_where_elbow_undercounts(nx, ny, k_max):
    X = grid_blobs(nx, ny)
    sel = select_k(X, range(2, k_max + 1), random_state=0)
    assert sel.chosen_k == nx * ny
    assert sel.confidence_label == "high"
    if nx * ny >= 9:  # the known failure of the elbow alone
        assert sel.elbow_k is not None and sel.elbow_k < nx * ny


def test_mall_like_scores_and_plain_explanation():
    X = grid_blobs(2, 2)
    sel = select_k(X, range(2, 8), random_state=0)
    assert [s.k for s in sel.scores] == list(range(2, 8))
    assert sel.chosen_k == 4
    assert "4 of 4 signals agree" in sel.explanation or "3 of 4" in sel.explanation
    d = sel.to_dict()
    assert "model" not in d and d["chosen_k"] == 4 and len(d["scores"]) == 6


@pytest.mark.parametrize("shape", ["gaussian", "uniform-3d"])
def test_no_structure_is_said_plainly(shape):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 3)) if shape == "gaussian" else rng.uniform(size=(600, 3))
    sel = select_k(X, range(2, 9), random_state=0)
    best = max(s.silhouette for s in sel.scores)
    if best < 0.25:
        assert sel.structure == "none"
        assert sel.confidence_label == "low"
        assert "no clear structure" in sel.explanation
    else:
        assert sel.confidence_label != "high"


def test_fixed_k_has_one_score_and_method_fixed():
    X = grid_blobs(2, 2)
    sel = select_k(X, [3], random_state=0)
    assert sel.method == "fixed" and sel.chosen_k == 3 and len(sel.scores) == 1


def test_select_k_is_deterministic():
    X = grid_blobs(3, 2, seed=5)
    a = select_k(X, range(2, 9), random_state=7)
    b = select_k(X, range(2, 9), random_state=7)
    assert a.to_dict() == b.to_dict()


def test_k_values_beyond_n_are_dropped_and_empty_raises():
    X = grid_blobs(1, 2)[:5]
    sel = select_k(X, range(2, 11), random_state=0)
    assert max(s.k for s in sel.scores) == 4
    with pytest.raises(ValueError, match="no valid k"):
        select_k(X, [10], random_state=0)


def test_silhouette_is_sampled_on_large_tables():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(6000, 2)), rng.normal(size=(6000, 2)) + 8])
    sel = select_k(X, [2, 3], random_state=0)
    assert sel.silhouette_sample == SILHOUETTE_SAMPLE < len(X)
    assert sel.chosen_k == 2


def _score(k, inertia, sil, ch, db):
    return KScore(k, inertia, sil, ch, db)


def test_consensus_tie_breaks_by_mean_rank():
    # elbow -> 3, silhouette -> 3, CH -> 5, DB -> 5: tie; mean rank decides
    scores = [
        _score(2, 100, 0.40, 100, 0.90),
        _score(3, 40, 0.60, 200, 0.60),
        _score(4, 30, 0.55, 250, 0.55),
        _score(5, 25, 0.50, 300, 0.50),
        _score(6, 22, 0.45, 280, 0.70),
    ]
    sel = consensus(scores)
    assert sel.votes == {"elbow": 3, "silhouette": 3, "calinski_harabasz": 5,
                         "davies_bouldin": 5}
    # mean ranks over (silhouette, CH, DB): k=3 -> (1+4+3)/3, k=5 -> (3+1+1)/3
    assert sel.chosen_k == 5
    assert sel.confidence_label != "high"
    # Flip CH and DB to agree with silhouette: 3 must win outright with high agreement
    scores[1] = _score(3, 40, 0.60, 400, 0.30)
    sel = consensus(scores)
    assert sel.chosen_k == 3 and sel.confidence > 0.65


def test_find_elbow():
    assert find_elbow([1, 2, 3, 4, 5, 6], [100, 40, 15, 12, 10, 9]) == 3
    assert find_elbow([2, 3], [10, 5]) is None


def test_small_silhouette_equals_scikit_learns() -> None:
    from sklearn.metrics import silhouette_score

    from custseg.selection import small_silhouette

    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(40):
        n = int(rng.integers(3, 1500))
        d = int(rng.integers(1, 8))
        k = int(rng.integers(2, min(12, n)))
        X = rng.standard_normal((n, d)) * rng.uniform(0.1, 100)
        y = rng.integers(0, k, n)
        y[rng.integers(0, n)] = k + 3  # a singleton segment scores 0, as in scikit-learn
        if not 2 <= len(np.unique(y)) < n:
            continue
        assert small_silhouette(X, y) == pytest.approx(silhouette_score(X, y), abs=2e-5)
        checked += 1
    assert checked >= 30


def test_sampled_scores_share_the_subsample_distances_across_k() -> None:
    """The subsamples' distance matrices kept for the next k give every k the same scores,
    to the bit, as computing them again."""
    from custseg.selection import SubsampleDistances, score_partition_sampled

    rng = np.random.default_rng(4)
    X = (rng.standard_normal((30_000, 4)) + rng.integers(0, 4, (30_000, 1)) * 3).astype(
        np.float32)
    shared = SubsampleDistances()
    for k in (2, 3, 5):
        labels = rng.integers(0, k, len(X))
        alone = score_partition_sampled(X, labels, 1.0, k, 7)
        assert score_partition_sampled(X, labels, 1.0, k, 7, distances=shared) == alone
        assert np.isfinite(alone.silhouette) and alone.silhouette_se is not None


def test_possible_k_values_counts_every_row_when_the_first_ones_repeat() -> None:
    from custseg.selection import DISTINCT_PREFIX, possible_k_values

    X = np.zeros((DISTINCT_PREFIX + 3, 2))
    X[-3:, 0] = [1.0, 2.0, 3.0]  # 4 distinct rows, all after the first ones but one
    assert possible_k_values(X, [2, 3, 4, 5, 6]) == ([2, 3, 4], None)
    assert possible_k_values(np.arange(4000.0).reshape(-1, 2), [2, 10]) == ([2, 10], None)
    assert possible_k_values(X[:DISTINCT_PREFIX + 1], [2, 3])[0] == [2]


def test_nested_thread_limits_hold_and_restore():
    from threadpoolctl import threadpool_info, threadpool_limits

    from custseg.selection import limit_threads

    def threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info()}

    with threadpool_limits(limits=2):
        with limit_threads(10):
            assert threads() == {1}
            with limit_threads(10), limit_threads(10, 1):  # the same limit: held
                assert threads() == {1}
            with limit_threads(10, 2):  # another limit: set, then undone
                assert threads() == {2}
            assert threads() == {1}
        assert threads() == {2}


def test_final_scores_share_the_distances_of_choosing_k():
    from custseg.selection import SilhouetteSample, partition_scores

    X = grid_blobs(2, 2)
    sample = SilhouetteSample(X, 0)
    sel = select_k(X, range(2, 6), random_state=0, silhouette_sample=sample)
    labels = sel.model.labels_
    shared = partition_scores(X, labels, sel.chosen_k, 0, sample=sample)
    assert shared == partition_scores(X, labels, sel.chosen_k, 0)
    assert sample.serves(X[labels >= 0], 0) and not sample.serves(X[::-1], 0)
    assert not sample.serves(np.asfortranarray(X), 0)  # another layout: its own distances
