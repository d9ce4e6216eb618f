"""One error hierarchy for custseg.

Every error custseg raises on purpose derives from :class:`CustsegError` and also from the
matching builtin (``ValueError``, ``FileNotFoundError``), so ordinary ``except ValueError``
code keeps working.  Each error carries structured fields (``column``, ``reason``, ``rows``,
``values``) so that the CLI can pick an exit code and the service a 4xx status without
parsing the message.

Exit codes used by the command-line interface:

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
from dataclasses import dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_DATA = 3


class CustsegError(Exception):
    """Base class of every error custseg raises on purpose."""

    exit_code: int = EXIT_INTERNAL
    reason: str = "error"


class UsageError(CustsegError, ValueError):
    """A parameter or option has a value custseg does not accept.

    Parameters
    ----------
    message : str
        What is wrong, with the value received and what is accepted.
    parameter : str, optional
        The option or parameter at fault.
    """

    exit_code = EXIT_USAGE
    reason = "usage"

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class OutputError(CustsegError, OSError):
    """The outputs cannot be written where asked: a read-only or missing folder, a file
    where a folder should be, a full disk.  Nothing is left half-written.

    >>> OutputError("/proc/out: cannot write there (Permission denied)").exit_code
    3
    """

    exit_code = EXIT_DATA
    reason = "output"

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class OutputExistsError(UsageError, FileExistsError):
    """The output folder exists and is not empty, and overwriting was not asked for."""

    reason = "output-exists"


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

    def __init__(self, problems: Sequence[Problem] | str, column: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(column, problems)]
        self.problems = list(problems)
        self.column = self.problems[0].column if self.problems else column
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the data:"
        return "\n".join([head, *(f"  - {p.describe()}" for p in self.problems)])


class InputFileError(DataError, FileNotFoundError):
    """The input file is missing, empty or cannot be read as a table."""

    reason = "input-file"

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__([Problem(None, message, code="input-file")])

    def _render(self) -> str:
        return self.problems[0].message

