"""``GET /v1/segments``: the segments' profiles, live sizes and online shifts."""

from typing import Any

from fastapi import APIRouter

from custseg.service.context import ServiceContext
from custseg.service.jsonable import jsonable
from custseg.service.jsonbody import FiniteJSONRoute


def segments_document(ctx: ServiceContext) -> dict[str, Any]:
    """Every segment of the model with its training size and share, centre, live customers
    and, with the online update, how far its centre moved."""
    sizes = ctx.store.segment_sizes() if ctx.store is not None else {}
    ctx.metrics.set_live(sizes, len(ctx.scorer.names))
    online = ctx.online.to_dict() if ctx.online is not None else None
    segments = []
    for i, s in enumerate(ctx.meta.get("segments", [])):
        entry = {"id": s["id"], "name": s["name"], "recommendation": s.get("recommendation"),
                 "training_size": s.get("size"), "training_share": s.get("share"),
                 "centre": s.get("centre"), "live_customers": sizes.get(int(s["id"]), 0)}
        if online is not None:
            entry["centre_shift"] = online["segments"][i]["shift"]
            entry["centre_moved"] = online["segments"][i]["moved"]
        segments.append(entry)
    return {"model": ctx.sha, "algorithm": ctx.meta.get("algorithm"), "k": ctx.meta.get("k"),
            "features": ctx.scorer.features, "segments": segments,
            "live_customers": sum(sizes.values()),
            "online_update": online if online is not None else {"enabled": False}}


def router(ctx: ServiceContext, auth: list[Any]) -> APIRouter:
    """The segment route of the service ``ctx``."""
    routes = APIRouter(route_class=FiniteJSONRoute)

    @routes.get("/v1/segments", dependencies=auth, summary="Segment profiles and live sizes")
    def get_segments() -> dict[str, Any]:
        return jsonable(segments_document(ctx))  # type: ignore[no-any-return]

    return routes
