"""Segment history: stable identities across retrains, and who moved between two runs.

**Stable identities.**  Each run numbers its segments 0..k-1 by size, so "Segment 2" of
this month need not be "Segment 2" of last month.  :func:`match_segments` pairs the
segments of a new run with those of a previous one by the Hungarian method
(``scipy.optimize.linear_sum_assignment``) on their centres in original units, each feature
divided by its standard deviation in the training data (the mean of the two runs' standard
deviations), over the numeric features both runs share.  A pair further apart than
``max_distance`` (1.0 by default: one standard deviation, Euclidean over the standardised
features) is not a match: the new run's segment is **new**, the previous one **vanished**.
A matched segment keeps its **stable id**; a new one gets the next unused id.

**Migration.**  :func:`compare_runs` counts, for the customers in both runs, how many went
from each segment of run A to each segment of run B (the migration matrix), how each
segment grew or shrank, and counts apart the customers present in only one run.
:func:`render_compare_html` draws it as a Sankey diagram (Plotly, self-contained: plotly.js
inlined once).

Examples
--------
>>> old = [{"id": 0, "name": "Low", "centre": {"x": 0.0}},
...        {"id": 1, "name": "High", "centre": {"x": 10.0}}]
>>> new = [{"id": 0, "name": "High", "centre": {"x": 10.2}},
...        {"id": 1, "name": "Huge", "centre": {"x": 30.0}}]
>>> m = match_segments(old, new, {"x": 2.0})
>>> m.pairs, m.new, m.vanished
({0: 1}, [1], [0])
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg.errors import DataError, InputFileError, Problem, UsageError

if TYPE_CHECKING:
    from custseg.pipeline import SegmentationResult
    from custseg.store import Store

#: Largest standardised distance between two centres for them to be the same segment.
DEFAULT_MAX_DISTANCE = 1.0
UNASSIGNED = -1


# ------------------------------------------------------------------ matching
@dataclass
class Matching:
    """How the segments of a new run match those of a previous one.

    ``pairs`` maps a new segment id to the previous segment id; ``new`` lists the new run's
    segments without a match, ``vanished`` the previous run's; ``distances`` holds the
    standardised distance of every pair (new id -> distance).
    """

    pairs: dict[int, int]
    new: list[int]
    vanished: list[int]
    distances: dict[int, float] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    max_distance: float = DEFAULT_MAX_DISTANCE

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": {str(k): v for k, v in self.pairs.items()}, "new": self.new,
                "vanished": self.vanished,
                "distances": {str(k): v for k, v in self.distances.items()},
                "features": self.features, "max_distance": self.max_distance}


def _numeric(x: Any) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def centre_distances(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]],
                     std: Mapping[str, float]) -> tuple[np.ndarray, list[str]]:
    """Standardised Euclidean distances between centres (rows: ``old``, columns: ``new``),
    over the numeric features in every centre with a positive standard deviation."""
    if not old or not new:
        return np.zeros((len(old), len(new))), []
    names = [f for f in old[0]["centre"] if all(
        _numeric(s["centre"].get(f)) is not None for s in [*old, *new])]
    feats = [f for f in names if (_numeric(std.get(f)) or 0) > 0]
    if not feats:
        return np.full((len(old), len(new)), np.inf), []
    scale = np.array([float(std[f]) for f in feats])
    a = np.array([[float(s["centre"][f]) for f in feats] for s in old]) / scale
    b = np.array([[float(s["centre"][f]) for f in feats] for s in new]) / scale
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)), feats


def match_segments(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]],
                   std: Mapping[str, float], *,
                   max_distance: float = DEFAULT_MAX_DISTANCE) -> Matching:
    """Match ``new`` segments to ``old`` ones (see the module docstring).

    Each segment is a mapping with ``id`` and ``centre`` (``{feature: value}`` in original
    units); ``std`` gives each feature's standard deviation.
    """
    from scipy.optimize import linear_sum_assignment

    if max_distance <= 0:
        raise UsageError(f"`max_distance` must be positive, got {max_distance!r}",
                         "max_distance")
    dist, feats = centre_distances(old, new, std)
    pairs: dict[int, int] = {}
    distances: dict[int, float] = {}
    if dist.size and feats:
        # pairs beyond the limit cost more than any allowed one, so the assignment
        # maximises the allowed matches first, then minimises their distance
        big = max_distance * 10 + float(np.nanmax(np.where(np.isfinite(dist), dist, 0))) + 1
        cost = np.where(dist <= max_distance, dist, big)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols, strict=True):
            if dist[r, c] <= max_distance:
                pairs[int(new[c]["id"])] = int(old[r]["id"])
                distances[int(new[c]["id"])] = round(float(dist[r, c]), 6)
    matched_old = set(pairs.values())
    return Matching(
        pairs=dict(sorted(pairs.items())),
        new=[int(s["id"]) for s in new if int(s["id"]) not in pairs],
        vanished=[int(s["id"]) for s in old if int(s["id"]) not in matched_old],
        distances=dict(sorted(distances.items())),
        features=feats,
        max_distance=max_distance,
    )


def pooled_std(*stds: Mapping[str, Any]) -> dict[str, float]:
    """Per feature, the mean of the standard deviations given (ignoring missing ones)."""
    out: dict[str, float] = {}
    for f in dict.fromkeys(f for s in stds for f in s):
        values = [v for s in stds if (v := _numeric(s.get(f))) is not None and v > 0]
        if values:
            out[f] = float(np.mean(values))
    return out


def assign_stable_ids(previous: Sequence[Mapping[str, Any]] | None,
                      segments: Sequence[Mapping[str, Any]], matching: Matching | None,
                      next_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The new run's segments with ``stable_id`` and ``status`` (``kept`` or ``new``), and
    the previous run's vanished segments; ``next_id`` is the first unused stable id."""
    by_id = {int(s["id"]): s for s in previous or []}
    out, vanished = [], []
    for s in segments:
        entry = dict(s)
        if matching is not None and int(s["id"]) in matching.pairs:
            prev = by_id[matching.pairs[int(s["id"])]]
            entry["stable_id"] = int(prev.get("stable_id", prev["id"]))
            entry["status"] = "kept"
            entry["previous_id"] = int(prev["id"])
            entry["previous_name"] = prev.get("name")
            entry["distance"] = matching.distances.get(int(s["id"]))
        else:
            entry["stable_id"] = next_id
            entry["status"] = "new"
            next_id += 1
        out.append(entry)
    if matching is not None:
        for old_id in matching.vanished:
            prev = by_id[old_id]
            vanished.append({"id": old_id, "stable_id": int(prev.get("stable_id", old_id)),
                             "name": prev.get("name"), "size": prev.get("size")})
    return out, vanished


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
        centre = {f: v for f, v in (s.get("centre") or {}).items() if _numeric(v) is not None}
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
            if _numeric(ref.get("std")):
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
    std = {f: float(v["std"]) for f, v in fp.items() if _numeric(v.get("std"))}
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


