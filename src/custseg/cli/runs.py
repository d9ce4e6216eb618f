"""Runs recorded in a store, and ``custseg compare``: who moved between the segments of two
runs (segment output folders or runs recorded with ``segment --store``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from custseg.cli.base import guarded
from custseg.cli.folders import check_out, slug
from custseg.cli.options import ForceOpt, QuietOpt
from custseg.cli.output import make_console

if TYPE_CHECKING:
    from rich.console import Console

    from custseg.history import Comparison, RunData
    from custseg.pipeline import SegmentationResult


def open_store_option(url: str) -> Any:
    """The store at ``url``; a missing service extra is said with the install command."""
    try:
        from custseg.store import open_store
    except ImportError as exc:
        from custseg.errors import UsageError

        raise UsageError(f"--store needs the service extra ({exc.name} is missing): "
                         "pip install 'custseg[service]'", "--store") from None
    return open_store(url)


def record_run(store: Any, result: SegmentationResult, out: Path, *, quiet: bool,
               match_distance: float) -> None:
    """Record a segment run in the store and say which segments kept their identity."""
    if store is None:
        return
    from custseg.history import record_segmentation

    run_id, segments, vanished, previous = record_segmentation(
        store, result, label=str(out), max_distance=match_distance)
    store.close()
    console = make_console(quiet)
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


@guarded
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
    from custseg.history import compare_runs, describe_changes, load_run, write_comparison

    out = out or Path(f"compare-{slug(run_a)}-{slug(run_b)}")
    check_out(out, force=force)
    db = open_store_option(store) if store else None
    try:
        a, b = load_run(run_a, db), load_run(run_b, db)
    finally:
        if db is not None:
            db.close()
    comparison = compare_runs(a, b, max_distance=match_distance)
    write_comparison(comparison, out, force=force)
    console = make_console(quiet)
    print_migration(console, comparison, a, b)
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


def print_migration(console: Console, comparison: Comparison, a: RunData,
                    b: RunData) -> None:
    """The migration matrix (customers from A's segments to B's) and B's segment names."""
    from rich.markup import escape
    from rich.table import Table

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
