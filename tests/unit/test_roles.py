"""Column roles (custseg.roles), the preprocessing they drive, and choosing k for action."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg import Segmenter
from custseg.errors import UsageError
from custseg.preprocess import FeatureGroupWeights, RobustFences, SignedLog
from custseg.roles import (
    assign_roles,
    load_role_overrides,
    near_duplicates,
    numeric_role,
    parse_role_overrides,
)
from custseg.schema import validate_table


def marketing_like(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A customer table shaped like real marketing tables: id, year of birth, a date, counts,
    money, a share, flags, constants, a code, and a planted outlier."""
    rng = np.random.RandomState(seed)
    group = rng.randint(3, size=n)
    income = np.round(np.exp(rng.normal(10.8 + 0.1 * group, 0.3)))
    income[7] = 666_666  # one absurd income
    birth = np.clip(np.round(rng.normal(1970, 10, size=n)), 1940, 1996).astype(int)
    birth[11] = 1893  # one impossible birth year
    joined = pd.Timestamp("2014-06-29") - pd.to_timedelta(rng.randint(0, 700, n), unit="D")
    return pd.DataFrame({
        "ID": np.arange(1000, 1000 + n),
        "Year_Birth": birth,
        "Dt_Customer": joined.strftime("%d-%m-%Y"),
        "Income": income,
        "Kidhome": rng.randint(0, 3, size=n),
        "MntWines": np.round(np.exp(rng.normal(4 + group, 0.5))),
        "NumWebVisitsMonth": rng.poisson(3 + 2 * group),
        "PRC_FULL_PAYMENT": np.round(rng.uniform(0, 1, n), 3),
        "AcceptedCmp1": (rng.uniform(size=n) < 0.1 + 0.2 * (group == 2)).astype(int),
        "Z_CostContact": 3,
        "Region": rng.randint(1, 4, size=n),
        "day": rng.randint(1, 32, size=n),
    })


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return marketing_like()


def test_every_column_gets_a_role_and_a_reason(table):
    fr = assign_roles(validate_table(table))
    got = {d.column: (d.role, d.use) for d in fr.decisions}
    assert got == {
        "ID": ("id", "dropped"),
        "Year_Birth": ("birth_year", "feature"),
        "Dt_Customer": ("date", "feature"),
        "Income": ("money", "feature"),
        "Kidhome": ("count", "feature"),
        "MntWines": ("money", "feature"),
        "NumWebVisitsMonth": ("count", "feature"),
        "PRC_FULL_PAYMENT": ("rate", "feature"),
        "AcceptedCmp1": ("flag", "describe"),
        "Z_CostContact": ("constant", "dropped"),
        "Region": ("category", "describe"),
        "day": ("calendar", "describe"),
    }
    assert all(d.reason for d in fr.decisions)
    assert "Age" in fr.features and "Year_Birth" not in fr.features
    tenure = next(d.feature for d in fr.decisions if d.column == "Dt_Customer")
    assert tenure in fr.features and fr.role_of[tenure] == "tenure"
    # day-first dates (29-06-2014) read as such: tenure within 0..700 days
    assert fr.frame[tenure].between(0, 700).all()
    # age as of the latest date of the table (2014): 1893 gives 121
    assert fr.frame["Age"].max() == 2014 - 1893


@pytest.mark.parametrize(("name", "values", "role"), [
    ("Kidhome", [0, 1, 2, 0, 1], "count"),
    ("Complain", [0, 1, 0, 0], "flag"),
    ("PRC_FULL_PAYMENT", [0.0, 0.25, 1.0, 0.5], "rate"),
    ("Discount %", [0, 10, 55, 100], "rate"),
    ("LIMIT_BAL", [10_000, 50_000, 1_000_000, 20_000], "money"),
    ("Fresh", [3, 12_669, 112_151, 500, 800, 1_200, 900, 2_000], "money"),
    ("MntFishProducts", [0, 12, 259, 40], "money"),
    ("NumDealsPurchases", [0, 3, 15, 1], "count"),
    ("PAY_0", [-2, -1, 0, 1, 8], "measure"),
    ("Spending Score (1-100)", [1, 50, 99, 40], "measure"),
    ("AGE", [21, 35, 79, 50], "age"),
    ("EDUCATION", [1, 2, 3, 4, 5, 6, 0], "category"),
    ("day", [1, 15, 31, 7], "calendar"),
    ("Year_Birth", [1950, 1970, 1990, 1960], "birth_year"),
    ("balance", [-8019, 0, 448, 102_127], "money"),
    ("CASH_ADVANCE_FREQUENCY", [0.0, 0.25, 1.5, 0.5], "rate"),
    ("PURCHASES_TRX", [0, 12, 358, 4], "count"),
    ("CASH_ADVANCE", [0.0, 1200.5, 47_137.2, 3.0], "money"),
    ("TENURE", [6, 12, 12, 9], "measure"),
    ("Total_Credit_Cards", [1, 4, 10, 7], "count"),  # cards held: a count, not money
    ("Avg_Credit_Limit", [3_000, 50_000, 197_000, 8_000], "money"),
])
def test_numeric_roles(name, values, role):
    assert numeric_role(name, pd.Series(values, dtype=float))[0] == role


def test_overrides_win_and_are_checked(table):
    fr = assign_roles(validate_table(table), overrides={"Kidhome": "flag", "day": "count"})
    got = {d.column: (d.role, d.use, d.overridden) for d in fr.decisions}
    assert got["Kidhome"] == ("flag", "describe", True)
    assert got["day"] == ("count", "feature", True)
    assert parse_role_overrides(["A=money", "B = rate"]) == {"A": "money", "B": "rate"}
    with pytest.raises(UsageError, match="unknown role"):
        parse_role_overrides(["A=cash"])
    with pytest.raises(UsageError, match="COLUMN=ROLE"):
        parse_role_overrides(["money"])
    with pytest.raises(UsageError, match="not in the data"):
        assign_roles(validate_table(table), overrides={"Nope": "money"})


