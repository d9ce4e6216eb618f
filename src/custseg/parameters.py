"""The parameters every engine reads as :class:`~custseg.segmenter.Segmenter` does: the
number of segments (``k``, ``k_range``) and the widest table accepted (``max_columns``).

:mod:`custseg.segmenter` re-exports these names (``from custseg.segmenter import parse_k``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from custseg.errors import UsageError

#: Most columns a table may offer as features (every column but those excluded, or the
#: features named) before ``fit`` refuses it, at once and before any other work: a wide
#: table costs time and memory in every step (about 10 s for 2,000 columns and 5,000
#: customers on 2 cores) and segments over thousands of columns are hard to act on.  The
#: ``max_columns`` parameter raises it (None: no limit).
MAX_COLUMNS = 2_500
DEFAULT_K_RANGE = (2, 10)


def parse_k(value: str | int) -> int | tuple[int, int]:
    """Read a value of ``k``: ``5``, ``2..10`` (or ``2-10``), or ``auto``.

    >>> parse_k("5"), parse_k("2..10"), parse_k("auto")
    (5, (2, 10), (2, 10))
    """
    if isinstance(value, int):
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return DEFAULT_K_RANGE
    for sep in ("..", "-", ":"):
        if sep in text:
            lo, _, hi = text.partition(sep)
            try:
                a, b = int(lo), int(hi)
            except ValueError:
                break
            if not 2 <= a <= b:
                break
            return (a, b)
    else:
        try:
            k = int(text)
        except ValueError:
            k = 0
        if k >= 2:
            return k
    raise UsageError(f"`k` must be a number of segments >= 2 (e.g. 5), a range such as 2..10, "
                     f"or 'auto'; got {value!r}", "k")


def k_values(k: Any, k_range: tuple[int, int] = DEFAULT_K_RANGE) -> list[int]:
    """The numbers of segments tried, from ``k`` and ``k_range`` as :class:`Segmenter`
    takes them (every engine uses this rule): ``"auto"`` the range, an int itself, a text
    as :func:`parse_k` reads it, a collection of ints those values.

    >>> k_values("auto", (2, 4)), k_values(5), k_values("3..5"), k_values([6, 3])
    ([2, 3, 4], [5], [3, 4, 5], [3, 6])
    """
    if isinstance(k, str):
        if k != "auto":
            parsed = parse_k(k)
            return ([parsed] if isinstance(parsed, int)
                    else list(range(parsed[0], parsed[1] + 1)))
        lo, hi = k_range
        if not 2 <= lo <= hi:
            raise UsageError(f"k_range must be (low, high) with 2 <= low <= high, got "
                             f"{k_range!r}", "k_range")
        return list(range(lo, hi + 1))
    if isinstance(k, int | np.integer):
        if k < 2:
            raise UsageError(f"k must be at least 2, got {k!r}", "k")
        return [int(k)]
    values = sorted({int(v) for v in k})
    if not values or values[0] < 2:
        raise UsageError(f"k values must be at least 2, got {k!r}", "k")
    return values


def check_width(columns: Sequence[str], n_rows: int | None, *,
                features: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
                max_columns: int | None = MAX_COLUMNS) -> None:
    """Refuse a table whose columns that could be features (every column but those in
    ``exclude``, or the ``features`` named) outnumber ``max_columns`` (None: no limit).

    Raises
    ------
    UsageError
        ``max_columns`` is not a whole number >= 1, or the table is too wide: the message
        gives the count, the limit, the memory it would take (when ``n_rows`` is known)
        and what to do.

    >>> check_width(["id", "a", "b"], 100, max_columns=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    custseg.errors.UsageError: the table has 3 columns that could be features, more than...
    >>> check_width(["id", "a", "b"], 100, features=["a"], max_columns=2)
    """
    if max_columns is None:
        return
    if (isinstance(max_columns, bool) or not isinstance(max_columns, int | np.integer)
            or max_columns < 1):
        raise UsageError(f"max_columns must be a whole number of columns >= 1 or None, got "
                         f"{max_columns!r}", "max_columns")
    if features:
        n_cand = len(set(features))
    else:
        n_cand = len(columns) - len(set(exclude or []) & set(columns))
    if n_cand <= max_columns:
        return
    cost = "would take long"
    if n_rows:
        gb = n_rows * n_cand * 8 * 10 / 1e9  # float64, about ten working copies
        cost = (f"would take long and need about {gb:,.1f} GB of memory for "
                f"{n_rows:,} customers")
    raise UsageError(
        f"the table has {n_cand:,} columns that could be features, more than the limit of "
        f"{int(max_columns):,} (max_columns): segmenting on that many {cost}, and segments "
        "described by thousands of columns are hard to act on. Choose the columns to use "
        "(features), leave some out (exclude), or raise the limit (max_columns).",
        "max_columns")
