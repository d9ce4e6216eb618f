"""Column roles and data checks.

:func:`validate_table` looks at a raw customer table once, where it enters, and returns a
:class:`CheckedTable`: the roles of the columns (id, numeric, categorical, date, ignored), the
features to segment on, a typed copy of the data, and the warnings found.  When something is
wrong it raises one :class:`~custseg.errors.DataError` listing every problem together, each
with its column, a few offending values and their row numbers (1-based data rows, the header
not counted).

Rules (documented in the README, "How columns are read"):

* **numeric**: a numeric column, or a text column where at least half of the filled cells
  are numbers.  Commas: when every comma-number of a column fits thousands separators
  (``1,234``, ``12,500.5``) they are read so; otherwise a comma is a decimal comma
  (``12,5`` = 12.5).  Other cells are *junk*: well-known missing markers (``NA``, ``n/a``, ``?``,
  ``-``, ``null``...) become missing values; anything else (``12k``) is coerced to missing
  and counted, and more than ``max_junk`` of a column is an error.  Infinities are an error,
  and so are numbers beyond ±1e100 (``MAX_ABS_VALUE``), too large to compute with.
* **categorical**: text with at most 50 distinct values (or at most 5% of the rows), booleans,
  and integer codes with at most 3 distinct values from 1 (``Channel`` = 1/2; 0/1/2 are
  counts or flags, see :mod:`custseg.roles`).
* **date**: text of which at least 90% parses as dates.
* **id**: unique (exact duplicate rows aside), never missing, and identifier-like: a name
  such as ``CustomerID``, ``client_no``, ``key``; codes (``CS1112``: one word with a digit,
  not dates); or consecutive integers.  A column named like an id that is at least 90%
  unique is the id too, and its repeated values are reported as duplicated ids.
* columns without a single value (empty, or only missing markers) are dropped with a
  warning; naming one in ``features`` is an error.
* anything else (free text with many values) is ignored and said so.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"CustomerID": ["0001", "0002", "0003", "0004"],
...                     "Genre": ["Male", "Female", "Female", "Male"],
...                     "Income": ["15", "16", "?", "17"], "Score": ["39", "81", "6", "77"]})
>>> t = validate_table(raw)
>>> t.roles.id_column, t.features, t.roles.categorical
('CustomerID', ['Income', 'Score'], ['Genre'])
>>> [p.describe() for p in t.warnings]
["column 'Income': 1 value(s) written as a missing marker, read as missing: '?' (row 3)"]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from custseg.errors import DataError, Problem, UsageError
from custseg.parsing import (
    BRACKETED_NEGATIVE_PATTERN,
    CODE,
    DECIMAL_COMMA_PATTERN,
    GROUP_SEPARATOR_PATTERN,
    GROUPED_NUMBER_PATTERN,
    ID_NAME,
    MARK_PATTERN,
    MARKED_NUMBER_PATTERN,
    MAX_ABS_VALUE,
    MISSING_MARKERS,
    THOUSANDS_PATTERN,
    Parsed,
    all_missing_problem,
    comma_reading,
    constant_problem,
    filled_cells,
    hashable,
    infinite_problem,
    is_text,
    junk_problem,
    looks_like_codes,
    looks_like_dates,
    marker_problem,
    no_values,
    parse_numeric,
    too_large_problem,
    total_rows,
)
from custseg.summary import RolesDoc

#: Every public name: the rules of a cell's value and the findings about bad cells are
#: :mod:`custseg.parsing`'s, read here by the engines too.
__all__ = [
    "BRACKETED_NEGATIVE_PATTERN",
    "CODE",
    "DECIMAL_COMMA_PATTERN",
    "GROUPED_NUMBER_PATTERN",
    "GROUP_SEPARATOR_PATTERN",
    "ID_MIN_UNIQUE",
    "ID_NAME",
    "MARKED_NUMBER_PATTERN",
    "MARK_PATTERN",
    "MAX_ABS_VALUE",
    "MAX_CATEGORIES",
    "MAX_CODE_LEVELS",
    "MAX_REUSED_ID_SHARE",
    "MISSING_MARKERS",
    "THOUSANDS_PATTERN",
    "CheckedTable",
    "Roles",
    "all_missing_problem",
    "comma_reading",
    "constant_problem",
    "infinite_problem",
    "junk_problem",
    "marker_problem",
    "parse_numeric",
    "reused_ids",
    "too_large_problem",
    "total_rows",
    "validate_table",
]

MAX_CATEGORIES = 50
#: An id given to rows with different data, on at most this share of the rows, is a few
#: reused ids (a warning: the rows stay customers of their own); on more, the table is not
#: one row a customer (a transaction log, or the wrong id column): an error.
MAX_REUSED_ID_SHARE = 0.02
MAX_CODE_LEVELS = 3
#: Share of distinct values (among distinct rows) for a column named like an id to be taken
#: as the id even though some values repeat: the repeats are then reported as duplicated ids.
ID_MIN_UNIQUE = 0.9


@dataclass
class Roles:
    """The role of every column of a table."""

    id_column: str | None = None
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> RolesDoc:
        """The roles as ``summary.json`` writes them."""
        return cast(RolesDoc, asdict(self))


@dataclass
class CheckedTable:
    """A validated table: roles, features, typed data and warnings.

    Attributes
    ----------
    frame : DataFrame
        Same rows as the input (minus dropped duplicate rows); numeric columns as float64,
        categorical columns as stripped strings with missing values as NaN.
    roles : Roles
    features : list of str
        Columns to segment on: numeric features, then categorical ones when asked for.
    categorical_features : list of str
        The categorical columns among ``features`` (one-hot encoded).
    warnings : list of Problem
    cleaning : dict
        Counts for the summary: rows read, duplicate rows dropped, junk coerced per column,
        missing values per feature, columns dropped and why.
    """

    frame: pd.DataFrame
    roles: Roles
    features: list[str]
    categorical_features: list[str]
    warnings: list[Problem]
    cleaning: dict[str, Any]
    kept_rows: np.ndarray


def reused_ids(column: str, n_ids: int, n_conflicting: int, n_rows: int,
               rows: list[int] | None = None, values: list[str] | None = None) -> Problem:
    """The problem of ``n_ids`` ids given to ``n_conflicting`` rows with different data (of
    ``n_rows``): a warning, the rows kept as customers of their own, when they are at most
    :data:`MAX_REUSED_ID_SHARE` of the rows; an error above (every engine decides so).

    >>> reused_ids("key", 2, 4, 660).severity, reused_ids("key", 20, 400, 400).severity
    ('warning', 'error')
    """
    found = f"{n_ids} id(s) given to {n_conflicting} rows with different data"
    few = n_conflicting <= MAX_REUSED_ID_SHARE * n_rows
    return Problem(column, found + (": kept as customers of their own (their ids repeat in "
                                    "the segments file)" if few else
                                    "; ids must be unique (a table of several rows a customer "
                                    "is a transaction log)"),
                   rows=rows or [], values=values or [], code="duplicate-id",
                   severity="warning" if few else "error")


def _rows(mask: np.ndarray | pd.Series, limit: int = 20) -> list[int]:
    """The first data rows (1-based) where ``mask`` holds."""
    idx = np.flatnonzero(np.asarray(mask))
    return [int(i) + 1 for i in idx[:limit]]




def _infer_id(df: pd.DataFrame, numeric: dict[str, Parsed]) -> str | None:
    """The id column: never missing, identifier-like, and unique once exact duplicate rows
    are set aside.

    A column named like an id (``CustomerID``) that is almost unique (at least
    ``ID_MIN_UNIQUE`` of the distinct rows) is also the id, so that the same id given to
    different rows is reported as a duplicated id instead of going unnoticed.
    """
    n = len(df)
    if n == 0:
        return None
    distinct = ~df.duplicated(keep="first").to_numpy()
    n_distinct = int(distinct.sum())
    almost: str | None = None
    fallback: str | None = None
    for col in df.columns:
        s = df[col]
        if s.isna().any() or pd.api.types.is_bool_dtype(s):
            continue
        text = s.astype(str).str.strip() if is_text(s) else None
        if text is not None and (text == "").any():
            continue
        key = text if text is not None else s
        n_unique = int(key[distinct].nunique())
        unique = n_unique == n_distinct
        if ID_NAME.search(str(col)):
            if unique:
                return str(col)
            if almost is None and n_distinct > 1 and n_unique >= ID_MIN_UNIQUE * n_distinct:
                almost = str(col)
            continue
        if not unique or fallback is not None or n_distinct < 2:
            continue
        if col in numeric:
            values = numeric[col].values.to_numpy()
            if np.isfinite(values).all() and np.all(np.mod(values, 1) == 0):
                v = np.unique(values)
                if np.all(np.diff(v) == 1):
                    fallback = str(col)  # 1..n row numbers
        elif text is not None and looks_like_codes(text):
            fallback = str(col)  # unique codes such as CS1112
    return almost or fallback



def _require_columns(df: pd.DataFrame, names: Sequence[str] | None, option: str) -> None:
    """Refuse an option naming a column that is not in the data."""
    if not names:
        return
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise UsageError(
            f"`{option}`: column(s) {missing} not in the data. Columns in the data: "
            f"{[str(c) for c in df.columns]}",
            option,
        )



def validate_table(
    df: pd.DataFrame, *, id_col: str | None = None, features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None, categorical: Sequence[str] | None = None,
    use_categorical: bool = False, max_junk: float = 0.05, min_rows: int = 2,
    infer_roles: bool = True,
) -> CheckedTable:
    """Infer column roles, type the data and run every data check.

    Parameters
    ----------
    df : DataFrame
        The table as read (text or typed columns).  It is not modified.
    id_col : str, optional
        The customer id column; inferred when not given (``""`` means: no id column).
    features : list of str, optional
        Columns to segment on; default: every numeric column that is not the id.
    exclude : list of str, optional
        Columns never used as features.
    categorical : list of str, optional
        Columns to treat as categorical whatever their type.
    use_categorical : bool
        Also segment on the categorical columns (one-hot encoded) when ``features`` is not
        given.  By default categoricals only describe the segments.
    max_junk : float
        Largest share of non-numeric junk cells a numeric column may have; more is an error.
    min_rows : int
        Fewest customers needed (the smallest number of segments asked for).
    infer_roles : bool
        Infer an id column and integer-coded categoricals.  Off for plain arrays, whose
        columns are all numeric features.

    Raises
    ------
    UsageError
        A column named in an option is not in the data.
    DataError
        Every problem found, together.
    """
    _require_columns(df, [id_col] if id_col else None, "id_col")
    _require_columns(df, features, "features")
    _require_columns(df, exclude, "exclude")
    _require_columns(df, categorical, "categorical")
    if not 0 <= max_junk <= 1:
        raise UsageError(f"max_junk must be between 0 and 1, got {max_junk!r}", "max_junk")
    totals = total_rows(df) if infer_roles else np.zeros(len(df), dtype=bool)
    v = _Validation(_prepared(df.loc[~totals]), set(exclude or []),  # totals: not customers
                    set(categorical or []), list(features or []), infer_roles)
    v.type_columns(id_col)
    frame = v.typed_frame()
    feats = v.features(use_categorical)
    kept = v.check_features(feats, frame, max_junk)
    keep = v.check_rows(min_rows)
    v.note_totals(df, totals)
    if v.errors:
        raise DataError(v.errors)
    numeric_feats = [c for c in kept if c in v.roles.numeric]
    cat_feats = [c for c in kept if c in v.roles.categorical]
    return CheckedTable(frame=frame.loc[keep].reset_index(drop=True), roles=v.roles,
                        features=numeric_feats + cat_feats, categorical_features=cat_feats,
                        warnings=v.warns, cleaning=v.cleaning, kept_rows=np.flatnonzero(keep))


def _prepared(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of the table with text column names, its cells comparable; a repeated column
    name is an error."""
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    repeated = sorted(set(df.columns[df.columns.duplicated()]))
    if repeated:
        raise DataError([Problem(c, f"appears {int((df.columns == c).sum())} times in the "
                                 "header; column names must be unique", code="duplicate-column")
                         for c in repeated])
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = hashable(df[col])
    return df


