"""How the service answers the library's errors: one table, keyed by
:class:`custseg.errors.ErrorCode`.

================================  =======  =================================================
code                              status   body
================================  =======  =================================================
``store``                         503      ``{"detail"}``: the store cannot be used
``event-conflict``                409      ``{"detail", "conflicts"}``: event ids sent
                                           before with another payload
``data``, ``input-file``          422      ``{"detail", "problems"}``: the data fail the
                                           checks, one entry per problem
every other code                  422      ``{"detail"}``
================================  =======  =================================================

A SQLAlchemy ``OperationalError`` (the store unreachable or busy in the middle of a request)
is answered 503, nothing having been applied.  What the service itself refuses (a missing
token, an unknown customer, a model that cannot take events) is raised as FastAPI's
``HTTPException`` where it is found.
"""

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from custseg.errors import CustsegError, ErrorCode

log = logging.getLogger("custseg.service")

#: Most problems listed in one 422 answer.
MAX_PROBLEMS = 20

BodyFn = Callable[[CustsegError], dict[str, Any]]


def _detail(exc: CustsegError) -> dict[str, Any]:
    return {"detail": str(exc)}


def _conflicts(exc: CustsegError) -> dict[str, Any]:
    return {"detail": str(exc), "conflicts": getattr(exc, "conflicts", [])}


def _problems(exc: CustsegError) -> dict[str, Any]:
    return {"detail": str(exc), "problems": [p.to_dict() for p in getattr(exc, "problems", [])]}


#: The HTTP answer (status, body) to each kind of library error.
HTTP_ANSWERS: dict[ErrorCode, tuple[int, BodyFn]] = {
    ErrorCode.STORE: (503, _detail),
    ErrorCode.EVENT_CONFLICT: (409, _conflicts),
    ErrorCode.DATA: (422, _problems),
    ErrorCode.INPUT_FILE: (422, _problems),
    ErrorCode.INTERNAL: (422, _detail),
    ErrorCode.USAGE: (422, _detail),
    ErrorCode.BAD_PARAMETER: (422, _detail),
    ErrorCode.MISSING_DEPENDENCY: (422, _detail),
    ErrorCode.OUTPUT_EXISTS: (422, _detail),
    ErrorCode.OUTPUT: (422, _detail),
    ErrorCode.BUNDLE: (422, _detail),
}


def http_answer(exc: CustsegError) -> tuple[int, dict[str, Any]]:
    """Status and JSON body answering ``exc`` (:data:`HTTP_ANSWERS`).

    >>> from custseg.errors import DataError
    >>> http_answer(DataError("no rows"))[0]
    422
    """
    status, body = HTTP_ANSWERS.get(exc.code, (422, _detail))
    return status, body(exc)


async def _custseg_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CustsegError)
    status, body = http_answer(exc)
    return JSONResponse(body, status_code=status)


async def _store_unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.error("store error: %s", exc)
    return JSONResponse({"detail": "the store cannot be reached or is busy; nothing was "
                         "applied, try again"}, status_code=503)


def install(app: FastAPI) -> None:
    """Answer the library's errors (and a store gone away) as the table says."""
    import sqlalchemy as sa

    app.add_exception_handler(CustsegError, _custseg_error)
    app.add_exception_handler(sa.exc.OperationalError, _store_unreachable)
