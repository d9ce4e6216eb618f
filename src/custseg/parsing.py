"""What a cell holds: a number (with its commas read one way or the other), a missing
marker, junk, a date, an identifier code; and the findings about bad cells (junk, markers,
infinite or too large numbers, columns without values or with one value).  The one rule of
each, used by the validation of a table (:mod:`custseg.schema`, which re-exports what the
engines use) and by every engine: the Spark engine states it in Spark SQL with
:data:`THOUSANDS_PATTERN`, :data:`DECIMAL_COMMA_PATTERN`, :func:`comma_reading` and
:data:`MISSING_MARKERS`."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from custseg.errors import Problem

#: Cells that mean "no value" (compared in lower case, trimmed): read as missing, not junk.
MISSING_MARKERS = frozenset(
    {"na", "n/a", "nan", "null", "none", "nil", "#n/a", "?", "-", "--", "missing", "unknown"}
)
#: Larger numbers are errors like infinities: squaring them (variances, distances)
#: overflows.  No real customer measure comes near.
MAX_ABS_VALUE = 1e100
#: Identifier codes: one word of letters, digits and a few separators (``CS1112``, UUIDs).
CODE = r"[A-Za-z0-9][A-Za-z0-9_\-./#:]*"


def is_text(s: pd.Series) -> bool:
    """Whether a column holds text (object or string dtype)."""
    text: bool = s.dtype == object or pd.api.types.is_string_dtype(s.dtype)
    return text


@dataclass
class Parsed:
    """A column read as numbers (:func:`parse_numeric`): the values, the junk and missing
    marker cells, and how many cells were filled."""

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
#: ("12,5" and "1.014,81", as European spreadsheets write them, groups of three set apart by
#: dots): the two readings of a comma in a number.
THOUSANDS_PATTERN = r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?"
DECIMAL_COMMA_PATTERN = r"[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+"


#: The marks of money and shares: a currency symbol, a currency's ISO code in capitals
#: ("USD", "EUR"...: as ERP exports write them), a percent sign.
_CURRENCY = r"([$€£¥₹]|(USD|EUR|GBP|JPY|CNY|INR|CHF|CAD|AUD|NZD|SEK|NOK|DKK|PLN|BRL|MXN|ZAR)\b)"
#: A number as exports write money and shares: a currency mark before or after it, or a
#: percent sign after it ("$1,234.50", "-€12", "1 200 £", "USD 1,234.50", "99.90 EUR"...
#: "12 %"); the marks (:data:`MARK_PATTERN`) are dropped before the number is read, its
#: commas as any cell's.
MARKED_NUMBER_PATTERN = (rf"[-+]?\s*{_CURRENCY}\s*[-+]?\d[\d.,]*"
                         rf"|[-+]?\d[\d.,]*\s*({_CURRENCY}|%)")
MARK_PATTERN = rf"\s*({_CURRENCY}|%)\s*"
#: A negative number as accounting formats write it, in brackets: "(1,234.50)", "($12)".
BRACKETED_NEGATIVE_PATTERN = r"\(\s*[$€£¥₹]?\s*\d[\d.,\s'’\u00a0\u202f]*\s*[$€£¥₹%]?\s*\)"
#: A number whose groups of three digits are set apart by spaces (French, Nordic exports;
#: a no-break space too) or apostrophes (Swiss): "118 676.39", "1'234.50", "12 345,6".
GROUPED_NUMBER_PATTERN = r"[-+]?\d{1,3}([ '’\u00a0\u202f]\d{3})+([.,]\d+)?"
GROUP_SEPARATOR_PATTERN = r"[ '’\u00a0\u202f]"


def without_marks(text: pd.Series) -> pd.Series:
    """The cells of ``text`` written as exports write numbers, as plain numbers: a bracketed
    negative (:data:`BRACKETED_NEGATIVE_PATTERN`) with a minus, the currency and percent
    marks of a marked number (:data:`MARKED_NUMBER_PATTERN`) dropped, and the spaces or
    apostrophes between groups of digits (:data:`GROUPED_NUMBER_PATTERN`); the other cells
    as they are.  Commas are read afterwards, as any cell's.

    >>> without_marks(pd.Series(["$1,234.50", "-€12", "12 %", "12%off", "£-3"])).tolist()
    ['1,234.50', '-12', '12', '12%off', '-3']
    >>> without_marks(pd.Series(["USD 1,234.50", "99.90 EUR", "12 USDT", "EUR"])).tolist()
    ['1,234.50', '99.90', '12 USDT', 'EUR']
    >>> without_marks(pd.Series(["(1,234.50)", "($12)", "118 676.39", "1'234", "12 34"])
    ...               ).tolist()
    ['-1,234.50', '-12', '118676.39', '1234', '12 34']
    """
    bracketed = text.str.fullmatch(BRACKETED_NEGATIVE_PATTERN, na=False)
    if bracketed.any():
        text = text.where(~bracketed, "-" + text.str.slice(1, -1).str.strip())
    marked = text.str.fullmatch(MARKED_NUMBER_PATTERN, na=False)
    if marked.any():
        text = text.where(~marked, text.str.replace(MARK_PATTERN, "", regex=True))
    grouped = text.str.fullmatch(GROUPED_NUMBER_PATTERN, na=False)
    if grouped.any():
        text = text.where(~grouped, text.str.replace(GROUP_SEPARATOR_PATTERN, "", regex=True))
    return text


def comma_reading(any_thousands: bool, any_decimal_only: bool) -> str:
    """How the commas of a column's numbers are read, from the cells a plain parse refused:
    ``"thousands"`` when some fit :data:`THOUSANDS_PATTERN` and none is only a decimal comma
    (:data:`DECIMAL_COMMA_PATTERN` but not thousands), else ``"decimal"``.

    >>> comma_reading(True, False), comma_reading(True, True), comma_reading(False, False)
    ('thousands', 'decimal', 'decimal')
    """
    return "thousands" if any_thousands and not any_decimal_only else "decimal"


def parse_numeric(s: pd.Series) -> Parsed:
    """Read a text column as numbers; report junk and missing markers.

    The one rule of what a number, a missing value and a junk cell are (every engine uses
    it: the Spark engine states it in Spark SQL with :data:`MARKED_NUMBER_PATTERN`,
    :data:`THOUSANDS_PATTERN`, :data:`DECIMAL_COMMA_PATTERN`, :func:`comma_reading` and
    :data:`MISSING_MARKERS`).

    >>> parsed = parse_numeric(pd.Series(["$1,234.50", "12", "n/a", "abc"]))
    >>> parsed.values.astype("float64").tolist(), parsed.junk.tolist()
    ([1234.5, 12.0, nan, nan], [False, False, False, True])
    >>> parse_numeric(pd.Series(["1.014,81 €", "913,90 €", "-2.000,5"])).values.tolist()
    [1014.81, 913.9, -2000.5]
    """
    fast = _arrow_numbers(s)
    if fast is not None:
        no = pd.Series(False, index=s.index)
        return Parsed(pd.Series(fast, index=s.index, name=s.name), no, no.copy(),
                       int(np.count_nonzero(~np.isnan(fast))))
    text = s.astype("string").str.strip()
    blank = text.isna() | (text == "")
    values = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
    failed = ~blank & values.isna()
    if failed.any():  # a currency or percent mark: "$1,234.50", "12%"
        unmarked = without_marks(text.where(failed))
        changed = failed & unmarked.ne(text).fillna(False)
        if changed.any():
            text = text.where(~changed, unmarked)
            values = values.where(~changed, pd.to_numeric(
                text.where(changed), errors="coerce").astype("float64"))
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
            cells = text.where(comma)
            if replacement:  # a decimal comma: the dots between groups of three go first
                cells = cells.str.replace(".", "", regex=False)
            alt = pd.to_numeric(cells.str.replace(",", replacement, regex=False),
                                errors="coerce")
            values = values.where(~comma, alt)
            failed = failed & ~comma
    markers = failed & text.str.lower().isin(MISSING_MARKERS).fillna(False)
    junk = failed & ~markers
    return Parsed(values, junk.astype(bool), markers.astype(bool), int((~blank).sum()))



#: The first cell of a row that sums the others, as spreadsheet exports add one at the end:
#: "Total", "Grand total", "Totals:", "Sum".
TOTAL_LABEL = re.compile(r"(grand\s*|sub\s*)?totals?\s*:?|sum\s*:?", re.IGNORECASE)
#: Rows at the end of a table looked at for a totals row.
TOTAL_ROWS_LOOKED_AT = 3


def total_rows(df: pd.DataFrame) -> np.ndarray:
    """The rows among the last :data:`TOTAL_ROWS_LOOKED_AT` whose first filled cell is a
    totals label (:data:`TOTAL_LABEL`): a sum (or a spreadsheet's formula for it), not a
    customer.

    >>> df = pd.DataFrame({"id": ["C1", "C2", "Total"], "spend": ["10", "5", "15"]})
    >>> total_rows(df).tolist()
    [False, False, True]
    """
    n = len(df)
    found = np.zeros(n, dtype=bool)
    for i in range(max(0, n - TOTAL_ROWS_LOOKED_AT), n):
        cells = filled_cells(df.iloc[i])
        found[i] = bool(cells) and TOTAL_LABEL.fullmatch(cells[0]) is not None
    return found


def filled_cells(row: pd.Series) -> list[str]:
    """The filled cells of a row, stripped, in column order."""
    return [str(v).strip() for v in row.tolist()
            if not (pd.api.types.is_scalar(v) and pd.isna(v)) and str(v).strip()]


def level_key(value: object) -> str:
    """The form a category's level is matched in: stripped text, a whole number without
    its ``.0`` (so the code ``1`` of a labels file, :mod:`custseg.labels`, names the level
    ``"1"`` or ``"1.0"``).

    >>> level_key(" 1.0"), level_key(2), level_key("Retail")
    ('1', '2', 'Retail')
    """
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def looks_like_dates(text: pd.Series) -> bool:
    """Whether a text column holds dates: every filled cell has a digit and at least 90% of
    the first 500 parse as dates."""
    filled = text.dropna()
    filled = filled[filled.str.strip() != ""]
    if len(filled) == 0 or not filled.str.contains(r"\d", regex=True).all():
        return False
    sample = filled.iloc[:500]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.9)


#: A column named like an identifier: ``id``/``key`` as a word (``customer_id``,
#: ``user-key``), a CamelCase ``ID``/``Id`` after a lower-case letter (``GuestID``,
#: ``policyId``; case-sensitive, so ``Paid`` or ``VALID`` are not), or a customer number.
ID_NAME = re.compile(
    r"(^|[^a-z])(id|ids|key|uuid|guid)([^a-z]|$)|(customer|client|cust|member|user|account)"
    r"[ _-]?(id|no|nr|num|number|code|key)|^(id|no|nr)$|identifier"
    r"|(?-i:[a-z0-9](ID|Id)s?(?![a-z]))",
    re.IGNORECASE,
)

def looks_like_codes(text: pd.Series) -> bool:
    """Identifier codes such as ``CS1112``: one word of letters, digits and ``_-./#:``,
    with a digit, and not dates."""
    if not text.str.fullmatch(CODE, na=False).all():
        return False
    if not text.str.contains(r"\d", regex=True, na=False).all():
        return False
    return not looks_like_dates(text)



def hashable(s: pd.Series) -> pd.Series:
    """Cells that cannot be compared (lists, dicts from JSON) as their text."""
    if s.dtype != object:
        return s
    try:
        s.factorize()  # hashes every cell
        return s
    except TypeError:
        bad = s.map(lambda v: isinstance(v, (list, dict, set)))
        return s.where(~bad, s.map(str))


def no_values(s: pd.Series) -> bool:
    """True when a column has no value at all: every cell empty, NaN or a missing marker."""
    if not is_text(s):
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


# ----------------------------------------------------------------------------- dates
def dates_dayfirst(text: pd.Series) -> bool:
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


def reference_dates(frame: pd.DataFrame, dates: Sequence[str]) -> tuple[
        dict[str, tuple[pd.Timestamp | None, bool]], pd.Timestamp | None]:
    """Per date column its latest day (None when no date reads) and whether it is written
    day first; and the latest day of them all."""
    parsed: dict[str, tuple[pd.Timestamp | None, bool]] = {}
    latest: pd.Timestamp | None = None
    for c in dates:
        dayfirst = dates_dayfirst(frame[c]) if not pd.api.types.is_datetime64_any_dtype(
            frame[c]) else False
        when = parse_dates(frame[c], dayfirst)
        top = when.max()
        top = None if pd.isna(top) else pd.Timestamp(top).normalize()
        parsed[c] = (top, dayfirst)
        if top is not None and (latest is None or top > latest):
            latest = top
    return parsed, latest
