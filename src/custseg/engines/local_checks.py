"""The fast path's checks on every row of the feature columns (junk cells, missing markers,
infinite, too large, constant or empty columns), with the standard engine's messages; the
roles inferred on the first rows (:mod:`custseg.engines.local`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from custseg.engines.base import new_cleaning, record_unreadable
from custseg.engines.local_arrays import arrow_float64
from custseg.errors import DataError, Problem, UsageError
from custseg.schema import (
    MAX_ABS_VALUE,
    all_missing_problem,
    constant_problem,
    infinite_problem,
    parse_numeric,
    too_large_problem,
    validate_table,
)

#: Rows the role inference looks at.
HEAD_ROWS = 10_000


# --------------------------------------------------------------------------- checks
def _is_number_type(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
                or pa.types.is_boolean(t))


def _arrow_checks(col: Any, name: str, cleaning: dict[str, Any],
                  warns: list[Problem]) -> Any:
    """The checks of :func:`_numeric_column` on a number-typed Arrow column, in Arrow (no
    float64 copy): the column itself when it is fine, None when it is dropped as constant,
    False when it needs the full check (all missing, infinite or too large values: the
    messages name the rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n_missing = col.null_count
    if pa.types.is_floating(col.type):
        n_missing += int(pc.sum(pc.is_nan(col)).as_py() or 0)
    if n_missing == len(col):
        return False
    mm = pc.min_max(col)  # NaN and missing cells left out
    lo, hi = float(mm["min"].as_py()), float(mm["max"].as_py())
    if not (np.isfinite(lo) and np.isfinite(hi) and max(-lo, hi) <= MAX_ABS_VALUE):
        return False
    return _kept_or_constant(col, name, lo, hi, n_missing, cleaning, warns)


def _numeric_column(table: Any, name: str, max_junk: float, cleaning: dict[str, Any],
                    errors: list[Problem], warns: list[Problem]) -> Any:
    """The column after the standard engine's checks: the Arrow column itself when it is
    typed as numbers, else its values parsed from text as float64 with NaN for missing cells
    (None when the column is dropped)."""

    col = table.column(name)
    if _is_number_type(col.type):
        fast = _arrow_checks(col, name, cleaning, warns)
        if fast is not False:  # checked in Arrow, without a copy: the column or None
            return fast
        values = arrow_float64(col)
        raw = None
    else:
        raw = col.to_pandas()
        parsed = parse_numeric(raw)
        values = parsed.values.to_numpy(dtype=np.float64)
        junk = np.flatnonzero(parsed.junk.to_numpy())
        markers = np.flatnonzero(parsed.markers.to_numpy())
        record_unreadable(name, len(junk), parsed.n_filled, len(markers), max_junk=max_junk,
                          cleaning=cleaning, errors=errors, warns=warns,
                          junk=_examples(raw, junk), markers=_examples(raw, markers))
    missing = np.isnan(values)
    n_missing = int(np.count_nonzero(missing))
    if n_missing == len(values):
        errors.append(all_missing_problem(name))
        return None
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))  # two passes, no copy
    if not (np.isfinite(lo) and np.isfinite(hi) and max(-lo, hi) <= MAX_ABS_VALUE):
        with np.errstate(invalid="ignore"):
            inf = np.isinf(values)
            huge = (np.abs(values) > MAX_ABS_VALUE) & ~inf
        if inf.any():
            rows = np.flatnonzero(inf)
            errors.append(infinite_problem(name, len(rows), rows=[int(i) + 1 for i in rows[:20]],
                                           values=values[rows[:20]].tolist()))
        if huge.any():
            rows = np.flatnonzero(huge)
            errors.append(too_large_problem(name, len(rows),
                                            rows=[int(i) + 1 for i in rows[:20]],
                                            values=[str(v) for v in values[rows[:20]]]))
        return None
    return _kept_or_constant(values, name, lo, hi, n_missing, cleaning, warns)


def _examples(raw: pd.Series, rows: np.ndarray) -> dict[str, list[Any]]:
    """The first 20 of ``rows`` (0-based) of a text column: line numbers and cells, for a
    finding's ``rows`` and ``values``."""
    return {"rows": [int(i) + 1 for i in rows[:20]],
            "values": raw.iloc[rows[:20]].astype(str).tolist()}


def _kept_or_constant(column: Any, name: str, lo: float, hi: float, n_missing: int,
                      cleaning: dict[str, Any], warns: list[Problem]) -> Any:
    """The last check of every numeric column: dropped (None) when it is constant, else
    kept, its missing cells counted."""
    if lo == hi:
        warns.append(constant_problem(name, lo))
        cleaning["columns_dropped"][name] = "constant"
        return None
    if n_missing:
        cleaning["missing_values"][name] = n_missing
    return column


def check_features(table: Any, *, id_col: str | None, features: list[str] | None,
                    exclude: list[str] | None, categorical: list[str] | None,
                    max_junk: float, min_rows: int) -> tuple[Any, list[str], dict[str, Any],
                                                             list[Problem], dict[str, Any]]:
    """Roles from the first rows, then every row of the feature columns checked; returns
    roles, features, their values (:func:`column_block` sources: the Arrow column, or
    float64 parsed from text), warnings, cleaning."""
    head = table.slice(0, HEAD_ROWS).to_pandas()
    checked = validate_table(head, id_col=id_col, features=features, exclude=exclude,
                             categorical=categorical, use_categorical=False, max_junk=1.0,
                             min_rows=min(min_rows, len(head)), infer_roles=True)
    if checked.categorical_features:
        raise UsageError("the fast path (`engine='local'`) segments on numeric columns only; "
                         f"{checked.categorical_features} are categorical: use "
                         "`engine='standard'`", "engine")
    roles = checked.roles
    cleaning = new_cleaning(table.num_rows, 0, {
        c: why for c, why in checked.cleaning["columns_dropped"].items()
        if c not in checked.features})
    errors: list[Problem] = []
    warns = [w for w in checked.warnings if w.code not in ("junk", "missing-marker",
                                                           "constant", "duplicate-row",
                                                           "totals-row")]
    sources: dict[str, Any] = {}
    for name in checked.features:
        values = _numeric_column(table, name, max_junk, cleaning, errors, warns)
        if values is not None:
            sources[name] = values
        del values
    if errors:
        raise DataError(errors)
    if not sources:
        raise DataError([Problem(None, "no numeric feature left to segment on",
                                 code="no-features")])
    return roles, list(sources), sources, warns, cleaning


def describe_columns(table: Any, roles: Any, features: list[str]
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The other numeric columns (typed as numbers in the file) and the categorical columns,
    which describe the segments in the profiles."""
    import pyarrow as pa

    numeric: dict[str, Any] = {}
    for c in roles.numeric:
        col = table.column(c)
        if c not in features and (pa.types.is_integer(col.type) or
                                  pa.types.is_floating(col.type)):
            numeric[c] = col  # read when profiled
    return numeric, {c: table.column(c) for c in roles.categorical}
