"""The store: purchase events applied exactly once, features equal to the batch ones, runs.

Every test runs against SQLite and PostgreSQL (see servicekit.postgres_url: skipped locally
without a server, a failure under CI)."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
import sqlalchemy as sa

from custseg.errors import UsageError
from custseg.store import (
    Event,
    EventConflictError,
    RunRecord,
    StoreError,
    features_from_aggregates,
    normalise_url,
    open_store,
)
from servicekit import (
    assert_features_equal,
    day_after_last,
    events,
    expected_features,
    make_log,
    store_url,
)

BACKENDS = ["sqlite", "postgresql"]


def next_day(latest: dt.date) -> dt.date:
    return latest + dt.timedelta(days=1)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    s = open_store(store_url(request.param, tmp_path))
    yield s
    s.close()


def snapshot(store):
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT customer_id, first_purchase, last_purchase, monetary, n_lines, n_cancel, "
            "frequency, n_days, gap_sum, gap_sumsq, distinct_products, n_events "
            "FROM custseg_customers ORDER BY customer_id")).all()
    return [tuple(r) for r in rows]


def check_against_batch(store, log):
    want = expected_features(log)
    as_of = day_after_last(log)
    for cid in sorted(log["customer_id"].unique()):
        got = store.customer_features(cid, as_of)
        if cid not in want.index:  # returns only: no purchase, left out by the batch too
            assert got is None, cid
            continue
        assert_features_equal(got, want.loc[cid], cid)
    assert store.event_count() == len(log)


@pytest.mark.parametrize("detailed", [True, False], ids=["orders-products", "amounts"])
def test_events_give_the_batch_features(store, detailed):
    log = make_log(25, 400, seed=1 if detailed else 2, detailed=detailed)
    batch = events(log)
    random.Random(0).shuffle(batch)  # events arrive in any order
    for i in range(0, len(batch), 37):
        outcomes = store.apply_events(batch[i:i + 37], as_of=next_day)
        assert all(o.status == "applied" for o in outcomes)
    check_against_batch(store, log)


def test_replay_changes_nothing(store):
    log = make_log(20, 300, seed=3)
    batch = events(log)
    first = store.apply_events(batch, as_of=next_day)
    before = snapshot(store)
    again = []
    for i in range(0, len(batch), 50):  # replayed in other batches
        again += store.apply_events(batch[i:i + 50][::-1], as_of=next_day)
    assert [o.status for o in again] == ["duplicate"] * len(batch)
    assert snapshot(store) == before
    assert store.event_count() == len(batch)
    # a duplicate reports the outcome recorded the first time
    by_id = {o.event_id: o for o in first}
    for o in again:
        assert (o.kind, o.segment) == (by_id[o.event_id].kind, by_id[o.event_id].segment)


def test_repeat_within_a_batch_counts_once(store):
    e = Event("e1", "c1", dt.datetime(2024, 3, 1), amount=10.0)
    outcomes = store.apply_events([e, e, e], as_of=next_day)
    assert [o.status for o in outcomes] == ["applied", "duplicate", "duplicate"]
    assert store.customer("c1")["monetary"] == 10.0


def test_an_event_id_with_another_payload_is_refused(store):
    day = dt.datetime(2024, 3, 1, 10, 30, 15, 123456)
    first = Event("e1", "c1", day, amount=0.1 + 0.2, order_id="o1")
    store.apply_events([first], as_of=next_day)
    # the same payload (10 and 10.0 alike, the time zone dropped as stored) is a replay
    same = Event("e1", "c1", day.replace(tzinfo=dt.UTC), amount=0.1 + 0.2, order_id="o1")
    assert [o.status for o in store.apply_events([same], as_of=next_day)] == ["duplicate"]
    other = Event("e1", "c1", day, amount=0.3, order_id="o1")
    new = Event("e2", "c2", day, amount=5)
    with pytest.raises(EventConflictError, match="another payload") as err:
        store.apply_events([new, other], as_of=next_day)
    assert err.value.conflicts == [{"index": 1, "event_id": "e1",
                                    "stored_sha256": first.payload_sha256(),
                                    "received_sha256": other.payload_sha256()}]
    assert first.payload_sha256() != other.payload_sha256()
    assert store.event_count() == 1 and store.customer("c2") is None  # nothing applied
    assert store.customer("c1")["monetary"] == pytest.approx(0.3)


def test_a_repeat_within_a_batch_with_another_payload_is_refused(store):
    a = Event("e1", "c1", dt.datetime(2024, 3, 1), quantity=2, unit_price=1.5)
    b = Event("e1", "c1", dt.datetime(2024, 3, 1), quantity=2, unit_price=1.5,
              product_id="p")
    with pytest.raises(EventConflictError) as err:
        store.apply_events([a, a, b], as_of=next_day)
    assert [c["index"] for c in err.value.conflicts] == [2]
    assert store.event_count() == 0


def test_concurrent_writers_lose_nothing(store):
    log = make_log(15, 240, seed=4)
    batch = events(log)
    errors = []

    def writer(seed):  # every writer sends every event, in its own order and batches
        mine = list(batch)
        random.Random(seed).shuffle(mine)
        try:
            for i in range(0, len(mine), 20):
                store.apply_events(mine[i:i + 20], as_of=next_day)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    check_against_batch(store, log)


def test_a_failing_transaction_leaves_nothing(store):
    batch = events(make_log(5, 30, seed=5))

    def broken_scorer(rows):
        raise RuntimeError("scorer failed")

    with pytest.raises(RuntimeError):
        store.apply_events(batch, as_of=next_day, score=broken_scorer)
    assert store.event_count() == 0
    assert snapshot(store) == []
    assert all(o.status == "applied" for o in store.apply_events(batch, as_of=next_day))


def test_scoring_and_segment_changes(store):
    def scorer(rows):  # segment 1 once a customer has spent 100
        return [(int(r["monetary"] >= 100), "big" if r["monetary"] >= 100 else "small")
                for r in rows]

    day = dt.datetime(2024, 1, 1)
    out = store.apply_events([Event("a", "c", day, amount=60.0),
                              Event("b", "c", day + dt.timedelta(days=3), amount=50.0)],
                             as_of=next_day, score=scorer)
    assert [(o.segment_before, o.segment, o.segment_changed) for o in out] == \
        [(None, 0, True), (0, 1, True)]
    out = store.apply_events([Event("c", "c", day, amount=5.0)], as_of=next_day, score=scorer)
    assert (out[0].segment_before, out[0].segment, out[0].segment_changed) == (1, 1, False)
    row = store.customer("c")
    assert (row["segment"], row["segment_name"]) == (1, "big")
    assert [(h["segment_before"], h["segment"]) for h in row["history"]] == [(None, 0), (0, 1)]
    assert store.segment_sizes() == {1: 1}


def test_ignored_lines_are_stored_but_count_for_nothing(store):
    day = dt.datetime(2024, 1, 1)
    out = store.apply_events([
        Event("z", "c", day, quantity=2, unit_price=0.0),
        Event("n", "c", day, quantity=1, unit_price=-5.0),
        Event("r", "c", day, amount=-3.0),
    ], as_of=next_day)
    assert [o.kind for o in out] == ["zero-value", "negative-price", "cancellation"]
    row = store.customer("c")
    assert (row["n_lines"], row["n_cancel"], row["frequency"], row["n_events"]) == (1, 1, 0, 3)
    assert features_from_aggregates(row, dt.date(2024, 1, 2)) is None  # no purchase yet
    assert store.event_count() == 3


def test_runs_and_assignments(store):
    seg = [{"id": 0, "stable_id": 0, "name": "A", "size": 2, "centre": {"x": 1.0}},
           {"id": 1, "stable_id": 1, "name": "B", "size": 1, "centre": {"x": 5.0}}]
    run_id = store.record_run(RunRecord(k=2, n_customers=3, features=["x"],
                                        feature_std={"x": 2.0}, segments=seg, label="r1",
                                        id_column="id"),
                              [("u1", 0), ("u2", 0), ("u3", 1)])
    assert store.latest_run().run_id == run_id
    assert store.run_assignments(run_id) == {"u1": 0, "u2": 0, "u3": 1}
    assert store.run(run_id).segments == seg
    assert store.max_stable_id() == 1
    assert store.customer_runs("u3")[0]["segment_name"] == "B"
    with pytest.raises(StoreError, match="no run 99"):
        store.run(99)


def test_online_model_state(store):
    assert store.load_model_state("abc") is None
    store.save_model_state("abc", [[0.0, 1.0]], [10.0], 1)
    store.save_model_state("abc", [[0.5, 1.0]], [12.0], 2)
    state = store.load_model_state("abc")
    assert (state["centres"], state["counts"], state["batches"]) == ([[0.5, 1.0]], [12.0], 2)


def test_sqlite_is_in_wal_mode(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    s.close()


def test_urls(tmp_path):
    assert normalise_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    for bad in ("mysql://h/db", "sqlite://", "sqlite:///", ""):
        with pytest.raises(UsageError, match="`store`"):
            normalise_url(bad)
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    with pytest.raises(StoreError, match="cannot open store"):
        open_store("postgresql://nobody:secret@127.0.0.1:1/none")


def test_a_newer_store_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    s = open_store(url)
    with s.engine.begin() as conn:
        conn.execute(sa.text("UPDATE custseg_store_info SET value = '99'"))
    s.close()
    with pytest.raises(StoreError, match="newer custseg"):
        open_store(url)
