"""Helpers for the store, service and history tests: PostgreSQL discovery, synthetic
purchase logs with their expected features, and small model bundles."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from custseg.features import transactions_to_customers

PG_ENV = "CUSTSEG_TEST_PG_URL"
FEATURES_COMPARED = ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
                     "interpurchase_days_mean", "interpurchase_days_cv", "return_share",
                     "n_lines")


# ------------------------------------------------------------------ PostgreSQL
def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_url() -> str:
    """The PostgreSQL URL for the tests (an emptied database).

    ``CUSTSEG_TEST_PG_URL`` when set (a failure to connect then fails the test).  Otherwise
    a server on 127.0.0.1:5432 with the ``postgres`` user and no password, if one answers.
    Otherwise the test is skipped, except under CI (``CI=true``), where it fails: CI's
    .ci/run starts a server and sets the variable.
    """
    from custseg.store import StoreError, open_store

    url = os.environ.get(PG_ENV)
    explicit = bool(url)
    if not url:
        if _reachable("127.0.0.1", 5432):
            url = "postgresql://postgres@127.0.0.1:5432/postgres"
        elif os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but no PostgreSQL server: {PG_ENV} is unset and nothing "
                        "listens on 127.0.0.1:5432 (.ci/run starts one)")
        else:
            pytest.skip(f"no PostgreSQL server ({PG_ENV} unset, nothing on 127.0.0.1:5432)")
    try:
        url = worker_database(url)
        store = open_store(url)
    except (StoreError, sa.exc.SQLAlchemyError) as exc:
        if explicit or os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {url} is not usable: {exc}")
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not usable without a password: {exc}")
    store.drop_all()
    store.close()
    return url


def worker_database(url: str) -> str:
    """``url`` itself, or under pytest-xdist (``-n 2``) the worker's own database next to
    it (``custseg_test_gw0``, created when missing): every test empties its database
    first, so two workers must not share one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    from custseg.store import normalise_url

    base = sa.make_url(normalise_url(url))
    name = f"{base.database or 'postgres'}_{worker}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                 {"n": name}).first()
            if found is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def store_url(kind: str, tmp_path: Path) -> str:
    """A fresh, empty store of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return postgres_url()


# ------------------------------------------------------------------ purchase logs
def make_log(n_customers: int = 30, n_lines: int = 500, *, seed: int = 0,
             detailed: bool = True, start: str = "2024-01-01", days: int = 365) -> pd.DataFrame:
    """A messy synthetic purchase log with one unique ``event_id`` a line.

    ``detailed``: quantity, unit price, order ids (some ``C`` cancellations), products,
    negative quantities (returns), zero and negative prices (left out).  Otherwise amounts
    only (negative: returns), no order id: frequency counts purchase days.
    """
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    rows = []
    weights = rng.gamma(1.0, 1.0, n_customers)
    weights /= weights.sum()
    for i in range(n_lines):
        c = int(rng.choice(n_customers, p=weights))
        day = int(rng.integers(0, days))
        ts = t0 + pd.Timedelta(days=day, minutes=int(rng.integers(0, 24 * 60)))
        row: dict[str, Any] = {"event_id": f"ev-{seed}-{i:05d}", "customer_id": f"c{c:03d}",
                               "timestamp": ts}
        if detailed:
            u = rng.random()
            qty = float(rng.integers(1, 6))
            price = float(rng.choice([1.25, 2.5, 3.99, 10.0, 24.5]))
            order = f"o{c:03d}-{day}"  # one order a customer a day
            if u < 0.06:
                order = "C" + order  # a cancelled order
            elif u < 0.10:
                qty = -qty  # a return
            elif u < 0.12:
                price = 0.0  # free item: left out
            elif u < 0.13:
                price = -price  # adjustment: left out
            row.update(quantity=qty, unit_price=price, order_id=order,
                       product_id=f"p{int(rng.integers(0, 15))}")
        else:
            amount = round(float(rng.gamma(2.0, 20.0)), 2)
            if rng.random() < 0.07:
                amount = -amount
            row["amount"] = amount
        rows.append(row)
    return pd.DataFrame(rows)


def expected_features(log: pd.DataFrame, as_of: str | None = None) -> pd.DataFrame:
    """The batch features (custseg.features) of a log, by customer id."""
    detailed = "quantity" in log.columns
    columns = ({"customer": "customer_id", "date": "timestamp", "quantity": "quantity",
                "price": "unit_price", "invoice": "order_id", "product": "product_id"}
               if detailed else {"customer": "customer_id", "date": "timestamp",
                                 "amount": "amount"})
    data = log.drop(columns=["event_id"])
    fr = transactions_to_customers(data, columns=columns, duplicates="keep", as_of=as_of)
    return fr.customers.set_index("customer_id")


def event_dicts(log: pd.DataFrame) -> list[dict[str, Any]]:
    """The log as JSON events for ``POST /v1/events``."""
    out = []
    for rec in log.to_dict("records"):
        e = {k: v for k, v in rec.items() if not (isinstance(v, float) and np.isnan(v))}
        e["timestamp"] = pd.Timestamp(e["timestamp"]).isoformat()
        out.append(e)
    return out


def events(log: pd.DataFrame) -> list[Any]:
    """The log as :class:`custseg.store.Event` objects."""
    from custseg.store import Event

    out = []
    for rec in log.to_dict("records"):
        out.append(Event(rec["event_id"], rec["customer_id"],
                         pd.Timestamp(rec["timestamp"]).to_pydatetime(),
                         amount=rec.get("amount"), quantity=rec.get("quantity"),
                         unit_price=rec.get("unit_price"), order_id=rec.get("order_id"),
                         product_id=rec.get("product_id")))
    return out


def assert_features_equal(got: dict[str, Any] | None, want: pd.Series, who: str) -> None:
    assert got is not None, f"{who}: no features in the store"
    for k in FEATURES_COMPARED:
        g, w = got[k], want[k]
        if w is None or (isinstance(w, float) and np.isnan(w)) or pd.isna(w):
            assert g is None or (isinstance(g, float) and np.isnan(g)), (who, k, g, w)
        else:
            assert g is not None and abs(float(g) - float(w)) <= 1e-6 * max(1.0, abs(w)), \
                (who, k, g, w)
    if "distinct_products" in want.index:
        assert got["distinct_products"] == want["distinct_products"], (who, got, want)


def day_after_last(log: pd.DataFrame) -> dt.date:
    """The as-of date batch features use by default, for a log whose last line counts."""
    counted = log
    if "unit_price" in log.columns:
        counted = log[(log["unit_price"] > 0) & (log["quantity"] != 0)]
    return (pd.Timestamp(counted["timestamp"].max()).normalize()
            + pd.Timedelta(days=1)).date()


# ------------------------------------------------------------------ bundles
def tx_bundle(folder: Path, *, seed: int = 0, n_customers: int = 300, k: int = 3) -> Path:
    """A bundle segmenting customers of a synthetic purchase log on recency, frequency
    and monetary (a model the event endpoint can feed)."""
    from custseg.bundle import save_bundle
    from custseg.pipeline import segment_transactions

    log = make_log(n_customers, n_customers * 12, seed=seed, detailed=False)
    result = segment_transactions(log.drop(columns=["event_id"]),
                                  columns={"customer": "customer_id", "date": "timestamp",
                                           "amount": "amount"}, k=k, random_state=0)
    return save_bundle(result.segmenter, folder, training=result.table, summary=result.summary)


def mall_bundle(folder: Path, mall_path: Path, **options: Any) -> Path:
    """A bundle of the Mall Customers data on age, income and spending score."""
    from custseg.bundle import save_bundle
    from custseg.io import load_table
    from custseg.segmenter import Segmenter

    df = load_table(mall_path)
    options = {"k": 5, "random_state": 0,
               "features": ["Age", "Annual Income (k$)", "Spending Score (1-100)"], **options}
    seg = Segmenter(**options).fit(df)
    return save_bundle(seg, folder, training=df)


# ------------------------------------------------------------------ a real server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``custseg serve`` as a real subprocess on 127.0.0.1."""

    def __init__(self, model: Path, store: str, *args: str, env: dict[str, str] | None = None,
                 log: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("custseg")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "custseg.cli"]
        self.log = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*cmd, "serve", str(model), "--store", store, "--host", "127.0.0.1", "--port",
             str(self.port), *args],
            stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})})

    def wait_ready(self, timeout: float = 90) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"custseg serve exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("custseg serve did not become ready")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.log is not subprocess.DEVNULL:
            self.log.close()
