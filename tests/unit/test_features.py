"""Transactions -> customer features (custseg.features), and the commands that use it.

The real 125,000-transaction file is checked against an independent pandas computation;
small hand-made files, one kind of mess each, are checked against features computed by hand
(the arithmetic is in the comments).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import invoke, summary_validator
from custseg import features as F
from custseg.errors import DataError, InputFileError, UsageError
from custseg.features import (
    RFM_SEGMENT_NAMES,
    RFM_SEGMENTS,
    quintile_score,
    rfm_scores,
    rfm_segment,
    transactions_to_customers,
)

RETAIL = "retail_data_transactions.csv"




def write(path: Path, lines: list[str], *, encoding: str = "utf-8", newline: str = "\n",
          final_newline: bool = True) -> Path:
    text = newline.join(lines) + (newline if final_newline else "")
    path.write_bytes(text.encode(encoding))
    return path


def by_id(result: F.CustomerFeatures) -> pd.DataFrame:
    return result.customers.set_index(result.id_column)


# ------------------------------------------------------------------ the real file
@pytest.fixture(scope="module")
def retail(shared_data: Path) -> F.CustomerFeatures:
    return transactions_to_customers(shared_data / RETAIL)


def test_real_file_against_pandas(retail: F.CustomerFeatures, shared_data: Path) -> None:
    raw = pd.read_csv(shared_data / RETAIL, dtype={"customer_id": str})
    raw["day"] = pd.to_datetime(raw["trans_date"], format="%m/%d/%Y")
    as_of = raw["day"].max() + pd.Timedelta(days=1)
    assert retail.report["as_of"] == f"{as_of:%Y-%m-%d}" == "2015-03-17"
    assert retail.report["columns"] == {"customer": "customer_id", "date": "trans_date",
                                        "amount": "tran_amount", "quantity": None,
                                        "price": None, "invoice": None, "product": None}
    assert retail.report["dates"]["day_first"] is False
    got = by_id(retail)
    assert len(got) == 6889 and retail.report["n_customers"] == 6889
    g = raw.groupby("customer_id")
    days = raw.drop_duplicates(["customer_id", "day"]).sort_values(["customer_id", "day"])
    gaps = days.groupby("customer_id")["day"].diff().dt.days
    ipi = gaps.groupby(days["customer_id"]).agg(["mean", lambda s: s.std(ddof=0), "count"])
    ipi.columns = ["mean", "std", "n"]
    expected = pd.DataFrame({
        "recency_days": (as_of - g["day"].max()).dt.days,
        "frequency": g["day"].nunique(),
        "monetary": g["tran_amount"].sum().astype(float),
        "tenure_days": (as_of - g["day"].min()).dt.days,
        "n_lines": g.size(),
        "interpurchase_days_mean": ipi["mean"],
        "interpurchase_days_cv": (ipi["std"] / ipi["mean"]).where(ipi["n"] >= 2),
    })
    expected["avg_order_value"] = expected["monetary"] / expected["frequency"]
    got = got.loc[expected.index]
    for col in expected:
        np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float),
                                   rtol=1e-9, atol=1e-6, err_msg=col)
    # one customer by hand, as a reader would check it
    cs = got.loc["CS5295"]
    assert (cs["frequency"], cs["monetary"], cs["n_lines"]) == (25, 1637.0, 25)
    assert (got["return_share"] == 0).all() and "distinct_products" not in got
    assert got["monetary"].sum() == raw["tran_amount"].sum()
    c = retail.report["cleaning"]
    assert (c["lines_read"], c["lines_used"], c["duplicate_lines"],
            c["duplicate_lines_dropped"]) == (125000, 125000, 6, 0)


def test_real_file_rfm(retail: F.CustomerFeatures) -> None:
    t = retail.customers
    assert set(t["rfm_segment"]) == set(RFM_SEGMENT_NAMES)
    for score in ("r_score", "f_score", "m_score"):
        assert set(t[score]) <= {1, 2, 3, 4, 5}
        shares = t[score].value_counts(normalize=True)
        assert shares.max() < 0.3, f"{score} far from quintiles: {shares.to_dict()}"
    # lower recency -> higher R; equal values -> equal scores
    assert t.groupby("recency_days")["r_score"].nunique().max() == 1
    assert t.loc[t["recency_days"].idxmin(), "r_score"] == 5
    assert (t["rfm_score"] == t["r_score"].astype(str) + t["f_score"].astype(str)
            + t["m_score"].astype(str)).all()
    assert retail.report["rfm_segments"] == t["rfm_segment"].value_counts().to_dict()


# ------------------------------------------------------------------ hand-made mess
UCI_LINES = [
    "InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country",
    "536365;85123A;WHITE HANGING HEART £;6;01-12-2010 08:26;2,55;17850;United Kingdom",
    "536365;71053;WHITE METAL LANTERN;6;01-12-2010 08:26;3,39;17850;United Kingdom",
    "536365;71053;WHITE METAL LANTERN;6;01-12-2010 08:26;3,39;17850;United Kingdom",
    "C536379;D;Discount;-1;01-12-2010 09:41;27,50;17850;United Kingdom",
    "536380;22086;PAPER CHAIN KIT;24;13-12-2010 10:00;0;17850;United Kingdom",
    "536381;22086;PAPER CHAIN KIT;2;15-12-2010 10:00;2,00;13047;United Kingdom",
    "536382;22086;PAPER CHAIN KIT;2;15-12-2010 10:00;2,00;;United Kingdom",
    "A563185;B;Adjust bad debt;1;20-12-2010 14:50;-11062,06;13047;United Kingdom",
    "536383;22087;X;1;16-12-2010 11:00;1,00;13047;United Kingdom;extra",
    "536384;22088;Y;3;20-12-2010 11:00;1,50;13047;United Kingdom",
    "536385;85123A;Z;1;02-12-2010 12:00;2,55;17850;United Kingdom",
]


@pytest.fixture
def uci_file(tmp_path: Path) -> Path:
    """UCI Online Retail layout, semicolons, cp1252 with a '£', decimal commas, day-first
    dates, CRLF: a cancellation (C...), an exact duplicate line (4), a zero price (6), a
    missing customer (8), a negative price adjustment (9), a malformed line (10)."""
    return write(tmp_path / "online_retail.csv", UCI_LINES, encoding="cp1252",
                 newline="\r\n")


def test_uci_mess_by_hand(uci_file: Path) -> None:
    r = transactions_to_customers(uci_file, max_malformed_share=0.2)
    assert r.report["input"]["encoding"] == "cp1252"
    assert r.report["input"]["delimiter"] == ";"
    assert r.report["columns"] == {"customer": "CustomerID", "date": "InvoiceDate",
                                   "amount": None, "quantity": "Quantity",
                                   "price": "UnitPrice", "invoice": "InvoiceNo",
                                   "product": "StockCode"}
    assert r.report["dates"]["day_first"] is True
    assert r.report["numbers"]["price"] == "decimal"
    assert r.report["as_of"] == "2010-12-21"  # the day after 20-12-2010
    c = r.report["cleaning"]
    assert c == {"lines_read": 10, "malformed_lines": 1, "missing_customer_lines": 1,
                 "missing_date_lines": 0, "bad_date_lines": 0, "missing_amount_lines": 0,
                 "bad_amount_lines": 0, "duplicate_lines": 1, "duplicate_lines_dropped": 1,
                 "after_as_of_lines": 0, "zero_value_lines": 1, "negative_price_lines": 1,
                 "cancellation_lines": 1, "lines_used": 6, "customers_without_purchase": 0}
    t = by_id(r)
    assert list(t.index) == ["13047", "17850"]
    # 17850: orders 536365 (6 x 2.55 + 6 x 3.39, duplicate dropped) and 536385 (2.55),
    # cancellation 1 x 27.50: 15.30 + 20.34 + 2.55 - 27.50 = 10.69
    a = t.loc["17850"]
    assert a["monetary"] == pytest.approx(10.69)
    assert (a["frequency"], a["recency_days"], a["tenure_days"]) == (2, 19, 20)
    assert a["avg_order_value"] == pytest.approx(5.345)
    assert a["interpurchase_days_mean"] == 1.0 and np.isnan(a["interpurchase_days_cv"])
    assert (a["distinct_products"], a["n_lines"]) == (2, 4)
    assert a["return_share"] == pytest.approx(0.25)  # 1 cancellation of 4 lines
    # 13047: 2 x 2.00 on 15-12 and 3 x 1.50 on 20-12 (adjustment and malformed line out)
    b = t.loc["13047"]
    assert b["monetary"] == pytest.approx(8.5)
    assert (b["frequency"], b["recency_days"], b["tenure_days"]) == (2, 1, 6)
    assert b["interpurchase_days_mean"] == 5.0 and b["return_share"] == 0
    # R: 13047 is more recent; F tie -> both 1; M: 17850 spent more
    assert (a["r_score"], a["f_score"], a["m_score"], a["rfm_segment"]) == (1, 1, 3, "Lost")
    assert (b["r_score"], b["f_score"], b["m_score"], b["rfm_segment"]) == (
        3, 1, 1, "About to sleep")
    codes = {w.code: w for w in r.warnings}
    assert codes["malformed-line"].rows == [10]
    assert codes["missing-customer"].rows == [8]
    assert codes["duplicate-line"].rows == [4]
    assert {"zero-value", "negative-price"} <= set(codes)


def test_malformed_lines_past_the_threshold_are_an_error(uci_file: Path) -> None:
    with pytest.raises(InputFileError, match=r"1 of 11 lines .* e\.g\. lines 10"):
        transactions_to_customers(uci_file)


def test_bom_iso_dates_currency_and_returns(tmp_path: Path) -> None:
    path = write(tmp_path / "shop.csv", [
        "\ufeffcustomer,order_date,total",
        'A,2010-12-01 08:26,"£1,200.50"',
        "A,2010-12-05 10:00,£99.50",
        "B,2010-12-03,-20",
        "B,2010-12-01 09:00,100",
        "C,,50",
        "D,2010-12-06 11:00,12k",
    ])
    r = transactions_to_customers(path, max_bad_share=0.5)
    assert r.report["columns"]["date"] == "order_date"
    assert r.report["numbers"]["amount"] == "thousands"
    assert r.report["as_of"] == "2010-12-06"  # D's line is dropped: last day 2010-12-05
    c = r.report["cleaning"]
    assert (c["missing_date_lines"], c["bad_amount_lines"], c["cancellation_lines"]) == (1, 1, 1)
    t = by_id(r)
    assert list(t.index) == ["A", "B"]
    assert t.loc["A", "monetary"] == pytest.approx(1300.0)
    assert (t.loc["A", "frequency"], t.loc["A", "recency_days"],
            t.loc["A", "interpurchase_days_mean"]) == (2, 1, 4.0)
    # B: bought 100 on 12-01, returned 20 on 12-03: net 80, one purchase day, half returns
    assert (t.loc["B", "monetary"], t.loc["B", "frequency"], t.loc["B", "recency_days"],
            t.loc["B", "return_share"]) == (80.0, 1, 5, 0.5)
    bad = next(w for w in r.warnings if w.code == "bad-amount")
    assert (bad.column, bad.rows, bad.values) == ("total", [7], ["12k"])


def test_too_many_bad_values_name_column_and_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", ["client_id,date,amount", "a,2020-01-01,5",
                                      "a,2020-13-45,5", "b,someday,3", "b,2020-01-03,4"])
    with pytest.raises(DataError) as err:
        transactions_to_customers(path)
    p = err.value.problems[0]
    assert (p.column, p.code, p.rows, p.values) == ("date", "bad-date", [3, 4],
                                                     ["2020-13-45", "someday"])
    assert err.value.exit_code == 3 and "`date_format`" in str(err.value)


def test_us_dates_truncated_last_line_duplicates_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "us.csv", [
        "customer_id,trans_date,tran_amount",
        "CS1,2/11/2013,35", "CS1,2/13/2013,40", "CS2,12/1/2012,10", "CS2,12/1/2012,10",
        "CS2,1/15/2013,20", "CS1,2/2"], newline="\r\n", final_newline=False)
    r = transactions_to_customers(path, max_malformed_share=0.5)
    assert r.report["dates"]["day_first"] is False and r.report["as_of"] == "2013-02-14"
    t = by_id(r)
    assert (t.loc["CS1", "monetary"], t.loc["CS1", "frequency"], t.loc["CS1", "recency_days"],
            t.loc["CS1", "tenure_days"]) == (75.0, 2, 1, 3)
    # the duplicate line is kept (no order id, no time): 10 + 10 + 20, 2 purchase days,
    # tenure 2012-12-01 -> 2013-02-14 = 31 + 31 + 13 days
    assert (t.loc["CS2", "monetary"], t.loc["CS2", "frequency"], t.loc["CS2", "n_lines"],
            t.loc["CS2", "recency_days"], t.loc["CS2", "tenure_days"],
            t.loc["CS2", "interpurchase_days_mean"]) == (40.0, 2, 3, 30, 75, 45.0)
    codes = {w.code: w for w in r.warnings}
    assert codes["malformed-line"].rows == [7]
    assert "last line is truncated" in codes["malformed-line"].message
    assert codes["duplicate-line"].rows == [5] and "kept" in codes["duplicate-line"].message
    dropped = transactions_to_customers(path, max_malformed_share=0.5, duplicates="drop")
    assert by_id(dropped).loc["CS2", "monetary"] == 30.0


def test_iso_and_day_first_dates_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.csv", ["customer,date,amount", "X,2010-12-01 08:26,10",
                                          "X,03-12-2010,20", "X,15-12-2010,30",
                                          "Y,2010-12-10,5"])
    r = transactions_to_customers(path)
    assert r.report["dates"]["day_first"] is True
    t = by_id(r)
    # X: days 12-01, 12-03, 12-15: gaps 2 and 12, mean 7, population sd 5, CV 5/7
    x = t.loc["X"]
    assert (x["frequency"], x["monetary"], x["recency_days"], x["tenure_days"]) == (
        3, 60.0, 1, 15)
    assert x["interpurchase_days_mean"] == 7.0
    assert x["interpurchase_days_cv"] == pytest.approx(5 / 7, abs=1e-6)
    assert (t.loc["Y", "recency_days"], t.loc["Y", "frequency"]) == (6, 1)


def test_formats_seen_only_after_the_first_rows(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(F, "DATE_SAMPLE_ROWS", 2)
    path = write(tmp_path / "late.csv", ["customer,date,amount", "a,2010-12-01,1", "a,2010-12-02,1",
                                         "b,5 Dec 2010,2", "b,7 Dec 2010,2"])
    r = transactions_to_customers(path)
    assert r.report["cleaning"]["bad_date_lines"] == 0
    assert "%d %b %Y" in r.report["dates"]["formats"]
    assert by_id(r).loc["b", "tenure_days"] == 3  # as of 2010-12-08


def test_ambiguous_dates_and_date_format(tmp_path: Path) -> None:
    path = write(tmp_path / "amb.csv", ["customer,date,amount", "a,01/02/2020,1", "a,03/04/2020,1"])
    r = transactions_to_customers(path)
    assert r.report["dates"]["ambiguous"] is True and r.report["dates"]["day_first"] is False
    assert r.report["as_of"] == "2020-03-05"  # month first: January 2 and March 4
    r = transactions_to_customers(path, date_format="%d/%m/%Y")
    assert r.report["as_of"] == "2020-04-04"  # day first: 1 February and 3 April


def test_utf16_file(tmp_path: Path) -> None:
    path = write(tmp_path / "u16.csv", ["Kunde;Datum;Umsatz", "Müller;2020-01-01;1,5",
                                        "Müller;2020-01-03;2,5"], encoding="utf-16")
    r = transactions_to_customers(path, columns={"customer": "Kunde", "date": "Datum",
                                                 "amount": "Umsatz"})
    assert r.report["input"]["encoding"] == "utf-16"
    assert by_id(r).loc["Müller", "monetary"] == 4.0


def test_parquet_typed_columns_float_ids_and_as_of(tmp_path: Path) -> None:
    df = pd.DataFrame({
        "InvoiceNo": ["1", "1", "2", "C3", "4"],
        "StockCode": ["p1", "p2", "p1", "p1", "p9"],
        "Quantity": [2, 1, 1, -1, 5],
        "InvoiceDate": pd.to_datetime(["2011-01-01 10:00", "2011-01-01 10:00",
                                       "2011-01-10 09:00", "2011-01-11 09:00",
                                       "2011-02-01 09:00"]),
        "UnitPrice": [1.0, 3.0, 1.0, 1.0, 2.0],
        "CustomerID": [17850.0, 17850.0, 17850.0, 17850.0, np.nan],
    })
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    r = transactions_to_customers(path, as_of="2011-01-11")
    assert r.report["input"]["format"] == "parquet"
    t = by_id(r)
    assert list(t.index) == ["17850"]
    # the cancellation (01-11) and the customerless line are out; 2 + 3 + 1
    assert (t.loc["17850", "monetary"], t.loc["17850", "frequency"],
            t.loc["17850", "recency_days"], t.loc["17850", "distinct_products"]) == (
        6.0, 2, 1, 2)
    c = r.report["cleaning"]
    assert (c["missing_customer_lines"], c["after_as_of_lines"]) == (1, 1)


def test_customers_with_only_returns_are_left_out() -> None:
    tx = pd.DataFrame({"customer": ["a", "b"], "date": ["2020-01-01", "2020-01-02"],
                       "amount": [10.0, -5.0]})
    r = transactions_to_customers(tx)
    assert list(r.customers["customer"]) == ["a"]
    assert r.report["cleaning"]["customers_without_purchase"] == 1


def test_column_options(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", ["who,when,what", "a,2020-01-01,1"])
    with pytest.raises(DataError, match=r"no customer id column found.*`columns\['customer'\]`"):
        transactions_to_customers(path)
    with pytest.raises(UsageError, match=r"`columns\['amount'\]`: column 'nope' is not in the"):
        transactions_to_customers(path, columns={"amount": "nope"})
    r = transactions_to_customers(path, columns={"customer": "who", "date": "when",
                                                 "amount": "what"})
    assert r.report["inferred"] == [] and len(r.customers) == 1


@pytest.mark.parametrize("content", [b"", b"customer_id,date,amount\n"])
def test_empty_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError):
        transactions_to_customers(path)


def test_column_inference() -> None:
    m = F.infer_columns(["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate",
                         "Price", "Customer ID", "Country"])  # UCI Online Retail II
    assert (m.customer, m.invoice, m.date, m.quantity, m.price, m.product, m.amount) == (
        "Customer ID", "Invoice", "InvoiceDate", "Quantity", "Price", "StockCode", None)
    m = F.infer_columns(["order_id", "user_id", "order_date", "total_price"])
    assert (m.customer, m.invoice, m.date, m.amount) == ("user_id", "order_id", "order_date",
                                                         "total_price")


# ------------------------------------------------------------------ RFM
def test_quintile_scores_with_ties() -> None:
    assert quintile_score(pd.Series(range(10))).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # 4 of 10 share the lowest value: all get 1; the next value has 4 below it: 1 + 2 = 3
    s = pd.Series([1, 1, 1, 1, 2, 3, 4, 5, 6, 7])
    assert quintile_score(s).tolist() == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    # lower is better: the four 1s have 6 customers worse: 1 + floor(5 x 6 / 10) = 4
    assert quintile_score(s, higher_is_better=False).tolist() == [
        4, 4, 4, 4, 3, 3, 2, 2, 1, 1]
    assert quintile_score(pd.Series([7.0] * 6)).tolist() == [1] * 6


def test_rfm_grid_covers_every_cell_once() -> None:
    assert len(RFM_SEGMENTS) == 11 and len(set(RFM_SEGMENT_NAMES)) == 11
    cells = {(r, f): rfm_segment(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert set(cells.values()) == set(RFM_SEGMENT_NAMES)
    expected = {(5, 5): "Champions", (5, 4): "Champions", (4, 5): "Loyal", (3, 4): "Loyal",
                (5, 3): "Potential loyalist", (4, 2): "Potential loyalist", (5, 1): "New",
                (4, 1): "Promising", (3, 3): "Need attention", (3, 1): "About to sleep",
                (2, 3): "At risk", (1, 4): "At risk", (2, 5): "Cannot lose them",
                (1, 5): "Cannot lose them", (2, 2): "Hibernating", (1, 2): "Hibernating",
                (2, 1): "Hibernating", (1, 1): "Lost"}
    for cell, name in expected.items():
        assert cells[cell] == name, cell
    with pytest.raises(ValueError):
        rfm_segment(0, 3)


def test_rfm_scores_small_table() -> None:
    t = pd.DataFrame({"id": list("abcde"), "recency_days": [1, 10, 100, 10, 400],
                      "frequency": [9, 5, 1, 2, 1], "monetary": [900.0, 300, 10, 50, 5]})
    s = rfm_scores(t).set_index("id")
    # recency: 400 < 100 < 10 = 10 < 1 (best), by position 0, 1, 2, 2, 4 of 5
    assert s["r_score"].tolist() == [5, 3, 2, 3, 1]
    assert s["f_score"].tolist() == [5, 4, 1, 3, 1]
    assert s["m_score"].tolist() == [5, 4, 2, 3, 1]
    assert s["rfm_segment"].tolist() == ["Champions", "Loyal", "Hibernating",
                                         "Need attention", "Lost"]
    assert s.loc["a", "rfm_score"] == "555"


# ------------------------------------------------------------------ the commands
def test_cli_features(tmp_path: Path, uci_file: Path, shared_data: Path) -> None:
    out = tmp_path / "customers.parquet"
    proc = invoke("features", str(shared_data / RETAIL), "--out", str(out), cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    assert "customer  customer_id (inferred)" in proc.stdout
    t = pd.read_parquet(out)
    assert len(t) == 6889 and t.columns[0] == "customer_id"
    assert list(t.columns[1:]) == [c for c in F.FEATURE_COLUMNS if c != "distinct_products"]
    again = invoke("features", str(shared_data / RETAIL), "--out", str(out), cwd=tmp_path)
    assert again.exit_code == 2 and "--force" in again.stderr
    csv_out = tmp_path / "c.csv"
    proc = invoke("features", str(uci_file), "--out", str(csv_out), "--quiet",
                  cwd=tmp_path)
    assert proc.exit_code == 3 and "line" in proc.stderr and proc.stdout == ""
    proc = invoke("features", str(shared_data / RETAIL), "--out", str(csv_out),
                  "--amount-col", "nope", cwd=tmp_path)
    assert proc.exit_code == 2 and "--amount-col" in proc.stderr
    proc = invoke("features", str(shared_data / RETAIL), "--out", str(csv_out),
                  "--as-of", "2015-01-01", "-q", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    c = pd.read_csv(csv_out, dtype={"customer_id": str})
    assert c["last_purchase"].max() == "2014-12-31" and c["recency_days"].min() == 1


def test_cli_segment_transactions(tmp_path: Path, shared_data: Path) -> None:
    proc = invoke("segment", str(shared_data / RETAIL), "--transactions", "--k", "4",
                  "--out", "run", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    assert "RFM segments (rows)" in proc.stdout
    summary: dict[str, Any] = json.loads((tmp_path / "run" / "summary.json").read_text())
    errors = [e.message for e in summary_validator().iter_errors(summary)]
    assert errors == []
    assert summary["features"] == ["recency_days", "frequency", "monetary"]
    assert "monetary" in summary["preprocessing"]["log_columns"]
    assert summary["n_customers"] == 6889 and summary["input"]["rows"] == 125000
    rfm = summary["rfm"]
    assert sum(sum(row.values()) for row in rfm["crosstab"].values()) == 6889
    assert list(rfm["crosstab"]) == [s["name"] for s in summary["segments"]]
    for seg in summary["segments"]:
        assert sum(rfm["crosstab"][seg["name"]].values()) == seg["size"]
    assert sum(rfm["segments"].values()) == 6889
    assert summary["transactions"]["as_of"] == "2015-03-17"
    seg = pd.read_csv(tmp_path / "run" / "segments.csv")
    assert {"rfm_score", "rfm_segment", "r_score", "segment"} <= set(seg.columns)
    assert len(seg) == 6889
    proc = invoke("segment", str(shared_data / RETAIL), "--no-transactions", "--as-of",
                  "2015-01-01", "--out", "run2", cwd=tmp_path)
    assert proc.exit_code == 2 and "not with --no-transactions" in proc.stderr


def test_large_logs_by_slices_give_the_same_table(retail: F.CustomerFeatures, shared_data: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Above PART_LINES lines, duplicates, orders and products are computed by slices of
    customers (bounded hash tables): same result."""
    monkeypatch.setattr(F, "PART_LINES", 30_000)  # 125,000 lines -> 5 slices
    sliced = transactions_to_customers(shared_data / RETAIL)
    pd.testing.assert_frame_equal(sliced.customers, retail.customers)
    assert sliced.report["cleaning"] == retail.report["cleaning"]


