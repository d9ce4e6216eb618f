"""Aggregating the cleaned lines (the view ``kept`` of :mod:`custseg.features._clean`) to one
row per customer in DuckDB: purchase events (orders, or days), their net value, first and
last purchase, the gaps between purchase days and the distinct products.  Each step is a
table, so that DuckDB can spill every one of them; large logs go by slices of customers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from custseg.features._sql import literal
from custseg.features.columns import ColumnMap

if TYPE_CHECKING:
    import duckdb


def aggregate(con: duckdb.DuckDBPyConnection, mapping: ColumnMap, use: str, parts: int,
              work: Path) -> pd.DataFrame:
    """Per customer (``cust``, sorted): first and last purchase, net revenue, lines,
    cancellations, purchase events, the mean, standard deviation and number of the gaps
    between purchase days and, with a product column, the distinct products; from the
    ``kept`` lines that meet ``use``.  Closes the connection (to free its memory)."""
    _purchase_events(con, mapping, use, parts)
    if mapping.product:
        for i in range(parts):
            con.sql(f"""{'CREATE TABLE prods AS' if i == 0 else 'INSERT INTO prods'}
                SELECT cust, count(*) AS distinct_products FROM (SELECT DISTINCT cust, product
                FROM kept WHERE {use} AND NOT cancel AND product IS NOT NULL{_by_part(i, parts)})
                GROUP BY cust""")
    con.sql("DROP VIEW kept; DROP VIEW valid; DROP TABLE lines")
    product_join = ""
    if mapping.product:
        product_join = "LEFT JOIN prods USING (cust)"
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
    con.sql(f"COPY ({query}) TO {literal(str(agg_path))} (FORMAT parquet)")
    con.close()
    return pd.read_parquet(agg_path)


def _by_part(i: int, parts: int) -> str:
    """The condition of the ``i``-th slice of customers (none for a single slice)."""
    return "" if parts == 1 else f" AND hash(cust) % {parts} = {i}"


def _purchase_events(con: duckdb.DuckDBPyConnection, mapping: ColumnMap, use: str,
                     parts: int) -> None:
    """The tables ``base`` (per customer: first and last purchase, net revenue, lines,
    cancellations, purchase events) and ``ipi`` (the gaps between purchase days)."""
    # one pass over the lines to purchase events (orders, or days), one for the products;
    # large logs go by slices of customers (hash of the id), so that no hash table outgrows
    # the memory limit
    event = "invoice" if mapping.invoice else "day"
    for i in range(parts):
        con.sql(f"""{'CREATE TABLE events AS' if i == 0 else 'INSERT INTO events'}
            SELECT cust, {event} AS ev, min(day) FILTER (NOT cancel) AS day,
                   sum(w * CASE WHEN cancel THEN -abs(value) ELSE value END) AS net,
                   sum(w) AS n_lines, coalesce(sum(w) FILTER (cancel), 0) AS n_cancel,
                   bool_or(NOT cancel) AS purchase
            FROM kept WHERE {use}{_by_part(i, parts)} GROUP BY cust, ev""")
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
