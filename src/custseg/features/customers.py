"""The customer table: its columns, the one definition of each customer feature from a
customer's aggregates (used by ``custseg features`` and by the store), the result of
:func:`~custseg.features.transactions_to_customers`, and writing the table."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.errors import Problem
from custseg.features.columns import ColumnMap
from custseg.io import PARQUET_SUFFIXES

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
        """The name of the customer id column (the first one)."""
        return str(self.customers.columns[0])


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

