"""The engines agree: the same small inputs through every engine give the same segments.

Each input (the Mall demo, a planted 3-cluster table with missing and junk cells, the
Wholesale table) goes through the standard engine, the local fast path, the Spark engine
(the session's local[2] Spark of tests/conftest.py, and its runs, shared with
test_spark_engine.py; skipped without PySpark or Java)
and a toy engine declared against :class:`custseg.engines.base.Engine` here, which reads
with pandas in chunks and delegates every rule to the library: the recipe of "where do I
add a new engine" (custseg/engines/base.py), tried.

Compared with the standard engine: k, segment sizes, the partition (adjusted Rand index),
profile means, column roles, features and segment names.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from custseg.engines.base import STAGES, Engine, rule
from custseg.engines.registry import StandardEngine, engine_names, get_engine, register_engine
from custseg.io import TableInfo, demo_data_path, file_sha256
from custseg.parsing import parse_numeric
from custseg.pipeline import (
    SegmentationResult,
    build_summary,
    projection_frame,
    segments_frame,
    with_derived,
)
from custseg.segmenter import Segmenter


# ----------------------------------------------------------------------------- a toy engine
class ChunkedPandasEngine:
    """The toy engine of the recipe: reads a CSV with pandas ``chunk_rows`` rows at a time
    (every cell as text, as a file holds it), then leaves every rule to the library:
    :class:`custseg.Segmenter` parses the numbers (``custseg.schema.parse_numeric``),
    decides roles, prepares, chooses k, fits, assigns and profiles; the summary and the
    outputs are the standard engine's (:func:`custseg.pipeline.build_summary`,
    :func:`custseg.pipeline.write_outputs`)."""

    name = "chunked-pandas"

    def __init__(self, chunk_rows: int = 64) -> None:
        self.chunk_rows = chunk_rows

    def read(self, path: str | os.PathLike[str]) -> tuple[pd.DataFrame, TableInfo]:
        chunks = pd.read_csv(path, dtype=str, keep_default_na=False,
                             chunksize=self.chunk_rows)
        table = pd.concat(list(chunks), ignore_index=True)
        info = TableInfo(str(path), "csv", len(table), table.shape[1], file_sha256(path),
                         "utf-8", ",")
        return table, info

    def segment(self, path: str | os.PathLike[str], *, progress: Any = None,
                command: str = "", **options: Any) -> SegmentationResult:
        t0 = time.perf_counter()
        table, info = self.read(path)
        seg = Segmenter(**options).fit(table, progress=progress)
        table = with_derived(table, seg)
        timings = {"read_and_segment": round(time.perf_counter() - t0, 4)}
        summary = build_summary({"segmenter": seg, "info": info, "timings": timings,
                                 "seed": options.get("random_state"), "command": command})
        return SegmentationResult(table, info, seg, segments_frame(table, seg), summary,
                                  projection_frame(seg, table), command, timings)

    def write(self, result: Any, out: str | os.PathLike[str], *, force: bool = False,
              report: bool = True, fmt: str | None = None) -> Path:
        return StandardEngine().write(result, out, force=force, report=False, fmt=fmt or "csv")


register_engine(ChunkedPandasEngine.name, ChunkedPandasEngine)


# ----------------------------------------------------------------------------- inputs
MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


def planted(path: Path, n: int = 600, seed: int = 3) -> Path:
    """Three well separated groups of customers on three features; a few missing cells,
    junk cells (within the 5% accepted) and missing markers; ids."""
    rng = np.random.default_rng(seed)
    centres = np.array([[20.0, 300.0, 2.0], [60.0, 1200.0, 9.0], [110.0, 600.0, 20.0]])
    sizes = [n // 2, n // 3, n - n // 2 - n // 3]
    X = np.vstack([rng.normal(c, [4.0, 50.0, 1.0], size=(m, 3))
                   for c, m in zip(centres, sizes, strict=True)])[rng.permutation(n)]
    df = pd.DataFrame(X.round(2), columns=["visits", "spend", "tenure_years"])
    df.insert(0, "customer_id", [f"K{i:04d}" for i in range(n)])
    df = df.astype({"spend": object, "visits": object})
    df.loc[[5, 77, 301], "spend"] = np.nan
    df.loc[[12, 250], "spend"] = "n/a"
    df.loc[[40, 41, 400], "visits"] = "unknown"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, shared_data: Path
           ) -> dict[str, tuple[Path, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("engines-agree")
    return {
        # k 2..10 as test_spark_engine.py's Mall run: Spark's run is made once for both
        "mall": (demo_data_path(), {"random_state": 0, "features": MALL_FEATURES}),
        "planted": (planted(root / "planted.csv"), {"random_state": 0, "k_range": (2, 5)}),
        "wholesale": (shared_data / "wholesale_customers.csv",
                      {"random_state": 0, "k_range": (2, 6), "labels": WHOLESALE_LABELS}),
    }


#: A column label and the names of the codes of Channel and Region (the data's documentation:
#: 1 hotel/restaurant/café, 2 retail; regions 1 Lisbon, 2 Oporto, 3 other), given as a dict.
WHOLESALE_LABELS = {"Detergents_Paper": "household supplies",
                    "Channel": {"1": "Hotel/restaurant/café", "2": "Retail"},
                    "Region": {"1": "Lisbon", "2": "Oporto", "3": "Other region"}}


class Runs:
    """Each engine's run of each input, made once when first asked for; Spark's come from
    the session's shared runs (``spark_runs`` in tests/conftest.py: the same
    ``get_engine("spark", spark=...).segment``), once ``with_spark`` gives them."""

    def __init__(self, inputs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
        self.inputs = inputs
        self.done: dict[tuple[str, str], Any] = {}
        self.spark_runs: Any = None

    def __call__(self, engine: str, name: str) -> Any:
        path, opts = self.inputs[name]
        if engine == "spark":
            assert self.spark_runs is not None, "ask for the with_spark fixture"
            return self.spark_runs(path, **opts)
        if (engine, name) not in self.done:
            self.done[engine, name] = get_engine(engine).segment(path, **opts)
        return self.done[engine, name]


@pytest.fixture(scope="module")
def runs(inputs: dict[str, tuple[Path, dict[str, Any]]]) -> Runs:
    return Runs(inputs)


# ----------------------------------------------------------------------------- comparison
def _key(values: pd.Series) -> np.ndarray:
    """Customer keys as text, whole numbers without leading zeros ("0001" read as text by
    one engine is 1 read as a number by another)."""
    text = values.astype(str).str.strip()
    return np.where(text.str.fullmatch(r"\d+"), text.str.lstrip("0").replace("", "0"), text)


def assignments(result: Any) -> pd.Series:
    """Segment by customer key (the id column, or the 1-based row), from any engine."""
    s = result.summary
    id_col = s["roles"]["id_column"]
    if hasattr(result, "assignments"):  # Spark: a DataFrame of the cluster
        frame = result.assignments.select(id_col or "row", "segment").toPandas()
        return pd.Series(frame["segment"].to_numpy(), index=_key(frame[id_col or "row"]))
    model = getattr(result, "model", None) or result.segmenter
    table = getattr(result, "full", None)
    if table is not None:  # the fast path: every row as read (Arrow)
        keys = (table.column(id_col).to_pandas().astype(str) if id_col else
                pd.Series(np.arange(1, table.num_rows + 1)).astype(str))
    else:
        keys = (result.table[id_col].astype(str) if id_col else
                pd.Series(np.arange(1, len(result.table) + 1)).astype(str))
    return pd.Series(np.asarray(model.labels_), index=_key(keys))


def assert_same_decisions(base: Any, other: Any) -> None:
    """k, features, column roles, the preprocessing decided and the cells cleaned."""
    a, b = base.summary, other.summary
    assert b["k"] == a["k"]
    assert b["features"] == a["features"]
    assert b["roles"] == a["roles"]
    assert b["preprocessing"]["log_columns"] == a["preprocessing"]["log_columns"]
    for key in ("junk_coerced", "missing_markers", "missing_values", "imputed"):
        assert b["cleaning"][key] == a["cleaning"][key], key


def assert_same_segments(base: Any, other: Any) -> None:
    """The same sizes, the same partition (adjusted Rand 1), profile means equal up to
    rounding, the same names."""
    a, b = base.summary, other.summary
    assert [s["size"] for s in b["segments"]] == [s["size"] for s in a["segments"]]
    la, lb = assignments(base), assignments(other)
    lb = lb.reindex(la.index)
    assert lb.notna().all()
    assert adjusted_rand_score(la, lb) == 1.0
    for sa, sb in zip(a["segments"], b["segments"], strict=True):
        np.testing.assert_allclose([sb["centre"][f] for f in a["features"]],
                                   [sa["centre"][f] for f in a["features"]], rtol=1e-6)
    assert [s["name"] for s in b["segments"]] == [s["name"] for s in a["segments"]]


ALL = ["mall", "planted", "wholesale"]


# ----------------------------------------------------------------------------- the tests
def test_the_pipeline_definition_names_real_rules() -> None:
    """Every rule a stage names is a function of the library (the definition cannot
    rot), and every built-in engine is declared against the interface."""
    assert [s.name for s in STAGES] == ["read", "validate", "roles", "prepare", "choose k",
                                        "fit", "assign", "profile", "write"]
    for stage in STAGES:
        for dotted in stage.rules:
            assert callable(rule(dotted)), dotted
    for name in ("standard", "local", "spark", ChunkedPandasEngine.name):
        assert name in engine_names()
        assert isinstance(get_engine(name), Engine)


@pytest.mark.parametrize("name", ALL)
def test_toy_engine_gives_the_standard_engines_segments(name: str, runs: Runs,
                                                        tmp_path: Path) -> None:
    result = runs(ChunkedPandasEngine.name, name)
    assert_same_decisions(runs("standard", name), result)
    assert_same_segments(runs("standard", name), result)
    engine = get_engine(ChunkedPandasEngine.name)
    written = pd.read_csv(engine.write(result, tmp_path / "out") / "segments.csv")
    assert written["segment"].tolist() == runs("standard", name).segments["segment"].tolist()


@pytest.mark.parametrize("name", ALL)
def test_local_engine_decides_as_the_standard_one(name: str, runs: Runs) -> None:
    assert runs("local", name).summary["engine"]["name"] == "local"
    assert_same_decisions(runs("standard", name), runs("local", name))
    assert_same_outliers_and_groups(runs("standard", name), runs("local", name))


def test_local_engine_preprocesses_wholesale_as_the_standard_one(runs: Runs,
                                                                 inputs: Any) -> None:
    """The same preprocessed matrix (fences, feature-group weights), the same k and an
    inertia within 0.5%."""
    base, fast = runs("standard", "wholesale"), runs("local", "wholesale")
    frame = pd.read_csv(inputs["wholesale"][0])
    feats = base.segmenter.features_
    np.testing.assert_allclose(fast.model.preprocessor_.transform(frame[feats]),
                               base.segmenter.preprocessor_.transform(frame[feats]),
                               rtol=1e-12, atol=1e-12)
    assert fast.summary["k"] == base.summary["k"]
    assert adjusted_rand_score(assignments(base), assignments(fast).reindex(
        assignments(base).index)) >= 0.8
    assert fast.summary["quality"]["inertia"] == pytest.approx(
        base.summary["quality"]["inertia"], rel=5e-3)


@pytest.mark.parametrize("name", ALL)
def test_local_engine_gives_the_standard_engines_segments(name: str, runs: Runs) -> None:
    assert_same_segments(runs("standard", name), runs("local", name))


@pytest.fixture
def with_spark(runs: Runs, spark_runs: Any) -> Runs:
    runs.spark_runs = spark_runs
    return runs


@pytest.mark.parametrize("name", ALL)
def test_spark_engine_decides_as_the_standard_one(name: str, with_spark: Runs) -> None:
    assert with_spark("spark", name).summary["engine"]["name"] == "spark"
    assert_same_decisions(with_spark("standard", name), with_spark("spark", name))
    assert_same_outliers_and_groups(with_spark("standard", name), with_spark("spark", name))


def assert_same_outliers_and_groups(base: Any, other: Any) -> None:
    """The same preprocessing plan, the same outliers (rows, counts, fences in the columns'
    units; the examples too when customers are known by their row) and feature groups."""
    a, b = base.summary, other.summary
    for key in ("winsorize", "group_threshold", "signed_log_columns"):
        assert b["preprocessing"].get(key) == a["preprocessing"].get(key), key
    assert b["reduction"] == a["reduction"]
    oa, ob = a["outliers"], b["outliers"]
    assert {k: v for k, v in ob.items() if k != "columns"} == {
        k: v for k, v in oa.items() if k != "columns"}
    assert list(ob["columns"]) == list(oa["columns"])
    for c, col in oa["columns"].items():
        got = ob["columns"][c]
        assert [got[k] for k in ("count", "low", "high")] == [
            col[k] for k in ("count", "low", "high")], c
        for side in ("lower", "upper"):
            assert (got[side] is None) == (col[side] is None), (c, side)
            if col[side] is not None:
                assert got[side] == pytest.approx(col[side], rel=1e-9, abs=1e-6), (c, side)
        if a["roles"]["id_column"] is None:
            assert got["examples"] == col["examples"], c


#: Spark applies the standard engine's preprocessing (the same matrix up to Spark's sample
#: sd: fences, feature groups) and chooses k by the standard engine's rule on the driver,
#: but on Wholesale one customer of 440 falls on the other side of a boundary (sizes 194,
#: 147, 99 against 195, 146, 99).
NOT_YET_SPARK = pytest.mark.xfail(strict=True, reason="one Wholesale customer in another "
                                  "segment than the standard engine's")


def test_spark_engine_preprocesses_wholesale_as_the_standard_one(with_spark: Runs,
                                                                 inputs: Any) -> None:
    """The same preprocessed matrix (fences, feature-group weights; Spark's scaler divides
    by the sample sd, hence the factor); K-Means alone differs (NOT_YET_SPARK): the same k,
    a partition close to it and an inertia within 0.5%."""
    base, sp = with_spark("standard", "wholesale"), with_spark("spark", "wholesale")
    frame = pd.read_csv(inputs["wholesale"][0])
    feats = base.segmenter.features_
    n = base.summary["n_customers"]
    np.testing.assert_allclose(sp.model.preprocessor_.transform(frame[feats]) * np.sqrt(
        n / (n - 1)), base.segmenter.preprocessor_.transform(frame[feats]), rtol=1e-9,
        atol=1e-9)
    assert sp.summary["k"] == base.summary["k"]
    assert adjusted_rand_score(assignments(base), assignments(sp).reindex(
        assignments(base).index)) >= 0.8
    assert sp.summary["quality"]["inertia"] * n / (n - 1) == pytest.approx(
        base.summary["quality"]["inertia"], rel=5e-3)


@pytest.mark.parametrize("name", ["mall", "planted",
                                  pytest.param("wholesale", marks=NOT_YET_SPARK)])
def test_spark_engine_gives_the_standard_engines_segments(name: str,
                                                          with_spark: Runs) -> None:
    assert_same_segments(with_spark("standard", name), with_spark("spark", name))


#: Where Spark's segments are the standard engine's (Wholesale: NOT_YET_SPARK).
SAME_SEGMENTS = {"mall", "planted"}


def assert_same_wording(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Two summaries of the same segments: the same names, kinds of recommendation and
    (nearly) shares of spend."""
    for key in ("name", "recommendation_kind"):
        assert [s.get(key) for s in b["segments"]] == [s.get(key) for s in a["segments"]], key
    for sa, sb in zip(a["segments"], b["segments"], strict=True):
        if sa.get("spend_share") is None:
            assert sb.get("spend_share") is None
        else:
            assert sb["spend_share"] == pytest.approx(sa["spend_share"], rel=1e-6)


