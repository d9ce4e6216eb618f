"""The service's application: :func:`create_app` builds it from a model bundle and a store;
:func:`serve` runs it with uvicorn (``custseg serve``)."""

import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from custseg._version import __version__
from custseg.bundle import load_bundle
from custseg.errors import UsageError
from custseg.online import AsOf, OnlineCentres
from custseg.scoring import ModelScorer
from custseg.service.context import ServiceContext
from custseg.service.errors import install as install_error_handlers
from custseg.service.jsonbody import FiniteJSONRoute
from custseg.service.metrics import Metrics
from custseg.service.middleware import MAX_BODY, BodyLimit, Measure
from custseg.service.routers import customers, drift, events, health, score, segments
from custseg.store import open_store

#: The routers, in the order of the API description.
ROUTERS = (score, events, customers, segments, drift, health)


def create_app(bundle_path: str | Path, store_url: str | None = "sqlite:///custseg.db", *,
               token: str | None = None, online_update: bool = False,
               as_of: str = "today", max_body: int = MAX_BODY,
               online_batch: int = 100, online_decay: float = 0.99,
               online_threshold: float = 0.5) -> Any:
    """The FastAPI application serving the bundle at ``bundle_path`` with the store at
    ``store_url`` (``None``: no store; the event and customer endpoints answer 503).

    ``token``: when given, every endpoint but ``/healthz`` (and the OpenAPI description)
    needs ``Authorization: Bearer TOKEN``; ``/healthz`` then says only ok or not.
    ``online_update``: move the K-Means centres toward the customers scored
    (:class:`custseg.online.OnlineCentres` with ``online_batch``, ``online_decay`` and
    ``online_threshold``).  ``as_of``: :class:`custseg.online.AsOf`.
    """
    scorer = ModelScorer(load_bundle(bundle_path))
    policy = AsOf.parse(as_of)
    store = open_store(store_url) if store_url else None
    online = OnlineCentres(scorer, store, batch_size=online_batch, decay=online_decay,
                           threshold=online_threshold) if online_update else None
    ctx = ServiceContext(scorer, store, online, policy, Metrics(scorer), token)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        if store is not None:
            store.close()

    app = FastAPI(title="custseg", version=__version__, lifespan=lifespan,
                  description="Customer segmentation service: score customers, follow "
                  "purchase events, watch drift. See docs/service.md.")
    app.router.route_class = FiniteJSONRoute
    app.state.ctx = ctx
    app.state.scorer = scorer
    app.state.store = store
    app.state.online = online
    app.add_middleware(BodyLimit, max_bytes=max_body)
    app.add_middleware(Measure, requests=ctx.metrics.requests, latency=ctx.metrics.latency)
    install_error_handlers(app)
    auth = ctx.auth()
    for module in ROUTERS:
        app.include_router(module.router(ctx, auth))
    return app


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


def serve(bundle_path: str | Path, store_url: str, *, host: str = "127.0.0.1",
          port: int = 8000, token: str | None = None, allow_no_token: bool = False,
          online_update: bool = False, as_of: str = "today", max_body: int = MAX_BODY,
          access_log: bool = False, on_ready: Callable[[Any], None] | None = None) -> None:
    """Run the service with uvicorn until interrupted (``custseg serve``)."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    if not is_loopback(host) and token is None and not allow_no_token:
        raise UsageError(f"`host` {host} is not a loopback address: anyone who can reach it "
                         "could call the service, so a bearer token is required. Set "
                         "CUSTSEG_TOKEN (or `token_env` NAME, or `token`), or pass "
                         "`allow_no_token=True` to accept unauthenticated requests", "host")
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
