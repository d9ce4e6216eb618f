"""Profiles, names, recommendations."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from custseg import demo_data_path, load_table
from custseg.errors import UsageError
from custseg.profiling import (
    RuleTable,
    level_of,
    load_rules,
    profile_segments,
    profiles_from_statistics,
    segment_statistics,
    short_label,
    trait_text,
)


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
    with pytest.raises(UsageError) as err:
        load_rules(f)
    assert err.value.parameter == "rules" and "--" not in str(err.value)


def test_bundled_rules_load():
    rules = load_rules()
    assert len(rules) >= 10
    assert all(r.recommendation for r in rules)


# ---------------------------------------------------------------- issue 12: names, traits, rules

INCOME, SPENDING = "Annual Income (k$)", "Spending Score (1-100)"


def test_levels_follow_z_not_tertiles():
    # a segment whose mean is above the population's 67th percentile but less than 0.5 sd
    # above the mean is Mid (the tertile rule said High)
    x = np.r_[np.zeros(50), np.full(30, 1.0), np.full(20, 5.0)]
    labels = np.r_[np.zeros(50, int), np.ones(30, int), np.full(20, 2)]
    profiles, _ = profile_segments(pd.DataFrame({"x": x}), labels, ["x"])
    z1 = profiles[1].z["x"]
    assert -0.5 < z1 < 0.5 and profiles[1].levels["x"] == "Mid"
    assert profiles[2].levels["x"] == "High" and profiles[0].levels["x"] == "Low"
    assert level_of(0.5) == "High" and level_of(-0.5) == "Low" and level_of(0.4999) == "Mid"


def _check_levels_agree(profiles, features):
    for p in profiles:
        for c, level in p.levels.items():
            assert level == ("High" if p.z[c] >= 0.5 else "Low" if p.z[c] <= -0.5 else "Mid")
        for t in p.traits:
            assert t["level"] == ("High" if t["z"] >= 0.5 else "Low")
            assert abs(t["z"]) >= 0.5
            assert t["z"] == p.z[t["feature"]]
        for part in p.name.removeprefix("Outlier group: ").split(" · "):
            word, _, rest = part.partition(" ")
            if rest in features and word in ("High", "Low"):
                assert (p.z[rest] >= 0.5) if word == "High" else (p.z[rest] <= -0.5), p.name
        for f in p.distinguishing:  # describe() never says high for a negative z
            said = p.describe().split(", ")[p.distinguishing.index(f)]
            assert not (" high " in said and p.z[f] < 0) and not (" low " in said and p.z[f] > 0)


@pytest.mark.parametrize("seed", range(12))
def test_level_words_agree_with_z_on_random_profiles(seed):
    rng = np.random.RandomState(seed)
    n_feat = rng.randint(1, 9)
    k = rng.randint(2, 7)
    cols = [f"f{i}" for i in range(n_feat)]
    sizes = rng.randint(5, 80, k)
    parts = [pd.DataFrame(rng.normal(rng.normal(0, 1.2, n_feat), rng.uniform(0.3, 2, n_feat),
                                     (s, n_feat)), columns=cols) for s in sizes]
    labels = np.repeat(np.arange(k), sizes)
    df = pd.concat(parts, ignore_index=True)
    profiles, _ = profile_segments(df, labels, cols)
    _check_levels_agree(profiles, cols)
    names = [p.name for p in profiles]
    assert len(set(names)) == len(names)


def _credit_frame():
    rng = np.random.RandomState(3)
    specs = [  # n, cash advance, cash advance trx, full payment share, purchases
        (300, 300, 1, 0.35, 1500),
        (120, 4000, 12, 0.02, 2500),   # heavy cash advance, rarely pay in full (and spend)
        (180, 100, 0.2, 0.85, 4000),
    ]
    parts, labels = [], []
    for seg, (n, cash, trx, full, purch) in enumerate(specs):
        parts.append(pd.DataFrame({
            "CASH_ADVANCE": rng.gamma(4, cash / 4, n),
            "CASH_ADVANCE_TRX": rng.poisson(trx, n).astype(float),
            "PRC_FULL_PAYMENT": np.clip(rng.normal(full, 0.05, n), 0, 1),
            "PURCHASES": rng.gamma(4, purch / 4, n),
            "BALANCE": rng.gamma(4, 1000, n),
        }))
        labels += [seg] * n
    roles = {"CASH_ADVANCE": "money", "CASH_ADVANCE_TRX": "count", "PRC_FULL_PAYMENT": "rate",
             "PURCHASES": "money", "BALANCE": "money"}
    return pd.concat(parts, ignore_index=True), np.array(labels), roles


def test_segment_defined_by_risk_is_never_rewarded(tmp_path):
    df, labels, roles = _credit_frame()
    profiles, _ = profile_segments(df, labels, list(df.columns), roles=roles)
    risky = profiles[1]
    assert risky.defined_by_risk
    assert risky.recommendation_kind not in ("reward", "upsell")
    assert risky.recommendation_kind == "risk"
    assert "no limit increases" in risky.recommendation
    assert not profiles[2].defined_by_risk
    assert profiles[2].recommendation_kind == "reward"  # spends and pays in full
    # even with a rule table that only knows how to reward
    f = tmp_path / "rules.toml"
    f.write_text('[[rule]]\nwhen = { spend = "High" }\nkind = "reward"\n'
                 'recommendation = "REWARD THEM"\n'
                 '[[rule]]\nwhen = { spend = ["Low", "Mid", "High"] }\n'
                 'recommendation = "ANYONE"\n')
    profiles, _ = profile_segments(df, labels, list(df.columns), roles=roles,
                                   rules=load_rules(f))
    assert profiles[1].recommendation not in ("REWARD THEM", "ANYONE")
    assert profiles[1].recommendation_kind == "risk"
    assert "cash advance" in profiles[1].recommendation  # names the risky trait
    assert profiles[2].recommendation == "REWARD THEM"


def test_risk_evidence_and_trait_texts():
    df, labels, roles = _credit_frame()
    profiles, _ = profile_segments(df, labels, list(df.columns), roles=roles)
    risky = profiles[1]
    by_feature = {t["feature"]: t for t in risky.traits}
    assert by_feature["CASH_ADVANCE_TRX"]["text"].endswith("as many cash advance transactions")
    assert by_feature["CASH_ADVANCE"]["text"].endswith("the average cash advance")
    assert re.fullmatch(r"share of full payment \d+(\.\d)?% vs \d+% overall",
                        by_feature["PRC_FULL_PAYMENT"]["text"])
    assert by_feature["PRC_FULL_PAYMENT"]["level"] == "Low"
    assert by_feature["CASH_ADVANCE"]["ratio"] > 2
    assert risky.evidence == [t["text"] for t in risky.traits[:3]]
    assert risky.recommendation_with_evidence().endswith(
        "Evidence: " + "; ".join(risky.evidence) + ".")
    assert [abs(t["z"]) for t in risky.traits] == sorted(
        (abs(t["z"]) for t in risky.traits), reverse=True)
    assert "cash advance" in risky.name and "_" not in risky.name


@pytest.mark.parametrize(("args", "text"), [
    (("MntWines", "spend on wines", "money", 30.0, 300.0, 0.1), "spends 0.1× the average on wines"),
    (("Fresh", "fresh", "money", 600.0, 300.0, 2.0), "spends 2.0× the average on fresh"),
    (("BALANCE", "balance", "money", 690.0, 300.0, 2.3), "2.3× the average balance"),
    (("Kidhome", "children at home", "count", 0.2, 0.5, 0.4), "0.4× as many children at home"),
    (("campaign", "campaign", "count", 6.7, 2.8, 2.4), "campaign 2.4× the average"),
    (("previous", "previous", "count", 3.0, 0.6, 5.3), "previous 5.3× the average"),
    (("visits", "web visits", "count", 0.1, 5.0, 0.02), "web visits 2% of the average"),
    (("PAY_AMT4", "payment amount 4", "money", 12.0, 4800.0, 0.03),
     "3% of the average payment amount 4"),
    (("Fresh", "fresh", "money", 1.0, 4800.0, 0.001), "spends under 1% of the average on fresh"),
    (("Year_Birth", "year of birth", "measure", 1967.03, 1968.8, None),
     "year of birth 1967 vs 1969 on average"),
    (("Dt tenure (days)", "customer tenure", "tenure", 540.0, 350.4, 1.54),
     "customers for 540 days vs 350 on average"),
    (("AcceptedCmp3", "accepted campaign 3", "flag", 0.24, 0.07, None),
     "accepted campaign 3: 24% vs 7% overall"),
    (("Rate", "discount rate", "rate", 45.0, 20.0, 2.25), "discount rate 45% vs 20% overall"),
    (("BAL", "balance", "money", -20.0, 300.0, None), "balance -20 vs 300 on average"),
])
def test_trait_text_by_role(args, text):
    assert trait_text(*args) == text


def test_many_features_names_use_labels_and_are_unique():
    rng = np.random.RandomState(4)
    cols = ["MntWines", "MntMeatProducts", "NumWebVisitsMonth", "Income", "Recency"]
    base = rng.normal(100, 2, (300, 5))
    df = pd.DataFrame(base, columns=cols)
    labels = np.repeat([0, 1, 2], 100)
    df.loc[labels == 1, "MntWines"] += 40
    df.loc[labels == 1, "NumWebVisitsMonth"] -= 30
    df.loc[labels == 2, "MntWines"] += 40
    df.loc[labels == 2, "NumWebVisitsMonth"] -= 30
    df.loc[labels == 2, "Recency"] += 2  # the only difference between 1 and 2, and weaker
    profiles, _ = profile_segments(df, labels, cols)
    z2 = profiles[2].z
    assert 0.5 <= z2["Recency"] < min(z2["MntWines"], -z2["NumWebVisitsMonth"])
    names = [p.name for p in profiles]
    assert names[1] == "High spend on wines · Low web visits per month"
    assert set(names[2].split(" · ")) == {"High spend on wines", "Low web visits per month",
                                          "Long since last purchase"}
    assert names[0] == "Low spend on wines · High web visits per month"
    assert len(set(names)) == 3 and not any("(" in n for n in names)


def test_close_to_average_made_unique_by_a_mild_trait():
    rng = np.random.RandomState(5)
    cols = [f"v{i}" for i in range(4)]
    df = pd.DataFrame(rng.normal(0, 1, (400, 4)), columns=cols)
    labels = np.repeat([0, 1], 200)
    df.loc[labels == 1, "v2"] += 0.4
    profiles, _ = profile_segments(df, labels, cols)
    assert profiles[0].name == "Close to average"
    assert profiles[1].name.startswith("Close to average · Slightly ")
    assert profiles[1].traits == [] or all(abs(t["z"]) >= 0.5 for t in profiles[1].traits)


def test_flags_name_a_segment_only_when_strongest():
    rng = np.random.RandomState(6)
    n = 200
    df = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n),
                       "c": rng.normal(0, 1, n), "AcceptedCmp1": rng.binomial(1, 0.1, n)})
    labels = np.repeat([0, 1], 100)
    df.loc[labels == 1, "a"] += 3
    df.loc[labels == 1, "b"] -= 3
    df.loc[labels == 1, "AcceptedCmp1"] = rng.binomial(1, 0.8, 100)
    feats = ["a", "b", "c", "AcceptedCmp1"]
    roles = {"a": "measure", "b": "measure", "c": "measure", "AcceptedCmp1": "flag"}
    profiles, _ = profile_segments(df, labels, feats, roles=roles)
    z = profiles[1].z
    assert 0.5 <= z["AcceptedCmp1"] < min(z["a"], -z["b"])
    # the two stronger measures lead; the flag follows only because the recommendation
    # rests on it ("Campaign responders")
    parts = profiles[1].name.split(" · ")
    assert set(parts[:2]) == {"High a", "Low b"}
    assert parts[2:] == ["Often accepted campaign 1"]
    assert profiles[1].recommendation.startswith("Campaign responders")
    plain, _ = profile_segments(df, labels, feats, roles=roles, rules=RuleTable([]))
    assert set(plain[1].name.split(" · ")) == {"High a", "Low b"}
    df.loc[labels == 1, "a"] -= 2.9
    df.loc[labels == 1, "b"] += 2.9
    df.loc[labels == 1, "AcceptedCmp1"] = 1
    profiles, _ = profile_segments(df, labels, feats, roles=roles)
    assert profiles[1].name.startswith("Often accepted campaign 1")


def test_outlier_group():
    rng = np.random.RandomState(7)
    df = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 495), rng.normal(30, 1, 5)]})
    labels = np.r_[np.zeros(495, int), np.ones(5, int)]
    profiles, _ = profile_segments(df, labels, ["x"])
    assert not profiles[0].outlier_group and profiles[1].outlier_group
    assert profiles[1].name == "Outlier group: High x"
    assert profiles[1].recommendation_kind == "review"
    assert "individually" in profiles[1].recommendation


def test_notable_categories_only_where_the_segment_differs():
    n = 100
    df = pd.DataFrame({"x": np.r_[np.zeros(n), np.ones(n)],
                       "Genre": ["F"] * 50 + ["M"] * 50 + ["F"] * 90 + ["M"] * 10,
                       "Region": ["A"] * 200})
    labels = np.repeat([0, 1], n)
    profiles, _ = profile_segments(df, labels, ["x"], describe_categorical=["Genre", "Region"])
    # overall: F 70%, M 30%.  Segment 0: M 50% (lift 1.67) is notable; segment 1: F 90% is
    # common but only 1.29 times as common as overall: not notable
    assert profiles[0].notable_categories == {"Genre": {"level": "M", "share": 0.5,
                                                        "lift": 1.67}}
    assert profiles[1].notable_categories == {}  # and Region: everyone is in A


def test_categorical_level_enters_name_only_with_lift():
    n = 100
    df = pd.DataFrame({"x": np.r_[np.zeros(n), np.ones(n)],
                       "Plan": ["basic"] * 95 + ["gold"] * 5 + ["basic"] * 80 + ["gold"] * 20})
    labels = np.repeat([0, 1], n)
    profiles, _ = profile_segments(df, labels, ["x"], categorical_features=["Plan"])
    # 95% basic, but basic is 87.5% overall: lift 1.09, not in the name
    assert "basic" not in profiles[0].name


def test_value_labels_name_a_category_s_codes_in_profiles_and_names():
    """Codes read by the names a labels file gives them: in the categories, the notable
    level and, for a categorical feature, the segment's name (bare codes read "plan 2")."""
    n = 100
    df = pd.DataFrame({"x": np.r_[np.zeros(n), np.ones(n)],
                       "Plan": ["1"] * 95 + ["2"] * 5 + ["2"] * 90 + ["1"] * 10,
                       "Region": ["3"] * 200})
    labels = np.repeat([0, 1], n)
    names = {"Plan": {"1": "Basic", "2.0": "Gold"}}  # a code written either way
    plain, _ = profile_segments(df, labels, ["x"], categorical_features=["Plan"],
                                describe_categorical=["Region"])
    assert plain[1].name == "High x · plan 2"
    profiles, table = profile_segments(df, labels, ["x"], categorical_features=["Plan"],
                                       describe_categorical=["Region"], value_labels=names)
    assert profiles[1].name == "High x · Gold"
    assert profiles[1].categories["Plan"] == {"Gold": 0.9, "Basic": 0.1}
    assert profiles[0].notable_categories["Plan"]["level"] == "Basic"
    assert profiles[0].categories["Region"] == {"3": 1.0}  # no names given: as it is
    assert table["Plan_top"].tolist() == ["Basic", "Gold"]


