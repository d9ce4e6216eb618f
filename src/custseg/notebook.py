"""custseg in a notebook: one call to segment, rich display, charts, reports, explanations.

* :func:`segment` -- segment a file, a pandas or Polars DataFrame or an Arrow table in one
  call; returns a :class:`Segmentation` that displays itself as a card in Jupyter, VS Code
  and other notebook front ends;
* :class:`Segmentation` -- ``to_frame()`` (every customer with its segment), ``plot(kind)``
  (Plotly figures: the report's own charts), ``report(path)`` (the HTML report),
  ``explain(customer_id)`` (why a customer is in its segment);
* the display functions behind the ``_repr_html_`` and ``__repr__`` of the fitted
  :class:`~custseg.Segmenter`, of :class:`~custseg.selection.KSelection`, of a segment
  (:class:`~custseg.profiling.SegmentProfile`) and of a method comparison
  (:class:`~custseg.comparison.Comparison`): :func:`segmenter_html`, :func:`segmenter_text`,
  :func:`k_selection_html`, :func:`segment_html`, :func:`comparison_html`...

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
import html
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from custseg.comparison import Comparison
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
#: Traits shown per segment on the card.
CARD_TRAITS = 3
#: Segments listed on the card (the others are counted).
CARD_SEGMENTS = 20
UP, DOWN = "▲", "▼"
ALGORITHM_NAMES = {"kmeans": "K-Means", "gmm": "Gaussian mixture",
                   "hierarchical": "hierarchical (Ward)", "kprototypes": "k-prototypes",
                   "hdbscan": "HDBSCAN", "deep": "deep embedding + K-Means"}
CONFIDENCE_COLOURS = {"high": "#2b8a3e", "medium": "#b35c00", "low": "#c92a2a",
                      "fixed": "#5f6b7a"}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

# Every selector is scoped to the card (a notebook page holds many outputs).  Text and lines
# use the page's own colour (currentColor, inherit) and backgrounds stay transparent, so the
# card reads on a light and a dark theme alike; the segment colours are mid-tone.
CSS = """
.custseg-card{color:inherit;background:transparent;font-family:__FONT__;font-size:13px;
 line-height:1.4;border:1px solid rgba(128,128,128,.45);border-radius:6px;padding:10px 12px;
 margin:4px 0;max-width:1100px;box-sizing:border-box;overflow-x:auto}
.custseg-card *{box-sizing:border-box}
.custseg-card .cs-head{display:flex;flex-wrap:wrap;align-items:center;gap:6px 14px}
.custseg-card .cs-title{font-size:15px;font-weight:600}
.custseg-card .cs-muted{opacity:.72}
.custseg-card .cs-badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;
 font-size:12px;font-weight:600;white-space:nowrap}
.custseg-card .cs-why{margin:6px 0 8px;opacity:.85;max-width:95ch}
.custseg-card table.cs-table{border-collapse:collapse;width:100%;color:inherit;
 background:transparent;font-size:12.5px}
.custseg-card .cs-table th,.custseg-card .cs-table td{text-align:left;vertical-align:top;
 padding:4px 8px;border:0;border-bottom:1px solid rgba(128,128,128,.28);background:transparent;
 color:inherit}
.custseg-card .cs-table th{font-weight:600;opacity:.8;white-space:nowrap}
.custseg-card .cs-table tr:nth-child(even) td{background:rgba(128,128,128,.07)}
.custseg-card .cs-table td.cs-num{text-align:right;font-variant-numeric:tabular-nums;
 white-space:nowrap}
.custseg-card .cs-dot{display:inline-block;width:10px;height:10px;border-radius:50%;
 margin-right:5px;vertical-align:-1px}
