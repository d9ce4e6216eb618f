"""Segment profiles, names and recommendations.

For each segment: size, share, mean and median of every numeric column in original units,
the z-score of its mean against the whole population, its *traits* (the columns that set it
apart), the category mix of the categorical columns, a plain name, and a recommendation from
a rule table (``data/rules.toml``, replaceable by the user's own file) with its evidence.

Levels follow the z-score of the segment's **mean** against the population (mean and
standard deviation with ``ddof=0``): High when z >= +0.5, Low when z <= -0.5, Mid otherwise.
A *trait* is a numeric column with |z| >= 0.5; traits are ordered by |z|, and the three first
are the segment's *defining* traits (their text is the evidence of its recommendation).

Names use readable labels (:mod:`custseg.labels`).  With at most three segmentation features
a name gives the level of each, in the order of the features ("Low income · High spending");
with more, the (up to) two features that set the segment apart most ("High spend on wines ·
Low web visits per month"), numeric features before flags, and "Close to average" when none
reaches 0.5.  Names are unique: a segment whose name is taken adds its next distinguishing
trait.  A categorical level enters a name when the segment holds it at least 75% of the time
and 1.3 times as often as all customers.  A segment under 2% of customers is an outlier
group ("Outlier group: ..."), to be reviewed customer by customer.

Recommendations come from rules keyed on business *concepts* (spend, income, frequency,
recency, tenure, risk, payment, complaints, response, visits, deals) recognised in the
column names; see the header of ``data/rules.toml``.  A segment whose defining traits include
a risk in its risky direction (heavy cash advances, low full payment, complaints) is never
rewarded or up-sold.

Examples
--------
>>> short_label("Annual Income (k$)"), short_label("Spending Score (1-100)")
('income', 'spending')
>>> short_label("Detergents_Paper"), short_label("MntWines")
('detergents paper', 'spend on wines')
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.errors import UsageError
from custseg.labels import humanize, label_for, words

LEVELS = ("Low", "Mid", "High")
#: |z| from which a column sets a segment apart (and its level is High or Low).
MIN_DISTINCT_Z = 0.5
#: Share of customers under which a segment is an outlier group.
OUTLIER_SHARE = 0.02
#: Traits of a name before uniqueness asks for more.
NAME_TRAITS = 2
#: A segment low on some amounts but above average (z above this) on others is named by
#: what leads its basket ("Mostly fresh and frozen · Low grocery · Low milk"): what they buy
#: says more to a manager than what they do not.
BASKET_LEAD_Z = 0.2
#: Defining traits: the first this many traits (by |z|).
DEFINING_TRAITS = 3
#: Share of a segment that must hold a categorical level for it to appear in the name.
CATEGORY_NAME_SHARE = 0.75
#: A categorical level is notable when this share of the segment holds it ...
NOTABLE_CATEGORY_SHARE = 0.40
#: ... and it is this many times as common as among all customers.
CATEGORY_LIFT = 1.3
#: Recommendation kinds a rule may declare.
KINDS = ("reward", "upsell", "retain", "winback", "risk", "nurture", "discount", "service")
#: The only kinds a segment defined by risk may get from a rule.
RISK_SAFE_KINDS = frozenset({"risk", "service", "retain"})
#: Feature roles the trait texts know (see the contract of :mod:`custseg.roles`).
ROLES = ("count", "money", "rate", "flag", "measure", "age", "tenure")


def short_label(name: str) -> str:
    """A short lower-case label for a column name (:func:`custseg.labels.humanize`)."""
    return humanize(name)


def level_of(z: float) -> str:
    """High for z >= 0.5, Low for z <= -0.5, else Mid.

    >>> level_of(0.5), level_of(-0.49), level_of(-0.5)
    ('High', 'Mid', 'Low')
    """
    if z >= MIN_DISTINCT_Z:
        return "High"
    if z <= -MIN_DISTINCT_Z:
        return "Low"
    return "Mid"


# ------------------------------------------------------------------ rule table
@dataclass(frozen=True)
class Concept:
    """A business concept recognised in column names (see ``data/rules.toml``)."""

    name: str
    keywords: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    risky: str | None = None

    def matches(self, column: str, label: str) -> bool:
        """Whether a column (raw name and readable label) belongs to the concept."""
        texts = _match_texts(column, label)
        return (any(_has_word(t, k) for t in texts for k in self.keywords)
                and not self.excludes(column, label))

    def excludes(self, column: str, label: str) -> bool:
        """Whether a column is named like something the concept is not."""
        return any(_has_word(t, k) for t in _match_texts(column, label) for k in self.exclude)


@lru_cache(maxsize=8192)
def _word_re(keyword: str) -> re.Pattern[str]:
    kw = r"\s+".join(re.escape(w) for w in keyword.lower().split())
    return re.compile(rf"(?<![a-z0-9]){kw}(?:s|es|ed|d|ing|ts|ly)?(?![a-z0-9])")


def _has_word(text: str, keyword: str) -> bool:
    return bool(keyword.strip()) and _word_re(keyword).search(text) is not None


@lru_cache(maxsize=65536)
def _match_texts(column: str, label: str) -> tuple[str, str]:
    return label.lower(), " ".join(words(column))


@dataclass
class Rule:
    when: dict[str, tuple[str, ...]]
    recommendation: str
    kind: str = ""


class RuleTable(list[Rule]):
    """The rules of a table, in file order, with the table's concepts in ``concepts``."""

    concepts: dict[str, Concept]

    def __init__(self, rules: Sequence[Rule] = (),
                 concepts: Mapping[str, Concept] | None = None) -> None:
        super().__init__(rules)
        self.concepts = dict(concepts or {})


