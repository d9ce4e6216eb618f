"""The HTTP service, in process (FastAPI's test client): scoring, events, customers,
segments, drift, online update, limits, authentication, metrics, and a schemathesis fuzz
of its own OpenAPI description."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from custseg.bundle import load_bundle
from custseg.errors import UsageError
from custseg.service import MAX_BATCH, ModelScorer, create_app, is_loopback
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
    for path in ("/v1/segments", "/v1/drift", "/metrics", "/v1/customers/x"):
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
    h = c.get("/healthz").json()
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
@pytest.mark.parametrize("which", ["mall", "tx"])
def test_fuzz_from_the_openapi_description(which, mall_model, tx_model, tmp_path):
    """Schemathesis generates requests from the service's own OpenAPI description (and
    beyond it); no request may get a 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    app = create_app(mall_model if which == "mall" else tx_model,
                     f"sqlite:///{tmp_path / 'fuzz.db'}", as_of="latest")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    n_ops = 0
    for result in schema.get_all_operations():
        op = result.ok()
        n_ops += 1

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def check(case):
            response = case.call()
            if response.status_code >= 500:
                failures.append((case.operation.label, case.body, response.status_code,
                                 response.text[:300]))

        check()
    assert n_ops == 7
    assert not failures, failures[:5]
