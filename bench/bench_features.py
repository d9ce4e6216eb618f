"""Benchmark: transactions -> per-customer features, custseg (DuckDB) against plain pandas.

Synthetic transactions in the layout of the UCI Online Retail data (InvoiceNo, StockCode,
Quantity, InvoiceDate as ``M/D/YYYY H:MM``, UnitPrice, CustomerID; 4 lines an order, 20
lines a customer, 2% of orders cancelled, 1% of orders without customer id) are generated
on the fly, deterministically, into a temporary folder (CSV and/or Parquet) and deleted
afterwards.  Each engine runs in its own subprocess, which reports its wall time, its CPU
time (user + system, all threads), its peak resident memory (``ru_maxrss``: DuckDB, pandas
and Python together) and the machine's load average when it started (other work on the
machine slows a run down: the CPU time is the steadier figure).

* ``custseg``: ``custseg.features.transactions_to_customers`` — every feature of
  docs/features.md (recency, frequency, monetary, average order value, tenure, inter-purchase
  interval mean and CV, distinct products, return share, RFM scores and segments), with the
  cleaning checks (dates, duplicates, cancellations...), DuckDB out of core (2 GB limit).
* ``pandas``: the plain baseline — ``read_csv`` (or ``read_parquet``) of the needed columns,
  ``to_datetime`` with the known format, drop missing customers, net line value, one
  ``groupby(customer).agg`` of last date, distinct invoices and revenue (recency, frequency,
  monetary only: less work than custseg).  Skipped above ``--pandas-max-rows`` (default
  30 million) where it would need more memory than the machine has.

Run (results go in docs/benchmarks.md)::

    python bench/bench_features.py --rows 10000000 --formats csv,parquet --repeats 3
    python bench/bench_features.py --rows 100000000 --formats parquet,csv --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINES_PER_ORDER = 4
LINES_PER_CUSTOMER = 20


def generate(n_rows: int, path: Path) -> float:
    """Write ``n_rows`` synthetic transaction lines to ``path`` (.csv or .parquet)."""
    import duckdb

    n_customers = max(1000, n_rows // LINES_PER_CUSTOMER)
    query = f"""
        WITH o AS (
            SELECT i, i // {LINES_PER_ORDER} AS o FROM range({n_rows}) t(i)
        ), x AS (
            SELECT i, o, hash(o, 11) % 100 AS u_cancel, hash(o, 12) % 100 AS u_missing,
                   hash(o, 13) % {n_customers} AS cust,
                   TIMESTAMP '2010-12-01 08:00'
                     + to_days(CAST(hash(o, 14) % 730 AS INTEGER))
                     + to_minutes(CAST(hash(o, 15) % 600 AS INTEGER)) AS ts
            FROM o
        )
        SELECT
            CASE WHEN u_cancel < 2 THEN 'C' ELSE '' END || CAST(500000 + o AS VARCHAR)
                AS InvoiceNo,
            'P' || CAST(hash(i, 16) % 4000 AS VARCHAR) AS StockCode,
            CAST(1 + hash(i, 17) % 12 AS INTEGER) * CASE WHEN u_cancel < 2 THEN -1 ELSE 1 END
                AS Quantity,
            strftime(ts, '%-m/%-d/%Y %-H:%M') AS InvoiceDate,
            ROUND(((hash(i, 18) % 2000) + 10) / 100.0, 2) AS UnitPrice,
            CASE WHEN u_missing < 1 THEN NULL ELSE CAST(10000 + cust AS VARCHAR) END
                AS CustomerID
        FROM x
    """
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.sql("SET enable_progress_bar = false")
    fmt = "parquet" if path.suffix == ".parquet" else "csv, HEADER"
    con.sql(f"COPY ({query}) TO '{path}' (FORMAT {fmt})")
    con.close()
    return time.perf_counter() - t0


def run_custseg(path: Path) -> int:
    from custseg.features import transactions_to_customers

    return len(transactions_to_customers(path).customers)


def run_pandas(path: Path) -> int:
    import pandas as pd

    cols = ["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    if path.suffix == ".parquet":
        df = pd.read_parquet(path, columns=cols)
    else:
        df = pd.read_csv(path, usecols=cols, dtype={"InvoiceNo": str, "CustomerID": str})
    df = df[df["CustomerID"].notna()]
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"], format="%m/%d/%Y %H:%M")
    df["value"] = df["Quantity"] * df["UnitPrice"]
    purchases = df[~df["InvoiceNo"].str.startswith("C")]
    g = purchases.groupby("CustomerID").agg(last=("InvoiceDate", "max"),
                                           frequency=("InvoiceNo", "nunique"))
    g["monetary"] = df.groupby("CustomerID")["value"].sum()
    as_of = df["InvoiceDate"].max().normalize() + pd.Timedelta(days=1)
    g["recency_days"] = (as_of - g["last"].dt.normalize()).dt.days
    return len(g)


def child(engine: str, path: Path) -> None:
    load = round(os.getloadavg()[0], 2)  # other work on the machine slows the run
    t0 = time.perf_counter()
    n = run_custseg(path) if engine == "custseg" else run_pandas(path)
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"engine": engine, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024,
                      "cpu_s": usage.ru_utime + usage.ru_stime, "customers": n,
                      "load_before": load}))


def measure(engine: str, path: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    proc = subprocess.run([sys.executable, __file__, "--child", engine, str(path)],
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return {"engine": engine, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000_000])
    ap.add_argument("--formats", default="csv,parquet")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engines", default="custseg,pandas")
    ap.add_argument("--pandas-max-rows", type=int, default=30_000_000)
    ap.add_argument("--tmp", default=None, help="folder for the generated files")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    print(f"machine: {os.cpu_count()} cores, python {platform.python_version()}, "
          f"{platform.machine()}", flush=True)
    results = []
    for n in args.rows:
        for fmt in args.formats.split(","):
            work = Path(tempfile.mkdtemp(prefix="custseg-bench-", dir=args.tmp))
            try:
                path = work / f"transactions-{n}.{fmt}"
                gen = generate(n, path)
                size_mb = path.stat().st_size / 2**20
                print(f"{n:,} lines, {fmt}: {size_mb:,.0f} MB, generated in {gen:.1f} s",
                      flush=True)
                for engine in args.engines.split(","):
                    if engine == "pandas" and n > args.pandas_max_rows:
                        print(f"  {engine}: skipped (above --pandas-max-rows "
                              f"{args.pandas_max_rows:,})", flush=True)
                        continue
                    runs = [measure(engine, path) for _ in range(args.repeats)]
                    ok = [r for r in runs if "error" not in r]
                    if not ok:
                        print(f"  {engine}: failed: {runs[0]['error']}", flush=True)
                        results.append({"rows": n, "format": fmt, "engine": engine,
                                        "error": runs[0]["error"]})
                        continue
                    row = {"rows": n, "format": fmt, "engine": engine, "size_mb": size_mb,
                           "runs": len(ok),
                           "median_s": statistics.median(r["seconds"] for r in ok),
                           "median_peak_mb": statistics.median(r["peak_mb"] for r in ok),
                           "median_cpu_s": statistics.median(r["cpu_s"] for r in ok),
                           "load_before": [r["load_before"] for r in ok],
                           "customers": ok[0]["customers"],
                           "seconds": [round(r["seconds"], 2) for r in ok]}
                    results.append(row)
                    print(f"  {engine}: median {row['median_s']:.2f} s (CPU "
                          f"{row['median_cpu_s']:.1f} s), peak {row['median_peak_mb']:,.0f} MB, "
                          f"{row['customers']:,} customers (runs: {row['seconds']}; load "
                          f"average before: {row['load_before']})", flush=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
