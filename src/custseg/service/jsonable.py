"""Values made JSON-safe for the service's answers."""

import datetime as dt
import math
from typing import Any

import numpy as np


def jsonable(x: Any) -> Any:
    """JSON-safe: NaN and infinities become None, numpy scalars Python ones, floats are
    rounded to 6 places, dates ISO text.

    >>> jsonable({"a": [np.int64(2), float("nan"), 1 / 3], "d": dt.date(2024, 5, 1)})
    {'a': [2, None, 0.333333], 'd': '2024-05-01'}
    """
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        x = float(x)
        return round(x, 6) if math.isfinite(x) else None
    if isinstance(x, dt.datetime | dt.date):
        return x.isoformat()
    return x
