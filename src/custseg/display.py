"""Rich display of library objects in notebooks: the cards behind ``_repr_html_`` and
``__repr__``.

The fitted :class:`~custseg.segmenter.Segmenter` (:func:`segmenter_html`,
:func:`segmenter_text`, :func:`segmenter_mimebundle`), :class:`~custseg.selection.KSelection`
(:func:`k_selection_html`, :func:`k_selection_text`), a segment
(:class:`~custseg.profiling.SegmentProfile`: :func:`segment_html`, :func:`segment_text`) and a
method comparison (:class:`~custseg.comparison.Comparison`: :func:`comparison_html`,
:func:`comparison_text`), and the segment colours the report shares (:func:`segment_colour`).

This module sits low in the layers (above :mod:`custseg.labels` only) so that the objects
above can display themselves without importing :mod:`custseg.notebook`, the notebook face: it
reads the objects it draws by their attributes and names their classes for type checking
only.  Rendering only: every number comes from a fitted estimator or a result.  The HTML is
self-contained (inline CSS and SVG, no script, no request), escapes every text that comes
from the data, and reads in light and dark themes (colours inherit the page's text colour;
backgrounds stay transparent).

>>> segment_colour(0), segment_colour(-1)
('#1f77b4', '#b0b0b0')
>>> escape('<b a="1">')
'&lt;b a=&quot;1&quot;&gt;'
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from custseg.labels import label_for

if TYPE_CHECKING:
    from custseg.comparison import Comparison
    from custseg.profiling import SegmentProfile
    from custseg.segmenter import Segmenter
    from custseg.selection import KSelection

__all__ = [
    "CSS",
    "DOWN",
    "PALETTE",
    "UNASSIGNED_COLOUR",
    "UP",
    "card",
    "comparison_html",
    "comparison_text",
    "escape",
    "finite",
    "format_number",
    "is_fitted",
    "k_selection_html",
    "k_selection_text",
    "segment_colour",
    "segment_html",
    "segment_text",
    "segment_traits",
    "segmenter_html",
    "segmenter_mimebundle",
    "segmenter_text",
]

#: The segment colours of the cards and of the report's charts (custseg.report.figures).
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#e7969c", "#637939", "#ad494a",
           "#8c6d31", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1"]
UNASSIGNED_COLOUR = "#b0b0b0"


def segment_colour(segment: int) -> str:
    """The colour of a segment (grey for unassigned customers, -1)."""
    return UNASSIGNED_COLOUR if segment < 0 else PALETTE[segment % len(PALETTE)]


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
def escape(value: Any) -> str:
    """Text as HTML, quotes escaped (safe in text and in attributes)."""
    return html.escape(str(value), quote=True)


def finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _colour(segment: int) -> str:
    return segment_colour(int(segment))


def format_number(x: Any) -> str:
    if not finite(x):
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


def card(body: str) -> str:
    return f'<div class="custseg-card"><style>{CSS}</style>{body}</div>'


def _badge(label: str, confidence: float | None) -> str:
    colour = CONFIDENCE_COLOURS.get(label, CONFIDENCE_COLOURS["fixed"])
    text = "k fixed" if label == "fixed" else f"confidence {label}"
    if label != "fixed" and finite(confidence):
        text += f" · {confidence:.2f}"
    return f'<span class="cs-badge" style="background:{colour}">{escape(text)}</span>'


def _share_bar(share: float, colour: str, width: int = 72) -> str:
    w = max(0.0, min(1.0, float(share))) * width
    return (f'<svg width="{width}" height="10" role="img" aria-label="{share:.1%}">'
            f'<rect width="{width}" height="10" rx="2" fill="currentColor" opacity=".13"/>'
            f'<rect width="{w:.1f}" height="10" rx="2" fill="{colour}"/></svg>')


def is_fitted(seg: Any) -> bool:
    """Whether a segmenter holds a fit that can be displayed (``segments_`` and ``k_``)."""
    return hasattr(seg, "segments_") and hasattr(seg, "k_")


# ----------------------------------------------------------------------------- traits
def segment_traits(profile: SegmentProfile, n: int = CARD_TRAITS) -> list[dict[str, Any]]:
    """The segment's most distinguishing features: label, arrow, z, ratio."""
    out = []
    given = list(getattr(profile, "traits", None) or [])
    if given:
        for t in given:
            z = t.get("z")
            if not finite(z):
                continue
            ratio = t.get("ratio")
            ratio = float(ratio) if finite(ratio) and ratio > 0 and (
                (ratio > 1) == (z > 0)) else None
            out.append({"feature": str(t.get("feature", "")),
                        "label": str(t.get("label") or t.get("feature", "")),
                        "z": float(z), "ratio": ratio, "text": str(t.get("text") or "")})
    else:
        for f in profile.distinguishing:
            z = profile.z.get(f)
            if finite(z) and abs(z) >= 0.5:
                out.append({"feature": f, "label": label_for(f, profile.labels), "z": float(z),
                            "ratio": None, "text": ""})
    return out[:n]


