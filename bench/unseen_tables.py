"""Tables shaped like common customer exports that are not in the repository, and the names
and advice of custseg's default run on each: the check that a naming or advice rule is
general, not tuned to the shared tables.

    .venv/bin/python bench/unseen_tables.py [OUT]      # OUT defaults to a temporary folder

Generated with fixed seeds (numpy), written to OUT, then ``custseg segment FILE --out
OUT/<name> --quiet --seed 0`` on each; prints k, each segment's size, name, share of the
spend and advice.  Shapes (made up, the column names of the public tables they imitate):
telecom churn (7,043 x 21, ``TotalCharges`` with blanks), a marketing campaign table (2,240 x
29, tab-separated), an e-commerce table (500 x 8, no real structure), an RFM table (4,000 x
5), a SaaS subscription table (6,000 x 12), a hotel loyalty table (5,000 x 11,
``;``-separated), an insurance table (8,000 x 9), and the five shapes of
:func:`churn_and_membership`, a CRM export (:func:`crm_export`) and a streaming
service's subscribers (:func:`streaming`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def telco_and_marketing() -> None:
    rng = np.random.default_rng(7)
    n = 7043
    tenure = rng.integers(0, 73, n)
    contract = np.where(
        tenure > 40,
        rng.choice(["Two year", "One year", "Month-to-month"], n, p=[0.5, 0.3, 0.2]),
        rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.75, 0.15, 0.1]),
    )
    internet = rng.choice(["Fiber optic", "DSL", "No"], n, p=[0.44, 0.34, 0.22])
    monthly = np.round(
        np.where(
            internet == "No",
            rng.uniform(18, 26, n),
            np.where(internet == "DSL", rng.uniform(25, 85, n), rng.uniform(70, 118, n)),
        ),
        2,
    )
    total = np.round(monthly * tenure * rng.uniform(0.9, 1.1, n), 2).astype(str).astype(object)
    total[tenure == 0] = " "
    churn = np.where(
        (contract == "Month-to-month") & (rng.random(n) < 0.42),
        "Yes",
        np.where(rng.random(n) < 0.1, "Yes", "No"),
    )
    df = pd.DataFrame(
        {
            "customerID": [
                f"{rng.integers(1000, 9999)}-{''.join(rng.choice(list(LETTERS), 5))}"
                for _ in range(n)
            ],
            "gender": rng.choice(["Female", "Male"], n),
            "SeniorCitizen": (rng.random(n) < 0.16).astype(int),
            "Partner": rng.choice(["Yes", "No"], n),
            "Dependents": rng.choice(["Yes", "No"], n, p=[0.3, 0.7]),
            "tenure": tenure,
            "PhoneService": rng.choice(["Yes", "No"], n, p=[0.9, 0.1]),
            "MultipleLines": rng.choice(["Yes", "No", "No phone service"], n),
            "InternetService": internet,
            "OnlineSecurity": rng.choice(["Yes", "No", "No internet service"], n),
            "TechSupport": rng.choice(["Yes", "No", "No internet service"], n),
            "StreamingTV": rng.choice(["Yes", "No", "No internet service"], n),
            "Contract": contract,
            "PaperlessBilling": rng.choice(["Yes", "No"], n),
            "PaymentMethod": rng.choice(
                [
                    "Electronic check",
                    "Mailed check",
                    "Bank transfer (automatic)",
                    "Credit card (automatic)",
                ],
                n,
            ),
            "MonthlyCharges": monthly,
            "TotalCharges": total,
            "Churn": churn,
        }
    )
    df.to_csv("telco.csv", index=False)

    # marketing campaign (iFood) like, tab separated
    n = 2240
    g = rng.integers(0, 3, n)
    inc = np.round(
        rng.normal([30000, 55000, 75000], 8000)[g]
        if False
        else np.array([30000, 55000, 75000])[g] + rng.normal(0, 8000, n)
    )
    inc = inc.astype(object)
    inc[rng.random(n) < 0.01] = ""

    def mk(base, s):
        return np.round(np.exp(rng.normal(np.log(base)[g], s))).astype(int)

    df2 = pd.DataFrame(
        {
            "ID": rng.permutation(11000)[:n],
            "Year_Birth": rng.integers(1940, 2000, n),
            "Education": rng.choice(["Graduation", "PhD", "Master", "Basic", "2n Cycle"], n),
            "Marital_Status": rng.choice(
                ["Married", "Together", "Single", "Divorced", "Widow", "YOLO"], n
            ),
            "Income": inc,
            "Kidhome": rng.integers(0, 3, n),
            "Teenhome": rng.integers(0, 3, n),
            "Dt_Customer": pd.to_datetime("2012-07-30")
            + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
            "Recency": rng.integers(0, 100, n),
            "MntWines": mk(np.array([20, 300, 700]), 0.6),
            "MntFruits": mk(np.array([3, 20, 60]), 0.7),
            "MntMeatProducts": mk(np.array([15, 120, 450]), 0.6),
            "MntFishProducts": mk(np.array([4, 30, 80]), 0.7),
            "MntSweetProducts": mk(np.array([3, 20, 60]), 0.7),
            "MntGoldProds": mk(np.array([10, 40, 70]), 0.7),
            "NumDealsPurchases": rng.poisson(np.array([2, 4, 1])[g]),
            "NumWebPurchases": rng.poisson(np.array([2, 6, 5])[g]),
            "NumCatalogPurchases": rng.poisson(np.array([0.5, 3, 6])[g]),
            "NumStorePurchases": rng.poisson(np.array([3, 7, 8])[g]),
            "NumWebVisitsMonth": rng.poisson(np.array([7, 5, 3])[g]),
            "AcceptedCmp3": (rng.random(n) < 0.07).astype(int),
            "AcceptedCmp4": (rng.random(n) < 0.07).astype(int),
            "AcceptedCmp5": (rng.random(n) < np.array([0, 0.05, 0.2])[g]).astype(int),
            "AcceptedCmp1": (rng.random(n) < np.array([0, 0.05, 0.2])[g]).astype(int),
            "AcceptedCmp2": (rng.random(n) < 0.01).astype(int),
            "Complain": (rng.random(n) < 0.01).astype(int),
            "Z_CostContact": 3,
            "Z_Revenue": 11,
            "Response": (rng.random(n) < np.array([0.1, 0.12, 0.25])[g]).astype(int),
        }
    )
    df2["Dt_Customer"] = df2["Dt_Customer"].dt.strftime("%d-%m-%Y")
    df2.to_csv("marketing_campaign.csv", sep="\t", index=False)


def ecommerce_and_rfm() -> None:
    rng = np.random.default_rng(11)
    n = 500
    mem = rng.normal(3.5, 1, n).clip(0.2)
    app = rng.normal(12, 1, n)
    web = rng.normal(37, 1, n)
    sess = rng.normal(33, 1, n)
    spent = 25 * sess + 39 * app + 61 * mem - 1050 + rng.normal(0, 10, n)
    colors = [
        "Violet",
        "DarkGreen",
        "Bisque",
        "SaddleBrown",
        "MediumAquaMarine",
        "FloralWhite",
        "DarkSlateBlue",
        "Aqua",
        "Salmon",
        "Wheat",
    ] * 14
    pd.DataFrame(
        {
            "Email": [f"user{i}@example.com" for i in range(n)],
            "Address": [
                f"{rng.integers(1, 999)} {rng.choice(['Oak', 'Pine', 'Main', 'Lake'])} Street, "
                f"Apt. {rng.integers(1, 99)}\nSometown, ST {rng.integers(10000, 99999)}"
                for _ in range(n)
            ],
            "Avatar": rng.choice(colors, n),
            "Avg. Session Length": sess.round(6),
            "Time on App": app.round(6),
            "Time on Website": web.round(6),
            "Length of Membership": mem.round(6),
            "Yearly Amount Spent": spent.round(6),
        }
    ).to_csv("Ecommerce Customers", index=False)
    # RFM table
    n = 4000
    g = rng.integers(0, 4, n)
    pd.DataFrame(
        {
            "CustomerID": np.arange(12346, 12346 + n),
            "Recency": rng.gamma(np.array([1, 3, 6, 2])[g], 20).round().astype(int),
            "Frequency": rng.poisson(np.array([20, 5, 1, 10])[g]) + 1,
            "Monetary": rng.lognormal(np.array([8, 6.5, 5, 7])[g], 0.6).round(2),
            "Country": rng.choice(
                ["United Kingdom", "Germany", "France", "EIRE"], n, p=[0.9, 0.04, 0.03, 0.03]
            ),
        }
    ).to_csv("rfm.csv", index=False)


def saas_hotel_insurance() -> None:
    rng = np.random.default_rng(7)

    def mix(n, groups):
        sizes = rng.multinomial(n, [g[0] for g in groups])
        rows = []
        for size, (_share, f) in zip(sizes, groups, strict=True):
            rows.append(f(size))
        return (
            pd.concat(rows, ignore_index=True).sample(frac=1, random_state=1).reset_index(drop=True)
        )

    # SaaS subscriptions
    def saas(kind):
        def f(m):
            big, active, churny = kind
            return pd.DataFrame(
                {
                    "account_id": [f"A{i:06d}" for i in rng.choice(10**6, m, replace=False)],
                    "plan": rng.choice(
                        ["Starter", "Pro", "Enterprise"],
                        m,
                        p=[0.6, 0.3, 0.1] if not big else [0.1, 0.4, 0.5],
                    ),
                    "seats": np.maximum(1, rng.lognormal(3.2 if big else 1.2, 0.5, m)).round(),
                    "MonthlyFee": rng.lognormal(7 if big else 4.2, 0.4, m).round(2),
                    "logins_last_30d": rng.poisson(200 if active else 15, m),
                    "avg_session_minutes": rng.gamma(4, 9 if active else 3, m).round(1),
                    "support_tickets": rng.poisson(6 if churny else 1, m),
                    "nps_score": np.clip(rng.normal(2 if churny else 8, 1.5, m), 0, 10).round(),
                    "months_active": rng.integers(1, 60, m)
                    if not churny
                    else rng.integers(1, 10, m),
                    "late_invoices": rng.poisson(2 if churny else 0.1, m),
                    "feature_adoption_pct": np.clip(
                        rng.normal(70 if active else 25, 12, m), 0, 100
                    ).round(1),
                    "region": rng.choice(["EMEA", "NA", "APAC"], m),
                }
            )

        return f

    df = mix(
        6000,
        [
            (0.45, saas((False, True, False))),
            (0.2, saas((True, True, False))),
            (0.2, saas((False, False, True))),
            (0.15, saas((False, False, False))),
        ],
    )
    df["account_id"] = [f"A{i:06d}" for i in rng.choice(10**6, len(df), replace=False)]
    df.loc[rng.choice(len(df), 40), "nps_score"] = np.nan
    df.to_csv("saas.csv", index=False)

    # Hotel loyalty
    def hotel(kind):
        def f(m):
            biz, lux, lapsed = kind
            return pd.DataFrame(
                {
                    "GuestID": np.arange(m) + rng.integers(1e6),
                    "Age": np.clip(rng.normal(45 if biz else 35, 9, m), 18, 85).round(),
                    "StaysPerYear": rng.poisson(12 if biz else 2, m),
                    "AvgNights": np.clip(rng.normal(1.6 if biz else 4, 0.8, m), 1, 14).round(1),
                    "AvgRoomRate": rng.lognormal(5.6 if lux else 4.7, 0.25, m).round(2),
                    "SpaSpend": (
                        rng.lognormal(5 if lux else 2, 1, m)
                        * (rng.random(m) < (0.7 if lux else 0.2))
                    ).round(2),
                    "FnBSpend": rng.lognormal(5.5 if lux else 4.5, 0.6, m).round(2),
                    "DaysSinceLastStay": rng.integers(300, 900, m)
                    if lapsed
                    else rng.integers(3, 200, m),
                    "BookingLeadDays": rng.gamma(2, 4 if biz else 30, m).round(),
                    "Cancellations": rng.poisson(0.3, m),
                    "MemberTier": rng.choice(
                        ["Blue", "Silver", "Gold", "Platinum"],
                        m,
                        p=[0.6, 0.25, 0.1, 0.05] if not biz else [0.1, 0.3, 0.35, 0.25],
                    ),
                }
            )

        return f

    df = mix(
        5000,
        [
            (0.35, hotel((False, False, False))),
            (0.2, hotel((True, False, False))),
            (0.15, hotel((False, True, False))),
            (0.3, hotel((False, False, True))),
        ],
    )
    df.to_csv("hotel.csv", index=False, sep=";")

    # Insurance
    def ins(kind):
        def f(m):
            claims, multi, young = kind
            return pd.DataFrame(
                {
                    "policy_holder": [f"P-{rng.integers(1e7)}" for _ in range(m)],
                    "age": np.clip(rng.normal(26 if young else 50, 6, m), 18, 90).round(),
                    "annual_premium": rng.lognormal(7.2 if young else 6.6, 0.3, m).round(2),
                    "number_of_policies": rng.poisson(3 if multi else 0.4, m) + 1,
                    "claims_count_3y": rng.poisson(2.5 if claims else 0.2, m),
                    "claims_paid": (
                        rng.lognormal(8, 1, m) * (rng.random(m) < (0.9 if claims else 0.1))
                    ).round(2),
                    "tenure_years": rng.integers(0, 4, m) if young else rng.integers(2, 30, m),
                    "vehicle_age": rng.integers(0, 20, m),
                    "sales_channel": rng.choice(
                        ["agent", "online", "broker"],
                        m,
                        p=[0.5, 0.3, 0.2] if not young else [0.1, 0.8, 0.1],
                    ),
                }
            )

        return f

    df = mix(
        8000,
        [
            (0.4, ins((False, False, False))),
            (0.2, ins((False, True, False))),
            (0.15, ins((True, False, False))),
            (0.25, ins((False, False, True))),
        ],
    )
    df.to_csv("insurance.csv", index=False)


def churn_and_membership() -> None:
    """Five more shapes (session 34): a bank's card churners (10,127 x 21, an income band
    of ordered levels), an e-commerce churn table (5,630 x 20, missing cells), an Iranian
    telecom's churn table (3,150 x 14, call failures, SMS, an age group), B2B SaaS accounts
    (3,000 x 10: ARR in USD, support tickets in 90 days, NPS, days since last login) and a
    gym's members (2,500 x 9: classes attended, personal-training spend in EUR, missed
    payments)."""
    rng = np.random.default_rng(7)
    # 1) BankChurners-like (10,127 x 21)
    n = 10127
    seg = rng.choice(4, n, p=[0.4, 0.25, 0.2, 0.15])
    income_cat = np.array(
        ["Less than $40K", "$40K - $60K", "$60K - $80K", "$80K - $120K", "$120K +", "Unknown"]
    )
    df = pd.DataFrame(
        {
            "CLIENTNUM": rng.choice(np.arange(700000000, 830000000), n, replace=False),
            "Attrition_Flag": np.where(
                rng.random(n) < np.where(seg == 3, 0.45, 0.08),
                "Attrited Customer",
                "Existing Customer",
            ),
            "Customer_Age": np.clip(rng.normal(46, 8, n).round(), 26, 73).astype(int),
            "Gender": rng.choice(["M", "F"], n),
            "Dependent_count": rng.integers(0, 6, n),
            "Education_Level": rng.choice(
                [
                    "High School",
                    "Graduate",
                    "Uneducated",
                    "Unknown",
                    "College",
                    "Post-Graduate",
                    "Doctorate",
                ],
                n,
            ),
            "Marital_Status": rng.choice(["Married", "Single", "Unknown", "Divorced"], n),
            "Income_Category": income_cat[np.clip(rng.integers(0, 5, n) + (seg == 1) * 2, 0, 5)],
            "Card_Category": rng.choice(
                ["Blue", "Silver", "Gold", "Platinum"], n, p=[0.93, 0.055, 0.012, 0.003]
            ),
            "Months_on_book": np.clip(rng.normal(36, 8, n).round(), 13, 56).astype(int),
            "Total_Relationship_Count": rng.integers(1, 7, n),
            "Months_Inactive_12_mon": np.clip(rng.poisson(2, n) + (seg == 3), 0, 6),
            "Contacts_Count_12_mon": np.clip(rng.poisson(2.4, n) + (seg == 3), 0, 6),
            "Credit_Limit": np.round(
                np.where(seg == 1, rng.lognormal(10, 0.4, n), rng.lognormal(8.6, 0.6, n)), 1
            ),
        }
    )
    df["Total_Revolving_Bal"] = np.round(np.clip(rng.normal(1160, 800, n), 0, 2517)).astype(int) * (
        rng.random(n) > 0.25
    )
    df["Avg_Open_To_Buy"] = np.maximum(df["Credit_Limit"] - df["Total_Revolving_Bal"], 0).round(1)
    df["Total_Amt_Chng_Q4_Q1"] = np.round(rng.normal(0.76, 0.2, n).clip(0, 3.4), 3)
    tr = np.where(
        seg == 2,
        rng.normal(14000, 2500, n),
        np.where(seg == 3, rng.normal(2500, 800, n), rng.normal(4000, 1200, n)),
    ).clip(510)
    df["Total_Trans_Amt"] = tr.round().astype(int)
    df["Total_Trans_Ct"] = np.round(tr / 60 + rng.normal(0, 8, n)).clip(10).astype(int)
    df["Total_Ct_Chng_Q4_Q1"] = np.round(rng.normal(0.71, 0.23, n).clip(0, 3.7), 3)
    df["Avg_Utilization_Ratio"] = np.round(df["Total_Revolving_Bal"] / df["Credit_Limit"], 3).clip(
        0, 0.999
    )
    df.to_csv("bankchurners.csv", index=False)
    # 2) E-commerce churn (5,630 x 20)
    n = 5630
    seg = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    ec = pd.DataFrame(
        {
            "CustomerID": np.arange(50001, 50001 + n),
            "Churn": (rng.random(n) < np.where(seg == 2, 0.45, 0.1)).astype(int),
            "Tenure": np.where(seg == 2, rng.integers(0, 4, n), rng.integers(0, 31, n)).astype(
                float
            ),
            "PreferredLoginDevice": rng.choice(["Mobile Phone", "Phone", "Computer"], n),
            "CityTier": rng.choice([1, 2, 3], n, p=[0.65, 0.05, 0.3]),
            "WarehouseToHome": rng.integers(5, 37, n).astype(float),
            "PreferredPaymentMode": rng.choice(
                ["Debit Card", "Credit Card", "E wallet", "UPI", "COD", "CC", "Cash on Delivery"], n
            ),
            "Gender": rng.choice(["Male", "Female"], n),
            "HourSpendOnApp": rng.integers(0, 5, n).astype(float),
            "NumberOfDeviceRegistered": rng.integers(1, 7, n),
            "PreferedOrderCat": rng.choice(
                ["Laptop & Accessory", "Mobile Phone", "Fashion", "Mobile", "Grocery", "Others"], n
            ),
            "SatisfactionScore": rng.integers(1, 6, n),
            "MaritalStatus": rng.choice(["Single", "Married", "Divorced"], n),
            "NumberOfAddress": rng.integers(1, 12, n),
            "Complain": (rng.random(n) < np.where(seg == 2, 0.5, 0.2)).astype(int),
            "OrderAmountHikeFromlastYear": rng.integers(11, 27, n).astype(float),
            "CouponUsed": np.where(seg == 1, rng.integers(2, 8, n), rng.integers(0, 3, n)).astype(
                float
            ),
            "OrderCount": np.where(seg == 1, rng.integers(4, 16, n), rng.integers(1, 4, n)).astype(
                float
            ),
            "DaySinceLastOrder": np.where(
                seg == 2, rng.integers(0, 3, n), rng.integers(2, 18, n)
            ).astype(float),
            "CashbackAmount": np.round(
                np.where(seg == 1, rng.normal(230, 40, n), rng.normal(160, 25, n)), 2
            ),
        }
    )
    for c in [
        "Tenure",
        "WarehouseToHome",
        "HourSpendOnApp",
        "OrderAmountHikeFromlastYear",
        "CouponUsed",
        "OrderCount",
        "DaySinceLastOrder",
    ]:
        ec.loc[rng.random(n) < 0.05, c] = np.nan
    ec.to_csv("ecommerce_churn.csv", index=False)
    # 3) Iranian telecom churn (3,150 x 14)
    n = 3150
    seg = rng.choice(3, n, p=[0.55, 0.3, 0.15])
    sec = np.where(
        seg == 1,
        rng.normal(9000, 2500, n),
        np.where(seg == 2, rng.normal(700, 300, n), rng.normal(3500, 1200, n)),
    ).clip(0)
    tc = pd.DataFrame(
        {
            "Call  Failure": rng.poisson(7, n),
            "Complains": (rng.random(n) < np.where(seg == 2, 0.35, 0.03)).astype(int),
            "Subscription  Length": rng.integers(3, 48, n),
            "Charge  Amount": np.clip(np.round(sec / 1500 + rng.normal(0, 1, n)), 0, 10).astype(
                int
            ),
            "Seconds of Use": sec.round().astype(int),
            "Frequency of use": np.round(sec / 60 + rng.normal(0, 10, n)).clip(0).astype(int),
            "Frequency of SMS": np.where(
                seg == 0, rng.poisson(20, n), rng.poisson(150, n) * (seg == 1) + rng.poisson(5, n)
            ),
            "Distinct Called Numbers": np.round(sec / 250 + rng.normal(0, 4, n))
            .clip(0)
            .astype(int),
            "Age Group": rng.choice([1, 2, 3, 4, 5], n, p=[0.05, 0.4, 0.35, 0.12, 0.08]),
            "Tariff Plan": rng.choice([1, 2], n, p=[0.92, 0.08]),
            "Status": rng.choice([1, 2], n, p=[0.75, 0.25]),
        }
    )
    tc["Age"] = tc["Age Group"].map({1: 15, 2: 25, 3: 30, 4: 45, 5: 55})
    tc["Customer Value"] = np.round(
        tc["Seconds of Use"] * 0.05 + tc["Frequency of SMS"] * 2 + rng.normal(0, 30, n), 3
    ).clip(0)
    tc["Churn"] = (rng.random(n) < np.where(seg == 2, 0.6, 0.05)).astype(int)
    tc.to_csv("telecom_iran.csv", index=False)
    rng = np.random.default_rng(11)
    n = 3000
    seg = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])
    df = pd.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(n)],
            "plan": rng.choice(
                ["Starter", "Team", "Business", "Enterprise"], n, p=[0.4, 0.35, 0.2, 0.05]
            ),
            "ARR_USD": np.round(
                np.where(seg == 2, rng.lognormal(10.5, 0.5, n), rng.lognormal(8.5, 0.6, n)), 0
            ),
            "seats": np.where(seg == 2, rng.integers(50, 400, n), rng.integers(1, 40, n)),
            "days_since_last_login": np.where(
                seg == 3, rng.integers(30, 120, n), rng.integers(0, 10, n)
            ),
            "support_tickets_90d": np.where(seg == 1, rng.poisson(9, n), rng.poisson(1.5, n)),
            "NPS": np.clip(
                np.where(seg == 1, rng.normal(4, 2, n), rng.normal(8, 1.5, n)).round(), 0, 10
            ),
            "feature_adoption_pct": np.clip(
                np.where(seg == 3, rng.normal(15, 8, n), rng.normal(55, 15, n)), 0, 100
            ).round(1),
            "months_as_customer": rng.integers(1, 72, n),
            "churned": (rng.random(n) < np.where(seg == 3, 0.4, 0.05)).astype(int),
        }
    )
    df.to_csv("b2b_saas.csv", index=False)
    n = 2500
    seg = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    gym = pd.DataFrame(
        {
            "MemberID": np.arange(1, n + 1),
            "Age": np.clip(rng.normal(35, 10, n), 16, 80).round(),
            "Gender": rng.choice(["Male", "Female"], n),
            "Membership_Months": rng.integers(1, 60, n),
            "Visits_Per_Week": np.round(
                np.where(
                    seg == 0,
                    rng.normal(4, 1, n),
                    np.where(seg == 1, rng.normal(0.5, 0.4, n), rng.normal(2, 0.7, n)),
                ).clip(0),
                1,
            ),
            "Classes_Attended_Last_Month": np.where(
                seg == 2, rng.poisson(10, n), rng.poisson(2, n)
            ),
            "PT_Spend_EUR": np.round(
                np.where(seg == 0, rng.lognormal(5, 0.5, n), rng.lognormal(2, 1, n)), 2
            ),
            "Missed_Payments": np.where(seg == 1, rng.poisson(1.5, n), rng.poisson(0.1, n)),
            "Membership_Type": rng.choice(["Basic", "Standard", "Premium"], n, p=[0.5, 0.35, 0.15]),
        }
    )
    gym.to_csv("gym.csv", index=False)


def crm_export() -> None:
    """A CRM export (3,000 x 19, UTF-8 with BOM): names, e-mails, phone numbers, a city,
    dates written day first, "£1,234.50" totals, a loyalty tier, free-text notes."""
    rng = np.random.default_rng(21)
    n = 3000
    seg = rng.choice(4, n, p=[0.45, 0.25, 0.2, 0.1])
    first = rng.choice(["Anna", "Ben", "Carla", "Dev", "Eva", "Finn", "Gita", "Hugo"], n)
    last = rng.choice(["Smith", "Jones", "Khan", "Lopez", "Ng", "Olsen"], n)
    signup = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 1800, n), "D")
    lastp = pd.Timestamp("2024-06-30") - pd.to_timedelta(
        np.where(seg == 3, rng.integers(200, 600, n), rng.integers(0, 90, n)), "D"
    )
    orders = (
        np.where(
            seg == 1, rng.poisson(25, n), np.where(seg == 3, rng.poisson(2, n), rng.poisson(6, n))
        )
        + 1
    )
    aov = np.round(np.where(seg == 2, rng.lognormal(5.5, 0.3, n), rng.lognormal(4, 0.3, n)), 2)
    spent = np.round(orders * aov, 2)
    df = pd.DataFrame(
        {
            "CustomerID": [f"CU-{i:06d}" for i in range(n)],
            "First Name": first,
            "Last Name": last,
            "Email": [
                f"{a.lower()}.{b.lower()}{i}@example.com"
                for i, (a, b) in enumerate(zip(first, last, strict=True))
            ],
            "Phone": [
                f"+44 7{rng.integers(100, 999)} {rng.integers(100000, 999999)}" for _ in range(n)
            ],
            "City": rng.choice(["London", "Leeds", "Bristol", "Glasgow"], n),
            "Signup Date": signup.strftime("%d/%m/%Y"),
            "Last Purchase Date": lastp.strftime("%d/%m/%Y"),
            "Total Orders": orders,
            "Total Spent": [f"£{v:,.2f}" for v in spent],
            "Avg Order Value": aov,
            "Loyalty Tier": np.where(seg == 1, "Gold", rng.choice(["Bronze", "Silver"], n)),
            "Newsletter": rng.choice(["Yes", "No"], n),
            "Preferred Channel": rng.choice(["Online", "Store", "App"], n),
            "Returns Count": rng.poisson(np.where(seg == 2, 3, 0.5)),
            "Support Tickets": rng.poisson(0.8, n),
            "Age": np.clip(rng.normal(40, 12, n), 18, 85).round(),
            "Gender": rng.choice(["F", "M", "Other"], n, p=[0.5, 0.47, 0.03]),
            "Notes": rng.choice(
                ["", "called about delivery", "VIP - handle with care", "prefers email", ""], n
            ),
        }
    )
    df.loc[rng.random(n) < 0.03, "Age"] = np.nan
    df.to_csv("crm_export.csv", index=False, encoding="utf-8-sig")


def streaming() -> None:
    """A streaming service's subscribers (2,500 x 11): a subscription type of ordered
    levels, join and last payment dates written dd-mm-yy, watch hours per week."""
    rng = np.random.default_rng(5)
    n = 2500
    seg = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    join = pd.Timestamp("2021-01-01") + pd.to_timedelta(
        np.where(seg == 0, rng.integers(0, 300, n), rng.integers(300, 900, n)), "D"
    )
    lastpay = pd.Timestamp("2023-07-01") - pd.to_timedelta(
        np.where(seg == 2, rng.integers(40, 200, n), rng.integers(0, 30, n)), "D"
    )
    df = pd.DataFrame(
        {
            "User ID": np.arange(1, n + 1),
            "Subscription Type": np.where(
                seg == 1,
                rng.choice(["Premium", "Standard"], n, p=[0.7, 0.3]),
                rng.choice(["Basic", "Standard"], n),
            ),
            "Monthly Revenue": np.where(seg == 1, rng.integers(13, 16, n), rng.integers(10, 13, n)),
            "Join Date": join.strftime("%d-%m-%y"),
            "Last Payment Date": lastpay.strftime("%d-%m-%y"),
            "Country": rng.choice(
                ["United States", "Spain", "Canada", "United Kingdom", "Australia"], n
            ),
            "Age": rng.integers(26, 52, n),
            "Gender": rng.choice(["Male", "Female"], n),
            "Device": rng.choice(["Smartphone", "Tablet", "Smart TV", "Laptop"], n),
            "Plan Duration": "1 Month",
            "Watch Hours Per Week": np.round(
                np.where(seg == 1, rng.normal(15, 3, n), rng.normal(6, 2, n)).clip(0), 1
            ),
        }
    )
    df.to_csv("streaming.csv", index=False)


TABLES = [
    "telco.csv",
    "marketing_campaign.csv",
    "Ecommerce Customers",
    "rfm.csv",
    "saas.csv",
    "hotel.csv",
    "insurance.csv",
    "bankchurners.csv",
    "ecommerce_churn.csv",
    "telecom_iran.csv",
    "b2b_saas.csv",
    "gym.csv",
    "crm_export.csv",
    "streaming.csv",
]


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="unseen-"))
    out.mkdir(parents=True, exist_ok=True)
    here = Path.cwd()
    os.chdir(out)
    try:
        telco_and_marketing()
        ecommerce_and_rfm()
        saas_hotel_insurance()
        churn_and_membership()
        crm_export()
        streaming()
    finally:
        os.chdir(here)
    exe = Path(sys.executable).with_name("custseg")
    for table in TABLES:
        name = table.split(".")[0].replace(" ", "_").lower()
        run = subprocess.run(
            [
                str(exe),
                "segment",
                str(out / table),
                "--out",
                str(out / name),
                "--quiet",
                "--seed",
                "0",
                "--force",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            print(f"== {name}: exit {run.returncode}\n{run.stderr[-800:]}")
            continue
        s = json.loads((out / name / "summary.json").read_text())
        print(f"== {name}: k={s['k']}")
        for seg in s["segments"]:
            share = seg.get("spend_share")
            spend = f", {share:.0%} of spend" if share is not None else ""
            print(
                f"  [{seg['id']}] ({seg['size']:,}{spend}) {seg['name']}\n"
                f"      -> {seg.get('recommendation_kind')}: {seg['recommendation'][:150]}\n"
                f"      evidence: {'; '.join(seg.get('evidence') or [])}"
            )


if __name__ == "__main__":
    main()
