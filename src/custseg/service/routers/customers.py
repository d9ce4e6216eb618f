"""``GET /v1/customers/{id}``: a live customer's features, segment and history."""

from typing import Any

from fastapi import APIRouter, HTTPException

from custseg.service.context import ServiceContext
from custseg.service.jsonable import jsonable
from custseg.service.jsonbody import FiniteJSONRoute
from custseg.store import MAX_ID_LENGTH, features_from_aggregates

#: The aggregates of a customer shown as they are stored.
AGGREGATES = ("first_purchase", "last_purchase", "monetary", "n_lines", "n_cancel",
              "frequency", "n_days", "distinct_products", "n_events")


def customer_document(ctx: ServiceContext, customer_id: str) -> dict[str, Any]:
    """The customer's current features, segment (scored now), stored segment, history of
    segment changes and recorded runs; 404 when the store has neither event nor run."""
    db = ctx.need_store()
    if len(customer_id) > MAX_ID_LENGTH:
        raise HTTPException(404, f"unknown customer {customer_id[:40]!r}...")
    row = db.customer(customer_id)
    runs = db.customer_runs(customer_id)
    if row is None and not runs:
        raise HTTPException(404, f"unknown customer {customer_id!r}: no event and no "
                            "recorded run has it")
    out: dict[str, Any] = {"customer_id": customer_id, "model": ctx.sha, "runs": runs}
    if row is None:
        return {**out, "as_of": None, "features": None, "segment": None,
                "stored_segment": None, "history": [], "aggregates": None}
    current = ctx.as_of.current(db)
    feats = features_from_aggregates(row, current) if current else None
    live = None
    if feats is not None and ctx.events_ok:
        live = ctx.scorer.score([feats])[0]
    return {**out, "as_of": current, "features": feats, "segment": live,
            "stored_segment": {"segment": row["segment"], "segment_name": row["segment_name"],
                               "updated_at": row["updated_at"]},
            "history": row["history"], "aggregates": {k: row[k] for k in AGGREGATES}}


def router(ctx: ServiceContext, auth: list[Any]) -> APIRouter:
    """The customer route of the service ``ctx``."""
    routes = APIRouter(route_class=FiniteJSONRoute)

    # ``:path``: an id may hold ``/`` (sent URL-encoded, %2F, or not)
    @routes.get("/v1/customers/{customer_id:path}", dependencies=auth,
                summary="A customer's current features, segment and history",
                responses={404: {"description": "Unknown customer"}})
    def get_customer(customer_id: str) -> dict[str, Any]:
        return jsonable(customer_document(ctx, customer_id))  # type: ignore[no-any-return]

    return routes