def test_an_order_id_that_only_starts_with_c_is_an_order(tmp_path: Path) -> None:
    """C and digits is a cancellation (UCI Online Retail's C536379); the Superstore data's
    order ids (CA-2016-152156) are orders: every line of such a log was a cancellation."""
    from custseg.features.columns import is_cancelled_order
    from custseg.store.live import Event

    lines = pd.DataFrame({
        "Order ID": ["CA-2016-152156", "CA-2016-152157", "US-2015-108966", "C536379", "536380"],
        "Order Date": ["11/08/2016", "11/09/2016", "10/11/2015", "12/01/2010", "12/02/2010"],
        "Customer ID": ["CG-12520", "CG-12520", "DV-13045", "DV-13045", "DV-13045"],
        "Sales": [261.96, 731.94, 957.58, -20.0, 40.0]})
    fr = F.transactions_to_customers(lines)
    c = fr.customers.set_index("Customer ID")
    assert c.loc["CG-12520", "frequency"] == 2 and c.loc["CG-12520", "return_share"] == 0
    assert c.loc["DV-13045", "frequency"] == 2 and c.loc["DV-13045", "return_share"] > 0
    assert [is_cancelled_order(o) for o in lines["Order ID"]] == [False, False, False, True,
                                                                   False]
    kinds = [Event("e", "c", dt.datetime(2024, 1, 1), amount=5.0, order_id=o).kind
             for o in ("CA-2016-152156", "c12", " C536379 ")]
    assert kinds == ["purchase", "cancellation", "cancellation"]
