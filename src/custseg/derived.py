"""Features computed from a column (:class:`custseg.roles.Derivation`): the same way in fit
and when scoring, so that one rule gives both.

- ``age``: a year of birth, read as the age at a reference year;
- ``age_at``: a date of birth, read as whole years of age at a reference date;
- ``days_since``: a date, read as the days since it at a reference date;
- ``none_code``: a number, with one code read as missing;
- ``levels``: ordered text levels, read as their ranks (1 for the lowest).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from custseg.column_facts import level_ranks, scale_keys
from custseg.parsing import parse_dates

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
