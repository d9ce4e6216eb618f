"""Who moved between two runs: the migration matrix, how each segment grew or shrank, and
the changes told in sentences (:mod:`custseg.history`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from custseg.errors import DataError, Problem
from custseg.history.matching import (
    DEFAULT_MAX_DISTANCE,
    UNASSIGNED,
    Matching,
    match_segments,
    pooled_std,
)
from custseg.history.runs import RunData

if TYPE_CHECKING:
    pass


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


def segment_names(run: RunData) -> dict[int, str]:
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
    names_a, names_b = segment_names(a), segment_names(b)
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
