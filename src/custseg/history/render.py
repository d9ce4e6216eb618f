"""A comparison of two runs drawn and written: the Sankey diagram, the self-contained HTML
page, and ``compare.json``, ``migration.csv`` and ``compare.html`` (:mod:`custseg.history`)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg.history.compare import Comparison, describe_changes, segment_names
from custseg.history.matching import UNASSIGNED

if TYPE_CHECKING:
    pass


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
    names_a, names_b = segment_names(c.run_a), segment_names(c.run_b)
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
    names_a, names_b = segment_names(c.run_a), segment_names(c.run_b)
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