def _read_table(path: str | Path | None) -> tuple[dict[str, Any], str]:
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
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--rules: {where} is not valid TOML: {exc}", "--rules") from exc


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsageError(f"rule table {where}: {what} must be a list of non-empty strings",
                         "--rules")
    return tuple(v.strip().lower() for v in value)


def _parse_concepts(data: dict[str, Any], where: str) -> dict[str, Concept]:
    raw = data.get("concepts", {})
    if not isinstance(raw, dict):
        raise UsageError(f"rule table {where}: [concepts] must be a table of concepts",
                         "--rules")
    concepts = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise UsageError(f"rule table {where}: concept {name!r} must be a table with "
                             "'keywords'", "--rules")
        keywords = _strings(spec.get("keywords"), f"the keywords of concept {name!r}", where)
        if not keywords:
            raise UsageError(f"rule table {where}: concept {name!r} needs 'keywords'",
                             "--rules")
        risky = spec.get("risky")
        if risky is not None and risky not in ("High", "Low"):
            raise UsageError(f"rule table {where}: the risky direction of concept {name!r} "
                             f"is {risky!r}, not 'High' or 'Low'", "--rules")
        roles = _strings(spec.get("roles"), f"the roles of concept {name!r}", where)
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise UsageError(f"rule table {where}: concept {name!r}: role {bad[0]!r} is not "
                             f"one of {list(ROLES)}", "--rules")
        key = str(name).lower()
        concepts[key] = Concept(key, keywords,
                                _strings(spec.get("exclude"), f"the exclusions of {name!r}",
                                         where), roles, risky)
    return concepts


def load_rules(path: str | Path | None = None) -> RuleTable:
    """Read a rule table (TOML, see ``data/rules.toml``); the bundled one by default.

    A table of one's own replaces the bundled rules but keeps the bundled concepts (its own
    ``[concepts]`` add to them or redefine them).

    >>> rules = load_rules()
    >>> rules[0].when, rules[0].kind
    ({'income': ('High',), 'spend': ('High',)}, 'reward')
    >>> sorted(rules.concepts)[:4]
    ['complaints', 'deals', 'frequency', 'income']
    """
    data, where = _read_table(path)
    concepts = _parse_concepts(data, where)
    if path is not None:
        concepts = {**_bundled_concepts(), **concepts}
    rules = []
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise UsageError(f"--rules: {where}: rules are [[rule]] entries", "--rules")
    for i, raw in enumerate(raw_rules, start=1):
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
        kind = raw.get("kind", "")
        if kind and kind not in KINDS:
            raise UsageError(f"rule table {where}: rule {i}: kind {kind!r} is not one of "
                             f"{list(KINDS)}", "--rules")
        rules.append(Rule(conds, rec, kind))
    return RuleTable(rules, concepts)


