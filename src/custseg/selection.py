"""Choosing the number of segments: elbow, silhouette, Calinski-Harabasz, Davies-Bouldin and
a consensus with a confidence.

The consensus rule (also in docs/choosing-k.md):

1. Four signals each name a best k: the **elbow** of the inertia curve (found by kneed's
   knee detector; no vote when there is no knee), the highest **silhouette**, the highest
   **Calinski-Harabasz** score and the lowest **Davies-Bouldin** index.  Gaussian mixtures
   add a fifth, the lowest **BIC**; ``stability=True`` adds the highest bootstrap
   **stability** (mean adjusted Rand index between re-fits on 80% subsamples).
   For Gaussian mixtures the BIC decides (the model's own likelihood criterion, Fraley &
   Raftery 2002): the distance-based indices assume round segments and are biased against
   elongated ones, so there they only inform the confidence.
2. The k with the most votes is chosen.  Ties go to the k with the best mean rank over the
   three indices (silhouette, Calinski-Harabasz, Davies-Bouldin), then to the smaller k.
   The elbow is one vote among four, so on data with many well-separated groups, where the
   elbow is known to come too early, the three indices outvote it.
3. Confidence, between 0 and 1, is ``0.5 * agreement + 0.3 * structure + 0.2 * clarity``:
   *agreement* is the share of signals voting for the chosen k; *structure* maps the best
   silhouette from 0.25 (no substantial structure, Kaufman & Rousseeuw) to 0.70 (strong)
   onto 0..1; *clarity* is how far the chosen k's silhouette leads the next best k, 5% or
   more counting fully.  Labels: high (>= 0.65), medium (>= 0.4), low.  The explanation
   names the runner-up when clarity is below 1, and says the signals disagree when at most
   half of them vote for the chosen k.
4. When the best silhouette is below 0.25 the data show no clear structure: the result says
   so plainly and the confidence is capped at 0.39 (low), whatever the votes.

Examples
--------
>>> from sklearn.datasets import make_blobs
>>> X, _ = make_blobs(n_samples=300, centers=4, cluster_std=0.6, random_state=1)
>>> sel = select_k(X, range(2, 8), random_state=0)
>>> sel.chosen_k, sel.confidence_label
(4, 'high')
"""

# long module: choosing k is one concern, told in one place: scoring each candidate
# partition, the consensus rule (documented above) and its variant for action, and fitting
# the candidates; KScore and KSelection, stored in model bundles under this module's path,
# are built by each of these parts.

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from custseg.algorithms import registry
from custseg.errors import DataError, Problem

#: Above this many customers the silhouette is computed on a seeded sample of this size
#: (its standard error there is about 0.005: enough to rank the k).
SILHOUETTE_SAMPLE = 4_000
#: Best silhouette below which the data are said to show no clear structure.
NO_STRUCTURE = 0.25
STRONG_STRUCTURE = 0.70
CLEAR_MARGIN = 0.05

#: Below this many customers the work runs on one thread unless told otherwise: threads
#: cost more than they bring there, and far more when another process keeps a core busy.
SMALL_DATA = 20_000

ProgressFn = Callable[[str, int, int], None]
StabilityFn = Callable[[int], float]


#: The thread limit :func:`limit_threads` set in this thread, while it holds.
_LIMIT = threading.local()


@contextlib.contextmanager
def limit_threads(n_rows: int, n_threads: int | None = None) -> Iterator[None]:
    """Context manager limiting BLAS/OpenMP threads: ``n_threads`` if given, else one thread
    below :data:`SMALL_DATA` rows, else no limit.  Inside another that set the same limit
    it does nothing (threadpoolctl reads every loaded library's threads: 10 ms a call)."""
    from threadpoolctl import threadpool_limits

    if n_threads is None and n_rows < SMALL_DATA:
        n_threads = 1
    outer = getattr(_LIMIT, "threads", None)
    if n_threads is not None and n_threads == outer:
        yield
        return
    with threadpool_limits(limits=n_threads):
        _LIMIT.threads = n_threads if n_threads is not None else outer
        try:
            yield
        finally:
            _LIMIT.threads = outer


def finite_floats(X: Any) -> bool:
    """Whether ``X`` is a float array whose every value is finite (one pass over it)."""
    return isinstance(X, np.ndarray) and X.dtype.kind == "f" and bool(np.isfinite(X).all())


def prechecked(X: np.ndarray, finite: bool | None = None) -> Any:
    """Context manager in which scikit-learn skips the checks that calls on ``X`` have
    passed already: the validation of parameters (estimators whose parameters a first fit
    validated, metrics given arrays) and, when every value of ``X`` is finite
    (:func:`finite_floats`, or ``finite`` when the caller measured it), the finiteness
    checks.  The same numbers; on small tables these checks are much of the work of a fit
    or a score."""
    from sklearn import config_context, get_config

    if not get_config()["assume_finite"]:
        finite = finite_floats(X) if finite is None else finite
    return config_context(assume_finite=bool(get_config()["assume_finite"] or finite),
                          skip_parameter_validation=True)


@dataclass
class KScore:
    """Scores of one k."""

    k: int
    inertia: float
    silhouette: float
    calinski_harabasz: float
    davies_bouldin: float
    #: Gaussian mixtures only: Bayesian information criterion (lower is better).
    bic: float | None = None
    #: With ``stability=True``: mean adjusted Rand index between bootstrap re-fits.
    stability: float | None = None
    #: k chosen on a sample (:func:`score_partition_sampled`): the standard errors of the
    #: three indices, from their spread over disjoint subsamples.
    silhouette_se: float | None = None
    calinski_harabasz_se: float | None = None
    davies_bouldin_se: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """As a dict, without the standard errors when they were not estimated."""
        return {f: v for f, v in asdict(self).items()
                if v is not None or not f.endswith("_se")}


