"""Preprocessing as one fitted scikit-learn transformer that is part of the model.

Numeric features: imputation (median or most frequent) -> optional clipping at quantiles ->
``log1p`` of strongly skewed non-negative columns -> scaling (standard, robust, min-max or
none).  Categorical features (only when asked to segment on them): most-frequent imputation
-> one-hot encoding.  :func:`plan_preprocessing` decides, from the data, what each step will
do and says so; :func:`build_preprocessor` turns the plan into a ``ColumnTransformer``.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"income": [10.0, 12, 11, 400, 13, 9, 15, 14],
...                    "age": [20.0, 30, 40, 50, 60, 25, None, 35]})
>>> plan = plan_preprocessing(df, ["income", "age"], [])
>>> plan.log_columns
['income']
>>> Z = build_preprocessor(plan).fit_transform(df)
>>> Z.shape
(8, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from custseg.errors import UsageError
from custseg.summary import PreprocessingDoc

IMPUTE_CHOICES = ("median", "most_frequent", "drop")
SCALING_CHOICES = ("standard", "robust", "minmax", "none")
#: Sample skewness above which a non-negative column is log-transformed (``log="auto"``).
SKEW_THRESHOLD = 1.0


def wants_log(minimum: float, skewness: float) -> bool:
    """The rule of ``log="auto"``: a column is log-transformed when its values are
    non-negative and their skewness is above :data:`SKEW_THRESHOLD`.

    >>> wants_log(0.0, 1.5), wants_log(-1.0, 3.0), wants_log(2.0, 0.4)
    (True, False, False)
    """
    return minimum >= 0 and skewness > SKEW_THRESHOLD


def wants_signed_log(minimum: float, abs_skewness: float) -> bool:
    """The rule of ``log="auto"`` for an amount that can be negative (a money column,
    :func:`custseg.roles.money_columns`): put on a signed log scale (:class:`SignedLog`)
    when some values are negative and the skewness of the absolute values is above
    :data:`SKEW_THRESHOLD` (a column :func:`wants_log` takes is logged instead).

    >>> wants_signed_log(-50.0, 2.5), wants_signed_log(0.0, 2.5), wants_signed_log(-5.0, 0.3)
    (True, False, False)
    """
    return minimum < 0 and abs_skewness > SKEW_THRESHOLD


def sample_skewness(population_skewness: float, n: int) -> float:
    """The skewness :func:`plan_preprocessing` measures (pandas' adjusted sample skewness)
    from the population skewness ``g1`` of ``n`` values (``n >= 3``), as engines that
    aggregate moments (Spark's ``skewness``) compute it.

    >>> import pandas as pd, scipy.stats
    >>> x = [1.0, 2.0, 2.0, 3.0, 10.0]
    >>> bool(abs(sample_skewness(scipy.stats.skew(x), 5) - pd.Series(x).skew()) < 1e-12)
    True
    """
    n = int(n)
    return float(population_skewness) * float(np.sqrt(n * (n - 1))) / (n - 2)


class QuantileClipper(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip each column to its ``[q, 1 - q]`` quantiles learned at fit time.

    >>> import numpy as np
    >>> QuantileClipper(0.1).fit_transform(np.arange(11.0).reshape(-1, 1)).ravel()
    array([1., 1., 2., 3., 4., 5., 6., 7., 8., 9., 9.])
    """

    def __init__(self, quantile: float = 0.01) -> None:
        self.quantile = quantile

    def fit(self, X: Any, y: Any = None) -> QuantileClipper:
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        q = float(self.quantile)
        self.lower_ = np.nanquantile(X, q, axis=0)
        self.upper_ = np.nanquantile(X, 1 - q, axis=0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return np.clip(X, self.lower_, self.upper_)


def _column_mask(columns: Sequence[bool] | Sequence[int] | None, n_features: int
                 ) -> np.ndarray:
    """A boolean mask of ``n_features`` columns from a mask or from column indices."""
    mask = np.zeros(n_features, dtype=bool)
    if columns is not None and len(columns):
        cols = np.asarray(columns)
        if cols.dtype == bool:
            mask[: len(cols)] = cols[:n_features]
        else:
            mask[cols] = True
    return mask


class SelectiveLog1p(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """``log1p`` of the columns flagged in ``columns`` (a boolean mask or indices).

    Negative values in those columns (possible in new data only) are clipped at 0 first.

    >>> import numpy as np
    >>> SelectiveLog1p([True, False]).fit_transform(np.array([[0.0, 5.0], [np.e - 1, 5.0]]))
    array([[0., 5.],
           [1., 5.]])
    """

    def __init__(self, columns: Sequence[bool] | Sequence[int] | None = None) -> None:
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> SelectiveLog1p:
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        self.mask_ = _column_mask(self.columns, X.shape[1])
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", copy=True)
        X = X.astype(np.float64, copy=False)
        X[:, self.mask_] = np.log1p(np.clip(X[:, self.mask_], 0, None))
        return X

    def inverse_transform(self, X: Any) -> np.ndarray:
        X = np.array(X, dtype=np.float64, copy=True)
        X[:, self.mask_] = np.expm1(X[:, self.mask_])
        return X


class SignedLog(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """``asinh(x / s)`` of the flagged columns: a log scale for amounts that can be negative
    (a balance), linear within ``±s`` (``s``: the median absolute value, learned in fit).

    >>> import numpy as np
    >>> Z = SignedLog([True]).fit_transform(np.array([[-100.0], [1.0], [10.0], [1000.0]]))
    >>> [round(float(v), 2) for v in Z.ravel()]
    [-1.36, 0.02, 0.18, 3.59]
    """

    def __init__(self, columns: Sequence[bool] | None = None) -> None:
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> SignedLog:
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        self.mask_ = mask = _column_mask(self.columns, X.shape[1])
        scale = np.ones(X.shape[1])
        for j in np.flatnonzero(mask):
            a = np.abs(X[:, j])
            a = a[np.isfinite(a) & (a > 0)]
            scale[j] = float(np.median(a)) if len(a) else 1.0
        self.scale_ = scale
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", copy=True)
        X = X.astype(np.float64, copy=False)
        X[:, self.mask_] = np.arcsinh(X[:, self.mask_] / self.scale_[self.mask_])
        return X


#: Tukey's "far out" fences: values beyond Q1 - 3 IQR or Q3 + 3 IQR are outliers.
FENCE_IQR = 3.0
#: How outliers are found, as the summary says (``outliers.method``).
FENCE_METHOD = ("Tukey's far-out fences (Q1 - 3 IQR, Q3 + 3 IQR) on the fitted scale "
                "(after the log)")
#: The quantiles the fences are drawn from (Q1 and Q3; the 5-95% range when the IQR is 0).
FENCE_QUANTILES = (0.05, 0.25, 0.75, 0.95)
#: A fence cutting off more than this share of the customers on its side is not applied.
FENCE_MAX_SHARE = 0.02


def fences_from_quantiles(quantiles: Sequence[float], iqr_multiple: float = FENCE_IQR
                          ) -> tuple[float, float] | None:
    """The far-out fences ``(Q1 - m IQR, Q3 + m IQR)`` of a column from its
    :data:`FENCE_QUANTILES` (5%, 25%, 75%, 95%); when the IQR is 0, half the 5-95% range
    stands in for it; None for a column with no spread.

    >>> fences_from_quantiles([0.0, 1.0, 3.0, 4.0])
    (-5.0, 9.0)
    >>> fences_from_quantiles([2.0, 2.0, 2.0, 2.0]) is None
    True
    """
    q05, q1, q3, q95 = quantiles
    spread = q3 - q1 if q3 > q1 else (q95 - q05) / 2
    if spread <= 0:
        return None
    return q1 - iqr_multiple * spread, q3 + iqr_multiple * spread


def fence_applies(share_beyond: float, max_share: float = FENCE_MAX_SHARE) -> bool:
    """Whether a fence is applied: outliers are rare, so a fence beyond which lies more than
    ``max_share`` of the customers marks a group, not outliers.

    >>> fence_applies(0.01), fence_applies(0.1)
    (True, False)
    """
    return bool(share_beyond <= max_share)


class RobustFences(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Winsorise each column at Tukey's far-out fences (Q1 - 3 IQR, Q3 + 3 IQR) learned in
    fit, so that outliers are kept but do not pull the segment centres.

    When the IQR is 0 (a column mostly one value), the 5-95% range stands in for it; a
    column with no spread at all is left as it is.  Outliers are rare by definition: a fence
    that would cut off more than ``max_share`` of the customers on its side (a mass of zeros
    below a log-scaled amount, say) marks a group, not outliers, and is not applied.

    >>> import numpy as np
    >>> X = np.append(np.arange(1.0, 100.0), 1000.0).reshape(-1, 1)
    >>> f = RobustFences().fit(X)
    >>> float(f.upper_[0]), float(f.transform(X).ravel()[-1])
    (223.75, 223.75)
    """

    def __init__(self, iqr_multiple: float = FENCE_IQR, max_share: float = FENCE_MAX_SHARE
                 ) -> None:
        self.iqr_multiple = iqr_multiple
        self.max_share = max_share

    def fit(self, X: Any, y: Any = None) -> RobustFences:
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        lower = np.full(X.shape[1], -np.inf)
        upper = np.full(X.shape[1], np.inf)
        for j in range(X.shape[1]):
            v = X[:, j]
            v = v[np.isfinite(v)]
            if len(v) < 4:
                continue
            fences = fences_from_quantiles(np.quantile(v, FENCE_QUANTILES), self.iqr_multiple)
            if fences is None:
                continue
            lo, hi = fences
            if fence_applies(np.mean(v < lo), self.max_share):
                lower[j] = lo
            if fence_applies(np.mean(v > hi), self.max_share):
                upper[j] = hi
        self.lower_, self.upper_ = lower, upper
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return np.clip(X, self.lower_, self.upper_)

    def outside(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Which values of ``X`` (on the scale the fences were learned on) are below the
        lower fence, and which above the upper one: the outliers.

        >>> import numpy as np
        >>> X = np.append(np.arange(1.0, 100.0), 1000.0).reshape(-1, 1)
        >>> low, high = RobustFences().fit(X).outside(X)
        >>> int(low.sum()), np.flatnonzero(high[:, 0]).tolist()
        (0, [99])
        """
        check_is_fitted(self)
        values = np.asarray(X, dtype=np.float64)
        return values < self.lower_, values > self.upper_


def fences_in_units(pipeline: Any) -> list[tuple[float | None, float | None]]:
    """The fences of a fitted numeric pipeline's ``fences`` step (:func:`build_preprocessor`)
    in each column's own units (the log or signed log undone; None: no fence on that side),
    rounded to 6 decimals.

    >>> import numpy as np
    >>> from sklearn.pipeline import Pipeline
    >>> X = np.append(np.arange(1.0, 100.0), 1000.0).reshape(-1, 1)
    >>> fences_in_units(Pipeline([("fences", RobustFences())]).fit(X))
    [(-122.75, 223.75)]
    """
    names = [name for name, _ in pipeline.steps]
    cut = names.index("fences")
    fences = pipeline.steps[cut][1]
    steps = dict(pipeline.steps[:cut])
    out = []
    for j in range(len(fences.lower_)):
        pair: list[float | None] = []
        for v in (fences.lower_[j], fences.upper_[j]):
            if not np.isfinite(v):
                pair.append(None)
                continue
            if "signed_log" in steps and steps["signed_log"].mask_[j]:
                v = float(np.sinh(v) * steps["signed_log"].scale_[j])
            if "log" in steps and steps["log"].mask_[j]:
                v = float(np.expm1(v))
            pair.append(round(float(v), 6))
        out.append((pair[0], pair[1]))
    return out


#: Features whose |correlation| reaches this are one group (average linkage).
GROUP_R = 0.7


def groups_from_correlation(corr: np.ndarray, threshold: float = GROUP_R
                            ) -> tuple[list[list[int]], np.ndarray]:
    """The groups of features that move together, from their correlation matrix (NaN: 0),
    and each feature's weight: the members of a group of ``m`` (mean |r| >= ``threshold``,
    average linkage) weigh ``1 / sqrt(m)``, the others 1.

    >>> groups_from_correlation(np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.0], [0.1, 0.0, 1.0]]))
    ([[0, 1]], array([0.70710678, 0.70710678, 1.        ]))
    """
    d = corr.shape[0]
    weights = np.ones(d)
    groups: list[list[int]] = []
    if d >= 2:
        corr = np.nan_to_num(np.abs(corr), nan=0.0)
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import squareform

        dist = np.clip(1.0 - corr, 0.0, None)
        np.fill_diagonal(dist, 0.0)
        tree = linkage(squareform(dist, checks=False), method="average")
        ids = fcluster(tree, t=1.0 - threshold, criterion="distance")
        for g in np.unique(ids):
            members = [int(j) for j in np.flatnonzero(ids == g)]
            if len(members) > 1:
                groups.append(members)
                weights[members] = 1.0 / np.sqrt(len(members))
    return sorted(groups), weights


class FeatureGroupWeights(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Weight scaled features so that a group of features that move together counts as
    one: each member of a group of ``m`` (mean |r| >= ``threshold``, average linkage) is
    multiplied by ``1 / sqrt(m)``, so the group adds as much to a distance as one feature.

    Six monthly bill amounts then weigh as one "bill amount", not six times any other
    trait, and the segments are not all cut along the block that repeats itself.

    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> a = rng.normal(size=200)
    >>> X = np.column_stack([a, a + 0.01 * rng.normal(size=200), rng.normal(size=200)])
    >>> w = FeatureGroupWeights().fit(X)
    >>> w.groups_, [round(float(v), 3) for v in w.weights_]
    ([[0, 1]], [0.707, 0.707, 1.0])
    """

    def __init__(self, threshold: float = GROUP_R) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> FeatureGroupWeights:
        X = validate_data(self, X, ensure_all_finite="allow-nan")
        d = X.shape[1]
        corr = np.eye(d)
        if d >= 2:
            S = X
            if len(S) > 20_000:
                S = S[np.random.RandomState(0).choice(len(S), 20_000, replace=False)]
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = np.corrcoef(S, rowvar=False)
        self.groups_, self.weights_ = groups_from_correlation(corr, self.threshold)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return X * self.weights_

    def describe(self, names: Sequence[str]) -> dict[str, Any]:
        """The groups found, for the summary's ``reduction`` (``names``: the columns).

        >>> import numpy as np
        >>> a = np.arange(50.0)
        >>> FeatureGroupWeights().fit(np.column_stack([a, a ** 1.1, np.sin(a)])).describe(
        ...     ["x", "y", "z"])["groups"]
        [{'features': ['x', 'y'], 'weight': 0.7071}]
        """
        check_is_fitted(self)
        return {
            "method": "feature groups",
            "groups": [{"features": [names[j] for j in g],
                        "weight": round(float(self.weights_[g[0]]), 4)} for g in self.groups_],
            "threshold": float(self.threshold),
            "effective_features": round(float(
                sum(1 for j in range(len(names)) if not any(j in g for g in self.groups_))
                + len(self.groups_)), 4),
        }


class ScaleBy(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Multiply every column by ``factor`` (one-hot categories weighted against numbers).

    >>> import numpy as np
    >>> ScaleBy(0.5).fit_transform(np.array([[1.0, 0.0]]))
    array([[0.5, 0. ]])
    """

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = factor

    def fit(self, X: Any, y: Any = None) -> ScaleBy:
        validate_data(self, X, ensure_all_finite="allow-nan")
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return X * float(self.factor)


@dataclass
class PreprocessPlan:
    """What preprocessing will do, decided from the data before fitting."""

    numeric: list[str]
    categorical: list[str]
    impute: str = "median"
    clip: float | None = None
    log_columns: list[str] = field(default_factory=list)
    skewness: dict[str, float] = field(default_factory=dict)
    scaling: str = "standard"
    #: "onehot" (default), or "ordinal" integer codes for k-prototypes.
    categorical_encoding: str = "onehot"
    #: Amounts that can be negative, put on a log scale by ``asinh(x / s)``.
    signed_log_columns: list[str] = field(default_factory=list)
    #: Winsorise at Tukey's far-out fences (after the log, before scaling).
    winsorize: bool = False
    #: Weight groups of correlated features as one (|r| at or above this); None: off.
    group_threshold: float | None = None
    #: One-hot columns multiplied by this (1 / sqrt(2): two customers in different
    #: categories are as far apart as one standard deviation).
    category_weight: float = 1.0

    def to_dict(self) -> PreprocessingDoc:
        return cast(PreprocessingDoc, asdict(self))


def plan_preprocessing(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    impute: str = "median",
    clip: float | None = None,
    log: str | Sequence[str] = "auto",
    scaling: str = "standard",
    signed_log: Sequence[str] = (),
    winsorize: bool = False,
    group_threshold: float | None = None,
    category_weight: float = 1.0,
) -> PreprocessPlan:
    """Decide the preprocessing from the data.

    Parameters
    ----------
    frame : DataFrame
        Typed data (numeric columns as floats).
    numeric, categorical : list of str
        Feature columns.
    impute : {"median", "most_frequent", "drop"}
        How missing numeric values are filled (``drop``: rows are dropped before fitting;
        new customers are still filled with the median when scored).
    clip : float or None
        Clip numeric features to the ``[clip, 1 - clip]`` quantiles (e.g. 0.01).
    log : "auto", "none" or list of str
        ``auto`` log-transforms non-negative columns with skewness above 1.
    scaling : {"standard", "robust", "minmax", "none"}
    signed_log : list of str
        Amounts that can be negative: ``asinh(x / s)`` (when ``log`` is not ``"none"`` and
        the column is skewed, skewness of the absolute values above 1).
    winsorize : bool
        Clip at Tukey's far-out fences for fitting (:class:`RobustFences`).
    group_threshold : float or None
        Weight groups of correlated features as one (:class:`FeatureGroupWeights`).
    category_weight : float
        Weight of each one-hot column.
    """
    _check_plan_options(impute, scaling, clip)
    numeric = list(numeric)
    skewness: dict[str, float] = {}
    signed_cols: list[str] = []
    if isinstance(log, str):
        if log not in ("auto", "none"):
            raise UsageError(f"log must be 'auto', 'none' or a list of columns, got {log!r}",
                             "log")
        log_cols, skewness, signed_cols = _skewed_columns(frame, numeric, clip, log == "auto",
                                                          signed_log)
    else:
        log_cols = list(log)
        unknown = [c for c in log_cols if c not in numeric]
        if unknown:
            raise UsageError(f"log: {unknown} are not numeric features ({numeric})", "log")
    return PreprocessPlan(numeric, list(categorical), impute, clip, log_cols, skewness, scaling,
                          signed_log_columns=signed_cols, winsorize=winsorize,
                          group_threshold=group_threshold, category_weight=category_weight)


def _check_plan_options(impute: str, scaling: str, clip: float | None) -> None:
    """Refuse an unknown imputation or scaling, and a clip quantile outside (0, 0.5)."""
    if impute not in IMPUTE_CHOICES:
        raise UsageError(f"impute must be one of {IMPUTE_CHOICES}, got {impute!r}", "impute")
    if scaling not in SCALING_CHOICES:
        raise UsageError(f"scaling must be one of {SCALING_CHOICES}, got {scaling!r}",
                         "scaling")
    if clip is not None and not 0 < clip < 0.5:
        raise UsageError(f"clip must be a quantile between 0 and 0.5, got {clip!r}", "clip")


def _skewed_columns(frame: pd.DataFrame, numeric: Sequence[str], clip: float | None,
                    auto: bool, signed_log: Sequence[str]
                    ) -> tuple[list[str], dict[str, float], list[str]]:
    """The skewness of each numeric column (clipped first when asked), and, when ``auto``,
    the columns put on a log scale and the amounts put on a signed log scale."""
    log_cols: list[str] = []
    skewness: dict[str, float] = {}
    signed_cols: list[str] = []
    for col in numeric:
        values = frame[col].to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if clip is not None and len(values):
            lo, hi = np.quantile(values, [clip, 1 - clip])
            values = np.clip(values, lo, hi)
        if len(values) < 3 or np.ptp(values) == 0:
            continue
        skew = float(pd.Series(values).skew())
        skewness[col] = round(skew, 4)
        if auto and wants_log(float(values.min()), skew):
            log_cols.append(col)
        elif (auto and col in signed_log
              and wants_signed_log(float(values.min()),
                                   float(pd.Series(np.abs(values)).skew()))):
            signed_cols.append(col)
    return log_cols, skewness, signed_cols


def _scaler(name: str) -> Any:
    return {
        "standard": StandardScaler(),
        "robust": RobustScaler(),
        "minmax": MinMaxScaler(),
        "none": "passthrough",
    }[name]


def build_preprocessor(plan: PreprocessPlan) -> ColumnTransformer:
    """An unfitted ``ColumnTransformer`` carrying out ``plan``; output columns are the
    numeric features in order, then the one-hot columns."""
    steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy="most_frequent" if plan.impute == "most_frequent"
                                 else "median")),
    ]
    if plan.clip is not None:
        steps.append(("clip", QuantileClipper(plan.clip)))
    if plan.log_columns:
        steps.append(("log", SelectiveLog1p([c in plan.log_columns for c in plan.numeric])))
    if plan.signed_log_columns:
        steps.append(("signed_log", SignedLog([c in plan.signed_log_columns
                                               for c in plan.numeric])))
    if plan.winsorize:
        steps.append(("fences", RobustFences()))
    steps.append(("scale", _scaler(plan.scaling)))
    if plan.group_threshold is not None and len(plan.numeric) > 1:
        steps.append(("groups", FeatureGroupWeights(plan.group_threshold)))
    transformers: list[tuple[str, Any, list[str]]] = []
    if plan.numeric:
        transformers.append(("numeric", Pipeline(steps), plan.numeric))
    if plan.categorical:
        encoder = (
            ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1))
            if plan.categorical_encoding == "ordinal"
            else ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))
        )
        cat_steps: list[tuple[str, Any]] = [
            ("impute", SimpleImputer(strategy="most_frequent")), encoder]
        if plan.categorical_encoding != "ordinal" and plan.category_weight != 1.0:
            cat_steps.append(("weight", ScaleBy(plan.category_weight)))
        transformers.append(("categorical", Pipeline(cat_steps), plan.categorical))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