.custseg-card .cs-name{font-weight:600;min-width:16ch}
.custseg-card .cs-traits{white-space:nowrap}
.custseg-card .cs-traits span{display:block}
.custseg-card .cs-rec{min-width:22ch;max-width:60ch}
.custseg-card svg{vertical-align:middle;overflow:visible}
.custseg-card .cs-foot{margin-top:6px;font-size:11.5px;opacity:.65}
.custseg-card code{font-size:11.5px}
""".replace("__FONT__", FONT)


# ----------------------------------------------------------------------------- helpers
def _e(value: Any) -> str:
    """Text as HTML, quotes escaped (safe in text and in attributes)."""
    return html.escape(str(value), quote=True)


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _colour(segment: int) -> str:
    from custseg.report.figures import segment_colour  # numpy only: no plotly import

    return segment_colour(int(segment))


def _number(x: Any) -> str:
    if not _finite(x):
        return "–"
    x = float(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def _first_sentence(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    end = text.find(". ")
    short = text[: end + 1] if 0 < end < limit else text
    return short if len(short) <= limit else short[: limit - 1].rstrip() + "…"


def _card(body: str) -> str:
    return f'<div class="custseg-card"><style>{CSS}</style>{body}</div>'


def _badge(label: str, confidence: float | None) -> str:
    colour = CONFIDENCE_COLOURS.get(label, CONFIDENCE_COLOURS["fixed"])
    text = "k fixed" if label == "fixed" else f"confidence {label}"
    if label != "fixed" and _finite(confidence):
        text += f" · {confidence:.2f}"
    return f'<span class="cs-badge" style="background:{colour}">{_e(text)}</span>'


def _share_bar(share: float, colour: str, width: int = 72) -> str:
    w = max(0.0, min(1.0, float(share))) * width
    return (f'<svg width="{width}" height="10" role="img" aria-label="{share:.1%}">'
            f'<rect width="{width}" height="10" rx="2" fill="currentColor" opacity=".13"/>'
            f'<rect width="{w:.1f}" height="10" rx="2" fill="{colour}"/></svg>')


def is_fitted(seg: Any) -> bool:
    """Whether a segmenter holds a fit that can be displayed (``segments_`` and ``k_``)."""
    return hasattr(seg, "segments_") and hasattr(seg, "k_")


# ----------------------------------------------------------------------------- traits
def _traits(profile: SegmentProfile, n: int = CARD_TRAITS) -> list[dict[str, Any]]:
    """The segment's most distinguishing features: label, arrow, z, ratio."""
    from custseg.labels import label_for

    out = []
    given = list(getattr(profile, "traits", None) or [])
    if given:
        for t in given:
            z = t.get("z")
            if not _finite(z):
                continue
            ratio = t.get("ratio")
            ratio = float(ratio) if _finite(ratio) and ratio > 0 and (
                (ratio > 1) == (z > 0)) else None
            out.append({"feature": str(t.get("feature", "")),
                        "label": str(t.get("label") or t.get("feature", "")),
                        "z": float(z), "ratio": ratio, "text": str(t.get("text") or "")})
    else:
        for f in profile.distinguishing:
            z = profile.z.get(f)
            if _finite(z) and abs(z) >= 0.5:
                out.append({"feature": f, "label": label_for(f, profile.labels), "z": float(z),
                            "ratio": None, "text": ""})
    return out[:n]


def _trait_short(t: Mapping[str, Any]) -> str:
    """'▲ income 1.5×' or '▼ web visits −0.8 sd'."""
    arrow = UP if t["z"] > 0 else DOWN
    ratio = t.get("ratio")
    size = (f"{ratio:.1f}×" if _finite(ratio) and abs(ratio - 1) >= 0.05
            else f"{t['z']:+.1f} sd".replace("-", "−"))
    return f"{arrow} {t['label']} {size}"


def _traits_html(profile: SegmentProfile) -> str:
    traits = _traits(profile)
    if not traits:
        return '<span class="cs-muted">close to the average customer</span>'
    return "".join(f'<span title="{_e(t["text"])}">{_e(_trait_short(t))}</span>'
                   for t in traits)