@dataclass
class KSelection:
    """The outcome of choosing k, with every score and the reasons."""

    method: str
    chosen_k: int
    scores: list[KScore]
    votes: dict[str, int | None] = field(default_factory=dict)
    elbow_k: int | None = None
    confidence: float = 1.0
    confidence_label: str = "fixed"
    structure: str = ""
    explanation: str = ""
    n_samples: int = 0
    silhouette_sample: int | None = None
    #: k chosen on a sample of a large table: how it was drawn and what the sampling error
    #: changed (see :func:`score_partition_sampled`); None otherwise.
    sampling: dict[str, Any] | None = None
    #: The range of k chosen among unless the evidence outside is strong (see
    #: :func:`consensus_for_action`); None when every k tried was eligible.
    useful_range: list[int] | None = None
    #: The best k outside the useful range and why it was or was not taken.
    outside: dict[str, Any] | None = None
    #: The fitted K-Means of the chosen k (not serialised).
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "model"}
        for key in ("sampling", "useful_range", "outside"):
            if d[key] is None:
                del d[key]
        d["scores"] = [s.to_dict() for s in self.scores]
        d["votes"] = dict(self.votes)
        return d

    def __repr__(self) -> str:
        from custseg.display import k_selection_text

        return k_selection_text(self)

    def _repr_html_(self) -> str:
        from custseg.display import k_selection_html

        return k_selection_html(self)


#: Confidence is capped below "medium" when the data show no clear structure.
LOW_CAP = 0.39
STRUCTURE_WORDS = {"none": "no clear structure", "weak": "weak structure",
                   "reasonable": "reasonable structure", "strong": "strong structure"}
NO_STRUCTURE_SENTENCE = (
    " The data show no clear structure: the segments are a convenient partition of a "
    "continuum, not natural groups; treat them with caution."
)


def structure_label(best_silhouette: float) -> str:
    """How much structure a silhouette shows: "none", "weak", "reasonable" or "strong"."""
    if best_silhouette < NO_STRUCTURE:
        return "none"
    if best_silhouette < 0.5:
        return "weak"
    if best_silhouette < STRONG_STRUCTURE:
        return "reasonable"
    return "strong"




def find_elbow(ks: list[int], inertia: list[float]) -> int | None:
    """The knee of a decreasing convex inertia curve (kneed), or None when there is none.

    >>> find_elbow([1, 2, 3, 4, 5, 6], [100, 40, 15, 12, 10, 9])
    3
    """
    if len(ks) < 3:
        return None
    from kneed import KneeLocator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        knee = KneeLocator(ks, inertia, curve="convex", direction="decreasing").knee
    return None if knee is None else int(knee)


class SilhouetteSample:
    """The customers the silhouette of every k is measured on, and their distances.

    Above :data:`SILHOUETTE_SAMPLE` customers they are drawn as scikit-learn's
    ``silhouette_score(sample_size=...)`` draws them (the same customers for every k); the
    distance matrix is computed once, on first use, and serves every k: choosing k among
    2-10 on 10,000 customers computes 4,000 x 4,000 distances once, and each k's silhouette
    from them by one matrix product (:func:`silhouette_of_distances`).
    """

    def __init__(self, X: np.ndarray, random_state: Any) -> None:
        n = X.shape[0]
        rs = np.random.RandomState(0 if random_state is None else random_state)
        self.index = rs.permutation(n)[:SILHOUETTE_SAMPLE] if n > SILHOUETTE_SAMPLE else None
        self._X = X
        self._random_state = random_state
        self._distances: np.ndarray | None = None
        self._lock = threading.Lock()

    def serves(self, X: np.ndarray, random_state: Any) -> bool:
        """Whether this sample is the one of ``X`` and ``random_state``: the same customers
        (values, type and memory layout), drawn with the same seed, so the same distances.

        >>> X = np.arange(6.0).reshape(3, 2)
        >>> sample = SilhouetteSample(X, 0)
        >>> sample.serves(X.copy(), 0), sample.serves(X, 1), sample.serves(X[:2], 0)
        (True, False, False)
        """
        Y = self._X
        if not (random_state is None or isinstance(random_state, Integral)):
            return False  # a RandomState object draws another sample each time
        if random_state != self._random_state:
            return False
        return X is Y or (isinstance(X, np.ndarray) and X.shape == Y.shape
                          and X.dtype == Y.dtype and X.strides == Y.strides
                          and bool(np.array_equal(X, Y)))

    def silhouette(self, labels: np.ndarray) -> float:
        """The mean silhouette of the sample's customers under ``labels`` (all customers')."""
        from sklearn.metrics import euclidean_distances

        with self._lock:  # several k may be scored at once (threads)
            if self._distances is None:
                Xs = self._X if self.index is None else self._X[self.index]
                self._distances = euclidean_distances(Xs)
        sample = labels if self.index is None else labels[self.index]
        if not 2 <= len(np.unique(sample)) < len(sample):  # scikit-learn says why not
            return float(silhouette_score(self._distances, sample, metric="precomputed"))
        return silhouette_of_distances(self._distances, sample)


