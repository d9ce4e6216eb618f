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

import re
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from custseg.errors import DataError, Problem, UsageError
from custseg.summary import RolesDoc

MISSING_MARKERS = frozenset(
    {"na", "n/a", "nan", "null", "none", "nil", "#n/a", "?", "-", "--", "missing", "unknown"}
)
ID_NAME = re.compile(
    r"(^|[^a-z])(id|ids|key|uuid|guid)([^a-z]|$)|(customer|client|cust|member|user|account)"
    r"[ _-]?(id|no|nr|num|number|code|key)|^(id|no|nr)$|identifier",
    re.IGNORECASE,
)
MAX_CATEGORIES = 50
#: Larger numbers are errors like infinities: squaring them (variances, distances)
#: overflows.  No real customer measure comes near.
MAX_ABS_VALUE = 1e100
MAX_CODE_LEVELS = 3
#: Identifier codes: one word of letters, digits and a few separators (``CS1112``, UUIDs).
CODE = r"[A-Za-z0-9][A-Za-z0-9_\-./#:]*"
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


def _rows(mask: np.ndarray | pd.Series, limit: int = 20) -> list[int]:
    idx = np.flatnonzero(np.asarray(mask))
    return [int(i) + 1 for i in idx[:limit]]


def _is_text(s: pd.Series) -> bool:
    text: bool = s.dtype == object or pd.api.types.is_string_dtype(s.dtype)
    return text


@dataclass
class _Parsed:
    values: pd.Series  # float64
    junk: pd.Series  # bool mask: filled, not a number, not a marker
    markers: pd.Series  # bool mask: missing markers such as "?"
    n_filled: int


def _arrow_numbers(s: pd.Series) -> np.ndarray | None:
    """The numbers of an Arrow-backed text column (as read from a file) when every filled
    cell is a plain finite number, blanks as NaN; None when some cell is anything else.

    Arrow's cast reads exactly the values pandas' parser reads (both correctly rounded) at
    a fraction of the cost, which matters with thousands of columns; the cells it does
    not take (junk, markers, decimal commas, "nan", infinities) go the long way.
    """
    arr = getattr(s.array, "_pa_array", None)
    if arr is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pc.utf8_trim_whitespace(arr)
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
        numbers = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    values = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)
    nan = np.isnan(values)
    if int(nan.sum()) != numbers.null_count or np.isinf(values).any():
        return None  # "nan" or "inf" written out: a marker or an error, found below
    return values


#: Cells written with thousands separators ("1,234", "12,500.75") and with a decimal comma
#: ("12,5", as European spreadsheets write it): the two readings of a comma in a number.
THOUSANDS_PATTERN = r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?"
DECIMAL_COMMA_PATTERN = r"[-+]?\d+,\d+"


def comma_reading(any_thousands: bool, any_decimal_only: bool) -> str:
    """How the commas of a column's numbers are read, from the cells a plain parse refused:
    ``"thousands"`` when some fit :data:`THOUSANDS_PATTERN` and none is only a decimal comma
    (:data:`DECIMAL_COMMA_PATTERN` but not thousands), else ``"decimal"``.

    >>> comma_reading(True, False), comma_reading(True, True), comma_reading(False, False)
    ('thousands', 'decimal', 'decimal')
    """
    return "thousands" if any_thousands and not any_decimal_only else "decimal"


