"""Reading a transaction log into DuckDB: files (delimited text of any encoding, Parquet,
Excel, JSON Lines) and DataFrames, the malformed lines, and the file line of each row."""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg.errors import InputFileError
from custseg.features._sql import clean_sql, literal
from custseg.io import (
    EXCEL_SUFFIXES,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
    check_column_names,
    detect_delimiter,
    looks_binary,
)

if TYPE_CHECKING:
    import duckdb


@dataclass
class Source:
    """The transaction log being read: its kind and file, how it is decoded and split, and
    the malformed lines DuckDB rejected."""

    kind: str  # csv, parquet, dataframe (excel and jsonl files are read as dataframes)
    path: str | None
    encoding: str | None = None
    delimiter: str | None = None
    n_columns: int = 0
    rejected: dict[int, str] = field(default_factory=dict)  # line -> error type
    read_path: str | None = None  # the (transcoded) file DuckDB reads
    original: str | None = None  # the file as given
    sha256: str | None = None
    ends_with_newline: bool = True


def _transcode(src: Path, dst: Path, encoding: str) -> None:
    """Rewrite a text file as UTF-8, streaming."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        for chunk in iter(lambda: fin.read(1 << 22), b""):
            fout.write(decoder.decode(chunk))
        fout.write(decoder.decode(b"", final=True))


def _read_csv_sql(source: Source) -> str:
    return (f"read_csv({literal(str(source.read_path))}, all_varchar = true, header = true, "
            f"delim = {literal(str(source.delimiter))}, quote = '\"', escape = '\"', "
            "null_padding = false")


def _open_csv(con: duckdb.DuckDBPyConnection, path: Path, delimiter: str | None,
              encoding: str | None, work: Path) -> Source:
    """Detect the encoding and the delimiter; the file is read by :func:`load_csv`."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        fh.seek(max(0, path.stat().st_size - 1))
        last = fh.read(1)
    if not head.strip():
        raise InputFileError(f"{path}: the file is empty", str(path))
    if looks_binary(head):
        raise InputFileError(f"{path}: is a binary file (it holds NUL bytes), not a text "
                             "table; export it as CSV, Parquet or .xlsx", str(path))
    if encoding is None and head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    if encoding is None and not head.startswith(b"\xef\xbb\xbf"):
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not a character cut at the end of the sample
                encoding = _single_byte_encoding(path)
    source = Source("csv", str(path), encoding or "utf-8", delimiter, read_path=str(path),
                     original=str(path), ends_with_newline=last in (b"\n", b"\r"))
    if head.startswith(b"\xef\xbb\xbf") and not encoding:
        source.encoding = "utf-8-sig"
    if encoding and codecs.lookup(encoding).name != "utf-8":
        _transcode_source(source, work, encoding)
    with open(str(source.read_path), "rb") as fh:
        sample = fh.read(1 << 16).decode("utf-8", errors="replace").lstrip("\ufeff")
    if len(sample) >= (1 << 15) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    if source.delimiter is None:
        source.delimiter = detect_delimiter(
            sample, "\t" if path.suffix.lower() == ".tsv" else None)
    check_column_names(next(csv.reader(sample.splitlines()[:1], delimiter=source.delimiter,
                                       skipinitialspace=True), []), path)
    try:
        con.sql(f"CREATE VIEW header AS SELECT * FROM {_read_csv_sql(source)}, "
                "ignore_errors = true)")
        con.sql("SELECT * FROM header LIMIT 0").fetchall()
    except Exception as exc:  # duckdb raises many kinds; all mean "not readable"
        raise InputFileError(f"{path}: cannot be read as delimited text: "
                             f"{str(exc).splitlines()[0]}", str(path)) from exc
    return source


