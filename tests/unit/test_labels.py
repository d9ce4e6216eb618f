"""Readable labels from column names (custseg.labels)."""

from __future__ import annotations

import re

import pytest

from custseg.errors import UsageError
from custseg.labels import (
    ABBREVIATIONS,
    humanize,
    label_for,
    load_label_file,
    load_labels,
    load_value_labels,
    name_levels,
    table_labels,
)

REAL_NAMES = [
    "MntWines", "NumWebVisitsMonth", "PRC_FULL_PAYMENT", "CASH_ADVANCE_TRX", "BILL_AMT1",
    "Detergents_Paper", "Annual Income (k$)", "LIMIT_BAL", "PAY_0", "Year_Birth",
    "AcceptedCmp3", "Z_CostContact", "default payment next month", "MntGoldProds",
    "NumDealsPurchases", "ONEOFF_PURCHASES_FREQUENCY", "CUST_ID", "Dt_Customer", "Kidhome",
    "PAY_AMT6", "Total_Trans_Amt", "Avg_Utilization_Ratio", "Spending Score (1-100)",
    "recency_days", "avg_order_value", "Contacts_Count_12_mon", "NumOfProducts", "HasCrCard",
    "MINIMUM_PAYMENTS", "Z_Revenue", "CustomerID", "tenure_days",
]
# bare abbreviations: table keys that are not words of their own
BARE = {k for k, v in ABBREVIATIONS.items() if k != v and k not in ("no", "n")}


@pytest.mark.parametrize(("name", "label"), [
    ("MntWines", "spend on wines"),
    ("NumWebVisitsMonth", "web visits per month"),
    ("PRC_FULL_PAYMENT", "share of full payment"),
    ("CASH_ADVANCE_TRX", "cash advance transactions"),
    ("BILL_AMT1", "bill amount 1"),
    ("Detergents_Paper", "detergents paper"),
    ("Annual Income (k$)", "income"),
    ("Spending Score (1-100)", "spending"),
    ("LIMIT_BAL", "credit limit"),
    ("PAY_0", "payment delay 0"),
    ("Year_Birth", "year of birth"),
    ("AcceptedCmp3", "accepted campaign 3"),
    ("Z_CostContact", "cost of contact"),
    ("default payment next month", "default payment next month"),
    ("ONEOFF_PURCHASES_FREQUENCY", "one-off purchase frequency"),
    ("Total_Relationship_Count", "products held"),
    ("OrderAmountHikeFromlastYear", "order amount hike from last year"),
    ("PURCHASES_TRX", "purchase transactions"),
    ("ProductsBought", "products bought"),
    ("sales_volume", "sales volume"),
    ("NumDealsPurchases", "number of deal purchases"),
    ("totalAmount", "total amount"),
    ("CreditScore", "credit score"),
    ("n_orders", "number of orders"),
    ("f4", "f4"),
    ("Age", "age"),
    ("Recency", "time since last purchase"),  # RFM's recency, whatever its unit
    ("RecencyMonths", "time since last purchase in months"),
    ("Recency_Score", "recency score"),
    # units: a currency code is left out, a span read in words
    ("ARR_USD", "recurring revenue"),
    ("MRR", "monthly recurring revenue"),
    ("PT_Spend_EUR", "PT spend"),
    ("price_in_eur", "price"),
    ("support_tickets_90d", "support tickets in 90 days"),
    ("logins_last_30d", "logins in last 30 days"),
    ("revenue_12m", "revenue in 12 months"),
    ("purchases_6_months", "purchases in 6 months"),
    ("orders_1_year", "orders in 1 year"),
    # a count named by its thing: a number of things ("Many orders" in names)
    ("OrderCount", "number of orders"),
    ("Total_Trans_Ct", "number of transactions"),
    ("Dependent_count", "number of dependents"),
    ("policy_count", "number of policies"),
    ("Contacts_Count_12_mon", "number of contacts in 12 months"),
    ("Count", "count"),
    ("FnBSpend", "food and beverage spend"),
    ("Total Spent", "spend"),
    ("Join tenure (days)", "tenure"),  # the feature made of a "Join Date"
    ("Signup tenure (days)", "tenure"),
    ("Customer tenure (days)", "customer tenure"),
    ("Amount Spent", "amount spent"),
    ("F&B_Spend", "food and beverage spend"),  # its F is no one-letter prefix
])
def test_humanize_known_names(name, label):
    assert humanize(name) == label


@pytest.mark.parametrize("name", REAL_NAMES)
def test_humanize_leaves_no_raw_tokens(name):
    label = humanize(name)
    assert label and label == label.strip()
    assert "_" not in label
    # capitals only where the name writes an acronym among lower-case words ("CustomerID")
    acronyms = set(re.findall(r"[A-Z]{2,5}", name)) if re.search("[a-z]", name) else set()
    assert not [w for w in label.split() if len(w) >= 2 and w.isupper()
                and w not in acronyms], label
    assert not [w for w in re.split(r"[^a-z0-9-]+", label.lower()) if w in BARE], label
    assert "(" not in label and "$" not in label