# ------------------------------------------------------------------ comparing
@dataclass
class Comparison:
    """Two runs compared: the matching, the migration matrix and the segment changes."""

    run_a: RunData
    run_b: RunData
    matching: Matching
    matrix: pd.DataFrame  # rows: A segments, columns: B segments, customers in both runs
    only_a: dict[int, int]  # customers of A's segments absent from B
    only_b: dict[int, int]  # customers of B's segments absent from A
    changes: list[dict[str, Any]]
    stayed: int
    moved: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_a": {"label": self.run_a.label, "segments": self.run_a.segments,
                      "customers": len(self.run_a.assignments)},
            "run_b": {"label": self.run_b.label, "segments": self.run_b.segments,
                      "customers": len(self.run_b.assignments)},
            "matching": self.matching.to_dict(),
            "migration": {str(a): {str(b): int(n) for b, n in row.items()}
                          for a, row in self.matrix.iterrows()},
            "only_in_a": {str(k): v for k, v in self.only_a.items()},
            "only_in_b": {str(k): v for k, v in self.only_b.items()},
            "in_both": int(self.matrix.to_numpy().sum()),
            "stayed": self.stayed,
            "moved": self.moved,
            "segments": self.changes,
            "warnings": self.warnings,
        }


def _names(run: RunData) -> dict[int, str]:
    names = {int(s["id"]): str(s.get("name")) for s in run.segments}
    names.setdefault(UNASSIGNED, "Unassigned")
    return names


