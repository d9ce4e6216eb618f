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

This module is the entry point (read, clean, aggregate, report); its parts:
:mod:`~custseg.features.columns` (the roles of the columns and their inference),
:mod:`~custseg.features.customers` (the customer table and the one definition of each
feature), :mod:`~custseg.features.rfm` (the RFM scores and segments), and the private
``_source`` (reading the log into DuckDB), ``_parse`` (dates and numbers), ``_clean`` (the
lines left out, duplicates), ``_aggregate`` (per-customer aggregates) and ``_sql``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from custseg.errors import DataError, Problem, UsageError
from custseg.features._aggregate import aggregate
from custseg.features._clean import (
    Duplicates,
    Log,
    build_lines,
    check_bad_values,
    count_left_out,
    count_outside,
    create_kept,
    day_sql,
    find_duplicates,
    line_checks,
    number_exprs,
    skip_malformed,
    warn_missing,
)
from custseg.features._parse import DATE_SAMPLE_ROWS, DatePlan, plan_dates
from custseg.features._source import Source, load_csv, open_source
from custseg.features._sql import fetch_count, load_typed
from custseg.features.columns import (
    ROLE_OPTIONS,
    ROLES,
    ColumnMap,
    check_mapping,
    infer_columns,
)
from custseg.features.customers import (
    FEATURE_COLUMNS,
    MONEY_COLUMNS,
    CustomerFeatures,
    customer_table,
    customer_values,
    write_customers,
)
from custseg.features.rfm import (
    RFM_SEGMENT_NAMES,
    RFM_SEGMENTS,
    add_rfm,
    quintile_score,
    rfm_crosstab,
    rfm_scores,
    rfm_segment,
)

if TYPE_CHECKING:
    import duckdb

ProgressFn = Callable[[str, int, int], None]

#: Share of malformed lines (wrong number of fields, bad quoting) skipped with a warning;
#: more is an error (as for customer tables, see custseg.io).
MAX_MALFORMED_SHARE = 0.01
#: Share of lines whose date or amount is filled but cannot be read (e.g. ``31/31/2020``,
#: ``12k``) that is skipped with a warning; more is an error naming the column.
MAX_BAD_SHARE = 0.05
#: DuckDB's memory limit: large inputs spill to a temporary folder beyond it.
DEFAULT_MEMORY_LIMIT = "1536MB"
#: Lines per slice of the large aggregations (duplicates, orders, products): DuckDB's hash
#: tables for more distinct keys than this outgrow a 1.5 GB memory limit.
PART_LINES = 25_000_000

__all__ = [
    "DATE_SAMPLE_ROWS",
    "DEFAULT_MEMORY_LIMIT",
    "FEATURE_COLUMNS",
    "MAX_BAD_SHARE",
    "MAX_MALFORMED_SHARE",
    "MONEY_COLUMNS",
    "PART_LINES",
    "RFM_SEGMENTS",
    "RFM_SEGMENT_NAMES",
    "ROLES",
    "ROLE_OPTIONS",
    "ColumnMap",
    "CustomerFeatures",
    "ProgressFn",
    "customer_table",
    "customer_values",
    "infer_columns",
    "quintile_score",
    "rfm_crosstab",
    "rfm_scores",
    "rfm_segment",
    "transactions_to_customers",
    "write_customers",
]


@dataclass
class _Options:
    """The options of :func:`transactions_to_customers` that steer the cleaning and the
    report (``as_of`` read as a day, or None)."""

    as_of: pd.Timestamp | None
    date_format: str | None
    duplicates: str
    max_malformed_share: float
    max_bad_share: float
    checksum: bool


