"""The HTML report, drawn from a :class:`~custseg.pipeline.SegmentationResult`.

Nothing is fitted here: every number comes from the result.  The page is one
self-contained file (plotly.js inlined once) that works offline.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from custseg.pipeline import SegmentationResult

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
MAX_POINTS = 5000


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:,.2f}" if abs(x) < 1e6 else f"{x:,.0f}"
    return str(x)


def _figures(result: SegmentationResult) -> list[tuple[str, Any]]:
    import plotly.graph_objects as go

    summary = result.summary
    proj = result.projection
    if len(proj) > MAX_POINTS:
        proj = proj.groupby("segment", group_keys=False).apply(
            lambda g: g.sample(max(1, int(MAX_POINTS * len(g) / len(result.projection))),
                               random_state=0))
    names = {s["id"]: s["name"] for s in summary["segments"]}
    scatter = go.Figure()
    for seg_id in sorted(proj["segment"].unique()):
        part = proj[proj["segment"] == seg_id]
        scatter.add_trace(go.Scattergl(
            x=part["x"], y=part["y"], mode="markers", name=f"{seg_id} · {names.get(seg_id)}",
            marker={"size": 7, "color": PALETTE[int(seg_id) % len(PALETTE)], "opacity": 0.75},
            text=part["id"],
            hovertemplate="customer %{text}<br>%{x:.2f}, %{y:.2f}<extra>%{fullData.name}"
                          "</extra>",
        ))
    x_name, y_name = proj["x_name"].iloc[0], proj["y_name"].iloc[0]
    if x_name in result.segmenter.plan_.numeric:
        scatter.add_trace(go.Scatter(
            x=[s["centre"][x_name] for s in summary["segments"]],
            y=[s["centre"][y_name] for s in summary["segments"]],
            mode="markers", name="segment centres",
            marker={"symbol": "x", "size": 14, "color": "black"},
            text=[s["name"] for s in summary["segments"]],
            hovertemplate="%{text}<br>%{x:.1f}, %{y:.1f}<extra>centre</extra>"))
    scatter.update_layout(title="Customers by segment", xaxis_title=x_name, yaxis_title=y_name,
                          height=520, template="plotly_white", legend={"orientation": "h",
                                                                       "y": -0.2})
    scores = summary["k_selection"]["scores"]
    ks = [s["k"] for s in scores]
    figs = [("segments", scatter)]
    if len(ks) > 1:
        from plotly.subplots import make_subplots

        sel = make_subplots(rows=1, cols=2, subplot_titles=(
            "Elbow: inertia by k", "Silhouette by k (higher is better)"))
        sel.add_trace(go.Scatter(x=ks, y=[s["inertia"] for s in scores], mode="lines+markers",
                                 name="inertia"), 1, 1)
        sel.add_trace(go.Scatter(x=ks, y=[s["silhouette"] for s in scores],
                                 mode="lines+markers", name="silhouette"), 1, 2)
        chosen = summary["k_selection"]["chosen_k"]
        for col in (1, 2):
            sel.add_vline(x=chosen, line_dash="dash", line_color="green", row=1, col=col)
        sel.update_layout(height=380, template="plotly_white", showlegend=False)
        sel.update_xaxes(title_text="k (number of segments)")
        figs.append(("k-selection", sel))
    return figs


def render_report(result: SegmentationResult) -> str:
    """The report as one HTML string (self-contained; plotly.js inlined once)."""
    import plotly.io as pio

    summary = result.summary
    ksel = summary["k_selection"]
    parts = []
    for i, (name, fig) in enumerate(_figures(result)):
        parts.append(f'<div class="chart" id="chart-{name}">' + pio.to_html(
            fig, full_html=False, include_plotlyjs=(i == 0), div_id=f"fig-{name}",
            config={"displaylogo": False}) + "</div>")
    features = [f for f in summary["features"] if f in summary["preprocessing"]["numeric"]]
    head = "".join(f"<th>{_esc(f)}</th>" for f in features)
    rows = []
    for s in summary["segments"]:
        cells = "".join(f"<td>{_fmt(s['centre'].get(f, ''))}</td>" for f in features)
        rows.append(f"<tr><td>{s['id']}</td><td><b>{_esc(s['name'])}</b></td><td>{s['size']}"
                    f"</td><td>{s['share']:.1%}</td>{cells}<td>{_esc(s['recommendation'])}"
                    "</td></tr>")
    score_rows = "".join(
        f"<tr{' class=chosen' if sc['k'] == ksel['chosen_k'] else ''}><td>{sc['k']}</td>"
        f"<td>{_fmt(sc['inertia'])}</td><td>{_fmt(sc['silhouette'])}</td>"
        f"<td>{_fmt(sc['calinski_harabasz'])}</td><td>{_fmt(sc['davies_bouldin'])}</td></tr>"
        for sc in ksel["scores"])
    warn = "".join(f"<li>{_esc(w['column'] or '')} {_esc(w['message'])}</li>"
                   for w in summary["warnings"]) or "<li>none</li>"
    roles = summary["roles"]
    confidence = (f" Confidence: <b>{_esc(ksel['confidence_label'])}</b> "
                  f"({ksel['confidence']:.2f})." if ksel["method"] == "consensus" else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>custseg report: {summary['k']} segments</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }} tr.chosen {{ background: #e6f4e6; font-weight: bold; }}
.note {{ color: #555; }} footer {{ margin-top: 3em; font-size: 0.8em; color: #666; }}
@media print {{ .chart {{ page-break-inside: avoid; }} }}
</style></head><body>
<h1>Customer segments</h1>
<p>{summary['n_customers']} customers from <code>{_esc(summary['input']['path'])}</code>,
segmented on {', '.join(_esc(f) for f in features)} into <b>{summary['k']} segments</b>.</p>
<h2>The segments</h2>
<table><tr><th>#</th><th>name</th><th>size</th><th>share</th>{head}<th>recommendation</th></tr>
{''.join(rows)}</table>
{parts[0]}
<h2>How many segments</h2>
<p>{_esc(ksel['explanation'])}{confidence}</p>
{''.join(parts[1:])}
<table><tr><th>k</th><th>inertia</th><th>silhouette</th><th>Calinski-Harabasz</th>
<th>Davies-Bouldin</th></tr>{score_rows}</table>
<h2>Data</h2>
<p>id column: {_esc(roles['id_column'])}; numeric: {_esc(', '.join(roles['numeric']))};
categorical: {_esc(', '.join(roles['categorical']))}; log-transformed:
{_esc(', '.join(summary['preprocessing']['log_columns']) or 'none')};
scaling: {_esc(summary['preprocessing']['scaling'])}.</p>
<p>Warnings:</p><ul>{warn}</ul>
<footer>custseg {_esc(summary['custseg_version'])} · seed {_esc(summary['seed'])} ·
input sha256 {_esc(summary['input_sha256'])} · <code>{_esc(summary['command'])}</code></footer>
</body></html>
"""
