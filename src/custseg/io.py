"""Reading customer tables as they really come, and writing outputs atomically.

:func:`read_table` reads delimited text (the delimiter and the encoding are detected: UTF-8,
UTF-8 with a byte-order mark, UTF-16 with a BOM, cp1252 and latin-1), Parquet, Excel (.xlsx)
and JSON Lines, and returns the table with a :class:`TableInfo` saying what was found.
Delimited text is read with every cell as text, so that identifiers keep their leading zeros
and junk cells can be reported with their row numbers by :mod:`custseg.schema`.

:func:`atomic_output_dir` gives a temporary folder that replaces the real output folder only
once everything in it has been written: a failed run never leaves a half-written folder.

Examples
--------
>>> from custseg.io import read_table, demo_data_path
>>> df, info = read_table(demo_data_path())
>>> info.format, info.delimiter, info.n_rows, df.columns[0], df.iloc[0, 0]
('csv', ',', 200, 'CustomerID', '0001')
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import os
import re
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pandas as pd

from custseg.errors import (
    CustsegError,
    InputFileError,
    OutputError,
    OutputExistsError,
    Problem,
    UsageError,
)

#: File endings read as something other than delimited text.
PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
#: Largest cell the csv module reads (its default, 128 KiB, refuses long free-text notes
#: that pandas reads well).
MAX_FIELD_CHARS = 64 << 20
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
#: Delimiters tried when detecting the delimiter of a text file.
DELIMITERS = (",", ";", "\t", "|")
#: Share of malformed lines (wrong number of fields) skipped with a warning; more is an error.
MAX_MALFORMED_SHARE = 0.01
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


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode a text file's bytes, detecting the encoding.

    Tries, in order: a byte-order mark (UTF-8, UTF-16), strict UTF-8, cp1252 (Windows
    Western, where '£' and '€' are single bytes), and latin-1, which decodes any byte.

    >>> decode_text("Montant £".encode("cp1252"))
    ('Montant £', 'cp1252')
    >>> decode_text(b"\\xef\\xbb\\xbfid,x")
    ('id,x', 'utf-8-sig')
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return raw.decode("utf-32"), "utf-32"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    bom_less = _utf16_without_bom(raw[:4096])
    if bom_less:
        try:
            return raw.decode(bom_less), bom_less
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ASCII text in UTF-16 without a byte-order mark
    is recognised (every other byte is NUL), else None."""
    even, odd = head[0::2], head[1::2]
    if len(head) < 4 or b"\x00" not in head:
        return None
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def looks_binary(raw: bytes) -> bool:
    """True when the first bytes hold NUL characters that UTF-16 text does not explain.

    >>> looks_binary(b"id,x\\n1,2\\n"), looks_binary("id,x".encode("utf-16-le"))
    (False, False)
    >>> looks_binary(bytes(range(256)))
    True
    """
    head = raw[:8192]
    return (b"\x00" in head
            and not head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff"))
            and _utf16_without_bom(head) is None)


def detect_delimiter(text: str, preferred: str | None = None) -> str:
    """Pick the delimiter that splits the first lines into the same number (> 1) of fields.

    Quoted fields are respected.  Ties go to the delimiter giving more fields; a file with a
    single column gets ``preferred`` or a comma.

    >>> detect_delimiter("a;b;c\\n1;2,5;3\\n")
    ';'
    >>> detect_delimiter('name,city\\n"Smith; John",Paris\\n')
    ','
    """
    lines = text.splitlines()[:50]
    sample = "\n".join(lines)
    best: tuple[float, int, str] | None = None
    for delim in DELIMITERS:
        counts = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delim) if row]
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (freq / len(counts), mode, delim)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is None:
        return preferred or ","
    return best[2]


