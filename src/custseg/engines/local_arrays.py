"""The fast path's passes over rows: samples, row blocks of Arrow columns, the
preprocessing and the assignment a chunk of rows at a time (:mod:`custseg.engines.local`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

#: Rows a chunk of preprocessing or assignment works on.
CHUNK_ROWS = 1 << 20


# --------------------------------------------------------------------------- numbers
def arrow_float64(col: Any) -> np.ndarray:
    """A numeric Arrow column as float64, missing cells as NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False),
                      dtype=np.float64)


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
                       else arrow_float64(src.slice(start, stop - start)))
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
                            else arrow_float64(take_rows(src, rows)) for src in sources])


def fast_transform(preprocessor: Any, raw: np.ndarray | list[Any], out: np.ndarray,
                   chunk_rows: int = CHUNK_ROWS,
                   before_fences: Callable[[int, np.ndarray], None] | None = None,
                   n_threads: int | None = None) -> np.ndarray:
    """Apply a fitted numeric preprocessor (:func:`custseg.preprocess.build_preprocessor`)
    to ``raw`` (float64, one column per numeric feature; or a list of
    :func:`column_block` sources, read a chunk at a time) chunk by chunk, writing ``out``
    (float32 or float64, same shape).  Same result as ``preprocessor.transform``: the
    imputation, quantile clipping, log and scaling fused in place, the signed log, the
    outlier fences and the feature-group weights by their own fitted steps'
    ``transform``.  The chunks are
    independent: ``n_threads`` threads (None: one per core) work on them at once (NumPy and
    Arrow release the GIL), each writing its own rows of ``out``; the result is the same
    for any number.  ``before_fences(start, block)``, when given, sees each chunk (its
    first row ``start``) as it is just before the fences (to count the outliers), from
    those threads: it must be thread-safe."""
    steps = _fused_steps(preprocessor, out.shape[1])
    n = out.shape[0]

    def one(start: int) -> None:
        stop = min(start + chunk_rows, n)
        if isinstance(raw, np.ndarray):
            block = np.array(raw[start:stop], dtype=np.float64, order="C")
        else:
            block = column_block(raw, start, stop)
        out[start:stop] = _transform_block(block, steps, start, before_fences)

    starts = range(0, n, chunk_rows)
    workers = min(n_threads or os.cpu_count() or 1, len(starts))
    if workers <= 1:
        for start in starts:
            one(start)
        return out
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, starts))  # list(): a chunk's exception is raised here
    return out


def _fused_steps(preprocessor: Any, d: int) -> dict[str, Any]:
    """The fitted numeric steps of a preprocessor as :func:`_transform_block` applies them:
    the fill values, the clip, log, signed-log, fences and feature-group steps, the scaler
    as a shift and a factor."""
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    pipe = preprocessor.named_transformers_["numeric"]
    steps = dict(pipe.steps)
    scale = steps["scale"]
    if isinstance(scale, StandardScaler):
        shift, factor = scale.mean_, 1.0 / scale.scale_
    elif isinstance(scale, RobustScaler):
        shift, factor = scale.center_, 1.0 / scale.scale_
    elif isinstance(scale, MinMaxScaler):
        shift, factor = -scale.min_ / scale.scale_, scale.scale_
    else:  # passthrough
        shift, factor = np.zeros(d), np.ones(d)
    log = steps.get("log")
    return {"fill": steps["impute"].statistics_, "clip": steps.get("clip"),
            "log": log.mask_ if log is not None and log.mask_.any() else None,
            "signed": steps.get("signed_log"), "fences": steps.get("fences"),
            "shift": shift, "factor": factor, "groups": steps.get("groups")}


def _transform_block(block: np.ndarray, steps: dict[str, Any], start: int,
                     before_fences: Callable[[int, np.ndarray], None] | None) -> np.ndarray:
    """One chunk (float64, C order, modified) through :func:`_fused_steps`' steps."""
    nan = np.isnan(block)
    if nan.any():
        block[nan] = np.broadcast_to(steps["fill"], block.shape)[nan]
    clip, log = steps["clip"], steps["log"]
    if clip is not None:
        np.clip(block, clip.lower_, clip.upper_, out=block)
    if log is not None:
        block[:, log] = np.log1p(np.clip(block[:, log], 0, None))
    if steps["signed"] is not None:
        block = steps["signed"].transform(block)
    if before_fences is not None:
        before_fences(start, block)
    if steps["fences"] is not None:
        block = steps["fences"].transform(block)
    block -= steps["shift"]
    block *= steps["factor"]
    if steps["groups"] is not None:
        block = steps["groups"].transform(block)
    return block


def assign_chunked(Z: np.ndarray, centres: np.ndarray, n_threads: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre and Euclidean distance to it for every row, in chunks (never n x k):
    :func:`custseg.algorithms.kmeans.assign`."""
    from custseg.algorithms.kmeans import assign

    labels, sq = assign(Z, np.asarray(centres, dtype=Z.dtype), n_threads=n_threads)
    return labels.astype(np.int64), np.sqrt(sq, dtype=np.float64)
