"""Stable segment identities (Hungarian matching) and the migration between two runs."""

from __future__ import annotations

import json
import re

import pytest

from custseg.errors import DataError, InputFileError, UsageError
from custseg.history import (
    RunData,
    assign_stable_ids,
    compare_runs,
    describe_changes,
    load_run,
    load_run_folder,
    match_segments,
    render_compare_html,
    write_comparison,
)

STD = {"income": 10.0, "spend": 20.0}


def seg(i, income, spend, name=None, size=None):
    return {"id": i, "name": name or f"S{i}", "size": size,
            "centre": {"income": income, "spend": spend}}


OLD = [seg(0, 50, 50, "Mid"), seg(1, 90, 80, "Rich spender"), seg(2, 90, 20, "Rich saver"),
       seg(3, 20, 80, "Poor spender")]


def test_persisting_segments_keep_their_identity():
    # the same segments, renumbered (sizes changed) and slightly moved
    new = [seg(0, 88, 22), seg(1, 21, 78), seg(2, 52, 49), seg(3, 91, 83)]
    m = match_segments(OLD, new, STD)
    assert m.pairs == {0: 2, 1: 3, 2: 0, 3: 1}
    assert m.new == [] and m.vanished == []
    assert m.features == ["income", "spend"]
    # the distance is in standard deviations: (88-90)/10, (22-20)/20
    assert m.distances[0] == pytest.approx((0.2 ** 2 + 0.1 ** 2) ** 0.5)


def test_new_and_vanished_segments_are_said():
    new = [seg(0, 50, 52), seg(1, 90, 78), seg(2, 20, 10, "Poor saver")]  # 2 is new
    m = match_segments(OLD, new, STD)
    assert m.pairs == {0: 0, 1: 1}
    assert m.new == [2]
    assert m.vanished == [2, 3]  # the rich savers and the poor spenders are gone


def test_a_far_segment_is_never_matched_even_if_it_is_the_only_one_left():
    m = match_segments([seg(0, 0, 0)], [seg(0, 100, 100)], STD)
    assert (m.pairs, m.new, m.vanished) == ({}, [0], [0])
    m = match_segments([seg(0, 0, 0)], [seg(0, 100, 100)], STD, max_distance=100)
    assert m.pairs == {0: 0}
    with pytest.raises(UsageError):
        match_segments(OLD, OLD, STD, max_distance=0)


def test_matching_is_optimal_not_greedy():
    # greedy nearest-first would pair new 0 with old 1 (distance 0.1) and leave new 1
    # unmatched (old 0 is 1.2 away, beyond the limit); the optimum matches both
    old = [seg(0, 0, 0), seg(1, 9, 0)]
    new = [seg(0, 10, 0), seg(1, 2, 0)]
    m = match_segments(old, new, {"income": 10.0, "spend": 1.0}, max_distance=1.0)
    assert m.pairs == {0: 1, 1: 0}


def test_stable_ids():
    prev = [{**s, "stable_id": s["id"] + 10} for s in OLD]
    new = [seg(0, 50, 52), seg(1, 90, 78), seg(2, 20, 10, "Poor saver")]
    m = match_segments(prev, new, STD)
    segments, vanished = assign_stable_ids(prev, new, m, next_id=14)
    assert [(s["id"], s["stable_id"], s["status"]) for s in segments] == \
        [(0, 10, "kept"), (1, 11, "kept"), (2, 14, "new")]
    assert [(v["id"], v["stable_id"], v["name"]) for v in vanished] == \
        [(2, 12, "Rich saver"), (3, 13, "Poor spender")]


def run(label, segments, assignments, **kw):
    return RunData(label, segments, assignments, STD, id_column="id", **kw)