def _single_byte_encoding(path: Path) -> str:
    """cp1252 (Windows Western, where '£' and '€' are one byte) when the file decodes as
    such, else latin-1 (which decodes any byte)."""
    decoder = codecs.getincrementaldecoder("cp1252")(errors="strict")
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                decoder.decode(chunk)
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _transcode_source(source: Source, work: Path, encoding: str) -> None:
    assert source.original is not None
    dst = work / f"transcoded-{codecs.lookup(encoding).name}.csv"
    try:
        _transcode(Path(source.original), dst, encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputFileError(f"{source.original}: cannot decode as {encoding}: {exc}",
                             source.original) from exc
    source.read_path, source.encoding = str(dst), encoding


def load_csv(con: duckdb.DuckDBPyConnection, source: Source, columns: Sequence[str],
             work: Path) -> None:
    """Read the columns needed into the table ``raw`` (row order kept: ``rowid`` is the data
    row), noting the malformed lines; a file that turns out not to be UTF-8 is transcoded
    and read again."""
    types = dict.fromkeys(columns, "VARCHAR")

    def scan() -> dict[int, str]:
        for table in ("raw", "rejects_err", "rejects_scan"):
            con.sql(f"DROP TABLE IF EXISTS {table}")
        reader = (f"(SELECT 0 AS __row, * FROM {_read_csv_sql(source)}, store_rejects = true, "
                  "rejects_table = 'rejects_err', rejects_scan = 'rejects_scan'))")
        con.sql(f"CREATE TABLE raw AS SELECT * EXCLUDE (__row) FROM "
                f"({clean_sql(types, columns, reader)})")
        rows = con.sql("SELECT line, error_type, csv_line FROM rejects_err").fetchall()
        rejected: dict[int, str] = {}
        for line, kind, text in rows:
            if text is not None and not str(text).strip():
                continue  # a line of spaces: blank
            rejected.setdefault(int(line), str(kind))
        return rejected

    try:
        rejected = scan()
        if any(k in ("INVALID UNICODE", "INVALID ENCODING") for k in rejected.values()):
            assert source.original is not None
            _transcode_source(source, work, _single_byte_encoding(Path(source.original)))
            rejected = scan()
    except InputFileError:
        raise
    except Exception as exc:  # duckdb raises many kinds; all mean "not readable"
        raise InputFileError(f"{source.path}: cannot be read as delimited text: {exc}",
                             source.path) from exc
    source.rejected = rejected
    con.sql("CREATE OR REPLACE VIEW src AS SELECT rowid AS __row, * FROM raw")


def open_source(con: duckdb.DuckDBPyConnection, data: Any, delimiter: str | None,
                encoding: str | None, work: Path) -> Source:
    """Open a DataFrame or a file (Parquet, Excel, JSON Lines or delimited text) as the view
    ``src_in`` (typed sources) or the view ``header`` (text, read by :func:`load_csv`)."""
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
        frame.columns = [str(c) for c in frame.columns]
        frame.insert(0, "__row", np.arange(len(frame), dtype=np.int64))
        con.register("input_frame", frame)
        con.sql("CREATE VIEW src_in AS SELECT * FROM input_frame")
        digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=False).to_numpy()
                                .tobytes()).hexdigest()
        return Source("dataframe", None, n_columns=frame.shape[1] - 1, sha256=digest)
    path = Path(data)
    if not path.exists():
        raise InputFileError(f"{path}: no such file", str(path))
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a file", str(path))
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: the file is empty", str(path))
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            con.sql(f"CREATE VIEW src_in AS SELECT file_row_number AS __row, * EXCLUDE "
                    f"(file_row_number) FROM read_parquet({literal(str(path))}, "
                    "file_row_number = true)")
            con.sql("SELECT * FROM src_in LIMIT 0").fetchall()
        except Exception as exc:
            raise InputFileError(f"{path}: cannot be read as parquet: {exc}",
                                 str(path)) from exc
        return Source("parquet", str(path), original=str(path))
    if suffix in EXCEL_SUFFIXES or suffix in JSONL_SUFFIXES or suffix == ".xls":
        from custseg.io import read_table

        frame, info = read_table(path)
        source = open_source(con, frame, None, None, work)
        source.kind, source.path, source.original = info.format, str(path), str(path)
        return source
    return _open_csv(con, path, delimiter, encoding, work)


def line_numbers(source: Source, rows: Sequence[int]) -> dict[int, int]:
    """File line numbers (the header is line 1) of data rows given as 0-based indices among
    the rows read; for Parquet and tables, the 1-based row number."""
    wanted = sorted(set(int(r) for r in rows))
    if source.kind != "csv" or not wanted:
        return {r: r + 1 for r in wanted}
    out: dict[int, int] = {}
    rejected = set(source.rejected)
    assert source.read_path is not None
    with open(source.read_path, "rb") as fh:
        fh.readline()  # header
        lineno, k, i = 1, -1, 0
        for raw in fh:
            lineno += 1
            if not raw.strip() or lineno in rejected:
                continue
            k += 1
            if k == wanted[i]:
                out[k] = lineno
                i += 1
                if i == len(wanted):
                    break
    return out


def is_last_line(source: Source, line: int) -> bool:
    """Whether a file line number is the file's last line."""
    if source.read_path is None:
        return False
    with open(source.read_path, "rb") as fh:
        n = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 22), b""))
    return line == n + 1
