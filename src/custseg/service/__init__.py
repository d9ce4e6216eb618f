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

The package: :mod:`~custseg.service.app` builds the application (:func:`create_app`) and
runs it (:func:`serve`); one router a resource in :mod:`custseg.service.routers`
(``score``, ``events``, ``customers``, ``segments``, ``drift``, ``health``); the request and
response bodies in :mod:`~custseg.service.models`; the one table from library errors to HTTP
answers in :mod:`~custseg.service.errors`.  The routes only parse, call the library
(:class:`custseg.scoring.ModelScorer`, :mod:`custseg.store`, :mod:`custseg.online`,
:mod:`custseg.drift`) and answer.
"""

from custseg.online import FUTURE_TOLERANCE, RECENT_WINDOW, AsOf, OnlineCentres
from custseg.scoring import ModelScorer
from custseg.service.app import create_app, is_loopback, serve
from custseg.service.errors import HTTP_ANSWERS, MAX_PROBLEMS, http_answer
from custseg.service.jsonbody import load_json
from custseg.service.middleware import MAX_BODY, BodyLimit, Measure
from custseg.service.models import MAX_AMOUNT, MAX_BATCH, MAX_EVENTS, MAX_QUANTITY
from custseg.service.routers.drift import DRIFT_CUSTOMERS

__all__ = ["DRIFT_CUSTOMERS", "FUTURE_TOLERANCE", "HTTP_ANSWERS", "MAX_AMOUNT", "MAX_BATCH",
           "MAX_BODY", "MAX_EVENTS", "MAX_PROBLEMS", "MAX_QUANTITY", "RECENT_WINDOW", "AsOf",
           "BodyLimit", "Measure", "ModelScorer", "OnlineCentres", "create_app",
           "http_answer", "is_loopback", "load_json", "serve"]