@lru_cache(maxsize=1)
def _bundled_concepts() -> dict[str, Concept]:
    data, where = _read_table(None)
    return _parse_concepts(data, where)


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
        from custseg.notebook import segment_text

        return segment_text(self)

    def _repr_html_(self) -> str:  # the card a notebook shows
        from custseg.notebook import segment_html

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
    logs = np.log1p(values[logged].clip(lower=0)) if logged else None
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




# ------------------------------------------------------------------ traits
#: Words that make an unlabelled column a money amount (a fallback when no roles are given).
_MONEY_WORDS = ("spend on", "spend", "amount", "income", "salary", "revenue", "monetary",
                "balance", "sales", "payments", "credit limit", "order value", "earnings",
                "spent", "purchases", "cash advance")
_COUNT_PREFIXES = ("number of ",)
#: Words that make a money label a noun of its own ("2.3× the average balance"); other money
#: labels name what is bought ("spends 2.1× the average on frozen").
_MONEY_NOUNS = ("amount", "balance", "income", "salary", "earnings", "wage", "limit", "value",
                "revenue", "sales", "payment", "spend", "spending", "bill", "price", "cost",
                "fee", "charge", "purchases", "turnover", "credit", "debt", "loan", "wealth",
                "assets", "deposit", "savings", "premium", "monetary", "cash advance")


def _infer_role(column: str, label: str, mean: float) -> str:
    """A light guess of a column's role from its name when no roles are given."""
    low = label.lower()
    if "score" in low:
        return "measure"
    if low.startswith(_COUNT_PREFIXES) or low.endswith(("transactions", " count")):
        return "count"
    if low.startswith(("share of", "percent")) or (
            any(_has_word(low, w) for w in ("ratio", "rate", "frequency", "proportion"))
            and 0.0 <= mean <= 1.0):
        return "rate"
    if any(_has_word(low, w) for w in _MONEY_WORDS):
        return "money"
    if _has_word(low, "tenure"):
        return "tenure"
    if low == "age":
        return "age"
    return "measure"


