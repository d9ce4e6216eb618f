"""Segment profiles, names and recommendations.

For each segment: size, share, mean and median of every numeric column in original units,
the z-score of its mean against the whole population, its *traits* (the columns that set it
apart), the category mix of the categorical columns, a plain name, and a recommendation from
a rule table (``data/rules.toml``, replaceable by the user's own file) with its evidence.

Levels follow the z-score of the segment's **mean** against the population (mean and
standard deviation with ``ddof=0``): High when z >= +0.5, Low when z <= -0.5, Mid otherwise.
A *trait* is a numeric column with |z| >= 0.5; traits are ordered by |z|, and the three first
are the segment's *defining* traits (their text is the evidence of its recommendation; a
describing column that moves with a feature, ``echoes``, is not evidence of its own).

Names use readable labels (:mod:`custseg.labels`).  With at most three segmentation features
a name gives the level of each, in the order of the features ("Low income · High spending");
with more, the (up to) two features that set the segment apart most ("High spend on wines ·
Low web visits per month"), numeric features before flags, and "Close to average" when none
reaches 0.5; and the trait the recommendation rests on when those do not give it.
Names are unique: a segment whose name is taken adds its next distinguishing trait.  A
categorical level enters a name when the segment holds it at least 75% of the time and 1.3
times as often as all customers.  A segment under 2% of customers is an outlier
group ("Outlier group: ..."), to be reviewed customer by customer.

Recommendations come from rules keyed on business *concepts* (spend, income, frequency,
recency, tenure, risk, payment, complaints, response, visits, deals) recognised in the
column names; see the header of ``data/rules.toml``.  A segment whose defining traits include
a risk in its risky direction (heavy cash advances, low full payment, complaints) is never
rewarded or up-sold.

The package's modules, one concern each: :mod:`~custseg.profiling.rules` (levels, concepts and
the rule table), :mod:`~custseg.profiling.traits` (traits in words),
:mod:`~custseg.profiling.names` (names) and :mod:`~custseg.profiling.recommend`
(recommendations); this module computes the statistics and builds the profiles, and
re-exports their public names.

Examples
--------
>>> short_label("Annual Income (k$)"), short_label("Spending Score (1-100)")
('income', 'spending')
>>> short_label("Detergents_Paper"), short_label("MntWines")
('detergents paper', 'spend on wines')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from custseg.labels import humanize, label_for, name_levels, table_labels
from custseg.profiling.names import (
    CATEGORY_LIFT,
    CATEGORY_NAME_SHARE,
    NAME_TRAITS,
    lifted_levels,
    name_segments,
    yes_level,
    yes_rate_lift,
)
from custseg.profiling.recommend import VALUE_ROLES, RecommendationContext, recommend
from custseg.profiling.rules import (
    KINDS,
    LEVELS,
    MIN_DISTINCT_Z,
    RISK_SAFE_KINDS,
    ROLES,
    Concept,
    Rule,
    RuleTable,
    bundled_concepts,
    level_of,
    load_rules,
)
from custseg.profiling.traits import (
    BASKET_LEAD_Z,
    DEFINING_TRAITS,
    basket_leads,
    evidence_of,
    infer_role,
    trait_text,
    traits_of,
)

__all__ = [
    "BASKET_LEAD_Z",
    "CATEGORY_LIFT",
    "CATEGORY_NAME_SHARE",
    "DEFINING_TRAITS",
    "KINDS",
    "LEVELS",
    "MIN_DISTINCT_Z",
    "NAME_TRAITS",
    "NOTABLE_CATEGORY_SHARE",
    "OUTLIER_SHARE",
    "RISK_SAFE_KINDS",
    "ROLES",
    "VALUE_ROLES",
    "Concept",
    "Rule",
    "RuleTable",
    "SegmentProfile",
    "SegmentStatistics",
    "basket_leads",
    "level_of",
    "load_rules",
    "profile_segments",
    "profiles_from_statistics",
    "profiles_table",
    "segment_statistics",
    "short_label",
    "spend_shares",
    "trait_text",
]

#: Share of customers under which a segment is an outlier group.
OUTLIER_SHARE = 0.02
#: A categorical level is notable when this share of the segment holds it ...
NOTABLE_CATEGORY_SHARE = 0.40


def short_label(name: str) -> str:
    """A short lower-case label for a column name (:func:`custseg.labels.humanize`)."""
    return humanize(name)


# ------------------------------------------------------------------ profiles
@dataclass
class SegmentProfile:
    """Everything said about one segment.

    ``traits`` are dicts with ``feature``, ``label``, ``z``, ``level`` (High/Low),
    ``ratio`` (segment mean / population mean when both are positive, else None), ``mean``,
    ``population_mean`` and ``text`` ("spends 2.3× the average on wines"), most
    distinguishing first; ``evidence`` the texts of the defining (first three) traits.
    """

    def __repr__(self) -> str:
        from custseg.display import segment_text

        return segment_text(self)

    def _repr_html_(self) -> str:  # the card a notebook shows
        from custseg.display import segment_html

        return segment_html(self)

    id: int
    name: str
    size: int
    share: float
    mean: dict[str, float]
    median: dict[str, float]
    z: dict[str, float]
    levels: dict[str, str]
    distinguishing: list[str]
    categories: dict[str, dict[str, float]] = field(default_factory=dict)
    recommendation: str = ""
    traits: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    outlier_group: bool = False
    defined_by_risk: bool = False
    notable_categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    recommendation_kind: str = ""
    labels: dict[str, str] = field(default_factory=dict, repr=False)
    #: The segment's share of the customers' total spend (the sum of the amounts of the
    #: basket: :func:`spend_shares`), None when the features hold no amount bought.
    spend_share: float | None = None
    #: The amounts that total is made of (the same for every segment of a run).
    spend_columns: list[str] = field(default_factory=list, repr=False)
    #: The columns the recommendation rests on: for each condition of its rule met at a
    #: High or Low level, the segment's strongest trait there (the name shows them).
    grounds: list[str] = field(default_factory=list, repr=False)

    def describe(self) -> str:
        """What sets the segment apart, in one line: 'income high (z=+1.2), ...'."""
        return ", ".join(f"{label_for(f, self.labels)} {self.levels[f].lower()} "
                         f"(z={self.z[f]:+.1f})" for f in self.distinguishing)

    def recommendation_with_evidence(self) -> str:
        """The recommendation followed by its evidence ("... Evidence: spends 2.3× ...")."""
        if not self.evidence:
            return self.recommendation
        return f"{self.recommendation} Evidence: {'; '.join(self.evidence)}."


@dataclass
class SegmentStatistics:
    """The numbers profiles are built from, whoever computed them.

    :func:`profile_segments` computes them with pandas; the Spark engine
    (:mod:`custseg.engines.spark`) computes them in Spark.  Both then build names, levels and
    recommendations with :func:`profiles_from_statistics`, so the two agree by construction.
    Segment ``i`` is the ``i``-th entry of each list.

    Attributes
    ----------
    n : int
        Customers profiled.
    sizes : list of int
        Customers per segment.
    mean, median : list of dict
        Per segment, per numeric column: mean and median in original units (missing values
        left out; NaN when a segment has no value).
    categories : list of dict
        Per segment, ``{column: {level: share}}`` (empty cells as ``"missing"``).
    population_mean, population_std : dict
        Per numeric column, over all customers (standard deviation with ``ddof=0``).
    lower_tertile, upper_tertile : dict
        Per numeric column, the population's 33rd and 67th percentiles (kept for the
        engines that fill them; levels now follow the z-score, not the tertiles).
    """

    n: int
    sizes: list[int]
    mean: list[dict[str, float]]
    median: list[dict[str, float]]
    categories: list[dict[str, dict[str, float]]]
    population_mean: dict[str, float]
    population_std: dict[str, float]
    lower_tertile: dict[str, float]
    upper_tertile: dict[str, float]
    #: Columns segmented on a log scale (``log1p``): per segment and for everyone, the mean
    #: and standard deviation of ``log1p`` of the values.  Their z-scores (hence levels,
    #: names and traits) are measured on that scale, the scale the segments were formed on,
    #: so that a few huge customers do not hide what sets a segment apart.
    log_mean: list[dict[str, float]] = field(default_factory=list)
    log_population_mean: dict[str, float] = field(default_factory=dict)
    log_population_std: dict[str, float] = field(default_factory=dict)


def log_scale(x: Any) -> Any:
    """``log1p`` of the values, negative ones as 0 (missing ones stay missing): the scale a
    log-scaled feature is profiled on, in every engine (Spark states it in SQL).

    >>> log_scale(np.array([-3.0, 0.0, np.e - 1, np.nan])).round(6).tolist()
    [0.0, 0.0, 1.0, nan]
    """
    return np.log1p(np.maximum(x, 0.0))


def segment_statistics(frame: pd.DataFrame, labels: np.ndarray, numeric: Sequence[str],
                       categorical: Sequence[str] = (),
                       log_columns: Sequence[str] = ()) -> SegmentStatistics:
    """The :class:`SegmentStatistics` of a typed table and its labels (0..k-1), with pandas.

    >>> df = pd.DataFrame({"spend": [1.0, 2, 3, 10, 11, 12]})
    >>> st = segment_statistics(df, np.array([0, 0, 0, 1, 1, 1]), ["spend"])
    >>> st.sizes, st.median[1]["spend"], st.population_mean["spend"]
    ([3, 3], 11.0, 6.5)
    """
    labels = np.asarray(labels)
    values = frame[list(numeric)].astype("float64")
    std = values.std(ddof=0)
    stats = SegmentStatistics(
        n=len(frame), sizes=[], mean=[], median=[], categories=[],
        population_mean={c: float(v) for c, v in values.mean().items()},
        population_std={c: float(v) for c, v in std.items()},
        lower_tertile={c: float(v) for c, v in values.quantile(1 / 3).items()},
        upper_tertile={c: float(v) for c, v in values.quantile(2 / 3).items()},
    )
    logged = [c for c in log_columns if c in values.columns]
    logs = log_scale(values[logged]) if logged else None
    if logs is not None:
        stats.log_population_mean = {c: float(v) for c, v in logs.mean().items()}
        stats.log_population_std = {c: float(v) for c, v in logs.std(ddof=0).items()}
    for seg in range(int(labels.max()) + 1 if len(labels) else 0):
        mask = labels == seg
        part = values[mask]
        if logs is not None:
            stats.log_mean.append({c: float(v) for c, v in logs[mask].mean().items()})
        stats.sizes.append(int(mask.sum()))
        stats.mean.append({c: float(v) for c, v in part.mean().items()})
        stats.median.append({c: float(v) for c, v in part.median().items()})
        cats = {}
        for c in categorical:
            counts = frame.loc[mask, c].value_counts(normalize=True, dropna=False)
            cats[c] = {("missing" if pd.isna(k) else str(k)): round(float(v), 4)
                       for k, v in counts.items()}
        stats.categories.append(cats)
    return stats


def _z(mean: float, pop_mean: float, pop_std: float) -> float:
    """(mean - population mean) / population std; 0 when undefined (constant column, or no
    value in the segment)."""
    if not np.isfinite(pop_std) or pop_std == 0:
        return 0.0
    z = (mean - pop_mean) / pop_std
    return 0.0 if np.isnan(z) else float(z)


def _population_shares(stats: SegmentStatistics,
                       columns: Sequence[str]) -> dict[str, dict[str, float]]:
    """Share of each categorical level among all profiled customers (size-weighted)."""
    total = float(sum(stats.sizes)) or 1.0
    out: dict[str, dict[str, float]] = {c: {} for c in columns}
    for seg, size in enumerate(stats.sizes):
        for c in columns:
            for level, share in stats.categories[seg].get(c, {}).items():
                out[c][level] = out[c].get(level, 0.0) + float(share) * size / total
    return out


def _segment_z(stats: SegmentStatistics, seg: int,
               numeric: Sequence[str]) -> tuple[dict[str, float], dict[str, float]]:
    """(the z-score of each numeric column's mean in segment ``seg``, on the log scale for
    log-scaled columns; for those, the segment's typical value over everyone's)."""
    mean = stats.mean[seg]
    z = {c: round(_z(mean[c], stats.population_mean[c], stats.population_std[c]), 4)
         for c in numeric}
    geometric: dict[str, float] = {}
    for c in numeric:
        if c in stats.log_population_mean and stats.log_mean:
            lm, lp = stats.log_mean[seg][c], stats.log_population_mean[c]
            z[c] = round(_z(lm, lp, stats.log_population_std[c]), 4)
            if np.isfinite(lm - lp):  # typical (geometric) segment value / everyone's
                geometric[c] = round(float(np.exp(lm - lp)), 4)
    return z, geometric


def _notable_yes(column: str, yes: str, share: float, everyone: float
                 ) -> dict[str, dict[str, Any]]:
    """``{column: {"level", "share", "lift", "yes": True, "overall"}}`` when the segment's
    share of yes sets it apart (:func:`yes_rate_lift`), else nothing."""
    lift = yes_rate_lift(share, everyone)
    if lift is None:
        return {}
    return {column: {"level": yes, "share": round(share, 4), "lift": lift, "yes": True,
                     "overall": round(everyone, 4)}}


def _notable_flags(mean: Mapping[str, float], flag_rates: Mapping[str, float]
                   ) -> dict[str, dict[str, Any]]:
    """The 0/1 flags describing the segments whose share of 1 (their mean) sets the segment
    apart, read like yes/no columns (:func:`_notable_yes`, level "yes")."""
    notable: dict[str, dict[str, Any]] = {}
    for c, everyone in flag_rates.items():
        if np.isfinite(mean[c]):
            notable |= _notable_yes(c, "yes", float(mean[c]), everyone)
    return notable


def _notable_categories(cats: Mapping[str, Mapping[str, float]], categorical: Sequence[str],
                        pop_shares: Mapping[str, Mapping[str, float]],
                        yes_of: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The notable level of each categorical column where a segment has one; of a yes/no
    column (``yes_of``: its level that says yes), its yes where the segment's share of yes
    differs (:func:`yes_rate_lift`), marked ``"yes": True``."""
    notable: dict[str, dict[str, Any]] = {}
    for c in categorical:
        yes = yes_of.get(c)
        if yes is not None:  # a yes/no column: its share of yes, higher or lower
            notable |= _notable_yes(c, yes, float(cats[c].get(yes, 0.0)), pop_shares[c][yes])
            continue
        lifted = lifted_levels(cats[c], pop_shares[c], NOTABLE_CATEGORY_SHARE)
        if lifted:
            level, share, lift = lifted[0]
            notable[c] = {"level": level, "share": round(share, 4), "lift": round(lift, 2)}
    return notable


