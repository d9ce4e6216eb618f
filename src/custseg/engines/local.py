"""The local fast path: millions of customers on one machine, fast and in bounded memory.

``custseg segment --engine local`` (and ``--engine auto``, the default, for K-Means on
:data:`LOCAL_THRESHOLD` customers or more) runs the same pipeline as
:func:`custseg.pipeline.segment_file` with the work organised for size:

1. **Columnar read** (pyarrow): CSV/TSV with the encoding and delimiter detected from the
   first megabyte, multi-threaded, malformed lines skipped with their line numbers; Parquet
   as it is stored.  The input's SHA-256 is computed in a thread while the file is parsed.
2. **Checks** on every row of the feature columns (junk cells, missing-value markers,
   infinite or too large values, constant or empty columns) with the messages of
   :func:`custseg.schema.validate_table`; column roles are inferred on the first rows.
3. **Preprocessing** planned and fitted on a sample (the same scikit-learn transformer as
   the standard engine, kept in the model), then applied to all customers chunk by chunk in
   NumPy, the result stored as float32 (after scaling, where float32 loses nothing that
   matters; checked against the fitted transformer on the sample).
4. **k chosen on a stratified random sample** (:func:`selection_sample_size` customers:
   5% of them, at least 50,000 and at most 100,000; one drawn
   from each of that many equal slices of the file, so that a file sorted by date or region
   is covered evenly), with the scores' sampling errors
   (:func:`custseg.selection.score_partition_sampled`); for each k,
   :class:`custseg.algorithms.kmeans.FastKMeans` (one k-means++ start and a global
   split/merge repair step instead of several starts; a compiled Lloyd kernel).
5. **Final K-Means on all customers**, warm-started from the sample's centres (Lloyd
   iterations of the compiled kernel on the float32 matrix, no copy); assignment and
   distances computed in chunks.
6. **Profiles** of all customers in NumPy (exact means and medians per segment), names and
   recommendations from :mod:`custseg.profiling`; the **report** is drawn from a sample of
   :data:`REPORT_SAMPLE` customers (said in the report).
7. **Outputs** written with a columnar writer, beside the report and the model:
   ``segments.parquet`` above :data:`PARQUET_FROM_ROWS` customers (the segment name
   dictionary-encoded), ``segments.csv`` up to it (``--format csv`` or ``parquet`` to
   choose); the rest as the standard engine writes it.

What the fast path does not do: exact duplicate rows are kept (the standard engine leaves
them out of the fit and gives them their twin's segment), segmenting on categorical
columns, and methods other than K-Means (``--engine standard`` does them).

Examples
--------
>>> from custseg.engines.local import segment_large
>>> from custseg.io import demo_data_path
>>> result = segment_large(demo_data_path(), features=["Annual Income (k$)",
...                        "Spending Score (1-100)"], random_state=0)
>>> result.summary["k"], result.summary["engine"]["name"]
(5, 'local')
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.engines import LOCAL_THRESHOLD as LOCAL_THRESHOLD  # defined there, re-exported
from custseg.engines.base import new_cleaning, number_by_size, record_unreadable
from custseg.errors import DataError, InputFileError, Problem, UsageError
from custseg.io import (
    TableInfo,
    atomic_output_dir,
    check_column_names,
    check_input_path,
    decode_text,
    detect_delimiter,
    detect_format,
    file_sha256,
    malformed_lines_problem,
    neutralise_arrow,
    peek_columns,
    read_table,
)
from custseg.pipeline import (
    NOISE_NAME,
    UNASSIGNED_NAME,
    ProgressFn,
    SegmentationResult,
    build_summary,
    projection_frame,
    write_model_and_report,
    write_summary,
)
from custseg.schema import (
    MAX_ABS_VALUE,
    all_missing_problem,
    constant_problem,
    infinite_problem,
    parse_numeric,
    too_large_problem,
    validate_table,
)

#: Customers k is chosen on (a stratified random sample): 5% of them, within these bounds.
SELECTION_SAMPLE = (50_000, 100_000)


def selection_sample_size(n: int) -> int:
    """Customers k is chosen on out of ``n``: 5%, at least 50,000 and at most 100,000
    (all of them below 50,000).  Per-k inertia on a 50,000 sample is within 0.3% of the
    whole table's, and the scores' standard errors say how precise the sample is.

    >>> selection_sample_size(1_000_000), selection_sample_size(10_000_000)
    (50000, 100000)
    """
    lo, hi = SELECTION_SAMPLE
    return int(min(n, max(lo, min(hi, n // 20))))
#: Customers the report's charts and data overview are drawn from.
REPORT_SAMPLE = 50_000
#: Rows the role inference looks at.
HEAD_ROWS = 10_000
#: With ``--format auto`` (the default), the fast path writes ``segments.parquet`` for more
#: customers than this, ``segments.csv`` up to it.
PARQUET_FROM_ROWS = 1_000_000
#: Rows a chunk of preprocessing or assignment works on.
CHUNK_ROWS = 1 << 20
#: Bytes of CSV text a parser thread takes at a time.
BLOCK_SIZE = 32 << 20


@dataclass
class LargeResult(SegmentationResult):
    """A :class:`~custseg.pipeline.SegmentationResult` of the fast path.

    ``table``, ``segmenter`` and ``projection`` describe the report's sample of customers;
    ``full`` is every row as read (Arrow) and ``model`` the segmenter of all customers
    (``labels_``, ``distances_`` for every row).
    """

    full: Any = None
    model: Any = None


# --------------------------------------------------------------------------- reading
def _sha256_in_thread(path: Path) -> tuple[threading.Thread, dict[str, str]]:
    """:func:`custseg.io.file_sha256` in a thread (hashing releases the GIL: it runs beside
    the parser); the digest lands in the returned dict under ``"sha256"``."""
    box: dict[str, str] = {}
    t = threading.Thread(target=lambda: box.update(sha256=file_sha256(path)), daemon=True)
    t.start()
    return t, box


def _sniff(path: Path, delimiter: str | None, encoding: str | None) -> tuple[str, str]:
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
    return delimiter, encoding


def _arrow_encoding(encoding: str) -> str:
    return "utf8" if encoding.replace("-", "").lower() in ("utf8", "utf8sig") else encoding


def _read_csv_arrow(path: Path, delimiter: str, encoding: str) -> tuple[Any, list[Problem]]:
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
                                               use_threads=threads, block_size=BLOCK_SIZE),
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
            header = _header(path, delimiter, encoding)
            forced[header[int(m.group(1))]] = pa.string()  # junk later in the file: as text
            continue
        problems = [malformed_lines_problem(
            path, sorted(int(b) for b in bad if b is not None), table.num_rows + len(bad),
            table.num_columns, delimiter)] if bad else []
        return table, problems
    raise InputFileError(f"{path}: cannot be read as csv", str(path))


def _header(path: Path, delimiter: str, encoding: str) -> list[str]:
    import csv

    with open(path, encoding=encoding, newline="", errors="replace") as fh:
        return next(csv.reader(fh, delimiter=delimiter))


def read_columnar(path: str | os.PathLike[str], *, delimiter: str | None = None,
                  encoding: str | None = None, sheet: str | int | None = None
                  ) -> tuple[Any, TableInfo]:
    """Read a table as an Arrow table: CSV/TSV and Parquet column-wise and multi-threaded;
    Excel and JSON Lines through :func:`custseg.io.read_table`.

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
                delimiter, encoding = _sniff(p, delimiter, encoding)
                table, problems = _read_csv_arrow(p, delimiter, encoding)
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


