"""The local fast path (custseg.engines.local): same answers as the standard engine, the
same checks on messy files, columnar outputs, and the engine choice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import adjusted_rand_score

from conftest import run_custseg, summary_validator
from custseg.bundle import load_bundle
from custseg.engines import estimate_rows, local, pick_engine
from custseg.engines.local import (
    fast_transform,
    read_columnar,
    segment_large,
    stratified_sample,
    write_large_outputs,
)
from custseg.engines.local_stages import OutlierTally, outliers_found
from custseg.errors import DataError, InputFileError, UsageError
from custseg.io import demo_data_path
from custseg.pipeline import segment_file
from custseg.preprocess import build_preprocessor, plan_preprocessing
from custseg.selection import KScore, consensus

INCOME, SPENDING = "Annual Income (k$)", "Spending Score (1-100)"


def blobs(n: int, seed: int = 0) -> pd.DataFrame:
    """Customers in 5 planted groups on 4 features, with an id."""
    rng = np.random.default_rng(seed)
    centres = np.array([[20, 30, 80, 5], [60, 90, 20, 40], [40, 60, 50, 20],
                        [70, 20, 30, 60], [30, 80, 90, 10]], dtype=float)
    g = rng.integers(0, 5, n)
    X = centres[g] + rng.standard_normal((n, 4)) * 4
    df = pd.DataFrame(np.round(X, 2), columns=["age", "income", "spending", "visits"])
    df.insert(0, "customer_id", np.arange(1, n + 1))
    return df


@pytest.fixture(scope="module")
def blob_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("blobs") / "customers.csv"
    blobs(30_000).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def large_result(blob_csv: Path) -> local.LargeResult:
    return segment_large(blob_csv, random_state=3, sample_size=5_000, report_sample=2_000)


# ------------------------------------------------------------------ same answer
def test_fast_path_agrees_with_the_standard_engine(blob_csv: Path,
                                                   large_result: local.LargeResult) -> None:
    standard = segment_file(blob_csv, random_state=3)
    assert large_result.summary["k"] == standard.summary["k"] == 5
    fast = large_result.model
    ids = pd.read_csv(blob_csv)["customer_id"].to_numpy()
    std_labels = pd.Series(standard.segmenter.labels_, index=ids)
    assert adjusted_rand_score(std_labels.loc[ids], fast.labels_) > 0.99
    assert sorted(s.name for s in fast.segments_) == sorted(
        s["name"] for s in standard.summary["segments"])
    # sizes within 1% of the standard engine's, segment by segment (both ordered by size)
    fast_sizes = [s.size for s in fast.segments_]
    std_sizes = [s["size"] for s in standard.summary["segments"]]
    assert np.allclose(fast_sizes, std_sizes, rtol=0.01)


def test_k_is_chosen_on_a_stratified_sample_with_sampling_errors(
        large_result: local.LargeResult) -> None:
    ksel = large_result.summary["k_selection"]
    assert ksel["n_samples"] == 5_000
    assert ksel["sampling"]["sample"] == 5_000
    assert ksel["sampling"]["population"] == 30_000
    assert ksel["silhouette_sample"] == 5 * 1_000
    for sc in ksel["scores"]:
        assert 0 < sc["silhouette_se"] < 0.05
        assert sc["calinski_harabasz_se"] > 0
    engine = large_result.summary["engine"]
    assert engine == {"name": "local", "selection_sample": 5_000, "report_sample": 2_000,
                      "dtype": "float32",
                      "duplicates": "kept (not searched for on the fast path)"}
    assert large_result.model.labels_.shape == (30_000,)
    assert len(large_result.table) == 2_000  # the report's sample


def test_demo_data_same_segments_as_the_standard_engine() -> None:
    feats = [INCOME, SPENDING]
    fast = segment_large(demo_data_path(), features=feats, random_state=0).model
    standard = segment_file(demo_data_path(), features=feats, random_state=0).segmenter
    assert fast.k_ == standard.k_ == 5
    assert [(s.name, s.size) for s in fast.segments_] == [
        (s.name, s.size) for s in standard.segments_]
    assert np.array_equal(fast.labels_, standard.labels_)
    for a, b in zip(fast.segments_, standard.segments_, strict=True):
        assert a.mean == pytest.approx(b.mean)
        assert a.median == pytest.approx(b.median)


def test_amounts_that_can_be_negative_get_the_signed_log_as_in_the_standard_engine(
        tmp_path: Path) -> None:
    """A bank balance (negative for some, skewed) is on a signed log scale in both engines,
    with the same scale and the same segments; a count is not."""
    rng = np.random.default_rng(8)
    n = 3000
    group = rng.integers(0, 3, n)
    balance = np.round(rng.lognormal(np.array([5.0, 7.0, 9.0])[group], 1.0)
                       * np.where(rng.random(n) < 0.1, -0.3, 1.0), 2)
    path = tmp_path / "bank.csv"
    pd.DataFrame({"customer": np.arange(n), "balance": balance,
                  "visits": rng.poisson(np.array([2, 6, 12])[group]),
                  "age": rng.integers(18, 90, n)}).to_csv(path, index=False)
    feats = ["balance", "visits", "age"]
    fast = segment_large(path, features=feats, random_state=0).model
    standard = segment_file(path, features=feats, random_state=0).segmenter
    assert standard.plan_.signed_log_columns == ["balance"]
    assert fast.plan_.signed_log_columns == ["balance"]
    scale = [dict(p.named_transformers_["numeric"].steps)["signed_log"].scale_
             for p in (fast.preprocessor_, standard.preprocessor_)]
    np.testing.assert_allclose(scale[0], scale[1], rtol=0.05)  # fitted on a sample here
    assert fast.k_ == standard.k_
    assert adjusted_rand_score(fast.labels_, standard.labels_) > 0.95


def test_sampling_error_turns_a_narrow_win_into_a_tie() -> None:
    def score(k: int, sil: float, se: float | None) -> KScore:
        ch, db = {3: 50.0, 4: 60.0, 5: 40.0}[k], {3: 0.9, 4: 0.8, 5: 1.0}[k]
        return KScore(k, 100.0 / k, sil, ch, db, silhouette_se=se)

    narrow = [score(3, 0.60, 0.02), score(4, 0.62, 0.02), score(5, 0.50, 0.02)]
    sel = consensus(narrow)
    assert sel.chosen_k == 4
    assert sel.sampling == {"within_error": [3]}
    assert "within the sampling error" in sel.explanation
    exact = consensus([score(3, 0.60, None), score(4, 0.62, None), score(5, 0.50, None)])
    assert sel.chosen_k == exact.chosen_k
    assert sel.confidence < exact.confidence  # the clarity part is lost
    clear = consensus([score(3, 0.60, 0.001), score(4, 0.62, 0.001), score(5, 0.50, 0.001)])
    assert clear.sampling == {"within_error": []}


def test_stratified_sample_takes_one_row_per_slice() -> None:
    idx = stratified_sample(1_000_000, 1_000, 7)
    assert len(idx) == 1_000 and np.all(np.diff(idx) > 0)
    assert np.array_equal(idx // 1_000, np.arange(1_000))  # one in each slice of 1,000 rows
    assert np.array_equal(stratified_sample(10, 20, 0), np.arange(10))
    assert not np.array_equal(idx, stratified_sample(1_000_000, 1_000, 8))


def test_fast_transform_equals_the_fitted_transformer() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.lognormal(3, 1, 5000), "b": rng.normal(50, 10, 5000),
                       "c": rng.uniform(0, 1, 5000)})
    df.loc[rng.choice(5000, 300, replace=False), "b"] = np.nan
    for scaling in ("standard", "robust", "minmax", "none"):
        plan = plan_preprocessing(df, ["a", "b", "c"], [], clip=0.01, scaling=scaling)
        pre = build_preprocessor(plan).fit(df)
        out = np.empty((len(df), 3))
        fast_transform(pre, df.to_numpy(), out, chunk_rows=777)
        assert np.allclose(out, pre.transform(df), rtol=1e-12, atol=1e-12), scaling


def test_fast_transform_applies_the_fences_and_the_feature_groups() -> None:
    """The standard engine's rules by their own steps; ``before_fences`` sees every chunk
    as it is just before the fences."""
    rng = np.random.default_rng(1)
    a = rng.lognormal(3, 1, 5000)
    df = pd.DataFrame({"a": a, "a2": a * rng.uniform(0.9, 1.1, 5000),
                       "b": rng.standard_t(2, 5000)})
    plan = plan_preprocessing(df, list(df), [], winsorize=True, group_threshold=0.7)
    pre = build_preprocessor(plan).fit(df)
    pipe = pre.named_transformers_["numeric"]
    assert pipe.named_steps["groups"].groups_ == [[0, 1]]
    seen: list[tuple[int, np.ndarray]] = []
    out = np.empty((len(df), 3))
    fast_transform(pre, df.to_numpy(), out, chunk_rows=777, n_threads=2,
                   before_fences=lambda start, block: seen.append((start, block.copy())))
    assert np.allclose(out, pre.transform(df), rtol=1e-12, atol=1e-12)
    seen.sort(key=lambda pair: pair[0])  # from two threads, in any order
    assert [start for start, _ in seen] == list(range(0, 5000, 777))
    before = pipe[:[name for name, _ in pipe.steps].index("fences")].transform(df)
    np.testing.assert_allclose(np.vstack([block for _, block in seen]), before)
    low, high = pipe.named_steps["fences"].outside(before)
    assert low[:, 2].any() and high[:, 2].any()  # the t-distribution's tails


def test_fast_transform_and_outliers_same_on_one_thread_or_two() -> None:
    """Missing cells, quantile clipping, logs, fences and groups: the chunks run on two
    threads give the same matrix bit for bit, and the same outliers, as on one."""
    rng = np.random.default_rng(3)
    n = 20_000
    a = rng.lognormal(3, 1, n)
    df = pd.DataFrame({"a": a, "a2": a * rng.uniform(0.9, 1.1, n),
                       "b": rng.standard_t(2, n), "c": rng.normal(50, 10, n)})
    df.loc[rng.choice(n, 500, replace=False), "c"] = np.nan
    plan = plan_preprocessing(df, list(df), [], clip=0.001, winsorize=True,
                              group_threshold=0.7)
    pre = build_preprocessor(plan).fit(df)
    pipe = pre.named_transformers_["numeric"]
    assert pipe.named_steps["log"].mask_.any() and "fences" in pipe.named_steps
    fit_rows = rng.random(n) > 0.1
    results = []
    for threads in (1, 2):
        tally = OutlierTally.of(pre, df, fit_rows)
        out = np.empty((n, 4), dtype=np.float32)
        fast_transform(pre, df.to_numpy(), out, chunk_rows=1_000, before_fences=tally,
                       n_threads=threads)
        found = outliers_found(tally, pre, plan, list(df), [df[c].to_numpy() for c in df])
        results.append((out, found))
    (one, found_one), (two, found_two) = results
    assert np.array_equal(one, two, equal_nan=True) and not np.isnan(one).any()
    assert found_one == found_two
    before = pipe[:[name for name, _ in pipe.steps].index("fences")].transform(df)
    low, high = pipe.named_steps["fences"].outside(before)
    low, high = low & fit_rows[:, None], high & fit_rows[:, None]
    assert found_one["rows"] == int((low | high).any(axis=1).sum()) > 0
    assert found_one["columns"]["b"]["low"] > 0 and found_one["columns"]["b"]["high"] > 0


def test_outliers_are_counted_on_every_customer(tmp_path: Path) -> None:
    """The fences come from the selection sample; the outliers are counted on all rows and
    reported as the standard engine reports them."""
    rng = np.random.default_rng(2)
    n = 3000
    df = pd.DataFrame({"spend": rng.normal(100, 10, n), "visits": rng.normal(10, 2, n)})
    far = rng.choice(n, 20, replace=False)
    df.loc[far, "spend"] = 1000.0
    path = tmp_path / "outliers.csv"
    df.to_csv(path, index=False)
    result = segment_large(path, random_state=0, sample_size=500, k=3)
    assert result.summary["engine"]["selection_sample"] == 500
    pipe = result.model.preprocessor_.named_transformers_["numeric"]
    before = pipe[:[name for name, _ in pipe.steps].index("fences")].transform(df)
    low, high = pipe.named_steps["fences"].outside(before)
    out = result.summary["outliers"]
    assert out["winsorized"] and out["rows"] == int((low | high).any(axis=1).sum()) >= 20
    assert out["share"] == round(out["rows"] / n, 6)
    spend = out["columns"]["spend"]
    assert (spend["low"], spend["high"]) == (int(low[:, 0].sum()), int(high[:, 0].sum()))
    assert len(spend["examples"]) == 5
    assert {ex["value"] for ex in spend["examples"]} == {1000.0}
    assert {ex["row"] - 1 for ex in spend["examples"]} <= set(far.tolist())
    assert result.summary["reduction"] == {"method": "feature groups", "groups": [],
                                           "threshold": 0.7, "effective_features": 2.0}


# ------------------------------------------------------------------ messy files
def test_messy_csv_is_checked_like_the_standard_engine(tmp_path: Path) -> None:
    df = blobs(3_000, seed=1)
    text = df.to_csv(index=False, sep=";").splitlines()
    rows = [line.split(";") for line in text]
    rows[5][2] = "12k"           # junk: data row 4
    rows[9][3] = "N/A"           # missing marker: data row 8
    rows[12][1] = "NA"
    rows[20] = rows[20][:3]      # malformed: line 21 (header = line 1)
    rows[0].append("note")
    for r in rows[1:]:
        if len(r) == 5:
            r.append("£ café")   # cp1252 text column
    body = "\n".join(";".join(r) for r in rows) + "\n"
    path = tmp_path / "messy.csv"
    path.write_bytes(body.encode("cp1252"))
    result = segment_large(path, random_state=0, sample_size=1_000, report_sample=500)
    info = result.info
    assert (info.encoding, info.delimiter) == ("cp1252", ";")
    s = result.summary
    assert s["cleaning"]["junk_coerced"] == {"income": 1}
    assert s["cleaning"]["missing_markers"] == {"age": 1, "spending": 1}
    assert s["cleaning"]["missing_values"] == {"age": 1, "income": 1, "spending": 1}
    codes = {w["code"]: w for w in s["warnings"]}
    assert codes["junk"]["rows"] == [5] and codes["junk"]["values"] == ["12k"]
    assert codes["malformed-line"]["rows"] == [21]
    assert s["cleaning"]["rows_read"] == 2_999
    assert "note" not in s["features"] and s["roles"]["id_column"] == "customer_id"


def test_too_much_junk_names_column_rows_and_values(tmp_path: Path) -> None:
    df = blobs(2_000).astype({"income": object})
    df.loc[[10, 20, 30, *range(100, 300)], "income"] = "unknown value"
    path = tmp_path / "junk.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        segment_large(path, random_state=0)
    prob = err.value.problems[0]
    assert prob.column == "income" and prob.code == "junk"
    assert prob.rows[:3] == [11, 21, 31] and prob.values[0] == "unknown value"
    assert "`max_junk`" in prob.message


def test_junk_after_the_first_block_is_found(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "BLOCK_SIZE", 4096)  # so that the junk is in a later block
    df = blobs(2_000).astype({"visits": object})
    df.loc[1_990, "visits"] = "n.a."
    path = tmp_path / "late.csv"
    df.to_csv(path, index=False)
    result = segment_large(path, random_state=0, sample_size=1_000)
    assert result.summary["cleaning"]["junk_coerced"] == {"visits": 1}
    assert [w["rows"] for w in result.summary["warnings"] if w["code"] == "junk"] == [[1991]]


def test_infinite_values_and_bad_files_are_errors(tmp_path: Path) -> None:
    df = blobs(1_000)
    df.loc[7, "age"] = np.inf
    path = tmp_path / "inf.parquet"
    df.to_parquet(path)
    with pytest.raises(DataError) as err:
        segment_large(path)
    assert (err.value.problems[0].column, err.value.problems[0].rows) == ("age", [8])
    with pytest.raises(InputFileError):
        read_columnar(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n" + "1,2,3,4\n" * 50 + "3,4\n")
    with pytest.raises(InputFileError, match="do not have the 2 fields"):
        read_columnar(bad)


def test_unsupported_options_point_to_the_standard_engine(blob_csv: Path) -> None:
    with pytest.raises(UsageError, match="`engine='standard'`"):
        segment_large(blob_csv, algorithm="gmm")
    with pytest.raises(UsageError, match="`engine='standard'`"):
        pick_engine("local", blob_csv, {"algorithm": "kmeans", "stability": True})


def test_auto_engine_takes_the_fast_path_for_large_tables(
        blob_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opts = {"algorithm": "kmeans"}
    assert pick_engine("auto", blob_csv, opts) == "standard"
    assert 25_000 < estimate_rows(blob_csv) < 35_000
    monkeypatch.setattr("custseg.engines.LOCAL_THRESHOLD", 10_000)
    assert pick_engine("auto", blob_csv, opts) == "local"
    assert pick_engine("auto", blob_csv, {"algorithm": "gmm"}) == "standard"
    assert pick_engine("auto", blob_csv, opts, store=True) == "standard"
    assert pick_engine("standard", blob_csv, opts) == "standard"
    with pytest.raises(UsageError):
        pick_engine("fast", blob_csv, opts)
    with pytest.raises(UsageError, match="Parquet"):
        pick_engine("spark", blob_csv, opts, output_format="csv")
    assert pick_engine("spark", blob_csv, opts, output_format="auto") == "spark"
    with pytest.raises(UsageError, match="`output_format`"):
        pick_engine("local", blob_csv, opts, output_format="xlsx")
    with pytest.raises(UsageError, match="`store`"):
        pick_engine("spark", blob_csv, opts, store=True)
    assert pick_engine("spark", blob_csv, opts, output_format="parquet") == "spark"


# ------------------------------------------------------------------ outputs
def test_outputs_csv_and_parquet_bundle_and_schema(large_result: local.LargeResult,
                                                   blob_csv: Path, tmp_path: Path) -> None:
    write_large_outputs(large_result, tmp_path / "csv", fmt="csv")
    write_large_outputs(large_result, tmp_path / "pq", fmt="parquet")
    assert {p.name for p in (tmp_path / "pq").iterdir()} == {
        "segments.parquet", "profiles.csv", "summary.json", "report.html", "model"}
    from_csv = pd.read_csv(tmp_path / "csv" / "segments.csv")
    pq_table = pq.read_table(tmp_path / "pq" / "segments.parquet")
    assert pa.types.is_dictionary(pq_table.schema.field("segment_name").type)
    from_pq = pq_table.to_pandas().astype({"segment_name": str})
    assert list(from_csv.columns) == ["customer_id", "age", "income", "spending", "visits",
                                      "segment", "segment_name", "distance"]
    pd.testing.assert_frame_equal(from_csv, from_pq, check_dtype=False)
    fast = large_result.model
    assert np.array_equal(from_csv["segment"], fast.labels_)
    assert from_csv.groupby("segment")["segment_name"].first().tolist() == [
        s.name for s in fast.segments_]
    summary = json.loads((tmp_path / "csv" / "summary.json").read_text("utf-8"))
    summary_validator().validate(summary)
    assert summary["n_customers"] == 30_000
    html = (tmp_path / "csv" / "report.html").read_text("utf-8")
    assert ("drawn from a stratified sample of 2,000 of the 30,000 customers" in html)
    assert "means over 5 disjoint random subsamples of 1,000 customers" in html
    # the bundle scores new customers like the fit did
    bundle = load_bundle(tmp_path / "csv" / "model")
    table = pd.read_csv(blob_csv).head(500)
    assert np.array_equal(bundle.segmenter.predict(table), fast.labels_[:500])


def test_large_outputs_default_to_parquet(large_result: local.LargeResult, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    summary = json.loads(json.dumps(large_result.summary))
    write_large_outputs(large_result, tmp_path / "small", report=False)
    assert (tmp_path / "small" / "segments.csv").exists()
    monkeypatch.setattr(local, "PARQUET_FROM_ROWS", 10_000)  # 30,000 customers: large
    write_large_outputs(large_result, tmp_path / "large", report=False)
    write_large_outputs(large_result, tmp_path / "asked", report=False, fmt="csv")
    assert not (tmp_path / "large" / "segments.csv").exists()
    assert pq.read_metadata(tmp_path / "large" / "segments.parquet").num_rows == 30_000
    assert (tmp_path / "asked" / "segments.csv").exists()
    written = json.loads((tmp_path / "large" / "summary.json").read_text("utf-8"))
    assert written["engine"]["segments_file"] == "segments.parquet"
    with pytest.raises(UsageError, match="`output_format`"):
        write_large_outputs(large_result, tmp_path / "bad", fmt="xlsx")
    large_result.summary.clear()
    large_result.summary.update(summary)


def test_whole_numbers_and_decimals_are_profiled_by_counting() -> None:
    from custseg.engines.local import decimal_places, segment_statistics_numpy

    rng = np.random.default_rng(2)
    n = 30_001
    labels = rng.integers(-1, 4, n)
    ints = {"age": rng.integers(18, 90, n), "visits": rng.poisson(3, n),
            "big": rng.integers(-10**12, 10**12, n),  # too many values: sorted instead
            "income": np.round(rng.lognormal(4, 0.5, n), 2),  # cents: counted
            "tenure": np.round(rng.gamma(2, 3, n), 1),
            "ratio": rng.random(n)}  # 16 places: sorted
    assert [decimal_places(ints[c]) for c in ("income", "tenure", "ratio")] == [2, 1, None]
    ints["income"][5] = np.nan  # a missing value: sorted
    assert decimal_places(ints["income"]) is None
    chunked = {c: pa.chunked_array([pa.array(v[:10_000]), pa.array(v[10_000:])])
               for c, v in ints.items()}
    logged = ["age", "big", "income", "tenure", "ratio"]  # big: negative values as 0
    counted = segment_statistics_numpy(chunked, labels, 4, log_columns=logged)
    floats = segment_statistics_numpy({c: v.astype(float) for c, v in ints.items()},
                                      labels, 4, log_columns=logged)
    assert counted.sizes == floats.sizes
    assert sorted(counted.log_population_mean) == sorted(logged)
    for a, b in ((counted.log_population_mean, floats.log_population_mean),
                 (counted.log_population_std, floats.log_population_std),
                 *zip(counted.log_mean, floats.log_mean, strict=True)):
        assert a == pytest.approx(b, rel=1e-12)
    for f, s in ((counted.mean, floats.mean), (counted.median, floats.median)):
        for x, y in zip(f, s, strict=True):
            assert x == pytest.approx(y, rel=1e-12)
    for a, b in ((counted.population_mean, floats.population_mean),
                 (counted.population_std, floats.population_std),
                 (counted.lower_tertile, floats.lower_tertile),
                 (counted.upper_tertile, floats.upper_tertile)):
        assert a == pytest.approx(b, rel=1e-12)


def test_rows_with_missing_values_left_out_with_impute_drop(tmp_path: Path) -> None:
    df = blobs(6_000, seed=4)
    df["income"] = df["income"].astype(float)
    missing = [3, 10, 500, 5_999]
    df.loc[missing, "income"] = np.nan
    df.loc[[7], "visits"] = np.nan
    path = tmp_path / "gaps.csv"
    df.to_csv(path, index=False)
    dropped = segment_large(path, random_state=0, sample_size=2_000, report_sample=1_000,
                            impute="drop")
    filled = segment_large(path, random_state=0, sample_size=2_000, report_sample=1_000)
    gaps = sorted([*missing, 7])
    assert dropped.summary["cleaning"]["rows_dropped_missing"] == len(gaps)
    assert dropped.summary["cleaning"]["missing_values"] == {"income": 4, "visits": 1}
    assert np.flatnonzero(dropped.model.labels_ < 0).tolist() == gaps
    assert np.isnan(dropped.model.distances_[gaps]).all()
    assert (filled.model.labels_ >= 0).all()
    assert dropped.summary["k"] == filled.summary["k"] == 5
    write_large_outputs(dropped, tmp_path / "out", report=False)
    out = pd.read_csv(tmp_path / "out" / "segments.csv")
    assert (out.loc[gaps, "segment"] == -1).all()


def test_same_seed_same_bytes(blob_csv: Path, tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        r = segment_large(blob_csv, random_state=11, sample_size=4_000, report_sample=1_000)
        write_large_outputs(r, tmp_path / f"run{i}", report=False)
        outs.append((tmp_path / f"run{i}" / "segments.csv").read_bytes())
    assert outs[0] == outs[1]


def test_cli_engine_local_with_parquet_output(blob_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    proc = run_custseg("segment", str(blob_csv), "--engine", "local", "--format", "parquet",
                       "--k", "3..7", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["engine"]["name"] == "local" and summary["k"] == 5
    assert pq.read_metadata(out / "segments.parquet").num_rows == 30_000
    bad = run_custseg("segment", str(blob_csv), "--engine", "local", "--features", "nope",
                      "--out", str(tmp_path / "bad"), "-q")
    assert bad.returncode == 2 and "nope" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_numpy_statistics_equal_the_pandas_ones() -> None:
    from custseg.engines.local import segment_statistics_numpy
    from custseg.profiling import segment_statistics

    rng = np.random.default_rng(5)
    n = 20_000
    cols = {"a": rng.lognormal(2, 1, n), "b": rng.normal(0, 1, n).round(1)}
    cols["a"][rng.choice(n, 500, replace=False)] = np.nan
    labels = rng.integers(-1, 4, n)  # -1: left out
    genre = pd.Series(rng.choice(["F", "M", None], n, p=[0.5, 0.4, 0.1]))
    import pyarrow as pa

    fast = segment_statistics_numpy(cols, labels, 4, {"genre": pa.chunked_array(
        [pa.array(genre)])}, log_columns=["a", "b"])
    keep = labels >= 0
    frame = pd.DataFrame(cols)[keep].assign(genre=genre[keep].to_numpy())
    slow = segment_statistics(frame, labels[keep], ["a", "b"], ["genre"],
                              log_columns=["a", "b"])
    # the log scale (log1p, negative values as 0) as profiling.segment_statistics takes it
    assert fast.log_population_mean == pytest.approx(slow.log_population_mean)
    assert fast.log_population_std == pytest.approx(slow.log_population_std)
    for x, y in zip(fast.log_mean, slow.log_mean, strict=True):
        assert x == pytest.approx(y)
    assert fast.sizes == slow.sizes and fast.n == slow.n
    for f, s in ((fast.mean, slow.mean), (fast.median, slow.median)):
        for x, y in zip(f, s, strict=True):
            assert x == pytest.approx(y)
    assert fast.population_std == pytest.approx(slow.population_std)
    assert fast.lower_tertile == pytest.approx(slow.lower_tertile)
    assert fast.upper_tertile == pytest.approx(slow.upper_tertile)
    assert fast.categories == slow.categories


def test_few_distinct_customers_give_the_standard_engines_only_possible_k(
        tmp_path: Path) -> None:
    """Four distinct customers repeated, k asked in 4..10: every engine says k = 4 is the
    only number possible (selection.possible_k_values), in the same words; k = 5 asked is
    refused with the same error."""
    rng = np.random.default_rng(0)
    pick = rng.integers(0, 4, 400)
    path = tmp_path / "four.csv"
    pd.DataFrame({"customer_id": np.arange(1, 401),  # rows unique, feature values not
                  "income": np.array([20.0, 40, 60, 80])[pick],
                  "spend": np.array([70.0, 10, 50, 30])[pick]}).to_csv(path, index=False)
    fast = segment_large(path, k_range=(4, 10), random_state=0).summary["k_selection"]
    standard = segment_file(path, k_range=(4, 10), random_state=0).summary["k_selection"]
    assert fast["method"] == standard["method"] == "only-possible"
    assert fast["explanation"] == standard["explanation"]
    assert "only 4 distinct values" in fast["explanation"]
    for run in (lambda: segment_large(path, k=5, random_state=0),
                lambda: segment_file(path, k=5, random_state=0)):
        with pytest.raises(DataError, match="only 4 distinct value"):
            run()


def test_row_numbers_are_left_out_of_the_features_on_every_engine(tmp_path: Path) -> None:
    """A table written with its row numbers (``Sl_No``, pandas' ``Unnamed: 0``): the fast
    path leaves them out of the features as the standard engine does, with a warning; the
    Spark engine's check decides by the same rule (custseg.roles.not_traits)."""
    from types import SimpleNamespace

    from custseg.engines.spark_checks import SparkChecks

    mall = pd.read_csv(demo_data_path()).sample(frac=1.0, random_state=0)
    mall.insert(0, "Sl_No", np.arange(1, len(mall) + 1))
    path = tmp_path / "numbered.csv"
    mall.to_csv(path, index=False)
    fast = segment_large(path, random_state=0)
    standard = segment_file(path, random_state=0)
    assert "Sl_No" not in fast.summary["features"]
    assert fast.summary["features"] == standard.summary["features"]
    [warning] = [w for w in fast.summary["warnings"] if w["code"] == "not-a-trait"]
    assert warning["column"] == "Sl_No" and "row numbers 1 to 200" in warning["message"]
    frame = mall.drop(columns="CustomerID").astype({"Sl_No": float})
    data = SimpleNamespace(cols=dict.fromkeys(frame.columns), warns=[])
    checked = SimpleNamespace(features=["Sl_No", "Age"], frame=frame)
    assert SparkChecks._traits(data, checked, given=False) == ["Age"]
    assert [w.code for w in data.warns] == ["not-a-trait"]
    assert SparkChecks._traits(data, checked, given=True) == ["Sl_No", "Age"]
