"""The standard engine's log and signed log, outlier fences and feature-group weights, in
Spark (:mod:`custseg.engines.spark_fit` calls them).

Every rule is :mod:`custseg.preprocess`'s own: the log is ``log1p`` (of the values clipped
at 0, as :class:`~custseg.preprocess.SelectiveLog1p`); the signed log of an amount that can
be negative is :class:`~custseg.preprocess.SignedLog`'s ``asinh(x / s)``, ``s`` the median
of the column's non-zero absolute values (imputed, clipped) on every customer; the fences
of a column are
:func:`~custseg.preprocess.fences_from_quantiles` of its
:data:`~custseg.preprocess.FENCE_QUANTILES`, applied when
:func:`~custseg.preprocess.fence_applies`; the groups and weights are
:func:`~custseg.preprocess.groups_from_correlation` of the features' correlations.  Only the
numbers are measured here:

* the quantiles on every customer, by :func:`custseg.engines.spark_fit.spark_quantiles`: exact
  (Spark's ``percentile``, numpy's linear interpolation) up to
  :data:`~custseg.engines.spark_fit.EXACT_QUANTILES` customers, ``percentile_approx`` with a
  relative rank error of 1 / :data:`~custseg.engines.spark_fit.QUANTILE_ACCURACY` above;
  the shares beyond each fence are exact counts;
* the correlations on the seeded sample k is chosen on (every customer up to its size), the
  only rows that come to the driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Customers shown per column in the outlier report (as :class:`custseg.Segmenter`).
OUTLIER_EXAMPLES = 5


def signed_log_scales(data: Any, columns: list[str], signed: list[bool],
                      quantiles: Callable[[Any, list[float]], Any]) -> np.ndarray:
    """The scale ``s`` of :class:`~custseg.preprocess.SignedLog` for each of ``columns``
    (imputed, clipped): the median of its non-zero absolute values where ``signed`` (1 when
    it has none), 1 elsewhere, as ``SignedLog.fit`` learns it; ``quantiles(column, probs)``
    as for :func:`spark_fences`."""
    from pyspark.sql import functions as F

    scales = np.ones(len(columns))
    chosen = [j for j, s in enumerate(signed) if s]
    if not chosen:
        return scales
    size = {j: F.abs(F.col(columns[j])) for j in chosen}
    got = data.agg(*[quantiles(F.when(size[j] > 0, size[j]), [0.5]).alias(f"s{j}")
                     for j in chosen]).first()
    for j in chosen:
        median = got[f"s{j}"]
        if median is not None and median[0] is not None:
            scales[j] = float(median[0])
    return scales


def fitted_columns(data: Any, kept: list[str], columns: list[str], plan: Any,
                   quantiles: Callable[[Any, list[float]], Any]
                   ) -> tuple[Any, list[str], np.ndarray]:
    """The plan's log and signed log of ``columns`` (the features ``kept``, imputed and
    clipped), as :func:`_fitted_scale`: ``data`` with the columns ``{column}_z``, their
    names and the signed-log scales (:func:`signed_log_scales`)."""
    from pyspark.sql import functions as F

    signed = [f in plan.signed_log_columns for f in kept]
    scales = signed_log_scales(data, columns, signed, quantiles)
    z_cols = [f"{c}_z" for c in columns]
    data = data.select("*", *[
        _fitted_scale(F.col(c), f in plan.log_columns, scales[j] if signed[j] else None)
        .alias(z) for j, (f, c, z) in enumerate(zip(kept, columns, z_cols, strict=True))])
    return data, z_cols, scales


def _fitted_scale(column: Any, logged: bool, scale: float | None) -> Any:
    """A Spark column on the scale the features are fenced and scaled on: ``log1p`` of the
    values clipped at 0 when ``logged``, else ``asinh(x / scale)`` (the signed log) when
    ``scale`` is given, else the values.  The signed log is computed on ``|x|`` with the
    sign put back: Spark's ``asinh`` of a negative number loses digits
    (``log(x + sqrt(x² + 1))``), numpy's does not."""
    from pyspark.sql import functions as F

    if logged:
        return F.log1p(F.greatest(column, F.lit(0.0)))
    if scale is None:
        return column
    ratio = column / F.lit(float(scale))
    return F.signum(ratio) * F.asinh(F.abs(ratio))



@dataclass
class Fences:
    """The fences of the features (``-inf``/``inf`` where none applies), each feature's
    median on the fenced scale, and the customers beyond the applied fences: per feature
    below (``low``) and above (``high``), and beyond any (``rows``)."""

    lower: np.ndarray
    upper: np.ndarray
    medians: np.ndarray
    low: np.ndarray
    high: np.ndarray
    rows: int = 0


