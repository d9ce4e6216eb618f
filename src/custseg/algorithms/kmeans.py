"""K-Means for many customers: a compiled Lloyd kernel near the memory-bandwidth bound,
k-means++ seeding on a sample, and a global repair step that fixes the local optima a single
k-means++ run falls into (two groups merged under one centre while another group is split).

How a fit runs (details in docs/kmeans.md):

1. **Sample.** Above :func:`sample_rows` customers (20,000, or 200 per segment if more) the
   seeding and the repair work on a seeded uniform sample of that many rows; below, on all.
2. **Seed.** Greedy k-means++ (``2 + log k`` candidates per centre, as scikit-learn), or
   the centres given as ``init`` (warm start).
3. **Lloyd** on the sample until the centres move less than ``tol`` (relative to the mean
   feature variance, as scikit-learn).
4. **Repair.** For every cluster the cost of removing its centre (its customers go to their
   second-nearest centre) and the gain of splitting it in two (along its principal direction,
   then 2-means) are computed exactly; the moves "remove centre j, split cluster m" are tried
   in order of predicted net gain: the centres are changed, Lloyd runs again, and the first
   move that lowers the inertia is kept; then the costs are recomputed for the next round.
   The repair stops when the budget of moves (``repair``) is spent or every move has been
   tried without gain.  No random choice is involved.
5. **Polish.** Lloyd on all customers from the repaired centres, then one assignment pass
   for labels and inertia.

The Lloyd pass reads the data once (float32 stays float32), cut into fixed chunks of
:data:`CHUNK_ROWS` rows that the threads share; each chunk's partial sums are reduced in chunk
order, so the same data and seed give byte-identical centres and labels on any number of
threads.  An empty cluster is re-seeded at the customer farthest from its centre, as
scikit-learn does.

Examples
--------
>>> import numpy as np
>>> from sklearn.datasets import make_blobs
>>> X, _ = make_blobs(n_samples=600, centers=4, cluster_std=0.5, random_state=0)
>>> km = FastKMeans(4, random_state=0).fit(X.astype(np.float32))
>>> km.cluster_centers_.dtype, np.bincount(km.labels_).tolist()
(dtype('float32'), [150, 150, 150, 150])
>>> labels, sq = assign(X, km.cluster_centers_)
>>> bool((labels == km.labels_).all())
True
"""

# long module: one algorithm, K-Means, with the steps its fit shares (sampling, Lloyd, seeding,
# the repair) and the two faces of that repair (FastKMeans and repair_fit for scikit-learn's
# KMeans); splitting it would make Lloyd's private steps public for the repair alone.  The
# kernels themselves are in _kmeans_kernels and _kmeans_numpy.

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import euclidean_distances
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    check_random_state,
    validate_data,
)

#: Rows per parallel task of the kernels.  Fixed (not derived from the number of threads):
#: partial sums are per chunk and reduced in chunk order, which makes results independent of
#: the number of threads.
CHUNK_ROWS = 16_384
#: Seeding and repair work on a sample of this many rows at least (all rows below it) ...
SAMPLE_MIN = 20_000
#: ... or of this many rows per cluster when that is more.
SAMPLE_PER_CLUSTER = 200
#: Default repair budget: ``2 * n_clusters + 10`` moves, at most this many.
MAX_DEFAULT_MOVES = 100
#: Lloyd iterations allowed to a tried move.
MOVE_MAX_ITER = 30
#: Below this many rows the kernels run on one thread unless ``n_threads`` says otherwise:
#: a Lloyd pass over 200,000 x 6 float32 takes about a millisecond on one core, less than
#: waking and joining a team of threads costs, and far less than threads waiting for a core
#: on a busy machine (the seeding and repair on the 20,000-row sample ran 17x slower on
#: 2 threads than on 1 with another process keeping the cores busy).
SMALL_DATA = 200_000


def sample_rows(n_clusters: int) -> int:
    """Rows on which seeding and repair run: ``max(20000, 200 * n_clusters)``.

    >>> sample_rows(5), sample_rows(300)
    (20000, 60000)
    """
    return max(SAMPLE_MIN, SAMPLE_PER_CLUSTER * int(n_clusters))