def _profile(stats: SegmentStatistics, seg: int, ctx: RecommendationContext,
             numeric: Sequence[str], categorical: Sequence[str],
             pop_shares: Mapping[str, Mapping[str, float]],
             rate_scale: Mapping[str, float], yes_of: Mapping[str, str]) -> SegmentProfile:
    """The profile of segment ``seg``, not yet named nor recommended."""
    size, n = stats.sizes[seg], stats.n
    mean, median = stats.mean[seg], stats.median[seg]
    z, geometric = _segment_z(stats, seg, numeric)
    ranked = sorted(ctx.features, key=lambda f: -abs(z[f]))
    distinct = [f for f in ranked if abs(z[f]) >= MIN_DISTINCT_Z][:3] or ranked[:1]
    cats = {c: stats.categories[seg].get(c, {}) for c in categorical}
    traits = traits_of(numeric, z, mean, stats.population_mean, ctx.labels, ctx.roles,
                       rate_scale, geometric, ctx.level_names)
    share = round(float(size) / n, 6) if n else 0.0
    return SegmentProfile(
        id=seg,
        name="",
        size=int(size),
        share=share,
        mean={c: float(mean[c]) for c in numeric},
        median={c: float(median[c]) for c in numeric},
        z=z,
        levels={c: level_of(z[c]) for c in numeric},
        distinguishing=distinct,
        categories=cats,
        traits=traits,
        evidence=evidence_of([t for t in traits if not ctx.echoed(t["feature"])]),
        outlier_group=bool(n) and share < OUTLIER_SHARE,
        defined_by_risk=any(ctx.risky.get(t["feature"]) == t["level"]
                            for t in traits[:DEFINING_TRAITS]),
        notable_categories=_notable_categories(cats, categorical, pop_shares, yes_of)
        | _notable_flags(mean, ctx.flag_rates),
        labels=ctx.labels,
    )


