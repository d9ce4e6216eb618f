"""What the Spark engine returns: the fitted model's numbers (:class:`SparkModel`), the result
(:class:`SparkSegmentation`), and the bundle's :class:`~custseg.segmenter.Segmenter` built
from Spark's fitted preprocessing (:func:`spark_segmenter`) (:mod:`custseg.engines.spark`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg.errors import Problem

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

    from custseg.explore import DataOverview, SegmentViews
    from custseg.pipeline import SegmentationResult
    from custseg.preprocess import PreprocessPlan
    from custseg.profiling import SegmentProfile
    from custseg.segmenter import Segmenter
    from custseg.summary import Summary


# ----------------------------------------------------------------------------- result
@dataclass
class SparkModel:
    """What the report needs of a fitted model: the profiles table and the parameters."""

    profiles_: pd.DataFrame
    params: dict[str, Any]
    model_: Any = None

    def get_params(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass
class SparkSegmentation:
    """Everything a Spark run produced.

    Attributes
    ----------
    assignments : pyspark.sql.DataFrame
        One row a customer (exact duplicate rows dropped): the id column (or ``row``), the
        input columns as read, ``segment`` (0 = largest), ``segment_name``, ``distance``
        (to the segment's centre, scaled units).  Lazy, cached; bound to ``spark``.
    summary : dict
        The ``summary.json`` document.
    segments : list of SegmentProfile
        Profiles, names and recommendations, largest segment first.
    profiles : DataFrame
        ``profiles.csv``.
    sample : DataFrame
        The customers collected to the driver for the report: key, typed features and
        describing columns, ``segment``.
    views, overview
        The report's numbers (drawn from ``sample`` and the Spark aggregates).
    model : Segmenter
        The fitted model as a :class:`~custseg.segmenter.Segmenter` (:func:`spark_segmenter`):
        ``model.predict`` assigns customers as Spark did; ``model/`` is its bundle.
    """

    spark: Any
    assignments: Any
    summary: Summary
    segments: list[SegmentProfile]
    profiles: pd.DataFrame
    sample: pd.DataFrame
    views: SegmentViews
    overview: DataOverview
    params: dict[str, Any]
    model: Segmenter | None = None
    cached: list[Any] = field(default_factory=list, repr=False)

    def report_result(self) -> SegmentationResult:
        """The result as :func:`custseg.report.render_report` takes it."""
        from custseg.io import TableInfo
        from custseg.pipeline import SegmentationResult

        inp = self.summary["input"]
        info = TableInfo(inp["path"], inp["format"], inp["rows"], inp["columns"],
                         self.summary["input_sha256"], inp["encoding"], inp["delimiter"])
        model = SparkModel(self.profiles, self.params)
        return SegmentationResult(self.sample, info, model, self.sample,  # type: ignore[arg-type]
                                  self.summary, self.views.points, self.summary["command"],
                                  self.summary["timings"], self.overview, self.views)

    def unpersist(self) -> None:
        """Release the cached DataFrames."""
        for df in self.cached:
            df.unpersist()
        self.cached.clear()


@dataclass
class SparkPreprocessing:
    """The parameters Spark fitted in the preprocessing, one value a feature, in order.

    Attributes
    ----------
    medians : ndarray
        The ``Imputer``'s medians (relative error :data:`IMPUTER_RELATIVE_ERROR`).
    lower, upper : ndarray or None
        Clipping bounds (the ``[clip, 1 - clip]`` quantiles of the imputed values), or None
        without clipping.
    mean, std : ndarray
        ``StandardScaler``'s mean and standard deviation (the sample one, ddof = 1) of the
        imputed, clipped, log-transformed values.
    n : int
        Customers they were fitted on.
    fence_lower, fence_upper : ndarray or None
        The far-out fences winsorised at (after the log; ``-inf``/``inf`` where none is
        applied), or None when the plan does not winsorise.
    weights : ndarray or None
        The feature-group weights (after scaling), or None with fewer than two features.
    groups : list of list of int
        The groups of correlated features (indices).
    signed_scale : ndarray or None
        The signed log's scale of each feature (``SignedLog.scale_``: the median non-zero
        absolute value where the plan takes the signed log, 1 elsewhere), or None when the
        plan takes none.
    """

    medians: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    mean: np.ndarray
    std: np.ndarray
    n: int
    fence_lower: np.ndarray | None = None
    fence_upper: np.ndarray | None = None
    weights: np.ndarray | None = None
    groups: list[list[int]] = field(default_factory=list)
    signed_scale: np.ndarray | None = None


def _give(steps: dict[str, Any], step: str, does: str, what: str, **values: Any) -> None:
    """Set Spark's fitted ``values`` (float arrays) on the plan's ``step`` when it has one;
    a step without Spark's values is an error."""
    if step not in steps:
        return
    if any(v is None for v in values.values()):
        raise ValueError(f"the plan {does}, but Spark's {what} are missing")
    for attr, value in values.items():
        setattr(steps[step], attr, np.asarray(value, dtype=np.float64))


