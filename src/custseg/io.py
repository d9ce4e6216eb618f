"""Reading customer tables as they really come, and writing outputs atomically.

:func:`read_table` reads delimited text (the delimiter and the encoding are detected: UTF-8,
UTF-8 with a byte-order mark, UTF-16 with a BOM, cp1252 and latin-1), Parquet, Excel (.xlsx)
and JSON Lines, and returns the table with a :class:`TableInfo` saying what was found.
Delimited text is read with every cell as text, so that identifiers keep their leading zeros
and junk cells can be reported with their row numbers by :mod:`custseg.schema`.

:func:`atomic_output_dir` gives a temporary folder that replaces the real output folder only
once everything in it has been written: a failed run never leaves a half-written folder.

The parts live in their own modules, and every name is read from here: delimited text in
:mod:`custseg.delimited`, atomic writing in :mod:`custseg.atomic`, CSV outputs safe for
spreadsheets in :mod:`custseg.safe_csv`.

Examples
--------
>>> from custseg.io import read_table, demo_data_path
>>> df, info = read_table(demo_data_path())
>>> info.format, info.delimiter, info.n_rows, df.columns[0], df.iloc[0, 0]
('csv', ',', 200, 'CustomerID', '0001')
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pandas as pd

from custseg.atomic import (
    atomic_output_dir,
    atomic_output_file,
    check_output_location,
    glob_escape,
    output_error,
    sweep_stale_temporaries,
    temp_prefix,
)
from custseg.delimited import (
    DELIMITERS,
    MAX_FIELD_CHARS,
    MAX_MALFORMED_SHARE,
    MAX_PREAMBLE,
    PREAMBLE_CHECK,
    check_column_names,
    decode_text,
    detect_delimiter,
    fix_line_endings,
    looks_binary,
    malformed_lines_problem,
    preamble_problem,
    preamble_rows,
    read_text,
    stream_text,
)
from custseg.errors import CustsegError, InputFileError, Problem, UsageError
from custseg.safe_csv import (
    FORMULA_STARTS,
    neutralise_arrow,
    neutralise_cell,
    neutralise_frame,
    write_csv,
)

#: Every public name, those of the modules split from this one included.
__all__ = [
    "DELIMITERS",
    "EXCEL_SUFFIXES",
    "FORMULA_STARTS",
    "JSONL_SUFFIXES",
    "MAX_FIELD_CHARS",
    "MAX_MALFORMED_SHARE",
    "PARQUET_SUFFIXES",
    "STREAM_ABOVE_BYTES",
    "TableInfo",
    "atomic_output_dir",
    "atomic_output_file",
    "check_column_names",
    "check_input_path",
    "check_output_location",
    "check_read_options",
    "decode_text",
    "demo_data_path",
    "detect_delimiter",
    "detect_format",
    "file_sha256",
    "fix_line_endings",
    "glob_escape",
    "iter_table",
    "load_table",
    "looks_binary",
    "malformed_lines_problem",
    "nested_as_text",
    "neutralise_arrow",
    "neutralise_cell",
    "neutralise_frame",
    "output_error",
    "parse_list_option",
    "peek_columns",
    "read_table",
    "sweep_stale_temporaries",
    "temp_prefix",
    "write_csv",
]

#: File endings read as something other than delimited text.
PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
#: pandas < 3 turns JSON columns named like dates into dates unless told not to; pandas 3
#: deprecates the option (``dtype=False`` already keeps every value as written).
_JSON_NO_DATES: dict[str, Any] = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"convert_dates": False}
)


@dataclass
class TableInfo:
    """What :func:`read_table` found out about a file."""

    path: str
    format: str
    n_rows: int
    n_columns: int
    sha256: str
    encoding: str | None = None
    delimiter: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["problems"] = [p.to_dict() for p in self.problems]
        return d


def demo_data_path() -> Path:
    """Path of the bundled Mall Customers data (200 customers)."""
    return Path(str(resources.files("custseg") / "data" / "mall_customers.csv"))


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def detect_format(path: Path) -> str:
    """Name the reader for a file from its ending: parquet, excel, jsonl, or csv (text)."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix == ".xls":
        raise InputFileError(
            f"{path}: old Excel .xls files are not supported; save it as .xlsx or CSV", str(path)
        )
    return "csv"