def spend_shares(stats: SegmentStatistics, basket: Sequence[str]) -> list[float | None]:
    """Each segment's share of the customers' total spend: the sum over the amounts bought
    (``basket``) of the segment's mean times its size, over the same for everyone.  None for
    every segment when there is no amount, or a segment's mean of an amount is negative (a
    share of a net total would mislead).

    >>> df = pd.DataFrame({"fresh": [1.0, 1, 1, 10], "milk": [0.0, 0, 1, 26]})
    >>> st = segment_statistics(df, np.array([0, 0, 0, 1]), ["fresh", "milk"])
    >>> spend_shares(st, ["fresh", "milk"]), spend_shares(st, [])
    ([0.1, 0.9], [None, None])
    """
    k = len(stats.sizes)
    means = [[stats.mean[s].get(c, np.nan) for c in basket] for s in range(k)]
    if not basket or any(v < 0 for row in means for v in row if np.isfinite(v)):
        return [None] * k
    totals = [float(np.nansum(row)) * stats.sizes[s] for s, row in enumerate(means)]
    grand = sum(totals)
    return [round(t / grand, 6) for t in totals] if grand > 0 else [None] * k


def _says_yes(column: str, label: str, concepts: Mapping[str, Any]
              ) -> Callable[[str], bool] | None:
    """Of a column named like a risk concept (an attrition flag), which level says it
    happened: the one named like the concept too ("Attrited Customer"); None otherwise."""
    risky = [c for c in concepts.values() if c.risky and c.matches(column, label)]
    if not risky:
        return None
    return lambda level: any(c.matches(level, level.lower()) for c in risky)


