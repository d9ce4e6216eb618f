"""What the commands print, with Rich: a segmentation's summary, the customer features of a
transaction log, and the progress bars fed by the library's progress callback."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from custseg.cli.base import flag_text

if TYPE_CHECKING:
    from rich.console import Console

    from custseg.pipeline import SegmentationResult


def make_console(quiet: bool) -> Console:
    """The terminal console of a command (silent but for errors with --quiet)."""
    from rich.console import Console

    return Console(quiet=quiet, highlight=False, soft_wrap=False)


class ProgressBars:
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

    def __enter__(self) -> ProgressBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def outliers_line(s: dict[str, Any]) -> str | None:
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


def names(cols: Any, most: int = 20) -> str:
    """Column names for the terminal: the first ``most``, then how many more (escaped)."""
    from rich.markup import escape

    cols = [str(c) for c in cols]
    more = f" and {len(cols) - most:,} more" if len(cols) > most else ""
    return (escape(", ".join(cols[:most])) + more) or "-"


def print_result(console: Console, result: SegmentationResult, out: Path | None) -> None:
    """A segmentation as the terminal shows it: what was read and cleaned, the choice of k,
    the segments and their recommendations, and what was written to ``out``."""
    from rich.markup import escape

    if console.quiet:  # rich would lay out every table, then drop it (~50 ms a run)
        return
    s = result.summary
    print_input(console, s)
    print_cleaning(console, s)
    print_k_choice(console, s)
    print_segments(console, s)
    if out is not None:
        written = [p.name + ("/" if p.is_dir() else "") for p in sorted(out.iterdir())]
        console.print(f"Wrote {escape(', '.join(written))} to [bold]{escape(str(out))}[/]")


def print_input(console: Console, s: dict[str, Any]) -> None:
    """The table read, the columns' roles, the features and the engine."""
    from rich.markup import escape

    from custseg.report.profiles import coded_categories, dropped_groups

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
    coded = coded_categories(s)
    if coded:
        table = escape(f"[values.{coded[0]}]")
        console.print(f"  codes without names: {names(coded)} (name them in a --labels file: "
                      f'{table} 1 = "..."; docs/real-tables.md)')
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


def print_cleaning(console: Console, s: dict[str, Any]) -> None:
    """The transforms, imputation, dropped rows, clipping, outliers and data warnings."""
    from rich.markup import escape

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
    line = outliers_line(s)
    if line:
        console.print(line)
    for w in s["warnings"]:
        col = f"column '{escape(str(w['column']))}': " if w["column"] else ""
        console.print(f"[yellow]warning[/] {col}{escape(flag_text(str(w['message'])))}"
                      + (f" (rows {', '.join(map(str, w['rows'][:5]))})" if w["rows"] else ""))


def print_k_choice(console: Console, s: dict[str, Any]) -> None:
    """The scores of each k tried (when more than one was) and why k was chosen."""
    from rich.markup import escape
    from rich.table import Table

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


def print_segments(console: Console, s: dict[str, Any]) -> None:
    """The segments' table (size, share, what sets each apart) and their recommendations."""
    from rich.markup import escape
    from rich.table import Table

    from custseg.report.profiles import (
        is_outlier_group,
        population_mix,
        trait_short,
        traits,
        yes_shorts,
    )

    table = Table(title=f"{s['k']} segments of {s['n_customers']:,} customers",
                  title_justify="left")
    longest = max((len(str(seg["name"])) for seg in s["segments"]), default=10)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("segment", min_width=min(longest, 26))  # short names never wrap
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    spend = any(seg.get("spend_share") is not None for seg in s["segments"])
    if spend:
        table.add_column("of spend", justify="right", no_wrap=True)
    table.add_column("what sets it apart", min_width=22)
    mix = population_mix(s)
    for seg in s["segments"]:
        apart = "\n".join([*(trait_short(t) for t in traits(seg, s)[:3]),
                           *yes_shorts(seg, s, mix)[:2]])  # who left, answered... (yes share)
        if is_outlier_group(seg):
            apart = "outlier group: review individually" + (f"\n{apart}" if apart else "")
        cells = [str(seg["id"]), escape(str(seg["name"])), f"{seg['size']:,}",
                 f"{seg['share']:.0%}"]
        if spend:
            cells.append(f"{seg['spend_share']:.0%}" if seg.get("spend_share") is not None
                         else "")
        table.add_row(*cells, escape(apart or "close to average"))
    console.print(table)
    console.print("[bold]Recommendations[/]")
    for seg in s["segments"]:
        console.print(f"  {seg['id']} [bold]{escape(str(seg['name']))}[/]: "
                      f"{escape(str(seg['recommendation']))}")


def print_features(console: Console, fr: Any) -> None:
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
                  f"({escape(flag_text(r['dates']['rule']))})")
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
