"""Readable labels from column names.

Column names in real customer tables are written for programs: ``MntWines``,
``NumWebVisitsMonth``, ``PRC_FULL_PAYMENT``, ``BILL_AMT1``.  :func:`humanize` turns them into
short lower-case labels a manager reads ("spend on wines", "web visits per month", "share of
full payment", "bill amount 1"):

1. bracketed parts (units, scales) are dropped: ``"Annual Income (k$)"`` -> ``"income"``;
2. the name is split on CamelCase, snake_case, CAPS and digit boundaries, and lower-cased;
3. known phrases (:data:`PHRASES`) and abbreviations (:data:`ABBREVIATIONS`) are expanded,
   both plain data tables that can be extended;
4. a count prefix with a trailing period word reads "X per month" (``NumWebVisitsMonth``);
5. filler words (:data:`FILLER_WORDS`: "annual", "total", a "score" after an -ing word) are
   dropped unless nothing specific would be left.

A user labels file (:func:`load_labels`: TOML ``[labels]`` table or a two-column CSV) overrides
the automatic label of any column; :func:`label_for` applies it.

Examples
--------
>>> [humanize(c) for c in ["MntWines", "NumWebVisitsMonth", "PRC_FULL_PAYMENT"]]
['spend on wines', 'web visits per month', 'share of full payment']
>>> humanize("CASH_ADVANCE_TRX"), humanize("BILL_AMT1"), humanize("Annual Income (k$)")
('cash advance transactions', 'bill amount 1', 'income')
>>> label_for("Age", {"Age": "age in years"}), label_for("AcceptedCmp3")
('age in years', 'accepted campaign 3')
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from custseg.errors import UsageError
from custseg.label_words import (
    FILLER_WORDS,
    GENERIC_WORDS,
    PERIOD_WORDS,
    acronyms,
    counted,
    spaced,
    units,
)

#: Abbreviations found in column names, by lower-case token, and what they stand for.
#: Extend it freely: it is data, not logic.
ABBREVIATIONS: dict[str, str] = {
    "mnt": "spend on",
    # words glued in a CamelCase name whose second word is lower case ("HikeFromlastYear")
    "fromlast": "from last",
    "num": "number of",
    "nb": "number of",
    "nbr": "number of",
    "no": "number of",  # only as the first word, see _expand
    "n": "number of",  # only as the first word, see _expand
    "prc": "share of",
    "pct": "percent",
    "perc": "percent",
    "trx": "transactions",
    "txn": "transactions",
    "txns": "transactions",
    "trans": "transactions",
    "tran": "transaction",
    "freq": "frequency",
    "amt": "amount",
    "bal": "balance",
    "pmt": "payment",
    "pymt": "payment",
    "qty": "quantity",
    "cmp": "campaign",
    "camp": "campaign",
    "avg": "average",
    "cnt": "count",
    "ct": "count",
    "dt": "date",
    "yr": "year",
    "yrs": "years",
    "mo": "month",
    "mth": "month",
    "mon": "month",
    "cr": "credit",
    "mths": "months",
    "cust": "customer",
    "oneoff": "one-off",
    "acct": "account",
    "tot": "total",
    "hh": "household",
    "prods": "products",
    "prod": "product",
    "dept": "department",
    "addr": "address",
    "tel": "telephone",
    "min": "minimum",
    "max": "maximum",
    "std": "standard deviation of",
    "cv": "variability of",
    "kidhome": "children at home",
    "teenhome": "teenagers at home",
    "pdays": "days since previous contact",
    "poutcome": "previous outcome",
    "delicassen": "delicatessen",
    "nps": "NPS",
    "csat": "CSAT",
    # subscription and retail value measures
    "arr": "annual recurring revenue",
    "mrr": "monthly recurring revenue",
    "arpu": "average revenue per user",
    "ltv": "lifetime value",
    "clv": "customer lifetime value",
    "aov": "average order value",
    "fnb": "food and beverage",
    "monetary": "spend",
    # RFM's recency: the time since the last purchase (in days, weeks or months)
    "recency": "time since last purchase",
    "dob": "date of birth",
    "yob": "year of birth",
    "bday": "birthday",
}

#: Token sequences (lower case, after splitting) read as a whole; longest first wins.
PHRASES: dict[tuple[str, ...], str] = {
    ("year", "birth"): "year of birth",
    ("dt", "customer", "tenure"): "customer tenure",
    ("dt", "customer"): "customer since",
    ("limit", "bal"): "credit limit",
    ("pay", "amt"): "payment amount",
    ("recency", "days"): "days since last purchase",
    ("recency", "score"): "recency score",
    ("interpurchase", "days", "mean"): "average days between purchases",
    ("interpurchase", "days", "cv"): "variability of days between purchases",
    ("avg", "order", "value"): "average order value",
    ("return", "share"): "share of returns",
    ("n", "lines"): "number of purchase lines",
    ("r", "score"): "recency score",
    ("f", "score"): "frequency score",
    ("m", "score"): "monetary score",
    ("rfm", "score"): "recency frequency monetary score",
    ("cost", "contact"): "cost of contact",
    # food and beverage (a hotel's, a venue's): "F&B", "FnB", "F_B"
    ("f", "b"): "food and beverage",
    ("fn", "b"): "food and beverage",
    # a bank's count of the products a customer holds (BankChurners' Total_Relationship_Count)
    ("relationship", "count"): "products held",
    # the credit a card holder can still use (a limit less the balance), not a spend
    ("avg", "open", "to", "buy"): "available credit",
    ("open", "to", "buy"): "available credit",
}

#: Whole column names (all their tokens) read as a phrase, where the bare word is too vague
#: to stand alone: the public bank-marketing table's ``previous`` counts the contacts made
#: before this campaign.  Only the whole name matches: ``previous_purchases`` is untouched.
WHOLE_NAMES: dict[tuple[str, ...], str] = {
    ("previous",): "previous contacts",
    # a number column named just "campaign" counts this campaign's contacts (a campaign's
    # name or code is text or an id, never a feature read as high or low)
    ("campaign",): "contacts this campaign",
    # a column named just "y" is, by the convention of modelling tables, the outcome (the
    # bank table's: subscribed a term deposit)
    ("y",): "outcome (y)",
}

#: A band of a measure ("income category", "age group", "salary bracket") reads as the
#: measure: its levels are ranked (:func:`custseg.column_facts.ordered_levels`).
BAND_WORDS = frozenset({"category", "bracket", "band", "group", "range", "class"})
BANDED_MEASURES = frozenset({"income", "age", "salary", "wage", "spend", "spending", "price"})
#: Unit words: "tenure days" reads "tenure in days".
UNIT_WORDS = frozenset({"days", "weeks", "months", "years", "hours", "minutes", "seconds"})


@lru_cache(maxsize=4096)
def _split_cached(column: str) -> tuple[str, ...]:
    text = spaced(column)
    # "AMT1" -> "AMT 1", "12mon" -> "12 mon", but "f4", "Q1" stay whole
    text = re.sub(r"([A-Za-z]{2})([0-9])", r"\1 \2", text)
    text = re.sub(r"([0-9])([A-Za-z]{2})", r"\1 \2", text)
    return tuple(w for w in re.split(r"[^0-9A-Za-z]+", text.lower()) if w)


def _split(column: str) -> list[str]:
    """Lower-case words of a column name: CamelCase, snake_case, CAPS and digits split."""
    return list(_split_cached(str(column)))


def words(column: str) -> list[str]:
    """The raw words of a column name, split but not expanded (for keyword matching).

    >>> words("NumWebVisitsMonth"), words("PRC_FULL_PAYMENT")
    (['num', 'web', 'visits', 'month'], ['prc', 'full', 'payment'])
    """
    return _split(column)


def _expand(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    longest = max((len(k) for k in PHRASES), default=0)
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), 1, -1):
            phrase = PHRASES.get(tuple(tokens[i:i + size]))
            if phrase is not None:
                out.extend(phrase.split())
                i += size
                break
        else:
            tok = tokens[i]
            if tok in ("no", "n") and (i > 0 or len(tokens) == 1):
                out.append(tok)  # "no" and "n" are words except as a leading count prefix
            elif len(tok) == 1 and tok != "n" and i == 0 and len(tokens) > 1 and tok.isalpha() \
                    and tokens[1].isalpha():
                pass  # a leading one-letter prefix ("Z_Revenue", "x_income") says nothing
            elif tok == "pay" and i + 1 < len(tokens) and tokens[i + 1].isdigit():
                # PAY_0..PAY_6 (credit-card data): the repayment status, in months of delay
                # (-2 to 0: no bill, paid duly, revolving; 1..9: that many months late)
                out.extend(["payment", "delay"])
            else:
                out.extend(ABBREVIATIONS.get(tok, tok).split())
            i += 1
    return out


def _per_period(tokens: list[str]) -> list[str]:
    """'number of web visits month' -> 'web visits per month'; 'tenure days' -> 'tenure in
    days'; repeated words once ('number of of products')."""
    tokens = [t for i, t in enumerate(tokens) if i == 0 or t != tokens[i - 1]]
    if len(tokens) >= 4 and tokens[:2] == ["number", "of"] and tokens[-1] in PERIOD_WORDS \
            and tokens[-2] != "per":
        return [*tokens[2:-1], "per", tokens[-1]]
    if len(tokens) >= 2 and tokens[-1] in UNIT_WORDS and tokens[-2].isalpha() \
            and tokens[-2] not in ("per", "in", "since", "of", "number") \
            and tokens[-2] not in UNIT_WORDS:
        return [*tokens[:-1], "in", tokens[-1]]
    return tokens


