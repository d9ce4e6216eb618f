"""The words of a column name that are not the thing it names: its units (a currency code,
a span such as "90d"), its count ("order count": a number of orders), its acronyms ("SMS").
:func:`custseg.labels.humanize` reads a name with them.

>>> units(["price", "in", "usd"]), units(["tickets", "90d"])
(['price'], ['tickets', 'in', '90', 'days'])
>>> counted(["order", "count"]), plural("policy")
(['number', 'of', 'orders'], 'policies')
>>> acronyms("Frequency of SMS"), acronyms("PRC_FULL_PAYMENT")
({'sms': 'SMS'}, {})
"""

from __future__ import annotations

import re

#: Text in brackets in a column name: a unit or a note ("Annual Income (k$)"), not words.
BRACKETS = re.compile(r"\([^)]*\)|\[[^]]*\]|\{[^}]*\}")
#: Characters of a column name read for words (the splitting rules are quadratic on long
#: runs of capitals; no meaningful name is longer).
MAX_NAME_CHARS = 200

#: Currency codes a name gives its amounts in ("ARR_USD", "PT_Spend_EUR", "price in usd"):
#: the unit, not the thing; dropped from the label (with an "in" before it).
CURRENCY_CODES = frozenset({"usd", "eur", "gbp", "jpy", "inr", "cad", "aud", "chf", "cny",
                            "rmb", "sek", "nok", "dkk", "pln", "brl", "mxn", "zar", "nzd",
                            "sgd", "hkd", "krw", "czk", "huf", "ils", "aed", "sar"})
#: A span written as a number and a unit letter ("tickets_90d", "logins_30d", "revenue_12m"):
#: read "in 90 days".
_SPAN = re.compile(r"^(\d+)(d|w|m|mo|q|y)$")
_SPAN_UNITS = {"d": "days", "w": "weeks", "m": "months", "mo": "months", "q": "quarters",
               "y": "years"}
#: Words that add nothing to a short label; dropped unless nothing specific would be left.
FILLER_WORDS = frozenset({"annual", "yearly", "total", "the"})
#: Generic words: a label made only of them keeps its filler ("total amount").
GENERIC_WORDS = frozenset({"amount", "value", "count", "number", "sum", "of", "quantity"})
#: Period words: "number of web visits month" reads "web visits per month".
PERIOD_WORDS = frozenset({"day", "week", "month", "quarter", "year"})


def plural(word: str) -> str:
    """The plural of a noun, by the regular rules ("order" -> "orders", "dependent" ->
    "dependents", "policy" -> "policies", "address" -> "addresses"); a word ending in s is
    taken as plural already."""
    if word.endswith("s") and not word.endswith(("ss", "us")):
        return word
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("ss", "us", "sh", "ch", "x", "z")):
        return word + "es"
    return word + "s"


def counted(tokens: list[str]) -> list[str]:
    """A count named by its thing and "count" reads as a number of things: "order count" ->
    "number of orders", "claims count in 3 years" -> "number of claims in 3 years" (names
    then say "Many orders"); a count of nothing named ("count", "total count") stays."""
    if "count" not in tokens:
        return tokens
    i = tokens.index("count")
    thing = [t for t in tokens[:i] if t not in FILLER_WORDS]
    if not thing or not all(t.isalpha() and t not in GENERIC_WORDS for t in thing) \
            or len(thing) > 3:
        return tokens
    return ["number", "of", *thing[:-1], plural(thing[-1]), *tokens[i + 1:]]


def units(tokens: list[str]) -> list[str]:
    """A name's units read as words or left out: a span "90d" reads "in 90 days" ("last
    30d": "in the last 30 days"); a currency code ("usd", "in eur") is dropped, unless
    nothing else is left."""
    out: list[str] = []
    skip = False
    for i, t in enumerate(tokens):
        if skip:
            skip = False
            continue
        span = _SPAN.match(t)
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if not span and t.isdigit() and after.removesuffix("s") in PERIOD_WORDS:
            span, skip = _SPAN.match(f"{t}{after[0]}"), True  # "12 month": "12m"
        if span and out:
            last = ["the", "last"] if out[-1] == "last" else []  # "logins last 30d"
            if last or out[-1] == "in":
                out.pop()
            unit = _SPAN_UNITS[span.group(2)]
            out += ["in", *last, span.group(1), unit[:-1] if span.group(1) == "1" else unit]
        elif t in CURRENCY_CODES and out:
            if out[-1] == "in" and len(out) > 1:
                out.pop()
        else:
            out.append(t)
    return out


#: Short words a name may write in capitals that are words, not acronyms ("Days_IN_Store").
_NOT_ACRONYMS = frozenset({"in", "of", "on", "to", "at", "by", "or", "and", "the", "per",
                           "for", "from", "with", "no", "yes", "all", "any", "is", "as", "an",
                           "vs", "it", "not", "new", "old", "last", "first", "max", "min",
                           "avg", "sum", "total"})


def spaced(column: str) -> str:
    """A column name with its brackets left out and its CamelCase words set apart, in their
    own case ("ATMWithdrawals (k$)" -> "ATM Withdrawals "): what
    :func:`custseg.labels.humanize` and :func:`acronyms` split into words."""
    text = BRACKETS.sub(" ", str(column)[:MAX_NAME_CHARS])
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)


def acronyms(column: str) -> dict[str, str]:
    """The words a name that is not all capitals writes in capitals (2-5 letters: "SMS" of
    "Frequency of SMS", "ATM" of "Num_ATM_Withdrawals"), keyed by their lower case: its
    label keeps them so.  A name in capitals only (``PRC_FULL_PAYMENT``) tells none, and a
    short word in capitals is no acronym ("Days_IN_Store")."""
    text = spaced(column)
    if not re.search(r"[a-z]", text):
        return {}
    return {w.lower(): w for w in re.split(r"[^A-Za-z]+", text)
            if 2 <= len(w) <= 5 and w.isupper() and w.lower() not in _NOT_ACRONYMS}