def score_partition(X: np.ndarray, labels: np.ndarray, inertia: float, k: int,
                    random_state: Any, sample: SilhouetteSample | None = None,
                    finite: bool | None = None) -> KScore:
    """The internal scores of one partition (silhouette on :data:`SILHOUETTE_SAMPLE`
    customers above that many; ``sample`` shares their distances between k, and with the
    final scores, when it serves ``X``: :meth:`SilhouetteSample.serves`; ``finite``:
    :func:`finite_floats` of ``X`` when the caller measured it)."""
    n = X.shape[0]
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels >= n:
        return KScore(k, float(inertia), float("nan"), float("nan"), float("nan"))
    if sample is None or not sample.serves(X, random_state):
        sample = SilhouetteSample(X, random_state)
    sil = sample.silhouette(labels)
    with prechecked(X, finite):
        return KScore(
            k=k,
            inertia=float(inertia),
            silhouette=float(sil),
            calinski_harabasz=float(calinski_harabasz_score(X, labels)),
            davies_bouldin=float(davies_bouldin_score(X, labels)),
        )


#: k chosen on a sample (large tables): the silhouette is the mean over this many disjoint
#: subsamples of :data:`SUBSAMPLE_SIZE` customers, and its standard error their spread.
SUBSAMPLES = 5
SUBSAMPLE_SIZE = 2_000
#: Two scores closer than this many standard errors of their difference are a tie.
TIE_SE = 2.0


def small_silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of a few thousand customers in one dense float32 pass: the value of
    scikit-learn's ``silhouette_score`` to about 1e-6, 3-4x faster at 2,000 customers (one
    distance matrix, per-segment sums by a matrix product, no chunking).  Memory: 4 n**2
    bytes.

    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(500, centers=3, random_state=0)
    >>> bool(np.isclose(small_silhouette(X, y), silhouette_score(X, y)))
    True
    """
    return silhouette_of_distances(small_distances(X), labels)


def small_distances(X: np.ndarray) -> np.ndarray:
    """The float32 Euclidean distances between a few thousand customers (zero diagonal):
    :func:`small_silhouette`'s matrix.

    >>> small_distances(np.array([[0.0, 0.0], [3.0, 4.0]])).tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    X = np.asarray(X, dtype=np.float32)
    sq = np.einsum("ij,ij->i", X, X)
    D: np.ndarray = X @ X.T
    D *= -2.0
    D += sq[:, None]
    D += sq[None, :]
    np.maximum(D, 0, out=D)
    np.sqrt(D, out=D)
    np.fill_diagonal(D, 0.0)
    return D


class SubsampleDistances:
    """:func:`score_partition_sampled`'s subsample distance matrices (:func:`small_distances`),
    computed on first use and shared by every k scored on the same ``X`` with the same
    ``random_state`` (the subsamples are the same customers for every k): 5 matrices of
    2,000 x 2,000 instead of 5 per k, the same numbers (computed the same way, on one
    thread).  Memory: 16 MB a matrix.  Thread-safe (several k may be scored at once)."""

    def __init__(self) -> None:
        self._matrices: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def get(self, b: int, Xb: np.ndarray) -> np.ndarray:
        """Subsample ``b``'s matrix (``Xb``: its customers' rows)."""
        with self._lock:
            if b not in self._matrices:
                self._matrices[b] = small_distances(Xb)
            return self._matrices[b]


