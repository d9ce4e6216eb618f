"""The HTTP service, in process (FastAPI's test client): scoring, events, customers,
segments, drift, online update, limits, authentication, metrics, and a schemathesis fuzz
of its own OpenAPI description."""

from __future__ import annotations

import datetime as dt
import json
import math
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

from custseg.bundle import load_bundle
from custseg.errors import UsageError
from custseg.service import (
    FUTURE_TOLERANCE,
    MAX_BATCH,
    ModelScorer,
    create_app,
    is_loopback,
)
from custseg.store import Event
from servicekit import (
    assert_features_equal,
    event_dicts,
    expected_features,
    make_log,
    mall_bundle,
    tx_bundle,
)

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
FEATS = ["Age", "Annual Income (k$)", "Spending Score (1-100)"]


@pytest.fixture(scope="module")
def mall_model(tmp_path_factory, mall_path):
    return mall_bundle(tmp_path_factory.mktemp("mall") / "model", mall_path)


@pytest.fixture(scope="module")
def tx_model(tmp_path_factory):
    return tx_bundle(tmp_path_factory.mktemp("tx") / "model")


@pytest.fixture(scope="module")
def mall_app(tmp_path_factory, mall_model):
    """A client of a service shared by the tests that store nothing, or distinct ids."""
    return client(mall_model, tmp_path_factory.mktemp("mall-app"))


@pytest.fixture(scope="module")
def tx_app(tmp_path_factory, tx_model):
    return client(tx_model, tmp_path_factory.mktemp("tx-app"), as_of="latest")


@pytest.fixture(scope="module")
def mall_rows(mall_path):
    df = pd.read_csv(mall_path)
    return df


def client(model, tmp_path, **kw):
    from fastapi.testclient import TestClient

    kw.setdefault("store_url", f"sqlite:///{tmp_path / 'store.db'}")
    app = create_app(model, kw.pop("store_url"), **kw)
    return TestClient(app)


def body_of(row):
    return {"id": str(row["CustomerID"]), "features": {f: float(row[f]) for f in FEATS}}


def post_raw(c, path, text):
    return c.post(path, content=text.encode(), headers={"content-type": "application/json"})


def locs(response):
    return [d["loc"] for d in response.json()["detail"]]


def event(event_id="e1", customer_id="c1", timestamp="2024-05-01", **values):
    return {"event_id": event_id, "customer_id": customer_id, "timestamp": timestamp,
            **(values or {"amount": 5.0})}


# ------------------------------------------------------------------ scoring
def test_score_one_and_a_batch_like_assign(mall_model, mall_rows, tmp_path):
    c = client(mall_model, tmp_path)
    want = load_bundle(mall_model).segmenter.assign(mall_rows)
    r = c.post("/v1/score", json={"customers": [body_of(r) for _, r in
                                                mall_rows.head(60).iterrows()]})
    assert r.status_code == 200
    got = r.json()["results"]
    assert [x["segment"] for x in got] == want["segment"].head(60).tolist()
    assert np.allclose([x["distance"] for x in got], want["distance"].head(60), atol=1e-6)
    assert got[0]["id"] == str(mall_rows["CustomerID"].iloc[0])
    assert "probability" not in got[0]  # K-Means has none
    one = c.post("/v1/score", json=body_of(mall_rows.iloc[7])).json()["results"]
    assert len(one) == 1 and one[0]["segment"] == want["segment"].iloc[7]
    assert one[0]["segment_name"] == want["segment_name"].iloc[7]


@pytest.mark.parametrize("options", [
    {}, {"scaling": "robust", "clip": 0.05}, {"scaling": "minmax"},
    {"scaling": "none", "log": ["Annual Income (k$)"]},
    {"log": ["Age", "Spending Score (1-100)"], "clip": 0.02, "impute": "most_frequent"},
], ids=["standard", "robust-clip", "minmax", "none-log", "log-clip-mode"])
def test_the_fast_path_agrees_with_assign(options, mall_path, tmp_path):
    scorer = ModelScorer(load_bundle(mall_bundle(tmp_path / "m", mall_path, **options)))
    assert scorer.fast
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"Age": rng.uniform(10, 90, 300),
                         "Annual Income (k$)": rng.uniform(0, 200, 300),
                         "Spending Score (1-100)": rng.uniform(-10, 110, 300)})
    rows.iloc[::17, 1] = np.nan  # missing values are imputed as in the model
    want = scorer.seg.assign(rows)
    got = scorer.score([{f: (None if pd.isna(v) else v) for f, v in r.items()}
                        for r in rows.to_dict("records")])
    assert [g["segment"] for g in got] == want["segment"].tolist()
    assert np.allclose([g["distance"] for g in got], want["distance"], atol=1e-6)


