"""Traits: the columns that set a segment apart, in words.

A *trait* is a numeric column with |z| >= 0.5 (on the log scale for log-scaled columns);
traits are ordered by |z|, and the first three are the segment's *defining* traits (their
text is the evidence of its recommendation).  Each is worded by the column's role (count,
money, rate, flag, measure, age, tenure), guessed from its name when no roles are given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from custseg.label_words import plural
from custseg.labels import label_for, words
from custseg.profiling.rules import MIN_DISTINCT_Z, Concept, has_word, level_of

if TYPE_CHECKING:
    from custseg.profiling import SegmentProfile

#: A segment low on some amounts but above average (z above this) on others is named by
#: what leads its basket ("Mostly fresh and frozen · Low grocery · Low milk"): what they buy
#: says more to a manager than what they do not.
BASKET_LEAD_Z = 0.2
#: A segment above (below) average on every amount of its basket and High (Low) on at least
#: this share of them buys more (less) across the basket: "High spend across the basket".
BROAD_BASKET_SHARE = 0.5
#: ... when the basket has at least this many amounts.
MIN_BROAD_BASKET = 3
#: The concepts (``data/rules.toml``) of what a customer has or may use: a capacity, not
#: activity.
CAPACITY_CONCEPTS = ("income", "capacity")
#: Defining traits: the first this many traits (by |z|).
DEFINING_TRAITS = 3
#: Words that make an unlabelled column a money amount (a fallback when no roles are given).
_MONEY_WORDS = ("spend on", "spend", "amount", "income", "salary", "revenue", "monetary",
                "balance", "sales", "payments", "credit limit", "order value", "earnings",
                "spent", "purchases", "cash advance")
_COUNT_PREFIXES = ("number of ",)
#: Words that make a money label a noun of its own ("2.3× the average balance"); other money
#: labels name what is bought ("spends 2.1× the average on frozen").
_MONEY_NOUNS = ("amount", "balance", "income", "salary", "earnings", "wage", "limit", "value",
                "revenue", "sales", "payment", "spend", "spending", "bill", "price", "cost",
                "fee", "charge", "purchases", "turnover", "credit", "debt", "loan", "wealth",
                "assets", "deposit", "savings", "premium", "monetary", "cash advance",
                "claims", "claim", "payout", "payouts")


def infer_role(column: str, label: str, mean: float) -> str:
    """A light guess of a column's role from its name when no roles are given."""
    low = label.lower()
    if "score" in low:
        return "measure"
    if low.startswith(_COUNT_PREFIXES) or low.endswith(("transactions", " count")):
        return "count"
    if low.startswith(("share of", "percent")) or (
            any(has_word(low, w) for w in ("ratio", "rate", "frequency", "proportion"))
            and 0.0 <= mean <= 1.0):
        return "rate"
    if any(has_word(low, w) for w in _MONEY_WORDS):
        return "money"
    if has_word(low, "tenure"):
        return "tenure"
    if low == "age":
        return "age"
    return "measure"


