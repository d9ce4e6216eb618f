"""Library errors: a code on every error, one exit-code table, no command-line flag in the
library's messages (the CLI translates parameters into its flags)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import custseg
from conftest import invoke
from custseg import Segmenter, demo_data_path, load_table
from custseg.bundle import BundleError
from custseg.cli import EXIT_CODES, PARAMETER_FLAGS, flag_text
from custseg.errors import (
    CustsegError,
    DataError,
    ErrorCode,
    InputFileError,
    MissingDependencyError,
    OutputError,
    OutputExistsError,
    Problem,
    UsageError,
)
from custseg.store import EventConflictError, StoreError

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
SRC = Path(custseg.__file__).parent
#: The faces: they speak to their own users and may name their own flags.
FACES = {"cli.py", "cli", "service.py", "service"}


def test_every_code_has_an_exit_code_and_every_class_agrees():
    assert set(EXIT_CODES) == set(ErrorCode)
    classes = [CustsegError, UsageError, MissingDependencyError, OutputExistsError,
               OutputError, DataError, InputFileError, BundleError, StoreError,
               EventConflictError]
    for cls in classes:
        assert isinstance(cls.code, ErrorCode), cls
        assert EXIT_CODES[cls.code] == cls.exit_code, cls
    assert EXIT_CODES[ErrorCode.BAD_PARAMETER] == UsageError.exit_code == 2
    assert [OutputExistsError.code, BundleError.code] == [ErrorCode.OUTPUT_EXISTS,
                                                         ErrorCode.BUNDLE]


def test_errors_carry_code_column_rows_hint_and_reason():
    err = DataError([Problem("Age", "non-numeric values", rows=[3, 7], values=["?", "x"])])
    assert (err.code, err.column, err.rows, err.reason) == (ErrorCode.DATA, "Age", [3, 7], "data")
    bad = UsageError("`k` must be at least 2", "k", hint="give 2 or more")
    assert (bad.code, bad.parameter, bad.hint, bad.reason) == (
        ErrorCode.BAD_PARAMETER, "k", "give 2 or more", "usage")
    assert UsageError("no parameter at fault").code is ErrorCode.USAGE
    assert UsageError("x", code=ErrorCode.MISSING_DEPENDENCY).code is ErrorCode.MISSING_DEPENDENCY


def _library_errors(tmp_path: Path) -> list[CustsegError]:
    """A few real errors raised by the library."""
    from custseg.algorithms import registry
    from custseg.engines import pick_engine
    from custseg.features import transactions_to_customers
    from custseg.io import atomic_output_dir
    from custseg.schema import validate_table
    from custseg.segmenter import parse_k
    from custseg.store import normalise_url

    df = load_table(demo_data_path())
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    tx = tmp_path / "t.csv"
    tx.write_text("who,when,what\na,2020-01-01,1\n")
    calls = [lambda: parse_k("1x"), lambda: registry.get("kmeanz"),
             lambda: Segmenter(n_threads=0).fit(df),
             lambda: validate_table(df, features=["nope"]),
             lambda: atomic_output_dir(tmp_path / "full").__enter__(),
             lambda: normalise_url(""),
             lambda: pick_engine("local", demo_data_path(), {"algorithm": "gmm"}),
             lambda: transactions_to_customers(tx),
             lambda: transactions_to_customers(tx, columns={"amount": "nope"})]
    errors = []
    for call in calls:
        with pytest.raises(CustsegError) as err:
            call()
        errors.append(err.value)
    return errors


def test_library_messages_name_parameters_not_flags(tmp_path):
    errors = _library_errors(tmp_path)
    for err in errors:
        assert not FLAG.search(str(err)), str(err)
    texts = [flag_text(str(e)) for e in errors]
    assert texts[0].startswith("--k must be")
    assert "--engine local runs K-Means" in texts[6] and "--algorithm gmm" in texts[6]
    assert "--customer-col" in texts[7] and texts[8].startswith("--amount-col: column 'nope'")
    assert "choose another --out or pass --force" in texts[4]


def test_no_raised_library_message_names_a_flag():
    """Scan: no string in a ``raise`` statement outside the faces names a ``--flag``."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] in FACES:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str) \
                        and FLAG.search(sub.value):
                    found.append(f"{path.relative_to(SRC)}:{sub.lineno}: {sub.value!r}")
    assert not found, "\n".join(found)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants of a module's modules, classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant):
            found.add(id(node.body[0].value))
    return found


def test_no_library_text_names_a_flag():
    """Scan: no text the library writes (warnings, reasons, report cells; any string that is
    not a docstring) outside the faces names a ``--flag``; the summary's schema
    descriptions (documentation of the JSON for both faces) are the exception."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] in FACES or rel.as_posix() in ("summary.py", "__main__.py"):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docs and FLAG.search(node.value):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)


def test_flag_table_names_real_options():
    import typer.main

    from custseg.cli import app

    command = typer.main.get_command(app)
    options = {opt for cmd in command.commands.values() for p in cmd.params  # type: ignore[attr-defined]
               for opt in p.opts}
    missing = {flag for flag in PARAMETER_FLAGS.values() if flag not in options}
    assert not missing


def test_cli_output_still_names_the_flag(tmp_path):
    demo = str(demo_data_path())
    res = invoke("segment", demo, "--k", "1x", "--out", str(tmp_path / "a"), "--quiet")
    assert res.exit_code == 2
    assert res.stderr.startswith("custseg: usage error: --k must be a number of segments")
    res = invoke("segment", demo, "--features", "nope", "--out", str(tmp_path / "b"), "--quiet")
    assert res.exit_code == 2 and "--features: column(s) ['nope'] not in the data" in res.stderr
    res = invoke("segment", demo, "--engine", "local", "--algorithm", "gmm",
                 "--out", str(tmp_path / "c"), "--quiet")
    assert res.exit_code == 2
    assert "--engine local runs K-Means on numeric columns; --algorithm gmm need --engine " \
           "standard" in res.stderr
    assert "`" not in res.stderr
