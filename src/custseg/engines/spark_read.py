"""The Spark engine's read: Parquet or CSV from any Spark path (CSV cells as text), the
input's SHA-256, and numbers parsed from text as :mod:`custseg.schema` parses them
(:mod:`custseg.engines.spark`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custseg.engines.spark_run import SparkRunState
from custseg.errors import UsageError
from custseg.schema import (
    BRACKETED_NEGATIVE_PATTERN,
    DECIMAL_COMMA_PATTERN,
    GROUP_SEPARATOR_PATTERN,
    GROUPED_NUMBER_PATTERN,
    MARK_PATTERN,
    MARKED_NUMBER_PATTERN,
    THOUSANDS_PATTERN,
    comma_reading,
)

if TYPE_CHECKING:

    pass


# ----------------------------------------------------------------------------- helpers
def spark_col(name: str) -> Any:
    """A column by name, whatever characters it holds (dots, spaces, brackets)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _format_of(path: str, input_format: str | None) -> str:
    if input_format is not None:
        if input_format not in ("csv", "parquet"):
            raise UsageError(f"input format must be csv or parquet, got {input_format!r}",
                             "input_format")
        return input_format
    local = Path(path)
    if local.is_dir():
        return "parquet" if any(local.rglob("*.parquet")) else "csv"
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in ("", ".csv", ".tsv", ".txt"):
        return "parquet" if suffix == "" else "csv"
    raise UsageError(f"`engine='spark'` reads Parquet and CSV; {path} ends in {suffix!r}",
                     "engine")


def _local_text_options(path: str, delimiter: str | None,
                        encoding: str | None) -> tuple[str, str]:
    """Delimiter and encoding of a local text file (detected as custseg.io does); for other
    paths, the given values or comma and UTF-8."""
    from custseg.delimited import split_preamble
    from custseg.io import decode_text, detect_delimiter

    local = Path(path)
    if local.is_file():
        with local.open("rb") as fh:
            head = fh.read(65536)
        text, found = decode_text(head) if encoding is None else (
            head.decode(encoding, errors="replace"), encoding)
        encoding = encoding or found
        delimiter = delimiter or detect_delimiter(text)
        skip = len(split_preamble(text, delimiter)[0])
        if skip:  # Spark's reader takes the first line for the header
            from custseg.errors import InputFileError

            raise InputFileError(f"{path}: the first {skip} line(s) are a title, not the "
                                 "header (custseg.delimited.preamble_lines); `engine='spark'` "
                                 "reads the header from the first line: remove them, or use "
                                 "`engine='local'`, which skips them", path)
    return delimiter or ",", encoding or "utf-8"


