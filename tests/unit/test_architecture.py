"""The architecture's rules, checked on the source.

* The import-linter contracts in pyproject.toml ([tool.importlinter]: the layers, serving,
  nobody imports the package's ``__init__``, private modules, no cycles between siblings) are
  kept, and each one does catch the import it forbids (an import planted in a copy of the
  graph).
* No import cycle at all between custseg's modules, a package's ``__init__`` and its own
  modules included (imports under ``if TYPE_CHECKING:`` left out, as in the contracts).
* No module uses a private name (``_name``) of another module: ``from custseg.x import _name``,
  ``custseg.x._name`` or ``alias._name`` with ``alias`` bound to a custseg module.  A package's
  own private modules are fine inside that package (``custseg.algorithms.kmeans`` imports
  ``custseg.algorithms._kmeans_kernels``; any module of custseg reads ``custseg._version``),
  as import-linter's private-modules contract says too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter.api import read_configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.contracts.private_modules import PrivateModulesContract

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = SRC / "custseg"
CONTRACT_TYPES: dict[str, Any] = {
    "layers": LayersContract,
    "forbidden": ForbiddenContract,
    "private_modules": PrivateModulesContract,
    "acyclic_siblings": AcyclicSiblingsContract,
}


# ----------------------------------------------------------------------------- private names
def module_name(path: Path) -> str:
    """``src/custseg/report/figures.py`` -> ``custseg.report.figures``."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_module(name: str) -> bool:
    path = SRC.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _reaches(importer: str, owner: str, name: str) -> str | None:
    """Why ``importer`` may not use ``owner.name`` (None when it may): a private name of
    another module, or a private module outside its package."""
    if not _is_private(name) or owner == importer:
        return None
    if _is_module(f"{owner}.{name}"):  # a private module: only from inside its package
        return None if (importer + ".").startswith(owner + ".") else "private module"
    return "private name"


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _bindings(tree: ast.AST, module: str, is_package: bool) -> dict[str, str]:
    """Names bound to custseg modules by the imports of a file (``import custseg.x as y``,
    ``from custseg.report import figures``, ``import custseg.x`` binds ``custseg``)."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "custseg":
                    bound[alias.asname or "custseg"] = (alias.name if alias.asname
                                                        else "custseg")
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, is_package, node)
            for alias in node.names:
                if source.startswith("custseg") and _is_module(f"{source}.{alias.name}"):
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
    return bound


def _attribute_owner(node: ast.Attribute, bound: dict[str, str]) -> str | None:
    """The custseg module ``node.value`` stands for (``figures``, ``custseg.report``)."""
    names: list[str] = []
    value: ast.expr = node.value
    while isinstance(value, ast.Attribute):
        names.append(value.attr)
        value = value.value
    if not isinstance(value, ast.Name) or value.id not in bound:
        return None
    owner = bound[value.id]
    for name in reversed(names):
        if not _is_module(f"{owner}.{name}"):
            return None
        owner = f"{owner}.{name}"
    return owner


def private_uses(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Each use in ``source`` (the text of ``module``) of another module's private name:
    ``"line: owner.name (private name)"``."""
    tree = ast.parse(source)
    bound = _bindings(tree, module, is_package)
    found: list[str] = []
    for node in ast.walk(tree):
        uses: list[tuple[str, str]] = []
        if isinstance(node, ast.ImportFrom):
            owner = _absolute(module, is_package, node)
            if owner.startswith("custseg"):
                uses = [(owner, alias.name) for alias in node.names]
                parent, _, last = owner.rpartition(".")
                uses.append((parent, last))  # from custseg.x._private import name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                uses += [(".".join(parts[:i]), parts[i]) for i in range(1, len(parts))
                         if parts[0] == "custseg"]
        elif isinstance(node, ast.Attribute):
            owner = _attribute_owner(node, bound)
            uses = [(owner, node.attr)] if owner else []
        for owner, name in uses:
            why = _reaches(module, owner, name)
            if why:
                found.append(f"{node.lineno}: {owner}.{name} ({why})")
    return found


def test_no_module_uses_a_private_name_of_another() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        uses = private_uses(path.read_text("utf-8"), module_name(path),
                            is_package=path.name == "__init__.py")
        problems += [f"{path.relative_to(ROOT)}:{use}" for use in uses]
    assert not problems, ("make the name public in its module (and import that): \n"
                          + "\n".join(problems))


