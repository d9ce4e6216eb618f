"""From a log of transactions to one row per customer: RFM and behavioural features.

:func:`transactions_to_customers` reads a transaction log (CSV/TSV or any delimited text,
Parquet, or a DataFrame), maps its columns (customer id, date/time, amount or quantity and
unit price, optional order id and product id; given or inferred from the header), cleans it
and aggregates it, out of core, with DuckDB.  It returns a :class:`CustomerFeatures`: the
customer table (one row per customer, see ``FEATURE_COLUMNS``), the RFM scores and segments,
and a report of everything that was inferred and cleaned.  Nothing is printed.

Definitions (docs/features.md has them in full, with worked examples):

* purchase lines are kept lines that are not cancellations; a **cancellation or return** is
  a line whose order id starts with ``C`` (as in the UCI Online Retail data), whose quantity
  is negative, or, without a quantity, whose amount is negative;
* ``recency_days``: whole days from the last purchase day to the as-of date (by default the
  day after the last transaction; transactions on or after the as-of date are left out);
* ``frequency``: distinct orders (order id) among purchase lines; distinct purchase days
  when there is no order id;
* ``monetary``: net revenue, purchases minus cancellations and returns;
* ``avg_order_value`` = monetary / frequency; ``tenure_days``: days from the first purchase
  day to the as-of date;
* ``interpurchase_days_mean`` and ``interpurchase_days_cv``: mean and coefficient of variation
  (population standard deviation / mean) of the gaps between consecutive distinct purchase
  days; the mean needs 2 purchase days, the coefficient of variation 3 (else missing);
* ``distinct_products`` (with a product column): distinct products bought;
* ``return_share``: share of the customer's kept lines that are cancellations or returns;
* ``r_score``, ``f_score``, ``m_score``: 1-5 by quintile of position, ties sharing the lower
  position (see :func:`rfm_scores`); ``rfm_segment``: the R x F grid of ``RFM_SEGMENTS``.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer": ["a", "a", "b", "b", "b"],
...                    "date": ["2024-01-01", "2024-01-11", "2024-01-05", "2024-01-06",
...                             "2024-01-08"],
...                    "amount": [10.0, 30.0, 5.0, 5.0, -2.0]})
>>> result = transactions_to_customers(tx)
>>> result.report["as_of"]
'2024-01-12'
>>> cols = ["customer", "recency_days", "frequency", "monetary", "return_share"]
>>> print(result.customers[cols].to_string(index=False))
customer  recency_days  frequency  monetary  return_share
       a             1          2      40.0      0.000000
       b             6          2       8.0      0.333333
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg.errors import DataError, InputFileError, Problem, UsageError
from custseg.io import (
    EXCEL_SUFFIXES,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
    check_column_names,
    detect_delimiter,
    looks_binary,
)
from custseg.schema import MISSING_MARKERS

if TYPE_CHECKING:
    import duckdb

ProgressFn = Callable[[str, int, int], None]

#: The roles a transaction column can play, with the option that names each.
ROLES = ("customer", "date", "amount", "quantity", "price", "invoice", "product")
#: How messages name the column of each role: an entry of the ``columns`` parameter.
ROLE_OPTIONS = {role: f"`columns[{role!r}]`" for role in ROLES}
#: Share of malformed lines (wrong number of fields, bad quoting) skipped with a warning;
#: more is an error (as for customer tables, see custseg.io).
MAX_MALFORMED_SHARE = 0.01
#: Share of lines whose date or amount is filled but cannot be read (e.g. ``31/31/2020``,
#: ``12k``) that is skipped with a warning; more is an error naming the column.
MAX_BAD_SHARE = 0.05
#: Rows read to guess the date formats (every row is then parsed, and the rows that fail
#: are looked at again).
DATE_SAMPLE_ROWS = 100_000
#: Lines per slice of the large aggregations (duplicates, orders, products): DuckDB's hash
#: tables for more distinct keys than this outgrow a 1.5 GB memory limit.
PART_LINES = 25_000_000
#: DuckDB's memory limit: large inputs spill to a temporary folder beyond it.
DEFAULT_MEMORY_LIMIT = "1536MB"

#: Columns of the customer table, in order (the customer id column comes first, under its
#: input name).  ``distinct_products`` is there only when a product column is mapped.
FEATURE_COLUMNS = (
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
    "interpurchase_days_mean", "interpurchase_days_cv", "distinct_products", "return_share",
    "first_purchase", "last_purchase", "n_lines",
    "r_score", "f_score", "m_score", "rfm_score", "rfm_segment",
)
#: Money columns: log-transformed by default when segmenting.
MONEY_COLUMNS = ("monetary", "avg_order_value")

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


# ------------------------------------------------------------------ public data classes
@dataclass
class ColumnMap:
    """Which input column plays which role (``None``: absent)."""

    customer: str | None = None
    date: str | None = None
    amount: str | None = None
    quantity: str | None = None
    price: str | None = None
    invoice: str | None = None
    product: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass
class CustomerFeatures:
    """What :func:`transactions_to_customers` produced.

    Attributes
    ----------
    customers : DataFrame
        One row per customer, sorted by customer id: the customer id column (input name),
        then ``FEATURE_COLUMNS``.
    columns : ColumnMap
        The column of each role, given or inferred.
    report : dict
        What was read, inferred and cleaned (JSON-ready; see docs/features.md).
    warnings : list of Problem
        Data warnings (nothing blocking): malformed lines skipped, missing ids, bad dates...
    """

    customers: pd.DataFrame
    columns: ColumnMap
    report: dict[str, Any]
    warnings: list[Problem] = field(default_factory=list)

    @property
    def id_column(self) -> str:
        return str(self.customers.columns[0])


# ------------------------------------------------------------------ column mapping
def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


_ID_SUFFIX = r"(id|no|nr|num|number|code|key|ref)?"
#: Per role, patterns on the normalised header name (lower case, letters and digits only),
#: best first.
_ROLE_PATTERNS: dict[str, list[str]] = {
    "customer": [rf"(customer|client|cust|member|shopper|buyer|account|user){_ID_SUFFIX}",
                 r".*(customer|client).*"],
    "invoice": [rf"(invoice|inv|order|receipt|basket|ticket|transaction|trans|tran|txn|bill|"
                rf"sale|purchase){_ID_SUFFIX}", r"(invoice|order|receipt|basket).*(id|no|nr|num"
                r"|number|code)"],
    "date": [r"(date|datetime|timestamp|time|day|ts)",
             r".*(date|datetime|timestamp).*", r".*time$"],
    "quantity": [r"(quantity|qty|units|nunits|nitems|count)", r".*(quantity|qty).*"],
    "price": [r"(unitprice|price|priceeach|unitcost|priceperunit|itemprice|rate)",
              r".*price.*"],
    "amount": [r"(amount|amt|total|revenue|sales|spend|spent|value|monetary|turnover|paid|"
               r"payment|linetotal|totalprice|netamount|grossamount)",
               r".*(amount|amt|total|revenue|sales|spend|spent|value|paid|turnover).*"],
    "product": [r"(stockcode|sku|product|productid|productcode|productno|item|itemid|itemcode|"
                r"itemno|article|articleid|articleno|ean|upc|barcode)",
                r".*(product|sku|stockcode|article).*(id|no|code)?"],
}
_INFER_ORDER = ("customer", "invoice", "date", "quantity", "price", "amount", "product")


def infer_columns(names: Sequence[str], given: ColumnMap | None = None) -> ColumnMap:
    """Map header names to roles; columns named in ``given`` are kept as they are.

    >>> infer_columns(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
    ...                "UnitPrice", "CustomerID", "Country"]).to_dict()
    {'customer': 'CustomerID', 'date': 'InvoiceDate', 'amount': None, 'quantity': 'Quantity', \
'price': 'UnitPrice', 'invoice': 'InvoiceNo', 'product': 'StockCode'}
    >>> infer_columns(["customer_id", "trans_date", "tran_amount"]).to_dict()["amount"]
    'tran_amount'
    """
    given = given or ColumnMap()
    out = ColumnMap(**given.to_dict())
    used = {v for v in given.to_dict().values() if v}
    for role in _INFER_ORDER:
        if getattr(out, role):
            continue
        if role == "amount" and out.quantity and out.price:
            continue  # the line amount is quantity x price
        found = None
        for pattern in _ROLE_PATTERNS[role]:
            for name in names:
                if name in used:
                    continue
                n = _norm(name)
                if role == "price" and ("total" in n or "amount" in n):
                    continue
                if role == "date" and n.endswith(("id", "no")):
                    continue
                if re.fullmatch(pattern, n):
                    found = name
                    break
            if found:
                break
        if found:
            setattr(out, role, found)
            used.add(found)
    return out


def _check_mapping(names: Sequence[str], given: ColumnMap, mapping: ColumnMap) -> None:
    for role in ROLES:
        col = getattr(given, role)
        if col is not None and col not in names:
            raise UsageError(f"{ROLE_OPTIONS[role]}: column {col!r} is not in the data. "
                             f"Columns in the data: {list(names)}", "columns")
    chosen = [c for c in mapping.to_dict().values() if c]
    repeated = sorted({c for c in chosen if chosen.count(c) > 1})
    if repeated:
        raise UsageError(f"column(s) {repeated} given for more than one role: "
                         f"{mapping.to_dict()}", "columns")
    missing = []
    if not mapping.customer:
        missing.append(("customer id", ROLE_OPTIONS["customer"]))
    if not mapping.date:
        missing.append(("date", ROLE_OPTIONS["date"]))
    if not mapping.amount and not (mapping.quantity and mapping.price):
        missing.append(("amount (or quantity and unit price)",
                        f"{ROLE_OPTIONS['amount']}, or {ROLE_OPTIONS['quantity']} and "
                        f"{ROLE_OPTIONS['price']}"))
    if missing:
        raise DataError([Problem(None, f"no {what} column found among the columns "
                                 f"{list(names)}; name it with {opt}", code="missing-role")
                         for what, opt in missing])


# ------------------------------------------------------------------ SQL helpers
def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _lit(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


_MARKERS_SQL = ", ".join(_lit(m) for m in sorted(MISSING_MARKERS))
_TEXT_TYPES = ("VARCHAR", "BLOB")


def _text(col: str) -> str:
    """A column of the ``clean`` view: text trimmed, empty cells and missing markers NULL."""
    return _q(col)


_MAX_MARKER = max(len(m) for m in MISSING_MARKERS)


def _clean_sql(types: dict[str, str], columns: Sequence[str], source: str) -> str:
    """SELECT of the columns used from ``source``: text trimmed, with empty cells and missing
    markers (NA, ?, null...) as NULL; typed numbers and dates as they are."""
    inner, outer = ["__row"], ["__row"]
    for c in columns:
        q = _q(c)
        if _is_numeric_type(types[c]) or _is_temporal_type(types[c]):
            inner.append(q)
            outer.append(q)
        else:
            inner.append(f"trim(CAST({q} AS VARCHAR)) AS {q}")
            outer.append(f"CASE WHEN {q} = '' OR (length({q}) <= {_MAX_MARKER} AND lower({q}) "
                         f"IN ({_MARKERS_SQL})) THEN NULL ELSE {q} END AS {q}")
    return f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source})"


def _load_typed(con: duckdb.DuckDBPyConnection, types: dict[str, str],
                columns: Sequence[str]) -> None:
    """Parquet and tables: the columns used, cleaned (see :func:`_clean_sql`), into the table
    ``raw`` (read once: reading Parquet again for every pass costs more than keeping it)."""
    con.sql(f"CREATE TABLE raw AS {_clean_sql(types, columns, 'src_in')}")
    con.sql("CREATE OR REPLACE VIEW src AS SELECT * FROM raw")


def _sha256(path: str) -> str:
    from custseg.io import file_sha256

    return file_sha256(path)


def _is_numeric_type(t: str) -> bool:
    return bool(re.match(r"(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER"
                         r"|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL|REAL)", t.upper()))


def _is_temporal_type(t: str) -> bool:
    return t.upper().startswith(("TIMESTAMP", "DATE"))


# ------------------------------------------------------------------ dates
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
class _DatePlan:
    formats: list[str]
    day_first: bool | None
    rule: str
    ambiguous: bool = False


def _date_expr(col: str, col_type: str, formats: Sequence[str]) -> str:
    if _is_temporal_type(col_type):
        return f"CAST({_q(col)} AS TIMESTAMP)"
    if _is_numeric_type(col_type):
        return "CAST(NULL AS TIMESTAMP)"  # numbers are not dates: every value is junk
    v = _text(col)
    if not formats:
        return "CAST(NULL AS TIMESTAMP)"
    lst = "[" + ", ".join(_lit(f) for f in formats) + "]"
    return f"try_strptime({v}, {lst})"


def _year_last_example(con: duckdb.DuckDBPyConnection, col: str, seps: Sequence[str],
                       field: int) -> str | None:
    """A value written with the year last whose ``field``-th number (1 or 2) is above 12,
    or None.  Stops at the first one found (a full scan only when there is none)."""
    for sep in seps:
        s = _lit(sep)
        rows = con.sql(
            f"SELECT v FROM (SELECT {_q(col)} AS v FROM src) WHERE (v[2] = {s} OR v[3] = {s}) "
            f"AND TRY_CAST(split_part(v, {s}, {3 - field}) AS INTEGER) IS NOT NULL "
            f"AND TRY_CAST(split_part(v, {s}, {field}) AS INTEGER) > 12 LIMIT 1").fetchall()
        if rows:
            return str(rows[0][0])
    return None


def _year_last_counts(con: duckdb.DuckDBPyConnection, col: str, seps: Sequence[str]
                      ) -> tuple[int, int]:
    """Values written with the year last whose first, and whose second, number is above 12."""
    n_a = n_b = 0
    for sep in seps:
        s = _lit(sep)
        row = _row(con, f"SELECT count(*) FILTER (a > 12), count(*) FILTER (b > 12) FROM ("
                        f"SELECT TRY_CAST(split_part(v, {s}, 1) AS INTEGER) AS a, "
                        f"TRY_CAST(split_part(v, {s}, 2) AS INTEGER) AS b FROM (SELECT "
                        f"{_q(col)} AS v FROM src) WHERE v[2] = {s} OR v[3] = {s})")
        assert row is not None
        n_a, n_b = n_a + int(row[0]), n_b + int(row[1])
    return n_a, n_b


def _formats_for(con: duckdb.DuckDBPyConnection, examples: Sequence[str], day_first: bool
                 ) -> list[str]:
    """Formats reading the examples: for each example, the first candidate that reads it."""
    if not examples:
        return []
    cands = _candidate_formats(day_first)
    values = "[" + ", ".join(_lit(e) for e in examples) + "]"
    tests = ", ".join(f"try_strptime(e, {_lit(f)}) IS NOT NULL" for f in cands)
    rows = con.sql(f"SELECT {tests} FROM (SELECT unnest({values}) AS e)").fetchall()
    found: list[str] = []
    for ok in rows:
        for fmt, good in zip(cands, ok, strict=True):
            if good:
                if fmt not in found:
                    found.append(fmt)
                break
    return found


def _shape_examples(con: duckdb.DuckDBPyConnection, col: str, where: str = "",
                    limit: int = DATE_SAMPLE_ROWS) -> list[tuple[str, int, str, str]]:
    """Shapes of the date values (digits as 9) in the first rows: (shape, count, min, max)."""
    v = _text(col)
    sql = (f"SELECT translate(v, '0123456789', '9999999999') AS shape, count(*) AS n, "
           f"min(v), max(v) FROM (SELECT {v} AS v FROM clean {where} LIMIT {limit}) "
           f"WHERE v IS NOT NULL GROUP BY shape ORDER BY n DESC, shape LIMIT 200")
    return [(str(s), int(n), str(a), str(b)) for s, n, a, b in con.sql(sql).fetchall()]


def _plan_dates(con: duckdb.DuckDBPyConnection, col: str, col_type: str,
                date_format: str | None) -> _DatePlan:
    if _is_temporal_type(col_type):
        return _DatePlan([], None, f"typed {col_type.lower()} column")
    if _is_numeric_type(col_type):
        return _DatePlan([], None, f"a {col_type.lower()} column: numbers, not dates")
    if date_format:
        return _DatePlan([date_format], None, f"--date-format {date_format}")
    shapes = _shape_examples(con, col)
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
                    "dates; use --date-format to say otherwise")
            ambiguous = True
    examples = [x for _, _, a, b in shapes for x in (a, b)]
    formats = _formats_for(con, examples, bool(day_first))
    return _DatePlan(formats, day_first, rule, ambiguous)


# ------------------------------------------------------------------ numbers
_CURRENCY = "£$€¥₹ "
_THOUSANDS = r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$"


def _comma_mode(con: duckdb.DuckDBPyConnection, col: str) -> str:
    """'thousands' when every number written with a comma fits thousands separators
    (``1,234.5``), else 'decimal' (``12,5``); 'none' when no value has a comma."""
    if not _count(con, f"SELECT count(*) FROM src WHERE contains({_q(col)}, ',')"):
        return "none"
    v = f"translate({_text(col)}, {_lit(_CURRENCY)}, '')"
    n_other = _count(con, f"SELECT count(*) FROM (SELECT {v} AS v FROM clean WHERE contains("
                          f"{_q(col)}, ',')) WHERE NOT regexp_full_match(v, "
                          f"{_lit(_THOUSANDS[1:-1])})")
    return "decimal" if n_other else "thousands"


def _number_expr(col: str, col_type: str, comma: str) -> str:
    if _is_numeric_type(col_type):
        x = f"CAST({_q(col)} AS DOUBLE)"
    else:
        v = _text(col)
        if comma == "thousands":
            cleaned = f"replace(translate({v}, {_lit(_CURRENCY)}, ''), ',', '')"
        elif comma == "decimal":
            c = f"translate({v}, {_lit(_CURRENCY)}, '')"
            cleaned = f"CASE WHEN contains({c}, ',') THEN replace(replace({c}, '.', ''), ',', " \
                      f"'.') ELSE {c} END"
        else:
            cleaned = f"translate({v}, {_lit(_CURRENCY)}, '')"
        x = f"coalesce(TRY_CAST({v} AS DOUBLE), TRY_CAST({cleaned} AS DOUBLE))"
    return f"(CASE WHEN isfinite({x}) AND abs({x}) < 1e100 THEN {x} END)"


def _customer_expr(col: str, col_type: str) -> str:
    c = _q(col)
    if _is_numeric_type(col_type):
        # 17850.0 (a float column) is customer 17850
        return (f"CASE WHEN NOT isfinite(CAST({c} AS DOUBLE)) THEN NULL "
                f"WHEN CAST({c} AS DOUBLE) = trunc(CAST({c} AS DOUBLE)) "
                f"THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END")
    v = _text(col)
    return (f"CASE WHEN suffix({v}, '.0') AND regexp_full_match({v}, '[0-9]+\\.0+') "
            f"THEN split_part({v}, '.', 1) ELSE {v} END")


# ------------------------------------------------------------------ reading
@dataclass
class _Source:
    kind: str  # csv, parquet, dataframe (excel and jsonl files are read as dataframes)
    path: str | None
    encoding: str | None = None
    delimiter: str | None = None
    n_columns: int = 0
    rejected: dict[int, str] = field(default_factory=dict)  # line -> error type
    read_path: str | None = None  # the (transcoded) file DuckDB reads
    original: str | None = None  # the file as given
    sha256: str | None = None
    ends_with_newline: bool = True


def _transcode(src: Path, dst: Path, encoding: str) -> None:
    """Rewrite a text file as UTF-8, streaming."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        for chunk in iter(lambda: fin.read(1 << 22), b""):
            fout.write(decoder.decode(chunk))
        fout.write(decoder.decode(b"", final=True))


