"""Live customers: purchase events, their effect on a customer's running aggregates, and the
customer features computed from the aggregates (by :mod:`custseg.features`' code).

:class:`Touched` does the work of :meth:`custseg.store.Store.apply_events` inside its
transaction: the aggregates of the customers a batch touches, updated event by event, and
the rows to insert.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from custseg.errors import EXIT_DATA, CustsegError, UsageError
from custseg.features.columns import is_cancelled_order
from custseg.store.tables import AGG_COLUMNS, customers

#: The customer features (of :mod:`custseg.features`) that purchase events keep up to date.
EVENT_FEATURES = (
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
    "interpurchase_days_mean", "interpurchase_days_cv", "distinct_products", "return_share",
    "n_lines",
)


class EventConflictError(CustsegError, ValueError):
    """Event ids sent again with another payload; nothing of the batch was applied.

    ``conflicts``: one ``{"index", "event_id", "stored_sha256", "received_sha256"}`` per
    event at fault (``index`` in the batch; the hashes are :meth:`Event.payload_sha256`).
    """

    exit_code = EXIT_DATA
    reason = "event-conflict"

    def __init__(self, conflicts: list[dict[str, Any]]) -> None:
        ids = ", ".join(repr(c["event_id"]) for c in conflicts[:5])
        super().__init__(f"{len(conflicts)} event id(s) sent before with another payload "
                         f"({ids}): an event id names one event; nothing of this batch was "
                         "applied")
        self.conflicts = conflicts


@dataclass
class Event:
    """One purchase, cancellation or return line, as a client sends it.

    The line's value is ``amount``, or ``quantity * unit_price`` without an amount.  It is a
    **cancellation or return** (as in :mod:`custseg.features`) when its order id starts with
    ``C``, its quantity is negative, or, without a quantity, its amount is negative.  A line
    worth 0, or with a negative unit price (an adjustment), is stored but counts for nothing.
    """

    event_id: str
    customer_id: str
    ts: dt.datetime
    amount: float | None = None
    quantity: float | None = None
    unit_price: float | None = None
    order_id: str | None = None
    product_id: str | None = None

    @property
    def day(self) -> dt.date:
        return self.ts.date() if isinstance(self.ts, dt.datetime) else self.ts

    @property
    def value(self) -> float:
        if self.amount is not None:
            return float(self.amount)
        if self.quantity is not None and self.unit_price is not None:
            return float(self.quantity) * float(self.unit_price)
        raise UsageError(f"event {self.event_id!r}: give amount, or quantity and unit_price",
                         "amount")

    @property
    def kind(self) -> str:
        """``purchase``, ``cancellation``, ``zero-value`` or ``negative-price``."""
        value = self.value
        if value == 0:
            return "zero-value"
        if self.unit_price is not None and self.unit_price < 0:
            return "negative-price"
        if self.order_id is not None and is_cancelled_order(self.order_id):
            return "cancellation"
        if self.quantity is not None:
            return "cancellation" if self.quantity < 0 else "purchase"
        return "cancellation" if value < 0 else "purchase"

    def payload_sha256(self) -> str:
        """SHA-256 of the canonical JSON of the event's fields but its id, as stored
        (numbers as floats, the time stamp without time zone): a replay has the same.

        >>> a = Event("e1", "c1", dt.datetime(2024, 1, 1), amount=10)
        >>> a.payload_sha256() == Event("e2", "c1", dt.datetime(2024, 1, 1), 10.0).payload_sha256()
        True
        """
        ts = self.ts.replace(tzinfo=None) if isinstance(self.ts, dt.datetime) else self.ts
        payload = {"customer_id": self.customer_id, "timestamp": ts.isoformat(),
                   "amount": _float(self.amount), "quantity": _float(self.quantity),
                   "unit_price": _float(self.unit_price), "order_id": self.order_id,
                   "product_id": self.product_id}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def _float(x: float | None) -> float | None:
    return None if x is None else float(x)


def _stored_event(row: Any) -> Event:
    """The event of a row of the events table."""
    return Event(row.event_id, row.customer_id, row.ts, row.amount, row.quantity,
                 row.unit_price, row.order_id, row.product_id)


def conflicts(batch: Sequence[Event], stored: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of ``batch`` whose id is stored, or earlier in the batch, with another
    payload."""
    counts = collections.Counter(e.event_id for e in batch)
    known = {i: _stored_event(row).payload_sha256() for i, row in stored.items()}
    out = []
    for index, e in enumerate(batch):
        if e.event_id not in known and counts[e.event_id] == 1:
            continue
        mine = e.payload_sha256()
        first = known.setdefault(e.event_id, mine)
        if mine != first:
            out.append({"index": index, "event_id": e.event_id, "stored_sha256": first,
                        "received_sha256": mine})
    return out