def test_yes_no_column_notable_by_its_share_of_yes_higher_or_lower():
    """A yes/no column describing the segments: notable where the share of yes is 1.3 times
    everyone's or that much smaller (and 2 points away), never named "yes"; as a
    categorical feature it names a segment "Often"/"Rarely" like a flag."""
    n = 100
    df = pd.DataFrame({"x": np.r_[np.zeros(n), np.ones(n), np.full(n, 2.0)],
                       "Churn": ["Yes"] * 2 + ["No"] * 98 + ["Yes"] * 12 + ["No"] * 88
                       + ["Yes"] * 22 + ["No"] * 78,
                       "Plan": ["y"] * 90 + ["n"] * 10 + ["n"] * 200})
    labels = np.repeat([0, 1, 2], n)
    profiles, _ = profile_segments(df, labels, ["x"], describe_categorical=["Churn"],
                                   categorical_features=["Plan"])
    # everyone: 12% churn; segment 0: 2% (lift 0.17), 1: 12%, 2: 22% (lift 1.83)
    assert profiles[0].notable_categories["Churn"] == {"level": "Yes", "share": 0.02,
                                                       "lift": 0.17, "yes": True,
                                                       "overall": 0.12}
    assert "Churn" not in profiles[1].notable_categories
    assert profiles[2].notable_categories["Churn"]["lift"] == 1.83
    assert profiles[0].name == "Low x · Often plan" and profiles[2].name == "High x · Rarely plan"
    assert all("Yes" not in p.name for p in profiles)