# --------------------------------------------------------------------------- checks
def _is_number_type(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
                or pa.types.is_boolean(t))


def _arrow_float64(col: Any) -> np.ndarray:
    """A numeric Arrow column as float64, missing cells as NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False),
                      dtype=np.float64)


def _arrow_checks(col: Any, name: str, cleaning: dict[str, Any],
                  warns: list[Problem]) -> Any:
    """The checks of :func:`_numeric_column` on a number-typed Arrow column, in Arrow (no
    float64 copy): the column itself when it is fine, None when it is dropped as constant,
    False when it needs the full check (all missing, infinite or too large values: the
    messages name the rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n_missing = col.null_count
    if pa.types.is_floating(col.type):
        n_missing += int(pc.sum(pc.is_nan(col)).as_py() or 0)
    if n_missing == len(col):
        return False
    mm = pc.min_max(col)  # NaN and missing cells left out
    lo, hi = float(mm["min"].as_py()), float(mm["max"].as_py())
    if not (np.isfinite(lo) and np.isfinite(hi) and max(-lo, hi) <= MAX_ABS_VALUE):
        return False
    return _kept_or_constant(col, name, lo, hi, n_missing, cleaning, warns)


def _numeric_column(table: Any, name: str, max_junk: float, cleaning: dict[str, Any],
                    errors: list[Problem], warns: list[Problem]) -> Any:
    """The column after the standard engine's checks: the Arrow column itself when it is
    typed as numbers, else its values parsed from text as float64 with NaN for missing cells
    (None when the column is dropped)."""

    col = table.column(name)
    if _is_number_type(col.type):
        fast = _arrow_checks(col, name, cleaning, warns)
        if fast is not False:  # checked in Arrow, without a copy: the column or None
            return fast
        values = _arrow_float64(col)
        raw = None
    else:
        raw = col.to_pandas()
        parsed = parse_numeric(raw)
        values = parsed.values.to_numpy(dtype=np.float64)
        junk = np.flatnonzero(parsed.junk.to_numpy())
        markers = np.flatnonzero(parsed.markers.to_numpy())
        record_unreadable(name, len(junk), parsed.n_filled, len(markers), max_junk=max_junk,
                          cleaning=cleaning, errors=errors, warns=warns,
                          junk=_examples(raw, junk), markers=_examples(raw, markers))
    missing = np.isnan(values)
    n_missing = int(np.count_nonzero(missing))
    if n_missing == len(values):
        errors.append(all_missing_problem(name))
        return None
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))  # two passes, no copy
    if not (np.isfinite(lo) and np.isfinite(hi) and max(-lo, hi) <= MAX_ABS_VALUE):
        with np.errstate(invalid="ignore"):
            inf = np.isinf(values)
            huge = (np.abs(values) > MAX_ABS_VALUE) & ~inf
        if inf.any():
            rows = np.flatnonzero(inf)
            errors.append(infinite_problem(name, len(rows), rows=[int(i) + 1 for i in rows[:20]],
                                           values=values[rows[:20]].tolist()))
        if huge.any():
            rows = np.flatnonzero(huge)
            errors.append(too_large_problem(name, len(rows),
                                            rows=[int(i) + 1 for i in rows[:20]],
                                            values=[str(v) for v in values[rows[:20]]]))
        return None
    return _kept_or_constant(values, name, lo, hi, n_missing, cleaning, warns)


def _examples(raw: pd.Series, rows: np.ndarray) -> dict[str, list[Any]]:
    """The first 20 of ``rows`` (0-based) of a text column: line numbers and cells, for a
    finding's ``rows`` and ``values``."""
    return {"rows": [int(i) + 1 for i in rows[:20]],
            "values": raw.iloc[rows[:20]].astype(str).tolist()}


def _kept_or_constant(column: Any, name: str, lo: float, hi: float, n_missing: int,
                      cleaning: dict[str, Any], warns: list[Problem]) -> Any:
    """The last check of every numeric column: dropped (None) when it is constant, else
    kept, its missing cells counted."""
    if lo == hi:
        warns.append(constant_problem(name, lo))
        cleaning["columns_dropped"][name] = "constant"
        return None
    if n_missing:
        cleaning["missing_values"][name] = n_missing
    return column