def _trait_short(t: Mapping[str, Any]) -> str:
    """'▲ income 1.5×' or '▼ web visits −0.8 sd'."""
    arrow = UP if t["z"] > 0 else DOWN
    ratio = t.get("ratio")
    size = (f"{ratio:.1f}×" if finite(ratio) and abs(ratio - 1) >= 0.05
            else f"{t['z']:+.1f} sd".replace("-", "−"))
    return f"{arrow} {t['label']} {size}"


def _traits_html(profile: SegmentProfile) -> str:
    traits = segment_traits(profile)
    if not traits:
        return '<span class="cs-muted">close to the average customer</span>'
    return "".join(f'<span title="{escape(t["text"])}">{escape(_trait_short(t))}</span>'
                   for t in traits)


# ----------------------------------------------------------------------------- k chart
def _k_sparkline(selection: KSelection, width: int = 150, height: int = 34) -> str:
    """Silhouette by k as a small SVG line, the chosen k marked (empty with one k)."""
    points = [(s.k, s.silhouette) for s in selection.scores if finite(s.silhouette)]
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
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
            f'<title>{escape(label)}</title>'
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
            f'<span class="cs-muted">of {_n_customers(seg):,} customers · {escape(algorithm)} on '
            f'{len(features)} feature{"s" if len(features) != 1 else ""}</span>'
            f'{_badge(sel.confidence_label if sel.method != "fixed" else "fixed", sel.confidence)}'
            f'<span>{_k_sparkline(sel)}</span></div>')
    why = f'<div class="cs-why">{escape(sel.explanation)}</div>' if sel.explanation else ""
    rows = []
    for s in seg.segments_[:CARD_SEGMENTS]:
        colour = _colour(s.id)
        rec = s.recommendation or ""
        flag = (' <span class="cs-muted">(outlier group: review)</span>'
                if getattr(s, "outlier_group", False) else "")
        rows.append(
            f'<tr><td class="cs-num"><span class="cs-dot" style="background:{colour}"></span>'
            f'{int(s.id)}</td><td class="cs-name">{escape(s.name)}{flag}</td>'
            f'<td class="cs-num">{int(s.size):,}</td>'
            f'<td class="cs-num">{_share_bar(s.share, colour)} {float(s.share):.1%}</td>'
            f'<td class="cs-traits">{_traits_html(s)}</td>'
            f'<td class="cs-rec" title="{escape(rec)}">{escape(_first_sentence(rec))}</td></tr>')
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
    foot = (f'<div class="cs-foot">Segmented on {escape(on)}. {escape(caption)}'
            "Hover a trait or a recommendation for the full text.</div>")
    return card(head + why + table + foot)


