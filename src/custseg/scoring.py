"""Scoring: assign customers to the segments of a model bundle, in batch or one at a time.

:class:`ModelScorer` scores with the loaded model: the service (``custseg serve``, a few
customers a request) and ``custseg score`` (:func:`score_file`, a file in chunks) for the
models that need it.  K-Means models go through the model's own fitted preprocessing and
:func:`nearest_centres`; other methods through :meth:`Segmenter.assign`.  A K-Means model on
numeric features is also scored without its fitted objects: its preprocessing as plain
arrays (:mod:`custseg.compiled`), used only when it gives exactly the model's own output on
probe customers built from the training deciles.  The service uses it for a request of a
few customers (no DataFrame, no scikit-learn input checks); ``custseg score`` uses the
copy the bundle keeps in ``bundle.json`` (:class:`CompiledScorer`), so that it neither
imports scikit-learn nor loads the model file.  Both paths give the same segments and
distances, to the last digit.

Batch scoring (:func:`score_file`) reads its input in chunks (CSV/TSV and other delimited
text, Parquet and JSON Lines stream; Excel is read whole), so memory stays bounded whatever
the number of rows.  The first chunk is checked against the bundle: every feature must be
there (missing ones are named, with the columns present); other columns are ignored.  Every
chunk's values are checked as in ``fit`` (junk beyond the model's ``max_junk`` and
infinities are errors naming the rows).  The output (CSV, or Parquet when ``--out`` ends in
``.parquet``) has the id column (or ``row``), ``segment``, ``segment_name``, ``distance``
and, for methods that have one, ``probability``; it is written to a temporary file and
renamed into place at the end.

Examples
--------
>>> import tempfile, pathlib
>>> from custseg import Segmenter, load_table, demo_data_path
>>> from custseg.bundle import save_bundle
>>> df = load_table(demo_data_path())
>>> seg = Segmenter(k=5, features=["Annual Income (k$)", "Spending Score (1-100)"],
...                 random_state=0).fit(df)
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = save_bundle(seg, root / "model", training=df)
>>> report = score_file(root / "model", demo_data_path(), root / "scored.csv", chunk_size=64)
>>> report.rows, report.chunks, report.segment_counts
(200, 4, {0: 81, 1: 39, 2: 35, 3: 23, 4: 22})
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.bundle import Bundle, BundleError, checked_meta, load_bundle, read_meta
from custseg.compiled import ArrayFn, check_section, checked_steps, compile_steps
from custseg.derived import model_features
from custseg.errors import DataError, Problem
from custseg.io import atomic_output_file, check_input_path, file_sha256, iter_table, write_csv
from custseg.parsing import total_rows

log = logging.getLogger("custseg.scoring")

ProgressFn = Callable[[str, int, int], None]
CHUNK_SIZE = 200_000
#: Decimals of the distances and probabilities given (files and the service alike).
DECIMALS = 6
#: Rows at a time in :func:`nearest_centres`.
NEAREST_BLOCK = 4096


@dataclass
class ScoreReport:
    """What a scoring run did."""

    rows: int = 0
    chunks: int = 0
    segment_counts: dict[int, int] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    #: totals rows at the end of the file, left out (:func:`custseg.parsing.total_rows`)
    total_rows_dropped: int = 0
    input_sha256: str = ""
    output: str = ""
    #: when the input was a transaction log and the model's features are computed from
    #: one: ``lines`` read, ``customers`` scored and the ``as_of`` date of their features
    from_log: dict[str, Any] = field(default_factory=dict)


def iter_chunks(path: Path, chunk_size: int = CHUNK_SIZE,
                columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of a customer file, ``chunk_size`` at a time, read exactly as ``segment``
    reads them (:func:`custseg.io.iter_table`)."""
    return iter_table(path, chunk_size, columns)


