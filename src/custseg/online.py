"""Live scoring state: online K-Means centres, the as-of date of live features, the customers
scored lately.

The service (:mod:`custseg.service`) holds one of each and calls them; nothing here knows
about HTTP.

* :class:`OnlineCentres`: opt-in online update of K-Means centres, mini-batches with decay,
  saved in the store (:meth:`custseg.store.Store.save_model_state`) and resumed from it.
* :class:`AsOf`: the date customer features are computed at (``today``, ``latest`` or a
  fixed date) and which event dates it refuses or sets aside.
* :class:`RecentCustomers`: the last customers scored, the ``recent`` population of
  :func:`custseg.drift.drift_report`.

Examples
--------
>>> import datetime as dt
>>> policy = AsOf.parse("latest")
>>> policy.for_latest(dt.date(2024, 5, 11))
datetime.date(2024, 5, 12)
>>> AsOf.parse("2024-06-01").limit()
(datetime.date(2024, 6, 1), "on or after the service's as-of date 2024-06-01")
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from custseg.errors import UsageError

if TYPE_CHECKING:
    from custseg.scoring import ModelScorer
    from custseg.store import Store

log = logging.getLogger("custseg.online")

#: How far after today (UTC) an event may be dated: beyond it, ``as_of="today"`` refuses
#: the event and ``as_of="latest"`` sets it aside (not applied, reported).
FUTURE_TOLERANCE = dt.timedelta(days=1)
#: Recently scored customers kept (in memory) for the ``recent`` drift population.
RECENT_WINDOW = 5000


# ------------------------------------------------------------------ online centres
class OnlineCentres:
    """Opt-in online update of K-Means centres: mini-batches with decay.

    Scored customers are buffered; every ``batch_size`` of them, each segment's centre moves
    toward the mean of its customers in the batch by ``b / N``, where ``b`` is the number
    of its customers in the batch and ``N`` a decayed count (``N <- decay * N + b``, starting
    from the training size); a segment without customers in the batch only has its count
    decayed.  Segment ids and names never change.  A centre that moves more than
    ``threshold`` (scaled units, i.e. standard deviations) from the model's is logged and
    flagged (:meth:`to_dict`).  The centres are those of ``scorer``: it scores with them.
    """

    def __init__(self, scorer: ModelScorer, store: Store | None, *, batch_size: int = 100,
                 decay: float = 0.99, threshold: float = 0.5) -> None:
        if not scorer.kmeans:
            raise UsageError(f"`online_update` works with K-Means models; this model is "
                             f"{scorer.seg.algorithm}", "online_update")
        if batch_size < 1 or not 0 < decay <= 1 or threshold <= 0:
            raise UsageError("online update: batch size >= 1, 0 < decay <= 1 and a positive "
                             "threshold are needed", "online_update")
        self.scorer = scorer
        self.store = store
        self.batch_size = batch_size
        self.decay = decay
        self.threshold = threshold
        self.origin = scorer.centres.copy()
        self.sha = str(scorer.meta.get("model_sha256"))
        self.counts = np.array([float(s.size) for s in scorer.seg.segments_])
        self.batches = 0
        self._buffer: list[tuple[np.ndarray, int]] = []
        self._lock = threading.Lock()
        self._flagged: set[int] = set()
        self._resume()

    def _resume(self) -> None:
        """Take up the centres saved in the store for this model, if any."""
        state = self.store.load_model_state(self.sha) if self.store is not None else None
        if state is None:
            return
        centres = np.asarray(state["centres"], dtype=np.float64)
        if centres.shape == self.origin.shape:
            self._install(centres)
            self.counts = np.asarray(state["counts"], dtype=np.float64)
            self.batches = int(state["batches"])
            log.info("online update: resumed centres after %d batches", self.batches)

    def _install(self, centres: np.ndarray) -> None:
        self.scorer.centres = centres  # a new array: readers never see half an update
        self.scorer.seg.cluster_centers_ = centres

    def shifts(self) -> np.ndarray:
        """How far each centre is from the model's (scaled units)."""
        return np.asarray(np.sqrt(((self.scorer.centres - self.origin) ** 2).sum(axis=1)))

    def observe(self, Z: np.ndarray, labels: Sequence[int]) -> None:
        """Buffer customers (rows of the scaled space) with their segments; every
        ``batch_size`` of them, update the centres."""
        with self._lock:
            self._buffer.extend(zip(Z, labels, strict=True))
            if len(self._buffer) < self.batch_size:
                return
            batch, self._buffer = self._buffer, []
            self._update(batch)

    def observe_scored(self, rows: Sequence[dict[str, Any]],
                       results: Sequence[dict[str, Any]]) -> None:
        """:meth:`observe` customers as scored (feature dicts and the scorer's results);
        those in no segment (-1) are left out."""
        keep = [i for i, r in enumerate(results) if r["segment"] >= 0]
        if keep:
            self.observe(self.scorer.transform([rows[i] for i in keep]),
                         [results[i]["segment"] for i in keep])

    def _update(self, batch: list[tuple[np.ndarray, int]]) -> None:
        centres = self.scorer.centres.copy()
        Z = np.vstack([z for z, _ in batch])
        labels = np.array([s for _, s in batch])
        for s in range(len(centres)):
            mine = Z[labels == s]
            if not len(mine):
                self.counts[s] *= self.decay
                continue
            self.counts[s] = self.decay * self.counts[s] + len(mine)
            centres[s] += (len(mine) / self.counts[s]) * (mine.mean(axis=0) - centres[s])
        self._install(centres)
        self.batches += 1
        self._flag_moved()
        if self.store is not None:
            try:
                self.store.save_model_state(self.sha, centres.tolist(), self.counts.tolist(),
                                            self.batches)
            except Exception as exc:  # the update stays in memory
                log.warning("online update: centres not saved to the store: %s", exc)

    def _flag_moved(self) -> None:
        shifts = self.shifts()
        for s in np.flatnonzero(shifts > self.threshold):
            if int(s) not in self._flagged:
                self._flagged.add(int(s))
                log.warning("online update: the centre of segment %d (%s) has moved %.2f "
                            "scaled units from the model's; its name may no longer fit: "
                            "consider re-segmenting", s, self.scorer.names[s], shifts[s])

    def to_dict(self) -> dict[str, Any]:
        """The settings, progress and each segment's shift (``moved``: beyond the
        threshold)."""
        shifts = self.shifts()
        return {"enabled": True, "batch_size": self.batch_size, "decay": self.decay,
                "threshold": self.threshold, "batches": self.batches,
                "pending": len(self._buffer),
                "segments": [{"id": s, "shift": round(float(shifts[s]), 6),
                              "moved": bool(shifts[s] > self.threshold)}
                             for s in range(len(shifts))]}


