"""How much a segmentation can be trusted: bootstrap stability as in R's ``clusterboot``.

The segmentation is re-fitted on ``n_resamples`` random subsamples of 80% of the customers
(drawn from a seeded sample of at most ``max_customers``, so the cost stays bounded on large
data).  Each re-fit is compared with the reference segmentation on the customers it saw:

* the **adjusted Rand index** (ARI) between the two partitions: 1 = identical, 0 = chance;
* for each reference segment, the **Jaccard** similarity with the most similar segment of the
  re-fit, ``|A ∩ B| / |A ∪ B|``; averaged over re-fits it is the segment's stability.  Hennig
  (2007): below 0.6 a segment is not to be trusted ("dissolved"), above 0.75 it is stable,
  above 0.85 highly stable.

Examples
--------
>>> import numpy as np
>>> from sklearn.cluster import KMeans
>>> rng = np.random.RandomState(0)
>>> X = np.r_[rng.normal(0, 1, (100, 2)), rng.normal(8, 1, (100, 2))]
>>> ref = KMeans(2, n_init=3, random_state=0).fit_predict(X)
>>> fit = lambda Z, seed: KMeans(2, n_init=3, random_state=seed).fit_predict(Z)
>>> st = bootstrap_stability(X, ref, fit, n_resamples=5, random_state=0)
>>> round(st.mean_ari, 2), [round(j, 2) for j in st.jaccard]
(1.0, [1.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

#: Below this mean Jaccard a segment is flagged as not to be trusted (Hennig 2007).
UNSTABLE_JACCARD = 0.6
N_RESAMPLES = 20
SUBSAMPLE = 0.8
MAX_CUSTOMERS = 5_000

FitFn = Callable[[np.ndarray, int], np.ndarray]


@dataclass
class Stability:
    """Bootstrap stability of one segmentation."""

    mean_ari: float
    ari: list[float]
    jaccard: list[float]
    unstable_segments: list[int] = field(default_factory=list)
    n_resamples: int = N_RESAMPLES
    subsample: float = SUBSAMPLE
    n_customers: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def jaccard_per_segment(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """For each reference segment (0..k-1), the best Jaccard with a segment of ``other``.

    Rows labelled -1 (unassigned) in either labelling count as belonging to no segment.

    >>> jaccard_per_segment(np.array([0, 0, 1, 1]), np.array([1, 1, 1, 0])).round(2).tolist()
    [0.67, 0.5]
    """
    k = int(reference.max()) + 1 if len(reference) else 0
    out = np.zeros(k)
    others = [t for t in np.unique(other) if t >= 0]
    for s in range(k):
        a = reference == s
        if not a.any():
            out[s] = np.nan
            continue
        best = 0.0
        for t in others:
            b = other == t
            union = np.sum(a | b)
            if union:
                best = max(best, np.sum(a & b) / union)
        out[s] = best
    return out


def bootstrap_stability(
    X: np.ndarray,
    reference: np.ndarray,
    fit: FitFn,
    *,
    n_resamples: int = N_RESAMPLES,
    subsample: float = SUBSAMPLE,
    max_customers: int = MAX_CUSTOMERS,
    random_state: int | None = 0,
) -> Stability:
    """Re-fit on subsamples and compare with ``reference`` (see the module docstring).

    Parameters
    ----------
    X : array (n_samples, n_features)
        The data the segmentation was fitted on (preprocessed).
    reference : array of int
        The segmentation's labels of X (-1 = unassigned).
    fit : callable
        ``fit(X_subsample, seed) -> labels``: re-fits the same method with the same number of
        segments.
    """
    rng = np.random.RandomState(random_state)
    n = X.shape[0]
    pool = np.arange(n)
    if n > max_customers:
        pool = np.sort(rng.choice(n, max_customers, replace=False))
    m = max(2, round(subsample * len(pool)))
    aris: list[float] = []
    jaccards = []
    for _ in range(n_resamples):
        idx = np.sort(rng.choice(pool, m, replace=False))
        labels = np.asarray(fit(X[idx], int(rng.randint(np.iinfo(np.int32).max))))
        ref = reference[idx]
        aris.append(float(adjusted_rand_score(ref, labels)))
        jaccards.append(jaccard_per_segment(ref, labels))
    k = int(reference.max()) + 1 if len(reference) else 0
    jac = np.full(k, np.nan)
    if jaccards:
        stacked = np.vstack([np.pad(j, (0, k - len(j)), constant_values=np.nan)
                             for j in jaccards])
        with np.errstate(all="ignore"):
            jac = np.nanmean(np.where(np.isnan(stacked), np.nan, stacked), axis=0)
    jac = np.nan_to_num(jac, nan=0.0)
    return Stability(
        mean_ari=float(np.mean(aris)) if aris else float("nan"),
        ari=[round(a, 4) for a in aris],
        jaccard=[round(float(j), 4) for j in jac],
        unstable_segments=[int(s) for s in np.flatnonzero(jac < UNSTABLE_JACCARD)],
        n_resamples=n_resamples,
        subsample=subsample,
        n_customers=len(pool),
    )