@dataclass
class Outcome:
    """What :meth:`Store.apply_events` did with one event."""

    event_id: str
    customer_id: str
    status: str  # "applied" or "duplicate"
    kind: str
    segment_before: int | None = None
    segment: int | None = None
    segment_name: str | None = None
    features: dict[str, Any] | None = None

    @property
    def segment_changed(self) -> bool:
        return self.segment is not None and self.segment != self.segment_before

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "segment_changed": self.segment_changed}


def features_from_aggregates(agg: Mapping[str, Any], as_of: dt.date) -> dict[str, Any] | None:
    """The customer features of :mod:`custseg.features` from running aggregates, at ``as_of``.

    ``None`` for a customer without any purchase (only cancellations or returns), whom the
    batch computation leaves out too.  Missing values (the inter-purchase mean with fewer
    than 2 purchase days, its coefficient of variation with fewer than 3) are NaN.

    >>> agg = {"first_purchase": dt.date(2024, 1, 1), "last_purchase": dt.date(2024, 1, 11),
    ...        "monetary": 40.0, "n_lines": 2, "n_cancel": 0, "frequency": 2, "n_days": 2,
    ...        "gap_sum": 10, "gap_sumsq": 100, "distinct_products": 0}
    >>> f = features_from_aggregates(agg, dt.date(2024, 1, 12))
    >>> f["recency_days"], f["tenure_days"], f["avg_order_value"], f["return_share"]
    (1, 11, 20.0, 0.0)
    """
    return features_of_customers([agg], as_of)[0]


def features_of_customers(aggs: Sequence[Mapping[str, Any]], as_of: dt.date
                          ) -> list[dict[str, Any] | None]:
    """:func:`features_from_aggregates` of many customers (``EVENT_FEATURES``, in order),
    computed together by the feature code of ``custseg features``
    (:func:`custseg.features.customer_values`): the store keeps the aggregates, the library
    owns the formulas."""
    from custseg.features import customer_values

    out: list[dict[str, Any] | None] = [None] * len(aggs)
    keep = [i for i, a in enumerate(aggs)
            if int(a["frequency"] or 0) > 0 and a["last_purchase"] is not None]
    if not keep:
        return out
    rows = [aggs[i] for i in keep]

    def column(name: str, dtype: Any) -> np.ndarray:
        return np.array([a[name] for a in rows], dtype=dtype)

    n_gaps = column("n_days", np.int64) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        ipi_mean = np.where(n_gaps >= 1, column("gap_sum", np.float64) / n_gaps, np.nan)
        ipi_std = np.sqrt(np.maximum(column("gap_sumsq", np.float64) / n_gaps
                                     - ipi_mean ** 2, 0.0))
    values = customer_values(
        column("first_purchase", "datetime64[ns]"), column("last_purchase", "datetime64[ns]"),
        column("monetary", np.float64), column("frequency", np.int64), ipi_mean, ipi_std,
        n_gaps, column("n_cancel", np.int64), column("n_lines", np.int64), pd.Timestamp(as_of))
    values["distinct_products"] = column("distinct_products", np.int64)
    values["n_lines"] = column("n_lines", np.int64)
    lists = {f: values[f].tolist() for f in EVENT_FEATURES}
    for j, i in enumerate(keep):
        out[i] = {f: lists[f][j] for f in EVENT_FEATURES}
    return out


def empty_aggregates() -> dict[str, Any]:
    return {"first_purchase": None, "last_purchase": None, "monetary": 0.0, "n_lines": 0,
            "n_cancel": 0, "frequency": 0, "n_days": 0, "gap_sum": 0, "gap_sumsq": 0,
            "distinct_products": 0, "n_events": 0}


def _gap_stats(days: Sequence[dt.date]) -> tuple[int, int]:
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    return sum(gaps), sum(g * g for g in gaps)


ScoreFn = Callable[[list[dict[str, Any]]], list[tuple[int, str]]]
AsOfFn = Callable[[dt.date], dt.date]


def order_key(e: Event) -> str:
    """What a distinct order is: the order id, or, without one, the purchase day (as in
    custseg.features, which counts distinct purchase days when there is no order id)."""
    return f"o:{e.order_id}" if e.order_id is not None else f"d:{e.day.isoformat()}"