def assert_codes_named(summary: dict[str, Any]) -> None:
    """A wholesale summary with ``WHOLESALE_LABELS``: the label, the codes' names in every
    segment's categories, and the customers' mix of channels (298 hotel/restaurant/café,
    142 retail in the file)."""
    assert summary["labels"]["Detergents_Paper"] == "household supplies"
    assert summary["value_labels"] == {c: v for c, v in WHOLESALE_LABELS.items()
                                       if isinstance(v, dict)}
    mix: dict[str, float] = {}
    for seg in summary["segments"]:
        assert set(seg["categories"]["Region"]) <= {"Lisbon", "Oporto", "Other region"}
        for level, share in seg["categories"]["Channel"].items():
            mix[level] = mix.get(level, 0.0) + share * seg["size"]
    assert {k: round(v) for k, v in mix.items()} == {"Hotel/restaurant/café": 298,
                                                     "Retail": 142}


@pytest.mark.parametrize("engine", ["standard", "local", ChunkedPandasEngine.name])
def test_every_engine_reads_codes_by_the_names_given(engine: str, runs: Runs) -> None:
    """A labels file's names for a category's codes reach the summary the same way on
    every engine (Spark: test_spark_summary_says_what_the_standard_summary_says)."""
    assert_codes_named(runs(engine, "wholesale").summary)


