"""custseg in a notebook: one call to segment, rich display, charts, reports, explanations.

* :func:`segment` -- segment a file, a pandas or Polars DataFrame or an Arrow table in one
  call; returns a :class:`Segmentation` that displays itself as a card in Jupyter, VS Code
  and other notebook front ends;
* :class:`Segmentation` -- ``to_frame()`` (every customer with its segment), ``plot(kind)``
  (Plotly figures: the report's own charts), ``report(path)`` (the HTML report),
  ``explain(customer_id)`` (why a customer is in its segment: :mod:`custseg.explanation`);
* the display functions behind the ``_repr_html_`` and ``__repr__`` of the fitted
  :class:`~custseg.Segmenter`, of :class:`~custseg.selection.KSelection`, of a segment
  (:class:`~custseg.profiling.SegmentProfile`) and of a method comparison
  (:class:`~custseg.comparison.Comparison`): :func:`segmenter_html`, :func:`segmenter_text`,
  :func:`k_selection_html`, :func:`segment_html`, :func:`comparison_html`... (defined in
  :mod:`custseg.display`, low in the layers, and re-exported here).

Rendering only: every number comes from a fitted estimator or a result; nothing is fitted
here but by :func:`segment`.  The HTML is self-contained (inline CSS and SVG, no script, no
request), escapes every text that comes from the data, and reads in light and dark themes
(colours inherit the page's text colour; backgrounds stay transparent).

Examples
--------
>>> import custseg
>>> result = custseg.segment(custseg.demo_data_path(),
...                          features=["Annual Income (k$)", "Spending Score (1-100)"])
>>> result.k, [s.size for s in result.segments]
(5, [81, 39, 35, 23, 22])
>>> print(repr(result).splitlines()[0])
5 segments of 200 customers · K-Means · k chosen by consensus, confidence high (0.70)
>>> result.to_frame()["segment_name"].iloc[0]
'Low income · Low spending'
>>> print(result.explain("0001").text.splitlines()[0])
Customer 0001 is in segment 3 · Low income · Low spending (23 customers, 11.5%).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The cards of the library's objects live in custseg.display (low in the layers, so that the
# objects display themselves without importing this face); they are re-exported here.
from custseg.display import (
    comparison_html,
    comparison_text,
    k_selection_html,
    k_selection_text,
    segment_html,
    segment_text,
    segmenter_html,
    segmenter_mimebundle,
    segmenter_text,
)
from custseg.explanation import (
    Explanation,
    Population,
    explain_row,
    find_row,
    population_stats,
)

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from custseg.io import TableInfo
    from custseg.pipeline import SegmentationResult
    from custseg.profiling import SegmentProfile
    from custseg.segmenter import Segmenter
    from custseg.selection import KSelection

__all__ = [
    "PLOT_KINDS",
    "Explanation",
    "Segment",
    "Segmentation",
    "comparison_html",
    "comparison_text",
    "k_selection_html",
    "k_selection_text",
    "segment",
    "segment_html",
    "segment_text",
    "segmenter_html",
    "segmenter_mimebundle",
    "segmenter_text",
]

#: Chart kinds of :meth:`Segmentation.plot`.
PLOT_KINDS = ("elbow", "scores", "segments", "sizes", "profiles", "silhouette")


# ----------------------------------------------------------------------------- inputs
def _to_pandas(data: Any) -> pd.DataFrame:
    """A pandas DataFrame from pandas, Polars (eager or lazy), Arrow (table, record batch,
    or anything with ``__arrow_c_stream__``) or a 2-D array."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    module = type(data).__module__.split(".")[0]
    if module == "polars":
        if type(data).__name__ == "LazyFrame":
            data = data.collect()
        return data.to_pandas()
    if module == "pyarrow":
        import pyarrow as pa

        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        return data.to_pandas()
    if hasattr(data, "__arrow_c_stream__"):
        import pyarrow as pa

        return pa.table(data).to_pandas()
    if hasattr(data, "to_pandas"):
        return data.to_pandas()
    import numpy as np

    array = np.asarray(data)
    if array.ndim != 2:
        from custseg.errors import UsageError

        raise UsageError("segment() takes a file path, a pandas or Polars DataFrame, an Arrow "
                         f"table or a 2-D array; got {type(data).__name__}", "data")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _frame_info(frame: pd.DataFrame, kind: str) -> TableInfo:
    """What the summary says of an in-memory table: its kind, shape and a checksum of its
    values (SHA-256 of pandas' row hashes and the column names)."""
    import pandas as pd

    from custseg.io import TableInfo

    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode("utf-8", "surrogatepass"))
    try:
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists...): hash their text
        digest.update(frame.astype(str).to_csv(index=False).encode("utf-8", "replace"))
    return TableInfo(path=f"<{kind}>", format=kind, n_rows=len(frame),
                     n_columns=frame.shape[1], sha256=digest.hexdigest())


