"""Rule-based RFM: recency, frequency and monetary scores of 1-5 by quintile, and the classic
segments of the R x F grid (``RFM_SEGMENTS``), a baseline beside the clusters."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: The classic rule-based RFM segments on the recency (R) and frequency (F) scores:
#: (name, R scores, F scores, what to do).  The 25 cells of the R x F grid are covered once.
RFM_SEGMENTS: tuple[tuple[str, tuple[int, ...], tuple[int, ...], str], ...] = (
    ("Champions", (5,), (4, 5), "Bought recently, buy often: reward them, ask for reviews, "
     "early access to new products."),
    ("Loyal", (3, 4), (4, 5), "Buy often, fairly recently: upsell, loyalty programme."),
    ("Potential loyalist", (4, 5), (2, 3), "Recent customers with a few orders: membership, "
     "personal recommendations."),
    ("New", (5,), (1,), "Bought for the first time very recently: onboarding, early support."),
    ("Promising", (4,), (1,), "Recent first purchase: build awareness, free trials."),
    ("Need attention", (3,), (3,), "Average recency and frequency: limited-time offers, "
     "recommendations from their history."),
    ("About to sleep", (3,), (1, 2), "Below average, slipping away: share popular products, "
     "reactivation discounts."),
    ("At risk", (1, 2), (3, 4), "Used to buy often, not for a long time: personal "
     "win-back e-mails, renewals."),
    ("Cannot lose them", (1, 2), (5,), "Were among the best, not seen for long: win them "
     "back, talk to them."),
    ("Hibernating", (1, 2), (1, 2), "Few orders, long ago: offer relevant products, "
     "special discounts."),
    ("Lost", (1,), (1,), "Lowest recency and frequency: revive with a campaign, or let go."),
)
RFM_SEGMENT_NAMES = tuple(name for name, *_ in RFM_SEGMENTS)


def quintile_score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """Score 1-5 by quintile of position; equal values share the lower position.

    ``score = 1 + floor(5 x (customers with a worse value) / n)``: a customer is in the top
    fifth when at least 80% of the customers are strictly worse.  Equal values always get
    the same score, so a score can be skipped when many customers tie (e.g. 40% buying
    once all get F = 1, the next ones F = 3).

    >>> quintile_score(pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).tolist()
    [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    >>> quintile_score(pd.Series([1, 1, 1, 1, 2, 3, 4, 5, 6, 7])).tolist()
    [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    >>> quintile_score(pd.Series([30, 1, 200]), higher_is_better=False).tolist()
    [2, 4, 1]
    """
    n = len(values)
    if n == 0:
        return pd.Series([], dtype="int64", index=values.index)
    rank = values.rank(method="min", ascending=higher_is_better)  # 1 = the worst
    worse = rank.to_numpy(dtype=np.int64) - 1
    return pd.Series(1 + (5 * worse) // n, index=values.index, dtype="int64")


def rfm_segment(r: int, f: int) -> str:
    """The rule-based RFM segment of an (R, F) pair of scores (``RFM_SEGMENTS``).

    >>> rfm_segment(5, 5), rfm_segment(1, 1), rfm_segment(2, 1), rfm_segment(1, 5)
    ('Champions', 'Lost', 'Hibernating', 'Cannot lose them')
    """
    if (r, f) == (1, 1):
        return "Lost"
    for name, rs, fs, _ in RFM_SEGMENTS:
        if r in rs and f in fs:
            return name
    raise ValueError(f"scores must be 1-5, got R={r!r}, F={f!r}")


def rfm_scores(customers: pd.DataFrame, *, recency: str = "recency_days",
               frequency: str = "frequency", monetary: str = "monetary") -> pd.DataFrame:
    """Add ``r_score``, ``f_score``, ``m_score`` (1-5), ``rfm_score`` (e.g. ``"545"``) and
    ``rfm_segment`` to a copy of a customer table.

    >>> t = pd.DataFrame({"recency_days": [1, 400], "frequency": [9, 1],
    ...                   "monetary": [900.0, 10.0]})
    >>> rfm_scores(t)[["r_score", "f_score", "m_score", "rfm_score", "rfm_segment"]].values.tolist()
    [[3, 3, 3, '333', 'Need attention'], [1, 1, 1, '111', 'Lost']]
    """
    out = customers.copy()
    add_rfm(out, recency, frequency, monetary)
    return out


def add_rfm(out: pd.DataFrame, recency: str, frequency: str, monetary: str) -> None:
    """Add the RFM scores and segment (see :func:`rfm_scores`) to a customer table, in place."""
    out["r_score"] = quintile_score(out[recency], higher_is_better=False)
    out["f_score"] = quintile_score(out[frequency])
    out["m_score"] = quintile_score(out[monetary])
    out["rfm_score"] = (out["r_score"].astype(str) + out["f_score"].astype(str)
                        + out["m_score"].astype(str))
    cells = out["r_score"].to_numpy() * 10 + out["f_score"].to_numpy()
    names = np.array([""] * 56, dtype=object)
    for r in range(1, 6):
        for f in range(1, 6):
            names[r * 10 + f] = rfm_segment(r, f)
    out["rfm_segment"] = names[cells]


def rfm_crosstab(segment_names: Sequence[str], rfm: Sequence[str],
                 order: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
    """``{segment name: {RFM segment: customers}}`` for customers given as two parallel
    sequences; segments in ``order`` (default: first appearance), RFM segments in
    ``RFM_SEGMENTS`` order, zero counts left out.

    >>> rfm_crosstab(["A", "B", "A"], ["Lost", "Champions", "Champions"])
    {'A': {'Champions': 1, 'Lost': 1}, 'B': {'Champions': 1}}
    """
    pairs = pd.DataFrame({"segment": list(segment_names), "rfm": list(rfm)})
    counts = pairs.value_counts().to_dict()
    rank = {name: i for i, name in enumerate(RFM_SEGMENT_NAMES)}
    out: dict[str, dict[str, int]] = {}
    for name in order if order is not None else dict.fromkeys(pairs["segment"]):
        cells = sorted((r for s, r in counts if s == name), key=lambda r: (rank.get(r, 99), r))
        out[str(name)] = {str(r): int(counts[(name, r)]) for r in cells}
    return out

