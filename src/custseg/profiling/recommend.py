"""Recommendations: the rule a segment matches, or a generic advice from its traits.

A segment matches a rule when its levels meet all the rule's conditions; among the rules it
matches, a rule on the whole basket (``basket = "High"``: more than average on every amount
bought) wins, then, for a segment defined by risk, a rule on its risk, then the one whose
conditions meet the most High or Low levels, then the one with most conditions, then the one
on the trait furthest from the average, then the first in the file.  A segment whose
defining traits include a risk in its risky direction (heavy cash advances, low full
payment, complaints) is never rewarded or up-sold.  A segment under 2% of customers is to
be reviewed customer by customer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from custseg.profiling.names import yes_rate_lift
from custseg.profiling.rules import (
    MIN_DISTINCT_Z,
    RISK_SAFE_KINDS,
    Concept,
    Rule,
    has_word,
    level_of,
    match_texts,
)
from custseg.profiling.traits import (
    BREADTHS,
    DEFINING_TRAITS,
    basket_leads,
    breadth,
    is_capacity,
    is_shown,
    label_stem,
    leads_text,
    trait_text,
)

if TYPE_CHECKING:
    from custseg.profiling import SegmentProfile

#: The rule keys of a segment's level across its basket (``basket``: "High" when it buys more
#: than average on every amount and High on at least half of them, "Low" likewise) or, when
#: not, across all its amounts of activity (``activity``: bills and payments too, not limits,
#: incomes or balances); see :func:`~custseg.profiling.traits.breadth`.
BREADTH_KEYS = tuple(key for key, _ in BREADTHS)
#: Roles of columns where more is worth more to the business (amounts and counts): the
#: generic recommendation may then ask to lift a low value.
VALUE_ROLES = ("money", "count")


@dataclass
class RecommendationContext:
    """What recommending needs beyond one segment: columns, labels, roles, concepts."""

    features: list[str]
    describe: list[str]
    labels: dict[str, str]
    roles: dict[str, str]
    concepts: dict[str, Concept]
    concept_columns: dict[str, list[str]] = field(default_factory=dict)
    risky: dict[str, str] = field(default_factory=dict)  # column -> risky level
    #: amounts bought (the basket): money features not named like an income, a balance, a
    #: limit, a payment or a bill (the spend concept's exclusions), and not a risk
    basket: list[str] = field(default_factory=list)
    #: amounts of activity: money features not named like a capacity (a limit, an income, a
    #: balance: :data:`~custseg.profiling.traits.CAPACITY_CONCEPTS`) and not a risk; bills
    #: and payments are activity, not a basket
    activity: list[str] = field(default_factory=list)
    #: yes/no columns describing the segments: ``{column: (its yes level, everyone's share
    #: of yes)}``; the rules read them as flags (:meth:`scores`)
    yes_rates: dict[str, tuple[str, float]] = field(default_factory=dict)
    #: 0/1 flags describing the segments: ``{column: everyone's share of 1}``; read like the
    #: yes/no columns
    flag_rates: dict[str, float] = field(default_factory=dict)
    #: ordered levels read as their rank: ``{column: its levels, lowest first}`` (the
    #: traits name the levels)
    level_names: dict[str, list[str]] = field(default_factory=dict)
    #: describing columns that move with a feature: ``{column: feature}``
    #: (:func:`custseg.column_facts.echoes`); their traits are no evidence of their own
    echoes: dict[str, str] = field(default_factory=dict)

    def echoed(self, column: str) -> bool:
        """Whether ``column`` only repeats a feature in the evidence: it moves with it and
        is not its numbered sibling (those are said together: "likewise bill amount 2")."""
        feature = self.echoes.get(column)
        return feature is not None and (label_stem(self.labels.get(column, column))
                                        != label_stem(self.labels.get(feature, feature)))

    def __post_init__(self) -> None:
        for name, concept in self.concepts.items():
            self.concept_columns[name] = self._columns_of(concept)
        for c in [*self.features, *self.describe]:
            for concept in self.concepts.values():
                if concept.risky and concept.matches(c, self.labels[c]):
                    self.risky.setdefault(c, concept.risky)
        spend = self.concepts.get("spend")
        self.basket = [c for c in self.features if self.roles.get(c) == "money"
                       and c not in self.risky
                       and not (spend and spend.excludes(c, self.labels[c]))]
        # an average per order, stay or visit is no amount bought beside the amounts
        # themselves (the total spend and the average order value are not added up)
        totals = [c for c in self.basket if not self.labels[c].startswith("average ")]
        self.basket = totals or self.basket
        self.activity = [c for c in self.features if self.roles.get(c) == "money"
                         and c not in self.risky
                         and not is_capacity(c, self.labels[c], self.concepts)]

    def _columns_of(self, concept: Concept) -> list[str]:
        for pool in (self.features, self.describe):
            hits = [c for c in pool if concept.matches(c, self.labels[c])]
            if not hits and concept.roles:
                hits = [c for c in pool if self.roles.get(c) in concept.roles
                        and not any(has_word(t, k) for t in match_texts(c, self.labels[c])
                                    for k in concept.exclude)]
            if hits:
                return hits
        return []

    def yes_shares(self, p: SegmentProfile) -> dict[str, tuple[float, float]]:
        """``{column: (the segment's share of yes, everyone's)}`` of each yes/no column and
        0/1 flag describing the segments."""
        shares = {c: (float(p.categories.get(c, {}).get(yes, 0.0)), everyone)
                  for c, (yes, everyone) in self.yes_rates.items()}
        shares |= {c: (float(p.mean[c]), everyone) for c, everyone in self.flag_rates.items()
                   if c in p.mean and math.isfinite(p.mean[c])}
        return shares

    def scores(self, p: SegmentProfile) -> dict[str, float]:
        """The segment's z-scores the rules read: its numeric columns', and of each yes/no
        column and describing 0/1 flag the z-score of its share of yes (the difference from
        everyone's share over the flag's standard deviation).  A share of yes that sets the
        segment apart (:func:`~custseg.profiling.names.yes_rate_lift`: 1.3 times everyone's
        or that much smaller, and 2 points away), as the profile shows it, is at least at the
        High or Low level: a rare outcome (6% who leave) twice as common in a segment is
        High, though its z-score stays small."""
        z = dict(p.z)
        for c, (share, everyone) in self.yes_shares(p).items():
            sd = float(np.sqrt(everyone * (1 - everyone)))
            if sd <= 0:
                continue
            score = (share - everyone) / sd
            if yes_rate_lift(share, everyone) is not None:
                score = math.copysign(max(abs(score), MIN_DISTINCT_Z), score)
            z[c] = round(score, 4)
        return z

    def answer_traits(self, p: SegmentProfile, columns: Sequence[str]) -> list[dict[str, Any]]:
        """Traits, as :attr:`SegmentProfile.traits` has them, of the yes/no columns and
        describing flags among ``columns``: the segment's share of yes against everyone's,
        at the level the rules read (:meth:`scores`).  The profile's traits leave out a rare
        answer that sets a segment apart with a small z-score (10% who complain against 7%
        overall); a recommendation resting on it shows it with these."""
        z, shares = self.scores(p), self.yes_shares(p)
        return [{"feature": c, "label": self.labels[c], "z": z[c], "level": level_of(z[c]),
                 "text": trait_text(c, self.labels[c], "flag", *shares[c], None)}
                for c in columns if c in shares and c in z]

    def risky_answers(self, p: SegmentProfile) -> list[str]:
        """The yes/no columns and describing flags named like a risk (churn, default...) on
        which the segment is at the risky level: it is then defined by risk, as by a risky
        trait."""
        z = self.scores(p)
        return [c for c in [*self.yes_rates, *self.flag_rates]
                if c in z and self.risky.get(c) == level_of(z[c])]

    def is_breadth(self, key: str) -> bool:
        """Whether a rule key is a breadth (``basket``, ``activity``) rather than a concept
        a rules file named so."""
        return key in BREADTH_KEYS and key not in self.concepts

    def level(self, key: str, z: Mapping[str, float]) -> str | None:
        """The segment's level on a rule key (a concept, ``basket`` or a plain keyword)."""
        if self.is_breadth(key):
            broad = breadth(z, self.basket, self.activity)
            return broad[1] if broad and broad[0] == key else None
        score = self.z_of(key, z)
        return None if score is None else level_of(score)

    def key_columns(self, key: str) -> list[str]:
        """The columns a rule key reads: a concept's, or a plain keyword's first feature;
        none for a breadth."""
        if self.is_breadth(key):
            return []
        if key in self.concepts:
            return list(self.concept_columns[key])
        hits = [f for f in self.features
                if any(has_word(t, key) for t in match_texts(f, self.labels[f]))]
        return hits[:1]

    def z_of(self, key: str, z: Mapping[str, float]) -> float | None:
        """The segment's z-score on a concept (the mean over its columns) or a plain keyword
        (its first feature); None for a breadth or a key no column matches."""
        cols = self.key_columns(key)
        if not cols:
            return None
        if key in self.concepts:
            return round(float(np.mean([z[c] for c in cols])), 4)
        return float(z[cols[0]])

    def grounds(self, rule: Rule, p: SegmentProfile) -> list[tuple[str, list[str]]]:
        """``[(level, columns)]``: each condition of ``rule`` that ``p`` meets at a High or
        Low level, with the columns it reads: what its recommendation rests on."""
        z = self.scores(p)
        return [(level, self.key_columns(key)) for key in rule.when
                if (level := self.level(key, z)) in ("High", "Low")]

    def targets_risk(self, rule: Rule) -> bool:
        """Whether a rule asks for the risky level of a risk concept."""
        return any(key in self.concepts and self.concepts[key].risky in wanted
                   for key, wanted in rule.when.items())


