"""The fast path's per-segment statistics in NumPy: sizes, means, exact medians and
tertiles, histograms of discrete columns, category shares (:mod:`custseg.engines.local`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from custseg.engines.local_arrays import CHUNK_ROWS, arrow_float64
from custseg.profiling import log_scale


def segment_statistics_numpy(columns: dict[str, Any], labels: np.ndarray, k: int,
                             categories: dict[str, Any] | None = None,
                             n_threads: int | None = None,
                             log_columns: Sequence[str] = ()) -> Any:
    """:class:`custseg.profiling.SegmentStatistics` of all customers in NumPy: exact means,
    medians and tertiles of the numeric ``columns`` (float64 arrays, Arrow columns, or
    functions returning either, called when the column's turn comes; missing values as NaN
    and left out), and the category shares of ``categories`` (Arrow columns, empty cells as
    ``"missing"``); ``labels`` in 0..k-1, -1 left out.

    An Arrow column of whole numbers or of decimals with few places (as customer tables
    have: ages, counts, money in cents), without missing cells and spanning at most
    :data:`HISTOGRAM_VALUES` values, is counted in one pass: a segment x value histogram
    (``np.bincount``) gives its means, medians and tertiles exactly, without sorting.

    For the ``log_columns`` (segmented on a log scale), the means and standard deviation of
    ``log1p`` of the values (negative values as 0) are added, as
    :func:`custseg.profiling.segment_statistics` adds them: their z-scores are measured on
    that scale."""
    from concurrent.futures import ThreadPoolExecutor

    from custseg.profiling import SegmentStatistics

    rows = _SegmentRows(labels, k)
    stats = SegmentStatistics(n=int(rows.sizes.sum()), sizes=[int(s) for s in rows.sizes],
                              mean=[{} for _ in range(k)], median=[{} for _ in range(k)],
                              categories=[{} for _ in range(k)], population_mean={},
                              population_std={}, lower_tertile={}, upper_tertile={})
    workers = n_threads or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:  # NumPy releases the GIL
        results = list(pool.map(rows.column, columns.values(),
                                [c in log_columns for c in columns]))
    if any(logs is not None for *_, logs in results):
        stats.log_mean = [{} for _ in range(k)]
    for c, (mean, std, lo, hi, means, medians, logs) in zip(columns, results, strict=True):
        stats.population_mean[c], stats.population_std[c] = mean, std
        stats.lower_tertile[c], stats.upper_tertile[c] = lo, hi
        for s in range(k):
            stats.mean[s][c] = means[s]
            stats.median[s][c] = medians[s]
        if logs is not None:
            stats.log_population_mean[c], stats.log_population_std[c] = logs[0], logs[1]
            for s in range(k):
                stats.log_mean[s][c] = logs[2][s]
    for c, col in (categories or {}).items():
        for s, shares in enumerate(_category_shares(col, rows.lab, rows.keep, k)):
            stats.categories[s][c] = shares
    return stats


#: The mean and standard deviation of everyone's ``log1p`` of a column, then each segment's
#: mean of it.
LogStatistics = tuple[float, float, list[float]]
#: One column's statistics: population mean, std, lower and upper tertiles, the per-segment
#: means and medians, then its log-scale statistics (None when it is not log-scaled).
ColumnStatistics = tuple[float, float, float, float, list[float], list[float],
                         LogStatistics | None]


def _weighted_log_statistics(counts: np.ndarray, table: np.ndarray,
                             values: np.ndarray) -> LogStatistics:
    """:data:`LogStatistics` of a sample counted by value: ``counts`` everyone's count of
    each of ``values``, ``table`` each segment's."""
    logv = log_scale(values)
    n = counts.sum()
    mean = float(counts @ logv / n)
    std = float(np.sqrt(counts @ (logv - mean) ** 2 / n))
    sizes = table.sum(axis=1)
    return mean, std, [float(table[s] @ logv / sizes[s]) if sizes[s] else float("nan")
                       for s in range(len(table))]