@pytest.mark.parametrize("churn", [["Yes", "No"], [1, 0]])
def test_a_segment_that_leaves_more_is_advised_to_be_kept(churn):
    """A churn column describing the segments, yes/no text or 0/1 (the concept churn,
    risky when High): the segment that leaves most gets a retention recommendation, the
    new customers among them the early-leavers' one; a long-standing segment is thanked."""
    rng = np.random.RandomState(3)
    n = 300
    labels = np.repeat([0, 1, 2], n)
    df = pd.DataFrame({
        "tenure": np.r_[rng.normal(5, 2, n), rng.normal(30, 5, n), rng.normal(60, 5, n)],
        "Churn": np.r_[np.where(rng.rand(n) < 0.45, *churn), np.where(rng.rand(n) < 0.2, *churn),
                       np.where(rng.rand(n) < 0.05, *churn)]})
    cats = ["Churn"] if churn[0] == "Yes" else []
    feats = ["tenure"]
    profiles, _ = profile_segments(df, labels, feats, describe_categorical=cats,
                                   describe_numeric=[] if cats else ["Churn"])
    assert profiles[0].recommendation_kind == "retain"
    assert profiles[0].recommendation.startswith("New customers who leave early")
    assert profiles[2].recommendation.startswith("Long-standing customers: thank them")
    plain, _ = profile_segments(df.drop(columns="Churn"), labels, feats)
    assert plain[0].recommendation.startswith("New customers: onboarding")