@pytest.mark.parametrize("name", ALL)
def test_local_profiles_word_columns_by_the_standard_engines_roles(name: str,
                                                                   runs: Runs) -> None:
    """The fast path words each column by the role the standard engine gives it
    (custseg.roles.numeric_role): the same ``spend_columns``; where the segments agree, the
    same names, kinds of recommendation and (nearly) shares of spend."""
    a, b = runs("standard", name).summary, runs("local", name).summary
    assert b.get("spend_columns") == a.get("spend_columns")
    assert len(b["segments"]) == len(a["segments"])
    if name not in SAME_SEGMENTS:
        return
    assert_same_wording(a, b)


@pytest.mark.parametrize("name", ALL)
def test_spark_summary_says_what_the_standard_summary_says(name: str,
                                                           with_spark: Runs) -> None:
    """Spark's summary is built by the standard summary's code: its segments carry the same
    entries (what profiling says besides the numbers: traits, evidence, recommendation_kind,
    spend_share...), and the same ``spend_columns`` and ``labels``; where the segments agree,
    the same names, kinds of recommendation and (nearly) shares of spend."""
    a, b = with_spark("standard", name).summary, with_spark("spark", name).summary
    assert b.get("spend_columns") == a.get("spend_columns")
    assert b["labels"] == a["labels"]
    assert b.get("value_labels") == a.get("value_labels")
    if name == "wholesale":
        assert_codes_named(b)
    assert len(b["segments"]) == len(a["segments"])
    if name not in SAME_SEGMENTS:  # other segments: entries present only for some may differ
        assert set().union(*b["segments"]) == set().union(*a["segments"])
        return
    assert [list(s) for s in b["segments"]] == [list(s) for s in a["segments"]]
    assert_same_wording(a, b)


