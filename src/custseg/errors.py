"""One error hierarchy for custseg.

Every error custseg raises on purpose derives from :class:`CustsegError` and also from the
matching builtin (``ValueError``, ``FileNotFoundError``), so ordinary ``except ValueError``
code keeps working.  Each error carries a :class:`ErrorCode` (``code``) and structured fields
(``column``, ``rows``, ``hint``, ``parameter``; a :class:`DataError` its ``problems``) so that
the CLI can pick an exit code and the service an HTTP answer, each from one table keyed by
``code``, without parsing the message.

The library speaks of its own parameters, never of command-line flags: a message names a
parameter between backquotes, alone or with a value (```k```, ```engine='standard'```,
```force=True```), and the CLI renders those as its flags (``--k``, ``--engine standard``,
``--force``).

Exit codes used by the command-line interface (``custseg.cli.EXIT_CODES``; ``exit_code``
gives the same on every error class):

===  ==========================================================================
0    success
1    internal error (a bug in custseg: please report it)
2    usage error: bad option or argument, output folder not empty without --force
3    data error: the input file is missing, unreadable or its data fail the checks, or
     the outputs cannot be written where asked (read-only folder, a file in the way)
130  interrupted (Ctrl-C); 143 terminated (SIGTERM): temporary outputs are removed
===  ==========================================================================

Examples
--------
>>> err = DataError([Problem("Age", "non-numeric values", rows=[3, 7], values=["?", "12k"])])
>>> isinstance(err, ValueError), err.exit_code
(True, 3)
>>> print(err)
1 problem in the data:
  - column 'Age': non-numeric values: '?' (row 3), '12k' (row 7)
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_DATA = 3


class ErrorCode(StrEnum):
    """What kind of error: the key of the CLI's exit-code table and the service's HTTP
    table.  The value is the ``reason`` of the error class that has the code by default."""

    INTERNAL = "error"
    #: A call or an option is not usable as given (no single parameter at fault).
    USAGE = "usage"
    #: One parameter has a value custseg does not accept (``parameter`` names it).
    BAD_PARAMETER = "bad-parameter"
    #: An optional dependency the method or option needs is not installed.
    MISSING_DEPENDENCY = "missing-dependency"
    #: The output exists and overwriting was not asked for.
    OUTPUT_EXISTS = "output-exists"
    #: The output cannot be written where asked.
    OUTPUT = "output"
    #: The data fail the checks.
    DATA = "data"
    #: The input file is missing, empty or unreadable.
    INPUT_FILE = "input-file"
    #: A model bundle is missing, foreign, tampered with or of an unreadable version.
    BUNDLE = "bundle"
    #: The store cannot be opened or used.
    STORE = "store"
    #: Events sent again with another payload.
    EVENT_CONFLICT = "event-conflict"


class CustsegError(Exception):
    """Base class of every error custseg raises on purpose.

    Attributes
    ----------
    code : ErrorCode
        The kind of error (class default; a subclass that sets only ``reason`` to the value
        of a code gets that code).
    column : str or None
        The column at fault, when one is.
    rows : list of int
        1-based data rows at fault (the header not counted).
    hint : str or None
        What to do about it, when custseg knows.
    parameter : str or None
        The library parameter at fault (``k``, ``max_junk``...), when one is.
    """

    code: ErrorCode = ErrorCode.INTERNAL
    exit_code: int = EXIT_INTERNAL
    reason: str = "error"
    column: str | None = None
    rows: Sequence[int] = ()
    hint: str | None = None
    parameter: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__ and "reason" in cls.__dict__:
            with suppress(ValueError):  # a reason that is no code: the parent's code
                cls.code = ErrorCode(cls.reason)


class UsageError(CustsegError, ValueError):
    """A parameter or option has a value custseg does not accept.

    Parameters
    ----------
    message : str
        What is wrong, with the value received and what is accepted; parameters are named
        between backquotes (```k```) when the message mentions them.
    parameter : str, optional
        The library parameter at fault (``"k"``, ``"max_junk"``): the code is then
        :attr:`ErrorCode.BAD_PARAMETER`.
    hint : str, optional
        What to do about it.
    """

    exit_code = EXIT_USAGE
    reason = "usage"
    code = ErrorCode.USAGE

    def __init__(self, message: str, parameter: str | None = None, *,
                 hint: str | None = None, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.hint = hint
        if code is not None:
            self.code = code
        elif parameter is not None and type(self).code is ErrorCode.USAGE:
            self.code = ErrorCode.BAD_PARAMETER


class MissingDependencyError(UsageError):
    """An optional dependency is not installed; the message gives the install command."""

    code = ErrorCode.MISSING_DEPENDENCY


class OutputError(CustsegError, OSError):
    """The outputs cannot be written where asked: a read-only or missing folder, a file
    where a folder should be, a full disk.  Nothing is left half-written.

    >>> OutputError("/proc/out: cannot write there (Permission denied)").exit_code
    3
    """

    exit_code = EXIT_DATA
    reason = "output"
    code = ErrorCode.OUTPUT

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class OutputExistsError(UsageError, FileExistsError):
    """The output folder exists and is not empty, and overwriting was not asked for."""

    reason = "output-exists"
    code = ErrorCode.OUTPUT_EXISTS


@dataclass
class Problem:
    """One finding of the data checks.

    ``rows`` are 1-based data row numbers (the header is not counted), as a person reading
    the file in a spreadsheet would count them.
    """

    column: str | None
    message: str
    rows: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    code: str = "invalid"
    severity: str = "error"  # "error" or "warning"

    def describe(self, max_items: int = 5) -> str:
        """One line for a person: column, what is wrong, a few offending values and rows."""
        where = f"column '{self.column}': " if self.column is not None else ""
        text = f"{where}{self.message}"
        if self.values and self.rows:
            pairs = list(zip(self.values, self.rows, strict=False))[:max_items]
            text += ": " + ", ".join(f"{v!r} (row {r})" for v, r in pairs)
        elif self.rows:
            text += ": rows " + ", ".join(str(r) for r in self.rows[:max_items])
        elif self.values:
            text += ": " + ", ".join(repr(v) for v in self.values[:max_items])
        more = max(len(self.rows), len(self.values)) - max_items
        if more > 0:
            text += f" (and {more} more)"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "rows": [int(r) for r in self.rows[:20]],
            "values": [v if isinstance(v, (int, float, str)) else str(v) for v in self.values[:20]],
        }


class DataError(CustsegError, ValueError):
    """The data fail one or more checks; every problem found is listed together.

    Attributes
    ----------
    problems : list of Problem
        Each with the column, the message, offending rows and values.
    column : str or None
        The column of the first problem (convenient when there is only one).
    """

    exit_code = EXIT_DATA
    reason = "data"
    code = ErrorCode.DATA

    def __init__(self, problems: Sequence[Problem] | str, column: str | None = None, *,
                 hint: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(column, problems)]
        self.problems = list(problems)
        self.column = self.problems[0].column if self.problems else column
        self.rows = list(self.problems[0].rows) if self.problems else []
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the data:"
        return "\n".join([head, *(f"  - {p.describe()}" for p in self.problems)])


class InputFileError(DataError, FileNotFoundError):
    """The input file is missing, empty or cannot be read as a table."""

    reason = "input-file"
    code = ErrorCode.INPUT_FILE

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__([Problem(None, message, code="input-file")])

    def _render(self) -> str:
        return self.problems[0].message