def test_an_attrition_column_of_two_named_levels_reads_as_who_left():
    """A two-level column named like a risk concept (Attrition_Flag), whose one level is
    named like it too ("Attrited Customer"): notable by that level's share, higher or lower,
    and read by the rules as a flag; another two-level column (Gender) is not."""
    rng = np.random.RandomState(5)
    n = 400
    labels = np.repeat([0, 1], n)
    left = np.r_[rng.rand(n) < 0.6, rng.rand(n) < 0.04]  # a risky level: z >= 0.5
    df = pd.DataFrame({"Total_Trans_Ct": np.r_[rng.normal(40, 5, n), rng.normal(90, 5, n)],
                       "Attrition_Flag": np.where(left, "Attrited Customer",
                                                  "Existing Customer"),
                       "Gender": rng.choice(["F", "M"], 2 * n)})
    profiles, _ = profile_segments(df, labels, ["Total_Trans_Ct"],
                                   describe_categorical=["Attrition_Flag", "Gender"])
    hit = profiles[0].notable_categories["Attrition_Flag"]
    assert hit["level"] == "Attrited Customer" and hit["yes"] and hit["lift"] > 1.3
    assert profiles[1].notable_categories["Attrition_Flag"]["lift"] < 1 / 1.3
    assert "Gender" not in profiles[0].notable_categories
    assert profiles[0].recommendation_kind == "retain"
    assert "Attrited" not in profiles[0].name


def _rare_exits(rng: np.random.RandomState, n: int) -> np.ndarray:
    """Exited 0/1 in three segments of ``n``: 6%, 3% and 9% (everyone 6%): the third leaves
    1.5 times as often, a z-score of only 0.13."""
    return np.r_[rng.rand(n) < 0.06, rng.rand(n) < 0.03, rng.rand(n) < 0.09].astype(float)


