"""Stable identities across retrains: the segments of a new run matched with a previous
run's on their standardised centres (the Hungarian method), each keeping its stable id
(:mod:`custseg.history`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from custseg.errors import UsageError

if TYPE_CHECKING:
    pass


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


def number_or_none(x: Any) -> float | None:
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
        number_or_none(s["centre"].get(f)) is not None for s in [*old, *new])]
    feats = [f for f in names if (number_or_none(std.get(f)) or 0) > 0]
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
        values = [v for s in stds if (v := number_or_none(s.get(f))) is not None and v > 0]
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
