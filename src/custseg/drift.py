"""Population drift: has the customer population moved away from the one the model learned?

For every feature, the **population stability index** (PSI) compares the share of customers
in each bin of the training distribution with the share of the current customers in it:

    PSI = sum over bins of (actual - expected) * ln(actual / expected)

The bins are the training deciles stored in the model bundle (``meta["training"]
["features"]``, see :mod:`custseg.bundle`): ten bins of 10% each for a continuous feature.
Equal deciles (a feature with a large point mass, such as a frequency where half the
customers bought once) make one edge, at the position of the last of them.  Customers whose
value *equals* an edge (common with whole numbers: frequencies, days) are split between the
two bins around it as far as the training quantiles allow: the training data had a share
``p`` of customers at or below the decile, counting part of those at the edge, so the
current customers count as ``p`` too whenever ``p`` lies between their share strictly below
the edge and their share at or below it.  Without this split, a whole-number feature drawn
from the very training population shows a PSI near 0.1.  Shares are floored at 0.0001 so
that an empty bin does not make the index infinite.  Categorical features use the training
share of every category, and unseen categories share one more bin.  Missing values are left
out and counted.

Reading the index (the usual credit-scoring convention):

========== =========================================================================
PSI        meaning
========== =========================================================================
< 0.1      stable
0.1 - 0.25 moderate shift: watch it
> 0.25     significant shift: **re-segmenting is recommended**
========== =========================================================================

A verdict needs at least ``MIN_SAMPLE`` customers; below that the report says there is not
enough data and recommends nothing.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> train = rng.normal(50, 10, 5000)
>>> reference = {"x": {"type": "numeric",
...                    "deciles": np.quantile(train, np.linspace(0, 1, 11)).tolist()}}
>>> same = drift_report(reference, {"x": rng.normal(50, 10, 2000)})
>>> moved = drift_report(reference, {"x": rng.normal(60, 10, 2000)})
>>> same.features["x"].status, same.resegment_recommended
('stable', False)
>>> moved.features["x"].status, moved.resegment_recommended
('significant', True)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: PSI above which a feature has moderately shifted.
MODERATE = 0.1
#: PSI above which a feature has significantly shifted: re-segmenting is recommended.
SIGNIFICANT = 0.25
#: Fewest customers for a verdict.
MIN_SAMPLE = 100
#: Floor of a bin's share.
EPSILON = 1e-4
OTHER = "(other)"


def status_of(psi: float) -> str:
    """``stable``, ``moderate`` or ``significant``.

    >>> status_of(0.05), status_of(0.2), status_of(0.3)
    ('stable', 'moderate', 'significant')
    """
    if psi > SIGNIFICANT:
        return "significant"
    if psi > MODERATE:
        return "moderate"
    return "stable"


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index of two share vectors over the same bins.

    >>> round(psi([0.5, 0.5], [0.5, 0.5]), 6), round(psi([0.5, 0.5], [0.9, 0.1]), 3)
    (0.0, 0.879)
    """
    e = np.clip(np.asarray(expected, dtype=float), EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=float), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def decile_bins(deciles: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Inner bin edges and expected shares from the 11 training deciles (min ... max).

    Bins are ``(-inf, e1], (e1, e2], ..., (em, +inf)``; an edge repeated in several deciles
    sits at the position of the last of them.

    >>> edges, shares = decile_bins([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    >>> edges.tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    >>> shares.round(2).tolist()
    [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    >>> edges, shares = decile_bins([1, 1, 1, 1, 1, 1, 2, 2, 3, 5, 40])   # half bought once
    >>> edges.tolist(), shares.round(3).tolist()
    ([1.0, 2.0, 3.0, 5.0], [0.5, 0.2, 0.1, 0.1, 0.1])
    """
    q = np.asarray(deciles, dtype=float)
    if len(q) != 11 or not np.all(np.isfinite(q)):
        raise ValueError(f"expected 11 finite deciles, got {list(deciles)!r}")
    edges = np.unique(q[1:10])
    cdf = np.array([np.flatnonzero(q == u).max() / 10 for u in edges])
    shares = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    return edges, shares


def split_shares(edges: np.ndarray, expected: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Shares of ``values`` in the bins, values equal to an edge split between its two bins
    as far as the expected cumulative share allows (see the module docstring).

    >>> split_shares(np.array([2.0]), np.array([0.5, 0.5]), np.array([1, 2, 2, 2, 3]))
    array([0.5, 0.5])
    >>> split_shares(np.array([2.0]), np.array([0.5, 0.5]), np.array([3, 3, 4, 2]))
    array([0.25, 0.75])
    """
    n = max(len(values), 1)
    v = np.sort(values)
    below = np.searchsorted(v, edges, side="left") / n
    at_or_below = np.searchsorted(v, edges, side="right") / n
    cut = np.clip(np.cumsum(expected)[:-1], below, at_or_below)
    return np.diff(np.concatenate([[0.0], cut, [1.0]]))


@dataclass
class FeatureDrift:
    """The drift of one feature."""

    feature: str
    psi: float
    status: str
    n: int
    missing: int
    bins: list[str] = field(default_factory=list)
    expected: list[float] = field(default_factory=list)
    actual: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DriftReport:
    """PSI of every feature and the verdict."""

    features: dict[str, FeatureDrift]
    n: int
    enough_data: bool
    resegment_recommended: bool
    max_psi: float | None
    reason: str
    population: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "population": self.population,
            "n": self.n,
            "min_sample": MIN_SAMPLE,
            "enough_data": self.enough_data,
            "thresholds": {"moderate": MODERATE, "significant": SIGNIFICANT},
            "max_psi": self.max_psi,
            "resegment_recommended": self.resegment_recommended,
            "reason": self.reason,
            "features": {f: d.to_dict() for f, d in self.features.items()},
        }


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def numeric_drift(feature: str, deciles: Sequence[float], values: Any) -> FeatureDrift:
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    edges, expected = decile_bins(deciles)
    actual = split_shares(edges, expected, finite)
    labels = [f"<= {_fmt(edges[0])}" if len(edges) else "all"]
    labels += [f"({_fmt(a)}, {_fmt(b)}]" for a, b in itertools.pairwise(edges)]
    if len(edges):
        labels.append(f"> {_fmt(edges[-1])}")
    value = psi(expected, actual) if len(finite) else 0.0
    return FeatureDrift(feature, round(value, 6), status_of(value), len(finite),
                        int(len(v) - len(finite)), labels,
                        [round(float(x), 6) for x in expected],
                        [round(float(x), 6) for x in actual])


def categorical_drift(feature: str, shares: Mapping[str, float], values: Any) -> FeatureDrift:
    text = [str(x) for x in values if x is not None and not (isinstance(x, float) and np.isnan(x))]
    known = list(shares)
    counts = dict.fromkeys([*known, OTHER], 0)
    for x in text:
        counts[x if x in shares else OTHER] += 1
    n = len(text)
    expected = [float(shares[c]) for c in known] + [0.0]
    actual = [counts[c] / max(n, 1) for c in [*known, OTHER]]
    value = psi(expected, actual) if n else 0.0
    return FeatureDrift(feature, round(value, 6), status_of(value), n, len(values) - n,
                        [*known, OTHER], [round(x, 6) for x in expected],
                        [round(x, 6) for x in actual])


def drift_report(reference: Mapping[str, Mapping[str, Any]],
                 population: Mapping[str, Sequence[Any]], *,
                 population_name: str = "") -> DriftReport:
    """PSI of every feature of ``reference`` (the bundle's training fingerprint) found in
    ``population`` (``{feature: values}``), and whether re-segmenting is recommended."""
    features: dict[str, FeatureDrift] = {}
    for name, ref in reference.items():
        if name not in population:
            continue
        values = population[name]
        if ref.get("type") == "categorical":
            features[name] = categorical_drift(name, ref.get("shares", {}), values)
        elif ref.get("deciles"):
            features[name] = numeric_drift(name, ref["deciles"], values)
    n = max((len(population[f]) for f in features), default=0)
    enough = n >= MIN_SAMPLE and bool(features)
    max_psi = max((d.psi for d in features.values()), default=None)
    shifted = sorted((d for d in features.values() if d.status == "significant"),
                     key=lambda d: -d.psi)
    if not features:
        reason = "no feature of the model to compare"
    elif not enough:
        reason = (f"not enough customers for a verdict: {n}, at least {MIN_SAMPLE} are "
                  "needed")
    elif shifted:
        reason = ("re-segment recommended: significant shift (PSI > "
                  f"{SIGNIFICANT}) in " + ", ".join(f"{d.feature} ({d.psi:.2f})"
                                                    for d in shifted))
    else:
        moderate = [d.feature for d in features.values() if d.status == "moderate"]
        reason = ("stable" if not moderate else
                  "moderate shift (PSI 0.1-0.25) in " + ", ".join(moderate) + ": watch it")
    return DriftReport(features, int(n), enough, bool(enough and shifted),
                       None if max_psi is None else round(max_psi, 6), reason,
                       population_name)
