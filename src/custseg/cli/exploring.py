"""``custseg explore``: look at a customer table before segmenting it (report.html)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from custseg.cli.base import guarded
from custseg.cli.folders import check_out, default_out
from custseg.cli.options import (
    PNG_HELP,
    CategoricalOpt,
    DelimiterOpt,
    EncodingOpt,
    ExcludeOpt,
    ForceOpt,
    IdColOpt,
    QuietOpt,
    SheetOpt,
    delimiter_option,
    list_option,
)
from custseg.cli.output import make_console

if TYPE_CHECKING:
    from rich.console import Console


@guarded
def explore(
    input_path: Annotated[Path, typer.Argument(
        metavar="INPUT", show_default=False,
        help="Customer table: CSV/TSV/delimited text, Parquet, .xlsx or JSON Lines.")],
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: custseg-out/INPUT's name + '-explore').")] = None,
    features: Annotated[str | None, typer.Option(
        help="Columns you would segment on, comma-separated (default: all numeric but the "
        "id).")] = None,
    exclude: ExcludeOpt = None,
    id_col: IdColOpt = None,
    categorical: CategoricalOpt = None,
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

    out = out or default_out(input_path, "-explore")
    check_out(out, force=force, input_path=input_path)
    if png is not None:
        from custseg.report import check_png_support

        check_png_support(png)
    command = "custseg " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "custseg explore"
    overview = explore_file(
        input_path, delimiter=delimiter_option(delimiter), encoding=encoding,
        sheet=int(sheet) if sheet and sheet.isdigit() else sheet, command=command,
        features=list_option(features, "--features"),
        exclude=list_option(exclude, "--exclude"), id_col=id_col,
        categorical=list_option(categorical, "--categorical"), max_junk=max_junk)
    write_explore(overview, out, force=force)
    console = make_console(quiet)
    print_overview(console, overview, out)
    from custseg.features.detect import detect_transaction_log

    shape = detect_transaction_log(input_path, delimiter=delimiter_option(delimiter),
                                   encoding=encoding)
    if shape is not None:  # explored as it is, line by line: say what segment will do
        console.print(f"{input_path.name} is a transaction log: {shape.describe()}; custseg "
                      "segment computes its customers' features (recency, frequency, "
                      "monetary...) first, and custseg features writes them.",
                      markup=False, highlight=False)
    if png is not None:
        from custseg.report import explore_images

        images = explore_images(overview, png)
        console.print(f"Wrote {len(images)} charts as PNG to {png}", markup=False)


def print_overview(console: Console, overview: Any, out: Path) -> None:
    """The table read, its columns' roles, the features and warnings, and where the report
    went."""
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
