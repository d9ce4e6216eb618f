"""``POST /v1/events``: purchase events applied exactly once, the customers re-scored."""

from typing import Any

from fastapi import APIRouter, HTTPException

from custseg.online import AsOf
from custseg.service.context import ServiceContext
from custseg.service.errors import MAX_PROBLEMS
from custseg.service.jsonable import jsonable
from custseg.service.jsonbody import FiniteJSONRoute
from custseg.service.models import EventIn, EventsRequest
from custseg.store import EVENT_FEATURES, Event, Outcome


def screen_dates(as_of: AsOf, events: list[EventIn]) -> list[dict[str, Any]]:
    """Refuse (422) events beyond the as-of limit; those set aside, described."""
    limit = as_of.limit()
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
            if (why := as_of.set_aside(e.timestamp.date()))]


def _count(ctx: ServiceContext, outcomes: list[Outcome], set_aside: int) -> list[Outcome]:
    """Count the outcomes in the metrics; remember the customers scored; the applied."""
    applied = [o for o in outcomes if o.status == "applied"]
    ctx.metrics.events.labels("applied").inc(len(applied))
    ctx.metrics.events.labels("duplicate").inc(len(outcomes) - len(applied))
    ctx.metrics.events.labels("set_aside").inc(set_aside)
    ctx.metrics.changes.inc(sum(o.segment_changed for o in applied))
    scored = [o for o in applied if o.features is not None and o.segment is not None]
    if scored:
        ctx.remember([o.features for o in scored],  # type: ignore[misc]
                     [{"segment": o.segment} for o in scored])
    return applied


def router(ctx: ServiceContext, auth: list[Any]) -> APIRouter:
    """The event route of the service ``ctx``."""
    routes = APIRouter(route_class=FiniteJSONRoute)

    def score_rows(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
        return [(r["segment"], r["segment_name"]) for r in ctx.scorer.score(rows)]

    @routes.post("/v1/events", dependencies=auth,
                 summary="Apply purchase events (exactly once) and re-score the customers",
                 responses={409: {"description": "The model's features cannot be computed "
                                                 "from purchase events, or an event id was "
                                                 "sent before with another payload"}})
    def post_events(body: EventsRequest) -> dict[str, Any]:
        db = ctx.need_store()
        if not ctx.events_ok:
            raise HTTPException(409, f"this model segments on {ctx.scorer.features}, of "
                                f"which {ctx.event_missing} cannot be computed from purchase "
                                f"events (computable: {list(EVENT_FEATURES)}); /v1/score "
                                "still works")
        set_aside = screen_dates(ctx.as_of, body.events)
        aside = {a["index"] for a in set_aside}
        batch = [Event(e.event_id, e.customer_id, e.timestamp.replace(tzinfo=None),
                       e.amount, e.quantity, e.unit_price, e.order_id, e.product_id)
                 for i, e in enumerate(body.events) if i not in aside]
        outcomes = db.apply_events(batch, as_of=ctx.as_of.for_latest, score=score_rows)
        applied = _count(ctx, outcomes, len(set_aside))
        return {"model": ctx.sha, "applied": len(applied),
                "duplicates": len(outcomes) - len(applied),
                "results": [jsonable(o.to_dict()) for o in outcomes], "set_aside": set_aside}

    return routes