def spark_fences(data: Any, z_cols: list[str], n: int,
                 quantiles: Callable[[Any, list[float]], Any]) -> Fences:
    """The fences applied to each column of ``z_cols`` (imputed, clipped, logged: the scale
    the features are fitted on) and the customers beyond them; ``quantiles(column,
    probs)``: the Spark aggregate of a column's quantiles
    (:func:`custseg.engines.spark_fit.spark_quantiles`).

    Two passes: the quantiles, then the customers counted by where they stand to every
    candidate fence at once (one row per combination met), from which both the share
    beyond each fence (whether it applies) and the customers beyond any applied one
    follow."""
    from pyspark.sql import functions as F

    from custseg.preprocess import FENCE_QUANTILES, fence_applies, fences_from_quantiles

    probs = [*FENCE_QUANTILES, 0.5]
    qs = data.agg(*[quantiles(F.col(c), probs).alias(c) for c in z_cols]).first()
    d = len(z_cols)
    out = Fences(np.full(d, -np.inf), np.full(d, np.inf),
                 np.array([float(qs[c][-1]) for c in z_cols]), np.zeros(d, dtype=np.int64),
                 np.zeros(d, dtype=np.int64))
    candidates = {j: fences_from_quantiles([float(v) for v in qs[c][:4]])
                  for j, c in enumerate(z_cols)}
    candidates = {j: f for j, f in candidates.items() if f is not None}
    if not candidates or n < 4:  # as RobustFences: no fences on fewer than 4 values
        return out
    met = data.groupBy(*[(F.col(z_cols[j]) < F.lit(float(lo))).alias(f"l{j}")
                         for j, (lo, _) in candidates.items()],
                       *[(F.col(z_cols[j]) > F.lit(float(hi))).alias(f"h{j}")
                         for j, (_, hi) in candidates.items()]).count().collect()
    for j, (lo, hi) in candidates.items():
        below = sum(r["count"] for r in met if r[f"l{j}"])
        above = sum(r["count"] for r in met if r[f"h{j}"])
        if fence_applies(below / n):
            out.lower[j], out.low[j] = lo, below
        if fence_applies(above / n):
            out.upper[j], out.high[j] = hi, above
    out.rows = sum(r["count"] for r in met if any(
        (r[f"l{j}"] and out.low[j]) or (r[f"h{j}"] and out.high[j]) for j in candidates))
    return out


def outliers_doc(data: Any, kept: list[str], raw_cols: list[str], z_cols: list[str],
                 fences: Fences, n: int, rows_known: bool) -> dict[str, Any]:
    """summary.json's ``outliers``, as :class:`custseg.Segmenter` reports them: customers
    beyond an applied fence, per column the counts and the customers farthest from the
    median (their 1-based data row and value; none when the customers are known by an id
    column, which Spark keeps instead of the row).  The fences in the columns' units are
    filled in by :func:`finish_docs`, once the model's pipeline is built."""
    from custseg.preprocess import FENCE_METHOD

    out: dict[str, Any] = {"method": FENCE_METHOD, "winsorized": True, "rows": fences.rows,
                           "share": round(fences.rows / n, 6) if n else 0.0, "columns": {}}
    beyond = [j for j in range(len(kept)) if fences.low[j] + fences.high[j]]
    examples = (_farthest(data, [(j, z_cols[j], raw_cols[j]) for j in beyond], fences)
                if rows_known and beyond else {})
    for j in beyond:
        n_low, n_high = int(fences.low[j]), int(fences.high[j])
        out["columns"][kept[j]] = {"count": n_low + n_high, "low": n_low, "high": n_high,
                                   "lower": None, "upper": None,
                                   "examples": examples.get(j, [])}
    return out


def _farthest(data: Any, columns: list[tuple[int, str, str]], fences: Fences
              ) -> dict[int, list[dict[str, Any]]]:
    """For each column ``(j, fenced, raw)``, the :data:`OUTLIER_EXAMPLES` customers beyond
    its fences farthest from its median (then by row), in row order: one pass for all."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    row = F.col("__key").cast("long")
    found = []
    for j, z, raw in columns:
        beyond = ((F.col(z) < F.lit(float(fences.lower[j])))
                  | (F.col(z) > F.lit(float(fences.upper[j]))))
        found.append(F.when(beyond, F.struct(
            F.lit(j).alias("j"), F.abs(F.col(z) - F.lit(float(fences.medians[j]))).alias("far"),
            row.alias("row"), F.col(raw).cast("double").alias("value"))))
    flagged = data.select(F.explode(F.array(*found)).alias("o")).where(
        F.col("o").isNotNull()).select("o.*")
    rank = F.row_number().over(Window.partitionBy("j").orderBy(F.desc("far"), "row"))
    picked = flagged.withColumn("rank", rank).where(F.col("rank") <= OUTLIER_EXAMPLES)
    examples: dict[int, list[dict[str, Any]]] = {}
    for r in sorted(picked.collect(), key=lambda r: (r["j"], r["row"])):
        examples.setdefault(r["j"], []).append({"row": int(r["row"]),
                                                "value": float(r["value"])})
    return examples


def sample_groups(X: np.ndarray, threshold: float) -> tuple[list[list[int]], np.ndarray]:
    """The feature groups and weights of :func:`custseg.preprocess.groups_from_correlation`
    from the correlations of the scaled features of the selection sample ``X``."""
    from custseg.preprocess import groups_from_correlation

    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(X, rowvar=False)
    return groups_from_correlation(corr, threshold)


def finish_docs(model: Any, summary: Any, docs: dict[str, Any]) -> None:
    """The ``outliers`` and ``reduction`` of ``docs`` (:func:`outliers_doc`; none) completed
    from the model's pipeline (Spark's fitted values in :mod:`custseg.preprocess`'s steps:
    the fences in the columns' units by :func:`~custseg.preprocess.fences_in_units`, the
    groups by :meth:`~custseg.preprocess.FeatureGroupWeights.describe`), set as the model's
    ``outliers_`` and ``reduction_`` and in ``summary``."""
    from custseg.preprocess import fences_in_units

    model.outliers_, model.reduction_ = docs["outliers"], docs["reduction"]
    pipe = model.preprocessor_.named_transformers_["numeric"]
    kept = list(model.plan_.numeric)
    if "fences" in pipe.named_steps:
        units = fences_in_units(pipe)
        for c, col in model.outliers_["columns"].items():
            col["lower"], col["upper"] = units[kept.index(c)]
    if "groups" in pipe.named_steps:
        model.reduction_ = pipe.named_steps["groups"].describe(kept)
    summary["outliers"] = model.outliers_
    summary["reduction"] = model.reduction_
