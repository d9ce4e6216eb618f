"""Model bundles (safe, versioned) and batch scoring."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import invoke
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
    data = (folder / "model.skops").read_bytes()
    meta.update(model_sha256=hashlib.sha256(data).hexdigest(), model_size=len(data))
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


@pytest.mark.parametrize("chunk_size", [10_000, 200, 7])
def test_a_totals_row_at_the_end_is_not_scored(tmp_path, bundle_dir, chunk_size):
    """As ``segment``, ``score`` leaves out a totals row at the end of the file, also when
    it is alone in the last chunk (200 customers in chunks of 200)."""
    path = tmp_path / "with_total.csv"
    text = demo_data_path().read_text("utf-8")
    path.write_text(text.rstrip("\n") + "\nTotal,,7770,12112,10040\n", "utf-8")
    report = score_file(bundle_dir, path, tmp_path / "scored.csv", chunk_size=chunk_size)
    plain = score_file(bundle_dir, demo_data_path(), tmp_path / "plain.csv")
    assert report.total_rows_dropped == 1 and report.rows == 200
    assert (tmp_path / "scored.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    assert plain.total_rows_dropped == 0


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
    assert invoke("segment", str(demo_data_path()), "--algorithm", "gmm", "--k", "5",
                  "--out", "run", "-q", cwd=tmp_path).exit_code == 0
    proc = invoke("score", "run/model", str(demo_data_path()), "--out", "s.csv",
                  "--chunk-size", "64", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    assert "Scored 200 customers in 4 chunk(s)" in proc.stdout
    scored = pd.read_csv(tmp_path / "s.csv")
    assert "probability" in scored.columns and scored["probability"].between(0, 1).all()
    again = invoke("score", "run/model", str(demo_data_path()), "--out", "s.csv",
                   cwd=tmp_path)
    assert again.exit_code == 2 and "--force" in again.stderr
    (tmp_path / "run" / "model" / "bundle.json").write_text("{}")
    broken = invoke("score", "run/model", str(demo_data_path()), "--out", "t.csv",
                    cwd=tmp_path)
    assert broken.exit_code == 3 and "not a custseg model bundle" in broken.stderr
    assert "Traceback" not in broken.stderr


# --- bad bundles: refused with a clear error, never a traceback, a wrong answer or a hang ---


@pytest.fixture
def copy_of(tmp_path, bundle_dir):
    folder = tmp_path / "model"
    shutil.copytree(bundle_dir, folder)
    return folder


@pytest.fixture
def deadline():
    """Fail (instead of hanging) a test that takes more than 20 s."""
    signal = pytest.importorskip("signal")
    if not hasattr(signal, "SIGALRM"):
        pytest.skip("needs SIGALRM")

    def expire(*_):
        raise TimeoutError("the bundle check hung")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _edit_meta(folder, **changes):
    meta = json.loads((folder / "bundle.json").read_text())
    meta.update(changes)
    (folder / "bundle.json").write_text(json.dumps(meta))


def _replace_model(folder, data):
    """Replace model.skops by ``data`` and make bundle.json agree (as a forger would)."""
    import hashlib

    (folder / "model.skops").write_bytes(data)
    _edit_meta(folder, model_sha256=hashlib.sha256(data).hexdigest(), model_size=len(data))


@pytest.mark.parametrize("where", ["parent", "absolute"])
def test_model_file_outside_the_bundle_is_not_followed(copy_of, where):
    outside = copy_of.parent / "elsewhere.skops"
    shutil.copy(copy_of / "model.skops", outside)  # a valid model with the right checksum
    name = "../elsewhere.skops" if where == "parent" else str(outside)
    _edit_meta(copy_of, model_file=name)
    with pytest.raises(BundleError, match=r"model_file: .* is not a plain file name"):
        load_bundle(copy_of)


def test_model_link_to_dev_zero_is_refused_at_once(copy_of, deadline):
    (copy_of / "model.skops").unlink()
    (copy_of / "model.skops").symlink_to("/dev/zero")
    with pytest.raises(BundleError, match="outside the bundle folder"):
        load_bundle(copy_of)


def test_manifest_link_to_dev_zero_is_refused_at_once(copy_of):
    """In a child process with 4 GiB of address space: reading /dev/zero whole (as custseg
    did) fills any memory, so a regression must not take the machine down with it."""
    import subprocess  # a real process: its own memory limit
    import sys

    (copy_of / "bundle.json").unlink()
    (copy_of / "bundle.json").symlink_to("/dev/zero")
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)); "
              "from custseg.bundle import BundleError, read_meta\n"
              "try: read_meta(sys.argv[1])\n"
              "except BundleError as exc: sys.exit(str(exc))")
    proc = subprocess.run([sys.executable, "-c", script, str(copy_of)], capture_output=True,
                          text=True, timeout=60)
    assert "outside the bundle folder" in proc.stderr and "Traceback" not in proc.stderr


def test_link_inside_the_bundle_is_followed(copy_of):
    (copy_of / "model.skops").rename(copy_of / "real.skops")
    (copy_of / "model.skops").symlink_to("real.skops")
    assert load_bundle(copy_of).meta["k"] == 5


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_model_that_is_not_a_regular_file_is_refused_at_once(copy_of, deadline, kind):
    import os

    (copy_of / "model.skops").unlink()
    if kind == "fifo":
        os.mkfifo(copy_of / "model.skops")  # opening it for reading would wait for a writer
    else:
        (copy_of / "model.skops").mkdir()
    with pytest.raises(BundleError, match=r"(a named pipe|a folder), not a regular file"):
        load_bundle(copy_of)


def test_huge_declared_sizes_are_refused(copy_of):
    _edit_meta(copy_of, model_size=10**15)
    with pytest.raises(BundleError, match=r"model_size: .*maximum"):
        load_bundle(copy_of)
    _edit_meta(copy_of, segments=[{"id": 0, "name": "a", "size": 10**30}])
    with pytest.raises(BundleError, match=r"segments/0/size"):
        load_bundle(copy_of)


def test_array_declaring_a_huge_shape_is_refused_without_allocating(copy_of):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(copy_of / "model.skops") as src, zipfile.ZipFile(buffer, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".npy"):  # 10**13 rows: > 80 TB if allocated
                data = data.replace(b"'shape': (", b"'shape': (10000000000000, ", 1)
            dst.writestr(info, data)
    _replace_model(copy_of, buffer.getvalue())
    with pytest.raises(BundleError, match=r"declares an array of [\d,]{18,} bytes"):
        load_bundle(copy_of)


@pytest.mark.parametrize(("change", "message"), [
    ({"format_version": True}, "unknown bundle format version 'True'"),
    ({"format_version": 1.0}, "unknown bundle format version"),
    ({"model_sha256": "abc"}, r"model_sha256: 'abc' is not a SHA-256"),
    ({"k": "5"}, r"k: '5' is not of type 'integer'"),
    ({"features": []}, "features: .* should be non-empty"),
    ({"model_file": ".hidden"}, "model_file: .* is not a plain file name"),
])
def test_manifest_is_checked_against_its_schema(copy_of, change, message):
    _edit_meta(copy_of, **change)
    with pytest.raises(BundleError, match=message):
        load_bundle(copy_of)


@pytest.mark.parametrize(("text", "message"), [
    ("[1, 2]", "a JSON object is expected, the file holds a JSON list"),
    ('"bundle"', "a JSON object is expected, the file holds a JSON str"),
    ("[" * 100_000, "not valid JSON"),
    ('{"format": NaN}', "not valid JSON"),
    (b"\xff\xfe{}", "not valid JSON"),
])
def test_manifest_that_is_not_a_json_object_is_refused(copy_of, text, message):
    path = copy_of / "bundle.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(BundleError, match=message):
        load_bundle(copy_of)


def test_oversized_manifest_is_refused_before_reading(copy_of):
    from custseg.bundle import MAX_META_BYTES

    with open(copy_of / "bundle.json", "r+b") as fh:
        fh.truncate(MAX_META_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(BundleError, match="more than the 10,485,760"):
        load_bundle(copy_of)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_model_zip_is_refused(copy_of, damage):
    data = (copy_of / "model.skops").read_bytes()
    _replace_model(copy_of, data[: len(data) // 2] if damage == "truncated" else b"PK" * 500)
    with pytest.raises(BundleError, match=r"not a readable skops model file.*segment the data"):
        load_bundle(copy_of)


def test_schema_matches_the_bounds_in_the_code():
    from importlib import resources

    import jsonschema

    from custseg.bundle import MAX_MODEL_BYTES

    schema = json.loads(resources.files("custseg").joinpath("data", "bundle.schema.json")
                        .read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["model_size"]["maximum"] == MAX_MODEL_BYTES


def test_cli_refuses_a_bad_bundle_without_traceback(tmp_path, copy_of):
    _edit_meta(copy_of, model_file="../../etc/passwd")
    proc = invoke("score", str(copy_of), str(demo_data_path()), "--out", "s.csv",
                  cwd=tmp_path)
    assert proc.exit_code == 3 and "model_file" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- reproducible bundles ---


def test_two_identical_runs_give_byte_identical_bundles(tmp_path, mall):
    import os
    import subprocess  # a real process: another interpreter, another hash seed
    import sys
    import zipfile

    script = ("import sys; from custseg import Segmenter, load_table, demo_data_path; "
              "from custseg.bundle import save_bundle; df = load_table(demo_data_path()); "
              f"seg = Segmenter(k=5, features={FEATURES!r}, random_state=0).fit(df); "
              "save_bundle(seg, sys.argv[1], training=df)")
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "a")], check=True, env=env)
    seg = Segmenter(k=5, features=FEATURES, random_state=0).fit(mall)
    save_bundle(seg, tmp_path / "b", training=mall)
    for name in ("model.skops", "bundle.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    with zipfile.ZipFile(tmp_path / "b" / "model.skops") as zf:
        names = zf.namelist()
        assert names[0] == "schema.json" and names[1:] == sorted(names[1:])
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert load_bundle(tmp_path / "b").segmenter.predict(mall).tolist() == seg.labels_.tolist()