def silhouette_of_distances(D: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of the customers whose pairwise distances are ``D`` (square, zero
    diagonal), in ``D``'s dtype: every customer's distance sum to each segment is one matrix
    product, where scikit-learn's ``silhouette_score(metric="precomputed")`` counts them row
    by row (the same value to rounding; about 3x faster at 4,000 customers).  A customer alone
    in its segment scores 0, as there.

    >>> from sklearn.metrics import euclidean_distances
    >>> X = np.array([[0.0], [1.0], [10.0], [12.0]])
    >>> y = np.array([0, 0, 1, 1])
    >>> D = euclidean_distances(X)
    >>> ours = silhouette_of_distances(D, y)
    >>> bool(np.isclose(ours, silhouette_score(D, y, metric="precomputed")))
    True
    """
    codes, labels = np.unique(labels, return_inverse=True)
    n = len(labels)
    onehot = np.zeros((n, len(codes)), dtype=D.dtype)
    onehot[np.arange(n), labels] = 1.0
    sums = (D @ onehot).astype(np.float64)
    sizes = np.bincount(labels, minlength=len(codes)).astype(np.float64)
    rows = np.arange(n)
    own = sizes[labels] - 1
    a = np.divide(sums[rows, labels], own, out=np.zeros(n), where=own > 0)
    mean_other = sums / sizes
    mean_other[rows, labels] = np.inf
    b = mean_other.min(axis=1)
    s = np.where(own > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
    return float(s.mean())


def score_partition_sampled(X: np.ndarray, labels: np.ndarray, inertia: float, k: int,
                            random_state: Any, *, subsamples: int = SUBSAMPLES,
                            subsample_size: int = SUBSAMPLE_SIZE,
                            distances: SubsampleDistances | None = None) -> KScore:
    """The scores of one partition of a (large) sample, with their sampling errors.

    The silhouette is the mean over ``subsamples`` disjoint random subsamples of
    ``subsample_size`` customers (the pairwise distances of 5 x 2,000 customers instead of
    one 10,000 sample: 5x less work; :func:`small_silhouette`) and ``silhouette_se`` the
    standard error of that mean.
    Calinski-Harabasz and Davies-Bouldin are computed on all of ``X`` (they are linear in
    its size); their standard errors scale the relative spread over the same subsamples by
    ``sqrt(subsample_size / len(X))``, as for a mean.  ``distances`` keeps the subsamples'
    distance matrices for the next k (same ``X`` and ``random_state`` only).

    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(20_000, centers=3, random_state=0)
    >>> s = score_partition_sampled(X, y, 0.0, 3, 0)
    >>> round(s.silhouette, 2), s.silhouette_se < 0.01
    (0.43, True)
    """
    n = X.shape[0]
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return KScore(k, float(inertia), float("nan"), float("nan"), float("nan"))
    from threadpoolctl import threadpool_limits

    m = max(2, min(subsample_size, n // max(subsamples, 1)))
    perm = np.random.RandomState(0 if random_state is None else random_state).permutation(n)
    with threadpool_limits(limits=1):  # small matrices: threads cost more than they bring
        sil, ch, db = _subsample_scores(X, labels, perm, m, subsamples, distances)
        ch_all = float(calinski_harabasz_score(X, labels))
        db_all = float(davies_bouldin_score(X, labels))
    if not sil:
        return KScore(k, float(inertia), float("nan"), ch_all, db_all)

    def rel_se(values: list[float]) -> float:
        if len(values) < 2 or not np.mean(values):
            return float("nan")
        return float(np.std(values, ddof=1) / abs(np.mean(values)) * np.sqrt(m / n))

    return KScore(
        k=k,
        inertia=float(inertia),
        silhouette=float(np.mean(sil)),
        calinski_harabasz=ch_all,
        davies_bouldin=db_all,
        silhouette_se=(float(np.std(sil, ddof=1) / np.sqrt(len(sil))) if len(sil) > 1
                       else float("nan")),
        calinski_harabasz_se=ch_all * rel_se(ch),
        davies_bouldin_se=db_all * rel_se(db),
    )


def _subsample_scores(X: np.ndarray, labels: np.ndarray, perm: np.ndarray, m: int,
                      subsamples: int, distances: SubsampleDistances | None
                      ) -> tuple[list[float], list[float], list[float]]:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin of each of the disjoint subsamples
    of ``m`` customers of :func:`score_partition_sampled` (those with at least two
    segments and not one customer each)."""
    sil, ch, db = [], [], []
    for b in range(subsamples):
        idx = perm[b * m:(b + 1) * m]
        lab = labels[idx]
        if not 2 <= len(np.unique(lab)) < len(idx):
            continue
        Xb = X[idx].astype(np.float64)
        if distances is None:
            sil.append(small_silhouette(X[idx], lab))
        else:
            sil.append(silhouette_of_distances(distances.get(b, X[idx]), lab))
        ch.append(float(calinski_harabasz_score(Xb, lab)))
        db.append(float(davies_bouldin_score(Xb, lab)))
    return sil, ch, db


def _within_error(scores: list[KScore], chosen: int) -> list[int]:
    """The k whose silhouette is within :data:`TIE_SE` standard errors of the chosen k's."""
    by_k = {s.k: s for s in scores}
    c = by_k[chosen]
    if c.silhouette_se is None or not np.isfinite(c.silhouette):
        return []
    tied = []
    for s in scores:
        if s.k == chosen or s.silhouette_se is None or not np.isfinite(s.silhouette):
            continue
        se = np.hypot(c.silhouette_se, s.silhouette_se)
        if np.isfinite(se) and abs(c.silhouette - s.silhouette) <= TIE_SE * se:
            tied.append(s.k)
    return tied


def _rank(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    v = np.where(np.isnan(values), -np.inf if higher_is_better else np.inf, values)
    order = np.argsort(-v if higher_is_better else v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(1, len(v) + 1)
    return ranks


def consensus(scores: list[KScore]) -> KSelection:
    """Apply the documented consensus rule to per-k scores (see the module docstring)."""
    votes, elbow = _votes(scores)
    counts = Counter(v for v in votes.values() if v is not None)
    chosen = _chosen_by_vote(scores, votes, counts)
    agreement = counts[chosen] / len(votes)
    best_sil = float(np.nanmax([s.silhouette for s in scores]))
    clarity, tied = _clarity(scores, chosen)
    confidence = _confidence(agreement, best_sil, clarity)
    structure = structure_label(best_sil)
    label = "high" if confidence >= 0.65 else "medium" if confidence >= 0.4 else "low"
    explanation = _consensus_explanation(scores, votes, chosen, best_sil=best_sil,
                                         agreement=agreement, clarity=clarity, tied=tied)
    sampling = ({"within_error": tied} if any(sc.silhouette_se is not None for sc in scores)
                else None)
    return KSelection(
        method="consensus",
        sampling=sampling,
        chosen_k=int(chosen),
        scores=scores,
        votes=votes,
        elbow_k=elbow,
        confidence=round(float(confidence), 4),
        confidence_label=label,
        structure=structure,
        explanation=explanation,
    )


def _votes(scores: list[KScore]) -> tuple[dict[str, int | None], int | None]:
    """The k each signal votes for (elbow, silhouette, Calinski-Harabasz, Davies-Bouldin,
    and BIC and stability when every k has them), and the elbow's k."""
    ks = [s.k for s in scores]
    elbow = find_elbow(ks, [s.inertia for s in scores])
    votes: dict[str, int | None] = {
        "elbow": elbow,
        "silhouette": ks[int(np.nanargmax([s.silhouette for s in scores]))],
        "calinski_harabasz": ks[int(np.nanargmax([s.calinski_harabasz for s in scores]))],
        "davies_bouldin": ks[int(np.nanargmin([s.davies_bouldin for s in scores]))],
    }
    if all(s.bic is not None for s in scores):
        votes["bic"] = ks[int(np.nanargmin([s.bic for s in scores]))]
    if all(s.stability is not None for s in scores):
        votes["stability"] = ks[int(np.nanargmax([s.stability for s in scores]))]
    return votes, elbow


def _chosen_by_vote(scores: list[KScore], votes: dict[str, int | None],
                    counts: Counter[int]) -> int:
    """The k with the most votes, ties broken by the mean rank on the three internal
    indices (then the smaller k); BIC decides alone for a mixture model."""
    bic = votes.get("bic")
    if bic is not None:  # a mixture model: its own likelihood criterion decides
        return bic
    ks = [s.k for s in scores]
    sil = np.array([s.silhouette for s in scores])
    ch = np.array([s.calinski_harabasz for s in scores])
    db = np.array([s.davies_bouldin for s in scores])
    mean_rank = (_rank(sil, True) + _rank(ch, True) + _rank(db, False)) / 3
    rank_of = dict(zip(ks, mean_rank, strict=True))
    top = max(counts.values())
    tied = [k for k, c in counts.items() if c == top]
    return min(tied, key=lambda k: (rank_of[k], k))


def _clarity(scores: list[KScore], chosen: int) -> tuple[float, list[int]]:
    """How clearly the chosen k beats the others on the silhouette (0 to 1; 0 when some
    are within its sampling error), and those within it."""
    ks = [s.k for s in scores]
    sil = np.array([s.silhouette for s in scores])
    i = ks.index(chosen)
    others = np.delete(sil, i)
    if len(others) and np.isfinite(sil[i]) and sil[i] > 0:
        margin = (sil[i] - np.nanmax(others)) / sil[i]
    else:
        margin = 0.0
    clarity = float(np.clip(margin / CLEAR_MARGIN, 0, 1))
    tied = _within_error(scores, chosen)
    if tied:  # the sample cannot tell them apart on the silhouette
        clarity = 0.0
    return clarity, tied


def _confidence(agreement: float, best_sil: float, clarity: float) -> float:
    """Confidence in the choice: agreement of the signals, strength of the structure and
    clarity (capped when there is no structure)."""
    structure_score = float(np.clip((best_sil - NO_STRUCTURE) / (STRONG_STRUCTURE - NO_STRUCTURE),
                                    0, 1))
    confidence = 0.5 * agreement + 0.3 * structure_score + 0.2 * clarity
    if structure_label(best_sil) == "none":
        confidence = min(confidence, LOW_CAP)
    return confidence


def _consensus_explanation(scores: list[KScore], votes: dict[str, int | None], chosen: int, *,
                           best_sil: float, agreement: float, clarity: float,
                           tied: list[int]) -> str:
    """Why k was chosen, in words: the signals that agree, the structure, and what to
    compare before acting."""
    ks = [s.k for s in scores]
    sil = np.array([s.silhouette for s in scores])
    counts = Counter(v for v in votes.values() if v is not None)
    structure = structure_label(best_sil)
    agree_names = [name.replace("_", "-") for name, v in votes.items() if v == chosen]
    explanation = (
        f"k = {chosen}: {counts[chosen]} of {len(votes)} signals agree "
        f"({', '.join(agree_names)}); best silhouette {best_sil:.2f} "
        f"({STRUCTURE_WORDS[structure]})."
    )
    if structure == "none":
        return explanation + NO_STRUCTURE_SENTENCE
    if tied:
        explanation += (f" On the sample, k = {', '.join(map(str, tied))} "
                        f"{'is' if len(tied) == 1 else 'are'} within the sampling error "
                        "of the silhouette; compare them before acting.")
    elif clarity < 1:
        i = ks.index(chosen)
        runner_up = ks[int(np.nanargmax(np.where(np.arange(len(ks)) == i, -np.inf, sil)))]
        explanation += (f" k = {runner_up} is almost as good on the silhouette; compare "
                        "them before acting.")
    if agreement <= 0.5:
        explanation += " The signals disagree: treat the choice as tentative."
    return explanation


#: Numbers of segments a campaign can use: k is chosen in this range unless the evidence
#: for a k outside it is strong.
USEFUL_K = (3, 8)
#: Strong evidence for a k outside the useful range: a silhouette of at least this...
STRONG_OUTSIDE = 0.5
#: ... leading the best k inside the range by at least this much.
OUTSIDE_MARGIN = 0.10


def consensus_for_action(scores: list[KScore], useful: tuple[int, int] | None) -> KSelection:
    """The consensus (:func:`consensus`) among the k in ``useful``, unless a k outside it wins
    the consensus over every k with strong evidence: a silhouette of at least 0.5 that leads
    the best k inside by at least 0.10.  The explanation says which and why.

    On real customer tables two groups often separate best (one split along overall size),
    which no campaign can use; data with two true groups still give 2.

    >>> sc = [KScore(2, 100, 0.42, 300, 0.9), KScore(3, 80, 0.35, 280, 1.0),
    ...       KScore(4, 60, 0.36, 290, 0.95), KScore(5, 50, 0.30, 250, 1.1)]
    >>> sel = consensus_for_action(sc, (3, 8))
    >>> sel.chosen_k, sel.explanation.split(" and ")[0]
    (4, '2 groups separate best (silhouette 0.42), but 4 segments are more useful for action')
    """
    if useful is None:
        return consensus(scores)
    lo, hi = useful
    inside = [s for s in scores if lo <= s.k <= hi]
    overall = consensus(scores)
    if not inside or len(inside) == len(scores):
        return overall
    by_k = {s.k: s for s in scores}
    sel_in = consensus(inside)
    k_out, k_in = overall.chosen_k, sel_in.chosen_k
    sil_out = by_k[k_out].silhouette
    sil_in = by_k[k_in].silhouette
    if lo <= k_out <= hi:
        overall.useful_range = [lo, hi]
        return overall
    outside = {"k": int(k_out), "silhouette": round(float(sil_out), 4),
               "best_inside_k": int(k_in), "best_inside_silhouette": round(float(sil_in), 4)}
    if (np.isfinite(sil_out) and sil_out >= STRONG_OUTSIDE
            and (not np.isfinite(sil_in) or sil_out - sil_in >= OUTSIDE_MARGIN)):
        overall.useful_range = [lo, hi]
        overall.outside = {**outside, "taken": True}
        overall.explanation += (
            f" k = {k_out} is outside the useful range {lo}-{hi}, but the evidence for it is "
            f"strong: silhouette {sil_out:.2f} against {sil_in:.2f} for k = {k_in}.")
        return overall
    sel_in.scores = scores
    sel_in.useful_range = [lo, hi]
    sel_in.outside = {**outside, "taken": False}
    what = (f"{k_out} groups separate best" if k_out < lo
            else f"{k_out} groups score best")
    sel_in.explanation = (
        f"{what} (silhouette {sil_out:.2f}), but {k_in} segments are more useful for action "
        f"and the evidence for {k_out} is not strong (it would need a silhouette of at least "
        f"{STRONG_OUTSIDE:.1f}, {OUTSIDE_MARGIN:.2f} above k = {k_in}'s {sil_in:.2f}). Among "
        f"{lo}-{hi}: " + sel_in.explanation)
    return sel_in


def select_k(
    X: np.ndarray,
    k_values: Iterable[int],
    *,
    random_state: Any = None,
    n_init: int | str = "auto",
    progress: ProgressFn | None = None,
    n_threads: int | None = None,
    algorithm: str = "kmeans",
    options: dict[str, Any] | None = None,
    stability: StabilityFn | None = None,
    sampling_error: bool = False,
    useful: tuple[int, int] | None = None,
    refine: bool = False,
    only_possible: str | None = None,
    silhouette_sample: SilhouetteSample | None = None,
) -> KSelection:
    """Fit K-Means for every k and choose one by consensus.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Preprocessed (scaled) data.
    k_values : iterable of int
        Candidate numbers of segments (each at least 2 and below ``n_samples``).
    random_state : int, optional
        Seed for K-Means and the silhouette sample.
    progress : callable, optional
        Called as ``progress("choose k", done, total)`` after each k.
    n_threads : int, optional
        Thread limit (see :func:`limit_threads`).
    algorithm : {"kmeans", "fastkmeans", "hierarchical", "gmm", "kprototypes"}
        The method fitted for every k (see :mod:`custseg.algorithms`); ``options`` are passed
        to its estimator.  ``fastkmeans`` is :class:`custseg.algorithms.kmeans.FastKMeans`
        (one k-means++ start and a global repair step instead of ``n_init`` starts), used by
        the fast path for large tables.
    stability : callable, optional
        ``stability(k) -> float``: adds a bootstrap stability score and vote for every k.
    sampling_error : bool, default=False
        ``X`` is a sample of a larger table: score K-Means partitions with
        :func:`score_partition_sampled` (standard errors; a chosen k whose silhouette is
        within the sampling error of another's loses the clarity part of the confidence).
    useful : (int, int), optional
        Choose among these k unless the evidence for another is strong
        (:func:`consensus_for_action`); every k tried is eligible by default.
    refine : bool, default=False
        Apply :func:`refine_model` to the chosen k's model on ``X``, as every engine does.
    only_possible : str, optional
        :func:`possible_k_values`' sentence when only one k of a range is possible.
    silhouette_sample : SilhouetteSample, optional
        ``X``'s, kept by the caller to score other partitions of ``X`` with its distances.
    """
    with limit_threads(X.shape[0], n_threads):
        selection = _select_k(X, k_values, random_state, n_init, progress, algorithm, options,
                              stability, sampling_error, useful, silhouette_sample)
    if refine:
        selection.model = refine_model(algorithm, selection.model, X, random_state)
    if only_possible is not None:
        selection.method, selection.explanation = "only-possible", only_possible
    return selection


def refine_model(algorithm: str, model: Any, X: np.ndarray, random_state: Any) -> Any:
    """The method's ``refine`` hook of the registry (K-Means: the repair step,
    :func:`custseg.algorithms.kmeans.repair_fit`) applied to ``model`` fitted on ``X``;
    ``model`` itself for a method without one."""
    hook = registry.get(algorithm).refine
    return model if hook is None else hook(model, X, random_state)


def partition_scores(S: np.ndarray, labels: np.ndarray, k: int, random_state: Any,
                     bic: float | None = None,
                     sample: SilhouetteSample | None = None) -> KScore:
    """Scores of labels on the scoring matrix ``S`` (inertia = within-segment sum of squares;
    rows labelled -1 are left out; ``sample``: as in :func:`score_partition`)."""
    keep = labels >= 0
    S, labels = S[keep], labels[keep]
    inertia = 0.0
    for seg in np.unique(labels):
        part = S[labels == seg]
        inertia += float(((part - part.mean(axis=0)) ** 2).sum())
    score = score_partition(S, labels, inertia, k, random_state, sample)
    score.bic = bic
    return score




def fit_method(algorithm: str, k: int, X: np.ndarray, random_state: Any,
               n_init: int | str = "auto", options: dict[str, Any] | None = None) -> Any:
    """Fit one of the k-based methods of :mod:`custseg.algorithms.registry` with k segments."""
    spec = registry.get(algorithm)
    if not spec.capabilities.needs_k:
        raise ValueError(f"algorithm {algorithm!r} does not take a number of segments")
    model = spec.make(k, random_state=random_state, n_init=n_init, n_samples=X.shape[0],
                      **(options or {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


def _labels_for(model: Any, k: int, caps: registry.Capabilities) -> np.ndarray:
    """The labels of ``model`` with ``k`` segments (a tree is cut at ``k``)."""
    return model.labels_for(k) if caps.one_fit_for_all_k else model.labels_


def _fit_candidates(X: np.ndarray, ks: list[int], algorithm: str, random_state: Any,
                    n_init: int | str, options: dict[str, Any],
                    progress: ProgressFn | None,
                    sampling_error: bool = False,
                    sample: SilhouetteSample | None = None
                    ) -> tuple[dict[int, Any], dict[int, KScore], dict[int, Any]]:
    """Fit the algorithm for every k; return models, scores and degenerate fits
    (``sample``: the silhouette sample of ``X`` to use, made on first use when None)."""
    models: dict[int, Any] = {}
    scores: dict[int, KScore] = {}
    degenerate: dict[int, Any] = {}
    spec = registry.get(algorithm)
    caps = spec.capabilities
    if caps.parallel_k:
        return _fit_candidates_parallel(X, ks, algorithm, random_state, options, progress,
                                        sampling_error, sample)
    tree = None
    finite = finite_floats(X) if len(ks) > 1 else None  # measured once, for every k
    for i, k in enumerate(ks):
        # the first fit checked X and the parameters: the others need not
        with prechecked(X, finite) if i else contextlib.nullcontext():
            if caps.one_fit_for_all_k:
                if tree is None:  # one tree, cut at every k
                    tree = fit_method(algorithm, k, X, random_state, n_init, options)
                model = tree
            else:
                model = fit_method(algorithm, k, X, random_state, n_init, options)
        if progress is not None:
            progress("choose k", i + 1, len(ks))
        labels = _labels_for(model, k, caps)
        if len(np.unique(labels)) < k:
            degenerate[k] = model  # fewer distinct groups than k: not a candidate
            continue
        models[k] = model
        if caps.scores_inertia and sampling_error:
            scores[k] = score_partition_sampled(X, labels, model.inertia_, k, random_state)
        elif caps.scores_inertia:
            if sample is None or not sample.serves(X, random_state):
                sample = SilhouetteSample(X, random_state)  # one distance matrix for all k
            scores[k] = score_partition(X, labels, model.inertia_, k, random_state, sample,
                                        finite)
        else:
            S = spec.space(model, X) if spec.space is not None else X
            scores[k] = partition_scores(S, labels, k, random_state,
                                         getattr(model, "bic_", None))
    return models, scores, degenerate


def _fit_candidates_parallel(X: np.ndarray, ks: list[int], algorithm: str, random_state: Any,
                             options: dict[str, Any], progress: ProgressFn | None,
                             sampling_error: bool, sample: SilhouetteSample | None = None
                             ) -> tuple[dict[int, Any], dict[int, KScore], dict[int, Any]]:
    """:class:`~custseg.algorithms.kmeans.FastKMeans` for every k, several k at a time.

    Each k is fitted and scored on one thread (its compiled kernels and matrix products
    release the GIL), the values of k spread over ``options["n_threads"]`` threads (default:
    every core).  Every k has its own seed, so the result does not depend on the threads.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    workers = int(options.get("n_threads") or os.cpu_count() or 1)
    one = {**options, "n_threads": 1}
    if sample is None or not sample.serves(X, random_state):
        sample = SilhouetteSample(X, random_state)  # one distance matrix for every k
    subsample_distances = SubsampleDistances()  # the same, for the sampled scores

    def scorer(X: np.ndarray, labels: np.ndarray, inertia: float, k: int,
               random_state: Any) -> KScore:
        if sampling_error:
            return score_partition_sampled(X, labels, inertia, k, random_state,
                                           distances=subsample_distances)
        return score_partition(X, labels, inertia, k, random_state, sample)

    def fit_and_score(k: int) -> tuple[Any, KScore | None]:
        with threadpool_limits(limits=1):
            model = fit_method(algorithm, k, X, random_state, 1, one)
            labels = model.labels_
            if len(np.unique(labels)) < k:
                return model, None
            return model, scorer(X, labels, model.inertia_, k, random_state)

    models: dict[int, Any] = {}
    scores: dict[int, KScore] = {}
    degenerate: dict[int, Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ks)))) as pool:
        futures = [pool.submit(fit_and_score, k) for k in ks]
        for i, (k, future) in enumerate(zip(ks, futures, strict=True)):
            model, score = future.result()
            if progress is not None:
                progress("choose k", i + 1, len(ks))
            if score is None:
                degenerate[k] = model
            else:
                models[k], scores[k] = model, score
    return models, scores, degenerate


#: :func:`possible_k_values` counts the distinct rows of all customers only when the first
#: this many do not have enough of them.
DISTINCT_PREFIX = 1_000


def possible_k_values(X: np.ndarray, k_values: list[int]) -> tuple[list[int], str | None]:
    """The numbers of segments among ``k_values`` that the customers' distinct rows of ``X``
    allow (at most one segment per distinct row), and, when a range was asked and only one
    is left, the sentence that says so (None otherwise).  Every engine checks so.

    Raises :class:`~custseg.errors.DataError` (``too-few-distinct``) when not even the
    smallest is possible.

    >>> possible_k_values(np.array([[0.0], [0.0], [1.0], [2.0]]), [2, 3, 4])
    ([2, 3], None)
    >>> possible_k_values(np.array([[0.0], [1.0], [1.0]]), [2, 3])[1]
    'k = 2: the only number of segments possible, since the features take only 2 distinct values.'
    """
    if len(np.unique(X[:DISTINCT_PREFIX], axis=0)) >= max(k_values):
        return list(k_values), None  # as many distinct rows in the first ones: all possible
    n_distinct = len(np.unique(X, axis=0))
    if n_distinct < min(k_values):
        raise DataError([Problem(None, f"the features take only {n_distinct} distinct "
                                 f"value(s) across customers, fewer than the "
                                 f"{min(k_values)} segments asked for",
                                 code="too-few-distinct")])
    possible = [k for k in k_values if k <= n_distinct]
    only = (f"k = {possible[0]}: the only number of segments possible, since the features "
            f"take only {n_distinct} distinct values."
            if len(k_values) > 1 and len(possible) == 1 else None)
    return possible, only


def number_by_size(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments numbered by size, 0 the largest (the earlier on a tie): ``order`` (the old
    numbers, new order) and ``label_map`` (old number -> new number).  Every engine numbers
    its segments so.

    Raises :class:`~custseg.errors.DataError` (``too-few-distinct``) when a segment is
    empty: fewer segments could be formed than were asked for.

    >>> order, label_map = number_by_size(np.array([5, 9, 5]))
    >>> order.tolist(), label_map.tolist()
    ([1, 0, 2], [1, 0, 2])
    """
    counts = np.asarray(counts)
    if (counts == 0).any():
        raise DataError([Problem(None, f"only {int((counts > 0).sum())} non-empty segments "
                                 f"could be formed, fewer than the {len(counts)} asked for: "
                                 "too many customers share the same values",
                                 code="too-few-distinct")])
    order = np.argsort(-counts, kind="stable")
    label_map = np.empty(len(counts), dtype=np.int64)
    label_map[order] = np.arange(len(counts))
    return order, label_map


def single_k_selection(score: KScore, only_possible: bool) -> KSelection:
    """The selection record of a single k: fixed by the user, or (``only_possible``) the
    only one of a range that gives non-empty segments.  Every engine words it so."""
    structure = structure_label(score.silhouette) if np.isfinite(score.silhouette) else ""
    if only_possible:
        return KSelection(method="only-possible", chosen_k=score.k, scores=[score],
                          structure=structure,
                          explanation=f"k = {score.k}: the only number of segments possible; "
                                      "larger k leave segments empty (many identical "
                                      "customers).")
    explanation = f"k = {score.k} was fixed by the user"
    if structure:
        explanation += f"; silhouette {score.silhouette:.2f} ({STRUCTURE_WORDS[structure]})."
        if structure == "none":
            explanation += NO_STRUCTURE_SENTENCE
    else:
        explanation += "."
    return KSelection(method="fixed", chosen_k=score.k, scores=[score], structure=structure,
                      explanation=explanation)


def _select_k(X: np.ndarray, k_values: Iterable[int], random_state: Any, n_init: int | str,
              progress: ProgressFn | None, algorithm: str = "kmeans",
              options: dict[str, Any] | None = None,
              stability: StabilityFn | None = None,
              sampling_error: bool = False,
              useful: tuple[int, int] | None = None,
              sample: SilhouetteSample | None = None) -> KSelection:
    ks = sorted({int(k) for k in k_values if 2 <= int(k) < X.shape[0]})
    if not ks:
        raise ValueError(f"no valid k for {X.shape[0]} customers")
    asked_range = len(ks) > 1
    caps = registry.get(algorithm).capabilities
    models, by_k, degenerate = _fit_candidates(X, ks, algorithm, random_state, n_init,
                                               options or {}, progress, sampling_error, sample)
    scores = [by_k[k] for k in ks if k in by_k]
    if not scores:  # the caller finds out that this k gives empty segments
        k = ks[0]
        models[k] = degenerate[k]
        labels = _labels_for(models[k], k, caps)
        scores.append(partition_scores(X, labels, k, random_state, sample=sample))
    if stability is not None and len(scores) > 1:
        for sc in scores:
            sc.stability = float(stability(sc.k))
    ks = [sc.k for sc in scores]
    if len(ks) == 1:
        sel = single_k_selection(scores[0], only_possible=asked_range)
    else:
        sel = consensus_for_action(scores, useful)
    sel.model = models[sel.chosen_k]
    if caps.one_fit_for_all_k:
        sel.model.with_k(sel.chosen_k)
    sel.n_samples = int(X.shape[0])
    sel.silhouette_sample = SILHOUETTE_SAMPLE if X.shape[0] > SILHOUETTE_SAMPLE else None
    if sampling_error and caps.scores_inertia:
        m = max(2, min(SUBSAMPLE_SIZE, X.shape[0] // SUBSAMPLES))
        sel.silhouette_sample = m * SUBSAMPLES
        sel.sampling = {"subsamples": SUBSAMPLES, "subsample_size": m,
                        "tie_standard_errors": TIE_SE,
                        "within_error": (sel.sampling or {}).get("within_error", [])}
    return sel