def _id_warnings(a: RunData, b: RunData) -> list[str]:
    """How customers are followed from ``a`` to ``b``: by id, or by row number when both
    runs read the same file (a warning); a :class:`DataError` otherwise."""
    if a.id_column is not None and b.id_column is not None:
        return []
    if not (a.input_sha256 and a.input_sha256 == b.input_sha256):
        raise DataError([Problem(None, f"{a.label if a.id_column is None else b.label} has no "
                                 "customer id column, so its customers cannot be followed "
                                 "into the other run (row numbers match only between runs "
                                 "of the same input file)", code="no-id-column")])
    return ["no customer id column: customers are matched by row number (both runs read "
            "the same input file)"]


def compare_runs(a: RunData, b: RunData, *,
                 max_distance: float = DEFAULT_MAX_DISTANCE) -> Comparison:
    """Compare run ``a`` (before) with run ``b`` (after); see the module docstring."""
    warnings = _id_warnings(a, b)
    matching = match_segments(a.segments, b.segments, pooled_std(a.std, b.std),
                              max_distance=max_distance)
    if not matching.features:
        warnings.append("the runs share no numeric feature: no segment is matched")
    ids_a = [int(s["id"]) for s in a.segments]
    ids_b = [int(s["id"]) for s in b.segments]
    sa = pd.Series(a.assignments, dtype="int64")
    sb = pd.Series(b.assignments, dtype="int64")
    if (sa == UNASSIGNED).any():
        ids_a.append(UNASSIGNED)
    if (sb == UNASSIGNED).any():
        ids_b.append(UNASSIGNED)
    both = sa.index.intersection(sb.index)
    pairs = pd.DataFrame({"a": sa.loc[both].to_numpy(), "b": sb.loc[both].to_numpy()})
    matrix = (pd.crosstab(pairs["a"], pairs["b"]) if len(pairs) else pd.DataFrame()).reindex(
        index=ids_a, columns=ids_b, fill_value=0).fillna(0).astype(int)
    matrix.index.name, matrix.columns.name = "a", "b"
    only_a = sa.loc[sa.index.difference(sb.index)].value_counts()
    only_b = sb.loc[sb.index.difference(sa.index)].value_counts()
    only_a_d = {i: int(only_a.get(i, 0)) for i in ids_a}
    only_b_d = {i: int(only_b.get(i, 0)) for i in ids_b}
    b_of_a = {old: new for new, old in matching.pairs.items()}
    stayed = int(sum(matrix.loc[old, new] for old, new in b_of_a.items()))
    moved = int(matrix.to_numpy().sum()) - stayed
    changes = _segment_changes(a, b, matching, matrix, ids_b, only_b_d)
    return Comparison(a, b, matching, matrix, only_a_d, only_b_d, changes, stayed, moved,
                      warnings)


def _segment_changes(a: RunData, b: RunData, matching: Matching, matrix: pd.DataFrame,
                     ids_b: list[int], only_b_d: dict[int, int]) -> list[dict[str, Any]]:
    """One entry per segment of ``b`` (new, or kept from ``a``) and per vanished one."""
    names_a, names_b = _names(a), _names(b)
    size_a = pd.Series(a.assignments, dtype="int64").value_counts()
    size_b = pd.Series(b.assignments, dtype="int64").value_counts()
    changes: list[dict[str, Any]] = []
    for new in [i for i in ids_b if i != UNASSIGNED]:
        old = matching.pairs.get(new)
        nb = int(size_b.get(new, 0))
        if old is None:
            changes.append({"status": "new", "a": None, "b": new, "name_a": None,
                            "name_b": names_b[new], "size_a": 0, "size_b": nb, "change": nb,
                            "change_share": None, "stayed": 0,
                            "from_other_segments": int(matrix[new].sum()),
                            "new_customers": only_b_d[new]})
            continue
        na = int(size_a.get(old, 0))
        changes.append({"status": "kept", "a": old, "b": new, "name_a": names_a[old],
                        "name_b": names_b[new], "size_a": na, "size_b": nb,
                        "change": nb - na, "change_share": round((nb - na) / na, 6) if na
                        else None, "stayed": int(matrix.loc[old, new]),
                        "from_other_segments": int(matrix[new].sum() - matrix.loc[old, new]),
                        "new_customers": only_b_d[new],
                        "distance": matching.distances.get(new)})
    for old in matching.vanished:
        na = int(size_a.get(old, 0))
        changes.append({"status": "vanished", "a": old, "b": None, "name_a": names_a[old],
                        "name_b": None, "size_a": na, "size_b": 0, "change": -na,
                        "change_share": -1.0 if na else None, "stayed": 0,
                        "from_other_segments": 0, "new_customers": 0})
    return changes