def repair_budget(n_clusters: int) -> int:
    """Default number of repair moves tried (``repair=True``): ``2 * n_clusters + 10``, at
    most 100.

    >>> repair_budget(8), repair_budget(300)
    (26, 100)
    """
    return min(2 * int(n_clusters) + 10, MAX_DEFAULT_MOVES)


#: Below this many rows the NumPy kernels (:mod:`custseg.algorithms._kmeans_numpy`) run
#: instead of the compiled ones: on a few thousand customers both take milliseconds, and
#: Numba's first compilation on a new machine (about 40 s a dtype) would cost more than the run.
NUMPY_MAX_ROWS = SMALL_DATA
_ACTIVE: ContextVar[Any] = ContextVar("custseg_kmeans_kernels", default=None)


def kernels_for(n_rows: int, kind: str = "auto") -> Any:
    """The kernel module a fit over ``n_rows`` rows runs: with ``kind="auto"``, NumPy below
    :data:`NUMPY_MAX_ROWS` and compiled from it; ``"compiled"`` or ``"numpy"`` whatever the
    rows (the local engine chooses k on the sample of a table of ``NUMPY_MAX_ROWS`` rows or
    more with the compiled ones, 10x faster there, their compilation paid anyway by the fit
    on every row).  The choice depends on the rows and ``kind`` only, so the same data and
    seed give the same centres.

    >>> kernels_for(440).__name__, kernels_for(10**6).__name__
    ('custseg.algorithms._kmeans_numpy', 'custseg.algorithms._kmeans_kernels')
    >>> kernels_for(440, "compiled").__name__
    'custseg.algorithms._kmeans_kernels'
    """
    if kind == "numpy" or (kind == "auto" and n_rows < NUMPY_MAX_ROWS):
        from custseg.algorithms import _kmeans_numpy

        return _kmeans_numpy
    from custseg.algorithms import _kmeans_kernels

    return _kmeans_kernels


def _kernels(n_rows: int = NUMPY_MAX_ROWS) -> Any:
    """The kernels of the fit under way (:func:`_using`), or those for ``n_rows``."""
    active = _ACTIVE.get()
    return active if active is not None else kernels_for(n_rows)


@contextmanager
def _using(n_rows: int, kind: str = "auto") -> Iterator[Any]:
    """Run every step inside on the kernels for ``n_rows`` (a fit decides once, by all its
    rows, so that its sample's seeding and repair use the same kernels as its last pass)."""
    token = _ACTIVE.set(kernels_for(n_rows, kind))
    try:
        yield _ACTIVE.get()
    finally:
        _ACTIVE.reset(token)


@contextmanager
def kernel_threads(n_threads: int | None, n_rows: int) -> Iterator[int]:
    """Run the compiled kernels on ``n_threads`` threads (default: all cores, one below
    :data:`SMALL_DATA` rows); restores the previous setting on exit.  Yields the number used
    (1 with the NumPy kernels, which leave threads to BLAS).
    """
    kernels = _kernels(n_rows)
    if not getattr(kernels, "COMPILED", False):
        yield 1
        return
    available = kernels.available_threads()
    if n_threads is None:
        n_threads = 1 if n_rows < SMALL_DATA else available
    n_threads = max(1, min(int(n_threads), available))
    token = kernels.THREADS.set(n_threads)
    try:
        yield n_threads
    finally:
        kernels.THREADS.reset(token)


def _as_kernel_input(X: Any) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {X.shape}")
    return np.ascontiguousarray(X)


