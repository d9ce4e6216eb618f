"""The report's charts: Plotly figures drawn from numbers already computed.

Each function takes parts of a result (``summary.json``'s dictionary, a
:class:`~custseg.explore.DataOverview`, a :class:`~custseg.explore.SegmentViews`) and returns
a figure, or ``None`` when the chart does not apply.  Nothing is computed here beyond
arranging the numbers: no fitting, no statistics.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

# Segment colours, by segment number (the same in every chart and table, and on the notebook
# cards): defined in custseg.display, below both.
from custseg.display import UNASSIGNED_COLOUR, segment_colour
from custseg.report import plotly_dict as pdict

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from custseg.explore import DataOverview, SegmentViews

FEATURE_COLOUR = "#1f77b4"
OTHER_COLOUR = "#9aa5b1"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
SIGNAL_NAMES = {"elbow": "elbow", "silhouette": "silhouette",
                "calinski_harabasz": "Calinski-Harabasz", "davies_bouldin": "Davies-Bouldin"}


def _figure_spec(data: list[dict[str, Any]], layout: dict[str, Any], height: int,
                 **kwargs: Any) -> dict[str, Any]:
    """The figure: ``layout`` with the report's look, its numbers rounded to 8 significant
    digits (:func:`custseg.report.plotly_dict.steady`: the same page on every CPU) and its
    numeric arrays encoded as Plotly's JSON encodes them."""
    from _plotly_utils.utils import convert_to_base64

    pdict.update(layout, {"height": height, "autosize": True,
                          "margin": {"l": 64, "r": 24, "t": 48, "b": 56},
                          "font": {"family": FONT, "size": 13},
                          "hoverlabel": {"font": {"family": FONT}}, **kwargs})
    spec = pdict.steady({"data": data, "layout": layout})
    convert_to_base64(spec)  # not the template (first in the layout): it holds no arrays
    spec["layout"] = {"template": pdict.white_template(), **spec["layout"]}
    return spec


def figure(spec: dict[str, Any] | None) -> go.Figure | None:
    """A Plotly figure of a figure dictionary (for a notebook or a PNG), or None."""
    if spec is None:
        return None
    import plotly.graph_objects as go

    return go.Figure(spec)


#: Customers segmented but left in no segment (-1) by a density method.
UNASSIGNED_LABEL = "Unassigned (in no segment)"


def _names(summary: dict[str, Any]) -> dict[int, str]:
    names = {int(s["id"]): str(s["name"]) for s in summary["segments"]}
    names[-1] = UNASSIGNED_LABEL
    return names


def _fmt_edge(x: float) -> str:
    return f"{x:,.4g}"