#: Plurals that read as singular before another noun ("purchases frequency" is a purchase
#: frequency, "installments purchases" instalment purchases); "sales volume" stays.
PLURAL_MODIFIERS = {"purchases": "purchase", "installments": "installment",
                    "instalments": "instalment", "transactions": "transaction",
                    "orders": "order", "payments": "payment", "items": "item",
                    "products": "product", "deals": "deal"}
#: Words after which a plural stays plural ("purchases per month", "payments of").
_LINKS = frozenset({"of", "per", "in", "on", "at", "to", "for", "by", "with", "since", "and",
                    "or", "made", "paid", "bought", "sold", "purchased", "used", "held",
                    "owned", "returned", "cancelled", "canceled", "placed"})


#: Channels named after what is done there ("visits bank", "purchases web"): read before it.
CHANNEL_WORDS = frozenset({"bank", "branch", "online", "web", "website", "site", "store",
                           "shop", "app", "mobile", "phone", "catalog", "catalogue", "email",
                           "atm"})
#: What is done through a channel, counted.
CHANNEL_ACTS = frozenset({"visits", "purchases", "orders", "calls", "logins", "transactions",
                          "sessions", "payments", "sales"})


def _channel_first(tokens: list[str]) -> list[str]:
    """'visits bank' -> 'bank visits', 'purchases web' -> 'web purchases'."""
    if len(tokens) >= 2 and tokens[-1] in CHANNEL_WORDS and tokens[-2] in CHANNEL_ACTS:
        return [*tokens[:-2], tokens[-1], tokens[-2]]
    return tokens


