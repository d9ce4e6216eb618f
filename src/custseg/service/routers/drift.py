"""``GET /v1/drift``: population drift (PSI per feature) against the training data."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from custseg.drift import drift_report
from custseg.service.context import ServiceContext
from custseg.service.jsonable import jsonable
from custseg.service.jsonbody import FiniteJSONRoute

#: Live customers read from the store for the ``customers`` drift population.
DRIFT_CUSTOMERS = 200_000


def drift_population(ctx: ServiceContext, wanted: str) -> tuple[str, dict[str, list[Any]]]:
    """The population drift is measured on (``customers``: the live customers of the
    store, for event models; ``recent``: the last customers scored) and its values."""
    scorer = ctx.scorer
    if wanted in ("auto", "customers") and ctx.events_ok and ctx.store is not None:
        current = ctx.as_of.current(ctx.store)
        feats = ctx.store.live_features(current, DRIFT_CUSTOMERS) if current else []
        if feats or wanted == "customers":
            return "customers", {f: [r[f] for r in feats] for f in scorer.features}
    if wanted == "customers":
        raise HTTPException(409, "population=customers needs a model whose features are "
                            "computed from purchase events, and a store")
    return "recent", scorer.as_read(ctx.recent.values(scorer.features, scorer.numeric))


def router(ctx: ServiceContext, auth: list[Any]) -> APIRouter:
    """The drift route of the service ``ctx``."""
    routes = APIRouter(route_class=FiniteJSONRoute)

    @routes.get("/v1/drift", dependencies=auth,
                summary="Population drift (PSI per feature) against the training data")
    def get_drift(population: Annotated[str, Query(
            pattern="^(auto|customers|recent)$",
            description="customers: the live customers of the store (event models); "
            "recent: the last customers scored; auto: customers when there are any")] = "auto"
                  ) -> Any:
        reference = (ctx.meta.get("training") or {}).get("features") or {}
        chosen, values = drift_population(ctx, population)
        report = drift_report(reference, values, population_name=chosen)
        for f, d in report.features.items():
            ctx.metrics.psi.labels(f).set(d.psi)
        ctx.metrics.resegment.set(1 if report.resegment_recommended else 0)
        return jsonable({"model": ctx.sha, **report.to_dict()})

    return routes
