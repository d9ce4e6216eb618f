"""Whether a table given as a customer table is a transaction log: several rows a customer.

A log segmented as if each line were a customer gives segments of purchases, not of
customers (the retail log's 124,994 lines read as 124,994 "customers", tenure from each
line's date).  :func:`transaction_log_shape` tells a log by its header and its first rows,
with one rule, conservative so that a customer table is never taken for a log:

- the header names a customer key (a name like ``customer_id``, ``CustomerKey``,
  ``client_no``, ``user``: a customer or account word, and an id word or nothing; not
  ``customer_age`` or ``CustomerType``), a date and an amount (or a quantity and a unit
  price), as :func:`custseg.features.columns.infer_columns` names them;
- in the first rows, the key repeats: at least :data:`MIN_REPEATED_SHARE` of the rows
  with a key repeat the key of an earlier row, among at least :data:`MIN_KEYS` keys (an
  id, not a category);
- the date column holds dates and the amount (or quantity and price) numbers in at least
  :data:`MIN_PARSED_SHARE` of their first :data:`PARSED_CELLS` filled cells.

Only the first rows are read (of a delimited text file, whatever its size).

A customer table whose ids are reused on a few rows (at most 2%: a warning, the rows kept)
is far below the repeated share.

>>> import pandas as pd
>>> log = pd.DataFrame({"customer_id": [f"C{i % 40}" for i in range(200)],
...                     "trans_date": ["2024-01-05"] * 200, "tran_amount": ["12.5"] * 200})
>>> shape = transaction_log_shape(log)
>>> shape.customer, shape.rows, shape.customers, shape.repeated_share
('customer_id', 200, 40, 0.8)
>>> table = log.assign(customer_id=[f"C{i}" for i in range(200)])
>>> transaction_log_shape(table) is None
True
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pandas as pd

from custseg.features.columns import ColumnMap, infer_columns

#: Rows read from the top of a file to decide (a log shows its repeats well within them).
SAMPLE_ROWS = 20_000
#: Delimited files larger than this are read for their first rows only (smaller ones whole,
#: with every rule of :func:`custseg.io.read_table`).
STREAM_HEAD_ABOVE_BYTES = 16 << 20
#: Fewest rows with a key: a shorter table is taken as it is given.
MIN_ROWS = 50
#: Fewest distinct keys: fewer are a category (a customer type), not customers.
MIN_KEYS = 10
#: Smallest share of the rows whose key is an earlier row's (1 - keys / rows).
MIN_REPEATED_SHARE = 0.2
#: Smallest share of filled date (and amount) cells that read as dates (numbers).
MIN_PARSED_SHARE = 0.9
#: Filled cells whose reading decides it (the first ones: parsing dates of mixed formats
#: takes tens of microseconds a cell).
PARSED_CELLS = 2_000

#: A customer key named by its word alone ("Customer", "user"; normalised: lower case,
#: letters and digits only); other keys are named like an identifier
#: (:data:`custseg.parsing.ID_NAME`: ``customer_id``, ``CustomerKey``, ``client_no``).
KEY_WORDS = frozenset({"customer", "client", "cust", "member", "shopper", "buyer", "account",
                       "user", "consumer", "patron"})


@dataclass(frozen=True)
class LogShape:
    """What shows a table to be a transaction log: its columns, and on its first ``rows``
    rows with a key, the number of distinct ``customers``."""

    columns: ColumnMap
    rows: int
    customers: int

    @property
    def customer(self) -> str:
        """The customer key column."""
        return str(self.columns.customer)

    def describe(self) -> str:
        """Why the table is a log, in words ("its 'customer_id' column repeats (4,889
        customers on its first 20,000 rows), beside dates ('trans_date') and amounts
        ('tran_amount')")."""
        cols = self.columns
        money = cols.amount or f"{cols.quantity} x {cols.price}"
        return (f"its {self.customer!r} column repeats ({self.customers:,} customers on its "
                f"first {self.rows:,} rows), beside dates ({cols.date!r}) and amounts "
                f"({money!r})")

    @property
    def repeated_share(self) -> float:
        """Share of the rows whose key is an earlier row's."""
        return round(1 - self.customers / self.rows, 4)


