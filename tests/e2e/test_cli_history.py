"""In process: ``segment --store`` records runs with stable segment identities, and
``compare`` shows who moved (from folders, or from the store by run id)."""

from __future__ import annotations

import json

from conftest import invoke

FEATURES = "Annual Income (k$),Spending Score (1-100)"


def test_segment_store_and_compare(tmp_path, mall_path):
    db = f"sqlite:///{tmp_path / 'history.db'}"
    r6 = invoke("segment", str(mall_path), "--features", FEATURES, "--k", "6",
                "--out", str(tmp_path / "k6"), "--store", db, cwd=tmp_path)
    assert r6.exit_code == 0, r6.stderr
    assert "Recorded as run 1" in r6.stdout and "first run in this store" in r6.stdout
    r5 = invoke("segment", str(mall_path), "--features", FEATURES, "--k", "5",
                "--out", str(tmp_path / "k5"), "--store", db, cwd=tmp_path)
    assert r5.exit_code == 0, r5.stderr
    assert "Recorded as run 2" in r5.stdout and "against run 1" in r5.stdout
    assert r5.stdout.count(", kept (segment") >= 4  # the five persist, renumbered or not
    assert "VANISHED: #" in r5.stdout  # k = 6 split one segment in two: one has no match

    folders = invoke("compare", str(tmp_path / "k6"), str(tmp_path / "k5"), "--out",
                     str(tmp_path / "cmp"), cwd=tmp_path)
    assert folders.exit_code == 0, folders.stderr
    assert "200 customers in both runs" in folders.stdout
    assert "VANISHED segment" in folders.stdout
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert "sankey" in html and "<script src=" not in html
    doc = json.loads((tmp_path / "cmp" / "compare.json").read_text())

    stored = invoke("compare", "1", "2", "--store", db, "--out", str(tmp_path / "cmp2"),
                    cwd=tmp_path)
    assert stored.exit_code == 0, stored.stderr
    doc2 = json.loads((tmp_path / "cmp2" / "compare.json").read_text())
    assert doc2["migration"] == doc["migration"]  # the same runs, from the store
    assert doc2["matching"]["pairs"] == doc["matching"]["pairs"]


def test_bad_store_and_runs(tmp_path, mall_path):
    r = invoke("segment", str(mall_path), "--out", str(tmp_path / "o"), "--store",
               "mysql://x/y", cwd=tmp_path)
    assert r.exit_code == 2 and "unsupported database" in r.stderr
    assert not (tmp_path / "o").exists()  # refused before any work
    r = invoke("compare", str(tmp_path / "nope"), "2", cwd=tmp_path)
    assert r.exit_code == 3 and "no such run folder" in r.stderr
    r = invoke("compare", "1", "2", "--out", str(tmp_path / "c"), cwd=tmp_path)
    assert r.exit_code == 2 and "--store" in r.stderr
