"""``custseg features``: turn a transaction log into one row per customer (RFM and more)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custseg.cli.base import guarded
from custseg.cli.folders import default_out
from custseg.cli.options import (
    AmountColOpt,
    AsOfOpt,
    CustomerColOpt,
    DateColOpt,
    DateFormatOpt,
    DelimiterOpt,
    DuplicatesOpt,
    EncodingOpt,
    InvoiceColOpt,
    PriceColOpt,
    ProductColOpt,
    QuantityColOpt,
    QuietOpt,
    delimiter_option,
    transaction_options,
)
from custseg.cli.output import ProgressBars, make_console, print_features


@guarded
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

    out = out or default_out(input_path, "-customers.parquet")
    if out.exists() and not force:
        raise OutputExistsError(f"--out {out} exists; choose another name or pass --force to "
                                "replace it", "--out")
    if out.resolve() == input_path.resolve():
        raise OutputExistsError(f"--out {out} is the input file", "--out")
    options = transaction_options(
        customer_col=customer_col, date_col=date_col, amount_col=amount_col,
        quantity_col=quantity_col, price_col=price_col, invoice_col=invoice_col,
        product_col=product_col, as_of=as_of, date_format=date_format, duplicates=duplicates)
    console = make_console(quiet)
    with ProgressBars(console) as progress:
        fr = transactions_to_customers(input_path, delimiter=delimiter_option(delimiter),
                                       encoding=encoding, threads=threads,
                                       memory_limit=memory_limit, progress=progress,
                                       **options)
        write_customers(fr.customers, out, force=force)
    print_features(console, fr)
    console.print(f"Wrote {len(fr.customers):,} customers × {fr.customers.shape[1]} columns to "
                  f"{out}", markup=False)