@pytest.mark.parametrize("options", [{}, {"log": ["Age"], "clip": 0.02},
                                     {"algorithm": "gmm", "k": 4}],
                         ids=["kmeans", "kmeans-log-clip", "gmm"])
def test_the_service_answers_exactly_as_custseg_score(options, mall_path, mall_rows, tmp_path):
    """One scoring path: the answers of /v1/score (one customer or a batch, the compiled
    path for K-Means) are custseg score's file, to the last digit."""
    from custseg.scoring import score_file

    model = mall_bundle(tmp_path / "m", mall_path, **options)
    rng = np.random.default_rng(3)
    extra = pd.DataFrame({"CustomerID": np.arange(1000, 1150),
                          "Age": rng.integers(15, 90, 150).astype(float),
                          "Annual Income (k$)": rng.uniform(0, 200, 150).round(2),
                          "Spending Score (1-100)": rng.uniform(-5, 105, 150).round(1)})
    extra.loc[::13, "Annual Income (k$)"] = np.nan
    table = pd.concat([mall_rows[["CustomerID", *FEATS]], extra], ignore_index=True)
    table.to_csv(tmp_path / "customers.csv", index=False)
    score_file(model, tmp_path / "customers.csv", tmp_path / "scored.csv", chunk_size=64)
    batch = pd.read_csv(tmp_path / "scored.csv", dtype=str)
    c = client(model, tmp_path)
    assert c.app.state.scorer.fast == ("algorithm" not in options)
    bodies = [{"id": str(r["CustomerID"]),
               "features": {f: (None if pd.isna(r[f]) else float(r[f])) for f in FEATS}}
              for r in table.to_dict("records")]
    got = c.post("/v1/score", json={"customers": bodies}).json()["results"]
    got[7:9] = [c.post("/v1/score", json=b).json()["results"][0] for b in bodies[7:9]]
    assert [g["segment"] for g in got] == [int(s) for s in batch["segment"]]
    assert [g["segment_name"] for g in got] == batch["segment_name"].tolist()
    columns = ["distance", "probability"] if "probability" in batch else ["distance"]
    for col in columns:
        assert [g[col] for g in got] == [float(x) for x in batch[col]], col


def test_a_model_reading_ordered_levels_answers_level_names_as_score_does(tmp_path):
    """A feature of ordered levels (an income band, read as its rank) comes to the service
    as its level's name (it was refused as not a number, and a rank was read as missing):
    the answers are custseg score's, to the last digit (its file scored from bundle.json)."""
    from custseg import Segmenter
    from custseg.bundle import save_bundle
    from custseg.scoring import score_file

    rng = np.random.default_rng(4)
    n = 300
    group = rng.integers(0, 3, n)
    bands = ["Less than $40K", "$40K - $60K", "$60K - $80K", "$80K - $120K", "$120K +"]
    table = pd.DataFrame({
        "Income_Category": [bands[min(4, g * 2 + int(rng.integers(0, 2)))] for g in group],
        "Credit_Limit": np.round(rng.lognormal(np.array([7.5, 8.5, 9.5])[group], 0.3), 1)})
    table.loc[3, "Income_Category"] = None
    seg = Segmenter(k=3, random_state=0).fit(table)
    model = tmp_path / "model"
    save_bundle(seg, model, training=table)
    scorer = ModelScorer(load_bundle(model))
    assert "Income_Category" in seg.plan_.numeric and not scorer.fast
    table.to_csv(tmp_path / "customers.csv", index=False)
    score_file(model, tmp_path / "customers.csv", tmp_path / "scored.csv")
    batch = pd.read_csv(tmp_path / "scored.csv")
    bodies = [{"features": {f: (None if pd.isna(v) else v) for f, v in r.items()}}
              for r in table.to_dict("records")]
    c = client(model, tmp_path)
    got = c.post("/v1/score", json={"customers": bodies})
    assert got.status_code == 200, got.text
    results = got.json()["results"]
    assert [g["segment"] for g in results] == batch["segment"].tolist()
    assert [g["distance"] for g in results] == batch["distance"].tolist()
    # drift compares the ranks of the levels scored with the training's (it failed on names)
    drift = c.get("/v1/drift", params={"population": "recent"})
    assert drift.status_code == 200, drift.text
    income = drift.json()["features"]["Income_Category"]
    assert income["psi"] == 0.0 and income["missing"] == 1