def _singular_modifiers(tokens: list[str]) -> list[str]:
    """'purchases transactions' -> 'purchase transactions' (:data:`PLURAL_MODIFIERS`); a
    "spent" that follows no noun is the spend ('Total Spent' -> 'spend'; 'amount spent'
    stays)."""
    return ["spend" if t == "spent" and (i == 0 or tokens[i - 1] in FILLER_WORDS)
            else PLURAL_MODIFIERS.get(t, t) if i + 1 < len(tokens) and tokens[i + 1].isalpha()
            and tokens[i + 1] not in _LINKS else t for i, t in enumerate(tokens)]


#: Words of a date that starts a customer's history ("Join Date", "signup_date"): its
#: tenure is the tenure ("Join tenure (days)" reads "tenure").
START_WORDS = frozenset({"join", "joined", "joining", "signup", "registration", "registered",
                         "enrolment", "enrollment", "enrolled", "created", "creation",
                         "opened", "opening", "start", "started", "activation", "activated"})


def _drop_filler(tokens: list[str]) -> list[str]:
    kept = []
    for i, tok in enumerate(tokens):
        if tok in FILLER_WORDS:
            continue
        if tok in START_WORDS and i + 1 < len(tokens) and tokens[i + 1] == "tenure":
            continue  # "join tenure" -> "tenure"
        if tok == "score" and i > 0 and tokens[i - 1].endswith("ing"):
            continue  # "spending score" -> "spending"; "credit score" stays
        if tok in BAND_WORDS and i > 0 and tokens[i - 1] in BANDED_MEASURES:
            continue  # "income category" -> "income"
        kept.append(tok)
    if not kept or all(t in GENERIC_WORDS or t.isdigit() for t in kept):
        return tokens
    return kept