def sklearn_preprocessor(plan: PreprocessPlan, fitted: SparkPreprocessing,
                         sample: pd.DataFrame) -> ColumnTransformer:
    """Spark's fitted preprocessing as the local engine's scikit-learn transformer.

    :func:`custseg.preprocess.build_preprocessor` of ``plan`` is fitted on ``sample`` (the
    customers collected to the driver, features in original units; its missing cells
    filled with Spark's medians, so that no column is empty), then given Spark's own fitted
    values: the medians as ``SimpleImputer.statistics_``, the clipping bounds as
    ``QuantileClipper.lower_``/``upper_``, the signed log's scales as
    ``SignedLog.scale_``, the scaler's mean and *sample* standard deviation as
    ``StandardScaler.mean_``, ``scale_`` and ``var_`` (``scale_`` 1 where the deviation is
    0, as scikit-learn's), the fences as ``RobustFences.lower_``/``upper_`` and the group
    weights as ``FeatureGroupWeights.weights_``/``groups_``.  Its output equals
    Spark's scaled features up to floating-point rounding.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from custseg.preprocess import PreprocessPlan
    >>> plan = PreprocessPlan(["a", "b"], [], log_columns=["b"])
    >>> fitted = SparkPreprocessing(np.array([2.0, 1.0]), None, None,
    ...                             np.array([2.0, 1.0]), np.array([1.0, 0.5]), 3)
    >>> pre = sklearn_preprocessor(plan, fitted, pd.DataFrame({"a": [1.0, 2, 3],
    ...                                                        "b": [0.0, np.e - 1, None]}))
    >>> pre.transform(pd.DataFrame({"a": [4.0, None], "b": [np.e - 1, 0.0]})).tolist()
    [[2.0, 0.0], [0.0, -2.0]]
    """
    from custseg.preprocess import build_preprocessor

    features = list(plan.numeric)
    medians = np.asarray(fitted.medians, dtype=np.float64)
    frame = sample[features].astype(np.float64).fillna(dict(zip(features, medians,
                                                                 strict=True)))
    pre = build_preprocessor(plan).fit(frame)
    steps = pre.named_transformers_["numeric"].named_steps
    steps["impute"].statistics_ = medians
    _give(steps, "clip", "clips", "clipping bounds", lower_=fitted.lower, upper_=fitted.upper)
    _give(steps, "signed_log", "takes the signed log", "scales", scale_=fitted.signed_scale)
    _give(steps, "fences", "winsorises", "fences", lower_=fitted.fence_lower,
          upper_=fitted.fence_upper)
    std = np.asarray(fitted.std, dtype=np.float64)
    scaler = steps["scale"]
    scaler.mean_ = np.asarray(fitted.mean, dtype=np.float64)
    scaler.var_ = std ** 2
    scaler.scale_ = np.where(std > 0, std, 1.0)
    scaler.n_samples_seen_ = int(fitted.n)
    if "groups" in steps:
        if fitted.weights is None:
            raise ValueError("the plan weights feature groups, but Spark's weights are missing")
        steps["groups"].weights_ = np.asarray(fitted.weights, dtype=np.float64)
        steps["groups"].groups_ = [list(g) for g in fitted.groups]
    return pre


def spark_segmenter(result: SparkSegmentation, *, columns: Sequence[str], roles: Any,
                    plan: PreprocessPlan, fitted: SparkPreprocessing, selection: Any,
                    centres: np.ndarray, quality: dict[str, Any], cleaning: dict[str, Any],
                    warnings: list[Problem]) -> Segmenter:
    """The Spark run's model as a fitted :class:`~custseg.segmenter.Segmenter` (assembled by
    :func:`custseg.segmenter.segmenter_from_parts`, as the local engine's fast path does).

    Its preprocessing is :func:`sklearn_preprocessor` (Spark's fitted parameters), its
    ``cluster_centers_`` Spark's final centres in that scaled space (segment 0, the largest,
    first), so ``predict`` gives every customer the segment Spark gave (the nearest centre,
    the first on a tie).  ``result.sample``'s scaled features are checked against Spark's:
    a disagreement beyond rounding is a bug and raises ``RuntimeError``.
    """
    from custseg.segmenter import Segmenter, segmenter_from_parts
    from custseg.selection import KScore

    kept = list(plan.numeric)
    preprocessor = sklearn_preprocessor(plan, fitted, result.sample)
    if len(result.sample):
        ours = np.asarray(preprocessor.transform(result.sample[kept].astype(np.float64)),
                          dtype=np.float64)
        theirs = np.vstack(result.sample["__x"].to_numpy())
        if not np.allclose(ours, theirs, rtol=1e-9, atol=1e-9):
            worst = float(np.abs(ours - theirs).max())
            raise RuntimeError(f"the model's preprocessing disagrees with Spark's (by up to "
                               f"{worst:g} scaled units)")
    allowed = Segmenter().get_params()
    params = {key: value for key, value in result.params.items() if key in allowed}
    silhouette = quality.get("silhouette")
    final = KScore(k=len(centres), inertia=float(quality["inertia"]),
                   silhouette=float("nan") if silhouette is None else float(silhouette),
                   calinski_harabasz=float(quality["calinski_harabasz"]),
                   davies_bouldin=float(quality["davies_bouldin"]))
    return segmenter_from_parts(
        params, columns=columns, roles=roles, features=kept, plan=plan,
        preprocessor=preprocessor, k_selection=selection, cluster_centers=centres,
        segments=result.segments, profiles=result.profiles, cleaning=cleaning,
        warnings=warnings, inertia=float(quality["inertia"]), final_scores=final)
