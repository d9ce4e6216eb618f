"""``GET /healthz`` (liveness, no token), ``GET /v1/health`` (details) and ``GET /metrics``."""

import logging
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from custseg.service.context import ServiceContext
from custseg.service.jsonbody import FiniteJSONRoute

log = logging.getLogger("custseg.service")


def health_document(ctx: ServiceContext) -> tuple[bool, dict[str, Any]]:
    """Whether the store answers, and the details of ``/v1/health``."""
    store = ctx.store
    ok = store.ping() if store is not None else True
    return ok, {"status": "ok" if ok else "not ok", "store_reachable": ok, "model": ctx.sha,
                "algorithm": ctx.meta.get("algorithm"), "k": ctx.meta.get("k"),
                "store": (store.display_url if store is not None else None),
                "uptime_seconds": round(time.time() - ctx.started, 1),
                "events": ctx.events_ok, "fast_path": ctx.scorer.fast, "as_of": ctx.as_of.mode}


def refresh_gauges(ctx: ServiceContext) -> None:
    """Live sizes (from the store) and centre shifts (online update) as of now."""
    if ctx.store is not None:
        try:
            ctx.metrics.set_live(ctx.store.segment_sizes(), len(ctx.scorer.names))
        except Exception as exc:  # the metrics still answer
            log.warning("live sizes not read: %s", exc)
    if ctx.online is not None:
        for s, shift in enumerate(ctx.online.shifts()):
            ctx.metrics.shift.labels(str(s)).set(float(shift))


def router(ctx: ServiceContext, auth: list[Any]) -> APIRouter:
    """The health and metrics routes of the service ``ctx``."""
    routes = APIRouter(route_class=FiniteJSONRoute)

    @routes.get("/healthz", summary="Liveness and store reachability: ok or not, no details")
    def healthz() -> Any:
        ok, _ = health_document(ctx)
        return JSONResponse({"status": "ok" if ok else "not ok"},
                            status_code=200 if ok else 503)

    @routes.get("/v1/health", dependencies=auth,
                summary="Health with details: model, store, uptime, fast path")
    def health() -> Any:
        ok, body = health_document(ctx)
        return JSONResponse(body, status_code=200 if ok else 503)

    @routes.get("/metrics", dependencies=auth, summary="Prometheus metrics (text format)",
                response_class=Response)
    def metrics() -> Response:
        refresh_gauges(ctx)
        return Response(ctx.metrics.text(), media_type=ctx.metrics.content_type)

    return routes
