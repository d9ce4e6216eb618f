"""Live scoring state (custseg.online): online K-Means centres move toward the customers
scored by the documented rate and are resumed from the store; as-of dates; the recent
customers kept for drift."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from custseg.bundle import load_bundle
from custseg.errors import UsageError
from custseg.online import FUTURE_TOLERANCE, AsOf, OnlineCentres, RecentCustomers
from custseg.scoring import ModelScorer
from custseg.store import open_store
from servicekit import mall_bundle


@pytest.fixture(scope="module")
def mall_model(tmp_path_factory, mall_path):
    return mall_bundle(tmp_path_factory.mktemp("online") / "model", mall_path)


@pytest.fixture
def scorer(mall_model):
    return ModelScorer(load_bundle(mall_model))


# ------------------------------------------------------------------ online centres
def test_a_batch_moves_each_centre_toward_its_customers_by_b_over_n(scorer):
    online = OnlineCentres(scorer, None, batch_size=4, decay=0.9, threshold=10.0)
    start = scorer.centres.copy()
    n0 = online.counts.copy()
    target = start[1] + np.array([1.0, -2.0, 0.5])
    points = np.vstack([target + 0.1, target - 0.1, target, target])
    online.observe(points[:3], [1, 1, 1])  # below the batch size: buffered, nothing moves
    assert np.array_equal(scorer.centres, start) and online.to_dict()["pending"] == 3
    online.observe(points[3:], [1])
    n1 = 0.9 * n0[1] + 4
    want = start[1] + (4 / n1) * (points.mean(axis=0) - start[1])
    assert np.allclose(scorer.centres[1], want, rtol=0, atol=1e-12)
    assert np.array_equal(np.delete(scorer.centres, 1, axis=0), np.delete(start, 1, axis=0))
    assert online.counts[1] == pytest.approx(n1)
    others = [s for s in range(len(n0)) if s != 1]
    assert np.allclose(online.counts[others], 0.9 * n0[others])  # decayed, not moved
    assert scorer.seg.cluster_centers_ is scorer.centres  # the model scores with them
    assert online.batches == 1 and online.to_dict()["pending"] == 0
    assert online.shifts()[1] == pytest.approx(np.linalg.norm(want - start[1]))


def test_a_moved_centre_is_flagged_beyond_the_threshold(scorer, caplog):
    online = OnlineCentres(scorer, None, batch_size=1, decay=0.5, threshold=0.3)
    far = scorer.centres[0] + 5.0
    for _ in range(5):
        online.observe(far[None, :], [0])
    state = online.to_dict()
    assert state["segments"][0]["moved"] and state["segments"][0]["shift"] > 0.3
    assert not any(s["moved"] for s in state["segments"][1:])
    assert "has moved" in caplog.text and scorer.names[0] in caplog.text
    assert scorer.names == [s.name for s in scorer.seg.segments_]  # names never change


def test_centres_are_saved_and_resumed_from_the_store(mall_model, tmp_path):
    url = f"sqlite:///{tmp_path / 'online.db'}"
    store = open_store(url)
    first = ModelScorer(load_bundle(mall_model))
    online = OnlineCentres(first, store, batch_size=2)
    online.observe(np.vstack([first.centres[2] + 1.0] * 2), [2, 2])
    again = ModelScorer(load_bundle(mall_model))
    resumed = OnlineCentres(again, store, batch_size=2)
    assert np.array_equal(again.centres, first.centres)
    assert np.array_equal(resumed.counts, online.counts) and resumed.batches == 1
    assert resumed.shifts()[2] > 0
    store.close()


def test_observe_scored_goes_through_the_model_preprocessing(scorer):
    online = OnlineCentres(scorer, None, batch_size=2, decay=1.0)
    start = scorer.centres.copy()
    rows = [{"Age": 30.0, "Annual Income (k$)": 70.0, "Spending Score (1-100)": 80.0},
            {"Age": 60.0, "Annual Income (k$)": 20.0, "Spending Score (1-100)": 10.0}]
    results = scorer.score(rows)
    Z = scorer.transform(rows)
    online.observe_scored(rows, results)
    n = np.array([float(s.size) for s in scorer.seg.segments_])
    for s in {r["segment"] for r in results}:
        mine = Z[[r["segment"] == s for r in results]]
        want = start[s] + len(mine) / (n[s] + len(mine)) * (mine.mean(axis=0) - start[s])
        assert np.allclose(scorer.centres[s], want, rtol=0, atol=1e-12)


def test_only_k_means_and_sensible_settings(mall_path, tmp_path, scorer):
    gmm = ModelScorer(load_bundle(mall_bundle(tmp_path / "gmm", mall_path, algorithm="gmm",
                                              k=3)))
    with pytest.raises(UsageError, match="K-Means") as err:
        OnlineCentres(gmm, None)
    assert err.value.parameter == "online_update"
    for bad in ({"batch_size": 0}, {"decay": 0.0}, {"decay": 1.5}, {"threshold": 0.0}):
        with pytest.raises(UsageError, match="batch size"):
            OnlineCentres(scorer, None, **bad)


# ------------------------------------------------------------------ as-of dates
def test_as_of_modes():
    latest, fixed = AsOf.parse("latest"), AsOf.parse(" 2024-06-01 ")
    assert latest.for_latest(dt.date(2024, 5, 11)) == dt.date(2024, 5, 12)
    assert fixed.for_latest(dt.date(2030, 1, 1)) == dt.date(2024, 6, 1)
    today = dt.datetime.now(dt.UTC).date()
    assert AsOf.parse("").for_latest(dt.date(2000, 1, 1)) == today + dt.timedelta(days=1)
    assert fixed.limit() == (dt.date(2024, 6, 1),
                             "on or after the service's as-of date 2024-06-01")
    day, why = AsOf.parse("today").limit()
    assert day == (dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE).date() + dt.timedelta(days=1)
    assert "in the future" in why and latest.limit() is None
    with pytest.raises(UsageError, match="`as_of` must be today, latest or a date"):
        AsOf.parse("yesterday")


def test_only_latest_sets_future_events_aside():
    far = dt.datetime.now(dt.UTC).date() + FUTURE_TOLERANCE + dt.timedelta(days=1)
    assert "not applied" in AsOf.parse("latest").set_aside(far)
    assert AsOf.parse("latest").set_aside(far - dt.timedelta(days=1)) is None
    assert AsOf.parse("today").set_aside(far) is None


# ------------------------------------------------------------------ recent customers
def test_recent_customers_keep_the_last_ones():
    recent = RecentCustomers(3)
    recent.add([{"x": 1.0, "c": "a"}, {"x": 2.0, "c": "b"}])
    recent.add([{"x": None, "c": None}, {"x": 4.0, "c": "d"}])
    got = recent.values(["x", "c"], numeric=["x"])
    assert len(recent) == 3 and got["c"] == ["b", None, "d"]
    assert got["x"][0] == 2.0 and math.isnan(got["x"][1]) and got["x"][2] == 4.0
