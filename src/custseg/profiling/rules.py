"""The rule table of recommendations: levels, business concepts and rules.

A rule table (``data/rules.toml``, replaceable by the user's own file) declares *concepts*
(spend, income, frequency, recency, contacts, tenure, risk, payment, complaints, response, visits,
deals) recognised in column names, and *rules* keyed on the levels (Low, Mid, High) of
concepts or plain keywords, each with a recommendation and its kind; see the header of
``data/rules.toml``.  Levels follow the z-score of a segment's mean against the population:
High when z >= +0.5, Low when z <= -0.5, Mid otherwise.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from custseg.errors import UsageError
from custseg.labels import words

LEVELS = ("Low", "Mid", "High")
#: |z| from which a column sets a segment apart (and its level is High or Low).
MIN_DISTINCT_Z = 0.5
#: Recommendation kinds a rule may declare.
KINDS = ("reward", "upsell", "retain", "winback", "risk", "nurture", "discount", "service")
#: The only kinds a segment defined by risk may get from a rule.
RISK_SAFE_KINDS = frozenset({"risk", "service", "retain"})
#: Feature roles the trait texts know (see the contract of :mod:`custseg.roles`).
ROLES = ("count", "money", "rate", "flag", "measure", "age", "tenure")


def level_of(z: float) -> str:
    """High for z >= 0.5, Low for z <= -0.5, else Mid.

    >>> level_of(0.5), level_of(-0.49), level_of(-0.5)
    ('High', 'Mid', 'Low')
    """
    if z >= MIN_DISTINCT_Z:
        return "High"
    if z <= -MIN_DISTINCT_Z:
        return "Low"
    return "Mid"


@dataclass(frozen=True)
class Concept:
    """A business concept recognised in column names (see ``data/rules.toml``)."""

    name: str
    keywords: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    risky: str | None = None

    def matches(self, column: str, label: str) -> bool:
        """Whether a column (raw name and readable label) belongs to the concept."""
        texts = match_texts(column, label)
        return (any(has_word(t, k) for t in texts for k in self.keywords)
                and not self.excludes(column, label))

    def excludes(self, column: str, label: str) -> bool:
        """Whether a column is named like something the concept is not."""
        return any(has_word(t, k) for t in match_texts(column, label) for k in self.exclude)


@lru_cache(maxsize=8192)
def _word_re(keyword: str) -> re.Pattern[str]:
    kw = r"\s+".join(re.escape(w) for w in keyword.lower().split())
    return re.compile(rf"(?<![a-z0-9]){kw}(?:s|es|ed|d|ing|ts|ly)?(?![a-z0-9])")


def has_word(text: str, keyword: str) -> bool:
    """Whether ``text`` holds ``keyword`` as a word (plurals and -ed, -ing forms too)."""
    return bool(keyword.strip()) and _word_re(keyword).search(text) is not None


@lru_cache(maxsize=65536)
def match_texts(column: str, label: str) -> tuple[str, str]:
    """The texts a keyword is looked for in: the label, and the words of the name."""
    return label.lower(), " ".join(words(column))


@dataclass
class Rule:
    """One rule: the levels it asks for (by concept or keyword), its recommendation and
    its kind."""

    when: dict[str, tuple[str, ...]]
    recommendation: str
    kind: str = ""


class RuleTable(list[Rule]):
    """The rules of a table, in file order, with the table's concepts in ``concepts``."""

    concepts: dict[str, Concept]

    def __init__(self, rules: Sequence[Rule] = (),
                 concepts: Mapping[str, Concept] | None = None) -> None:
        super().__init__(rules)
        self.concepts = dict(concepts or {})


@lru_cache(maxsize=1)
def _bundled_table() -> dict[str, Any]:
    """The bundled rules.toml, parsed once (13 ms a parse); read, never changed."""
    return tomllib.loads((resources.files("custseg") / "data" / "rules.toml").read_text("utf-8"))