def test_spark_puts_amounts_that_can_be_negative_on_the_signed_log_scale(
        spark_runs: Any, tmp_path: Path) -> None:
    """A bank balance (negative for some, skewed) is on the signed log scale in Spark as in
    the standard engine (the money role on the rows Spark checks roles on): the same plan,
    scale and matrix (up to Spark's sample sd), k and segments; the bundle Spark writes
    scores every customer, and new ones, with that step."""
    from custseg.bundle import load_bundle
    from custseg.engines.spark import write_spark_outputs

    rng = np.random.default_rng(8)
    n = 3000
    group = rng.integers(0, 3, n)
    balance = np.round(rng.lognormal(np.array([5.0, 7.0, 9.0])[group], 1.0)
                       * np.where(rng.random(n) < 0.1, -0.3, 1.0), 2)
    path = tmp_path / "bank.csv"
    frame = pd.DataFrame({"customer": np.arange(n), "balance": balance,
                          "visits": rng.poisson(np.array([2, 6, 12])[group]),
                          "age": rng.integers(18, 90, n)})
    frame.to_csv(path, index=False)
    opts = {"features": ["balance", "visits", "age"], "random_state": 0, "k_range": (2, 6)}
    sp = spark_runs(path, **opts)
    standard = get_engine("standard").segment(path, **opts)
    seg = standard.segmenter
    assert seg.plan_.signed_log_columns == ["balance"]
    assert sp.model.plan_.signed_log_columns == ["balance"]
    assert sp.summary["preprocessing"]["signed_log_columns"] == ["balance"]
    scale = [dict(p.named_transformers_["numeric"].steps)["signed_log"].scale_
             for p in (sp.model.preprocessor_, seg.preprocessor_)]
    np.testing.assert_allclose(scale[0], scale[1], rtol=1e-9)  # both on every customer
    new = pd.DataFrame({"customer": [n, n + 1, n + 2, n + 3, n + 4],
                        "balance": [-250000.0, -3.5, 0.0, 12.0, 1e7],
                        "visits": [0, 3, 9, 1, 40], "age": [18, 40, 61, 89, 33]})
    for rows in (frame[opts["features"]], new[opts["features"]]):
        np.testing.assert_allclose(
            sp.model.preprocessor_.transform(rows) * np.sqrt(n / (n - 1)),
            seg.preprocessor_.transform(rows), rtol=1e-9, atol=1e-9)
    assert sp.summary["k"] == standard.summary["k"]
    assert adjusted_rand_score(assignments(standard), assignments(sp).reindex(
        assignments(standard).index)) > 0.95
    bundle = load_bundle(write_spark_outputs(sp, tmp_path / "out", report=False) / "model")
    want = assignments(sp).reindex(_key(frame["customer"]))
    assert (bundle.segmenter.predict(frame) == want.to_numpy()).all()
    assert (bundle.segmenter.predict(new) == seg.predict(new)).all()