def _input_sha256(spark: Any, df: Any) -> tuple[str, str]:
    """SHA-256 of the input: of its bytes when its files are local (one file: the same
    checksum as the local engine's), else of its listing (path, length, modification
    time), which changes whenever a file does."""
    files = sorted(df.inputFiles())
    digest = hashlib.sha256()
    if files and all(f.startswith("file:") for f in files):
        from urllib.parse import unquote, urlparse

        for f in files:
            with open(unquote(urlparse(f).path), "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest(), "bytes"
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    for f in files:
        p = jvm.org.apache.hadoop.fs.Path(f)
        status = p.getFileSystem(conf).getFileStatus(p)
        digest.update(f"{f}\t{status.getLen()}\t{status.getModificationTime()}\n".encode())
    return digest.hexdigest(), "listing"


# ----------------------------------------------------------------------------- parsing
THOUSANDS = f"^{THOUSANDS_PATTERN}$"


DECIMAL_COMMA = f"^{DECIMAL_COMMA_PATTERN}$"
MARKED_NUMBER = f"^({MARKED_NUMBER_PATTERN})$"


BRACKETED_NEGATIVE = f"^{BRACKETED_NEGATIVE_PATTERN}$"
GROUPED_NUMBER = f"^{GROUPED_NUMBER_PATTERN}$"


def _unbracketed(t: Any) -> Any:
    from pyspark.sql import functions as F

    return F.when(t.rlike(BRACKETED_NEGATIVE),
                  F.concat(F.lit("-"), F.trim(F.regexp_replace(t, r"^\(|\)$", "")))
                  ).otherwise(t)


def _without_currency(t: Any) -> Any:
    from pyspark.sql import functions as F

    return F.when(t.rlike(MARKED_NUMBER), F.regexp_replace(t, MARK_PATTERN, "")).otherwise(t)


def _ungrouped(t: Any) -> Any:
    from pyspark.sql import functions as F

    return F.when(t.rlike(GROUPED_NUMBER),
                  F.regexp_replace(t, GROUP_SEPARATOR_PATTERN, "")).otherwise(t)


def with_unmarked(base: Any, columns: list[NumericColumn]) -> Any:
    """``base`` with, for each text column of ``columns``, its trimmed cells as plain numbers
    where they are written as exports write them (custseg.parsing.without_marks, in Spark
    SQL: bracketed negatives with a minus, the currency and percent marks of marked numbers
    dropped, the spaces or apostrophes between groups of digits dropped), in the column
    named ``c.text``.

    One projection a step, each reading the step before as a column: the three steps
    written as one expression repeat the cell's text 27 times, and Catalyst took seconds to
    plan the scan of a 440-row table (4.8 s against 1.0 s)."""
    from pyspark.sql import functions as F

    text = [c for c in columns if c.kind == "text"]
    for i, c in enumerate(text):
        c.text = f"__text{i}"
    if not text:
        return base
    frame = base.withColumns({c.text: F.trim(spark_col(c.name).cast("string")) for c in text})
    for step in (_unbracketed, _without_currency, _ungrouped):
        frame = frame.withColumns({c.text: step(F.col(c.text)) for c in text})
    return frame


@dataclass
class NumericColumn:
    name: str
    internal: str
    kind: str  # "number" (typed input) or "text"
    comma: str = ""  # "thousands", "decimal" or ""
    n_filled: int = 0
    n_junk: int = 0
    n_markers: int = 0
    junk_values: list[str] = field(default_factory=list)
    marker_values: list[str] = field(default_factory=list)
    text: str = ""  # its unmarked text's column in :func:`with_unmarked`'s frame


def parse_expr(col: NumericColumn) -> Any:
    """The column as a double: numbers as they are, text as custseg.schema reads it (junk
    and missing markers become null); on :func:`with_unmarked`'s frame."""
    from pyspark.sql import functions as F

    if col.kind == "number":
        return spark_col(col.name).cast("double")
    t = F.col(col.text)
    parsed = t.try_cast("double")
    if col.comma == "thousands":
        alt = F.regexp_replace(t, ",", "").try_cast("double")
        parsed = F.when(t.rlike(THOUSANDS), alt).otherwise(parsed)
    elif col.comma == "decimal":  # the dots between groups of three go first: "1.014,81"
        alt = F.regexp_replace(F.regexp_replace(t, r"\.", ""), ",", ".").try_cast("double")
        parsed = F.when(t.rlike(DECIMAL_COMMA), alt).otherwise(parsed)
    return parsed


def scan_text_columns(base: Any, columns: list[NumericColumn]) -> Any:
    """One pass over the text columns: filled cells, numbers, comma forms, missing markers;
    decides each column's comma reading and counts its junk (as custseg.schema does).
    Returns ``base`` with the unmarked text columns (:func:`with_unmarked`), which
    :func:`parse_expr` reads."""
    from pyspark.sql import functions as F

    from custseg.schema import MISSING_MARKERS

    base = with_unmarked(base, columns)
    text = [c for c in columns if c.kind == "text"]
    if not text:
        return base
    markers = sorted(MISSING_MARKERS)
    aggs = []
    for i, c in enumerate(text):
        t = F.col(c.text)
        filled = t.isNotNull() & (t != "")
        failed = filled & t.try_cast("double").isNull()
        thousands = failed & t.rlike(THOUSANDS)
        decimal = failed & t.rlike(DECIMAL_COMMA)
        marker = failed & F.lower(t).isin(markers)
        aggs += [F.sum(filled.cast("long")).alias(f"f{i}"),
                 F.sum(failed.cast("long")).alias(f"x{i}"),
                 F.sum(thousands.cast("long")).alias(f"t{i}"),
                 F.sum((decimal & ~thousands).cast("long")).alias(f"d{i}"),
                 F.sum(decimal.cast("long")).alias(f"dd{i}"),
                 F.sum(marker.cast("long")).alias(f"m{i}")]
    row = base.agg(*aggs).first()
    for i, c in enumerate(text):
        failed, thousands = row[f"x{i}"] or 0, row[f"t{i}"] or 0
        decimal_only, decimal = row[f"d{i}"] or 0, row[f"dd{i}"] or 0
        c.n_filled, c.n_markers = row[f"f{i}"] or 0, row[f"m{i}"] or 0
        if comma_reading(bool(thousands), bool(decimal_only)) == "thousands":
            c.comma, fixed = "thousands", thousands
        elif decimal:
            c.comma, fixed = "decimal", decimal
        else:
            fixed = 0
        c.n_junk = int(failed - fixed - c.n_markers)
    for c in text:  # a few of the offending cells, for the messages
        if c.n_junk or c.n_markers:
            t = F.trim(spark_col(c.name).cast("string"))
            bad = base.where(t.isNotNull() & (t != "") & parse_expr(c).isNull())
            values = [r[0] for r in bad.select(t).limit(40).collect()]
            c.marker_values = [v for v in values if v.lower() in MISSING_MARKERS][:20]
            c.junk_values = [v for v in values if v.lower() not in MISSING_MARKERS][:20]
    return base


class SparkReading(SparkRunState):
    """Stage 1 of a run: the input read, counted and fingerprinted."""

    # ------------------------------------------------------------------ 1. read
    def read(self, input_format: str | None, delimiter: str | None,
             encoding: str | None) -> tuple[Any, dict[str, Any]]:
        fmt = _format_of(self.path, input_format)
        reader = self.spark.read
        # a local file's delimiter, encoding and title lines, before Spark reads it
        sep, charset = (_local_text_options(self.path, delimiter, encoding) if fmt == "csv"
                        else (",", "utf-8"))
        enc, delim = (charset, sep) if fmt == "csv" else (None, None)
        try:
            if fmt == "csv":
                df = (reader.option("header", True).option("inferSchema", False)
                      .option("sep", sep).option("encoding", charset.replace("-sig", ""))
                      .option("mode", "PERMISSIVE").option("multiLine", False).csv(self.path))
                first = df.columns[0] if df.columns else ""
                if first.startswith("\ufeff"):  # a UTF-8 byte-order mark in the header
                    df = df.withColumnRenamed(first, first[1:])
            else:
                df = reader.parquet(self.path)
        except Exception as exc:  # Spark's AnalysisException: path missing, unreadable
            from custseg.errors import InputFileError

            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise InputFileError(f"{self.path}: cannot read it as {fmt}: {first_line}",
                                 self.path) from exc
        info = {"path": self.path, "format": fmt, "encoding": enc, "delimiter": delim,
                "rows": 0, "columns": len(df.columns)}
        return df, info

    # ------------------------------------------------------------------ 1. read
    def read_all(self, input_format: str | None, delimiter: str | None,
                 encoding: str | None) -> tuple[Any, dict[str, Any], str, str]:
        """The input as a DataFrame, its description (rows counted) and its checksum."""
        from pyspark.sql import functions as F

        self._step("read", 0)
        raw, info = self.read(input_format, delimiter, encoding)
        # rows counted per partition: the total, and the row numbers of a table without ids
        counts = raw.groupBy(F.spark_partition_id().alias("p")).count().collect()
        self.partition_rows = {int(r["p"]): int(r["count"]) for r in counts}
        n_rows = sum(self.partition_rows.values())
        if n_rows == 0:
            from custseg.errors import InputFileError

            raise InputFileError(f"{self.path}: no data rows", self.path)
        info["rows"] = n_rows
        sha256, checksum_of = _input_sha256(self.spark, raw)
        self._step("read", 1)
        return raw, info, sha256, checksum_of
