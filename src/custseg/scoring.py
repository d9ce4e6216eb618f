"""Batch scoring: assign the customers of a file to the segments of a model bundle.

The input is read in chunks (CSV/TSV and other delimited text, Parquet and JSON Lines
stream; Excel is read whole), so memory stays bounded whatever the number of rows.  The first
chunk is checked against the bundle: every feature must be there (missing ones are named,
with the columns present); other columns are ignored.  Every chunk's values are checked as in
``fit`` (junk beyond the model's ``max_junk`` and infinities are errors naming the rows).  The
output (CSV, or Parquet when ``--out`` ends in ``.parquet``) has the id column (or ``row``),
``segment``, ``segment_name``, ``distance`` and, for methods that have one, ``probability``;
it is written to a temporary file and renamed into place at the end.

Examples
--------
>>> import tempfile, pathlib
>>> from custseg import Segmenter, load_table, demo_data_path
>>> from custseg.bundle import save_bundle
>>> df = load_table(demo_data_path())
>>> seg = Segmenter(k=5, features=["Annual Income (k$)", "Spending Score (1-100)"],
...                 random_state=0).fit(df)
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = save_bundle(seg, root / "model", training=df)
>>> report = score_file(root / "model", demo_data_path(), root / "scored.csv", chunk_size=64)
>>> report.rows, report.chunks, report.segment_counts
(200, 4, {0: 81, 1: 39, 2: 35, 3: 23, 4: 22})
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.bundle import load_bundle
from custseg.errors import DataError, Problem
from custseg.io import atomic_output_file, check_input_path, file_sha256, iter_table, write_csv

ProgressFn = Callable[[str, int, int], None]
CHUNK_SIZE = 200_000


@dataclass
class ScoreReport:
    """What a scoring run did."""

    rows: int = 0
    chunks: int = 0
    segment_counts: dict[int, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    input_sha256: str = ""
    output: str = ""


def iter_chunks(path: Path, chunk_size: int = CHUNK_SIZE,
                columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of a customer file, ``chunk_size`` at a time, read exactly as ``segment``
    reads them (:func:`custseg.io.iter_table`)."""
    return iter_table(path, chunk_size, columns)


def _check_columns(chunk: pd.DataFrame, features: list[str], id_col: str | None,
                   report: ScoreReport) -> None:
    missing = [f for f in features if f not in chunk.columns]
    if missing:
        raise DataError([Problem(f, "is a feature of the model but is missing from the "
                                 f"input; columns present: {list(chunk.columns)}",
                                 code="missing-column") for f in missing])
    report.ignored_columns = [c for c in chunk.columns if c not in features and c != id_col]


def _score_chunk(seg: Any, chunk: pd.DataFrame, id_col: str | None,
                 offset: int) -> pd.DataFrame:
    """The scored rows of one chunk: id (or row number), segment, name, distance."""
    try:
        scored = seg.assign(chunk.reset_index(drop=True))
    except DataError as exc:  # row numbers of this chunk -> of the file
        for p in exc.problems:
            p.rows = [r + offset for r in p.rows]
        raise DataError(exc.problems) from None
    frame = pd.DataFrame(index=scored.index)
    if id_col and id_col in chunk.columns:
        frame[id_col] = chunk[id_col].to_numpy()
    else:
        frame["row"] = np.arange(offset + 1, offset + len(chunk) + 1)
    return pd.concat([frame, scored.round({"distance": 6, "probability": 6})], axis=1)


def _write_parquet(frame: pd.DataFrame, path: Path, writer: Any) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
    writer.write_table(table)
    return writer


def score_file(
    model: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    chunk_size: int = CHUNK_SIZE,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> ScoreReport:
    """Score ``input_path`` with the bundle at ``model``; write ``out`` atomically."""
    bundle = load_bundle(model)
    seg = bundle.segmenter
    input_path, out = check_input_path(input_path), Path(out)
    id_col = bundle.meta.get("id_column")
    features = list(seg.features_)
    report = ScoreReport(input_sha256=file_sha256(input_path), output=str(out))
    counts: Counter[int] = Counter()
    parquet = out.suffix.lower() in (".parquet", ".pq")
    writer: Any = None
    with atomic_output_file(out, force=force) as tmp:
        try:
            offset = 0
            for chunk in iter_chunks(input_path, chunk_size,
                                     features + ([id_col] if id_col else [])):
                if report.chunks == 0:
                    _check_columns(chunk, features, id_col, report)
                frame = _score_chunk(seg, chunk, id_col, offset)
                counts.update(frame["segment"].tolist())
                if parquet:
                    writer = _write_parquet(frame, tmp, writer)
                else:
                    write_csv(frame, tmp, mode="a", header=report.chunks == 0)
                offset += len(chunk)
                report.chunks += 1
                report.rows = offset
                if progress:
                    progress("score", offset, offset)
        finally:
            if writer is not None:
                writer.close()
        if report.chunks == 0:
            raise DataError([Problem(None, f"{input_path}: no rows to score",
                                     code="input-file")])
    report.segment_counts = {int(k): int(v) for k, v in sorted(counts.items())}
    return report