def transactions_to_customers(
    data: str | os.PathLike[str] | pd.DataFrame, *,
    columns: ColumnMap | dict[str, str | None] | None = None,
    as_of: str | pd.Timestamp | None = None, date_format: str | None = None,
    duplicates: str = "auto", delimiter: str | None = None, encoding: str | None = None,
    max_malformed_share: float = MAX_MALFORMED_SHARE, max_bad_share: float = MAX_BAD_SHARE,
    threads: int | None = None, memory_limit: str | None = None, checksum: bool = False,
    progress: ProgressFn | None = None,
) -> CustomerFeatures:
    """Turn a transaction log into one row of features per customer (a
    :class:`CustomerFeatures`).

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
        ``auto`` drops them when the lines carry an order id or a time of day (a double
        record) and keeps them otherwise (two equal purchases on the same day are
        plausible); either way they are counted.
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
    options = _Options(_as_of_date(as_of), date_format, duplicates, max_malformed_share,
                       max_bad_share, checksum)
    return _run(data, given, options, delimiter, encoding, threads, memory_limit, progress)


def _run(data: str | os.PathLike[str] | pd.DataFrame, given: ColumnMap, options: _Options,
         delimiter: str | None, encoding: str | None, threads: int | None,
         memory_limit: str | None, progress: ProgressFn | None) -> CustomerFeatures:
    """Open the log in a DuckDB of its own, in a temporary folder (removed after), and turn
    it into customer features."""
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="custseg-features-"))
    con = None
    try:
        con = _connect(work, threads, memory_limit)
        if progress:
            progress("read", 0, 3)
        source = open_source(con, data, delimiter, encoding, work)
        if progress:
            progress("read", 1, 3)
        return _features(con, source, given, options, work, t0, progress)
    finally:
        if con is not None:
            con.close()
        shutil.rmtree(work, ignore_errors=True)


def _connect(work: Path, threads: int | None, memory_limit: str | None
             ) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to ``work``, without extensions or progress bar."""
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
    """The ``as_of`` option as a day (None when not given); not a date is a usage error."""
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


def _load(con: duckdb.DuckDBPyConnection, source: Source, given: ColumnMap, work: Path
          ) -> tuple[Log, list[str]]:
    """Map the columns (given or inferred) and read those used into the table ``raw``;
    the log, and the roles inferred."""
    described = con.sql("DESCRIBE header" if source.kind == "csv" else "DESCRIBE src_in"
                        ).fetchall()
    types = {str(r[0]): str(r[1]) for r in described if str(r[0]) != "__row"}
    names = list(types)
    source.n_columns = len(names)
    mapping = infer_columns(names, given)
    check_mapping(names, given, mapping)
    inferred = [r for r in ROLES if getattr(mapping, r) and not getattr(given, r)]
    used = [c for c in mapping.to_dict().values() if c]
    if source.kind == "csv":
        load_csv(con, source, used, work)
    else:
        load_typed(con, types, used)
    # rows carry their number from here on: no need to keep (and buffer) their order
    con.sql("SET preserve_insertion_order = false")
    return Log(con, source, mapping, types), inferred