def _check_features(table: Any, *, id_col: str | None, features: list[str] | None,
                    exclude: list[str] | None, categorical: list[str] | None,
                    max_junk: float, min_rows: int) -> tuple[Any, list[str], dict[str, Any],
                                                             list[Problem], dict[str, Any]]:
    """Roles from the first rows, then every row of the feature columns checked; returns
    roles, features, their values (:func:`column_block` sources: the Arrow column, or
    float64 parsed from text), warnings, cleaning."""
    head = table.slice(0, HEAD_ROWS).to_pandas()
    checked = validate_table(head, id_col=id_col, features=features, exclude=exclude,
                             categorical=categorical, use_categorical=False, max_junk=1.0,
                             min_rows=min(min_rows, len(head)), infer_roles=True)
    if checked.categorical_features:
        raise UsageError("the fast path (`engine='local'`) segments on numeric columns only; "
                         f"{checked.categorical_features} are categorical: use "
                         "`engine='standard'`", "engine")
    roles = checked.roles
    cleaning = new_cleaning(table.num_rows, 0, {
        c: why for c, why in checked.cleaning["columns_dropped"].items()
        if c not in checked.features})
    errors: list[Problem] = []
    warns = [w for w in checked.warnings if w.code not in ("junk", "missing-marker",
                                                           "constant", "duplicate-rows")]
    sources: dict[str, Any] = {}
    for name in checked.features:
        values = _numeric_column(table, name, max_junk, cleaning, errors, warns)
        if values is not None:
            sources[name] = values
        del values
    if errors:
        raise DataError(errors)
    if not sources:
        raise DataError([Problem(None, "no numeric feature left to segment on",
                                 code="no-features")])
    return roles, list(sources), sources, warns, cleaning