def parse_numeric(s: pd.Series) -> _Parsed:
    """Read a text column as numbers; report junk and missing markers.

    The one rule of what a number, a missing value and a junk cell are (every engine uses
    it: the Spark engine states it in Spark SQL with :data:`THOUSANDS_PATTERN`,
    :data:`DECIMAL_COMMA_PATTERN`, :func:`comma_reading` and :data:`MISSING_MARKERS`)."""
    fast = _arrow_numbers(s)
    if fast is not None:
        no = pd.Series(False, index=s.index)
        return _Parsed(pd.Series(fast, index=s.index, name=s.name), no, no.copy(),
                       int(np.count_nonzero(~np.isnan(fast))))
    text = s.astype("string").str.strip()
    blank = text.isna() | (text == "")
    values = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
    failed = ~blank & values.isna()
    if failed.any():
        candidates = text.where(failed)
        # thousands separators ("1,234", "12,500.75"), when every such cell fits them
        thousands = candidates.str.fullmatch(THOUSANDS_PATTERN, na=False)
        # otherwise a decimal comma, as European spreadsheets write it: "12,5"
        decimal = candidates.str.fullmatch(DECIMAL_COMMA_PATTERN, na=False)
        if comma_reading(bool(thousands.any()), bool((decimal & ~thousands).any())) == "thousands":
            comma, replacement = thousands, ""
        else:
            comma, replacement = decimal, "."
        if comma.any():
            alt = pd.to_numeric(text.where(comma).str.replace(",", replacement, regex=False),
                                errors="coerce")
            values = values.where(~comma, alt)
            failed = failed & ~comma
    markers = failed & text.str.lower().isin(MISSING_MARKERS).fillna(False)
    junk = failed & ~markers
    return _Parsed(values, junk.astype(bool), markers.astype(bool), int((~blank).sum()))


_parse_numeric = parse_numeric


def _looks_like_dates(text: pd.Series) -> bool:
    filled = text.dropna()
    filled = filled[filled.str.strip() != ""]
    if len(filled) == 0 or not filled.str.contains(r"\d", regex=True).all():
        return False
    sample = filled.iloc[:500]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.9)


def _looks_like_codes(text: pd.Series) -> bool:
    """Identifier codes such as ``CS1112``: one word of letters, digits and ``_-./#:``,
    with a digit, and not dates."""
    if not text.str.fullmatch(CODE, na=False).all():
        return False
    if not text.str.contains(r"\d", regex=True, na=False).all():
        return False
    return not _looks_like_dates(text)


def _infer_id(df: pd.DataFrame, numeric: dict[str, _Parsed]) -> str | None:
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
        text = s.astype(str).str.strip() if _is_text(s) else None
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
        elif text is not None and _looks_like_codes(text):
            fallback = str(col)  # unique codes such as CS1112
    return almost or fallback


def _hashable(s: pd.Series) -> pd.Series:
    """Cells that cannot be compared (lists, dicts from JSON) as their text."""
    if s.dtype != object:
        return s
    try:
        s.factorize()  # hashes every cell
        return s
    except TypeError:
        bad = s.map(lambda v: isinstance(v, (list, dict, set)))
        return s.where(~bad, s.map(str))


def _no_values(s: pd.Series) -> bool:
    """True when a column has no value at all: every cell empty, NaN or a missing marker."""
    if not _is_text(s):
        return bool(s.isna().all())
    arr = getattr(s.array, "_pa_array", None)
    if arr is not None:  # Arrow text as read from a file: one pass in Arrow
        import pyarrow as pa
        import pyarrow.compute as pc

        text = pc.utf8_lower(pc.utf8_trim_whitespace(arr))
        blank = pc.is_in(text, value_set=pa.array(["", *sorted(MISSING_MARKERS)],
                                                  type=text.type))
        filled = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(blank, True)))
        return not pc.any(filled).as_py()
    text = s.astype("string").str.strip()
    empty = text.isna() | (text == "") | text.str.lower().isin(MISSING_MARKERS).fillna(False)
    return bool(empty.all())


def junk_problem(column: str, n_junk: int, n_filled: int, max_junk: float, *,
                 rows: Sequence[int] = (), values: Sequence[Any] = ()) -> Problem:
    """The finding about a numeric column's non-numeric cells: a warning (they are read as
    missing) up to ``max_junk`` of the filled cells, an error above.

    >>> junk_problem("Age", 1, 100, 0.05, values=["12k"]).describe()
    "column 'Age': 1 non-numeric value(s) (1% of filled cells), read as missing: '12k'"
    >>> junk_problem("Age", 10, 100, 0.05).severity
    'error'
    """
    n_filled = max(n_filled, 1)
    prob = Problem(column, f"{n_junk} non-numeric value(s) ({n_junk / n_filled:.0%} of filled "
                   "cells)", rows=list(rows), values=list(values), code="junk")
    if n_junk / n_filled > max_junk:
        prob.message += (f", more than the {max_junk:.0%} accepted (`max_junk`); "
                         "numbers such as 12.5 or 1e3 are accepted")
    else:
        prob.message += ", read as missing"
        prob.severity = "warning"
    return prob