# ----------------------------------------------------------------------------- k chart
def _k_sparkline(selection: KSelection, width: int = 150, height: int = 34) -> str:
    """Silhouette by k as a small SVG line, the chosen k marked (empty with one k)."""
    points = [(s.k, s.silhouette) for s in selection.scores if _finite(s.silhouette)]
    if len(points) < 2:
        return ""
    ks = [k for k, _ in points]
    vals = [v for _, v in points]
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    pad = 4

    def xy(k: int, v: float) -> tuple[float, float]:
        x = pad + (k - ks[0]) / max(ks[-1] - ks[0], 1) * (width - 2 * pad)
        y = height - pad - (v - lo) / span * (height - 2 * pad)
        return x, y

    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(k, v) for k, v in points))
    marks = ""
    chosen = selection.chosen_k
    if chosen in ks:
        x, y = xy(chosen, vals[ks.index(chosen)])
        marks = (f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height}" stroke="currentColor" '
                 f'stroke-dasharray="2,2" opacity=".5"/>'
                 f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#2b8a3e"/>')
    label = (f"silhouette by k from {ks[0]} to {ks[-1]}; chosen k = {chosen}")
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="{_e(label)}">'
            f'<title>{_e(label)}</title>'
            f'<polyline points="{path}" fill="none" stroke="currentColor" stroke-width="1.5" '
            f'opacity=".8"/>{marks}</svg>'
            f'<span class="cs-muted" style="font-size:11px">silhouette by k '
            f'({ks[0]}–{ks[-1]})</span>')


# ----------------------------------------------------------------------------- Segmenter
def _n_customers(seg: Segmenter) -> int:
    mask = getattr(seg, "fit_mask_", None)
    if mask is not None:
        return int(mask.sum())
    return int(sum(s.size for s in seg.segments_))


def _headline(seg: Segmenter) -> str:
    sel = seg.k_selection_
    algorithm = ALGORITHM_NAMES.get(seg.algorithm, seg.algorithm)
    how = {"fixed": "k fixed", "consensus": "k chosen by consensus",
           "density": "k found by density", "only-possible": "the only k possible"
           }.get(sel.method, f"k chosen by {sel.method}")
    conf = ""
    if sel.confidence_label != "fixed" and sel.method not in ("fixed", "density"):
        conf = f", confidence {sel.confidence_label} ({sel.confidence:.2f})"
    return (f"{seg.k_} segments of {_n_customers(seg):,} customers · {algorithm} · "
            f"{how}{conf}")


def _unassigned(seg: Segmenter) -> int:
    labels = getattr(seg, "labels_", None)
    mask = getattr(seg, "fit_mask_", None)
    if labels is None or mask is None:
        return 0
    return int((labels[mask] == -1).sum())


def segmenter_html(seg: Segmenter, *, caption: str = "") -> str:
    """The card of a fitted segmenter: k and how sure the choice is, one row a segment
    (name, size, share, what sets it apart, the recommendation), a small chart of the
    silhouette by k.  Self-contained HTML; every text from the data escaped."""
    sel = seg.k_selection_
    features = list(seg.features_)
    on = ", ".join(features[:4]) + (f" and {len(features) - 4} more" if len(features) > 4
                                     else "")
    algorithm = ALGORITHM_NAMES.get(seg.algorithm, seg.algorithm)
    head = (f'<div class="cs-head"><span class="cs-title">{seg.k_} segments</span>'
            f'<span class="cs-muted">of {_n_customers(seg):,} customers · {_e(algorithm)} on '
            f'{len(features)} feature{"s" if len(features) != 1 else ""}</span>'
            f'{_badge(sel.confidence_label if sel.method != "fixed" else "fixed", sel.confidence)}'
            f'<span>{_k_sparkline(sel)}</span></div>')
    why = f'<div class="cs-why">{_e(sel.explanation)}</div>' if sel.explanation else ""
    rows = []
    for s in seg.segments_[:CARD_SEGMENTS]:
        colour = _colour(s.id)
        rec = s.recommendation or ""
        flag = (' <span class="cs-muted">(outlier group: review)</span>'
                if getattr(s, "outlier_group", False) else "")
        rows.append(
            f'<tr><td class="cs-num"><span class="cs-dot" style="background:{colour}"></span>'
            f'{int(s.id)}</td><td class="cs-name">{_e(s.name)}{flag}</td>'
            f'<td class="cs-num">{int(s.size):,}</td>'
            f'<td class="cs-num">{_share_bar(s.share, colour)} {float(s.share):.1%}</td>'
            f'<td class="cs-traits">{_traits_html(s)}</td>'
            f'<td class="cs-rec" title="{_e(rec)}">{_e(_first_sentence(rec))}</td></tr>')
    more = len(seg.segments_) - CARD_SEGMENTS
    if more > 0:
        rows.append(f'<tr><td></td><td colspan="5" class="cs-muted">… and {more} more '
                    "segments (<code>segments_</code>)</td></tr>")
    left = _unassigned(seg)
    if left:
        rows.append(f'<tr><td></td><td colspan="5" class="cs-muted">{left:,} customers in no '
                    "segment (unassigned)</td></tr>")
    table = ('<table class="cs-table"><thead><tr><th>#</th><th>segment</th><th>size</th>'
             '<th>share</th><th>sets it apart</th><th>recommendation</th></tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    foot = (f'<div class="cs-foot">Segmented on {_e(on)}. {_e(caption)}'
            "Hover a trait or a recommendation for the full text.</div>")
    return _card(head + why + table + foot)


