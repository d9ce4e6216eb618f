"""The store itself: opening it (:func:`open_store`), the write transactions, events applied
exactly once, live customers, online centres, and recorded runs."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from custseg.errors import EXIT_DATA, CustsegError, UsageError
from custseg.store.live import (
    AsOfFn,
    Event,
    EventConflictError,
    Outcome,
    ScoreFn,
    Touched,
    conflicts,
    empty_aggregates,
    features_from_aggregates,
    features_of_customers,
    in_batch_order,
    order_key,
    utc_now,
)
from custseg.store.tables import (
    AGG_COLUMNS,
    SCHEMA_VERSION,
    assignments,
    customer_days,
    customer_orders,
    customer_products,
    customers,
    events,
    metadata,
    model_state,
    runs,
    segment_changes,
    store_info,
)

#: Attempts of a write transaction that lost a race (deadlock, duplicate key, busy file).
WRITE_ATTEMPTS = 5


class StoreError(CustsegError, ValueError):
    """The store cannot be opened or used (unreachable server, foreign or newer tables)."""

    exit_code = EXIT_DATA
    reason = "store"


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
        # The batch's customers are locked before its events are looked up: an event is
        # stored only under its customer's lock, so a concurrent writer of the same events
        # is waited for, and seen, rather than raced (and retried until the attempts run out)
        self._lock_ids(conn, sorted({e.customer_id for e in batch}))
        stored: dict[str, Any] = {}
        ids = list(dict.fromkeys(e.event_id for e in batch))
        for part in _chunks(ids, 500):
            for row in conn.execute(sa.select(events).where(events.c.event_id.in_(part))):
                stored[row.event_id] = row
        clashes = conflicts(batch, stored)
        if clashes:
            raise EventConflictError(clashes)
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
        outcomes, event_rows, change_rows = state.outcomes(new, assigned, feats_of, utc_now())
        # The event rows go first: a concurrent transaction that stored one of these ids
        # since we looked makes this insert fail, and the whole transaction is retried.
        for table, rows in ((events, event_rows), (customer_days, state.new_days),
                            (customer_orders, state.new_orders),
                            (customer_products, state.new_products),
                            (segment_changes, change_rows)):
            if rows:
                conn.execute(sa.insert(table), rows)
        state.save(conn)
        return in_batch_order(batch, stored, outcomes)

    def _lock_ids(self, conn: Connection, ids: list[str]) -> None:
        """Lock the rows of the customers ``ids`` (created when missing), in id order."""
        if not ids:
            return
        self._insert_ignore(conn, customers, [{"customer_id": c, **empty_aggregates()}
                                              for c in ids], ["customer_id"])
        for part in _chunks(ids, 500):
            conn.execute(sa.select(customers.c.customer_id).where(
                customers.c.customer_id.in_(part)).order_by(
                customers.c.customer_id).with_for_update()).all()

    def _lock_customers(self, conn: Connection, new: list[Event]) -> Touched:
        """The aggregates (locked for update), purchase days, and the known orders and
        products among ``new``'s, of the customers of ``new`` (created when missing)."""
        state = Touched(sorted({e.customer_id for e in new}))
        if not state.customers:
            return state
        self._insert_ignore(conn, customers, [{"customer_id": c, **empty_aggregates()}
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
            keys = list({order_key(e) for e in new if e.customer_id in part})
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
        cols = [customers.c[c] for c in ("customer_id", *AGG_COLUMNS)]
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
                "batches": batches, "updated_at": utc_now()}])

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
            values["created_at"] = values["created_at"] or utc_now()
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


def _is_transient(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None)
    return code in ("40001", "40P01") or "deadlock" in text or "locked" in text or \
        "busy" in text
