"""``custseg score`` and ``custseg serve``: use a model bundle on new customers, in batch
(streamed through a file) or over HTTP."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from custseg.cli.base import guarded
from custseg.cli.options import QuietOpt
from custseg.cli.output import ProgressBars, make_console

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console


@guarded
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

    console = make_console(quiet)
    with ProgressBars(console) as progress:
        report = score_file(model, input_path, out, chunk_size=chunk_size, force=force,
                            progress=progress)
    if report.from_log:
        log = report.from_log
        console.print(f"{input_path.name} is a transaction log: the features of its "
                      f"{log['customers']:,} customers computed from {log['lines']:,} lines "
                      f"as of {log['as_of']}", markup=False)
    console.print(f"Scored {report.rows} customers in {report.chunks} chunk(s) -> {out}",
                  markup=False)
    counts = ", ".join(f"{k}: {v}" for k, v in report.segment_counts.items())
    console.print(f"  customers per segment: {counts}", markup=False)
    if report.ignored_columns:
        console.print(f"  columns not used by the model: {', '.join(report.ignored_columns)}",
                      markup=False)
    if report.total_rows_dropped:
        console.print(f"  totals rows left out at the end: {report.total_rows_dropped}",
                      markup=False)


@guarded
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

    run_service = service_runner()
    token = token or os.environ.get(token_env) or None
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="custseg serve: %(levelname)s %(message)s")
    ready = functools.partial(print_ready, make_console(quiet), host, port, token)
    run_service(model, store, host=host, port=port, token=token, allow_no_token=no_auth,
                online_update=online_update, as_of=as_of, max_body=max_body,
                access_log=access_log, on_ready=ready)


def service_runner() -> Callable[..., None]:
    """:func:`custseg.service.serve`; a missing service extra is said with the install
    command."""
    from custseg.errors import UsageError

    try:
        from custseg.service import serve as run_service
    except ImportError as exc:
        raise UsageError(f"custseg serve needs the service extra ({exc.name} is missing): "
                         "pip install 'custseg[service]'", "serve") from None
    return run_service


def print_ready(console: Console, host: str, port: int, token: str | None, app: Any) -> None:
    """What is served, where, and with which options, once the service is ready."""
    scorer, db = app.state.scorer, app.state.store
    meta = scorer.meta
    console.print(f"custseg serve: model {meta.get('algorithm')} k={meta.get('k')} "
                  f"({', '.join(scorer.features)}), store {db.display_url}", markup=False)
    console.print(f"  listening on http://{host}:{port} (auth "
                  f"{'on' if token else 'off'}; fast scoring "
                  f"{'on' if scorer.fast else 'off'}; online update "
                  f"{'on' if app.state.online else 'off'}); API docs at /docs",
                  markup=False)
