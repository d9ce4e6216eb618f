"""What each column of a real customer table is, and the features made from it.

:func:`assign_roles` takes a validated table (:func:`custseg.schema.validate_table`) and
gives every column one role, a use and a reason in words:

========== ====================================================== =====================
role       what it is                                              use
========== ====================================================== =====================
id         the customer id                                         dropped
constant   one value for everyone                                  dropped
text       free text with many values                              dropped
duplicate  moves with an earlier column (\\|r\\| > 0.95)            describes (the earlier kept)
date       a date (customer since, last purchase)                  feature: days since
birth_year a year of birth (1950-2005)                             feature: age
count      a non-negative whole number (children, visits, orders)  feature
money      an amount (income, spend, balance)                      feature (log scale)
rate       a share or percentage (0-1 or 0-100)                    feature
measure    any other number (age, score, duration)                 feature
flag       0/1 (accepted an offer, complained, responded)          describes segments
calendar   a day of the month, a month, a weekday or an hour         describes segments
category   a few text levels or integer codes (region, gender)     describes segments
========== ====================================================== =====================

Flags and categories describe the segments rather than drive them: a 0/1 column, or a
category, would otherwise split customers along itself.  Every decision can be overridden
(``overrides={"Fresh": "money"}``, or a roles file read by :func:`load_role_overrides`).

Rules, in order, for a numeric column that is not the id (names are matched as words,
case-insensitive; see ``NAME_HINTS``):

1. one distinct value: **constant**;
2. only 0 and 1: **flag**;
   a name that is a calendar part (``day``, ``month``, ``weekday``, ``hour``...) with whole
   values in its range: **calendar**;
3. a name saying year of birth (``birth``, ``born``, ``yob``), or ``year`` in the name with
   whole values between 1900 and 2015 spread over at least 10 years: **birth_year**;
4. a name saying category (``sex``, ``gender``, ``marital``, ``education``, ``region``,
   ``channel``, ``type``, ``status``, ``code`` ...) with at most 12 whole values: **category**;
5. values within 0-1, not all whole, or a name saying share (``prc``, ``pct``, ``percent``,
   ``%``, ``rate``, ``ratio``, ``share``) with values within 0-100: **rate**;
6. whole, non-negative values with a name saying count (``num``, ``number``, ``count``,
   ``trx``, ``visits``, ``kid``, ``children``...): **count**;
7. a name saying money (``amount``, ``amt``, ``mnt``, ``income``, ``salary``, ``balance``,
   ``spend``, ``price``, ``revenue``, ``sales``, ``payment``, ``bill``, ``limit``...), or
   non-negative values with skewness above 1 and a maximum above 1,000: **money**;
8. whole non-negative values below 100 at the median: **count**;
9. anything else: **measure**.

Adding a role (tried in tests/unit/test_role_recipe.py with a toy ``nps`` role):

1. add a :class:`Role` to ``ROLE_TABLE``: its name, what it is, its use (``feature``,
   ``describe`` or ``dropped``), whether its columns are numbers and whether a user may give
   it; :func:`assign_roles`, the role overrides and the summary's ``columns[].role`` enum
   follow the table;
2. when it is found from a column's name or values, add a :class:`RoleRule` to
   ``NUMERIC_RULES`` just before the first rule it must win over (name hints go in
   ``NAME_HINTS``), and a line to the table and the rules above;
3. regenerate docs/summary.schema.json (``python -m custseg.summary``).

Examples
--------
>>> import pandas as pd
>>> from custseg.schema import validate_table
>>> raw = pd.DataFrame({"ID": range(1, 41), "Year_Birth": [1950 + i % 40 for i in range(40)],
...                     "Kidhome": [i % 3 for i in range(40)],
...                     "Complain": [int(i % 7 == 0) for i in range(40)],
...                     "MntWines": [(i * 37) % 900 + (5000 if i == 3 else 0) for i in range(40)],
...                     "Z_Cost": [3] * 40})
>>> fr = assign_roles(validate_table(raw))
>>> [(d.column, d.role, d.use) for d in fr.decisions]  # doctest: +NORMALIZE_WHITESPACE
[('ID', 'id', 'dropped'), ('Year_Birth', 'birth_year', 'feature'), ('Kidhome', 'count', 'feature'),
 ('Complain', 'flag', 'describe'), ('MntWines', 'money', 'feature'),
 ('Z_Cost', 'constant', 'dropped')]
>>> fr.features
['Age', 'Kidhome', 'MntWines']
"""