def test_migration_matrix_counts_exactly():
    a = run("A", [seg(0, 50, 50, "Mid"), seg(1, 90, 80, "Rich")],
            {"u1": 0, "u2": 0, "u3": 0, "u4": 1, "u5": 1, "gone1": 0, "gone2": 1})
    b = run("B", [seg(0, 91, 79, "Rich"), seg(1, 49, 50, "Mid"), seg(2, 20, 10, "Poor")],
            {"u1": 1, "u2": 0, "u3": 2, "u4": 0, "u5": 0, "new1": 2, "new2": 2, "new3": 1})
    c = compare_runs(a, b)
    assert c.matching.pairs == {0: 1, 1: 0}
    assert c.matrix.loc[0].tolist() == [1, 1, 1]  # Mid -> Rich, Mid, Poor
    assert c.matrix.loc[1].tolist() == [2, 0, 0]  # Rich -> Rich
    assert c.only_a == {0: 1, 1: 1}  # customers of A absent from B, counted apart
    assert c.only_b == {0: 0, 1: 1, 2: 2}
    assert (c.stayed, c.moved) == (3, 2)  # u1 (Mid), u4 and u5 (Rich) stayed
    by_status = {(ch["status"], ch["b"]): ch for ch in c.changes}
    rich = by_status[("kept", 0)]
    assert (rich["a"], rich["size_a"], rich["size_b"], rich["change"]) == (1, 3, 3, 0)
    mid = by_status[("kept", 1)]
    assert (mid["size_a"], mid["size_b"], mid["stayed"], mid["new_customers"]) == (4, 2, 1, 1)
    poor = by_status[("new", 2)]
    assert (poor["size_b"], poor["from_other_segments"], poor["new_customers"]) == (3, 1, 2)
    text = "\n".join(describe_changes(c))
    assert "NEW segment 2 'Poor'" in text
    assert "'Rich' kept its size" in text and "'Mid' shrank by 2" in text
    doc = c.to_dict()
    assert doc["in_both"] == 5 and doc["only_in_a"] == {"0": 1, "1": 1}


def test_vanished_segment_in_the_comparison():
    a = run("A", [seg(0, 50, 50), seg(1, 20, 80)], {"u1": 0, "u2": 1, "u3": 1})
    b = run("B", [seg(0, 50, 51)], {"u1": 0, "u2": 0, "u3": 0})
    c = compare_runs(a, b)
    assert c.matching.vanished == [1]
    assert [ch["status"] for ch in c.changes] == ["kept", "vanished"]
    assert "VANISHED segment 1" in "\n".join(describe_changes(c))
    assert c.matrix.loc[1, 0] == 2


def test_runs_without_ids_need_the_same_input():
    a = RunData("A", [seg(0, 50, 50)], {"1": 0, "2": 0}, STD, id_column=None,
                input_sha256="x")
    b = RunData("B", [seg(0, 50, 50)], {"1": 0, "2": 0}, STD, id_column=None,
                input_sha256="y")
    with pytest.raises(DataError, match="no customer id column"):
        compare_runs(a, b)
    b.input_sha256 = "x"
    c = compare_runs(a, b)
    assert c.stayed == 2 and "row number" in c.warnings[0]


def test_html_is_self_contained_with_plotly_inlined_once():
    a = run("A", [seg(0, 50, 50, "Mid"), seg(1, 90, 80, "Rich")], {"u1": 0, "u2": 1})
    b = run("B", [seg(0, 50, 50, "Mid"), seg(1, 90, 80, "Rich")], {"u1": 1, "u2": 1, "u3": 0})
    page = render_compare_html(compare_runs(a, b))
    assert page.count("plotly.js v") == 1 or len(re.findall(r"\* plotly\.js", page)) == 1
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched from elsewhere
    assert '"type":"sankey"' in page.replace(" ", "")
    assert "only in B (not in A)" in page


def test_write_and_load_folders(tmp_path, mall_path):
    from custseg.pipeline import segment_file, write_outputs

    feats = ["Annual Income (k$)", "Spending Score (1-100)"]
    for name, k in (("r5", 5), ("r6", 6)):
        result = segment_file(mall_path, features=feats, k=k, random_state=0)
        write_outputs(result, tmp_path / name, report=False)
    a, b = load_run_folder(tmp_path / "r5"), load_run_folder(tmp_path / "r6")
    assert a.id_column == "CustomerID" and len(a.assignments) == 200
    assert set(a.std) == set(feats)
    c = compare_runs(a, b)
    assert c.stayed + c.moved == 200 and not any(c.only_a.values())
    assert len(c.matching.pairs) >= 4  # most of the five segments persist at k = 6
    out = write_comparison(c, tmp_path / "cmp")
    doc = json.loads((out / "compare.json").read_text())
    assert doc["in_both"] == 200
    assert (out / "migration.csv").read_text().startswith("a,")
    result = segment_file(mall_path, features=feats, k=5, random_state=0)
    write_outputs(result, tmp_path / "r5pq", report=False, fmt="parquet")  # large runs' form
    p = load_run_folder(tmp_path / "r5pq")
    assert p.assignments == a.assignments
    with pytest.raises(InputFileError, match="not a custseg segment output"):
        load_run_folder(tmp_path)
    with pytest.raises(InputFileError, match="no such run folder"):
        load_run(str(tmp_path / "nope"))
    with pytest.raises(UsageError, match="`store=URL`"):
        load_run("3")
