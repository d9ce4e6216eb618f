"""Options shared by several commands: their declarations (``Annotated`` types Typer reads)
and the parsing of list, transaction and role options into the library's arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

PNG_HELP = ("Also write each chart of the report as a PNG into this folder (for slides; "
            "needs custseg[png] and Chrome or Chromium).")


def list_option(value: str | None, name: str) -> list[str] | None:
    """A comma-separated option as a list of names (None when not given)."""
    from custseg.io import parse_list_option

    return parse_list_option(value, name)


# Options shared by several commands.
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace a non-empty output folder.")]
SeedOpt = Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Random seed.")]
SheetOpt = Annotated[str | None, typer.Option(help="Excel sheet (default: the first).")]
ExcludeOpt = Annotated[str | None, typer.Option(
    help="Columns never used as features, comma-separated.")]
IdColOpt = Annotated[str | None, typer.Option(help="Customer id column (default: inferred).")]
CategoricalOpt = Annotated[str | None, typer.Option(
    help="Columns to treat as categorical, comma-separated.")]
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
    "--invoice-col", help="Transactions: order or invoice id column; an id of C and digits "
    "(C536379) is a cancellation (default: inferred).")]
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


def transaction_options(**given: Any) -> dict[str, Any]:
    """The options of custseg.features.transactions_to_customers from the command line."""
    columns = {role: given.pop(f"{role}_col") for role in
               ("customer", "date", "amount", "quantity", "price", "invoice", "product")}
    return {"columns": columns, **given}


def role_options(role: list[str] | None, roles_file: Path | None) -> dict[str, str]:
    """``--role COL=ROLE`` (repeatable) and ``--roles FILE`` as one mapping (--role wins)."""
    from custseg.roles import load_role_overrides, parse_role_overrides

    out = load_role_overrides(roles_file) if roles_file is not None else {}
    out.update(parse_role_overrides(role))
    return out


def delimiter_option(value: str | None) -> str | None:
    r"""``--delimiter``, with ``\t`` and ``tab`` read as a tab."""
    if value == "\\t" or (value or "").lower() == "tab":
        return "\t"
    return value
