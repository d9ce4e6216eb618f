"""The ``custseg`` command: a thin Typer app over the library.

It parses options, calls :mod:`custseg.pipeline`, and prints with Rich.  Heavy imports happen
inside the commands so that ``custseg --help`` answers at once.  Exit codes: 0 success,
1 internal error, 2 usage error, 3 data error (see :mod:`custseg.errors`).
"""

from __future__ import annotations

import functools
import re
import shlex
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from custseg._version import __version__
from custseg.algorithms import registry
from custseg.errors import EXIT_DATA, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, CustsegError, ErrorCode

if TYPE_CHECKING:
    from rich.console import Console

    from custseg.pipeline import SegmentationResult

app = typer.Typer(
    name="custseg",
    help="Customer segmentation: from a customer file to named, explained segments.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DEMO_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


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


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def _guarded(func: Callable[..., None]) -> Callable[..., None]:
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


def _console(quiet: bool) -> Console:
    from rich.console import Console

    return Console(quiet=quiet, highlight=False, soft_wrap=False)


class _Progress:
    """Rich progress bars, one per stage, fed by the library's progress callback."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description:<10}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"),
                                 TimeElapsedColumn(), console=console, transient=True,
                                 disable=console.quiet)
        self.tasks: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)

    def __enter__(self) -> _Progress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _outliers_line(s: dict[str, Any]) -> str | None:
    """'outliers: 24 customers (1.1%) in 3 columns (...), winsorised for fitting, kept'."""
    from rich.markup import escape

    o = s.get("outliers")
    if not isinstance(o, dict):
        return None
    cols = [str(c) for c in (o.get("columns") or {})]
    n = o.get("rows")
    share = o.get("share")
    if not isinstance(n, int):
        n = sum(int((v or {}).get("count") or 0) for v in (o.get("columns") or {}).values())
    where = (f" in {len(cols)} column{'s' if len(cols) != 1 else ''} ("
             + escape(", ".join(cols[:6])) + (", …" if len(cols) > 6 else "") + ")"
             if cols else "")
    pct = f" ({share:.1%})" if isinstance(share, int | float) else ""
    return (f"  outliers:  {n:,} customer{'s' if n != 1 else ''}{pct}{where}"
            + (": winsorised for fitting, not removed" if n else ""))


def _print_result(console: Console, result: SegmentationResult, out: Path | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from custseg.report.profiles import dropped_groups, is_outlier_group, trait_short, traits

    def names(cols: Any, most: int = 20) -> str:
        cols = [str(c) for c in cols]
        more = f" and {len(cols) - most:,} more" if len(cols) > most else ""
        return (escape(", ".join(cols[:most])) + more) or "-"

    s = result.summary
    roles = s["roles"]
    console.print(f"[bold]Read[/] {s['input']['rows']} rows × {s['input']['columns']} columns "
                  f"from {escape(str(s['input']['path']))} ({s['input']['format']}"
                  + (f", {s['input']['encoding']}, delimiter "
                     + escape(repr(s['input']['delimiter']))
                     if s["input"]["format"] == "csv" else "") + ")")
    console.print("  id column: " + (escape(str(roles["id_column"])) if roles["id_column"]
                                     else "(none: row numbers)"))
    console.print(f"  numeric:   {names(roles['numeric'])}")
    console.print(f"  categorical (describes segments): {names(roles['categorical'])}")
    if roles["dates"]:
        console.print(f"  dates:     {names(roles['dates'])}")
    for col, why in roles["ignored"].items():
        console.print(f"  ignored:   {escape(str(col))} ({escape(str(why))})")
    for what, cols in dropped_groups(s):
        console.print(f"  dropped {escape(what)}: {names(cols)}")
    console.print(f"  features:  {names(s['features'])}")
    engine = s.get("engine")
    if engine and engine.get("name") == "local":
        console.print(f"  engine:    fast path (k chosen on a stratified sample of "
                      f"{engine['selection_sample']:,} customers; report drawn from "
                      f"{engine['report_sample']:,}; {engine['dtype']})")
    if s["preprocessing"]["log_columns"]:
        console.print(f"  log-transformed (skewed): {names(s['preprocessing']['log_columns'])}")
    cleaning = s["cleaning"]
    imputed = cleaning.get("imputed") or {}
    if imputed:
        how = s["preprocessing"]["impute"]
        console.print("  imputed (" + escape(str(how)) + "): " + escape(", ".join(
            f"{c} ({n} value{'s' if n != 1 else ''})" for c, n in imputed.items())))
    if cleaning.get("rows_dropped_missing"):
        console.print(f"  rows dropped for missing values: {cleaning['rows_dropped_missing']}")
    if s["preprocessing"]["clip"]:
        q = s["preprocessing"]["clip"]
        console.print(f"  clipped at quantiles {q:g} and {1 - q:g}")
    line = _outliers_line(s)
    if line:
        console.print(line)
    for w in s["warnings"]:
        col = f"column '{escape(str(w['column']))}': " if w["column"] else ""
        console.print(f"[yellow]warning[/] {col}{escape(flag_text(str(w['message'])))}"
                      + (f" (rows {', '.join(map(str, w['rows'][:5]))})" if w["rows"] else ""))

    ksel = s["k_selection"]
    if len(ksel["scores"]) > 1:
        kt = Table(title="Choosing the number of segments", title_justify="left")
        for col in ("k", "inertia", "silhouette", "Calinski-Harabasz", "Davies-Bouldin"):
            kt.add_column(col, justify="right")
        for sc in ksel["scores"]:
            style = "bold green" if sc["k"] == ksel["chosen_k"] else None
            kt.add_row(str(sc["k"]), f"{sc['inertia']:.1f}", f"{sc['silhouette']:.3f}",
                       f"{sc['calinski_harabasz']:.1f}", f"{sc['davies_bouldin']:.3f}",
                       style=style)
        console.print(kt)
    if ksel["method"] == "consensus":
        console.print(f"[bold]{escape(str(ksel['explanation']))}[/] Confidence: "
                      f"{ksel['confidence_label']} ({ksel['confidence']:.2f}).")
    else:
        console.print(f"[bold]{escape(str(ksel['explanation']))}[/]")

    table = Table(title=f"{s['k']} segments of {s['n_customers']:,} customers",
                  title_justify="left")
    longest = max((len(str(seg["name"])) for seg in s["segments"]), default=10)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("segment", min_width=min(longest, 26))  # short names never wrap
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    table.add_column("what sets it apart", min_width=22)
    for seg in s["segments"]:
        apart = "\n".join(trait_short(t) for t in traits(seg, s)[:3])
        if is_outlier_group(seg):
            apart = "outlier group: review individually" + (f"\n{apart}" if apart else "")
        table.add_row(str(seg["id"]), escape(str(seg["name"])), f"{seg['size']:,}",
                      f"{seg['share']:.0%}", escape(apart or "close to average"))
    console.print(table)
    console.print("[bold]Recommendations[/]")
    for seg in s["segments"]:
        console.print(f"  {seg['id']} [bold]{escape(str(seg['name']))}[/]: "
                      f"{escape(str(seg['recommendation']))}")
    if out is not None:
        written = [p.name + ("/" if p.is_dir() else "") for p in sorted(out.iterdir())]
        console.print(f"Wrote {escape(', '.join(written))} to [bold]{escape(str(out))}[/]")


#: Where outputs go when --out is not given: a folder of the current directory (the input's
#: folder may be read-only or shared), one entry per input file.
DEFAULT_OUT_ROOT = Path("custseg-out")


def _default_out(input_path: Path, suffix: str = "") -> Path:
    """``custseg-out/<input name><suffix>`` in the current folder."""
    return DEFAULT_OUT_ROOT / (input_path.stem + suffix)


def _check_out(out: Path, *, force: bool, input_path: Path | None = None,
               only_custseg_output: bool = False) -> None:
    """Refuse a bad output folder before any work is done (it is checked again on writing)."""
    from custseg.errors import OutputExistsError, UsageError
    from custseg.io import check_output_location

    target = out.resolve()
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise UsageError(f"--out {out} is the current folder or one of its parents; choose a "
                         "new folder for the outputs", "--out")
    if input_path is not None and target in input_path.resolve().parents:
        raise UsageError(f"--out {out} contains the input file {input_path}; choose another "
                         "folder", "--out")
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"--out {out} exists and is a file, not a folder", "--out")
    check_output_location(out)
    if out.is_dir() and any(out.iterdir()):
        if only_custseg_output and not (out / "summary.json").exists():
            raise OutputExistsError(f"--out {out} is not empty and is not a custseg output "
                                    "folder; the demo will not replace it", "--out")
        if not force:
            raise OutputExistsError(f"--out {out} exists and is not empty; choose another "
                                    "--out or pass --force to replace it", "--out")


def _run(input_path: Path, out: Path, *, force: bool, quiet: bool, command: str,
         read_options: dict[str, Any], options: dict[str, Any],
         only_custseg_output: bool = False, png: Path | None = None,
         engine: str = "standard", fmt: str = "csv",
         spark_master: str = "local[*]") -> SegmentationResult:
    from custseg.pipeline import segment_file, write_outputs

    _check_out(out, force=force, input_path=input_path,
               only_custseg_output=only_custseg_output)
    if png is not None:
        from custseg.report import check_png_support

        check_png_support(png)  # before the work, not after
    console = _console(quiet)
    with _Progress(console) as progress:
        if engine == "local":
            from custseg.engines.local import segment_large, write_large_outputs

            result = segment_large(input_path, progress=progress, command=command,
                                   **read_options, **options)
            progress("write", 0, 1)
            write_large_outputs(result, out, force=force, fmt=fmt)
        elif engine == "spark":  # segments/ as Parquet part files written by Spark
            from custseg.engines.spark import segment_spark, write_spark_outputs

            spark_result = segment_spark(input_path, master=spark_master, progress=progress,
                                         command=command, **read_options, **options)
            write_spark_outputs(spark_result, out, force=force)
            result = spark_result.report_result()
        else:
            result = segment_file(input_path, progress=progress, command=command,
                                  **read_options, **options)
            progress("write", 0, 1)
            write_outputs(result, out, force=force, fmt=fmt)
        progress("write", 1, 1)
    _print_result(console, result, out)
    if png is not None:
        from custseg.report import report_images

        images = report_images(result, png)
        console.print(f"Wrote {len(images)} charts as PNG to {png}", markup=False)
    return result


PNG_HELP = ("Also write each chart of the report as a PNG into this folder (for slides; "
            "needs custseg[png] and Chrome or Chromium).")


def _list(value: str | None, name: str) -> list[str] | None:
    from custseg.io import parse_list_option

    return parse_list_option(value, name)


# Options shared by several commands.
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace a non-empty output folder.")]
SeedOpt = Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Random seed.")]
SheetOpt = Annotated[str | None, typer.Option(help="Excel sheet (default: the first).")]
DelimiterOpt = Annotated[str | None, typer.Option(
    help="Delimiter of a text file (default: detected).")]
EncodingOpt = Annotated[str | None, typer.Option(
    help="Encoding of a text file (default: detected).")]


# Options of the transaction commands (`features`, `segment --transactions`).
CustomerColOpt = Annotated[str | None, typer.Option(
    "--customer-col", help="Transactions: customer id column (default: inferred).")]
DateColOpt = Annotated[str | None, typer.Option(
    "--date-col", help="Transactions: date or date-time column (default: inferred).")]
AmountColOpt = Annotated[str | None, typer.Option(
    "--amount-col", help="Transactions: line amount column (default: inferred, or quantity "
    "x unit price).")]
QuantityColOpt = Annotated[str | None, typer.Option(
    "--quantity-col", help="Transactions: quantity column (default: inferred).")]
PriceColOpt = Annotated[str | None, typer.Option(
    "--price-col", help="Transactions: unit price column (default: inferred).")]
InvoiceColOpt = Annotated[str | None, typer.Option(
    "--invoice-col", help="Transactions: order or invoice id column; an id starting with C "
    "is a cancellation (default: inferred).")]
ProductColOpt = Annotated[str | None, typer.Option(
    "--product-col", help="Transactions: product id column (default: inferred).")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="Transactions: date (YYYY-MM-DD) the features are computed at; later "
    "lines are left out (default: the day after the last transaction).")]
DateFormatOpt = Annotated[str | None, typer.Option(
    "--date-format", help="Transactions: strptime format of the dates, e.g. '%d/%m/%Y %H:%M' "
    "(default: detected).")]
DuplicatesOpt = Annotated[str, typer.Option(
    "--duplicates", help="Transactions: exact duplicate lines: auto (dropped when the lines "
    "have an order id or a time of day, else kept), drop or keep.")]


def _transaction_options(**given: Any) -> dict[str, Any]:
    """The options of custseg.features.transactions_to_customers from the command line."""
    columns = {role: given.pop(f"{role}_col") for role in
               ("customer", "date", "amount", "quantity", "price", "invoice", "product")}
    return {"columns": columns, **given}


def _print_features(console: Console, fr: Any) -> None:
    """What the transactions were read as, and what was cleaned."""
    from rich.markup import escape
    from rich.table import Table

    r = fr.report
    c = r["cleaning"]
    src = r["input"]
    how = f"{src['format']}" + (f", {src['encoding']}, delimiter {src['delimiter']!r}"
                                if src["format"] == "csv" else "")
    console.print(f"[bold]Read[/] {c['lines_read']:,} transaction lines from "
                  f"{escape(str(src['path']))} ({escape(how)})")
    for role, col in r["columns"].items():
        if col:
            tag = "inferred" if role in r["inferred"] else "given"
            console.print(f"  {role:<9} {escape(col)} ({tag})")
    console.print(f"  dates:    {escape(', '.join(r['dates']['formats']) or 'typed')} "
                  f"({escape(r['dates']['rule'])})")
    console.print(f"  as of:    {r['as_of']}" + ("" if r["as_of_given"] else
                                                 " (the day after the last transaction)"))
    console.print(f"  frequency counts {escape(str(r['frequency_counts']))}")
    labels = {"malformed_lines": "malformed lines skipped",
              "missing_customer_lines": "lines without customer id dropped",
              "missing_date_lines": "lines without date dropped",
              "bad_date_lines": "lines with an unreadable date dropped",
              "missing_amount_lines": "lines without amount dropped",
              "bad_amount_lines": "lines with an unreadable amount dropped",
              "bad_quantity_lines": "lines with an unreadable quantity dropped",
              "duplicate_lines_dropped": "exact duplicate lines dropped",
              "after_as_of_lines": "lines on or after the as-of date left out",
              "zero_value_lines": "lines worth 0 left out",
              "negative_price_lines": "lines with a negative price left out",
              "cancellation_lines": "cancellation / return lines (netted)",
              "customers_without_purchase": "customers without a purchase left out"}
    for key, label in labels.items():
        if c.get(key):
            console.print(f"  {label}: {c[key]:,}")
    for w in fr.warnings:
        col = f"column '{w.column}': " if w.column else ""
        rows = f" (e.g. {', '.join(map(str, w.rows[:5]))})" if w.rows else ""
        console.print(f"[yellow]warning[/] {escape(col + flag_text(w.message) + rows)}")
    table = Table(title=f"{r['n_customers']:,} customers: RFM segments", title_justify="left")
    table.add_column("RFM segment")
    table.add_column("customers", justify="right")
    table.add_column("share", justify="right")
    for name, n in r["rfm_segments"].items():
        table.add_row(escape(str(name)), f"{n:,}", f"{n / max(r['n_customers'], 1):.0%}")
    console.print(table)


def _run_transactions(input_path: Path, out: Path, *, force: bool, quiet: bool,
                      command: str, tx_options: dict[str, Any],
                      options: dict[str, Any], png: Path | None = None) -> SegmentationResult:
    from rich.markup import escape
    from rich.table import Table

    from custseg.errors import UsageError
    from custseg.pipeline import segment_transactions, write_outputs

    if options.get("id_col"):
        raise UsageError("--id-col: with --transactions the customer id column is "
                         "--customer-col", "--id-col")
    _check_out(out, force=force, input_path=input_path)
    if png is not None:
        from custseg.report import check_png_support

        check_png_support(png)  # before the work, not after
    console = _console(quiet)
    with _Progress(console) as progress:
        result = segment_transactions(input_path, progress=progress, command=command,
                                      **tx_options, **options)
        write_outputs(result, out, force=force)
    tx = result.summary["transactions"]
    console.print(f"[bold]Customer features[/] from {tx['cleaning']['lines_read']:,} "
                  f"transaction lines as of {tx['as_of']}: {tx['n_customers']:,} customers")
    _print_result(console, result, out)
    rfm = result.summary["rfm"]
    seg_ids = {seg["name"]: str(seg["id"]) for seg in result.summary["segments"]}
    columns = [seg_ids.get(name, name) for name in rfm["crosstab"]]
    table = Table(title="RFM segments (rows) × segments (columns, by #): customers",
                  title_justify="left")
    table.add_column("RFM segment")
    for col in columns:
        table.add_column(escape(str(col)), justify="right")
    for rfm_name in rfm["segments"]:
        table.add_row(rfm_name, *[f"{row[rfm_name]:,}" if row.get(rfm_name) else "·"
                                  for row in rfm["crosstab"].values()])
    console.print(table)
    if png is not None:
        from custseg.report import report_images

        images = report_images(result, png)
        console.print(f"Wrote {len(images)} charts as PNG to {png}", markup=False)
    return result


@app.command()
@_guarded
def demo(
    out: Annotated[Path, typer.Option(
        help="Output folder (replaced if it holds an earlier custseg output).")] = Path(
        "custseg-demo"),
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    png: Annotated[Path | None, typer.Option(help=PNG_HELP)] = None,
    quiet: QuietOpt = False,
) -> None:
    """Segment the bundled Mall Customers data (annual income × spending score)."""
    from custseg.io import demo_data_path

    _run(demo_data_path(), out, force=True, quiet=quiet, command="custseg demo",
         read_options={}, options={"features": DEMO_FEATURES, "random_state": seed},
         only_custseg_output=True, png=png)


def _role_options(role: list[str] | None, roles_file: Path | None) -> dict[str, str]:
    """``--role COL=ROLE`` (repeatable) and ``--roles FILE`` as one mapping (--role wins)."""
    from custseg.roles import load_role_overrides, parse_role_overrides

    out = load_role_overrides(roles_file) if roles_file is not None else {}
    out.update(parse_role_overrides(role))
    return out


@app.command()
@_guarded
def segment(
    input_path: Annotated[Path, typer.Argument(
        metavar="INPUT", show_default=False,
        help="Customer table: CSV/TSV/delimited text, Parquet, .xlsx or JSON Lines.")],
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: custseg-out/INPUT's name, in the current folder)."
    )] = None,
    transactions: Annotated[bool, typer.Option(
        "--transactions", help="INPUT is a transaction log: compute the customer features "
        "(as custseg features does) and segment customers on recency, frequency and "
        "monetary (money log-transformed), with the rule-based RFM segments beside.")
    ] = False,
    customer_col: CustomerColOpt = None,
    date_col: DateColOpt = None,
    amount_col: AmountColOpt = None,
    quantity_col: QuantityColOpt = None,
    price_col: PriceColOpt = None,
    invoice_col: InvoiceColOpt = None,
    product_col: ProductColOpt = None,
    as_of: AsOfOpt = None,
    date_format: DateFormatOpt = None,
    duplicates: DuplicatesOpt = "auto",
    k: Annotated[str, typer.Option(
        "--k", help="Number of segments: 5, a range such as 2..10, or auto (k from 2 to 10 "
        "scored, chosen among 3 to 8 unless the evidence for another is strong).")] = "auto",
    features: Annotated[str | None, typer.Option(
        help="Columns to segment on, comma-separated (default: all numeric but the id).")] = None,
    exclude: Annotated[str | None, typer.Option(
        help="Columns never used as features, comma-separated.")] = None,
    id_col: Annotated[str | None, typer.Option(
        help="Customer id column (default: inferred).")] = None,
    categorical: Annotated[str | None, typer.Option(
        help="Columns to treat as categorical, comma-separated.")] = None,
    use_categorical: Annotated[bool, typer.Option(
        help="Also segment on categorical columns (one-hot encoded).")] = False,
    algorithm: Annotated[str, typer.Option(
        help=f"Segmentation method: {registry.describe_choices()}.")] = registry.DEFAULT,
    stability: Annotated[bool, typer.Option(
        "--stability", help="Add bootstrap stability to the choice of k and measure each "
        "segment's stability.")] = False,
    impute: Annotated[str, typer.Option(
        help="Missing numeric values: median, most_frequent or drop (rows).")] = "median",
    clip: Annotated[float | None, typer.Option(
        help="Clip outliers at this quantile and 1 minus it (e.g. 0.01).")] = None,
    log: Annotated[bool, typer.Option(
        "--log/--no-log", help="Log-transform strongly skewed non-negative columns.")] = True,
    scaling: Annotated[str, typer.Option(
        help="standard, robust, minmax or none.")] = "standard",
    max_junk: Annotated[float, typer.Option(
        help="Largest share of non-numeric cells accepted in a numeric column.")] = 0.05,
    rules: Annotated[Path | None, typer.Option(
        help="Your own recommendation rules (TOML, like the bundled rules.toml).")] = None,
    role: Annotated[list[str] | None, typer.Option(
        "--role", help="A column's role, COLUMN=ROLE (repeatable): id, date, calendar, "
        "birth_year, age, count, money, rate, flag, category, text or measure.")] = None,
    roles_file: Annotated[Path | None, typer.Option(
        "--roles", help="Column roles from a file: TOML ([roles] column = \"role\") or CSV "
        "(column,role).")] = None,
    labels: Annotated[Path | None, typer.Option(
        help="Readable labels for columns: TOML ([labels] column = \"label\") or CSV "
        "(column,label).")] = None,
    outliers: Annotated[str, typer.Option(
        help="winsorize (outliers listed and clipped at the far-out fences for fitting) or "
        "keep.")] = "winsorize",
    seed: SeedOpt = 0,
    threads: Annotated[int | None, typer.Option(
        min=1, help="Largest number of threads for the computations (default: all cores).")
    ] = None,
    max_columns: Annotated[int | None, typer.Option(
        min=1, help="Most columns that may be features (default 2,500): a wider table is "
        "refused before any work; choose --features, --exclude some, or raise this.")
    ] = None,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    png: Annotated[Path | None, typer.Option(help=PNG_HELP)] = None,
    store: Annotated[str | None, typer.Option(
        help="Also record the run and every customer's segment in this store "
        "(sqlite:///FILE or postgresql://...), with segment identities kept stable across "
        "runs (see docs/history.md).")] = None,
    match_distance: Annotated[float, typer.Option(
        min=0.0, help="With --store: largest distance (in standard deviations) between a "
        "segment's centre and the previous run's for it to keep its identity.")] = 1.0,
    engine: Annotated[str, typer.Option(
        help="auto (the fast path for K-Means from 500,000 customers, else standard), "
        "standard (pandas + scikit-learn, every method and check), local (the fast path: "
        "columnar, float32, k chosen on a sample) or spark (Apache Spark; needs "
        "custseg[spark]).")] = "auto",
    spark_master: Annotated[str, typer.Option(
        help="With --engine spark: the Spark master URL.")] = "local[*]",
    output_format: Annotated[str | None, typer.Option(
        "--format", help="Format of the segments file: auto (segments.csv, except on the "
        "fast path above 1,000,000 customers: segments.parquet), csv or parquet (Parquet "
        "part files with --engine spark).")] = "auto",
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Segment a customer table and write segments, profiles, summary, report and model.

    With --transactions, INPUT is a transaction log: customer features are computed first."""
    from custseg.segmenter import parse_k

    parsed_k = parse_k(k)
    store_db = _open_store(store) if store else None  # a bad URL fails before the work
    column_roles = _role_options(role, roles_file)
    options: dict[str, Any] = {
        "k": parsed_k if isinstance(parsed_k, int) else "auto",
        "k_range": parsed_k if isinstance(parsed_k, tuple) else (2, 10),
        "features": _list(features, "--features"),
        "exclude": _list(exclude, "--exclude"),
        "id_col": id_col,
        "categorical": _list(categorical, "--categorical"),
        "use_categorical": use_categorical,
        "algorithm": algorithm,
        "stability": stability,
        "impute": impute,
        "clip": clip,
        "log": "auto" if log else "none",
        "scaling": scaling,
        "max_junk": max_junk,
        "rules": str(rules) if rules else None,
        "random_state": seed,
        "n_threads": threads,
    }
    # only what differs from the defaults, so that engines without these options run
    if str(k).strip().lower() != "auto":
        options["useful_k"] = None  # the range given is the range chosen in
    if column_roles:
        options["column_roles"] = column_roles
    if max_columns is not None:
        options["max_columns"] = max_columns
    if labels is not None:
        options["labels"] = str(labels)
    if outliers != "winsorize":
        options["outliers"] = outliers
    if delimiter == "\\t" or (delimiter or "").lower() == "tab":
        delimiter = "\t"
    sheet_value: str | int | None = int(sheet) if sheet and sheet.isdigit() else sheet
    out = out or _default_out(input_path)
    command = "custseg " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "custseg segment"
    tx_options = _transaction_options(
        customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        quantity_col=quantity_col, price_col=price_col, invoice_col=invoice_col,
        product_col=product_col, as_of=as_of, date_format=date_format, duplicates=duplicates)
    if transactions:
        result = _run_transactions(input_path, out, force=force, quiet=quiet, command=command,
                                   tx_options={**tx_options, "delimiter": delimiter,
                                               "encoding": encoding}, options=options,
                                   png=png)
        _record_run(store_db, result, out, quiet=quiet, match_distance=match_distance)
        return
    tx_given = [f"--{k.replace('_', '-')}-col" for k, v in tx_options["columns"].items() if v]
    tx_given += [o for o, v in (("--as-of", as_of), ("--date-format", date_format),
                                ("--duplicates", duplicates != "auto")) if v]
    if tx_given:
        from custseg.errors import UsageError

        raise UsageError(f"{', '.join(tx_given)}: only with --transactions (INPUT is a "
                         "transaction log)", tx_given[0])
    from custseg.engines import pick_engine

    chosen = pick_engine(engine, input_path, options, output_format=output_format,
                         store=store is not None)
    result = _run(input_path, out, force=force, quiet=quiet, command=command,
                  read_options={"delimiter": delimiter, "encoding": encoding,
                                "sheet": sheet_value}, options=options, png=png,
                  engine=chosen, fmt=output_format or "csv", spark_master=spark_master)
    _record_run(store_db, result, out, quiet=quiet, match_distance=match_distance)


@app.command("compare-methods")
@_guarded
def compare_methods_command(
    input_path: Annotated[Path, typer.Argument(
        metavar="INPUT", show_default=False, help="Customer table (as for segment).")],
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: custseg-out/INPUT's name + '-methods').")] = None,
    k: Annotated[str, typer.Option(
        "--k", help="Number of segments or range, as for segment.")] = "2..10",
    features: Annotated[str | None, typer.Option(
        help="Columns to segment on, comma-separated.")] = None,
    exclude: Annotated[str | None, typer.Option(help="Columns never used as features.")] = None,
    methods: Annotated[str | None, typer.Option(
        help="Methods to compare, comma-separated (default: all that fit the data).")] = None,
    resamples: Annotated[int, typer.Option(
        min=2, help="Bootstrap re-fits per method for stability.")] = 20,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Compare segmentation methods (internal scores and bootstrap stability) and recommend
    one."""
    import json

    from rich.markup import escape
    from rich.table import Table

    from custseg.comparison import compare_methods
    from custseg.io import atomic_output_dir, read_table, write_csv
    from custseg.report.comparison import render_comparison
    from custseg.segmenter import parse_k

    out = out or _default_out(input_path, "-methods")
    _check_out(out, force=force, input_path=input_path)
    parsed_k = parse_k(k)
    options: dict[str, Any] = {
        "k": parsed_k if isinstance(parsed_k, int) else "auto",
        "k_range": parsed_k if isinstance(parsed_k, tuple) else (2, 10),
        "features": _list(features, "--features"),
        "exclude": _list(exclude, "--exclude"),
    }
    console = _console(quiet)
    table, info = read_table(input_path)
    with _Progress(console) as progress:
        comparison = compare_methods(table, methods=_list(methods, "--methods"),
                                     random_state=seed, n_resamples=resamples,
                                     progress=progress, **options)
    doc = {**comparison.to_dict(), "input": str(input_path), "input_sha256": info.sha256,
           "seed": seed, "command": "custseg " + shlex.join(sys.argv[1:])}
    with atomic_output_dir(out, force=force) as tmp:
        (tmp / "comparison.json").write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
        write_csv(comparison.table(), tmp / "comparison.csv")
        (tmp / "comparison.html").write_text(render_comparison(doc), "utf-8")
    rich_table = Table(title="Segmentation methods, best first", title_justify="left")
    for col in ("method", "k", "score", "stability", "silhouette", "coverage",
                "unstable segments"):
        rich_table.add_column(col)
    for r in comparison.results:
        rich_table.add_row(r.algorithm, str(r.k), f"{r.score:.2f}", f"{r.stability:.2f}",
                           f"{r.silhouette:.2f}", f"{r.coverage:.0%}",
                           escape(", ".join(r.unstable_segments)) or "-")
    console.print(rich_table)
    for name, why in comparison.skipped.items():
        console.print(f"  skipped {name}: {flag_text(why)}", markup=False)
    console.print(f"Recommended: {comparison.recommended} ("
                  + "; ".join(comparison.reasons) + ")", markup=False)
    console.print(f"Wrote comparison.json, comparison.csv and comparison.html to {out}",
                  markup=False)


@app.command()
@_guarded
def features(
    input_path: Annotated[Path, typer.Argument(
        metavar="TRANSACTIONS", show_default=False,
        help="Transaction log: CSV/TSV/delimited text or Parquet (also .xlsx, JSON Lines), "
        "one line per purchase (or order line).")],
    out: Annotated[Path | None, typer.Option(
        help="Customer table to write: .parquet, or .csv (default: custseg-out/"
        "TRANSACTIONS' name + '-customers.parquet').")] = None,
    customer_col: CustomerColOpt = None,
    date_col: DateColOpt = None,
    amount_col: AmountColOpt = None,
    quantity_col: QuantityColOpt = None,
    price_col: PriceColOpt = None,
    invoice_col: InvoiceColOpt = None,
    product_col: ProductColOpt = None,
    as_of: AsOfOpt = None,
    date_format: DateFormatOpt = None,
    duplicates: DuplicatesOpt = "auto",
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
    threads: Annotated[int | None, typer.Option(
        min=1, help="Threads for DuckDB (default: all cores).")] = None,
    memory_limit: Annotated[str | None, typer.Option(
        help="DuckDB memory limit, e.g. 4GB (default 1536MB; larger data spill to a "
        "temporary folder).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace an existing output file.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Turn a transaction log into one row per customer: recency, frequency, monetary,
    average order value, tenure, inter-purchase intervals, products, returns, RFM scores
    and segments (see docs/features.md)."""
    from custseg.errors import OutputExistsError
    from custseg.features import transactions_to_customers, write_customers

    out = out or _default_out(input_path, "-customers.parquet")
    if out.exists() and not force:
        raise OutputExistsError(f"--out {out} exists; choose another name or pass --force to "
                                "replace it", "--out")
    if out.resolve() == input_path.resolve():
        raise OutputExistsError(f"--out {out} is the input file", "--out")
    if delimiter == "\\t" or (delimiter or "").lower() == "tab":
        delimiter = "\t"
    options = _transaction_options(
        customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        quantity_col=quantity_col, price_col=price_col, invoice_col=invoice_col,
        product_col=product_col, as_of=as_of, date_format=date_format, duplicates=duplicates)
    console = _console(quiet)
    with _Progress(console) as progress:
        fr = transactions_to_customers(input_path, delimiter=delimiter, encoding=encoding,
                                       threads=threads, memory_limit=memory_limit,
                                       progress=progress, **options)
        write_customers(fr.customers, out, force=force)
    _print_features(console, fr)
    console.print(f"Wrote {len(fr.customers):,} customers × {fr.customers.shape[1]} columns to "
                  f"{out}", markup=False)


@app.command()
@_guarded
def explore(
    input_path: Annotated[Path, typer.Argument(
        metavar="INPUT", show_default=False,
        help="Customer table: CSV/TSV/delimited text, Parquet, .xlsx or JSON Lines.")],
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: custseg-out/INPUT's name + '-explore').")] = None,
    features: Annotated[str | None, typer.Option(
        help="Columns you would segment on, comma-separated (default: all numeric but the "
        "id).")] = None,
    exclude: Annotated[str | None, typer.Option(
        help="Columns never used as features, comma-separated.")] = None,
    id_col: Annotated[str | None, typer.Option(
        help="Customer id column (default: inferred).")] = None,
    categorical: Annotated[str | None, typer.Option(
        help="Columns to treat as categorical, comma-separated.")] = None,
    max_junk: Annotated[float, typer.Option(
        help="Largest share of non-numeric cells accepted in a numeric column.")] = 0.05,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    png: Annotated[Path | None, typer.Option(help=PNG_HELP)] = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Look at a customer table before segmenting: column roles, cleaning, distributions and
    correlations, written as report.html (the data part of the segment report)."""
    from custseg.explore import explore_file
    from custseg.report import write_explore

    out = out or _default_out(input_path, "-explore")
    _check_out(out, force=force, input_path=input_path)
    if png is not None:
        from custseg.report import check_png_support

        check_png_support(png)
    if delimiter == "\\t" or (delimiter or "").lower() == "tab":
        delimiter = "\t"
    command = "custseg " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "custseg explore"
    overview = explore_file(
        input_path, delimiter=delimiter, encoding=encoding,
        sheet=int(sheet) if sheet and sheet.isdigit() else sheet, command=command,
        features=_list(features, "--features"), exclude=_list(exclude, "--exclude"),
        id_col=id_col, categorical=_list(categorical, "--categorical"), max_junk=max_junk)
    write_explore(overview, out, force=force)
    console = _console(quiet)
    roles = overview.roles
    lines = [f"Read {overview.input['rows']} rows × {overview.input['columns']} columns from "
             f"{overview.input['path']}",
             f"  id column: {roles['id_column'] or '(none: row numbers)'}",
             f"  numeric:   {', '.join(roles['numeric']) or '-'}",
             f"  categorical: {', '.join(roles['categorical']) or '-'}",
             f"  would segment on: {', '.join(overview.features)}"]
    for w in overview.warnings:
        lines.append("warning " + (f"column '{w['column']}': " if w["column"] else "")
                     + w["message"])
    lines.append(f"Wrote report.html to {out}")
    for line in lines:
        console.print(line, markup=False)
    if png is not None:
        from custseg.report import explore_images

        images = explore_images(overview, png)
        console.print(f"Wrote {len(images)} charts as PNG to {png}", markup=False)


@app.command()
@_guarded
def score(
    model: Annotated[Path, typer.Argument(
        metavar="MODEL", show_default=False,
        help="A model bundle: the model/ folder of a segment output (or that output folder).")],
    input_path: Annotated[Path, typer.Argument(
        metavar="INPUT", show_default=False,
        help="Customers to score: CSV/TSV/delimited text, Parquet, .xlsx or JSON Lines.")],
    out: Annotated[Path, typer.Option(
        help="Scored file: .csv, or .parquet.")] = Path("scored.csv"),
    chunk_size: Annotated[int, typer.Option(
        min=1, help="Rows read and scored at a time (memory stays bounded).")] = 200_000,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Assign new customers to the segments of a model (batch scoring, streamed)."""
    from custseg.scoring import score_file

    console = _console(quiet)
    with _Progress(console) as progress:
        report = score_file(model, input_path, out, chunk_size=chunk_size, force=force,
                            progress=progress)
    console.print(f"Scored {report.rows} customers in {report.chunks} chunk(s) -> {out}",
                  markup=False)
    counts = ", ".join(f"{k}: {v}" for k, v in report.segment_counts.items())
    console.print(f"  customers per segment: {counts}", markup=False)
    if report.ignored_columns:
        console.print(f"  columns not used by the model: {', '.join(report.ignored_columns)}",
                      markup=False)


def _open_store(url: str) -> Any:
    """The store at ``url``; a missing service extra is said with the install command."""
    try:
        from custseg.store import open_store
    except ImportError as exc:
        from custseg.errors import UsageError

        raise UsageError(f"--store needs the service extra ({exc.name} is missing): "
                         "pip install 'custseg[service]'", "--store") from None
    return open_store(url)


def _record_run(store: Any, result: SegmentationResult, out: Path, *, quiet: bool,
                match_distance: float) -> None:
    """Record a segment run in the store and say which segments kept their identity."""
    if store is None:
        return
    from custseg.history import record_segmentation

    run_id, segments, vanished, previous = record_segmentation(
        store, result, label=str(out), max_distance=match_distance)
    store.close()
    console = _console(quiet)
    console.print(f"Recorded as run {run_id} in {store.display_url} "
                  f"({len(result.segments):,} assignments)", markup=False)
    if previous is None:
        console.print("  first run in this store: stable ids "
                      + ", ".join(f"{s['id']} -> #{s['stable_id']}" for s in segments),
                      markup=False)
        return
    console.print(f"  segment identities against run {previous} (matched on centres, at most "
                  f"{match_distance:g} standard deviations apart):", markup=False)
    for s in segments:
        if s["status"] == "kept":
            renamed = (f", was '{s['previous_name']}'" if s["previous_name"] != s["name"]
                       else "")
            console.print(f"  segment {s['id']} '{s['name']}': stable #{s['stable_id']}, kept "
                          f"(segment {s['previous_id']} of run {previous}{renamed})",
                          markup=False)
        else:
            console.print(f"  segment {s['id']} '{s['name']}': stable #{s['stable_id']}, NEW "
                          f"(no segment of run {previous} is close)", markup=False)
    for v in vanished:
        console.print(f"  VANISHED: #{v['stable_id']} '{v['name']}' (segment {v['id']} of run "
                      f"{previous}) has no counterpart in this run", markup=False)


@app.command()
@_guarded
def serve(
    model: Annotated[Path, typer.Argument(
        metavar="MODEL", show_default=False,
        help="A model bundle: the model/ folder of a segment output (or that output folder).")],
    store: Annotated[str, typer.Option(
        help="Store URL: sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DB.")
    ] = "sqlite:///custseg.db",
    host: Annotated[str, typer.Option(
        help="Address to listen on. Any address but loopback needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token: Annotated[str | None, typer.Option(
        help="Bearer token every request but /healthz must carry. Prefer --token-env: a "
        "command line is visible to the machine's other users.")] = None,
    token_env: Annotated[str, typer.Option(
        help="Environment variable holding the bearer token (used when set).")
    ] = "CUSTSEG_TOKEN",
    no_auth: Annotated[bool, typer.Option(
        "--no-auth", help="Accept requests without a token on a non-loopback address.")
    ] = False,
    online_update: Annotated[bool, typer.Option(
        "--online-update", help="Move K-Means centres toward scored customers (mini-batches "
        "with decay); segment ids and names never change.")] = False,
    as_of: Annotated[str, typer.Option(
        help="Date customer features are computed at: today, latest (the day after the "
        "latest event, as custseg features does) or YYYY-MM-DD.")] = "today",
    max_body: Annotated[int, typer.Option(
        min=1024, help="Largest request body, bytes.")] = 1 << 20,
    access_log: Annotated[bool, typer.Option(
        "--access-log", help="Log every request.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Serve a model over HTTP: score customers, follow purchase events, watch drift (see
    docs/service.md)."""
    import logging
    import os

    from custseg.errors import UsageError

    try:
        from custseg.service import serve as run_service
    except ImportError as exc:
        raise UsageError(f"custseg serve needs the service extra ({exc.name} is missing): "
                         "pip install 'custseg[service]'", "serve") from None
    token = token or os.environ.get(token_env) or None
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="custseg serve: %(levelname)s %(message)s")
    console = _console(quiet)

    def ready(app: Any) -> None:
        scorer, db = app.state.scorer, app.state.store
        meta = scorer.meta
        console.print(f"custseg serve: model {meta.get('algorithm')} k={meta.get('k')} "
                      f"({', '.join(scorer.features)}), store {db.display_url}", markup=False)
        console.print(f"  listening on http://{host}:{port} (auth "
                      f"{'on' if token else 'off'}; fast scoring "
                      f"{'on' if scorer.fast else 'off'}; online update "
                      f"{'on' if app.state.online else 'off'}); API docs at /docs",
                      markup=False)

    run_service(model, store, host=host, port=port, token=token, allow_no_token=no_auth,
                online_update=online_update, as_of=as_of, max_body=max_body,
                access_log=access_log, on_ready=ready)


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(text).name or text).strip("_") or "run"


@app.command()
@_guarded
def compare(
    run_a: Annotated[str, typer.Argument(
        metavar="RUN_A", show_default=False,
        help="The earlier run: a segment output folder, or a run id recorded with --store.")],
    run_b: Annotated[str, typer.Argument(
        metavar="RUN_B", show_default=False, help="The later run, likewise.")],
    out: Annotated[Path | None, typer.Option(
        help="Output folder for compare.html, compare.json and migration.csv (default: "
        "compare-RUN_A-RUN_B).")] = None,
    store: Annotated[str | None, typer.Option(
        help="Store URL, to compare runs recorded with segment --store by their ids.")] = None,
    match_distance: Annotated[float, typer.Option(
        min=0.0, help="Largest distance (in standard deviations) between two segments' "
        "centres for them to be the same segment.")] = 1.0,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Who moved between the segments of two runs: migration matrix, growth and shrinkage,
    new and vanished segments, and a Sankey diagram (compare.html)."""
    from rich.markup import escape
    from rich.table import Table

    from custseg.history import compare_runs, describe_changes, load_run, write_comparison

    out = out or Path(f"compare-{_slug(run_a)}-{_slug(run_b)}")
    _check_out(out, force=force)
    db = _open_store(store) if store else None
    try:
        a, b = load_run(run_a, db), load_run(run_b, db)
    finally:
        if db is not None:
            db.close()
    comparison = compare_runs(a, b, max_distance=match_distance)
    write_comparison(comparison, out, force=force)
    console = _console(quiet)
    names_a = {int(s["id"]): s["name"] for s in a.segments}
    names_b = {int(s["id"]): s["name"] for s in b.segments}
    table = Table(title=escape(f"Customers from A = {a.label} (rows) to B = {b.label} "
                               "(columns)"), title_justify="left")
    table.add_column("A \\ B")
    for j in comparison.matrix.columns:
        table.add_column(f"{j}", justify="right")
    table.add_column("only in A", justify="right")
    for i, row in comparison.matrix.iterrows():
        table.add_row(escape(f"{i} {names_a.get(int(i), 'Unassigned')}"),
                      *[f"{v:,}" for v in row],
                      f"{comparison.only_a.get(i, 0):,}")
    table.add_row("only in B", *[f"{comparison.only_b.get(j, 0):,}"
                                 for j in comparison.matrix.columns], "")
    console.print(table)
    for j in comparison.matrix.columns:
        console.print(f"  B {j}: {names_b.get(int(j), 'Unassigned')}", markup=False)
    in_both = int(comparison.matrix.to_numpy().sum())
    console.print(f"{in_both:,} customers in both runs: {comparison.stayed:,} stayed in the "
                  f"same segment, {comparison.moved:,} moved; "
                  f"{sum(comparison.only_a.values()):,} only in A, "
                  f"{sum(comparison.only_b.values()):,} only in B", markup=False)
    for line in describe_changes(comparison):
        console.print(f"  {line}", markup=False)
    for w in comparison.warnings:
        console.print(f"warning: {w}", markup=False)
    console.print(f"Wrote compare.html, compare.json and migration.csv to {out}",
                  markup=False)


@app.command()
def version() -> None:
    """Print the custseg version."""
    typer.echo(f"custseg {__version__}")


def main(argv: list[str] | None = None) -> int:
    """Run the app as the ``custseg`` command would, returning the exit code."""
    try:
        app(args=argv, prog_name="custseg")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return EXIT_OK


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

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(prog_name="custseg")
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
