"""Synthetic customer tables for the scale benchmarks (generated on the fly, never committed).

Six features with five planted segments of unequal size, in units that look like a customer
table (age, income in k$, spending score 1-100, purchases a year, days since last purchase,
years as a customer), plus an integer ``customer_id``.  Values are rounded as real exports
are (two decimals for money, integers for counts), so a CSV has a realistic size (about 44
bytes a customer).

    python bench/scale_data.py --rows 1000000 --out /tmp/c1m.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

FEATURES = ("age", "income", "spending_score", "purchases", "recency_days", "tenure_years")
# centre (mean) of each planted segment, per feature, and its share of customers
CENTRES = np.array([
    [28, 35, 75, 24, 12, 1.5],
    [45, 95, 80, 40, 8, 6.0],
    [52, 90, 20, 6, 120, 8.0],
    [35, 55, 50, 14, 45, 3.0],
    [63, 30, 25, 4, 200, 12.0],
])
SPREAD = np.array([2.6, 5.2, 4.5, 2.0, 6.5, 0.65])
SHARES = np.array([0.18, 0.14, 0.16, 0.34, 0.18])
DECIMALS = (0, 2, 0, 0, 0, 1)


def make_customers(n: int, seed: int = 0, chunk: int = 1_000_000):
    """Yield pyarrow tables of ``chunk`` customers (ids 1..n) with the planted segments."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        seg = rng.choice(len(SHARES), size=m, p=SHARES)
        X = CENTRES[seg] + rng.standard_normal((m, len(FEATURES))) * SPREAD
        X = np.maximum(X, 0)
        cols = {"customer_id": pa.array(np.arange(start + 1, start + m + 1, dtype=np.int64))}
        for j, (name, dec) in enumerate(zip(FEATURES, DECIMALS, strict=True)):
            v = np.round(X[:, j], dec)
            cols[name] = pa.array(v.astype(np.int64) if dec == 0 else v)
        cols["planted"] = pa.array(seg.astype(np.int8))
        yield pa.table(cols)


def write(n: int, path: Path, seed: int = 0, planted: bool = False) -> Path:
    """Write ``n`` customers to ``path`` (.csv or .parquet); the planted segment is dropped
    unless ``planted``."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    writer = None
    for table in make_customers(n, seed):
        if not planted:
            table = table.drop_columns(["planted"])
        if path.suffix == ".parquet":
            writer = writer or pq.ParquetWriter(path, table.schema)
        else:
            writer = writer or pacsv.CSVWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--planted", action="store_true", help="keep the planted segment column")
    a = ap.parse_args()
    write(a.rows, a.out, a.seed, a.planted)