from __future__ import annotations

import re
import tomllib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from custseg.errors import UsageError

if TYPE_CHECKING:
    from custseg.schema import CheckedTable
    from custseg.summary import ColumnDecisionDoc, DerivationDoc


@dataclass(frozen=True)
class Role:
    """A column role: what it is and what a column of it is used for.

    ``use`` is ``"feature"`` (segmented on), ``"describe"`` (shown beside the segments) or
    ``"dropped"``; ``numeric``: a column given this role is read as numbers;
    ``overridable``: a user may give it (``--role COLUMN=ROLE``), else it is only found;
    ``profile_as``: the role :mod:`custseg.profiling` words the column's evidence by
    (``custseg.profiling.ROLES``; None: the role's own name).
    """

    name: str
    what: str
    use: str
    numeric: bool = False
    overridable: bool = True
    profile_as: str | None = None


#: Every column role, in the order of the summary's enum (``columns[].role``).  The id, date,
#: text, category and birth_year roles are also handled by name in :func:`assign_roles`
#: (what they drop, derive or encode); any other role needs only its entry here and, when it
#: is found from a column's name or values, a rule in :data:`NUMERIC_RULES`.
ROLE_TABLE: dict[str, Role] = {r.name: r for r in (
    Role("id", "the customer id", "dropped"),
    Role("constant", "one value for everyone", "dropped", overridable=False),
    Role("date", "a date (customer since, last purchase): days since it", "feature"),
    Role("calendar", "a day of the month, a month, a weekday or an hour", "describe",
         numeric=True),
    Role("birth_year", "a year of birth: age", "feature", numeric=True, profile_as="measure"),
    Role("age", "an age in years", "feature", numeric=True),
    Role("count", "a non-negative whole number (children, visits, orders)", "feature",
         numeric=True),
    Role("money", "an amount (income, spend, balance)", "feature", numeric=True),
    Role("rate", "a share or percentage (0-1 or 0-100)", "feature", numeric=True),
    Role("flag", "0/1 (accepted an offer, complained, responded)", "describe", numeric=True),
    Role("category", "a few text levels or integer codes (region, gender)", "describe"),
    Role("text", "free text with many values", "dropped"),
    Role("measure", "any other number (age, score, duration)", "feature", numeric=True),
    Role("duplicate", "moves with an earlier column", "describe", overridable=False),
)}
ROLES = tuple(ROLE_TABLE)
#: Roles a user may give a column (the others are found, not chosen).
OVERRIDABLE = tuple(name for name, r in ROLE_TABLE.items() if r.overridable)
#: Roles of feature columns as profiling sees them (derived columns: age, tenure).
NUMERIC_ROLES = ("count", "money", "rate", "flag", "measure", "age", "tenure", "calendar")
#: Calendar positions (day of the month, month, weekday, hour): they describe when
#: something happened, not who the customer is.
CALENDAR_PARTS = {"day": (1, 31), "dom": (1, 31), "month": (1, 12), "weekday": (0, 7),
                  "dow": (0, 7), "hour": (0, 23), "week": (1, 53), "quarter": (1, 4)}
#: |r| above which two feature columns are near-duplicates (the later one is dropped).
NEAR_DUPLICATE_R = 0.95
#: Rows used to measure correlations between columns (a seeded sample above it).
CORRELATION_SAMPLE = 20_000