def test_roles_file(tmp_path):
    toml = tmp_path / "roles.toml"
    toml.write_text('[roles]\nKidhome = "flag"\n"Annual Income (k$)" = "money"\n')
    assert load_role_overrides(toml) == {"Kidhome": "flag", "Annual Income (k$)": "money"}
    csv = tmp_path / "roles.csv"
    csv.write_text("column,role\nKidhome,count\n")
    assert load_role_overrides(csv) == {"Kidhome": "count"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[roles]\nKidhome = "children"\n')
    with pytest.raises(UsageError, match="unknown role"):
        load_role_overrides(bad)


def test_near_duplicates_keep_the_first():
    rng = np.random.RandomState(0)
    a = rng.normal(size=300)
    df = pd.DataFrame({"a": a, "b": a * 2 + rng.normal(0, 0.01, 300),
                       "c": rng.normal(size=300)})
    assert near_duplicates(df, ["a", "b", "c"]) == [
        {"dropped": "b", "kept": "a", "r": pytest.approx(1.0, abs=0.01)}]
    assert near_duplicates(df, ["c", "a"]) == []


def test_derived_features_are_recomputed_when_scoring(table):
    seg = Segmenter(random_state=0).fit(table)
    assert "Age" in seg.features_ and "Year_Birth" not in seg.features_
    # a new customer table with the raw columns only: the same segments
    np.testing.assert_array_equal(seg.predict(table), seg.labels_)
    new = table.drop(columns=["ID"]).iloc[:20]
    assert (seg.assign(new)["segment"].to_numpy() == seg.labels_[:20]).all()
    with pytest.raises(Exception, match="Year_Birth"):
        seg.assign(new.drop(columns=["Year_Birth"]))


def test_outliers_are_listed_and_winsorised(table):
    seg = Segmenter(random_state=0).fit(table)
    cols = seg.outliers_["columns"]
    assert {e["row"] for e in cols["Income"]["examples"]} >= {8}  # 1-based row of 666666
    assert {e["row"] for e in cols["Age"]["examples"]} >= {12}
    assert seg.outliers_["share"] < 0.05
    kept = Segmenter(outliers="keep", random_state=0).fit(table)
    assert kept.outliers_["rows"] == 0 and not kept.plan_.winsorize
    # the profiles keep the real values
    assert max(s.mean["Income"] * s.size for s in seg.segments_) > 666_666


def test_fences_do_not_cut_a_group():
    zeros = np.r_[np.zeros(200), np.exp(np.random.RandomState(0).normal(7, 0.5, 800))]
    f = RobustFences().fit(np.log1p(zeros).reshape(-1, 1))
    assert f.lower_[0] == -np.inf  # 20% zeros are a group, not outliers


def test_signed_log_and_group_weights():
    X = np.array([[-8019.0], [0], [448], [102_127]])
    Z = SignedLog([True]).fit_transform(X).ravel()
    assert np.all(np.diff(Z) > 0) and abs(Z[1]) < 1e-12  # monotone, 0 stays 0
    rng = np.random.RandomState(1)
    base = rng.normal(size=500)
    X = np.column_stack([base + 0.1 * rng.normal(size=500) for _ in range(6)]
                        + [rng.normal(size=500)])
    w = FeatureGroupWeights().fit(X)
    assert w.groups_ == [[0, 1, 2, 3, 4, 5]]
    np.testing.assert_allclose(w.weights_, [1 / np.sqrt(6)] * 6 + [1.0])


def test_k_is_chosen_for_action_unless_two_groups_are_clear():
    rng = np.random.RandomState(0)
    # two overlapping groups: 2 separates best (silhouette 0.33), but weakly
    cont = pd.DataFrame(np.vstack([rng.normal(0, 1, (400, 4)), rng.normal(1.5, 1, (200, 4))]),
                        columns=list("abcd"))
    assert Segmenter(useful_k=None, random_state=0).fit(cont).k_ == 2
    seg = Segmenter(random_state=0).fit(cont)
    assert 3 <= seg.k_ <= 8
    assert seg.k_selection_.useful_range == [3, 8]
    assert seg.k_selection_.explanation.startswith("2 groups separate best (silhouette")
    assert "stable" in seg.k_selection_.explanation
    # two well-separated groups: still 2, with the reason
    two = pd.DataFrame(np.vstack([rng.normal(0, 1, (300, 3)), rng.normal(8, 1, (300, 3))]),
                       columns=["x", "y", "z"])
    seg2 = Segmenter(random_state=0).fit(two)
    assert seg2.k_ == 2
    assert seg2.k_selection_.outside["taken"] and "strong" in seg2.k_selection_.explanation
    # an explicit range is chosen in as given
    seg3 = Segmenter(k=(2, 3, 4), random_state=0).fit(cont)
    assert seg3.k_selection_.useful_range is None


def test_use_categorical_is_used_or_refused(table):
    seg = Segmenter(use_categorical=True, random_state=0).fit(table)
    assert "Region" in seg.features_ and seg.plan_.categorical == ["Region"]
    assert seg.plan_.category_weight == pytest.approx(1 / np.sqrt(2))
    no_cats = table.drop(columns=["Region"])
    with pytest.raises(UsageError, match="no categorical column"):
        Segmenter(use_categorical=True, random_state=0).fit(no_cats)


def test_cli_role_labels_and_outlier_options(table, tmp_path):
    import json

    from typer.testing import CliRunner

    from custseg.cli import app

    src = tmp_path / "customers.csv"
    table.to_csv(src, index=False)
    labels = tmp_path / "labels.toml"
    labels.write_text('[labels]\nMntWines = "wine spend"\n')
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\nKidhome = "flag"\n')
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["segment", str(src), "--out", str(out), "--role",
                                   "day=count", "--roles", str(roles), "--labels", str(labels),
                                   "--outliers", "keep", "-q"])
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())
    cols = {c["column"]: c for c in s["columns"]}
    assert cols["day"]["role"] == "count" and cols["day"]["overridden"]
    assert cols["Kidhome"]["role"] == "flag" and cols["Kidhome"]["use"] == "describe"
    assert s["labels"]["MntWines"] == "wine spend"
    assert s["outliers"]["rows"] == 0 and not s["preprocessing"]["winsorize"]
    bad = CliRunner().invoke(app, ["segment", str(src), "--out", str(tmp_path / "o2"),
                                   "--role", "day=cash"])
    assert bad.exit_code == 2 and "unknown role" in bad.output


