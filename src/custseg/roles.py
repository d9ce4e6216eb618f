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
level      ordered text levels (Low < Average < High)              feature: their rank
========== ====================================================== =====================

Flags and categories describe the segments rather than drive them: a 0/1 column, or a
category, would otherwise split customers along itself.  Text levels of one ordered scale
(``ORDERED_SCALES`` in :mod:`custseg.column_facts`: low/average/high, poor/fair/good,
never/sometimes/always, bronze/silver/gold, basic/standard/premium...), three of them or
more, are not a split but a measure: their rank (1 for the lowest) is a feature.  Every
decision can be overridden (``overrides={"Fresh": "money"}``, or a roles file read by
:func:`load_role_overrides`).

Rules, in order, for a numeric column that is not the id (names are matched as words,
case-insensitive; see ``NAME_HINTS`` in :mod:`custseg.column_facts`):

1. one distinct value: **constant**;
2. only 0 and 1: **flag**;
   at least 20 unique whole numbers named like a row number (``RowNumber``, ``Unnamed: 0``)
   or an identifier (``AccountID``): **id**, dropped;
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

1. add a :class:`Role` to ``ROLE_TABLE`` (in :mod:`custseg.role_table`): its name, what it
   is, its use (``feature``, ``describe`` or ``dropped``), whether its columns are numbers
   and whether a user may give it; :func:`assign_roles`, the role overrides and the
   summary's ``columns[].role`` enum follow the table;
2. when it is found from a column's name or values, add a :class:`RoleRule` to
   ``NUMERIC_RULES`` just before the first rule it must win over (name hints go in
   ``NAME_HINTS``, in :mod:`custseg.column_facts`), and a line to the table and the rules
   above;
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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from custseg.column_facts import (
    CALENDAR_PARTS,
    CORRELATION_SAMPLE,
    NAME_HINTS,
    NEAR_DUPLICATE_R,
    ColumnFacts,
    as_numeric,
    birth_year_reason,
    calendar_reason,
    count_reason,
    date_feature_name,
    echoes,
    has_hint,
    identifier_reason,
    level_ranks,
    levels_reason,
    money_reason,
    name_words,
    near_duplicates,
    none_code,
    ordered_levels,
    rate_scale,
    scale_key,
    share_reason,
)
from custseg.derived import derive
from custseg.errors import UsageError
from custseg.parsing import parse_dates, reference_dates
from custseg.role_table import (
    NUMERIC_ROLES,
    OVERRIDABLE,
    ROLE_TABLE,
    ROLES,
    Role,
    load_role_overrides,
    parse_role_overrides,
)

if TYPE_CHECKING:
    from custseg.schema import CheckedTable
    from custseg.summary import ColumnDecisionDoc, DerivationDoc


#: Every public name: the role table and the roles a user gives are
#: :mod:`custseg.role_table`'s, what the rules read :mod:`custseg.column_facts`'s.
__all__ = [
    "CALENDAR_PARTS",
    "CORRELATION_SAMPLE",
    "NAME_HINTS",
    "NEAR_DUPLICATE_R",
    "NUMERIC_ROLES",
    "NUMERIC_RULES",
    "OVERRIDABLE",
    "ROLES",
    "ROLE_TABLE",
    "ColumnDecision",
    "ColumnFacts",
    "Derivation",
    "FeatureRoles",
    "Role",
    "RoleRule",
    "assign_roles",
    "derive",
    "load_role_overrides",
    "money_columns",
    "name_words",
    "near_duplicates",
    "not_traits",
    "numeric_role",
    "numeric_roles",
    "parse_dates",
    "parse_role_overrides",
    "rate_scale",
]


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
    kind: str  # "age" | "age_at" | "days_since" | "none_code" | "levels"
    reference: str  # ISO date, year, code read as missing, or levels joined by "|"
    #                 ("age_at": the ISO date a date of birth gives the age at)
    dayfirst: bool = False

    @property
    def levels(self) -> list[str]:
        """The levels of a ``levels`` derivation, lowest first."""
        return self.reference.split("|")

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
    #: describing columns that move with a feature, and that feature
    #: (:func:`custseg.column_facts.echoes`): no evidence of their own
    echoes: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ numeric roles
@dataclass(frozen=True)
class RoleRule:
    """One rule of :func:`numeric_role`: ``test`` gives the reason in words when the column
    has ``role``, None when the rule does not apply."""

    role: str
    test: Callable[[ColumnFacts], str | None]


