"""Segment names.

Names use readable labels (:mod:`custseg.labels`).  With at most three segmentation features
a name gives the level of each, in the order of the features ("Low income · High spending");
with more, the (up to) two features that set the segment apart most ("High spend on wines ·
Low web visits per month"), numeric features before flags, and "Close to average" when none
reaches 0.5; then the trait the recommendation rests on when those two do not give it
(:attr:`SegmentProfile.grounds`: a segment told "long-standing customers" shows its length
of membership).  A segment above (below) average on every amount it buys and High (Low) on
at least half of them is "High spend across the basket"
(:func:`~custseg.profiling.traits.breadth`), followed by what else sets it apart;
likewise across all amounts of activity (bills and payments too, not limits or incomes):
"Low activity across all amounts".
Names are unique: a segment whose name is taken adds its next distinguishing trait.  A
categorical level enters a name when the segment holds it at least 75% of the time and 1.3
times as often as all customers.  A segment under 2% of customers is an outlier
group ("Outlier group: ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from custseg.labels import label_for
from custseg.profiling.rules import MIN_DISTINCT_Z
from custseg.profiling.traits import (
    BREADTHS,
    basket_leads,
    breadth,
    counted_things,
    label_stem,
    leads_text,
    plural_noun,
)

if TYPE_CHECKING:
    from custseg.profiling import SegmentProfile

#: Traits of a name before uniqueness asks for more.
NAME_TRAITS = 2
#: Share of a segment that must hold a categorical level for it to appear in the name.
CATEGORY_NAME_SHARE = 0.75
#: ... and it is this many times as common as among all customers.
CATEGORY_LIFT = 1.3
#: The pairs of levels of a yes/no column (compared in lower case), the yes first.
YES_NO = (("yes", "no"), ("y", "n"), ("true", "false"), ("t", "f"))
#: A yes/no column sets a segment apart when its share of yes is :data:`CATEGORY_LIFT` times
#: everyone's, or that many times smaller, and at least this far from it (2 points).
YES_RATE_GAP = 0.02


def yes_level(levels: Iterable[str], says_yes: Callable[[str], bool] | None = None
              ) -> str | None:
    """The level that says yes of a yes/no column (its levels, "missing" aside, are one of
    the pairs of :data:`YES_NO`, in any case), or of a two-level column where ``says_yes``
    holds for one level only ("Attrited Customer" against "Existing Customer" in an
    attrition column); None for any other column.

    >>> yes_level(["no", "yes", "missing"]), yes_level(["N", "Y"]), yes_level(["F", "M"])
    ('yes', 'Y', None)
    >>> yes_level(["Existing Customer", "Attrited Customer"], lambda lv: "Attrited" in lv)
    'Attrited Customer'
    """
    present = {str(lv).strip().lower(): str(lv) for lv in levels if lv != "missing"}
    for yes, no in YES_NO:
        if set(present) == {yes, no}:
            return present[yes]
    if says_yes is not None and len(present) == 2:
        hits = [lv for lv in present.values() if says_yes(lv)]
        if len(hits) == 1:
            return hits[0]
    return None


def yes_rate_lift(share: float, population: float) -> float | None:
    """The lift of a segment's share of yes over everyone's when it sets the segment apart
    (:data:`YES_RATE_GAP`), else None: 23% against 12% is notable, and so is 2%.

    >>> yes_rate_lift(0.23, 0.117), yes_rate_lift(0.02, 0.117), yes_rate_lift(0.13, 0.117)
    (1.97, 0.17, None)
    """
    if population <= 0 or abs(share - population) < YES_RATE_GAP:
        return None
    lift = share / population
    return round(lift, 2) if lift >= CATEGORY_LIFT or lift <= 1 / CATEGORY_LIFT else None


def lifted_levels(mix: Mapping[str, float], population: Mapping[str, float],
                   min_share: float) -> list[tuple[str, float, float]]:
    """(level, share, lift) of the levels held by at least ``min_share`` of the segment and
    at least :data:`CATEGORY_LIFT` times as often as overall; most common first."""
    found = []
    for level, share in mix.items():
        pop = population.get(level, 0.0)
        if level == "missing" or pop <= 0:
            continue
        lift = share / pop
        if share >= min_share and lift >= CATEGORY_LIFT:
            found.append((level, float(share), float(lift)))
    return sorted(found, key=lambda t: -t[1])


def _same_start(a: str, b: str) -> bool:
    """Whether one label starts with all the words of the other."""
    wa, wb = a.split(), b.split()
    n = min(len(wa), len(wb))
    return n > 0 and wa[:n] == wb[:n]


#: A customer's age (the role ``age``, labelled "age") in plain words.
AGE_WORDS = {"High": "Older", "Mid": "Middle-aged", "Low": "Younger"}
#: A count of things named in the plural (children, web visits per month, "number of web
#: purchases") in plain words: "Many web purchases".
COUNT_WORDS = {"High": "Many", "Low": "Few"}
#: The time since a customer's last purchase (a label "recency", "days since last order",
#: "time since last purchase") in plain words: a short time is recent.
#: (High: "Long since last purchase", "... order", "... login": said with the event.)
RECENCY_WORDS = {"Mid": "Fairly recent", "Low": "Recent"}
#: The last events that are a purchase: "Recent" alone says it (the name of a segment of
#: recent logins says "Recent login").
PURCHASE_EVENTS = frozenset({"purchase", "order", "transaction", "invoice", "buy",
                             "booking", "visit"})
_SINCE_LAST = re.compile(r"^(?:days?|weeks?|months?|years?|hours?|time) since (?:the )?"
                         r"(?:last|latest|most recent) ([a-z]+)")
#: A label that says what the customer does ("uses app", "shops online": a never-to-always
#: level, or a how-often score) reads with how often: "Often uses app", not "High uses app".
DOING_VERBS = frozenset({"uses", "buys", "shops", "opens", "reads", "watches", "recommends",
                         "travels", "eats", "streams"})


def recency_words(label: str, level: str) -> str | None:
    """A level of the time since a customer's last event (its label: "recency", "days since
    last purchase", "day since last order", "time since last login") in plain words; None
    for any other label.

    >>> recency_words("days since last purchase", "Low"), recency_words("recency", "High")
    ('Recent', 'Long since last purchase')
    >>> recency_words("day since last order", "High"), recency_words("time since last login",
    ...                                                                  "Low")
    ('Long since last order', 'Recent login')
    >>> recency_words("days since previous contact", "Low") is None
    True
    """
    hit = _SINCE_LAST.match(label.lower())
    if hit is None and label.lower() not in ("recency", "recency days"):
        return None
    event = hit.group(1) if hit else "purchase"
    if event.endswith("s") and event[:-1] in PURCHASE_EVENTS:
        event = event[:-1]
    if level == "High":
        return f"Long since last {event}"
    return RECENCY_WORDS[level] + ("" if event in PURCHASE_EVENTS else f" {event}")


def _part(p: SegmentProfile, f: str, roles: Mapping[str, str], group: bool = False) -> str:
    """One part of a name: "High income", "Often accepted campaign 3"."""
    level, label = p.levels[f], p.labels.get(f) or label_for(f)
    if group:
        label = label_stem(label)
    doing = (len(label.split()) >= 2 and label.split()[0] in DOING_VERBS
             and roles.get(f) != "count")
    if (roles.get(f) == "flag" or doing) and level != "Mid":
        return f"{'Often' if level == 'High' else 'Rarely'} {label}"
    if roles.get(f) == "age" and label == "age":  # "Older", not "High age"
        return AGE_WORDS[level]
    recency = recency_words(label, level)
    if recency is not None:  # "Recent", not "Low days since last purchase"
        return recency
    things = counted_things(label)
    if roles.get(f) == "count" and level in COUNT_WORDS and plural_noun(things):
        return f"{COUNT_WORDS[level]} {things}"  # "Many children", not "High children"
    return f"{level} {label}"


def _category_parts(p: SegmentProfile, categorical: list[str],
                    pop_shares: Mapping[str, Mapping[str, float]]) -> list[str]:
    """The categorical levels that enter a segment's name."""
    parts = []
    for c in categorical:
        lifted = lifted_levels(p.categories.get(c, {}), pop_shares.get(c, {}),
                                CATEGORY_NAME_SHARE)
        if lifted:
            level, label = lifted[0][0], p.labels.get(c) or label_for(c)
            yes = yes_level(pop_shares.get(c, {}))
            if yes is not None:  # a yes/no column reads as a flag: "Often housing"
                parts.append(f"{'Often' if level == yes else 'Rarely'} {label}")
            else:
                parts.append(level if not level.replace(".", "").isdigit()
                             else f"{label} {level}")
    return parts


