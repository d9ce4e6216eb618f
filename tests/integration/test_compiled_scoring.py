"""``custseg score`` of a K-Means model on numeric features reads ``bundle.json``'s
``scoring`` section (the preprocessing as arrays, the centres) instead of loading the model
file: the same file, byte for byte, as scoring through the loaded model, on the shared real
tables and both engines, without importing scikit-learn; a section that does not fit its
model is refused with the reason."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import invoke
from custseg import Segmenter, demo_data_path, load_table
from custseg.bundle import BundleError, save_bundle
from custseg.compiled import check_section, compile_steps
from custseg.scoring import score_file


def _without_section(model: Path, dest: Path) -> Path:
    """A copy of the bundle at ``model`` without its scoring section: scored by loading the
    model file (bundle.json is not under the model file's checksum)."""
    shutil.copytree(model, dest)
    meta = json.loads((dest / "bundle.json").read_text("utf-8"))
    del meta["scoring"]
    (dest / "bundle.json").write_text(json.dumps(meta), "utf-8")
    return dest


def _dob_table(path: Path, n: int = 400) -> Path:
    """Customers with a date of birth (the feature Age, derived) and a money column with
    junk cells and currency marks."""
    rng = np.random.default_rng(1)
    group = rng.integers(0, 3, n)
    born = pd.Timestamp("1950-01-01") + pd.to_timedelta(
        np.array([3_000, 11_000, 17_000])[group] + rng.integers(0, 2_000, n), "D")
    spend = np.round(rng.lognormal(np.array([5, 6, 7])[group], 0.3), 2)
    money = [f"${v:,.2f}" for v in spend]
    money[7] = "n/a"
    pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(n)],
                  "Date_of_Birth": born.strftime("%d/%m/%Y"),
                  "Last_Purchase_Date": (pd.Timestamp("2024-06-30") - pd.to_timedelta(
                      rng.integers(0, 300, n), "D")).strftime("%Y-%m-%d"),
                  "Total_Spend": money,
                  "Num_Orders": rng.poisson(np.array([3, 8, 15])[group])}).to_csv(path,
                                                                                  index=False)
    return path


def _levels_table(path: Path, n: int = 400) -> Path:
    """Customers with an income band of ordered levels (read as its rank: a feature), one
    band left blank and one "Unknown", beside two amounts."""
    rng = np.random.default_rng(2)
    group = rng.integers(0, 3, n)
    bands = np.array(["Less than $40K", "$40K - $60K", "$60K - $80K", "$80K - $120K",
                      "$120K +"])
    band = bands[np.clip(np.array([0, 2, 3])[group] + rng.integers(0, 2, n), 0, 4)].astype(object)
    band[5], band[9] = None, "Unknown"
    pd.DataFrame({"CLIENTNUM": np.arange(7_000_000, 7_000_000 + n),
                  "Income_Category": band,
                  "Credit_Limit": np.round(rng.lognormal(np.array([7.5, 8.5, 9.5])[group],
                                                         0.3), 1),
                  "Total_Trans_Amt": rng.poisson(np.array([2_000, 4_000, 9_000])[group])}
                 ).to_csv(path, index=False)
    return path


def _table(name: str, shared: Path, tmp: Path) -> Path:
    if name == "dates of birth":
        return _dob_table(tmp / "dob.csv")
    if name == "ordered levels":
        return _levels_table(tmp / "levels.csv")
    if name == "credit_card_clients":  # the first 3,000 clients: the same columns, quicker
        path = tmp / "credit.csv"
        path.write_text("".join((shared / f"{name}.csv").open().readlines()[:3001]))
        return path
    return shared / f"{name}.csv"


@pytest.mark.parametrize(("name", "engine"), [
    ("mall_customers", "standard"), ("wholesale_customers", "standard"),
    ("wholesale_customers", "local"), ("bank_marketing", "standard"),
    ("credit_card_clients", "standard"), ("dates of birth", "standard"),
    ("ordered levels", "standard")])
