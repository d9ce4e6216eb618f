"""Every case of the bad-input corpus (tests/corpus/make_corpus.py) through ``segment``,
``score`` and ``explore``: the exit code is one of the documented set (docs/reliability.md),
there is no traceback, no partial output and no leftover temporary file, each command ends
within a time limit, and files that hold the same table in another dress (encoding,
delimiter, quoting, line endings, format) give the same scores as the plain one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from conftest import invoke

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "make_corpus.py"
#: Exit codes a command may end with on any input (docs/reliability.md): 1 is a bug.
DOCUMENTED_EXIT_CODES = {0, 2, 3}
#: Seconds a command may take on a corpus case (the cases are small: a hang guard).
TIME_LIMIT = 60
#: Cases holding the plain table's numbers: their scores must be the plain table's.
SAME_TABLE = [
    "enc-utf-8.csv", "enc-utf-8-sig.csv", "enc-utf-16.csv", "enc-utf-16-le.csv",
    "enc-utf-16-be.csv", "enc-cp1252.csv", "enc-latin-1.csv", "enc-utf-32.csv",
    "enc-mac_roman.csv", "enc-cp850.csv", "enc-shift-jis.csv", "enc-bom-then-latin1.csv",
    "enc-invalid-utf8-bytes.csv", "delim-semicolon.csv", "delim-tab.csv", "delim-pipe.csv",
    "delim-tab.tsv", "quote-all.csv", "quote-nonnumeric.csv", "quote-delimiter-inside.csv",
    "quote-newline-inside.csv", "quote-crlf-inside.csv", "quote-doubled-quotes.csv",
    "eol-crlf.csv", "eol-cr.csv", "eol-mixed.csv", "eol-stray-cr-inside.csv",
    "eol-no-final-newline.csv", "eol-blank-lines.csv", "eol-trailing-blank-lines.csv",
    "eol-leading-blank-lines.csv", "eol-bom-crlf.csv", "width-trailing-delimiter.csv",
    "width-trailing-delimiter-data-only.csv", "fmt-txt-suffix.txt", "fmt-no-suffix",
    "fmt-uppercase-suffix.CSV", "fmt-dat-semicolon.dat", "fmt-jsonl-ok.jsonl",
    "pq-ok.parquet", "xl-ok.xlsx", "huge-field-1mb.csv", "huge-field-quoted-2mb.csv",
    "type-whitespace-cells.csv", "rows-all-missing-row.csv",
]


def _load_corpus_module() -> object:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_corpus = _load_corpus_module()
CASE_NAMES = sorted(make_corpus.all_cases())


class TimeLimit(BaseException):
    """Raised in the main thread when a command runs past its limit."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise TimeLimit(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus") / "cases"
    make_corpus.write(folder)
    return folder


@pytest.fixture(scope="module")
def model(corpus: Path) -> Path:
    out = corpus.parent / "model-run"
    res = invoke("segment", str(corpus / "ok.csv"), "--out", str(out), "--quiet")
    assert res.exit_code == 0, res.output
    return out / "model"


@pytest.fixture(scope="module")
def plain_scores(model: Path, corpus: Path) -> pd.DataFrame:
    out = corpus.parent / "plain-scores.csv"
    res = invoke("score", str(model), str(corpus / "ok.csv"), "--out", str(out), "--quiet")
    assert res.exit_code == 0, res.output
    return pd.read_csv(out, dtype=str)


def run(*args: str) -> tuple[int, str, float]:
    """Run a command in process: exit code, output, seconds."""
    started = time.perf_counter()
    with time_limit(TIME_LIMIT):
        res = invoke(*args)
    if res.exception is not None:
        raise AssertionError(f"{args[0]} raised {res.exception!r}:\n{res.output}")
    return res.exit_code, res.output, time.perf_counter() - started


def check_outcome(command: str, code: int, output: str, out: Path) -> None:
    assert code in DOCUMENTED_EXIT_CODES, f"{command}: exit {code}\n{output}"
    assert "Traceback" not in output and "internal error" not in output, output
    if code != 0:
        assert not out.exists(), f"{command} failed but left {out}"
        assert output.startswith("custseg: "), output
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temporary files left: {leftovers}"


@pytest.mark.parametrize("case", CASE_NAMES)
def test_case_through_every_command(case: str, corpus: Path, model: Path,
                                    tmp_path: Path) -> None:
    path = corpus / case
    for command, out, args in (
            ("segment", tmp_path / "seg" / "out", ["segment", str(path)]),
            ("explore", tmp_path / "exp" / "out", ["explore", str(path)]),
            ("score", tmp_path / "score" / "scored.csv", ["score", str(model), str(path)])):
        out.parent.mkdir()
        code, output, _ = run(*args, "--out", str(out), "--quiet")
        check_outcome(command, code, output, out)


def test_corpus_is_large_enough() -> None:
    assert len(CASE_NAMES) >= 150


@pytest.mark.parametrize("case", SAME_TABLE)
def test_same_table_gives_same_scores(case: str, corpus: Path, model: Path,
                                      plain_scores: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    code, output, _ = run("score", str(model), str(corpus / case), "--out", str(out), "--quiet")
    assert code == 0, output
    got = pd.read_csv(out, dtype=str).head(len(plain_scores))  # blank lines may follow
    pd.testing.assert_frame_equal(got[["CustomerID", "segment"]],
                                  plain_scores[["CustomerID", "segment"]])


def test_tampered_bundles_are_refused(corpus: Path, model: Path, tmp_path: Path) -> None:
    bundles = make_corpus.tamper_bundles(model, tmp_path / "bundles")
    assert len(bundles) >= 15
    for name, folder in bundles.items():
        out = tmp_path / "scores" / f"{name}.csv"
        out.parent.mkdir(exist_ok=True)
        code, output, _ = run("score", str(folder), str(corpus / "ok.csv"), "--out", str(out),
                              "--quiet")
        assert code == 3, f"{name}: exit {code}\n{output}"
        check_outcome(f"score with {name}", code, output, out)


TX_CASES = sorted(make_corpus.transaction_cases())


@pytest.mark.parametrize("case", TX_CASES)
def test_transaction_case_through_features_and_segment(case: str, corpus: Path,
                                                       tmp_path: Path) -> None:
    path = corpus / case
    for command, out, args in (
            ("features", tmp_path / "f" / "customers.csv", ["features", str(path)]),
            ("segment --transactions", tmp_path / "s" / "out",
             ["segment", str(path), "--transactions"])):
        out.parent.mkdir()
        code, output, _ = run(*args, "--out", str(out), "--quiet")
        check_outcome(command, code, output, out)
    if case == "tx-ok.csv":
        assert code == 0, output