NAME_HINTS: dict[str, tuple[str, ...]] = {
    "birth_year": ("birth", "born", "yob", "birthyear"),
    "category": ("sex", "gender", "genre", "marital", "marriage", "married", "education",
                 "region", "channel", "country", "city", "state", "type", "class", "category",
                 "segment", "group", "status", "code", "zone", "area", "branch", "plan"),
    # (not "frequency": a frequency is as often a count of orders as a share of months;
    # shares named so are fractions, caught by the 0-1 rule)
    "rate": ("prc", "pct", "percent", "percentage", "rate", "ratio", "share", "proportion",
             "fraction"),
    "count": ("num", "number", "count", "cnt", "trx", "txn", "transactions", "visits",
              "orders", "kid", "kids", "kidhome", "teen", "teenhome", "children", "child",
              "dependents", "household", "calls", "contacts", "campaign",
              "previous", "items", "products", "nb", "qty", "quantity"),
    "money": ("amount", "amt", "mnt", "income", "salary", "balance", "bal", "spend", "spent",
              "spending", "price", "revenue", "sales", "payment", "payments", "pay", "bill",
              "limit", "cost", "value", "fee", "fees", "profit", "purchases", "purchase",
              "monetary", "wage", "earnings", "debt", "loan", "credit", "advance", "deposit",
              "turnover", "expenditure"),
    "measure": ("score", "rating", "index", "duration", "seconds", "minutes", "hours", "days",
                "time", "length", "distance", "weight", "height", "day", "month", "week",
                "recency", "tenure"),
    "age": ("age",),
    "tenure_date": ("since", "joined", "join", "registration", "registered", "signup",
                    "enrol", "enroll", "enrolled", "first", "opened", "start", "created",
                    "customer", "member", "membership", "dt"),
}


def name_words(name: str) -> list[str]:
    """Lower-case words of a column name: CamelCase, snake_case, CAPS and digits split.

    >>> name_words("NumWebVisitsMonth"), name_words("PRC_FULL_PAYMENT"), name_words("BILL_AMT1")
    (['num', 'web', 'visits', 'month'], ['prc', 'full', 'payment'], ['bill', 'amt', '1'])
    """
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name)[:200])  # quadratic on long names
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([A-Za-z])([0-9])", r"\1 \2", text)
    return [w for w in re.split(r"[^0-9A-Za-z]+", text.lower()) if w]


def _hint(name: str, kind: str) -> bool:
    if kind == "rate" and "%" in str(name):
        return True
    words = name_words(name)
    joined = "".join(words)
    hints = NAME_HINTS[kind]
    return any(w in hints for w in words) or joined in hints


@dataclass
class ColumnDecision:
    """The role of one input column, its use and why."""

    column: str
    role: str
    use: str  # "feature" | "describe" | "dropped"
    feature: str | None
    reason: str
    overridden: bool = False

    def to_dict(self) -> ColumnDecisionDoc:
        return cast("ColumnDecisionDoc", asdict(self))


@dataclass
class Derivation:
    """A feature computed from a column, the same way in fit and when scoring."""

    name: str
    source: str
    kind: str  # "age" | "days_since"
    reference: str  # ISO date (days_since) or a year (age)
    dayfirst: bool = False

    def to_dict(self) -> DerivationDoc:
        return cast("DerivationDoc", asdict(self))


@dataclass
class FeatureRoles:
    """Roles of every column and the features they give (see :func:`assign_roles`)."""

    decisions: list[ColumnDecision]
    frame: pd.DataFrame
    features: list[str]
    describe_numeric: list[str]
    describe_categorical: list[str]
    categorical_features: list[str]
    role_of: dict[str, str]
    derivations: list[Derivation] = field(default_factory=list)
    near_duplicates: list[dict[str, Any]] = field(default_factory=list)


# ------------------------------------------------------------------ overrides
def parse_role_overrides(items: Sequence[str] | None) -> dict[str, str]:
    """``["Fresh=money", "Kidhome=count"]`` as a dict, roles checked.

    >>> parse_role_overrides(["Fresh=money", " Kidhome = count "])
    {'Fresh': 'money', 'Kidhome': 'count'}
    """
    out: dict[str, str] = {}
    for item in items or []:
        col, sep, role = str(item).rpartition("=")
        col, role = col.strip(), role.strip().lower()
        if not sep or not col:
            raise UsageError(f"a role is given as COLUMN=ROLE (e.g. Income=money), got "
                             f"{item!r}", "role")
        out[col] = role
    _check_roles(out, "role")
    return out


