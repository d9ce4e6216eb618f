"""``custseg demo`` and ``custseg segment``: segment a customer table (or a transaction
log) with the engine that fits it, write the outputs and print what was found."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from custseg.algorithms import registry
from custseg.cli.base import guarded
from custseg.cli.folders import check_out, default_out
from custseg.cli.options import (
    PNG_HELP,
    AmountColOpt,
    AsOfOpt,
    CategoricalOpt,
    CustomerColOpt,
    DateColOpt,
    DateFormatOpt,
    DelimiterOpt,
    DuplicatesOpt,
    EncodingOpt,
    ExcludeOpt,
    ForceOpt,
    IdColOpt,
    InvoiceColOpt,
    PriceColOpt,
    ProductColOpt,
    QuantityColOpt,
    QuietOpt,
    SeedOpt,
    SheetOpt,
    delimiter_option,
    list_option,
    role_options,
    transaction_options,
)
from custseg.cli.output import ProgressBars, make_console, print_result
from custseg.cli.runs import open_store_option, record_run

if TYPE_CHECKING:
    from custseg.pipeline import SegmentationResult

DEMO_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]


def run_segment(input_path: Path, out: Path, *, force: bool, quiet: bool, command: str,
                read_options: dict[str, Any], options: dict[str, Any],
                only_custseg_output: bool = False, png: Path | None = None,
                engine: str = "standard", fmt: str = "csv",
                spark_master: str = "local[*]") -> SegmentationResult:
    """Segment a customer table with ``engine``, write the outputs to ``out`` and print
    the result (and the charts as PNG into ``png``)."""
    from custseg.engines.base import displayable
    from custseg.engines.registry import engine_with

    check_out(out, force=force, input_path=input_path,
              only_custseg_output=only_custseg_output)
    if png is not None:
        from custseg.report import check_png_support

        check_png_support(png)  # before the work, not after
    console = make_console(quiet)
    engine_ = engine_with(engine, {"master": spark_master})
    with ProgressBars(console) as progress:
        found = engine_.segment(input_path, progress=progress, command=command,
                                **read_options, **options)
        progress("write", 0, 1)
        engine_.write(found, out, force=force, fmt=fmt)
        progress("write", 1, 1)
    result = displayable(found)
    print_result(console, result, out)
    if png is not None:
        from custseg.report import report_images

        images = report_images(result, png)
        console.print(f"Wrote {len(images)} charts as PNG to {png}", markup=False)
    return result


def run_transactions(input_path: Path, out: Path, *, force: bool, quiet: bool,
                      command: str, tx_options: dict[str, Any],
                      options: dict[str, Any], png: Path | None = None) -> SegmentationResult:
    """Segment the customers of a transaction log, write the outputs to ``out`` and print
    the result with the RFM segments beside."""
    from rich.markup import escape
    from rich.table import Table

    from custseg.errors import UsageError
    from custseg.pipeline import segment_transactions, write_outputs

    if options.get("id_col"):
        raise UsageError("--id-col: with --transactions the customer id column is "
                         "--customer-col", "--id-col")
    check_out(out, force=force, input_path=input_path)
    if png is not None:
        from custseg.report import check_png_support

        check_png_support(png)  # before the work, not after
    console = make_console(quiet)
    with ProgressBars(console) as progress:
        result = segment_transactions(input_path, progress=progress, command=command,
                                      **tx_options, **options)
        write_outputs(result, out, force=force)
    tx = result.summary["transactions"]
    console.print(f"[bold]Customer features[/] from {tx['cleaning']['lines_read']:,} "
                  f"transaction lines as of {tx['as_of']}: {tx['n_customers']:,} customers")
    print_result(console, result, out)
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


@guarded
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

    run_segment(demo_data_path(), out, force=True, quiet=quiet, command="custseg demo",
                read_options={}, options={"features": DEMO_FEATURES, "random_state": seed},
                only_custseg_output=True, png=png)


@guarded
def segment(
    input_path: Annotated[Path, typer.Argument(
        metavar="INPUT", show_default=False,
        help="Customer table: CSV/TSV/delimited text, Parquet, .xlsx or JSON Lines.")],
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: custseg-out/INPUT's name, in the current folder)."
    )] = None,
    transactions: Annotated[bool | None, typer.Option(
        "--transactions/--no-transactions", show_default=False,
        help="INPUT is a transaction log: compute the customer features (as custseg "
        "features does) and segment customers on recency, frequency and monetary (money "
        "log-transformed), with the rule-based RFM segments beside.  --no-transactions: "
        "INPUT is a customer table, one row a customer.  [default: detected: a log when a "
        "customer id column repeats over many rows, beside a date and an amount]")
    ] = None,
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
    exclude: ExcludeOpt = None,
    id_col: IdColOpt = None,
    categorical: CategoricalOpt = None,
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
        help="Readable labels for columns, and names for the codes of categorical columns: "
        "TOML ([labels] column = \"label\"; [values.COLUMN] code = \"name\") or CSV "
        "(column,label and column,code,name lines).")] = None,
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

    On a transaction log (detected, or --transactions), customer features are computed
    first."""
    # long function: Typer reads the options from this signature, one Annotated declaration
    # an option; the work is done by segment_options() and run_segment_command() below.
    from custseg.segmenter import parse_k

    parsed_k = parse_k(k)
    store_db = open_store_option(store) if store else None  # a bad URL fails before the work
    options = segment_options(
        k, parsed_k, column_roles=role_options(role, roles_file), features=features,
        exclude=exclude, id_col=id_col, categorical=categorical,
        use_categorical=use_categorical, algorithm=algorithm, stability=stability,
        impute=impute, clip=clip, log=log, scaling=scaling, max_junk=max_junk, rules=rules,
        seed=seed, threads=threads, max_columns=max_columns, labels=labels, outliers=outliers)
    tx_options = transaction_options(
        customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        quantity_col=quantity_col, price_col=price_col, invoice_col=invoice_col,
        product_col=product_col, as_of=as_of, date_format=date_format, duplicates=duplicates)
    out = out or default_out(input_path)
    read_options = {"delimiter": delimiter_option(delimiter), "encoding": encoding,
                    "sheet": int(sheet) if sheet and sheet.isdigit() else sheet}
    result = run_segment_command(
        input_path, out, transactions=transactions, tx_options=tx_options,
        read_options=read_options, options=options, force=force, quiet=quiet, png=png,
        engine=engine, output_format=output_format, spark_master=spark_master,
        store=store is not None)
    record_run(store_db, result, out, quiet=quiet, match_distance=match_distance)


