"""Short functions and modules of one concern (issue 16): a function over 60 lines, or a
module over 600 lines, must say why in a comment (``# long function: ...`` in its first lines,
``# long module: ...`` near the top of the module).  A newcomer reads a function in one
screen, and a module in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "custseg"
MAX_FUNCTION = 60
MAX_MODULE = 600
#: how many lines at the start of a function (or module) may hold the "why" comment
WHY_WITHIN = 12


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _says_why(lines: list[str], start: int, marker: str) -> bool:
    return any(marker in line for line in lines[start:start + WHY_WITHIN])


def test_long_functions_say_why() -> None:
    unexplained = []
    for path in _sources():
        lines = path.read_text("utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            body_start = node.body[0].lineno - 1
            if length > MAX_FUNCTION and not _says_why(lines, body_start, "# long function:"):
                unexplained.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} "
                                   f"({length} lines)")
    assert not unexplained, "functions over 60 lines without a reason:\n" + "\n".join(
        unexplained)


def test_long_modules_say_why() -> None:
    unexplained = []
    for path in _sources():
        lines = path.read_text("utf-8").splitlines()
        if len(lines) > MAX_MODULE and not any("# long module:" in line
                                               for line in lines[:80]):
            unexplained.append(f"{path.relative_to(SRC)} ({len(lines)} lines)")
    assert not unexplained, "modules over 600 lines without a reason:\n" + "\n".join(
        unexplained)


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    """The length rule measures what it claims: a 70-line function is long, a commented
    one passes."""
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    tree = ast.parse(f"def f():\n{body}\n")
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    assert (node.end_lineno or 0) - node.lineno + 1 > MAX_FUNCTION
    lines = ["def f():", "    # long function: a table of seventy steps", *body.splitlines()]
    assert _says_why(lines, 1, "# long function:")