def test_without_the_standard_engines_own_steps_local_finds_its_wholesale_segments(
        inputs: Any) -> None:
    """With the outlier clipping and feature-group weights off in both engines, the local
    engine finds the standard engine's k and nearly its partition (the rest: several
    K-Means starts against one start and a repair, float32)."""
    path, opts = inputs["wholesale"]
    off = {"outliers": "keep", "feature_groups": False}
    base = get_engine("standard").segment(path, **off, **opts)
    fast = get_engine("local").segment(path, **off, **opts)
    assert fast.summary["reduction"]["method"] == "none"
    assert not fast.summary["outliers"]["winsorized"]
    assert_same_decisions(base, fast)
    assert adjusted_rand_score(assignments(base), assignments(fast).reindex(
        assignments(base).index)) >= 0.95
    assert fast.summary["quality"]["inertia"] == pytest.approx(
        base.summary["quality"]["inertia"], rel=1e-4)


def test_money_and_shares_written_with_marks_read_alike_on_every_engine(
        spark_runs: Any, tmp_path: Path) -> None:
    """An export that writes amounts with a currency symbol or code and shares with a
    percent sign ("$12,345.50", "-€20", "£ 80", "USD 80", "12.50 EUR", "35%"): every
    engine reads the same numbers
    (custseg.parsing.MARKED_NUMBER_PATTERN; Spark states it in SQL), the same missing
    markers and junk, and the same segments; without the rule no column was numeric."""
    rng = np.random.default_rng(4)
    n = 240
    group = rng.integers(0, 3, n)
    spend = np.round(rng.lognormal(np.array([4.0, 6.0, 8.0])[group], 0.3), 2)
    share = rng.integers(np.array([5, 30, 60])[group], np.array([15, 45, 80])[group])
    marks = ["$", "€", "£ ", "USD "]  # a symbol, or a currency's code as ERPs write it
    frame = pd.DataFrame({
        "customer": [f"K{i:04d}" for i in range(n)],
        "spend": [f"{marks[i % 4]}{v:,.2f}" if i % 5 else f"{v:,.2f} {'€' if i % 2 else 'EUR'}"
                  for i, v in enumerate(spend)],
        "discount_share": [f"{v}%" if i % 4 else f"{v} %" for i, v in enumerate(share)]})
    # accounting forms: a negative in brackets (a low share just below zero, so that the
    # planted groups stay), thousands set apart by a space or an apostrophe
    frame.loc[[int(np.flatnonzero(group == 0)[0])], "discount_share"] = "(1%)"
    frame.loc[frame.index % 7 == 1, "spend"] = [
        f"{v:,.2f}".replace(",", " " if i % 2 else "'") for i, v in
        enumerate(spend[frame.index % 7 == 1])]
    frame.loc[[3, 17], "spend"] = "n/a"
    frame.loc[[8], "spend"] = "$abc"
    # a European export's balance: groups of three set apart by dots, a decimal comma
    balance = np.round(rng.lognormal(np.array([5.0, 7.0, 8.0])[group], 0.3), 2)
    frame["balance"] = [(f"{v:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
                         + (" €" if i % 2 else "")) for i, v in enumerate(balance)]
    assert frame["balance"].str.contains(r"\d\.\d{3},").any()
    path = tmp_path / "marked.csv"
    frame.to_csv(path, index=False)
    opts = {"random_state": 0, "k": 3}
    results = {name: get_engine(name).segment(path, **opts) for name in ("standard", "local")}
    results["spark"] = spark_runs(path, **opts)
    base = results["standard"]
    assert base.summary["features"] == ["spend", "discount_share", "balance"]
    np.testing.assert_allclose(parse_numeric(frame["balance"]).values, balance)
    assert base.summary["cleaning"]["missing_markers"] == {"spend": 2}
    assert base.summary["cleaning"]["junk_coerced"] == {"spend": 1}
    for name in ("local", "spark"):
        assert_same_decisions(base, results[name])
        assert adjusted_rand_score(assignments(base), assignments(results[name]).reindex(
            assignments(base).index)) == 1.0, name
    for col in ("balance", "spend"):
        means = {name: sorted(round(s["centre"][col], 2) for s in r.summary["segments"])
                 for name, r in results.items()}
        assert means["local"] == means["standard"] == means["spark"], col
    # the second segment's mean spend is that of the parsed numbers
    assert means["standard"][1] == pytest.approx(
        np.mean(spend[(group == 1) & ~np.isin(np.arange(n), [3, 8, 17])]), rel=0.05)
    shares = {name: sorted(round(s["centre"]["discount_share"], 4) for s in r.summary["segments"])
              for name, r in results.items()}
    assert shares["local"] == shares["standard"] == shares["spark"]


