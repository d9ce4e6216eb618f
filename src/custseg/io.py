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
from typing import Any

import pandas as pd

from custseg.errors import InputFileError, OutputExistsError, Problem, UsageError

#: File endings read as something other than delimited text.
PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
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
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


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


def _read_text(
    path: Path, delimiter: str | None, encoding: str | None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputFileError(f"{path}: the file is empty", str(path))
    if encoding:
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputFileError(f"{path}: cannot decode as {encoding}: {exc}", str(path)) from exc
    else:
        text, encoding = decode_text(raw)
    if delimiter is None:
        delimiter = detect_delimiter(text, "\t" if path.suffix.lower() == ".tsv" else None)
    problems: list[Problem] = []
    options: dict[str, Any] = dict(
        sep=delimiter,
        dtype=str,
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
    p = check_input_path(path)
    fmt = detect_format(p)
    extra: dict[str, Any] = {}
    try:
        if fmt == "csv":
            df, extra = _read_text(p, delimiter, encoding)
        elif fmt == "parquet":
            df = pd.read_parquet(p)
        elif fmt == "excel":
            # dtype=object: text cells such as "0001" stay text (pandas would make them 1);
            # number, date and boolean cells then get their types back
            df = pd.read_excel(p, sheet_name=0 if sheet is None else sheet, dtype=object)
            df = df.infer_objects()
        else:
            df = pd.read_json(p, lines=True, dtype=False, **_JSON_NO_DATES)
    except InputFileError:
        raise
    except Exception as exc:  # the readers raise many types; all mean "not readable"
        raise InputFileError(f"{p}: cannot be read as {fmt}: {exc}", str(p)) from exc
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


def _is_blank(s: pd.Series) -> pd.Series:
    if s.dtype.kind in "biufc":
        return s.isna()
    return s.isna() | (s.astype(str).str.strip() == "")


@contextlib.contextmanager
def atomic_output_dir(out: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``out`` only when the block succeeds.

    The temporary folder sits beside ``out`` (same file system, so the final rename is
    atomic).  A non-empty ``out`` is refused unless ``force``; with ``force`` it is replaced
    only after the new one is complete.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_dir(root / "run") as tmp:
    ...     _ = (tmp / "a.txt").write_text("done")
    >>> sorted(p.name for p in (root / "run").iterdir())
    ['a.txt']
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is a file, not a folder", "--out")
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputExistsError(
            f"{out} exists and is not empty; choose another --out or pass --force to replace it",
            "--out",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the output is an ordinary folder
    try:
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


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