def test_the_section_scores_as_the_model_does(tmp_path: Path, shared_data: Path, name: str,
                                              engine: str) -> None:
    path = _table(name, shared_data, tmp_path)
    run = invoke("segment", str(path), "--out", "run", "--engine", engine,
                 "-q", cwd=tmp_path)
    assert run.exit_code == 0, run.stderr
    meta = json.loads((tmp_path / "run" / "model" / "bundle.json").read_text("utf-8"))
    if "scoring" not in meta:  # categorical features: the model is needed
        assert "categorical" in meta["feature_types"].values()
        return
    if name == "ordered levels":  # read as ranks: scored from the section too
        assert "Income_Category" in meta["scoring"]["numeric"]
    full = _without_section(tmp_path / "run" / "model", tmp_path / "full")
    compiled = score_file(tmp_path / "run" / "model", path, tmp_path / "a.csv", chunk_size=999)
    loaded = score_file(full, path, tmp_path / "b.csv", chunk_size=999)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert compiled.segment_counts == loaded.segment_counts and compiled.rows > 0
    # the customers it was made from are scored to their own segments
    segments = pd.read_csv(tmp_path / "run" / "segments.csv")
    scored = pd.read_csv(tmp_path / "a.csv")
    key = meta["id_column"] or "row"
    if key == "row":
        segments["row"] = np.arange(1, len(segments) + 1)
    both = scored.merge(segments, on=key, suffixes=("", "_fit"))
    assert len(both) == len(segments)
    assert (both["segment"] == both["segment_fit"]).mean() == 1.0


def test_bundles_that_need_their_model_have_no_section(tmp_path: Path) -> None:
    mall = load_table(demo_data_path())
    for algorithm, features in [("gmm", ["Annual Income (k$)", "Age"]),
                                ("kmeans", ["Annual Income (k$)", "Genre"])]:
        seg = Segmenter(k=3, features=features, algorithm=algorithm, random_state=0).fit(mall)
        meta = json.loads((save_bundle(seg, tmp_path / algorithm / "model", training=mall)
                           / "bundle.json").read_text("utf-8"))
        assert "scoring" not in meta, algorithm
    seg = Segmenter(k=3, features=["Annual Income (k$)", "Age"], random_state=0).fit(mall)
    meta = json.loads((save_bundle(seg, tmp_path / "k" / "model", training=mall)
                       / "bundle.json").read_text("utf-8"))
    assert [s["step"] for s in meta["scoring"]["steps"]][-2:] == ["affine", "weights"]
    assert np.array(meta["scoring"]["centres"]).shape == (3, 2)


def test_scoring_from_the_section_imports_no_scikit_learn(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("demo", "--out", str(out), "-q").exit_code == 0
    code = ("import sys; from custseg.scoring import score_file; "
            f"r = score_file({str(out / 'model')!r}, {str(demo_data_path())!r}, "
            f"{str(tmp_path / 's.csv')!r}); "
            "print(r.rows, sorted({m.split('.')[0] for m in sys.modules} & "
            "{'sklearn', 'skops', 'scipy'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["200", "[]"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s["centres"].pop(), "centres are 4 x 2, not 5 x 2"),
    (lambda s: s["steps"][0]["fill"].append(1.0), "fill has 3 values for 2"),
])
def test_a_section_that_does_not_fit_its_model_is_refused(tmp_path: Path, change,
                                                          message: str) -> None:
    assert invoke("demo", "--out", "run", "-q", cwd=tmp_path).exit_code == 0
    path = tmp_path / "run" / "model" / "bundle.json"
    meta = json.loads(path.read_text("utf-8"))
    change(meta["scoring"])
    path.write_text(json.dumps(meta), "utf-8")
    with pytest.raises(BundleError, match=message):
        score_file(tmp_path / "run", demo_data_path(), tmp_path / "s.csv")
    proc = invoke("score", "run", str(demo_data_path()), "--out", "s.csv", cwd=tmp_path)
    assert proc.exit_code == 3 and "Traceback" not in proc.stderr
    assert not (tmp_path / "s.csv").exists()


def test_an_unknown_step_is_refused_before_any_customer() -> None:
    with pytest.raises(ValueError, match="unknown preprocessing steps \\['quantile'\\]"):
        compile_steps([{"step": "quantile"}])
    with pytest.raises(ValueError, match="scale has 2 values for 1"):
        check_section({"numeric": ["a", "b"], "centres": [[0, 0]],
                       "steps": [{"step": "signed_log", "mask": [True, False],
                                  "scale": [1.0, 2.0]}]}, 1)


def test_a_tampered_model_file_is_refused_though_it_is_not_loaded(tmp_path: Path) -> None:
    assert invoke("demo", "--out", "run", "-q", cwd=tmp_path).exit_code == 0
    model = tmp_path / "run" / "model" / "model.skops"
    data = bytearray(model.read_bytes())
    data[-100] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="SHA-256 does not match"):
        score_file(tmp_path / "run", demo_data_path(), tmp_path / "s.csv")
