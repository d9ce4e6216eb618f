"""Profiles, names, recommendations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.errors import UsageError
from custseg.profiling import load_rules, profile_segments, short_label


@pytest.mark.parametrize(("name", "label"), [
    ("Annual Income (k$)", "income"),
    ("Spending Score (1-100)", "spending"),
    ("Detergents_Paper", "detergents paper"),
    ("totalAmount", "total amount"),
    ("Age", "age"),
])
def test_short_label(name, label):
    assert short_label(name) == label


def two_feature_frame():
    rng = np.random.RandomState(0)
    parts, labels = [], []
    for seg, (inc, spe, n) in enumerate([(50, 50, 80), (90, 90, 40), (90, 10, 35),
                                         (20, 15, 25), (20, 85, 20)]):
        parts.append(pd.DataFrame({"Annual Income (k$)": rng.normal(inc, 3, n),
                                   "Spending Score (1-100)": rng.normal(spe, 3, n),
                                   "Age": rng.normal(40, 5, n),
                                   "Genre": rng.choice(["F", "M"], n)}))
        labels += [seg] * n
    return pd.concat(parts, ignore_index=True), np.array(labels)


def test_profiles_names_levels_and_recommendations():
    df, labels = two_feature_frame()
    feats = ["Annual Income (k$)", "Spending Score (1-100)"]
    profiles, table = profile_segments(df, labels, feats, describe_numeric=["Age"],
                                       describe_categorical=["Genre"])
    names = [p.name for p in profiles]
    assert names == ["Mid income · Mid spending", "High income · High spending",
                     "High income · Low spending", "Low income · Low spending",
                     "Low income · High spending"]
    assert [p.size for p in profiles] == [80, 40, 35, 25, 20]
    assert sum(p.share for p in profiles) == pytest.approx(1)
    hh = profiles[1]
    assert hh.mean["Annual Income (k$)"] == pytest.approx(df.loc[labels == 1,
                                                                 "Annual Income (k$)"].mean())
    assert hh.z["Spending Score (1-100)"] > 1
    assert "premium" in hh.recommendation.lower()
    assert "discount" in profiles[3].recommendation.lower()
    assert set(profiles[0].categories["Genre"]) <= {"F", "M"}
    assert list(table["segment_name"]) == names
    assert {"Age_mean", "Age_median", "Age_z", "Genre_top", "recommendation"} <= set(table)
    # Age describes but does not name
    assert all("age" not in n for n in names)


def test_many_features_named_by_top_three():
    rng = np.random.RandomState(1)
    cols = [f"f{i}" for i in range(6)]
    a = pd.DataFrame(rng.normal(0, 1, (50, 6)), columns=cols)
    b = pd.DataFrame(rng.normal(0, 1, (50, 6)), columns=cols)
    b["f4"] += 6
    b["f1"] -= 4
    df = pd.concat([a, b], ignore_index=True)
    profiles, _ = profile_segments(df, np.repeat([0, 1], 50), cols)
    assert profiles[1].name == "High f4 · Low f1"
    assert profiles[1].distinguishing[:2] == ["f4", "f1"]


def test_duplicate_names_are_made_unique():
    rng = np.random.RandomState(2)
    df = pd.DataFrame({"x": rng.normal(size=90)})
    labels = np.repeat([0, 1, 2], 30)
    profiles, _ = profile_segments(df, labels, ["x"])
    names = [p.name for p in profiles]
    assert len(set(names)) == 3


def test_custom_rules(tmp_path):
    f = tmp_path / "rules.toml"
    f.write_text('[[rule]]\nwhen = { income = "High" }\nrecommendation = "CUSTOM HIGH"\n')
    df, labels = two_feature_frame()
    profiles, _ = profile_segments(df, labels, ["Annual Income (k$)", "Spending Score (1-100)"],
                                   rules=load_rules(f))
    assert profiles[1].recommendation == "CUSTOM HIGH"
    assert profiles[0].recommendation != "CUSTOM HIGH"


@pytest.mark.parametrize("text", [
    "not toml [[[",
    '[[rule]]\nwhen = { income = "Huge" }\nrecommendation = "x"\n',
    '[[rule]]\nrecommendation = "x"\n',
])
def test_bad_rules_are_usage_errors(tmp_path, text):
    f = tmp_path / "rules.toml"
    f.write_text(text)
    with pytest.raises(UsageError, match="--rules"):
        load_rules(f)


def test_bundled_rules_load():
    rules = load_rules()
    assert len(rules) >= 10
    assert all(r.recommendation for r in rules)