def _check_roles(overrides: Mapping[str, str], where: str) -> None:
    allowed = [name for name, r in ROLE_TABLE.items() if r.overridable]
    bad = {c: r for c, r in overrides.items() if r not in allowed}
    if bad:
        raise UsageError(f"{where}: unknown role(s) {bad}; a role is one of "
                         f"{allowed}", "role")


def load_role_overrides(path: str | Path) -> dict[str, str]:
    """Roles from a file: TOML (``[roles]`` table of ``column = "role"``) or CSV
    (``column,role`` per line, an optional header)."""
    p = Path(path)
    try:
        text = p.read_text("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"roles file {path}: cannot read it: {exc}", "roles") from exc
    if p.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"roles file {path} is not valid TOML: {exc}", "roles") from exc
        table = data.get("roles", data)
        out = {str(k): str(v).strip().lower() for k, v in table.items()}
    else:
        import csv
        import io

        out = {}
        for row in csv.reader(io.StringIO(text)):
            if len(row) < 2 or not row[0].strip():
                continue
            col, role = row[0].strip(), row[1].strip().lower()
            if (col.lower(), role) == ("column", "role"):
                continue
            out[col] = role
    _check_roles(out, f"roles file {path}")
    return out


# ------------------------------------------------------------------ derivations
def _dayfirst(text: pd.Series) -> bool:
    """Whether ``a-b-yyyy`` / ``a/b/yyyy`` dates put the day first (a field above 12)."""
    parts = text.dropna().astype(str).str.extract(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.]\d{2,4}")
    if parts.empty or parts[0].isna().all():
        return False
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[1], errors="coerce")
    return bool((first > 12).any() and not (second > 12).any())


