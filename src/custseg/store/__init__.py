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

from custseg.store.core import (
    WRITE_ATTEMPTS,
    RunRecord,
    Store,
    StoreError,
    normalise_url,
    open_store,
)
from custseg.store.live import (
    EVENT_FEATURES,
    Event,
    EventConflictError,
    Outcome,
    features_from_aggregates,
    features_of_customers,
)
from custseg.store.tables import MAX_ID_LENGTH, SCHEMA_VERSION

__all__ = ["EVENT_FEATURES", "MAX_ID_LENGTH", "SCHEMA_VERSION", "WRITE_ATTEMPTS", "Event",
           "EventConflictError", "Outcome", "RunRecord", "Store", "StoreError",
           "features_from_aggregates", "features_of_customers", "normalise_url", "open_store"]