def segment_options(k: str, parsed_k: int | tuple[int, int], *, column_roles: dict[str, str],
                    features: str | None, exclude: str | None, id_col: str | None,
                    categorical: str | None, use_categorical: bool, algorithm: str,
                    stability: bool, impute: str, clip: float | None, log: bool,
                    scaling: str, max_junk: float, rules: Path | None, seed: int,
                    threads: int | None, max_columns: int | None, labels: Path | None,
                    outliers: str) -> dict[str, Any]:
    """The library's options of ``custseg segment``, from its command-line options."""
    options: dict[str, Any] = {
        "k": parsed_k if isinstance(parsed_k, int) else "auto",
        "k_range": parsed_k if isinstance(parsed_k, tuple) else (2, 10),
        "features": list_option(features, "--features"),
        "exclude": list_option(exclude, "--exclude"),
        "id_col": id_col,
        "categorical": list_option(categorical, "--categorical"),
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
    return options


def run_segment_command(input_path: Path, out: Path, *, transactions: bool | None,
                        tx_options: dict[str, Any], read_options: dict[str, Any],
                        options: dict[str, Any], force: bool, quiet: bool, png: Path | None,
                        engine: str, output_format: str | None, spark_master: str,
                        store: bool) -> SegmentationResult:
    """Run ``custseg segment``: on a transaction log, or on a customer table with the engine
    :func:`custseg.engines.pick_engine` chooses."""
    command = "custseg " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "custseg segment"
    if transactions is None:
        transactions = transaction_options_given(tx_options) or read_as_log(
            input_path, read_options, engine=engine, quiet=quiet)
    if transactions:
        return run_transactions(input_path, out, force=force, quiet=quiet, command=command,
                                tx_options={**tx_options,
                                            "delimiter": read_options["delimiter"],
                                            "encoding": read_options["encoding"]},
                                options=options, png=png)
    check_no_transaction_options(tx_options)
    from custseg.engines import pick_engine

    chosen = pick_engine(engine, input_path, options, output_format=output_format,
                         store=store)
    return run_segment(input_path, out, force=force, quiet=quiet, command=command,
                       read_options=read_options, options=options, png=png,
                       engine=chosen, fmt=output_format or "csv", spark_master=spark_master)


def _transaction_flags(tx_options: dict[str, Any]) -> list[str]:
    """The transaction options given (``--customer-col``, ``--as-of``...)."""
    tx_given = [f"--{k.replace('_', '-')}-col" for k, v in tx_options["columns"].items() if v]
    tx_given += [o for o, v in (("--as-of", tx_options["as_of"]),
                                ("--date-format", tx_options["date_format"]),
                                ("--duplicates", tx_options["duplicates"] != "auto")) if v]
    return tx_given


def transaction_options_given(tx_options: dict[str, Any]) -> bool:
    """Whether a transaction option was given: INPUT is then a transaction log."""
    return bool(_transaction_flags(tx_options))


def check_no_transaction_options(tx_options: dict[str, Any]) -> None:
    """Refuse the transaction options (``--customer-col``, ``--as-of``...) with
    ``--no-transactions``."""
    tx_given = _transaction_flags(tx_options)
    if tx_given:
        from custseg.errors import UsageError

        raise UsageError(f"{', '.join(tx_given)}: only for a transaction log, not with "
                         "--no-transactions", tx_given[0])


def read_as_log(input_path: Path, read_options: dict[str, Any], *, engine: str,
                quiet: bool) -> bool:
    """Whether INPUT, given without --transactions or --no-transactions, is a transaction
    log (:func:`custseg.features.detect.detect_transaction_log`); says so when it is."""
    from custseg.errors import UsageError
    from custseg.features.detect import detect_transaction_log

    shape = detect_transaction_log(input_path, delimiter=read_options["delimiter"],
                                   encoding=read_options["encoding"])
    if shape is None:
        return False
    found = f"{input_path.name} is a transaction log: {shape.describe()}"
    if engine not in ("auto", "standard"):
        raise UsageError(f"--engine {engine}: {found}; a log's customers are segmented once "
                         "their features are computed, without --engine; --no-transactions "
                         "reads it as a customer table", "--engine")
    make_console(quiet).print(f"{found}: customer features are computed first "
                              "(--no-transactions: read it as a customer table).",
                              markup=False, highlight=False)
    return True