# ------------------------------------------------------------------ the scorer
def nearest_centres(Z: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest centre of every row of ``Z`` and the Euclidean distance to it.

    Computed a block of rows at a time (memory: block x k x features), and a row's result
    never depends on the other rows: one customer scored alone gets the same digits as in
    a file of millions.

    >>> nearest_centres(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 1.0], [3.0, 0.0]]))
    (array([0, 1]), array([1., 4.]))
    """
    labels = np.empty(len(Z), dtype=np.int64)
    dist = np.empty(len(Z), dtype=np.float64)
    for start in range(0, len(Z), NEAREST_BLOCK):
        block = Z[start:start + NEAREST_BLOCK]
        d2 = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        best = d2.argmin(axis=1)
        labels[start:start + len(block)] = best
        dist[start:start + len(block)] = np.sqrt(d2[np.arange(len(block)), best])
    return labels, dist


def derived_sources(derivations: Sequence[Any]) -> dict[str, str]:
    """The source column of each feature computed from another (Age from a date of birth,
    days since a last purchase): a file gives the source."""
    return {d.name: d.source for d in derivations if d.name != d.source}


def nearest_segments(Z: np.ndarray, centres: np.ndarray, names: Sequence[str],
                     index: pd.Index) -> pd.DataFrame:
    """``segment``, ``segment_name`` and ``distance`` of the rows of ``Z`` (in the space of
    ``centres``), indexed by ``index`` (:func:`nearest_centres`)."""
    labels, dist = nearest_centres(Z, centres)
    return pd.DataFrame({"segment": labels,
                         "segment_name": np.array(list(names), dtype=object)[labels],
                         "distance": dist}, index=index)


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


class ModelScorer:
    """Assigns customers to the segments of a loaded bundle: the service, and ``custseg
    score`` of a model without a ``scoring`` section (:class:`CompiledScorer`).

    :meth:`assign` scores a table (a chunk of a file), :meth:`score` a few customers given
    as ``{feature: value}`` dicts; both give the same segments and distances (rounded to
    :data:`DECIMALS` places) for the same customers.  K-Means models: the model's fitted
    preprocessing, then :func:`nearest_centres`; on numeric features only, :meth:`score`
    uses :func:`custseg.compiled.checked_steps` when they reproduce the preprocessing exactly
    on probe customers (``fast``).  Other methods: :meth:`Segmenter.assign`.
    """

    def __init__(self, bundle: Bundle, *, compiled: bool = True) -> None:
        """``compiled=False``: never the compiled path (a file: nothing to gain)."""
        from custseg.algorithms.registry import capabilities

        self.bundle = bundle
        self.seg = seg = bundle.segmenter
        self.meta = bundle.meta
        self.features: list[str] = list(seg.features_)
        self.numeric: list[str] = list(seg.plan_.numeric)
        #: the features the model computes from a column (:class:`custseg.roles.Derivation`)
        self.derivations = [d for d in getattr(seg, "derivations_", [])
                            if d.name in self.features]
        self.sources = derived_sources(self.derivations)
        self.categorical: list[str] = list(seg.plan_.categorical)
        #: the features of ordered levels read as their rank: ``{feature: its levels,
        #: lowest first}`` (given by a level's name, as in a file)
        self.levels: dict[str, list[str]] = {d.name: d.levels for d in self.derivations
                                             if d.kind == "levels"}
        self.names: list[str] = [s.name for s in seg.segments_]
        caps = capabilities(seg.algorithm)
        self.kmeans = caps.centres_only and getattr(seg, "model_", 1) is None
        self.probabilistic = caps.gives_probabilities
        self.centres: np.ndarray = np.array(seg.cluster_centers_, dtype=np.float64)
        self._fast: ArrayFn | None = None
        # the numbers of a request as they come: not for a model that reads some of its
        # features otherwise (ordered levels as ranks, dates, codes read as missing)
        if compiled and self.kmeans and not self.categorical and not self.derivations:
            steps = checked_steps(seg, (self.meta.get("training") or {}).get("features") or {})
            self._fast = compile_steps(steps) if steps is not None else None

    @property
    def fast(self) -> bool:
        """Whether :meth:`score` takes the compiled path (K-Means on numeric features)."""
        return self._fast is not None

    # -- scoring
    def _scaled(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of a table in the space of the centres, through the model's preprocessing
        (values checked as in ``fit``: :class:`~custseg.errors.DataError` naming rows)."""
        seg = self.seg
        return np.asarray(seg.preprocessor_.transform(seg.typed_features(frame)),
                          dtype=np.float64)

    def frame(self, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
        """Feature dicts as a table of the model's features, their values as they come (the
        model reads them as it reads a file's: "$1,200", an ordered level's name), a derived
        feature's source column when the dicts give it instead (a date of birth for Age)."""
        data: dict[str, list[Any]] = {}
        for f in self.features:
            src = self.sources.get(f)
            # a feature computed from a column the request gives instead (a date of birth
            # for Age): computed from it, as from a file's
            key = src if src is not None and not any(f in r for r in rows) and any(
                src in r for r in rows) else f
            data[key] = [r.get(key) for r in rows]
        return pd.DataFrame(data)

    def as_read(self, values: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """``{feature: values}`` of customers as given, with each feature of ordered levels
        as its ranks (a name not among its levels: missing), as the model reads it and as
        the training's reference holds it (drift compares the two)."""
        if not self.levels:
            return values
        from custseg.derived import derive

        kept = [d for d in self.derivations if d.name in self.levels]
        ranks = derive(pd.DataFrame({d.source: values[d.name] for d in kept}), kept)
        return values | {d.name: ranks[d.name].tolist() for d in kept}

    def transform(self, rows: Sequence[dict[str, Any]]) -> np.ndarray:
        """Feature dicts in the scaled space of the centres (K-Means only)."""
        if self._fast is not None:
            X = np.array([[_num(r.get(f)) for f in self.numeric] for r in rows],
                         dtype=np.float64).reshape(len(rows), len(self.numeric))
            return self._fast(X)
        return self._scaled(self.frame(rows))

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``segment``, ``segment_name``, ``distance`` (and ``probability`` for methods
        that give one) of every row of ``frame``, indexed like it; other columns ignored."""
        if not self.kmeans:
            out = self.seg.assign(frame)
        else:
            out = nearest_segments(self._scaled(frame), self.centres, self.names, frame.index)
        return out.round({"distance": DECIMALS, "probability": DECIMALS})

    def score(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """``[{"segment", "segment_name", "distance", "probability"?}, ...]`` of feature
        dicts (missing values: None), as :meth:`assign` gives them (NaN where it has NaN)."""
        if not rows:
            return []
        if self._fast is not None:
            labels, dist = nearest_centres(self.transform(rows), self.centres)
            return [{"segment": int(s), "segment_name": self.names[s], "distance": float(d)}
                    for s, d in zip(labels, np.round(dist, DECIMALS), strict=True)]
        results = []
        for rec in self.assign(self.frame(rows)).to_dict("records"):
            r = {"segment": int(rec["segment"]), "segment_name": str(rec["segment_name"]),
                 "distance": float(rec["distance"])}
            if self.probabilistic:
                r["probability"] = float(rec["probability"])
            results.append(r)
        return results


class CompiledScorer:
    """Scores a table with a K-Means bundle from ``bundle.json`` alone: its ``scoring``
    section (:func:`custseg.compiled.scoring_section`, written when the model's preprocessing
    reads as plain arrays that give exactly its own output), without scikit-learn and
    without loading the model file.  :meth:`assign` gives what :meth:`ModelScorer.assign`
    gives, to the last digit."""

    kmeans = True

    def __init__(self, meta: dict[str, Any]) -> None:
        from custseg.roles import Derivation

        section = meta["scoring"]
        try:
            check_section(section, len(meta["segments"]))
        except ValueError as exc:
            raise BundleError(f"bundle.json: its scoring section does not fit its model "
                              f"({exc}); segment again to write a new bundle") from None
        self.meta = meta
        self.features: list[str] = list(meta["features"])
        self.numeric: list[str] = list(section["numeric"])
        self.derivations = [Derivation(**d) for d in section["derivations"]
                            if d["name"] in self.features]
        self.sources = derived_sources(self.derivations)
        self.max_junk = float(section["max_junk"])
        self.names: list[str] = [s["name"] for s in meta["segments"]]
        self.centres = np.array(section["centres"], dtype=np.float64)
        self._transform = compile_steps(section["steps"])

    def assign(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``segment``, ``segment_name`` and ``distance`` of every row of ``frame``."""
        typed = model_features(frame, self.features, self.numeric, self.derivations,
                               self.max_junk)
        Z = self._transform(typed[self.numeric].to_numpy(dtype=np.float64, na_value=np.nan))
        out = nearest_segments(Z, self.centres, self.names, frame.index)
        return out.round({"distance": DECIMALS})


def _check_columns(chunk: pd.DataFrame, features: list[str], sources: dict[str, str],
                   id_col: str | None, report: ScoreReport) -> None:
    """Every feature is in the input, or the column it is computed from (``sources``)."""
    problems = []
    for f in features:
        src = sources.get(f)
        if f in chunk.columns or (src is not None and src in chunk.columns):
            continue
        what = ("is a feature of the model but is missing from the input" if src is None
                else f"is missing from the input; the model's feature {f!r} is computed "
                     "from it")
        problems.append(Problem(src or f, f"{what}; columns present: {list(chunk.columns)}",
                                code="missing-column"))
    if problems:
        raise DataError(problems)
    used = {*features, *sources.values(), id_col}
    report.ignored_columns = [c for c in chunk.columns if c not in used]


def _score_chunk(scorer: ModelScorer | CompiledScorer, chunk: pd.DataFrame, id_col: str | None,
                 offset: int) -> pd.DataFrame:
    """The scored rows of one chunk: id (or row number), segment, name, distance."""
    try:
        scored = scorer.assign(chunk.reset_index(drop=True))
    except DataError as exc:  # row numbers of this chunk -> of the file
        for p in exc.problems:
            p.rows = [r + offset for r in p.rows]
        raise DataError(exc.problems) from None
    frame = pd.DataFrame(index=scored.index)
    if id_col and id_col in chunk.columns:
        frame[id_col] = chunk[id_col].to_numpy()
    else:
        frame["row"] = np.arange(offset + 1, offset + len(chunk) + 1)
    return pd.concat([frame, scored], axis=1)


def _write_parquet(frame: pd.DataFrame, path: Path, writer: Any) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
    writer.write_table(table)
    return writer


def _without_totals(chunks: Iterator[pd.DataFrame], report: ScoreReport
                    ) -> Iterator[pd.DataFrame]:
    """The chunks, the last one without the totals rows at its end (as ``segment`` leaves
    them out: :func:`custseg.parsing.total_rows`), counted in ``report``."""
    previous = next(chunks, None)
    if previous is None:
        return
    for chunk in chunks:
        yield previous
        previous = chunk
    totals = total_rows(previous)
    report.total_rows_dropped = int(totals.sum())
    if not totals.all():
        yield previous.loc[~totals]


def _log_customers(scorer: ModelScorer | CompiledScorer, input_path: Path, report: ScoreReport
                   ) -> pd.DataFrame | None:
    """The customers of ``input_path`` with their features, when the model's features are
    those computed from a transaction log (:data:`custseg.features.FEATURE_COLUMNS`), the
    input does not have them and it is a log (:mod:`custseg.features.detect`); else None."""
    from custseg.features import FEATURE_COLUMNS, transactions_to_customers
    from custseg.features.detect import detect_transaction_log

    # (a customer table holding the features is no log: its ids do not repeat)
    if not set(scorer.features) <= set(FEATURE_COLUMNS):
        return None
    if detect_transaction_log(input_path) is None:
        return None
    fr = transactions_to_customers(input_path)
    report.from_log = {"lines": int(fr.report["cleaning"]["lines_read"]),
                       "customers": len(fr.customers), "as_of": str(fr.report["as_of"]),
                       "customer_column": fr.id_column}
    return fr.customers


def _input_chunks(scorer: ModelScorer | CompiledScorer, input_path: Path, chunk_size: int,
                  columns: list[str], report: ScoreReport) -> Iterator[pd.DataFrame]:
    """The rows to score: the file's, ``chunk_size`` at a time, or the customers of a
    transaction log (:func:`_log_customers`)."""
    customers = _log_customers(scorer, input_path, report)
    if customers is None:
        yield from _without_totals(iter_chunks(input_path, chunk_size, columns), report)
        return
    for start in range(0, len(customers), chunk_size):
        yield customers.iloc[start:start + chunk_size]


def score_file(
    model: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    chunk_size: int = CHUNK_SIZE,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> ScoreReport:
    """Score ``input_path`` with the bundle at ``model``; write ``out`` atomically.

    A bundle with a ``scoring`` section in ``bundle.json`` is scored from it
    (:class:`CompiledScorer`), any other by loading its model (:class:`ModelScorer`)."""
    scorer: ModelScorer | CompiledScorer
    if read_meta(model).get("scoring"):
        meta = checked_meta(model)
        scorer = CompiledScorer(meta)
    else:  # (its model file read and hashed once, by load_bundle)
        bundle = load_bundle(model)
        meta, scorer = bundle.meta, ModelScorer(bundle, compiled=False)
    input_path, out = check_input_path(input_path), Path(out)
    id_col = meta.get("id_column")
    features = scorer.features
    columns = list(dict.fromkeys([*features, *scorer.sources.values()]))
    report = ScoreReport(input_sha256=file_sha256(input_path), output=str(out))
    counts: Counter[int] = Counter()
    parquet = out.suffix.lower() in (".parquet", ".pq")
    writer: Any = None
    with atomic_output_file(out, force=force) as tmp:
        try:
            offset = 0
            for chunk in _input_chunks(scorer, input_path, chunk_size,
                                       columns + ([id_col] if id_col else []), report):
                if report.chunks == 0:
                    id_col = report.from_log.get("customer_column", id_col)
                    _check_columns(chunk, features, scorer.sources, id_col, report)
                    if report.from_log:  # computed, not the input's: nothing to say
                        report.ignored_columns = []
                frame = _score_chunk(scorer, chunk, id_col, offset)
                counts.update(frame["segment"].tolist())
                if parquet:
                    writer = _write_parquet(frame, tmp, writer)
                else:
                    write_csv(frame, tmp, mode="a", header=report.chunks == 0)
                offset += len(chunk)
                report.chunks += 1
                report.rows = offset
                if progress:
                    progress("score", offset, offset)
        finally:
            if writer is not None:
                writer.close()
        if report.chunks == 0:
            raise DataError([Problem(None, f"{input_path}: no rows to score",
                                     code="input-file")])
    report.segment_counts = {int(k): int(v) for k, v in sorted(counts.items())}
    return report