@dataclass
class _Validation:
    """One run of :func:`validate_table`: the table and the options, the roles and the
    numbers found so far, and the findings (errors, warnings, cleaning counts)."""

    df: pd.DataFrame
    exclude: set[str]
    forced_cat: set[str]
    requested: list[str]
    infer_roles: bool
    roles: Roles = field(default_factory=Roles)
    parsed: dict[str, Parsed] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)  # columns without a single value
    errors: list[Problem] = field(default_factory=list)
    warns: list[Problem] = field(default_factory=list)
    cleaning: dict[str, Any] = field(default_factory=dict)

    def type_columns(self, id_col: str | None) -> None:
        """Find the columns without values, the numbers of every numeric column and the
        typed dates, then the id column (given, or inferred)."""
        for col in self.df.columns:
            s = self.df[col]
            if col != id_col and no_values(s):
                self.empty.append(col)
                self.roles.ignored[col] = "no values (all missing)"
                continue
            if col in self.forced_cat:
                continue
            if pd.api.types.is_bool_dtype(s):
                continue
            if pd.api.types.is_numeric_dtype(s):
                v = s.astype("float64")
                self.parsed[col] = Parsed(v, pd.Series(False, index=s.index),
                                          pd.Series(False, index=s.index), int(v.notna().sum()))
            elif pd.api.types.is_datetime64_any_dtype(s):
                self.roles.dates.append(col)
            elif is_text(s):
                p = parse_numeric(s)
                n_numbers = int(p.values.notna().sum())
                if n_numbers > 0 and n_numbers >= 0.5 * (p.n_filled - int(p.markers.sum())):
                    self.parsed[col] = p
        if id_col is None and self.infer_roles:
            id_col = _infer_id(self.df.drop(columns=self.empty), self.parsed)
        self.roles.id_column = id_col or None

    def typed_frame(self) -> pd.DataFrame:
        """The roles of the other columns and the typed table (one frame made at the end);
        the columns without values are dropped, with a warning unless excluded."""
        typed = {col: self._typed_column(col) for col in self.df.columns}
        frame = pd.DataFrame(typed, index=self.df.index, columns=list(self.df.columns))
        self.cleaning = {
            "rows_read": len(self.df),
            "duplicate_rows_dropped": 0,
            "junk_coerced": {},
            "missing_markers": {},
            "missing_values": {},
            "columns_dropped": {},
        }
        for c in self.empty:
            if c in self.requested:
                continue  # an error below
            if c not in self.exclude:
                self.warns.append(Problem(c, "has no values (all missing); dropped",
                                          code="all-missing", severity="warning"))
            self.cleaning["columns_dropped"][c] = "all missing"
        return frame

    def _typed_column(self, col: str) -> Any:
        """A column typed by its role (numbers, categories as text, or as read), its role
        noted: numeric, integer codes as categorical, categorical, dates, or ignored."""
        s = self.df[col]
        if col == self.roles.id_column or col in self.empty or col in self.roles.dates:
            return s
        if col in self.parsed:
            values = self.parsed[col].values
            if not self._is_code(col, values):
                self.roles.numeric.append(col)
                return values
            s = values.map(lambda x: str(int(x)) if pd.notna(x) else np.nan)
        if pd.api.types.is_datetime64_any_dtype(s):
            self.roles.dates.append(col)
            return s
        text = s.astype("string").str.strip()
        text = text.mask(text == "")
        n_levels = text.nunique()
        chosen = col in self.forced_cat or col in self.requested
        if chosen or (n_levels <= max(MAX_CATEGORIES, 0.05 * len(self.df))
                      and n_levels < len(self.df)):
            if not chosen and looks_like_dates(text):
                self.roles.dates.append(col)
                return s
            self.roles.categorical.append(col)
            return text.astype(object).where(text.notna(), np.nan)
        if looks_like_dates(text):
            self.roles.dates.append(col)
        else:
            self.roles.ignored[col] = f"text with {n_levels} distinct values"
        return s

    def _is_code(self, col: str, values: pd.Series) -> bool:
        """Whether a numeric column holds integer codes (2 to ``MAX_CODE_LEVELS`` levels
        from 1, not asked for as a feature, in a table of more than 10 rows a level)."""
        levels = values.dropna().unique()
        return bool(
            self.infer_roles
            and 2 <= len(levels) <= MAX_CODE_LEVELS
            and np.isfinite(levels).all()
            and np.all(np.mod(levels, 1) == 0)
            and levels.min() >= 1  # 0/1/2 are counts or flags (custseg.roles)
            and col not in self.requested
            and len(self.df) > 10 * MAX_CODE_LEVELS
        )

    def features(self, use_categorical: bool) -> list[str]:
        """The features asked for (the id, empty columns, dates and free text among them are
        errors), or every numeric column not excluded (and the categorical ones)."""
        roles, requested = self.roles, self.requested
        if not requested:
            feats = [c for c in roles.numeric if c not in self.exclude]
            if use_categorical:
                feats += [c for c in roles.categorical if c not in self.exclude]
            return feats
        feats = [c for c in requested if c != roles.id_column]
        if roles.id_column in requested:
            self.errors.append(Problem(roles.id_column, "is the id column and cannot be a "
                                       "feature", code="id-as-feature"))
        for c in feats:
            if c in self.empty:
                self.errors.append(Problem(c, "has no values (all missing)",
                                           code="all-missing"))
            elif c not in roles.numeric and c not in roles.categorical:
                where = "a date column" if c in roles.dates else "free text"
                self.errors.append(Problem(c, f"cannot be a feature: it is {where}",
                                           code="not-a-feature"))
        return [c for c in feats if c in roles.numeric or c in roles.categorical]

    def check_features(self, feats: list[str], frame: pd.DataFrame, max_junk: float
                       ) -> list[str]:
        """The features kept: those with values that are not constant; no feature left is
        an error."""
        kept = [c for c in feats if (self._check_numeric(c, frame[c], max_junk)
                                     if c in self.roles.numeric
                                     else self._check_categorical(c, frame[c]))]
        if not kept:  # every feature is numeric or categorical
            accepted = ", ".join(self.roles.numeric) or "none"
            dropped = "".join(f"; {c} dropped: {why}" for c, why in
                              self.cleaning["columns_dropped"].items())
            self.errors.append(Problem(None, "no usable numeric feature to segment on "
                                       f"(numeric columns found: {accepted}{dropped}; give "
                                       "`features`)", code="no-features"))
        return kept

    def _check_numeric(self, c: str, values: pd.Series, max_junk: float) -> bool:
        """Check a numeric feature: junk, missing markers, infinite and too large values,
        no values, a single value; whether it is kept."""
        p, raw = self.parsed[c], self.df[c]
        if p.junk.any():
            n_junk = int(p.junk.sum())
            prob = junk_problem(c, n_junk, max(p.n_filled, 1), max_junk, rows=_rows(p.junk),
                                values=raw[p.junk].astype(str).tolist()[:20])
            (self.errors if prob.severity == "error" else self.warns).append(prob)
            self.cleaning["junk_coerced"][c] = n_junk
        if p.markers.any():
            n_mark = int(p.markers.sum())
            self.warns.append(marker_problem(c, n_mark, rows=_rows(p.markers),
                                             values=raw[p.markers].astype(str).tolist()[:20]))
            self.cleaning["missing_markers"][c] = n_mark
        inf = np.isinf(values.to_numpy())
        if inf.any():
            self.errors.append(infinite_problem(c, int(inf.sum()), rows=_rows(inf),
                                                values=values[inf].tolist()[:20]))
        huge = np.abs(values.to_numpy()) > MAX_ABS_VALUE
        huge &= ~inf
        if huge.any():
            self.errors.append(too_large_problem(c, int(huge.sum()), rows=_rows(huge),
                                                 values=raw[huge].astype(str).tolist()[:20]))
        if inf.any() or huge.any():
            return False
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            prob = Problem(c, "has no values (all missing)", code="all-missing")
            if self.requested:
                self.errors.append(prob)
            else:
                prob.severity = "warning"
                prob.message += "; dropped"
                self.warns.append(prob)
                self.cleaning["columns_dropped"][c] = "all missing"
            return False
        if finite.nunique() == 1:
            self.warns.append(constant_problem(c, finite.iloc[0]))
            self.cleaning["columns_dropped"][c] = "constant"
            return False
        n_missing = int(values.isna().sum())
        if n_missing:
            self.cleaning["missing_values"][c] = n_missing
        return True

    def _check_categorical(self, c: str, col: pd.Series) -> bool:
        """Check a categorical feature: no values, a single value; whether it is kept."""
        if col.notna().sum() == 0:
            self.errors.append(Problem(c, "has no values (all missing)", code="all-missing"))
            return False
        if col.nunique() == 1:
            self.warns.append(Problem(c, "is constant; dropped", code="constant",
                                      severity="warning"))
            self.cleaning["columns_dropped"][c] = "constant"
            return False
        if col.isna().any():
            self.cleaning["missing_values"][c] = int(col.isna().sum())
        return True

    def note_totals(self, df: pd.DataFrame, totals: np.ndarray) -> None:
        """Say which totals rows (:func:`total_rows`) were left out, and count them."""
        if not totals.any():
            return
        first = filled_cells(df.iloc[int(np.flatnonzero(totals)[0])])[0]
        self.warns.append(Problem(None, f"{int(totals.sum())} totals row(s) dropped: the "
                                  f"first cell reads {first!r}, a sum of the rows, not a "
                                  "customer", rows=_rows(totals), code="totals-row",
                                  severity="warning"))
        self.cleaning["rows_read"] = len(df)
        self.cleaning["total_rows_dropped"] = int(totals.sum())

    def check_rows(self, min_rows: int) -> np.ndarray:
        """The rows kept: exact duplicate rows are dropped (with a warning), one id on
        different rows is an error, and so are fewer rows than ``min_rows``."""
        df, id_column = self.df, self.roles.id_column
        same_row = df.duplicated(keep="first").to_numpy()
        if id_column is not None:
            self._check_ids(id_column, same_row)
        keep: np.ndarray = ~same_row
        n_dup = int(same_row.sum())
        if n_dup:
            self.warns.append(Problem(id_column, f"{n_dup} duplicated row(s) dropped (same "
                                      "values as an earlier row)", rows=_rows(same_row),
                                      code="duplicate-row", severity="warning"))
            self.cleaning["duplicate_rows_dropped"] = n_dup
        n_rows = int(keep.sum())
        if n_rows < max(min_rows, 2):
            self.errors.append(Problem(None, f"only {n_rows} customer(s) ({n_rows} sample"
                                       f"{'s' if n_rows != 1 else ''}), fewer than the "
                                       f"{max(min_rows, 2)} segments asked for",
                                       code="too-few-rows"))
        return keep

    def _check_ids(self, id_column: str, same_row: np.ndarray) -> None:
        """An id given to rows with different data is an error (exact duplicates aside)."""
        ids = self.df[id_column].astype(str).str.strip()
        dup_id = ids.duplicated(keep=False).to_numpy()
        if not dup_id.any():
            return
        # number of different rows each id is given to
        versions = pd.Series(~same_row).groupby(ids.to_numpy()).transform("sum").to_numpy()
        conflicting = dup_id & (versions > 1)
        if conflicting.any():
            problem = reused_ids(id_column, ids[conflicting].nunique(),
                                 int(conflicting.sum()), len(ids), rows=_rows(conflicting),
                                 values=ids[conflicting].tolist()[:20])
            (self.warns if problem.severity == "warning" else self.errors).append(problem)