def _scan_records(
    text: str, delimiter: str
) -> tuple[list[str], list[list[str]], list[tuple[int, int]], int]:
    """Split delimited text into the header, the good records and the malformed lines.

    A record with more fields than the header is malformed unless every extra field is
    blank (a trailing delimiter); its extra fields are then dropped.  Blank lines are
    skipped.  Returns ``(header, records, bad, n_records)`` where ``bad`` holds the
    (line number, field count) of each malformed line (the header is line 1) and
    ``n_records`` counts every data record, good or bad.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                        skipinitialspace=True)
    header: list[str] | None = None
    records: list[list[str]] = []
    bad: list[tuple[int, int]] = []
    n_records = 0
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if header is None:
            header = row
            continue
        n_records += 1
        width = len(header)
        if len(row) > width:
            if any(f.strip() for f in row[width:]):
                bad.append((reader.line_num, len(row)))
                continue
            row = row[:width]
        records.append(row)
    return header or [], records, bad, n_records


def malformed_lines_problem(path: Path, lines: list[int], n_lines: int, n_fields: int,
                            delimiter: str, *, examples: list[str] | None = None) -> Problem:
    """The warning about lines skipped because their number of fields is not the header's,
    or an :class:`InputFileError` when they are more than :data:`MAX_MALFORMED_SHARE` of
    the ``n_lines`` data lines.  ``lines`` are file line numbers (the header is line 1)."""
    share = len(lines) / max(n_lines, 1)
    if share > MAX_MALFORMED_SHARE:
        examples = examples or [f"line {ln}" for ln in lines[:5]]
        raise InputFileError(
            f"{path}: {len(lines)} of {n_lines} lines ({share:.1%}, more than the "
            f"{MAX_MALFORMED_SHARE:.0%} that may be skipped) do not have the {n_fields} "
            f"fields of the header (delimiter {delimiter!r}), e.g. " + ", ".join(examples),
            str(path))
    return Problem(None, f"skipped {len(lines)} malformed line(s) whose number of fields is "
                   f"not {n_fields} (line numbers count the header as line 1)",
                   rows=list(lines), code="malformed-line", severity="warning")


def fix_line_endings(text: str) -> tuple[str, list[int]]:
    """Make every line end with LF: old Mac files (CR only) get LF, and carriage returns
    stray inside lines of an LF or CRLF file are removed (they would split a record in two).

    Returns the text and the numbers of the lines that held a stray CR (line 1 is the
    header).

    >>> fix_line_endings("id,x\\r1,2\\r")
    ('id,x\\n1,2\\n', [])
    >>> fix_line_endings("id,x\\r\\n1,\\r2\\r\\n")
    ('id,x\\r\\n1,2\\r\\n', [2])
    """
    if "\r" not in text:
        return text, []
    if "\n" not in text:
        return text.replace("\r", "\n"), []
    lines = text.split("\n")
    stray: list[int] = []
    for i, line in enumerate(lines):
        body, end = (line[:-1], "\r") if line.endswith("\r") else (line, "")
        if "\r" in body:
            stray.append(i + 1)
            lines[i] = body.replace("\r", "") + end
    return ("\n".join(lines) if stray else text), stray


def check_column_names(names: list[Any], path: str | os.PathLike[str]) -> None:
    """Refuse a table whose column names repeat (after trimming spaces): which of two
    ``Age`` columns is the age cannot be guessed, and renaming one ``Age.1`` would use both.

    >>> try:
    ...     check_column_names(["id", "Age", " Age"], "t.csv")
    ... except InputFileError as exc:
    ...     print(str(exc)[:54])
    t.csv: duplicate column names: 'Age' (columns 2 and 3)
    """
    where: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        where.setdefault(str(name).strip(), []).append(i)
    dups = {n: pos for n, pos in where.items() if len(pos) > 1}
    if dups:
        listed = ", ".join(
            f"'{n}' (columns {', '.join(map(str, pos[:-1]))} and {pos[-1]})"
            for n, pos in list(dups.items())[:10])
        raise InputFileError(f"{path}: duplicate column names: {listed}; give each column "
                             "its own name, or remove the copies", str(path))


def _decode(path: Path, raw: bytes, encoding: str | None) -> tuple[str, str]:
    if not encoding:
        return decode_text(raw)
    try:
        return raw.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputFileError(f"{path}: cannot decode as {encoding}: {exc}", str(path)) from exc


def _read_text(
    path: Path, delimiter: str | None, encoding: str | None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputFileError(f"{path}: the file is empty", str(path))
    if looks_binary(raw):
        raise InputFileError(f"{path}: is a binary file (it holds NUL bytes), not a text "
                             "table; export it as CSV, Parquet or .xlsx", str(path))
    text, encoding = _decode(path, raw, encoding)
    text, stray_cr = fix_line_endings(text)
    if delimiter is None:
        delimiter = detect_delimiter(text, "\t" if path.suffix.lower() == ".tsv" else None)
    check_column_names(next(csv.reader(io.StringIO(text), delimiter=delimiter,
                                       skipinitialspace=True), []), path)
    problems: list[Problem] = []
    if stray_cr:
        problems.append(Problem(
            None, "removed carriage returns (CR) found inside lines, which would have split "
            "records in two (line numbers count the header as line 1)", rows=stray_cr,
            code="stray-cr", severity="warning"))
    options: dict[str, Any] = dict(
        sep=delimiter,
        dtype=str,
        low_memory=False,  # one pass: 2x faster on thousands of columns
        keep_default_na=False,
        na_values=[],
        skipinitialspace=True,
        skip_blank_lines=True,
        # never take the first column as the index when data lines have more fields than
        # the header (a trailing delimiter): that would silently drop the id column
        index_col=False,
        engine="c",
    )
    try:
        with warnings.catch_warnings():
            # "Length of header or names does not match length of data": some line has
            # more fields than the header and pandas would drop them silently
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(text), **options)
        return df, {"encoding": encoding, "delimiter": delimiter, "problems": problems}
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(f"{path}: the file has no header and no data", str(path)) from exc
    except pd.errors.ParserError as exc:
        unclosed = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if unclosed:
            raise InputFileError(
                f"{path}: a quoted field is never closed (a '\"' without its closing '\"') "
                f"near line {int(unclosed.group(1)) + 1}",
                str(path),
            ) from None
    except pd.errors.ParserWarning:
        pass
    # Some lines have more fields than the header: find them, keep trailing delimiters,
    # skip the malformed lines when they are few, and refuse the file when they are not.
    header, records, bad, n_records = _scan_records(text, delimiter)
    if bad:
        problems.append(malformed_lines_problem(
            path, [ln for ln, _ in bad], n_records, len(header), delimiter,
            examples=[f"line {ln} has {n}" for ln, n in bad[:5]]))
    clean = io.StringIO()
    writer = csv.writer(clean, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(records)
    df = pd.read_csv(io.StringIO(clean.getvalue()), **options)
    return df, {"encoding": encoding, "delimiter": delimiter, "problems": problems}


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
    extra: dict[str, Any] = {}
    try:
        if fmt == "csv":
            df, extra = _read_text(p, delimiter, encoding)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            check_column_names(pq.read_schema(p).names, p)
            df = pd.read_parquet(p)
        elif fmt == "excel":
            sheet_name = 0 if sheet is None else sheet
            head = pd.read_excel(p, sheet_name=sheet_name, header=None, nrows=1)
            check_column_names(head.iloc[0].dropna().tolist() if len(head) else [], p)
            # dtype=object: text cells such as "0001" stay text (pandas would make them 1);
            # number, date and boolean cells then get their types back
            df = pd.read_excel(p, sheet_name=sheet_name, dtype=object)
            df = df.infer_objects()
        else:
            df = pd.read_json(p, lines=True, dtype=False, **_JSON_NO_DATES)
    except InputFileError:
        raise
    except Exception as exc:  # the readers raise many types; all mean "not readable"
        raise InputFileError(f"{p}: cannot be read as {fmt}: {exc}", str(p)) from exc
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
    df = df.reset_index(drop=True)
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
        yield from (_stream_text(p, chunk_size) if fmt == "csv"
                    else pd.read_json(p, lines=True, dtype=False, chunksize=chunk_size,
                                      **_JSON_NO_DATES))
        return
    df, _ = read_table(p)
    for start in range(0, len(df), chunk_size):
        yield df.iloc[start:start + chunk_size]


class _StrayCRFilter(io.TextIOBase):
    """A text stream that drops carriage returns not followed by a line feed (for files
    whose lines end in LF or CRLF; see :func:`fix_line_endings`)."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self._carry = ""
        self.removed = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        text = self._carry + self._fh.read(size if size is not None else -1)
        self._carry = ""
        if text.endswith("\r") and size not in (None, -1):
            text, self._carry = text[:-1], "\r"  # its LF may come with the next read
        fixed = re.sub(r"\r(?!\n)", "", text)
        self.removed += len(text) - len(fixed)
        return fixed