def _context(stats: SegmentStatistics, features: list[str], describe: list[str],
             categorical_features: Sequence[str], label_map: dict[str, str],
             role_map: dict[str, str], concepts: Mapping[str, Any],
             yes_rates: dict[str, tuple[str, float]]) -> RecommendationContext:
    """What the rules read: the features, the describing columns and, read as flags, the
    yes/no columns that describe the segments (``yes_rates``: their yes and everyone's share
    of it; churn...) and the describing 0/1 flags with everyone's share of 1."""
    yes_rates = {c: rate for c, rate in yes_rates.items() if c not in categorical_features}
    flag_rates = {c: float(stats.population_mean[c]) for c in describe
                  if role_map[c] == "flag" and 0 <= stats.population_mean.get(c, -1.0) <= 1}
    return RecommendationContext(features, [*describe, *yes_rates], label_map,
                                 role_map | dict.fromkeys(yes_rates, "flag"), dict(concepts),
                                 yes_rates=yes_rates, flag_rates=flag_rates)


def profiles_from_statistics(
    stats: SegmentStatistics,
    features: Sequence[str],
    *,
    categorical_features: Sequence[str] = (),
    describe_numeric: Sequence[str] = (),
    describe_categorical: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
    roles: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    rate_scale: Mapping[str, float] | None = None,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
    level_names: Mapping[str, Sequence[str]] | None = None,
    echoes: Mapping[str, str] | None = None,
) -> tuple[list[SegmentProfile], pd.DataFrame]:
    """Profiles, names and recommendations from per-segment statistics.

    Parameters are those of :func:`profile_segments`; ``stats`` holds every numeric column
    of ``features`` and ``describe_numeric`` and every categorical column of
    ``categorical_features`` and ``describe_categorical``.

    >>> df = pd.DataFrame({"spend": [1.0, 2, 3, 10, 11, 12]})
    >>> st = segment_statistics(df, np.array([0, 0, 0, 1, 1, 1]), ["spend"])
    >>> [p.name for p in profiles_from_statistics(st, ["spend"])[0]]
    ['Low spend', 'High spend']
    """
    rules = load_rules() if rules is None else rules
    concepts = getattr(rules, "concepts", None) or bundled_concepts()
    if value_labels:  # a category's codes read by their names from here on
        stats = replace(stats, categories=[
            {c: name_levels(shares, value_labels.get(c)) for c, shares in seg.items()}
            for seg in stats.categories])
    features = list(features)
    numeric = features + [c for c in describe_numeric if c not in features]
    describe = [c for c in numeric if c not in features]
    categorical = list(dict.fromkeys([*categorical_features, *describe_categorical]))
    label_map = table_labels(list(dict.fromkeys([*numeric, *categorical])), labels)
    role_map = {c: (roles[c] if roles and roles.get(c) in ROLES
                    else infer_role(c, label_map[c], stats.population_mean.get(c, 0.0)))
                for c in numeric}
    pop_shares = _population_shares(stats, categorical)
    yes_of = {c: yes for c in categorical
              if (yes := yes_level(pop_shares[c], _says_yes(c, label_map[c], concepts)))}
    ctx = _context(stats, features, describe, categorical_features, label_map, role_map,
                   concepts, {c: (yes, pop_shares[c][yes]) for c, yes in yes_of.items()})
    ctx.level_names = {c: list(v) for c, v in (level_names or {}).items()}
    ctx.echoes = dict(echoes or {})
    profiles: list[SegmentProfile] = []
    for seg in range(len(stats.sizes)):
        p = _profile(stats, seg, ctx, numeric, categorical, pop_shares, rate_scale or {},
                     yes_of)
        p.defined_by_risk = p.defined_by_risk or bool(ctx.risky_answers(p))
        p.recommendation, p.recommendation_kind = recommend(p, ctx, rules)
        profiles.append(p)
    for p, spend in zip(profiles, spend_shares(stats, ctx.basket), strict=True):
        p.spend_share, p.spend_columns = spend, list(ctx.basket) if spend is not None else []
    name_segments(profiles, features, list(categorical_features), role_map, pop_shares,
                  ctx.basket, ctx.activity)
    return profiles, profiles_table(profiles, numeric, categorical)


