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
from typing import Any

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

IMPUTE_CHOICES = ("median", "most_frequent", "drop")
SCALING_CHOICES = ("standard", "robust", "minmax", "none")
#: Sample skewness above which a non-negative column is log-transformed (``log="auto"``).
SKEW_THRESHOLD = 1.0


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
        mask = np.zeros(X.shape[1], dtype=bool)
        if self.columns is not None and len(self.columns):
            cols = np.asarray(self.columns)
            if cols.dtype == bool:
                mask[: len(cols)] = cols[: X.shape[1]]
            else:
                mask[cols] = True
        self.mask_ = mask
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_preprocessing(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    impute: str = "median",
    clip: float | None = None,
    log: str | Sequence[str] = "auto",
    scaling: str = "standard",
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
    """
    if impute not in IMPUTE_CHOICES:
        raise UsageError(f"impute must be one of {IMPUTE_CHOICES}, got {impute!r}", "--impute")
    if scaling not in SCALING_CHOICES:
        raise UsageError(f"scaling must be one of {SCALING_CHOICES}, got {scaling!r}",
                         "--scaling")
    if clip is not None and not 0 < clip < 0.5:
        raise UsageError(f"clip must be a quantile between 0 and 0.5, got {clip!r}", "--clip")
    numeric = list(numeric)
    skewness: dict[str, float] = {}
    if isinstance(log, str):
        if log not in ("auto", "none"):
            raise UsageError(f"log must be 'auto', 'none' or a list of columns, got {log!r}",
                             "--log")
        log_cols: list[str] = []
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
            if log == "auto" and values.min() >= 0 and skew > SKEW_THRESHOLD:
                log_cols.append(col)
    else:
        log_cols = list(log)
        unknown = [c for c in log_cols if c not in numeric]
        if unknown:
            raise UsageError(f"log: {unknown} are not numeric features ({numeric})", "--log")
    return PreprocessPlan(numeric, list(categorical), impute, clip, log_cols, skewness, scaling)


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
    steps.append(("scale", _scaler(plan.scaling)))
    transformers: list[tuple[str, Any, list[str]]] = []
    if plan.numeric:
        transformers.append(("numeric", Pipeline(steps), plan.numeric))
    if plan.categorical:
        encoder = (
            ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1))
            if plan.categorical_encoding == "ordinal"
            else ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))
        )
        transformers.append((
            "categorical",
            Pipeline([("impute", SimpleImputer(strategy="most_frequent")), encoder]),
            plan.categorical,
        ))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
