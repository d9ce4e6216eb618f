"""Preprocessing plan and pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.errors import UsageError
from custseg.preprocess import (
    QuantileClipper,
    SelectiveLog1p,
    build_preprocessor,
    plan_preprocessing,
)


@pytest.fixture
def frame():
    rng = np.random.RandomState(0)
    return pd.DataFrame({
        "spend": rng.lognormal(mean=5, sigma=1.2, size=300),  # skewed, non-negative
        "age": rng.normal(40, 10, size=300),  # symmetric
        "balance": rng.lognormal(3, 1, size=300) - 30,  # skewed, has negatives
        "region": rng.choice(["north", "south", None], size=300),
    })


def test_log_applies_only_to_skewed_non_negative(frame):
    plan = plan_preprocessing(frame, ["spend", "age", "balance"], [])
    assert plan.log_columns == ["spend"]
    assert plan.skewness["spend"] > 1 and abs(plan.skewness["age"]) < 1
    assert plan_preprocessing(frame, ["spend", "age"], [], log="none").log_columns == []
    assert plan_preprocessing(frame, ["spend", "age"], [], log=["age"]).log_columns == ["age"]


@pytest.mark.parametrize("scaling", ["standard", "robust", "minmax", "none"])
def test_scalers(frame, scaling):
    plan = plan_preprocessing(frame, ["spend", "age"], [], scaling=scaling)
    Z = build_preprocessor(plan).fit_transform(frame)
    assert Z.shape == (300, 2) and np.isfinite(Z).all()
    if scaling == "standard":
        np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-9)
        np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-9)
    if scaling == "minmax":
        np.testing.assert_allclose(Z.min(axis=0), 0)
        np.testing.assert_allclose(Z.max(axis=0), 1)
    if scaling == "none":
        np.testing.assert_allclose(Z[:, 1], frame["age"])
        np.testing.assert_allclose(Z[:, 0], np.log1p(frame["spend"]))


def test_imputation_median_and_onehot(frame):
    df = frame.copy()
    df.loc[[0, 5], "age"] = np.nan
    plan = plan_preprocessing(df, ["age"], ["region"], scaling="none", log="none")
    Z = build_preprocessor(plan).fit_transform(df)
    assert Z.shape == (300, 3)  # age + 2 one-hot levels (missing imputed with the mode)
    assert Z[0, 0] == pytest.approx(df["age"].median())
    np.testing.assert_allclose(Z[:, 1:].sum(axis=1), 1)


def test_clip_bounds(frame):
    plan = plan_preprocessing(frame, ["age"], [], clip=0.05, scaling="none", log="none")
    Z = build_preprocessor(plan).fit_transform(frame)
    lo, hi = np.quantile(frame["age"], [0.05, 0.95])
    assert Z.min() == pytest.approx(lo) and Z.max() == pytest.approx(hi)


@pytest.mark.parametrize(("option", "value"), [("impute", "mean"), ("scaling", "zscore"),
                                               ("clip", 0.7), ("log", "sometimes")])
def test_bad_options_are_usage_errors(frame, option, value):
    with pytest.raises(UsageError, match=option):
        plan_preprocessing(frame, ["age"], [], **{option: value})


def test_transformers_handle_new_data():
    clip = QuantileClipper(0.1).fit(np.arange(11.0).reshape(-1, 1))
    assert clip.transform(np.array([[-5.0], [50.0]])).ravel().tolist() == [1.0, 9.0]
    log = SelectiveLog1p([True]).fit(np.array([[1.0], [2.0]]))
    out = log.transform(np.array([[-3.0], [np.e - 1]])).ravel()
    assert out[0] == 0.0 and out[1] == pytest.approx(1.0)
    np.testing.assert_allclose(log.inverse_transform(log.transform([[4.0]])), [[4.0]])