def _fmt(x: float, yearish: bool = False) -> str:
    """A short number: '61', '2.5', '0.35', '12,400', '1968' (years: no separator)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    if yearish and 1000 <= a <= 2200:
        return f"{x:.0f}"
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.0f}"
    if a >= 1:
        return f"{x:.1f}".removesuffix(".0")
    if a == 0:
        return "0"
    return f"{x:.2f}"


def _ratio_text(r: float) -> str:
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×"


def _pct(x: float, scale: float) -> str:
    v = x * (100.0 / scale)
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.0f}%" if abs(v) >= 10 or v == 0 else f"{v:.1f}%".replace(".0%", "%")


def _unit(column: str) -> str:
    ws = words(column)
    for unit in ("days", "weeks", "months", "years"):
        if unit in ws or unit[:-1] in ws:
            return unit
    return "days"


def trait_text(column: str, label: str, role: str, mean: float, pop_mean: float,
               ratio: float | None, rate_scale: float | None = None) -> str:
    """A trait in words, by role.

    >>> trait_text("MntWines", "spend on wines", "money", 690.0, 300.0, 2.3)
    'spends 2.3× the average on wines'
    >>> trait_text("NumWebVisitsMonth", "web visits per month", "count", 9.0, 5.0, 1.8)
    '1.8× as many web visits per month'
    >>> trait_text("PRC_FULL_PAYMENT", "share of full payment", "rate", 0.12, 0.35, None)
    'share of full payment 12% vs 35% overall'
    >>> trait_text("AcceptedCmp3", "accepted campaign 3", "flag", 0.24, 0.07, None)
    'accepted campaign 3: 24% vs 7% overall'
    >>> trait_text("Age", "age", "age", 61.2, 52.0, None)
    'age 61 vs 52 on average'
    """
    yearish = "year" in label.lower()
    usable = ratio is not None and math.isfinite(ratio) and round(ratio, 1) != 1.0
    if role == "money" and usable:
        assert ratio is not None
        if label.startswith("spend on "):
            return f"spends {_ratio_text(ratio)} the average on {label[len('spend on '):]}"
        if any(_has_word(label, w) for w in _MONEY_NOUNS):
            return f"{_ratio_text(ratio)} the average {label}"
        return f"spends {_ratio_text(ratio)} the average on {label}"  # "on frozen", "on milk"
    if role == "count" and usable:
        assert ratio is not None
        rest = label[len("number of "):] if label.startswith("number of ") else label
        return f"{_ratio_text(ratio)} as many {rest}"
    if role in ("rate", "flag"):
        scale = rate_scale or (1.0 if max(abs(mean), abs(pop_mean)) <= 1.0 else 100.0)
        sep = ":" if role == "flag" else ""
        return f"{label}{sep} {_pct(mean, scale)} vs {_pct(pop_mean, scale)} overall"
    if role == "tenure":
        unit = _unit(column)
        return f"customers for {_fmt(mean)} {unit} vs {_fmt(pop_mean)} on average"
    sep = ":" if label[-1:].isdigit() else ""  # "payment status 2: 2 vs -0.1"
    return f"{label}{sep} {_fmt(mean, yearish)} vs {_fmt(pop_mean, yearish)} on average"


def _traits(columns: Sequence[str], z: Mapping[str, float], mean: Mapping[str, float],
            pop_mean: Mapping[str, float], labels: Mapping[str, str],
            roles: Mapping[str, str], rate_scale: Mapping[str, float],
            geometric: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """Traits of one segment; ``geometric`` holds, for log-scaled columns, the ratio of the
    segment's typical (geometric mean) value to everyone's, which agrees in sign with their
    log-scale z."""
    out = []
    for c in columns:
        if abs(z[c]) < MIN_DISTINCT_Z:
            continue
        m, pm = float(mean[c]), float(pop_mean[c])
        ratio = round(m / pm, 4) if m > 0 and pm > 0 and math.isfinite(m / pm) else None
        if geometric and c in geometric:
            ratio = geometric[c]
        text = trait_text(c, labels[c], roles[c], m, pm, ratio, rate_scale.get(c))
        out.append({"feature": c, "label": labels[c], "z": round(float(z[c]), 4),
                    "level": level_of(z[c]), "ratio": ratio, "mean": m,
                    "population_mean": pm, "text": text})
    out.sort(key=lambda t: -abs(t["z"]))
    return out


# ------------------------------------------------------------------ recommendations
#: Roles of columns where more is worth more to the business (amounts and counts): the
#: generic recommendation may then ask to lift a low value.
VALUE_ROLES = ("money", "count")


@dataclass
class _Context:
    """What recommending needs beyond one segment: columns, labels, roles, concepts."""

    features: list[str]
    describe: list[str]
    labels: dict[str, str]
    roles: dict[str, str]
    concepts: dict[str, Concept]
    concept_columns: dict[str, list[str]] = field(default_factory=dict)
    risky: dict[str, str] = field(default_factory=dict)  # column -> risky level
    #: amounts bought (the basket): money features not named like an income, a balance, a
    #: limit, a payment or a bill (the spend concept's exclusions), and not a risk
    basket: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, concept in self.concepts.items():
            self.concept_columns[name] = self._columns_of(concept)
        for c in [*self.features, *self.describe]:
            for concept in self.concepts.values():
                if concept.risky and concept.matches(c, self.labels[c]):
                    self.risky.setdefault(c, concept.risky)
        spend = self.concepts.get("spend")
        self.basket = [c for c in self.features if self.roles.get(c) == "money"
                       and c not in self.risky
                       and not (spend and spend.excludes(c, self.labels[c]))]

    def _columns_of(self, concept: Concept) -> list[str]:
        for pool in (self.features, self.describe):
            hits = [c for c in pool if concept.matches(c, self.labels[c])]
            if not hits and concept.roles:
                hits = [c for c in pool if self.roles.get(c) in concept.roles
                        and not any(_has_word(t, k) for t in _match_texts(c, self.labels[c])
                                    for k in concept.exclude)]
            if hits:
                return hits
        return []

    def level(self, key: str, z: Mapping[str, float]) -> str | None:
        """The segment's level on a rule key (a concept, or a plain keyword)."""
        if key in self.concepts:
            cols = self.concept_columns[key]
            if not cols:
                return None
            return level_of(round(float(np.mean([z[c] for c in cols])), 4))
        hits = [f for f in self.features
                if any(_has_word(t, key) for t in _match_texts(f, self.labels[f]))]
        return level_of(z[hits[0]]) if hits else None

    def targets_risk(self, rule: Rule) -> bool:
        """Whether a rule asks for the risky level of a risk concept."""
        return any(key in self.concepts and self.concepts[key].risky in wanted
                   for key, wanted in rule.when.items())