@lru_cache(maxsize=4096)
def humanize(column: str, keep_filler: bool = False) -> str:
    """A short, lower-case, readable label for a column name (``keep_filler``: with its
    filler words, "total charges", as :func:`table_labels` asks when "charges" alone would
    read like the end of another column's label).

    >>> humanize("NumDealsPurchases"), humanize("Detergents_Paper"), humanize("Year_Birth")
    ('number of deal purchases', 'detergents paper', 'year of birth')
    >>> humanize("Spending Score (1-100)"), humanize("totalAmount"), humanize("LIMIT_BAL")
    ('spending', 'total amount', 'credit limit')
    >>> humanize("PURCHASES_TRX"), humanize("INSTALLMENTS_PURCHASES")
    ('purchase transactions', 'installment purchases')
    >>> humanize("Income_Category"), humanize("Age Group"), humanize("Card_Category")
    ('income', 'age', 'card category')
    >>> humanize("Total_visits_bank"), humanize("purchases_web")
    ('bank visits', 'web purchases')
    >>> humanize("Frequency of SMS"), humanize("Num_ATM_Withdrawals")
    ('frequency of SMS', 'number of ATM withdrawals')
    >>> humanize("ARR_USD"), humanize("support_tickets_90d"), humanize("price_in_eur")
    ('recurring revenue', 'support tickets in 90 days', 'price')
    """
    tokens = _split(column)
    if not tokens:
        return str(column).strip() or str(column)
    if tuple(tokens) in WHOLE_NAMES:
        return WHOLE_NAMES[tuple(tokens)]
    tokens = _singular_modifiers(_channel_first(_per_period(counted(units(
        _expand(tokens))))))
    capitals = acronyms(column)
    return " ".join(capitals.get(t, t) for t in (tokens if keep_filler
                                                  else _drop_filler(tokens)))


def table_labels(columns: Sequence[str], labels: Mapping[str, str] | None = None
                 ) -> dict[str, str]:
    """The label of each of a table's ``columns`` (:func:`label_for`), told apart: a label
    whose filler was dropped keeps it when it would equal, or end, another column's label
    ("charges" beside "monthly charges" reads "total charges").

    >>> table_labels(["MonthlyCharges", "TotalCharges", "Total_Spend"])
    {'MonthlyCharges': 'monthly charges', 'TotalCharges': 'total charges', 'Total_Spend': 'spend'}
    """
    out = {c: label_for(c, labels) for c in columns}
    words = {c: tuple(out[c].split()) for c in columns}
    # how many labels end with each run of words (a label's own words count once)
    endings = Counter(w[i:] for w in words.values() for i in range(len(w)))
    for c in columns:
        if (labels and c in labels) or endings[words[c]] < 2:
            continue
        full = humanize(c, keep_filler=True)
        if full != out[c] and full not in out.values():
            out[c] = full
    return out