def utc_now() -> dt.datetime:
    """Now, UTC, to the second, without time zone (as the tables store it)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class Touched:
    """The customers a batch of events touches, within :meth:`Store.apply_events`'s
    transaction: their aggregates, purchase days, known orders and products, and the rows
    to insert."""

    def __init__(self, customer_ids: list[str]) -> None:
        self.customers = customer_ids
        self.aggs: dict[str, dict[str, Any]] = {}
        self.days: dict[str, list[dt.date]] = {c: [] for c in customer_ids}
        self.orders: set[tuple[str, str]] = set()
        self.products: set[tuple[str, str]] = set()
        self.new_days: list[dict[str, Any]] = []
        self.new_orders: list[dict[str, Any]] = []
        self.new_products: list[dict[str, Any]] = []

    def accumulate(self, new: list[Event], *, keep: bool) -> list[tuple[int, dict[str, Any]]]:
        """Add the events to their customers' aggregates, in order; with ``keep``, a copy
        of the customer's aggregates after each counted event (``(index in new, copy)``)."""
        snapshots = []
        for i, e in enumerate(new):
            agg = self.aggs[e.customer_id]
            agg["n_events"] += 1
            kind = e.kind
            if kind in ("zero-value", "negative-price"):
                continue
            agg["n_lines"] += 1
            if kind == "cancellation":
                agg["n_cancel"] += 1
                agg["monetary"] += -abs(e.value)
            else:
                self._purchase(e, agg)
            if keep:
                snapshots.append((i, dict(agg)))
        return snapshots

    def _purchase(self, e: Event, agg: dict[str, Any]) -> None:
        agg["monetary"] += e.value
        key = order_key(e)
        if (e.customer_id, key) not in self.orders:
            self.orders.add((e.customer_id, key))
            self.new_orders.append({"customer_id": e.customer_id, "order_key": key})
            agg["frequency"] += 1
        cdays = self.days[e.customer_id]
        pos = bisect.bisect_left(cdays, e.day)
        if pos == len(cdays) or cdays[pos] != e.day:
            cdays.insert(pos, e.day)
            self.new_days.append({"customer_id": e.customer_id, "day": e.day})
            agg["n_days"] = len(cdays)
            agg["gap_sum"], agg["gap_sumsq"] = _gap_stats(cdays)
            agg["first_purchase"], agg["last_purchase"] = cdays[0], cdays[-1]
        if e.product_id is not None and (e.customer_id, e.product_id) not in self.products:
            self.products.add((e.customer_id, e.product_id))
            self.new_products.append({"customer_id": e.customer_id, "product": e.product_id})
            agg["distinct_products"] += 1

    def outcomes(self, new: list[Event], assigned: dict[int, tuple[int, str]],
                 feats_of: dict[int, dict[str, Any]], now: dt.datetime
                 ) -> tuple[dict[str, Outcome], list[dict[str, Any]], list[dict[str, Any]]]:
        """Each new event's outcome, event row and segment change (when its customer's
        segment changed); the customers' segments are updated."""
        outcomes: dict[str, Outcome] = {}
        event_rows, change_rows = [], []
        current = {c: (self.aggs[c]["segment"], self.aggs[c]["segment_name"])
                   for c in self.customers}
        for i, e in enumerate(new):
            before, _ = current[e.customer_id]
            seg, name = assigned.get(i, (None, None))
            if seg is None:  # not scored: the customer keeps the segment stored
                seg, name = current[e.customer_id]
            elif seg != before:
                change_rows.append({"customer_id": e.customer_id, "event_id": e.event_id,
                                    "at": now, "day": e.day, "segment_before": before,
                                    "segment": seg, "segment_name": name})
            current[e.customer_id] = (seg, name)
            outcomes[e.event_id] = Outcome(e.event_id, e.customer_id, "applied", e.kind,
                                           before, seg, name, feats_of.get(i))
            event_rows.append({"event_id": e.event_id, "customer_id": e.customer_id,
                               "ts": e.ts, "day": e.day, "amount": e.amount,
                               "quantity": e.quantity, "unit_price": e.unit_price,
                               "value": e.value, "order_id": e.order_id,
                               "product_id": e.product_id, "kind": e.kind, "received_at": now,
                               "segment_before": before, "segment_after": seg,
                               "segment_name": name})
        for c in self.customers:
            self.aggs[c]["segment"], self.aggs[c]["segment_name"] = current[c]
            self.aggs[c]["updated_at"] = now
        return outcomes, event_rows, change_rows

    def save(self, conn: Connection) -> None:
        """Write the customers' aggregates and segments."""
        if not self.customers:
            return
        cols = [*AGG_COLUMNS, "segment", "segment_name", "updated_at"]
        stmt = customers.update().where(
            customers.c.customer_id == sa.bindparam("b_customer_id")).values(
            {c: sa.bindparam(f"b_{c}") for c in cols})
        conn.execute(stmt, [{"b_customer_id": c, **{f"b_{k}": self.aggs[c][k] for k in cols}}
                            for c in self.customers])


def in_batch_order(batch: list[Event], stored: dict[str, Any],
                    outcomes: dict[str, Outcome]) -> list[Outcome]:
    """One outcome per event of ``batch``, in order: applied, or duplicate (of a stored
    event, or of one earlier in the batch)."""
    out = []
    for e in batch:
        if e.event_id in outcomes and e.event_id not in stored:
            o = outcomes.pop(e.event_id)
            stored[e.event_id] = o  # a repeat later in this batch is a duplicate
            out.append(o)
            continue
        prev = stored[e.event_id]
        after = prev.segment if isinstance(prev, Outcome) else prev.segment_after
        out.append(Outcome(prev.event_id, prev.customer_id, "duplicate", prev.kind,
                           prev.segment_before, after, prev.segment_name))
    return out