@pytest.mark.parametrize(("source", "module", "expected"), [
    ("from custseg.schema import _parse_numeric", "custseg.explore",
     ["1: custseg.schema._parse_numeric (private name)"]),
    ("from ..schema import _parse_numeric", "custseg.engines.local",
     ["1: custseg.schema._parse_numeric (private name)"]),
    ("import custseg.pipeline as p\np._jsonable(1)", "custseg.engines.spark",
     ["2: custseg.pipeline._jsonable (private name)"]),
    ("import custseg.report.figures\ncustseg.report.figures._layout", "custseg.notebook",
     ["2: custseg.report.figures._layout (private name)"]),
    ("from custseg.report import figures\nfigures._layout()", "custseg.notebook",
     ["2: custseg.report.figures._layout (private name)"]),
    ("from custseg.algorithms import _kmeans_kernels", "custseg.selection",
     ["1: custseg.algorithms._kmeans_kernels (private module)"]),
    ("from custseg.algorithms._kmeans_kernels import assign", "custseg.selection",
     ["1: custseg.algorithms._kmeans_kernels (private module)"]),
    # a package's own private module, from inside the package: fine
    ("from custseg.algorithms import _kmeans_kernels", "custseg.algorithms.kmeans", []),
    ("from custseg._version import __version__", "custseg.engines.spark", []),
    ("from custseg.schema import parse_numeric\nparse_numeric._cache", "custseg.explore", []),
])
def test_the_private_name_check_tells_them_apart(source: str, module: str,
                                                 expected: list[str]) -> None:
    assert private_uses(source, module) == expected


# ----------------------------------------------------------------------------- contracts
def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    """custseg's import graph as import-linter sees it (TYPE_CHECKING imports left out)."""
    return grimp.build_graph("custseg", exclude_type_checking_imports=True, cache_dir=None)


def _check(contract_id: str, graph: grimp.ImportGraph) -> bool:
    """Whether the contract ``contract_id`` of pyproject.toml is kept on ``graph``."""
    config = read_configuration(str(ROOT / "pyproject.toml"))
    options = next(o for o in config["contracts_options"] if o.get("id") == contract_id)
    contract = CONTRACT_TYPES[options["type"]](
        name=options["name"], session_options=config["session_options"],
        contract_options=options)
    return bool(contract.check(deepcopy(graph), verbose=False).kept)


@pytest.mark.parametrize(("contract_id", "importer", "imported"), [
    ("layers", "custseg.errors", "custseg.cli"),  # the base imports a face
    ("layers", "custseg.profiling", "custseg.segmenter"),  # a stage imports the estimator
    ("layers", "custseg.explore", "custseg.report"),  # the numbers import their drawing
    ("layers", "custseg.schema", "custseg.preprocess"),
    ("serving", "custseg.bundle", "custseg.scoring"),
    ("root", "custseg.bundle", "custseg"),
    ("private-modules", "custseg.selection", "custseg.algorithms._kmeans_kernels"),
    ("acyclic", "custseg.engines.local", "custseg.engines.spark"),
])
def test_each_contract_catches_what_it_forbids(graph: grimp.ImportGraph, contract_id: str,
                                               importer: str, imported: str) -> None:
    assert _check(contract_id, graph)
    planted = deepcopy(graph)
    planted.add_import(importer=importer, imported=imported)
    if contract_id == "acyclic":  # a cycle needs the way back too
        planted.add_import(importer=imported, imported=importer)
    assert not _check(contract_id, planted)


def test_a_new_module_must_be_given_a_layer(graph: grimp.ImportGraph) -> None:
    planted = deepcopy(graph)
    planted.add_module("custseg.newcomer")
    assert not _check("layers", planted)


# ----------------------------------------------------------------------------- cycles
def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (strongly connected
    components of more than one module), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm (the graph has ~50 modules)
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(groups)


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    assert import_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle_through_a_package(graph: grimp.ImportGraph) -> None:
    def through_the_package(groups: list[list[str]]) -> bool:
        return any({"custseg.engines", "custseg.engines.local"} <= set(g) for g in groups)

    assert not through_the_package(import_cycles(graph))
    planted = deepcopy(graph)  # custseg.engines.local imports its package; now the way back
    planted.add_import(importer="custseg.engines", imported="custseg.engines.local")
    assert through_the_package(import_cycles(planted))