def peek_columns(path: str | os.PathLike[str], delimiter: str | None,
            encoding: str | None) -> tuple[list[str], int | None] | None:
    """A table file's column names and (roughly) its number of rows, from its first lines
    (text) or its schema (Parquet), so that a table too wide to segment is refused before
    it is read whole (reading 10,000 columns takes many seconds); None when they cannot
    be had cheaply: the table is then checked once read."""
    check_read_options(delimiter, encoding)
    p = Path(path)
    try:
        fmt = detect_format(p)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            meta = pq.read_metadata(p)
            return list(meta.schema.names), int(meta.num_rows)
        if fmt != "csv":
            return None
        with p.open("rb") as fh:
            head = fh.read(1 << 20)
            while head.count(b"\n") < 3 and len(head) < (64 << 20):
                more = fh.read(1 << 20)
                if not more:
                    break
                head += more
        lines = head.split(b"\n")[:3]
        text, _ = (decode_text(b"\n".join(lines)) if not encoding
                   else (b"\n".join(lines).decode(encoding), encoding))
        sep = delimiter or detect_delimiter(text, "\t" if p.suffix.lower() == ".tsv" else None)
        names = next(csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True), [])
        rows = p.stat().st_size // max(len(lines[1]) + 1, 1) if len(lines) > 2 else None
        return [str(n).strip() for n in names if str(n).strip()], rows
    except (OSError, UnicodeError, LookupError, ValueError, csv.Error, ImportError, CustsegError):
        return None


def check_read_options(delimiter: str | None, encoding: str | None) -> None:
    """Refuse a delimiter that is not one character and an encoding Python does not know
    (UsageError naming the option).

    >>> check_read_options(";", "cp1252")
    >>> check_read_options(";;", None)
    Traceback (most recent call last):
    ...
    custseg.errors.UsageError: delimiter must be one character (such as ';', '|' or a tab), got ';;'
    """
    import codecs

    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\r\n\"'"):
        raise UsageError(f"delimiter must be one character (such as ';', '|' or a tab), got "
                         f"{delimiter!r}", "delimiter")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(f"encoding {encoding!r} is not one Python knows; use a name "
                             "such as utf-8, cp1252 or latin-1", "encoding") from None


def check_input_path(path: str | os.PathLike[str]) -> Path:
    """The path, checked: it exists, is a file and is not empty (else InputFileError)."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such file", str(p))
    if p.is_dir():
        raise InputFileError(f"{p}: is a folder, not a file", str(p))
    if p.stat().st_size == 0:
        raise InputFileError(f"{p}: the file is empty", str(p))
    return p




def read_table(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
) -> tuple[pd.DataFrame, TableInfo]:
    """Read a customer table from CSV/TSV/delimited text, Parquet, Excel or JSON Lines.

    Parameters
    ----------
    path : path-like
        The file.  Its ending chooses the reader (``.parquet``/``.pq``, ``.xlsx``,
        ``.jsonl``/``.ndjson``); anything else is read as delimited text.
    delimiter, encoding : str, optional
        Override the detection for text files.
    sheet : str or int, optional
        Excel sheet name or index (default: the first sheet).

    Returns
    -------
    (DataFrame, TableInfo)
        Text files give string columns (cells as written, empty cells as ''); typed formats
        keep their types.  Entirely empty unnamed columns (a trailing delimiter) are dropped.

    Raises
    ------
    InputFileError
        The file is missing, empty, not a table, or has too many malformed lines.
    """
    check_read_options(delimiter, encoding)
    p = check_input_path(path)
    fmt = detect_format(p)
    df, extra = _read_format(p, fmt, delimiter, encoding, sheet)
    df = _tidy(df, p)
    info = TableInfo(
        path=str(p),
        format=fmt,
        n_rows=len(df),
        n_columns=df.shape[1],
        sha256=file_sha256(p),
        encoding=extra.get("encoding"),
        delimiter=extra.get("delimiter"),
        problems=extra.get("problems", []),
    )
    return df, info


def _read_format(p: Path, fmt: str, delimiter: str | None, encoding: str | None,
                 sheet: str | int | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a file with the reader of its format; the table, and what the text reader
    found (encoding, delimiter, problems).  A file the reader refuses is an InputFileError."""
    extra: dict[str, Any] = {}
    try:
        if fmt == "csv":
            df, extra = read_text(p, delimiter, encoding)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            check_column_names(pq.read_schema(p).names, p)
            df = pd.read_parquet(p)
        elif fmt == "excel":
            df, extra = _read_excel(p, 0 if sheet is None else sheet)
        else:
            df = pd.read_json(p, lines=True, dtype=False, **_JSON_NO_DATES)
    except InputFileError:
        raise
    except Exception as exc:  # the readers raise many types; all mean "not readable"
        raise InputFileError(f"{p}: cannot be read as {fmt}: {exc}", str(p)) from exc
    return df, extra


