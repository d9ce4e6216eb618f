"""summary.json of real runs against docs/summary.schema.json (JSON Schema, draft 2020-12).

The runs are real ``custseg`` commands in a subprocess: the demo, the Wholesale customers data
and a messy semicolon-separated cp1252 file (junk, missing markers, blank cells, a duplicate
row, a date column, free text).  Mutated copies of a real summary check that the schema
rejects what it should (missing keys, wrong types, out-of-range values) and accepts what may
legitimately be null.  Consistency rules that a JSON Schema cannot express (k = number of
segments, sizes add up, the votes and the confidence follow docs/choosing-k.md) are checked
on the real runs too.
"""

from __future__ import annotations

import copy
import csv
import json
import random
import re
import typing
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conftest import ROOT, SUMMARY_SCHEMA, invoke
from custseg.summary import Def, Schema, Summary, schema_text, summary_schema
from golden import CASES, EXPECTED, RUN_KEYS

SCHEMA_PATH = SUMMARY_SCHEMA
SCHEMA_DOC = ROOT / "docs" / "summary-schema.md"




@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text("utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(validator: Draft202012Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(doc)]


def _run_and_load(out: Path, *args: str, cwd: Path) -> dict[str, Any]:
    res = invoke(*args, "--quiet", cwd=cwd)
    assert res.exit_code == 0, res.output
    return json.loads((out / "summary.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def demo_summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cwd = tmp_path_factory.mktemp("schema-demo")
    return _run_and_load(cwd / "custseg-demo", "demo", cwd=cwd)


@pytest.fixture(scope="module")
def wholesale_summary(tmp_path_factory: pytest.TempPathFactory,
                      wholesale_path: Path) -> dict[str, Any]:
    cwd = tmp_path_factory.mktemp("schema-wholesale")
    return _run_and_load(cwd / "ws", "segment", str(wholesale_path), "--out", "ws", cwd=cwd)


def write_messy_csv(path: Path) -> None:
    """120 customers + 1 exact duplicate row; ';' delimiter, cp1252, decimal commas, a '12k'
    junk cell, a '?' marker, a blank cell, a date column and a free-text column."""
    rng = random.Random(1)
    rows = [["client_no", "Note", "Joined", "Region", "Visits", "Spend £"]]
    for i in range(1, 121):
        rows.append([f"C{i:04d}", f"called on {rng.random():.6f}", f"2023-0{1 + i % 9}-1{i % 9}",
                     rng.choice("NSEW"), str(rng.randint(1, 30)),
                     f"{rng.uniform(10, 500):.2f}".replace(".", ",")])
    rows[5][4] = "12k"
    rows[7][5] = "?"
    rows[9][4] = ""
    rows.append(list(rows[3]))
    with path.open("w", newline="", encoding="cp1252") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)


@pytest.fixture(scope="module")
def messy_summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cwd = tmp_path_factory.mktemp("schema-messy")
    write_messy_csv(cwd / "messy.csv")
    return _run_and_load(cwd / "out", "segment", "messy.csv", "--out", "out", cwd=cwd)


RUNS = ["demo_summary", "wholesale_summary", "messy_summary"]


# ------------------------------------------------------------------ the schema itself
def test_schema_is_draft_2020_12_and_valid(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["segment"]["additionalProperties"] is False
    contract = {"n_customers", "features", "k", "algorithm", "k_selection", "segments",
                "cleaning", "timings", "versions", "seed", "input_sha256"}
    assert contract <= set(schema["required"])
    optional = {"unassigned", "unclear_customers", "stability", "categorical_weight",
                "hierarchy", "rfm", "transactions", "engine",  # only for some methods or options
                # column roles, labels, outliers, feature weights: the standard engine
                "columns", "derived", "labels", "near_duplicates", "outliers", "reduction",
                "value_labels",  # only when a labels file names codes
                "echoes",  # only when a describing column moves with a feature
                "spend_columns"}  # only when the features hold amounts bought
    assert set(schema["properties"]) - set(schema["required"]) <= optional
    assert set(schema["required"]) <= set(schema["properties"])
    ksel = schema["$defs"]["k_selection"]["required"]
    assert {"method", "chosen_k", "confidence", "confidence_label", "scores", "votes"} <= set(ksel)
    assert {"inertia", "silhouette", "calinski_harabasz", "davies_bouldin"} <= set(
        schema["$defs"]["k_score"]["required"])
    assert {"id", "name", "size", "share", "centre", "recommendation"} <= set(
        schema["$defs"]["segment"]["required"])


def test_schema_and_markdown_document_every_key(schema: dict[str, Any]) -> None:
    """Every key of the schema has a description or is described in summary-schema.md."""
    doc = SCHEMA_DOC.read_text("utf-8")
    objects = {
        "top level": schema,
        "k_selection": schema["$defs"]["k_selection"],
        "k_score": schema["$defs"]["k_score"],
        "segment": schema["$defs"]["segment"],
        "problem": schema["$defs"]["problem"],
        **{name: schema["properties"][name]
           for name in ("quality", "roles", "preprocessing", "cleaning", "input", "timings",
                        "versions")},
    }
    undocumented = [f"{where}.{key}" for where, obj in objects.items()
                    for key in obj["properties"] if f"`{key}`" not in doc]
    assert not undocumented, f"keys missing from docs/summary-schema.md: {undocumented}"
    no_description = [k for k, v in schema["properties"].items()
                      if "description" not in v and "$ref" not in v]
    assert not no_description


# ------------------------------------------------------------------ generated from the types
def test_committed_schema_is_the_generated_one() -> None:
    """docs/summary.schema.json is ``python -m custseg.summary`` (custseg.summary's types):
    after changing a type, regenerate it."""
    assert SCHEMA_PATH.read_text("utf-8") == schema_text(), (
        "docs/summary.schema.json is stale: run "
        "`python -m custseg.summary > docs/summary.schema.json`")


def _hints_hold_any(tp: Any, seen: set[int]) -> list[str]:
    """Places in the summary types typed ``Any`` (walking Annotated, unions, lists, dicts
    and nested TypedDicts)."""
    if tp is Any:
        return ["Any"]
    if id(tp) in seen:
        return []
    seen.add(id(tp))
    found = []
    if typing.is_typeddict(tp):
        for key, hint in typing.get_type_hints(tp, include_extras=True).items():
            found += [f"{tp.__name__}.{key}" for _ in _hints_hold_any(hint, seen)]
        return found
    for arg in typing.get_args(tp):
        if not isinstance(arg, Schema):
            found += _hints_hold_any(arg, seen)
    return found


def test_summary_types_hold_no_any() -> None:
    assert _hints_hold_any(Summary, set()) == []


class _ToyPart(typing.TypedDict):
    """A part."""

    n: typing.Annotated[int, Def("positive", minimum=1)]


class _Toy(typing.TypedDict):
    a: typing.Annotated[str | None, Schema("A.", minLength=1)]
    b: typing.NotRequired[typing.Literal["x", "y"]]
    c: list[typing.Annotated[_ToyPart, Def("part")]]
    d: typing.Annotated[_ToyPart, Schema(extra=int)]
    e: typing.Annotated[dict[str, float], Schema(enum=lambda: ["p", "q"])]


def test_generator_rules() -> None:
    """The conventions of custseg.summary on a toy type: closed objects, NotRequired keys
    left out of ``required``, Def parts written once under $defs, nullable unions, enums,
    ``extra`` values and keyword functions called at generation."""
    from custseg.typed_schema import SchemaGenerator

    gen = SchemaGenerator()
    schema = gen.schema(_Toy)
    assert schema["additionalProperties"] is False and schema["required"] == ["a", "c", "d", "e"]
    props = schema["properties"]
    assert props["a"] == {"description": "A.", "type": ["string", "null"], "minLength": 1}
    assert props["b"] == {"enum": ["x", "y"]}
    assert props["c"] == {"type": "array", "items": {"$ref": "#/$defs/part"}}
    assert props["d"]["additionalProperties"] == {"type": "integer"}
    assert props["d"]["properties"]["n"] == {"$ref": "#/$defs/positive"}
    assert props["e"]["enum"] == ["p", "q"]
    assert gen.defs["positive"] == {"type": "integer", "minimum": 1}
    assert gen.defs["part"]["description"] == "A part."


def test_column_roles_enum_follows_custseg_roles() -> None:
    from custseg.roles import ROLES

    role = summary_schema()["properties"]["columns"]["items"]["properties"]["role"]
    assert role["enum"] == list(ROLES)


def _with_run_keys(summary: dict[str, Any]) -> dict[str, Any]:
    """A golden summary (saved without timings, versions and command, which vary between
    runs) with values of the right form put back."""
    assert not set(RUN_KEYS) & set(summary)
    return {**summary, "command": "custseg demo",
            "timings": {"read": 0.1, "segment": 1.0, "prepare_outputs": 0.2, "write": 0.3},
            "versions": {"custseg": summary["custseg_version"], "python": "3.11.7",
                         "scikit-learn": "1.9.1", "pandas": "3.1.1", "numpy": "2.4.6"}}


@pytest.mark.parametrize("case", list(CASES))
def test_golden_summary_validates(case: str, validator: Draft202012Validator) -> None:
    summary = json.loads((EXPECTED / case / "summary.json").read_text("utf-8"))
    assert _errors(validator, _with_run_keys(summary)) == []


# ------------------------------------------------------------------ real runs validate
@pytest.mark.parametrize("run", RUNS)
def test_real_summary_validates(run: str, request: pytest.FixtureRequest,
                                validator: Draft202012Validator) -> None:
    summary = request.getfixturevalue(run)
    assert _errors(validator, summary) == []


def test_messy_run_exercises_the_optional_parts(messy_summary: dict[str, Any]) -> None:
    """The messy file really fills warnings and cleaning (else its validation proves little)."""
    s = messy_summary
    assert s["input"]["encoding"] == "cp1252" and s["input"]["delimiter"] == ";"
    assert s["cleaning"]["duplicate_rows_dropped"] == 1
    assert s["cleaning"]["junk_coerced"] == {"Visits": 1}
    assert s["cleaning"]["missing_markers"] == {"Spend £": 1}
    assert s["cleaning"]["imputed"] == {"Visits": 2, "Spend £": 1}
    assert {w["code"] for w in s["warnings"]} >= {"junk", "missing-marker", "duplicate-row"}
    assert "Joined" in s["roles"]["dates"] and "Note" in s["roles"]["ignored"]
    assert s["n_customers"] == 120


def expected_votes_and_confidence(ksel: dict[str, Any]) -> tuple[dict[str, int], float]:
    """docs/choosing-k.md, sections 2-4, recomputed from the per-k scores."""
    scores = ksel["scores"]
    best = {
        "silhouette": max(scores, key=lambda s: s["silhouette"])["k"],
        "calinski_harabasz": max(scores, key=lambda s: s["calinski_harabasz"])["k"],
        "davies_bouldin": min(scores, key=lambda s: s["davies_bouldin"])["k"],
    }
    chosen = ksel["chosen_k"]
    agreement = sum(v == chosen for v in ksel["votes"].values()) / 4
    sil = {s["k"]: s["silhouette"] for s in scores}
    best_sil = max(sil.values())
    structure = min(max((best_sil - 0.25) / (0.70 - 0.25), 0.0), 1.0)
    own = sil[chosen]
    others = [v for k, v in sil.items() if k != chosen]
    margin = (own - max(others)) / own if own > 0 and others else 0.0
    clarity = min(max(margin / 0.05, 0.0), 1.0)
    return best, 0.5 * agreement + 0.3 * structure + 0.2 * clarity


@pytest.mark.parametrize("run", RUNS)
def test_summary_is_consistent(run: str, request: pytest.FixtureRequest) -> None:
    s = request.getfixturevalue(run)
    ksel = s["k_selection"]
    segs = s["segments"]
    assert s["k"] == ksel["chosen_k"] == len(segs)
    assert [seg["id"] for seg in segs] == list(range(s["k"]))
    sizes = [seg["size"] for seg in segs]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(sizes) == s["n_customers"]
    for seg in segs:
        assert seg["share"] == pytest.approx(seg["size"] / s["n_customers"], abs=1e-6)
        assert set(seg["centre"]) == set(s["preprocessing"]["numeric"]) == set(seg["median"])
        assert set(seg["distinguishing"]) <= set(s["features"])
    assert len({seg["name"] for seg in segs}) == len(segs), "segment names must be unique"
    derived = {d["name"] for d in s.get("derived", [])}
    assert set(s["features"]) <= (set(s["roles"]["numeric"]) | set(s["roles"]["categorical"])
                                  | derived)
    assert s["cleaning"]["log_transformed"] == s["preprocessing"]["log_columns"]
    assert s["input_sha256"] and s["versions"]["custseg"] == s["custseg_version"]
    assert ksel["chosen_k"] in [sc["k"] for sc in ksel["scores"]]
    assert [sc["k"] for sc in ksel["scores"]] == sorted(sc["k"] for sc in ksel["scores"])
    if ksel["method"] == "consensus":
        if ksel.get("outside") and not ksel["outside"]["taken"]:
            # chosen for action among the useful range (docs/choosing-k.md, 3b)
            lo, hi = ksel["useful_range"]
            assert not lo <= ksel["outside"]["k"] <= hi and lo <= ksel["chosen_k"] <= hi
            ksel = {**ksel, "scores": [sc for sc in ksel["scores"] if lo <= sc["k"] <= hi]}
        best, confidence = expected_votes_and_confidence(ksel)
        assert {k: ksel["votes"][k] for k in best} == best
        assert ksel["votes"]["elbow"] == ksel["elbow_k"]
        counts = Counter(v for v in ksel["votes"].values() if v is not None)
        assert counts[ksel["chosen_k"]] == max(counts.values())
        assert ksel["confidence"] == pytest.approx(confidence, abs=2e-4)
        best_sil = max(sc["silhouette"] for sc in ksel["scores"])
        label = ("low" if best_sil < 0.25 else "high" if confidence >= 0.65
                 else "medium" if confidence >= 0.4 else "low")
        assert ksel["confidence_label"] == label
        lead = rf"k = {ksel['chosen_k']}: {counts[ksel['chosen_k']]} of 4 signals agree"
        if ksel.get("outside") and not ksel["outside"]["taken"]:
            assert re.search(r"\. Among \d+-\d+: " + lead, ksel["explanation"])
        else:
            assert re.match(lead, ksel["explanation"])


def test_demo_summary_numbers(demo_summary: dict[str, Any]) -> None:
    """The worked example of docs/choosing-k.md."""
    ksel = demo_summary["k_selection"]
    assert ksel["votes"] == {"elbow": 5, "silhouette": 5, "calinski_harabasz": 10,
                             "davies_bouldin": 5}
    assert ksel["confidence"] == pytest.approx(0.7003, abs=1e-4)
    assert (ksel["confidence_label"], ksel["structure"]) == ("high", "reasonable")
    assert demo_summary["seed"] == 0 and demo_summary["command"] == "custseg demo"


# ------------------------------------------------------------------ the schema rejects
Mutation = Callable[[dict[str, Any]], None]


def _delete(*path: str | int) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return mutate


def _set(value: Any, *path: str | int) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _make_fixed(doc: dict[str, Any]) -> None:
    """A consensus run relabelled 'fixed' but keeping its votes and 9 scores: inconsistent."""
    doc["k_selection"]["method"] = "fixed"


INVALID: dict[str, Mutation] = {
    **{f"missing {key}": _delete(key) for key in (
        "n_customers", "features", "k", "algorithm", "k_selection", "segments", "cleaning",
        "timings", "versions", "seed", "input_sha256", "schema_version", "quality", "roles",
        "preprocessing", "warnings", "input", "command")},
    **{f"missing k_selection.{key}": _delete("k_selection", key) for key in (
        "method", "chosen_k", "confidence", "confidence_label", "scores", "votes")},
    **{f"missing scores[0].{key}": _delete("k_selection", "scores", 0, key) for key in (
        "k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin")},
    **{f"missing segments[0].{key}": _delete("segments", 0, key) for key in (
        "id", "name", "size", "share", "centre", "recommendation")},
    "missing votes.silhouette": _delete("k_selection", "votes", "silhouette"),
    "k as text": _set("5", "k"),
    "k below 2": _set(1, "k"),
    "k as float": _set(5.5, "k"),
    "n_customers negative": _set(-1, "n_customers"),
    "features not a list": _set("Annual Income (k$)", "features"),
    "features empty": _set([], "features"),
    "unknown algorithm": _set("dbscan", "algorithm"),
    "extra top-level key": _set(1, "surprise"),
    "extra segment key": _set(1, "segments", 0, "surprise"),
    "segments not a list": _set({}, "segments"),
    "size zero": _set(0, "segments", 0, "size"),
    "size as text": _set("81", "segments", 0, "size"),
    "share above 1": _set(1.5, "segments", 0, "share"),
    "centre value as a list": _set([55.3], "segments", 0, "centre", "Annual Income (k$)"),
    "empty recommendation": _set("", "segments", 0, "recommendation"),
    "recommendation null": _set(None, "segments", 0, "recommendation"),
    "level not Low/Mid/High": _set("Very high", "segments", 0, "levels", "Age"),
    "confidence above 1": _set(1.2, "k_selection", "confidence"),
    "unknown confidence label": _set("very high", "k_selection", "confidence_label"),
    "label high with low confidence": _set(0.5, "k_selection", "confidence"),
    "unknown method": _set("magic", "k_selection", "method"),
    "fixed method with votes": _make_fixed,
    "silhouette above 1": _set(1.5, "k_selection", "scores", 0, "silhouette"),
    "negative inertia": _set(-1.0, "k_selection", "scores", 0, "inertia"),
    "inertia null": _set(None, "k_selection", "scores", 0, "inertia"),
    "silhouette vote null": _set(None, "k_selection", "votes", "silhouette"),
    "vote for k=1": _set(1, "k_selection", "votes", "davies_bouldin"),
    "unknown vote": _set(3, "k_selection", "votes", "gap"),
    "sha256 too short": _set("abc", "input_sha256"),
    "sha256 upper case": _set("A" * 64, "input_sha256"),
    "seed as text": _set("0", "seed"),
    "negative seed": _set(-1, "seed"),
    "unknown input format": _set("xls", "input", "format"),
    "unknown scaling": _set("zscore", "preprocessing", "scaling"),
    "clip 0.5": _set(0.5, "preprocessing", "clip"),
    "timing negative": _set(-0.1, "timings", "read"),
    "timings missing segment": _delete("timings", "segment"),
    "versions missing numpy": _delete("versions", "numpy"),
    "warning with unknown severity": _set(
        [{"column": None, "code": "x", "severity": "info", "message": "m", "rows": [],
          "values": []}], "warnings"),
    "cleaning count negative": _set(-1, "cleaning", "duplicate_rows_dropped"),
    "cleaning extra key": _set(1, "cleaning", "surprise"),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_schema_rejects(name: str, demo_summary: dict[str, Any],
                        validator: Draft202012Validator) -> None:
    doc = copy.deepcopy(demo_summary)
    INVALID[name](doc)
    assert _errors(validator, doc), f"the schema accepted a summary with {name}"


VALID: dict[str, Mutation] = {
    "NaN silhouette written as null": _set(None, "k_selection", "scores", 1, "silhouette"),
    "NaN Davies-Bouldin written as null": _set(None, "k_selection", "scores", 1,
                                               "davies_bouldin"),
    "quality silhouette null": _set(None, "quality", "silhouette"),
    "no elbow": lambda d: (_set(None, "k_selection", "votes", "elbow")(d),
                           _set(None, "k_selection", "elbow_k")(d)),
    "library run without seed": _set(None, "seed"),
    "parquet input": lambda d: d["input"].update(format="parquet", encoding=None,
                                                 delimiter=None),
    "no id column": _set(None, "roles", "id_column"),
    "impute drop": lambda d: (d["cleaning"].update(rows_dropped_missing=3, imputed={}),
                              d["preprocessing"].update(impute="drop")),
    "mean of an all-missing feature in a segment": _set(None, "segments", 0, "centre",
                                                        "Annual Income (k$)"),
    "empty command (library)": _set("", "command"),
}


@pytest.mark.parametrize("name", list(VALID))
def test_schema_accepts_nullable_values(name: str, demo_summary: dict[str, Any],
                                        validator: Draft202012Validator) -> None:
    doc = copy.deepcopy(demo_summary)
    VALID[name](doc)
    assert _errors(validator, doc) == []


@pytest.mark.parametrize("method", ["fixed", "only-possible"])
def test_schema_accepts_a_fixed_k_selection(method: str, demo_summary: dict[str, Any],
                                            validator: Draft202012Validator) -> None:
    doc = copy.deepcopy(demo_summary)
    ksel = doc["k_selection"]
    ksel.update(method=method, scores=[ksel["scores"][3]], votes={}, elbow_k=None,
                confidence=1.0, confidence_label="fixed",
                explanation="k = 5 was fixed by the user; silhouette 0.55 (reasonable "
                            "structure).")
    assert _errors(validator, doc) == []
    ksel["confidence_label"] = "high"
    assert _errors(validator, doc), "a fixed k must be labelled 'fixed'"


def test_no_structure_forces_a_low_label(demo_summary: dict[str, Any],
                                         validator: Draft202012Validator) -> None:
    doc = copy.deepcopy(demo_summary)
    doc["k_selection"]["structure"] = "none"
    assert _errors(validator, doc), "structure 'none' with label 'high' must be rejected"
    doc["k_selection"]["confidence_label"] = "low"
    assert _errors(validator, doc) == []
