"""The Spark engine (custseg.engines.spark) on a real local Spark (local[2]).

It must agree with the local engine on the same data (same k, adjusted Rand index >= 0.95,
same segment names on the Mall data) and write the output contract.  Without PySpark or Java
these tests are skipped on a developer's machine and fail in CI (.ci/run installs Java and
`make test` installs the spark extra).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from conftest import invoke, summary_validator
from custseg.io import demo_data_path
from custseg.pipeline import segment_file
from pagecheck import check_page

MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
def write_blobs(path: Path, n: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Customers in 6 well separated groups on 4 features, a few missing cells, and a
    describing column; shuffled, with ids."""
    rng = np.random.default_rng(seed)
    centres = np.array([[20, 200, 5, 40], [60, 900, 12, 45], [100, 300, 25, 30],
                        [40, 1500, 30, 60], [120, 1200, 8, 25], [80, 600, 40, 70]], float)
    spread = np.array([5, 60, 2, 4], float)
    sizes = rng.multinomial(n, [0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
    X = np.vstack([rng.normal(c, spread, size=(m, 4)) for c, m in zip(centres, sizes,
                                                                      strict=True)])
    X = X[rng.permutation(n)]
    df = pd.DataFrame(X.round(2), columns=["visits", "spend", "basket", "age"])
    df.insert(0, "customer_id", [f"C{i:05d}" for i in range(n)])
    df["region"] = rng.choice(["north", "south", "east"], n)
    for col, rows in (("spend", [3, 50, 700]), ("basket", [10, 2000])):
        df.loc[rows, col] = np.nan
    df.to_csv(path, index=False)
    return df


@pytest.fixture(scope="module")
def blobs(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Any]:
    from custseg.engines.spark import segment_spark, write_spark_outputs

    root = tmp_path_factory.mktemp("spark-blobs")
    path = root / "customers.csv"
    write_blobs(path)
    local = segment_file(path, random_state=0, k_range=(2, 8))
    result = segment_spark(path, spark=spark, random_state=0, k_range=(2, 8))
    out = write_spark_outputs(result, root / "out")
    return {"path": path, "local": local, "spark": result, "out": out}


@pytest.fixture(scope="module")
def mall(spark_runs: Any) -> dict[str, Any]:
    """The Mall demo on both engines; the Spark run (k 2..10) is the session's, shared with
    test_engines_agree.py."""
    local = segment_file(demo_data_path(), features=MALL_FEATURES, random_state=0)
    result = spark_runs(demo_data_path(), features=MALL_FEATURES, random_state=0)
    return {"local": local, "spark": result}


def _labels(frame: pd.DataFrame, id_col: str) -> pd.Series:
    return frame.set_index(frame[id_col].astype(str))["segment"]


# ----------------------------------------------------------------------------- agreement
def test_blobs_same_k_and_segments_as_the_local_engine(blobs: dict[str, Any]) -> None:
    local, result = blobs["local"], blobs["spark"]
    assert result.summary["k"] == local.summary["k"] == 6
    assert result.summary["k_selection"]["method"] == "consensus"
    spark_seg = pd.read_parquet(blobs["out"] / "segments")
    a = _labels(local.segments, "customer_id")
    b = _labels(spark_seg, "customer_id").reindex(a.index)
    assert b.notna().all() and len(spark_seg) == len(a) == 3000
    assert adjusted_rand_score(a, b) >= 0.95
    # the same features, the same preprocessing decisions and the same cleaning counts
    for key in ("features", "n_customers"):
        assert result.summary[key] == local.summary[key]
    assert (result.summary["preprocessing"]["log_columns"]
            == local.summary["preprocessing"]["log_columns"])
    assert result.summary["cleaning"]["imputed"] == local.summary["cleaning"]["imputed"]
    assert result.summary["roles"] == local.summary["roles"]
    # segments numbered by size, with the same sizes up to a few customers
    spark_sizes = [s["size"] for s in result.summary["segments"]]
    local_sizes = [s["size"] for s in local.summary["segments"]]
    assert spark_sizes == sorted(spark_sizes, reverse=True)
    assert np.abs(np.subtract(spark_sizes, local_sizes)).max() <= 15


def test_k_chosen_on_a_sample_then_everyone_from_its_centres(blobs: dict[str, Any],
                                                             spark: Any) -> None:
    """Above sample_size customers: k on a seeded sample, the final K-Means on everyone
    starting from the sample's centres (as the local engine does above 50,000)."""
    from custseg.engines.spark import segment_spark

    result = segment_spark(blobs["path"], spark=spark, random_state=0, k_range=(4, 7),
                           sample_size=1000, report_sample=500)
    s = result.summary
    assert s["k"] == 6 and s["k_selection"]["n_samples"] == 1000
    # the silhouette as the standard engine scores a sample: 5 subsamples of 1000 // 5
    assert s["k_selection"]["silhouette_sample"] == 1000
    assert s["k_selection"]["sampling"]["subsamples"] == 5
    assert s["k_selection"]["sampling"]["subsample_size"] == 200
    assert s["engine"]["selection_sample"] == 1000 and s["engine"]["report_sample"] == 500
    assert s["engine"]["final_init"] == "sample" and s["engine"]["final_iterations"] >= 1
    assert s["n_customers"] == 3000
    got = _labels(result.assignments.select("customer_id", "segment").toPandas(),
                  "customer_id")
    a = _labels(blobs["local"].segments, "customer_id")
    assert adjusted_rand_score(a, got.reindex(a.index)) >= 0.95


def test_mall_gives_five_segments_with_the_local_engines_names(mall: dict[str, Any]) -> None:
    local, result = mall["local"].summary, mall["spark"].summary
    assert result["k"] == local["k"] == 5
    assert [s["name"] for s in result["segments"]] == [s["name"] for s in local["segments"]]
    assert [s["recommendation"] for s in result["segments"]] == [
        s["recommendation"] for s in local["segments"]]
    assert [s["size"] for s in result["segments"]] == [s["size"] for s in local["segments"]]
    for s, t in zip(result["segments"], local["segments"], strict=True):
        for f in MALL_FEATURES:  # exact medians below EXACT_QUANTILES customers
            assert s["centre"][f] == pytest.approx(t["centre"][f], abs=1e-6)
            assert s["median"][f] == pytest.approx(t["median"][f], abs=1e-6)
    assert result["k_selection"]["votes"]["silhouette"] == 5
    assert result["input_sha256"] == local["input_sha256"]  # the same file's bytes
    mall_ids = mall["spark"].assignments.select("CustomerID", "segment").toPandas()
    a = _labels(mall["local"].segments, "CustomerID")
    assert adjusted_rand_score(a, _labels(mall_ids, "CustomerID").reindex(a.index)) == 1.0


def test_k_selection_uses_the_local_engines_scores(mall: dict[str, Any]) -> None:
    """With the same partition, the scores of a k are the local engine's to the digit."""
    local = {s["k"]: s for s in mall["local"].summary["k_selection"]["scores"]}
    ours = {s["k"]: s for s in mall["spark"].summary["k_selection"]["scores"]}
    assert sorted(ours) == list(range(2, 11))
    for key in ("silhouette", "calinski_harabasz", "davies_bouldin"):
        assert ours[5][key] == pytest.approx(local[5][key], rel=1e-6)
    # StandardScaler divides by the sample standard deviation (n - 1): inertia (n-1)/n
    assert ours[5]["inertia"] == pytest.approx(local[5]["inertia"] * 199 / 200, rel=1e-4)


# ----------------------------------------------------------------------------- outputs
def test_output_folder(blobs: dict[str, Any]) -> None:
    out = blobs["out"]
    assert sorted(p.name for p in out.iterdir()) == ["model", "profiles.csv", "report.html",
                                                     "segments", "summary.json"]
    parts = sorted((out / "segments").glob("part-*.parquet"))
    assert parts and (out / "segments" / "_SUCCESS").exists()
    assert not list((out / "segments").glob(".*crc"))
    seg = pd.read_parquet(out / "segments")
    assert list(seg.columns[:1]) == ["customer_id"]
    assert {"visits", "spend", "basket", "age", "region", "segment", "segment_name",
            "distance"} <= set(seg.columns)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    names = {s["id"]: s["name"] for s in summary["segments"]}
    assert (seg["segment_name"] == seg["segment"].map(names)).all()
    assert seg["segment"].value_counts().sort_index().tolist() == [
        s["size"] for s in summary["segments"]]
    assert (seg["distance"] >= 0).all()
    profiles = pd.read_csv(out / "profiles.csv")
    assert profiles["segment_name"].tolist() == list(names.values())
    assert not list(out.parent.glob(".out.tmp-*")), "the temporary folder is left behind"


def test_summary_validates_against_the_schema(blobs: dict[str, Any]) -> None:
    summary = json.loads((blobs["out"] / "summary.json").read_text("utf-8"))
    errors = sorted(e.message for e in summary_validator().iter_errors(summary))
    assert errors == []
    engine = summary["engine"]
    assert engine["name"] == "spark" and engine["master"] == "local[2]"
    assert engine["selection_sample"] == 3000 and engine["quantiles"] == "exact"
    assert summary["cleaning"]["missing_values"] == {"spend": 3, "basket": 2}
    assert summary["versions"]["pyspark"]


def test_report_is_self_contained(blobs: dict[str, Any]) -> None:
    page = (blobs["out"] / "report.html").read_text("utf-8")
    check_page(page)
    assert "3,000 customers" in page
    for name in (s["name"] for s in blobs["spark"].summary["segments"]):
        assert name in page


def test_same_seed_same_segments(spark: Any, tmp_path: Path) -> None:
    from custseg.engines.spark import segment_spark

    runs = [segment_spark(demo_data_path(), spark=spark, features=MALL_FEATURES, k=5,
                          random_state=3) for _ in range(2)]
    a, b = (r.assignments.toPandas().sort_values("CustomerID").reset_index(drop=True)
            for r in runs)
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------------------- the bundle
def test_bundle_predicts_every_customer_as_spark_did(blobs: dict[str, Any]) -> None:
    """``model/`` loads, and its Segmenter gives every customer of the input table the
    segment (and distance) Spark gave, from Spark's own fitted preprocessing."""
    from custseg.bundle import load_bundle

    bundle = load_bundle(blobs["out"] / "model")
    seg = bundle.segmenter
    table = pd.read_csv(blobs["path"])
    spark_seg = pd.read_parquet(blobs["out"] / "segments")
    want = spark_seg.set_index("customer_id").loc[table["customer_id"]]
    got = seg.predict(table)
    assert (got == want["segment"].to_numpy()).all(), f"{(got != want['segment']).sum()} differ"
    assigned = seg.assign(table)
    np.testing.assert_allclose(assigned["distance"], want["distance"], atol=2e-6)
    assert (assigned["segment_name"].to_numpy() == want["segment_name"].to_numpy()).all()
    meta = bundle.meta
    assert meta["k"] == 6 and meta["features"] == ["visits", "spend", "basket", "age"]
    assert [s["size"] for s in meta["segments"]] == [
        s["size"] for s in blobs["spark"].summary["segments"]]
    assert meta["training"]["n_customers"] == 3000
    assert meta["training"]["input_sha256"] == blobs["spark"].summary["input_sha256"]
    assert meta["k_selection"]["chosen_k"] == 6
    # Spark's parameters: medians of the values read, the sample standard deviation (n - 1)
    steps = seg.preprocessor_.named_transformers_["numeric"].named_steps
    values = table[meta["features"]].to_numpy(dtype=float)
    medians = steps["impute"].statistics_
    for j in range(values.shape[1]):
        v = values[:, j][~np.isnan(values[:, j])]
        assert np.quantile(v, 0.499) <= medians[j] <= np.quantile(v, 0.501)
    filled = np.where(np.isnan(values), medians, values)
    np.testing.assert_allclose(steps["scale"].mean_, filled.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(steps["scale"].scale_, filled.std(axis=0, ddof=1), rtol=1e-9)


def test_bundle_with_clipping_log_and_no_id(spark: Any, tmp_path: Path) -> None:
    """Clipping bounds, log1p, the outlier fences and the feature-group weights carried
    into the model (the standard engine's steps); without an id column the rows are matched
    by row number."""
    from custseg.bundle import load_bundle
    from custseg.engines.spark import segment_spark, write_spark_outputs

    table = pd.read_csv(demo_data_path()).drop(columns="CustomerID")
    path = tmp_path / "no_id.csv"
    table.to_csv(path, index=False)
    result = segment_spark(path, spark=spark, features=MALL_FEATURES, k=5, clip=0.05,
                           log=[MALL_FEATURES[0]], random_state=0, n_init=1)
    out = write_spark_outputs(result, tmp_path / "out", report=False)
    seg = load_bundle(out / "model").segmenter
    steps = seg.preprocessor_.named_transformers_["numeric"].named_steps
    assert seg.plan_.log_columns == [MALL_FEATURES[0]] and seg.plan_.clip == 0.05
    assert list(steps) == ["impute", "clip", "log", "fences", "scale", "groups"]
    assert seg.plan_.winsorize and seg.plan_.group_threshold == 0.7
    assert steps["groups"].weights_.tolist() == [1.0, 1.0]  # income, spending: uncorrelated
    values = table[MALL_FEATURES].to_numpy(dtype=float)
    np.testing.assert_allclose(steps["clip"].lower_, np.quantile(values, 0.05, axis=0))
    np.testing.assert_allclose(steps["clip"].upper_, np.quantile(values, 0.95, axis=0))
    spark_seg = pd.read_parquet(out / "segments").sort_values("row")
    assert spark_seg["row"].tolist() == list(range(1, 201))
    assert seg.predict(table).tolist() == spark_seg["segment"].tolist()


def test_custseg_score_with_the_spark_model(blobs: dict[str, Any], tmp_path: Path) -> None:
    """``custseg score MODEL INPUT`` runs on a Spark run's bundle, with Spark's segments
    (from its bundle.json alone: K-Means on numeric features)."""
    import json

    meta = json.loads((blobs["out"] / "model" / "bundle.json").read_text("utf-8"))
    assert "scoring" in meta
    scored = tmp_path / "scored.csv"
    proc = invoke("score", str(blobs["out"] / "model"), str(blobs["path"]), "--out",
                  str(scored), cwd=tmp_path)
    assert proc.exit_code == 0, proc.output[-3000:]
    got = pd.read_csv(scored)
    assert list(got.columns) == ["customer_id", "segment", "segment_name", "distance"]
    want = pd.read_parquet(blobs["out"] / "segments").set_index("customer_id")
    want = want.loc[got["customer_id"]]
    assert len(got) == 3000
    assert (got["segment"].to_numpy() == want["segment"].to_numpy()).all()
    assert (got["segment_name"].to_numpy() == want["segment_name"].to_numpy()).all()


# ----------------------------------------------------------------------------- errors
def test_unknown_feature_is_a_usage_error(spark: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from custseg.cli import app

    res = CliRunner().invoke(app, ["segment", str(demo_data_path()), "--engine", "spark",
                                   "--spark-master", "local[2]", "--features", "Nope",
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "Nope" in res.output and "not in the data" in res.output
    assert not (tmp_path / "out").exists()


def test_options_the_spark_engine_lacks_are_refused(spark: Any) -> None:
    from custseg.engines.spark import segment_spark
    from custseg.errors import UsageError

    with pytest.raises(UsageError, match="`algorithm` 'gmm' is not available"):
        segment_spark(demo_data_path(), spark=spark, algorithm="gmm")
    with pytest.raises(UsageError, match="`impute` 'drop'"):
        segment_spark(demo_data_path(), spark=spark, impute="drop")


def test_junk_beyond_the_limit_is_a_data_error(spark: Any, tmp_path: Path) -> None:
    from custseg.engines.spark import segment_spark
    from custseg.errors import DataError

    df = pd.read_csv(demo_data_path(), dtype=str)
    df.loc[[4, 9, 30, 77, 120, 150, 160, 170, 180, 190, 199], "Annual Income (k$)"] = "12k"
    df.loc[5, "Spending Score (1-100)"] = "?"
    path = tmp_path / "junk.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"Annual Income \(k\$\)': 11 non-numeric") as err:
        segment_spark(path, spark=spark, random_state=0)
    assert "'12k'" in str(err.value)
    with pytest.raises(DataError):  # the local engine says the same
        segment_file(path, random_state=0)


def test_ids_reused_on_many_rows_stop_the_run_as_on_the_standard_engine(
        spark: Any, tmp_path: Path) -> None:
    """More rows with reused ids than custseg.schema.reused_ids lets pass (2%): an error on
    both engines (one rule); the few-ids warning is tested on the standard engine."""
    from custseg.engines.spark import segment_spark
    from custseg.errors import DataError

    df = pd.read_csv(demo_data_path(), dtype=str)
    df["CustomerID"] = [str(i % 150) for i in range(len(df))]  # 50 ids on 100 rows
    path = tmp_path / "reused.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"50 id\(s\) given to 100 rows.*transaction log"):
        segment_spark(path, spark=spark, random_state=0, id_col="CustomerID")
    with pytest.raises(DataError, match="transaction log"):
        segment_file(path, random_state=0, id_col="CustomerID")


def test_pyspark_is_not_imported_by_custseg_or_its_cli() -> None:
    import subprocess

    code = ("import sys, custseg, custseg.cli, custseg.engines; "
            "print('pyspark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- the command
def test_cli_end_to_end(tmp_path: Path, spark: Any) -> None:
    """``custseg segment --engine spark`` run in process (the command takes the session
    already running, as it would on a cluster's driver; no second JVM)."""
    data = tmp_path / "mall.csv"
    shutil.copy(demo_data_path(), data)
    proc = invoke("segment", str(data), "--engine", "spark", "--spark-master", "local[2]",
                  "--features", ",".join(MALL_FEATURES), "--k", "5",
                  "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.exit_code == 0, proc.output[-3000:]
    assert "Low income · High spending" in proc.stdout
    assert "Wrote model/, profiles.csv, report.html, segments/, summary.json" in proc.stdout
    seg = pd.read_parquet(tmp_path / "out" / "segments")
    assert len(seg) == 200 and seg["segment"].nunique() == 5
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert summary["command"].startswith("custseg segment")
    assert summary["engine"]["name"] == "spark"
