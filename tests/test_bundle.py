"""Model bundles (safe, versioned) and batch scoring."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import run_custseg
from custseg import Segmenter, demo_data_path, load_table
from custseg.bundle import FORMAT_VERSION, BundleError, load_bundle, save_bundle
from custseg.errors import DataError
from custseg.scoring import score_file

FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


@pytest.fixture(scope="module")
def mall():
    return load_table(demo_data_path())


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory, mall):
    seg = Segmenter(k=5, features=FEATURES, random_state=0).fit(mall)
    folder = tmp_path_factory.mktemp("b") / "model"
    save_bundle(seg, folder, training=mall, summary={"input_sha256": "x" * 64,
                                                     "n_customers": 200})
    return folder


@pytest.mark.parametrize("algorithm", ["kmeans", "hierarchical", "gmm", "kprototypes",
                                       "hdbscan", "deep"])
def test_every_method_round_trips(tmp_path, mall, algorithm):
    if algorithm == "deep":
        pytest.importorskip("torch")
    feats = FEATURES + (["Genre"] if algorithm == "kprototypes" else [])
    seg = Segmenter(features=feats, algorithm=algorithm, random_state=0).fit(mall)
    save_bundle(seg, tmp_path / "model", training=mall)
    back = load_bundle(tmp_path / "model")
    np.testing.assert_array_equal(back.segmenter.predict(mall), seg.predict(mall))
    assert back.meta["algorithm"] == algorithm
    assert [s["name"] for s in back.meta["segments"]] == [s.name for s in seg.segments_]
    assert not hasattr(back.segmenter, "labels_")  # no training rows in the bundle


def test_meta_describes_the_model(bundle_dir):
    meta = json.loads((bundle_dir / "bundle.json").read_text())
    assert meta["format"] == "custseg-bundle" and meta["format_version"] == FORMAT_VERSION
    assert meta["features"] == FEATURES
    assert meta["feature_types"] == {f: "numeric" for f in FEATURES}
    assert meta["id_column"] == "CustomerID"
    fp = meta["training"]["features"]["Annual Income (k$)"]
    assert fp["mean"] == pytest.approx(60.56) and len(fp["deciles"]) == 11
    assert meta["training"]["input_sha256"] == "x" * 64
    assert len(meta["segments"]) == 5 and meta["segments"][0]["recommendation"]


def test_tampered_model_is_refused(tmp_path, bundle_dir):
    folder = tmp_path / "model"
    shutil.copytree(bundle_dir, folder)
    data = bytearray((folder / "model.skops").read_bytes())
    data[-100] ^= 0xFF
    (folder / "model.skops").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="SHA-256 does not match"):
        load_bundle(folder)


def test_untrusted_types_are_refused_even_with_a_matching_checksum(tmp_path, bundle_dir):
    import hashlib

    import skops.io as sio

    from custseg.io import TableInfo

    folder = tmp_path / "model"
    shutil.copytree(bundle_dir, folder)
    sio.dump(TableInfo("p", "csv", 1, 1, "0"), folder / "model.skops")  # not allow-listed
    meta = json.loads((folder / "bundle.json").read_text())
    meta["model_sha256"] = hashlib.sha256((folder / "model.skops").read_bytes()).hexdigest()
    (folder / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=r"custseg.io.TableInfo"):
        load_bundle(folder)


@pytest.mark.parametrize(("change", "message"), [
    ({"format_version": FORMAT_VERSION + 1}, "upgrade custseg"),
    ({"format_version": 0}, "unknown bundle format"),
    ({"format": "something-else"}, "not a custseg model bundle"),
])
def test_foreign_or_newer_bundles_say_why(tmp_path, bundle_dir, change, message):
    folder = tmp_path / "model"
    shutil.copytree(bundle_dir, folder)
    meta = json.loads((folder / "bundle.json").read_text())
    meta.update(change)
    (folder / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=message):
        load_bundle(folder)


def test_old_joblib_model_and_missing_files(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "segmenter.joblib").write_bytes(b"\x80\x04junk")
    with pytest.raises(BundleError, match="format 0"):
        load_bundle(old)
    with pytest.raises(BundleError, match="no such model folder"):
        load_bundle(tmp_path / "nothing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(tmp_path / "bad")


def test_output_folder_is_accepted_for_its_model(tmp_path, bundle_dir):
    shutil.copytree(bundle_dir, tmp_path / "run" / "model")
    assert load_bundle(tmp_path / "run").meta["k"] == 5


def test_scoring_in_chunks_equals_scoring_at_once(tmp_path, bundle_dir, mall):
    one = score_file(bundle_dir, demo_data_path(), tmp_path / "one.csv")
    many = score_file(bundle_dir, demo_data_path(), tmp_path / "many.csv", chunk_size=7)
    assert one.chunks == 1 and many.chunks == 29
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "many.csv").read_bytes()
    scored = pd.read_csv(tmp_path / "one.csv", dtype={"CustomerID": str})
    assert list(scored.columns) == ["CustomerID", "segment", "segment_name", "distance"]
    assert scored["CustomerID"].iloc[0] == "0001"
    seg = load_bundle(bundle_dir).segmenter
    assert scored["segment"].tolist() == seg.predict(mall).tolist()


def test_parquet_in_and_out(tmp_path, bundle_dir, mall):
    mall.to_parquet(tmp_path / "in.parquet")
    report = score_file(bundle_dir, tmp_path / "in.parquet", tmp_path / "out.parquet",
                        chunk_size=50)
    assert report.chunks == 4
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert len(out) == 200 and out["segment"].value_counts().to_dict() == {
        0: 81, 1: 39, 2: 35, 3: 23, 4: 22}


def test_bad_rows_are_named_across_chunks_and_nothing_is_written(tmp_path, bundle_dir, mall):
    df = mall.copy()
    df["Annual Income (k$)"] = df["Annual Income (k$)"].astype(object)
    df.loc[150:160, "Annual Income (k$)"] = "lots"  # 11 junk cells in the chunk 101..200
    df.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=r"row 151") as err:
        score_file(bundle_dir, tmp_path / "bad.csv", tmp_path / "out.csv", chunk_size=100)
    assert err.value.problems[0].column == "Annual Income (k$)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]
    mall.drop(columns=["Spending Score (1-100)"]).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(DataError, match="Spending Score"):
        score_file(bundle_dir, tmp_path / "short.csv", tmp_path / "out.csv")


def test_cli_score(tmp_path):
    assert run_custseg("segment", str(demo_data_path()), "--algorithm", "gmm", "--k", "5",
                       "--out", "run", "-q", cwd=tmp_path).returncode == 0
    proc = run_custseg("score", "run/model", str(demo_data_path()), "--out", "s.csv",
                       "--chunk-size", "64", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Scored 200 customers in 4 chunk(s)" in proc.stdout
    scored = pd.read_csv(tmp_path / "s.csv")
    assert "probability" in scored.columns and scored["probability"].between(0, 1).all()
    again = run_custseg("score", "run/model", str(demo_data_path()), "--out", "s.csv",
                        cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    (tmp_path / "run" / "model" / "bundle.json").write_text("{}")
    broken = run_custseg("score", "run/model", str(demo_data_path()), "--out", "t.csv",
                         cwd=tmp_path)
    assert broken.returncode == 3 and "not a custseg model bundle" in broken.stderr
    assert "Traceback" not in broken.stderr