def _name_parts(p: SegmentProfile, features: list[str], categorical: list[str],
                roles: Mapping[str, str], pop_shares: Mapping[str, Mapping[str, float]],
                basket: Sequence[str] = (), activity: Sequence[str] = ()
                ) -> tuple[list[str], list[str]]:
    """(the parts of a segment's name, further parts to add when the name is taken)."""
    cat_parts = _category_parts(p, categorical, pop_shares)
    marked = [t["feature"] for t in p.traits if t["feature"] in features]
    plain = [f for f in marked if roles.get(f) != "flag"]
    flags = [f for f in marked if roles.get(f) == "flag"]
    # flags name a segment only when they are its strongest difference
    order = [marked[0], *plain, *flags[1:]] if flags and marked[0] == flags[0] \
        else [*plain, *flags]
    if not features:
        base, more = cat_parts or ["Mixed customers"], []
    elif len(features) <= 3:
        base, more = [_part(p, f, roles) for f in features] + cat_parts, []
    else:
        # numbered siblings (bill amount 1..6) on the same side are named once, by their stem
        # and a label that starts like one already named ("cash advance transactions" after
        # "cash advance") waits for uniqueness to ask for it
        stems: dict[tuple[str, str], list[str]] = {}
        for f in order:
            stem = label_stem(p.labels.get(f) or label_for(f))
            stems.setdefault((stem, p.levels[f]), []).append(f)
        grouped, alike, named = [], [], []
        group_of: dict[str, str] = {}  # each feature -> the one its part is named by
        for (stem, level), fs in stems.items():
            starts_alike = any(lv == level and _same_start(stem, s) for s, lv in named)
            (alike if starts_alike else grouped).append((fs[0], len(fs) > 1))
            group_of.update((f, fs[0]) for f in fs)
            if not starts_alike:
                named.append((stem, level))
        grouped += alike
        broad = breadth(p.z, basket, activity)
        parts = [_part(p, f, roles, g) for f, g in grouped]
        part_of = {f: x for (f, _), x in zip(grouped, parts, strict=True)}
        if broad:
            # more (less) on every amount says it in one part, then what else sets the
            # segment apart; its amounts wait for uniqueness to ask for them
            key, level, columns = broad
            others = [x for (f, _), x in zip(grouped, parts, strict=True) if f not in columns]
            base = [f"{level} {dict(BREADTHS)[key]}", *others[:NAME_TRAITS - 1]]
        else:
            columns = []
            base = parts[:NAME_TRAITS] or ["Close to average"]
        leads = basket_leads(p, basket)
        if leads:
            base.insert(0, f"Mostly {leads_text(p, leads)}")
        base += _grounds_part(p, group_of, part_of, base, [*columns, *leads])
        base += cat_parts
        more = [x for x in parts if x not in base]
    more += [_part(p, t["feature"], roles) for t in p.traits if t["feature"] not in features]
    more += [v["level"] for c, v in p.notable_categories.items()
             if c not in categorical and not v["level"].replace(".", "").isdigit()
             and not v.get("yes")]
    for f in sorted(features, key=lambda f: -abs(p.z[f])):
        if 0 < abs(p.z[f]) < MIN_DISTINCT_Z:
            more.append(f"Slightly {'higher' if p.z[f] > 0 else 'lower'} "
                        f"{p.labels.get(f) or label_for(f)}")
    return base, [m for m in dict.fromkeys(more) if m not in base]