def _fmt(x: float, yearish: bool = False) -> str:
    """A short number: '61', '2.5', '0.35', '12,400', '1968' (years: no separator)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    if yearish and 1000 <= a <= 2200:
        return f"{x:.0f}"
    if a == 0:
        return "0"
    text = f"{x:,.{_decimals(x)}f}"
    return text.removesuffix(".0") if 1 <= a < 10 else text


def _decimals(x: float) -> int:
    """The decimals :func:`_fmt` shows ``x`` with (at most): none from 10, one from 1, else
    two."""
    a = abs(x)
    return 0 if a >= 10 else 1 if a >= 1 else 2


def _fmt_pair(x: float, y: float, yearish: bool = False) -> tuple[str, str]:
    """Two numbers to compare, each as :func:`_fmt` writes it, or with as many more decimals
    (two at most) as their difference needs to show: '38.0' and '37.0' rather than '38' and
    '37' for 38.02 and 36.98, '33.6' and '33.0' rather than '34' and '33'.

    >>> _fmt_pair(38.02, 36.98), _fmt_pair(33.6, 33.01), _fmt_pair(61.2, 52.0)
    (('38.0', '37.0'), ('33.6', '33.0'), ('61', '52'))
    """
    plain = _fmt(x, yearish), _fmt(y, yearish)
    diff = abs(x - y)
    if not (math.isfinite(diff) and diff > 0) or (yearish and 1000 <= abs(x) <= 2200):
        return plain
    shown = max(_decimals(x), _decimals(y))
    needed = math.ceil(-math.log10(diff / 2))  # a step of at most half the difference
    if needed <= shown:
        return plain
    d = min(needed, shown + 2)
    return f"{x:,.{d}f}", f"{y:,.{d}f}"


#: Plurals that do not end in -s.
_IRREGULAR_PLURALS = frozenset({"children", "people", "men", "women", "kids", "data"})


def _ratio_text(r: float) -> str:
    """A ratio to the average: "2.3×", "12×"; under 0.1, a share: "3% of", "under 1% of"
    (a bare "0.0×" says nothing)."""
    if r >= 10:
        return f"{r:.0f}×"
    if r >= 0.095:
        return f"{r:.1f}×"
    return f"{r * 100:.0f}% of" if r >= 0.005 else "under 1% of"


#: Words that end the head of a noun phrase: "frequency of SMS" counts a frequency, "web
#: visits per month" visits.
_HEAD_ENDS = frozenset({"of", "per", "at", "in", "on", "for", "from", "to", "with", "by",
                        "since", "during", "over"})


def plural_noun(text: str) -> bool:
    """Whether a noun phrase names things counted in the plural ("web visits per month",
    "children at home"), not a singular ("campaign", "previous", "frequency of SMS": its
    head, before "of", is singular).

    >>> plural_noun("web visits per month"), plural_noun("frequency of SMS"), plural_noun("NPS")
    (True, False, False)
    """
    head: list[str] = []
    for w in text.split():
        if w.lower() in _HEAD_ENDS and head:
            break
        if not w.isupper():  # an acronym ("NPS", "SMS") says no number
            head.append(w.lower())
    return any(w in _IRREGULAR_PLURALS or (w.endswith("s") and not w.endswith(
        ("ss", "us", "is", "ous"))) for w in head)


#: Participles that follow the thing counted ("coupon used", "device registered").
_COUNTED_ACTS = frozenset({"used", "redeemed", "bought", "purchased", "opened", "clicked",
                           "returned", "made", "sent", "received", "booked", "registered",
                           "attended", "viewed", "visited", "placed", "cancelled"})


def counted_things(label: str) -> str:
    """What a count counts, in the plural when its name gives one thing and what was done
    with it ("coupon used" -> "coupons used", "number of device registered" -> "devices
    registered", "number of address" -> "addresses"); the label without "number of "
    otherwise.

    >>> counted_things("coupon used"), counted_things("number of web visits per month")
    ('coupons used', 'web visits per month')
    """
    rest = label.removeprefix("number of ")
    words = rest.split()
    if not words or not words[0].isalpha() or not words[0].islower() or plural_noun(rest):
        return rest
    if len(words) == 2 and words[1] in _COUNTED_ACTS:
        return f"{plural(words[0])} {words[1]}"
    if len(words) == 1 and rest != label:  # "number of address"
        return plural(rest)
    return rest


def _pct(x: float, scale: float) -> str:
    """A share as a percent; ``scale`` 1.0 for values 0-1, 100.0 for 0-100."""
    v = x * (100.0 / scale)
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.0f}%" if abs(v) >= 10 or v == 0 else f"{v:.1f}%".replace(".0%", "%")


def _unit(column: str) -> str:
    """The time unit a tenure column counts in, from its name (days by default)."""
    ws = words(column)
    for unit in ("days", "weeks", "months", "years"):
        if unit in ws or unit[:-1] in ws:
            return unit
    return "days"


def trait_text(column: str, label: str, role: str, mean: float, pop_mean: float,
               ratio: float | None, rate_scale: float | None = None,
               levels: Sequence[str] | None = None) -> str:
    """A trait in words, by role; of ordered levels read as their rank (``levels``, lowest
    first), as mean ranks on the scale they count.

    >>> trait_text("MntWines", "spend on wines", "money", 690.0, 300.0, 2.3)
    'spends 2.3× the average on wines'
    >>> trait_text("NumWebVisitsMonth", "web visits per month", "count", 9.0, 5.0, 1.8)
    '1.8× as many web visits per month'
    >>> trait_text("PRC_FULL_PAYMENT", "share of full payment", "rate", 0.12, 0.35, None)
    'share of full payment 12% vs 35% overall'
    >>> trait_text("campaign", "campaign", "count", 4.0, 2.8, 2.4)
    'campaign 2.4× the average'
    >>> trait_text("PAY_AMT4", "payment amount 4", "money", 12.0, 4800.0, 0.03)
    '3% of the average payment amount 4'
    >>> trait_text("AcceptedCmp3", "accepted campaign 3", "flag", 0.24, 0.07, None)
    'accepted campaign 3: 24% vs 7% overall'
    >>> trait_text("Age", "age", "age", 61.2, 52.0, None)
    'age 61 vs 52 on average'
    >>> trait_text("Time on Website", "time on website", "measure", 38.02, 36.98, 1.03)
    'time on website 38.0 vs 37.0 on average'
    >>> trait_text("Income_Category", "income", "measure", 4.1, 2.4, None,
    ...            levels=["Less than $40K", "$40K - $60K", "$60K - $80K", "$80K - $120K"])
    'income 4.1 vs 2.4 on average, on a scale from Less than $40K (1) to $80K - $120K (4)'
    >>> trait_text("Spending_Score", "spending", "measure", 2.2, 1.6, None,
    ...            levels=["Low", "Average", "Medium", "High"])
    'spending 2.2 vs 1.6 on average, on a scale from Low (1) to High (3)'
    """
    if levels:
        return _level_text(label, mean, pop_mean, levels)
    yearish = "year" in label.lower()
    usable = ratio is not None and math.isfinite(ratio) and round(ratio, 1) != 1.0
    if role == "money" and usable:
        assert ratio is not None
        if label.startswith("spend on "):
            return f"spends {_ratio_text(ratio)} the average on {label[len('spend on '):]}"
        if any(has_word(label, w) for w in _MONEY_NOUNS):  # "the average credit limit"
            return f"{_ratio_text(ratio)} the average {label.removeprefix('average ')}"
        return f"spends {_ratio_text(ratio)} the average on {label}"  # "on frozen", "on milk"
    if role == "count" and usable:
        assert ratio is not None
        rest = counted_things(label)
        if ratio < 0.095 or not plural_noun(rest):
            return f"{rest} {_ratio_text(ratio)} the average"
        return f"{_ratio_text(ratio)} as many {rest}"
    if role in ("rate", "flag"):
        scale = rate_scale or (1.0 if max(abs(mean), abs(pop_mean)) <= 1.0 else 100.0)
        sep = ":" if role == "flag" else ""
        return f"{label}{sep} {_pct(mean, scale)} vs {_pct(pop_mean, scale)} overall"
    if role == "tenure":
        unit = _unit(column)
        segment, everyone = _fmt_pair(mean, pop_mean)
        return f"customers for {segment} {unit} vs {everyone} on average"
    sep = ":" if label[-1:].isdigit() else ""  # "payment delay 2: 2 vs -0.1"
    segment, everyone = _fmt_pair(mean, pop_mean, yearish)
    return f"{label}{sep} {segment} vs {everyone} on average"


def _level_text(label: str, mean: float, pop_mean: float, levels: Sequence[str]) -> str:
    """A trait of ordered levels read as their rank: the two mean ranks and the scale (a
    mean rank says where a segment stands; the level it rounds to would read as the
    typical customer's, which it need not be)."""
    from custseg.column_facts import level_ranks, scale_key

    ranks = level_ranks(levels)
    top = int(max(ranks.values()))
    last = next(v for v in reversed(levels) if ranks[scale_key(v)] == top)
    return (f"{label} {mean:.1f} vs {pop_mean:.1f} on average, on a scale from {levels[0]} "
            f"(1) to {last} ({top})")


def label_stem(label: str) -> str:
    """A label without its trailing numbers: 'bill amount 6' -> 'bill amount'."""
    return re.sub(r"(\s+\d+)+$", "", label).strip() or label


def evidence_of(traits: Sequence[Mapping[str, Any]], n: int = DEFINING_TRAITS) -> list[str]:
    """The texts of the first ``n`` traits that say different things: a trait whose label,
    without its trailing numbers (:func:`label_stem`), is a stronger trait's on the same side
    is said with it instead of taking a line of its own ("payment delay 2: 1.3 vs -0.13 on
    average (likewise payment delay 0, 3 and 4)"), and a second trait of the very same label (two
    columns read as "days since last purchase") is left out.

    >>> t = [{"label": f"bill {i}", "level": "High", "text": f"bill {i} is high"}
    ...      for i in (2, 10, 1)] + [{"label": "age", "level": "Low", "text": "younger"}]
    >>> evidence_of(t)
    ['bill 2 is high (likewise bill 1 and 10)', 'younger']
    """
    kept: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for t in traits:
        kept.setdefault((label_stem(t["label"]), t["level"]), []).append(t)
    out = []
    for (stem, _), same in list(kept.items())[:n]:
        first = same[0]
        others = sorted({t["label"][len(stem):].strip() for t in same[1:]
                         if t["label"] not in (first["label"], stem)}, key=_natural)
        likewise = (f"{stem} {', '.join(others[:-1])} and {others[-1]}" if len(others) > 1
                    else f"{stem} {others[0]}" if others else "")
        out.append(first["text"] + (f" (likewise {likewise})" if likewise else ""))
    return out


def _natural(suffix: str) -> tuple[int, ...]:
    return tuple(int(x) for x in suffix.split())


def is_shown(trait: Mapping[str, Any], evidence: Sequence[str]) -> bool:
    """Whether a trait's text is among the evidence (alone or with its likes)."""
    return any(e == trait["text"] or e.startswith(trait["text"] + " (likewise ")
               for e in evidence)


def traits_of(columns: Sequence[str], z: Mapping[str, float], mean: Mapping[str, float],
            pop_mean: Mapping[str, float], labels: Mapping[str, str],
            roles: Mapping[str, str], rate_scale: Mapping[str, float],
            geometric: Mapping[str, float] | None = None,
            levels: Mapping[str, Sequence[str]] | None = None) -> list[dict[str, Any]]:
    """Traits of one segment; ``geometric`` holds, for log-scaled columns, the ratio of the
    segment's typical (geometric mean) value to everyone's, which agrees in sign with their
    log-scale z; ``levels`` the levels of the columns of ordered levels read as ranks."""
    out = []
    for c in columns:
        if abs(z[c]) < MIN_DISTINCT_Z:
            continue
        m, pm = float(mean[c]), float(pop_mean[c])
        ratio = round(m / pm, 4) if m > 0 and pm > 0 and math.isfinite(m / pm) else None
        if geometric and c in geometric:
            ratio = geometric[c]
        text = trait_text(c, labels[c], roles[c], m, pm, ratio, rate_scale.get(c),
                          (levels or {}).get(c))
        out.append({"feature": c, "label": labels[c], "z": round(float(z[c]), 4),
                    "level": level_of(z[c]), "ratio": ratio, "mean": m,
                    "population_mean": pm, "text": text})
    out.sort(key=lambda t: -abs(t["z"]))
    return out


def basket_leads(p: SegmentProfile, basket: Sequence[str]) -> list[str]:
    """The amounts leading the basket of a segment defined by low amounts: empty unless its
    defining traits are all low amounts of the basket (the amounts bought:
    :attr:`custseg.profiling.recommend.RecommendationContext.basket`) and some other amounts
    are above average (z > :data:`BASKET_LEAD_Z`); strongest first, at most two."""
    defining = [t for t in p.traits if t["feature"] in p.z][:DEFINING_TRAITS]
    if not defining or any(t["level"] != "Low" or t["feature"] not in basket
                           for t in defining):
        return []
    above = [f for f in basket if p.z.get(f, 0.0) > BASKET_LEAD_Z]
    return sorted(above, key=lambda f: -p.z[f])[:2]


def basket_breadth(z: Mapping[str, float], basket: Sequence[str]) -> str | None:
    """"High" (or "Low") when a segment buys more (less) than average across its basket: above
    (below) average on every amount of a basket of at least :data:`MIN_BROAD_BASKET` amounts,
    and High (Low) on at least :data:`BROAD_BASKET_SHARE` of them; None otherwise.

    >>> basket = ["fresh", "milk", "grocery", "frozen"]
    >>> basket_breadth({"fresh": 0.3, "milk": 0.8, "grocery": 0.7, "frozen": 0.1}, basket)
    'High'
    >>> basket_breadth({"fresh": -0.3, "milk": 0.8, "grocery": 0.7, "frozen": 0.9}, basket)
    """
    zs = [z[f] for f in basket if f in z]
    if len(zs) < MIN_BROAD_BASKET:
        return None
    for level, sign in (("High", 1.0), ("Low", -1.0)):
        if all(sign * v > 0 for v in zs) and \
                sum(level_of(v) == level for v in zs) >= BROAD_BASKET_SHARE * len(zs):
            return level
    return None


#: The breadths a segment can have, in the order they are looked for: (rule key, words of
#: the name).  The basket comes first: its amounts are bought, the segment's name says them.
BREADTHS = (("basket", "spend across the basket"), ("activity", "activity across all amounts"))


def breadth(z: Mapping[str, float], basket: Sequence[str], activity: Sequence[str]
            ) -> tuple[str, str, Sequence[str]] | None:
    """(rule key, level, columns) of a segment on one side of the average across its basket,
    else across its amounts of activity (:func:`basket_breadth`); None when neither.  The
    one decision both the name and the rule keys ``basket``/``activity`` follow.

    >>> cols = ["fresh", "milk", "grocery"]
    >>> breadth({"fresh": 0.3, "milk": 0.8, "grocery": 0.7}, cols, cols)[:2]
    ('basket', 'High')
    >>> breadth({"fresh": 0.3, "milk": 0.8, "grocery": 0.7}, [], cols)[:2]
    ('activity', 'High')
    """
    for (key, _), columns in zip(BREADTHS, (basket, activity), strict=True):
        level = basket_breadth(z, columns)
        if level:
            return key, level, columns
    return None


def is_capacity(column: str, label: str, concepts: Mapping[str, Concept]) -> bool:
    """Whether a money column is a capacity (credit limit, income, balance: the concepts of
    :data:`CAPACITY_CONCEPTS`), not activity.

    >>> from custseg.profiling.rules import bundled_concepts
    >>> c = bundled_concepts()
    >>> is_capacity("LIMIT_BAL", "credit limit", c), is_capacity("PAY_AMT1", "payment amount 1", c)
    (True, False)
    """
    return any(concepts[n].matches(column, label) for n in CAPACITY_CONCEPTS if n in concepts)


def leads_text(p: SegmentProfile, leads: Sequence[str]) -> str:
    """The labels of the amounts leading a basket: "fresh and frozen"."""
    return " and ".join(p.labels.get(f) or label_for(f) for f in leads)
