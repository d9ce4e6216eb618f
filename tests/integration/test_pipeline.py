"""From a file to the output folder: contents, atomicity, determinism."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import custseg.report
from custseg.errors import OutputExistsError
from custseg.io import demo_data_path
from custseg.pipeline import segment_file, write_outputs

DEMO_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


@pytest.fixture(scope="module")
def result():
    return segment_file(demo_data_path(), features=DEMO_FEATURES, random_state=0,
                        command="custseg demo")


def test_result_summary(result):
    s = result.summary
    assert s["k"] == 5 and s["n_customers"] == 200 and s["algorithm"] == "kmeans"
    assert s["features"] == DEMO_FEATURES
    assert [seg["size"] for seg in s["segments"]] == [81, 39, 35, 23, 22]
    assert s["segments"][1]["centre"]["Annual Income (k$)"] == pytest.approx(86.54, abs=0.01)
    assert s["k_selection"]["chosen_k"] == 5 and len(s["k_selection"]["scores"]) == 9
    assert s["input_sha256"] == result.info.sha256 and len(s["input_sha256"]) == 64
    assert s["seed"] == 0 and s["command"] == "custseg demo"
    json.dumps(s, allow_nan=False)  # strict JSON: no NaN or infinity


def test_segments_frame(result):
    seg = result.segments
    assert list(seg.columns[:5]) == ["CustomerID", "Genre", "Age", "Annual Income (k$)",
                                     "Spending Score (1-100)"]
    assert list(seg.columns[-3:]) == ["segment", "segment_name", "distance"]
    assert seg["CustomerID"].iloc[0] == "0001" and len(seg) == 200
    assert (seg["distance"] >= 0).all()


def test_write_outputs(tmp_path, result):
    out = write_outputs(result, tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == ["model", "profiles.csv", "report.html",
                                                     "segments.csv", "summary.json"]
    back = pd.read_csv(out / "segments.csv", dtype={"CustomerID": str})
    assert back["CustomerID"].iloc[0] == "0001"
    profiles = pd.read_csv(out / "profiles.csv")
    assert len(profiles) == 5 and profiles["segment_name"].iloc[0] == "Mid income · Mid spending"
    assert json.loads((out / "summary.json").read_text())["k"] == 5
    assert (out / "model" / "model.skops").stat().st_size > 0
    assert json.loads((out / "model" / "bundle.json").read_text())["k"] == 5
    with pytest.raises(OutputExistsError):
        write_outputs(result, out)
    write_outputs(result, out, force=True)


def test_failure_while_writing_leaves_nothing(tmp_path, result, monkeypatch):
    def broken(_result):
        raise RuntimeError("disk full")

    monkeypatch.setattr(custseg.report, "render_report", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_outputs(result, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []
    # an existing output survives a failed --force run untouched
    monkeypatch.undo()
    write_outputs(result, tmp_path / "run")
    before = (tmp_path / "run" / "segments.csv").read_bytes()
    monkeypatch.setattr(custseg.report, "render_report", broken)
    with pytest.raises(RuntimeError):
        write_outputs(result, tmp_path / "run", force=True)
    assert (tmp_path / "run" / "segments.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_same_seed_gives_identical_segments_csv(tmp_path):
    a = write_outputs(segment_file(demo_data_path(), random_state=3), tmp_path / "a")
    b = write_outputs(segment_file(demo_data_path(), random_state=3), tmp_path / "b")
    assert (a / "segments.csv").read_bytes() == (b / "segments.csv").read_bytes()
    assert (a / "profiles.csv").read_bytes() == (b / "profiles.csv").read_bytes()


def test_no_id_column_gets_row_numbers(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("a,b\n" + "\n".join(f"{i % 7},{(i * 3) % 11}" for i in range(60)) + "\n")
    res = segment_file(f, k=3, random_state=0)
    assert res.segments.columns[0] == "row"
    assert res.segments["row"].tolist()[:3] == [1, 2, 3]


def test_report_is_self_contained(result):
    html = custseg.report.render_report(result)
    assert html.count("<script") >= 1 and "<script src=" not in html
    for s in result.summary["segments"]:
        assert s["name"] in html
    assert html.count("plotly.js v") == 1  # the library inlined once, not per chart


def test_output_folder_has_ordinary_permissions(tmp_path, result):
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    out = write_outputs(result, tmp_path / "run")
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