def _choose_rule(rules: Sequence[Rule], z: Mapping[str, float], ctx: _Context,
                 risky: bool) -> Rule | None:
    best: tuple[int, int, int] | None = None
    chosen = None
    for order, rule in enumerate(rules):
        if risky and rule.kind not in RISK_SAFE_KINDS and not ctx.targets_risk(rule):
            continue
        found = [ctx.level(key, z) for key in rule.when]
        if all(lv in wanted for lv, wanted in zip(found, rule.when.values(), strict=True)):
            # conditions met on a High or Low level first (they say what sets the segment
            # apart), then all conditions, then the order in the file
            rank = (sum(lv != "Mid" for lv in found), len(rule.when), -order)
            if best is None or rank > best:
                best, chosen = rank, rule
    return chosen


def _recommend(p: SegmentProfile, ctx: _Context, rules: Sequence[Rule]) -> tuple[str, str]:
    """(recommendation, kind) for a profiled segment."""
    if p.outlier_group:
        return (f"Outlier group ({p.size:,} customers, {p.share:.1%}): review these customers "
                "individually (exceptional accounts or data errors) rather than run a "
                "campaign for them.", "review")
    feature_traits = [t for t in p.traits if t["feature"] in ctx.features]
    chosen = _choose_rule(rules, p.z, ctx, p.defined_by_risk)
    if chosen is not None:
        return chosen.recommendation, chosen.kind or "custom"
    if p.defined_by_risk:
        risk = next(t for t in p.traits[:DEFINING_TRAITS]
                    if ctx.risky.get(t["feature"]) == t["level"])
        return (f"Defined by risk ({risk['text']}): review their credit exposure and offer "
                "payment plans and reminders; no limit increases, upgrades or rewards.",
                "risk")
    if not ctx.features:
        return ("Defined by its categories (see its profile): tailor the offer and the channel "
                "to them.", "generic")
    if not feature_traits:
        return ("Close to the average customer: standard communication; test offers that "
                "could move them to a more valuable segment.", "nurture")
    top = feature_traits[0]
    if ctx.roles.get(top["feature"]) not in VALUE_ROLES:
        # a score, a status, an age: whether more is better is not known here
        return (f"Stands out by {top['level'].lower()} {top['label']} ({top['text']}): check "
                "with the business what this means for them, then tailor the message and "
                "the channel to it.", "generic")
    if top["level"] == "High":
        return (f"Stands out by high {top['label']} ({top['text']}): build offers around it "
                "and test which ones lift their value.", "generic")
    low_money = [t for t in feature_traits[:DEFINING_TRAITS]
                 if t["level"] == "Low" and t["feature"] in ctx.basket]
    other_money = [f for f in ctx.basket
                   if f not in {t["feature"] for t in low_money} and p.z.get(f, 0.0) > -0.5]
    if low_money and other_money:
        # they buy, but little of these: a gap in the basket, not a small customer
        what = " and ".join(t["label"] for t in low_money[:2])
        leads = basket_leads(p, ctx.basket)
        mostly = f"mostly {_leads_text(p, leads)} but " if leads else ""
        return (f"They buy {mostly}little {what} "
                f"({'; '.join(t['text'] for t in low_money[:2])}) "
                "although the rest of their basket is average or above: cross-sell these "
                "(bundles, samples, an introductory discount) and ask whether they buy them "
                "elsewhere.", "upsell")
    return (f"Stands out by low {top['label']} ({top['text']}): find out why, and test "
            "targeted offers to lift it.", "generic")


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


