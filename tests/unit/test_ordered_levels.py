"""Text levels of an ordered scale (Low < Average < High, Bronze < Silver < Gold) are read as
their rank, a feature, in the fit and when scoring (custseg.column_facts.ordered_levels,
the ``levels`` derivation of custseg.roles)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import invoke
from custseg import Segmenter
from custseg.column_facts import level_ranks, ordered_levels


@pytest.mark.parametrize(("values", "expected"), [
    (["High", "Low", "Average", None, "Low"], ["Low", "Average", "High"]),
    (["medium", "very high", "low"], ["low", "medium", "very high"]),
    (["Gold", "silver", "Platinum", "Bronze"], ["Bronze", "silver", "Gold", "Platinum"]),
    (["Never", "Often", "Sometimes", "Always"], ["Never", "Sometimes", "Often", "Always"]),
    (["Poor", "Good", "Excellent", "Fair"], ["Poor", "Fair", "Good", "Excellent"]),
    (["Strongly_Agree", "Neutral", "Disagree"], ["Disagree", "Neutral", "Strongly_Agree"]),
    (["Basic", "Premium", "Standard"], ["Basic", "Standard", "Premium"]),
    (["Weekly", "Annually", "Every 3 Months", "Bi-Weekly", "Monthly"],
     ["Annually", "Every 3 Months", "Monthly", "Bi-Weekly", "Weekly"]),
    # numeric bands, a missing-value marker left out
    (["$60K - $80K", "Less than $40K", "Unknown", "$120K +", "$40K - $60K"],
     ["Less than $40K", "$40K - $60K", "$60K - $80K", "$120K +"]),
    (["46+", "18-25", "36-45", "26-35"], ["18-25", "26-35", "36-45", "46+"]),
    (["More than 3 years", "Under 1 year", "1-3 years"],
     ["Under 1 year", "1-3 years", "More than 3 years"]),
    (["Low", "Medium", "N/A", "High"], ["Low", "Medium", "High"]),
    (["1", "2", "3"], None),  # bare numbers: codes
    (["Cat_1", "Cat_2", "Cat_3"], None),
    (["Low", "High"], None),  # two levels: a yes/no, a category
    (["Low", "High", "Other"], None),  # a level off the scale
    (["Low", "Medium", "Gold"], None),  # two scales
    (["Female", "Male"], None),
    (["North", "South", "East"], None),
])
def test_ordered_levels(values: list[str | None], expected: list[str] | None) -> None:
    assert ordered_levels(pd.Series(values, dtype=object)) == expected


def test_synonyms_share_a_rank_and_ranks_follow_the_levels_present() -> None:
    # "very low" absent: Low is 1; "Average" and "medium" are one rank
    assert level_ranks(["Low", "Average", "medium", "High"]) == {
        "low": 1.0, "average": 2.0, "medium": 2.0, "high": 3.0}


def car_like(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Shaped like the car-maker's segmentation table: the spending score in words drives
    one group apart."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    spend = np.where(group == 2, "High", np.where(rng.random(n) < 0.7, "Low", "Average"))
    return pd.DataFrame({
        "ID": np.arange(460_000, 460_000 + n),
        "Gender": rng.choice(["Male", "Female"], n),
        "Age": np.round(np.where(group == 0, rng.normal(30, 5, n), rng.normal(60, 8, n))),
        "Spending_Score": spend,
        "Family_Size": rng.integers(1, 7, n).astype(float),
    })


@pytest.fixture(scope="module")
def car() -> pd.DataFrame:
    return car_like()


@pytest.fixture(scope="module")
def fitted(car: pd.DataFrame) -> Segmenter:
    return Segmenter(random_state=0).fit(car)


def test_levels_are_a_feature_read_as_their_rank(car: pd.DataFrame, fitted: Segmenter
                                                 ) -> None:
    dec = {d.column: d for d in fitted.column_decisions_}
    assert (dec["Spending_Score"].role, dec["Spending_Score"].use) == ("level", "feature")
    assert dec["Spending_Score"].reason == (
        "ordered levels; read as their rank: Low = 1, Average = 2, High = 3")
    assert (dec["Gender"].role, dec["Gender"].use) == ("category", "describe")
    assert "Spending_Score" in fitted.features_
    [derived] = [d for d in fitted.derivations_ if d.kind == "levels"]
    assert (derived.name, derived.source, derived.reference) == (
        "Spending_Score", "Spending_Score", "Low|Average|High")
    # the segment of the high spenders is named by it, and its trait gives the scale
    names = [s.name for s in fitted.segments_]
    assert any("High spending" in name for name in names), names
    texts = [t["text"] for s in fitted.segments_ for t in s.traits
             if t["feature"] == "Spending_Score"]
    assert texts and all(t.startswith("spending ") and t.endswith(
        "on average, on a scale from Low (1) to High (3)") for t in texts), texts


def test_levels_are_ranked_again_when_scoring(car: pd.DataFrame, fitted: Segmenter) -> None:
    np.testing.assert_array_equal(fitted.predict(car), fitted.labels_)
    # spelt otherwise: the same rank
    respelt = car.assign(Spending_Score=car["Spending_Score"].str.upper() + " ")
    np.testing.assert_array_equal(fitted.predict(respelt), fitted.labels_)
    # a level the fit never saw reads as missing (then imputed), as an empty cell does
    unseen = car.head(5).assign(Spending_Score=["Very High", "Gold", None, "Low", "High"])
    empty = unseen.assign(Spending_Score=[None, None, None, "Low", "High"])
    np.testing.assert_array_equal(fitted.predict(unseen), fitted.predict(empty))


def test_a_category_given_or_features_given_keep_the_text(car: pd.DataFrame) -> None:
    given = Segmenter(random_state=0, column_roles={"Spending_Score": "category"}).fit(car)
    dec = {d.column: d for d in given.column_decisions_}["Spending_Score"]
    assert (dec.role, dec.use) == ("category", "describe")
    assert "Spending_Score" not in given.features_
    named = Segmenter(random_state=0, features=["Age", "Family_Size"]).fit(car)
    dec = {d.column: d for d in named.column_decisions_}["Spending_Score"]
    assert (dec.role, dec.use) == ("category", "describe")


def test_segment_then_score_through_the_cli(car: pd.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "Train.csv"
    car.to_csv(data, index=False)
    res = invoke("segment", str(data), "--out", str(tmp_path / "out"), "--quiet")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    assert "Spending_Score" in summary["features"]
    assert {"name": "Spending_Score", "source": "Spending_Score", "kind": "levels",
            "reference": "Low|Average|High", "dayfirst": False} in summary["derived"]
    report = (tmp_path / "out" / "report.html").read_text("utf-8")
    assert "Spending_Score <span class=\"sub\">(feature: its levels ranked)</span>" in report
    new = tmp_path / "new.csv"
    car.head(20).assign(Spending_Score=car["Spending_Score"].head(20).str.lower()).to_csv(
        new, index=False)
    res = invoke("score", str(tmp_path / "out" / "model"), str(new), "--out",
                 str(tmp_path / "scores.csv"), "--quiet")
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(tmp_path / "scores.csv")
    segments = pd.read_csv(tmp_path / "out" / "segments.csv").head(20)
    assert scored["segment"].tolist() == segments["segment"].tolist()


def test_levels_missing_for_most_customers_describe(car: pd.DataFrame) -> None:
    """As a number missing for most customers: filling most of it in would make the filled
    value a segment of its own."""
    sparse = car.assign(Spending_Score=car["Spending_Score"].where(car.index % 10 < 3))
    seg = Segmenter(random_state=0).fit(sparse)
    dec = {d.column: d for d in seg.column_decisions_}["Spending_Score"]
    assert (dec.role, dec.use) == ("category", "describe")