def test_a_describing_0_1_flag_reads_like_a_yes_no_column():
    """A numeric 0/1 flag describing the segments is notable by its share of 1 as a yes/no
    column is (with everyone's share), higher or lower; a share of yes that sets a segment
    apart is at least at the High or Low level for the rules, so the segment that leaves 1.5
    times as often is defined by risk and kept, though the z-score of its share is small."""
    rng = np.random.RandomState(11)
    n = 2000
    labels = np.repeat([0, 1, 2], n)
    df = pd.DataFrame({"NumOfProducts": np.r_[np.full(n, 1.5), np.full(n, 2.5), np.ones(n)]
                       + rng.rand(3 * n) * 0.2, "Exited": _rare_exits(rng, n)})
    everyone = float(df["Exited"].mean())
    profiles, _ = profile_segments(df, labels, ["NumOfProducts"], describe_numeric=["Exited"],
                                   roles={"Exited": "flag"})
    assert "Exited" not in profiles[0].notable_categories
    low, high = profiles[1].notable_categories["Exited"], profiles[2].notable_categories["Exited"]
    assert low["yes"] and low["level"] == "yes" and low["lift"] < 1 / 1.3
    assert high["lift"] > 1.3 and high["overall"] == round(everyone, 4)
    assert abs(profiles[2].z["Exited"]) < 0.5  # Mid by its z-score alone
    assert profiles[2].defined_by_risk and not profiles[1].defined_by_risk
    assert profiles[2].recommendation.startswith("Hold few of your products and leave more")
    assert profiles[1].recommendation.startswith("Hold many of your products: your most")
    plain, _ = profile_segments(df, labels, ["NumOfProducts"])
    assert not plain[2].defined_by_risk and plain[2].recommendation.startswith(
        "Hold few of your products: cross-sell")


def test_a_recommendation_resting_on_a_rare_answer_shows_it_in_the_evidence():
    """Advice resting on a yes/no answer or a 0/1 flag whose share sets the segment apart
    but whose z-score is too small to be a trait (9% leave against 6%) shows that share
    among the evidence, as the terminal and the report show it; a segment whose advice does
    not rest on it does not."""
    rng = np.random.RandomState(11)
    n = 2000
    labels = np.repeat([0, 1, 2], n)
    exited = _rare_exits(rng, n)
    df = pd.DataFrame({"NumOfProducts": np.r_[np.full(n, 1.5), np.full(n, 2.5), np.ones(n)]
                       + rng.rand(3 * n) * 0.2, "Exited": exited,
                       "Attrition": np.where(exited > 0, "Attrited Customer",
                                             "Existing Customer")})
    flag, _ = profile_segments(df, labels, ["NumOfProducts"], describe_numeric=["Exited"],
                               roles={"Exited": "flag"})
    words, _ = profile_segments(df, labels, ["NumOfProducts"],
                                describe_categorical=["Attrition"])
    for profiles, label in ((flag, "exited"), (words, "attrition")):
        mine = float(exited[labels == 2].mean())
        said = f"{label}: {mine:.1%} vs {exited.mean():.1%} overall".replace(".0%", "%")
        assert profiles[2].recommendation.startswith("Hold few of your products and leave")
        assert said in profiles[2].evidence
        assert not any(e.startswith(f"{label}:") for e in profiles[1].evidence)


def test_products_held_is_not_spend_on_products():
    """``MntMeatProducts`` is spend on meat, not a number of products held."""
    n = 100
    df = pd.DataFrame({"MntMeatProducts": np.r_[np.full(n, 10.0), np.full(n, 900.0)]})
    profiles, _ = profile_segments(df, np.repeat([0, 1], n), ["MntMeatProducts"])
    assert not any("products" in p.recommendation.lower() for p in profiles)


def test_days_since_the_last_purchase_read_in_plain_words():
    n = 100
    df = pd.DataFrame({"recency_days": np.r_[np.full(n, 3.0), np.full(n, 40.0),
                                             np.full(n, 200.0)],
                       "pdays": np.r_[np.full(n, 300.0), np.full(n, 5.0), np.full(n, 50.0)]})
    labels = np.repeat([0, 1, 2], n)
    profiles, _ = profile_segments(df, labels, ["recency_days", "pdays"])
    assert [p.name for p in profiles] == [
        "Recent · High days since previous contact",
        "Fairly recent · Low days since previous contact",
        "Long since last purchase · Low days since previous contact"]


def test_generic_fallback_names_the_strongest_trait_with_its_direction():
    rng = np.random.RandomState(8)
    cols = ["MntWines", "NumWebVisitsMonth", "Income", "Teenhome"]
    df = pd.DataFrame(rng.normal(50, 5, (200, 4)), columns=cols)
    labels = np.repeat([0, 1], 100)
    df.loc[labels == 1, "NumWebVisitsMonth"] -= 20
    profiles, _ = profile_segments(df, labels, cols, rules=RuleTable([]))
    rec = profiles[1].recommendation
    assert rec.startswith("Stands out by low web visits per month")
    assert profiles[0].recommendation.startswith("Stands out by high web visits per month")
    assert profiles[1].recommendation_kind == "generic"


def test_labels_mapping_overrides_names():
    df, labels = two_feature_frame()
    profiles, _ = profile_segments(df, labels, [INCOME, SPENDING],
                                   labels={INCOME: "yearly pay"})
    assert profiles[1].name == "High yearly pay · High spending"
    assert profiles[1].recommendation_kind == "reward"