def describe_changes(comparison: Comparison) -> list[str]:
    """The segment changes in plain sentences."""
    lines = []
    for c in comparison.changes:
        if c["status"] == "kept":
            same = c["name_a"] == c["name_b"]
            label = (f"'{c['name_b']}'" if same else
                     f"'{c['name_a']}' (now named '{c['name_b']}')")
            trend = ("grew" if c["change"] > 0 else "shrank" if c["change"] < 0
                     else "kept its size")
            amount = f" by {abs(c['change'])}" if c["change"] else ""
            pct = (f" ({c['change_share']:+.0%})" if c["change_share"] is not None
                   and c["change"] else "")
            lines.append(f"segment {c['a']} -> {c['b']} {label} {trend}{amount}{pct}: "
                         f"{c['size_a']} -> {c['size_b']} customers, {c['stayed']} stayed")
        elif c["status"] == "new":
            lines.append(f"NEW segment {c['b']} '{c['name_b']}': {c['size_b']} customers "
                         f"({c['from_other_segments']} from other segments, "
                         f"{c['new_customers']} not in run A); no segment of run A is "
                         "within the matching distance")
        else:
            lines.append(f"VANISHED segment {c['a']} '{c['name_a']}' of run A "
                         f"({c['size_a']} customers): no segment of run B matches it")
    return lines


# ------------------------------------------------------------------ rendering
_PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2",
            "#FF9DA6", "#9D755D", "#BAB0AC"]


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def sankey_figure(comparison: Comparison) -> Any:
    """A Plotly Sankey diagram: run A's segments on the left, run B's on the right, with
    the customers present in only one run as their own nodes."""
    import plotly.graph_objects as go

    c = comparison
    names_a, names_b = _names(c.run_a), _names(c.run_b)
    ids_a, ids_b = list(c.matrix.index), list(c.matrix.columns)
    colour_a = {i: _PALETTE[n % len(_PALETTE)] for n, i in enumerate(ids_a)}
    colour_b = {}
    fresh = len(ids_a)
    for i in ids_b:
        if i in c.matching.pairs:
            colour_b[i] = colour_a[c.matching.pairs[i]]
        else:
            colour_b[i] = _PALETTE[fresh % len(_PALETTE)]
            fresh += 1
    labels = [f"A {i} · {names_a[i]}" for i in ids_a] + \
             [f"B {i} · {names_b[i]}" + ("" if i in c.matching.pairs or i == UNASSIGNED
                                          else " (new)") for i in ids_b]
    colours = [colour_a[i] for i in ids_a] + [colour_b[i] for i in ids_b]
    left_node = len(labels)
    labels.append("only in A (not in B)")
    colours.append("#999999")
    joined_node = len(labels)
    labels.append("only in B (not in A)")
    colours.append("#cccccc")
    src, dst, val, link_colours = [], [], [], []
    for ia, a in enumerate(ids_a):
        for ib, b in enumerate(ids_b):
            n = int(c.matrix.loc[a, b])
            if n:
                src.append(ia)
                dst.append(len(ids_a) + ib)
                val.append(n)
                link_colours.append(_rgba(colour_a[a], 0.45))
        if c.only_a.get(a):
            src.append(ia)
            dst.append(left_node)
            val.append(c.only_a[a])
            link_colours.append("rgba(150,150,150,0.35)")
    for ib, b in enumerate(ids_b):
        if c.only_b.get(b):
            src.append(joined_node)
            dst.append(len(ids_a) + ib)
            val.append(c.only_b[b])
            link_colours.append("rgba(200,200,200,0.45)")
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels, "color": colours, "pad": 14, "thickness": 16},
        link={"source": src, "target": dst, "value": val, "color": link_colours,
              "hovertemplate": "%{source.label} → %{target.label}: %{value} customers"
                               "<extra></extra>"}))
    fig.update_layout(title=f"Customers from {c.run_a.label} (left) to {c.run_b.label} "
                            "(right)", font_size=12, height=max(420, 60 * len(labels)),
                      margin={"l": 20, "r": 20, "t": 60, "b": 20})
    return fig


