"""Engines: the same segmentation pipeline, run where the data are.

==========  =================================================================================
``standard``  :func:`custseg.pipeline.segment_file`: pandas + scikit-learn, every method and
              every check; for tables that fit comfortably in memory.
``local``     :mod:`custseg.engines.local`: the fast path for millions of customers on one
              machine (columnar read of the needed columns, float32, k chosen on a sample,
              chunked assignment); K-Means only.
``spark``     :mod:`custseg.engines.spark`: the same pipeline on Apache Spark (PySpark MLlib),
              for data beyond one machine; the optional extra ``custseg[spark]``.
==========  =================================================================================

``custseg segment --engine auto`` (the default) takes ``local`` for K-Means on
:data:`LOCAL_THRESHOLD` customers or more, ``standard`` below.

The stages every engine runs, the library functions holding their rules, the
:class:`~custseg.engines.base.Engine` interface the three engines are declared against and
the recipe for a new engine: :mod:`custseg.engines.base`; the engines by name:
:mod:`custseg.engines.registry`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENGINES = ("auto", "standard", "local", "spark")
#: Formats of the segments file (``--format``); ``auto``, the default, is CSV except on the
#: fast path above :data:`custseg.engines.local.PARQUET_FROM_ROWS` customers (Parquet).
OUTPUT_FORMATS = ("csv", "parquet")
#: ``--engine auto`` takes the fast path (custseg.engines.local) for K-Means from this many
#: customers.  (Here, not in custseg.engines.local, so that this package never imports its
#: engines: they import it.)
LOCAL_THRESHOLD = 500_000


def estimate_rows(path: str | os.PathLike[str]) -> int:
    """Rows of a table, cheaply: Parquet's metadata, or a text file's size over the mean
    length of its first lines (0 when it cannot tell).

    >>> from custseg.io import demo_data_path
    >>> 150 < estimate_rows(demo_data_path()) < 250
    True
    """
    p = Path(path)
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(p).metadata.num_rows)
        if p.suffix.lower() in (".xlsx", ".xlsm"):
            return 0
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(1 << 16)
    except (OSError, ValueError):
        return 0
    lines = head.count(b"\n")
    if not lines:
        return 1
    return int(size / (len(head) / lines)) if len(head) < size else lines


def pick_engine(engine: str, path: str | os.PathLike[str], options: dict[str, Any], *,
                output_format: str | None = None, store: bool = False) -> str:
    """The engine ``custseg segment`` runs: ``engine`` checked, ``auto`` resolved.

    ``auto`` takes ``local`` for K-Means on numeric features from
    :data:`LOCAL_THRESHOLD` customers (estimated), unless an option
    only the standard engine has is used (``--stability``, ``--use-categorical``,
    ``--store``); otherwise ``standard``.
    """
    from custseg.algorithms import registry
    from custseg.errors import UsageError

    if engine not in ENGINES:
        raise UsageError(f"`engine` must be one of {list(ENGINES)}, got {engine!r}", "engine")
    if output_format is not None and output_format not in ("auto", *OUTPUT_FORMATS):
        raise UsageError(f"`output_format` must be one of {['auto', *OUTPUT_FORMATS]}, got "
                         f"{output_format!r}", "output_format")
    if engine == "spark":
        refused = [name for name, on in (("`output_format='csv'`", output_format == "csv"),
                                         ("`store`", store)) if on]
        if refused:
            raise UsageError(f"`engine='spark'` writes the segments as Parquet part files and "
                             f"records no run; {', '.join(refused)} need another engine",
                             "engine")
    caps = registry.capabilities(options.get("algorithm"))
    standard_only = [name for name, on in (
        (f"`algorithm={options.get('algorithm')!r}`", not (caps.centres_only and caps.public)),
        ("`stability`", options.get("stability")),
        ("`use_categorical`", options.get("use_categorical")),
        ("`store`", store)) if on]
    if engine == "local" and standard_only:
        raise UsageError(f"`engine='local'` runs K-Means on numeric columns; "
                         f"{', '.join(standard_only)} need `engine='standard'`", "engine")
    if engine != "auto":
        return engine
    if standard_only or estimate_rows(path) < LOCAL_THRESHOLD:
        return "standard"
    return "local"
