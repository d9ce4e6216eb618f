"""Segment profiles, names and recommendations.

For each segment: size, share, mean and median of every numeric column in original units,
the z-score of its mean against the whole population, the features that set it apart most,
the category mix of the categorical columns, a plain name built from levels, and a
recommendation from a rule table (``data/rules.toml``, replaceable by the user's own file).

Levels are Low / Mid / High: a segment's median below the population's 33rd percentile is
Low, above the 67th High, otherwise Mid (the median, so that a few big customers do not lift
a whole segment).  A name lists the levels of every segmentation feature when there are at
most three (in the order of the features); with more, up to three features that are not Mid,
by decreasing absolute z-score ("High milk · High grocery · Low fresh"), or
"Close to average" when every feature is Mid.

Examples
--------
>>> short_label("Annual Income (k$)"), short_label("Spending Score (1-100)")
('income', 'spending')
>>> short_label("Detergents_Paper")
'detergents paper'
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.errors import UsageError

LEVELS = ("Low", "Mid", "High")
#: Words dropped from column names to make short labels.
FILLER_WORDS = {"annual", "score", "total", "amount", "avg", "average", "mean", "the", "of",
                "per", "yearly", "monthly", "value", "level", "index"}
MIN_DISTINCT_Z = 0.5


def short_label(name: str) -> str:
    """A short lower-case label for a column name, for segment names."""
    text = re.sub(r"\([^)]*\)|\[[^]]*\]", " ", str(name))
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    words = [w for w in re.split(r"[^0-9A-Za-z]+", text.lower()) if w]
    kept = [w for w in words if w not in FILLER_WORDS]
    return " ".join(kept or words) or str(name)


@dataclass
class Rule:
    when: dict[str, tuple[str, ...]]
    recommendation: str


def load_rules(path: str | Path | None = None) -> list[Rule]:
    """Read a rule table (TOML, see ``data/rules.toml``); the bundled one by default.

    >>> rules = load_rules()
    >>> rules[0].when
    {'income': ('High',), 'spending': ('High',)}
    """
    if path is None:
        text = (resources.files("custseg") / "data" / "rules.toml").read_text("utf-8")
        where = "bundled rules.toml"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise UsageError(f"--rules: cannot read {path}: {exc}", "--rules") from exc
        where = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--rules: {where} is not valid TOML: {exc}", "--rules") from exc
    rules = []
    for i, raw in enumerate(data.get("rule", []), start=1):
        when = raw.get("when")
        rec = raw.get("recommendation")
        if not isinstance(when, dict) or not when or not isinstance(rec, str):
            raise UsageError(f"--rules: rule {i} in {where} needs a non-empty 'when' table and "
                             "a 'recommendation' string", "--rules")
        conds: dict[str, tuple[str, ...]] = {}
        for key, level in when.items():
            levels = (level,) if isinstance(level, str) else tuple(level)
            bad = [lv for lv in levels if lv not in LEVELS]
            if bad:
                raise UsageError(f"--rules: rule {i} in {where}: level {bad} for {key!r} is not "
                                 f"one of {list(LEVELS)}", "--rules")
            conds[str(key).lower()] = levels
        rules.append(Rule(conds, rec))
    return rules


@dataclass
class SegmentProfile:
    """Everything said about one segment."""

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

    def describe(self) -> str:
        """What sets the segment apart, in one line: 'income High (z=+1.2), ...'."""
        return ", ".join(f"{short_label(f)} {self.levels[f].lower()} (z={self.z[f]:+.1f})"
                         for f in self.distinguishing)


def _level(value: float, lo: float, hi: float) -> str:
    if value < lo:
        return "Low"
    if value > hi:
        return "High"
    return "Mid"


def _recommend(levels: dict[str, str], features: Sequence[str], z: dict[str, float],
               rules: Sequence[Rule]) -> str:
    labels = {f: short_label(f) for f in features}
    best: tuple[int, int] | None = None
    chosen = None
    for order, rule in enumerate(rules):
        ok = True
        for key, wanted in rule.when.items():
            hits = [f for f in features if key in labels[f] or key in f.lower()]
            if not hits or levels[hits[0]] not in wanted:
                ok = False
                break
        if ok:
            rank = (len(rule.when), -order)
            if best is None or rank > best:
                best, chosen = rank, rule
    if chosen is not None:
        return chosen.recommendation
    if not features:
        return ("Defined by its categories (see its profile): tailor the offer and the channel "
                "to them.")
    marked = [f for f in features if levels[f] != "Mid"]
    if not marked:
        return ("Close to the average customer: standard communication; test offers that "
                "could move them to a more valuable segment.")
    top = max(marked, key=lambda f: abs(z[f]))
    if levels[top] == "High":
        return (f"Stands out by high {labels[top]}: recognise and reward it (loyalty perks, "
                "premium offers) and use them as the reference group for up-selling.")
    return (f"Stands out by low {labels[top]}: find out why, and test targeted offers or "
            "discounts to lift it.")


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
        Per numeric column, the population's 33rd and 67th percentiles.
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


def segment_statistics(frame: pd.DataFrame, labels: np.ndarray, numeric: Sequence[str],
                       categorical: Sequence[str] = ()) -> SegmentStatistics:
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
    for seg in range(int(labels.max()) + 1 if len(labels) else 0):
        mask = labels == seg
        part = values[mask]
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


def profiles_from_statistics(
    stats: SegmentStatistics,
    features: Sequence[str],
    *,
    categorical_features: Sequence[str] = (),
    describe_numeric: Sequence[str] = (),
    describe_categorical: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
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
    numeric = list(features) + [c for c in describe_numeric if c not in features]
    n = stats.n
    profiles: list[SegmentProfile] = []
    for seg, size in enumerate(stats.sizes):
        mean, median = stats.mean[seg], stats.median[seg]
        z = {c: _z(mean[c], stats.population_mean[c], stats.population_std[c])
             for c in numeric}
        levels = {c: _level(median[c], stats.lower_tertile[c], stats.upper_tertile[c])
                  for c in numeric}
        ranked = sorted(features, key=lambda f: -abs(z[f]))
        distinct = [f for f in ranked if abs(z[f]) >= MIN_DISTINCT_Z][:3] or ranked[:1]
        cats = {c: stats.categories[seg].get(c, {})
                for c in dict.fromkeys([*categorical_features, *describe_categorical])}
        profiles.append(SegmentProfile(
            id=seg,
            name="",
            size=int(size),
            share=round(float(size) / n, 6) if n else 0.0,
            mean={c: float(mean[c]) for c in numeric},
            median={c: float(median[c]) for c in numeric},
            z={c: round(float(z[c]), 4) for c in numeric},
            levels=levels,
            distinguishing=distinct,
            categories=cats,
            recommendation=_recommend(levels, list(features), {f: z[f] for f in features},
                                      rules),
        ))
    _name_segments(profiles, list(features), list(categorical_features))
    describe_cat = list(dict.fromkeys([*categorical_features, *describe_categorical]))
    return profiles, profiles_table(profiles, numeric, describe_cat)


def profile_segments(
    frame: pd.DataFrame,
    labels: np.ndarray,
    features: Sequence[str],
    *,
    categorical_features: Sequence[str] = (),
    describe_numeric: Sequence[str] = (),
    describe_categorical: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
) -> tuple[list[SegmentProfile], pd.DataFrame]:
    """Profile, name and recommend each segment.

    Parameters
    ----------
    frame : DataFrame
        Typed data in original units (numeric columns as floats), one row per label.
    labels : array of int
        Segment of each row, 0..k-1.
    features : list of str
        Numeric segmentation features: they drive names and distinguishing features.
    categorical_features : list of str
        Categorical segmentation features: a level held by at least 75% of a segment is
        added to its name ("Low age · Female").
    describe_numeric, describe_categorical : list of str
        Other columns shown in the profiles (e.g. ``Age``, ``Genre``).
    rules : list of Rule, optional
        Recommendation rules; the bundled table by default.

    Returns
    -------
    (list of SegmentProfile, DataFrame)
        The profiles, and the same as a table (one row a segment) for ``profiles.csv``.
    """
    numeric = list(features) + [c for c in describe_numeric if c not in features]
    categorical = list(dict.fromkeys([*categorical_features, *describe_categorical]))
    stats = segment_statistics(frame, labels, numeric, categorical)
    return profiles_from_statistics(stats, features, categorical_features=categorical_features,
                                    describe_numeric=describe_numeric,
                                    describe_categorical=describe_categorical, rules=rules)


def _name_from(p: SegmentProfile, feats: Sequence[str]) -> str:
    return " · ".join(f"{p.levels[f]} {short_label(f)}" for f in feats)


#: Share of a segment that must hold a categorical level for it to appear in the name.
CATEGORY_NAME_SHARE = 0.75


def _category_parts(p: SegmentProfile, categorical: list[str]) -> list[str]:
    parts = []
    for c in categorical:
        mix = p.categories.get(c, {})
        if not mix:
            continue
        level, share = max(mix.items(), key=lambda kv: kv[1])
        if share >= CATEGORY_NAME_SHARE and level != "missing":
            parts.append(level if not level.replace(".", "").isdigit()
                         else f"{short_label(c)} {level}")
    return parts


def _name_segments(profiles: list[SegmentProfile], features: list[str],
                   categorical: list[str] | None = None) -> None:
    categorical = categorical or []
    for p in profiles:
        cat_parts = _category_parts(p, categorical)
        if not features:
            p.name = " · ".join(cat_parts) or "Mixed customers"
            continue
        if len(features) <= 3:
            p.name = _name_from(p, features)
        else:
            ranked = sorted(features, key=lambda f: -abs(p.z[f]))
            strong = [f for f in ranked if p.levels[f] != "Mid"]
            p.name = _name_from(p, strong[:3]) if strong else "Close to average"
        if cat_parts:
            p.name = " · ".join([p.name, *cat_parts])
    used: set[str] = set()
    for p in profiles:  # largest first: the largest keeps the plain name
        if p.name in used and len(features) > 3:
            ranked = sorted(features, key=lambda f: -abs(p.z[f]))
            extra = [f for f in ranked if short_label(f) not in p.name.lower()][:1]
            if extra:
                p.name = f"{p.name} · {_name_from(p, extra)}"
        if p.name in used:
            n = 2
            while f"{p.name} ({n})" in used:
                n += 1
            p.name = f"{p.name} ({n})"
        used.add(p.name)


def profiles_table(profiles: Sequence[SegmentProfile], numeric: Sequence[str],
                   categorical: Sequence[str] = ()) -> pd.DataFrame:
    """One row a segment: id, name, size, share, then ``<feature>_mean``, ``_median`` and
    ``_z`` for every numeric column, the most common level of each categorical column
    (``<column>_top``, ``<column>_top_share``), and the recommendation."""
    rows = []
    for p in profiles:
        row: dict[str, Any] = {"segment": p.id, "segment_name": p.name, "size": p.size,
                               "share": p.share}
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
