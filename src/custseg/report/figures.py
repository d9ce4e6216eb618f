"""The report's charts: Plotly figures drawn from numbers already computed.

Each function takes parts of a result (``summary.json``'s dictionary, a
:class:`~custseg.explore.DataOverview`, a :class:`~custseg.explore.SegmentViews`) and returns
a figure, or ``None`` when the chart does not apply.  Nothing is computed here beyond
arranging the numbers: no fitting, no statistics.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

# Segment colours, by segment number (the same in every chart and table, and on the notebook
# cards): defined in custseg.display, below both.
from custseg.display import UNASSIGNED_COLOUR, segment_colour

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from custseg.explore import DataOverview, SegmentViews

FEATURE_COLOUR = "#1f77b4"
OTHER_COLOUR = "#9aa5b1"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
SIGNAL_NAMES = {"elbow": "elbow", "silhouette": "silhouette",
                "calinski_harabasz": "Calinski-Harabasz", "davies_bouldin": "Davies-Bouldin"}


@functools.cache
def _white_template() -> Any:
    """Plotly's ``plotly_white`` template, validated once.  Naming it in ``update_layout``
    validates a fresh deep copy of it for every figure: three quarters of a small report's
    chart time."""
    import plotly.io as pio

    return copy.deepcopy(pio.templates["plotly_white"])


def _layout(fig: go.Figure, height: int, **kwargs: Any) -> go.Figure:
    # The template goes in as Plotly puts its default one (Figure._initialize_layout_template):
    # already validated, so not validated again.  The figure's JSON is byte for byte the same.
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = _white_template()
    finally:
        layout._validate = fig._validate
    fig.update_layout(
        height=height, autosize=True,
        margin={"l": 64, "r": 24, "t": 48, "b": 56}, font={"family": FONT, "size": 13},
        hoverlabel={"font": {"family": FONT}}, **kwargs)
    return fig


#: Customers segmented but left in no segment (-1) by a density method.
UNASSIGNED_LABEL = "Unassigned (in no segment)"


def _names(summary: dict[str, Any]) -> dict[int, str]:
    names = {int(s["id"]): str(s["name"]) for s in summary["segments"]}
    names[-1] = UNASSIGNED_LABEL
    return names


def _fmt_edge(x: float) -> str:
    return f"{x:,.4g}"


# ----------------------------------------------------------------------------- data
def distributions(overview: DataOverview, columns: int = 3) -> go.Figure | None:
    """A histogram of every numeric column and the counts of every categorical column
    (features in blue, other columns in grey)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

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
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                        horizontal_spacing=0.08, vertical_spacing=min(0.5 / rows, 0.12))
    for i, (name, p) in enumerate(panels):
        r, c = i // cols + 1, i % cols + 1
        colour = FEATURE_COLOUR if p.is_feature else OTHER_COLOUR
        if hasattr(p, "edges"):
            edges = np.asarray(p.edges)
            lows, highs = edges[:-1], edges[1:]
            fig.add_trace(go.Bar(
                x=(lows + highs) / 2, y=p.counts, width=highs - lows, marker_color=colour,
                customdata=[[_fmt_edge(a), _fmt_edge(b)] for a, b in zip(lows, highs,
                                                                          strict=True)],
                hovertemplate=f"{_hover_name(name)}: %{{customdata[0]}} to "
                              "%{customdata[1]}<br>%{y:,} customers<extra></extra>",
                showlegend=False), r, c)
        else:
            levels = [*p.levels, *(["other levels"] if p.n_other else [])]
            counts = [*p.counts, *([p.n_other] if p.n_other else [])]
            fig.add_trace(go.Bar(
                x=levels, y=counts, marker_color=colour, showlegend=False,
                hovertemplate=f"{_hover_name(name)}: %{{x}}<br>%{{y:,}} customers"
                              "<extra></extra>"), r, c)
            fig.update_xaxes(type="category", row=r, col=c)
    fig.update_annotations(font_size=12)
    return _layout(fig, 60 + 230 * rows, bargap=0.05)