def test_mall_segments_names_and_recommendations_unchanged():
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    df = load_table(demo_data_path())
    X = StandardScaler().fit_transform(df[[INCOME, SPENDING]])
    labels = KMeans(5, n_init=10, random_state=0).fit_predict(X)
    profiles, _ = profile_segments(df, labels, [INCOME, SPENDING], describe_numeric=["Age"],
                                   describe_categorical=["Genre"],
                                   roles={INCOME: "money", SPENDING: "measure", "Age": "age"})
    by_name = {p.name: p for p in profiles}
    assert set(by_name) == {"Mid income · Mid spending", "High income · High spending",
                            "High income · Low spending", "Low income · Low spending",
                            "Low income · High spending"}
    assert "premium membership card" in by_name["High income · High spending"].recommendation
    assert "discounts" in by_name["Low income · Low spending"].recommendation
    assert "discounts" in by_name["Low income · High spending"].recommendation
    assert "Untapped potential" in by_name["High income · Low spending"].recommendation
    assert "standard membership card" in by_name["Mid income · Mid spending"].recommendation
    assert not any(p.defined_by_risk or p.outlier_group for p in profiles)
    hh = by_name["High income · High spending"]
    assert hh.recommendation_kind == "reward"
    assert any(t["text"].endswith("the average income") for t in hh.traits)


def test_rule_concepts_and_kinds_from_a_custom_table(tmp_path):
    f = tmp_path / "rules.toml"
    f.write_text('[concepts.wine]\nkeywords = ["wines"]\n\n'
                 '[[rule]]\nwhen = { wine = "High" }\nkind = "upsell"\n'
                 'recommendation = "WINE CLUB"\n')
    rules = load_rules(f)
    assert {"wine", "spend", "risk"} <= set(rules.concepts)  # bundled concepts stay
    rng = np.random.RandomState(9)
    df = pd.DataFrame({"MntWines": rng.normal(100, 10, 100), "Income": rng.normal(50, 5, 100)})
    labels = np.repeat([0, 1], 50)
    df.loc[labels == 1, "MntWines"] += 30
    profiles, _ = profile_segments(df, labels, ["MntWines", "Income"], rules=rules)
    assert profiles[1].recommendation == "WINE CLUB"
    assert profiles[1].recommendation_kind == "upsell"
    assert profiles[0].recommendation != "WINE CLUB"


@pytest.mark.parametrize(("text", "message"), [
    ('[[rule]]\nwhen = { income = "High" }\nkind = "bribe"\nrecommendation = "x"\n', "kind"),
    ('[concepts.x]\nkeywords = []\n', "keywords"),
    ('[concepts.x]\nkeywords = ["a"]\nrisky = "Very"\n', "risky"),
    ('[concepts.x]\nkeywords = ["a"]\nroles = ["banana"]\n', "role"),
])
def test_bad_concepts_and_kinds_are_usage_errors(tmp_path, text, message):
    f = tmp_path / "rules.toml"
    f.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_rules(f)


def test_bundled_rules_are_documented_and_typed():
    rules = load_rules()
    assert all(r.kind for r in rules)
    assert {"spend", "income", "frequency", "recency", "tenure", "risk", "payment",
            "complaints", "service_problems", "response", "visits", "deals"
            } <= set(rules.concepts)
    assert rules.concepts["risk"].risky == "High"
    assert rules.concepts["payment"].risky == "Low"


def test_statistics_path_matches_frame_path():
    df, labels = two_feature_frame()
    feats = [INCOME, SPENDING]
    st = segment_statistics(df, labels, [*feats, "Age"], ["Genre"])
    a, _ = profiles_from_statistics(st, feats, describe_numeric=["Age"],
                                    describe_categorical=["Genre"])
    b, _ = profile_segments(df, labels, feats, describe_numeric=["Age"],
                            describe_categorical=["Genre"])
    assert [(p.name, p.recommendation, p.evidence) for p in a] == \
        [(p.name, p.recommendation, p.evidence) for p in b]


def test_a_count_of_things_reads_many_or_few():
    """A count named by its things in the plural reads "Many children", "Few deal
    purchases" (for "number of deal purchases"), never "High children"."""
    n = 100
    df = pd.DataFrame({"children": np.r_[np.zeros(n), np.full(n, 3.0)],
                       "NumDealsPurchases": np.r_[np.full(n, 8.0), np.ones(n)]})
    roles = {"children": "count", "NumDealsPurchases": "count"}
    profiles, _ = profile_segments(df, np.repeat([0, 1], n), list(df), roles=roles)
    assert profiles[0].name == "Few children · Many deal purchases"
    assert profiles[1].name == "Many children · Few deal purchases"


def test_a_count_of_a_singular_thing_and_other_last_events_read_in_plain_words():
    """A count whose head noun is singular ("frequency of SMS") reads High or Low, never
    "Few frequency"; the time since a last order reads like a recency ("Long since last
    order", "Recent"), and since a last login says which ("Recent login")."""
    n = 100
    df = pd.DataFrame({"Frequency of SMS": np.r_[np.full(n, 5.0), np.full(n, 90.0)],
                       "DaySinceLastOrder": np.r_[np.full(n, 2.0), np.full(n, 30.0)],
                       "days_since_last_login": np.r_[np.full(n, 40.0), np.full(n, 1.0)]})
    roles = {"Frequency of SMS": "count"}
    profiles, _ = profile_segments(df, np.repeat([0, 1], n), list(df), roles=roles)
    assert [p.name for p in profiles] == [
        "Low frequency of SMS · Recent · Long since last login",
        "High frequency of SMS · Long since last order · Recent login"]
    assert profiles[1].evidence[0] == "frequency of SMS 1.9× the average"


@pytest.mark.parametrize("column", ["Call  Failure", "app_errors_30d", "FailedDeliveries",
                                    "Support_Tickets"])