@pytest.mark.parametrize(("name", "label"), [
    ("Frequency of SMS", "frequency of SMS"),
    ("Num_ATM_Withdrawals", "number of ATM withdrawals"),
    ("CustomerID", "customer ID"),
    ("VIPStatus", "VIP status"),
    ("PRC_FULL_PAYMENT", "share of full payment"),  # all capitals: no acronym told
    ("LIMIT_BAL", "credit limit"),
    ("Days_IN_Store", "days in store"),  # a word in capitals is no acronym
])
def test_an_acronym_among_lower_case_words_keeps_its_capitals(name, label):
    assert humanize(name) == label


def test_humanize_splits_camel_snake_and_caps_alike():
    assert humanize("CashAdvanceTrx") == humanize("cash_advance_trx") \
        == humanize("CASH_ADVANCE_TRX")


def test_label_for_prefers_given_labels():
    assert label_for("MntWines", {"MntWines": "Wine (12 months)"}) == "Wine (12 months)"
    assert label_for("MntWines", {"Other": "x"}) == "spend on wines"
    assert label_for("MntWines", {"MntWines": "  "}) == "spend on wines"
    assert label_for("MntWines") == "spend on wines"


def test_load_labels_toml_and_csv(tmp_path):
    t = tmp_path / "labels.toml"
    t.write_text('[labels]\nMntWines = "wine"\n"Annual Income (k$)" = "yearly income"\n')
    assert load_labels(t) == {"MntWines": "wine", "Annual Income (k$)": "yearly income"}
    c = tmp_path / "labels.csv"
    c.write_text('column,label\nMntWines,wine\n"BILL_AMT1","bill, first month"\n')
    assert load_labels(c) == {"MntWines": "wine", "BILL_AMT1": "bill, first month"}
    c.write_text("MntWines,wine\n")
    assert load_labels(c) == {"MntWines": "wine"}
    assert load_labels(None) == {}


def test_value_labels_toml_and_csv_name_a_category_s_codes(tmp_path):
    t = tmp_path / "labels.toml"
    t.write_text('[labels]\nDetergents_Paper = "cleaning and paper"\n\n[values.Channel]\n'
                 '1 = "Hotel/restaurant/café"\n2 = "Retail"\n[values.Region]\n3 = "Other"\n')
    got = load_label_file(t)
    assert got.columns == {"Detergents_Paper": "cleaning and paper"}
    assert got.values == {"Channel": {"1": "Hotel/restaurant/café", "2": "Retail"},
                          "Region": {"3": "Other"}}
    assert load_labels(t) == got.columns and load_value_labels(t) == got.values
    only_values = tmp_path / "codes.toml"
    only_values.write_text('[values.Channel]\n1 = "Hotel/restaurant/café"\n')
    assert load_label_file(only_values).columns == {}
    c = tmp_path / "labels.csv"
    c.write_text("column,value,label\nChannel,1,Hotel/restaurant/café\nChannel,2,Retail\n"
                 "Fresh,fresh food\n")
    assert load_label_file(c).values == {"Channel": {"1": "Hotel/restaurant/café",
                                                     "2": "Retail"}}
    assert load_label_file(c).columns == {"Fresh": "fresh food"}


def test_name_levels_matches_codes_written_either_way_and_merges_equal_names():
    assert name_levels({"1.0": 0.5, "2": 0.25, "9": 0.25}, {"1": "A", "2.0": "A"}) \
        == {"A": 0.75, "9": 0.25}
    assert name_levels({"x": 1.0}, None) == {"x": 1.0}


@pytest.mark.parametrize(("suffix", "text", "message"), [
    (".toml", "not toml [[[", "not valid TOML"),
    (".toml", "[other]\na = 'b'\n", r"\[labels\]"),
    (".toml", "[labels]\na = 3\n", "non-empty string"),
    (".csv", "a,b,c,d\n", "two non-empty cells"),
    (".csv", "a,,c\n", "two non-empty cells"),
    (".toml", "[values.Channel]\n1 = 3\n", "code .1. of column .Channel."),
    (".toml", "[values]\nChannel = 3\n", r"\[values.Channel\]"),
    (".csv", "", "no labels"),
])
def test_bad_labels_files_are_usage_errors_naming_the_file(tmp_path, suffix, text, message):
    f = tmp_path / f"my labels{suffix}"
    f.write_text(text)
    with pytest.raises(UsageError, match=message) as err:
        load_labels(f)
    assert str(f) in str(err.value)
    assert "--" not in str(err.value).replace(str(f), "")


def test_missing_labels_file(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        load_labels(tmp_path / "nope.toml")


def test_table_labels_keep_a_filler_that_tells_two_columns_apart():
    assert table_labels(["Annual Income", "Income"]) == {"Annual Income": "annual income",
                                                         "Income": "income"}
    assert table_labels(["MonthlyCharges", "TotalCharges"])["TotalCharges"] == "total charges"
    # alone, or given by the user, the short label stays
    assert table_labels(["TotalCharges"]) == {"TotalCharges": "charges"}
    assert table_labels(["MonthlyCharges", "TotalCharges"],
                        {"TotalCharges": "charges"})["TotalCharges"] == "charges"