def _kind(data: Any) -> str:
    module = type(data).__module__.split(".")[0]
    return {"pandas": "pandas DataFrame", "polars": "Polars DataFrame",
            "pyarrow": "Arrow table"}.get(module, type(data).__name__)


# ----------------------------------------------------------------------------- segment()
def _is_log(data: Any, delimiter: str | None, encoding: str | None) -> bool:
    """Whether a path or a table is a transaction log (:mod:`custseg.features.detect`)."""
    from custseg.features import detect

    if isinstance(data, str | os.PathLike):
        return detect.detect_transaction_log(data, delimiter=delimiter,
                                             encoding=encoding) is not None
    return detect.transaction_log_shape(data.head(detect.SAMPLE_ROWS)) is not None


def segment(
    data: Any,
    *,
    features: Sequence[str] | None = None,
    k: str | int | Sequence[int] = "auto",
    random_state: Any = 0,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    transactions: bool | None = None,
    **options: Any,
) -> Segmentation:
    """Segment customers in one call: read, clean, choose k, cluster, name and recommend.

    Parameters
    ----------
    data : path, pandas DataFrame, Polars DataFrame or LazyFrame, or Arrow table
        The customers, one per row.  A path is read as ``custseg segment`` reads it (CSV,
        TSV, Parquet, Excel, JSON Lines; ``delimiter``, ``encoding`` and ``sheet`` apply);
        Polars and Arrow tables are converted to pandas (Polars is not needed otherwise).
    features : list of str, optional
        Columns to segment on; every usable numeric column by default.
    k : "auto", int or sequence of int, default="auto"
        Number of segments (see :class:`~custseg.Segmenter`).
    random_state : int or None, default=0
        Seed: the same data and seed give the same segments (as the CLI's ``--seed 0``).
    transactions : bool, optional
        Whether ``data`` is a transaction log, several rows a customer: its customers'
        features (recency, frequency, monetary...) are computed first and the customers
        segmented on them, as ``custseg segment`` does
        (:func:`custseg.pipeline.segment_transactions`).  By default, decided from the data
        (:mod:`custseg.features.detect`).
    **options
        Any other :class:`~custseg.Segmenter` parameter (``exclude``, ``scaling``,
        ``algorithm``...).

    Returns
    -------
    Segmentation
        The fitted segmenter and everything to show, plot, report and explain.  Its labels
        are those of ``Segmenter(features=..., k=..., random_state=..., **options).fit(df)``
        on the same table.
    """
    from custseg.segmenter import Segmenter

    params = {"features": list(features) if features is not None else None, "k": k,
              "random_state": random_state, **options}
    is_path = isinstance(data, str | os.PathLike)
    source = Path(data).name if is_path else f"a {_kind(data)}"
    data = data if is_path else _to_pandas(data)
    if _is_log(data, delimiter, encoding) if transactions is None else transactions:
        return _log_segmentation(data, source, delimiter, encoding, params)
    if is_path:
        from custseg.io import read_table

        table, info = read_table(data, delimiter=delimiter, encoding=encoding, sheet=sheet)
    else:
        table, info = data, _frame_info(data, source[2:])
    return Segmentation(Segmenter(**params).fit(table), table, info, source=source)


