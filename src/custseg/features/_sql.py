"""SQL helpers of the transaction reader: quoting, the cleaning SELECT, DuckDB types, and
fetching one row or one count."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from custseg.parsing import MISSING_MARKERS

if TYPE_CHECKING:
    import duckdb


def quote(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


_MARKERS_SQL = ", ".join(literal(m) for m in sorted(MISSING_MARKERS))


def text_of(col: str) -> str:
    """A column of the ``clean`` view: text trimmed, empty cells and missing markers NULL."""
    return quote(col)


_MAX_MARKER = max(len(m) for m in MISSING_MARKERS)


def clean_sql(types: dict[str, str], columns: Sequence[str], source: str) -> str:
    """SELECT of the columns used from ``source``: text trimmed, with empty cells and missing
    markers (NA, ?, null...) as NULL; typed numbers and dates as they are."""
    inner, outer = ["__row"], ["__row"]
    for c in columns:
        q = quote(c)
        if is_numeric_type(types[c]) or is_temporal_type(types[c]):
            inner.append(q)
            outer.append(q)
        else:
            inner.append(f"trim(CAST({q} AS VARCHAR)) AS {q}")
            outer.append(f"CASE WHEN {q} = '' OR (length({q}) <= {_MAX_MARKER} AND lower({q}) "
                         f"IN ({_MARKERS_SQL})) THEN NULL ELSE {q} END AS {q}")
    return f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source})"


def load_typed(con: duckdb.DuckDBPyConnection, types: dict[str, str],
               columns: Sequence[str]) -> None:
    """Parquet and tables: the columns used, cleaned (see :func:`clean_sql`), into the table
    ``raw`` (read once: reading Parquet again for every pass costs more than keeping it)."""
    con.sql(f"CREATE TABLE raw AS {clean_sql(types, columns, 'src_in')}")
    con.sql("CREATE OR REPLACE VIEW src AS SELECT * FROM raw")


def is_numeric_type(t: str) -> bool:
    """Whether a DuckDB column type holds numbers."""
    return bool(re.match(r"(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER"
                         r"|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL|REAL)", t.upper()))


def is_temporal_type(t: str) -> bool:
    """Whether a DuckDB column type holds dates or timestamps."""
    return t.upper().startswith(("TIMESTAMP", "DATE"))


def fetch_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    """The first row a query gives, or None."""
    rows = con.sql(sql).fetchall()
    return rows[0] if rows else None


def fetch_count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The number a counting query gives (0 for none)."""
    row = fetch_row(con, sql)
    return int(row[0]) if row and row[0] is not None else 0


def raw_values(con: duckdb.DuckDBPyConnection, col: str, rows: Sequence[int]) -> list[Any]:
    """The values of a column, as read, at the given rows (0-based, in that order)."""
    if not rows:
        return []
    got = dict(con.sql(f"SELECT __row, CAST({quote(col)} AS VARCHAR) FROM src WHERE __row IN "
                       f"({', '.join(str(int(r)) for r in rows)})").fetchall())
    return [got.get(r) for r in rows]