def _choose_rule(rules: Sequence[Rule], z: Mapping[str, float], ctx: RecommendationContext,
                 risky: bool) -> Rule | None:
    """The rule a segment matches best (None: none), leaving out for a risky segment
    the rules that would reward or up-sell it."""
    best: tuple[bool, bool, int, int, float, int] | None = None
    chosen = None
    for order, rule in enumerate(rules):
        if risky and rule.kind not in RISK_SAFE_KINDS and not ctx.targets_risk(rule):
            continue
        found = [ctx.level(key, z) for key in rule.when]
        if all(lv in wanted for lv, wanted in zip(found, rule.when.values(), strict=True)):
            # a rule on the whole basket first (the segment's name says it), then, for a
            # risky segment, a rule on its risk (40% who left outweigh a low use), then
            # conditions met on a High or Low level (they say what sets the segment apart),
            # then all conditions, then the rule on the trait furthest from the average
            # (the name's order), then the order in the file
            rank = (any(ctx.is_breadth(key) for key in rule.when),
                    risky and ctx.targets_risk(rule),
                    sum(lv != "Mid" for lv in found), len(rule.when),
                    _strength(rule, z, ctx), -order)
            if best is None or rank > best:
                best, chosen = rank, rule
    return chosen


def _strength(rule: Rule, z: Mapping[str, float], ctx: RecommendationContext) -> float:
    """How far from the average the segment is on the rule's keys: the largest |z|, to
    two decimals (closer scores are a tie, left to the order in the file)."""
    scores = [abs(v) for v in (ctx.z_of(key, z) for key in rule.when) if v is not None]
    return round(max(scores), 2) if scores else 0.0


