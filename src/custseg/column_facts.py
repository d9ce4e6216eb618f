"""What the role rules of :mod:`custseg.roles` read about a numeric column: the words of its
name and the hints they give (``NAME_HINTS``), the facts of its values (:class:`ColumnFacts`),
the tests of the built-in rules (each gives a reason in words, or None), and which feature
columns move together (:func:`near_duplicates`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any, cast

import numpy as np
import pandas as pd

from custseg.parsing import ID_NAME, MISSING_MARKERS, level_key

#: Calendar positions (day of the month, month, weekday, hour): they describe when
#: something happened, not who the customer is.
CALENDAR_PARTS = {"day": (1, 31), "dom": (1, 31), "month": (1, 12), "weekday": (0, 7),
                  "dow": (0, 7), "hour": (0, 23), "week": (1, 53), "quarter": (1, 4)}
#: |r| above which two feature columns are near-duplicates (the later one is dropped).
NEAR_DUPLICATE_R = 0.95
#: Rows used to measure correlations between columns (a seeded sample above it).
CORRELATION_SAMPLE = 20_000

NAME_HINTS: dict[str, tuple[str, ...]] = {
    "birth_year": ("birth", "born", "yob", "birthyear"),
    "category": ("sex", "gender", "genre", "marital", "marriage", "married", "education",
                 "region", "channel", "country", "city", "state", "type", "class", "category",
                 "segment", "group", "status", "code", "zone", "area", "branch", "plan"),
    # (not "frequency": a frequency is as often a count of orders as a share of months;
    # shares named so are fractions, caught by the 0-1 rule)
    "rate": ("prc", "pct", "percent", "percentage", "rate", "ratio", "share", "proportion",
             "fraction"),
    "count": ("num", "number", "count", "cnt", "trx", "txn", "transactions", "visits",
              "orders", "kid", "kids", "kidhome", "teen", "teenhome", "children", "child",
              "dependents", "household", "calls", "contacts", "campaign",
              "previous", "items", "products", "nb", "qty", "quantity",
              # things a customer holds, counted: "Total_Credit_Cards", "NumAccounts"
              "cards", "accounts", "loans", "policies", "subscriptions", "devices"),
    "money": ("amount", "amt", "mnt", "income", "salary", "balance", "bal", "spend", "spent",
              "spending", "price", "revenue", "sales", "payment", "payments", "pay", "bill",
              "limit", "cost", "value", "fee", "fees", "profit", "purchases", "purchase",
              "monetary", "wage", "earnings", "debt", "loan", "credit", "advance", "deposit",
              "turnover", "expenditure"),
    "measure": ("score", "rating", "nps", "csat", "satisfaction", "index", "duration",
                "seconds", "minutes", "hours", "days", "time", "length", "distance",
                "weight", "height", "day", "month", "week", "recency", "tenure"),
    "age": ("age",),
    # a date of birth: the customer's age, not days since
    "birth_date": ("birth", "born", "dob", "birthday", "birthdate", "bday"),
    "tenure_date": ("since", "joined", "join", "registration", "registered", "signup",
                    "enrol", "enroll", "enrolled", "first", "opened", "start", "created",
                    "customer", "member", "membership", "dt"),
    # a date of the customer's last act: the days since it are a recency, not a tenure
    "recency_date": ("last", "latest", "recent", "invoice", "order", "purchase", "purchased",
                     "transaction", "txn", "visit", "visited", "login", "activity", "seen",
                     "bought"),
}


def name_words(name: str) -> list[str]:
    """Lower-case words of a column name: CamelCase, snake_case, CAPS and digits split.

    >>> name_words("NumWebVisitsMonth"), name_words("PRC_FULL_PAYMENT"), name_words("BILL_AMT1")
    (['num', 'web', 'visits', 'month'], ['prc', 'full', 'payment'], ['bill', 'amt', '1'])
    """
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name)[:200])  # quadratic on long names
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([A-Za-z])([0-9])", r"\1 \2", text)
    return [w for w in re.split(r"[^0-9A-Za-z]+", text.lower()) if w]


def has_hint(name: str, kind: str) -> bool:
    if kind == "rate" and "%" in str(name):
        return True
    words = name_words(name)
    joined = "".join(words)
    hints = NAME_HINTS[kind]
    return any(w in hints for w in words) or joined in hints


class ColumnFacts:
    """What the rules of :data:`NUMERIC_RULES` look at: a numeric column's name (and its
    words) and its finite values, with their range, whether they are whole and the distinct
    ones.  Build it with :meth:`of`."""

    def __init__(self, name: str, values: np.ndarray) -> None:
        self.name = name
        self.words = name_words(name)
        self.v = values
        self.lo, self.hi = float(values.min()), float(values.max())
        self.whole = bool(np.all(np.mod(values, 1) == 0))
        self.distinct = np.unique(values)
        self.span = f"{_num(self.lo)} to {_num(self.hi)}"

    @classmethod
    def of(cls, name: str, values: pd.Series) -> ColumnFacts | None:
        """The facts of a column, or None when it has no finite value."""
        v = values.dropna().to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        return cls(name, v) if len(v) else None

    def named(self, kind: str) -> bool:
        """Whether the name says ``kind`` (a key of :data:`NAME_HINTS`)."""
        return has_hint(self.name, kind)

    @cached_property
    def skew(self) -> float:
        return float(pd.Series(self.v).skew()) if len(self.v) > 2 else 0.0


def calendar_reason(f: ColumnFacts) -> str | None:
    part = f.words[-1] if f.words else ""
    if f.whole and 1 <= len(f.words) <= 2 and part in CALENDAR_PARTS and (
            CALENDAR_PARTS[part][0] <= f.lo and f.hi <= CALENDAR_PARTS[part][1]):
        return f"a {part} number {f.span}: a position in the calendar, not a trait of the customer"
    return None


def birth_year_reason(f: ColumnFacts) -> str | None:
    named = f.whole and f.named("birth_year") and 1880 <= np.median(f.v) <= 2020
    spread = (f.whole and "year" in f.words and np.quantile(f.v, 0.05) >= 1900
              and np.quantile(f.v, 0.95) <= 2015 and np.ptp(f.v) >= 10)
    return f"years {f.span} named like a year of birth" if named or spread else None


def share_reason(f: ColumnFacts) -> str | None:
    if f.lo >= 0 and f.hi <= 1 and not f.whole:
        return "values within 0-1: a share"
    if f.lo >= 0 and f.hi <= 1.5 and not f.whole and {"frequency", "freq"} & set(f.words):
        return "values within 0-1 (a few above) named like a frequency: a share"
    if f.lo >= 0 and f.hi <= 100 and f.named("rate"):
        return f"values within 0-{100 if f.hi > 1 else 1} named like a share"
    return None


#: Words of a column that numbers the rows ("RowNumber", "Unnamed: 0" that pandas writes
#: for its index, "index", "S.No"): with unique whole values, a row number.
ROW_NUMBER_WORDS = frozenset({"row", "rows", "rownum", "rownumber", "index", "idx", "unnamed",
                              "serial", "sno", "slno", "srno", "s", "sl", "sr"})
#: Words that may go with them ("row number", "serial no").
_ROW_NUMBER_FILLERS = frozenset({"no", "nr", "num", "number", "id"})
#: Fewest values for unique whole numbers to count as row numbers or identifiers (a short
#: table's few values may all differ by chance).
IDENTIFIER_MIN_ROWS = 20


def identifier_reason(f: ColumnFacts) -> str | None:
    """Unique whole numbers named like a row number or an identifier (a second id beside
    the customer's: ``RowNumber``, ``Unnamed: 0``, ``AccountID``): they number the rows,
    they are not a trait of the customer.

    >>> f = ColumnFacts("RowNumber", np.arange(1.0, 41))
    >>> identifier_reason(f)
    'row numbers 1 to 40, one per row: not a trait of the customer'
    >>> identifier_reason(ColumnFacts("NumOfProducts", np.arange(1.0, 41))) is None
    True
    """
    if not (f.whole and len(f.v) >= IDENTIFIER_MIN_ROWS and len(f.distinct) == len(f.v)):
        return None
    words = [w for w in f.words if not w.isdigit()]
    if words and set(words) <= ROW_NUMBER_WORDS | _ROW_NUMBER_FILLERS and (
            set(words) & ROW_NUMBER_WORDS):
        return f"row numbers {f.span}, one per row: not a trait of the customer"
    if ID_NAME.search(f.name):
        return f"unique whole numbers {f.span} named like an identifier: not a trait of " \
               "the customer"
    return None


def count_reason(f: ColumnFacts) -> str | None:
    first = next(iter(f.words), "")
    counted = {"num", "number", "nb", "count", "cnt", "trx", "txn", "transactions", "visits",
               "orders", "cards", "accounts", "loans", "policies", "subscriptions",
               "devices"} & set(f.words)
    if f.whole and f.lo >= 0 and f.named("count") and (
            first in ("num", "number", "n", "nb", "count", "cnt") or counted
            or not f.named("money")):
        return f"whole numbers {f.span} named like a count"
    return None


def money_reason(f: ColumnFacts) -> str | None:
    if f.named("money") and (f.hi - f.lo > 100 or not f.whole):
        return f"amounts {f.span} named like money"
    if f.lo >= 0 and f.skew > 1 and f.hi > 1000:
        return f"skewed amounts {f.span} (skewness {f.skew:.1f})"
    return None


#: Codes that stand for "none" or "not applicable" when they sit apart from every other
#: value of a column: below all of them (which are 0 or more), or above twice all of them.
NONE_CODES_BELOW = (-1.0, -9.0, -99.0, -999.0, -9999.0)
NONE_CODES_ABOVE = (99.0, 999.0, 9999.0, 99999.0)
#: The least share of a column's values a code needs to be read as "none".
NONE_CODE_SHARE = 0.01


def none_code(values: pd.Series) -> float | None:
    """A code standing for "none" in a numeric column, or None: ``-1`` (``-9``, ``-99``...)
    below every other value when those are all 0 or more, or ``999`` (``99``, ``9999``...)
    above twice every other value; in at least 1% of the values, the others taking at least
    five distinct values (``-1, 0, 1`` is a scale, not a code).  Days since the previous
    contact written ``-1`` for customers never contacted is the classic case.

    >>> none_code(pd.Series([-1, -1, -1, 3, 5, 8, 13, 21, 40, 2]))
    -1.0
    >>> none_code(pd.Series([3, 5, 8, 13, 21, 999, 2, 7]))
    999.0
    >>> none_code(pd.Series([-3, -1, 3, 5, 8, 13, 21, 40])) is None  # negatives are values
    True
    """
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    v = v[np.isfinite(v)]
    distinct, counts = np.unique(v, return_counts=True)
    if len(distinct) < 6:
        return None
    if distinct[0] in NONE_CODES_BELOW and distinct[1] >= 0:
        code, n = distinct[0], counts[0]
    elif distinct[-1] in NONE_CODES_ABOVE and distinct[-2] * 2 < distinct[-1]:
        code, n = distinct[-1], counts[-1]
    else:
        return None
    return float(code) if n >= NONE_CODE_SHARE * len(v) else None


def _num(x: float) -> str:
    """A number as a reason shows it: ``1,000,000``, ``-2``, ``0.25``."""
    if float(x).is_integer() or abs(x) >= 1000:
        return f"{round(x):,}"
    return f"{x:.4g}"


def rate_scale(values: pd.Series) -> float:
    """100 for a percentage column (a value above 1), else 1."""
    v = values.dropna()
    return 100.0 if len(v) and float(v.max()) > 1 else 1.0


def as_numeric(frame: pd.DataFrame, col: str) -> pd.Series | None:
    s = frame[col]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    num = pd.to_numeric(s, errors="coerce")
    filled = s.notna().sum()
    if filled and num.notna().sum() == filled:
        return num.astype("float64")
    return None


def _spearman(data: pd.DataFrame, random_state: int) -> np.ndarray:
    """Spearman correlations of the columns of ``data`` (pairwise complete), on a sample of
    :data:`CORRELATION_SAMPLE` rows when it has more."""
    if len(data) > CORRELATION_SAMPLE:
        data = data.sample(CORRELATION_SAMPLE, random_state=random_state)
    return _pairwise_corr(data.rank().to_numpy(dtype=np.float64))


def near_duplicates(frame: pd.DataFrame, columns: Sequence[str], *,
                    threshold: float = NEAR_DUPLICATE_R,
                    random_state: int = 0) -> list[dict[str, Any]]:
    """Pairs of columns with |Spearman r| above ``threshold``: the later one of each pair is
    dropped, the earlier kept (``[{"dropped", "kept", "r"}]``).

    >>> df = pd.DataFrame({"a": range(50), "b": [2 * i + 1 for i in range(50)],
    ...                    "c": [(i * 7) % 11 for i in range(50)]})
    >>> near_duplicates(df, ["a", "b", "c"])
    [{'dropped': 'b', 'kept': 'a', 'r': 1.0}]
    """
    cols = list(columns)
    if len(cols) < 2:
        return []
    corr = _spearman(frame[cols], random_state)
    dropped: dict[str, dict[str, Any]] = {}
    is_dropped = np.zeros(len(cols), dtype=bool)
    with np.errstate(invalid="ignore"):
        close = np.isfinite(corr) & (np.abs(corr) > threshold)
    for j in np.flatnonzero(close.any(axis=0)):
        hits = np.flatnonzero(close[:j, j] & ~is_dropped[:j])
        if len(hits):
            i = int(hits[0])
            dropped[cols[j]] = {"dropped": cols[j], "kept": cols[i],
                                "r": round(float(corr[i, j]), 3)}
            is_dropped[j] = True
    return list(dropped.values())


def echoes(frame: pd.DataFrame, features: Sequence[str], describing: Sequence[str], *,
           threshold: float = NEAR_DUPLICATE_R, random_state: int = 0) -> dict[str, str]:
    """The describing columns that move with a feature (|Spearman r| above ``threshold``,
    as :func:`near_duplicates`), each with the feature it follows most closely: an RFM
    score beside the recency, frequency and spend it scores, a count of purchase lines
    beside the count of purchases.  Their traits repeat the feature's.

    >>> df = pd.DataFrame({"spend": [5.0, 1, 9, 3, 7], "spend_score": [3, 1, 5, 2, 4],
    ...                    "age": [30, 50, 20, 60, 40]})
    >>> echoes(df, ["spend"], ["spend_score", "age"])
    {'spend_score': 'spend'}
    """
    feats = [c for c in dict.fromkeys(features) if c in frame.columns]
    desc = [c for c in dict.fromkeys(describing) if c in frame.columns and c not in feats]
    if not feats or not desc:
        return {}
    corr = np.abs(_spearman(frame[feats + desc].apply(pd.to_numeric, errors="coerce"),
                            random_state))
    out = {}
    for j, col in enumerate(desc, start=len(feats)):
        with np.errstate(invalid="ignore"):
            r = np.where(np.isfinite(corr[:len(feats), j]), corr[:len(feats), j], 0.0)
        if r.max() > threshold:
            out[col] = feats[int(r.argmax())]
    return out


def _pairwise_corr(X: np.ndarray) -> np.ndarray:
    """Pearson correlation of the columns of ``X`` over the rows where both are present
    (as ``DataFrame.corr``), by matrix products: thousands of columns in seconds.  NaN
    where a pair has fewer than two rows in common or no spread on them."""
    present = ~np.isnan(X)
    if present.all():
        with np.errstate(invalid="ignore", divide="ignore"):
            full: np.ndarray = np.corrcoef(X, rowvar=False).reshape(X.shape[1], X.shape[1])
            return full
    M = present.astype(np.float64)
    centre = np.nanmean(np.where(present, X, np.nan), axis=0) if len(X) else 0.0
    Y = np.where(present, X - centre, 0.0)  # centred: sums of squares stay accurate
    n = M.T @ M  # rows in common
    sx = Y.T @ M  # sum of column i over the rows where j is present
    sxx = (Y * Y).T @ M
    sxy = Y.T @ Y
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        var_i = sxx - sx * sx / n
        corr = cov / np.sqrt(var_i * var_i.T)
    corr[(n < 2) | (var_i <= 1e-9) | (var_i.T <= 1e-9)] = np.nan
    clipped: np.ndarray = np.clip(corr, -1.0, 1.0, out=corr, where=np.isfinite(corr))
    return clipped


#: A text column of at most this many whole-number levels is read as codes ("codes 1, 2").
CODES_SHOWN = 12


def levels_reason(values: pd.Series) -> str:
    """Why a text column is a category, in words: its few levels, or its codes when they are
    whole numbers (a labels file can name them, :mod:`custseg.labels`).

    >>> levels_reason(pd.Series(["2", "1", "10", None])), levels_reason(pd.Series(["F", "M"]))
    ('codes 1, 2, 10 (a few whole-number levels)', 'text with a few levels')
    """
    levels = values.dropna().unique()
    keys = sorted({level_key(v) for v in levels[:CODES_SHOWN + 1]}, key=_code_order)
    if 0 < len(levels) <= CODES_SHOWN and all(k.lstrip("-").isdigit() for k in keys):
        return f"codes {', '.join(keys)} (a few whole-number levels)"
    return "text with a few levels"


def _code_order(code: str) -> tuple[int, str]:
    """Codes in numeric order: "2" before "10"."""
    try:
        return int(code), ""
    except ValueError:
        return 0, code


#: Ordered scales of text levels a table writes in words, lowest first; the words of one
#: rank are synonyms.  A text column whose levels all belong to one scale, three of them or
#: more, is read as the rank of each level (:func:`ordered_levels`).
ORDERED_SCALES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("very low", "lowest"), ("low",), ("medium", "average", "moderate", "mid", "middle",
                                        "normal", "med", "avg"), ("high",),
     ("very high", "highest")),
    (("very poor",), ("poor", "bad"), ("fair", "average", "ok", "okay"), ("good",),
     ("very good",), ("excellent",)),
    (("never",), ("rarely", "seldom"), ("sometimes", "occasionally"),
     ("often", "frequently"), ("always", "very often")),
    (("strongly disagree",), ("disagree",), ("neutral", "neither agree nor disagree"),
     ("agree",), ("strongly agree",)),
    (("very dissatisfied", "very unsatisfied"), ("dissatisfied", "unsatisfied"),
     ("neutral", "neither satisfied nor dissatisfied"), ("satisfied",), ("very satisfied",)),
    (("bronze",), ("silver",), ("gold",), ("platinum",), ("diamond",)),
    (("basic",), ("standard",), ("premium",)),
    (("extra small", "very small"), ("small",), ("medium",), ("large",),
     ("extra large", "very large")),
    # how often a customer buys, in words (a purchase frequency: "Every 3 Months", "Weekly")
    (("annually", "yearly", "once a year"),
     ("semi annually", "every 6 months", "twice a year"),
     ("quarterly", "every 3 months", "every three months"),
     ("monthly", "every month", "once a month"),
     ("fortnightly", "bi weekly", "biweekly", "every 2 weeks", "every two weeks"),
     ("weekly", "every week", "once a week"),
     ("daily", "every day")),
)
#: Fewest levels of a scale a column must show to be read as ranks (two levels are a yes/no).
MIN_ORDERED_LEVELS = 3


#: What separates the words of a level as the scales spell it (:func:`scale_key`).
_SCALE_SEPARATOR = r"[\s_\-]+"


def scale_key(level: object) -> str:
    """A level as the scales spell it: lower case, ``_``/``-`` and runs of spaces as one.

    >>> scale_key(" Very_High ")
    'very high'
    """
    return re.sub(_SCALE_SEPARATOR, " ", str(level).strip().lower())


def scale_keys(values: pd.Series) -> pd.Series:
    """:func:`scale_key` of every cell at once (missing cells stay missing).

    >>> scale_keys(pd.Series([" Very_High ", None])).tolist()
    ['very high', <NA>]
    """
    return values.astype("string").str.strip().str.lower().str.replace(
        _SCALE_SEPARATOR, " ", regex=True)


def ordered_levels(values: pd.Series) -> list[str] | None:
    """The levels of a text column in their order, lowest first (as the column spells them),
    when they are ordered and show :data:`MIN_ORDERED_LEVELS` ranks or more: all on one
    scale of :data:`ORDERED_SCALES`, or all numeric bands (:func:`band_order`: "Less than
    $40K", "$40K - $60K", "$120K +"); None otherwise.  A missing-value marker ("Unknown",
    "N/A") is no level: it reads as missing.

    >>> ordered_levels(pd.Series(["High", "Low", "Average", None, "Low"]))
    ['Low', 'Average', 'High']
    >>> ordered_levels(pd.Series(["Gold", "silver", "Platinum"]))
    ['silver', 'Gold', 'Platinum']
    >>> ordered_levels(pd.Series(["Weekly", "Every 3 Months", "Bi-Weekly", "Quarterly"]))
    ['Every 3 Months', 'Quarterly', 'Bi-Weekly', 'Weekly']
    >>> ordered_levels(pd.Series(["$60K - $80K", "Less than $40K", "Unknown", "$120K +",
    ...                           "$40K - $60K"]))
    ['Less than $40K', '$40K - $60K', '$60K - $80K', '$120K +']
    >>> ordered_levels(pd.Series(["Low", "High"])) is None  # two levels: a yes/no
    True
    >>> ordered_levels(pd.Series(["Low", "High", "Other"])) is None
    True
    """
    levels = [str(v) for v in values.dropna().unique()[:40]
              if str(v).strip().lower() not in MISSING_MARKERS]
    if not MIN_ORDERED_LEVELS <= len(levels) <= 12:
        return None
    keys = {v: scale_key(v) for v in levels}
    rank = _scale_of(keys.values())
    if rank is not None:
        if len({rank[k] for k in keys.values()}) < MIN_ORDERED_LEVELS:
            return None
        return sorted(levels, key=lambda v: (rank[keys[v]], keys[v], v))
    bands = {v: band_order(v) for v in levels}
    if any(b is None for b in bands.values()) or len(set(bands.values())) < len(levels):
        return None
    if not any(b[1] != 0 or _BAND_RANGE.search(v) for v, b in bands.items() if b):
        return None  # bare numbers: codes, not bands
    return sorted(levels, key=lambda v: cast("tuple[float, int]", bands[v]))


_NUMBER = re.compile(r"(\d+(?:[.,]\d+)?)\s*([kKmM](?![a-zA-Z]))?")
_BAND_RANGE = re.compile(r"\d\s*[kKmM]?\s*(?:-|–|to)\s*[$€£]?\s*\d")
_BELOW = re.compile(r"^\s*(?:<|≤|less than|under|below|up to|fewer than|max)", re.I)
_ABOVE = re.compile(r"(?:\+\s*$|^\s*(?:>|≥|more than|over|above|at least|min)\b|or more\s*$"
                    r"|and (?:above|over|more)\s*$)", re.I)


def band_order(level: str) -> tuple[float, int] | None:
    """Where a numeric band sits: its first number (``K`` thousands, ``M`` millions) and
    -1 for "below it" ("Less than $40K", "<30"), +1 for "above it" ("$120K +", "65 and
    over"), 0 otherwise ("$40K - $60K", "26-35"); None without a number.

    >>> band_order("Less than $40K"), band_order("$40K - $60K"), band_order("$120K +")
    ((40000.0, -1), (40000.0, 0), (120000.0, 1))
    >>> band_order("65 and over"), band_order("Female")
    ((65.0, 1), None)
    """
    found = _NUMBER.search(level)
    if found is None:
        return None
    number = float(found.group(1).replace(",", "."))
    number *= {"k": 1e3, "m": 1e6}.get((found.group(2) or "").lower(), 1.0)
    side = -1 if _BELOW.search(level) else 1 if _ABOVE.search(level) else 0
    return number, side


def _scale_of(keys: Iterable[str]) -> dict[str, int] | None:
    """The position of each word of the first scale of :data:`ORDERED_SCALES` that holds
    every one of ``keys`` (:func:`scale_key` spellings); None when none does."""
    wanted = set(keys)
    for scale in ORDERED_SCALES:
        rank = {word: i for i, words in enumerate(scale) for word in words}
        if wanted <= rank.keys():
            return rank
    return None


def level_ranks(levels: Sequence[str]) -> dict[str, float]:
    """The rank of each level (1 for the lowest) by the scale's key of its spelling; levels
    of the same rank (synonyms) share it.

    >>> level_ranks(["Low", "Average", "Medium", "High"])
    {'low': 1.0, 'average': 2.0, 'medium': 2.0, 'high': 3.0}
    """
    keys = [scale_key(v) for v in levels]
    rank = _scale_of(keys)
    if rank is None:  # levels on no scale: in the order given
        return {k: float(i + 1) for i, k in enumerate(keys)}
    present = sorted({rank[k] for k in keys})
    return {k: float(present.index(rank[k]) + 1) for k in keys}


def date_feature_name(column: str) -> tuple[str, str]:
    """Name and role of the feature made from a date column: the days since a last act
    (a last purchase, an invoice, an order) are a recency ("Days since last invoice"), since
    a first one (joined, opened, customer since) a tenure.

    >>> date_feature_name("invoice_date"), date_feature_name("Dt_Customer")
    (('Days since last invoice', 'measure'), ('Customer tenure (days)', 'tenure'))
    """
    words = [w for w in name_words(column) if w not in ("dt", "date", "day", "time")]
    label = " ".join(words) or column
    if has_hint(column, "recency_date") and ("last" in words
                                             or not has_hint(column, "tenure_date")):
        rest = " ".join(w for w in words if w not in ("last", "latest", "recent"))
        return f"Days since last {rest or 'activity'}", "measure"
    if has_hint(column, "tenure_date"):
        base = " ".join(w for w in words if w not in ("since", "first", "start")) or "customer"
        return f"{base.capitalize()} tenure (days)", "tenure"
    return f"Days since {label}", "tenure"