# ------------------------------------------------------------------ as-of dates
@dataclass
class AsOf:
    """The date customer features are computed at: ``today`` (the day after today, UTC),
    ``latest`` (the day after the latest stored event, as batch ``custseg features``
    does by default) or a fixed date."""

    mode: str
    date: dt.date | None = None

    @classmethod
    def parse(cls, text: str) -> AsOf:
        """``today``, ``latest`` or ``YYYY-MM-DD``; :class:`UsageError` otherwise."""
        t = (text or "today").strip().lower()
        if t in ("today", "latest"):
            return cls(t)
        try:
            return cls("fixed", dt.date.fromisoformat(t))
        except ValueError:
            raise UsageError(f"`as_of` must be today, latest or a date YYYY-MM-DD; got "
                             f"{text!r}", "as_of") from None

    def for_latest(self, latest: dt.date) -> dt.date:
        """The as-of date when the latest event is on ``latest``."""
        if self.mode == "latest":
            return latest + dt.timedelta(days=1)
        if self.mode == "fixed":
            assert self.date is not None
            return self.date
        return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)

    def current(self, store: Store) -> dt.date | None:
        """The as-of date now, for the events of ``store`` (None: ``latest`` and none)."""
        if self.mode == "latest":
            latest = store.latest_event_day()
            return None if latest is None else latest + dt.timedelta(days=1)
        return self.for_latest(dt.date.min)

    def limit(self) -> tuple[dt.date, str] | None:
        """The first day an event may not have, and why (``today`` and fixed dates)."""
        if self.mode == "fixed":
            assert self.date is not None
            return self.date, f"on or after the service's as-of date {self.date}"
        if self.mode == "today":
            return last_due_day() + dt.timedelta(days=1), \
                f"more than {FUTURE_TOLERANCE.days} day(s) in the future"
        return None

    def set_aside(self, day: dt.date) -> str | None:
        """Why an event of ``day`` is set aside (``latest``: one dated in the future would
        move everyone's recency), or None."""
        due = last_due_day()
        if self.mode != "latest" or day <= due:
            return None
        return (f"dated {day}, after {due} (today, UTC, plus {FUTURE_TOLERANCE.days} day(s)): "
                "not applied; send it again when it is due")


def last_due_day() -> dt.date:
    """The latest day an event may have: today (UTC) plus :data:`FUTURE_TOLERANCE`."""
    return (dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE).date()


# ------------------------------------------------------------------ recent customers
class RecentCustomers:
    """The last ``size`` customers scored (their feature dicts), in memory.

    >>> recent = RecentCustomers(2)
    >>> recent.add([{"x": 1.0}, {"x": None}, {"x": 3.0}])
    >>> recent.values(["x"], numeric=["x"])
    {'x': [nan, 3.0]}
    """

    def __init__(self, size: int = RECENT_WINDOW) -> None:
        self._rows: collections.deque[dict[str, Any]] = collections.deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        self._rows.extend(rows)

    def values(self, features: Sequence[str], numeric: Sequence[str]
               ) -> dict[str, list[Any]]:
        """``{feature: values}`` of the customers kept (missing numbers: NaN)."""
        snapshot = list(self._rows)
        numbers = set(numeric)
        return {f: [math.nan if f in numbers and r.get(f) is None else r.get(f)
                    for r in snapshot] for f in features}
