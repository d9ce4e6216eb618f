"""Bad input read right or refused, never a traceback (issue 13): reading (trailing
delimiters, stray carriage returns, duplicate column names, UTF-16 without BOM, binary files),
``score`` errors with exit codes, unwritable outputs, Rich markup in names, spreadsheet
formulas in outputs, interrupted runs and their temporary folders, the default output folder.

The CLI runs in process (``conftest.invoke``), but for the signal tests, which need a process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from conftest import invoke
from custseg.errors import InputFileError, OutputError
from custseg.io import (
    atomic_output_dir,
    atomic_output_file,
    fix_line_endings,
    neutralise_frame,
    read_table,
    sweep_stale_temporaries,
    temp_prefix,
)

MALL_FEATURES = "Annual Income (k$),Spending Score (1-100)"


@pytest.fixture(scope="module")
def mall_lines(mall_path: Path) -> list[str]:
    return mall_path.read_text("utf-8").splitlines()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, mall_path: Path) -> Path:
    out = tmp_path_factory.mktemp("model") / "run"
    res = invoke("segment", str(mall_path), "--out", str(out), "--k", "5", "--features",
                 MALL_FEATURES, "--quiet")
    assert res.exit_code == 0, res.output
    return out / "model"


@pytest.fixture(scope="module")
def clean_scores(model: Path, mall_path: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("scores") / "clean.csv"
    res = invoke("score", str(model), str(mall_path), "--out", str(out), "--quiet")
    assert res.exit_code == 0, res.output
    return pd.read_csv(out, dtype=str)


def write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_bytes((end.join(lines) + end).encode("utf-8"))
    return path


def score(model: Path, path: Path, tmp_path: Path) -> tuple[object, pd.DataFrame | None]:
    out = tmp_path / f"{path.stem}-scored.csv"
    res = invoke("score", str(model), str(path), "--out", str(out), "--quiet")
    return res, (pd.read_csv(out, dtype=str) if out.exists() else None)


# --------------------------------------------------------------------------- reading right
def test_trailing_delimiter_does_not_shift_columns_in_score(
        model: Path, mall_lines: list[str], clean_scores: pd.DataFrame, tmp_path: Path) -> None:
    path = write(tmp_path / "trailing.csv", [mall_lines[0]] + [ln + "," for ln in mall_lines[1:]])
    res, scored = score(model, path, tmp_path)
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(scored, clean_scores)


def test_extra_field_on_a_few_lines_is_skipped_and_named(
        model: Path, mall_lines: list[str], tmp_path: Path) -> None:
    lines = [mall_lines[0]] + [ln + (",junk" if i == 10 else "")
                               for i, ln in enumerate(mall_lines[1:])]
    big = lines + [f"{i:04d},Male,30,50,50" for i in range(201, 400)]
    path = write(tmp_path / "extra.csv", big)
    df, info = read_table(path)
    assert len(df) == len(big) - 2 and list(df.columns) == mall_lines[0].split(",")
    assert info.problems[0].code == "malformed-line" and info.problems[0].rows == [12]
    res, scored = score(model, path, tmp_path)
    assert res.exit_code == 0 and "0011" not in set(scored["CustomerID"])


@pytest.mark.parametrize("kind", ["old-mac", "inside-lines", "crlf-with-stray"])
def test_stray_carriage_returns_give_no_phantom_rows(
        kind: str, model: Path, mall_lines: list[str], clean_scores: pd.DataFrame,
        tmp_path: Path) -> None:
    if kind == "old-mac":
        data, stray = ("\r".join(mall_lines) + "\r").encode(), []
    else:
        end = "\r\n" if kind == "crlf-with-stray" else "\n"
        lines = [ln.replace(",", ",\r", 1) if i % 40 == 1 else ln
                 for i, ln in enumerate(mall_lines)]
        data, stray = (end.join(lines) + end).encode(), [i + 1 for i in range(1, 201, 40)]
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(data)
    df, info = read_table(path)
    assert df.shape == (200, 5) and df["CustomerID"].iloc[0] == "0001"
    assert [p.rows for p in info.problems if p.code == "stray-cr"] == ([stray] if stray else [])
    res, scored = score(model, path, tmp_path)
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(scored, clean_scores)


def test_fix_line_endings_keeps_crlf() -> None:
    assert fix_line_endings("a,b\r\n1,2\r\n") == ("a,b\r\n1,2\r\n", [])


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_duplicate_column_names_are_refused_by_name(fmt: str, model: Path,
                                                    tmp_path: Path) -> None:
    if fmt == "csv":
        path = write(tmp_path / "dup.csv", ["id,Age,Income, Age", "1,20,30,21", "2,40,50,41"])
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = [pa.array([1, 2]), pa.array([20, 40]), pa.array([30, 50]), pa.array([21, 41])]
        table = pa.Table.from_arrays(cols, names=["id", "Age", "Income", "Age"])
        path = tmp_path / f"dup.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            import openpyxl

            wb = openpyxl.Workbook()
            ws = wb.active
            ws.append(["id", "Age", "Income", "Age"])
            ws.append([1, 20, 30, 21])
            wb.save(path)
    with pytest.raises(InputFileError, match=r"duplicate column names: 'Age' \(columns 2 and 4"):
        read_table(path)
    for args in (["segment", str(path), "--out", str(tmp_path / "o")],
                 ["score", str(model), str(path), "--out", str(tmp_path / "s.csv")],
                 ["explore", str(path), "--out", str(tmp_path / "e")]):
        res = invoke(*args, "--quiet")
        assert res.exit_code == 3 and "duplicate column names: 'Age'" in res.output, args
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_utf16_without_bom_is_read(mall_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(mall_path.read_text("utf-8").encode("utf-16-le"))
    df, info = read_table(path)
    assert info.encoding == "utf-16-le" and df.shape == (200, 5)


# --------------------------------------------------------------------------- score errors
def _bad_inputs(tmp_path: Path, mall_lines: list[str]) -> dict[str, Path]:
    files = {
        "empty": b"",
        "header only": (mall_lines[0] + "\n").encode(),
        "missing columns": b"CustomerID,Age\n1,20\n2,30\n",
        "binary": bytes(range(256)) * 40,
        "not a table": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "all junk values": (mall_lines[0] + "\n" + "\n".join(
            f"{i},Male,x,y,z" for i in range(50)) + "\n").encode(),
        "unclosed quote": (mall_lines[0] + '\n1,"Male,20,30,40\n').encode(),
    }
    paths = {}
    for name, data in files.items():
        p = tmp_path / (name.replace(" ", "_") + ".csv")
        p.write_bytes(data)
        paths[name] = p
    paths["a folder"] = tmp_path / "folder.csv"
    paths["a folder"].mkdir()
    paths["no such file"] = tmp_path / "nothing.csv"
    xlsx = tmp_path / "fake.xlsx"
    xlsx.write_text("not a workbook")
    paths["corrupt xlsx"] = xlsx
    pq = tmp_path / "fake.parquet"
    pq.write_bytes(b"PAR1garbage")
    paths["corrupt parquet"] = pq
    return paths


def test_score_bad_inputs_exit_3_without_traceback(model: Path, mall_lines: list[str],
                                                   tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    outs = tmp_path / "outs"
    for name, path in _bad_inputs(inputs, mall_lines).items():
        res = invoke("score", str(model), str(path), "--out", str(outs / "s.csv"), "--quiet")
        assert res.exit_code == 3, (name, res.exit_code, res.output)
        assert "Traceback" not in res.output and "internal error" not in res.output, name
        assert res.output.startswith("custseg: data error: "), (name, res.output)
        assert not outs.exists() or not any(outs.iterdir()), name


def test_score_with_a_model_that_is_not_one(mall_path: Path, tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "bundle.json").write_text("[1, 2]")
    for model in (tmp_path / "nothing", tmp_path / "m", mall_path):
        res = invoke("score", str(model), str(mall_path), "--out", str(tmp_path / "s.csv"))
        assert res.exit_code == 3 and "Traceback" not in res.output, res.output


# --------------------------------------------------------------------------- outputs
def test_unwritable_out_is_refused_before_any_work(model: Path, mall_path: Path,
                                                   tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for args in (["segment", str(mall_path), "--out", str(blocker / "run")],
                 ["explore", str(mall_path), "--out", str(blocker / "run")],
                 ["score", str(model), str(mall_path), "--out", str(blocker / "s.csv")],
                 ["segment", str(mall_path), "--out", "/proc/custseg-run"]):
        res = invoke(*args, "--quiet")
        assert res.exit_code == 3, (args, res.output)
        assert res.output.startswith("custseg: output error: ") and "Traceback" not in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_score_replaces_an_existing_file_with_force(model: Path, mall_path: Path,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    for args in ([], ["--force"]):
        res = invoke("score", str(model), str(mall_path), "--out", str(out), "--quiet", *args)
        assert res.exit_code == 0, res.output
    res = invoke("score", str(model), str(mall_path), "--out", str(out), "--quiet")
    assert res.exit_code == 2 and "--force" in res.output


def test_read_only_folder_is_an_output_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write to read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="cannot write"), atomic_output_dir(folder / "x"):
            pass
    finally:
        folder.chmod(0o700)


def test_rich_markup_in_column_names_is_printed_as_text(mall_lines: list[str],
                                                        tmp_path: Path) -> None:
    header = "CustomerID,Gender,[bold]Age[/],[/],Annual Income (k$),[red]Spending[/red]"
    path = write(tmp_path / "markup.csv", [header, *mall_lines[1:]])
    res = invoke("segment", str(path), "--out", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    assert "[red]Spending[/red]" in res.output and "[/]" in res.output


def test_formulas_in_text_cells_are_neutralised(model: Path, mall_lines: list[str],
                                                tmp_path: Path) -> None:
    ids = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "-12"]
    lines = [mall_lines[0]] + [
        (ids[i] if i < len(ids) else f"{i:04d}") + ln[ln.index(","):]
        for i, ln in enumerate(mall_lines[1:])]
    path = tmp_path / "inj.csv"
    frame = pd.read_csv(pd.io.common.StringIO("\n".join(lines)), dtype=str)
    frame.to_csv(path, index=False)
    res = invoke("segment", str(path), "--out", str(tmp_path / "o"), "--quiet")
    assert res.exit_code == 0, res.output
    res = invoke("score", str(model), str(path), "--out", str(tmp_path / "s.csv"), "--quiet")
    assert res.exit_code == 0, res.output
    for out in (tmp_path / "o" / "segments.csv", tmp_path / "s.csv"):
        got = pd.read_csv(out, dtype=str, keep_default_na=False)["CustomerID"].tolist()[:6]
        assert got == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx",
                       "-12"], out


def test_neutralise_frame_leaves_numbers_alone() -> None:
    frame = pd.DataFrame({"=name": ["=a", "b"], "n": [-1.5, 2.0], "s": ["-3", "+x"]})
    got = neutralise_frame(frame)
    assert list(got.columns) == ["'=name", "n", "s"]
    assert got["=name" if "=name" in got else "'=name"].tolist() == ["'=a", "b"]
    assert got["n"].tolist() == [-1.5, 2.0] and got["s"].tolist() == ["-3", "'+x"]


def test_default_out_is_in_the_current_folder(mall_path: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = invoke("segment", str(mall_path), "--k", "5", "--features", MALL_FEATURES)
    assert res.exit_code == 0, res.output
    out = tmp_path / "custseg-out" / "mall_customers"
    assert (out / "summary.json").is_file()
    assert "custseg-out/mall_customers" in res.output.replace("\n", "")
    assert not (mall_path.parent / "mall_customers-segments").exists()


# --------------------------------------------------------------------------- interruption
def test_failed_block_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_output_dir(tmp_path / "run") as tmp:
        (tmp / "half.csv").write_text("x")
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError), atomic_output_file(tmp_path / "s.csv") as tmp:
        tmp.write_text("x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_of_a_dead_process_are_swept(tmp_path: Path) -> None:
    # a real process: the id of one that has ended
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    mine = temp_prefix(tmp_path / "run")
    stale = tmp_path / (Path(mine).name.replace(f"-{os.getpid()}-", f"-{pid}-") + "abc")
    stale.mkdir()
    (stale / "segments.csv").write_text("x")
    alive = tmp_path / (Path(mine).name + "live")
    alive.mkdir()
    other = tmp_path / ".run.tmp-unrelated"
    other.mkdir()
    assert sweep_stale_temporaries(tmp_path / "run") == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_writing_removes_temporary_outputs(sig: int, tmp_path: Path) -> None:
    # a real process: a signal, and the exit code the process ends with
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from custseg.cli.base import guarded, on_sigterm
        import typer
        signal.signal(signal.SIGTERM, on_sigterm)
        # as from a terminal: a shell's background job inherits SIGINT ignored
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from custseg.io import atomic_output_dir

        @guarded
        def work():
            with atomic_output_dir(Path(sys.argv[1]) / "run") as tmp:
                (tmp / "segments.csv").write_text("half")
                os.kill(os.getpid(), {int(sig)})
                raise AssertionError("not interrupted")
        try:
            work()
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), proc.stderr
    assert "temporary outputs removed" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("option", "value", "code", "says"), [
    ("--delimiter", ";;", 2, "delimiter must be one character"),
    ("--delimiter", "\n", 2, "delimiter must be one character"),
    ("--encoding", "klingon", 2, "encoding 'klingon' is not one Python knows"),
    ("--png", "/proc/custseg-charts", 3, "cannot write the outputs there"),
])
def test_bad_read_and_output_options(option: str, value: str, code: int, says: str,
                                     mall_path: Path, tmp_path: Path) -> None:
    if option == "--png":
        pytest.importorskip("kaleido")
        from custseg.report import check_png_support

        try:
            check_png_support()
        except Exception:
            pytest.skip("no Chrome or Chromium for --png")
    res = invoke("segment", str(mall_path), "--out", str(tmp_path / "o"), option, value,
                 "--quiet")
    assert res.exit_code == code and says in res.output, res.output
    assert "Traceback" not in res.output and not (tmp_path / "o").exists()
