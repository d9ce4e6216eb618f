"""A transaction log given as a customer table is told apart (custseg.features.detect), and
``custseg segment`` computes its customers' features first, saying so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import invoke
from custseg.features.detect import detect_transaction_log, transaction_log_shape


def _log(rows: int = 400, customers: int = 60, seed: int = 0) -> pd.DataFrame:
    """A log as read from a file (text cells): several purchases a customer."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), "D")
    return pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in rng.integers(0, customers, rows)],
        "trans_date": days.strftime("%d/%m/%Y"),
        "tran_amount": [f"{v:.2f}" for v in rng.gamma(2, 30, rows)],
    })


def test_a_log_is_told_by_its_repeated_keys() -> None:
    shape = transaction_log_shape(_log())
    assert shape is not None and shape.customer == "customer_id"
    assert (shape.rows, shape.customers) == (400, 60)
    assert shape.columns.date == "trans_date" and shape.columns.amount == "tran_amount"
    lines = _log().rename(columns={"tran_amount": "Quantity"}).assign(UnitPrice="2.5")
    assert transaction_log_shape(lines).columns.price == "UnitPrice"


@pytest.mark.parametrize("change", [
    "unique ids", "a few reused ids", "customer_age", "customer type", "no date", "no amount",
    "dates that are not dates", "amounts that are not numbers", "too short"])
def test_customer_tables_are_not_taken_for_logs(change: str) -> None:
    log = _log()
    n = len(log)
    table = {
        "unique ids": lambda: log.assign(customer_id=[f"C{i}" for i in range(n)]),
        # 2% of the rows reuse an id: the reused-id warning's case, not a log
        "a few reused ids": lambda: log.assign(
            customer_id=[f"C{i if i % 50 else i + 1}" for i in range(n)]),
        "customer_age": lambda: log.rename(columns={"customer_id": "customer_age"}),
        "customer type": lambda: log.assign(customer_id=[f"T{i % 4}" for i in range(n)]),
        "no date": lambda: log.rename(columns={"trans_date": "region"}),
        "no amount": lambda: log.rename(columns={"tran_amount": "rating"}),
        "dates that are not dates": lambda: log.assign(trans_date="soon"),
        "amounts that are not numbers": lambda: log.assign(tran_amount="lots"),
        "too short": lambda: log.head(30),
    }[change]()
    assert transaction_log_shape(table) is None


def test_detected_on_a_file_from_its_first_rows(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    _log().to_csv(path, index=False)
    assert detect_transaction_log(path).customers == 60
    table = tmp_path / "table.csv"
    _log().assign(customer_id=[f"C{i}" for i in range(400)]).to_csv(table, index=False)
    assert detect_transaction_log(table) is None
    (tmp_path / "broken.csv").write_bytes(b"")
    assert detect_transaction_log(tmp_path / "broken.csv") is None  # its reading says why


def test_segment_computes_a_logs_customers_first(tmp_path: Path) -> None:
    path = tmp_path / "purchases.csv"
    _log(rows=1500, customers=150).to_csv(path, index=False)
    proc = invoke("segment", str(path), "--k", "3", "--out", "run", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    assert "purchases.csv is a transaction log" in " ".join(proc.stdout.split())
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["n_customers"] == 150 and "transactions" in summary
    assert len(pd.read_csv(tmp_path / "run" / "segments.csv")) == 150
    page = (tmp_path / "run" / "report.html").read_text("utf-8")
    assert "150 customers from the transaction log purchases.csv (1,500 lines" in page
    # told otherwise, the rows are the customers
    proc = invoke("segment", str(path), "--k", "3", "--no-transactions", "--out", "rows",
                  "-q", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    summary = json.loads((tmp_path / "rows" / "summary.json").read_text())
    assert summary["n_customers"] == 1500 and "transactions" not in summary
    # a transaction option says it is a log; the fast path and Spark do not take one
    proc = invoke("segment", str(path), "--k", "3", "--as-of", "2024-07-01", "--out", "asof",
                  "-q", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    assert json.loads((tmp_path / "asof" / "summary.json").read_text())[
        "transactions"]["as_of"] == "2024-07-01"
    proc = invoke("segment", str(path), "--engine", "local", "--out", "local", cwd=tmp_path)
    assert proc.exit_code == 2 and "--no-transactions" in proc.stderr
    assert not (tmp_path / "local").exists()


def test_compare_methods_refuses_a_log(tmp_path: Path) -> None:
    """Methods are compared on customers: a log is refused at once, with the way to its
    customer table."""
    path = tmp_path / "purchases.csv"
    _log().to_csv(path, index=False)
    proc = invoke("compare-methods", str(path), "--out", "cmp", cwd=tmp_path)
    assert proc.exit_code == 2 and "purchases.csv is a transaction log" in proc.stderr
    assert "custseg features" in proc.stderr and not (tmp_path / "cmp").exists()


def test_a_few_unreadable_dates_still_make_a_log() -> None:
    log = _log()
    log.loc[::25, "trans_date"] = "N/A"  # 4% of the lines
    assert transaction_log_shape(log) is not None
    assert transaction_log_shape(log.assign(trans_date=range(len(log)))) is None


def test_a_model_of_a_log_scores_a_log(tmp_path: Path) -> None:
    """A model made from a log scores a log: its customers' features are computed first (as
    of the day after its last line), and the log it was made from gets its segments back."""
    path = tmp_path / "purchases.csv"
    _log(rows=1500, customers=150).to_csv(path, index=False)
    proc = invoke("segment", str(path), "--k", "3", "--out", "run", "-q", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    proc = invoke("score", "run/model", str(path), "--out", "scored.csv", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    said = " ".join(proc.stdout.split())
    assert "purchases.csv is a transaction log: the features of its 150 customers" in said
    assert "columns not used" not in said
    seg = pd.read_csv(tmp_path / "run" / "segments.csv").set_index("customer_id")
    scored = pd.read_csv(tmp_path / "scored.csv").set_index("customer_id")
    assert len(scored) == 150 and (scored["segment"] == seg["segment"]).all()
    # the customer table itself (custseg features) is scored as a table
    seg.reset_index().to_csv(tmp_path / "customers.csv", index=False)
    proc = invoke("score", "run/model", "customers.csv", "--out", "s2.csv", cwd=tmp_path)
    assert proc.exit_code == 0 and "transaction log" not in proc.stdout
    again = pd.read_csv(tmp_path / "s2.csv").set_index("customer_id")
    assert (again["segment"] == seg["segment"]).all()


def test_explore_says_a_log_is_one(tmp_path: Path) -> None:
    path = tmp_path / "purchases.csv"
    _log().to_csv(path, index=False)
    proc = invoke("explore", str(path), "--out", "exp", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    assert "purchases.csv is a transaction log" in " ".join(proc.stdout.split())


def test_the_notebook_call_segments_a_logs_customers(tmp_path: Path) -> None:
    import custseg

    log = _log(rows=1500, customers=150)
    found = custseg.segment(log, k=3)
    assert len(found.to_frame()) == 150 and "transaction log" in found.source
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    assert len(custseg.segment(path, k=3).to_frame()) == 150
    assert len(custseg.segment(log, k=3, transactions=False).to_frame()) == 1500
