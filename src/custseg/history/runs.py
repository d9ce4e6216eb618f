"""A run's segments and assignments, read from its output folder or from the store, and a
new run's stable ids recorded (:mod:`custseg.history`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from custseg.errors import DataError, InputFileError, Problem, UsageError
from custseg.history.matching import (
    DEFAULT_MAX_DISTANCE,
    UNASSIGNED,
    assign_stable_ids,
    match_segments,
    number_or_none,
    pooled_std,
)

if TYPE_CHECKING:
    from custseg.pipeline import SegmentationResult
    from custseg.store import Store


# ------------------------------------------------------------------ runs
@dataclass
class RunData:
    """What comparing needs of one run: its segments and who is in which."""

    label: str
    segments: list[dict[str, Any]]
    assignments: dict[str, int]
    std: dict[str, float]
    id_column: str | None = None
    input_sha256: str | None = None
    features: list[str] = field(default_factory=list)


def _segment_entries(summary_segments: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for s in summary_segments:
        centre = {f: v for f, v in (s.get("centre") or {}).items() if number_or_none(v) is not None}
        out.append({"id": int(s["id"]), "name": s.get("name"), "size": s.get("size"),
                    "share": s.get("share"), "centre": centre})
    return out


def load_run_folder(folder: str | os.PathLike[str]) -> RunData:
    """A run from a ``custseg segment`` output folder (summary.json, segments.csv or
    segments.parquet, and the training standard deviations of ``model/bundle.json``)."""
    folder = Path(folder)
    summary_path = folder / "summary.json"
    segments_path = next((folder / n for n in ("segments.csv", "segments.parquet")
                          if (folder / n).exists()), folder / "segments.csv")
    if not summary_path.exists() or not segments_path.exists():
        raise InputFileError(f"{folder}: not a custseg segment output (summary.json and "
                             "segments.csv or segments.parquet are needed)", str(folder))
    summary = json.loads(summary_path.read_text("utf-8"))
    id_col = (summary.get("roles") or {}).get("id_column")
    key = id_col if id_col else "row"
    if segments_path.suffix == ".parquet":
        table = pd.read_parquet(segments_path)
        if key in table.columns:
            table[key] = table[key].astype(str)
    else:
        table = pd.read_csv(segments_path, dtype={key: str}, keep_default_na=False,
                            na_values=[""], low_memory=False)
    if key not in table.columns or "segment" not in table.columns:
        raise DataError([Problem(key, f"{segments_path}: column missing (columns: "
                                 f"{list(table.columns)[:20]})", code="missing-column")])
    std: dict[str, float] = {}
    if (folder / "model" / "bundle.json").exists():
        from custseg.bundle import read_meta

        meta = read_meta(folder / "model")  # checked and size-bounded
        for f, ref in ((meta.get("training") or {}).get("features") or {}).items():
            if number_or_none(ref.get("std")):
                std[f] = float(ref["std"])
    for f in summary.get("features", []):
        if f not in std and f in table.columns:
            v = pd.to_numeric(table[f], errors="coerce")
            if v.notna().sum() > 1 and v.std(ddof=0) > 0:
                std[f] = float(v.std(ddof=0))
    seg = pd.to_numeric(table["segment"], errors="coerce").fillna(UNASSIGNED).astype(int)
    return RunData(label=str(folder), segments=_segment_entries(summary.get("segments", [])),
                   assignments=dict(zip(table[key].astype(str), seg.tolist(), strict=True)),
                   std=std, id_column=id_col, input_sha256=summary.get("input_sha256"),
                   features=list(summary.get("features", [])))


def load_run_store(store: Store, run_id: int) -> RunData:
    """A run recorded in the store (``custseg segment --store``)."""
    run = store.run(run_id)
    label = f"run {run.run_id}" + (f" ({run.label})" if run.label else "")
    return RunData(label=label, segments=[dict(s) for s in run.segments],
                   assignments=store.run_assignments(run_id), std=dict(run.feature_std),
                   id_column=run.id_column, input_sha256=run.input_sha256,
                   features=list(run.features))


def load_run(ref: str, store: Store | None = None) -> RunData:
    """A run from an output folder, or from the store by its id."""
    path = Path(ref)
    if path.exists():
        return load_run_folder(path)
    if ref.strip().isdigit():
        if store is None:
            raise UsageError(f"{ref!r} is not a folder; to compare runs recorded in a store, "
                             "give `store=URL`", "store")
        return load_run_store(store, int(ref))
    raise InputFileError(f"{ref}: no such run folder (give a custseg segment output folder, "
                         "or a run id with `store`)", ref)


def record_segmentation(store: Store, result: SegmentationResult, *, label: str | None = None,
                        max_distance: float = DEFAULT_MAX_DISTANCE
                        ) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]], int | None]:
    """Record a segmentation run and its assignments in ``store``, with stable segment ids
    matched against the latest run recorded before it.

    Returns ``(run_id, segments, vanished, previous_run_id)``: the segments carry
    ``stable_id`` and ``status`` (``kept``, ``new``).
    """
    from custseg.bundle import fingerprint
    from custseg.store import RunRecord

    seg = result.segmenter
    summary = result.summary
    fp = fingerprint(seg, result.table)
    std = {f: float(v["std"]) for f, v in fp.items() if number_or_none(v.get("std"))}
    entries = _segment_entries(summary["segments"])
    previous = store.latest_run()
    matching = None
    if previous is not None:
        matching = match_segments(previous.segments, entries,
                                  pooled_std(previous.feature_std, std),
                                  max_distance=max_distance)
    segments, vanished = assign_stable_ids(previous.segments if previous else None, entries,
                                           matching, store.max_stable_id() + 1)
    frame = result.segments
    id_col = seg.roles_.id_column
    key = id_col if id_col is not None and id_col in frame.columns else "row"
    assigned = list(zip(frame[key].astype(str), frame["segment"].astype(int), strict=True))
    record = RunRecord(
        k=int(summary["k"]), n_customers=int(summary["n_customers"]),
        features=list(summary["features"]), feature_std=std, segments=segments,
        vanished=vanished, label=label, source=str(summary.get("input", {}).get("path")),
        input_sha256=summary.get("input_sha256"), algorithm=summary.get("algorithm"),
        id_column=id_col, previous_run_id=previous.run_id if previous else None)
    run_id = store.record_run(record, assigned)
    return run_id, segments, vanished, previous.run_id if previous else None