def marker_problem(column: str, n: int, *, rows: Sequence[int] = (),
                   values: Sequence[Any] = ()) -> Problem:
    """The warning about cells written as a missing marker (``NA``, ``?``...)."""
    return Problem(column, f"{n} value(s) written as a missing marker, read as missing",
                   rows=list(rows), values=list(values), code="missing-marker",
                   severity="warning")


def infinite_problem(column: str, n: int, *, rows: Sequence[int] = (),
                     values: Sequence[Any] = ()) -> Problem:
    """The error about infinite values in a numeric column."""
    return Problem(column, f"{n} infinite value(s); give finite numbers or leave the cell "
                   "empty", rows=list(rows), values=list(values), code="infinite")


def too_large_problem(column: str, n: int, *, rows: Sequence[int] = (),
                      values: Sequence[Any] = ()) -> Problem:
    """The error about values beyond :data:`MAX_ABS_VALUE`."""
    return Problem(column, f"{n} value(s) too large to compute with (beyond "
                   f"±{MAX_ABS_VALUE:g})", rows=list(rows), values=list(values),
                   code="too-large")


def all_missing_problem(column: str, *, dropped: bool = False) -> Problem:
    """The finding about a numeric column without a single value: an error, or (a column
    the user did not ask for, ``dropped``) a warning that it is left out.

    >>> all_missing_problem("Age").message, all_missing_problem("Age", dropped=True).severity
    ('has no values (all missing)', 'warning')
    """
    if dropped:
        return Problem(column, "has no values (all missing); dropped", code="all-missing",
                       severity="warning")
    return Problem(column, "has no values (all missing)", code="all-missing")


def constant_problem(column: str, value: float) -> Problem:
    """The warning about a numeric column with a single value, dropped.

    >>> constant_problem("Age", 30.0).message
    'is constant (30); dropped, it cannot tell customers apart'
    """
    return Problem(column, f"is constant ({value:g}); dropped, it cannot tell customers apart",
                   code="constant", severity="warning")


