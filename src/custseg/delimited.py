"""Reading delimited text as it really comes: the encoding (byte-order marks, UTF-8, UTF-16,
cp1252, latin-1) and the delimiter detected, stray carriage returns removed, repeated column
names refused, and lines with more fields than the header skipped when they are few (and
the file refused when they are many).  :mod:`custseg.io` reads every table format with it."""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from custseg.errors import InputFileError, Problem

#: Largest cell the csv module reads (its default, 128 KiB, refuses long free-text notes
#: that pandas reads well).
MAX_FIELD_CHARS = 64 << 20
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
#: Delimiters tried when detecting the delimiter of a text file.
DELIMITERS = (",", ";", "\t", "|")
#: Share of malformed lines (wrong number of fields) skipped with a warning; more is an error.
MAX_MALFORMED_SHARE = 0.01


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


#: At most this many lines before the header are taken for a title ("Customer export
#: generated ..."), and skipped with a warning.
MAX_PREAMBLE = 5
#: ... when this many lines after the header (or all of them) have the header's fields.
PREAMBLE_CHECK = 20


def preamble_lines(text: str, delimiter: str) -> int:
    r"""How many lines before the header are a title rather than the table
    (:func:`preamble_rows` of the lines' fields).

    >>> preamble_lines("Customer export 2026-11-30\n\nid,spend\n1,5\n2,7\n", ",")
    2
    >>> preamble_lines("Report, 2026-11-30\nid,spend,visits\n1,5,2\n2,7,1\n", ",")
    1
    >>> preamble_lines("id,spend\n1,5\n", ","), preamble_lines("note\nid,spend\n1\n", ",")
    (0, 0)
    >>> preamble_lines("CustomerID\nC1,5\nC2,7\n", ",")  # a header of one name: not a title
    0
    """
    lines = text.split("\n", MAX_PREAMBLE + PREAMBLE_CHECK + 1)[:MAX_PREAMBLE
                                                               + PREAMBLE_CHECK + 1]
    # the last line may be cut short: it is not looked at
    rows = [next(csv.reader([line], delimiter=delimiter), []) if line.strip() else []
            for line in lines[:-1]]
    return preamble_rows(rows)


def preamble_rows(rows: list[list[str]], ragged: bool = False) -> int:
    """How many rows before the header are a title rather than the table: the first row
    does not have the fields of the rows after it, while a later row (at most
    :data:`MAX_PREAMBLE` rows in) has at least two fields, as many as every row after it,
    more than every row before it and no number among them; 0 otherwise (the first row is
    the header, or the table is malformed).  An empty list is a blank row.  ``ragged``: a
    spreadsheet's rows, whose empty cells at the end are not there, may be shorter than the
    header but none longer, and one as long.

    >>> preamble_rows([["Sales report"], [], ["id", "spend", "visits"], ["1", "5"],
    ...                ["2", "7", "1"]], ragged=True)
    2
    """
    def header_at(i: int) -> bool:
        n = len(rows[i])
        after = [len(r) for r in rows[i + 1:] if r]
        fits = (max(after, default=0) == n and all(m <= n for m in after)) if ragged else (
            bool(after) and all(m == n for m in after))
        return n >= 2 and bool(after) and fits

    first = next((i for i, r in enumerate(rows) if r), 0)
    if not rows or header_at(first):
        return 0
    for skip in range(first + 1, min(MAX_PREAMBLE + 1, len(rows))):
        if not rows[skip] or not header_at(skip):
            continue
        if any(re.fullmatch(r"[-+]?\W?\s*[\d.,]+\s*%?", f.strip()) for f in rows[skip]):
            return 0  # a line of numbers is data, not a header
        before = [len(r) for r in rows[:skip] if r]
        return skip if all(n < len(rows[skip]) for n in before) else 0
    return 0


def split_preamble(text: str, delimiter: str) -> tuple[list[str], str]:
    r"""(the title lines before the header, :func:`preamble_lines`; the text from the header
    on, line ends ``\r\n`` read as ``\n`` when there were title lines).

    >>> split_preamble("Export\r\nid,spend\r\n1,5\r\n", ",")
    (['Export'], 'id,spend\n1,5\n')
    """
    skip = preamble_lines(text[:1 << 20].replace("\r\n", "\n"), delimiter)
    if not skip:
        return [], text  # as it is: no copy of a large text
    parts = text.replace("\r\n", "\n").split("\n", skip)
    return parts[:skip], parts[skip]