def recommend(p: SegmentProfile, ctx: RecommendationContext,
              rules: Sequence[Rule]) -> tuple[str, str]:
    """(recommendation, kind) for a profiled segment.  When a rule gives it, each condition
    it rests on whose traits are not among the evidence adds its strongest trait to
    ``p.evidence``: a recommendation never rests on a trait the reader is not shown (a
    segment named by its rating and age, told it buys rarely, sees "frequency of purchases
    1.9 vs 2.8 on average" beside it)."""
    if p.outlier_group:
        return (f"Outlier group ({p.size:,} customers, {p.share:.1%}): review these customers "
                "individually (exceptional accounts or data errors) rather than run a "
                "campaign for them.", "review")
    feature_traits = [t for t in p.traits if t["feature"] in ctx.features]
    chosen = _choose_rule(rules, ctx.scores(p), ctx, p.defined_by_risk)
    if chosen is not None:
        for level, columns in ctx.grounds(chosen, p):
            shown = ([t for t in p.traits if t["feature"] in columns]
                     or ctx.answer_traits(p, columns))
            if not any(is_shown(t, p.evidence) for t in shown):  # its strongest trait
                p.evidence += [t["text"] for t in shown if t["level"] == level][:1]
            p.grounds += [t["feature"] for t in shown if t["level"] == level][:1]
        return chosen.recommendation, chosen.kind or "custom"
    if p.defined_by_risk:
        risk = next((t["text"] for t in p.traits[:DEFINING_TRAITS]
                     if ctx.risky.get(t["feature"]) == t["level"]), None)
        what = risk or ", ".join(ctx.labels[c] for c in ctx.risky_answers(p))
        return (f"Defined by risk ({what}): review their credit exposure and offer "
                "payment plans and reminders; no limit increases, upgrades or rewards.",
                "risk")
    if not ctx.features:
        return ("Defined by its categories (see its profile): tailor the offer and the channel "
                "to them.", "generic")
    if not feature_traits:
        return ("Close to the average customer: standard communication; test offers that "
                "could move them to a more valuable segment.", "nurture")
    top = feature_traits[0]
    if ctx.roles.get(top["feature"]) not in VALUE_ROLES:
        # a score, a status, an age: whether more is better is not known here
        return (f"Stands out by {top['level'].lower()} {top['label']} ({top['text']}): check "
                "with the business what this means for them, then tailor the message and "
                "the channel to it.", "generic")
    if top["level"] == "High":
        return (f"Stands out by high {top['label']} ({top['text']}): build offers around it "
                "and test which ones lift their value.", "generic")
    low_money = [t for t in feature_traits[:DEFINING_TRAITS]
                 if t["level"] == "Low" and t["feature"] in ctx.basket]
    other_money = [f for f in ctx.basket
                   if f not in {t["feature"] for t in low_money} and p.z.get(f, 0.0) > -0.5]
    if low_money and other_money:
        # they buy, but little of these: a gap in the basket, not a small customer
        what = " and ".join(t["label"] for t in low_money[:2])
        leads = basket_leads(p, ctx.basket)
        mostly = f"mostly {leads_text(p, leads)} but " if leads else ""
        return (f"They buy {mostly}little {what} "
                f"({'; '.join(t['text'] for t in low_money[:2])}) "
                "although the rest of their basket is average or above: cross-sell these "
                "(bundles, samples, an introductory discount) and ask whether they buy them "
                "elsewhere.", "upsell")
    return (f"Stands out by low {top['label']} ({top['text']}): find out why, and test "
            "targeted offers to lift it.", "generic")
