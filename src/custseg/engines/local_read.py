"""The fast path's read: a CSV or TSV with Arrow (encoding and delimiter detected, several
threads, malformed lines skipped and reported), Parquet as stored, the input's SHA-256 in a
thread meanwhile (:mod:`custseg.engines.local`)."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from custseg.delimited import preamble_problem, split_preamble
from custseg.errors import InputFileError, Problem
from custseg.io import (
    TableInfo,
    check_column_names,
    check_input_path,
    decode_text,
    detect_delimiter,
    detect_format,
    file_sha256,
    malformed_lines_problem,
    read_table,
)

#: Bytes of CSV text a parser thread takes at a time.
BLOCK_SIZE = 32 << 20


# --------------------------------------------------------------------------- reading
def _sha256_in_thread(path: Path) -> tuple[threading.Thread, dict[str, str]]:
    """:func:`custseg.io.file_sha256` in a thread (hashing releases the GIL: it runs beside
    the parser); the digest lands in the returned dict under ``"sha256"``."""
    box: dict[str, str] = {}
    t = threading.Thread(target=lambda: box.update(sha256=file_sha256(path)), daemon=True)
    t.start()
    return t, box


def _sniff(path: Path, delimiter: str | None, encoding: str | None
           ) -> tuple[str, str, list[str]]:
    """The delimiter and encoding (given or detected) and the title lines before the header
    (:func:`custseg.delimited.split_preamble`)."""

    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if len(head) == 1 << 20 and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]  # never cut a character in two
    if encoding:
        text = head.decode(encoding, errors="replace")
    else:
        text, encoding = decode_text(head)
    if delimiter is None:
        delimiter = detect_delimiter(text, "\t" if path.suffix.lower() == ".tsv" else None)
    return delimiter, encoding, split_preamble(text, delimiter)[0]


def _arrow_encoding(encoding: str) -> str:
    return "utf8" if encoding.replace("-", "").lower() in ("utf8", "utf8sig") else encoding


def _read_csv_arrow(path: Path, delimiter: str, encoding: str, block_size: int = BLOCK_SIZE,
                    skip_rows: int = 0) -> tuple[Any, list[Problem]]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    forced: dict[str, Any] = {}
    for _ in range(64):
        bad: list[int | None] = []

        def skip(row: Any, bad: list[int | None] = bad) -> str:
            bad.append(row.number)
            return "skip"

        def read(threads: bool) -> Any:
            return pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=_arrow_encoding(encoding),
                                               use_threads=threads, block_size=block_size,
                                               skip_rows=skip_rows),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=skip),
                convert_options=pacsv.ConvertOptions(null_values=[""],
                                                     strings_can_be_null=True,
                                                     column_types=forced))
        try:
            table = read(True)
            if bad and any(b is None for b in bad):  # line numbers need one thread
                bad.clear()
                table = read(False)
        except pa.ArrowInvalid as exc:
            m = re.search(r"In CSV column #(\d+): CSV conversion error", str(exc))
            if not m:
                raise InputFileError(f"{path}: cannot be read as csv: {exc}", str(path)) from exc
            header = _header(path, delimiter, encoding, skip_rows)
            forced[header[int(m.group(1))]] = pa.string()  # junk later in the file: as text
            continue
        problems = [malformed_lines_problem(
            path, sorted(int(b) for b in bad if b is not None), table.num_rows + len(bad),
            table.num_columns, delimiter)] if bad else []
        return table, problems
    raise InputFileError(f"{path}: cannot be read as csv", str(path))


def _header(path: Path, delimiter: str, encoding: str, skip_rows: int = 0) -> list[str]:
    import csv

    with open(path, encoding=encoding, newline="", errors="replace") as fh:
        for _ in range(skip_rows):  # the title lines before the header
            fh.readline()
        return next(csv.reader(fh, delimiter=delimiter))


def read_columnar(path: str | os.PathLike[str], *, delimiter: str | None = None,
                  encoding: str | None = None, sheet: str | int | None = None,
                  block_size: int = BLOCK_SIZE) -> tuple[Any, TableInfo]:
    """Read a table as an Arrow table: CSV/TSV and Parquet column-wise and multi-threaded;
    Excel and JSON Lines through :func:`custseg.io.read_table`.  A CSV parser thread takes
    ``block_size`` bytes of text at a time.

    >>> from custseg.io import demo_data_path
    >>> table, info = read_columnar(demo_data_path())
    >>> table.num_rows, info.delimiter, len(info.sha256)
    (200, ',', 64)
    """
    import pyarrow as pa

    p = check_input_path(path)
    fmt = detect_format(p)
    extra: dict[str, Any] = {}
    problems: list[Problem] = []
    if fmt in ("csv", "parquet"):
        hasher, box = _sha256_in_thread(p)
        try:
            if fmt == "csv":
                delimiter, encoding, preamble = _sniff(p, delimiter, encoding)
                table, problems = _read_csv_arrow(p, delimiter, encoding, block_size,
                                                  len(preamble))
                if preamble:
                    problems.insert(0, preamble_problem(p, preamble))
                extra = {"encoding": encoding, "delimiter": delimiter}
            else:
                import pyarrow.parquet as pq

                table = pq.read_table(p)
        except InputFileError:
            raise
        except Exception as exc:  # the readers raise many types; all mean "not readable"
            raise InputFileError(f"{p}: cannot be read as {fmt}: {exc}", str(p)) from exc
        hasher.join()
        sha = box["sha256"]
        # the parser's buffers (about twice the table at its peak) back to the system: else
        # Arrow's allocator keeps them, and NumPy's arrays come on top of them
        pa.default_memory_pool().release_unused()
        check_column_names(table.column_names, p)
        table = table.rename_columns([str(c).strip() for c in table.column_names])
        if table.num_rows == 0:
            raise InputFileError(f"{p}: the file has a header but no data rows", str(p))
    else:
        df, info = read_table(p, delimiter=delimiter, encoding=encoding, sheet=sheet)
        table = pa.Table.from_pandas(df, preserve_index=False)
        return table, info
    info = TableInfo(path=str(p), format=fmt, n_rows=table.num_rows,
                     n_columns=table.num_columns, sha256=sha, problems=problems, **extra)
    return table, info
