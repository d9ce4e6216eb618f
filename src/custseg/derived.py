"""Features computed from a column (:class:`custseg.roles.Derivation`): the same way in fit
and when scoring, so that one rule gives both.

- ``age``: a year of birth, read as the age at a reference year;
- ``age_at``: a date of birth, read as whole years of age at a reference date;
- ``days_since``: a date, read as the days since it at a reference date;
- ``none_code``: a number, with one code read as missing;
- ``levels``: ordered text levels, read as their ranks (1 for the lowest).

:func:`model_features` reads a model's features from a table with them: the one reading of
fit, of scoring through the fitted model and of scoring from ``bundle.json`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg.column_facts import level_ranks, scale_keys
from custseg.errors import DataError, Problem
from custseg.parsing import MAX_ABS_VALUE, parse_dates, parse_numeric

if TYPE_CHECKING:
    from custseg.roles import Derivation


def derive(frame: pd.DataFrame, derivations: Sequence[Derivation]) -> pd.DataFrame:
    """The derived feature columns of ``frame`` (one column per derivation, float64)."""
    out = pd.DataFrame(index=frame.index)
    for d in derivations:
        src = frame[d.source]
        if d.kind == "age":
            years = pd.to_numeric(src, errors="coerce").astype("float64")
            out[d.name] = float(d.reference) - years
        elif d.kind == "none_code":
            values = pd.to_numeric(src, errors="coerce").astype("float64")
            out[d.name] = values.mask(values == float(d.reference))
        elif d.kind == "levels":  # a level not seen in fit is missing (then imputed)
            out[d.name] = scale_keys(src).map(level_ranks(d.levels)).astype("float64")
        elif d.kind == "age_at":  # whole years of age at the reference date
            born = parse_dates(src, d.dayfirst)
            out[d.name] = age_in_years(born, pd.Timestamp(d.reference))
        else:
            when = parse_dates(src, d.dayfirst)
            ref = pd.Timestamp(d.reference)
            out[d.name] = ((ref - when).dt.total_seconds() / 86_400.0).astype("float64")
    return out


def age_in_years(born: pd.Series, at: pd.Timestamp) -> pd.Series:
    """Whole years of age at ``at`` of the dates of birth ``born`` (float64, NaN where
    missing; a birthday on ``at`` counts).

    >>> born = pd.Series(pd.to_datetime(["1990-06-30", "1990-07-01", None]))
    >>> age_in_years(born, pd.Timestamp("2024-06-30")).tolist()
    [34.0, 33.0, nan]
    """
    years = at.year - born.dt.year
    before = (born.dt.month > at.month) | ((born.dt.month == at.month) & (born.dt.day > at.day))
    return (years - before.astype("float64")).where(born.notna()).astype("float64")


def model_features(frame: pd.DataFrame, features: Sequence[str], numeric: Sequence[str],
                   derivations: Sequence[Derivation], max_junk: float) -> pd.DataFrame:
    """The ``features`` of ``frame``: the ``numeric`` ones parsed as floats, the others as
    text, ready for a model's preprocessing.  Junk cells are read as missing (then imputed)
    up to ``max_junk`` of a column, as in fit; more junk, and infinities, are data errors
    naming the rows.  A derived feature is computed from its source column (a file, as in
    fit), or taken as it is when given under a name of its own (Age: the service's
    requests).

    >>> frame = pd.DataFrame({"income": ["$1,200", "n/a", "900"], "city": [" Oslo", "", "Rome"]})
    >>> print(model_features(frame, ["income", "city"], ["income"], [], 0.5))
       income  city
    0  1200.0  Oslo
    1    <NA>   NaN
    2   900.0  Rome
    """
    by_name = {d.name: d for d in derivations
               if d.name == d.source or d.name not in frame.columns}
    needed = [by_name[c].source if c in by_name else c for c in features]
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise DataError([Problem(c, "missing from the data to segment; the model needs "
                                 f"{list(dict.fromkeys(needed))}", code="missing-column")
                         for c in missing])
    derived = derive(frame, [by_name[c] for c in features if c in by_name])
    out: dict[str, Any] = {}  # one frame built at the end: thousands of columns
    problems: list[Problem] = []
    numbers = set(numeric)
    for c in features:
        if c in derived.columns:
            out[c] = derived[c]
        elif c in numbers:
            out[c] = _numbers(frame[c], c, max_junk, problems)
        else:
            text = frame[c].astype("string").str.strip()
            out[c] = text.astype(object).where(text.notna() & (text != ""), np.nan)
    if problems:
        raise DataError(problems)
    return pd.DataFrame(out, index=frame.index, columns=list(features))


def _numbers(s: pd.Series, column: str, max_junk: float, problems: list[Problem]
             ) -> pd.Series:
    """A numeric feature's values as floats; its junk beyond ``max_junk`` and its infinities
    added to ``problems``."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        values = s.astype("float64")
        junk = pd.Series(False, index=s.index)
    else:
        parsed = parse_numeric(s)
        values, junk = parsed.values, parsed.junk
    if junk.any() and junk.mean() > max_junk:
        problems.append(Problem(column, f"non-numeric values (more than the "
                                f"{max_junk:.0%} accepted)",
                                rows=[int(i) + 1 for i in np.flatnonzero(junk)],
                                values=s[junk].astype(str).tolist(), code="junk"))
    inf = np.abs(values.to_numpy()) > MAX_ABS_VALUE
    if inf.any():
        problems.append(Problem(column, f"infinite or too large values (beyond "
                                f"±{MAX_ABS_VALUE:g})",
                                rows=[int(i) + 1 for i in np.flatnonzero(inf)],
                                values=values[inf].tolist(), code="infinite"))
    return values