def test_a_segment_that_meets_more_service_problems_is_told_to_fix_them(column):
    """Failed calls, errors, failed deliveries, support tickets: a segment High on them is
    told to fix what fails for them, not to build offers around it, and is never rewarded;
    a count of failed payments is the payment risk's, not a service problem."""
    rng = np.random.RandomState(2)
    n = 200
    df = pd.DataFrame({column: np.r_[rng.poisson(2, n), rng.poisson(9, n)].astype(float),
                       "Seconds of Use": rng.normal(3000, 500, 2 * n)})
    profiles, _ = profile_segments(df, np.repeat([0, 1], n), list(df),
                                   roles={column: "count"})
    assert profiles[1].recommendation.startswith("More goes wrong for them than for most")
    assert profiles[1].recommendation_kind == "service" and profiles[1].defined_by_risk
    assert not profiles[0].recommendation.startswith("More goes wrong")
    for name in ("failed_payments", "days_since_last_failure"):  # a payment; a recency
        other = df.rename(columns={column: name})
        profiled, _ = profile_segments(other, np.repeat([0, 1], n), list(other),
                                       roles={name: "count"})
        assert not profiled[1].recommendation.startswith("More goes wrong"), name


def test_members_who_come_often_but_buy_little_are_offered_what_goes_with_it():
    """Attendance (classes attended, check-ins) is coming in person, not browsing: a segment
    that attends much and spends little is offered what goes with what it attends, one that
    seldom comes is checked on; the online visits' advice ("where they browse") is not
    given to them."""
    rng = np.random.RandomState(8)
    n = 200
    labels = np.repeat([0, 1, 2], n)
    df = pd.DataFrame({
        "Classes_Attended_Last_Month": np.r_[rng.poisson(2, n), rng.poisson(10, n),
                                             rng.poisson(0.3, n)].astype(float),
        "PT_Spend_EUR": np.r_[rng.lognormal(5, 0.4, n), rng.lognormal(2, 0.4, n),
                              rng.lognormal(3.5, 0.4, n)]})
    profiles, _ = profile_segments(df, labels, list(df),
                                   roles={"Classes_Attended_Last_Month": "count",
                                          "PT_Spend_EUR": "money"})
    assert profiles[1].name == "Many classes attended last month · Low PT spend"
    assert profiles[1].recommendation.startswith("Come often but buy little")
    assert profiles[2].recommendation.startswith("Seldom come")
    assert not any("browse" in p.recommendation for p in profiles)


def test_a_score_named_like_one_reads_as_a_score():
    """A satisfaction score of whole numbers (NPS 0-10) is a measure, read "NPS 8 vs 6.8 on
    average" and "High NPS", not a count ("Many NPS", "1.2× as many NPS")."""
    from custseg.roles import numeric_role

    assert numeric_role("NPS", pd.Series([0.0, 3, 7, 9, 10, 8]))[0] == "measure"
    assert numeric_role("csat_score", pd.Series([1.0, 2, 3, 4, 5]))[0] == "measure"
    n = 100
    df = pd.DataFrame({"NPS": np.r_[np.full(n, 9.0), np.full(n, 3.0)]})
    profiles, _ = profile_segments(df, np.repeat([0, 1], n), ["NPS"],
                                   roles={"NPS": "measure"})
    assert profiles[0].name == "High NPS" and profiles[0].evidence == ["NPS 9 vs 6 on average"]


def test_a_count_named_by_one_thing_reads_in_the_plural():
    """A count whose name gives one thing and what was done with it ("CouponUsed") or one
    thing after "number of" ("NumberOfAddress") counts them: "Many coupons used", "2.5× as
    many coupons used", "Few addresses"."""
    n = 100
    df = pd.DataFrame({"CouponUsed": np.r_[np.full(n, 1.0), np.full(n, 5.0)],
                       "NumberOfAddress": np.r_[np.full(n, 6.0), np.full(n, 1.0)]})
    roles = {"CouponUsed": "count", "NumberOfAddress": "count"}
    profiles, _ = profile_segments(df, np.repeat([0, 1], n), list(df), roles=roles)
    assert profiles[1].name == "Many coupons used · Few addresses"
    assert profiles[1].evidence[0] == "1.7× as many coupons used"


def test_subscribers_are_advised_on_how_much_they_use_and_churn_comes_first():
    """A subscription's use (feature adoption, logins): accounts that seldom log in and use
    little are told their renewal is at risk, active users of much are offered the next
    plan, and the largest accounts that use much are protected; a segment that also leaves
    far more often (a risk) gets the advice on leaving, with its churn share shown."""
    rng = np.random.RandomState(9)
    n = 300
    labels = np.repeat([0, 1, 2, 3], n)
    df = pd.DataFrame({
        "logins_last_30d": np.r_[rng.poisson(40, n), rng.poisson(200, n), rng.poisson(8, n),
                                 rng.poisson(200, n)].astype(float),
        "feature_adoption_pct": np.r_[rng.normal(50, 5, n), rng.normal(75, 5, n),
                                      rng.normal(20, 5, n), rng.normal(75, 5, n)],
        "monthly_fee": np.r_[rng.lognormal(4, 0.2, n), rng.lognormal(4, 0.2, n),
                             rng.lognormal(4, 0.2, n), rng.lognormal(7, 0.2, n)],
        "churned": np.r_[rng.rand(n) < 0.05, rng.rand(n) < 0.05, rng.rand(n) < 0.5,
                         rng.rand(n) < 0.05].astype(float)})
    feats = ["logins_last_30d", "feature_adoption_pct", "monthly_fee"]
    roles = {"logins_last_30d": "count", "feature_adoption_pct": "rate",
             "monthly_fee": "money"}
    plain, _ = profile_segments(df, labels, feats, roles=roles)
    assert plain[1].recommendation.startswith("Active users of much of what they pay for")
    assert plain[2].recommendation.startswith("Seldom log in and use little")
    assert plain[3].recommendation.startswith("Your largest accounts")
    left, _ = profile_segments(df, labels, feats, describe_numeric=["churned"],
                               roles={**roles, "churned": "flag"})
    assert left[2].recommendation.startswith("At risk of leaving"), left[2].recommendation
    assert any(e.startswith("churned: ") for e in left[2].evidence)