def profile_segments(
    frame: pd.DataFrame,
    assignments: np.ndarray,
    features: Sequence[str],
    *,
    categorical_features: Sequence[str] = (),
    describe_numeric: Sequence[str] = (), describe_categorical: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
    roles: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    rate_scale: Mapping[str, float] | None = None, log_columns: Sequence[str] = (),
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
    level_names: Mapping[str, Sequence[str]] | None = None,
    echoes: Mapping[str, str] | None = None,
) -> tuple[list[SegmentProfile], pd.DataFrame]:
    """Profile, name and recommend each segment.

    Parameters
    ----------
    frame : DataFrame
        Typed data in original units (numeric columns as floats), one row per label.
    assignments : array of int
        Segment of each row, 0..k-1 (positional: ``labels`` names the column labels).
    features : list of str
        Numeric segmentation features: they drive names and distinguishing features.
    categorical_features : list of str
        Categorical features: a level held by 75% of a segment, 1.3x as often as overall,
        joins its name ("Younger · Female").
    describe_numeric, describe_categorical : list of str
        Other columns shown in the profiles (e.g. ``Age``, ``Genre``).
    rules : list of Rule, optional
        Recommendation rules (a :class:`RuleTable`: with its concepts); the bundled ones.
    roles : mapping, optional
        Role of each numeric column (count, money, rate, flag...), wording its traits.
    labels : mapping, optional
        Readable label of a column (a labels file); :func:`humanize` for the others.
    rate_scale : mapping, optional
        1.0 or 100.0 per rate column (0-1 or 0-100), when known.
    log_columns : list of str
        Columns segmented on a log scale: their z-scores are measured on it.
    value_labels : mapping, optional
        ``{column: {code: name}}``: a category's codes read by these names (``name_levels``).
    level_names : mapping, optional
        ``{column: levels}``: ordered levels read as their rank; their traits give the scale.
    echoes : mapping, optional
        ``{column: feature}``: describing columns repeating a feature; not evidence.

    Returns
    -------
    (list of SegmentProfile, DataFrame)
        The profiles, and the same as a table (one row a segment) for ``profiles.csv``.
    """
    numeric = list(features) + [c for c in describe_numeric if c not in features]
    categorical = list(dict.fromkeys([*categorical_features, *describe_categorical]))
    stats = segment_statistics(frame, assignments, numeric, categorical, log_columns)
    return profiles_from_statistics(
        stats, features, categorical_features=categorical_features,
        describe_numeric=describe_numeric, describe_categorical=describe_categorical,
        rules=rules, roles=roles, labels=labels, rate_scale=rate_scale,
        value_labels=value_labels, level_names=level_names, echoes=echoes)


