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

The modules: :mod:`~custseg.features.transactions` (the entry point: read, clean, aggregate,
report), :mod:`~custseg.features.columns` (the roles of the columns and their inference),
:mod:`~custseg.features.customers` (the customer table and the one definition of each
feature), :mod:`~custseg.features.rfm` (the RFM scores and segments); the private
``_source`` (reading the log into DuckDB), ``_parse`` (dates and numbers), ``_clean`` (the
lines left out, duplicates), ``_aggregate`` (per-customer aggregates) and ``_sql``.
"""

from __future__ import annotations

from custseg.features._clean import PART_LINES
from custseg.features._parse import DATE_SAMPLE_ROWS
from custseg.features.columns import ROLE_OPTIONS, ROLES, ColumnMap, infer_columns
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
    quintile_score,
    rfm_crosstab,
    rfm_scores,
    rfm_segment,
)
from custseg.features.transactions import (
    DEFAULT_MEMORY_LIMIT,
    MAX_BAD_SHARE,
    MAX_MALFORMED_SHARE,
    ProgressFn,
    transactions_to_customers,
)

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
