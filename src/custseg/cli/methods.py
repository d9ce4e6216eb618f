"""``custseg compare-methods``: fit every segmentation method that suits the data, score
and re-fit each on bootstrap samples, recommend one, and write the comparison."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from custseg.cli.base import flag_text, guarded
from custseg.cli.folders import check_out, default_out
from custseg.cli.options import ForceOpt, QuietOpt, SeedOpt, list_option
from custseg.cli.output import ProgressBars, make_console

if TYPE_CHECKING:
    from rich.console import Console

    from custseg.comparison import Comparison


@guarded
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
    from custseg.comparison import compare_methods
    from custseg.io import read_table
    from custseg.segmenter import parse_k

    out = out or default_out(input_path, "-methods")
    check_out(out, force=force, input_path=input_path)
    parsed_k = parse_k(k)
    options: dict[str, Any] = {
        "k": parsed_k if isinstance(parsed_k, int) else "auto",
        "k_range": parsed_k if isinstance(parsed_k, tuple) else (2, 10),
        "features": list_option(features, "--features"),
        "exclude": list_option(exclude, "--exclude"),
    }
    refuse_a_log(input_path)
    console = make_console(quiet)
    table, info = read_table(input_path)
    with ProgressBars(console) as progress:
        comparison = compare_methods(table, methods=list_option(methods, "--methods"),
                                     random_state=seed, n_resamples=resamples,
                                     progress=progress, **options)
    doc = {**comparison.to_dict(), "input": str(input_path), "input_sha256": info.sha256,
           "seed": seed, "command": "custseg " + shlex.join(sys.argv[1:])}
    write_method_comparison(comparison, doc, out, force=force)
    print_method_comparison(console, comparison, out)


def refuse_a_log(input_path: Path) -> None:
    """Refuse a transaction log: methods are compared on a table of customers."""
    from custseg.errors import UsageError
    from custseg.features.detect import detect_transaction_log

    shape = detect_transaction_log(input_path)
    if shape is not None:
        raise UsageError(f"{input_path.name} is a transaction log: {shape.describe()}; "
                         "methods are compared on a table of customers: make it with "
                         f"`custseg features {shlex.quote(str(input_path))} --out "
                         "customers.csv`, then compare methods on customers.csv", "INPUT")


def write_method_comparison(comparison: Comparison, doc: dict[str, Any], out: Path, *,
                            force: bool) -> None:
    """comparison.json, comparison.csv and comparison.html, written into ``out`` at once."""
    import json

    from custseg.io import atomic_output_dir, write_csv
    from custseg.report.comparison import render_comparison

    with atomic_output_dir(out, force=force) as tmp:
        (tmp / "comparison.json").write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
        write_csv(comparison.table(), tmp / "comparison.csv")
        (tmp / "comparison.html").write_text(render_comparison(doc), "utf-8")


def print_method_comparison(console: Console, comparison: Comparison, out: Path) -> None:
    """The methods best first, those skipped, the recommendation and the files written."""
    from rich.markup import escape
    from rich.table import Table

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