def _features(con: duckdb.DuckDBPyConnection, source: Source, given: ColumnMap,
              options: _Options, work: Path, t0: float, progress: ProgressFn | None
              ) -> CustomerFeatures:
    """The customer features of the log opened in ``con``: read, parse, clean, aggregate,
    then compute the features and the RFM scores, timing each step."""
    timings: dict[str, float] = {}
    log, inferred = _load(con, source, given, work)
    timings["read"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    log.n_rows = fetch_count(con, "SELECT count(*) FROM src")
    malformed = skip_malformed(log, options.max_malformed_share)
    assert log.mapping.date is not None
    plan = plan_dates(con, log.mapping.date, log.types[log.mapping.date], options.date_format)
    numbers, comma_modes = number_exprs(log)
    build_lines(log, numbers, plan.formats)
    timings["parse"] = time.perf_counter() - t1
    if progress:
        progress("read", 2, 3)
    t2 = time.perf_counter()
    checks = line_checks(log.mapping)
    counts, last_day = count_left_out(log, checks, plan, numbers, options.date_format)
    check_bad_values(log, checks.reasons, counts, plan, options.max_bad_share)
    n_valid = warn_missing(log, checks.reasons, counts)
    parts = max(1, -(-n_valid // PART_LINES))  # hash tables of a bounded size
    dups = find_duplicates(log, checks.valid, options.duplicates, parts)
    as_of = create_kept(log, checks, dups.keys, last_day, options.as_of)
    outside = count_outside(log, as_of)
    agg = aggregate(con, log.mapping, f"day < {day_sql(as_of)} AND {checks.sale}", parts,
                    work)
    timings["aggregate"] = time.perf_counter() - t2
    if progress:
        progress("read", 3, 3)
    t3 = time.perf_counter()
    customers, n_no_purchase = _customers(log, agg, as_of)
    timings["features"] = time.perf_counter() - t3
    timings["total"] = sum(timings.values())
    cleaning = {
        "lines_read": log.n_rows,
        "malformed_lines": len(malformed),
        **{f"{k}_lines" if not k.endswith("_lines") else k: v for k, v in counts.items()},
        "duplicate_lines": dups.n_lines,
        "duplicate_lines_dropped": dups.n_lines if dups.dropped else 0,
        **outside,
        "lines_used": int(customers["n_lines"].sum()),
        "customers_without_purchase": n_no_purchase,
    }
    report = _report(log, options, inferred, plan, comma_modes, dups, as_of, customers,
                     cleaning, timings)
    return CustomerFeatures(customers, log.mapping, report, log.warnings)


def _customers(log: Log, agg: pd.DataFrame, as_of: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """The customer table with its RFM scores, from the aggregates of the customers with a
    purchase (the others are left out with a warning), and how many were left out."""
    no_purchase = agg["frequency"] == 0
    n_no_purchase = int(no_purchase.sum())
    if n_no_purchase:
        log.warn(log.mapping.customer, f"{n_no_purchase} customer(s) with cancellations or "
                 "returns but no purchase before the as-of date left out", "no-purchase",
                 values=agg.loc[no_purchase, "cust"].head(20).tolist())
    agg = agg.loc[~no_purchase].reset_index(drop=True)
    if len(agg) == 0:
        raise DataError([Problem(None, "no customer with a purchase before the as-of date "
                                 f"{as_of:%Y-%m-%d}", code="no-customers")])
    customers = customer_table(agg, log.mapping, as_of)
    del agg
    add_rfm(customers, "recency_days", "frequency", "monetary")
    return customers, n_no_purchase


def _report(log: Log, options: _Options, inferred: list[str], plan: DatePlan,
            comma_modes: dict[str, str], dups: Duplicates, as_of: pd.Timestamp,
            customers: pd.DataFrame, cleaning: dict[str, int], timings: dict[str, float]
            ) -> dict[str, Any]:
    """What was read, inferred and cleaned (JSON-ready; see docs/features.md)."""
    source, mapping = log.source, log.mapping
    return {
        "input": {"path": source.path, "format": source.kind, "encoding": source.encoding,
                  "delimiter": source.delimiter, "columns": source.n_columns,
                  "sha256": source.sha256 or (_sha256(source.original) if options.checksum
                                              and source.original else None)},
        "columns": mapping.to_dict(),
        "inferred": inferred,
        "dates": {"formats": list(plan.formats), "day_first": plan.day_first,
                  "rule": plan.rule, "ambiguous": plan.ambiguous},
        "numbers": comma_modes,
        "frequency_counts": "orders" if mapping.invoice else "purchase days",
        "duplicates": {"mode": options.duplicates, "dropped": dups.dropped},
        "as_of": f"{as_of:%Y-%m-%d}",
        "as_of_given": options.as_of is not None,
        "n_customers": len(customers),
        "cleaning": cleaning,
        "rfm_segments": {k: int(v) for k, v in
                         customers["rfm_segment"].value_counts().items()},
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }


def _sha256(path: str) -> str:
    """The SHA-256 of a file."""
    from custseg.io import file_sha256

    return file_sha256(path)