def _stream_text(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if len(head) == 1 << 20 and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]  # never cut a character in two
    text, encoding = decode_text(head)
    delimiter = detect_delimiter(text, "\t" if path.suffix.lower() == ".tsv" else None)
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True), [])
    check_column_names(header, path)
    bad: list[int] = []
    rows = 0
    with open(path, encoding=encoding, errors="replace", newline="") as raw:
        stream = _StrayCRFilter(raw) if "\n" in text else raw
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            reader = pd.read_csv(stream, sep=delimiter, dtype=str, keep_default_na=False,
                                 na_values=[], skipinitialspace=True, index_col=False,
                                 on_bad_lines="warn", chunksize=chunk_size, engine="c")
            for chunk in reader:
                for w in caught:
                    bad += [int(n) for n in re.findall(r"Skipping line (\d+)", str(w.message))]
                caught.clear()
                rows += len(chunk)
                if len(bad) > MAX_MALFORMED_SHARE * max(rows + len(bad), 1000):
                    malformed_lines_problem(path, bad, rows + len(bad), len(header), delimiter)
                chunk.columns = [str(c).strip() for c in chunk.columns]
                yield chunk
    if bad:
        warnings.warn(malformed_lines_problem(path, bad, rows + len(bad), len(header),
                                              delimiter).describe(), stacklevel=2)


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
    if s.dtype.kind in "biufc":
        return s.isna()
    return s.isna() | (s.astype(str).str.strip() == "")