def _grounds_part(p: SegmentProfile, group_of: Mapping[str, str], part_of: Mapping[str, str],
                  base: Sequence[str], said: Sequence[str]) -> list[str]:
    """The part naming the trait the recommendation rests on (:attr:`SegmentProfile.grounds`)
    when the name does not say it yet (at most one part): a segment named by its app use
    alone and told "long-standing customers: thank them for their loyalty" shows its
    length of membership too.  ``said``: the columns a part of ``base`` already speaks for
    (the basket's, the leads')."""
    for f in p.grounds:
        part = part_of.get(group_of.get(f, ""))
        if part is not None and part not in base and f not in said:
            return [part]
    return []


def name_segments(profiles: list[SegmentProfile], features: list[str],
                   categorical: list[str] | None = None,
                   roles: Mapping[str, str] | None = None,
                   pop_shares: Mapping[str, Mapping[str, float]] | None = None,
                   basket: Sequence[str] = (), activity: Sequence[str] = ()) -> None:
    """Give each profile a unique name (the largest segment keeps the plain one)."""
    categorical = categorical or []
    roles = roles or {}
    pop_shares = pop_shares or {}
    used: set[frozenset[str]] = set()  # names as sets of parts: "A · B" is "B · A"
    # the largest segment keeps the plain name; a later one with the same name adds its
    # next distinguishing trait
    for p in sorted(profiles, key=lambda p: -p.size):
        parts, more = _name_parts(p, features, categorical, roles, pop_shares, basket,
                                  activity)
        while frozenset(parts) in used and more:
            parts.append(more.pop(0))
        if frozenset(parts) in used:  # nothing else separates them
            n = 2
            while frozenset([*parts, f"({n})"]) in used:
                n += 1
            parts.append(f"({n})")
        used.add(frozenset(parts))
        name = " · ".join(parts[:-1]) + f" {parts[-1]}" if parts[-1].startswith("(") \
            else " · ".join(parts)
        p.name = f"Outlier group: {name}" if p.outlier_group else name