def test_a_gap_in_the_basket_is_a_cross_sell():
    """Low on some amounts while buying as much as others elsewhere: cross-sell, not 'find
    out why'; low on every amount is not a gap."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(0)
    n = 300
    labels = np.repeat([0, 1], [200, 100])
    base = rng.lognormal(8, 0.3, (n, 3))
    base[labels == 1, 0] *= 0.2  # segment 1 buys little of the first category
    df = pd.DataFrame(base, columns=["Fresh", "Milk", "Grocery"])
    roles = dict.fromkeys(df.columns, "money")
    profiles, _ = profile_segments(df, labels, list(df.columns), roles=roles,
                                   log_columns=list(df.columns))
    gap = profiles[1]
    assert gap.recommendation_kind == "upsell" and "cross-sell" in gap.recommendation
    assert "fresh" in gap.recommendation.lower()
    small = df.copy()
    small.loc[labels == 1] *= 0.2  # low on everything: a small customer, not a gap
    profiles, _ = profile_segments(small, labels, list(df.columns), roles=roles,
                                   log_columns=list(df.columns))
    assert "cross-sell" not in profiles[1].recommendation


WHOLESALE_LIKE = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]


def _basket_profiles(scale_1: list[float], scale_2: list[float]):
    """Profiles of three segments of six amounts: 0 the bulk, 1 and 2 scaled per amount."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(1)
    labels = np.repeat([0, 1, 2], [200, 120, 80])
    X = rng.lognormal(8, 0.4, (400, 6))
    X[labels == 1] *= scale_1
    X[labels == 2] *= scale_2
    df = pd.DataFrame(X, columns=WHOLESALE_LIKE)
    profiles, _ = profile_segments(df, labels, WHOLESALE_LIKE,
                                   roles=dict.fromkeys(WHOLESALE_LIKE, "money"),
                                   log_columns=WHOLESALE_LIKE)
    return profiles


def test_more_on_every_amount_is_spend_across_the_basket():
    """A segment above average on every amount it buys and High on most of them is named and
    advised as one ("High spend across the basket", the top-accounts advice), not by its two
    strongest amounts; below average on every amount is the small-buyers segment."""
    from custseg.profiling.traits import basket_breadth

    profiles = _basket_profiles([1.3, 3, 2.5, 1.2, 3, 3], [0.3, 0.5, 0.4, 0.6, 0.3, 0.5])
    big, small = profiles[1], profiles[2]
    assert basket_breadth(big.z, WHOLESALE_LIKE) == "High"
    assert big.name == "High spend across the basket", big.name
    assert big.recommendation_kind == "reward"
    assert "across the whole range" in big.recommendation
    assert big.evidence and all("the average on" in e for e in big.evidence)
    assert small.name == "Low spend across the basket", small.name
    assert small.recommendation.startswith("Small buyers across the range")
    assert profiles[0].name != big.name


def test_a_mixed_basket_is_not_spend_across_the_basket():
    """One amount below average makes a mix: named by its amounts, advised by the rule on
    them (here the retail-type rule on grocery and detergents)."""
    profiles = _basket_profiles([0.6, 3, 3, 1.2, 3, 1.0], [0.3, 0.5, 0.4, 0.6, 0.3, 1.6])
    mixed = profiles[1]
    assert mixed.z["Fresh"] < 0
    assert "across the basket" not in mixed.name and mixed.name.startswith("High ")
    assert mixed.recommendation.startswith("Retail-type buyers")
    assert "across the basket" not in profiles[2].name


def test_a_contact_is_not_a_purchase():
    """Days since a contact are not recency of purchase, and the number of contacts in a
    campaign is contact pressure, not value."""
    from custseg.profiling import load_rules
    from custseg.profiling.recommend import RecommendationContext

    cols = ["Recency", "pdays", "campaign", "AcceptedCmp3", "balance"]
    labels = {"Recency": "days since last purchase", "pdays": "days since previous contact",
              "campaign": "campaign", "AcceptedCmp3": "accepted campaign 3",
              "balance": "balance"}
    roles = {"Recency": "measure", "pdays": "measure", "campaign": "count",
             "AcceptedCmp3": "flag", "balance": "money"}
    ctx = RecommendationContext(cols, [], labels, roles, load_rules().concepts)
    assert ctx.concept_columns["recency"] == ["Recency"]
    assert ctx.concept_columns["contacts"] == ["campaign"]
    assert ctx.concept_columns["response"] == ["AcceptedCmp3"]