def label_for(column: str, labels: Mapping[str, str] | None = None) -> str:
    """The label of ``column``: from ``labels`` when given there, else :func:`humanize`."""
    if labels:
        given = labels.get(column)
        if given is not None and str(given).strip():
            return str(given).strip()
    return humanize(column)


def load_labels(path: str | Path | None) -> dict[str, str]:
    """Read the column labels of a user labels file (:func:`load_label_file`).

    ``None`` gives no labels.  An unreadable or malformed file is a
    :class:`~custseg.errors.UsageError` that names the file.
    """
    return load_label_file(path).columns


def load_value_labels(path: str | Path | None) -> dict[str, dict[str, str]]:
    """Read the value labels of a user labels file (:func:`load_label_file`):
    ``{column: {code: name}}``."""
    return load_label_file(path).values


@dataclass(frozen=True)
class LabelFile:
    """What a user labels file says: ``columns`` (``{column: label}``) and ``values``
    (``{column: {code: name}}``: the meaning of a category's codes)."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)


def load_label_file(path: str | Path | None) -> LabelFile:
    """Read a user labels file.

    TOML: a ``[labels]`` table (``column = "label"``) and/or one ``[values.COLUMN]`` table
    per coded category (``1 = "Hotel/restaurant/café"``).  CSV: lines ``column,label`` and
    ``column,value,label`` (a header row ``column,label`` or ``column,value,label`` is
    optional).  ``None`` gives an empty :class:`LabelFile`.  An unreadable or malformed file
    is a :class:`~custseg.errors.UsageError` that names the file.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> f = os.path.join(d, "labels.toml")
    >>> _ = open(f, "w").write('[labels]\\nFresh = "fresh food"\\n[values.Channel]\\n'
    ...                        '1 = "Hotel/restaurant/café"\\n2 = "Retail"\\n')
    >>> load_label_file(f)  # doctest: +NORMALIZE_WHITESPACE
    LabelFile(columns={'Fresh': 'fresh food'},
              values={'Channel': {'1': 'Hotel/restaurant/café', '2': 'Retail'}})
    """
    if path is None:
        return LabelFile()
    p = Path(path)
    try:
        text = p.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"labels file {p}: cannot read it: {exc}", "labels") from exc
    if p.suffix.lower() == ".toml" or (p.suffix.lower() != ".csv" and (
            "[labels]" in text or "[values." in text)):
        return _labels_from_toml(text, p)
    return _labels_from_csv(text, p)


def split_labels(labels: Mapping[str, Any]) -> LabelFile:
    """Column labels and value labels from one mapping (the ``labels`` option given as a
    dict): a column whose entry is itself a mapping gets value labels.

    >>> split_labels({"Fresh": "fresh food", "Channel": {1: "Hotel/restaurant/café"}})
    LabelFile(columns={'Fresh': 'fresh food'}, values={'Channel': {'1': 'Hotel/restaurant/café'}})
    """
    columns = {str(k): str(v) for k, v in labels.items() if not isinstance(v, Mapping)}
    values = {str(k): {str(code): str(name) for code, name in v.items()}
              for k, v in labels.items() if isinstance(v, Mapping)}
    return LabelFile(columns, values)


def name_levels(shares: Mapping[str, float], names: Mapping[str, str] | None
                ) -> dict[str, float]:
    """``shares`` (level -> share) with each level that ``names`` gives a name renamed (two
    levels given the same name add up); the others as they are.

    >>> name_levels({"1": 0.7, "2": 0.3}, {"1": "Hotel/restaurant/café"})
    {'Hotel/restaurant/café': 0.7, '2': 0.3}
    """
    if not names:
        return dict(shares)
    from custseg.parsing import level_key  # (custseg.labels is imported without pandas)

    by_key = {level_key(code): name for code, name in names.items()}
    out: dict[str, float] = {}
    for level, share in shares.items():
        name = by_key.get(level_key(level), level)
        out[name] = out.get(name, 0.0) + share
    return out


def _labels_from_toml(text: str, p: Path) -> LabelFile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"labels file {p} is not valid TOML: {exc}", "labels") from exc
    table, values = data.get("labels", {}), data.get("values", {})
    if not isinstance(table, dict) or not isinstance(values, dict) or not (table or values):
        raise UsageError(f"labels file {p} needs a [labels] table of column = \"label\" "
                         "lines, or [values.COLUMN] tables of code = \"name\" lines", "labels")
    bad = [k for k, v in table.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise UsageError(f"labels file {p}: the label of {bad[0]!r} must be a non-empty "
                         "string", "labels")
    out = LabelFile({str(k): v.strip() for k, v in table.items()})
    for column, names in values.items():
        if not isinstance(names, dict) or not names:
            raise UsageError(f"labels file {p}: [values.{column}] must be a table of "
                             "code = \"name\" lines", "labels")
        bad = [k for k, v in names.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            raise UsageError(f"labels file {p}: the name of code {bad[0]!r} of column "
                             f"{column!r} must be a non-empty string", "labels")
        out.values[str(column)] = {str(k): v.strip() for k, v in names.items()}
    return out


def _labels_from_csv(text: str, p: Path) -> LabelFile:
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if rows and [c.strip().lower() for c in rows[0]] in (["column", "label"],
                                                         ["column", "value", "label"]):
        rows = rows[1:]
    out = LabelFile()
    for n, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if len(cells) not in (2, 3) or not all(cells):
            raise UsageError(f"labels file {p}: line {n} must be two non-empty cells, "
                             "column and label, or three, column, value and label "
                             f"(got {row!r})", "labels")
        if len(cells) == 2:
            out.columns[cells[0]] = cells[1]
        else:
            out.values.setdefault(cells[0], {})[cells[1]] = cells[2]
    if not (out.columns or out.values):
        raise UsageError(f"labels file {p} has no labels (expected lines column,label or "
                         "column,value,label)", "labels")
    return out


def check_value_columns(values: Mapping[str, Mapping[str, str]],
                        roles: Mapping[str, str]) -> None:
    """Refuse value labels for a column that is not in the table (``roles``: each column's
    role) or is not a category, naming the columns that take them.

    >>> check_value_columns({"Channel": {"1": "Retail"}}, {"Channel": "category"})
    >>> try:
    ...     check_value_columns({"Chanel": {"1": "Retail"}}, {"Channel": "category"})
    ... except UsageError as e:
    ...     print(e)
    value labels for 'Chanel': no such column; the categorical columns are: Channel
    """
    categories = [c for c, r in roles.items() if r == "category"]
    for column in values:
        role = roles.get(column)
        if role == "category":
            continue
        where = ("no such column" if role is None else
                 f"its role is {role}, not category (give it the role category to read its "
                 "values as codes)")
        raise UsageError(f"value labels for {column!r}: {where}; the categorical columns are: "
                         f"{', '.join(categories) or 'none'}", "labels")


def resolve_labels(given: str | Path | Mapping[str, Any] | None) -> LabelFile:
    """The ``labels`` option of every engine: a labels file's path, a mapping
    (:func:`split_labels`) or None.

    >>> resolve_labels({"Channel": {"1": "Retail"}}).values, resolve_labels(None)
    ({'Channel': {'1': 'Retail'}}, LabelFile(columns={}, values={}))
    """
    if isinstance(given, Mapping):
        return split_labels(given)
    return load_label_file(given)