def _hover_name(name: str) -> str:
    """A column name made safe for a Plotly hover template (braces and percent signs)."""
    return (str(name).replace("%", "%%").replace("{", "(").replace("}", ")")
            .replace("<", "&lt;"))


def correlation(overview: DataOverview) -> go.Figure | None:
    """Heatmap of the correlation matrix of the numeric columns (at least two)."""
    import plotly.graph_objects as go

    corr = overview.correlation
    if corr is None or corr.shape[0] < 2:
        return None
    labels = [str(c) for c in corr.columns]
    z = corr.to_numpy(dtype=np.float64)
    n = len(labels)
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
        texttemplate="%{z:.2f}" if n <= 12 else None, colorbar={"title": {"text": "r"}},
        hovertemplate="%{y} × %{x}<br>correlation %{z:.2f}<extra></extra>", xgap=1, ygap=1))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, max(360, min(760, 120 + 36 * n)))


# ----------------------------------------------------------------------------- k
def elbow(summary: dict[str, Any]) -> go.Figure | None:
    """Inertia by k with the knee (elbow) and the chosen k marked."""
    import plotly.graph_objects as go

    ksel = summary["k_selection"]
    scores = [s for s in ksel["scores"] if s.get("inertia") is not None]
    if len(scores) < 2:
        return None
    ks = [s["k"] for s in scores]
    inertia = [s["inertia"] for s in scores]
    fig = go.Figure(go.Scatter(
        x=ks, y=inertia, mode="lines+markers", name="inertia", line={"color": "#1f77b4"},
        hovertemplate="k = %{x}<br>inertia %{y:,.1f}<extra></extra>"))
    knee = ksel.get("elbow_k")
    if knee in ks:
        fig.add_trace(go.Scatter(
            x=[knee], y=[inertia[ks.index(knee)]], mode="markers+text", name="elbow (knee)",
            marker={"symbol": "star", "size": 18, "color": "#d62728"},
            text=[f"elbow: k = {knee}"], textposition="top right",
            hovertemplate="elbow (knee) at k = %{x}<extra></extra>"))
    chosen = ksel["chosen_k"]
    fig.add_vline(x=chosen, line_dash="dash", line_color="#2ca02c",
                  annotation_text=f"chosen k = {chosen}", annotation_position="top left")
    fig.update_xaxes(title_text="k (number of segments)", dtick=1)
    fig.update_yaxes(title_text="inertia (within-segment spread, lower is tighter)")
    return _layout(fig, 400, showlegend=False)


def k_scores(summary: dict[str, Any]) -> go.Figure | None:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin across k, the best k of each and the
    chosen k marked."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ksel = summary["k_selection"]
    scores = ksel["scores"]
    if len(scores) < 2:
        return None
    ks = [s["k"] for s in scores]
    panels = [("silhouette", "Silhouette (higher is better)"),
              ("calinski_harabasz", "Calinski-Harabasz (higher is better)"),
              ("davies_bouldin", "Davies-Bouldin (lower is better)")]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in panels],
                        horizontal_spacing=0.09)
    votes = ksel.get("votes") or {}
    for i, (key, _title) in enumerate(panels, start=1):
        ys = [s.get(key) for s in scores]
        fig.add_trace(go.Scatter(
            x=ks, y=ys, mode="lines+markers", line={"color": "#1f77b4"}, showlegend=False,
            hovertemplate=f"k = %{{x}}<br>{SIGNAL_NAMES[key]} %{{y:,.3f}}<extra></extra>"),
            1, i)
        best = votes.get(key)
        if best in ks and ys[ks.index(best)] is not None:
            fig.add_trace(go.Scatter(
                x=[best], y=[ys[ks.index(best)]], mode="markers", showlegend=False,
                marker={"symbol": "star", "size": 16, "color": "#d62728"},
                hovertemplate=f"best {SIGNAL_NAMES[key]}: k = %{{x}}<extra></extra>"), 1, i)
        fig.add_vline(x=ksel["chosen_k"], line_dash="dash", line_color="#2ca02c", row=1,
                      col=i)
    fig.update_xaxes(title_text="k", dtick=1)
    fig.update_annotations(font_size=12)
    return _layout(fig, 360)


