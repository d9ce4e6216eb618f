"""The store: segmentation runs, their assignments, and live customers fed by purchase events.

One SQL database through SQLAlchemy 2 (Core): a SQLite file by default (``sqlite:///FILE``;
WAL journal, a busy timeout and ``BEGIN IMMEDIATE`` write transactions, so several writers
wait for each other instead of failing), or PostgreSQL by URL (``postgresql://...``, driven
by psycopg 3).  :func:`open_store` creates the tables when they are missing.

What it holds:

* **runs** (``custseg segment --store``): each run's features, segments (run id, stable id,
  name, size, centre in original units) and every customer's assignment; see
  :mod:`custseg.history` for the stable identities;
* **live customers** (``custseg serve``): per-customer running aggregates of their purchase
  events (first and last purchase day, distinct orders, distinct purchase days and the sum
  and sum of squares of the gaps between them, net revenue, lines, returns, distinct
  products), from which :func:`features_from_aggregates` recomputes the customer features
  of :mod:`custseg.features` at any as-of date; their current segment and its history;
* **events**, keyed by the client's ``event_id``.

Exactly once
------------
:meth:`Store.apply_events` runs in **one transaction**: it looks up which event ids are
already stored, updates the aggregates of the new ones, scores the customers, and inserts
the event rows (``event_id`` is the primary key) and the new aggregates together.  A crash
before the commit leaves nothing; after it, everything.  Replaying an event that was
committed finds its row and changes nothing (its recorded outcome is returned, marked
``duplicate``).  Two transactions racing with the same event id cannot both commit: the
primary key refuses the second, which is retried and then sees the first's row.  An event id
sent again with **another payload** (customer, time stamp, amounts, order, product) is not a
replay: the batch is refused whole (:class:`EventConflictError`, with the SHA-256 of both
payloads, :meth:`Event.payload_sha256`, computed from the stored columns).

Examples
--------
>>> import tempfile, pathlib, datetime as dt
>>> store = open_store(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 's.db'}")
>>> events = [Event("e1", "c1", dt.datetime(2024, 1, 1), amount=10.0),
...           Event("e2", "c1", dt.datetime(2024, 1, 11), amount=30.0, order_id="o2")]
>>> [o.status for o in store.apply_events(events, as_of=lambda last: last)]
['applied', 'applied']
>>> [o.status for o in store.apply_events(events[:1], as_of=lambda last: last)]
['duplicate']
>>> f = store.customer_features("c1", dt.date(2024, 1, 12))
>>> f["recency_days"], f["frequency"], f["monetary"], f["interpurchase_days_mean"]
(1, 2, 40.0, 10.0)
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import hashlib
import itertools
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from custseg.errors import EXIT_DATA, CustsegError, UsageError

SCHEMA_VERSION = 1
#: The customer features (of :mod:`custseg.features`) that purchase events keep up to date.
EVENT_FEATURES = (
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
    "interpurchase_days_mean", "interpurchase_days_cv", "distinct_products", "return_share",
    "n_lines",
)
#: Longest id (event, customer, order, product) accepted.
MAX_ID_LENGTH = 200
#: Attempts of a write transaction that lost a race (deadlock, duplicate key, busy file).
WRITE_ATTEMPTS = 5


class StoreError(CustsegError, ValueError):
    """The store cannot be opened or used (unreachable server, foreign or newer tables)."""

    exit_code = EXIT_DATA
    reason = "store"


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


# ------------------------------------------------------------------ schema
metadata = sa.MetaData()
ID = sa.String(MAX_ID_LENGTH)

store_info = sa.Table(
    "custseg_store_info", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
runs = sa.Table(
    "custseg_runs", metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("source", sa.Text),
    sa.Column("input_sha256", sa.String(64)),
    sa.Column("algorithm", sa.String(32)),
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("n_customers", sa.Integer, nullable=False),
    sa.Column("id_column", sa.Text),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("feature_std", sa.JSON, nullable=False),
    sa.Column("segments", sa.JSON, nullable=False),
    sa.Column("vanished", sa.JSON, nullable=False),
    sa.Column("previous_run_id", sa.Integer),
    sa.Column("model_sha256", sa.String(64)),
)
assignments = sa.Table(
    "custseg_assignments", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("custseg_runs.run_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("segment", sa.Integer, nullable=False),
)
sa.Index("ix_custseg_assignments_customer", assignments.c.customer_id)
customers = sa.Table(
    "custseg_customers", metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("first_purchase", sa.Date),
    sa.Column("last_purchase", sa.Date),
    sa.Column("monetary", sa.Float, nullable=False, default=0.0),
    sa.Column("n_lines", sa.BigInteger, nullable=False, default=0),
    sa.Column("n_cancel", sa.BigInteger, nullable=False, default=0),
    sa.Column("frequency", sa.BigInteger, nullable=False, default=0),
    sa.Column("n_days", sa.BigInteger, nullable=False, default=0),
    sa.Column("gap_sum", sa.BigInteger, nullable=False, default=0),
    sa.Column("gap_sumsq", sa.BigInteger, nullable=False, default=0),
    sa.Column("distinct_products", sa.BigInteger, nullable=False, default=0),
    sa.Column("n_events", sa.BigInteger, nullable=False, default=0),
    sa.Column("segment", sa.Integer),
    sa.Column("segment_name", sa.Text),
    sa.Column("updated_at", sa.DateTime),
)
sa.Index("ix_custseg_customers_segment", customers.c.segment)
customer_orders = sa.Table(
    "custseg_customer_orders", metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("order_key", sa.String(MAX_ID_LENGTH + 4), primary_key=True),
)
customer_days = sa.Table(
    "custseg_customer_days", metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
)
customer_products = sa.Table(
    "custseg_customer_products", metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("product", ID, primary_key=True),
)
events = sa.Table(
    "custseg_events", metadata,
    sa.Column("event_id", ID, primary_key=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("ts", sa.DateTime, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("amount", sa.Float),
    sa.Column("quantity", sa.Float),
    sa.Column("unit_price", sa.Float),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("order_id", ID),
    sa.Column("product_id", ID),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("segment_before", sa.Integer),
    sa.Column("segment_after", sa.Integer),
    sa.Column("segment_name", sa.Text),
)
sa.Index("ix_custseg_events_customer", events.c.customer_id)
sa.Index("ix_custseg_events_day", events.c.day)
segment_changes = sa.Table(
    "custseg_segment_changes", metadata,
    sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("event_id", ID),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("day", sa.Date),
    sa.Column("segment_before", sa.Integer),
    sa.Column("segment", sa.Integer, nullable=False),
    sa.Column("segment_name", sa.Text),
)
sa.Index("ix_custseg_segment_changes_customer", segment_changes.c.customer_id)
model_state = sa.Table(
    "custseg_model_state", metadata,
    sa.Column("model_sha256", sa.String(64), primary_key=True),
    sa.Column("centres", sa.JSON, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("batches", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

_AGG_COLUMNS = ("first_purchase", "last_purchase", "monetary", "n_lines", "n_cancel",
                "frequency", "n_days", "gap_sum", "gap_sumsq", "distinct_products",
                "n_events")


# ------------------------------------------------------------------ events and features
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
        if self.order_id is not None and self.order_id[:1].upper() == "C":
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


def _conflicts(batch: Sequence[Event], stored: dict[str, Any]) -> list[dict[str, Any]]:
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


def _empty_aggregates() -> dict[str, Any]:
    return {"first_purchase": None, "last_purchase": None, "monetary": 0.0, "n_lines": 0,
            "n_cancel": 0, "frequency": 0, "n_days": 0, "gap_sum": 0, "gap_sumsq": 0,
            "distinct_products": 0, "n_events": 0}


def _gap_stats(days: Sequence[dt.date]) -> tuple[int, int]:
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    return sum(gaps), sum(g * g for g in gaps)


ScoreFn = Callable[[list[dict[str, Any]]], list[tuple[int, str]]]
AsOfFn = Callable[[dt.date], dt.date]


# ------------------------------------------------------------------ opening
def normalise_url(url: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL from what a user types: ``sqlite:///FILE``, ``postgresql://...``
    (driven by psycopg 3), or a plain file path (a SQLite file).

    >>> normalise_url("postgresql://u@127.0.0.1/db")
    'postgresql+psycopg://u@127.0.0.1/db'
    >>> normalise_url("sqlite:///segments.db")
    'sqlite:///segments.db'
    """
    text = str(url).strip()
    if not text:
        raise UsageError("`store`: empty store URL; give sqlite:///FILE or "
                         "postgresql://USER:PASSWORD@HOST/DB", "store")
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("sqlite", "sqlite+pysqlite"):
        if not rest.startswith("/") or rest == "/":
            raise UsageError(f"`store` {text!r}: a SQLite store is a file, "
                             "sqlite:///relative/path.db or sqlite:////absolute/path.db",
                             "store")
        return f"sqlite:///{rest[1:]}"
    raise UsageError(f"`store` {text!r}: unsupported database {scheme!r}; use "
                     "sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DB", "store")


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                              pool_size=8, max_overflow=8, pool_timeout=60)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun below, not by sqlite3
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=FULL")  # an acknowledged event survives power loss
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at once: two writers queue (busy timeout) instead
        # of both reading and then failing to upgrade.  Readers use a DEFERRED engine.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def open_store(url: str | os.PathLike[str], *, create: bool = True) -> Store:
    """Open (and by default create the tables of) the store at ``url``."""
    full = normalise_url(url)
    if full.startswith("sqlite"):
        path = Path(full[len("sqlite:///"):])
        if not path.parent.exists():
            raise StoreError(f"store {full}: folder {path.parent} does not exist")
        engine = _sqlite_engine(full, immediate=True)
        reader = _sqlite_engine(full, immediate=False)
    else:
        try:
            engine = sa.create_engine(full, pool_size=8, max_overflow=8, pool_pre_ping=True,
                                      pool_timeout=60)
        except ImportError as exc:  # pragma: no cover - psycopg is in the service extra
            raise StoreError("PostgreSQL stores need psycopg 3: pip install "
                             "'custseg[service]'") from exc
        reader = engine
    store = Store(engine, reader)
    try:
        if create:
            store.create()
        store.check_version()
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreError(f"cannot open store {store.display_url}: "
                         f"{str(exc.orig).strip().splitlines()[0]}") from exc
    return store


