"""Wide tables (issue 13): a table with more columns than the limit is refused before any
work with a message saying what to do, the limit can be raised, and a few hundred columns
run end to end with a handful of warnings at most."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import invoke
from custseg.errors import UsageError
from custseg.pipeline import segment_file, write_outputs
from custseg.segmenter import MAX_COLUMNS, Segmenter, check_width


def wide(n_columns: int, n_rows: int, seed: int = 0) -> pd.DataFrame:
    """An id and ``n_columns`` numeric columns (amounts, counts, shares, measures) drawn
    from three groups of customers."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n_rows)
    latent = rng.normal(0, 1, (3, n_columns))[group] + rng.normal(0, 1, (n_rows, n_columns))
    data: dict[str, np.ndarray] = {"customer_id": np.arange(1, n_rows + 1)}
    for j in range(n_columns):
        x = latent[:, j]
        kind = ("spend", "orders", "return_rate", "score")[j % 4]
        if kind == "spend":
            data[f"spend_{j}"] = np.round(np.exp(3 + 0.8 * x), 2)
        elif kind == "orders":
            data[f"orders_{j}"] = rng.poisson(np.exp(1 + 0.5 * x))
        elif kind == "return_rate":
            data[f"return_rate_{j}"] = np.round(1 / (1 + np.exp(-(x - 1.5))), 4)
        else:
            data[f"score_{j}"] = np.round(50 + 10 * x, 1)
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def too_wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wide") / "wide_10000.csv"
    wide(10_000, 30).to_csv(path, index=False)
    return path


def test_limit_is_documented() -> None:
    assert MAX_COLUMNS == 2_500


@pytest.mark.parametrize("max_columns", [0, -1, 2.5, "many", True])
def test_bad_limit_is_a_usage_error(max_columns: object) -> None:
    with pytest.raises(UsageError, match="max_columns must be"):
        check_width(["a", "b"], 10, max_columns=max_columns)  # type: ignore[arg-type]


def test_ten_thousand_columns_refused_with_what_to_do(too_wide: Path) -> None:
    with pytest.raises(UsageError) as err:
        segment_file(too_wide, random_state=0)
    text = str(err.value)
    assert "10,001 columns that could be features" in text
    assert "limit of 2,500 (max_columns)" in text
    assert "Choose the columns to use (features)" in text
    assert "raise the limit (max_columns)" in text
    assert "--" not in text  # the library names parameters, not command-line options
    assert err.value.parameter == "max_columns"


def test_refused_by_the_estimator_too() -> None:
    frame = wide(40, 30)
    with pytest.raises(UsageError, match="41 columns that could be features"):
        Segmenter(max_columns=20, random_state=0).fit(frame)


def test_features_named_or_excluded_count_not_the_whole_table() -> None:
    frame = wide(40, 60)
    seg = Segmenter(k=2, features=["spend_0", "orders_1", "score_3"], max_columns=5,
                    random_state=0).fit(frame)
    assert seg.features_ == ["spend_0", "orders_1", "score_3"]
    exclude = [c for c in frame.columns if c != "customer_id"][:38]
    seg = Segmenter(k=2, exclude=exclude, max_columns=5, random_state=0).fit(frame)
    assert seg.k_ == 2


def test_the_limit_can_be_raised(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    wide(30, 80).to_csv(path, index=False)
    with pytest.raises(UsageError, match="31 columns"):
        segment_file(path, k=2, max_columns=10, random_state=0)
    result = segment_file(path, k=2, max_columns=40, random_state=0)
    assert result.summary["k"] == 2
    result = segment_file(path, k=2, max_columns=None, random_state=0)
    assert result.summary["k"] == 2


def test_cli_refuses_and_the_option_overrides(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    wide(30, 80).to_csv(path, index=False)
    res = invoke("segment", str(path), "--out", str(tmp_path / "a"), "--max-columns", "10", "-q")
    assert res.exit_code == 2
    assert "31 columns that could be features" in res.output
    res = invoke("segment", str(path), "--out", str(tmp_path / "b"), "--max-columns", "40",
                 "--k", "2", "-q")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b" / "segments.csv").exists()


def test_three_hundred_columns_end_to_end_with_few_warnings(tmp_path: Path) -> None:
    path = tmp_path / "wide_300.csv"
    wide(300, 400).to_csv(path, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        result = segment_file(path, random_state=0)
        write_outputs(result, tmp_path / "out")
    assert len(caught) <= 3, [str(w.message)[:120] for w in caught]
    assert result.summary["k"] >= 2
    assert len(result.summary["features"]) > 200
    assert "principal components" in result.summary["k_selection"]["explanation"]
    segments = pd.read_csv(tmp_path / "out" / "segments.csv")
    assert len(segments) == 400
    assert (tmp_path / "out" / "report.html").stat().st_size > 0


def test_many_warnings_become_one_line_a_kind() -> None:
    from custseg.pipeline import _summarise_warnings

    @_summarise_warnings
    def noisy() -> int:
        for i in range(500):
            warnings.warn(f"column {i} is odd", RuntimeWarning, stacklevel=1)
        return 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert noisy() == 1
    assert len(caught) == 1
    assert "column 0 is odd [499 more warning(s) like this one]" in str(caught[0].message)
    assert caught[0].category is RuntimeWarning