def _require_columns(df: pd.DataFrame, names: Sequence[str] | None, option: str) -> None:
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
    df: pd.DataFrame,
    *,
    id_col: str | None = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    use_categorical: bool = False,
    max_junk: float = 0.05,
    min_rows: int = 2,
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
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    repeated = sorted(set(df.columns[df.columns.duplicated()]))
    if repeated:
        raise DataError([Problem(c, f"appears {int((df.columns == c).sum())} times in the "
                                 "header; column names must be unique", code="duplicate-column")
                         for c in repeated])
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = _hashable(df[col])
    errors: list[Problem] = []
    warns: list[Problem] = []
    exclude_set = set(exclude or [])
    forced_cat = set(categorical or [])
    requested = list(features or [])

    # 1. type every column
    parsed: dict[str, _Parsed] = {}
    roles = Roles()
    empty: list[str] = []  # columns without a single value
    for col in df.columns:
        s = df[col]
        if col != id_col and _no_values(s):
            empty.append(col)
            roles.ignored[col] = "no values (all missing)"
            continue
        if col in forced_cat:
            continue
        if pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_numeric_dtype(s):
            v = s.astype("float64")
            parsed[col] = _Parsed(v, pd.Series(False, index=s.index),
                                  pd.Series(False, index=s.index), int(v.notna().sum()))
        elif pd.api.types.is_datetime64_any_dtype(s):
            roles.dates.append(col)
        elif _is_text(s):
            p = _parse_numeric(s)
            n_numbers = int(p.values.notna().sum())
            if n_numbers > 0 and n_numbers >= 0.5 * (p.n_filled - int(p.markers.sum())):
                parsed[col] = p

    # 2. the id column
    if id_col is None and infer_roles:
        id_col = _infer_id(df.drop(columns=empty), parsed)
    roles.id_column = id_col or None

    # 3. roles of the other columns (the typed columns gathered, one frame made at the end)
    typed: dict[str, Any] = {}
    for col in df.columns:
        s = df[col]
        if col == roles.id_column or col in empty:
            typed[col] = s
            continue
        if col in roles.dates:
            typed[col] = s
            continue
        if col in parsed:
            values = parsed[col].values
            levels = values.dropna().unique()
            is_code = (
                infer_roles
                and 2 <= len(levels) <= MAX_CODE_LEVELS
                and np.isfinite(levels).all()
                and np.all(np.mod(levels, 1) == 0)
                and levels.min() >= 1  # 0/1/2 are counts or flags (custseg.roles)
                and col not in requested
                and len(df) > 10 * MAX_CODE_LEVELS
            )
            if not is_code:
                roles.numeric.append(col)
                typed[col] = values
                continue
            s = values.map(lambda x: str(int(x)) if pd.notna(x) else np.nan)
        if pd.api.types.is_datetime64_any_dtype(s):
            roles.dates.append(col)
            typed[col] = s
            continue
        text = s.astype("string").str.strip()
        text = text.mask(text == "")
        n_levels = text.nunique()
        if col in forced_cat or col in requested or (n_levels <= max(
            MAX_CATEGORIES, 0.05 * len(df)
        ) and n_levels < len(df)):
            if col not in forced_cat and col not in requested and _looks_like_dates(text):
                roles.dates.append(col)
                typed[col] = s
                continue
            roles.categorical.append(col)
            typed[col] = text.astype(object).where(text.notna(), np.nan)
        elif _looks_like_dates(text):
            roles.dates.append(col)
            typed[col] = s
        else:
            roles.ignored[col] = f"text with {n_levels} distinct values"
            typed[col] = s
    frame = pd.DataFrame(typed, index=df.index, columns=list(df.columns))

    cleaning: dict[str, Any] = {
        "rows_read": len(df),
        "duplicate_rows_dropped": 0,
        "junk_coerced": {},
        "missing_markers": {},
        "missing_values": {},
        "columns_dropped": {},
    }
    for c in empty:
        if c in requested:
            continue  # an error below
        if c not in exclude_set:
            warns.append(Problem(c, "has no values (all missing); dropped", code="all-missing",
                                 severity="warning"))
        cleaning["columns_dropped"][c] = "all missing"

    # 4. features
    if requested:
        feats = [c for c in requested if c != roles.id_column]
        if roles.id_column in requested:
            errors.append(Problem(roles.id_column, "is the id column and cannot be a feature",
                                  code="id-as-feature"))
        for c in feats:
            if c in empty:
                errors.append(Problem(c, "has no values (all missing)", code="all-missing"))
            elif c not in roles.numeric and c not in roles.categorical:
                where = "a date column" if c in roles.dates else "free text"
                errors.append(Problem(c, f"cannot be a feature: it is {where}",
                                      code="not-a-feature"))
        feats = [c for c in feats if c in roles.numeric or c in roles.categorical]
    else:
        feats = [c for c in roles.numeric if c not in exclude_set]
        if use_categorical:
            feats += [c for c in roles.categorical if c not in exclude_set]

    # 5. checks on numeric features
    kept: list[str] = []
    for c in feats:
        if c in roles.numeric:
            p = parsed[c]
            values = frame[c]
            n_junk = int(p.junk.sum())
            n_filled = max(p.n_filled, 1)
            if n_junk:
                junk_vals = df[c][p.junk].astype(str).tolist()
                prob = junk_problem(c, n_junk, n_filled, max_junk, rows=_rows(p.junk),
                                    values=junk_vals[:20])
                (errors if prob.severity == "error" else warns).append(prob)
                cleaning["junk_coerced"][c] = n_junk
            if p.markers.any():
                n_mark = int(p.markers.sum())
                warns.append(marker_problem(c, n_mark, rows=_rows(p.markers),
                                            values=df[c][p.markers].astype(str).tolist()[:20]))
                cleaning["missing_markers"][c] = n_mark
            inf = np.isinf(values.to_numpy())
            if inf.any():
                errors.append(infinite_problem(c, int(inf.sum()), rows=_rows(inf),
                                               values=values[inf].tolist()[:20]))
            huge = np.abs(values.to_numpy()) > MAX_ABS_VALUE
            huge &= ~inf
            if huge.any():
                errors.append(too_large_problem(c, int(huge.sum()), rows=_rows(huge),
                                                values=df[c][huge].astype(str).tolist()[:20]))
            if inf.any() or huge.any():
                continue
            finite = values[np.isfinite(values)]
            if len(finite) == 0:
                prob = Problem(c, "has no values (all missing)", code="all-missing")
                if requested:
                    errors.append(prob)
                else:
                    prob.severity = "warning"
                    prob.message += "; dropped"
                    warns.append(prob)
                    cleaning["columns_dropped"][c] = "all missing"
                continue
            if finite.nunique() == 1:
                warns.append(constant_problem(c, finite.iloc[0]))
                cleaning["columns_dropped"][c] = "constant"
                continue
            n_missing = int(values.isna().sum())
            if n_missing:
                cleaning["missing_values"][c] = n_missing
        else:
            col = frame[c]
            if col.notna().sum() == 0:
                errors.append(Problem(c, "has no values (all missing)", code="all-missing"))
                continue
            if col.nunique() == 1:
                warns.append(Problem(c, "is constant; dropped", code="constant",
                                     severity="warning"))
                cleaning["columns_dropped"][c] = "constant"
                continue
            if col.isna().any():
                cleaning["missing_values"][c] = int(col.isna().sum())
        kept.append(c)

    numeric_feats = [c for c in kept if c in roles.numeric]
    cat_feats = [c for c in kept if c in roles.categorical]
    if not numeric_feats and not cat_feats:
        accepted = ", ".join(roles.numeric) or "none"
        dropped = "".join(f"; {c} dropped: {why}" for c, why in
                          cleaning["columns_dropped"].items())
        errors.append(Problem(None, "no usable numeric feature to segment on (numeric "
                              f"columns found: {accepted}{dropped}; give `features`)",
                              code="no-features"))

    # 6. duplicates: exact duplicate rows are dropped; one id on different rows is an error
    same_row = df.duplicated(keep="first").to_numpy()
    if roles.id_column is not None:
        ids = df[roles.id_column].astype(str).str.strip()
        dup_id = ids.duplicated(keep=False).to_numpy()
        if dup_id.any():
            # number of different rows each id is given to
            versions = pd.Series(~same_row).groupby(ids.to_numpy()).transform("sum").to_numpy()
            conflicting = dup_id & (versions > 1)
            if conflicting.any():
                n_ids = ids[conflicting].nunique()
                errors.append(Problem(roles.id_column,
                                      f"{n_ids} id(s) given to {int(conflicting.sum())} rows "
                                      "with different data; ids must be unique",
                                      rows=_rows(conflicting),
                                      values=ids[conflicting].tolist()[:20],
                                      code="duplicate-id"))
    keep = ~same_row
    n_dup = int((~keep).sum())
    if n_dup:
        warns.append(Problem(roles.id_column, f"{n_dup} duplicated row(s) dropped (same "
                             "values as an earlier row)", rows=_rows(~keep),
                             code="duplicate-row", severity="warning"))
        cleaning["duplicate_rows_dropped"] = n_dup

    n_rows = int(keep.sum())
    if n_rows < max(min_rows, 2):
        errors.append(Problem(None, f"only {n_rows} customer(s) ({n_rows} sample"
                              f"{'s' if n_rows != 1 else ''}), fewer than the "
                              f"{max(min_rows, 2)} segments asked for", code="too-few-rows"))

    if errors:
        raise DataError(errors)
    frame = frame.loc[keep].reset_index(drop=True)
    return CheckedTable(
        frame=frame,
        roles=roles,
        features=numeric_feats + cat_feats,
        categorical_features=cat_feats,
        warnings=warns,
        cleaning=cleaning,
        kept_rows=np.flatnonzero(keep),
    )