def _filled(s: pd.Series, limit: int | None = None) -> pd.Series:
    text = (s if limit is None else s.head(4 * limit)).astype("string").str.strip()
    filled = text[text.notna() & (text != "")]
    return filled if limit is None else filled.head(limit)


def _share_numbers(s: pd.Series) -> float:
    from custseg.parsing import parse_numeric

    filled = _filled(s, PARSED_CELLS)
    if filled.empty:
        return 0.0
    return float(parse_numeric(filled).values.notna().mean())


def _share_dates(s: pd.Series) -> float:
    from custseg.parsing import dates_dayfirst, parse_dates

    if pd.api.types.is_datetime64_any_dtype(s):
        return float(s.notna().mean()) if len(s) else 0.0
    filled = _filled(s, PARSED_CELLS)
    if filled.empty or pd.to_numeric(filled, errors="coerce").notna().mean() > 0.5:
        return 0.0  # plain numbers (a day count, a year) are not a purchase's date
    return float(parse_dates(filled, dates_dayfirst(filled)).notna().mean())


def log_columns(names: list[str]) -> ColumnMap | None:
    """The columns of a log in this header: a customer key, a date and an amount (or a
    quantity and a unit price); None when one is missing."""
    from custseg.parsing import ID_NAME

    mapping = infer_columns([str(n) for n in names])
    key = str(mapping.customer or "")
    if not mapping.customer or not mapping.date or not (
            ID_NAME.search(key) or re.sub(r"[^a-z0-9]", "", key.lower()) in KEY_WORDS):
        return None
    if not mapping.amount and not (mapping.quantity and mapping.price):
        return None
    return mapping


def transaction_log_shape(frame: pd.DataFrame) -> LogShape | None:
    """The :class:`LogShape` of ``frame`` (a table's first rows, as read) when it is a
    transaction log by the rule of this module, else None."""
    mapping = log_columns(list(frame.columns))
    if mapping is None:
        return None
    keys = _filled(frame[mapping.customer])
    if len(keys) < MIN_ROWS:
        return None
    shape = LogShape(mapping, len(keys), int(keys.nunique()))
    if shape.customers < MIN_KEYS or shape.repeated_share < MIN_REPEATED_SHARE:
        return None
    money = [mapping.amount] if mapping.amount else [mapping.quantity, mapping.price]
    if _share_dates(frame[mapping.date]) < MIN_PARSED_SHARE or any(
            _share_numbers(frame[c]) < MIN_PARSED_SHARE for c in money if c):
        return None
    return shape


def detect_transaction_log(path: str | os.PathLike[str], *, delimiter: str | None = None,
                           encoding: str | None = None) -> LogShape | None:
    """The :class:`LogShape` of the table file at ``path`` when it is a transaction log,
    decided on its header and first :data:`SAMPLE_ROWS` rows; None when it is not, or when
    the file cannot be read (its reading then reports why).

    Only a header that names a customer key, a date and an amount leads to reading rows.
    """
    import warnings
    from pathlib import Path

    from custseg.delimited import stream_text
    from custseg.io import detect_format, iter_table, peek_columns

    p = Path(path)
    try:
        peeked = peek_columns(p, delimiter, encoding)
        if peeked is not None and log_columns(peeked[0]) is None:
            return None
        with warnings.catch_warnings():  # the run that reads the file says what it finds
            warnings.simplefilter("ignore")
            # a large delimited file whose header reads: only its first rows are read
            large = (peeked is not None and detect_format(p) == "csv"
                     and p.stat().st_size > STREAM_HEAD_ABOVE_BYTES)
            rows = stream_text(p, SAMPLE_ROWS) if large else iter_table(p, SAMPLE_ROWS)
            first = next(iter(rows), None)
            return None if first is None else transaction_log_shape(first)
    except Exception:  # whatever the failure, no crash here: the file's reading says why
        return None