def _read_table(path: str | Path | None) -> tuple[dict[str, Any], str]:
    if path is None:
        return _bundled_table(), "bundled rules.toml"
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise UsageError(f"`rules`: cannot read {path}: {exc}", "rules") from exc
    where = str(path)
    try:
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"`rules`: {where} is not valid TOML: {exc}", "rules") from exc


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsageError(f"rule table {where}: {what} must be a list of non-empty strings",
                         "rules")
    return tuple(v.strip().lower() for v in value)


def _parse_concepts(data: dict[str, Any], where: str) -> dict[str, Concept]:
    raw = data.get("concepts", {})
    if not isinstance(raw, dict):
        raise UsageError(f"rule table {where}: [concepts] must be a table of concepts",
                         "rules")
    concepts = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise UsageError(f"rule table {where}: concept {name!r} must be a table with "
                             "'keywords'", "rules")
        keywords = _strings(spec.get("keywords"), f"the keywords of concept {name!r}", where)
        if not keywords:
            raise UsageError(f"rule table {where}: concept {name!r} needs 'keywords'",
                             "rules")
        risky = spec.get("risky")
        if risky is not None and risky not in ("High", "Low"):
            raise UsageError(f"rule table {where}: the risky direction of concept {name!r} "
                             f"is {risky!r}, not 'High' or 'Low'", "rules")
        roles = _strings(spec.get("roles"), f"the roles of concept {name!r}", where)
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise UsageError(f"rule table {where}: concept {name!r}: role {bad[0]!r} is not "
                             f"one of {list(ROLES)}", "rules")
        key = str(name).lower()
        concepts[key] = Concept(key, keywords,
                                _strings(spec.get("exclude"), f"the exclusions of {name!r}",
                                         where), roles, risky)
    return concepts


def load_rules(path: str | Path | None = None) -> RuleTable:
    """Read a rule table (TOML, see ``data/rules.toml``); the bundled one by default.

    A table of one's own replaces the bundled rules but keeps the bundled concepts (its own
    ``[concepts]`` add to them or redefine them).

    >>> rules = load_rules()
    >>> rules[0].when, rules[0].kind
    ({'income': ('High',), 'spend': ('High',)}, 'reward')
    >>> sorted(rules.concepts)[:4]
    ['adoption', 'attendance', 'capacity', 'churn']
    """
    data, where = _read_table(path)
    concepts = _parse_concepts(data, where)
    if path is not None:
        concepts = {**bundled_concepts(), **concepts}
    rules = []
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise UsageError(f"`rules`: {where}: rules are [[rule]] entries", "rules")
    for i, raw in enumerate(raw_rules, start=1):
        when = raw.get("when")
        rec = raw.get("recommendation")
        if not isinstance(when, dict) or not when or not isinstance(rec, str):
            raise UsageError(f"`rules`: rule {i} in {where} needs a non-empty 'when' table and "
                             "a 'recommendation' string", "rules")
        conds: dict[str, tuple[str, ...]] = {}
        for key, level in when.items():
            levels = (level,) if isinstance(level, str) else tuple(level)
            bad = [lv for lv in levels if lv not in LEVELS]
            if bad:
                raise UsageError(f"`rules`: rule {i} in {where}: level {bad} for {key!r} is not "
                                 f"one of {list(LEVELS)}", "rules")
            conds[str(key).lower()] = levels
        kind = raw.get("kind", "")
        if kind and kind not in KINDS:
            raise UsageError(f"rule table {where}: rule {i}: kind {kind!r} is not one of "
                             f"{list(KINDS)}", "rules")
        rules.append(Rule(conds, rec, kind))
    return RuleTable(rules, concepts)


@lru_cache(maxsize=1)
def bundled_concepts() -> dict[str, Concept]:
    """The concepts of the bundled rule table (read once)."""
    data, where = _read_table(None)
    return _parse_concepts(data, where)