#: First characters that make a spreadsheet read a text cell as a formula (OWASP, "CSV
#: injection"): such cells are written with a leading apostrophe, numbers are left alone.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(value: Any) -> Any:
    """A text cell made safe for spreadsheets: ``'`` is put before a cell starting with
    ``= + - @``, a tab or a carriage return, unless the cell is a number such as ``-12.5``.

    >>> neutralise_cell("=SUM(A1:A9)"), neutralise_cell("-12.5"), neutralise_cell(3)
    ("'=SUM(A1:A9)", '-12.5', 3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.match(value):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with :func:`neutralise_cell` applied to its column names and text cells
    (numeric columns are not touched); the frame itself when nothing needs it."""
    names = [neutralise_cell(str(c)) if isinstance(c, str) else c for c in frame.columns]
    text_cols = [c for c in frame.columns
                 if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
    risky = [c for c in text_cols
             if frame[c].astype(str).str.startswith(FORMULA_STARTS).any()]
    if not risky and names == list(frame.columns):
        return frame
    out = frame.copy()
    for c in risky:
        out[c] = out[c].map(neutralise_cell)
    out.columns = names
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], **options: Any) -> None:
    """Write a frame as CSV (LF line ends, no index unless asked) with its text cells
    neutralised for spreadsheets (:func:`neutralise_frame`)."""
    options = {"index": False, "lineterminator": "\n", **options}
    frame = neutralise_frame(frame)
    arrow_text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)
                  and frame[c].dtype.storage == "pyarrow"]
    if arrow_text:  # pandas writes Arrow-backed text cell by cell: 2x slower when wide
        frame = frame.astype(dict.fromkeys(arrow_text, object))
    frame.to_csv(path, **options)