def _lifted_levels(mix: Mapping[str, float], population: Mapping[str, float],
                   min_share: float) -> list[tuple[str, float, float]]:
    """(level, share, lift) of the levels held by at least ``min_share`` of the segment and
    at least :data:`CATEGORY_LIFT` times as often as overall; most common first."""
    found = []
    for level, share in mix.items():
        pop = population.get(level, 0.0)
        if level == "missing" or pop <= 0:
            continue
        lift = share / pop
        if share >= min_share and lift >= CATEGORY_LIFT:
            found.append((level, float(share), float(lift)))
    return sorted(found, key=lambda t: -t[1])


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
    concepts = getattr(rules, "concepts", None) or _bundled_concepts()
    features = list(features)
    numeric = features + [c for c in describe_numeric if c not in features]
    describe = [c for c in numeric if c not in features]
    categorical = list(dict.fromkeys([*categorical_features, *describe_categorical]))
    label_map = {c: label_for(c, labels) for c in dict.fromkeys([*numeric, *categorical])}
    role_map = {c: (roles[c] if roles and roles.get(c) in ROLES
                    else _infer_role(c, label_map[c], stats.population_mean.get(c, 0.0)))
                for c in numeric}
    ctx = _Context(features, describe, label_map, role_map, dict(concepts))
    pop_shares = _population_shares(stats, categorical)
    n = stats.n
    profiles: list[SegmentProfile] = []
    for seg, size in enumerate(stats.sizes):
        mean, median = stats.mean[seg], stats.median[seg]
        z = {c: round(_z(mean[c], stats.population_mean[c], stats.population_std[c]), 4)
             for c in numeric}
        geometric: dict[str, float] = {}
        for c in numeric:
            if c in stats.log_population_mean and stats.log_mean:
                lm, lp = stats.log_mean[seg][c], stats.log_population_mean[c]
                z[c] = round(_z(lm, lp, stats.log_population_std[c]), 4)
                if np.isfinite(lm - lp):  # typical (geometric) segment value / everyone's
                    geometric[c] = round(float(np.exp(lm - lp)), 4)
        ranked = sorted(features, key=lambda f: -abs(z[f]))
        distinct = [f for f in ranked if abs(z[f]) >= MIN_DISTINCT_Z][:3] or ranked[:1]
        cats = {c: stats.categories[seg].get(c, {}) for c in categorical}
        traits = _traits(numeric, z, mean, stats.population_mean, label_map, role_map,
                         rate_scale or {}, geometric)
        notable = {}
        for c in categorical:
            lifted = _lifted_levels(cats[c], pop_shares[c], NOTABLE_CATEGORY_SHARE)
            if lifted:
                level, share, lift = lifted[0]
                notable[c] = {"level": level, "share": round(share, 4), "lift": round(lift, 2)}
        share = round(float(size) / n, 6) if n else 0.0
        p = SegmentProfile(
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
            evidence=[t["text"] for t in traits[:DEFINING_TRAITS]],
            outlier_group=bool(n) and share < OUTLIER_SHARE,
            defined_by_risk=any(ctx.risky.get(t["feature"]) == t["level"]
                                for t in traits[:DEFINING_TRAITS]),
            notable_categories=notable,
            labels=label_map,
        )
        p.recommendation, p.recommendation_kind = _recommend(p, ctx, rules)
        profiles.append(p)
    _name_segments(profiles, features, list(categorical_features), role_map, pop_shares,
                   ctx.basket)
    return profiles, profiles_table(profiles, numeric, categorical)