def test_contacts_in_earlier_campaigns_are_a_history_not_contact_pressure():
    """A column named just ``previous`` (contacts before this campaign, as in the public
    bank-marketing table) reads "previous contacts" and is the contact-history concept: a
    segment high on it is advised to follow up on its earlier answers, not told about
    contact pressure; this campaign's contacts keep the contact-pressure advice."""
    from custseg.labels import humanize
    from custseg.profiling import profile_segments

    assert humanize("previous") == "previous contacts"
    assert humanize("previous_purchases") == "previous purchases"
    assert humanize("campaign") == "contacts this campaign"
    assert humanize("campaign_spend") == "campaign spend"
    rng = np.random.RandomState(4)
    labels = np.repeat([0, 1, 2], [300, 100, 100])
    cols = ["age", "campaign", "previous"]
    X = np.column_stack([rng.normal(40, 8, 500), rng.poisson(2, 500) + 1.0,
                         rng.poisson(0.3, 500).astype(float)])
    X[labels == 1, 2] += 5      # contacted in earlier campaigns
    X[labels == 2, 1] += 8      # contacted often in this one
    df = pd.DataFrame(X, columns=cols)
    profiles, _ = profile_segments(df, labels, cols, roles=dict.fromkeys(cols, "count"))
    history, pressure = profiles[1], profiles[2]
    assert "Many previous contacts" in history.name, history.name
    assert history.recommendation.startswith("Contacted in earlier campaigns")
    assert pressure.recommendation.startswith("Contacted more often than most")
    assert "Many contacts this campaign" in pressure.name, pressure.name


def test_claims_paid_are_a_cost_not_spend():
    """Claims paid out (insurance) are money, but a cost to the business: never spend, the
    basket or value; a segment high on them is defined by risk and advised on risk and
    price, while the premium is the amount the customers spend."""
    from custseg.profiling import load_rules, profile_segments
    from custseg.profiling.recommend import RecommendationContext

    cols = ["annual_premium", "claims_paid", "claims_count_3y", "age"]
    roles = {"annual_premium": "money", "claims_paid": "money", "claims_count_3y": "count",
             "age": "age"}
    labels = {c: c.replace("_", " ") for c in cols}
    ctx = RecommendationContext(cols, [], labels, roles, load_rules().concepts)
    assert ctx.concept_columns["spend"] == ["annual_premium"]
    assert ctx.concept_columns["claims"] == ["claims_paid", "claims_count_3y"]
    assert ctx.basket == ["annual_premium"] and ctx.activity == ["annual_premium"]

    rng = np.random.RandomState(5)
    seg = np.repeat([0, 1], [400, 100])
    X = np.column_stack([rng.lognormal(6.6, 0.3, 500), rng.lognormal(5, 1, 500),
                         rng.poisson(0.2, 500).astype(float), rng.normal(45, 10, 500)])
    X[seg == 1, 1] *= 20        # claim-heavy
    X[seg == 1, 2] += 3
    df = pd.DataFrame(X, columns=cols)
    profiles, _ = profile_segments(df, seg, cols, roles=roles)
    heavy = profiles[1]
    assert heavy.defined_by_risk and heavy.recommendation_kind == "risk"
    assert heavy.recommendation.startswith("Claim-heavy customers"), heavy.recommendation


def test_an_average_per_order_is_no_amount_bought_beside_the_total():
    """The basket (what the spend share adds up) holds the total spend, not the average
    order value beside it; an average alone is still the basket."""
    from custseg.profiling import load_rules
    from custseg.profiling.recommend import RecommendationContext

    labels = {"Total Spent": "spend", "Avg Order Value": "average order value"}
    roles = dict.fromkeys(labels, "money")
    both = RecommendationContext(list(labels), [], labels, roles, load_rules().concepts)
    assert both.basket == ["Total Spent"]
    alone = RecommendationContext(["Avg Order Value"], [], labels, roles,
                                  load_rules().concepts)
    assert alone.basket == ["Avg Order Value"]


def test_how_long_a_customer_has_been_one_is_tenure_under_its_other_names():
    """A subscription's length, an account's age, the months as a customer are tenure (the
    new customers who leave early are told so); a contract's length is not."""
    from custseg.profiling import load_rules
    from custseg.profiling.recommend import RecommendationContext

    labels = {"Subscription  Length": "subscription length",
              "account_age_months": "account age months",
              "months_as_customer": "months as customer", "contract_length": "contract length"}
    ctx = RecommendationContext(list(labels), [], labels, dict.fromkeys(labels, "measure"),
                                load_rules().concepts)
    assert ctx.concept_columns["tenure"] == ["Subscription  Length", "account_age_months",
                                             "months_as_customer"]