def _read_csv_sql(source: _Source) -> str:
    return (f"read_csv({_lit(str(source.read_path))}, all_varchar = true, header = true, "
            f"delim = {_lit(str(source.delimiter))}, quote = '\"', escape = '\"', "
            "null_padding = false")


def _open_csv(con: duckdb.DuckDBPyConnection, path: Path, delimiter: str | None,
              encoding: str | None, work: Path) -> _Source:
    """Detect the encoding and the delimiter; the file is read by :func:`_load_csv`."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        fh.seek(max(0, path.stat().st_size - 1))
        last = fh.read(1)
    if not head.strip():
        raise InputFileError(f"{path}: the file is empty", str(path))
    if looks_binary(head):
        raise InputFileError(f"{path}: is a binary file (it holds NUL bytes), not a text "
                             "table; export it as CSV, Parquet or .xlsx", str(path))
    if encoding is None and head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    if encoding is None and not head.startswith(b"\xef\xbb\xbf"):
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not a character cut at the end of the sample
                encoding = _single_byte_encoding(path)
    source = _Source("csv", str(path), encoding or "utf-8", delimiter, read_path=str(path),
                     original=str(path), ends_with_newline=last in (b"\n", b"\r"))
    if head.startswith(b"\xef\xbb\xbf") and not encoding:
        source.encoding = "utf-8-sig"
    if encoding and codecs.lookup(encoding).name != "utf-8":
        _transcode_source(source, work, encoding)
    with open(str(source.read_path), "rb") as fh:
        sample = fh.read(1 << 16).decode("utf-8", errors="replace").lstrip("\ufeff")
    if len(sample) >= (1 << 15) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    if source.delimiter is None:
        source.delimiter = detect_delimiter(
            sample, "\t" if path.suffix.lower() == ".tsv" else None)
    check_column_names(next(csv.reader(sample.splitlines()[:1], delimiter=source.delimiter,
                                       skipinitialspace=True), []), path)
    try:
        con.sql(f"CREATE VIEW header AS SELECT * FROM {_read_csv_sql(source)}, "
                "ignore_errors = true)")
        con.sql("SELECT * FROM header LIMIT 0").fetchall()
    except Exception as exc:  # duckdb raises many kinds; all mean "not readable"
        raise InputFileError(f"{path}: cannot be read as delimited text: "
                             f"{str(exc).splitlines()[0]}", str(path)) from exc
    return source


def _single_byte_encoding(path: Path) -> str:
    """cp1252 (Windows Western, where '£' and '€' are one byte) when the file decodes as
    such, else latin-1 (which decodes any byte)."""
    decoder = codecs.getincrementaldecoder("cp1252")(errors="strict")
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                decoder.decode(chunk)
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _transcode_source(source: _Source, work: Path, encoding: str) -> None:
    assert source.original is not None
    dst = work / f"transcoded-{codecs.lookup(encoding).name}.csv"
    try:
        _transcode(Path(source.original), dst, encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputFileError(f"{source.original}: cannot decode as {encoding}: {exc}",
                             source.original) from exc
    source.read_path, source.encoding = str(dst), encoding


def _load_csv(con: duckdb.DuckDBPyConnection, source: _Source, columns: Sequence[str],
              work: Path) -> None:
    """Read the columns needed into the table ``raw`` (row order kept: ``rowid`` is the data
    row), noting the malformed lines; a file that turns out not to be UTF-8 is transcoded
    and read again."""
    types = dict.fromkeys(columns, "VARCHAR")

    def scan() -> dict[int, str]:
        for table in ("raw", "rejects_err", "rejects_scan"):
            con.sql(f"DROP TABLE IF EXISTS {table}")
        reader = (f"(SELECT 0 AS __row, * FROM {_read_csv_sql(source)}, store_rejects = true, "
                  "rejects_table = 'rejects_err', rejects_scan = 'rejects_scan'))")
        con.sql(f"CREATE TABLE raw AS SELECT * EXCLUDE (__row) FROM "
                f"({_clean_sql(types, columns, reader)})")
        rows = con.sql("SELECT line, error_type, csv_line FROM rejects_err").fetchall()
        rejected: dict[int, str] = {}
        for line, kind, text in rows:
            if text is not None and not str(text).strip():
                continue  # a line of spaces: blank
            rejected.setdefault(int(line), str(kind))
        return rejected

    try:
        rejected = scan()
        if any(k in ("INVALID UNICODE", "INVALID ENCODING") for k in rejected.values()):
            assert source.original is not None
            _transcode_source(source, work, _single_byte_encoding(Path(source.original)))
            rejected = scan()
    except InputFileError:
        raise
    except Exception as exc:  # duckdb raises many kinds; all mean "not readable"
        raise InputFileError(f"{source.path}: cannot be read as delimited text: {exc}",
                             source.path) from exc
    source.rejected = rejected
    con.sql("CREATE OR REPLACE VIEW src AS SELECT rowid AS __row, * FROM raw")


def _open_source(con: duckdb.DuckDBPyConnection, data: Any, delimiter: str | None,
                 encoding: str | None, work: Path) -> _Source:
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
        frame.columns = [str(c) for c in frame.columns]
        frame.insert(0, "__row", np.arange(len(frame), dtype=np.int64))
        con.register("input_frame", frame)
        con.sql("CREATE VIEW src_in AS SELECT * FROM input_frame")
        digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=False).to_numpy()
                                .tobytes()).hexdigest()
        return _Source("dataframe", None, n_columns=frame.shape[1] - 1, sha256=digest)
    path = Path(data)
    if not path.exists():
        raise InputFileError(f"{path}: no such file", str(path))
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a file", str(path))
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: the file is empty", str(path))
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            con.sql(f"CREATE VIEW src_in AS SELECT file_row_number AS __row, * EXCLUDE "
                    f"(file_row_number) FROM read_parquet({_lit(str(path))}, "
                    "file_row_number = true)")
            con.sql("SELECT * FROM src_in LIMIT 0").fetchall()
        except Exception as exc:
            raise InputFileError(f"{path}: cannot be read as parquet: {exc}",
                                 str(path)) from exc
        return _Source("parquet", str(path), original=str(path))
    if suffix in EXCEL_SUFFIXES or suffix in JSONL_SUFFIXES or suffix == ".xls":
        from custseg.io import read_table

        frame, info = read_table(path)
        source = _open_source(con, frame, None, None, work)
        source.kind, source.path, source.original = info.format, str(path), str(path)
        return source
    return _open_csv(con, path, delimiter, encoding, work)


def _line_numbers(source: _Source, rows: Sequence[int]) -> dict[int, int]:
    """File line numbers (the header is line 1) of data rows given as 0-based indices among
    the rows read; for Parquet and tables, the 1-based row number."""
    wanted = sorted(set(int(r) for r in rows))
    if source.kind != "csv" or not wanted:
        return {r: r + 1 for r in wanted}
    out: dict[int, int] = {}
    rejected = set(source.rejected)
    assert source.read_path is not None
    with open(source.read_path, "rb") as fh:
        fh.readline()  # header
        lineno, k, i = 1, -1, 0
        for raw in fh:
            lineno += 1
            if not raw.strip() or lineno in rejected:
                continue
            k += 1
            if k == wanted[i]:
                out[k] = lineno
                i += 1
                if i == len(wanted):
                    break
    return out


# ------------------------------------------------------------------ main entry point
def _connect(work: Path, threads: int | None, memory_limit: str | None
             ) -> duckdb.DuckDBPyConnection:
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {
        "threads": int(threads or os.cpu_count() or 1),
        "memory_limit": memory_limit or DEFAULT_MEMORY_LIMIT,
        "temp_directory": str(work / "spill"),
        "preserve_insertion_order": True,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    con = duckdb.connect(":memory:", config=config)
    con.sql("SET enable_progress_bar = false")
    return con


def _as_of_date(value: Any) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"`as_of`: {value!r} is not a date; write it as YYYY-MM-DD",
                         "as_of") from exc
    if pd.isna(ts):
        raise UsageError(f"`as_of`: {value!r} is not a date; write it as YYYY-MM-DD", "as_of")
    return ts.normalize()


def transactions_to_customers(
    data: str | os.PathLike[str] | pd.DataFrame,
    *,
    columns: ColumnMap | dict[str, str | None] | None = None,
    as_of: str | pd.Timestamp | None = None,
    date_format: str | None = None,
    duplicates: str = "auto",
    delimiter: str | None = None,
    encoding: str | None = None,
    max_malformed_share: float = MAX_MALFORMED_SHARE,
    max_bad_share: float = MAX_BAD_SHARE,
    threads: int | None = None,
    memory_limit: str | None = None,
    checksum: bool = False,
    progress: ProgressFn | None = None,
) -> CustomerFeatures:
    """Turn a transaction log into one row of features per customer.

    Parameters
    ----------
    data : path or DataFrame
        Delimited text (CSV, TSV...; delimiter and encoding detected: UTF-8 with or without
        a BOM, UTF-16 with a BOM, cp1252, latin-1), Parquet, .xlsx, JSON Lines, or a
        DataFrame.  Text and Parquet are read by DuckDB, out of core.
    columns : ColumnMap or dict, optional
        Column of each role (``customer``, ``date``, ``amount``, ``quantity``, ``price``,
        ``invoice``, ``product``); the others are inferred from the header.
    as_of : date, optional
        Date the features are computed at (recency and tenure are counted to it); lines on
        or after it are left out.  Default: the day after the last transaction.
    date_format : str, optional
        strptime format of the dates (e.g. ``%d/%m/%Y %H:%M``); default: detected.
    duplicates : {"auto", "drop", "keep"}
        Exact duplicate lines (same customer, date and time, amounts, order and product):
        ``auto`` drops them when the lines carry an order id or a time of day (then a
        repeated line is a double record) and keeps them otherwise (two equal purchases on
        the same day are plausible); either way they are counted.
    delimiter, encoding : str, optional
        Override the detection for text files.
    max_malformed_share, max_bad_share : float
        Shares of malformed lines, and of unreadable dates or amounts, skipped with a
        warning; more is an error.
    threads, memory_limit : optional
        DuckDB's threads (default: every core) and memory limit (default 1536MB; beyond it
        DuckDB spills to a temporary folder).
    checksum : bool
        Also compute the SHA-256 of the input file (``report["input"]["sha256"]``; a few
        seconds a gigabyte).

    Returns
    -------
    CustomerFeatures

    Raises
    ------
    InputFileError
        The file is missing, empty, unreadable, or has too many malformed lines.
    UsageError
        An option names a column that is not in the data, or has a bad value.
    DataError
        No customer id, date or amount column; too many unreadable dates or amounts; no
        transaction left.
    """
    if duplicates not in ("auto", "drop", "keep"):
        raise UsageError(f"duplicates must be auto, drop or keep, got {duplicates!r}",
                         "duplicates")
    given = columns if isinstance(columns, ColumnMap) else ColumnMap(**(columns or {}))
    as_of_ts = _as_of_date(as_of)
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="custseg-features-"))
    con = None
    try:
        con = _connect(work, threads, memory_limit)
        if progress:
            progress("read", 0, 3)
        source = _open_source(con, data, delimiter, encoding, work)
        if progress:
            progress("read", 1, 3)
        return _features(con, source, given, as_of_ts, date_format, duplicates,
                         max_malformed_share, max_bad_share, checksum, work, t0, progress)
    finally:
        if con is not None:
            con.close()
        shutil.rmtree(work, ignore_errors=True)


def _features(con: duckdb.DuckDBPyConnection, source: _Source, given: ColumnMap,
              as_of_ts: pd.Timestamp | None, date_format: str | None, duplicates: str,
              max_malformed_share: float, max_bad_share: float, checksum: bool,
              work: Path, t0: float, progress: ProgressFn | None) -> CustomerFeatures:
    timings: dict[str, float] = {}
    t1 = time.perf_counter()
    described = con.sql("DESCRIBE header" if source.kind == "csv" else "DESCRIBE src_in"
                        ).fetchall()
    types = {str(r[0]): str(r[1]) for r in described if str(r[0]) != "__row"}
    names = list(types)
    source.n_columns = len(names)

    # -- columns
    mapping = infer_columns(names, given)
    _check_mapping(names, given, mapping)
    inferred = [r for r in ROLES if getattr(mapping, r) and not getattr(given, r)]
    used = [c for c in mapping.to_dict().values() if c]
    if source.kind == "csv":
        _load_csv(con, source, used, work)
    else:
        _load_typed(con, types, used)
    # rows carry their number from here on: no need to keep (and buffer) their order
    con.sql("SET preserve_insertion_order = false")
    timings["read"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    n_rows = _count(con, "SELECT count(*) FROM src")
    warnings: list[Problem] = []
    where = "line numbers count the header as line 1" if source.kind == "csv" else \
        "rows are 1-based data rows"

    # -- malformed lines
    malformed = sorted(source.rejected)
    n_lines = n_rows + len(malformed)
    if malformed:
        share = len(malformed) / max(n_lines, 1)
        kinds = sorted({source.rejected[ln].lower() for ln in malformed})
        if share > max_malformed_share:
            raise InputFileError(
                f"{source.path}: {len(malformed)} of {n_lines} lines ({share:.1%}, more than "
                f"the {max_malformed_share:.0%} that may be skipped) cannot be read "
                f"({', '.join(kinds)}; delimiter {source.delimiter!r}), e.g. lines "
                + ", ".join(str(ln) for ln in malformed[:5]), source.path)
        msg = (f"skipped {len(malformed)} malformed line(s) ({', '.join(kinds)}; "
               f"{where})")
        if not source.ends_with_newline and _is_last_line(source, malformed[-1]):
            msg += "; the last line is truncated (no line end, fields missing)"
        warnings.append(Problem(None, msg, rows=malformed, code="malformed-line",
                                severity="warning"))
    if n_rows == 0:
        raise InputFileError(f"{source.path}: the file has a header but no data rows",
                             source.path)
    con.sql("CREATE OR REPLACE VIEW clean AS SELECT * FROM src")

    # -- how to read dates and numbers
    assert mapping.date is not None and mapping.customer is not None
    date_col, date_type = mapping.date, types[mapping.date]
    plan = _plan_dates(con, date_col, date_type, date_format)
    numbers = {}
    comma_modes = {}
    for role in ("amount", "quantity", "price"):
        col = getattr(mapping, role)
        if col:
            mode = "none" if _is_numeric_type(types[col]) else _comma_mode(con, col)
            comma_modes[role] = mode
            numbers[role] = _number_expr(col, types[col], mode)

    def build_lines(formats: Sequence[str]) -> None:
        assert mapping.customer is not None
        inner = [
            "__row",
            f"{_customer_expr(mapping.customer, types[mapping.customer])} AS cust",
            f"{_date_expr(date_col, date_type, formats)} AS ts",
            f"{_q(date_col)} IS NULL AS date_missing",
        ]
        outer = ["__row", "cust", "ts", "date_missing"]
        for role in ("amount", "quantity", "price"):
            col = getattr(mapping, role)
            if col:
                inner += [f"{numbers[role]} AS {role}_raw", f"{_q(col)} IS NULL AS {role}_missing"]
                outer += [f"CASE WHEN isfinite({role}_raw) AND abs({role}_raw) < 1e100 "
                          f"THEN {role}_raw END AS {role}", f"{role}_missing"]
        for role in ("invoice", "product"):
            col = getattr(mapping, role)
            if col:
                inner.append(f"{_q(col)} AS {role}")
                outer.append(role)
        con.sql("DROP TABLE IF EXISTS lines")
        con.sql(f"CREATE TABLE lines AS SELECT {', '.join(outer)} FROM "
                f"(SELECT {', '.join(inner)} FROM clean)")

    build_lines(plan.formats)
    timings["parse"] = time.perf_counter() - t1
    if progress:
        progress("read", 2, 3)

    # -- cleaning, first failing reason wins
    t2 = time.perf_counter()
    value_roles = ["amount"] if mapping.amount else ["quantity", "price"]
    value_missing = " OR ".join(f"{r}_missing" for r in value_roles)
    value_bad = " OR ".join(f"({r} IS NULL AND NOT {r}_missing)" for r in value_roles)
    reasons = {
        "missing_customer": "cust IS NULL",
        "missing_date": "date_missing",
        "bad_date": "ts IS NULL",
        "missing_amount": f"({value_missing})",
        "bad_amount": f"({value_bad})",
    }
    if mapping.quantity and mapping.amount:
        reasons["bad_quantity"] = "(quantity IS NULL AND NOT quantity_missing)"
    counts_sql = []
    seen: list[str] = []
    for name, cond in reasons.items():
        prior = " AND ".join(f"NOT ({c})" for c in seen)
        counts_sql.append(f"count(*) FILTER ({cond}{' AND ' + prior if prior else ''}) "
                          f"AS {name}")
        seen.append(cond)
    valid_cond = " AND ".join(f"NOT ({c})" for c in reasons.values())
    value = "amount" if mapping.amount else "quantity * price"
    # lines that are sales, cancellations or returns (not worth 0, not an adjustment)
    sale = "value <> 0" + (" AND coalesce(price, 0) >= 0" if mapping.price else "")
    sale_line = sale.replace("value", f"({value})")
    count_sql = (f"SELECT {', '.join(counts_sql)}, max(CAST(ts AS DATE)) FILTER "
                 f"({valid_cond} AND {sale_line}) FROM lines")
    row = _row(con, count_sql)
    assert row is not None
    if row[2] and not date_format and not _is_temporal_type(date_type):
        # dates the first rows did not show: look at the shapes of those that failed
        bad_rows = "WHERE __row IN (SELECT __row FROM lines WHERE cust IS NOT NULL AND ts IS " \
                   "NULL AND NOT date_missing LIMIT 100000)"
        more = _shape_examples(con, date_col, where=bad_rows)
        extra = _formats_for(con, [x for _, _, a, b in more for x in (a, b)],
                             bool(plan.day_first))
        new = [f for f in extra if f not in plan.formats]
        if new:
            plan.formats.extend(new)
            build_lines(plan.formats)
            row = _row(con, count_sql)
            assert row is not None
    counts = dict(zip(reasons, (int(x) for x in row[:-1]), strict=True))
    last_day = row[-1]

    n_with_customer = n_rows - counts["missing_customer"]
    problems: list[Problem] = []
    for name, col, what in (("bad_date", mapping.date, "dates that cannot be read"),
                            ("bad_amount", mapping.amount or mapping.price,
                             "amounts that are not numbers"),
                            ("bad_quantity", mapping.quantity, "quantities that are not "
                                                               "numbers")):
        n = counts.get(name, 0)
        if not n:
            continue
        cond = reasons[name]
        if name == "bad_amount" and not mapping.amount:
            col = mapping.price if _count(con, "SELECT count(*) FROM lines WHERE price IS NULL "
                                               "AND NOT price_missing") else mapping.quantity
        share = n / max(n_with_customer, 1)
        rows_0 = [r for (r,) in con.sql(f"SELECT __row FROM lines WHERE {cond} AND cust IS NOT "
                                        "NULL ORDER BY __row LIMIT 20").fetchall()]
        values = _raw_values(con, col, rows_0)  # type: ignore[arg-type]
        lines = _line_numbers(source, rows_0)
        detail = f"{n} line(s) with {what}"
        if name == "bad_date":
            detail += f" (dates read as {', '.join(plan.formats) or 'none'}; {plan.rule})"
        if share > max_bad_share:
            hint = "; give the format with `date_format`" if name == "bad_date" else ""
            problems.append(Problem(col, f"{detail}: {share:.1%} of the lines, more than the "
                                    f"{max_bad_share:.0%} that may be skipped{hint} "
                                    f"({where})", rows=[lines[r] for r in rows_0],
                                    values=values, code=name.replace("_", "-")))
        else:
            warnings.append(Problem(col, f"{detail}: skipped ({where})",
                                    rows=[lines[r] for r in rows_0], values=values,
                                    code=name.replace("_", "-"), severity="warning"))
    if problems:
        raise DataError(problems)
    for name, col, what in (("missing_customer", mapping.customer, "no customer id"),
                            ("missing_date", mapping.date, "no date"),
                            ("missing_amount", mapping.amount or mapping.price,
                             "no amount" if mapping.amount else "no quantity or price")):
        n = counts[name]
        if n:
            rows_0 = [r for (r,) in con.sql(f"SELECT __row FROM lines WHERE {reasons[name]} "
                                            "ORDER BY __row LIMIT 20").fetchall()]
            lines = _line_numbers(source, rows_0)
            warnings.append(Problem(col, f"{n} line(s) with {what}: skipped ({where})",
                                    rows=[lines[r] for r in rows_0],
                                    code=name.replace("_", "-"), severity="warning"))
    n_valid = n_rows - sum(counts.values())
    if n_valid == 0:
        raise DataError([Problem(None, f"no usable transaction: of {n_rows} lines, "
                                 + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in
                                             counts.items() if v), code="no-transactions")])

    # -- value of each line, cancellations, duplicates
    cancel_parts = []
    if mapping.invoice:
        cancel_parts.append("coalesce(upper(invoice[1]) = 'C', false)")
    if mapping.quantity:
        cancel_parts.append("coalesce(quantity < 0, false)")
    if mapping.amount and not mapping.quantity:
        cancel_parts.append("amount < 0")
    cancel = " OR ".join(cancel_parts) or "false"
    key_cols = ["cust", "ts", *(r for r in ("amount", "quantity", "price", "invoice", "product")
                                if getattr(mapping, r))]
    has_time = bool(_count(con, f"SELECT count(*) FROM (SELECT ts FROM lines WHERE {valid_cond} "
                                "AND CAST(ts AS TIME) <> TIME '00:00:00' LIMIT 1)"))
    drop_dups = duplicates == "drop" or (duplicates == "auto"
                                         and (bool(mapping.invoice) or has_time))
    # exact duplicates: only lines whose hash repeats can be; the later copies are listed
    keys = ", ".join(key_cols)
    n_valid = n_rows - sum(counts.values())
    parts = max(1, -(-n_valid // PART_LINES))  # hash tables of a bounded size
    if parts == 1:
        con.sql(f"CREATE TABLE dup_hashes AS SELECT hash({keys}) AS h FROM lines WHERE "
                f"{valid_cond} GROUP BY h HAVING count(*) > 1")
    else:
        con.sql(f"CREATE TABLE line_hashes AS SELECT hash({keys}) AS h FROM lines WHERE "
                f"{valid_cond}")
        con.sql("CREATE TABLE dup_hashes (h UBIGINT)")
        for i in range(parts):
            con.sql(f"INSERT INTO dup_hashes SELECT h FROM line_hashes WHERE h % {parts} = {i} "
                    "GROUP BY h HAVING count(*) > 1")
        con.sql("DROP TABLE line_hashes")
    con.sql(f"""CREATE TABLE dup_rows AS SELECT __row FROM (
        SELECT __row, row_number() OVER (PARTITION BY {keys} ORDER BY __row) AS copy
        FROM lines WHERE {valid_cond} AND hash({keys}) IN (SELECT h FROM dup_hashes))
        WHERE copy > 1""")
    n_dup_lines = _count(con, "SELECT count(*) FROM dup_rows")
    drop = " AND __row NOT IN (SELECT __row FROM dup_rows)" if drop_dups and n_dup_lines else ""
    con.sql(f"CREATE VIEW valid AS SELECT {keys} FROM lines WHERE {valid_cond}{drop}")
    if n_dup_lines:
        rows_0 = [r for (r,) in con.sql("SELECT __row FROM dup_rows ORDER BY __row LIMIT 20"
                                        ).fetchall()]
        lines = _line_numbers(source, rows_0)
        if drop_dups:
            why = ("the lines carry an order id" if mapping.invoice else
                   "the lines carry a time of day") if duplicates == "auto" else "asked for"
            msg = f"{n_dup_lines} exact duplicate line(s) dropped ({why}; {where})"
        else:
            why = ("without an order id or a time of day, two equal purchases on the same "
                   "day are plausible; duplicates='drop' (--duplicates drop) drops them"
                   if duplicates == "auto" else "asked for")
            msg = f"{n_dup_lines} exact duplicate line(s) kept ({why}; {where})"
        warnings.append(Problem(None, msg, rows=[lines[r] for r in rows_0],
                                code="duplicate-line", severity="warning"))

    con.sql(f"""CREATE VIEW kept AS
        SELECT cust, CAST(ts AS DATE) AS day, {', '.join(c for c in key_cols[2:])},
               1 AS w, {value} AS value, ({cancel}) AS cancel
        FROM valid""")
    if last_day is None:
        raise DataError([Problem(mapping.amount or mapping.price, "no usable transaction: "
                                 "every line is worth 0 or has a negative price",
                                 code="no-transactions")])
    as_of_date = (pd.Timestamp(last_day) + pd.Timedelta(days=1)) if as_of_ts is None \
        else as_of_ts
    as_of_sql = f"DATE {_lit(as_of_date.strftime('%Y-%m-%d'))}"
    row = _row(con, f"""SELECT
            coalesce(sum(w) FILTER (day >= {as_of_sql}), 0),
            coalesce(sum(w) FILTER (day < {as_of_sql} AND value = 0), 0),
            coalesce(sum(w) FILTER (day < {as_of_sql} AND value <> 0
                                    {'AND price < 0' if mapping.price else 'AND false'}), 0),
            coalesce(sum(w) FILTER (day < {as_of_sql} AND value <> 0
                                    {'AND coalesce(price, 0) >= 0' if mapping.price else ''}
                                    AND cancel), 0)
        FROM kept""")
    assert row is not None
    after_as_of, zero_value, negative_price, cancellations = (int(x) for x in row)
    use = f"day < {as_of_sql} AND {sale}"
    if after_as_of:
        warnings.append(Problem(mapping.date, f"{after_as_of} line(s) on or after the as-of "
                                f"date {as_of_date:%Y-%m-%d} left out", code="after-as-of",
                                severity="warning"))
    if zero_value:
        warnings.append(Problem(mapping.price or mapping.amount,
                                f"{zero_value} line(s) worth 0 (zero price or amount) left out",
                                code="zero-value", severity="warning"))
    if negative_price:
        warnings.append(Problem(mapping.price, f"{negative_price} line(s) with a negative unit "
                                "price (adjustments, not sales) left out",
                                code="negative-price", severity="warning"))

    # -- per-customer features
    event = "invoice" if mapping.invoice else "day"
    product_join = ""
    if mapping.product:
        product_join = "LEFT JOIN prods USING (cust)"
    # one pass over the lines to purchase events (orders, or days), one for the products;
    # each step a table, so that DuckDB can spill every one of them
    # large logs go by slices of customers (hash of the id), so that no hash table outgrows
    # the memory limit
    def by_part(i: int) -> str:
        return "" if parts == 1 else f" AND hash(cust) % {parts} = {i}"

    for i in range(parts):
        con.sql(f"""{'CREATE TABLE events AS' if i == 0 else 'INSERT INTO events'}
            SELECT cust, {event} AS ev, min(day) FILTER (NOT cancel) AS day,
                   sum(w * CASE WHEN cancel THEN -abs(value) ELSE value END) AS net,
                   sum(w) AS n_lines, coalesce(sum(w) FILTER (cancel), 0) AS n_cancel,
                   bool_or(NOT cancel) AS purchase
            FROM kept WHERE {use}{by_part(i)} GROUP BY cust, ev""")
    con.sql("""CREATE TABLE base AS
        SELECT cust, min(day) AS first_purchase, max(day) AS last_purchase,
               sum(net) AS monetary, sum(n_lines) AS n_lines, sum(n_cancel) AS n_cancel,
               count(*) FILTER (purchase) AS frequency
        FROM events GROUP BY cust""")
    con.sql("""CREATE TABLE days AS SELECT DISTINCT cust, day FROM events WHERE purchase""")
    con.sql("DROP TABLE events")
    con.sql("""CREATE TABLE ipi AS
        SELECT cust, avg(gap) AS ipi_mean, stddev_pop(gap) AS ipi_std, count(gap) AS n_gaps
        FROM (SELECT cust, day - lag(day) OVER (PARTITION BY cust ORDER BY day) AS gap
              FROM days) GROUP BY cust""")
    con.sql("DROP TABLE days")
    if mapping.product:
        for i in range(parts):
            con.sql(f"""{'CREATE TABLE prods AS' if i == 0 else 'INSERT INTO prods'}
                SELECT cust, count(*) AS distinct_products FROM (SELECT DISTINCT cust, product
                FROM kept WHERE {use} AND NOT cancel AND product IS NOT NULL{by_part(i)})
                GROUP BY cust""")
    con.sql("DROP VIEW kept; DROP VIEW valid; DROP TABLE lines")
    query = f"""
        SELECT cust, first_purchase, last_purchase, monetary, n_lines, n_cancel, frequency,
               ipi_mean, ipi_std, coalesce(n_gaps, 0) AS n_gaps
               {', distinct_products' if mapping.product else ''}
        FROM base LEFT JOIN ipi USING (cust) {product_join}"""
    con.sql(f"CREATE TABLE joined AS {query}")
    con.sql("DROP TABLE base; DROP TABLE ipi" + ("; DROP TABLE prods" if mapping.product else ""))
    query = "SELECT * FROM joined ORDER BY cust"
    # written to a file (streamed, within the memory limit), read after DuckDB has let go of
    # its memory
    agg_path = work / "customers.parquet"
    con.sql(f"COPY ({query}) TO {_lit(str(agg_path))} (FORMAT parquet)")
    con.close()
    agg = pd.read_parquet(agg_path)
    timings["aggregate"] = time.perf_counter() - t2
    if progress:
        progress("read", 3, 3)

    t3 = time.perf_counter()
    no_purchase = agg["frequency"] == 0
    n_no_purchase = int(no_purchase.sum())
    if n_no_purchase:
        warnings.append(Problem(mapping.customer, f"{n_no_purchase} customer(s) with "
                                "cancellations or returns but no purchase before the as-of "
                                "date left out", values=agg.loc[no_purchase, "cust"].head(20)
                                .tolist(), code="no-purchase", severity="warning"))
    agg = agg.loc[~no_purchase].reset_index(drop=True)
    if len(agg) == 0:
        raise DataError([Problem(None, "no customer with a purchase before the as-of date "
                                 f"{as_of_date:%Y-%m-%d}", code="no-customers")])
    customers = _customer_table(agg, mapping, as_of_date)
    del agg
    _add_rfm(customers, "recency_days", "frequency", "monetary")
    timings["features"] = time.perf_counter() - t3
    timings["total"] = sum(timings.values())

    cleaning = {
        "lines_read": n_rows,
        "malformed_lines": len(malformed),
        **{f"{k}_lines" if not k.endswith("_lines") else k: v for k, v in counts.items()},
        "duplicate_lines": n_dup_lines,
        "duplicate_lines_dropped": n_dup_lines if drop_dups else 0,
        "after_as_of_lines": after_as_of,
        "zero_value_lines": zero_value,
        "negative_price_lines": negative_price,
        "cancellation_lines": cancellations,
        "lines_used": int(customers["n_lines"].sum()),
        "customers_without_purchase": n_no_purchase,
    }
    report = {
        "input": {"path": source.path, "format": source.kind, "encoding": source.encoding,
                  "delimiter": source.delimiter, "columns": source.n_columns,
                  "sha256": source.sha256 or (_sha256(source.original) if checksum and
                                              source.original else None)},
        "columns": mapping.to_dict(),
        "inferred": inferred,
        "dates": {"formats": list(plan.formats), "day_first": plan.day_first,
                  "rule": plan.rule, "ambiguous": plan.ambiguous},
        "numbers": comma_modes,
        "frequency_counts": "orders" if mapping.invoice else "purchase days",
        "duplicates": {"mode": duplicates, "dropped": drop_dups},
        "as_of": f"{as_of_date:%Y-%m-%d}",
        "as_of_given": as_of_ts is not None,
        "n_customers": len(customers),
        "cleaning": cleaning,
        "rfm_segments": {k: int(v) for k, v in
                         customers["rfm_segment"].value_counts().items()},
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    return CustomerFeatures(customers, mapping, report, warnings)


def _row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    rows = con.sql(sql).fetchall()
    return rows[0] if rows else None


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = _row(con, sql)
    return int(row[0]) if row and row[0] is not None else 0


def _raw_values(con: duckdb.DuckDBPyConnection, col: str, rows: Sequence[int]) -> list[Any]:
    if not rows:
        return []
    got = dict(con.sql(f"SELECT __row, CAST({_q(col)} AS VARCHAR) FROM src WHERE __row IN "
                       f"({', '.join(str(int(r)) for r in rows)})").fetchall())
    return [got.get(r) for r in rows]


def _is_last_line(source: _Source, line: int) -> bool:
    if source.read_path is None:
        return False
    with open(source.read_path, "rb") as fh:
        n = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 22), b""))
    return line == n + 1


def customer_values(first: np.ndarray, last: np.ndarray, monetary: np.ndarray,
                    frequency: np.ndarray, ipi_mean: np.ndarray, ipi_std: np.ndarray,
                    n_gaps: np.ndarray, n_cancel: np.ndarray, n_lines: np.ndarray,
                    as_of: pd.Timestamp) -> dict[str, np.ndarray]:
    """The customer features of customers with a purchase, from their aggregates (NumPy
    arrays, one entry a customer) at ``as_of``: the one definition of recency, frequency,
    monetary, average order value, tenure, inter-purchase mean and coefficient of variation
    and return share, used by :func:`customer_table` (``custseg features``) and by the
    store's live customers (:mod:`custseg.store`).

    ``first``, ``last``: first and last purchase days (datetime64); ``monetary``: net
    revenue; ``frequency``: purchase events; ``ipi_mean``, ``ipi_std``: mean and population
    standard deviation of the ``n_gaps`` gaps between purchase days (NaN without gaps);
    ``n_cancel`` of the ``n_lines`` lines are cancellations or returns.

    >>> d = np.array(["2024-01-01", "2024-01-11"], dtype="datetime64[ns]")
    >>> v = customer_values(d[:1], d[1:], np.array([40.0]), np.array([2]), np.array([10.0]),
    ...                     np.array([0.0]), np.array([1]), np.array([0]), np.array([2]),
    ...                     pd.Timestamp("2024-01-12"))
    >>> v["recency_days"], v["tenure_days"], v["avg_order_value"], v["interpurchase_days_cv"]
    (array([1]), array([11]), array([20.]), array([nan]))
    """
    day = np.timedelta64(1, "D")
    at = as_of.to_datetime64()
    monetary = np.round(np.asarray(monetary, dtype=np.float64), 6)
    frequency = np.asarray(frequency, dtype=np.int64)
    ipi_mean = np.asarray(ipi_mean, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where((np.asarray(n_gaps) >= 2) & (ipi_mean > 0),
                      np.asarray(ipi_std, dtype=np.float64) / ipi_mean, np.nan)
        share = np.asarray(n_cancel, dtype=np.float64) / np.asarray(n_lines, dtype=np.float64)
    return {
        "recency_days": ((at - last) // day).astype(np.int64),
        "frequency": frequency,
        "monetary": monetary,
        "avg_order_value": np.round(monetary / frequency, 6),
        "tenure_days": ((at - first) // day).astype(np.int64),
        "interpurchase_days_mean": np.round(ipi_mean, 6),
        "interpurchase_days_cv": np.round(cv, 6),
        "return_share": np.round(share, 6),
    }


def customer_table(agg: pd.DataFrame, mapping: ColumnMap, as_of: pd.Timestamp
                   ) -> pd.DataFrame:
    """The customer features (``FEATURE_COLUMNS`` up to ``n_lines``, without the RFM
    scores) from per-customer aggregates at ``as_of`` (:func:`customer_values`): ``agg`` has
    ``cust``, ``first_purchase``, ``last_purchase``, ``monetary``, ``n_lines``,
    ``n_cancel``, ``frequency`` (customers with a purchase only), ``ipi_mean``, ``ipi_std``
    (population), ``n_gaps`` and, when ``mapping.product`` is set, ``distinct_products``."""
    id_name = mapping.customer or "customer_id"
    if id_name in FEATURE_COLUMNS:
        id_name = "customer_id"
    first = pd.to_datetime(agg["first_purchase"])
    last = pd.to_datetime(agg["last_purchase"])

    def column(name: str, dtype: str) -> np.ndarray:
        return np.asarray(agg[name].astype(dtype).to_numpy(), dtype=dtype)

    values = customer_values(
        first.to_numpy(), last.to_numpy(), column("monetary", "float64"),
        column("frequency", "int64"), column("ipi_mean", "float64"),
        column("ipi_std", "float64"), column("n_gaps", "int64"),
        column("n_cancel", "float64"), column("n_lines", "float64"), as_of)
    share = values.pop("return_share")
    out = pd.DataFrame({id_name: agg["cust"].astype(str), **values}, index=agg.index)
    if mapping.product:
        out["distinct_products"] = agg["distinct_products"].fillna(0).astype("int64")
    out["return_share"] = share
    out["first_purchase"] = first
    out["last_purchase"] = last
    out["n_lines"] = agg["n_lines"].astype("int64")
    return out


_customer_table = customer_table


# ------------------------------------------------------------------ RFM
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
    _add_rfm(out, recency, frequency, monetary)
    return out


def _add_rfm(out: pd.DataFrame, recency: str, frequency: str, monetary: str) -> None:
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


# ------------------------------------------------------------------ writing
def write_customers(customers: pd.DataFrame, out: str | os.PathLike[str], *,
                    force: bool = False) -> Path:
    """Write the customer table as Parquet (``.parquet``/``.pq``) or CSV (any other
    ending), atomically; an existing file is refused unless ``force``."""
    from custseg.errors import OutputExistsError

    out = Path(out)
    if out.exists() and out.is_dir():
        raise OutputExistsError(f"`out` {out} is a folder; give a file name such as "
                                "customers.parquet", "out")
    if out.exists() and not force:
        raise OutputExistsError(f"`out` {out} exists; choose another name or pass `force=True` "
                                "to replace it", "out")
    from custseg.io import atomic_output_file, write_csv

    with atomic_output_file(out, force=True) as tmp:
        frame = customers.copy()
        if out.suffix.lower() in PARQUET_SUFFIXES:
            for c in ("first_purchase", "last_purchase"):
                if c in frame:
                    frame[c] = frame[c].dt.date
            frame.to_parquet(tmp, index=False)
        else:
            write_csv(frame, tmp, date_format="%Y-%m-%d")
    return out

