"""``POST /v1/score``: one customer or a batch, assigned to segments."""

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from custseg.service.context import ServiceContext
from custseg.service.jsonable import jsonable
from custseg.service.jsonbody import FiniteJSONRoute
from custseg.service.models import ScoreResponse, score_models


def router(ctx: ServiceContext, auth: list[Any]) -> APIRouter:
    """The scoring route of the model ``ctx`` serves."""
    routes = APIRouter(route_class=FiniteJSONRoute)
    ScoreRequest = score_models(ctx.scorer).ScoreRequest

    def score_body(body: Any) -> dict[str, Any]:
        if body.customers is not None:
            ids = [c.id for c in body.customers]
            rows = [c.features.model_dump(by_alias=True) for c in body.customers]
        else:
            ids = [body.id]
            rows = [body.features.model_dump(by_alias=True)]
        results = ctx.scorer.score(rows)
        ctx.remember(rows, results)
        return {"model": ctx.sha, "results": [{"id": i, **jsonable(r)} for i, r in
                                              zip(ids, results, strict=True)]}

    @routes.post("/v1/score", response_model=ScoreResponse, dependencies=auth,
                 response_model_exclude_unset=True,
                 summary="Assign one customer or a batch to segments")
    async def score(body: ScoreRequest) -> dict[str, Any]:  # type: ignore[valid-type]
        if ctx.scorer.fast:
            return score_body(body)  # a fraction of a millisecond: no thread hop
        return await run_in_threadpool(score_body, body)

    return routes