def _log_segmentation(data: Any, source: str, delimiter: str | None, encoding: str | None,
                      params: dict[str, Any]) -> Segmentation:
    """The segments of a transaction log's customers
    (:func:`custseg.pipeline.segment_transactions`)."""
    from custseg.pipeline import segment_transactions

    found = segment_transactions(data, delimiter=delimiter, encoding=encoding, **params)
    return Segmentation(found.segmenter, found.table, found.info,
                        source=f"the customers of {source}, a transaction log")


@dataclass
class Segment:
    """One segment of a :class:`Segmentation`: a :class:`~custseg.profiling.SegmentProfile`
    (every attribute of it: ``name``, ``size``, ``share``, ``mean``, ``traits``,
    ``recommendation``...) that displays itself."""

    profile: SegmentProfile

    def __getattr__(self, name: str) -> Any:
        if name == "profile":  # not yet set (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.profile, name)

    def __repr__(self) -> str:
        return segment_text(self.profile)

    def _repr_html_(self) -> str:
        return segment_html(self.profile)


class Segmentation:
    """The result of :func:`segment`: a fitted :class:`~custseg.Segmenter` and its table.

    Attributes
    ----------
    segmenter : Segmenter
        The fitted estimator (``predict``, ``assign``, bundles...).
    table : DataFrame
        The customers segmented, as read (not copied: do not modify it).
    info : TableInfo
        Where the table came from (path or kind of object, shape, checksum).
    k, labels, segments, k_selection, profiles
        Number of segments, segment of every row (0 = largest), the segments (display
        themselves), the choice of k, and the profiles table.

    The pipeline's :class:`~custseg.pipeline.SegmentationResult` (``summary.json``'s
    dictionary and the report's numbers) is built on first use by :meth:`plot`,
    :meth:`report` and :attr:`summary`, so the first result comes fast.
    """

    def __init__(self, segmenter: Segmenter, table: pd.DataFrame, info: TableInfo, *,
                 source: str = "") -> None:
        self.segmenter = segmenter
        self.table = table
        self.info = info
        self.source = source
        self._result: SegmentationResult | None = None
        self._population: Population | None = None

    # ------------------------------------------------------------ the numbers
    @property
    def k(self) -> int:
        return int(self.segmenter.k_)

    @property
    def labels(self) -> Any:
        return self.segmenter.labels_

    @property
    def segments(self) -> list[Segment]:
        return [Segment(p) for p in self.segmenter.segments_]

    @property
    def k_selection(self) -> KSelection:
        return self.segmenter.k_selection_

    @property
    def profiles(self) -> pd.DataFrame:
        return self.segmenter.profiles_

    @property
    def result(self) -> SegmentationResult:
        """The pipeline's result (what ``custseg segment`` writes), built once."""
        if self._result is None:
            from custseg.pipeline import (
                SegmentationResult,
                build_summary,
                projection_frame,
                segments_frame,
                with_derived,
            )

            seg = self.segmenter
            table = with_derived(self.table, seg)
            summary = build_summary({"segmenter": seg, "info": self.info, "timings": {},
                                     "seed": seg.random_state,
                                     "command": "custseg.segment()"})
            self._result = SegmentationResult(
                table, self.info, seg, segments_frame(table, seg), summary,
                projection_frame(seg, table), "custseg.segment()", {})
        return self._result

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``'s dictionary (docs/summary-schema.md)."""
        return self.result.summary

    def to_frame(self) -> pd.DataFrame:
        """Every input row with ``segment`` (-1: not segmented), ``segment_name`` and
        ``distance`` (and ``probability`` for gmm and hdbscan), indexed like the input."""
        import numpy as np

        from custseg.algorithms import registry
        from custseg.pipeline import NOISE_NAME, UNASSIGNED_NAME

        seg = self.segmenter
        out = self.table.copy()
        names = np.array([s.name for s in seg.segments_] + [UNASSIGNED_NAME], dtype=object)
        labels = np.asarray(seg.labels_)
        out["segment"] = labels
        out["segment_name"] = names[labels]
        noise = (labels == -1) & seg.fit_mask_
        out.loc[noise, "segment_name"] = NOISE_NAME
        out["distance"] = seg.distances_
        if registry.capabilities(seg.algorithm).gives_probabilities:
            out["probability"] = seg.probabilities_
        return out

    # ------------------------------------------------------------ charts and report
    def _views(self) -> Any:
        result = self.result
        if result.views is None:
            from custseg.explore import segment_views

            seed = result.summary.get("seed")
            result.views = segment_views(self.segmenter, result.table, result.projection,
                                         random_state=seed if isinstance(seed, int) else 0)
        return result.views

    def plot(self, kind: str = "segments") -> go.Figure:
        """A chart of the report as a Plotly figure (shows itself in a notebook).

        ``kind``: ``"elbow"`` (inertia by k, the knee and the chosen k), ``"scores"``
        (silhouette, Calinski-Harabasz, Davies-Bouldin by k), ``"segments"`` (customers
        coloured by segment), ``"sizes"``, ``"profiles"`` (z-score heatmap of the segments'
        means) or ``"silhouette"``.
        """
        from custseg.errors import UsageError
        from custseg.report import figures

        summary = self.summary
        if kind == "elbow":
            fig = figures.elbow(summary)
        elif kind == "scores":
            fig = figures.k_scores(summary)
        elif kind == "segments":
            fig = figures.segment_scatter(summary, self._views())
        elif kind == "sizes":
            fig = figures.sizes(summary)
        elif kind == "profiles":
            fig = figures.snake(summary)
        elif kind == "silhouette":
            fig = figures.silhouette(summary, self._views())
        else:
            raise UsageError(f"plot kind must be one of {list(PLOT_KINDS)}, got {kind!r}",
                             "kind")
        if fig is None:
            raise UsageError(f"no {kind} chart for this segmentation: "
                             + ("k was not chosen among several values"
                                if kind in ("elbow", "scores") else
                                "the segments do not differ on any feature"), "kind")
        return fig

    def report(self, path: str | os.PathLike[str] | None = None) -> Path | str:
        """The HTML report (as ``custseg segment`` writes it: self-contained, offline).
        Written to ``path`` (returned); without a path, returned as a string."""
        from custseg.report import render_report

        self._views()
        text = render_report(self.result)
        if path is None:
            return text
        out = Path(path)
        out.write_text(text, "utf-8")
        return out

    # ------------------------------------------------------------ explain
    def _population_stats(self) -> Population:
        """On the fitted scale: everyone's mean and standard deviation, and each segment's
        mean (:func:`custseg.explanation.population_stats`, computed once)."""
        if self._population is None:
            self._population = population_stats(self.segmenter, self.table)
        return self._population

    def explain(self, customer_id: Any) -> Explanation:
        """Why a customer is in its segment: its values against its segment's and
        everyone's, the segment's traits it shares, how close it sits to the segment's
        centre and which segment comes next (:class:`~custseg.explanation.Explanation`).

        ``customer_id`` is a value of the id column (compared as text too: ``"0001"``), or
        the table's index label when there is no id column.
        """
        pos = find_row(self.segmenter, self.table, customer_id)
        return explain_row(self.segmenter, self.table, customer_id, pos,
                           self._population_stats())

    # ------------------------------------------------------------ display
    def __repr__(self) -> str:
        text = segmenter_text(self.segmenter)
        return text + (f"\nfrom {self.source}" if self.source else "")

    def _repr_html_(self) -> str:
        caption = f"From {self.source}. " if self.source else ""
        caption += ("Next: .plot('elbow' | 'segments' | 'profiles' | 'sizes'), "
                    ".to_frame(), .explain(id), .report('out.html'). ")
        return segmenter_html(self.segmenter, caption=caption)