def parse_dates(values: pd.Series, dayfirst: bool) -> pd.Series:
    """Dates of a column (text or datetime), missing where they do not parse."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values).dt.tz_convert("UTC").dt.tz_localize(None) if getattr(
            values.dt, "tz", None) is not None else pd.to_datetime(values)
    with warnings.catch_warnings():  # times with offsets are read in UTC, then made naive
        warnings.simplefilter("ignore")
        return pd.to_datetime(values.astype("string").str.strip(), errors="coerce",
                              format="mixed", dayfirst=dayfirst, utc=True).dt.tz_localize(None)


def derive(frame: pd.DataFrame, derivations: Sequence[Derivation]) -> pd.DataFrame:
    """The derived feature columns of ``frame`` (one column per derivation, float64)."""
    out = pd.DataFrame(index=frame.index)
    for d in derivations:
        src = frame[d.source]
        if d.kind == "age":
            years = pd.to_numeric(src, errors="coerce").astype("float64")
            out[d.name] = float(d.reference) - years
        else:
            when = parse_dates(src, d.dayfirst)
            ref = pd.Timestamp(d.reference)
            out[d.name] = ((ref - when).dt.total_seconds() / 86_400.0).astype("float64")
    return out


def _date_name(column: str) -> tuple[str, str]:
    """Name and role of the feature made from a date column."""
    words = [w for w in name_words(column) if w not in ("dt", "date", "day", "time")]
    label = " ".join(words) or column
    if _hint(column, "tenure_date"):
        base = " ".join(w for w in words if w not in ("since", "first", "start")) or "customer"
        return f"{base.capitalize()} tenure (days)", "tenure"
    return f"Days since {label}", "tenure"


# ------------------------------------------------------------------ numeric roles
class ColumnFacts:
    """What the rules of :data:`NUMERIC_RULES` look at: a numeric column's name (and its
    words) and its finite values, with their range, whether they are whole and the distinct
    ones.  Build it with :meth:`of`."""

    def __init__(self, name: str, values: np.ndarray) -> None:
        self.name = name
        self.words = name_words(name)
        self.v = values
        self.lo, self.hi = float(values.min()), float(values.max())
        self.whole = bool(np.all(np.mod(values, 1) == 0))
        self.distinct = np.unique(values)
        self.span = f"{_num(self.lo)} to {_num(self.hi)}"

    @classmethod
    def of(cls, name: str, values: pd.Series) -> ColumnFacts | None:
        """The facts of a column, or None when it has no finite value."""
        v = values.dropna().to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        return cls(name, v) if len(v) else None

    def named(self, kind: str) -> bool:
        """Whether the name says ``kind`` (a key of :data:`NAME_HINTS`)."""
        return _hint(self.name, kind)

    @cached_property
    def skew(self) -> float:
        return float(pd.Series(self.v).skew()) if len(self.v) > 2 else 0.0


@dataclass(frozen=True)
class RoleRule:
    """One rule of :func:`numeric_role`: ``test`` gives the reason in words when the column
    has ``role``, None when the rule does not apply."""

    role: str
    test: Callable[[ColumnFacts], str | None]


def _calendar(f: ColumnFacts) -> str | None:
    part = f.words[-1] if f.words else ""
    if f.whole and 1 <= len(f.words) <= 2 and part in CALENDAR_PARTS and (
            CALENDAR_PARTS[part][0] <= f.lo and f.hi <= CALENDAR_PARTS[part][1]):
        return f"a {part} number {f.span}: a position in the calendar, not a trait of the customer"
    return None


def _year_of_birth(f: ColumnFacts) -> str | None:
    named = f.whole and f.named("birth_year") and 1880 <= np.median(f.v) <= 2020
    spread = (f.whole and "year" in f.words and np.quantile(f.v, 0.05) >= 1900
              and np.quantile(f.v, 0.95) <= 2015 and np.ptp(f.v) >= 10)
    return f"years {f.span} named like a year of birth" if named or spread else None


def _share(f: ColumnFacts) -> str | None:
    if f.lo >= 0 and f.hi <= 1 and not f.whole:
        return "values within 0-1: a share"
    if f.lo >= 0 and f.hi <= 1.5 and not f.whole and {"frequency", "freq"} & set(f.words):
        return "values within 0-1 (a few above) named like a frequency: a share"
    if f.lo >= 0 and f.hi <= 100 and f.named("rate"):
        return f"values within 0-{100 if f.hi > 1 else 1} named like a share"
    return None


def _named_count(f: ColumnFacts) -> str | None:
    first = next(iter(f.words), "")
    counted = {"num", "number", "nb", "count", "cnt", "trx", "txn", "transactions", "visits",
               "orders"} & set(f.words)
    if f.whole and f.lo >= 0 and f.named("count") and (
            first in ("num", "number", "n", "nb", "count", "cnt") or counted
            or not f.named("money")):
        return f"whole numbers {f.span} named like a count"
    return None


def _money(f: ColumnFacts) -> str | None:
    if f.named("money") and (f.hi - f.lo > 100 or not f.whole):
        return f"amounts {f.span} named like money"
    if f.lo >= 0 and f.skew > 1 and f.hi > 1000:
        return f"skewed amounts {f.span} (skewness {f.skew:.1f})"
    return None


#: The rules deciding a numeric column's role, in order: the first that applies wins
#: (the module doc lists them in words); a column no rule takes is a ``measure``.
NUMERIC_RULES: list[RoleRule] = [
    RoleRule("constant", lambda f: f"always {f.distinct[0]:g}" if len(f.distinct) == 1
             else None),
    RoleRule("flag", lambda f: "only 0 and 1: a yes/no flag"
             if set(f.distinct.tolist()) <= {0.0, 1.0} else None),
    RoleRule("calendar", _calendar),
    RoleRule("birth_year", _year_of_birth),
    RoleRule("age", lambda f: f"ages {f.span}" if f.named("age") and f.lo >= 0 and f.hi < 130
             else None),
    RoleRule("category", lambda f: f"{len(f.distinct)} integer codes named like a category"
             if f.whole and len(f.distinct) <= 12 and f.named("category") else None),
    RoleRule("rate", _share),
    RoleRule("count", _named_count),
    RoleRule("measure", lambda f: f"numbers {f.span}" if f.named("measure") else None),
    RoleRule("money", _money),
    RoleRule("count", lambda f: f"whole numbers {f.span}"
             if f.whole and f.lo == 0 and np.median(f.v) < 100 else None),
]


def numeric_role(name: str, values: pd.Series) -> tuple[str, str]:
    """The role of a numeric column and the reason, from its name and values: the first of
    :data:`NUMERIC_RULES` that applies, else ``measure``.

    >>> numeric_role("Kidhome", pd.Series([0.0, 1, 2, 0, 1]))
    ('count', 'whole numbers 0 to 2 named like a count')
    >>> numeric_role("PRC_FULL_PAYMENT", pd.Series([0.0, 0.25, 1.0, 0.5]))
    ('rate', 'values within 0-1: a share')
    """
    facts = ColumnFacts.of(name, values)
    if facts is None:
        return "measure", "no values"
    for rule in NUMERIC_RULES:
        reason = rule.test(facts)
        if reason is not None:
            return rule.role, reason
    return "measure", f"numbers {facts.span}"


def _num(x: float) -> str:
    """A number as a reason shows it: ``1,000,000``, ``-2``, ``0.25``."""
    if float(x).is_integer() or abs(x) >= 1000:
        return f"{round(x):,}"
    return f"{x:.4g}"


def rate_scale(values: pd.Series) -> float:
    """100 for a percentage column (a value above 1), else 1."""
    v = values.dropna()
    return 100.0 if len(v) and float(v.max()) > 1 else 1.0


def _as_numeric(frame: pd.DataFrame, col: str) -> pd.Series | None:
    s = frame[col]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    num = pd.to_numeric(s, errors="coerce")
    filled = s.notna().sum()
    if filled and num.notna().sum() == filled:
        return num.astype("float64")
    return None


def near_duplicates(frame: pd.DataFrame, columns: Sequence[str], *,
                    threshold: float = NEAR_DUPLICATE_R,
                    random_state: int = 0) -> list[dict[str, Any]]:
    """Pairs of columns with |Spearman r| above ``threshold``: the later one of each pair is
    dropped, the earlier kept (``[{"dropped", "kept", "r"}]``).

    >>> df = pd.DataFrame({"a": range(50), "b": [2 * i + 1 for i in range(50)],
    ...                    "c": [(i * 7) % 11 for i in range(50)]})
    >>> near_duplicates(df, ["a", "b", "c"])
    [{'dropped': 'b', 'kept': 'a', 'r': 1.0}]
    """
    cols = list(columns)
    if len(cols) < 2:
        return []
    data = frame[cols]
    if len(data) > CORRELATION_SAMPLE:
        data = data.sample(CORRELATION_SAMPLE, random_state=random_state)
    corr = _pairwise_corr(data.rank().to_numpy(dtype=np.float64))
    dropped: dict[str, dict[str, Any]] = {}
    is_dropped = np.zeros(len(cols), dtype=bool)
    with np.errstate(invalid="ignore"):
        close = np.isfinite(corr) & (np.abs(corr) > threshold)
    for j in np.flatnonzero(close.any(axis=0)):
        hits = np.flatnonzero(close[:j, j] & ~is_dropped[:j])
        if len(hits):
            i = int(hits[0])
            dropped[cols[j]] = {"dropped": cols[j], "kept": cols[i],
                                "r": round(float(corr[i, j]), 3)}
            is_dropped[j] = True
    return list(dropped.values())


def _pairwise_corr(X: np.ndarray) -> np.ndarray:
    """Pearson correlation of the columns of ``X`` over the rows where both are present
    (as ``DataFrame.corr``), by matrix products: thousands of columns in seconds.  NaN
    where a pair has fewer than two rows in common or no spread on them."""
    present = ~np.isnan(X)
    if present.all():
        with np.errstate(invalid="ignore", divide="ignore"):
            full: np.ndarray = np.corrcoef(X, rowvar=False).reshape(X.shape[1], X.shape[1])
            return full
    M = present.astype(np.float64)
    centre = np.nanmean(np.where(present, X, np.nan), axis=0) if len(X) else 0.0
    Y = np.where(present, X - centre, 0.0)  # centred: sums of squares stay accurate
    n = M.T @ M  # rows in common
    sx = Y.T @ M  # sum of column i over the rows where j is present
    sxx = (Y * Y).T @ M
    sxy = Y.T @ Y
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var_i = sxx - sx * sx / n
        corr = cov / np.sqrt(var_i * var_i.T)
    corr[(n < 2) | (var_i <= 1e-9) | (var_i.T <= 1e-9)] = np.nan
    clipped: np.ndarray = np.clip(corr, -1.0, 1.0, out=corr, where=np.isfinite(corr))
    return clipped


# ------------------------------------------------------------------ the whole table
def _reference_date(frame: pd.DataFrame, dates: Sequence[str]) -> tuple[
        dict[str, tuple[pd.Timestamp | None, bool]], pd.Timestamp | None]:
    parsed: dict[str, tuple[pd.Timestamp | None, bool]] = {}
    latest: pd.Timestamp | None = None
    for c in dates:
        dayfirst = _dayfirst(frame[c]) if not pd.api.types.is_datetime64_any_dtype(
            frame[c]) else False
        when = parse_dates(frame[c], dayfirst)
        top = when.max()
        top = None if pd.isna(top) else pd.Timestamp(top).normalize()
        parsed[c] = (top, dayfirst)
        if top is not None and (latest is None or top > latest):
            latest = top
    return parsed, latest


def assign_roles(
    checked: CheckedTable,
    *,
    overrides: Mapping[str, str] | None = None,
    requested: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    use_categorical: bool = False,
    infer: bool = True,
    random_state: int = 0,
) -> FeatureRoles:
    """Decide the role and use of every column of a validated table (see the module doc).

    Parameters
    ----------
    checked : CheckedTable
        The output of :func:`custseg.schema.validate_table`.
    overrides : mapping, optional
        ``{column: role}`` chosen by the user; they win over the rules.
    requested : list of str, optional
        Features the user named: they are used as they are (roles only describe them).
    exclude : list of str, optional
        Columns never used as features (they still describe segments).
    use_categorical : bool
        Segment on the categorical columns too.
    infer : bool
        Apply the rules (off for plain arrays: every column is a measure).
    """
    overrides = dict(overrides or {})
    unknown = [c for c in overrides if c not in checked.frame.columns]
    if unknown:
        raise UsageError(f"role given for column(s) {unknown} not in the data. Columns in the "
                         f"data: {list(checked.frame.columns)}", "role")
    frame = checked.frame.copy()
    roles = checked.roles
    exclude_set = set(exclude or [])
    requested = list(requested or [])
    dropped_why = dict(checked.cleaning.get("columns_dropped", {}))
    decisions: list[ColumnDecision] = []
    role_of: dict[str, str] = {}
    features: list[str] = []
    describe_num: list[str] = []
    describe_cat: list[str] = []
    cat_features = list(checked.categorical_features)
    derivations: list[Derivation] = []

    date_cols = [c for c in roles.dates if overrides.get(c, "date") == "date"]
    date_cols += [c for c, r in overrides.items() if r == "date" and c not in date_cols]
    parsed_dates, latest = _reference_date(frame, date_cols)
    birth_ref = latest.year if latest is not None else date.today().year

    def decide(col: str, role: str, use: str, feature: str | None, reason: str) -> None:
        decisions.append(ColumnDecision(col, role, use, feature, reason, col in overrides))

    for col in frame.columns:
        forced = overrides.get(col)
        if col == roles.id_column or forced == "id":
            decide(col, "id", "dropped", None, "the customer id" if forced is None
                   else "given as the id")
            continue
        if col in roles.ignored and forced is None:
            decide(col, "text", "dropped", None, roles.ignored[col])
            continue
        if forced == "text":
            decide(col, "text", "dropped", None, "given as free text")
            continue
        if col in date_cols:
            ref, dayfirst = parsed_dates[col]
            if ref is None:
                decide(col, "date", "dropped", None, "no date could be read")
                continue
            name, drole = _date_name(col)
            derivations.append(Derivation(name, col, "days_since", ref.date().isoformat(),
                                          dayfirst))
            use = "dropped" if col in exclude_set else "describe" if requested else "feature"
            decide(col, "date", use, name,
                   f"dates; turned into days since, as of {ref.date().isoformat()} "
                   "(the latest date in the column)")
            role_of[name] = drole
            if use == "feature":
                features.append(name)
            continue
        numeric = col in roles.numeric
        values = frame[col] if numeric else None
        if not numeric and forced in ROLE_TABLE and ROLE_TABLE[forced].numeric:
            values = _as_numeric(frame, col)
            if values is None:
                raise UsageError(f"role {forced!r} for column {col!r}: its values are not all "
                                 "numbers", "role")
            frame[col] = values
            numeric = True
        if not numeric:  # categorical
            if forced not in (None, "category"):
                raise UsageError(f"role {forced!r} for column {col!r}: it is not numeric",
                                 "role")
            use = "feature" if col in cat_features else "describe"
            if col in dropped_why:
                use = "dropped"
            decide(col, "category", use, col if use != "dropped" else None,
                   dropped_why.get(col, "text with a few levels" if col not in requested
                                   else "given as a feature"))
            if use == "describe":
                describe_cat.append(col)
            continue
        if forced is not None:
            role, reason = forced, "given"
        elif not infer:
            role, reason = "measure", "numbers"
        else:
            role, reason = numeric_role(col, values)
        if col in dropped_why and role != "constant":
            decide(col, "constant" if dropped_why[col] == "constant" else role, "dropped",
                   None, dropped_why[col])
            continue
        if role == "constant":
            decide(col, "constant", "dropped", None, reason + "; cannot tell customers apart")
            continue
        if role == "category":
            frame[col] = cast("pd.Series", values).map(
                lambda x: str(int(x)) if pd.notna(x) else np.nan)
            if use_categorical and col not in exclude_set:
                decide(col, "category", "feature", col, reason)
                cat_features.append(col)
            else:
                decide(col, "category", "describe", col, reason)
                describe_cat.append(col)
            continue
        if role == "birth_year" and col not in requested:
            name = "Age"
            while name in frame.columns:
                name = f"{name} ({col})"
            derivations.append(Derivation(name, col, "age", str(birth_ref)))
            use = "dropped" if col in exclude_set else "describe" if requested else "feature"
            decide(col, "birth_year", use, name,
                   f"{reason}; turned into age as of {birth_ref}")
            role_of[name] = "age"
            if use == "feature":
                features.append(name)
            continue
        spec = ROLE_TABLE.get(role, Role(role, "a role given", "feature"))
        if spec.use == "dropped" and col not in requested:
            decide(col, role, "dropped", None, reason)
            continue
        role_of[col] = spec.profile_as or role
        if col in requested:
            decide(col, role, "feature", col, reason + "; given as a feature")
            features.append(col)
        elif spec.use == "describe" or col in exclude_set or requested:
            why = "; describes the segments" if role != "calendar" else ""
            why = "; excluded" if col in exclude_set else why
            why = "; not among the features given, describes the segments" if (
                requested and col not in exclude_set) else why
            decide(col, role, "describe", col, reason + why)
            describe_num.append(col)
        else:
            decide(col, role, "feature", col, reason)
            features.append(col)

    if requested:  # the user's order
        order = {c: i for i, c in enumerate(requested)}
        features.sort(key=lambda c: order.get(c, len(order)))
    if derivations:
        derived = derive(frame, derivations)
        for c in derived.columns:
            frame[c] = derived[c]
    near: list[dict[str, Any]] = []
    if not requested and infer:
        near = near_duplicates(frame, features, random_state=random_state)
        gone = {d["dropped"]: d for d in near}
        for dec in decisions:
            if dec.feature in gone and dec.use == "feature":
                g = gone[dec.feature]
                dec.use = "describe"
                dec.role = "duplicate"
                dec.reason += (f"; moves with {g['kept']} (Spearman r = {g['r']:.2f}): "
                               f"dropped from the features, {g['kept']} kept; describes "
                               "the segments")
        features = [c for c in features if c not in gone]
        describe_num += [c for c in gone if c not in describe_num]
    return FeatureRoles(decisions=decisions, frame=frame, features=features,
                        describe_numeric=describe_num, describe_categorical=describe_cat,
                        categorical_features=cat_features, role_of=role_of,
                        derivations=derivations, near_duplicates=near)