def _html_table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="t", na_rep="", escape=True)


def render_compare_html(comparison: Comparison) -> str:
    """A self-contained HTML page: the Sankey diagram (plotly.js inlined once), the
    segment changes, and the migration matrix."""
    import html

    import plotly.io as pio

    c = comparison
    names_a, names_b = _names(c.run_a), _names(c.run_b)
    chart = pio.to_html(sankey_figure(c), full_html=False, include_plotlyjs=True,
                        config={"displaylogo": False})
    matrix = c.matrix.copy()
    matrix.index = [f"A {i} · {names_a[i]}" for i in matrix.index]
    matrix.columns = [f"B {i} · {names_b[i]}" for i in matrix.columns]
    matrix["only in A"] = [c.only_a.get(i, 0) for i in c.matrix.index]
    matrix = matrix.reset_index(names="from \\ to").astype(object)
    only_b = ["only in B", *[c.only_b.get(i, 0) for i in c.matrix.columns], ""]
    matrix.loc[len(matrix)] = only_b
    changes = pd.DataFrame(c.changes)
    cols = ["status", "a", "name_a", "b", "name_b", "size_a", "size_b", "change", "stayed",
            "from_other_segments", "new_customers"]
    changes = changes[[x for x in cols if x in changes.columns]]
    for col in ("a", "b"):
        changes[col] = changes[col].astype("Int64")
    sentences = "".join(f"<li>{html.escape(s)}</li>" for s in describe_changes(c))
    warn = "".join(f"<p class='warn'>{html.escape(w)}</p>" for w in c.warnings)
    in_both = int(c.matrix.to_numpy().sum())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>custseg compare: {html.escape(c.run_a.label)} → {html.escape(c.run_b.label)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table.t {{ border-collapse: collapse; margin: 1em 0; font-size: 14px; }}
table.t th, table.t td {{ padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }}
table.t th:first-child, table.t td:first-child {{ text-align: left; }}
.warn {{ color: #a15c00; }}
</style></head><body>
<h1>Who moved between segments</h1>
<p><b>A</b>: {html.escape(c.run_a.label)} ({len(c.run_a.assignments)} customers) &nbsp;→&nbsp;
<b>B</b>: {html.escape(c.run_b.label)} ({len(c.run_b.assignments)} customers).
{in_both} customers are in both runs: {c.stayed} stayed in the same segment, {c.moved} moved;
{sum(c.only_a.values())} are only in A, {sum(c.only_b.values())} only in B.</p>
{warn}
<ul>{sentences}</ul>
{chart}
<h2>Segments</h2>
<p>Segments are matched on their centres (Hungarian method, features divided by their
standard deviation; at most {c.matching.max_distance:g} apart).</p>
{_html_table(changes)}
<h2>Migration matrix</h2>
<p>Customers in segment (row) of A and (column) of B; the last column and row count the
customers present in only one run.</p>
{_html_table(matrix)}
</body></html>
"""


def write_comparison(comparison: Comparison, out: str | os.PathLike[str], *,
                     force: bool = False) -> Path:
    """Write ``compare.json``, ``migration.csv`` and ``compare.html`` into ``out``
    atomically."""
    from custseg.io import atomic_output_dir, write_csv

    with atomic_output_dir(out, force=force) as tmp:
        (tmp / "compare.json").write_text(
            json.dumps(_jsonable(comparison.to_dict()), indent=2, ensure_ascii=False) + "\n",
            "utf-8")
        matrix = comparison.matrix.copy()
        matrix["only_in_a"] = [comparison.only_a.get(i, 0) for i in matrix.index]
        write_csv(matrix, tmp / "migration.csv", index=True)
        (tmp / "compare.html").write_text(render_compare_html(comparison), "utf-8")
    return Path(out)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        return None if not math.isfinite(float(obj)) else float(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


__all__ = ["DEFAULT_MAX_DISTANCE", "Comparison", "Matching", "RunData", "assign_stable_ids",
           "compare_runs", "describe_changes", "load_run", "load_run_folder",
           "load_run_store", "match_segments", "record_segmentation", "render_compare_html",
           "write_comparison"]
