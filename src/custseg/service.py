"""The real-time service: score customers, follow purchase events, watch drift (FastAPI).

:func:`create_app` builds the application from a model bundle and a store URL;
``custseg serve MODEL --store URL`` runs it with uvicorn.  Endpoints (docs/service.md has
request and response examples):

==========================  ===============================================================
``POST /v1/score``          one customer (``{"id", "features"}``) or a batch
                            (``{"customers": [...]}``, at most ``MAX_BATCH``)
``POST /v1/events``         purchase events (``{"events": [...]}``): the customers' features
                            are updated in the store exactly once, the customers re-scored,
                            and each result says whether the segment changed
``GET /v1/customers/{id}``  current features, segment, history of segment changes and runs
                            (the id URL-encoded; it may hold ``/``)
``GET /v1/segments``        profiles and live sizes
``GET /v1/drift``           PSI per feature against the training data (:mod:`custseg.drift`)
``GET /v1/health``          the model, the store, uptime, and whether the store answers
``GET /healthz``            ``{"status": "ok"}`` or ``"not ok"`` (503), nothing more; never
                            needs the token
``GET /metrics``            Prometheus text format
==========================  ===============================================================

Invalid requests are answered 422 naming the field (FastAPI's ``detail[].loc``): that
includes a boolean for a number and a non-finite number (``NaN``, ``Infinity``, ``1e309``)
anywhere in the body.  An unknown customer is answered 404, a body above ``max_body`` bytes
413, a missing or wrong bearer token 401, events for a model whose features cannot be
computed from purchases (such as one trained on income and spending scores) 409, and an
event id sent before with another payload 409.
"""

import collections
import contextlib
import datetime as dt
import gc
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Self

import numpy as np
import pandas as pd

from custseg.bundle import Bundle, load_bundle
from custseg.drift import drift_report
from custseg.errors import CustsegError, DataError, UsageError
from custseg.schema import MAX_ABS_VALUE
from custseg.store import (
    EVENT_FEATURES,
    MAX_ID_LENGTH,
    Event,
    EventConflictError,
    Store,
    StoreError,
    open_store,
)

log = logging.getLogger("custseg.service")

#: Most customers in one /v1/score request, events in one /v1/events request.
MAX_BATCH = 1000
MAX_EVENTS = 1000
#: Largest request body, bytes.
MAX_BODY = 1 << 20
#: Largest absolute money amount and quantity in an event.
MAX_AMOUNT = 1e12
MAX_QUANTITY = 1e9
#: Recently scored customers kept (in memory) for the ``recent`` drift population.
RECENT_WINDOW = 5000
#: Live customers read from the store for the ``customers`` drift population.
DRIFT_CUSTOMERS = 200_000
#: How far after today (UTC) an event may be dated: beyond it, ``--as-of today`` refuses
#: the event (422) and ``--as-of latest`` sets it aside (not applied, reported).
FUTURE_TOLERANCE = dt.timedelta(days=1)
#: Most problems listed in one 422 answer.
MAX_PROBLEMS = 20


def load_json(body: bytes) -> tuple[Any, list[tuple[list[Any], float]]]:
    """The JSON document in ``body``, and where it holds a non-finite number (``NaN``,
    ``Infinity`` or one beyond the range of a double, ``1e309``: Python's json reads them,
    JSON has none), with the value.

    >>> load_json(b'{"a": [1, NaN], "b": 1e309, "c": 2.5}')
    ({'a': [1, nan], 'b': inf, 'c': 2.5}, [(['a', 1], nan), (['b'], inf)])
    >>> load_json(b'[-' + b'9' * 500 + b']')[1]
    [([0], -inf)]
    """
    found = False

    def constant(name: str) -> float:
        nonlocal found
        found = True
        return float(name)

    def number(text: str) -> float:
        nonlocal found
        x = float(text)
        found = found or not math.isfinite(x)
        return x

    def integer(text: str) -> int | float:  # beyond 400 digits, a float (infinite)
        return int(text) if len(text) < 400 else number(text)

    data = json.loads(body, parse_constant=constant, parse_float=number, parse_int=integer)
    return data, (list(_non_finite(data, [])) if found else [])