def segmenter_text(seg: Segmenter, head: str = "") -> str:
    """Plain text of a fitted segmenter: ``head`` (the estimator's own repr) then the
    headline and one line a segment."""
    lines = [head] if head else []
    lines.append(_headline(seg))
    width = max((len(s.name) for s in seg.segments_[:CARD_SEGMENTS]), default=0)
    for s in seg.segments_[:CARD_SEGMENTS]:
        apart = ", ".join(_trait_short(t) for t in _traits(s))
        lines.append(f"  {s.id:>2}  {s.name:<{width}}  {s.size:>7,}  {s.share:>6.1%}"
                     + (f"  {apart}" if apart else ""))
    more = len(seg.segments_) - CARD_SEGMENTS
    if more > 0:
        lines.append(f"  ... and {more} more segments")
    return "\n".join(lines)


def segmenter_mimebundle(seg: Segmenter, fallback: dict[str, Any]) -> dict[str, Any]:
    """What a notebook shows for a segmenter: the card once fitted, scikit-learn's bundle
    (``fallback``: its text and estimator diagram) before."""
    if not is_fitted(seg):
        return fallback
    return {"text/plain": repr(seg), "text/html": segmenter_html(seg)}


# ----------------------------------------------------------------------------- KSelection
def k_selection_text(sel: KSelection) -> str:
    """One line for the choice, one for its reason."""
    conf = ("" if sel.method == "fixed" else
            f", confidence {sel.confidence_label} ({sel.confidence:.2f})")
    ks = [s.k for s in sel.scores]
    tried = f", k tried {ks[0]}-{ks[-1]}" if len(ks) > 1 else ""
    votes = ", ".join(f"{name} {k}" for name, k in sel.votes.items() if k is not None)
    text = f"KSelection(k={sel.chosen_k}, method={sel.method!r}{conf}{tried})"
    if votes:
        text += f"\n  votes: {votes}"
    if sel.explanation:
        text += f"\n  {sel.explanation}"
    return text