class _SegmentRows:
    """The rows' segments, shared by the threads that profile a column each: the rows kept
    (``keep``: those assigned), their segments (``lab``), the segments' sizes and bounds
    in segment order, and that order, sorted once (under a lock) when a column needs it."""

    def __init__(self, labels: np.ndarray, k: int) -> None:
        self.labels, self.k = labels, k
        self.everyone = bool(labels.min() >= 0) if len(labels) else True
        self.keep: Any = labels >= 0 if not self.everyone else slice(None)
        self.lab = labels[self.keep].astype(np.int16)
        self.sizes = np.bincount(self.lab, minlength=k)
        self.bounds = np.concatenate([[0], np.cumsum(self.sizes)])
        self._lock = threading.Lock()
        self._sorted: list[np.ndarray] = []

    def order(self) -> np.ndarray:
        """The customers grouped by segment, sorted once for the columns that need it."""
        with self._lock:
            if not self._sorted:
                self._sorted.append(np.argsort(self.lab, kind="stable"))
            return self._sorted[0]

    def column(self, values: Any, logged: bool = False) -> ColumnStatistics:
        """A column's statistics (counted when it can be, else from its sorted values);
        ``logged``: with its log-scale statistics."""
        if callable(values):  # loaded here, so that only a column a thread is in memory
            values = values()
        if not isinstance(values, np.ndarray):  # Arrow
            counted = _histogram_statistics(values, self.labels, self.k, logged)
            if counted is not None:
                return counted
            values = arrow_float64(values)
        k, lab = self.k, self.lab
        x = values if self.everyone else values[self.keep]
        ok = ~np.isnan(x)
        complete = bool(ok.all())
        xs = x if complete else x[ok]
        if not len(xs):
            nothing = [float("nan")] * k
            return (np.nan, np.nan, np.nan, np.nan, nothing, nothing,
                    (np.nan, np.nan, nothing) if logged else None)
        lo, hi = np.quantile(xs, [1 / 3, 2 / 3])
        labs = lab if complete else lab[ok]
        counts = np.bincount(labs, minlength=k)

        def means_of(v: np.ndarray) -> list[float]:
            sums = np.bincount(labs, weights=v, minlength=k)
            return [float(sums[s] / counts[s]) if counts[s] else float("nan")
                    for s in range(k)]

        logs = None
        if logged:
            lx = log_scale(xs)
            logs = (float(lx.mean()), float(lx.std()), means_of(lx))
        return (float(xs.mean()), float(xs.std()), float(lo), float(hi), means_of(xs),
                self.medians(x, complete), logs)

    def medians(self, x: np.ndarray, complete: bool) -> list[float]:
        """Each segment's median of ``x`` (the kept rows' values; NaN left out)."""
        xo = x[self.order()]
        medians = []
        for s in range(self.k):
            part = xo[self.bounds[s]:self.bounds[s + 1]]
            if not complete:
                part = part[~np.isnan(part)]
            medians.append(float(np.median(part)) if len(part) else float("nan"))
        return medians


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


def decimal_places(x: np.ndarray, most: int = 3) -> int | None:
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


def _histogram_statistics(col: Any, labels: np.ndarray, k: int, logged: bool = False
                          ) -> ColumnStatistics | None:
    """Population mean, std and tertiles, per-segment means and medians (and log-scale
    statistics when ``logged``) of an Arrow column of whole numbers, or of decimals with at
    most 3 places (counted as whole numbers of hundredths...), from one segment x value
    histogram; None when the column has missing cells, other values, or spans too many
    values (the caller sorts instead)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(col) or col.null_count:
        return None
    scale = 1.0
    if pa.types.is_floating(col.type):
        places = decimal_places(arrow_float64(col.slice(0, 10_000)))
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
            f = arrow_float64(piece)
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
    logs = _weighted_log_statistics(everyone, table, values) if logged else None
    return mean, std, lo3, hi3, means, medians, logs
