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
   the standard engine, kept in the model, with its rules: the log of skewed columns, the
   outliers winsorised at Tukey's far-out fences, groups of correlated features weighted as
   one), then applied to all customers chunk by chunk in NumPy, the result stored as
   float32 (after scaling, where float32 loses nothing that matters; checked against the
   fitted transformer on the sample).  The statistics those rules need from the whole data
   (skewness, quartiles for the fences, correlations for the groups) are taken on the
   selection sample of step 4: exact when the sample is the whole table (below 50,000
   customers), an estimate above; the outliers are then counted on every customer.
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

The work is in modules of one concern each: the read (1) in
:mod:`custseg.engines.local_read`, the checks (2) in :mod:`custseg.engines.local_checks`,
the stages 3 to 6 in :mod:`custseg.engines.local_stages` (over the chunked passes of
:mod:`custseg.engines.local_arrays` and the statistics of :mod:`custseg.engines.local_stats`);
this module runs them in order and writes the outputs (7).  Their public names are all
importable from here.

Amounts that can be negative (a bank balance) are put on a signed log scale as in the
standard engine: the money role is found by :func:`custseg.roles.money_columns` on the
selection sample.  What the fast path does not do: exact duplicate rows are kept (the
standard engine leaves them out of the fit and gives them their twin's segment), and so is a
totals row (the standard engine drops it: :func:`custseg.schema.total_rows`), the other
role rules but the one on row numbers (flags, codes and dates are features here when
numeric; ordered text levels describe instead of being read as ranks), segmenting on
categorical columns, and methods other than K-Means (``--engine standard`` does them).

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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.engines import LOCAL_THRESHOLD as LOCAL_THRESHOLD  # defined there, re-exported
from custseg.engines.local_arrays import (
    CHUNK_ROWS,
    assign_chunked,
    column_block,
    column_rows,
    fast_transform,
    stratified_sample,
    take_rows,
)
from custseg.engines.local_checks import HEAD_ROWS
from custseg.engines.local_read import BLOCK_SIZE, read_columnar
from custseg.engines.local_stages import (
    SELECTION_SAMPLE,
    Prepared,
    assign,
    choose_k,
    fit_final,
    prepare,
    profile,
    selection_sample_size,
)
from custseg.engines.local_stats import (
    HISTOGRAM_VALUES,
    decimal_places,
    segment_statistics_numpy,
)
from custseg.errors import UsageError
from custseg.io import (
    TableInfo,
    atomic_output_dir,
    neutralise_arrow,
    peek_columns,
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

#: The fast path's public names, wherever they are defined (its stages live in the
#: ``custseg.engines.local_*`` modules; they are imported from here).
__all__ = [
    "BLOCK_SIZE", "CHUNK_ROWS", "HEAD_ROWS", "HISTOGRAM_VALUES", "LOCAL_THRESHOLD",
    "PARQUET_FROM_ROWS", "REPORT_SAMPLE", "SELECTION_SAMPLE", "LargeResult", "assign_chunked",
    "column_block", "column_rows", "decimal_places", "fast_transform", "read_columnar",
    "segment_large", "segment_statistics_numpy", "segments_batches", "segments_format",
    "selection_sample_size", "stratified_sample", "take_rows", "write_large_outputs",
]

#: Customers the report's charts and data overview are drawn from.
REPORT_SAMPLE = 50_000
#: With ``--format auto`` (the default), the fast path writes ``segments.parquet`` for more
#: customers than this, ``segments.csv`` up to it.
PARQUET_FROM_ROWS = 1_000_000
#: Rows per batch written to ``segments.*``: one Parquet row group each (Parquet's usual
#: size; with 16,384-row batches the 10M file had 611 row groups, was 15% larger and took
#: longer to write).
WRITE_ROWS = 1 << 20


@dataclass
class LargeResult(SegmentationResult):
    """A :class:`~custseg.pipeline.SegmentationResult` of the fast path.

    ``table``, ``segmenter`` and ``projection`` describe the report's sample of customers;
    ``full`` is every row as read (Arrow) and ``model`` the segmenter of all customers
    (``labels_``, ``distances_`` for every row).
    """

    full: Any = None
    model: Any = None


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
    outliers: str = "winsorize",
    feature_groups: bool = True,
    max_junk: float = 0.05,
    n_init: Any = "auto",
    rules: str | None = None,
    labels: Any = None,
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
    _refuse_what_it_cannot_do(path, features=features, exclude=exclude, delimiter=delimiter,
                              encoding=encoding, unsupported=unsupported)
    return _read_and_segment(path, locals(), progress)


def _refuse_what_it_cannot_do(path: str | os.PathLike[str], *, features: list[str] | None,
                              exclude: list[str] | None, delimiter: str | None,
                              encoding: str | None, unsupported: dict[str, Any]) -> None:
    """Refuse, before the read, a table too wide and the options of other engines."""
    from custseg.algorithms import registry
    from custseg.segmenter import MAX_COLUMNS, check_width

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


def _read_and_segment(path: str | os.PathLike[str], o: dict[str, Any],
                      progress: ProgressFn | None) -> LargeResult:
    """Read with Arrow (its threads as ``n_threads`` says), then the stages, timed."""
    import pyarrow as pa

    from custseg.selection import limit_threads

    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def stage(name: str, done: int, total: int = 1) -> None:
        if progress:
            progress(name, done, total)

    arrow_threads = pa.cpu_count()
    if o["n_threads"] is not None:
        pa.set_cpu_count(int(o["n_threads"]))  # Arrow's reader and writers too
    try:
        stage("read", 0)
        table, info = read_columnar(path, delimiter=o["delimiter"], encoding=o["encoding"],
                                    sheet=o["sheet"], block_size=BLOCK_SIZE)
        _warm_up_in_background(table.num_rows, stage)  # after the read (its parser threads)
        stage("read", 1)
        timings["read"] = time.perf_counter() - t0
        o = {**o, "useful": _useful_k(o["useful_k"], o["k"])}
        with limit_threads(table.num_rows, o["n_threads"]):
            return _segment_table(table, info, o, timings, stage, t0)
    finally:
        pa.set_cpu_count(arrow_threads)


def _useful_k(useful_k: tuple[int, int] | str | None, k: Any) -> tuple[int, int] | None:
    """With ``k="auto"``, the k chosen among unless the evidence outside is strong."""
    from custseg.selection import USEFUL_K

    if useful_k is None or k != "auto":
        return None
    return USEFUL_K if useful_k == "auto" else tuple(useful_k)  # type: ignore[return-value]


#: The stage shown while Numba compiles the kernels (once per machine and custseg version).
COMPILE_STAGE = "compile K-Means kernels (first large run only)"


def _warm_up(rows: int, stage: Callable[[str, int], None]) -> None:
    import numpy as np

    from custseg.algorithms.kmeans import FastKMeans, compilation_notice, kernels_for

    if getattr(kernels_for(rows), "COMPILED", False):
        # the compiled kernels of a table this large (the fit on every row, the choice of k
        # on its sample): loaded from Numba's cache, or compiled, and the user told why the
        # run waits
        with compilation_notice(lambda: stage(COMPILE_STAGE, 0)) as said:
            FastKMeans(2, random_state=0, n_threads=1, kernels="compiled").fit(
                np.arange(8, dtype=np.float32).reshape(4, 2))
        if said[0]:
            stage(COMPILE_STAGE, 1)
    from custseg.bundle import skops_io

    skops_io()
    import custseg.report  # noqa: F401  (plotly, jinja2)


def _warm_up_in_background(rows: int, stage: Callable[[str, int], None]) -> None:
    """Load what the later stages need (for a table of ``rows`` large enough to need them,
    the compiled K-Means kernels from Numba's cache, or compiled with ``stage`` saying so;
    skops, plotly) in a thread, while the file is checked and preprocessed: that NumPy work
    runs on one core and releases the GIL, so about a second of imports overlaps with it.
    (Started after the read: beside Arrow's parser threads it slowed the read of a 10 M-row
    CSV on 2 cores by more than it saved.)"""
    def run() -> None:
        with contextlib.suppress(Exception):  # the main thread imports them again, and says
            _warm_up(rows, stage)

    threading.Thread(target=run, name="custseg-warm-up", daemon=True).start()


def _segment_table(table: Any, info: TableInfo, o: dict[str, Any], timings: dict[str, float],
                   stage: Any, t0: float) -> LargeResult:
    """The stages of :data:`custseg.engines.base.STAGES` on an Arrow table, timed."""
    from custseg.profiling import load_rules
    from custseg.segmenter import Segmenter, k_values

    params = Segmenter(
        k=o["k"], k_range=o["k_range"], features=o["features"], id_col=o["id_col"],
        exclude=o["exclude"], categorical=o["categorical"], impute=o["impute"], clip=o["clip"],
        log=o["log"], scaling=o["scaling"], outliers=o["outliers"],
        feature_groups=o["feature_groups"], max_junk=o["max_junk"], n_init=o["n_init"],
        rules=o["rules"], n_threads=o["n_threads"], random_state=o["random_state"]
    ).get_params()
    ks = k_values(o["k"], o["k_range"])
    rules = load_rules(o["rules"])
    t1 = time.perf_counter()
    prep = prepare(table, o, ks, stage)
    timings["preprocess"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    selection = choose_k(prep, ks, o, stage)
    timings["choose_k"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    km = fit_final(prep, selection, o["n_threads"], stage)
    timings["fit"] = time.perf_counter() - t3
    t4 = time.perf_counter()
    labels, dist, centres, inertia = assign(prep, km, o["n_threads"], stage)
    timings["assign"] = time.perf_counter() - t4
    t5 = time.perf_counter()
    model = profile(table, prep, params, selection, labels, dist, centres, inertia, rules,
                     o, stage)
    timings["profile"] = time.perf_counter() - t5
    timings["segment"] = time.perf_counter() - t1  # checks to profiles, as the standard engine
    return _large_result(table, info, model, prep, o, timings, t0)


def _large_result(table: Any, info: TableInfo, seg: Any, prep: Prepared, o: dict[str, Any],
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
    summary.setdefault("outliers", seg.outliers_)  # no column decisions: not added there
    summary.setdefault("reduction", seg.reduction_)
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


def segments_batches(result: LargeResult, chunk_rows: int = WRITE_ROWS,
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