def k_selection_html(sel: KSelection) -> str:
    """The choice of k: the chosen k, its confidence, the reason and every score by k."""
    head = (f'<div class="cs-head"><span class="cs-title">k = {int(sel.chosen_k)}</span>'
            f'{_badge(sel.confidence_label if sel.method != "fixed" else "fixed", sel.confidence)}'
            f'<span>{_k_sparkline(sel)}</span></div>')
    why = f'<div class="cs-why">{_e(sel.explanation)}</div>' if sel.explanation else ""
    voted: dict[int, list[str]] = {}
    for name, k in sel.votes.items():
        if k is not None:
            voted.setdefault(int(k), []).append(name.replace("_", "-"))
    rows = []
    for s in sel.scores:
        chosen = ' style="font-weight:600"' if s.k == sel.chosen_k else ""
        rows.append(f"<tr{chosen}><td class=\"cs-num\">{s.k}</td>"
                    f'<td class="cs-num">{_number(s.inertia)}</td>'
                    f'<td class="cs-num">{_dec(s.silhouette)}</td>'
                    f'<td class="cs-num">{_number(s.calinski_harabasz)}</td>'
                    f'<td class="cs-num">{_dec(s.davies_bouldin)}</td>'
                    f"<td>{_e(', '.join(voted.get(s.k, [])))}</td></tr>")
    table = ('<table class="cs-table"><thead><tr><th>k</th><th>inertia</th><th>silhouette '
             '↑</th><th>Calinski-Harabasz ↑</th><th>Davies-Bouldin ↓</th><th>votes</th></tr>'
             f'</thead><tbody>{"".join(rows)}</tbody></table>')
    return _card(head + why + table)


def _dec(x: Any) -> str:
    return f"{float(x):.2f}" if _finite(x) else "–"


# ----------------------------------------------------------------------------- a segment
def segment_text(profile: SegmentProfile) -> str:
    """A segment in a few lines: name, size, traits, recommendation."""
    lines = [f"Segment {profile.id} · {profile.name}: {profile.size:,} customers "
             f"({profile.share:.1%})"]
    lines += [f"  {_trait_short(t)}" + (f"  ({t['text']})" if t["text"] else "")
              for t in _traits(profile, n=6)]
    if profile.recommendation:
        lines.append(f"  Recommendation: {profile.recommendation}")
    return "\n".join(lines)


def segment_html(profile: SegmentProfile) -> str:
    """A segment's card: name, size and share, every trait with its evidence, the
    recommendation."""
    colour = _colour(profile.id)
    head = (f'<div class="cs-head"><span class="cs-title"><span class="cs-dot" '
            f'style="background:{colour}"></span>{int(profile.id)} · {_e(profile.name)}</span>'
            f'<span>{int(profile.size):,} customers</span>'
            f'<span>{_share_bar(profile.share, colour)} {float(profile.share):.1%}</span></div>')
    rows = [f"<tr><td>{_e(_trait_short(t))}</td><td>{_e(t['text'])}</td></tr>"
            for t in _traits(profile, n=12)]
    table = ('<table class="cs-table"><thead><tr><th>sets it apart</th><th>evidence</th></tr>'
             f'</thead><tbody>{"".join(rows)}</tbody></table>' if rows else
             '<div class="cs-why">Close to the average customer on every feature.</div>')
    rec = (f'<div class="cs-why"><b>Recommendation.</b> {_e(profile.recommendation)}</div>'
           if profile.recommendation else "")
    return _card(head + table + rec)


# ----------------------------------------------------------------------------- comparison
def comparison_text(comparison: Comparison) -> str:
    """The ranking of methods, best first, and the recommendation."""
    lines = [f"Comparison: recommended {comparison.recommended}"]
    for r in comparison.results:
        lines.append(f"  {r.algorithm:<13} k={r.k:<3} score {r.score:.2f}  stability "
                     f"{r.stability:.2f}  silhouette {r.silhouette:.2f}  coverage "
                     f"{r.coverage:.0%}")
    lines += [f"  {reason}" for reason in comparison.reasons]
    return "\n".join(lines)