#: The rules deciding a numeric column's role, in order: the first that applies wins
#: (the module doc lists them in words); a column no rule takes is a ``measure``.
NUMERIC_RULES: list[RoleRule] = [
    RoleRule("constant", lambda f: f"always {f.distinct[0]:g}" if len(f.distinct) == 1
             else None),
    RoleRule("flag", lambda f: "only 0 and 1: a yes/no flag"
             if set(f.distinct.tolist()) <= {0.0, 1.0} else None),
    RoleRule("id", identifier_reason),
    RoleRule("calendar", calendar_reason),
    RoleRule("birth_year", birth_year_reason),
    RoleRule("age", lambda f: f"ages {f.span}" if f.named("age") and f.lo >= 0 and f.hi < 130
             else None),
    RoleRule("category", lambda f: f"{len(f.distinct)} integer codes named like a category"
             if f.whole and len(f.distinct) <= 12 and f.named("category") else None),
    RoleRule("rate", share_reason),
    RoleRule("count", count_reason),
    RoleRule("measure", lambda f: f"numbers {f.span}" if f.named("measure") else None),
    RoleRule("money", money_reason),
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


#: A column missing for more than this share describes the segments (its fill would be one).
MOSTLY_MISSING = 0.5


def numeric_roles(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, str]:
    """The role :func:`numeric_role` gives each of ``columns`` by its name and its values in
    ``frame`` (the engines that read a sample of the rows: the local engine, Spark).

    >>> numeric_roles(pd.DataFrame({"balance": [-50.0, 10, 2500], "visits": [1.0, 2, 3]}),
    ...               ["balance", "visits"])
    {'balance': 'money', 'visits': 'count'}
    """
    return {c: numeric_role(c, frame[c])[0] for c in columns}


def not_traits(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, str]:
    """Of ``columns``, those the role rules drop (row numbers, a second identifier: role
    ``id``), with the reason: the engines that read a sample of the rows leave them out of
    the features as :func:`assign_roles` does.

    >>> not_traits(pd.DataFrame({"Sl_No": range(1, 41), "visits": [1.0, 2] * 20}),
    ...            ["Sl_No", "visits"])
    {'Sl_No': 'row numbers 1 to 40, one per row: not a trait of the customer'}
    """
    found = {c: numeric_role(c, frame[c]) for c in columns}
    return {c: reason for c, (role, reason) in found.items() if role == "id"}


def money_columns(role_of: Mapping[str, str]) -> list[str]:
    """The columns whose role is ``money``: the amounts every engine puts on a signed log
    scale when they can be negative and are skewed
    (:func:`custseg.preprocess.plan_preprocessing`'s ``signed_log``).

    >>> money_columns({"balance": "money", "visits": "count"})
    ['balance']
    """
    return [c for c, role in role_of.items() if role == "money"]


# ------------------------------------------------------------------ the whole table
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
    assignment = _Assignment(checked, overrides, set(exclude or []), list(requested or []),
                             use_categorical, infer)
    for col in assignment.frame.columns:
        assignment.assign(col)
    return assignment.result(random_state)


class _Assignment:
    """One run of :func:`assign_roles`: the table and the options, and the decisions,
    features and derivations made so far."""

    def __init__(self, checked: CheckedTable, overrides: dict[str, str], exclude: set[str],
                 requested: list[str], use_categorical: bool, infer: bool) -> None:
        self.frame = checked.frame.copy()
        self.roles = checked.roles
        self.overrides, self.exclude, self.requested = overrides, exclude, requested
        self.use_categorical, self.infer = use_categorical, infer
        self.dropped_why = dict(checked.cleaning.get("columns_dropped", {}))
        self.decisions: list[ColumnDecision] = []
        self.role_of: dict[str, str] = {}
        self.features: list[str] = []
        self.describe_num: list[str] = []
        self.describe_cat: list[str] = []
        self.cat_features = list(checked.categorical_features)
        self.derivations: list[Derivation] = []
        date_cols = [c for c in self.roles.dates if overrides.get(c, "date") == "date"]
        date_cols += [c for c, r in overrides.items() if r == "date" and c not in date_cols]
        self.date_cols = date_cols
        self.parsed_dates, _ = reference_dates(self.frame, date_cols)
        # ages are taken at the table's latest date of something else than a birth (or on
        # 1 January of this year when there is none)
        acts = [top for c, (top, _) in self.parsed_dates.items()
                if top is not None and not has_hint(c, "birth_date")]
        self.age_at = max(acts) if acts else pd.Timestamp(date.today().year, 1, 1)

    def decide(self, col: str, role: str, use: str, feature: str | None, reason: str) -> None:
        """Note a column's role, use, feature and reason."""
        self.decisions.append(ColumnDecision(col, role, use, feature, reason,
                                             col in self.overrides))

    def assign(self, col: str) -> None:
        """Decide one column: the id, free text, a date, a category or a number."""
        forced = self.overrides.get(col)
        if col == self.roles.id_column or forced == "id":
            self.decide(col, "id", "dropped", None, "the customer id" if forced is None
                        else "given as the id")
        elif col in self.roles.ignored and forced is None:
            self.decide(col, "text", "dropped", None, self.roles.ignored[col])
        elif forced == "text":
            self.decide(col, "text", "dropped", None, "given as free text")
        elif col in self.date_cols:
            self._date(col)
        else:
            self._valued(col, forced)

    def _derived_use(self, col: str) -> str:
        """The use of a feature derived from a column (dates, years of birth)."""
        return "dropped" if col in self.exclude else "describe" if self.requested else "feature"

    def _date(self, col: str) -> None:
        """A date column: the days since each date, as of the column's latest date."""
        ref, dayfirst = self.parsed_dates[col]
        if ref is None:
            self.decide(col, "date", "dropped", None, "no date could be read")
            return
        if has_hint(col, "birth_date"):
            self._born(col, "dates of birth; turned into age (whole years) as of "
                       f"{self.age_at.date().isoformat()}", "age_at",
                       self.age_at.date().isoformat(), dayfirst)
            return
        name, drole = date_feature_name(col)
        self.derivations.append(Derivation(name, col, "days_since", ref.date().isoformat(),
                                           dayfirst))
        use = self._derived_use(col)
        self.decide(col, "date", use, name,
                    f"dates; turned into days since, as of {ref.date().isoformat()} "
                    "(the latest date in the column)")
        self.role_of[name] = drole
        if use == "feature":
            self.features.append(name)

    def _valued(self, col: str, forced: str | None) -> None:
        """A category or a numeric column (a numeric role given reads text as numbers)."""
        numeric = col in self.roles.numeric
        values = self.frame[col] if numeric else None
        if not numeric and forced in ROLE_TABLE and ROLE_TABLE[forced].numeric:
            values = as_numeric(self.frame, col)
            if values is None:
                raise UsageError(f"role {forced!r} for column {col!r}: its values are not all "
                                 "numbers", "role")
            self.frame[col] = values
            numeric = True
        if numeric:
            self._numeric(col, forced, cast("pd.Series", values))
        else:
            self._category(col, forced)

    def _category(self, col: str, forced: str | None) -> None:
        """A categorical column: a feature when asked for, else it describes the segments."""
        if forced not in (None, "category"):
            raise UsageError(f"role {forced!r} for column {col!r}: it is not numeric", "role")
        use = "feature" if col in self.cat_features else "describe"
        if col in self.dropped_why:
            use = "dropped"
        elif (use == "describe" and forced is None and self.infer
              and self._derived_use(col) == "feature"
              and self.frame[col].isna().mean() <= MOSTLY_MISSING):
            levels = ordered_levels(self.frame[col])
            if levels is not None:
                self._levels(col, levels)
                return
        self.decide(col, "category", use, col if use != "dropped" else None,
                    self.dropped_why.get(col, levels_reason(self.frame[col]) if col not in
                                         self.requested else "given as a feature"))
        if use == "describe":
            self.describe_cat.append(col)

    def _levels(self, col: str, levels: list[str]) -> None:
        """Ordered text levels (Low < Average < High): their rank, 1 for the lowest, here
        and when scoring (a derivation of the column into itself)."""
        self.derivations.append(Derivation(col, col, "levels", "|".join(levels)))
        ranks = level_ranks(levels)
        shown = ", ".join(f"{v} = {ranks[scale_key(v)]:g}" for v in levels)
        self.decide(col, "level", "feature", col,
                    f"ordered levels; read as their rank: {shown}")
        self.role_of[col] = "measure"
        self.features.append(col)

    def _numeric(self, col: str, forced: str | None, values: pd.Series) -> None:
        """A numeric column: its role given, or found by the rules (:func:`numeric_role`)."""
        if forced is not None:
            role, reason = forced, "given"
        elif not self.infer:
            role, reason = "measure", "numbers"
        else:
            values, note = self._none_code(col, values)
            role, reason = numeric_role(col, values)
            reason += note
        if col in self.dropped_why and role != "constant":
            self.decide(col, "constant" if self.dropped_why[col] == "constant" else role,
                        "dropped", None, self.dropped_why[col])
        elif role == "constant":
            self.decide(col, "constant", "dropped", None,
                        reason + "; cannot tell customers apart")
        elif role == "category":
            self._integer_codes(col, values, reason)
        elif role == "birth_year" and col not in self.requested:
            self._birth_year(col, reason)
        else:
            self._by_role_table(col, role, reason)

    def _none_code(self, col: str, values: pd.Series) -> tuple[pd.Series, str]:
        """A code standing for "none" (:func:`custseg.column_facts.none_code`) read as
        missing, here and when scoring (a derivation of the column into itself); the
        values and the note for the reason.  Features the user named are used as they are."""
        code = None if col in self.requested else none_code(values)
        if code is None:
            return values, ""
        hits = values == code
        values = values.mask(hits)
        self.frame[col] = values
        self.derivations.append(Derivation(col, col, "none_code", f"{code:g}"))
        return values, (f"; {code:g} ({int(hits.sum()):,} rows, {hits.mean():.0%}) sits apart "
                        "from the other values and stands for none: read as missing")

    def _integer_codes(self, col: str, values: pd.Series, reason: str) -> None:
        """Integer codes of a category, read as text: a feature when categoricals are."""
        self.frame[col] = values.map(lambda x: str(int(x)) if pd.notna(x) else np.nan)
        if self.use_categorical and col not in self.exclude:
            self.decide(col, "category", "feature", col, reason)
            self.cat_features.append(col)
        else:
            self.decide(col, "category", "describe", col, reason)
            self.describe_cat.append(col)

    def _birth_year(self, col: str, reason: str) -> None:
        """Years of birth: the age as of the latest date of the table (or this year)."""
        year = self.age_at.year
        self._born(col, f"{reason}; turned into age as of {year}", "age", str(year))

    def _born(self, col: str, reason: str, kind: str, reference: str,
              dayfirst: bool = False) -> None:
        """A year or a date of birth: the customer's age, a feature named "Age"."""
        name = "Age"
        while name in self.frame.columns or any(d.name == name for d in self.derivations):
            name = f"{name} ({col})"
        self.derivations.append(Derivation(name, col, kind, reference, dayfirst))
        use = self._derived_use(col)
        self.decide(col, "birth_year" if kind == "age" else "date", use, name, reason)
        self.role_of[name] = "age"
        if use == "feature":
            self.features.append(name)

    def _by_role_table(self, col: str, role: str, reason: str) -> None:
        """Any other role: used as ``ROLE_TABLE`` says, unless the features were given
        (then they alone are features) or the column is excluded."""
        spec = ROLE_TABLE.get(role, Role(role, "a role given", "feature"))
        missing = float(self.frame[col].isna().mean())
        if spec.use == "dropped" and col not in self.requested:
            self.decide(col, role, "dropped", None, reason)
            return
        self.role_of[col] = spec.profile_as or role
        if col in self.requested:
            self.decide(col, role, "feature", col, reason + "; given as a feature")
            self.features.append(col)
        elif (spec.use == "describe" or col in self.exclude or self.requested
              or missing > MOSTLY_MISSING):
            why = "; describes the segments" if role != "calendar" else ""
            if spec.use != "describe" and missing > MOSTLY_MISSING:
                why = (f"; missing for {missing:.0%} of the customers: too few values to "
                       "segment on, describes the segments")
            why = "; excluded" if col in self.exclude else why
            why = "; not among the features given, describes the segments" if (
                self.requested and col not in self.exclude) else why
            self.decide(col, role, "describe", col, reason + why)
            self.describe_num.append(col)
        else:
            self.decide(col, role, "feature", col, reason)
            self.features.append(col)

    def result(self, random_state: int) -> FeatureRoles:
        """The roles found: features in the user's order, derived columns added, and (when
        the features were not given) near-duplicate features moved to describe."""
        frame, features = self.frame, self.features
        if self.requested:  # the user's order
            order = {c: i for i, c in enumerate(self.requested)}
            features.sort(key=lambda c: order.get(c, len(order)))
        if self.derivations:
            derived = derive(frame, self.derivations)
            for c in derived.columns:
                frame[c] = derived[c]
        near: list[dict[str, Any]] = []
        if not self.requested and self.infer:
            near = near_duplicates(frame, features, random_state=random_state)
            gone = {d["dropped"]: d for d in near}
            for dec in self.decisions:
                if dec.feature in gone and dec.use == "feature":
                    g = gone[dec.feature]
                    dec.use = "describe"
                    dec.role = "duplicate"
                    dec.reason += (f"; moves with {g['kept']} (Spearman r = {g['r']:.2f}): "
                                   f"dropped from the features, {g['kept']} kept; describes "
                                   "the segments")
            features = [c for c in features if c not in gone]
            self.describe_num += [c for c in gone if c not in self.describe_num]
        return FeatureRoles(decisions=self.decisions, frame=frame, features=features,
                            describe_numeric=self.describe_num,
                            describe_categorical=self.describe_cat,
                            categorical_features=self.cat_features, role_of=self.role_of,
                            derivations=self.derivations, near_duplicates=near,
                            echoes=echoes(frame, features, self.describe_num,
                                          random_state=random_state))
