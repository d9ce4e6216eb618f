"""End-to-end tests of the ``custseg`` command, run in process (Typer's CliRunner, through
``conftest.invoke``) except the two that need a real process: the installed console script's
``--help`` and the import cost of the CLI module.

Runs are shared through module-scoped fixtures and several options are checked on one run when
they do not interfere.  Every summary.json produced here is also validated against
docs/summary.schema.json.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, Invoked, invoke, run_custseg, summary_validator

INCOME, SPENDING = "Annual Income (k$)", "Spending Score (1-100)"
WHOLESALE_SPENDING = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
OUTPUT_FILES = {"segments.csv", "profiles.csv", "summary.json", "report.html", "model"}
UNASSIGNED = "Not assigned (missing values)"

# README's demo table: name, size, income mean, spending mean, in segment order.
DEMO_SEGMENTS = [
    ("Mid income · Mid spending", 81, 55.3, 49.5),
    ("High income · High spending", 39, 86.5, 82.1),
    ("High income · Low spending", 35, 88.2, 17.1),
    ("Low income · Low spending", 23, 26.3, 20.9),
    ("Low income · High spending", 22, 25.7, 79.4),
]

_VALIDATOR = summary_validator()




def ok(proc: Invoked) -> Invoked:
    assert proc.exit_code == 0, f"exit {proc.exit_code}\n{proc.stdout}\n{proc.stderr}"
    return proc


def load_summary(out: Path) -> dict[str, Any]:
    """summary.json of an output folder, validated against the schema."""
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in _VALIDATOR.iter_errors(summary)]
    assert not errors, errors
    return summary


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def help_commands(text: str) -> set[str]:
    """Subcommand names listed under 'Commands:' in ``custseg --help``."""
    section = text.split("Commands:", 1)[1]
    return {m.group(1) for m in re.finditer(r"^\s{2}(\w[\w-]*)\s", section, re.MULTILINE)}


# ------------------------------------------------------------------ --help, import cost
def test_help_lists_commands(record_property: Any) -> None:
    # a real process: the installed console script itself, and how long it takes to answer
    t0 = time.perf_counter()
    proc = run_custseg("--help")
    record_property("custseg_help_seconds", round(time.perf_counter() - t0, 3))
    assert proc.returncode == 0, proc.stderr
    assert {"demo", "segment"} <= help_commands(proc.stdout)
    assert "Usage:" in proc.stdout


def test_importing_the_cli_does_not_import_heavy_libraries() -> None:
    """What keeps ``custseg --help`` well under a second, measured without timing (a real
    process: a fresh interpreter's ``sys.modules``)."""
    code = ("import custseg.cli, sys; print(sorted(m for m in sys.modules if m.split('.')[0] "
            "in {'sklearn','pandas','plotly','scipy','numpy'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ------------------------------------------------------------------ custseg demo
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    cwd = tmp_path_factory.mktemp("demo")
    proc = ok(invoke("demo", cwd=cwd))
    return cwd / "custseg-demo", proc.stdout


def test_demo_writes_every_output(demo: tuple[Path, str]) -> None:
    out, _ = demo
    assert {p.name for p in out.iterdir()} >= OUTPUT_FILES
    assert (out / "model").is_dir()
    assert {p.name for p in (out / "model").iterdir()} >= {"model.skops", "bundle.json"}


def test_demo_finds_the_readme_segments(demo: tuple[Path, str]) -> None:
    out, _ = demo
    s = load_summary(out)
    assert s["k"] == 5 and len(s["segments"]) == 5
    got = [(seg["name"], seg["size"], seg["centre"][INCOME], seg["centre"][SPENDING])
           for seg in s["segments"]]
    for (name, size, income, spending), (g_name, g_size, g_income, g_spending) in zip(
            DEMO_SEGMENTS, got, strict=True):
        assert g_name == name
        assert g_size == pytest.approx(size, abs=0.1)
        assert g_income == pytest.approx(income, abs=0.1)
        assert g_spending == pytest.approx(spending, abs=0.1)
    for seg in s["segments"]:
        assert seg["recommendation"].strip(), f"no recommendation for {seg['name']}"


def test_demo_prints_the_segments(demo: tuple[Path, str]) -> None:
    _, stdout = demo
    for name, *_ in DEMO_SEGMENTS:
        assert name in stdout
    assert "k = 5" in stdout


def test_demo_again_replaces_the_folder_and_quiet_prints_nothing(
        demo: tuple[Path, str]) -> None:
    out, _ = demo
    (out / "stale.txt").write_text("from an earlier run")
    proc = ok(invoke("demo", "--quiet", cwd=out.parent))
    assert proc.stdout == ""
    assert not (out / "stale.txt").exists()
    assert {p.name for p in out.iterdir()} >= OUTPUT_FILES
    assert load_summary(out)["k"] == 5


# ------------------------------------------------------------------ segment: Mall Customers
@pytest.fixture(scope="module")
def mall_runs(tmp_path_factory: pytest.TempPathFactory, mall_path: Path) -> tuple[Path, Path]:
    """Two runs with the same seed into two folders."""
    cwd = tmp_path_factory.mktemp("mall")
    for name in ("run1", "run2"):
        ok(invoke("segment", str(mall_path), "--out", name, "--seed", "7", "--quiet",
                  cwd=cwd))
    return cwd / "run1", cwd / "run2"


def test_segment_mall_segments_csv(mall_runs: tuple[Path, Path]) -> None:
    out = mall_runs[0]
    s = load_summary(out)
    header, rows = read_csv(out / "segments.csv")
    assert len(rows) == 200
    assert header[0] == "CustomerID"
    assert rows[0][0] == "0001" and rows[-1][0] == "0200"
    assert header[-3:] == ["segment", "segment_name", "distance"]
    assert set(header[1:-3]) == {"Genre", "Age", INCOME, SPENDING}
    names = {str(seg["id"]): seg["name"] for seg in s["segments"]}
    for row in rows:
        assert row[-2] == names[row[-3]]
        assert float(row[-1]) >= 0
    sizes = {seg["name"]: seg["size"] for seg in s["segments"]}
    counted: dict[str, int] = {}
    for row in rows:
        counted[row[-2]] = counted.get(row[-2], 0) + 1
    assert counted == sizes


def test_segment_mall_profiles_and_report(mall_runs: tuple[Path, Path]) -> None:
    out = mall_runs[0]
    s = load_summary(out)
    header, rows = read_csv(out / "profiles.csv")
    assert len(rows) == s["k"]
    assert header[:4] == ["segment", "segment_name", "size", "share"]
    assert [r[1] for r in rows] == [seg["name"] for seg in s["segments"]]
    page = (out / "report.html").read_text("utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE), "external script"
    assert not re.search(r"""<link[^>]*\bhref\s*=\s*["']?https?://""", page, re.IGNORECASE)
    assert not re.search(r"""\bsrc\s*=\s*["']?https?://""", page, re.IGNORECASE)
    for seg in s["segments"]:
        assert html.escape(seg["name"]) in page


def test_segment_mall_is_deterministic(mall_runs: tuple[Path, Path]) -> None:
    run1, run2 = mall_runs
    assert (run1 / "segments.csv").read_bytes() == (run2 / "segments.csv").read_bytes()
    assert (run1 / "profiles.csv").read_bytes() == (run2 / "profiles.csv").read_bytes()
    s1, s2 = load_summary(run1), load_summary(run2)
    for s in (s1, s2):
        del s["timings"], s["command"]
    assert s1 == s2


# ------------------------------------------------------------------ segment: Wholesale
@pytest.fixture(scope="module")
def wholesale_runs(tmp_path_factory: pytest.TempPathFactory,
                   wholesale_path: Path) -> tuple[Path, Path]:
    cwd = tmp_path_factory.mktemp("wholesale")
    for name in ("run1", "run2"):
        ok(invoke("segment", str(wholesale_path), "--out", name, "--seed", "3",
                  "--quiet", cwd=cwd))
    return cwd / "run1", cwd / "run2"


def test_segment_wholesale_roles_and_log(wholesale_runs: tuple[Path, Path]) -> None:
    s = load_summary(wholesale_runs[0])
    assert {"Channel", "Region"} <= set(s["roles"]["categorical"])
    assert s["roles"]["id_column"] is None
    assert s["features"] == WHOLESALE_SPENDING
    assert s["preprocessing"]["log_columns"] == WHOLESALE_SPENDING
    assert 2 <= s["k"] <= 10 and len(s["segments"]) == s["k"]
    for seg in s["segments"]:
        assert set(seg["categories"]) >= {"Channel", "Region"}
    header, rows = read_csv(wholesale_runs[0] / "segments.csv")
    assert header[0] == "row" and [r[0] for r in rows] == [str(i) for i in range(1, 441)]


def test_segment_wholesale_is_deterministic(wholesale_runs: tuple[Path, Path]) -> None:
    run1, run2 = wholesale_runs
    assert (run1 / "segments.csv").read_bytes() == (run2 / "segments.csv").read_bytes()


def test_no_log(tmp_path: Path, wholesale_path: Path) -> None:
    ok(invoke("segment", str(wholesale_path), "--out", "o", "--no-log", "-q",
              cwd=tmp_path))
    s = load_summary(tmp_path / "o")
    assert s["preprocessing"]["log_columns"] == [] and s["cleaning"]["log_transformed"] == []
    assert all(s["preprocessing"]["skewness"][c] > 1 for c in WHOLESALE_SPENDING)


def test_documented_wholesale_labels_file_names_the_codes(tmp_path: Path,
                                                           wholesale_path: Path) -> None:
    """docs/examples/wholesale-labels.toml, as docs/real-tables.md runs it: the codes of
    Channel and Region read by their names; a file naming a column that is not a category
    is a usage error that names it and the categorical columns."""
    shipped = ROOT / "docs" / "examples" / "wholesale-labels.toml"
    plain = ok(invoke("segment", str(wholesale_path), "--k", "3", "--out", "p", cwd=tmp_path))
    assert "codes without names: Channel, Region" in " ".join(plain.stdout.split())
    named = ok(invoke("segment", str(wholesale_path), "--labels", str(shipped), "--out", "o",
                      cwd=tmp_path))
    assert "codes without names" not in named.stdout
    s = load_summary(tmp_path / "o")
    assert s["value_labels"]["Region"] == {"1": "Lisbon", "2": "Oporto", "3": "Other region"}
    assert {lvl for seg in s["segments"] for lvl in seg["categories"]["Channel"]} == {
        "Hotel/restaurant/café", "Retail"}
    assert "Mostly household supplies and grocery" in {seg["name"].split(" · ")[0]
                                                       for seg in s["segments"]}
    page = (tmp_path / "o" / "report.html").read_text("utf-8")
    assert "data-coded" not in page and "Hotel/restaurant/café" in page
    bad = tmp_path / "bad.csv"
    bad.write_text("Fresh,1,Lisbon\n")
    proc = invoke("segment", str(wholesale_path), "--labels", str(bad), "--out", "o2", "-q",
                  cwd=tmp_path)
    assert proc.exit_code == 2, proc.stdout + proc.stderr
    assert "value labels for 'Fresh': its role is money" in proc.stderr + proc.stdout
    assert "categorical columns are: Channel, Region" in proc.stderr + proc.stdout
    assert not (tmp_path / "o2").exists()


# ------------------------------------------------------------------ options
def test_fixed_k(tmp_path: Path, mall_path: Path) -> None:
    ok(invoke("segment", str(mall_path), "--out", "o", "--k", "4", "-q", cwd=tmp_path))
    s = load_summary(tmp_path / "o")
    assert s["k"] == 4 and len(s["segments"]) == 4
    assert s["k_selection"]["method"] == "fixed"
    assert [sc["k"] for sc in s["k_selection"]["scores"]] == [4]
    assert len(read_csv(tmp_path / "o" / "profiles.csv")[1]) == 4


def test_features_with_symbols_and_custom_rules(tmp_path: Path, mall_path: Path) -> None:
    rules = tmp_path / "my rules.toml"
    rules.write_text('[[rule]]\nwhen = { income = "High", spending = "High" }\n'
                     'recommendation = "VIP lounge invitation (custom rule)."\n', "utf-8")
    ok(invoke("segment", str(mall_path), "--out", "o", "--features",
              f"{INCOME},{SPENDING}", "--rules", str(rules), "-q", cwd=tmp_path))
    s = load_summary(tmp_path / "o")
    assert s["features"] == [INCOME, SPENDING]
    recs = {seg["name"]: seg["recommendation"] for seg in s["segments"]}
    assert recs["High income · High spending"] == "VIP lounge invitation (custom rule)."
    assert not any(r.startswith("Most valuable customers") for r in recs.values())
    _, rows = read_csv(tmp_path / "o" / "profiles.csv")
    assert "VIP lounge invitation (custom rule)." in [r[-1] for r in rows]


def test_exclude_robust_scaling_and_clip(tmp_path: Path, mall_path: Path) -> None:
    ok(invoke("segment", str(mall_path), "--out", "o", "--exclude", "Age",
              "--scaling", "robust", "--clip", "0.05", "-q", cwd=tmp_path))
    s = load_summary(tmp_path / "o")
    assert s["features"] == [INCOME, SPENDING] and "Age" in s["roles"]["numeric"]
    assert s["preprocessing"]["scaling"] == "robust"
    assert s["preprocessing"]["clip"] == 0.05 == s["cleaning"]["clipped_at_quantile"]


def test_impute_drop(tmp_path: Path, mall_path: Path) -> None:
    with mall_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[3][3] = ""       # customer 0003: income empty
    rows[10][4] = "NA"    # customer 0010: spending written as a missing marker
    rows[20][3] = "?"     # customer 0020: income '?'
    with (tmp_path / "missing.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    ok(invoke("segment", "missing.csv", "--out", "o", "--impute", "drop", "-q",
              cwd=tmp_path))
    s = load_summary(tmp_path / "o")
    assert s["preprocessing"]["impute"] == "drop"
    assert s["cleaning"]["rows_dropped_missing"] == 3 and s["cleaning"]["imputed"] == {}
    assert s["n_customers"] == 197 == sum(seg["size"] for seg in s["segments"])
    _, out_rows = read_csv(tmp_path / "o" / "segments.csv")
    assert len(out_rows) == 200
    unassigned = {r[0]: (r[-3], r[-2], r[-1]) for r in out_rows if r[-3] == "-1"}
    assert unassigned == {cid: ("-1", UNASSIGNED, "") for cid in ("0003", "0010", "0020")}
    assert all(0 <= int(r[-3]) < s["k"] for r in out_rows if r[0] not in unassigned)


def test_non_empty_out_needs_force(tmp_path: Path, mall_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = invoke("segment", str(mall_path), "--out", "o", "--k", "3", "-q", cwd=tmp_path)
    assert proc.exit_code == 2, proc.stderr
    assert "--force" in proc.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    ok(invoke("segment", str(mall_path), "--out", "o", "--k", "3", "-q", "--force",
              cwd=tmp_path))
    assert {p.name for p in out.iterdir()} >= OUTPUT_FILES
    assert not (out / "keep.txt").exists()
    assert load_summary(out)["k"] == 3


# ------------------------------------------------------------------ README commands
def readme_commands() -> list[str]:
    """Every line of a fenced code block in README.md that starts with 'custseg '."""
    text = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("custseg ")]


README_COMMANDS = readme_commands()


def test_readme_has_commands_and_they_exist() -> None:
    assert len(README_COMMANDS) >= 3
    available = help_commands(ok(invoke("--help")).stdout)
    for command in README_COMMANDS:
        assert shlex.split(command)[1] in available, command


def make_input(path: Path, mall_path: Path) -> None:
    """The Mall Customers data in the format ``path``'s ending asks for."""
    import pandas as pd

    df = pd.read_csv(mall_path, dtype={"CustomerID": str})
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_bytes(mall_path.read_bytes())
    elif suffix == ".xlsx":
        df.to_excel(path, index=False)
    elif suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif suffix == ".jsonl":
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    elif suffix == ".tsv":
        df.to_csv(path, sep="\t", index=False)
    else:
        raise AssertionError(f"README uses an input this test cannot make: {path.name}")


def parse_options(args: list[str]) -> dict[str, str]:
    """``--name value`` pairs (flags map to ''); positional arguments are skipped."""
    opts: dict[str, str] = {}
    for i, arg in enumerate(args):
        if arg.startswith("-"):
            nxt = args[i + 1] if i + 1 < len(args) else ""
            opts[arg] = "" if nxt.startswith("-") else nxt
    return opts


@pytest.mark.parametrize("command", README_COMMANDS)
def test_readme_command_runs(command: str, tmp_path: Path, mall_path: Path) -> None:
    args = shlex.split(command)[1:]
    if args[0] not in ("segment", "demo", "compare-methods", "explore"):
        pytest.skip(f"'{args[0]}' is exercised by its own module's tests")
    if "--transactions" in args:  # a purchase log: the head of the shared retail log
        lines = (mall_path.parent / "retail_data_transactions.csv").read_bytes().splitlines()
        (tmp_path / args[1]).write_bytes(b"\n".join(lines[:5001]) + b"\n")
    elif args[0] != "demo":
        make_input(tmp_path / args[1], mall_path)
    proc = ok(invoke(*args, cwd=tmp_path))
    opts = parse_options(args[1:])
    if "--png" in opts:  # every chart of the report as a PNG
        assert sorted((tmp_path / opts["--png"]).glob("[0-9][0-9]-*.png"))
    if args[0] == "explore":
        out = tmp_path / opts.get("--out", f"custseg-out/{Path(args[1]).stem}-explore")
        assert (out / "report.html").is_file() and "Wrote report.html" in proc.stdout
        return
    if args[0] == "compare-methods":
        out = tmp_path / opts.get("--out", f"custseg-out/{Path(args[1]).stem}-methods")
        doc = json.loads((out / "comparison.json").read_text("utf-8"))
        assert doc["recommended"] == doc["results"][0]["algorithm"]
        assert "Recommended" in proc.stdout
        return
    if args[0] == "demo":
        out = tmp_path / opts.get("--out", "custseg-demo")
    else:
        out = tmp_path / opts.get("--out", f"custseg-out/{Path(args[1]).stem}")
    assert {p.name for p in out.iterdir()} >= OUTPUT_FILES
    s = load_summary(out)
    assert proc.stdout.strip(), "no output without --quiet"
    if args[0] != "segment" or "--transactions" in args:
        return
    fmt = {".csv": "csv", ".tsv": "csv", ".xlsx": "excel", ".parquet": "parquet",
           ".jsonl": "jsonl"}[Path(args[1]).suffix]
    assert s["input"]["format"] == fmt
    assert s["n_customers"] == 200
    k = opts.get("--k")
    if k and k.isdigit():
        assert s["k"] == int(k) and s["k_selection"]["method"] == "fixed"
    elif k and ".." in k:
        lo, hi = map(int, k.split(".."))
        assert [sc["k"] for sc in s["k_selection"]["scores"]] == list(range(lo, hi + 1))
        assert lo <= s["k"] <= hi
    if "--features" in opts:
        assert s["features"] == [f.strip() for f in opts["--features"].split(",")]
    if "--exclude" in opts:
        assert not set(opts["--exclude"].split(",")) & set(s["features"])
    if "--scaling" in opts:
        assert s["preprocessing"]["scaling"] == opts["--scaling"]
    if "--clip" in opts:
        assert s["preprocessing"]["clip"] == float(opts["--clip"])


def test_use_categorical(tmp_path: Path, mall_path: Path) -> None:
    ok(invoke("segment", str(mall_path), "--out", "o", "--use-categorical", "--k", "4",
              "-q", cwd=tmp_path))
    s = load_summary(tmp_path / "o")
    assert s["features"] == ["Age", INCOME, SPENDING, "Genre"]
    assert s["preprocessing"]["categorical"] == ["Genre"]
    assert all(set(seg["categories"]["Genre"]) <= {"Female", "Male"} for seg in s["segments"])
    header, rows = read_csv(tmp_path / "o" / "profiles.csv")
    assert "Genre_top" in header and len(rows) == 4


# ------------------------------------------------------------------ former bugs
def test_negative_seed_is_a_usage_error(tmp_path: Path, mall_path: Path) -> None:
    proc = invoke("segment", str(mall_path), "--out", "o", "--seed", "-1", "-q",
                  cwd=tmp_path)
    assert proc.exit_code == 2, proc.stderr


def test_demo_into_the_current_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("mine")
    proc = invoke("demo", "--out", ".", "-q", cwd=tmp_path)
    assert proc.exit_code == 2, proc.stderr
    assert "current folder" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_demo_never_replaces_a_folder_of_user_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "precious.txt").write_text("mine")
    proc = invoke("demo", "--out", "docs", "-q", cwd=tmp_path)
    assert proc.exit_code == 2, proc.stderr
    assert "not a custseg output" in proc.stderr
    assert (tmp_path / "docs" / "precious.txt").read_text() == "mine"
    # an earlier demo output is replaced
    assert invoke("demo", "--out", "run", "-q", cwd=tmp_path).exit_code == 0
    assert invoke("demo", "--out", "run", "-q", cwd=tmp_path).exit_code == 0