def comparison_html(comparison: Comparison) -> str:
    """The ranking of methods as a card: the recommendation, its reasons, one row a
    method with a bar of its score."""
    head = (f'<div class="cs-head"><span class="cs-title">Recommended: '
            f'{_e(ALGORITHM_NAMES.get(comparison.recommended, comparison.recommended))}'
            "</span></div>")
    why = "".join(f'<div class="cs-why">{_e(r)}</div>' for r in comparison.reasons)
    rows = []
    for i, r in enumerate(comparison.results):
        rows.append(
            f'<tr><td class="cs-name">{_e(ALGORITHM_NAMES.get(r.algorithm, r.algorithm))}</td>'
            f'<td class="cs-num">{r.k}</td>'
            f'<td class="cs-num">{_share_bar(max(r.score, 0.0), _colour(i))} {_dec(r.score)}</td>'
            f'<td class="cs-num">{_dec(r.stability)}</td>'
            f'<td class="cs-num">{_dec(r.silhouette)}</td>'
            f'<td class="cs-num">{float(r.coverage):.0%}</td>'
            f'<td>{_e(", ".join(r.unstable_segments)) or "–"}</td></tr>')
    skipped = "".join(f"<tr><td>{_e(m)}</td><td colspan=\"6\" class=\"cs-muted\">skipped: "
                      f"{_e(why_)}</td></tr>" for m, why_ in comparison.skipped.items())
    table = ('<table class="cs-table"><thead><tr><th>method</th><th>k</th><th>score</th>'
             '<th>stability</th><th>silhouette</th><th>coverage</th><th>unstable segments'
             f'</th></tr></thead><tbody>{"".join(rows)}{skipped}</tbody></table>')
    return _card(head + why + table)


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
def segment(
    data: Any,
    *,
    features: Sequence[str] | None = None,
    k: str | int | Sequence[int] = "auto",
    random_state: Any = 0,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
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

    if isinstance(data, str | os.PathLike):
        from custseg.io import read_table

        table, info = read_table(data, delimiter=delimiter, encoding=encoding, sheet=sheet)
        source = Path(data).name
    else:
        table = _to_pandas(data)
        info = _frame_info(table, _kind(data))
        source = f"a {_kind(data)}"
    params = {"features": list(features) if features is not None else None, "k": k,
              "random_state": random_state, **options}
    seg = Segmenter(**params).fit(table)
    return Segmentation(seg, table, info, source=source)


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


@dataclass
class Explanation:
    """Why a customer is in its segment.

    ``table`` has one row a numeric feature segmented on: the customer's value, the
    segment's and everyone's typical value (the mean on the scale the segments were formed
    on: log-transformed columns give a geometric mean) in the column's units, and the
    customer's and the segment's z-scores on that scale; ``matches`` the defining traits of
    the segment the customer shares.
    """

    customer: Any
    segment: int
    name: str
    distance: float
    typical_share: float | None
    runner_up: int | None
    runner_up_name: str | None
    runner_up_distance: float | None
    table: pd.DataFrame
    matches: list[str] = field(default_factory=list)
    text: str = ""

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        colour = _colour(self.segment) if self.segment >= 0 else "#b0b0b0"
        paragraphs = self.text.split("\n")
        head = (f'<div class="cs-head"><span class="cs-title"><span class="cs-dot" '
                f'style="background:{colour}"></span>{_e(paragraphs[0])}</span></div>')
        body = "".join(f'<div class="cs-why">{_e(p)}</div>' for p in paragraphs[1:] if p)
        rows = []
        for _, r in self.table.iterrows():
            z = r["customer z"]
            arrow = "" if not _finite(z) or abs(z) < 0.5 else (UP if z > 0 else DOWN)
            rows.append(f'<tr><td>{_e(r["feature"])}</td>'
                        f'<td class="cs-num">{_e(arrow)} {_number(r["customer"])}</td>'
                        f'<td class="cs-num">{_number(r["segment typical"])}</td>'
                        f'<td class="cs-num">{_number(r["everyone typical"])}</td></tr>')
        table = ('<table class="cs-table"><thead><tr><th>feature</th><th>this customer</th>'
                 '<th>segment</th><th>everyone</th></tr></thead>'
                 f'<tbody>{"".join(rows)}</tbody></table>') if rows else ""
        return _card(head + body + table)


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
        self._population: tuple[Any, Any, Any] | None = None

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

        from custseg.pipeline import NOISE_NAME, UNASSIGNED_NAME
        from custseg.segmenter import PROBABILISTIC

        seg = self.segmenter
        out = self.table.copy()
        names = np.array([s.name for s in seg.segments_] + [UNASSIGNED_NAME], dtype=object)
        labels = np.asarray(seg.labels_)
        out["segment"] = labels
        out["segment_name"] = names[labels]
        noise = (labels == -1) & seg.fit_mask_
        out.loc[noise, "segment_name"] = NOISE_NAME
        out["distance"] = seg.distances_
        if seg.algorithm in PROBABILISTIC:
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
    def _row(self, customer_id: Any) -> int:
        """Position of the customer in the table: by id when there is an id column, else
        by the table's index label."""
        import numpy as np

        from custseg.errors import UsageError

        id_col = self.segmenter.roles_.id_column
        if id_col is not None and id_col in self.table.columns:
            ids = self.table[id_col]
            hits = np.flatnonzero((ids == customer_id).to_numpy(dtype=bool, na_value=False))
            if not len(hits):  # "0001" for 1, or 1 for "0001"
                hits = np.flatnonzero(ids.astype(str).str.strip().to_numpy()
                                      == str(customer_id).strip())
            if not len(hits) and isinstance(customer_id, int | float | str):
                import pandas as pd

                number = pd.to_numeric(pd.Series([customer_id]), errors="coerce").iloc[0]
                if pd.notna(number):
                    numbers = pd.to_numeric(ids, errors="coerce").to_numpy(dtype=float)
                    hits = np.flatnonzero(numbers == float(number))
            where = f"in the id column {id_col!r}"
            examples = ids.head(3).tolist()
        else:
            index = self.table.index
            hits = np.flatnonzero(index == customer_id)
            where = "in the table's index (there is no id column)"
            examples = index[:3].tolist()
        if not len(hits):
            raise UsageError(f"customer {customer_id!r} not found {where}; ids look like "
                             f"{examples}", "customer_id")
        return int(hits[0])

    def _scale(self, values: pd.DataFrame) -> pd.DataFrame:
        """Numeric features on the scale the segments were formed on (log-transformed
        columns as log1p, signed ones as asinh), as profiling measures z-scores."""
        import numpy as np

        plan = self.segmenter.plan_
        out = values.astype(float).copy()
        for c in out.columns:
            if c in plan.log_columns:
                out[c] = np.log1p(out[c].clip(lower=0))
            elif c in getattr(plan, "signed_log_columns", []):
                out[c] = np.arcsinh(out[c])
        return out

    def _unscale(self, column: str, value: float) -> float:
        """A value of the fitted scale back in the column's units."""
        import numpy as np

        plan = self.segmenter.plan_
        if column in plan.log_columns:
            return float(np.expm1(value))
        if column in getattr(plan, "signed_log_columns", []):
            return float(np.sinh(value))
        return float(value)

    def _population_stats(self) -> tuple[Any, Any, Any]:
        """On the fitted scale: everyone's mean and standard deviation, and each segment's
        mean (a DataFrame indexed by segment)."""
        if self._population is None:
            seg = self.segmenter
            typed = seg._typed_features(self.table.loc[seg.fit_mask_])
            numeric = [c for c in seg.plan_.numeric if c in typed.columns]
            scaled = self._scale(typed[numeric])
            by_segment = scaled.groupby(seg.labels_[seg.fit_mask_]).mean()
            self._population = (scaled.mean(), scaled.std(ddof=0), by_segment)
        return self._population

    def explain(self, customer_id: Any) -> Explanation:
        """Why a customer is in its segment: its values against its segment's and
        everyone's, the segment's traits it shares, how close it sits to the segment's
        centre and which segment comes next.

        ``customer_id`` is a value of the id column (compared as text too: ``"0001"``), or
        the table's index label when there is no id column.
        """
        import numpy as np
        import pandas as pd

        seg = self.segmenter
        pos = self._row(customer_id)
        label = int(seg.labels_[pos])
        row = self.table.iloc[[pos]]
        numeric = list(seg.plan_.numeric)
        mean, std, by_segment = self._population_stats()
        if label < 0:
            text = (f"Customer {customer_id} is in no segment: "
                    + ("a density method found it in no dense group."
                       if seg.fit_mask_[pos] else "it was left out for missing values."))
            return Explanation(customer_id, -1, "", float("nan"), None, None, None, None,
                               pd.DataFrame(), [], text)
        profile = seg.segments_[label]
        typed = seg._typed_features(row[list(seg.feature_names_in_)])
        distances = np.asarray(seg.transform(row[list(seg.feature_names_in_)]))[0]
        order = np.argsort(distances, kind="stable")
        runner = next((int(i) for i in order if int(i) != label), None)
        dist = float(seg.distances_[pos])
        same = seg.distances_[seg.labels_ == label]
        typical = float((same > dist).mean()) if len(same) > 1 else None
        records = []
        scaled = self._scale(typed[[f for f in numeric if f in typed.columns]])
        for f in numeric:
            value = float(typed[f].iloc[0]) if f in typed.columns else float("nan")
            sd = float(std.get(f, float("nan")))
            mu = float(mean.get(f, float("nan")))
            cz = ((float(scaled[f].iloc[0]) - mu) / sd
                  if f in scaled.columns and math.isfinite(sd) and sd > 0 else float("nan"))
            seg_mean = (float(by_segment.loc[label, f]) if f in by_segment.columns
                        and label in by_segment.index else float("nan"))
            records.append({"feature": f, "customer": value,
                            "segment typical": self._unscale(f, seg_mean),
                            "everyone typical": self._unscale(f, mu),
                            "customer z": round(cz, 3), "segment z":
                            profile.z.get(f, float("nan"))})
        table = pd.DataFrame(records, columns=["feature", "customer", "segment typical",
                                               "everyone typical", "customer z",
                                               "segment z"])
        by_feature = {r["feature"]: r for r in records}
        matches, against = [], []
        for t in _traits(profile, n=6):
            r = by_feature.get(t["feature"])
            if r is None or not _finite(r["customer z"]):
                continue
            line = (f"{UP if t['z'] > 0 else DOWN} {t['label']}: {_number(r['customer'])} "
                    f"(segment {_number(r['segment typical'])}, everyone "
                    f"{_number(r['everyone typical'])})")
            (matches if (r["customer z"] > 0) == (t["z"] > 0) else against).append(line)
        lines = [f"Customer {customer_id} is in segment {label} · {profile.name} "
                 f"({profile.size:,} customers, {profile.share:.1%})."]
        if matches:
            lines.append("Like its segment: " + "; ".join(matches) + ".")
        if against:
            lines.append("Unlike its segment: " + "; ".join(against) + ".")
        if not matches and not against:
            lines.append("Its segment is close to the average customer; so is this customer.")
        closeness = ""
        if typical is not None:  # share of its segment farther out than this customer
            closeness = (f" (nearer than {typical:.0%} of its segment)" if typical >= 0.5
                         else f" (farther out than {1 - typical:.0%} of its segment)")
        lines.append(f"It sits {dist:.2f} from the segment's centre in scaled units"
                     f"{closeness}.")
        runner_name = runner_dist = None
        if runner is not None:
            runner_name = seg.segments_[runner].name
            runner_dist = float(distances[runner])
            lines.append(f"Next nearest: segment {runner} · {runner_name}, at "
                         f"{runner_dist:.2f}.")
        return Explanation(customer_id, label, profile.name, dist, typical, runner,
                           runner_name, runner_dist, table,
                           [m.split(":")[0] for m in matches], "\n".join(lines))

    # ------------------------------------------------------------ display
    def __repr__(self) -> str:
        text = segmenter_text(self.segmenter)
        return text + (f"\nfrom {self.source}" if self.source else "")

    def _repr_html_(self) -> str:
        caption = f"From {self.source}. " if self.source else ""
        caption += ("Next: .plot('elbow' | 'segments' | 'profiles' | 'sizes'), "
                    ".to_frame(), .explain(id), .report('out.html'). ")
        return segmenter_html(self.segmenter, caption=caption)