def profiles_table(profiles: Sequence[SegmentProfile], numeric: Sequence[str],
                   categorical: Sequence[str] = ()) -> pd.DataFrame:
    """One row a segment: id, name, size, share, then ``<feature>_mean``, ``_median`` and
    ``_z`` for every numeric column, the most common level of each categorical column
    (``<column>_top``, ``<column>_top_share``), and the recommendation; ``spend_share``
    after ``share`` when the features hold amounts bought (:func:`spend_shares`)."""
    rows = []
    with_spend = any(p.spend_share is not None for p in profiles)
    for p in profiles:
        row: dict[str, Any] = {"segment": p.id, "segment_name": p.name, "size": p.size,
                               "share": p.share}
        if with_spend:
            row["spend_share"] = p.spend_share
        for c in numeric:
            row[f"{c}_mean"] = p.mean[c]
            row[f"{c}_median"] = p.median[c]
            row[f"{c}_z"] = p.z[c]
        for c in categorical:
            mix = p.categories.get(c, {})
            top = max(mix, key=lambda k: mix[k]) if mix else ""
            row[f"{c}_top"] = top
            row[f"{c}_top_share"] = mix.get(top, float("nan"))
        row["distinguishing"] = p.describe()
        row["recommendation"] = p.recommendation
        rows.append(row)
    return pd.DataFrame(rows)
