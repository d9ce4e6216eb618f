"""The ``custseg`` command: a thin Typer app over the library.

It parses options, calls :mod:`custseg.pipeline`, and prints with Rich.  Heavy imports happen
inside the commands so that ``custseg --help`` answers at once.  Exit codes: 0 success,
1 internal error, 2 usage error, 3 data error (see :mod:`custseg.errors`).

The package: :mod:`~custseg.cli.base` holds the Typer app and the error handler,
:mod:`~custseg.cli.options` the options several commands share,
:mod:`~custseg.cli.folders` the output folders, :mod:`~custseg.cli.output` what is printed;
one module a group of commands (:mod:`~custseg.cli.segmenting`, :mod:`~custseg.cli.methods`,
:mod:`~custseg.cli.transactions`, :mod:`~custseg.cli.exploring`,
:mod:`~custseg.cli.serving`, :mod:`~custseg.cli.runs`), registered here in the order
``custseg --help`` lists them.
"""

from __future__ import annotations

import sys

from custseg.cli import exploring, methods, runs, segmenting, serving, transactions
from custseg.cli.base import (
    ERROR_KINDS,
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    PARAMETER_FLAGS,
    Terminated,
    app,
    error_exit,
    flag_text,
    guarded,
    on_sigterm,
    version,
)
from custseg.cli.folders import DEFAULT_OUT_ROOT
from custseg.cli.output import print_result
from custseg.cli.segmenting import DEMO_FEATURES
from custseg.errors import EXIT_OK

__all__ = ["DEFAULT_OUT_ROOT", "DEMO_FEATURES", "ERROR_KINDS", "EXIT_CODES",
           "EXIT_INTERRUPTED", "EXIT_TERMINATED", "PARAMETER_FLAGS", "Terminated", "app",
           "entry", "error_exit", "flag_text", "guarded", "main", "on_sigterm", "print_result"]

# the commands, in the order `custseg --help` lists them
app.command()(segmenting.demo)
app.command()(segmenting.segment)
app.command("compare-methods")(methods.compare_methods_command)
app.command()(transactions.features)
app.command()(exploring.explore)
app.command()(serving.score)
app.command()(serving.serve)
app.command()(runs.compare)
app.command()(version)


def main(argv: list[str] | None = None) -> int:
    """Run the app as the ``custseg`` command would, returning the exit code."""
    try:
        app(args=argv, prog_name="custseg")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return EXIT_OK


#: The garbage collector's thresholds in the command's process (Python's are 700, 10, 10).
GC_THRESHOLDS = (10_000, 50, 100)


def fewer_collections() -> None:
    """Let the garbage collector run less often while the command runs.

    Importing pandas, scikit-learn, SciPy and Plotly makes a few hundred thousand objects
    that live as long as the process, and with Python's thresholds the collector walks them
    again and again: 534 collections, 4 of them full, took 0.33-0.41 s of a 1.8-2.3 s
    ``custseg demo`` on a 2-core machine; with :data:`GC_THRESHOLDS`, 36 collections and
    none full, 0.08 s.  A run's data lives in NumPy arrays and DataFrames, which hold few
    Python objects, so the garbage left for longer is small.  In the command's own process
    only (never when custseg is imported as a library).
    """
    import gc

    gc.set_threshold(*GC_THRESHOLDS)


def plain_scipy_docstrings() -> None:
    """Let SciPy keep its functions' docstrings as written while it is imported.

    SciPy (1.15 and later) rewrites the docstring of every function it marks with its array
    API support when the module is imported: it parses each one with its numpydoc parser to
    append a note, some 700 of them when scikit-learn imports ``scipy.stats``; 0.3-0.5 s of
    every command on a 2-core machine, for help texts the terminal never shows.  In the
    command's own process only (never when custseg is imported as a library), the parser is
    replaced by one that gives each docstring back unchanged.  Nothing else changes; with a
    SciPy that has no such parser this does nothing.
    """
    try:
        import scipy._lib._array_api as array_api
    except ImportError:
        return
    if hasattr(array_api, "FunctionDoc"):
        array_api.FunctionDoc = _DocAsWritten


class _DocAsWritten:
    """What SciPy's array-API decorator reads of a docstring (a "Notes" list to append to,
    the text after a first signature line), without parsing it."""

    def __init__(self, f: object) -> None:
        self.doc = getattr(f, "__doc__", None) or ""

    def __getitem__(self, section: str) -> list[str]:
        return []

    def __str__(self) -> str:
        return "\n" + self.doc


def entry() -> None:
    """Console-script entry point.

    After the command, the exit handlers run and the streams are flushed, then the process
    ends at once: tearing down the interpreter's modules (scikit-learn, SciPy, Numba...)
    and freeing a large run's memory piece by piece took another 0.5 s after a 1M-customer
    run, for nothing the operating system does not do anyway.
    """
    import atexit
    import os
    import signal

    signal.signal(signal.SIGTERM, on_sigterm)
    fewer_collections()
    plain_scipy_docstrings()
    try:
        app(prog_name="custseg")
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    # the command is over (its outputs written or removed): a SIGTERM while the exit
    # handlers wait for worker processes ends the process quietly, not with a traceback
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