def test_a_title_line_above_the_header_is_skipped_or_refused(spark_runs: Any,
                                                             tmp_path: Path) -> None:
    """An export with a title above its header: the standard and the local engine skip it
    (custseg.delimited.preamble_lines, with a warning) and give the segments of the file
    without it; Spark, whose reader takes the first line for the header, refuses it and
    says why."""
    from custseg.errors import InputFileError

    plain = planted(tmp_path / "plain.csv")
    titled = tmp_path / "titled.csv"
    titled.write_text("Customers, exported 2026-11-30\n\n" + plain.read_text())
    opts = {"random_state": 0, "k": 3}
    for name in ("standard", "local"):
        got, want = (get_engine(name).segment(p, **opts) for p in (titled, plain))
        assert [w["code"] for w in got.summary["warnings"]].count("preamble") == 1, name
        assert adjusted_rand_score(assignments(want), assignments(got).reindex(
            assignments(want).index)) == 1.0, name
    with pytest.raises(InputFileError, match=r"first 2 line\(s\) are a title"):
        spark_runs(titled, **opts)


def echoed(path: Path, n: int = 900, seed: int = 4) -> Path:
    """Three groups on three given features, and two describing columns: a spend score (the
    spend's decile: it moves with the spend) and an age (it does not)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    spend = rng.lognormal(np.array([4.0, 5.0, 6.0])[group], 0.3).round(2)
    pd.DataFrame({"customer_id": np.arange(1, n + 1),
                  "visits": rng.poisson(np.array([2, 5, 9])[group]),
                  "spend": spend,
                  "tenure_years": rng.normal(np.array([8, 4, 2])[group], 1.0).round(1),
                  "spend_score": pd.qcut(spend, 10, labels=False) + 1,
                  "age": rng.normal(np.array([30, 45, 60])[group], 6).round()}
                 ).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("engine", ["standard", "local", "spark"])
def test_a_describing_column_that_repeats_a_feature_is_no_evidence_on_any_engine(
        engine: str, tmp_path: Path, runs: Runs, spark_runs: Any) -> None:
    path = echoed(tmp_path / "echoed.csv")
    opts = {"random_state": 0, "k": 3, "features": ["visits", "spend", "tenure_years"]}
    result = (spark_runs(path, **opts) if engine == "spark"
              else get_engine(engine).segment(path, **opts))
    s = result.summary
    described = {t["feature"] for seg in s["segments"] for t in seg["traits"]}
    assert {"spend_score", "age"} <= described  # both profiled
    evidence = " ".join(e for seg in s["segments"] for e in seg["evidence"])
    assert "spend score" not in evidence and "age" in evidence
    if engine != "spark":  # (Spark's summary has no column table)
        assert s["echoes"] == {"spend_score": "spend"}


@pytest.mark.parametrize("engine", ["standard", "local", "spark"])
def test_a_feature_that_moves_with_an_earlier_one_describes_on_any_engine(
        engine: str, tmp_path: Path, spark_runs: Any) -> None:
    """Features not given: the spend score, which moves with the spend, is left out of the
    features by every engine (the standard engine's rule: custseg.roles) and describes."""
    path = echoed(tmp_path / "echoed.csv")
    opts = {"random_state": 0, "k": 3}
    result = (spark_runs(path, **opts) if engine == "spark"
              else get_engine(engine).segment(path, **opts))
    s = result.summary
    assert s["features"] == ["visits", "spend", "tenure_years", "age"]
    assert [(d["dropped"], d["kept"]) for d in s["near_duplicates"]] == [
        ("spend_score", "spend")]
    assert s["echoes"] == {"spend_score": "spend"}
    assert not any("spend score" in e for seg in s["segments"] for e in seg["evidence"])