def _read_excel(p: Path, sheet_name: str | int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A sheet, and the title rows skipped above its header (the rule of delimited text,
    :func:`custseg.delimited.preamble_rows`, on the sheet's rows) as a warning."""
    head = pd.read_excel(p, sheet_name=sheet_name, header=None, dtype=object,
                         nrows=MAX_PREAMBLE + PREAMBLE_CHECK)
    rows = [[("" if pd.isna(v) else str(v)) for v in row] for row in head.itertuples(index=False)]
    rows = [r[:max((i + 1 for i, v in enumerate(r) if v.strip()), default=0)] for r in rows]
    skip = preamble_rows(rows, ragged=True)
    check_column_names([v for v in rows[skip] if v] if len(rows) > skip else [], p)
    # dtype=object: text cells such as "0001" stay text (pandas would make them 1); number,
    # date and boolean cells then get their types back
    df = pd.read_excel(p, sheet_name=sheet_name, dtype=object, skiprows=skip).infer_objects()
    titles = [" ".join(v for v in r if v.strip()) for r in rows[:skip]]
    return df, {"problems": [preamble_problem(p, titles)] if skip else []}


def _tidy(df: pd.DataFrame, p: Path) -> pd.DataFrame:
    """A table as read made plain: nested cells as text, names trimmed, entirely empty
    unnamed columns dropped; a table without columns or rows is an InputFileError."""
    df = nested_as_text(df)
    df.columns = [str(c).strip() for c in df.columns]
    unnamed = [
        c for c in df.columns if c.startswith("Unnamed:") and _is_blank(df[c]).all()
    ]
    df = df.drop(columns=unnamed)
    if df.shape[1] == 0:
        raise InputFileError(f"{p}: no columns found", str(p))
    if len(df) == 0:
        raise InputFileError(f"{p}: the file has a header but no data rows", str(p))
    return df.reset_index(drop=True)


#: Text files larger than this are streamed by :func:`iter_table`; smaller ones are read
#: whole by :func:`read_table`, with every check of ``segment``.
STREAM_ABOVE_BYTES = 256 << 20


def iter_table(path: str | os.PathLike[str], chunk_size: int,
               columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of a customer table, ``chunk_size`` at a time, read as :func:`read_table`
    reads them (text cells as strings; row order kept).

    Files up to :data:`STREAM_ABOVE_BYTES` are read whole with :func:`read_table`; larger
    text and JSON Lines files are streamed with the same rules (duplicate column names
    refused, stray carriage returns removed, lines with more fields than the header skipped
    when they are few and refused when they are many), and Parquet is read by row groups
    (only ``columns`` when given).

    >>> chunks = list(iter_table(demo_data_path(), 64))
    >>> [len(c) for c in chunks], chunks[0].iloc[0, 0]
    ([64, 64, 64, 8], '0001')
    """
    p = check_input_path(path)
    fmt = detect_format(p)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(p)
            names = pf.schema_arrow.names
        except Exception as exc:  # pyarrow raises several types; all mean "not readable"
            raise InputFileError(f"{p}: cannot be read as parquet: {exc}", str(p)) from None
        check_column_names(names, p)
        wanted = [c for c in names if str(c).strip() in columns] if columns else None
        for batch in pf.iter_batches(batch_size=chunk_size, columns=wanted or None):
            frame = nested_as_text(batch.to_pandas())
            frame.columns = [str(c).strip() for c in frame.columns]
            yield frame
        return
    if fmt in ("csv", "jsonl") and p.stat().st_size > STREAM_ABOVE_BYTES:
        yield from (stream_text(p, chunk_size) if fmt == "csv"
                    else pd.read_json(p, lines=True, dtype=False, chunksize=chunk_size,
                                      **_JSON_NO_DATES))
        return
    df, _ = read_table(p)
    for start in range(0, len(df), chunk_size):
        yield df.iloc[start:start + chunk_size]


def nested_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells holding lists, arrays or mappings (nested Parquet or JSON) written as JSON text,
    so that every later step sees scalars; such a column is then text, never a feature.

    >>> nested_as_text(pd.DataFrame({"a": [[1, 2], None], "b": [1, 2]}))["a"].tolist()
    ['[1, 2]', nan]
    """
    import json

    import numpy as np

    def nested(v: Any) -> bool:
        return isinstance(v, dict | list | tuple | np.ndarray) and np.ndim(cast(Any, v)) > 0

    for c in [c for c in frame.columns if frame[c].dtype == object]:
        col = frame[c]
        if col.map(nested).any():
            frame[c] = col.map(lambda v: json.dumps(v.tolist() if isinstance(v, np.ndarray)
                                                    else v, default=str) if nested(v) else v)
    return frame


def _is_blank(s: pd.Series) -> pd.Series:
    """Which cells are missing or only spaces."""
    if s.dtype.kind in "biufc":
        return s.isna()
    return s.isna() | (s.astype(str).str.strip() == "")



def parse_list_option(value: str | None, name: str) -> list[str] | None:
    """Split a comma-separated option value; names may contain spaces and symbols.

    >>> parse_list_option("Annual Income (k$), Age", "--features")
    ['Annual Income (k$)', 'Age']
    """
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise UsageError(f"{name} is empty; give column names separated by commas", name)
    return items


def load_table(path: str | os.PathLike[str], **options: Any) -> pd.DataFrame:
    """Read a customer table (see :func:`read_table`) and return only the DataFrame.

    >>> load_table(demo_data_path()).shape
    (200, 5)
    """
    return read_table(path, **options)[0]