def test_numbered_siblings_are_one_line_of_evidence() -> None:
    """Six monthly payment delays, all high, are one line; what else sets the segment apart
    gets the other two lines; a second column read with the very same label is left out."""
    from custseg.profiling.traits import evidence_of, is_shown

    def trait(label: str, level: str, z: float) -> dict[str, object]:
        return {"label": label, "level": level, "z": z, "text": f"{label} is {level.lower()}"}

    traits = [trait(f"payment delay {m}", "High", 2 - m / 10) for m in (2, 0, 3, 4, 5, 6)]
    traits[3:3] = [trait("credit limit", "Low", 1.7), trait("payment delay 9", "Low", 1.65)]
    traits.append(trait("credit limit", "Low", 0.6))
    evidence = evidence_of(traits)
    assert evidence == [
        "payment delay 2 is high (likewise payment delay 0, 3, 4, 5 and 6)",
        "credit limit is low", "payment delay 9 is low"]
    assert is_shown(traits[1], evidence[:1]) is False and is_shown(traits[0], evidence)


def test_the_name_shows_the_trait_the_recommendation_rests_on() -> None:
    """A segment named by its two strongest traits, told "long-standing customers" from its
    third, shows that third trait in its name; a recommendation resting on a named trait
    adds nothing."""
    rng = np.random.RandomState(3)
    cols = ["Time on App", "Avg. Session Length", "Length of Membership", "Time on Website"]
    df = pd.DataFrame(rng.normal(0, 1, (300, 4)), columns=cols)
    labels = np.repeat([0, 1, 2], 100)
    df.loc[labels == 1, "Time on App"] -= 2.2
    df.loc[labels == 1, "Avg. Session Length"] += 1.8
    df.loc[labels == 1, "Length of Membership"] += 0.8
    df.loc[labels == 2, "Length of Membership"] -= 1.5
    profiles, _ = profile_segments(df, labels, cols)
    loyal, new = profiles[1], profiles[2]
    assert loyal.recommendation.startswith("Long-standing customers")
    assert loyal.name == ("Low time on app · High average session length · "
                          "High length of membership")
    assert loyal.grounds == ["Length of Membership"]
    assert new.recommendation.startswith("New customers") and new.grounds
    assert new.name.startswith("Low length of membership")
    assert new.name.count("·") <= 1
    # without the rule, the name is the two strongest traits
    plain, _ = profile_segments(df, labels, cols, rules=RuleTable([]))
    assert plain[1].name == "Low time on app · High average session length"


def test_a_describing_column_that_repeats_a_feature_is_no_evidence() -> None:
    """An RFM score beside the spend it scores says the same thing twice: it stays in the
    profile, not in the evidence; a describing column that says something else stays in
    both, and so does a numbered sibling of a feature (said with it: "likewise")."""
    from custseg.column_facts import echoes

    rng = np.random.RandomState(5)
    n = 300
    labels = np.repeat([0, 1, 2], n // 3)
    spend = rng.lognormal(np.array([4.0, 5.0, 6.0])[labels], 0.3)
    visits = rng.poisson(np.array([3, 5, 9])[labels]).astype(float)
    df = pd.DataFrame({
        "monetary": spend, "frequency": visits,
        "m_score": pd.qcut(spend, 5, labels=False) + 1.0,  # moves with the spend
        "bill_amt1": (bill := rng.lognormal(np.array([8.0, 5.5, 3.0])[labels], 0.3)),
        "bill_amt2": bill * rng.uniform(0.99, 1.01, n),
        "complaints": rng.poisson(np.array([4, 1, 0.2])[labels]).astype(float)})
    features = ["monetary", "frequency", "bill_amt1"]
    describing = ["m_score", "bill_amt2", "complaints"]
    found = echoes(df, features, describing)
    assert found == {"m_score": "monetary", "bill_amt2": "bill_amt1"}
    profiles, table = profile_segments(df, labels, features, describe_numeric=describing,
                                       echoes=found)
    plain, _ = profile_segments(df, labels, features, describe_numeric=describing)
    top = profiles[2]
    assert any("m_score" in t["feature"] for t in top.traits)  # still profiled
    assert any("m_score" in str(c) for c in table.columns)
    assert not any("score" in e for e in top.evidence)
    assert any("score" in e for e in plain[2].evidence)  # it was evidence before
    assert any("(likewise " in e for e in top.evidence), top.evidence
    assert any("complaints" in e for p in profiles for e in p.evidence)
