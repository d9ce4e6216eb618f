"""Request bodies read as JSON with finite numbers only.

Python's json reads ``NaN``, ``Infinity`` and numbers beyond the range of a double
(``1e309``, as infinity); JSON has none of them.  Every route of the service reads its body
through :class:`FiniteJSONRequest`: such a number anywhere in the body is answered 422,
naming where it is (FastAPI's ``detail[].loc``).
"""

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from custseg.service.errors import MAX_PROBLEMS


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


def _non_finite(node: Any, loc: list[Any]) -> Iterator[tuple[list[Any], float]]:
    if isinstance(node, float) and not math.isfinite(node):
        yield loc, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _non_finite(v, [*loc, k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _non_finite(v, [*loc, i])


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
    """A route reading its body with :class:`FiniteJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(FiniteJSONRequest(request.scope, request.receive))

        return route
