"""The Typer app every command is registered on, and the error handler they share.

Library errors become an exit code (:data:`EXIT_CODES`) and one line on stderr naming the
command-line flags (:func:`flag_text`); Ctrl-C and SIGTERM exit 130 and 143 after the
temporary outputs are removed; a bug exits 1 with its traceback.
"""

from __future__ import annotations

import functools
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

import typer

from custseg._version import __version__
from custseg.errors import EXIT_DATA, EXIT_INTERNAL, EXIT_USAGE, CustsegError, ErrorCode

app = typer.Typer(
    name="custseg",
    help="Customer segmentation: from a customer file to named, explained segments.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


#: Exit codes after Ctrl-C and SIGTERM (128 + the signal's number, as shells report them).
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

#: The exit code of every kind of library error: the one table the error handler uses.
EXIT_CODES: dict[ErrorCode, int] = {
    ErrorCode.INTERNAL: EXIT_INTERNAL,
    ErrorCode.USAGE: EXIT_USAGE,
    ErrorCode.BAD_PARAMETER: EXIT_USAGE,
    ErrorCode.MISSING_DEPENDENCY: EXIT_USAGE,
    ErrorCode.OUTPUT_EXISTS: EXIT_USAGE,
    ErrorCode.OUTPUT: EXIT_DATA,
    ErrorCode.DATA: EXIT_DATA,
    ErrorCode.INPUT_FILE: EXIT_DATA,
    ErrorCode.BUNDLE: EXIT_DATA,
    ErrorCode.STORE: EXIT_DATA,
    ErrorCode.EVENT_CONFLICT: EXIT_DATA,
}
#: How each exit code's errors are called on stderr (``custseg: usage error: ...``).
ERROR_KINDS = {EXIT_USAGE: "usage error", EXIT_DATA: "data error"}

#: The library's parameters and the command-line flags that set them: library messages
#: name parameters between backquotes (```k```, ```engine='local'```, ```force=True```) and
#: the terminal shows the flags (``--k``, ``--engine local``, ``--force``).  A parameter not
#: listed is shown as ``--`` + its name with dashes.
PARAMETER_FLAGS: dict[str, str] = {
    "k": "--k", "k_range": "--k", "features": "--features", "exclude": "--exclude",
    "id_col": "--id-col", "categorical": "--categorical",
    "use_categorical": "--use-categorical", "impute": "--impute", "clip": "--clip",
    "log": "--log", "scaling": "--scaling", "max_junk": "--max-junk", "rules": "--rules",
    "algorithm": "--algorithm", "stability": "--stability", "n_threads": "--threads",
    "random_state": "--seed", "max_columns": "--max-columns", "outliers": "--outliers",
    "engine": "--engine", "output_format": "--format",
    "out": "--out", "force": "--force", "store": "--store",
    "match_distance": "--match-distance", "max_distance": "--match-distance", "png": "--png",
    "transactions": "--transactions",
    "customer_col": "--customer-col", "date_col": "--date-col", "amount_col": "--amount-col",
    "quantity_col": "--quantity-col", "price_col": "--price-col",
    "invoice_col": "--invoice-col", "product_col": "--product-col", "as_of": "--as-of",
    "date_format": "--date-format", "duplicates": "--duplicates",
    "host": "--host", "token_env": "--token-env", "token": "--token",
    "allow_no_token": "--no-auth",
    **{f"columns[{role!r}]": f"--{role}-col" for role in
       ("customer", "date", "amount", "quantity", "price", "invoice", "product")},
}
_PARAMETER = re.compile(r"`([A-Za-z_]\w*(?:\['\w+'\])?)(?:=([^`]*))?`")


def flag_text(text: str) -> str:
    """A library message as the terminal shows it: each backquoted parameter becomes its
    flag (:data:`PARAMETER_FLAGS`).

    >>> flag_text("`k` must be >= 2; `engine='local'` needs `force=True`")
    '--k must be >= 2; --engine local needs --force'
    """

    def flag(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        option = PARAMETER_FLAGS.get(name, "--" + name.replace("_", "-"))
        if value is None or value == "True":
            return option
        if value == "False":
            return "--no-" + option[2:]
        return f"{option} {value.strip(chr(39) + chr(34))}"

    return _PARAMETER.sub(flag, text)


def error_exit(exc: CustsegError) -> tuple[int, str]:
    """Exit code and stderr line of a library error (:data:`EXIT_CODES`)."""
    code = EXIT_CODES[exc.code]
    kind = "output error" if exc.code is ErrorCode.OUTPUT else ERROR_KINDS.get(code, "error")
    return code, f"custseg: {kind}: {flag_text(str(exc))}"


class Terminated(KeyboardInterrupt):
    """SIGTERM received: raised in the main thread so that every ``finally`` runs and the
    temporary outputs are removed before the process ends."""


def on_sigterm(signum: int, frame: Any) -> None:
    """The SIGTERM handler: raise :class:`Terminated` in the main thread."""
    raise Terminated()


def guarded(func: Callable[..., None]) -> Callable[..., None]:
    """Map custseg errors to exit codes and messages on stderr; a bug exits 1 with its
    traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except CustsegError as exc:
            code, line = error_exit(exc)
            print(line, file=sys.stderr)
            raise typer.Exit(code) from None
        except Terminated:
            print("custseg: terminated; temporary outputs removed", file=sys.stderr)
            raise typer.Exit(EXIT_TERMINATED) from None
        except KeyboardInterrupt:
            print("custseg: interrupted; temporary outputs removed", file=sys.stderr)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # a bug: say so, show where
            traceback.print_exc()
            print(f"custseg: internal error: {exc!r}. This is a bug in custseg; please report "
                  "it with the command and the traceback above.", file=sys.stderr)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def version() -> None:
    """Print the custseg version."""
    typer.echo(f"custseg {__version__}")