def _describe_columns(table: Any, roles: Any, features: list[str]
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The other numeric columns (typed as numbers in the file) and the categorical columns,
    which describe the segments in the profiles."""
    import pyarrow as pa

    numeric: dict[str, Any] = {}
    for c in roles.numeric:
        col = table.column(c)
        if c not in features and (pa.types.is_integer(col.type) or
                                  pa.types.is_floating(col.type)):
            numeric[c] = col  # read when profiled
    return numeric, {c: table.column(c) for c in roles.categorical}


# --------------------------------------------------------------------------- numbers
def stratified_sample(n: int, size: int, random_state: int) -> np.ndarray:
    """``size`` row numbers out of ``n``: one drawn at random from each of ``size`` equal
    slices of the rows (all rows when ``n <= size``), sorted.

    >>> stratified_sample(10, 4, 0)
    array([1, 2, 5, 7])
    """
    if n <= size:
        return np.arange(n)
    edges = np.linspace(0, n, size + 1).astype(np.int64)
    width = np.diff(edges)
    rng = np.random.default_rng(random_state)
    return edges[:-1] + (rng.random(size) * width).astype(np.int64)


def column_block(sources: list[Any], start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of feature columns as one float64 block (C order), missing cells
    as NaN; a source is an Arrow column (cast a slice at a time) or a float64 array."""
    block = np.empty((stop - start, len(sources)), dtype=np.float64)
    for j, src in enumerate(sources):
        block[:, j] = (src[start:stop] if isinstance(src, np.ndarray)
                       else _arrow_float64(src.slice(start, stop - start)))
    return block


def take_rows(data: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` (sorted) of an Arrow table or column, taken chunk by chunk: Arrow's own
    ``take`` on a chunked column first joins its chunks (a copy of the whole column).

    >>> import pyarrow as pa
    >>> col = pa.chunked_array([[1, 2, 3], [4, 5]])
    >>> take_rows(col, np.array([0, 3, 4])).to_pylist()
    [1, 4, 5]
    """
    import pyarrow as pa

    table = isinstance(data, pa.Table)
    pieces, start = [], 0
    for part in (data.to_batches() if table else data.chunks):
        stop = start + len(part)
        lo, hi = np.searchsorted(rows, [start, stop])
        if hi > lo:
            pieces.append(part.take(pa.array(rows[lo:hi] - start)))
        start = stop
    if table:
        return pa.Table.from_batches(pieces, schema=data.schema)
    return pa.chunked_array(pieces, type=data.type)


def column_rows(sources: list[Any], rows: np.ndarray) -> np.ndarray:
    """Some rows (sorted) of feature columns (:func:`column_block` sources) as float64."""
    return np.column_stack([src[rows] if isinstance(src, np.ndarray)
                            else _arrow_float64(take_rows(src, rows)) for src in sources])


def fast_transform(preprocessor: Any, raw: np.ndarray | list[Any], out: np.ndarray,
                   chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """Apply a fitted numeric preprocessor (:func:`custseg.preprocess.build_preprocessor`)
    to ``raw`` (float64, one column per numeric feature; or a list of
    :func:`column_block` sources, read a chunk at a time) chunk by chunk, writing ``out``
    (float32 or float64, same shape).  Same result as ``preprocessor.transform``."""
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    pipe = preprocessor.named_transformers_["numeric"]
    steps = dict(pipe.steps)
    fill = steps["impute"].statistics_
    clip = steps.get("clip")
    log = steps.get("log")
    scale = steps["scale"]
    if isinstance(scale, StandardScaler):
        shift, factor = scale.mean_, 1.0 / scale.scale_
    elif isinstance(scale, RobustScaler):
        shift, factor = scale.center_, 1.0 / scale.scale_
    elif isinstance(scale, MinMaxScaler):
        shift, factor = -scale.min_ / scale.scale_, scale.scale_
    else:  # passthrough
        shift, factor = np.zeros(out.shape[1]), np.ones(out.shape[1])
    for start in range(0, out.shape[0], chunk_rows):
        if isinstance(raw, np.ndarray):
            block = np.array(raw[start:start + chunk_rows], dtype=np.float64, order="C")
        else:
            block = column_block(raw, start, min(start + chunk_rows, out.shape[0]))
        nan = np.isnan(block)
        if nan.any():
            block[nan] = np.broadcast_to(fill, block.shape)[nan]
        if clip is not None:
            np.clip(block, clip.lower_, clip.upper_, out=block)
        if log is not None and log.mask_.any():
            block[:, log.mask_] = np.log1p(np.clip(block[:, log.mask_], 0, None))
        block -= shift
        block *= factor
        out[start:start + chunk_rows] = block
    return out


def assign_chunked(Z: np.ndarray, centres: np.ndarray, n_threads: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre and Euclidean distance to it for every row, in chunks (never n x k):
    :func:`custseg.algorithms.kmeans.assign`."""
    from custseg.algorithms.kmeans import assign

    labels, sq = assign(Z, np.asarray(centres, dtype=Z.dtype), n_threads=n_threads)
    return labels.astype(np.int64), np.sqrt(sq, dtype=np.float64)


def segment_statistics_numpy(columns: dict[str, Any], labels: np.ndarray, k: int,
                             categories: dict[str, Any] | None = None,
                             n_threads: int | None = None) -> Any:
    """:class:`custseg.profiling.SegmentStatistics` of all customers in NumPy: exact means,
    medians and tertiles of the numeric ``columns`` (float64 arrays, Arrow columns, or
    functions returning either, called when the column's turn comes; missing values as NaN
    and left out), and the category shares of ``categories`` (Arrow columns, empty cells as
    ``"missing"``); ``labels`` in 0..k-1, -1 left out.

    An Arrow column of whole numbers or of decimals with few places (as customer tables
    have: ages, counts, money in cents), without missing cells and spanning at most
    :data:`HISTOGRAM_VALUES` values, is counted in one pass: a segment x value histogram
    (``np.bincount``) gives its means, medians and tertiles exactly, without sorting."""
    # over 60 lines: the per-column work (one_column) shares the rows' segment order, sorted
    # once under a lock, and runs in threads; kept beside it rather than passed around
    from custseg.profiling import SegmentStatistics

    everyone = bool(labels.min() >= 0) if len(labels) else True
    keep = labels >= 0 if not everyone else slice(None)
    lab = labels[keep].astype(np.int16)
    sizes = np.bincount(lab, minlength=k)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    stats = SegmentStatistics(n=int(sizes.sum()), sizes=[int(s) for s in sizes],
                              mean=[{} for _ in range(k)], median=[{} for _ in range(k)],
                              categories=[{} for _ in range(k)], population_mean={},
                              population_std={}, lower_tertile={}, upper_tertile={})
    lock = threading.Lock()
    sorted_rows: list[np.ndarray] = []

    def order() -> np.ndarray:
        """The customers grouped by segment, sorted once for the columns that need it."""
        with lock:
            if not sorted_rows:
                sorted_rows.append(np.argsort(lab, kind="stable"))
            return sorted_rows[0]

    def one_column(values: Any) -> tuple[float, float, float, float, list[float],
                                          list[float]]:
        if callable(values):  # loaded here, so that only a column a thread is in memory
            values = values()
        if not isinstance(values, np.ndarray):  # Arrow
            counted = _histogram_statistics(values, labels, k)
            if counted is not None:
                return counted
            values = _arrow_float64(values)
        x = values if everyone else values[keep]
        ok = ~np.isnan(x)
        complete = bool(ok.all())
        xs = x if complete else x[ok]
        if not len(xs):
            return (np.nan, np.nan, np.nan, np.nan, [np.nan] * k, [np.nan] * k)
        lo, hi = np.quantile(xs, [1 / 3, 2 / 3])
        sums = np.bincount(lab if complete else lab[ok], weights=xs, minlength=k)
        counts = np.bincount(lab if complete else lab[ok], minlength=k)
        xo = x[order()]
        medians = []
        for s in range(k):
            part = xo[bounds[s]:bounds[s + 1]]
            if not complete:
                part = part[~np.isnan(part)]
            medians.append(float(np.median(part)) if len(part) else float("nan"))
        means = [float(sums[s] / counts[s]) if counts[s] else float("nan") for s in range(k)]
        return float(xs.mean()), float(xs.std()), float(lo), float(hi), means, medians

    from concurrent.futures import ThreadPoolExecutor

    workers = n_threads or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:  # NumPy releases the GIL
        results = list(pool.map(one_column, columns.values()))
    for c, (mean, std, lo, hi, means, medians) in zip(columns, results, strict=True):
        stats.population_mean[c], stats.population_std[c] = mean, std
        stats.lower_tertile[c], stats.upper_tertile[c] = lo, hi
        for s in range(k):
            stats.mean[s][c] = means[s]
            stats.median[s][c] = medians[s]
    for c, col in (categories or {}).items():
        for s, shares in enumerate(_category_shares(col, lab, keep, k)):
            stats.categories[s][c] = shares
    return stats


def _category_shares(col: Any, lab: np.ndarray, keep: Any, k: int) -> list[dict[str, float]]:
    """Per segment, the shares of a categorical Arrow column's levels (empty cells as
    ``"missing"``), the most frequent first; ``lab`` the segments of the rows ``keep``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    encoded = pc.dictionary_encode(text).combine_chunks()
    levels = [*encoded.dictionary.to_pylist(), "missing"]
    codes = np.asarray(encoded.indices.fill_null(len(levels) - 1).to_numpy(
        zero_copy_only=False), dtype=np.int64)[keep]
    table = np.bincount(lab.astype(np.int64) * len(levels) + codes,
                        minlength=k * len(levels)).reshape(k, len(levels))
    out = []
    for s in range(k):
        shares = table[s] / max(table[s].sum(), 1)
        ranked = sorted((i for i in range(len(levels)) if table[s, i]),
                        key=lambda i: -table[s, i])
        out.append({str(levels[i]): round(float(shares[i]), 4) for i in ranked})
    return out


#: Most distinct values (max - min + 1, times k) of a column profiled by counting.
HISTOGRAM_VALUES = 1 << 24


def _order_statistic(cum: np.ndarray, values: np.ndarray, i: np.ndarray) -> np.ndarray:
    """The ``i``-th smallest values (0-based) of a sample given as a histogram: ``cum`` the
    cumulative counts of ``values`` (sorted)."""
    return values[np.searchsorted(cum, i, side="right")]


def _counted_quantile(cum: np.ndarray, values: np.ndarray, q: float) -> float:
    """``np.quantile(x, q)`` (linear interpolation) of the sample counted in ``cum``."""
    pos = (cum[-1] - 1) * q
    below = int(np.floor(pos))
    a, b = _order_statistic(cum, values, np.array([below, min(below + 1, cum[-1] - 1)]))
    g = pos - below
    return float(a + (b - a) * g if g < 0.5 else b - (b - a) * (1 - g))


def _counted_median(cum: np.ndarray, values: np.ndarray) -> float:
    m = int(cum[-1])
    if not m:
        return float("nan")
    a, b = _order_statistic(cum, values, np.array([(m - 1) // 2, m // 2]))
    return float((a + b) / 2)


def _decimal_places(x: np.ndarray, most: int = 3) -> int | None:
    """The fewest decimal places (up to ``most``) every value of ``x`` is written with, as
    parsed from text (``rint(x * 10**d) / 10**d == x`` exactly: a division of two whole
    numbers is rounded to the nearest double, as the parser rounds the decimal); None when
    more are needed or a value is missing."""
    for d in range(most + 1):
        scale = 10.0 ** d
        head = x[:10_000]
        if np.array_equal(np.rint(head * scale) / scale, head):
            return d if np.array_equal(np.rint(x * scale) / scale, x) else None
    return None


def _histogram_statistics(col: Any, labels: np.ndarray, k: int
                          ) -> tuple[float, float, float, float, list[float],
                                     list[float]] | None:
    """Population mean, std and tertiles, per-segment means and medians of an Arrow column
    of whole numbers, or of decimals with at most 3 places (counted as whole numbers of
    hundredths...), from one segment x value histogram; None when the column has missing
    cells, other values, or spans too many values (the caller sorts instead)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(col) or col.null_count:
        return None
    scale = 1.0
    if pa.types.is_floating(col.type):
        places = _decimal_places(_arrow_float64(col.slice(0, 10_000)))
        if places is None:
            return None
        scale = 10.0 ** places  # checked on every row below
    elif not pa.types.is_integer(col.type):
        return None
    mm = pc.min_max(col)
    ends = np.rint(np.array([mm["min"].as_py(), mm["max"].as_py()], dtype=np.float64) * scale)
    if not np.isfinite(ends).all():
        return None
    lo, hi = int(ends[0]), int(ends[1])
    span = hi - lo + 1
    if span * k > HISTOGRAM_VALUES:
        return None
    hist = np.zeros(k * span, dtype=np.int64)
    for start in range(0, len(col), CHUNK_ROWS):  # a chunk at a time: little memory
        piece = col.slice(start, CHUNK_ROWS)
        if scale == 1.0 and pa.types.is_integer(col.type):
            x = np.asarray(piece.to_numpy(zero_copy_only=False), dtype=np.int64)
        else:
            f = _arrow_float64(piece)
            code = np.rint(f * scale)
            if not np.array_equal(code / scale, f):  # more places, or NaN
                return None
            x = code.astype(np.int64)
        lab = labels[start:start + len(x)].astype(np.int64)
        code = lab * span + (x - lo)
        ok = lab >= 0
        hist += np.bincount(code if ok.all() else code[ok], minlength=k * span)
    table = hist.reshape(k, span)
    values = np.arange(lo, hi + 1, dtype=np.float64) / scale  # the values as parsed
    counts = table.sum(axis=1)
    everyone = table.sum(axis=0)
    n = int(everyone.sum())
    if not n:
        return None
    mean = float(everyone @ values / n)
    std = float(np.sqrt(everyone @ (values - mean) ** 2 / n))
    cum = np.cumsum(everyone)
    lo3, hi3 = _counted_quantile(cum, values, 1 / 3), _counted_quantile(cum, values, 2 / 3)
    means = [float(table[s] @ values / counts[s]) if counts[s] else float("nan")
             for s in range(k)]
    medians = [_counted_median(np.cumsum(table[s]), values) for s in range(k)]
    return mean, std, lo3, hi3, means, medians


# --------------------------------------------------------------------------- the pipeline
def segment_large(
    path: str | os.PathLike[str],
    *,
    k: Any = "auto",
    k_range: tuple[int, int] = (2, 10),
    useful_k: tuple[int, int] | str | None = "auto",
    features: list[str] | None = None,
    id_col: str | None = None,
    exclude: list[str] | None = None,
    categorical: list[str] | None = None,
    impute: str = "median",
    clip: float | None = None,
    log: Any = "auto",
    scaling: str = "standard",
    max_junk: float = 0.05,
    n_init: Any = "auto",
    rules: str | None = None,
    n_threads: int | None = None,
    random_state: Any = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    sample_size: int | None = None,
    report_sample: int = REPORT_SAMPLE,
    progress: ProgressFn | None = None,
    command: str = "",
    **unsupported: Any,
) -> LargeResult:
    """Segment a large table with K-Means on the fast path (see the module docstring).

    The options are those of :class:`custseg.Segmenter` (``n_init`` is not used: the
    repair step of :class:`~custseg.algorithms.kmeans.FastKMeans` replaces several starts);
    ``sample_size`` customers choose k (default :func:`selection_sample_size`),
    ``report_sample`` customers feed the report's charts.
    """
    # over 60 lines with its public signature and docstring; the body is the read stage
    from custseg.algorithms import registry
    from custseg.segmenter import MAX_COLUMNS, check_width
    from custseg.selection import limit_threads

    max_columns = unsupported.pop("max_columns", MAX_COLUMNS)
    head = peek_columns(path, delimiter, encoding)
    if head is not None:  # too wide: refused before the file is read, as in segment_file
        check_width(head[0], head[1], features=features, exclude=exclude,
                    max_columns=max_columns)
    bad = {o: v for o, v in unsupported.items()
           if v not in (None, False, registry.DEFAULT, ()) and o != "use_categorical"}
    if unsupported.get("use_categorical"):
        bad["use_categorical"] = True
    if bad:
        raise UsageError(f"the fast path (`engine='local'`) runs K-Means on numeric columns; "
                         f"{sorted(bad)} need `engine='standard'`", "engine")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def stage(name: str, done: int, total: int = 1) -> None:
        if progress:
            progress(name, done, total)

    import pyarrow as pa

    arrow_threads = pa.cpu_count()
    if n_threads is not None:
        pa.set_cpu_count(int(n_threads))  # Arrow's reader and writers too
    try:
        stage("read", 0)
        table, info = read_columnar(path, delimiter=delimiter, encoding=encoding, sheet=sheet)
        _warm_up_in_background()  # after the read, whose parser threads take every core
        stage("read", 1)
        timings["read"] = time.perf_counter() - t0
        from custseg.selection import USEFUL_K

        # --k auto: k chosen among USEFUL_K unless the evidence outside is strong
        useful = ((USEFUL_K if useful_k == "auto" else tuple(useful_k))  # type: ignore[arg-type]
                  if useful_k is not None and k == "auto" else None)
        with limit_threads(table.num_rows, n_threads):
            return _segment_table(table, info, locals(), timings, stage, t0)
    finally:
        pa.set_cpu_count(arrow_threads)


def _warm_up() -> None:
    import numpy as np

    from custseg.algorithms.kmeans import FastKMeans

    FastKMeans(2, random_state=0, n_threads=1).fit(np.arange(8, dtype=np.float32).reshape(4, 2))
    from custseg.bundle import skops_io

    skops_io()
    import custseg.report  # noqa: F401  (plotly, jinja2)


def _warm_up_in_background() -> None:
    """Load what the later stages need (the compiled K-Means kernels from Numba's cache,
    skops, plotly) in a thread, while the file is checked and preprocessed: that NumPy work
    runs on one core and releases the GIL, so about a second of imports overlaps with it.
    (Started after the read: beside Arrow's parser threads it slowed the read of a 10 M-row
    CSV on 2 cores by more than it saved.)"""
    def run() -> None:
        with contextlib.suppress(Exception):  # the main thread imports them again, and says
            _warm_up()

    threading.Thread(target=run, name="custseg-warm-up", daemon=True).start()


@dataclass
class _Prepared:
    """The data after the checks and the preprocessing: roles, features and their values
    (``sources``), findings and cleaning, the plan and fitted preprocessor, the scaled
    float32 matrix ``Z`` of every row, the rows fitted (``fit_rows``; ``fit_idx`` their
    numbers, None for all) and the selection sample (row numbers)."""

    roles: Any
    feats: list[str]
    sources: dict[str, Any]
    warns: list[Problem]
    cleaning: dict[str, Any]
    plan: Any
    preprocessor: Any
    Z: np.ndarray
    sample: np.ndarray
    fit_rows: np.ndarray
    fit_idx: np.ndarray | None
    seed: int

    @property
    def n_fit(self) -> int:
        return int(self.fit_rows.sum())

    @property
    def sampled(self) -> bool:
        return self.n_fit > len(self.sample)


def _segment_table(table: Any, info: TableInfo, o: dict[str, Any], timings: dict[str, float],
                   stage: Any, t0: float) -> LargeResult:
    """The stages of :data:`custseg.engines.base.STAGES` on an Arrow table, timed."""
    from custseg.profiling import load_rules
    from custseg.segmenter import Segmenter, k_values

    params = Segmenter(
        k=o["k"], k_range=o["k_range"], features=o["features"], id_col=o["id_col"],
        exclude=o["exclude"], categorical=o["categorical"], impute=o["impute"], clip=o["clip"],
        log=o["log"], scaling=o["scaling"], max_junk=o["max_junk"], n_init=o["n_init"],
        rules=o["rules"], n_threads=o["n_threads"], random_state=o["random_state"]
    ).get_params()
    ks = k_values(o["k"], o["k_range"])
    rules = load_rules(o["rules"])
    t1 = time.perf_counter()
    prep = _prepare(table, o, ks, stage)
    timings["preprocess"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    selection = _choose_k(prep, ks, o, stage)
    timings["choose_k"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    km = _fit(prep, selection, o["n_threads"], stage)
    timings["fit"] = time.perf_counter() - t3
    t4 = time.perf_counter()
    labels, dist, centres, inertia = _assign(prep, km, o["n_threads"], stage)
    timings["assign"] = time.perf_counter() - t4
    t5 = time.perf_counter()
    model = _profile(table, prep, params, selection, labels, dist, centres, inertia, rules,
                     o, stage)
    timings["profile"] = time.perf_counter() - t5
    timings["segment"] = time.perf_counter() - t1  # checks to profiles, as the standard engine
    return _large_result(table, info, model, prep, o, timings, t0)


def _prepare(table: Any, o: dict[str, Any], ks: list[int], stage: Any) -> _Prepared:
    """Checks (:func:`_check_features`), the rows fitted, the selection sample, the
    preprocessing planned and fitted on it and applied to every row (float32)."""
    from sklearn.utils import check_random_state

    from custseg.preprocess import build_preprocessor, plan_preprocessing

    stage("check", 0)
    roles, feats, sources, warns, cleaning = _check_features(
        table, id_col=o["id_col"], features=o["features"], exclude=o["exclude"],
        categorical=o["categorical"], max_junk=o["max_junk"], min_rows=min(ks))
    stage("check", 1)
    columns = [sources[c] for c in feats]
    n = table.num_rows
    seed = int(check_random_state(o["random_state"]).randint(np.iinfo(np.int32).max))
    fit_rows = _rows_fitted(sources, cleaning, o["impute"], ks, n)
    fit_idx = np.flatnonzero(fit_rows) if not fit_rows.all() else None
    n_fit = int(fit_rows.sum())
    sample = stratified_sample(n_fit, o["sample_size"] or selection_sample_size(n_fit), seed)
    if fit_idx is not None:
        sample = fit_idx[sample]
    sample_frame = pd.DataFrame(column_rows(columns, sample), columns=feats)
    plan = plan_preprocessing(sample_frame, feats, [], impute=o["impute"], clip=o["clip"],
                              log=o["log"], scaling=o["scaling"])
    stage("preprocess", 0)
    preprocessor = build_preprocessor(plan).fit(sample_frame)
    # the scaled float32 matrix, built once from the Arrow columns a chunk of rows at a time
    # (no float64 copy of the table); the profiles read the Arrow columns again, and only
    # columns parsed from text (junk, decimal commas...) keep their parsed float64 values
    Z = np.empty((n, len(feats)), dtype=np.float32)
    fast_transform(preprocessor, columns, Z)
    reference = preprocessor.transform(sample_frame.iloc[:1000])
    if not np.allclose(Z[sample[:1000]], reference, rtol=1e-5, atol=1e-5):
        raise RuntimeError("fast preprocessing disagrees with the fitted transformer")
    stage("preprocess", 1)
    return _Prepared(roles, feats, sources, warns, cleaning, plan, preprocessor, Z, sample,
                     fit_rows, fit_idx, seed)


def _rows_fitted(sources: dict[str, Any], cleaning: dict[str, Any], impute: str,
                 ks: list[int], n: int) -> np.ndarray:
    """The rows the model is fitted on: all, or with ``impute="drop"`` those without a
    missing feature (counted in ``cleaning``)."""
    fit_rows = np.ones(n, dtype=bool)
    if impute != "drop":
        return fit_rows
    for c in cleaning["missing_values"]:  # only columns with missing cells
        src = sources[c]
        fit_rows &= ~np.isnan(src if isinstance(src, np.ndarray) else _arrow_float64(src))
    cleaning["rows_dropped_missing"] = int((~fit_rows).sum())
    if fit_rows.sum() < max(min(ks), 2):
        raise DataError([Problem(None, f"only {int(fit_rows.sum())} rows without missing "
                                 "values remain after `impute='drop'`", code="too-few-rows")])
    return fit_rows


def _choose_k(prep: _Prepared, ks: list[int], o: dict[str, Any], stage: Any) -> Any:
    """k chosen on the sample (:func:`custseg.selection.select_k`, FastKMeans)."""
    from custseg.selection import select_k

    Zs = prep.Z[prep.sample]
    n_distinct = len(np.unique(Zs, axis=0))
    if n_distinct < min(ks):
        raise DataError([Problem(None, f"the features take only {n_distinct} distinct value(s) "
                                 f"across customers, fewer than the {min(ks)} segments "
                                 "asked for", code="too-few-distinct")])
    return select_k(Zs, [kv for kv in ks if kv <= n_distinct], random_state=prep.seed,
                    progress=stage, n_threads=o["n_threads"], sampling_error=prep.sampled,
                    algorithm="fastkmeans", options={"n_threads": o["n_threads"]},
                    useful=o["useful"])


def _fit(prep: _Prepared, selection: Any, n_threads: int | None, stage: Any) -> Any:
    """The final K-Means: Lloyd on every fitted row from the sample's centres (the
    selection's model itself when the sample was everyone)."""
    from custseg.algorithms.kmeans import FastKMeans

    stage("fit", 0)
    if prep.sampled:
        Zfit = prep.Z if prep.fit_idx is None else prep.Z[prep.fit_idx]
        km = FastKMeans(selection.chosen_k, init=selection.model.cluster_centers_,
                        repair=False, random_state=prep.seed, n_threads=n_threads).fit(Zfit)
    else:
        km = selection.model
    stage("fit", 1)
    return km


def _assign(prep: _Prepared, km: Any, n_threads: int | None, stage: Any
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Every row's segment (numbered by size; -1 for rows not fitted) and distance, the
    centres in that order and the inertia."""
    stage("assign", 0)
    kk = len(km.cluster_centers_)
    Zfit = prep.Z if prep.fit_idx is None else prep.Z[prep.fit_idx]
    labels_fit, dist_fit = assign_chunked(Zfit, km.cluster_centers_, n_threads)
    counts = np.bincount(labels_fit, minlength=kk)
    if (counts == 0).any():
        raise DataError([Problem(None, f"only {int((counts > 0).sum())} non-empty segments "
                                 f"could be formed, fewer than the {kk} asked for",
                                 code="too-few-distinct")])
    order, label_map = number_by_size(counts)
    centres = km.cluster_centers_[order].astype(np.float64)
    inertia = float(np.dot(dist_fit, dist_fit))
    if prep.fit_idx is None:  # every customer fitted: the arrays as they are
        labels, dist = label_map[labels_fit], dist_fit
    else:
        n = len(prep.fit_rows)
        labels = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        labels[prep.fit_idx] = label_map[labels_fit]
        dist[prep.fit_idx] = dist_fit
    stage("assign", 1)
    return labels, dist, centres, inertia


def _profile(table: Any, prep: _Prepared, params: dict[str, Any], selection: Any,
             labels: np.ndarray, dist: np.ndarray, centres: np.ndarray, inertia: float,
             rules: Any, o: dict[str, Any], stage: Any) -> Any:
    """Profiles of all customers in NumPy, names by :mod:`custseg.profiling`; the fitted
    model assembled (:func:`custseg.segmenter.segmenter_from_parts`)."""
    from custseg.profiling import profiles_from_statistics
    from custseg.segmenter import segmenter_from_parts
    from custseg.selection import score_partition_sampled

    stage("profile", 0)
    kk = len(centres)
    describe_num, describe_cat = _describe_columns(table, prep.roles, prep.feats)
    numbers: dict[str, Any] = {c: prep.sources[c] for c in prep.feats} | describe_num
    prep.sources = {}  # the parsed columns go with the statistics
    stats = segment_statistics_numpy(numbers, labels, kk, describe_cat, o["n_threads"])
    del numbers
    segments, profiles = profiles_from_statistics(
        stats, prep.feats, describe_numeric=list(describe_num),
        describe_categorical=list(describe_cat), rules=rules)
    stage("profile", 1)
    selection.model = None
    if prep.sampled:
        selection.n_samples = len(prep.sample)
        selection.sampling = {**(selection.sampling or {}), "sample": len(prep.sample),
                              "population": prep.n_fit, "design": "stratified by row order"}
    cleaning = prep.cleaning
    cleaning["imputed"] = dict(cleaning["missing_values"]) if o["impute"] != "drop" else {}
    cleaning["log_transformed"] = list(prep.plan.log_columns)
    cleaning["clipped_at_quantile"] = prep.plan.clip
    return segmenter_from_parts(
        params, columns=table.column_names, roles=prep.roles, features=prep.feats,
        plan=prep.plan, preprocessor=prep.preprocessor, k_selection=selection,
        cluster_centers=centres, segments=segments, profiles=profiles, cleaning=cleaning,
        warnings=prep.warns, inertia=inertia,
        final_scores=score_partition_sampled(prep.Z[prep.sample], labels[prep.sample],
                                             inertia, kk, prep.seed),
        labels=labels, distances=dist, fit_mask=prep.fit_rows)


def _large_result(table: Any, info: TableInfo, seg: Any, prep: _Prepared, o: dict[str, Any],
                  timings: dict[str, float], t0: float) -> LargeResult:
    """The summary and the report's numbers, drawn from a sample of customers."""
    from custseg.explore import overview_of_segmentation, segment_views

    t6 = time.perf_counter()
    n = table.num_rows
    view_rows = stratified_sample(n, o["report_sample"], prep.seed + 1)
    view = copy.copy(seg)
    view.labels_ = seg.labels_[view_rows]
    view.distances_ = seg.distances_[view_rows]
    view.probabilities_ = seg.probabilities_[view_rows]
    view.fit_mask_ = prep.fit_rows[view_rows]
    sample_table = take_rows(table, view_rows).to_pandas()
    projection = projection_frame(view, sample_table)
    timings = {key: round(v, 4) for key, v in timings.items()}
    summary = build_summary({"segmenter": seg, "info": info, "timings": timings,
                             "seed": o["random_state"], "command": o["command"]})
    summary["engine"] = {
        "name": "local",
        "selection_sample": len(prep.sample) if prep.sampled else prep.n_fit,
        "report_sample": len(view_rows),
        "dtype": str(prep.Z.dtype),
        "duplicates": "kept (not searched for on the fast path)",
    }
    overview = overview_of_segmentation(view, sample_table, info, summary)
    views = segment_views(view, sample_table, projection, random_state=prep.seed)
    summary["timings"]["prepare_outputs"] = round(time.perf_counter() - t6, 4)
    result = LargeResult(table=sample_table, info=info, segmenter=view, segments=pd.DataFrame(),
                         summary=summary, projection=projection, command=o["command"],
                         timings=summary["timings"], overview=overview, views=views,
                         full=table, model=seg)
    summary["timings"]["total_before_write"] = round(time.perf_counter() - t0, 4)
    return result


# --------------------------------------------------------------------------- outputs
def segments_format(result: LargeResult, fmt: str | None = "auto") -> str:
    """The format of the segments file: ``fmt``, or for ``"auto"`` (or None) Parquet above
    :data:`PARQUET_FROM_ROWS` customers and CSV up to it.

    >>> from types import SimpleNamespace
    >>> big = SimpleNamespace(full=SimpleNamespace(num_rows=10_000_000))
    >>> segments_format(big), segments_format(big, "csv")
    ('parquet', 'csv')
    """
    from custseg.engines import OUTPUT_FORMATS

    if fmt in (None, "auto"):
        return "parquet" if result.full.num_rows > PARQUET_FROM_ROWS else "csv"
    if fmt not in OUTPUT_FORMATS:
        raise UsageError(f"`output_format` must be one of {['auto', *OUTPUT_FORMATS]}, got "
                         f"{fmt!r}", "output_format")
    return fmt


def segments_batches(result: LargeResult, chunk_rows: int = CHUNK_ROWS,
                     dictionary: bool = False) -> Any:
    """``segments`` as Arrow record batches of at most ``chunk_rows`` rows: the id (or
    ``row``) first, every input column, then ``segment``, ``segment_name`` and ``distance``
    (6 decimals).  Built a chunk at a time, so that the names of 10 M customers never sit in
    memory at once; with ``dictionary`` (Parquet), ``segment_name`` is dictionary-encoded
    (the segment's number into the list of names: no string a customer)."""
    import pyarrow as pa

    seg = result.model
    table = result.full
    id_col = seg.roles_.id_column
    if id_col is not None:
        table = table.select([id_col, *[c for c in table.column_names if c != id_col]])
    names = pa.array([*(s.name for s in seg.segments_), NOISE_NAME, UNASSIGNED_NAME])
    k = len(seg.segments_)
    labels = seg.labels_
    for start in range(0, table.num_rows, chunk_rows):
        part = table.slice(start, chunk_rows)
        stop = start + part.num_rows
        lab = labels[start:stop]
        index = np.where(lab >= 0, lab, np.where(seg.fit_mask_[start:stop], k, k + 1))
        arrays = [c.combine_chunks() for c in part.columns]
        fields = list(part.schema)
        if id_col is None:
            arrays.insert(0, pa.array(np.arange(start + 1, stop + 1)))
            fields.insert(0, pa.field("row", pa.int64()))
        name = (pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), names)
                if dictionary else names.take(pa.array(index)))
        arrays += [pa.array(lab), name, pa.array(np.round(seg.distances_[start:stop], 6))]
        fields += [pa.field("segment", pa.int64()), pa.field("segment_name", name.type),
                   pa.field("distance", pa.float64())]
        yield pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def write_large_outputs(result: LargeResult, out: str | os.PathLike[str], *,
                        force: bool = False, report: bool = True,
                        fmt: str | None = "auto") -> Path:
    """Write the output folder atomically: ``segments.parquet`` (more than
    :data:`PARQUET_FROM_ROWS` customers, or ``fmt="parquet"``; ``segment_name``
    dictionary-encoded) or ``segments.csv`` (up to that, or ``fmt="csv"``),
    ``profiles.csv``, ``summary.json`` (``engine.segments_file`` names the segments file),
    ``report.html``, ``model/``."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    fmt = segments_format(result, fmt)
    result.summary.setdefault("engine", {})["segments_file"] = f"segments.{fmt}"
    out = Path(out)
    t_write = time.perf_counter()
    with atomic_output_dir(out, force=force) as tmp:
        errors: list[BaseException] = []

        def write_segments() -> None:  # Arrow's writers release the GIL: runs beside the rest
            writer = None
            try:
                for batch in segments_batches(result, dictionary=fmt == "parquet"):
                    if fmt != "parquet":
                        batch = neutralise_arrow(batch)
                    if writer is None:
                        writer = (pq.ParquetWriter(tmp / "segments.parquet", batch.schema)
                                  if fmt == "parquet" else
                                  pacsv.CSVWriter(tmp / "segments.csv", batch.schema,
                                                  write_options=pacsv.WriteOptions(
                                                      quoting_style="needed")))
                    writer.write_batch(batch)
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)
            finally:
                if writer is not None:
                    writer.close()

        writer = threading.Thread(target=write_segments, daemon=True)
        writer.start()
        try:
            write_model_and_report(tmp, summary=result.summary,
                                   profiles=result.model.profiles_, model=result.model,
                                   training=result.table, report=result if report else None)
        finally:
            writer.join()
        if errors:
            raise errors[0]
        write_summary(tmp, result.summary, t_write)
    return out
