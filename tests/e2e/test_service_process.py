"""``custseg serve`` as a real process: killed (SIGKILL) in the middle of a stream of
events, restarted, fed every event again: nothing lost, nothing counted twice."""

from __future__ import annotations

import random
import signal
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from conftest import run_custseg
from custseg.store import features_from_aggregates, open_store
from servicekit import (
    Server,
    assert_features_equal,
    day_after_last,
    event_dicts,
    expected_features,
    make_log,
    store_url,
    tx_bundle,
)

TOKEN = "crash-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def tx_model(tmp_path_factory):
    return tx_bundle(tmp_path_factory.mktemp("txp") / "model")


def post(client, batch):
    r = client.post("/v1/events", json={"events": batch}, headers=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["results"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_stream_then_replay(backend, tx_model, tmp_path):
    url = store_url(backend, tmp_path)
    log = make_log(40, 600, seed=21, detailed=True)
    evs = event_dicts(log)
    batches = [evs[i:i + 10] for i in range(0, len(evs), 10)]
    server = Server(tx_model, url, "--as-of", "latest", env={"CUSTSEG_TOKEN": TOKEN},
                    log=tmp_path / "serve.log")
    acknowledged: dict[str, str] = {}
    try:
        server.wait_ready()
        client = httpx.Client(base_url=server.url)
        assert client.post("/v1/events", json={"events": batches[0]}).status_code == 401
        kill_after = 25
        lost = 0
        for n, batch in enumerate(batches):
            if n == kill_after:  # kill the server while the next requests are in flight
                delay = random.Random(backend).uniform(0.0, 0.02)
                threading.Timer(delay, server.proc.send_signal, [signal.SIGKILL]).start()
            try:
                for res in post(client, batch):
                    acknowledged[res["event_id"]] = res["status"]
            except httpx.HTTPError:
                lost += 1
                if server.proc.poll() is not None:
                    break
        server.proc.wait(10)
        assert server.proc.returncode == -signal.SIGKILL
        assert lost >= 1 and len(acknowledged) >= kill_after * 10
        assert set(acknowledged.values()) == {"applied"}
    finally:
        server.stop()

    restarted = Server(tx_model, url, "--as-of", "latest", env={"CUSTSEG_TOKEN": TOKEN},
                       log=tmp_path / "serve.log")
    try:
        restarted.wait_ready()
        client = httpx.Client(base_url=restarted.url)
        replay = {}
        for batch in batches:  # every event again, acknowledged or not
            for res in post(client, batch):
                replay[res["event_id"]] = res["status"]
        assert len(replay) == len(evs)
        # an event acknowledged before the crash is never applied again
        assert all(replay[e] == "duplicate" for e in acknowledged)
        # a second replay finds everything stored
        assert {r["status"] for r in post(client, batches[-1])} == {"duplicate"}
        sample = client.get(f"/v1/customers/{evs[0]['customer_id']}", headers=AUTH).json()
        assert sample["features"]["n_lines"] >= 1
    finally:
        restarted.stop()

    # every count equals what the events give, computed directly from them
    store = open_store(url)
    try:
        assert store.event_count() == len(evs)
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT sum(n_events) FROM custseg_customers")
                                ).scalar() == len(evs)
        want = expected_features(log)
        as_of = day_after_last(log)
        for cid in sorted(log["customer_id"].unique()):
            row = store.customer(cid)
            assert row["n_events"] == (log["customer_id"] == cid).sum(), cid
            got = features_from_aggregates(row, as_of)
            if cid in want.index:
                assert_features_equal(got, want.loc[cid], cid)
            else:
                assert got is None
    finally:
        store.close()


def test_serve_refuses_an_open_address_without_a_token(tmp_path):
    r = run_custseg("serve", str(tmp_path), "--host", "0.0.0.0", "--store",
                    f"sqlite:///{tmp_path / 's.db'}", timeout=120)
    assert r.returncode == 2, r.stderr
    assert "token" in r.stderr and "CUSTSEG_TOKEN" in r.stderr
    assert not (tmp_path / "s.db").exists()


def test_serve_over_http(tmp_path, mall_path):
    from servicekit import mall_bundle

    model = mall_bundle(tmp_path / "model", mall_path)
    server = Server(model, f"sqlite:///{tmp_path / 'm.db'}", log=tmp_path / "serve.log")
    try:
        server.wait_ready()
        t0 = time.perf_counter()
        body = {"features": {"Age": 30, "Annual Income (k$)": 50,
                             "Spending Score (1-100)": 40}}
        with httpx.Client(base_url=server.url) as client:
            for _ in range(50):
                r = client.post("/v1/score", json=body)
                assert r.status_code == 200
            assert client.get("/v1/segments").json()["k"] == 5
            assert client.get("/healthz").json() == {"status": "ok"}
            # no token configured (loopback): the details are open, as every /v1 endpoint
            assert client.get("/v1/health").json()["store"].startswith("sqlite:///")
            assert client.get("/metrics").headers["content-type"].startswith("text/plain")
        assert time.perf_counter() - t0 < 10
    finally:
        server.stop()
    out = (tmp_path / "serve.log").read_text()
    assert "listening on http://127.0.0.1" in out and "auth off" in out