def test_late_payers_are_a_credit_risk_only_where_the_business_lends():
    """A segment that pays late is told "Credit risk" (exposure, no limit increases) where
    the table holds what a lender's does (a credit limit, a balance), and told to offer
    payment plans and hold back rewards elsewhere (a gym's missed payments)."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(4)
    seg = np.repeat([0, 1], [300, 100])
    df = pd.DataFrame({"Missed_Payments": np.r_[rng.poisson(0.1, 300), rng.poisson(2, 100)],
                       "Visits_Per_Week": rng.normal(2.5, 0.7, 400),
                       "Credit_Limit": rng.lognormal(8, 0.3, 400)}).astype(float)
    roles = {"Missed_Payments": "count", "Visits_Per_Week": "measure", "Credit_Limit": "money"}
    gym, _ = profile_segments(df, seg, ["Missed_Payments", "Visits_Per_Week"], roles=roles)
    assert gym[1].recommendation.startswith("Pay late or miss payments more than most")
    bank, _ = profile_segments(df, seg, list(df), roles=roles)
    assert bank[1].recommendation.startswith("Credit risk"), bank[1].recommendation
    assert gym[1].recommendation_kind == bank[1].recommendation_kind == "risk"


def test_stays_trips_and_bookings_are_purchase_frequency():
    """What a hotel, an airline or a mobility service sells is a stay, a flight or a trip:
    their counts are the purchase frequency; cancellations are not."""
    from custseg.profiling import load_rules
    from custseg.profiling.recommend import RecommendationContext

    cols = ["StaysPerYear", "flights_last_year", "Bookings", "Cancellations", "AvgNights"]
    labels = {"StaysPerYear": "stays per year", "flights_last_year": "flights last year",
              "Bookings": "bookings", "Cancellations": "cancellations",
              "AvgNights": "average nights"}
    ctx = RecommendationContext(cols, [], labels, dict.fromkeys(cols, "count"),
                                load_rules().concepts)
    assert ctx.concept_columns["frequency"] == ["StaysPerYear", "flights_last_year",
                                                "Bookings"]


def test_previous_purchases_are_a_frequency_not_spend():
    """How many times a customer bought before (``Previous Purchases``) is the purchase
    frequency, not an amount: the spend is the purchase amount alone."""
    from custseg.profiling import load_rules
    from custseg.profiling.recommend import RecommendationContext

    cols = ["Purchase Amount (USD)", "Previous Purchases", "Review Rating"]
    labels = {"Purchase Amount (USD)": "purchase amount", "Previous Purchases":
              "previous purchases", "Review Rating": "review rating"}
    ctx = RecommendationContext(cols, [], labels, {"Purchase Amount (USD)": "money",
                                                   "Previous Purchases": "count",
                                                   "Review Rating": "measure"},
                                load_rules().concepts)
    assert ctx.concept_columns["frequency"] == ["Previous Purchases"]
    orders = RecommendationContext(["OrderCount", "OrderAmountHikeFromlastYear"], [],
                                   {"OrderCount": "order count", "OrderAmountHikeFromlastYear":
                                    "order amount hike from last year"},
                                   {"OrderCount": "count",
                                    "OrderAmountHikeFromlastYear": "measure"},
                                   load_rules().concepts)
    assert orders.concept_columns["frequency"] == ["OrderCount"]
    assert ctx.concept_columns["spend"] == ["Purchase Amount (USD)"]
    assert ctx.concept_columns["satisfaction"] == ["Review Rating"]


@pytest.mark.parametrize(("shift", "advice"), [
    ((2.0, 5.0, 0.0), "Loyal fans"),            # rate high and buy often
    ((2.0, 0.0, 0.0), "Happy customers"),       # rate high
    ((0.0, -3.0, 40.0), "Buy rarely but spend a lot"),
])
def test_happy_customers_and_rare_big_baskets(shift, advice):
    """A high rating is good news to build on (reviews, referrals), with frequent purchases
    a loyal fan; buying rarely but big asks for a timely reminder."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(8)
    seg = np.repeat([0, 1], [400, 100])
    cols = ["Review Rating", "Previous Purchases", "Purchase Amount (USD)"]
    X = np.column_stack([rng.uniform(2.5, 4, 500), rng.randint(5, 20, 500).astype(float),
                         rng.uniform(20, 60, 500)])
    X[seg == 1] += shift
    roles = {"Review Rating": "measure", "Previous Purchases": "count",
             "Purchase Amount (USD)": "money"}
    profiles, _ = profile_segments(pd.DataFrame(X, columns=cols), seg, cols, roles=roles)
    assert profiles[1].recommendation.startswith(advice), profiles[1].recommendation


