"""Property tests: whatever the table, custseg either segments it or says what is wrong with
a custseg error; it never fails with another exception."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import custseg
from custseg.errors import CustsegError, InputFileError
from custseg.io import read_table

JUNK = ["12k", "abc", "?", "n/a", "NA", "", " ", "-", "1,5", " 7 ", "1e3", "inf", "-inf",
        "nan", "€12", "0001", "TRUE"]
TEXT = ["Male", "Female", "Paris", "Lyon", "CS1112", "2021-03-04", "a b c", "é£"]

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
extreme = st.floats(allow_nan=False, allow_infinity=False)  # up to ±1.8e308, subnormals
number_text = finite.map(lambda v: f"{v:.3f}")
text_cell = st.one_of(st.sampled_from(TEXT), st.text(max_size=6))
# plain numbers are the most likely, so that many tables can be segmented
KINDS = ["floats"] * 4 + ["integers"] * 2 + ["floats-nan-inf", "constant", "junk", "text",
                                              "codes", "all-missing", "bool"]


@st.composite
def _sprinkled(draw: st.DrawFn, n: int, base: st.SearchStrategy, odd: st.SearchStrategy
               ) -> list:
    """n cells from ``base`` with a few (sometimes none, sometimes many) from ``odd``."""
    cells = draw(st.lists(base, min_size=n, max_size=n))
    n_odd = draw(st.sampled_from([0, 0, 1, 2, max(1, n // 20), n // 4, n // 2]))
    for i in draw(st.lists(st.integers(0, n - 1), min_size=n_odd, max_size=n_odd)):
        cells[i] = draw(odd)
    return cells


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(5, 60))
    n_cols = draw(st.integers(1, 5))
    columns: dict[str, object] = {}
    for j in range(n_cols):
        kind = draw(st.sampled_from(KINDS))
        name = f"{kind} {j}"
        if kind == "floats":
            columns[name] = draw(_sprinkled(n, finite, st.one_of(st.just(math.nan),
                                                                 st.just(math.nan), extreme)))
        elif kind == "floats-nan-inf":
            columns[name] = draw(_sprinkled(n, finite, st.sampled_from(
                [math.nan, math.nan, math.inf, -math.inf])))
        elif kind == "constant":
            value = draw(st.one_of(finite, st.sampled_from(["5", "x"])))
            columns[name] = [value] * n
        elif kind == "junk":
            columns[name] = draw(_sprinkled(n, number_text, st.sampled_from(JUNK)))
        elif kind == "text":
            columns[name] = draw(st.lists(text_cell, min_size=n, max_size=n))
        elif kind == "codes":
            columns[name] = draw(st.lists(st.sampled_from([1, 2, 3]), min_size=n, max_size=n))
        elif kind == "integers":
            columns[name] = draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n))
        elif kind == "all-missing":
            columns[name] = [draw(st.sampled_from([math.nan, None, "", "?"]))] * n
        else:
            columns[name] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return pd.DataFrame(columns)


def _check_fit(df: pd.DataFrame, segmenter: custseg.Segmenter, k_values: range) -> None:
    before = df.copy(deep=True)
    try:
        segmenter.fit(df)
    except CustsegError as exc:
        event(f"refused: {type(exc).__name__}")
        return
    finally:
        pd.testing.assert_frame_equal(df, before)  # the input is never modified
    event("segmented")
    labels = np.asarray(segmenter.labels_)
    assert labels.shape == (len(df),)
    assert segmenter.k_ in k_values
    assert labels.min() >= -1
    assert labels.max() <= segmenter.k_ - 1
    assert set(labels[labels >= 0]) <= set(range(segmenter.k_))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_fixed_k_segments_or_raises_a_custseg_error(df):
    _check_fit(df, custseg.Segmenter(k=2, random_state=0), range(2, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_auto_k_segments_or_raises_a_custseg_error(df):
    _check_fit(df, custseg.Segmenter(k="auto", k_range=(2, 4), random_state=0), range(2, 5))


def test_strategy_reaches_both_outcomes():
    """The property tests mean something only if both outcomes happen: check one table of
    each kind by hand."""
    good = pd.DataFrame({"a": np.arange(20.0) % 7, "b": np.arange(20.0) ** 1.5})
    seg = custseg.Segmenter(k=2, random_state=0).fit(good)
    assert sorted(set(seg.labels_)) == [0, 1]
    bad = pd.DataFrame({"a": ["12k"] * 10 + ["1"] * 10, "b": np.arange(20.0)})
    with pytest.raises(CustsegError):
        custseg.Segmenter(k=2, random_state=0).fit(bad)


# ------------------------------------------------------------------ reading random text

csv_text = st.lists(
    st.sampled_from([*"ab1290.,;\t|\"' \n\r-?é£", "12k", "NA", "inf", "\r\n", ",,"]),
    max_size=120,
).map("".join)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_text, encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
def test_read_table_returns_a_table_or_an_input_error(tmp_path, text, encoding):
    path = tmp_path / "random.csv"
    path.write_bytes(text.encode(encoding))
    try:
        df, info = read_table(path)
    except InputFileError as exc:
        assert exc.exit_code == 3
        return
    assert isinstance(df, pd.DataFrame)
    assert len(df) >= 1 and df.shape[1] >= 1
    assert (info.n_rows, info.n_columns) == df.shape
    assert all(isinstance(c, str) for c in df.columns)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_read_table_on_random_bytes(tmp_path, raw):
    path = tmp_path / "random.csv"
    path.write_bytes(raw)
    try:
        df, _ = read_table(path)
    except InputFileError:
        return
    assert isinstance(df, pd.DataFrame) and len(df) >= 1