def assign(X: Any, centres: Any, *, chunk_rows: int = CHUNK_ROWS,
           n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of every row and the squared distance to it, in chunks (never an
    ``n x k`` matrix: memory is the two outputs).

    Parameters
    ----------
    X : array of shape (n, d)
        float32 is kept as float32 (distances computed in float32); other dtypes are
        converted to float64.  C-contiguous input is used without a copy.
    centres : array of shape (k, d)
    chunk_rows : int
        Rows per parallel task.
    n_threads : int or None
        Threads of the kernel; default all cores (one below 20,000 rows).

    Returns
    -------
    labels : int32 array of shape (n,)
        Index of the nearest centre (ties to the lower index, like ``argmin``).
    sq_distance : array of shape (n,), dtype of X
        Squared Euclidean distance to that centre.

    Examples
    --------
    >>> import numpy as np
    >>> labels, sq = assign(np.array([[0.0, 0.0], [9.0, 1.0]]), [[0.0, 1.0], [10.0, 1.0]])
    >>> labels.tolist(), sq.tolist()
    ([0, 1], [1.0, 1.0])
    """
    X = _as_kernel_input(X)
    C = np.ascontiguousarray(centres, dtype=np.float64)
    if C.ndim != 2 or C.shape[1] != X.shape[1] or C.shape[0] < 1:
        raise ValueError(f"centres must have shape (k >= 1, {X.shape[1]}), got {C.shape}")
    if int(chunk_rows) < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    n = X.shape[0]
    labels = np.empty(n, dtype=np.int32)
    sq = np.empty(n, dtype=X.dtype)
    if n:
        with kernel_threads(n_threads, n):
            _kernels(n).assign_pass(X, C, int(chunk_rows), labels, sq)
    return labels, sq


def lloyd_step(X: Any, centres: Any, *, sample_weight: Any = None,
               n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """One Lloyd iteration over all rows, one pass over the data: the new centres (float64),
    the weight of each cluster and the inertia of the *given* centres.

    An empty cluster keeps its centre here (the estimator re-seeds it).

    >>> import numpy as np
    >>> new, counts, inertia = lloyd_step(np.array([[0.0], [2.0], [10.0]]), [[1.0], [9.0]])
    >>> new.ravel().tolist(), counts.tolist(), inertia
    ([1.0, 10.0], [2.0, 1.0], 3.0)
    """
    X = _as_kernel_input(X)
    C = np.asarray(centres, dtype=np.float64)
    w = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=X.dtype)
    with kernel_threads(n_threads, X.shape[0]):
        sums, counts, inertia = _pass(X, w, C)
    new = C.copy()
    full = counts > 0
    new[full] = sums[full] / counts[full, None]
    return new, counts, inertia


def _pass(X: np.ndarray, w: np.ndarray | None, C: np.ndarray,
          chunk: int = CHUNK_ROWS) -> tuple[np.ndarray, np.ndarray, float]:
    """Sums, counts and inertia of one Lloyd pass, reduced in chunk order."""
    n, d = X.shape
    k = C.shape[0]
    n_chunks = max(1, -(-n // chunk))
    sums = np.zeros((n_chunks, k, d))
    counts = np.zeros((n_chunks, k))
    inertia = np.zeros(n_chunks)
    wk = np.empty(0, dtype=X.dtype) if w is None else w
    _kernels(n).lloyd_pass(X, wk, np.ascontiguousarray(C, dtype=np.float64), chunk, sums,
                           counts, inertia, X.dtype.type(0))
    return sums.sum(axis=0), counts.sum(axis=0), float(inertia.sum())


def _relocate_empty(X: np.ndarray, w: np.ndarray | None, C: np.ndarray, sums: np.ndarray,
                    counts: np.ndarray) -> None:
    """Re-seed every empty cluster at the rows farthest from their centres (in place on
    ``sums`` and ``counts``), as scikit-learn's ``_relocate_empty_clusters_dense``."""
    empty = np.flatnonzero(counts == 0)
    labels, sq = assign(X, C, n_threads=None if X.shape[0] >= SMALL_DATA else 1)
    if w is not None:
        sq = np.where(w > 0, sq, -1)  # a row without weight cannot hold a cluster
    n_empty = min(len(empty), X.shape[0])
    if n_empty == 0 or sq.max() <= 0:
        return  # more clusters than distinct rows: nothing to move
    far = np.argsort(-sq.astype(np.float64), kind="stable")[:n_empty]
    for new, i in zip(empty[:n_empty], far, strict=True):
        wi = 1.0 if w is None else float(w[i])
        old = labels[i]
        x = X[i].astype(np.float64)
        sums[old] -= wi * x
        counts[old] -= wi
        sums[new] = wi * x
        counts[new] = wi


def _lloyd(X: np.ndarray, w: np.ndarray | None, C: np.ndarray, max_iter: int,
           tol: float) -> tuple[np.ndarray, int]:
    """Lloyd iterations until the total squared centre shift is at most ``tol``."""
    C = np.array(C, dtype=np.float64)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is returned
        sums, counts, _ = _pass(X, w, C)
        if (counts == 0).any():
            _relocate_empty(X, w, C, sums, counts)
        new = C.copy()
        full = counts > 0
        new[full] = sums[full] / counts[full, None]
        shift = float(((new - C) ** 2).sum())
        C = new
        if shift <= tol:
            break
    return C, n_iter


def _inertia(X: np.ndarray, w: np.ndarray | None, C: np.ndarray) -> float:
    return _pass(X, w, C)[2]


def _seed(X: np.ndarray, w: np.ndarray | None, k: int, rs: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ on ``X`` (float64 centres)."""
    n = X.shape[0]
    wf = np.ones(n) if w is None else w.astype(np.float64)
    first = int(rs.choice(n, p=wf / wf.sum()))
    trials = 2 + int(np.log(k))
    U = rs.uniform(size=(k - 1, trials))
    chosen = _kernels(n).kmeans_plusplus(X, wf, first, U)
    return X[chosen].astype(np.float64)


def _split(P: np.ndarray, wp: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Best two-way split of one cluster's rows: start from the halves on either side of the
    mean along the principal direction, then 2-means.  Returns (SSE gain, centre a, b)."""
    W = wp.sum()
    mu = wp @ P / W
    Z = P - mu
    sse = float(wp @ (Z**2).sum(axis=1))
    cov = (Z * wp[:, None]).T @ Z
    direction = np.linalg.eigh(cov)[1][:, -1]
    side = Z @ direction > 0
    if side.all() or not side.any():
        return 0.0, mu, mu
    for _ in range(5):
        wa, wb = wp[side].sum(), wp[~side].sum()
        if wa == 0 or wb == 0:
            return 0.0, mu, mu
        a = wp[side] @ P[side] / wa
        b = wp[~side] @ P[~side] / wb
        new_side = ((P - a) ** 2).sum(axis=1) < ((P - b) ** 2).sum(axis=1)
        if (new_side == side).all():
            break
        side = new_side
    if side.all() or not side.any():
        return 0.0, mu, mu
    a = wp[side] @ P[side] / wp[side].sum()
    b = wp[~side] @ P[~side] / wp[~side].sum()
    after = float(wp[side] @ ((P[side] - a) ** 2).sum(axis=1)
                  + wp[~side] @ ((P[~side] - b) ** 2).sum(axis=1))
    return sse - after, a, b


def _repair(X: np.ndarray, w: np.ndarray | None, C: np.ndarray, inertia: float, budget: int,
            tol: float) -> tuple[np.ndarray, float, int, int]:
    """Split/merge repair (see the module docstring).  Returns the centres, their inertia,
    the moves tried and the moves kept."""
    k = C.shape[0]
    tried = kept = 0
    if k < 2 or budget <= 0:
        return C, inertia, tried, kept
    n = X.shape[0]
    K = _kernels(n)
    wf = np.ones(n) if w is None else w.astype(np.float64)
    labels = np.empty(n, dtype=np.int64)
    d1 = np.empty(n)
    d2 = np.empty(n)
    while tried < budget:
        K.nearest_two(X, C, labels, d1, d2)
        removal = np.bincount(labels, weights=wf * (d2 - d1), minlength=k)
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(k + 1))
        gains = np.zeros(k)
        children = np.repeat(C[:, None, :], 2, axis=1)
        for m in range(k):
            rows = order[bounds[m]:bounds[m + 1]]
            if len(rows) >= 2:
                gains[m], children[m, 0], children[m, 1] = _split(
                    X[rows].astype(np.float64), wf[rows])
        predicted = removal[:, None] - gains[None, :]
        np.fill_diagonal(predicted, np.inf)
        improved = False
        for flat in np.argsort(predicted, axis=None, kind="stable"):
            j, m = divmod(int(flat), k)
            if tried >= budget or not np.isfinite(predicted[j, m]):
                break
            if gains[m] <= 0:
                continue
            tried += 1
            trial = C.copy()
            trial[m] = children[m, 0]
            trial[j] = children[m, 1]
            trial, _ = _lloyd(X, w, trial, MOVE_MAX_ITER, tol)
            value = _inertia(X, w, trial)
            if value < inertia * (1 - 1e-9):
                C, inertia = trial, value
                kept += 1
                improved = True
                break
        if not improved:
            break
    return C, inertia, tried, kept


#: :func:`repair_fit` works on a sample of this many rows at least (all rows below it), or of
#: :data:`SAMPLE_PER_CLUSTER` rows per segment when that is more: enough to see two groups
#: under one centre, and a tenth of the cost of the 20,000 rows :class:`FastKMeans` samples.
REPAIR_SAMPLE_MIN = 2_000


def repair_fit(model: Any, X: Any, *, random_state: Any = None) -> Any:
    """The global repair step (:func:`_repair`, the one :class:`FastKMeans` runs) applied to
    a K-Means already fitted on ``X`` (scikit-learn's ``KMeans``, unweighted).

    The centres go through Lloyd on a seeded sample of ``max(2000, 200 * k)`` rows (all rows
    below it) and then through the split/merge moves of the repair; when a move is kept, a
    ``KMeans`` with the same parameters is re-fitted on every row from the repaired centres
    and returned if its inertia is lower.  Otherwise ``model`` itself is returned, untouched,
    so a fit the repair cannot improve gives the same result byte for byte.  The returned
    model carries ``n_repair_trials_`` and ``n_repair_accepted_`` (the moves kept, 0 when
    ``model`` is returned).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> X = np.array([[0, 0], [0, 1], [10, 0], [10, 1], [20, 0], [20, 1]], dtype=float)
    >>> stuck = KMeans(3, init=np.array([[0, 0.0], [0, 1.0], [15, 0.5]]), n_init=1).fit(X)
    >>> stuck.inertia_
    101.0
    >>> fixed = repair_fit(stuck, X, random_state=0)
    >>> fixed.inertia_, fixed.n_repair_accepted_
    (1.5, 1)
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    k = int(model.n_clusters)
    rs = check_random_state(random_state)
    n = X.shape[0]
    S = max(REPAIR_SAMPLE_MIN, SAMPLE_PER_CLUSTER * k)
    Xs = X if n <= S else X[np.sort(sample_without_replacement(n, S, random_state=rs))]
    with _using(len(Xs)), kernel_threads(1, len(Xs)):
        tol = _tolerance(Xs, float(model.tol))
        C, _ = _lloyd(Xs, None, model.cluster_centers_, int(model.max_iter), tol)
        C, _, tried, kept = _repair(Xs, None, C, _inertia(Xs, None, C), repair_budget(k), tol)
    best = model
    if kept:
        from sklearn.base import clone

        refit = clone(model).set_params(init=C, n_init=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            refit.fit(X)
        if refit.inertia_ < model.inertia_ * (1 - 1e-9):
            best = refit
    best.n_repair_trials_ = tried
    best.n_repair_accepted_ = kept if best is not model else 0
    return best


class FastKMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """K-Means with a compiled kernel, k-means++ seeding on a sample and a global repair step.

    Parameters
    ----------
    n_clusters : int, default=8
    init : "k-means++" or array of shape (n_clusters, n_features), default="k-means++"
        An array starts from those centres (warm start; one run whatever ``n_init``).
    n_init : int, default=1
        Seedings tried (each with Lloyd and repair on the sample); the best is kept.
    max_iter : int, default=300
        Lloyd iterations allowed to each run.
    tol : float, default=1e-4
        Convergence when the total squared centre shift is at most ``tol`` times the mean
        feature variance (as scikit-learn).
    repair : bool or int, default=True
        The global repair step: ``True`` tries up to ``min(2 * n_clusters + 10, 100)``
        moves, an int that many, ``False`` or 0 none.
    random_state : int, RandomState or None
        Seed of the sample and of k-means++.
    n_threads : int or None
        Threads of the kernels; default all cores, one below 20,000 rows.
    kernels : {"auto", "compiled", "numpy"}, default="auto"
        The kernels (:func:`kernels_for`): by default NumPy below
        :data:`NUMPY_MAX_ROWS` rows (no compilation on a new machine), compiled from there.

    Attributes
    ----------
    cluster_centers_ : array (n_clusters, n_features), dtype of X
    labels_ : int32 array (n_samples,)
    inertia_ : float
        Sum of (weighted) squared distances to the nearest centre, on all rows.
    n_iter_ : int
        Lloyd iterations of the final fit on all rows.
    n_repair_trials_, n_repair_accepted_ : int
        Repair moves tried and kept (summed over the ``n_init`` runs).
    sample_size_ : int
        Rows the seeding and repair used (all rows up to :func:`sample_rows`).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> km = FastKMeans(2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_.tolist()), km.inertia_
    ([[0.0, 0.5], [10.0, 0.5]], 1.0)
    >>> km.predict([[9.0, 0.0]]).tolist() == [km.labels_[2]]
    True
    """

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012 - sklearn's convention
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "repair": ["boolean", Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "kernels": [StrOptions({"auto", "compiled", "numpy"})],
    }

    def __init__(self, n_clusters: int = 8, *, init: Any = "k-means++", n_init: int = 1,
                 max_iter: int = 300, tol: float = 1e-4, repair: bool | int = True,
                 random_state: Any = None, n_threads: int | None = None,
                 kernels: str = "auto") -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.repair = repair
        self.random_state = random_state
        self.n_threads = n_threads
        self.kernels = kernels

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> FastKMeans:
        """Fit on ``X`` (float32 kept, no copy of C-contiguous float input)."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C", copy=False)
        n, d = X.shape
        k = int(self.n_clusters)
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
            w = np.ascontiguousarray(w)
        warm = None
        if not (isinstance(self.init, str) and self.init == "k-means++"):
            warm = np.array(self.init, dtype=np.float64)
            if warm.shape != (k, d) or not np.isfinite(warm).all():
                raise ValueError(f"init must be 'k-means++' or a finite array of shape "
                                 f"(n_clusters, n_features) = ({k}, {d}), got "
                                 f"{warm.dtype} array of shape {warm.shape}")
        with _using(n, self.kernels):
            return self._fit(X, w, warm, k)

    def _fit(self, X: np.ndarray, w: np.ndarray | None, warm: np.ndarray | None,
             k: int) -> FastKMeans:
        n = X.shape[0]
        budget = repair_budget(k) if self.repair is True else int(self.repair)
        rs = check_random_state(self.random_state)

        S = sample_rows(k)
        if n > S:
            # "auto": a pool draw when S is a large share of n, set-based tracking when
            # small ("tracking_selection" always cost 90 ms at n = 100,000, S = 20,000)
            rows = np.sort(sample_without_replacement(n, S, random_state=rs, method="auto"))
            Xs = X[rows]
            ws = None if w is None else w[rows]
        else:
            Xs, ws = X, w
        with kernel_threads(self.n_threads, len(Xs)):  # seeding and repair on the sample
            tol = _tolerance(Xs, self.tol)
            best: tuple[float, np.ndarray] | None = None
            tried = kept = 0
            for _ in range(1 if warm is not None else int(self.n_init)):
                C = warm if warm is not None else _seed(Xs, ws, k, rs)
                C, _ = _lloyd(Xs, ws, C, int(self.max_iter), tol)
                value = _inertia(Xs, ws, C)
                C, value, t, a = _repair(Xs, ws, C, value, budget, tol)
                tried, kept = tried + t, kept + a
                if best is None or value < best[0]:
                    best = (value, C)
            assert best is not None
        with kernel_threads(self.n_threads, n):
            C, self.n_iter_ = _lloyd(X, w, best[1], int(self.max_iter), tol)
            centres = C.astype(X.dtype)
            labels, sq = assign(X, centres, n_threads=self.n_threads)
        self.cluster_centers_ = centres
        self.labels_ = labels
        self.inertia_ = _weighted_sum(sq, w)
        self.n_repair_trials_ = tried
        self.n_repair_accepted_ = kept
        self.sample_size_ = int(min(n, S))
        distinct = int(np.count_nonzero(_cluster_sizes(labels, k)))
        if distinct < k:
            warnings.warn(f"Number of distinct clusters ({distinct}) found smaller than "
                          f"n_clusters ({k}). Possibly due to duplicate points in X.",
                          ConvergenceWarning, stacklevel=2)
        return self

    def _check(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, dtype=[np.float64, np.float32], order="C", copy=False,
                             reset=False)

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre (int32)."""
        X = self._check(X)
        return assign(X, self.cluster_centers_, n_threads=self.n_threads)[0]

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance to every centre, shape (n, n_clusters), dtype of X."""
        X = self._check(X)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.n_threads):
            return euclidean_distances(X, self.cluster_centers_.astype(X.dtype))

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the inertia of ``X`` under the fitted centres."""
        X = self._check(X)
        w = None
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        sq = assign(X, self.cluster_centers_, n_threads=self.n_threads)[1]
        return -_weighted_sum(sq, w)


@contextmanager
def compilation_notice(notify: Callable[[], None]) -> Iterator[list[bool]]:
    """Within the block, ``notify()`` once when Numba starts compiling one of custseg's
    kernels: its cache holds none for this machine and this code (the first large run after
    installing; about 15 s on an AVX-512 machine, a minute and more on others), where
    loading them from the cache says nothing.  Yields a one-item list: whether it did.

    >>> with compilation_notice(lambda: print("compiling")) as said:
    ...     compile_kernels()  # loaded from the cache once compiled
    >>> said
    [False]
    """
    from numba.core import event

    said = [False]

    class Listener(event.Listener):  # type: ignore[misc]
        def on_start(self, ev: Any) -> None:
            func = getattr((ev.data or {}).get("dispatcher"), "py_func", None)
            if not said[0] and getattr(func, "__module__", "").startswith("custseg."):
                said[0] = True
                notify()

        def on_end(self, ev: Any) -> None:
            pass

    listener = Listener()
    event.register("numba:compile", listener)
    try:
        yield said
    finally:
        event.unregister("numba:compile", listener)


def compile_kernels() -> None:
    """Compile the compiled kernels for float32 and float64 (or load them from Numba's
    cache), with a small fit: the first compilation takes about a minute and a quarter on a
    2-core machine (docs/benchmarks.md), paid once per checkout.  ``make test`` runs it
    beside the linters so that the tests find the cache written; a deployment may run it
    once after installing.

    >>> compile_kernels()  # loads from the cache once compiled
    """
    X = np.random.default_rng(0).standard_normal((2_000, 4))
    for dtype in (np.float32, np.float64):
        FastKMeans(5, random_state=0, kernels="compiled").fit(X.astype(dtype))


def _cluster_sizes(labels: np.ndarray, k: int, step: int = 1 << 16) -> np.ndarray:
    """``bincount`` by slices (one call would copy int32 labels to int64)."""
    sizes = np.zeros(k, dtype=np.int64)
    for i in range(0, len(labels), step):
        sizes += np.bincount(labels[i:i + step], minlength=k)
    return sizes


def _weighted_sum(sq: np.ndarray, w: np.ndarray | None) -> float:
    if w is None:
        return float(np.sum(sq, dtype=np.float64))
    return float(np.dot(w.astype(np.float64), sq.astype(np.float64)))


def _tolerance(X: np.ndarray, tol: float) -> float:
    """``tol`` times the mean feature variance (absolute tolerance on the centre shift)."""
    if tol == 0:
        return 0.0
    return float(np.mean(np.var(X, axis=0, dtype=np.float64)) * tol)