# ----------------------------------------------------------------------------- segments
def _hover(feature_names: Sequence[str], first: str = "") -> str:
    lines = [f"customer %{{customdata[0]}}{first}"]
    for j, f in enumerate(feature_names, start=1):
        lines.append(f"{_hover_name(f)}: %{{customdata[{j}]:,.4g}}")
    return "<br>".join(lines) + "<extra>%{fullData.name}</extra>"


def segment_scatter(summary: dict[str, Any], views: SegmentViews) -> go.Figure:
    """Customers coloured by segment with the segment centres: on the two features, or on
    the first two principal components."""
    import plotly.graph_objects as go

    names = _names(summary)
    pts = views.points
    features = [c for c in pts.columns if c not in ("id", "segment", "x", "y")][:6]
    fig = go.Figure()
    for seg_id in sorted(pts["segment"].unique(), key=lambda s: (s < 0, s)):
        part = pts[pts["segment"] == seg_id]
        custom = np.column_stack([part["id"].astype(str).to_numpy(dtype=object),
                                  *[part[f].to_numpy(dtype=object) for f in features]])
        fig.add_trace(go.Scatter(
            x=part["x"].to_numpy(), y=part["y"].to_numpy(), mode="markers",
            name=f"{seg_id} · {names.get(int(seg_id), seg_id)}" if seg_id >= 0
            else names[-1],
            marker={"size": 6 if len(pts) > 1000 else 8, "color": segment_colour(int(seg_id)),
                    "opacity": 0.7, "line": {"width": 0}},
            customdata=custom, hovertemplate=_hover(features)))
    c = views.centres
    fig.add_trace(go.Scatter(
        x=c["x"].to_numpy(), y=c["y"].to_numpy(), mode="markers", name="segment centres",
        marker={"symbol": "x", "size": 15, "color": "black", "line": {"width": 1,
                                                                      "color": "white"}},
        text=[names.get(int(s), str(s)) for s in c["segment"]],
        hovertemplate="centre of %{text}<br>%{x:,.3g}, %{y:,.3g}<extra></extra>"))
    fig.update_xaxes(title_text=views.x_name)
    fig.update_yaxes(title_text=views.y_name)
    return _layout(fig, 560, legend={"orientation": "h", "y": -0.16})