def segmenter_text(seg: Segmenter, head: str = "") -> str:
    """Plain text of a fitted segmenter: ``head`` (the estimator's own repr) then the
    headline and one line a segment."""
    lines = [head] if head else []
    lines.append(_headline(seg))
    width = max((len(s.name) for s in seg.segments_[:CARD_SEGMENTS]), default=0)
    for s in seg.segments_[:CARD_SEGMENTS]:
        apart = ", ".join(_trait_short(t) for t in segment_traits(s))
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
    why = f'<div class="cs-why">{escape(sel.explanation)}</div>' if sel.explanation else ""
    voted: dict[int, list[str]] = {}
    for name, k in sel.votes.items():
        if k is not None:
            voted.setdefault(int(k), []).append(name.replace("_", "-"))
    rows = []
    for s in sel.scores:
        chosen = ' style="font-weight:600"' if s.k == sel.chosen_k else ""
        rows.append(f"<tr{chosen}><td class=\"cs-num\">{s.k}</td>"
                    f'<td class="cs-num">{format_number(s.inertia)}</td>'
                    f'<td class="cs-num">{_dec(s.silhouette)}</td>'
                    f'<td class="cs-num">{format_number(s.calinski_harabasz)}</td>'
                    f'<td class="cs-num">{_dec(s.davies_bouldin)}</td>'
                    f"<td>{escape(', '.join(voted.get(s.k, [])))}</td></tr>")
    table = ('<table class="cs-table"><thead><tr><th>k</th><th>inertia</th><th>silhouette '
             '↑</th><th>Calinski-Harabasz ↑</th><th>Davies-Bouldin ↓</th><th>votes</th></tr>'
             f'</thead><tbody>{"".join(rows)}</tbody></table>')
    return card(head + why + table)


def _dec(x: Any) -> str:
    return f"{float(x):.2f}" if finite(x) else "–"


# ----------------------------------------------------------------------------- a segment
def segment_text(profile: SegmentProfile) -> str:
    """A segment in a few lines: name, size, traits, recommendation."""
    lines = [f"Segment {profile.id} · {profile.name}: {profile.size:,} customers "
             f"({profile.share:.1%})"]
    lines += [f"  {_trait_short(t)}" + (f"  ({t['text']})" if t["text"] else "")
              for t in segment_traits(profile, n=6)]
    if profile.recommendation:
        lines.append(f"  Recommendation: {profile.recommendation}")
    return "\n".join(lines)


def segment_html(profile: SegmentProfile) -> str:
    """A segment's card: name, size and share, every trait with its evidence, the
    recommendation."""
    colour = _colour(profile.id)
    head = (f'<div class="cs-head"><span class="cs-title"><span class="cs-dot" '
            f'style="background:{colour}"></span>{int(profile.id)} · {escape(profile.name)}</span>'
            f'<span>{int(profile.size):,} customers</span>'
            f'<span>{_share_bar(profile.share, colour)} {float(profile.share):.1%}</span></div>')
    rows = [f"<tr><td>{escape(_trait_short(t))}</td><td>{escape(t['text'])}</td></tr>"
            for t in segment_traits(profile, n=12)]
    table = ('<table class="cs-table"><thead><tr><th>sets it apart</th><th>evidence</th></tr>'
             f'</thead><tbody>{"".join(rows)}</tbody></table>' if rows else
             '<div class="cs-why">Close to the average customer on every feature.</div>')
    rec = (f'<div class="cs-why"><b>Recommendation.</b> {escape(profile.recommendation)}</div>'
           if profile.recommendation else "")
    return card(head + table + rec)


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
            f'{escape(ALGORITHM_NAMES.get(comparison.recommended, comparison.recommended))}'
            "</span></div>")
    why = "".join(f'<div class="cs-why">{escape(r)}</div>' for r in comparison.reasons)
    rows = []
    for i, r in enumerate(comparison.results):
        rows.append(
            f'<tr><td class="cs-name">{escape(ALGORITHM_NAMES.get(r.algorithm, r.algorithm))}</td>'
            f'<td class="cs-num">{r.k}</td>'
            f'<td class="cs-num">{_share_bar(max(r.score, 0.0), _colour(i))} {_dec(r.score)}</td>'
            f'<td class="cs-num">{_dec(r.stability)}</td>'
            f'<td class="cs-num">{_dec(r.silhouette)}</td>'
            f'<td class="cs-num">{float(r.coverage):.0%}</td>'
            f'<td>{escape(", ".join(r.unstable_segments)) or "–"}</td></tr>')
    skipped = "".join(f"<tr><td>{escape(m)}</td><td colspan=\"6\" class=\"cs-muted\">skipped: "
                      f"{escape(why_)}</td></tr>" for m, why_ in comparison.skipped.items())
    table = ('<table class="cs-table"><thead><tr><th>method</th><th>k</th><th>score</th>'
             '<th>stability</th><th>silhouette</th><th>coverage</th><th>unstable segments'
             f'</th></tr></thead><tbody>{"".join(rows)}{skipped}</tbody></table>')
    return card(head + why + table)