def _non_finite(node: Any, loc: list[Any]) -> Any:
    if isinstance(node, float) and not math.isfinite(node):
        yield loc, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _non_finite(v, [*loc, k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _non_finite(v, [*loc, i])


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the service on this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------ scoring
class ModelScorer:
    """Assigns feature rows to the segments of a bundle, fast.

    For K-Means on numeric features (the usual case), the fitted preprocessing (imputation,
    clipping, log, scaling) is replayed with numpy and the nearest centre found directly:
    about a hundred times faster than going through a DataFrame and scikit-learn for one
    customer.  Every other case goes through :meth:`Segmenter.assign`.  The fast path is
    checked at start-up against ``assign`` on probe customers built from the training
    deciles; any difference and it is not used.
    """

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.seg = bundle.segmenter
        self.meta = bundle.meta
        self.features: list[str] = list(self.seg.features_)
        self.numeric: list[str] = list(self.seg.plan_.numeric)
        self.categorical: list[str] = list(self.seg.plan_.categorical)
        self.names: list[str] = [s.name for s in self.seg.segments_]
        self.kmeans = self.seg.algorithm == "kmeans" and getattr(self.seg, "model_", 1) is None
        self.centres: np.ndarray = np.array(self.seg.cluster_centers_, dtype=np.float64)
        self.probabilistic = self.seg.algorithm in ("gmm", "hdbscan")
        self._steps = self._compile() if self.kmeans and not self.categorical else None
        self.fast = self._steps is not None and self._verify()
        if not self.fast:
            self._steps = None

    # -- the fast path
    def _compile(self) -> list[tuple[str, Any]] | None:
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

        from custseg.preprocess import (
            FeatureGroupWeights,
            QuantileClipper,
            RobustFences,
            SelectiveLog1p,
            SignedLog,
        )

        try:
            pipe = self.seg.preprocessor_.named_transformers_["numeric"]
        except (AttributeError, KeyError):
            return None
        steps: list[tuple[str, Any]] = []
        for _, step in pipe.steps:
            if step is None or step == "passthrough":
                continue
            if isinstance(step, SimpleImputer):
                if getattr(step, "add_indicator", False):
                    return None
                steps.append(("impute", np.asarray(step.statistics_, dtype=float)))
            elif isinstance(step, QuantileClipper):
                steps.append(("clip", (np.asarray(step.lower_, dtype=float),
                                       np.asarray(step.upper_, dtype=float))))
            elif isinstance(step, SelectiveLog1p):
                steps.append(("log", np.asarray(step.mask_, dtype=bool)))
            elif isinstance(step, SignedLog):
                steps.append(("asinh", (np.asarray(step.mask_, dtype=bool),
                                        np.asarray(step.scale_, dtype=float))))
            elif isinstance(step, RobustFences):
                steps.append(("clip", (np.asarray(step.lower_, dtype=float),
                                       np.asarray(step.upper_, dtype=float))))
            elif isinstance(step, FeatureGroupWeights):
                steps.append(("weights", np.asarray(step.weights_, dtype=float)))
            elif isinstance(step, StandardScaler):
                mean = step.mean_ if step.with_mean else None
                scale = step.scale_ if step.with_std else None
                steps.append(("affine", (mean, scale)))
            elif isinstance(step, RobustScaler):
                centre = step.center_ if step.with_centering else None
                scale = step.scale_ if step.with_scaling else None
                steps.append(("affine", (centre, scale)))
            elif isinstance(step, MinMaxScaler):
                steps.append(("minmax", (step.scale_, step.min_,
                                         step.feature_range if step.clip else None)))
            else:
                return None
        return steps

    def _fast_transform(self, X: np.ndarray) -> np.ndarray:
        Z = np.array(X, dtype=np.float64, copy=True)
        for kind, p in self._steps or []:
            if kind == "impute":
                Z = np.where(np.isnan(Z), p, Z)
            elif kind == "clip":
                Z = np.clip(Z, p[0], p[1])
            elif kind == "log":
                Z[:, p] = np.log1p(np.clip(Z[:, p], 0, None))
            elif kind == "asinh":
                Z[:, p[0]] = np.arcsinh(Z[:, p[0]] / p[1][p[0]])
            elif kind == "weights":
                Z = Z * p
            elif kind == "affine":
                if p[0] is not None:
                    Z = Z - p[0]
                if p[1] is not None:
                    Z = Z / p[1]
            elif kind == "minmax":
                Z = Z * p[0] + p[1]
                if p[2] is not None:
                    Z = np.clip(Z, p[2][0], p[2][1])
        return Z

    def _probes(self) -> pd.DataFrame:
        ref = (self.meta.get("training") or {}).get("features") or {}
        rows = []
        for i in range(11):
            for shift in (0, 3, 7):
                row = {}
                for j, f in enumerate(self.numeric):
                    dec = (ref.get(f) or {}).get("deciles") or [0.0] * 11
                    row[f] = float(dec[(i + shift * j) % 11])
                rows.append(row)
        for f in self.numeric:  # a missing value, imputed
            rows.append({**rows[5], f: np.nan})
        return pd.DataFrame(rows, columns=self.numeric)

    def _verify(self) -> bool:
        try:
            probes = self._probes()
            want = self.seg.assign(probes)
            labels, dist = self._nearest(self._fast_transform(probes.to_numpy(dtype=float)))
        except Exception as exc:  # anything unexpected: use the slow path
            log.warning("fast scoring path not used: %s", exc)
            return False
        ok = (np.array_equal(labels, want["segment"].to_numpy())
              and np.allclose(dist, want["distance"].to_numpy(), rtol=1e-7, atol=1e-9))
        if not ok:
            log.warning("fast scoring path not used: it differs from Segmenter.assign")
        return bool(ok)

    def _nearest(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        centres = self.centres
        d2 = ((Z[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = d2.argmin(axis=1)
        return labels.astype(np.int64), np.sqrt(d2[np.arange(len(Z)), labels])

    # -- public
    def frame(self, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
        data = {f: [r.get(f) for r in rows] for f in self.features}
        frame = pd.DataFrame(data, columns=self.features)
        for f in self.numeric:
            frame[f] = pd.to_numeric(frame[f], errors="coerce").astype("float64")
        return frame

    def transform(self, rows: Sequence[dict[str, Any]]) -> np.ndarray:
        """The rows in the scaled space of the centres (K-Means only)."""
        if self.fast:
            X = np.array([[_num(r.get(f)) for f in self.numeric] for r in rows],
                         dtype=np.float64).reshape(len(rows), len(self.numeric))
            return self._fast_transform(X)
        frame = self.frame(rows)
        return np.asarray(self.seg.preprocessor_.transform(
            self.seg._typed_features(frame)), dtype=np.float64)

    def score(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """``[{"segment", "segment_name", "distance", "probability"?}, ...]``."""
        if not rows:
            return []
        if self.kmeans:
            labels, dist = self._nearest(self.transform(rows))
            return [{"segment": int(s), "segment_name": self.names[s],
                     "distance": round(float(d), 6)} for s, d in zip(labels, dist, strict=True)]
        out = self.seg.assign(self.frame(rows))
        results = []
        for rec in out.to_dict("records"):
            seg = int(rec["segment"])
            r = {"segment": seg, "segment_name": str(rec["segment_name"]),
                 "distance": _clean(rec["distance"])}
            if self.probabilistic:
                r["probability"] = _clean(rec.get("probability"))
            results.append(r)
        return results


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN and infinities become None, numpy scalars Python ones."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        x = float(x)
        return round(x, 6) if math.isfinite(x) else None
    if isinstance(x, dt.datetime | dt.date):
        return x.isoformat()
    return x


# ------------------------------------------------------------------ online centres
class OnlineCentres:
    """Opt-in online update of K-Means centres: mini-batches with decay.

    Scored customers are buffered; every ``batch_size`` of them, each segment's centre moves
    toward the mean of its customers in the batch by ``b / N``, where ``b`` is the number
    of its customers in the batch and ``N`` a decayed count (``N <- decay * N + b``, starting
    from the training size).  Segment ids and names never change.  A centre that moves more
    than ``threshold`` (scaled units, i.e. standard deviations) from the model's is logged
    and flagged in ``/v1/segments`` and ``/metrics``.
    """

    def __init__(self, scorer: ModelScorer, store: Store | None, *, batch_size: int = 100,
                 decay: float = 0.99, threshold: float = 0.5) -> None:
        if not scorer.kmeans:
            raise UsageError(f"--online-update works with K-Means models; this model is "
                             f"{scorer.seg.algorithm}", "--online-update")
        if batch_size < 1 or not 0 < decay <= 1 or threshold <= 0:
            raise UsageError("online update: batch size >= 1, 0 < decay <= 1 and a positive "
                             "threshold are needed", "--online-update")
        self.scorer = scorer
        self.store = store
        self.batch_size = batch_size
        self.decay = decay
        self.threshold = threshold
        self.origin = scorer.centres.copy()
        self.sha = str(scorer.meta.get("model_sha256"))
        self.counts = np.array([float(s.size) for s in scorer.seg.segments_])
        self.batches = 0
        self._buffer: list[tuple[np.ndarray, int]] = []
        self._lock = threading.Lock()
        self._flagged: set[int] = set()
        state = store.load_model_state(self.sha) if store is not None else None
        if state is not None:
            centres = np.asarray(state["centres"], dtype=np.float64)
            if centres.shape == self.origin.shape:
                self._install(centres)
                self.counts = np.asarray(state["counts"], dtype=np.float64)
                self.batches = int(state["batches"])
                log.info("online update: resumed centres after %d batches", self.batches)

    def _install(self, centres: np.ndarray) -> None:
        self.scorer.centres = centres  # a new array: readers never see half an update
        self.scorer.seg.cluster_centers_ = centres

    def shifts(self) -> np.ndarray:
        return np.sqrt(((self.scorer.centres - self.origin) ** 2).sum(axis=1))

    def observe(self, Z: np.ndarray, labels: Sequence[int]) -> None:
        with self._lock:
            self._buffer.extend(zip(Z, labels, strict=True))
            if len(self._buffer) < self.batch_size:
                return
            batch, self._buffer = self._buffer, []
            self._update(batch)

    def _update(self, batch: list[tuple[np.ndarray, int]]) -> None:
        centres = self.scorer.centres.copy()
        Z = np.vstack([z for z, _ in batch])
        labels = np.array([s for _, s in batch])
        for s in range(len(centres)):
            mine = Z[labels == s]
            if not len(mine):
                self.counts[s] *= self.decay
                continue
            self.counts[s] = self.decay * self.counts[s] + len(mine)
            centres[s] += (len(mine) / self.counts[s]) * (mine.mean(axis=0) - centres[s])
        self._install(centres)
        self.batches += 1
        shifts = self.shifts()
        for s in np.flatnonzero(shifts > self.threshold):
            if int(s) not in self._flagged:
                self._flagged.add(int(s))
                log.warning("online update: the centre of segment %d (%s) has moved %.2f "
                            "scaled units from the model's; its name may no longer fit: "
                            "consider re-segmenting", s, self.scorer.names[s], shifts[s])
        if self.store is not None:
            try:
                self.store.save_model_state(self.sha, centres.tolist(), self.counts.tolist(),
                                            self.batches)
            except Exception as exc:  # the update stays in memory
                log.warning("online update: centres not saved to the store: %s", exc)

    def to_dict(self) -> dict[str, Any]:
        shifts = self.shifts()
        return {"enabled": True, "batch_size": self.batch_size, "decay": self.decay,
                "threshold": self.threshold, "batches": self.batches,
                "pending": len(self._buffer),
                "segments": [{"id": s, "shift": round(float(shifts[s]), 6),
                              "moved": bool(shifts[s] > self.threshold)}
                             for s in range(len(shifts))]}


# ------------------------------------------------------------------ as-of dates
@dataclass
class AsOf:
    """The date customer features are computed at: ``today`` (the day after today, UTC),
    ``latest`` (the day after the latest stored event, as batch ``custseg features``
    does by default) or a fixed date."""

    mode: str
    date: dt.date | None = None

    @classmethod
    def parse(cls, text: str) -> "AsOf":
        t = (text or "today").strip().lower()
        if t in ("today", "latest"):
            return cls(t)
        try:
            return cls("fixed", dt.date.fromisoformat(t))
        except ValueError:
            raise UsageError(f"--as-of must be today, latest or a date YYYY-MM-DD; got "
                             f"{text!r}", "--as-of") from None

    def for_latest(self, latest: dt.date) -> dt.date:
        if self.mode == "latest":
            return latest + dt.timedelta(days=1)
        if self.mode == "fixed":
            assert self.date is not None
            return self.date
        return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)

    def current(self, store: Store) -> dt.date | None:
        if self.mode == "latest":
            latest = store.latest_event_day()
            return None if latest is None else latest + dt.timedelta(days=1)
        return self.for_latest(dt.date.min)

    def limit(self) -> tuple[dt.date, str] | None:
        """The first day an event may not have, and why (``today`` and fixed dates)."""
        if self.mode == "fixed":
            assert self.date is not None
            return self.date, f"on or after the service's as-of date {self.date}"
        if self.mode == "today":
            return _last_due_day() + dt.timedelta(days=1), \
                f"more than {FUTURE_TOLERANCE.days} day(s) in the future"
        return None

    def set_aside(self, day: dt.date) -> str | None:
        """Why an event of ``day`` is set aside (``latest``: one dated in the future would
        move everyone's recency), or None."""
        due = _last_due_day()
        if self.mode != "latest" or day <= due:
            return None
        return (f"dated {day}, after {due} (today, UTC, plus {FUTURE_TOLERANCE.days} day(s)): "
                "not applied; send it again when it is due")


def _last_due_day() -> dt.date:
    """The latest day an event may have: today (UTC) plus :data:`FUTURE_TOLERANCE`."""
    return (dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE).date()


# ------------------------------------------------------------------ the app
def create_app(bundle_path: str | Path, store_url: str | None = "sqlite:///custseg.db", *,
               token: str | None = None, online_update: bool = False,
               as_of: str = "today", max_body: int = MAX_BODY,
               online_batch: int = 100, online_decay: float = 0.99,
               online_threshold: float = 0.5) -> Any:
    """The FastAPI application serving the bundle at ``bundle_path`` with the store at
    ``store_url`` (``None``: no store; the event and customer endpoints answer 503).

    ``token``: when given, every endpoint but ``/healthz`` (and the OpenAPI description)
    needs ``Authorization: Bearer TOKEN``; ``/healthz`` then says only ok or not.
    """
    import prometheus_client as prom
    import sqlalchemy as sa
    from fastapi import Depends, FastAPI, HTTPException, Query, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, Response
    from fastapi.routing import APIRoute
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import (
        BaseModel,
        ConfigDict,
        Field,
        create_model,
        field_validator,
        model_validator,
    )

    from custseg import __version__

    bundle = load_bundle(bundle_path)
    scorer = ModelScorer(bundle)
    meta = bundle.meta
    sha = str(meta.get("model_sha256"))
    as_of_policy = AsOf.parse(as_of)
    store = open_store(store_url) if store_url else None
    online = OnlineCentres(scorer, store, batch_size=online_batch, decay=online_decay,
                           threshold=online_threshold) if online_update else None
    event_missing = [f for f in scorer.features if f not in EVENT_FEATURES]
    events_ok = not event_missing
    recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=RECENT_WINDOW)
    started = time.time()

    # -- metrics (a registry of this app's own, so several apps can live in one process)
    registry = prom.CollectorRegistry()
    m_requests = prom.Counter("custseg_requests", "HTTP requests", ["endpoint", "method",
                                                                    "status"],
                              registry=registry)
    m_latency = prom.Histogram("custseg_request_seconds", "Request latency", ["endpoint"],
                               buckets=(.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5),
                               registry=registry)
    m_scored = prom.Counter("custseg_scored_customers", "Customers scored", ["segment"],
                            registry=registry)
    m_events = prom.Counter("custseg_events", "Purchase events received", ["status"],
                            registry=registry)
    m_changes = prom.Counter("custseg_segment_changes", "Customers whose segment changed "
                             "on an event", registry=registry)
    m_live = prom.Gauge("custseg_live_customers", "Live customers in the store per segment",
                        ["segment"], registry=registry)
    m_psi = prom.Gauge("custseg_drift_psi", "Population stability index per feature (last "
                       "computed by /v1/drift)", ["feature"], registry=registry)
    m_reseg = prom.Gauge("custseg_resegment_recommended", "1 when the last drift check "
                         "recommended re-segmenting", registry=registry)
    m_shift = prom.Gauge("custseg_centre_shift", "Online update: distance of each centre "
                         "from the model's (scaled units)", ["segment"], registry=registry)
    info = prom.Info("custseg_model", "The model served", registry=registry)
    info.info({"model_sha256": sha, "algorithm": str(meta.get("algorithm")),
               "k": str(meta.get("k")), "custseg_version": __version__,
               "fast_path": str(scorer.fast).lower()})

    # -- request models: the feature fields come from the bundle
    fields: dict[str, Any] = {}
    for i, f in enumerate(scorer.features):
        if f in scorer.numeric:
            fields[f"f{i}"] = (float | None, Field(
                ..., alias=f, strict=True, allow_inf_nan=False, ge=-MAX_ABS_VALUE,
                le=MAX_ABS_VALUE,
                description=f"{f} (number; null: missing, imputed as in the model)"))
        else:
            fields[f"f{i}"] = (str | None, Field(..., alias=f, max_length=MAX_ID_LENGTH,
                                                 description=f"{f} (category)"))
    Features = create_model("Features", __config__=ConfigDict(extra="ignore"), **fields)

    class CustomerIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        id: str | None = Field(None, max_length=MAX_ID_LENGTH,
                               description="Your customer id, echoed back")
        features: Features  # type: ignore[valid-type]

    class ScoreRequest(BaseModel):
        """One customer (``id``, ``features``) or a batch (``customers``)."""

        model_config = ConfigDict(extra="forbid")
        id: str | None = Field(None, max_length=MAX_ID_LENGTH)
        features: Features | None = None  # type: ignore[valid-type]
        customers: list[CustomerIn] | None = Field(None, min_length=1, max_length=MAX_BATCH)

        @model_validator(mode="after")
        def one_or_batch(self) -> Self:
            if (self.features is None) == (self.customers is None):
                raise ValueError("give either 'features' (one customer) or 'customers' (a "
                                 f"batch of 1 to {MAX_BATCH}), not both")
            if self.customers is not None and self.id is not None:
                raise ValueError("'id' goes with 'features'; in a batch each customer has "
                                 "its own 'id'")
            return self

    class ScoreResult(BaseModel):
        id: str | None
        segment: int
        segment_name: str
        distance: float | None
        probability: float | None = None

    class ScoreResponse(BaseModel):
        model: str
        results: list[ScoreResult]

    class EventIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        event_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH,
                              description="Unique id of the event: a replay is a no-op")
        customer_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
        timestamp: dt.datetime = Field(description="Date or date-time of the purchase; its "
                                       "calendar day (in its own time zone) counts")
        amount: float | None = Field(None, strict=True, allow_inf_nan=False, ge=-MAX_AMOUNT,
                                     le=MAX_AMOUNT, description="Line value; negative: a "
                                     "return")
        quantity: float | None = Field(None, strict=True, allow_inf_nan=False,
                                       ge=-MAX_QUANTITY, le=MAX_QUANTITY,
                                       description="Negative: a return")
        unit_price: float | None = Field(None, strict=True, allow_inf_nan=False,
                                         ge=-MAX_AMOUNT, le=MAX_AMOUNT)
        order_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH,
                                     description="Order or invoice id; starting with C: a "
                                     "cancellation")
        product_id: str | None = Field(None, min_length=1, max_length=MAX_ID_LENGTH)

        @field_validator("timestamp")
        @classmethod
        def plausible_year(cls, v: dt.datetime) -> dt.datetime:
            if not 1900 <= v.year <= 2200:
                raise ValueError(f"year {v.year} is not plausible (1900-2200)")
            return v

        @model_validator(mode="after")
        def value_given(self) -> Self:
            if self.amount is None and (self.quantity is None or self.unit_price is None):
                raise ValueError("give 'amount', or 'quantity' and 'unit_price'")
            value = self.amount if self.amount is not None else \
                self.quantity * self.unit_price  # type: ignore[operator]
            if abs(value) > MAX_AMOUNT:
                raise ValueError(f"the line value {value:g} is beyond ±{MAX_AMOUNT:g}")
            return self

    class EventsRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)

    # -- security
    bearer = HTTPBearer(auto_error=False, description="custseg serve --token / "
                        "CUSTSEG_TOKEN")

    def require_token(creds: Annotated[HTTPAuthorizationCredentials | None,
                                       Depends(bearer)]) -> None:
        if token is None:
            return
        given = creds.credentials if creds is not None else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "missing or wrong bearer token",
                                headers={"WWW-Authenticate": "Bearer"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        yield
        if store is not None:
            store.close()

    class FiniteJSONRequest(Request):
        """A request whose JSON body has only finite numbers, or is answered 422."""

        async def json(self) -> Any:
            if not hasattr(self, "_json"):
                data, where = load_json(await self.body())
                if where:  # FastAPI passes an HTTPException raised here on
                    raise HTTPException(422, [{
                        "type": "finite_number", "loc": ["body", *loc], "input": json.dumps(x),
                        "msg": "Input should be a finite number (not NaN, Infinity or beyond "
                               "±1.8e308)"} for loc, x in where[:MAX_PROBLEMS]])
                self._json = data
            return self._json

    class FiniteJSONRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Any]:
            handler = super().get_route_handler()

            async def route(request: Request) -> Response:
                return await handler(FiniteJSONRequest(request.scope, request.receive))

            return route

    app = FastAPI(title="custseg", version=__version__, lifespan=lifespan,
                  description="Customer segmentation service: score customers, follow "
                  "purchase events, watch drift. See docs/service.md.")
    app.router.route_class = FiniteJSONRoute
    app.state.scorer = scorer
    app.state.store = store
    app.state.online = online
    app.add_middleware(BodyLimit, max_bytes=max_body)
    app.add_middleware(Measure, requests=m_requests, latency=m_latency)

    @app.exception_handler(CustsegError)
    async def custseg_error(request: Request, exc: CustsegError) -> JSONResponse:
        if isinstance(exc, StoreError):
            return JSONResponse({"detail": str(exc)}, status_code=503)
        if isinstance(exc, EventConflictError):
            return JSONResponse({"detail": str(exc), "conflicts": exc.conflicts},
                                status_code=409)
        body: dict[str, Any] = {"detail": str(exc)}
        if isinstance(exc, DataError):
            body["problems"] = [p.to_dict() for p in exc.problems]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(sa.exc.OperationalError)
    async def store_unreachable(request: Request, exc: Exception) -> JSONResponse:
        log.error("store error: %s", exc)
        return JSONResponse({"detail": "the store cannot be reached or is busy; nothing was "
                             "applied, try again"}, status_code=503)

    def need_store() -> Store:
        if store is None:
            raise HTTPException(503, "this service runs without a store (--store)")
        return store

    def remember(rows: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]]) -> None:
        for row, res in zip(rows, results, strict=True):
            recent.append(row)
            m_scored.labels(str(res["segment"])).inc()
        if online is not None:
            labels = [r["segment"] for r in results]
            keep = [i for i, s in enumerate(labels) if s >= 0]
            if keep:
                online.observe(scorer.transform([rows[i] for i in keep]),
                               [labels[i] for i in keep])

    auth = [Depends(require_token)]

    def _score(body: ScoreRequest) -> dict[str, Any]:
        if body.customers is not None:
            ids = [c.id for c in body.customers]
            rows = [c.features.model_dump(by_alias=True) for c in body.customers]
        else:
            ids = [body.id]
            rows = [body.features.model_dump(by_alias=True)]  # type: ignore[union-attr]
        results = scorer.score(rows)
        remember(rows, results)
        return {"model": sha, "results": [{"id": i, **r} for i, r in
                                          zip(ids, results, strict=True)]}

    @app.post("/v1/score", response_model=ScoreResponse, dependencies=auth,
              response_model_exclude_unset=True,
              summary="Assign one customer or a batch to segments")
    async def score(body: ScoreRequest) -> dict[str, Any]:
        if scorer.fast:
            return _score(body)  # a fraction of a millisecond: no thread hop
        return await run_in_threadpool(_score, body)

    def screen_dates(events: list[Any]) -> list[dict[str, Any]]:
        """Refuse (422) events beyond the as-of limit; those set aside, described."""
        limit = as_of_policy.limit()
        if limit is not None:
            bad = [(i, e) for i, e in enumerate(events) if e.timestamp.date() >= limit[0]]
            if bad:
                raise HTTPException(422, [{"loc": ["body", "events", i, "timestamp"],
                                           "msg": f"{e.timestamp.isoformat()} is {limit[1]}",
                                           "type": "value_error"}
                                          for i, e in bad[:MAX_PROBLEMS]])
        return [{"index": i, "event_id": e.event_id, "customer_id": e.customer_id,
                 "timestamp": e.timestamp.isoformat(), "reason": why}
                for i, e in enumerate(events)
                if (why := as_of_policy.set_aside(e.timestamp.date()))]

    @app.post("/v1/events", dependencies=auth,
              summary="Apply purchase events (exactly once) and re-score the customers",
              responses={409: {"description": "The model's features cannot be computed "
                                              "from purchase events, or an event id was "
                                              "sent before with another payload"}})
    def post_events(body: EventsRequest) -> dict[str, Any]:
        db = need_store()
        if not events_ok:
            raise HTTPException(409, f"this model segments on {scorer.features}, of which "
                                f"{event_missing} cannot be computed from purchase events "
                                f"(computable: {list(EVENT_FEATURES)}); /v1/score still "
                                "works")
        set_aside = screen_dates(body.events)
        aside = {a["index"] for a in set_aside}
        batch = [Event(e.event_id, e.customer_id, e.timestamp.replace(tzinfo=None),
                       e.amount, e.quantity, e.unit_price, e.order_id, e.product_id)
                 for i, e in enumerate(body.events) if i not in aside]

        def score_rows(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
            return [(r["segment"], r["segment_name"]) for r in scorer.score(rows)]

        outcomes = db.apply_events(batch, as_of=as_of_policy.for_latest, score=score_rows)
        applied = [o for o in outcomes if o.status == "applied"]
        m_events.labels("applied").inc(len(applied))
        m_events.labels("duplicate").inc(len(outcomes) - len(applied))
        m_events.labels("set_aside").inc(len(set_aside))
        m_changes.inc(sum(o.segment_changed for o in applied))
        scored = [o for o in applied if o.features is not None and o.segment is not None]
        if scored:
            remember([o.features for o in scored],  # type: ignore[misc]
                     [{"segment": o.segment} for o in scored])
        return {"model": sha, "applied": len(applied),
                "duplicates": len(outcomes) - len(applied),
                "results": [_clean(o.to_dict()) for o in outcomes], "set_aside": set_aside}

    # ``:path``: an id may hold ``/`` (sent URL-encoded, %2F, or not)
    @app.get("/v1/customers/{customer_id:path}", dependencies=auth,
             summary="A customer's current features, segment and history",
             responses={404: {"description": "Unknown customer"}})
    def get_customer(customer_id: str) -> dict[str, Any]:
        db = need_store()
        if len(customer_id) > MAX_ID_LENGTH:
            raise HTTPException(404, f"unknown customer {customer_id[:40]!r}...")
        row = db.customer(customer_id)
        runs = db.customer_runs(customer_id)
        if row is None and not runs:
            raise HTTPException(404, f"unknown customer {customer_id!r}: no event and no "
                                "recorded run has it")
        out: dict[str, Any] = {"customer_id": customer_id, "model": sha, "runs": runs}
        if row is None:
            return _clean({**out, "as_of": None, "features": None, "segment": None,
                           "stored_segment": None, "history": [], "aggregates": None})
        current = as_of_policy.current(db)
        from custseg.store import features_from_aggregates

        feats = features_from_aggregates(row, current) if current else None
        live = None
        if feats is not None and events_ok:
            live = scorer.score([feats])[0]
        aggregates = {k: row[k] for k in ("first_purchase", "last_purchase", "monetary",
                                          "n_lines", "n_cancel", "frequency", "n_days",
                                          "distinct_products", "n_events")}
        return _clean({**out, "as_of": current, "features": feats, "segment": live,
                       "stored_segment": {"segment": row["segment"],
                                          "segment_name": row["segment_name"],
                                          "updated_at": row["updated_at"]},
                       "history": row["history"], "aggregates": aggregates})

    @app.get("/v1/segments", dependencies=auth, summary="Segment profiles and live sizes")
    def get_segments() -> dict[str, Any]:
        sizes = store.segment_sizes() if store is not None else {}
        for s in range(len(scorer.names)):
            m_live.labels(str(s)).set(sizes.get(s, 0))
        shifts = online.to_dict()["segments"] if online is not None else None
        segments = []
        for i, s in enumerate(meta.get("segments", [])):
            entry = {"id": s["id"], "name": s["name"], "recommendation": s.get("recommendation"),
                     "training_size": s.get("size"), "training_share": s.get("share"),
                     "centre": s.get("centre"), "live_customers": sizes.get(int(s["id"]), 0)}
            if shifts is not None:
                entry["centre_shift"] = shifts[i]["shift"]
                entry["centre_moved"] = shifts[i]["moved"]
            segments.append(entry)
        return _clean({"model": sha, "algorithm": meta.get("algorithm"), "k": meta.get("k"),
                       "features": scorer.features, "segments": segments,
                       "live_customers": sum(sizes.values()),
                       "online_update": online.to_dict() if online is not None
                       else {"enabled": False}})

    @app.get("/v1/drift", dependencies=auth,
             summary="Population drift (PSI per feature) against the training data")
    def get_drift(population: Annotated[str, Query(
            pattern="^(auto|customers|recent)$",
            description="customers: the live customers of the store (event models); "
            "recent: the last customers scored; auto: customers when there are any")] = "auto"
                  ) -> Any:
        reference = (meta.get("training") or {}).get("features") or {}
        chosen = "recent"
        values: dict[str, list[Any]] = {}
        if population in ("auto", "customers") and events_ok and store is not None:
            current = as_of_policy.current(store)
            rows = store.all_aggregates(DRIFT_CUSTOMERS) if current else []
            from custseg.store import features_from_aggregates

            feats = [f for r in rows if (f := features_from_aggregates(r, current)) is not None]
            if feats or population == "customers":
                chosen = "customers"
                values = {f: [r[f] for r in feats] for f in scorer.features}
        if population == "customers" and chosen != "customers":
            raise HTTPException(409, "population=customers needs a model whose features are "
                                "computed from purchase events, and a store")
        if chosen == "recent":
            snapshot = list(recent)
            values = {f: [r.get(f) for r in snapshot] for f in scorer.features}
            values = {f: [math.nan if v is None else v for v in vs] if f in scorer.numeric
                      else vs for f, vs in values.items()}
        report = drift_report(reference, values, population_name=chosen)
        for f, d in report.features.items():
            m_psi.labels(f).set(d.psi)
        m_reseg.set(1 if report.resegment_recommended else 0)
        return _clean({"model": sha, **report.to_dict()})

    def healthy() -> bool:
        return store.ping() if store is not None else True

    @app.get("/healthz", summary="Liveness and store reachability: ok or not, no details")
    def healthz() -> Any:
        ok = healthy()
        return JSONResponse({"status": "ok" if ok else "not ok"},
                            status_code=200 if ok else 503)

    @app.get("/v1/health", dependencies=auth,
             summary="Health with details: model, store, uptime, fast path")
    def health() -> Any:
        ok = healthy()
        body = {"status": "ok" if ok else "not ok", "store_reachable": ok, "model": sha,
                "algorithm": meta.get("algorithm"), "k": meta.get("k"),
                "store": (store.display_url if store is not None else None),
                "uptime_seconds": round(time.time() - started, 1),
                "events": events_ok, "fast_path": scorer.fast, "as_of": as_of_policy.mode}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", dependencies=auth, summary="Prometheus metrics (text format)",
             response_class=Response)
    def metrics() -> Response:
        if store is not None:
            try:
                sizes = store.segment_sizes()
                for s in range(len(scorer.names)):
                    m_live.labels(str(s)).set(sizes.get(s, 0))
            except Exception as exc:  # the metrics still answer
                log.warning("live sizes not read: %s", exc)
        if online is not None:
            for s, shift in enumerate(online.shifts()):
                m_shift.labels(str(s)).set(float(shift))
        return Response(prom.generate_latest(registry), media_type=prom.CONTENT_TYPE_LATEST)

    return app


class Measure:
    """ASGI middleware: request counts by route, method and status, and latency by route."""

    def __init__(self, app: Any, requests: Any, latency: Any) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def tracking_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            route = scope.get("route")  # set by the router; the path without converters
            endpoint = getattr(route, "path_format", getattr(route, "path", "other"))
            self.requests.labels(endpoint, scope["method"], str(status)).inc()
            self.latency.labels(endpoint).observe(time.perf_counter() - t0)


class BodyLimit:
    """ASGI middleware: requests whose body exceeds ``max_bytes`` are answered 413."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reply(self, send: Any, status: int, message: str) -> None:
        import json

        body = json.dumps({"detail": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await self._reply(send, 400, "invalid Content-Length")
                return
            if n > self.max_bytes:
                await self._reply(send, 413, f"request body of {n} bytes is above the "
                                  f"limit of {self.max_bytes} bytes")
                return
        # The body is read here, up to the limit, and handed on whole: an error raised while
        # the application reads it would be turned into a 400 by FastAPI.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await self._reply(send, 413, f"request body is above the limit of "
                                  f"{self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def serve(bundle_path: str | Path, store_url: str, *, host: str = "127.0.0.1",
          port: int = 8000, token: str | None = None, allow_no_token: bool = False,
          online_update: bool = False, as_of: str = "today", max_body: int = MAX_BODY,
          access_log: bool = False, on_ready: Callable[[Any], None] | None = None) -> None:
    """Run the service with uvicorn until interrupted (``custseg serve``)."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    if not is_loopback(host) and token is None and not allow_no_token:
        raise UsageError(f"--host {host} is not a loopback address: anyone who can reach it "
                         "could call the service, so a bearer token is required. Set "
                         "CUSTSEG_TOKEN (or --token-env NAME, or --token), or pass "
                         "--no-auth to accept unauthenticated requests", "--host")
    threadpool_limits(1)  # one customer at a time: threads cost more than they bring
    app = create_app(bundle_path, store_url, token=token, online_update=online_update,
                     as_of=as_of, max_body=max_body)
    # Everything loaded so far (scikit-learn, pandas, the model: some 340,000 objects) lives
    # as long as the process: moved out of the garbage collector's sight, a full collection
    # takes microseconds instead of a 200 ms pause in the middle of a request.
    gc.collect()
    gc.freeze()
    if on_ready is not None:
        on_ready(app)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=access_log,
                server_header=False)
