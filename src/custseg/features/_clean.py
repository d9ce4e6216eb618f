"""Cleaning a transaction log once it is read (:mod:`custseg.features._source`): the table
``lines`` of parsed values, the lines left out and why (the first failing reason wins),
exact duplicates, and the view ``kept`` of the lines the features are computed from.  Each
step adds its warnings to the :class:`Log`; too many bad lines is an error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from custseg.errors import DataError, InputFileError, Problem
from custseg.features._parse import (
    DatePlan,
    comma_mode,
    customer_expr,
    date_expr,
    formats_for,
    number_expr,
    shape_examples,
)
from custseg.features._source import Source, is_last_line, line_numbers
from custseg.features._sql import (
    fetch_count,
    fetch_row,
    is_numeric_type,
    is_temporal_type,
    literal,
    quote,
    raw_values,
)
from custseg.features.columns import CANCELLED_ORDER, ColumnMap

if TYPE_CHECKING:
    import duckdb


@dataclass
class Log:
    """A transaction log being cleaned: the connection holding it, its source, the column of
    each role and its input type, its number of rows, and the warnings so far."""

    con: duckdb.DuckDBPyConnection
    source: Source
    mapping: ColumnMap
    types: dict[str, str]
    n_rows: int = 0
    warnings: list[Problem] = field(default_factory=list)

    @property
    def where(self) -> str:
        """How the messages count lines."""
        return "line numbers count the header as line 1" if self.source.kind == "csv" else \
            "rows are 1-based data rows"

    def first_rows(self, cond: str) -> list[int]:
        """The first 20 rows (0-based) of ``lines`` that meet a condition."""
        return [r for (r,) in self.con.sql(f"SELECT __row FROM lines WHERE {cond} "
                                           "ORDER BY __row LIMIT 20").fetchall()]

    def warn(self, column: str | None, message: str, code: str, **more: Any) -> None:
        """Add a warning."""
        self.warnings.append(Problem(column, message, code=code, severity="warning", **more))


@dataclass
class LineChecks:
    """Why a line of ``lines`` is left out (``reasons``: name -> SQL condition, the first
    that holds wins), the condition of a valid line, the SQL of a line's value, and of a
    sale, cancellation or return (``sale``, on the column ``value``)."""

    reasons: dict[str, str]
    valid: str
    value: str
    sale: str

    def count_sql(self) -> str:
        """The lines left out for each reason, and the last day of a valid sale."""
        counts_sql = []
        seen: list[str] = []
        for name, cond in self.reasons.items():
            prior = " AND ".join(f"NOT ({c})" for c in seen)
            counts_sql.append(f"count(*) FILTER ({cond}{' AND ' + prior if prior else ''}) "
                              f"AS {name}")
            seen.append(cond)
        sale_line = self.sale.replace("value", f"({self.value})")
        return (f"SELECT {', '.join(counts_sql)}, max(CAST(ts AS DATE)) FILTER "
                f"({self.valid} AND {sale_line}) FROM lines")


@dataclass
class Duplicates:
    """The exact duplicate lines: the columns compared, how many, and whether dropped."""

    keys: list[str]
    n_lines: int
    dropped: bool


def skip_malformed(log: Log, max_share: float) -> list[int]:
    """The malformed lines (sorted), skipped with a warning; more than ``max_share`` of the
    lines, or no data row at all, is an error.  Creates the view ``clean``."""
    source = log.source
    malformed = sorted(source.rejected)
    n_lines = log.n_rows + len(malformed)
    if malformed:
        share = len(malformed) / max(n_lines, 1)
        kinds = sorted({source.rejected[ln].lower() for ln in malformed})
        if share > max_share:
            raise InputFileError(
                f"{source.path}: {len(malformed)} of {n_lines} lines ({share:.1%}, more than "
                f"the {max_share:.0%} that may be skipped) cannot be read "
                f"({', '.join(kinds)}; delimiter {source.delimiter!r}), e.g. lines "
                + ", ".join(str(ln) for ln in malformed[:5]), source.path)
        msg = (f"skipped {len(malformed)} malformed line(s) ({', '.join(kinds)}; "
               f"{log.where})")
        if not source.ends_with_newline and is_last_line(source, malformed[-1]):
            msg += "; the last line is truncated (no line end, fields missing)"
        log.warn(None, msg, "malformed-line", rows=malformed)
    if log.n_rows == 0:
        raise InputFileError(f"{source.path}: the file has a header but no data rows",
                             source.path)
    log.con.sql("CREATE OR REPLACE VIEW clean AS SELECT * FROM src")
    return malformed


def number_exprs(log: Log) -> tuple[dict[str, str], dict[str, str]]:
    """Per number role (amount, quantity, price) mapped: the SQL reading it, and the comma
    mode of its text ("none" for typed numbers)."""
    numbers = {}
    comma_modes = {}
    for role in ("amount", "quantity", "price"):
        col = getattr(log.mapping, role)
        if col:
            mode = "none" if is_numeric_type(log.types[col]) else comma_mode(log.con, col)
            comma_modes[role] = mode
            numbers[role] = number_expr(col, log.types[col], mode)
    return numbers, comma_modes


def build_lines(log: Log, numbers: dict[str, str], formats: Sequence[str]) -> None:
    """(Re)create the table ``lines``: each row's customer id, timestamp, numbers, order and
    product, read from the view ``clean``, and whether each was missing."""
    mapping, types = log.mapping, log.types
    assert mapping.customer is not None and mapping.date is not None
    date_col = mapping.date
    inner = [
        "__row",
        f"{customer_expr(mapping.customer, types[mapping.customer])} AS cust",
        f"{date_expr(date_col, types[date_col], formats)} AS ts",
        f"{quote(date_col)} IS NULL AS date_missing",
    ]
    outer = ["__row", "cust", "ts", "date_missing"]
    for role in ("amount", "quantity", "price"):
        col = getattr(mapping, role)
        if col:
            inner += [f"{numbers[role]} AS {role}_raw", f"{quote(col)} IS NULL AS {role}_missing"]
            outer += [f"CASE WHEN isfinite({role}_raw) AND abs({role}_raw) < 1e100 "
                      f"THEN {role}_raw END AS {role}", f"{role}_missing"]
    for role in ("invoice", "product"):
        col = getattr(mapping, role)
        if col:
            inner.append(f"{quote(col)} AS {role}")
            outer.append(role)
    log.con.sql("DROP TABLE IF EXISTS lines")
    log.con.sql(f"CREATE TABLE lines AS SELECT {', '.join(outer)} FROM "
                f"(SELECT {', '.join(inner)} FROM clean)")


def line_checks(mapping: ColumnMap) -> LineChecks:
    """The reasons a line is left out, in order, and the SQL of a valid line and its value."""
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
    valid = " AND ".join(f"NOT ({c})" for c in reasons.values())
    value = "amount" if mapping.amount else "quantity * price"
    # lines that are sales, cancellations or returns (not worth 0, not an adjustment)
    sale = "value <> 0" + (" AND coalesce(price, 0) >= 0" if mapping.price else "")
    return LineChecks(reasons, valid, value, sale)


def count_left_out(log: Log, checks: LineChecks, plan: DatePlan, numbers: dict[str, str],
                   date_format: str | None) -> tuple[dict[str, int], Any]:
    """The lines left out for each reason, and the last day of a valid sale (None without
    one).  Dates of shapes the first rows did not show add their formats to ``plan`` (and
    ``lines`` is built again) first."""
    con, count_sql = log.con, checks.count_sql()
    assert log.mapping.date is not None
    row = fetch_row(con, count_sql)
    assert row is not None
    if row[2] and not date_format and not is_temporal_type(log.types[log.mapping.date]):
        # dates the first rows did not show: look at the shapes of those that failed
        bad_rows = "WHERE __row IN (SELECT __row FROM lines WHERE cust IS NOT NULL AND ts IS " \
                   "NULL AND NOT date_missing LIMIT 100000)"
        more = shape_examples(con, log.mapping.date, where=bad_rows)
        extra = formats_for(con, [x for _, _, a, b in more for x in (a, b)],
                            bool(plan.day_first))
        new = [f for f in extra if f not in plan.formats]
        if new:
            plan.formats.extend(new)
            build_lines(log, numbers, plan.formats)
            row = fetch_row(con, count_sql)
            assert row is not None
    counts = dict(zip(checks.reasons, (int(x) for x in row[:-1]), strict=True))
    return counts, row[-1]


def check_bad_values(log: Log, reasons: dict[str, str], counts: dict[str, int],
                     plan: DatePlan, max_share: float) -> None:
    """Lines whose date, amount or quantity cannot be read: skipped with a warning, or an
    error when more than ``max_share`` of the lines with a customer id."""
    mapping, where = log.mapping, log.where
    n_with_customer = log.n_rows - counts["missing_customer"]
    problems: list[Problem] = []
    for name, col, what in (("bad_date", mapping.date, "dates that cannot be read"),
                            ("bad_amount", mapping.amount or mapping.price,
                             "amounts that are not numbers"),
                            ("bad_quantity", mapping.quantity, "quantities that are not "
                                                               "numbers")):
        n = counts.get(name, 0)
        if not n:
            continue
        if name == "bad_amount" and not mapping.amount:
            col = mapping.price if fetch_count(log.con, "SELECT count(*) FROM lines WHERE "
                                               "price IS NULL AND NOT price_missing") \
                else mapping.quantity
        share = n / max(n_with_customer, 1)
        rows_0 = log.first_rows(f"{reasons[name]} AND cust IS NOT NULL")
        values = raw_values(log.con, col, rows_0)  # type: ignore[arg-type]
        lines = line_numbers(log.source, rows_0)
        detail = f"{n} line(s) with {what}"
        if name == "bad_date":
            detail += f" (dates read as {', '.join(plan.formats) or 'none'}; {plan.rule})"
        if share > max_share:
            hint = "; give the format with `date_format`" if name == "bad_date" else ""
            problems.append(Problem(col, f"{detail}: {share:.1%} of the lines, more than the "
                                    f"{max_share:.0%} that may be skipped{hint} "
                                    f"({where})", rows=[lines[r] for r in rows_0],
                                    values=values, code=name.replace("_", "-")))
        else:
            log.warn(col, f"{detail}: skipped ({where})", name.replace("_", "-"),
                     rows=[lines[r] for r in rows_0], values=values)
    if problems:
        raise DataError(problems)


def warn_missing(log: Log, reasons: dict[str, str], counts: dict[str, int]) -> int:
    """Warn of the lines without a customer id, a date or an amount (skipped); the number
    of valid lines, which must not be 0."""
    mapping = log.mapping
    for name, col, what in (("missing_customer", mapping.customer, "no customer id"),
                            ("missing_date", mapping.date, "no date"),
                            ("missing_amount", mapping.amount or mapping.price,
                             "no amount" if mapping.amount else "no quantity or price")):
        n = counts[name]
        if n:
            rows_0 = log.first_rows(reasons[name])
            lines = line_numbers(log.source, rows_0)
            log.warn(col, f"{n} line(s) with {what}: skipped ({log.where})",
                     name.replace("_", "-"), rows=[lines[r] for r in rows_0])
    n_valid = log.n_rows - sum(counts.values())
    if n_valid == 0:
        raise DataError([Problem(None, f"no usable transaction: of {log.n_rows} lines, "
                                 + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in
                                             counts.items() if v), code="no-transactions")])
    return n_valid


def cancel_sql(mapping: ColumnMap) -> str:
    """The SQL of a cancellation or return: a cancelled order's id (C and digits:
    :data:`custseg.features.columns.CANCELLED_ORDER`), a negative quantity, or (without a
    quantity) a negative amount."""
    cancel_parts = []
    if mapping.invoice:
        cancel_parts.append(f"coalesce(regexp_full_match(trim(CAST(invoice AS VARCHAR)), "
                            f"{literal(CANCELLED_ORDER)}), false)")
    if mapping.quantity:
        cancel_parts.append("coalesce(quantity < 0, false)")
    if mapping.amount and not mapping.quantity:
        cancel_parts.append("amount < 0")
    return " OR ".join(cancel_parts) or "false"


def find_duplicates(log: Log, valid: str, duplicates: str, parts: int) -> Duplicates:
    """Find the exact duplicate lines, drop them as ``duplicates`` says (``auto``: when the
    lines carry an order id or a time of day) with a warning, and create the view ``valid``."""
    con, mapping = log.con, log.mapping
    key_cols = ["cust", "ts", *(r for r in ("amount", "quantity", "price", "invoice", "product")
                                if getattr(mapping, r))]
    has_time = bool(fetch_count(con, f"SELECT count(*) FROM (SELECT ts FROM lines WHERE "
                                     f"{valid} AND CAST(ts AS TIME) <> TIME '00:00:00' "
                                     "LIMIT 1)"))
    drop_dups = duplicates == "drop" or (duplicates == "auto"
                                         and (bool(mapping.invoice) or has_time))
    keys = ", ".join(key_cols)
    n_dup_lines = _mark_duplicates(con, keys, valid, parts)
    drop = " AND __row NOT IN (SELECT __row FROM dup_rows)" if drop_dups and n_dup_lines else ""
    con.sql(f"CREATE VIEW valid AS SELECT {keys} FROM lines WHERE {valid}{drop}")
    if n_dup_lines:
        _warn_duplicates(log, n_dup_lines, drop_dups, duplicates)
    return Duplicates(key_cols, n_dup_lines, drop_dups)


def _mark_duplicates(con: duckdb.DuckDBPyConnection, keys: str, valid: str, parts: int
                     ) -> int:
    """The table ``dup_rows`` of the later copies of valid lines equal on ``keys``, and how
    many there are."""
    # exact duplicates: only lines whose hash repeats can be; the later copies are listed
    if parts == 1:
        con.sql(f"CREATE TABLE dup_hashes AS SELECT hash({keys}) AS h FROM lines WHERE "
                f"{valid} GROUP BY h HAVING count(*) > 1")
    else:
        con.sql(f"CREATE TABLE line_hashes AS SELECT hash({keys}) AS h FROM lines WHERE "
                f"{valid}")
        con.sql("CREATE TABLE dup_hashes (h UBIGINT)")
        for i in range(parts):
            con.sql(f"INSERT INTO dup_hashes SELECT h FROM line_hashes WHERE h % {parts} = {i} "
                    "GROUP BY h HAVING count(*) > 1")
        con.sql("DROP TABLE line_hashes")
    con.sql(f"""CREATE TABLE dup_rows AS SELECT __row FROM (
        SELECT __row, row_number() OVER (PARTITION BY {keys} ORDER BY __row) AS copy
        FROM lines WHERE {valid} AND hash({keys}) IN (SELECT h FROM dup_hashes))
        WHERE copy > 1""")
    return fetch_count(con, "SELECT count(*) FROM dup_rows")


def _warn_duplicates(log: Log, n_dup_lines: int, dropped: bool, duplicates: str) -> None:
    """Warn of the exact duplicate lines, dropped or kept, and why."""
    rows_0 = [r for (r,) in log.con.sql("SELECT __row FROM dup_rows ORDER BY __row LIMIT 20"
                                        ).fetchall()]
    lines = line_numbers(log.source, rows_0)
    if dropped:
        why = ("the lines carry an order id" if log.mapping.invoice else
               "the lines carry a time of day") if duplicates == "auto" else "asked for"
        msg = f"{n_dup_lines} exact duplicate line(s) dropped ({why}; {log.where})"
    else:
        why = ("without an order id or a time of day, two equal purchases on the same "
               "day are plausible; `duplicates='drop'` drops them"
               if duplicates == "auto" else "asked for")
        msg = f"{n_dup_lines} exact duplicate line(s) kept ({why}; {log.where})"
    log.warn(None, msg, "duplicate-line", rows=[lines[r] for r in rows_0])


def create_kept(log: Log, checks: LineChecks, keys: Sequence[str], last_day: Any,
                as_of: pd.Timestamp | None) -> pd.Timestamp:
    """Create the view ``kept`` (each valid line's day, value and whether a cancellation)
    and give the as-of date: ``as_of``, or the day after the last sale."""
    cancel = cancel_sql(log.mapping)
    log.con.sql(f"""CREATE VIEW kept AS
        SELECT cust, CAST(ts AS DATE) AS day, {', '.join(c for c in keys[2:])},
               1 AS w, {checks.value} AS value, ({cancel}) AS cancel
        FROM valid""")
    if last_day is None:
        raise DataError([Problem(log.mapping.amount or log.mapping.price, "no usable "
                                 "transaction: every line is worth 0 or has a negative price",
                                 code="no-transactions")])
    return (pd.Timestamp(last_day) + pd.Timedelta(days=1)) if as_of is None else as_of


def count_outside(log: Log, as_of: pd.Timestamp) -> dict[str, int]:
    """The kept lines left out of the features (on or after the as-of date, worth 0, with a
    negative price), with a warning each, and the cancellations, as cleaning counts."""
    mapping, as_of_sql = log.mapping, day_sql(as_of)
    row = fetch_row(log.con, f"""SELECT
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
    if after_as_of:
        log.warn(mapping.date, f"{after_as_of} line(s) on or after the as-of date "
                 f"{as_of:%Y-%m-%d} left out", "after-as-of")
    if zero_value:
        log.warn(mapping.price or mapping.amount,
                 f"{zero_value} line(s) worth 0 (zero price or amount) left out", "zero-value")
    if negative_price:
        log.warn(mapping.price, f"{negative_price} line(s) with a negative unit price "
                 "(adjustments, not sales) left out", "negative-price")
    return {"after_as_of_lines": after_as_of, "zero_value_lines": zero_value,
            "negative_price_lines": negative_price, "cancellation_lines": cancellations}


def day_sql(day: pd.Timestamp) -> str:
    """The SQL literal of a day."""
    return f"DATE {literal(day.strftime('%Y-%m-%d'))}"