def neutralise_arrow(table: Any) -> Any:
    """:func:`neutralise_frame` for an Arrow table or record batch (string columns only)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.and_(pc.match_substring_regex(col, r"^[=+\-@\t\r]"),
                            pc.invert(pc.match_substring_regex(col, _NUMBER.pattern)))
            risky = pc.fill_null(risky, False)
            if pc.any(risky).as_py():
                col = pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
        columns.append(col)
    names = [neutralise_cell(n) for n in table.schema.names]
    return type(table).from_arrays(columns, names=names)


#: Temporary outputs are named ``.<name>.tmp-<host>-<pid>-<random>`` beside the output, so
#: that a later run can tell a leftover of a killed process from another run's work.
_TMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old|probe)-(?P<host>[A-Za-z0-9_]*)-(?P<pid>\d+)-")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", os.uname().nodename if hasattr(os, "uname")
                  else "host")[:24]


def temp_prefix(out: Path, kind: str = "tmp") -> str:
    """The prefix of a temporary file or folder made beside ``out`` by this process."""
    return f".{out.name}.{kind}-{_host()}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temporaries(out: Path) -> list[Path]:
    """Remove the temporary files and folders that a killed custseg process left beside
    ``out`` (same machine, process gone); returns what was removed."""
    removed: list[Path] = []
    try:
        candidates = list(out.parent.glob(f".{glob_escape(out.name)}.*-*"))
    except OSError:
        return removed
    for path in candidates:
        m = _TMP_NAME.match(path.name)
        if not m or m["name"] != out.name or m["host"] != _host() or _alive(int(m["pid"])):
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def output_error(exc: OSError, path: Path) -> OutputError:
    """An operating-system error met while writing ``path``, said for a person."""
    reason = exc.strerror or str(exc)
    return OutputError(f"{path}: cannot write the outputs there ({reason}); choose a folder "
                       "you can write to", str(path))


def check_output_location(out: Path) -> None:
    """Refuse, before any work, an output path that cannot be created: the nearest existing
    folder on its way must be a folder this process can write to (OutputError)."""
    probe = out.parent  # outputs are made beside ``out`` and renamed into place
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise output_error(NotADirectoryError(20, f"{probe} is a file, not a folder"), out)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise output_error(PermissionError(13, f"{probe} is not writable"), out)
    try:  # permissions do not tell everything (a read-only mount, /proc, a full quota)
        fd, name = tempfile.mkstemp(prefix=temp_prefix(out, "probe"), dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise output_error(exc, out) from None


def _prepare_output(out: Path) -> None:
    """Before a temporary output is made beside ``out``: refuse a location that cannot be
    written, create the folder, and sweep what killed runs left there."""
    check_output_location(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out) from None
    sweep_stale_temporaries(out)


_WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT,
                 errno.ENOTDIR, errno.ENAMETOOLONG, errno.EFBIG}


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Operating-system errors of writing (read-only, full disk...) as OutputError."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, CustsegError) or exc.errno not in _WRITE_ERRNOS:
            raise
        raise output_error(exc, out) from None


@contextlib.contextmanager
def atomic_output_dir(out: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``out`` only when the block succeeds.

    The temporary folder sits beside ``out`` (same file system, so the final rename is
    atomic) and is removed when the block fails or the process is interrupted; leftovers of
    a killed process are swept by the next run.  A non-empty ``out`` is refused unless
    ``force``; with ``force`` it is replaced only after the new one is complete.  A folder
    that cannot be written raises :class:`~custseg.errors.OutputError`.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_dir(root / "run") as tmp:
    ...     _ = (tmp / "a.txt").write_text("done")
    >>> sorted(p.name for p in (root / "run").iterdir())
    ['a.txt']
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is a file, not a folder", "out")
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputExistsError(
            f"{out} exists and is not empty; choose another `out` or pass `force=True` to replace "
            "it",
            "out",
        )
    _prepare_output(out)
    with _writing(out):
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out), dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the output is an ordinary folder
    try:
        with _writing(out):
            yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(out, "old"), dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_output_file(out: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary file path beside ``out`` that is renamed to ``out`` when the block
    succeeds (and removed when it does not).

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_file(root / "scored.csv") as tmp:
    ...     _ = tmp.write_text("id,segment\\n")
    >>> sorted(p.name for p in root.iterdir())
    ['scored.csv']
    """
    out = Path(out)
    if out.is_dir():
        raise OutputExistsError(f"{out} is a folder; give the name of a file to write", "out")
    if out.exists() and not force:
        raise OutputExistsError(f"{out} exists; pass `force=True` to replace it", "out")
    _prepare_output(out)
    with _writing(out):
        fd, name = tempfile.mkstemp(prefix=temp_prefix(out), dir=out.parent)
        os.close(fd)
    tmp = Path(name)
    try:
        with _writing(out):
            yield tmp
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


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
