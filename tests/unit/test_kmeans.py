"""FastKMeans: quality against scikit-learn, planted groups, dtypes, determinism, warm start,
chunked assignment and the Numba cache fallback; every test runs on both kernels (NumPy below
``NUMPY_MAX_ROWS`` rows, compiled above), and the two give the same centres."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from custseg.algorithms import kmeans as kmeans_module
from custseg.algorithms.kmeans import (
    FastKMeans,
    assign,
    kernels_for,
    lloyd_step,
    sample_rows,
)
from planted import planted_groups

MALL = Path("/work/shared/data/mall_customers.csv")


@pytest.fixture(autouse=True, params=["numpy", "compiled"])
def kernels(request, monkeypatch):
    """Run the test on the NumPy kernels, then on the compiled ones, whatever the size."""
    monkeypatch.setattr(kmeans_module, "NUMPY_MAX_ROWS",
                        10**12 if request.param == "numpy" else 0)
    assert getattr(kernels_for(1000), "COMPILED", False) == (request.param == "compiled")
    return request.param


def test_both_kernels_give_the_same_fit(kernels, monkeypatch):
    """The NumPy and the compiled kernels: same seeding, same repair moves, same centres
    (to rounding), same labels, on float64 and float32."""
    if kernels == "compiled":
        pytest.skip("compares both kernels itself, once")
    X, _ = make_blobs(3000, centers=8, n_features=5, cluster_std=1.5, random_state=3)
    for dtype in (np.float64, np.float32):
        fits = {}
        for name, limit in (("numpy", 10**12), ("compiled", 0)):
            monkeypatch.setattr(kmeans_module, "NUMPY_MAX_ROWS", limit)
            fits[name] = FastKMeans(8, random_state=0).fit(X.astype(dtype))
        a, b = fits["numpy"], fits["compiled"]
        assert (a.labels_ == b.labels_).all()
        np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-5, atol=1e-5)
        assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-6)
        assert (a.n_repair_trials_, a.n_repair_accepted_) == (b.n_repair_trials_,
                                                              b.n_repair_accepted_)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # scikit-learn's KMeans on a few thousand rows: threads only add waiting on a busy machine
    with threadpool_limits(limits=1):
        yield


def quality_datasets(seed: int):
    rng = np.random.default_rng(seed)
    yield "uniform-2d", rng.uniform(size=(2000, 2)), 8
    yield "uniform-5d", rng.uniform(size=(3000, 5)), 10
    X, _ = make_blobs(1500, centers=3, random_state=seed)
    yield "anisotropic", X @ np.array([[0.6, -0.6], [-0.4, 0.8]]), 3
    X, _ = make_blobs(3000, centers=10, n_features=4, cluster_std=2.0, random_state=seed)
    yield "overlapping-blobs", X, 10
    X, _ = make_blobs(4000, centers=20, n_features=3, cluster_std=1.0, random_state=seed)
    yield "blobs-20", X, 20
    yield "gaussian-6d", rng.standard_normal((3000, 6)), 12
    mall = pd.read_csv(MALL)
    Z = StandardScaler().fit_transform(mall[["Annual Income (k$)", "Spending Score (1-100)"]])
    for k in (3, 5, 8):
        yield f"mall-k{k}", Z, k


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inertia_within_half_percent_of_sklearn_ten_inits(seed):
    worse = {}
    for name, X, k in quality_datasets(seed):
        reference = KMeans(k, n_init=10, random_state=seed).fit(X).inertia_
        ours = FastKMeans(k, random_state=seed).fit(X).inertia_
        if ours > reference * 1.005:
            worse[name] = ours / reference
    assert not worse, f"inertia more than 0.5% above KMeans(n_init=10): {worse}"


@pytest.mark.parametrize("n_groups", [15, 25, 50])
def test_finds_every_planted_group_where_one_kmeanspp_run_does_not(n_groups):
    seeds = range(6)
    missed, sklearn_missed = [], []
    for seed in seeds:
        X, y = planted_groups(n_groups, seed)
        if adjusted_rand_score(y, FastKMeans(n_groups, random_state=seed).fit(X).labels_) < 1:
            missed.append(seed)
        single = KMeans(n_groups, n_init=1, random_state=seed).fit(X)
        if adjusted_rand_score(y, single.labels_) < 1:
            sklearn_missed.append(seed)
    assert not missed, f"FastKMeans missed planted groups with seeds {missed}"
    # the data are hard enough to matter: one k-means++ run fails on some of these seeds
    assert sklearn_missed, "KMeans(n_init=1) found every group: the test data are too easy"


def test_repair_is_what_finds_the_groups():
    X, y = planted_groups(50, 0)
    plain = FastKMeans(50, repair=False, random_state=0).fit(X)
    repaired = FastKMeans(50, random_state=0).fit(X)
    assert adjusted_rand_score(y, plain.labels_) < 1
    assert adjusted_rand_score(y, repaired.labels_) == 1
    assert repaired.n_repair_accepted_ >= 1
    assert repaired.n_repair_trials_ <= 100
    assert repaired.inertia_ < plain.inertia_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_kept(dtype):
    X, _ = make_blobs(500, centers=3, n_features=3, random_state=0)
    X = X.astype(dtype)
    km = FastKMeans(3, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == dtype
    assert km.transform(X).dtype == dtype
    assert km.labels_.dtype == np.int32
    assert km.predict(X).tolist() == km.labels_.tolist()
    assert km.score(X) == pytest.approx(-km.inertia_, rel=1e-6)


def test_float32_fit_makes_no_copy_of_the_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1_000_000, 4), dtype=np.float32)
    FastKMeans(5, random_state=0).fit(X[:30_000])  # compile outside the measurement
    tracemalloc.start()
    km = FastKMeans(5, random_state=0).fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # labels (int32) and squared distances (float32) are n * 8 bytes; a float64 copy of X
    # alone would be 2 * X.nbytes
    assert peak < 0.75 * X.nbytes, f"peak {peak / 1e6:.1f} MB for a {X.nbytes / 1e6:.0f} MB X"
    assert km.sample_size_ == sample_rows(5) < X.shape[0]


def test_deterministic_and_independent_of_threads():
    X, _ = make_blobs(70_000, centers=6, n_features=4, cluster_std=2.0, random_state=3)
    X = X.astype(np.float32)
    fits = [FastKMeans(6, random_state=7, n_threads=t).fit(X) for t in (1, 2, 2)]
    for other in fits[1:]:
        assert fits[0].cluster_centers_.tobytes() == other.cluster_centers_.tobytes()
        assert fits[0].labels_.tobytes() == other.labels_.tobytes()
        assert fits[0].inertia_ == other.inertia_
    different = FastKMeans(6, random_state=8, repair=False).fit(X)
    assert different.cluster_centers_.tobytes() != fits[0].cluster_centers_.tobytes()


def test_large_data_runs_seeding_on_a_sample_and_matches_sklearn():
    X, _ = make_blobs(120_000, centers=8, n_features=3, cluster_std=1.5, random_state=1)
    km = FastKMeans(8, random_state=0).fit(X)
    assert km.sample_size_ == 20_000
    reference = KMeans(8, n_init=3, random_state=0).fit(X)
    assert km.inertia_ <= reference.inertia_ * 1.005


def test_warm_start_from_given_centres():
    X, _ = make_blobs(2000, centers=4, random_state=2)
    first = FastKMeans(4, random_state=0).fit(X)
    warm = FastKMeans(4, init=first.cluster_centers_, repair=False).fit(X)
    assert warm.n_iter_ <= 2
    np.testing.assert_allclose(warm.cluster_centers_, first.cluster_centers_)
    assert warm.labels_.tolist() == first.labels_.tolist()
    with pytest.raises(ValueError, match=r"shape \(n_clusters, n_features\) = \(4, 2\)"):
        FastKMeans(4, init=first.cluster_centers_[:3]).fit(X)


def test_empty_cluster_is_reseeded_at_the_farthest_point():
    X = np.r_[np.zeros((50, 2)), np.ones((50, 2)), [[10.0, 10.0]]]
    init = np.array([[0.0, 0.0], [1.0, 1.0], [100.0, 100.0]])  # the third attracts nobody
    km = FastKMeans(3, init=init, repair=False).fit(X)
    assert sorted(np.bincount(km.labels_).tolist()) == [1, 50, 50]
    assert km.inertia_ == 0


def test_sample_weight_counts_like_repeated_rows():
    X = np.array([[0.0], [1.0], [10.0], [12.0]])
    km = FastKMeans(2, random_state=0).fit(X, sample_weight=[1, 3, 1, 1])
    assert sorted(km.cluster_centers_.ravel().tolist()) == [0.75, 11.0]
    assert km.inertia_ == pytest.approx(0.75**2 + 3 * 0.25**2 + 1 + 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [1, 3, 4, 6, 11])
def test_assign_equals_brute_force(dtype, d):
    rng = np.random.default_rng(d)
    X = rng.standard_normal((5_003, d)).astype(dtype)
    C = rng.standard_normal((7, d)).astype(dtype)
    labels, sq = assign(X, C, chunk_rows=1000, n_threads=2)
    D = ((X[:, None, :].astype(np.float64) - C[None].astype(np.float64)) ** 2).sum(-1)
    best = D.min(axis=1)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(sq, best, rtol=rtol, atol=1e-6)
    # the same centre, except where two centres are equally near within rounding
    ambiguous = np.sort(D, axis=1)[:, 1] - best < 1e-4 * np.maximum(best, 1)
    mismatch = (labels != D.argmin(axis=1)) & ~ambiguous
    assert not mismatch.any()
    assert labels.dtype == np.int32 and sq.dtype == dtype


def test_assign_checks_shapes():
    with pytest.raises(ValueError, match=r"centres must have shape \(k >= 1, 2\)"):
        assign(np.zeros((3, 2)), np.zeros((2, 3)))


def test_lloyd_step_matches_a_numpy_iteration():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40_000, 5)).astype(np.float32)
    C = X[:4].astype(np.float64)
    new, counts, inertia = lloyd_step(X, C)
    D = ((X[:, None, :].astype(np.float64) - C[None]) ** 2).sum(-1)
    labels = D.argmin(axis=1)
    expected = np.array([X[labels == c].mean(axis=0, dtype=np.float64) for c in range(4)])
    np.testing.assert_allclose(new, expected, rtol=1e-6, atol=1e-7)
    assert counts.tolist() == np.bincount(labels, minlength=4).tolist()
    assert inertia == pytest.approx(D.min(axis=1).sum(), rel=1e-6)


def test_kernels_work_without_a_writable_cache():
    # a real process: numba reads its cache settings when custseg's kernels are compiled
    code = (
        "import numba.core.caching as c\n"
        "c.CacheImpl._locator_classes = []\n"  # as if no cache folder were writable
        "import numpy as np\n"
        "from custseg.algorithms.kmeans import assign\n"
        "print(assign(np.array([[0.0], [5.0]]), [[1.0], [4.0]])[0].tolist())\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": "/nonexistent/numba-cache"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0, 1]"


def test_the_kernels_can_be_chosen_whatever_the_rows(kernels):
    """``kernels="compiled"`` runs the compiled kernels on a small table (the local engine
    chooses k so on the sample of a large one) and ``"numpy"`` the NumPy ones: the same
    seeding, Lloyd and repair, so the same partition and inertia to rounding."""
    if kernels == "compiled":
        pytest.skip("chooses the kernels itself, once")
    assert getattr(kernels_for(500, "compiled"), "COMPILED", False)
    assert not getattr(kernels_for(10**6, "numpy"), "COMPILED", False)
    X, _ = make_blobs(3000, centers=6, n_features=4, random_state=1)
    fits = {kind: FastKMeans(6, random_state=0, n_threads=1, kernels=kind).fit(X)
            for kind in ("auto", "numpy", "compiled")}
    assert (fits["auto"].labels_ == fits["numpy"].labels_).all()
    assert (fits["numpy"].labels_ == fits["compiled"].labels_).all()
    assert fits["compiled"].inertia_ == pytest.approx(fits["numpy"].inertia_, rel=1e-9)
    with pytest.raises(ValueError, match="kernels"):
        FastKMeans(3, kernels="gpu").fit(X)
