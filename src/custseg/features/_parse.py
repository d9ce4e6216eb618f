"""How the transaction reader reads dates and numbers: the date formats and the day/month
order a column shows, the comma of its numbers, and the SQL that parses each."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from custseg.features._sql import (
    fetch_count,
    fetch_row,
    is_numeric_type,
    is_temporal_type,
    literal,
    quote,
    text_of,
)

if TYPE_CHECKING:
    import duckdb

#: Rows read to guess the date formats (every row is then parsed, and the rows that fail
#: are looked at again).
DATE_SAMPLE_ROWS = 100_000


_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p",
          "T%H:%M", "T%H:%M:%S")
_YEAR_FIRST = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")
_NAMED = ("%d-%b-%y", "%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y",
          "%d-%B-%Y", "%d/%b/%Y", "%d %b %y", "%b %d %Y", "%a, %d %b %Y", "%a %b %d %Y")
#: A date written with the year last in numbers only: day and month order to decide.
_YEAR_LAST = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})(\D|$)")


def _candidate_formats(day_first: bool) -> list[str]:
    a, b = ("%d", "%m") if day_first else ("%m", "%d")
    year_last = [f"{a}{s}{b}{s}{y}" for s in "/-." for y in ("%Y", "%y")]
    return [d + t for d in (*_YEAR_FIRST, *year_last, *_NAMED) for t in _TIMES]


@dataclass
class DatePlan:
    """How a date column is read: the strptime formats tried, the day/month order and why."""

    formats: list[str]
    day_first: bool | None
    rule: str
    ambiguous: bool = False


def date_expr(col: str, col_type: str, formats: Sequence[str]) -> str:
    """The SQL reading a date column as a timestamp (NULL where no format reads it)."""
    if is_temporal_type(col_type):
        return f"CAST({quote(col)} AS TIMESTAMP)"
    if is_numeric_type(col_type):
        return "CAST(NULL AS TIMESTAMP)"  # numbers are not dates: every value is junk
    v = text_of(col)
    if not formats:
        return "CAST(NULL AS TIMESTAMP)"
    lst = "[" + ", ".join(literal(f) for f in formats) + "]"
    return f"try_strptime({v}, {lst})"


def _year_last_example(con: duckdb.DuckDBPyConnection, col: str, seps: Sequence[str],
                       field: int) -> str | None:
    """A value written with the year last whose ``field``-th number (1 or 2) is above 12,
    or None: the first such line of the log (``__row``), so that the example, written in the
    summary, is the same on every run whatever DuckDB's threads scan first."""
    ordered = "__row" in con.sql("SELECT * FROM src LIMIT 0").columns
    row, order = (", __row", "ORDER BY __row ") if ordered else ("", "")
    for sep in seps:
        s = literal(sep)
        rows = con.sql(
            f"SELECT v FROM (SELECT {quote(col)} AS v{row} FROM src) "
            f"WHERE (v[2] = {s} OR v[3] = {s}) "
            f"AND TRY_CAST(split_part(v, {s}, {3 - field}) AS INTEGER) IS NOT NULL "
            f"AND TRY_CAST(split_part(v, {s}, {field}) AS INTEGER) > 12 {order}LIMIT 1"
        ).fetchall()
        if rows:
            return str(rows[0][0])
    return None


def _year_last_counts(con: duckdb.DuckDBPyConnection, col: str, seps: Sequence[str]
                      ) -> tuple[int, int]:
    """Values written with the year last whose first, and whose second, number is above 12."""
    n_a = n_b = 0
    for sep in seps:
        s = literal(sep)
        row = fetch_row(con, f"SELECT count(*) FILTER (a > 12), count(*) FILTER (b > 12) FROM ("
                        f"SELECT TRY_CAST(split_part(v, {s}, 1) AS INTEGER) AS a, "
                        f"TRY_CAST(split_part(v, {s}, 2) AS INTEGER) AS b FROM (SELECT "
                        f"{quote(col)} AS v FROM src) WHERE v[2] = {s} OR v[3] = {s})")
        assert row is not None
        n_a, n_b = n_a + int(row[0]), n_b + int(row[1])
    return n_a, n_b


def formats_for(con: duckdb.DuckDBPyConnection, examples: Sequence[str], day_first: bool
                 ) -> list[str]:
    """Formats reading the examples: for each example, the first candidate that reads it."""
    if not examples:
        return []
    cands = _candidate_formats(day_first)
    values = "[" + ", ".join(literal(e) for e in examples) + "]"
    tests = ", ".join(f"try_strptime(e, {literal(f)}) IS NOT NULL" for f in cands)
    rows = con.sql(f"SELECT {tests} FROM (SELECT unnest({values}) AS e)").fetchall()
    found: list[str] = []
    for ok in rows:
        for fmt, good in zip(cands, ok, strict=True):
            if good:
                if fmt not in found:
                    found.append(fmt)
                break
    return found