# ----------------------------------------------------------------------------- data
def distributions_spec(overview: DataOverview, columns: int = 3) -> dict[str, Any] | None:
    """A histogram of every numeric column and the counts of every categorical column
    (features in blue, other columns in grey), as a figure dictionary."""
    panels: list[tuple[str, Any]] = [(h.column, h) for h in overview.histograms if h.counts]
    panels += [(c.column, c) for c in overview.categories if c.counts]
    if not panels:
        return None
    cols = min(columns, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    titles = []
    for name, p in panels:
        extra = f" ({p.n_missing:,} missing)" if p.n_missing else ""
        titles.append(f"{name}{extra}" + (" ·feature" if p.is_feature else ""))
    layout = pdict.subplot_grid(rows, cols, 0.08, min(0.5 / rows, 0.12), titles)
    data = []
    for i, (name, p) in enumerate(panels, start=1):
        colour = FEATURE_COLOUR if p.is_feature else OTHER_COLOUR
        if hasattr(p, "edges"):
            edges = np.asarray(p.edges)
            lows, highs = edges[:-1], edges[1:]
            data.append(pdict.trace(
                "bar", pdict.axis_refs(i), x=(lows + highs) / 2, y=p.counts, width=highs - lows,
                marker={"color": colour},
                customdata=[[_fmt_edge(a), _fmt_edge(b)] for a, b in zip(lows, highs,
                                                                          strict=True)],
                hovertemplate=f"{_hover_name(name)}: %{{customdata[0]}} to "
                              "%{customdata[1]}<br>%{y:,} customers<extra></extra>",
                showlegend=False))
        else:
            levels = [*p.levels, *(["other levels"] if p.n_other else [])]
            counts = [*p.counts, *([p.n_other] if p.n_other else [])]
            data.append(pdict.trace(
                "bar", pdict.axis_refs(i), x=levels, y=counts, marker={"color": colour},
                showlegend=False,
                hovertemplate=f"{_hover_name(name)}: %{{x}}<br>%{{y:,}} customers"
                              "<extra></extra>"))
            layout[pdict.axis_key(i, "x")]["type"] = "category"
    for note in layout["annotations"]:
        note["font"]["size"] = 12
    return _figure_spec(data, layout, 60 + 230 * rows, bargap=0.05)


def distributions(overview: DataOverview, columns: int = 3) -> go.Figure | None:
    """:func:`distributions_spec` as a Plotly figure."""
    return figure(distributions_spec(overview, columns))


def _hover_name(name: str) -> str:
    """A column name made safe for a Plotly hover template (braces and percent signs)."""
    return (str(name).replace("%", "%%").replace("{", "(").replace("}", ")")
            .replace("<", "&lt;"))


def correlation_spec(overview: DataOverview) -> dict[str, Any] | None:
    """Heatmap of the correlation matrix of the numeric columns (at least two)."""
    corr = overview.correlation
    if corr is None or corr.shape[0] < 2:
        return None
    labels = [str(c) for c in corr.columns]
    z = corr.to_numpy(dtype=np.float64)
    n = len(labels)
    trace = pdict.trace(
        "heatmap", z=z, x=labels, y=labels, zmin=-1, zmax=1, colorscale=pdict.colorscale("RdBu"),
        reversescale=True, texttemplate="%{z:.2f}" if n <= 12 else None,
        colorbar={"title": {"text": "r"}},
        hovertemplate="%{y} × %{x}<br>correlation %{z:.2f}<extra></extra>", xgap=1, ygap=1)
    return _figure_spec([trace], {"yaxis": {"autorange": "reversed"}},
                        max(360, min(760, 120 + 36 * n)))


def correlation(overview: DataOverview) -> go.Figure | None:
    """:func:`correlation_spec` as a Plotly figure."""
    return figure(correlation_spec(overview))


# ----------------------------------------------------------------------------- k
def elbow_spec(summary: dict[str, Any]) -> dict[str, Any] | None:
    """Inertia by k with the knee (elbow) and the chosen k marked."""
    ksel = summary["k_selection"]
    scores = [s for s in ksel["scores"] if s.get("inertia") is not None]
    if len(scores) < 2:
        return None
    ks = [s["k"] for s in scores]
    inertia = [s["inertia"] for s in scores]
    data = [pdict.trace(
        "scatter", x=ks, y=inertia, mode="lines+markers", name="inertia",
        line={"color": "#1f77b4"}, hovertemplate="k = %{x}<br>inertia %{y:,.1f}<extra></extra>")]
    knee = ksel.get("elbow_k")
    if knee in ks:
        data.append(pdict.trace(
            "scatter", x=[knee], y=[inertia[ks.index(knee)]], mode="markers+text",
            name="elbow (knee)", marker={"symbol": "star", "size": 18, "color": "#d62728"},
            text=[f"elbow: k = {knee}"], textposition="top right",
            hovertemplate="elbow (knee) at k = %{x}<extra></extra>"))
    chosen = ksel["chosen_k"]
    shape, note = pdict.line_shape("v", chosen, "#2ca02c", text=f"chosen k = {chosen}",
                        position="top left")
    layout = {"shapes": [shape], "annotations": [note],
              "xaxis": {"title": {"text": "k (number of segments)"}, "dtick": 1},
              "yaxis": {"title": {"text": "inertia (within-segment spread, lower is tighter)"}}}
    return _figure_spec(data, layout, 400, showlegend=False)


def elbow(summary: dict[str, Any]) -> go.Figure | None:
    """:func:`elbow_spec` as a Plotly figure."""
    return figure(elbow_spec(summary))


def k_scores_spec(summary: dict[str, Any]) -> dict[str, Any] | None:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin across k, the best k of each and the
    chosen k marked."""
    ksel = summary["k_selection"]
    scores = ksel["scores"]
    if len(scores) < 2:
        return None
    ks = [s["k"] for s in scores]
    panels = [("silhouette", "Silhouette (higher is better)"),
              ("calinski_harabasz", "Calinski-Harabasz (higher is better)"),
              ("davies_bouldin", "Davies-Bouldin (lower is better)")]
    layout = pdict.subplot_grid(1, 3, 0.09, 0.3, [t for _, t in panels])
    votes = ksel.get("votes") or {}
    data, shapes = [], []
    for i, (key, _title) in enumerate(panels, start=1):
        ys = [s.get(key) for s in scores]
        data.append(pdict.trace(
            "scatter", pdict.axis_refs(i), x=ks, y=ys, mode="lines+markers",
            line={"color": "#1f77b4"}, showlegend=False,
            hovertemplate=f"k = %{{x}}<br>{SIGNAL_NAMES[key]} %{{y:,.3f}}<extra></extra>"))
        best = votes.get(key)
        if best in ks and ys[ks.index(best)] is not None:
            data.append(pdict.trace(
                "scatter", pdict.axis_refs(i), x=[best], y=[ys[ks.index(best)]], mode="markers",
                showlegend=False, marker={"symbol": "star", "size": 16, "color": "#d62728"},
                hovertemplate=f"best {SIGNAL_NAMES[key]}: k = %{{x}}<extra></extra>"))
        shapes.append(pdict.line_shape("v", ksel["chosen_k"], "#2ca02c", *pdict.axis_refs(i))[0])
        pdict.update(layout[pdict.axis_key(i, "x")], {"title": {"text": "k"}, "dtick": 1})
    layout["shapes"] = shapes
    for note in layout["annotations"]:
        note["font"]["size"] = 12
    return _figure_spec(data, layout, 360)


def k_scores(summary: dict[str, Any]) -> go.Figure | None:
    """:func:`k_scores_spec` as a Plotly figure."""
    return figure(k_scores_spec(summary))


# ----------------------------------------------------------------------------- segments
def _hover(feature_names: Sequence[str], first: str = "") -> str:
    lines = [f"customer %{{customdata[0]}}{first}"]
    for j, f in enumerate(feature_names, start=1):
        lines.append(f"{_hover_name(f)}: %{{customdata[{j}]:,.4g}}")
    return "<br>".join(lines) + "<extra>%{fullData.name}</extra>"


def segment_scatter_spec(summary: dict[str, Any], views: SegmentViews) -> dict[str, Any]:
    """Customers coloured by segment with the segment centres: on the two features, or on
    the first two principal components."""
    names = _names(summary)
    pts = views.points
    features = [c for c in pts.columns if c not in ("id", "segment", "x", "y")][:6]
    data = []
    for seg_id in sorted(pts["segment"].unique(), key=lambda s: (s < 0, s)):
        part = pts[pts["segment"] == seg_id]
        custom = np.column_stack([part["id"].astype(str).to_numpy(dtype=object),
                                  *[part[f].to_numpy(dtype=object) for f in features]])
        data.append(pdict.trace(
            "scatter", x=part["x"].to_numpy(), y=part["y"].to_numpy(), mode="markers",
            name=f"{seg_id} · {names.get(int(seg_id), seg_id)}" if seg_id >= 0
            else names[-1],
            marker={"size": 6 if len(pts) > 1000 else 8, "color": segment_colour(int(seg_id)),
                    "opacity": 0.7, "line": {"width": 0}},
            customdata=custom, hovertemplate=_hover(features)))
    c = views.centres
    data.append(pdict.trace(
        "scatter", x=c["x"].to_numpy(), y=c["y"].to_numpy(), mode="markers",
        name="segment centres",
        marker={"symbol": "x", "size": 15, "color": "black", "line": {"width": 1,
                                                                      "color": "white"}},
        text=[names.get(int(s), str(s)) for s in c["segment"]],
        hovertemplate="centre of %{text}<br>%{x:,.3g}, %{y:,.3g}<extra></extra>"))
    layout = {"xaxis": {"title": {"text": views.x_name}},
              "yaxis": {"title": {"text": views.y_name}}}
    return _figure_spec(data, layout, 560, legend={"orientation": "h", "y": -0.16})


def segment_scatter(summary: dict[str, Any], views: SegmentViews) -> go.Figure:
    """:func:`segment_scatter_spec` as a Plotly figure."""
    return figure(segment_scatter_spec(summary, views))


def scatter_matrix_spec(summary: dict[str, Any], views: SegmentViews
                        ) -> dict[str, Any] | None:
    """Every pair of numeric features (3 to 5 of them), customers coloured by segment."""
    if len(views.matrix_rows) == 0:
        return None
    names = _names(summary)
    pts = views.points.iloc[views.matrix_rows]
    features = [c for c in pts.columns if c not in ("id", "segment", "x", "y")]
    d = len(features) - 1  # panel (row r, column c): feature r + 1 against feature c
    layout = pdict.subplot_grid(d, d, 0.05, 0.09)
    del layout["annotations"]
    segs = sorted(pts["segment"].unique(), key=lambda s: (s < 0, s))
    parts = {seg_id: pts[pts["segment"] == seg_id] for seg_id in segs}  # once, every panel
    ids = {seg_id: part["id"].astype(str).to_numpy(dtype=object)
           for seg_id, part in parts.items()}
    data = []
    for r in range(d):
        for c in range(d):
            i = r * d + c + 1
            xaxis, yaxis = layout[pdict.axis_key(i, "x")], layout[pdict.axis_key(i, "y")]
            if c > r:
                xaxis["visible"] = yaxis["visible"] = False
                continue
            fx, fy = features[c], features[r + 1]
            data += _matrix_traces(parts, ids, names, fx, fy, r == 0 and c == 0, i)
            if r == d - 1 or c == r:
                xaxis["title"] = {"text": fx}
            if c == 0:
                yaxis["title"] = {"text": fy}
    small = {"title": {"font": {"size": 11}, "standoff": 4}, "tickfont": {"size": 10}}
    for i in range(1, d * d + 1):
        pdict.update(layout[pdict.axis_key(i, "x")], copy.deepcopy(small))
    for i in range(1, d * d + 1):
        pdict.update(layout[pdict.axis_key(i, "y")], copy.deepcopy(small))
    return _figure_spec(data, layout, 200 * d + 140, legend={"orientation": "h", "y": -0.1})


def _matrix_traces(parts: dict[Any, Any], ids: dict[Any, np.ndarray], names: dict[int, str],
                   fx: str, fy: str, legend: bool, i: int) -> list[dict[str, Any]]:
    """The customers of every segment (``parts``: their points, ``ids``: their ids as text)
    on panel ``i`` of the scatter matrix (``fx`` against ``fy``)."""
    traces = []
    for seg_id, part in parts.items():
        custom = np.column_stack([ids[seg_id], part[fx].to_numpy(dtype=object),
                                  part[fy].to_numpy(dtype=object)])
        traces.append(pdict.trace(
            "scatter", pdict.axis_refs(i), x=part[fx].to_numpy(), y=part[fy].to_numpy(),
            mode="markers",
            legendgroup=str(seg_id), showlegend=legend,
            name=(f"{seg_id} · {names.get(int(seg_id), seg_id)}" if seg_id >= 0
                  else names[-1]),
            marker={"size": 4, "color": segment_colour(int(seg_id)), "opacity": 0.65},
            customdata=custom, hovertemplate=_hover([fx, fy])))
    return traces


def scatter_matrix(summary: dict[str, Any], views: SegmentViews) -> go.Figure | None:
    """:func:`scatter_matrix_spec` as a Plotly figure."""
    return figure(scatter_matrix_spec(summary, views))


def sizes_spec(summary: dict[str, Any]) -> dict[str, Any]:
    """Customers per segment."""
    segs = [{"label": f"{s['id']} · {s['name']}", "size": s["size"], "share": s["share"],
             "colour": segment_colour(int(s["id"]))} for s in summary["segments"]]
    left_out = summary.get("unassigned")  # customers a density method put in no segment
    if isinstance(left_out, dict) and left_out.get("size"):
        segs.append({"label": UNASSIGNED_LABEL, "size": left_out["size"],
                     "share": left_out.get("share", 0.0), "colour": UNASSIGNED_COLOUR})
    trace = pdict.trace(
        "bar", y=[s["label"] for s in segs], x=[s["size"] for s in segs], orientation="h",
        marker={"color": [s["colour"] for s in segs]},
        text=[f"{s['share']:.0%} ({s['size']:,})" for s in segs], textposition="auto",
        hovertemplate="%{y}<br>%{x:,} customers<extra></extra>")
    layout = {"yaxis": {"autorange": "reversed", "automargin": True},
              "xaxis": {"title": {"text": "customers"}}}
    return _figure_spec([trace], layout, 80 + 44 * len(segs), showlegend=False)


def sizes(summary: dict[str, Any]) -> go.Figure:
    """:func:`sizes_spec` as a Plotly figure."""
    return figure(sizes_spec(summary))


def silhouette_spec(summary: dict[str, Any], views: SegmentViews) -> dict[str, Any]:
    """The silhouette of each (sampled) customer, sorted within its segment: bars to the
    right are customers well inside their segment, bars to the left would fit another
    segment better."""
    names = _names(summary)
    sil = views.silhouette
    gap = max(4, int(0.03 * len(sil)))
    y0 = 0
    data, ticks, ticktext = [], [], []
    for seg_id in sorted(sil["segment"].unique()):
        part = sil[sil["segment"] == seg_id].sort_values("silhouette", ascending=False,
                                                          kind="stable")
        ys = np.arange(y0, y0 + len(part))
        data.append(pdict.trace(
            "bar", x=part["silhouette"].to_numpy(), y=ys, orientation="h", width=1.0,
            marker={"color": segment_colour(int(seg_id)), "line": {"width": 0}},
            name=f"{seg_id} · {names.get(int(seg_id), seg_id)}",
            customdata=part["id"].astype(str).to_numpy(dtype=object),
            hovertemplate="customer %{customdata}<br>silhouette %{x:.2f}"
                          "<extra>%{fullData.name}</extra>"))
        ticks.append(y0 + len(part) / 2)
        ticktext.append(f"{seg_id} · {names.get(int(seg_id), seg_id)}")
        y0 += len(part) + gap
    mean = float(sil["silhouette"].mean()) if len(sil) else 0.0
    shape, note = pdict.line_shape("v", mean, "#d62728", text=f"mean {mean:.2f}",
                                   position="top right")
    layout = {"shapes": [shape], "annotations": [note],
              "yaxis": {"tickvals": ticks, "ticktext": ticktext, "autorange": "reversed",
                        "showgrid": False, "zeroline": False, "automargin": True},
              "xaxis": {"title": {"text": "silhouette (-1: closer to another segment, "
                                          "1: well inside its own)"},
                        "range": [min(-0.2, sil["silhouette"].min() - 0.05) if len(sil)
                                  else -0.2, 1]}}
    return _figure_spec(data, layout, max(380, min(720, 60 + 40 * len(ticks) + len(sil) // 8)),
                        showlegend=False, bargap=0)


def silhouette(summary: dict[str, Any], views: SegmentViews) -> go.Figure:
    """:func:`silhouette_spec` as a Plotly figure."""
    return figure(silhouette_spec(summary, views))


# ----------------------------------------------------------------------------- profiles
def _wrap(text: str, width: int = 18, max_lines: int = 4) -> str:
    """A tick label broken into at most ``max_lines`` lines of about ``width`` characters
    (long words cut, the rest elided)."""
    lines: list[str] = []
    for word in str(text).split(" "):
        while len(word) > width:
            lines.append(word[:width - 1] + "-")
            word = word[width - 1:]
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:width - 1] + "…"
    return "<br>".join(lines)


def _snake_trace(summary: dict[str, Any], cols: list[str], z_all: np.ndarray, x: list[str],
                 names: list[str], visible: bool) -> dict[str, Any]:
    """One heatmap of the snake plot: the first ``len(cols)`` rows of ``z_all``."""
    from custseg.report.profiles import label

    features = set(summary.get("features") or [])
    z = z_all[:len(cols)]
    y = [label(summary, c) + ("" if c in features else " (describes)") for c in cols]
    seen: dict[str, int] = {}
    for i, name in enumerate(y):  # two columns with one label: keep the rows apart
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            y[i] = f"{name} ({cols[i]})"
    raw = [[[_hover_name(c), n] for n in names] for c in cols]
    return pdict.trace(
        "heatmap", z=z, x=x, y=y, coloraxis="coloraxis", customdata=raw, visible=visible,
        texttemplate="%{z:+.1f}" if z.size <= 240 else None, xgap=2, ygap=2,
        hovertemplate="%{customdata[1]}<br>%{y} [%{customdata[0]}]: z = %{z:+.2f}"
                      "<extra></extra>")


def _top_or_all_buttons(shown: int, total: int, height: int) -> list[dict[str, Any]]:
    """Buttons under a chart of two traces: the top ``shown`` rows, or all ``total``."""
    full_height = 150 + 24 * total
    return [pdict.sorted_props({
        "type": "buttons", "direction": "right", "showactive": True, "active": 0,
        "x": 0, "xanchor": "left", "y": 0, "yanchor": "top", "pad": {"t": 12},
        "buttons": [
            pdict.sorted_props({"label": f"Top {shown} columns", "method": "update",
                     "args": [{"visible": [True, False]}, {"height": height}]}),
            pdict.sorted_props({"label": f"All {total} columns", "method": "update",
                     "args": [{"visible": [False, True]}, {"height": full_height}]})]})]


def snake_spec(summary: dict[str, Any], top: int | None = None) -> dict[str, Any] | None:
    """Heatmap of each segment's z-score per numeric column (the "snake plot"): how many
    standard deviations the segment's mean sits above (red) or below (blue) the average
    customer.  One row a column, by importance (the spread of its z-scores across
    segments), labelled for people; the ``top`` rows (:data:`~custseg.report.profiles.
    HEATMAP_TOP`) are shown, and a button shows them all when there are more."""
    from custseg.report.profiles import HEATMAP_TOP, importance

    top = HEATMAP_TOP if top is None else top
    segs = summary["segments"]
    columns = [c for c, _ in importance(summary)]
    if not columns or not segs:
        return None
    narrow = len(segs) > 5
    x = [_wrap(f"{s['id']} · {s['name']}", 13 if narrow else 18) for s in segs]
    names = [_hover_name(f"{s['id']} · {s['name']}") for s in segs]
    z_all = np.array([[s.get("z", {}).get(c, np.nan) for s in segs] for c in columns],
                     dtype=np.float64)
    bound = float(max(1.0, np.nanmax(np.abs(z_all)))) if np.isfinite(z_all).any() else 1.0
    shown = columns[:top]
    data = [_snake_trace(summary, shown, z_all, x, names, True)]
    height = max(300, 150 + 30 * len(shown))
    layout: dict[str, Any] = {}
    if len(columns) > len(shown):
        data.append(_snake_trace(summary, columns, z_all, x, names, False))
        layout["updatemenus"] = _top_or_all_buttons(len(shown), len(columns), height)
    pdict.update(layout, {"coloraxis": {"colorscale": pdict.colorscale("RdBu"),
                                        "reversescale": True, "cmid": 0, "cmin": -bound,
                                        "cmax": bound, "colorbar": {"title": {"text": "z"}}},
                     "yaxis": {"autorange": "reversed", "automargin": True},
                     "xaxis": {"automargin": True, "side": "top", "tickangle": 0,
                               "tickfont": {"size": 11 if narrow else 12}}})
    spec = _figure_spec(data, layout, height)
    spec["layout"]["margin"].update({"t": 90, "b": 64 if len(columns) > len(shown) else 24})
    return spec


def snake(summary: dict[str, Any], top: int | None = None) -> go.Figure | None:
    """:func:`snake_spec` as a Plotly figure."""
    return figure(snake_spec(summary, top))


#: Leaves shown in the dendrogram: the tree is cut to its top merges for readability.
DENDROGRAM_LEAVES = 30


def dendrogram_spec(linkage: np.ndarray, k: int, leaves: int = DENDROGRAM_LEAVES
                    ) -> dict[str, Any] | None:
    """The top of a Ward tree (SciPy linkage), truncated to ``leaves`` groups, with the cut
    that gives ``k`` segments marked.  Leaf labels are group sizes (in leaves of the tree)."""
    from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram

    linkage = np.asarray(linkage, dtype=float)
    if linkage.ndim != 2 or len(linkage) < 2:
        return None
    tree = scipy_dendrogram(linkage, truncate_mode="lastp", p=leaves, no_plot=True,
                            count_sort=True)
    data = [pdict.trace("scatter", x=xs, y=ys, mode="lines",
                   line={"color": FEATURE_COLOUR, "width": 1.5}, hoverinfo="skip",
                   showlegend=False)
            for xs, ys in zip(tree["icoord"], tree["dcoord"], strict=True)]
    layout: dict[str, Any] = {}
    heights = np.sort(linkage[:, 2])
    if 2 <= k <= len(heights):
        cut = (heights[-k] + heights[-k + 1]) / 2 if k > 1 else heights[-1]
        shape, note = pdict.line_shape("h", cut, "green", text=f"cut: {k} segments",
                            position="top left")
        layout = {"shapes": [shape], "annotations": [note]}
    ticks = [5 + 10 * i for i in range(len(tree["ivl"]))]
    pdict.update(layout, {"xaxis": {"tickvals": ticks, "ticktext": tree["ivl"], "tickangle": -90,
                               "title": {"text": "groups of customers (size in brackets)"}},
                     "yaxis": {"title": {"text": "merge height (Ward distance)"}}})
    return _figure_spec(data, layout, 420)


def dendrogram(linkage: np.ndarray, k: int, leaves: int = DENDROGRAM_LEAVES) -> go.Figure | None:
    """:func:`dendrogram_spec` as a Plotly figure."""
    return figure(dendrogram_spec(linkage, k, leaves))
