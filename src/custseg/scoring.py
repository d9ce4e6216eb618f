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

import codecs
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.bundle import load_bundle
from custseg.errors import DataError, OutputExistsError, Problem
from custseg.io import detect_delimiter, detect_format, file_sha256

ProgressFn = Callable[[str, int, int], None]
CHUNK_SIZE = 200_000
HEAD_BYTES = 1 << 20


@dataclass
class ScoreReport:
    """What a scoring run did."""

    rows: int = 0
    chunks: int = 0
    segment_counts: dict[int, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    input_sha256: str = ""
    output: str = ""


def _text_options(path: Path) -> tuple[str, str]:
    """Encoding and delimiter of a text file from its first MiB."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    if head.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        try:  # an incremental decoder tolerates a character cut at the end of the head
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8"
        except UnicodeDecodeError:
            try:
                head.decode("cp1252")
                encoding = "cp1252"
            except UnicodeDecodeError:
                encoding = "latin-1"
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    return encoding, detect_delimiter(text, "\t" if path.suffix.lower() == ".tsv" else None)


def iter_chunks(path: Path, chunk_size: int = CHUNK_SIZE,
                columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of a customer file, ``chunk_size`` at a time (text cells as strings)."""
    fmt = detect_format(path)
    if fmt == "csv":
        encoding, delimiter = _text_options(path)
        yield from pd.read_csv(path, sep=delimiter, encoding=encoding, dtype=str,
                               keep_default_na=False, na_values=[], skipinitialspace=True,
                               chunksize=chunk_size)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        wanted = [c for c in columns if c in names] if columns else None
        for batch in pf.iter_batches(batch_size=chunk_size, columns=wanted or None):
            yield batch.to_pandas()
    elif fmt == "jsonl":
        yield from pd.read_json(path, lines=True, dtype=False, chunksize=chunk_size)
    else:
        df = pd.read_excel(path, dtype=object)
        for start in range(0, len(df), chunk_size):
            yield df.iloc[start:start + chunk_size]


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
    input_path, out = Path(input_path), Path(out)
    if not input_path.exists():
        raise DataError([Problem(None, f"{input_path}: no such file", code="input-file")])
    if out.exists() and not force:
        raise OutputExistsError(f"{out} exists; pass --force to replace it", "--out")
    id_col = bundle.meta.get("id_column")
    features = list(seg.features_)
    report = ScoreReport(input_sha256=file_sha256(input_path), output=str(out))
    counts: Counter[int] = Counter()
    parquet = out.suffix.lower() in (".parquet", ".pq")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.tmp-", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    writer: Any = None
    try:
        offset = 0
        for chunk in iter_chunks(input_path, chunk_size, features + ([id_col] if id_col else [])):
            chunk.columns = [str(c).strip() for c in chunk.columns]
            if report.chunks == 0:
                missing = [f for f in features if f not in chunk.columns]
                if missing:
                    raise DataError([Problem(f, "is a feature of the model but is missing from "
                                             f"the input; columns present: {list(chunk.columns)}",
                                             code="missing-column") for f in missing])
                report.ignored_columns = [c for c in chunk.columns
                                          if c not in features and c != id_col]
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
            frame = pd.concat([frame, scored.round({"distance": 6, "probability": 6})], axis=1)
            counts.update(frame["segment"].tolist())
            if parquet:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            else:
                frame.to_csv(tmp, mode="a", header=report.chunks == 0, index=False,
                             lineterminator="\n")
            offset += len(chunk)
            report.chunks += 1
            report.rows = offset
            if progress:
                progress("score", offset, offset)
        if writer is not None:
            writer.close()
            writer = None
        if report.chunks == 0:
            raise DataError([Problem(None, f"{input_path}: no rows to score",
                                     code="input-file")])
        os.replace(tmp, out)
    finally:
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
    report.segment_counts = {int(k): int(v) for k, v in sorted(counts.items())}
    return report
