"""A corpus of bad (and messy-but-fine) files run through the real ``custseg`` command.

Every file is written here, in a temporary folder.  A bad file must give the documented exit
code (3 data error, 2 usage error), name the offending column, print no traceback, and leave
no output folder, partial or temporary, behind.  Each case runs once, in process
(``conftest.invoke``), in a module fixture.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from conftest import Invoked, invoke


def _rows(n: int, make: Callable[[int], str]) -> str:
    return "".join(make(i) + "\n" for i in range(1, n + 1))


def _customer(i: int) -> str:
    return f"C{i:04d},{20 + (i * 37) % 80},{(i * 53) % 100}"


def _customers(n: int = 60, extra: Callable[[int], str] | None = None, header_extra: str = ""
               ) -> str:
    """A plausible customer table: id, income, spending (+ extra columns)."""
    def row(i: int) -> str:
        return _customer(i) + (("," + extra(i)) if extra else "")
    return "id,income,spending" + header_extra + "\n" + _rows(n, row)


@dataclass
class Case:
    name: str
    content: str | bytes | None  # None: the file does not exist
    exit_code: int
    args: list[str] = field(default_factory=list)
    column: str | None = None  # stderr must name it
    stderr_has: list[str] = field(default_factory=list)
    suffix: str = ".csv"
    out_prefilled: bool = False  # --out exists and is not empty beforehand


def _junk(i: int) -> str:
    if i % 10 == 0:
        return "12k"
    if i % 10 == 5:
        return "abc"
    if i % 7 == 0:
        return "?"
    return str(i * 3)


BAD = [
    Case("missing-file", None, 3, stderr_has=["no such file"]),
    Case("empty-file", b"", 3, stderr_has=["empty"]),
    Case("header-only", "id,income,spending\n", 3, stderr_has=["no data rows"]),
    Case("no-numeric-column",
         "id,gender,city\n" + _rows(40, lambda i: f"C{i},{'MF'[i % 2]},town {i % 5}"), 3,
         stderr_has=["no usable numeric feature"]),
    Case("all-missing-feature", _customers(extra=lambda i: "", header_extra=",visits"), 3,
         args=["--features", "income,visits"], column="visits",
         stderr_has=["no values"]),
    Case("conflicting-ids", _customers() + "C0007,99,1\n", 3, column="id",
         stderr_has=["C0007", "row 7", "row 61"]),
    Case("junk-above-threshold", _customers(extra=_junk, header_extra=",visits"), 3,
         column="visits", stderr_has=["'12k'", "'abc'", "row 5", "--max-junk"]),
    Case("infinities",
         _customers(extra=lambda i: "inf" if i == 9 else str(i), header_extra=",visits"), 3,
         column="visits", stderr_has=["infinite", "row 9"]),
    Case("fewer-rows-than-k", _customers(4), 3, args=["--k", "5"],
         stderr_has=["only 4 customer", "5 segments"]),
    Case("malformed-lines",
         _customers(60) + "".join(f"X{i},1,2,3\n" for i in range(3)), 3,
         stderr_has=["line 62 has 4", "3 fields of the header"]),
    Case("unknown-feature", _customers(), 2, args=["--features", "income,Spend (k$)"],
         column="Spend (k$)", stderr_has=["not in the data", "'spending'"]),
    Case("k-one", _customers(), 2, args=["--k", "1"], stderr_has=["--k"]),
    Case("k-text", _customers(), 2, args=["--k", "abc"], stderr_has=["--k", "'abc'"]),
    Case("scaling-bogus", _customers(), 2, args=["--scaling", "bogus"],
         stderr_has=["bogus"]),
    Case("out-not-empty", _customers(), 2, out_prefilled=True,
         stderr_has=["not empty", "--force"]),
]


def _cp1252_pound() -> bytes:
    text = "id;Montant £;visites\n" + _rows(
        50, lambda i: f"C{i};{10 + (i * 37) % 90},{(i * 7) % 10};{(i * 3) % 17}")
    return text.encode("cp1252")


GOOD = [
    Case("cp1252-pound", _cp1252_pound(), 0),
    Case("semicolon-decimal-comma",
         "client_no;Montant;Score\n" + _rows(
             50, lambda i: f"{i:05d};{(i * 37) % 90},{i % 10};{(i * 53) % 100},5"), 0),
    Case("utf8-bom", b"\xef\xbb\xbf" + _customers(50).encode("utf-8"), 0),
    Case("junk-under-threshold",
         _customers(100, extra=lambda i: "12k" if i == 30 else ("?" if i % 4 == 0 else str(i)),
                    header_extra=",visits"), 0),
    Case("constant-column", _customers(extra=lambda i: "FR,1", header_extra=",country,plan"),
         0),
    Case("exact-duplicate-rows", _customers(50) + f"{_customer(3)}\n{_customer(9)}\n", 0),
    Case("trailing-delimiter-on-data-lines", _customers(50).replace("\n", ",\n").replace(
        "spending,\n", "spending\n"), 0),
    # an export's title above the header, and money and shares written with their marks
    Case("title-line-and-marked-numbers",
         "Customer export generated 2026-11-30\n\nid,income,spending,discount\n" + _rows(
             60, lambda i: f"C{i:04d},\"${20 + (i * 37) % 80},{i % 10}00.50\","
                           f"{(i * 53) % 100} €,{i % 30}%"), 0),
    # an accounting export: negatives in brackets, thousands set apart by spaces or
    # apostrophes, and a totals row at the end
    Case("accounting-export",
         "id,revenue,profit\n" + _rows(
             60, lambda i: f"C{i:04d},{1 + i % 9} {(i * 37) % 1000:03d}.50,"
                           + (f"\"({i},{(i * 7) % 1000:03d})\"" if i % 3 == 0
                              else f"{i}'{(i * 11) % 1000:03d}")) + "Total,999 999.00,1'000\n",
         0),
]

CASES = {c.name: c for c in BAD + GOOD}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, Invoked]]:
    """Run every case once."""

    def run(case: Case) -> tuple[Path, Invoked]:
        folder = tmp_path_factory.mktemp(case.name)
        path = folder / f"customers{case.suffix}"
        if isinstance(case.content, str):
            path.write_text(case.content, encoding="utf-8")
        elif isinstance(case.content, bytes):
            path.write_bytes(case.content)
        out = folder / "OUTDIR"
        if case.out_prefilled:
            out.mkdir()
            (out / "keep.txt").write_text("earlier run")
        args = ["segment", str(path), "--out", str(out), "--quiet"]
        if "--k" not in case.args and case.exit_code == 0:
            args += ["--k", "2..4"]  # keep the good runs quick
        return folder, invoke(*args, *case.args)

    return {name: run(case) for name, case in CASES.items()}


def _no_leftovers(folder: Path) -> None:
    left = [p.name for p in folder.iterdir() if p.name.startswith(".OUTDIR.")]
    assert left == [], f"temporary folders left behind: {left}"


@pytest.mark.parametrize("name", [c.name for c in BAD])
def test_bad_file(runs, name):
    case = CASES[name]
    folder, proc = runs[name]
    detail = f"exit {proc.exit_code}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.exit_code == case.exit_code, detail
    assert "Traceback" not in proc.stderr, detail
    kind = {2: "usage error", 3: "data error"}[case.exit_code]
    assert proc.stderr.startswith(f"custseg: {kind}:"), detail
    if case.column is not None:
        assert f"'{case.column}'" in proc.stderr, detail
    for text in case.stderr_has:
        assert text in proc.stderr, detail
    assert proc.stdout.strip() == "", detail  # --quiet: nothing but the error
    out = folder / "OUTDIR"
    if case.out_prefilled:
        assert [p.name for p in out.iterdir()] == ["keep.txt"]
        assert (out / "keep.txt").read_text() == "earlier run"
    else:
        assert not out.exists(), detail
    _no_leftovers(folder)


@pytest.mark.parametrize("name", [c.name for c in GOOD])
def test_messy_but_fine_file(runs, name):
    folder, proc = runs[name]
    detail = f"exit {proc.exit_code}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.exit_code == 0, detail
    assert "Traceback" not in proc.stderr, detail
    out = folder / "OUTDIR"
    assert {"segments.csv", "profiles.csv", "summary.json", "report.html", "model"} <= {
        p.name for p in out.iterdir()}
    _no_leftovers(folder)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    segments = pd.read_csv(out / "segments.csv", dtype=str, keep_default_na=False)
    check = GOOD_CHECKS.get(name)
    if check is not None:
        check(summary, segments)


def _warning_codes(summary: dict) -> dict[str, list]:
    codes: dict[str, list] = {}
    for w in summary["warnings"]:
        codes.setdefault(w["code"], []).append(w["column"])
    return codes


def _check_cp1252(summary: dict, segments: pd.DataFrame) -> None:
    assert summary["input"]["encoding"] == "cp1252"
    assert summary["input"]["delimiter"] == ";"
    assert "Montant £" in summary["features"]
    assert "Montant £" in segments.columns
    assert segments["Montant £"].iloc[0] == "47,7"  # written back as it was read
    assert summary["roles"]["id_column"] == "id"


def _check_decimal_comma(summary: dict, segments: pd.DataFrame) -> None:
    assert summary["features"] == ["Montant", "Score"]
    assert summary["roles"]["id_column"] == "client_no"
    assert segments["client_no"].iloc[:2].tolist() == ["00001", "00002"]
    # decimal commas read as numbers: the centres have fractional parts
    means = [seg["centre"]["Score"] for seg in summary["segments"]]
    assert all(0 < m < 100 for m in means)
    assert any(m != int(m) for m in means)


def _check_bom(summary: dict, segments: pd.DataFrame) -> None:
    assert summary["roles"]["id_column"] == "id"
    assert segments.columns[0] == "id"
    assert segments["id"].iloc[0] == "C0001"
    assert summary["features"] == ["income", "spending"]


def _check_junk_under(summary: dict, segments: pd.DataFrame) -> None:
    codes = _warning_codes(summary)
    assert codes["junk"] == ["visits"]
    assert codes["missing-marker"] == ["visits"]
    assert "visits" in summary["features"]
    assert summary["cleaning"]["junk_coerced"] == {"visits": 1}


def _check_constant(summary: dict, segments: pd.DataFrame) -> None:
    assert summary["features"] == ["income", "spending"]
    assert _warning_codes(summary)["constant"] == ["plan"]
    assert summary["cleaning"]["columns_dropped"] == {"plan": "constant"}


def _check_duplicates(summary: dict, segments: pd.DataFrame) -> None:
    assert summary["cleaning"]["duplicate_rows_dropped"] == 2
    assert summary["n_customers"] == 50
    assert "duplicate-row" in _warning_codes(summary)


def _check_trailing(summary: dict, segments: pd.DataFrame) -> None:
    assert summary["roles"]["id_column"] == "id"
    assert segments["id"].iloc[:2].tolist() == ["C0001", "C0002"]
    assert summary["features"] == ["income", "spending"]


def _check_title_and_marks(summary: dict, segments: pd.DataFrame) -> None:
    assert summary["roles"]["id_column"] == "id"
    assert summary["features"] == ["income", "spending", "discount"]
    assert _warning_codes(summary)["preamble"] == [None]
    assert "Customer export generated 2026-11-30" in next(
        w["message"] for w in summary["warnings"] if w["code"] == "preamble")
    assert summary["cleaning"]["junk_coerced"] == {}
    assert segments["income"].iloc[0] == "$57,100.50"  # written back as it was read


def _check_accounting(summary: dict, segments: pd.DataFrame) -> None:
    assert summary["features"] == ["revenue", "profit"]
    assert summary["cleaning"]["junk_coerced"] == {}
    assert summary["cleaning"]["total_rows_dropped"] == 1
    assert summary["n_customers"] == 60 and "Total" not in segments["id"].tolist()
    assert "'Total'" in next(w["message"] for w in summary["warnings"]
                             if w["code"] == "totals-row")
    seg0 = next(s for s in summary["segments"] if s["id"] == 0)
    assert seg0["centre"]["profit"] != 0  # read as numbers, negatives included


GOOD_CHECKS = {
    "accounting-export": _check_accounting,
    "title-line-and-marked-numbers": _check_title_and_marks,
    "cp1252-pound": _check_cp1252,
    "semicolon-decimal-comma": _check_decimal_comma,
    "utf8-bom": _check_bom,
    "junk-under-threshold": _check_junk_under,
    "constant-column": _check_constant,
    "exact-duplicate-rows": _check_duplicates,
    "trailing-delimiter-on-data-lines": _check_trailing,
}
