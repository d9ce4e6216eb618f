"""The columns of a transaction log: the roles a column can play (customer id, date, amount,
quantity, unit price, order id, product), which column plays each (:class:`ColumnMap`),
inferred from the header names, and the checks on a mapping."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from custseg.errors import DataError, Problem, UsageError

#: The roles a transaction column can play, with the option that names each.
ROLES = ("customer", "date", "amount", "quantity", "price", "invoice", "product")
#: How messages name the column of each role: an entry of the ``columns`` parameter.
ROLE_OPTIONS = {role: f"`columns[{role!r}]`" for role in ROLES}


@dataclass
class ColumnMap:
    """Which input column plays which role (``None``: absent)."""

    customer: str | None = None
    date: str | None = None
    amount: str | None = None
    quantity: str | None = None
    price: str | None = None
    invoice: str | None = None
    product: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """``{role: column or None}``."""
        return asdict(self)


def _norm(name: str) -> str:
    """A header name in lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


_ID_SUFFIX = r"(id|no|nr|num|number|code|key|ref)?"
#: Per role, patterns on the normalised header name (lower case, letters and digits only),
#: best first.
_ROLE_PATTERNS: dict[str, list[str]] = {
    "customer": [rf"(customer|client|cust|member|shopper|buyer|account|user){_ID_SUFFIX}",
                 r".*(customer|client).*"],
    "invoice": [rf"(invoice|inv|order|receipt|basket|ticket|transaction|trans|tran|txn|bill|"
                rf"sale|purchase){_ID_SUFFIX}", r"(invoice|order|receipt|basket).*(id|no|nr|num"
                r"|number|code)"],
    "date": [r"(date|datetime|timestamp|time|day|ts)",
             r".*(date|datetime|timestamp).*", r".*time$"],
    "quantity": [r"(quantity|qty|units|nunits|nitems|count)", r".*(quantity|qty).*"],
    "price": [r"(unitprice|price|priceeach|unitcost|priceperunit|itemprice|rate)",
              r".*price.*"],
    "amount": [r"(amount|amt|total|revenue|sales|spend|spent|value|monetary|turnover|paid|"
               r"payment|linetotal|totalprice|netamount|grossamount)",
               r".*(amount|amt|total|revenue|sales|spend|spent|value|paid|turnover).*"],
    "product": [r"(stockcode|sku|product|productid|productcode|productno|item|itemid|itemcode|"
                r"itemno|article|articleid|articleno|ean|upc|barcode)",
                r".*(product|sku|stockcode|article).*(id|no|code)?"],
}
_INFER_ORDER = ("customer", "invoice", "date", "quantity", "price", "amount", "product")
#: A cancelled order's id: C and digits, as the UCI Online Retail logs write them
#: ("C536379"); an order id that only starts with C ("CA-2016-152156", the Superstore's) is
#: an order.  The one rule of both the batch features (in SQL) and the store's events.
CANCELLED_ORDER = r"[Cc][0-9]+"


def is_cancelled_order(order_id: str) -> bool:
    """Whether an order id is a cancellation's (:data:`CANCELLED_ORDER`).

    >>> [is_cancelled_order(o) for o in ("C536379", "536379", "CA-2016-152156")]
    [True, False, False]
    """
    return re.fullmatch(CANCELLED_ORDER, order_id.strip()) is not None


def infer_columns(names: Sequence[str], given: ColumnMap | None = None) -> ColumnMap:
    """Map header names to roles; columns named in ``given`` are kept as they are.

    >>> infer_columns(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
    ...                "UnitPrice", "CustomerID", "Country"]).to_dict()
    {'customer': 'CustomerID', 'date': 'InvoiceDate', 'amount': None, 'quantity': 'Quantity', \
'price': 'UnitPrice', 'invoice': 'InvoiceNo', 'product': 'StockCode'}
    >>> infer_columns(["customer_id", "trans_date", "tran_amount"]).to_dict()["amount"]
    'tran_amount'
    """
    given = given or ColumnMap()
    out = ColumnMap(**given.to_dict())
    used = {v for v in given.to_dict().values() if v}
    for role in _INFER_ORDER:
        if getattr(out, role):
            continue
        if role == "amount" and out.quantity and out.price:
            continue  # the line amount is quantity x price
        found = None
        for pattern in _ROLE_PATTERNS[role]:
            for name in names:
                if name in used:
                    continue
                n = _norm(name)
                if role == "price" and ("total" in n or "amount" in n):
                    continue
                if role == "date" and n.endswith(("id", "no")):
                    continue
                if re.fullmatch(pattern, n):
                    found = name
                    break
            if found:
                break
        if found:
            setattr(out, role, found)
            used.add(found)
    return out


def check_mapping(names: Sequence[str], given: ColumnMap, mapping: ColumnMap) -> None:
    """Refuse a given column not in the data, a column given for two roles, and a mapping
    without a customer id, a date or an amount (or quantity and price)."""
    for role in ROLES:
        col = getattr(given, role)
        if col is not None and col not in names:
            raise UsageError(f"{ROLE_OPTIONS[role]}: column {col!r} is not in the data. "
                             f"Columns in the data: {list(names)}", "columns")
    chosen = [c for c in mapping.to_dict().values() if c]
    repeated = sorted({c for c in chosen if chosen.count(c) > 1})
    if repeated:
        raise UsageError(f"column(s) {repeated} given for more than one role: "
                         f"{mapping.to_dict()}", "columns")
    missing = []
    if not mapping.customer:
        missing.append(("customer id", ROLE_OPTIONS["customer"]))
    if not mapping.date:
        missing.append(("date", ROLE_OPTIONS["date"]))
    if not mapping.amount and not (mapping.quantity and mapping.price):
        missing.append(("amount (or quantity and unit price)",
                        f"{ROLE_OPTIONS['amount']}, or {ROLE_OPTIONS['quantity']} and "
                        f"{ROLE_OPTIONS['price']}"))
    if missing:
        raise DataError([Problem(None, f"no {what} column found among the columns "
                                 f"{list(names)}; name it with {opt}", code="missing-role")
                         for what, opt in missing])

