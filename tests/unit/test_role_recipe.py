"""The recipe "where do I add a new column role" (custseg.roles, module doc) tried on a toy role.

The toy role ``nps``: a net promoter score (a 0-10 answer to "how likely are you to
recommend us?", in a column named like ``nps`` or ``promoter``) describes the segments
rather than drives them.  Adding it is one entry in ``ROLE_TABLE`` and one rule in
``NUMERIC_RULES``; the test adds both (undone at its end by ``monkeypatch``) and shows the
role taking effect through the public API: the fitted ``Segmenter``'s column decisions and
features, a user override, and the summary's JSON Schema.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg import Segmenter, roles
from custseg.roles import ColumnFacts, Role, RoleRule, parse_role_overrides
from custseg.summary import summary_schema

NPS = Role("nps", "a 0-10 net promoter score", "describe", numeric=True)


def _nps(facts: ColumnFacts) -> str | None:
    """A 0-10 whole-number answer in a column named like a net promoter score."""
    named = {"nps", "promoter"} & set(facts.words)
    if named and facts.whole and facts.lo >= 0 and facts.hi <= 10:
        return f"answers {facts.span} named like a net promoter score"
    return None


def _table(n: int = 120) -> pd.DataFrame:
    rng = np.random.RandomState(0)
    group = rng.randint(3, size=n)
    return pd.DataFrame({
        "customer_id": np.arange(1, n + 1),
        "Income": np.round(rng.normal(30_000 + 20_000 * group, 3_000)),
        "Visits": rng.poisson(2 + 4 * group),
        "NPS_answer": rng.randint(0, 11, size=n),
    })


def _decision(seg: Segmenter, column: str) -> roles.ColumnDecision:
    return next(d for d in seg.column_decisions_ if d.column == column)


@pytest.fixture
def nps_role(monkeypatch: pytest.MonkeyPatch) -> Role:
    """The recipe: the role's entry, and its rule placed before the first count rule (an
    answer 0-10 would otherwise be a count)."""
    monkeypatch.setitem(roles.ROLE_TABLE, NPS.name, NPS)
    rules = list(roles.NUMERIC_RULES)
    at = next(i for i, r in enumerate(rules) if r.role == "count")
    rules.insert(at, RoleRule(NPS.name, _nps))
    monkeypatch.setattr(roles, "NUMERIC_RULES", rules)
    return NPS


def _fit() -> Segmenter:
    return Segmenter(k=3, random_state=0).fit(_table())


def test_without_the_role_the_answer_is_a_feature() -> None:
    seg = _fit()
    assert _decision(seg, "NPS_answer").role == "measure"  # a score: "NPS 8 vs 6.8"
    assert "NPS_answer" in seg.features_
    assert "nps" not in summary_schema()["properties"]["columns"]["items"]["properties"][
        "role"]["enum"]


@pytest.mark.usefixtures("nps_role")
def test_the_toy_role_takes_effect_through_the_public_api() -> None:
    seg = _fit()
    d = _decision(seg, "NPS_answer")
    assert (d.role, d.use) == ("nps", "describe")
    assert d.reason.startswith("answers 0 to 10 named like a net promoter score")
    assert "NPS_answer" not in seg.features_
    assert set(seg.features_) == {"Income", "Visits"}
    # the segments are still described by it (a describing numeric column: z and level)
    assert all("NPS_answer" in s.z for s in seg.segments_)
    # a user may give the role (it is overridable), and the summary's schema knows it
    assert parse_role_overrides(["Score=nps"]) == {"Score": "nps"}
    role = summary_schema()["properties"]["columns"]["items"]["properties"]["role"]
    assert role["enum"][-1] == "nps"


@pytest.mark.usefixtures("nps_role")
def test_a_column_the_rule_does_not_take_keeps_its_role() -> None:
    table = _table().rename(columns={"NPS_answer": "Rating"})  # not named like an NPS
    seg = Segmenter(k=3, random_state=0).fit(table)
    assert _decision(seg, "Rating").role != "nps"