def shape_examples(con: duckdb.DuckDBPyConnection, col: str, where: str = "",
                    limit: int = DATE_SAMPLE_ROWS) -> list[tuple[str, int, str, str]]:
    """Shapes of the date values (digits as 9) in the first rows: (shape, count, min, max)."""
    v = text_of(col)
    sql = (f"SELECT translate(v, '0123456789', '9999999999') AS shape, count(*) AS n, "
           f"min(v), max(v) FROM (SELECT {v} AS v FROM clean {where} LIMIT {limit}) "
           f"WHERE v IS NOT NULL GROUP BY shape ORDER BY n DESC, shape LIMIT 200")
    return [(str(s), int(n), str(a), str(b)) for s, n, a, b in con.sql(sql).fetchall()]


def plan_dates(con: duckdb.DuckDBPyConnection, col: str, col_type: str,
               date_format: str | None) -> DatePlan:
    """How to read the dates of a column: the given format, or the formats its values show."""
    if is_temporal_type(col_type):
        return DatePlan([], None, f"typed {col_type.lower()} column")
    if is_numeric_type(col_type):
        return DatePlan([], None, f"a {col_type.lower()} column: numbers, not dates")
    if date_format:
        return DatePlan([date_format], None, f"`date_format='{date_format}'`")
    shapes = shape_examples(con, col)
    seps = sorted({m.group(2) for _, _, a, b in shapes for m in (_YEAR_LAST.match(a),
                                                                    _YEAR_LAST.match(b)) if m})
    day_first: bool | None = None
    ambiguous = False
    rule = "no day/month order to decide (years first or month names)"
    if seps:
        day_ex = _year_last_example(con, col, seps, 1)
        month_ex = _year_last_example(con, col, seps, 2)
        if day_ex and not month_ex:
            day_first, rule = True, (f"day first: a first number above 12 ({day_ex!r}), no "
                                     "second number above 12")
        elif month_ex and not day_ex:
            day_first, rule = False, (f"month first: a second number above 12 "
                                      f"({month_ex!r}), no first number above 12")
        elif day_ex and month_ex:
            n_a, n_b = _year_last_counts(con, col, seps)
            day_first = n_a >= n_b
            rule = (f"{'day' if day_first else 'month'} first: {n_a} values have a first "
                    f"number above 12 ({day_ex!r}) and {n_b} a second one ({month_ex!r}); "
                    "the others cannot be read")
            ambiguous = True
        else:
            day_first = seps[0] != "/"
            rule = (f"ambiguous (no number above 12): read as "
                    f"{'day' if day_first else 'month'} first, the custom for '{seps[0]}' "
                    "dates; use `date_format` to say otherwise")
            ambiguous = True
    examples = [x for _, _, a, b in shapes for x in (a, b)]
    formats = formats_for(con, examples, bool(day_first))
    return DatePlan(formats, day_first, rule, ambiguous)


# ------------------------------------------------------------------ numbers
_CURRENCY = "£$€¥₹ "
_THOUSANDS = r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$"


def comma_mode(con: duckdb.DuckDBPyConnection, col: str) -> str:
    """'thousands' when every number written with a comma fits thousands separators
    (``1,234.5``), else 'decimal' (``12,5``); 'none' when no value has a comma."""
    if not fetch_count(con, f"SELECT count(*) FROM src WHERE contains({quote(col)}, ',')"):
        return "none"
    v = f"translate({text_of(col)}, {literal(_CURRENCY)}, '')"
    n_other = fetch_count(con, f"SELECT count(*) FROM (SELECT {v} AS v FROM clean WHERE contains("
                          f"{quote(col)}, ',')) WHERE NOT regexp_full_match(v, "
                          f"{literal(_THOUSANDS[1:-1])})")
    return "decimal" if n_other else "thousands"


def number_expr(col: str, col_type: str, comma: str) -> str:
    """The SQL reading a number column (currency signs and separators as ``comma`` says)."""
    if is_numeric_type(col_type):
        x = f"CAST({quote(col)} AS DOUBLE)"
    else:
        v = text_of(col)
        if comma == "thousands":
            cleaned = f"replace(translate({v}, {literal(_CURRENCY)}, ''), ',', '')"
        elif comma == "decimal":
            c = f"translate({v}, {literal(_CURRENCY)}, '')"
            cleaned = f"CASE WHEN contains({c}, ',') THEN replace(replace({c}, '.', ''), ',', " \
                      f"'.') ELSE {c} END"
        else:
            cleaned = f"translate({v}, {literal(_CURRENCY)}, '')"
        x = f"coalesce(TRY_CAST({v} AS DOUBLE), TRY_CAST({cleaned} AS DOUBLE))"
    return f"(CASE WHEN isfinite({x}) AND abs({x}) < 1e100 THEN {x} END)"


def customer_expr(col: str, col_type: str) -> str:
    """The SQL reading a customer id as text (``17850.0`` is customer ``17850``)."""
    c = quote(col)
    if is_numeric_type(col_type):
        # 17850.0 (a float column) is customer 17850
        return (f"CASE WHEN NOT isfinite(CAST({c} AS DOUBLE)) THEN NULL "
                f"WHEN CAST({c} AS DOUBLE) = trunc(CAST({c} AS DOUBLE)) "
                f"THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END")
    v = text_of(col)
    return (f"CASE WHEN suffix({v}, '.0') AND regexp_full_match({v}, '[0-9]+\\.0+') "
            f"THEN split_part({v}, '.', 1) ELSE {v} END")