# ------------------------------------------------------------------ the store
def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _chunks(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


class Store:
    """Runs, assignments and live customers in one SQL database (see the module docstring).

    Use :func:`open_store` to get one.
    """

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine = engine
        self.reader = reader or engine

    # -------------------------------------------------------------- basics
    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        """The URL with its password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def create(self) -> None:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                metadata.create_all(self.engine)
                with self.engine.begin() as conn:
                    self._insert_ignore(conn, store_info,
                                        [{"key": "schema_version",
                                          "value": str(SCHEMA_VERSION)}], ["key"])
                return
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
                # two processes creating the tables at once: the other one won
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))

    def check_version(self) -> None:
        with self.reader.connect() as conn:
            try:
                value = conn.execute(sa.select(store_info.c.value).where(
                    store_info.c.key == "schema_version")).scalar()
            except sa.exc.DBAPIError as exc:
                raise StoreError(f"store {self.display_url} has no custseg tables; open it "
                                 "with custseg serve or custseg segment `store` first") from exc
        if value is None:
            raise StoreError(f"store {self.display_url} has no custseg tables")
        if int(value) > SCHEMA_VERSION:
            raise StoreError(f"store {self.display_url} was written by a newer custseg "
                             f"(schema {value}, this custseg reads {SCHEMA_VERSION}): "
                             "upgrade custseg")

    def drop_all(self) -> None:
        """Remove every custseg table (tests, and starting afresh)."""
        metadata.drop_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()

    def ping(self) -> bool:
        try:
            with self.reader.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.DBAPIError:
            return False

    def _insert_ignore(self, conn: Connection, table: sa.Table, rows: list[dict[str, Any]],
                       keys: list[str]) -> int:
        """Insert rows, skipping those whose key exists; the number inserted."""
        if not rows:
            return 0
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(table).on_conflict_do_nothing(index_elements=keys)
        return int(conn.execute(stmt, rows).rowcount or 0)

    def _write(self, work: Callable[[Connection], Any]) -> Any:
        """Run ``work`` in one write transaction, retried when it lost a race."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
                retryable = isinstance(exc, sa.exc.IntegrityError) or _is_transient(exc)
                if not retryable or attempt == WRITE_ATTEMPTS - 1:
                    raise
                time.sleep(0.02 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    # -------------------------------------------------------------- events
    def apply_events(self, batch: Sequence[Event], *, as_of: AsOfFn,
                     score: ScoreFn | None = None) -> list[Outcome]:
        """Apply purchase events exactly once, in one transaction; see the module docstring.

        ``as_of(latest_day)`` gives the as-of date the features are computed at, from the
        latest day of any stored or new event.  ``score(features)`` assigns a list of
        feature dicts to segments (``[(segment, name), ...]``); without it customers are not
        scored.  Returns one :class:`Outcome` per event, in order.  Raises
        :class:`EventConflictError`, applying nothing, when an event id is stored (or earlier
        in the batch) with another payload.
        """
        if not batch:
            return []
        return self._write(lambda conn: self._apply(conn, list(batch), as_of, score))

    def _apply(self, conn: Connection, batch: list[Event], as_of_fn: AsOfFn,
               score: ScoreFn | None) -> list[Outcome]:
        stored: dict[str, Any] = {}
        ids = list(dict.fromkeys(e.event_id for e in batch))
        for part in _chunks(ids, 500):
            for row in conn.execute(sa.select(events).where(events.c.event_id.in_(part))):
                stored[row.event_id] = row
        conflicts = _conflicts(batch, stored)
        if conflicts:
            raise EventConflictError(conflicts)
        first: dict[str, Event] = {}
        for e in batch:
            if e.event_id not in stored:
                first.setdefault(e.event_id, e)
        new = list(first.values())
        state = self._lock_customers(conn, new)
        latest = conn.execute(sa.select(sa.func.max(events.c.day)).where(
            events.c.kind.in_(("purchase", "cancellation")))).scalar()
        new_days = [e.day for e in new if e.kind in ("purchase", "cancellation")]
        candidates = [d for d in [latest, *new_days] if d is not None]
        as_of = as_of_fn(max(candidates)) if candidates else None
        snapshots = state.accumulate(new, keep=as_of is not None)
        feats_of: dict[int, dict[str, Any]] = {}
        if as_of is not None and snapshots:
            found = features_of_customers([agg for _, agg in snapshots], as_of)
            feats_of = {i: f for (i, _), f in zip(snapshots, found, strict=True)
                        if f is not None}
        assigned: dict[int, tuple[int, str]] = {}
        if score is not None and feats_of:
            results = score(list(feats_of.values()))
            assigned = dict(zip(feats_of, results, strict=True))
        outcomes, event_rows, change_rows = state.outcomes(new, assigned, feats_of, _now())
        # The event rows go first: a concurrent transaction that stored one of these ids
        # since we looked makes this insert fail, and the whole transaction is retried.
        for table, rows in ((events, event_rows), (customer_days, state.new_days),
                            (customer_orders, state.new_orders),
                            (customer_products, state.new_products),
                            (segment_changes, change_rows)):
            if rows:
                conn.execute(sa.insert(table), rows)
        state.save(conn)
        return _in_batch_order(batch, stored, outcomes)

    def _lock_customers(self, conn: Connection, new: list[Event]) -> _Touched:
        """The aggregates (locked for update), purchase days, and the known orders and
        products among ``new``'s, of the customers of ``new`` (created when missing)."""
        state = _Touched(sorted({e.customer_id for e in new}))
        if not state.customers:
            return state
        self._insert_ignore(conn, customers, [{"customer_id": c, **_empty_aggregates()}
                                              for c in state.customers], ["customer_id"])
        for part in _chunks(state.customers, 500):
            q = sa.select(customers).where(customers.c.customer_id.in_(part)).order_by(
                customers.c.customer_id).with_for_update()
            for row in conn.execute(q).mappings():
                state.aggs[row["customer_id"]] = dict(row)
            for c, d in conn.execute(sa.select(customer_days.c.customer_id,
                                               customer_days.c.day)
                                     .where(customer_days.c.customer_id.in_(part))):
                state.days[c].append(d)
            keys = list({_order_key(e) for e in new if e.customer_id in part})
            for kpart in _chunks(keys, 500):
                state.orders.update(tuple(r) for r in conn.execute(
                    sa.select(customer_orders.c.customer_id, customer_orders.c.order_key)
                    .where(customer_orders.c.customer_id.in_(part),
                           customer_orders.c.order_key.in_(kpart))).all())
            prods = list({e.product_id for e in new if e.product_id is not None
                          and e.customer_id in part})
            for ppart in _chunks(prods, 500):
                state.products.update(tuple(r) for r in conn.execute(
                    sa.select(customer_products.c.customer_id, customer_products.c.product)
                    .where(customer_products.c.customer_id.in_(part),
                           customer_products.c.product.in_(ppart))).all())
        for c in state.customers:
            state.days[c].sort()
        return state

    def latest_event_day(self) -> dt.date | None:
        """The latest day of a stored purchase, cancellation or return."""
        with self.reader.connect() as conn:
            return conn.execute(sa.select(sa.func.max(events.c.day)).where(
                events.c.kind.in_(("purchase", "cancellation")))).scalar()

    def event_count(self) -> int:
        with self.reader.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar()
                       or 0)

    # -------------------------------------------------------------- customers
    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """A live customer's aggregates, stored segment and segment history, or None."""
        with self.reader.connect() as conn:
            row = conn.execute(sa.select(customers).where(
                customers.c.customer_id == customer_id)).mappings().first()
            if row is None:
                return None
            out = dict(row)
            out["history"] = [dict(r) for r in conn.execute(
                sa.select(segment_changes.c.at, segment_changes.c.day,
                          segment_changes.c.event_id, segment_changes.c.segment_before,
                          segment_changes.c.segment, segment_changes.c.segment_name)
                .where(segment_changes.c.customer_id == customer_id)
                .order_by(segment_changes.c.change_id)).mappings()]
        return out

    def customer_features(self, customer_id: str, as_of: dt.date) -> dict[str, Any] | None:
        row = self.customer(customer_id)
        return None if row is None else features_from_aggregates(row, as_of)

    def customer_runs(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's segment in every recorded run (oldest first)."""
        with self.reader.connect() as conn:
            rows = conn.execute(
                sa.select(runs.c.run_id, runs.c.created_at, runs.c.label, runs.c.segments,
                          assignments.c.segment)
                .join(assignments, assignments.c.run_id == runs.c.run_id)
                .where(assignments.c.customer_id == customer_id)
                .order_by(runs.c.run_id)).mappings().all()
        out = []
        for r in rows:
            info = next((s for s in r["segments"] if s["id"] == r["segment"]), {})
            out.append({"run_id": r["run_id"], "created_at": r["created_at"],
                        "label": r["label"], "segment": r["segment"],
                        "stable_id": info.get("stable_id"), "segment_name": info.get("name")})
        return out

    def all_aggregates(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Aggregates of the live customers with a purchase (for drift), by customer id."""
        cols = [customers.c[c] for c in ("customer_id", *_AGG_COLUMNS)]
        q = sa.select(*cols).where(customers.c.frequency > 0).order_by(customers.c.customer_id)
        if limit:
            q = q.limit(limit)
        with self.reader.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def live_features(self, as_of: dt.date, limit: int | None = None
                      ) -> list[dict[str, Any]]:
        """The features at ``as_of`` of the live customers with a purchase (for drift), by
        customer id; at most ``limit`` customers."""
        found = features_of_customers(self.all_aggregates(limit), as_of)
        return [f for f in found if f is not None]

    def segment_sizes(self) -> dict[int, int]:
        """Live customers per stored segment."""
        with self.reader.connect() as conn:
            rows = conn.execute(sa.select(customers.c.segment, sa.func.count())
                                .where(customers.c.segment.is_not(None))
                                .group_by(customers.c.segment)).all()
        return {int(s): int(n) for s, n in rows}

    def customer_count(self) -> int:
        with self.reader.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(customers)).scalar()
                       or 0)

    # -------------------------------------------------------------- online centres
    def save_model_state(self, model_sha256: str, centres: list[list[float]],
                         counts: list[float], batches: int) -> None:
        def work(conn: Connection) -> None:
            conn.execute(model_state.delete().where(model_state.c.model_sha256 == model_sha256))
            conn.execute(sa.insert(model_state), [{
                "model_sha256": model_sha256, "centres": centres, "counts": counts,
                "batches": batches, "updated_at": _now()}])

        self._write(work)

    def load_model_state(self, model_sha256: str) -> dict[str, Any] | None:
        with self.reader.connect() as conn:
            row = conn.execute(sa.select(model_state).where(
                model_state.c.model_sha256 == model_sha256)).mappings().first()
        return dict(row) if row else None

    # -------------------------------------------------------------- runs
    def record_run(self, run: RunRecord, assigned: Sequence[tuple[str, int]]) -> int:
        """Store a run and its assignments (``[(customer_id, segment), ...]``); its id."""

        def work(conn: Connection) -> int:
            values = {k: v for k, v in asdict(run).items() if k != "run_id"}
            values["created_at"] = values["created_at"] or _now()
            run_id = int(conn.execute(sa.insert(runs).values(**values)
                                      .returning(runs.c.run_id)).scalar_one())
            rows = [{"run_id": run_id, "customer_id": str(c), "segment": int(s)}
                    for c, s in assigned]
            for part in _chunks(rows, 20_000):
                conn.execute(sa.insert(assignments), list(part))
            return run_id

        return int(self._write(work))

    def runs(self) -> list[RunRecord]:
        """Every recorded run, oldest first."""
        with self.reader.connect() as conn:
            rows = conn.execute(sa.select(runs).order_by(runs.c.run_id)).mappings().all()
        return [RunRecord(**dict(r)) for r in rows]

    def run(self, run_id: int) -> RunRecord:
        with self.reader.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
        if row is None:
            raise StoreError(f"store {self.display_url} has no run {run_id}")
        return RunRecord(**dict(row))

    def latest_run(self) -> RunRecord | None:
        with self.reader.connect() as conn:
            row = conn.execute(sa.select(runs).order_by(runs.c.run_id.desc()).limit(1)
                               ).mappings().first()
        return RunRecord(**dict(row)) if row else None

    def run_assignments(self, run_id: int) -> dict[str, int]:
        """``{customer_id: segment}`` of a run."""
        with self.reader.connect() as conn:
            rows = conn.execute(sa.select(assignments.c.customer_id, assignments.c.segment)
                                .where(assignments.c.run_id == run_id)).all()
        return {str(c): int(s) for c, s in rows}

    def max_stable_id(self) -> int:
        """The largest stable segment id of any recorded run (-1 when there is none)."""
        best = -1
        for r in self.runs():
            for s in [*r.segments, *r.vanished]:
                best = max(best, int(s.get("stable_id", -1)))
        return best


class _Touched:
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
        key = _order_key(e)
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
        cols = [*_AGG_COLUMNS, "segment", "segment_name", "updated_at"]
        stmt = customers.update().where(
            customers.c.customer_id == sa.bindparam("b_customer_id")).values(
            {c: sa.bindparam(f"b_{c}") for c in cols})
        conn.execute(stmt, [{"b_customer_id": c, **{f"b_{k}": self.aggs[c][k] for k in cols}}
                            for c in self.customers])


def _in_batch_order(batch: list[Event], stored: dict[str, Any],
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


@dataclass
class RunRecord:
    """A recorded segmentation run (the ``custseg_runs`` row)."""

    k: int
    n_customers: int
    features: list[str]
    feature_std: dict[str, float]
    segments: list[dict[str, Any]]
    vanished: list[dict[str, Any]] = field(default_factory=list)
    label: str | None = None
    source: str | None = None
    input_sha256: str | None = None
    algorithm: str | None = None
    id_column: str | None = None
    previous_run_id: int | None = None
    model_sha256: str | None = None
    created_at: dt.datetime | None = None
    run_id: int | None = None


def _order_key(e: Event) -> str:
    """What a distinct order is: the order id, or, without one, the purchase day (as in
    custseg.features, which counts distinct purchase days when there is no order id)."""
    return f"o:{e.order_id}" if e.order_id is not None else f"d:{e.day.isoformat()}"


def _is_transient(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40001", "40P01") or "deadlock" in text or "locked" in text or \
        "busy" in text