def scatter_matrix(summary: dict[str, Any], views: SegmentViews) -> go.Figure | None:
    """Every pair of numeric features (3 to 5 of them), customers coloured by segment."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if len(views.matrix_rows) == 0:
        return None
    names = _names(summary)
    pts = views.points.iloc[views.matrix_rows]
    features = [c for c in pts.columns if c not in ("id", "segment", "x", "y")]
    d = len(features) - 1  # panel (row r, column c): feature r + 1 against feature c
    fig = make_subplots(rows=d, cols=d, horizontal_spacing=0.05, vertical_spacing=0.09)
    segs = sorted(pts["segment"].unique(), key=lambda s: (s < 0, s))
    for r in range(d):
        for c in range(d):
            if c > r:
                fig.update_xaxes(visible=False, row=r + 1, col=c + 1)
                fig.update_yaxes(visible=False, row=r + 1, col=c + 1)
                continue
            fx, fy = features[c], features[r + 1]
            for seg_id in segs:
                part = pts[pts["segment"] == seg_id]
                custom = np.column_stack([part["id"].astype(str).to_numpy(dtype=object),
                                          part[fx].to_numpy(dtype=object),
                                          part[fy].to_numpy(dtype=object)])
                fig.add_trace(go.Scatter(
                    x=part[fx].to_numpy(), y=part[fy].to_numpy(), mode="markers",
                    legendgroup=str(seg_id), showlegend=(r == 0 and c == 0),
                    name=(f"{seg_id} · {names.get(int(seg_id), seg_id)}" if seg_id >= 0
                          else names[-1]),
                    marker={"size": 4, "color": segment_colour(int(seg_id)), "opacity": 0.65},
                    customdata=custom, hovertemplate=_hover([fx, fy])), r + 1, c + 1)
            if r == d - 1 or c == r:
                fig.update_xaxes(title_text=fx, row=r + 1, col=c + 1)
            if c == 0:
                fig.update_yaxes(title_text=fy, row=r + 1, col=c + 1)
    fig.update_xaxes(title_font_size=11, tickfont_size=10, title_standoff=4)
    fig.update_yaxes(title_font_size=11, tickfont_size=10, title_standoff=4)
    return _layout(fig, 200 * d + 140, legend={"orientation": "h", "y": -0.1})


def sizes(summary: dict[str, Any]) -> go.Figure:
    """Customers per segment."""
    import plotly.graph_objects as go

    segs = [{"label": f"{s['id']} · {s['name']}", "size": s["size"], "share": s["share"],
             "colour": segment_colour(int(s["id"]))} for s in summary["segments"]]
    left_out = summary.get("unassigned")  # customers a density method put in no segment
    if isinstance(left_out, dict) and left_out.get("size"):
        segs.append({"label": UNASSIGNED_LABEL, "size": left_out["size"],
                     "share": left_out.get("share", 0.0), "colour": UNASSIGNED_COLOUR})
    fig = go.Figure(go.Bar(
        y=[s["label"] for s in segs], x=[s["size"] for s in segs], orientation="h",
        marker_color=[s["colour"] for s in segs],
        text=[f"{s['share']:.0%} ({s['size']:,})" for s in segs], textposition="auto",
        hovertemplate="%{y}<br>%{x:,} customers<extra></extra>"))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text="customers")
    return _layout(fig, 80 + 44 * len(segs), showlegend=False)


def silhouette(summary: dict[str, Any], views: SegmentViews) -> go.Figure:
    """The silhouette of each (sampled) customer, sorted within its segment: bars to the
    right are customers well inside their segment, bars to the left would fit another
    segment better."""
    import plotly.graph_objects as go

    names = _names(summary)
    sil = views.silhouette
    fig = go.Figure()
    gap = max(4, int(0.03 * len(sil)))
    y0 = 0
    ticks, ticktext = [], []
    for seg_id in sorted(sil["segment"].unique()):
        part = sil[sil["segment"] == seg_id].sort_values("silhouette", ascending=False,
                                                          kind="stable")
        ys = np.arange(y0, y0 + len(part))
        fig.add_trace(go.Bar(
            x=part["silhouette"].to_numpy(), y=ys, orientation="h", width=1.0,
            marker={"color": segment_colour(int(seg_id)), "line": {"width": 0}},
            name=f"{seg_id} · {names.get(int(seg_id), seg_id)}",
            customdata=part["id"].astype(str).to_numpy(dtype=object),
            hovertemplate="customer %{customdata}<br>silhouette %{x:.2f}"
                          "<extra>%{fullData.name}</extra>"))
        ticks.append(y0 + len(part) / 2)
        ticktext.append(f"{seg_id} · {names.get(int(seg_id), seg_id)}")
        y0 += len(part) + gap
    mean = float(sil["silhouette"].mean()) if len(sil) else 0.0
    fig.add_vline(x=mean, line_dash="dash", line_color="#d62728",
                  annotation_text=f"mean {mean:.2f}", annotation_position="top right")
    fig.update_yaxes(tickvals=ticks, ticktext=ticktext, autorange="reversed",
                     showgrid=False, zeroline=False, automargin=True)
    fig.update_xaxes(title_text="silhouette (-1: closer to another segment, "
                                "1: well inside its own)", range=[min(-0.2, sil[
                                    "silhouette"].min() - 0.05) if len(sil) else -0.2, 1])
    return _layout(fig, max(380, min(720, 60 + 40 * len(ticks) + len(sil) // 8)),
                   showlegend=False, bargap=0)


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
                 names: list[str], visible: bool) -> go.Heatmap:
    """One heatmap of the snake plot: the first ``len(cols)`` rows of ``z_all``."""
    import plotly.graph_objects as go

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
    return go.Heatmap(
        z=z, x=x, y=y, coloraxis="coloraxis", customdata=raw, visible=visible,
        texttemplate="%{z:+.1f}" if z.size <= 240 else None, xgap=2, ygap=2,
        hovertemplate="%{customdata[1]}<br>%{y} [%{customdata[0]}]: z = %{z:+.2f}"
                      "<extra></extra>")


def _top_or_all_buttons(fig: go.Figure, shown: int, total: int, height: int) -> None:
    """Buttons under a chart of two traces: the top ``shown`` rows, or all ``total``."""
    full_height = 150 + 24 * total
    fig.update_layout(updatemenus=[{
        "type": "buttons", "direction": "right", "showactive": True, "active": 0,
        "x": 0, "xanchor": "left", "y": 0, "yanchor": "top", "pad": {"t": 12},
        "buttons": [
            {"label": f"Top {shown} columns", "method": "update",
             "args": [{"visible": [True, False]}, {"height": height}]},
            {"label": f"All {total} columns", "method": "update",
             "args": [{"visible": [False, True]}, {"height": full_height}]}]}])


def snake(summary: dict[str, Any], top: int | None = None) -> go.Figure | None:
    """Heatmap of each segment's z-score per numeric column (the "snake plot"): how many
    standard deviations the segment's mean sits above (red) or below (blue) the average
    customer.  One row a column, by importance (the spread of its z-scores across
    segments), labelled for people; the ``top`` rows (:data:`~custseg.report.profiles.
    HEATMAP_TOP`) are shown, and a button shows them all when there are more."""
    import plotly.graph_objects as go

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
    fig = go.Figure(_snake_trace(summary, shown, z_all, x, names, True))
    row_h = 30
    height = max(300, 150 + row_h * len(shown))
    if len(columns) > len(shown):
        fig.add_trace(_snake_trace(summary, columns, z_all, x, names, False))
        _top_or_all_buttons(fig, len(shown), len(columns), height)
    fig.update_layout(coloraxis={"colorscale": "RdBu", "reversescale": True, "cmid": 0,
                                 "cmin": -bound, "cmax": bound,
                                 "colorbar": {"title": {"text": "z"}}})
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(automargin=True, side="top", tickangle=0,
                     tickfont={"size": 11 if narrow else 12})
    fig = _layout(fig, height)
    fig.update_layout(margin={"t": 90, "b": 64 if len(columns) > len(shown) else 24})
    return fig


#: Leaves shown in the dendrogram: the tree is cut to its top merges for readability.
DENDROGRAM_LEAVES = 30


def dendrogram(linkage: np.ndarray, k: int, leaves: int = DENDROGRAM_LEAVES) -> go.Figure | None:
    """The top of a Ward tree (SciPy linkage), truncated to ``leaves`` groups, with the cut
    that gives ``k`` segments marked.  Leaf labels are group sizes (in leaves of the tree)."""
    import plotly.graph_objects as go
    from scipy.cluster.hierarchy import dendrogram as scipy_dendrogram

    linkage = np.asarray(linkage, dtype=float)
    if linkage.ndim != 2 or len(linkage) < 2:
        return None
    tree = scipy_dendrogram(linkage, truncate_mode="lastp", p=leaves, no_plot=True,
                            count_sort=True)
    fig = go.Figure()
    for xs, ys in zip(tree["icoord"], tree["dcoord"], strict=True):
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": FEATURE_COLOUR,
                                                                    "width": 1.5},
                                 hoverinfo="skip", showlegend=False))
    heights = np.sort(linkage[:, 2])
    if 2 <= k <= len(heights):
        cut = (heights[-k] + heights[-k + 1]) / 2 if k > 1 else heights[-1]
        fig.add_hline(y=cut, line_dash="dash", line_color="green",
                      annotation_text=f"cut: {k} segments", annotation_position="top left")
    ticks = [5 + 10 * i for i in range(len(tree["ivl"]))]
    fig.update_xaxes(tickvals=ticks, ticktext=tree["ivl"], tickangle=-90,
                     title_text="groups of customers (size in brackets)")
    fig.update_yaxes(title_text="merge height (Ward distance)")
    return _layout(fig, 420)