def preamble_problem(path: Path | str, lines: list[str]) -> Problem:
    """The warning about the title lines skipped before the header."""
    shown = "; ".join(repr(line.strip()[:80]) for line in lines if line.strip())
    return Problem(None, f"{path}: skipped {len(lines)} line(s) before the header, a title "
                   f"rather than the table: {shown}", code="preamble", severity="warning")


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
    """The text of a file's bytes, in the encoding given or detected (:func:`decode_text`)."""
    if not encoding:
        return decode_text(raw)
    try:
        return raw.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputFileError(f"{path}: cannot decode as {encoding}: {exc}", str(path)) from exc


def read_text(
    path: Path, delimiter: str | None, encoding: str | None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a delimited text file with every cell as text; the table, and what was found
    (``encoding``, ``delimiter``, ``problems``: stray carriage returns, malformed lines)."""
    text, encoding, delimiter, problems = _text_of(path, delimiter, encoding)
    options = _csv_options(delimiter)
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
    df = _read_well_formed(path, text, delimiter, options, problems)
    return df, {"encoding": encoding, "delimiter": delimiter, "problems": problems}


def _text_of(path: Path, delimiter: str | None, encoding: str | None
             ) -> tuple[str, str, str, list[Problem]]:
    """A text file's text (decoded, line ends fixed), its encoding and delimiter (given or
    detected), and the warning about stray carriage returns; refuses an empty or binary
    file and repeated column names."""
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
    problems: list[Problem] = []
    title, text = split_preamble(text, delimiter)
    if title:
        problems.append(preamble_problem(path, title))
    check_column_names(next(csv.reader(io.StringIO(text), delimiter=delimiter,
                                       skipinitialspace=True), []), path)
    if stray_cr:
        problems.append(Problem(
            None, "removed carriage returns (CR) found inside lines, which would have split "
            "records in two (line numbers count the header as line 1)", rows=stray_cr,
            code="stray-cr", severity="warning"))
    return text, encoding, delimiter, problems


def _csv_options(delimiter: str) -> dict[str, Any]:
    """How pandas reads a delimited text table: every cell as the text written."""
    return dict(
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


def _read_well_formed(path: Path, text: str, delimiter: str, options: dict[str, Any],
                      problems: list[Problem]) -> pd.DataFrame:
    """The table of a text whose lines do not all have the header's fields: trailing
    delimiters kept, the malformed lines skipped with a warning when they are few (and the
    file refused when they are not)."""
    header, records, bad, n_records = _scan_records(text, delimiter)
    if bad:
        problems.append(malformed_lines_problem(
            path, [ln for ln, _ in bad], n_records, len(header), delimiter,
            examples=[f"line {ln} has {n}" for ln, n in bad[:5]]))
    clean = io.StringIO()
    writer = csv.writer(clean, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(records)
    return pd.read_csv(io.StringIO(clean.getvalue()), **options)


class _StrayCRFilter(io.TextIOBase):
    """A text stream that drops carriage returns not followed by a line feed (for files
    whose lines end in LF or CRLF; see :func:`fix_line_endings`)."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self._carry = ""
        self.removed = 0

    def readable(self) -> bool:
        """Always: the stream is read."""
        return True

    def read(self, size: int | None = -1) -> str:
        """Up to ``size`` characters, stray carriage returns removed."""
        text = self._carry + self._fh.read(size if size is not None else -1)
        self._carry = ""
        if text.endswith("\r") and size not in (None, -1):
            text, self._carry = text[:-1], "\r"  # its LF may come with the next read
        fixed = re.sub(r"\r(?!\n)", "", text)
        self.removed += len(text) - len(fixed)
        return fixed


def stream_text(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    """The rows of a large delimited text file, ``chunk_size`` at a time, with the rules of
    :func:`read_text` (the malformed lines skipped are warned of at the end)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if len(head) == 1 << 20 and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]  # never cut a character in two
    text, encoding = decode_text(head)
    delimiter = detect_delimiter(text, "\t" if path.suffix.lower() == ".tsv" else None)
    title, text = split_preamble(text, delimiter)
    skip = len(title)
    if title:
        warnings.warn(preamble_problem(path, title).describe(), stacklevel=2)
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
                                 skiprows=skip,
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