def test_an_unhappy_segment_is_advised_on_what_sets_it_apart_most():
    """A low satisfaction score (NPS) is a risk; between two rules met on one condition each
    (unhappy; late invoices, a payment risk), the one on the trait furthest from the average
    wins, as in the segment's name."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(6)
    seg = np.repeat([0, 1], [400, 100])
    cols = ["nps_score", "late_invoices", "seats"]
    X = np.column_stack([np.clip(rng.normal(8, 1.5, 500), 0, 10),
                         rng.poisson(0.2, 500).astype(float), rng.lognormal(2, 0.5, 500)])
    X[seg == 1, 0] -= 6         # very unhappy
    X[seg == 1, 1] += 1         # a little late
    df = pd.DataFrame(X, columns=cols)
    roles = {"nps_score": "measure", "late_invoices": "count", "seats": "count"}
    profiles, _ = profile_segments(df, seg, cols, roles=roles)
    unhappy = profiles[1]
    assert unhappy.name.startswith("Low NPS score"), unhappy.name
    assert unhappy.z["nps_score"] < -abs(unhappy.z["late_invoices"])
    assert unhappy.recommendation.startswith("Unhappy customers"), unhappy.recommendation
    X[seg == 1, 1] += 6         # now far more late than unhappy: credit risk first
    X[seg == 1, 0] += 4.5
    profiles, _ = profile_segments(pd.DataFrame(X, columns=cols), seg, cols, roles=roles)
    # late invoices of a SaaS (no credit limit or balance): late payers, not credit risk
    assert profiles[1].recommendation.startswith("Pay late or miss payments"), \
        profiles[1].recommendation


def test_low_on_every_bill_and_payment_is_little_activity():
    """Bills and payments are activity, not a basket; a credit limit is a capacity: a segment
    low on every bill and payment (its limit as everyone's) is named and advised for its
    little activity."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(2)
    labels = np.repeat([0, 1], [300, 100])
    cols = ["LIMIT_BAL", "BILL_AMT1", "BILL_AMT2", "PAY_AMT1", "PAY_AMT2"]
    X = rng.lognormal(9, 0.4, (400, 5))
    X[labels == 1, 1:] *= 0.1
    df = pd.DataFrame(X, columns=cols)
    profiles, _ = profile_segments(df, labels, cols, roles=dict.fromkeys(cols, "money"),
                                   log_columns=cols)
    dormant = profiles[1]
    assert dormant.name.startswith("Low activity across all amounts"), dormant.name
    assert dormant.recommendation.startswith("Little activity on every amount")
    assert dormant.recommendation_kind == "winback"
    assert not profiles[0].name.startswith("Low activity")


def test_a_high_balance_or_limit_is_room_to_grow_unless_risky():
    """A balance, a limit or savings are a capacity (the concept `capacity`): a segment that
    holds more is offered products that put it to work, never so when it is defined by a
    risk; the capacity is not part of the amounts of activity."""
    from custseg.profiling import load_rules, profile_segments
    from custseg.profiling.recommend import RecommendationContext

    cols = ["balance", "CREDIT_LIMIT", "SAVINGS", "PURCHASES", "PAYMENTS", "CASH_ADVANCE"]
    roles = dict.fromkeys(cols, "money")
    labels = {c: c.lower().replace("_", " ") for c in cols}
    ctx = RecommendationContext(cols, [], labels, roles, load_rules().concepts)
    assert ctx.concept_columns["capacity"] == ["balance", "CREDIT_LIMIT", "SAVINGS"]
    assert ctx.activity == ["PURCHASES", "PAYMENTS"]  # cash advance: a risk

    rng = np.random.RandomState(3)
    labels_ = np.repeat([0, 1, 2], [300, 100, 100])
    X = rng.lognormal(8, 0.3, (500, 6))
    X[labels_ == 1, :3] *= 4            # holds more
    X[labels_ == 2, :3] *= 4            # holds more, and lives on cash advances
    X[labels_ == 2, 5] *= 20
    df = pd.DataFrame(X, columns=cols)
    profiles, _ = profile_segments(df, labels_, cols, roles=roles, log_columns=cols)
    assert profiles[1].recommendation.startswith("Room to grow"), profiles[1].recommendation
    assert profiles[1].recommendation_kind == "upsell"
    assert profiles[2].defined_by_risk and profiles[2].recommendation_kind != "upsell"
    X[labels_ == 2] = rng.lognormal(8, 0.3, (100, 6))
    X[labels_ == 2, :3] /= 8            # holds little with you
    profiles, _ = profile_segments(pd.DataFrame(X, columns=cols), labels_, cols, roles=roles,
                                   log_columns=cols)
    assert profiles[2].recommendation.startswith("Hold little with you"), profiles[2]


def test_time_on_the_app_or_the_site_is_engagement():
    from custseg.profiling import load_rules, profile_segments
    from custseg.profiling.recommend import RecommendationContext

    cols = ["Avg. Session Length", "Time on App", "Time on Website", "Yearly Amount Spent"]
    labels = {c: c.lower().replace("avg.", "average") for c in cols}
    roles = {**dict.fromkeys(cols[:3], "measure"), cols[3]: "money"}
    ctx = RecommendationContext(cols, [], labels, roles, load_rules().concepts)
    assert ctx.concept_columns["visits"] == cols[:3]
    rng = np.random.RandomState(5)
    seg = np.repeat([0, 1, 2], 100)
    X = rng.normal(0, 1, (300, 4)) + np.array([[0] * 4, [1.5, 1.5, 1.5, 0], [-1.5] * 3 + [0]])[seg]
    profiles, _ = profile_segments(pd.DataFrame(X + 40, columns=cols), seg, cols, roles=roles,
                                   labels=labels)
    assert profiles[1].recommendation.startswith("Engaged: they spend more time with you")
    assert profiles[2].recommendation.startswith("Seldom online with you")


def test_tenure_and_charges_a_subscription_business_reads():
    """A telecom-like table (tenure, monthly and total charges): charges are what the customer
    spends; long-standing big payers are protected, new big payers are helped through their
    first months (when they spend more on every charge), long-standing small payers are asked
    what would make them buy more."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(4)
    labels = np.repeat([0, 1, 2, 3], 100)
    tenure = np.array([60, 6, 60, 30])[labels] + rng.normal(0, 3, 400)
    monthly = np.array([95, 95, 25, 60])[labels] + rng.normal(0, 5, 400)
    df = pd.DataFrame({"tenure": tenure, "MonthlyCharges": monthly,
                       "TotalCharges": tenure * monthly})
    cols = list(df.columns)
    profiles, _ = profile_segments(df, labels, cols, roles={"tenure": "tenure",
                                                            "MonthlyCharges": "measure",
                                                            "TotalCharges": "money"})
    kinds = [(p.name, p.recommendation_kind, p.recommendation.split(":")[0]) for p in profiles]
    assert kinds[0][1:] == ("reward", "Long-standing high-value customers"), kinds
    # new: a high monthly charge but a low total so far, as any new customer: onboarding
    assert kinds[1][1:] == ("nurture", "New customers"), kinds
    assert kinds[2][1:] == ("retain", "Long-standing customers who spend little"), kinds
    new_big = df.assign(TotalCharges=df["TotalCharges"] * np.where(labels == 1, 12, 1))
    profiles, _ = profile_segments(new_big, labels, cols, roles={
        "tenure": "tenure", "MonthlyCharges": "measure", "TotalCharges": "money"})
    assert profiles[1].recommendation.startswith("New customers who already spend a lot")


def test_a_code_for_none_is_read_as_missing_in_fit_and_when_scoring(table):
    """-1 days since the last contact for customers never contacted: read as missing (and
    imputed), the same way when scoring; the reason says so."""
    rng = np.random.RandomState(1)
    data = table.copy()
    days = rng.randint(1, 400, len(data)).astype(float)
    days[rng.uniform(size=len(data)) < 0.3] = -1
    data["DaysSinceContact"] = days
    seg = Segmenter(random_state=0).fit(data)
    dec = {d.column: d for d in seg.column_decisions_}["DaysSinceContact"]
    assert (dec.role, dec.use) == ("measure", "feature")
    assert "-1 (" in dec.reason and "read as missing" in dec.reason
    assert dec.reason.startswith(f"numbers {days[days > 0].min():g} to")  # without the code
    assert seg.cleaning_["missing_values"]["DaysSinceContact"] == int((days == -1).sum())
    as_nan = data.assign(DaysSinceContact=data["DaysSinceContact"].replace(-1, np.nan))
    np.testing.assert_array_equal(seg.predict(data), seg.predict(as_nan))
    np.testing.assert_array_equal(seg.predict(data), seg.labels_)


def test_a_column_missing_for_most_customers_describes(table):
    data = table.assign(Spend999=np.where(np.arange(len(table)) % 10 < 7, 999.0,
                                          np.arange(len(table)) % 37 + 1.0),
                        Sparse=np.where(np.arange(len(table)) % 5 < 3, np.nan, 1.5 * np.arange(
                            len(table))))
    fr = assign_roles(validate_table(data))
    got = {d.column: d for d in fr.decisions}
    for col, share in (("Spend999", "70%"), ("Sparse", "60%")):
        assert got[col].use == "describe", got[col]
        assert f"missing for {share} of the customers" in got[col].reason
        assert col not in fr.features and col in fr.describe_numeric
    assert "999 (" in got["Spend999"].reason


@pytest.mark.parametrize("values", [
    [-1, 0, 1, 0, 1, -1, 1, 0],             # a -1/0/1 scale
    [-1, -5, 3, 8, 13, 21, 40, 2],          # negatives are values
    [-1, *list(range(1, 300))],             # one -1 in 300: under 1%
    list(range(0, 600)) + [999] * 20,       # 999 not apart from the others
])
def test_values_that_are_not_a_code_for_none(values):
    from custseg.column_facts import none_code

    assert none_code(pd.Series(values, dtype=float)) is None


def test_row_numbers_and_a_second_identifier_are_dropped(table):
    """Unique whole numbers named like a row number (``RowNumber``, pandas' ``Unnamed: 0``)
    or like an identifier beside the customer's (``AccountID``) are dropped, not segmented
    on; unique numbers with another name, and fewer than 20 of them, are kept."""
    n = len(table)
    order = np.random.RandomState(0).permutation(n)
    data = table.assign(RowNumber=np.arange(1, n + 1), **{"Unnamed: 0": np.arange(n)},
                        AccountID=order + 5000, Price_index=order + 100)
    fr = assign_roles(validate_table(data))
    got = {d.column: d for d in fr.decisions}
    for col in ("RowNumber", "Unnamed: 0", "AccountID"):
        assert (got[col].role, got[col].use) == ("id", "dropped"), got[col]
        assert col not in fr.features
    assert "row numbers 1 to" in got["RowNumber"].reason
    assert "named like an identifier" in got["AccountID"].reason
    assert got["Price_index"].use == "feature"
    assert numeric_role("RowNumber", pd.Series(np.arange(1.0, 20)))[0] != "id"


@pytest.mark.parametrize(("shift", "advice", "risky"), [
    ((-3.0, 30_000.0, 0.0), "Big buyers at a thin or negative margin", True),
    ((3.0, 30_000.0, 0.0), "Big buyers at a good margin", False),
    ((0.0, 0.0, 6.0), "Send back more than most", True),
])
def test_margin_and_returns_are_read_as_costs(shift, advice, risky):
    """What a customer earns the business (net profit, margin) and sends back (returns):
    big buyers at a negative margin are never rewarded, nor are big returners."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(9)
    seg = np.repeat([0, 1], [400, 100])
    cols = ["Net Profit", "Annual Revenue", "Returns"]
    X = np.column_stack([rng.normal(1.0, 1.0, 500), rng.lognormal(10, 0.4, 500),
                         rng.poisson(1.0, 500).astype(float)])
    X[seg == 1] += shift
    roles = {"Net Profit": "money", "Annual Revenue": "money", "Returns": "count"}
    profiles, _ = profile_segments(pd.DataFrame(X, columns=cols), seg, cols, roles=roles)
    assert profiles[1].recommendation.startswith(advice), profiles[1].recommendation
    assert profiles[1].defined_by_risk is risky


def test_a_larger_household_is_a_family():
    """A segment with a larger family (``Family_Size``) is advised as a household; amounts
    spent on children's goods are not a household size."""
    from custseg.profiling import load_rules, profile_segments
    from custseg.profiling.recommend import RecommendationContext

    n = 100
    df = pd.DataFrame({"Family_Size": np.r_[np.full(n, 2.0), np.full(n, 5.0)],
                       "Age": np.r_[np.full(n, 40.0), np.full(n, 41.0)]})
    profiles, _ = profile_segments(df, np.repeat([0, 1], n), list(df),
                                   roles={"Family_Size": "count", "Age": "age"})
    assert profiles[1].recommendation.startswith("Larger households")
    cols = ["MntKidsClothes", "Kidhome"]
    ctx = RecommendationContext(cols, [], {"MntKidsClothes": "spend on kids clothes",
                                           "Kidhome": "children at home"},
                                {"MntKidsClothes": "money", "Kidhome": "count"},
                                load_rules().concepts)
    assert ctx.concept_columns["household"] == ["Kidhome"]


def test_row_numbers_are_not_drawn_in_the_report(tmp_path, table):
    """A row-number column is left out of the fit and of the report's distributions."""
    from custseg.pipeline import segment_file

    path = tmp_path / "rows.csv"
    table.assign(RowNumber=np.arange(1, len(table) + 1)).to_csv(path, index=False)
    result = segment_file(path, k=3, random_state=0)
    assert "RowNumber" not in result.summary["features"]
    assert result.overview is not None
    drawn = [h.column for h in result.overview.histograms]
    assert "RowNumber" not in drawn and "MntWines" in drawn


def test_the_evidence_shows_every_trait_the_recommendation_rests_on():
    """A segment set apart most by its rating, its age and its purchase amount, that also
    buys rarely, is told it buys rarely but big: the frequency is among its evidence, though
    not among its three defining traits."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(8)
    seg = np.repeat([0, 1], [400, 100])
    cols = ["Review Rating", "Age", "Purchase Amount (USD)", "Previous Purchases"]
    X = np.column_stack([rng.uniform(2.5, 4, 500), rng.uniform(20, 60, 500),
                         rng.uniform(20, 60, 500), rng.randint(5, 20, 500).astype(float)])
    X[seg == 1] += (3.0, 40.0, 40.0, -6.0)
    roles = {"Review Rating": "measure", "Age": "age", "Purchase Amount (USD)": "money",
             "Previous Purchases": "count"}
    profiles, _ = profile_segments(pd.DataFrame(X, columns=cols), seg, cols, roles=roles)
    p = profiles[1]
    assert "Previous Purchases" not in [t["feature"] for t in p.traits[:3]]
    assert p.recommendation.startswith("Buy rarely but spend a lot"), p.recommendation
    assert len(p.evidence) == 4 and "previous purchases" in p.evidence[-1], p.evidence


@pytest.mark.parametrize(("online", "branch", "advice"), [
    (-2.0, 3.0, "Come to you in person rather than online"),
    (6.0, -2.0, "Digital customers"),
])
def test_where_customers_come_to_you_in_person_or_online(online, branch, advice):
    """Bank visits against online visits (the public credit-card customer table's
    Total_visits_bank, Total_visits_online): a channel to serve them through."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(3)
    seg = np.repeat([0, 1], [400, 100])
    cols = ["Avg_Credit_Limit", "Total_visits_bank", "Total_visits_online"]
    X = np.column_stack([rng.uniform(5_000, 50_000, 500), rng.randint(1, 4, 500),
                         rng.randint(1, 5, 500)]).astype(float)
    X[seg == 1, 1] += branch
    X[seg == 1, 2] += online
    X[:, 1:] = X[:, 1:].clip(0)
    roles = {"Avg_Credit_Limit": "money", "Total_visits_bank": "count",
             "Total_visits_online": "count"}
    profiles, _ = profile_segments(pd.DataFrame(X, columns=cols), seg, cols, roles=roles)
    assert profiles[1].recommendation.startswith(advice), profiles[1].recommendation
    assert "bank visits" in profiles[1].name and "online visits" in profiles[1].name


@pytest.mark.parametrize(("column", "advice"), [
    ("Total_calls_made", "Call you rather than come in"),
    ("customer service calls", "Call you rather than come in"),
    # the calls of a phone plan are its use, not calls to you; nor a seller's contacts
    ("total day calls", None),
])
def test_customers_who_call_you(column, advice):
    """The customer's own calls to you (the public credit-card customer table's
    Total_calls_made, a telecom's customer service calls): a phone channel and something to
    fix, not contact pressure; a plan's day calls are neither."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(5)
    seg = np.repeat([0, 1], [400, 100])
    cols = ["Avg_Credit_Limit", "Total_visits_bank", column]
    X = np.column_stack([rng.uniform(5_000, 50_000, 500), rng.randint(2, 5, 500),
                         rng.randint(0, 4, 500)]).astype(float)
    X[seg == 1, 1] -= 2.0  # fewer visits to the branch
    X[seg == 1, 2] += 6.0  # many more calls
    X[:, 1:] = X[:, 1:].clip(0)
    roles = {"Avg_Credit_Limit": "money", "Total_visits_bank": "count", column: "count"}
    profiles, _ = profile_segments(pd.DataFrame(X, columns=cols), seg, cols, roles=roles)
    rec = profiles[1].recommendation
    if advice is None:
        assert not rec.startswith("Call") and not rec.startswith("Contacted"), rec
    else:
        assert rec.startswith(advice), rec


@pytest.mark.parametrize(("tier", "rating", "spend", "advice"), [
    (1.2, 1.0, 0.0, "Happy members of your top tier"),
    (1.2, 0.0, 0.0, "Your top-tier members"),
    (-1.0, 0.0, -300.0, "Entry-tier members who spend little"),
])
def test_a_membership_tier_is_advised_on(tier, rating, spend, advice):
    """A membership type ranked Bronze < Silver < Gold (an ordered level) is a tier."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(4)
    seg = np.repeat([0, 1], [400, 100])
    cols = ["Membership Type", "Average Rating", "Total Spend"]
    X = np.column_stack([rng.randint(1, 4, 500), rng.uniform(3, 4.5, 500),
                         rng.uniform(400, 1200, 500)]).astype(float)
    X[seg == 1] += (tier, rating, spend)
    roles = {"Membership Type": "measure", "Average Rating": "measure", "Total Spend": "money"}
    profiles, _ = profile_segments(pd.DataFrame(X, columns=cols), seg, cols, roles=roles,
                                   level_names={"Membership Type": ["Bronze", "Silver", "Gold"]})
    assert profiles[1].recommendation.startswith(advice), profiles[1].recommendation


def test_what_a_customer_does_reads_with_how_often():
    """A never-to-always level named by what the customer does ("Uses App") reads "Often
    uses app", not "High uses app"; a count of visits still reads "Many visits"."""
    from custseg.profiling import profile_segments

    rng = np.random.RandomState(5)
    seg = np.repeat([0, 1, 2], [300, 100, 100])
    cols = ["Uses App", "Visits per Month"]
    X = np.column_stack([rng.randint(1, 4, 500), rng.poisson(4, 500)]).astype(float)
    X[seg == 1, 0] += 2
    X[seg == 2, 1] += 8
    roles = {"Uses App": "measure", "Visits per Month": "count"}
    profiles, _ = profile_segments(pd.DataFrame(X, columns=cols), seg, cols, roles=roles)
    assert "Often uses app" in profiles[1].name, profiles[1].name
    assert "Many visits per month" in profiles[2].name, profiles[2].name