def test_the_scorer_reads_records_as_a_file_is_read(tmp_path):
    """``ModelScorer.score`` of records as a file holds them (text: "$1,234.50", "n/a", a
    date of birth for the feature Age, a last purchase date for the days since it) gives
    ``custseg score``'s answers for the same file, to the last digit; a request giving the
    derived feature itself (Age) is read as it is."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_compiled_scoring import _dob_table

    from custseg import Segmenter, load_table
    from custseg.bundle import save_bundle
    from custseg.scoring import score_file

    path = _dob_table(tmp_path / "dob.csv")
    table = load_table(path)
    seg = Segmenter(random_state=0, id_col="customer_id").fit(table)
    save_bundle(seg, tmp_path / "model", training=table)
    scorer = ModelScorer(load_bundle(tmp_path / "model"))
    score_file(tmp_path / "model", path, tmp_path / "scored.csv")
    batch = pd.read_csv(tmp_path / "scored.csv")
    records = pd.read_csv(path, dtype=str).to_dict("records")
    got = scorer.score(records)
    assert [g["segment"] for g in got] == batch["segment"].tolist()
    assert [g["distance"] for g in got] == batch["distance"].tolist()
    typed = seg.typed_features(table.head(20))
    given = scorer.score([{f: (None if pd.isna(v) else float(v)) for f, v in r.items()}
                          for r in typed.to_dict("records")])
    assert [g["segment"] for g in given] == batch["segment"].head(20).tolist()


def test_every_library_error_has_one_http_answer():
    from custseg.errors import DataError, ErrorCode, Problem
    from custseg.service import HTTP_ANSWERS, http_answer
    from custseg.store import EventConflictError, StoreError

    assert set(HTTP_ANSWERS) == set(ErrorCode)
    assert http_answer(StoreError("down")) == (503, {"detail": "down"})
    status, body = http_answer(DataError([Problem("Age", "junk", rows=[3])]))
    assert status == 422 and body["problems"][0]["rows"] == [3]
    conflict = [{"index": 0, "event_id": "e", "stored_sha256": "a", "received_sha256": "b"}]
    status, body = http_answer(EventConflictError(conflict))
    assert status == 409 and body["conflicts"] == conflict
    assert http_answer(UsageError("no"))[0] == 422


def test_other_methods_go_through_assign(mall_path, tmp_path):
    model = mall_bundle(tmp_path / "gmm", mall_path, algorithm="gmm", k=4)
    scorer = ModelScorer(load_bundle(model))
    assert not scorer.fast
    c = client(model, tmp_path)
    r = c.post("/v1/score", json={"features": {"Age": 30, "Annual Income (k$)": 70,
                                               "Spending Score (1-100)": 80}})
    assert r.status_code == 200 and 0 <= r.json()["results"][0]["probability"] <= 1
    with pytest.raises(UsageError, match="K-Means"):
        create_app(model, None, online_update=True)


@pytest.mark.parametrize("body,where", [
    ({"features": {"Age": 30, "Annual Income (k$)": 50}},
     ["body", "features", "Spending Score (1-100)"]),
    ({"features": {"Age": "old", "Annual Income (k$)": 50, "Spending Score (1-100)": 1}},
     ["body", "features", "Age"]),
    ({"features": {"Age": 1e101, "Annual Income (k$)": 50, "Spending Score (1-100)": 1}},
     ["body", "features", "Age"]),
    ({"customers": [{"features": {"Age": 1, "Annual Income (k$)": 2}}]},
     ["body", "customers", 0, "features", "Spending Score (1-100)"]),
    ({"customers": []}, ["body", "customers"]),
    ({"id": "x"}, ["body"]),
    ({"features": {"Age": 1, "Annual Income (k$)": 2, "Spending Score (1-100)": 3},
      "customers": [{"features": {"Age": 1, "Annual Income (k$)": 2,
                                  "Spending Score (1-100)": 3}}]}, ["body"]),
    ({"featurez": {}}, ["body", "featurez"]),
])
def test_invalid_requests_are_422_naming_the_field(body, where, mall_model, tmp_path):
    r = client(mall_model, tmp_path).post("/v1/score", json=body)
    assert r.status_code == 422, r.text
    assert where in [d["loc"][:len(where)] for d in r.json()["detail"]], r.json()


def test_limits(mall_model, tmp_path):
    c = client(mall_model, tmp_path, max_body=4096)
    one = {"features": {f: 1 for f in FEATS}}
    r = c.post("/v1/score", content=json.dumps({"customers": [one] * 200}),
               headers={"content-type": "application/json"})
    assert r.status_code == 413 and "4096" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(50):
            yield b" " * 200
        yield json.dumps(one).encode()

    r = c.post("/v1/score", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    big = client(mall_model, tmp_path, store_url=f"sqlite:///{tmp_path / 'b.db'}")
    r = big.post("/v1/score", json={"customers": [one] * (MAX_BATCH + 1)})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "customers"]
    assert big.post("/v1/score", json={"customers": [one] * MAX_BATCH}).status_code == 200


def test_bearer_token(mall_model, tmp_path):
    c = client(mall_model, tmp_path, token="s3cret")
    one = {"features": {f: 1 for f in FEATS}}
    assert c.post("/v1/score", json=one).status_code == 401
    r = c.post("/v1/score", json=one, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.post("/v1/score", json=one,
                  headers={"Authorization": "Bearer s3cret"}).status_code == 200
    for path in ("/v1/segments", "/v1/drift", "/metrics", "/v1/customers/x", "/v1/health"):
        assert c.get(path).status_code == 401, path
    assert c.get("/healthz").status_code == 200  # probes need no token
    schemes = c.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")


# ------------------------------------------------------------------ events
def test_events_need_purchase_features(mall_model, tmp_path):
    c = client(mall_model, tmp_path)
    r = c.post("/v1/events", json={"events": [{"event_id": "e", "customer_id": "c",
                                               "timestamp": "2024-01-01", "amount": 5}]})
    assert r.status_code == 409
    assert "cannot be computed from purchase events" in r.json()["detail"]
    assert "Age" in r.json()["detail"] and "/v1/score still works" in r.json()["detail"]
    assert c.post("/v1/score", json={"features": {f: 1 for f in FEATS}}).status_code == 200


def test_events_update_features_exactly_once(tx_model, tmp_path):
    c = client(tx_model, tmp_path, as_of="latest")
    log = make_log(20, 300, seed=7, detailed=False)
    evs = event_dicts(log)
    statuses, changed = [], 0
    for i in range(0, len(evs), 40):
        r = c.post("/v1/events", json={"events": evs[i:i + 40]})
        assert r.status_code == 200, r.text
        statuses += [x["status"] for x in r.json()["results"]]
        changed += sum(x["segment_changed"] for x in r.json()["results"])
    assert statuses == ["applied"] * len(evs) and changed >= 20  # each customer's first
    r = c.post("/v1/events", json={"events": evs[:100]}).json()
    assert (r["applied"], r["duplicates"]) == (0, 100)
    want = expected_features(log)
    k = load_bundle(tx_model).meta["k"]
    for cid in want.index:
        doc = c.get(f"/v1/customers/{cid}").json()
        assert_features_equal(doc["features"], want.loc[cid], cid)
        assert 0 <= doc["segment"]["segment"] < k
        assert doc["stored_segment"]["segment"] == doc["history"][-1]["segment"]
        assert doc["aggregates"]["n_events"] == (log["customer_id"] == cid).sum()
    assert c.get("/v1/customers/nobody").status_code == 404
    seg = c.get("/v1/segments").json()
    assert seg["live_customers"] == len(want)
    assert sum(s["live_customers"] for s in seg["segments"]) == len(want)
    metrics = c.get("/metrics").text
    assert f'custseg_events_total{{status="applied"}} {len(evs)}.0' in metrics
    assert 'custseg_events_total{status="duplicate"} 100.0' in metrics


def test_event_validation(tx_model, tmp_path):
    c = client(tx_model, tmp_path, as_of="2024-06-01")
    ok = {"event_id": "e1", "customer_id": "c1", "timestamp": "2024-05-01", "amount": 5.0}
    cases = [
        ({**ok, "amount": None}, ["body", "events", 0]),
        ({**ok, "quantity": 2, "amount": None}, ["body", "events", 0]),
        ({**ok, "event_id": ""}, ["body", "events", 0, "event_id"]),
        ({**ok, "timestamp": "yesterday"}, ["body", "events", 0, "timestamp"]),
        ({**ok, "timestamp": "2401-01-01"}, ["body", "events", 0, "timestamp"]),
        ({**ok, "amount": 1e13}, ["body", "events", 0, "amount"]),
        ({**ok, "colour": "red"}, ["body", "events", 0, "colour"]),
        ({**ok, "timestamp": "2024-06-01T10:00:00"}, ["body", "events", 0, "timestamp"]),
    ]
    for event, where in cases:
        r = c.post("/v1/events", json={"events": [event]})
        assert r.status_code == 422, (event, r.text)
        assert where in [d["loc"][:len(where)] for d in r.json()["detail"]], r.json()
    assert c.post("/v1/events", json={"events": [ok] * (1001)}).status_code == 422
    assert c.post("/v1/events", json={"events": [ok]}).json()["applied"] == 1
    assert c.get("/v1/customers/c1").json()["features"]["recency_days"] == 31


def test_a_store_failure_is_503_not_500(tx_model, tmp_path):
    import sqlalchemy as sa

    c = client(tx_model, tmp_path, as_of="latest")

    def unreachable(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))

    c.app.state.store.apply_events = unreachable
    event = {"event_id": "e", "customer_id": "c", "timestamp": "2024-01-01", "amount": 5.0}
    r = c.post("/v1/events", json={"events": [event]})
    assert r.status_code == 503 and "nothing was applied" in r.json()["detail"]


# ------------------------------------------------------------------ bad input
SCORE_ONE = '{"id": "x", "features": {"Age": %s, "Annual Income (k$)": 50, ' \
    '"Spending Score (1-100)": 1}}'
EVENT_ONE = '{"events": [{"event_id": "e-amount", "customer_id": "c", "timestamp": ' \
    '"2024-01-01", "amount": %s}]}'


@pytest.mark.parametrize("path,template,where", [
    ("/v1/score", SCORE_ONE, ["body", "features", "Age"]),
    ("/v1/score", '{"customers": [{"features": {"Age": 1, "Annual Income (k$)": %s, '
                  '"Spending Score (1-100)": 1}}]}',
     ["body", "customers", 0, "features", "Annual Income (k$)"]),
    ("/v1/events", EVENT_ONE, ["body", "events", 0, "amount"]),
    ("/v1/events", '{"events": [{"event_id": "e-quantity", "customer_id": "c", "timestamp": '
                   '"2024-01-01", "quantity": %s, "unit_price": 2}]}',
     ["body", "events", 0, "quantity"]),
    ("/v1/events", '{"events": [{"event_id": "e-price", "customer_id": "c", "timestamp": '
                   '"2024-01-01", "quantity": 2, "unit_price": %s}]}',
     ["body", "events", 0, "unit_price"]),
], ids=["feature", "batch-feature", "amount", "quantity", "unit_price"])
@pytest.mark.parametrize("value", ["true", "false", '"12"'])
def test_a_boolean_or_a_string_is_not_a_number(path, template, where, value, mall_app,
                                               tx_app):
    c = mall_app if path == "/v1/score" else tx_app
    r = post_raw(c, path, template % value)
    assert r.status_code == 422, r.text
    assert where in locs(r)
    assert post_raw(c, path, template % "3").status_code == 200  # an integer is a number


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e309", "-1e400",
                                   "1" + "0" * 5000])
@pytest.mark.parametrize("path,template,where", [
    ("/v1/score", SCORE_ONE, ["body", "features", "Age"]),
    ("/v1/score", '{"id": %s, "features": {}}', ["body", "id"]),
    ("/v1/score", '{"features": {"Age": 1, "Annual Income (k$)": 50, '
                  '"Spending Score (1-100)": 1, "ignored": [1, %s]}}',
     ["body", "features", "ignored", 1]),
    ("/v1/events", EVENT_ONE, ["body", "events", 0, "amount"]),
], ids=["feature", "id", "ignored-key", "amount"])
def test_a_non_finite_number_anywhere_is_422_naming_it(path, template, where, value,
                                                      mall_app, tx_app):
    c = mall_app if path == "/v1/score" else tx_app
    r = post_raw(c, path, template % value)
    assert r.status_code == 422, r.text
    assert where in locs(r), r.json()
    assert r.json()["detail"][0]["type"] == "finite_number"


def test_a_non_finite_result_is_answered_null(mall_model, tmp_path):
    c = client(mall_model, tmp_path)
    scorer = c.app.state.scorer
    scorer.score = lambda rows: [{"segment": 0, "segment_name": "x", "distance": math.nan}
                                 for _ in rows]
    r = c.post("/v1/score", json={"features": {f: 1 for f in FEATS}})
    assert r.status_code == 200 and r.json()["results"][0]["distance"] is None


def test_an_event_id_with_another_payload_is_409(tx_model, tmp_path):
    c = client(tx_model, tmp_path, as_of="latest")
    first = event(amount=5)
    assert c.post("/v1/events", json={"events": [first]}).json()["applied"] == 1
    again = c.post("/v1/events", json={"events": [{**first, "amount": 5.0}]}).json()
    assert again["duplicates"] == 1  # the same payload: a no-op
    changed = {**first, "amount": 6.0}
    r = c.post("/v1/events", json={"events": [event("e2", "c2"), changed]})
    assert r.status_code == 409, r.text
    as_stored = Event("e1", "c1", dt.datetime(2024, 5, 1), amount=5.0)
    assert r.json()["conflicts"] == [{
        "index": 1, "event_id": "e1", "stored_sha256": as_stored.payload_sha256(),
        "received_sha256": Event("e1", "c1", dt.datetime(2024, 5, 1),
                                 amount=6.0).payload_sha256()}]
    assert "nothing of this batch was applied" in r.json()["detail"]
    assert c.get("/v1/customers/c2").status_code == 404
    assert c.get("/v1/customers/c1").json()["aggregates"]["monetary"] == 5.0


def test_future_events_are_set_aside_with_as_of_latest(tx_model, tmp_path):
    c = client(tx_model, tmp_path, as_of="latest")
    today = dt.datetime.now(dt.UTC).date()
    far = (today + FUTURE_TOLERANCE + dt.timedelta(days=1)).isoformat()
    r = c.post("/v1/events", json={"events": [
        event("e1", "c1", "2024-05-01"), event("e2", "c2", "2024-05-11"),
        event("e3", "c1", far)]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["applied"], [x["event_id"] for x in body["results"]]) == (2, ["e1", "e2"])
    assert [(a["index"], a["event_id"]) for a in body["set_aside"]] == [(2, "e3")]
    assert "not applied" in body["set_aside"][0]["reason"]
    doc = c.get("/v1/customers/c1").json()
    assert doc["as_of"] == "2024-05-12" and doc["features"]["recency_days"] == 11
    assert 'custseg_events_total{status="set_aside"} 1.0' in c.get("/metrics").text
    soon = (today + FUTURE_TOLERANCE).isoformat()  # within the tolerance: applied
    r = c.post("/v1/events", json={"events": [event("e4", "c1", soon)]}).json()
    assert (r["applied"], r["set_aside"]) == (1, [])


def test_health_says_ok_or_not_and_details_need_the_token(tx_model, tmp_path):
    c = client(tx_model, tmp_path, token="s3cret")
    r = c.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert c.get("/v1/health").status_code == 401
    h = c.get("/v1/health", headers={"Authorization": "Bearer s3cret"}).json()
    assert h["status"] == "ok" and h["store"].endswith("store.db") and h["events"]
    c.app.state.store.ping = lambda: False
    r = c.get("/healthz")
    assert (r.status_code, r.json()) == (503, {"status": "not ok"})
    r = c.get("/v1/health", headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 503 and not r.json()["store_reachable"]


def url_of(customer_id):
    """The customer's URL: every character but letters, digits and -_~ percent-encoded,
    dots too (clients drop the path segments . and ..)."""
    return "/v1/customers/" + quote(customer_id, safe="").replace(".", "%2E")


@pytest.mark.parametrize("customer_id", ["a/b", "/lead", "trail/", "x//y", "50% off",
                                         "a b+c", "é/漢字", ".", "..", "a/../b", "?q#f"])
def test_any_customer_id_reads_back(customer_id, tx_app):
    c = tx_app
    r = c.post("/v1/events", json={"events": [event(f"e-{customer_id}", customer_id)]})
    assert r.json()["results"][0]["customer_id"] == customer_id
    got = c.get(url_of(customer_id))
    assert got.status_code == 200, got.text
    assert got.json()["customer_id"] == customer_id
    assert got.json()["aggregates"]["n_events"] == 1
    if customer_id == "a/b":  # a slash need not be encoded
        assert c.get("/v1/customers/a/b").json()["customer_id"] == "a/b"


# ------------------------------------------------------------------ drift and segments
def test_drift_of_scored_customers(mall_model, mall_rows, tmp_path):
    c = client(mall_model, tmp_path)
    r = c.get("/v1/drift").json()
    assert not r["enough_data"] and not r["resegment_recommended"]
    c.post("/v1/score", json={"customers": [body_of(r) for _, r in mall_rows.iterrows()]})
    r = c.get("/v1/drift").json()
    assert (r["population"], r["n"], r["enough_data"]) == ("recent", 200, True)
    assert r["max_psi"] < 0.1 and not r["resegment_recommended"]
    older = mall_rows.assign(Age=mall_rows["Age"] + 25)
    for _ in range(30):  # the recent window fills with older customers
        c.post("/v1/score", json={"customers": [body_of(r) for _, r in older.iterrows()]})
    r = c.get("/v1/drift").json()
    assert r["resegment_recommended"] and r["features"]["Age"]["status"] == "significant"
    assert "re-segment recommended" in r["reason"]
    assert 'custseg_resegment_recommended 1.0' in c.get("/metrics").text
    assert c.get("/v1/drift?population=sometimes").status_code == 422
    assert c.get("/v1/drift?population=customers").status_code == 409


def test_drift_of_live_customers(tx_model, tmp_path):
    c = client(tx_model, tmp_path, as_of="latest")
    log = make_log(150, 2400, seed=11, detailed=False)
    evs = event_dicts(log)
    for i in range(0, len(evs), 500):
        assert c.post("/v1/events", json={"events": evs[i:i + 500]}).status_code == 200
    r = c.get("/v1/drift").json()
    assert r["population"] == "customers" and r["n"] == expected_features(log).shape[0]
    assert set(r["features"]) == {"recency_days", "frequency", "monetary"}


def test_online_update_moves_centres_not_names(mall_model, tmp_path):
    url = f"sqlite:///{tmp_path / 'online.db'}"
    c = client(mall_model, tmp_path, store_url=url, online_update=True, online_batch=10,
               online_threshold=0.2)
    before = c.get("/v1/segments").json()
    centre = before["segments"][0]["centre"]
    near = {"features": {f: centre[f] * 1.15 for f in FEATS}}
    seg0 = c.post("/v1/score", json=near).json()["results"][0]["segment"]
    for _ in range(40):
        c.post("/v1/score", json={"customers": [near] * 5})
    after = c.get("/v1/segments").json()
    assert [(s["id"], s["name"]) for s in after["segments"]] == \
        [(s["id"], s["name"]) for s in before["segments"]]
    moved = after["segments"][seg0]
    assert moved["centre_shift"] > 0.2 and moved["centre_moved"]
    assert after["online_update"]["batches"] == 20
    assert all(s["centre_shift"] == 0 for i, s in enumerate(after["segments"]) if i != seg0)
    assert "custseg_centre_shift" in c.get("/metrics").text
    again = client(mall_model, tmp_path, store_url=url, online_update=True)
    assert again.get("/v1/segments").json()["segments"][seg0]["centre_shift"] == \
        pytest.approx(moved["centre_shift"], abs=1e-6)  # resumed from the store
    plain = client(mall_model, tmp_path, store_url=url)
    assert "centre_shift" not in plain.get("/v1/segments").json()["segments"][0]


def test_health_and_metrics(mall_model, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    c = client(mall_model, tmp_path)
    h = c.get("/v1/health").json()
    assert h["status"] == "ok" and h["fast_path"] and not h["events"]
    c.post("/v1/score", json={"features": {f: 1 for f in FEATS}})
    c.post("/v1/score", json={"features": {}})
    families = {f.name: f for f in text_string_to_metric_families(c.get("/metrics").text)}
    requests = {tuple(sorted(s.labels.items())): s.value for s in
                families["custseg_requests"].samples if s.name.endswith("_total")}
    assert requests[(("endpoint", "/v1/score"), ("method", "POST"), ("status", "200"))] == 1
    assert requests[(("endpoint", "/v1/score"), ("method", "POST"), ("status", "422"))] == 1
    assert "custseg_request_seconds" in families and "custseg_model_info" in families


# ------------------------------------------------------------------ fuzzing
#: Values a JSON body may hold that are no numbers: Python's json reads NaN, Infinity and
#: 1e309 (as infinity); booleans are ints to Python.
NOT_NUMBERS = [math.nan, math.inf, -math.inf, "1e309", True, False]


def leaves(node, loc=()):
    """Where the values of a JSON document are (the document itself when it is empty)."""
    items = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else ()
    found = False
    for key, value in items:
        found = True
        yield from leaves(value, (*loc, key))
    if not found:
        yield loc


def replaced(node, loc, value):
    if not loc:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[loc[0]] = replaced(node[loc[0]], loc[1:], value)
    return copy


def raw_json(body):
    return json.dumps(body, allow_nan=True).replace('"1e309"', "1e309").encode()


@pytest.mark.parametrize("which", ["mall", "tx"])
def test_fuzz_from_the_openapi_description(which, mall_model, tx_model, tmp_path):
    """Schemathesis generates requests from the service's own OpenAPI description (valid
    ones and, negative mode, invalid ones); each body is also sent with one of its values
    replaced by NaN, an infinity, 1e309 or a boolean.  No request may get a 5xx, and a
    non-finite number is answered 422 naming where it is."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    app = create_app(mall_model if which == "mall" else tx_model,
                     f"sqlite:///{tmp_path / 'fuzz.db'}", as_of="latest")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    n_ops = 0
    for result in schema.get_all_operations():
        op = result.ok()
        n_ops += 1
        cases = op.as_strategy() | op.as_strategy(GenerationMode.NEGATIVE)

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=cases, data=st.data())
        def check(case, data):
            response = case.call()
            if response.status_code >= 500:
                failures.append((case.operation.label, case.body, response.status_code,
                                 response.text[:300]))
            if not isinstance(case.body, dict | list):
                return
            loc = data.draw(st.sampled_from(list(leaves(case.body))))
            value = data.draw(st.sampled_from(NOT_NUMBERS))
            body = replaced(case.body, loc, value)
            response = case.call(data=raw_json(body))
            finite = isinstance(value, bool)
            named = response.status_code == 422 and \
                ["body", *loc] in [d["loc"] for d in response.json()["detail"]]
            if response.status_code >= 500 or not (finite or named):
                failures.append((case.operation.label, body, response.status_code,
                                 response.text[:300]))

        check()
    assert n_ops == 8
    assert not failures, failures[:5]