def profile_segments(
    frame: pd.DataFrame,
    assignments: np.ndarray,
    features: Sequence[str],
    *,
    categorical_features: Sequence[str] = (),
    describe_numeric: Sequence[str] = (),
    describe_categorical: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
    roles: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    rate_scale: Mapping[str, float] | None = None,
    log_columns: Sequence[str] = (),
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
        Categorical segmentation features: a level held by at least 75% of a segment, and
        1.3 times as often as overall, is added to its name ("Low age · Female").
    describe_numeric, describe_categorical : list of str
        Other columns shown in the profiles (e.g. ``Age``, ``Genre``).
    rules : list of Rule, optional
        Recommendation rules (a :class:`RuleTable` carries its concepts); the bundled table
        by default.
    roles : mapping, optional
        Role of each numeric column (count, money, rate, flag, measure, age, tenure); it
        words the traits. Guessed from the names when not given.
    labels : mapping, optional
        Readable label of a column (e.g. from a user labels file); :func:`humanize` for the
        others.
    rate_scale : mapping, optional
        1.0 or 100.0 per rate column (0-1 or 0-100), when known.
    log_columns : list of str
        Columns segmented on a log scale: their z-scores are measured on it
        (:class:`SegmentStatistics`).

    Returns
    -------
    (list of SegmentProfile, DataFrame)
        The profiles, and the same as a table (one row a segment) for ``profiles.csv``.
    """
    numeric = list(features) + [c for c in describe_numeric if c not in features]
    categorical = list(dict.fromkeys([*categorical_features, *describe_categorical]))
    stats = segment_statistics(frame, assignments, numeric, categorical, log_columns)
    return profiles_from_statistics(stats, features, categorical_features=categorical_features,
                                    describe_numeric=describe_numeric,
                                    describe_categorical=describe_categorical, rules=rules,
                                    roles=roles, labels=labels, rate_scale=rate_scale)


# ------------------------------------------------------------------ names
def _stem(label: str) -> str:
    """A label without its trailing numbers: 'bill amount 6' -> 'bill amount'."""
    return re.sub(r"(\s+\d+)+$", "", label).strip() or label


def _same_start(a: str, b: str) -> bool:
    """Whether one label starts with all the words of the other."""
    wa, wb = a.split(), b.split()
    n = min(len(wa), len(wb))
    return n > 0 and wa[:n] == wb[:n]


def _part(p: SegmentProfile, f: str, roles: Mapping[str, str], group: bool = False) -> str:
    level, label = p.levels[f], p.labels.get(f) or label_for(f)
    if group:
        label = _stem(label)
    if roles.get(f) == "flag" and level != "Mid":
        return f"{'Often' if level == 'High' else 'Rarely'} {label}"
    return f"{level} {label}"


def _category_parts(p: SegmentProfile, categorical: list[str],
                    pop_shares: Mapping[str, Mapping[str, float]]) -> list[str]:
    parts = []
    for c in categorical:
        lifted = _lifted_levels(p.categories.get(c, {}), pop_shares.get(c, {}),
                                CATEGORY_NAME_SHARE)
        if lifted:
            level = lifted[0][0]
            parts.append(level if not level.replace(".", "").isdigit()
                         else f"{p.labels.get(c) or label_for(c)} {level}")
    return parts


def basket_leads(p: SegmentProfile, basket: Sequence[str]) -> list[str]:
    """The amounts leading the basket of a segment defined by low amounts: empty unless its
    defining traits are all low amounts of the basket (:attr:`_Context.basket`) and some
    other amounts are above average (z > :data:`BASKET_LEAD_Z`); strongest first, at most
    two."""
    defining = [t for t in p.traits if t["feature"] in p.z][:DEFINING_TRAITS]
    if not defining or any(t["level"] != "Low" or t["feature"] not in basket
                           for t in defining):
        return []
    above = [f for f in basket if p.z.get(f, 0.0) > BASKET_LEAD_Z]
    return sorted(above, key=lambda f: -p.z[f])[:2]


def _leads_text(p: SegmentProfile, leads: Sequence[str]) -> str:
    return " and ".join(p.labels.get(f) or label_for(f) for f in leads)


def _name_parts(p: SegmentProfile, features: list[str], categorical: list[str],
                roles: Mapping[str, str], pop_shares: Mapping[str, Mapping[str, float]],
                basket: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(the parts of a segment's name, further parts to add when the name is taken)."""
    cat_parts = _category_parts(p, categorical, pop_shares)
    marked = [t["feature"] for t in p.traits if t["feature"] in features]
    plain = [f for f in marked if roles.get(f) != "flag"]
    flags = [f for f in marked if roles.get(f) == "flag"]
    # flags name a segment only when they are its strongest difference
    order = [marked[0], *plain, *flags[1:]] if flags and marked[0] == flags[0] \
        else [*plain, *flags]
    if not features:
        base, more = cat_parts or ["Mixed customers"], []
    elif len(features) <= 3:
        base, more = [_part(p, f, roles) for f in features] + cat_parts, []
    else:
        # numbered siblings (bill amount 1..6) on the same side are named once, by their stem
        # and a label that starts like one already named ("cash advance transactions" after
        # "cash advance") waits for uniqueness to ask for it
        stems: dict[tuple[str, str], list[str]] = {}
        for f in order:
            stems.setdefault((_stem(p.labels.get(f) or label_for(f)), p.levels[f]), []).append(f)
        grouped, echoes, named = [], [], []
        for (stem, level), fs in stems.items():
            echo = any(lv == level and _same_start(stem, s) for s, lv in named)
            (echoes if echo else grouped).append((fs[0], len(fs) > 1))
            if not echo:
                named.append((stem, level))
        grouped += echoes
        base = [_part(p, f, roles, g) for f, g in grouped[:NAME_TRAITS]] or ["Close to average"]
        leads = basket_leads(p, basket)
        if leads:
            base.insert(0, f"Mostly {_leads_text(p, leads)}")
        base += cat_parts
        more = [_part(p, f, roles, g) for f, g in grouped[NAME_TRAITS:]]
    more += [_part(p, t["feature"], roles) for t in p.traits if t["feature"] not in features]
    more += [v["level"] for c, v in p.notable_categories.items()
             if c not in categorical and not v["level"].replace(".", "").isdigit()]
    for f in sorted(features, key=lambda f: -abs(p.z[f])):
        if 0 < abs(p.z[f]) < MIN_DISTINCT_Z:
            more.append(f"Slightly {'higher' if p.z[f] > 0 else 'lower'} "
                        f"{p.labels.get(f) or label_for(f)}")
    return base, [m for m in dict.fromkeys(more) if m not in base]


def _name_segments(profiles: list[SegmentProfile], features: list[str],
                   categorical: list[str] | None = None,
                   roles: Mapping[str, str] | None = None,
                   pop_shares: Mapping[str, Mapping[str, float]] | None = None,
                   basket: Sequence[str] = ()) -> None:
    categorical = categorical or []
    roles = roles or {}
    pop_shares = pop_shares or {}
    used: set[frozenset[str]] = set()  # names as sets of parts: "A · B" is "B · A"
    # the largest segment keeps the plain name; a later one with the same name adds its
    # next distinguishing trait
    for p in sorted(profiles, key=lambda p: -p.size):
        parts, more = _name_parts(p, features, categorical, roles, pop_shares, basket)
        while frozenset(parts) in used and more:
            parts.append(more.pop(0))
        if frozenset(parts) in used:  # nothing else separates them
            n = 2
            while frozenset([*parts, f"({n})"]) in used:
                n += 1
            parts.append(f"({n})")
        used.add(frozenset(parts))
        name = " · ".join(parts[:-1]) + f" {parts[-1]}" if parts[-1].startswith("(") \
            else " · ".join(parts)
        p.name = f"Outlier group: {name}" if p.outlier_group else name


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
