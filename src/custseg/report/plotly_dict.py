"""Plotly figures as plain dictionaries: what ``plotly.graph_objects.Figure.to_dict()``
gives, in the same key order, built without graph_objects (whose validation cost half of a
small run's time), so a page embeds them byte for byte as before.

The order rules Plotly follows: a trace's properties in alphabetical order, then its
``type`` (and its subplot axes); nested objects alphabetical; a layout's template first,
then its properties in the order they were first set, an object's nested objects before its
plain values (:func:`update`).  :func:`subplot_grid` is the layout of ``make_subplots``,
:func:`line_shape` the shape and annotation of ``add_vline``/``add_hline``.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np

#: Significant digits a chart's numbers keep (:func:`steady`).
CHART_DIGITS = 8


#: Plotly's ``plotly_white`` template as a figure's JSON holds it, shipped with the package
#: (building it through ``graph_objects`` took 0.1-0.2 s of every report); a test checks it
#: is what the installed Plotly gives, and ``python -m custseg.report.plotly_dict`` rewrites
#: it after an upgrade.
WHITE_TEMPLATE = "plotly_white.json"


@functools.cache
def white_template() -> dict[str, Any]:
    """Plotly's ``plotly_white`` template as the dictionary a figure's JSON holds (in the
    key order a figure's ``to_dict`` gives it), read once a process from the package."""
    text = (resources.files("custseg.report") / WHITE_TEMPLATE).read_text("utf-8")
    return dict(json.loads(text))


def plotly_white_template() -> dict[str, Any]:
    """The same template built by the installed Plotly (slow: graph_objects)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    fig = go.Figure()
    fig.layout._validate = False  # set as Plotly sets its default template: already valid
    fig.layout.template = copy.deepcopy(pio.templates["plotly_white"])
    return dict(fig.to_dict()["layout"]["template"])


@functools.cache
def colorscale(name: str) -> list[Any]:
    """A named colour scale as Plotly's validator writes it (a list of [position, colour])."""
    from _plotly_utils.basevalidators import ColorscaleValidator

    return list(ColorscaleValidator("colorscale", "heatmap").validate_coerce(name))


def sorted_props(value: Any) -> Any:
    """``value`` with the keys of its dictionaries sorted (nested too), None values left out."""
    if isinstance(value, dict):
        return {k: sorted_props(value[k]) for k in sorted(value) if value[k] is not None}
    return value


def steady(value: Any, digits: int = CHART_DIGITS) -> Any:
    """``value`` (a figure dictionary) with its floats rounded to ``digits`` significant
    digits: those of a float array relative to its largest magnitude, a plain float its own.

    The last bits of a projection or a silhouette depend on the CPU's vector width (NumPy's
    AVX-512 kernels sum in another order than its AVX2 ones: differences of 1e-15), so the
    same data and seed would give another page on another machine.  Eight digits are more
    than a chart shows and far above that noise.

    >>> steady({"x": np.array([0.1 + 0.2, 1e-17]), "range": [-0.20448983260355386, 1]})
    {'x': array([0.3, 0. ]), 'range': [-0.20448983, 1]}
    """
    if isinstance(value, dict):
        return {k: steady(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(steady(v, digits) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
        finite = np.abs(value[np.isfinite(value)])
        top = float(finite.max()) if finite.size else 0.0
        if top == 0.0:
            return value
        return np.round(value, digits - 1 - math.floor(math.log10(top)))
    if isinstance(value, float) and math.isfinite(value) and value != 0.0:
        return round(value, digits - 1 - math.floor(math.log10(abs(value))))
    return value


def trace(kind: str, axes: tuple[str, str] | None = None, **props: Any) -> dict[str, Any]:
    """One trace of type ``kind`` (on subplot ``axes``, e.g. ``("x2", "y2")``)."""
    trace = sorted_props(props)
    trace["type"] = kind
    if axes is not None:
        trace["xaxis"], trace["yaxis"] = axes
    return trace


def update(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """``patch`` set into ``target`` as Plotly's update does: nested objects merged, new
    nested objects placed before new plain values."""
    for key, value in sorted(patch.items(), key=lambda kv: not isinstance(kv[1], dict)):
        if isinstance(value, dict):
            update(target.setdefault(key, {}), value)
        else:
            target[key] = value


def line_shape(direction: str, value: float, colour: str, xref: str = "x", yref: str = "y",
          text: str | None = None, position: str = ""
          ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The shape (and annotation) of ``add_vline``/``add_hline``: a dashed line at
    ``value`` across the subplot of ``xref``/``yref``."""
    if direction == "v":
        place = {"x0": value, "x1": value, "xref": xref, "y0": 0, "y1": 1,
                 "yref": f"{yref} domain"}
    else:
        place = {"x0": 0, "x1": 1, "xref": f"{xref} domain", "y0": value, "y1": value,
                 "yref": yref}
    shape = sorted_props({"line": {"color": colour, "dash": "dash"}, "type": "line", **place})
    if text is None:
        return shape, None
    if direction == "v":  # "top left" / "top right" of the line
        note = {"x": value, "xanchor": "right" if position == "top left" else "left",
                "xref": xref, "y": 1, "yanchor": "top", "yref": f"{yref} domain"}
    else:  # "top left": above the line at its left end
        note = {"x": 0, "xanchor": "left", "xref": f"{xref} domain", "y": value,
                "yanchor": "bottom", "yref": yref}
    return shape, sorted_props({"showarrow": False, "text": text, **note})


def subplot_grid(rows: int, cols: int, h_spacing: float, v_spacing: float,
          titles: Sequence[str] = ()) -> dict[str, Any]:
    """The layout ``make_subplots(rows, cols, ...)`` gives (top-left start, no spans): an
    x and y axis per panel with its domain, and the panels' titles."""
    widths = [(1.0 - h_spacing * (cols - 1)) / cols] * cols
    heights = [(1.0 - v_spacing * (rows - 1)) / rows] * rows
    layout: dict[str, Any] = {}
    domains = []
    for r in range(rows):
        y0 = sum(heights[:rows - 1 - r]) + (rows - 1 - r) * v_spacing
        y_domain = [clamp_domain(y0 + 0.0), clamp_domain(y0 + heights[-1 - r] - 0.0)]
        for c in range(cols):
            x0 = sum(widths[:c]) + c * h_spacing
            x_domain = [x0 + 0.0, x0 + widths[c] - 0.0]  # the titles' x: not clamped
            i = r * cols + c + 1
            n = "" if i == 1 else str(i)
            layout[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": [clamp_domain(x) for x in x_domain]}
            layout[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": y_domain}
            domains.append((x_domain, y_domain))
    layout["annotations"] = [
        {"font": {"size": 16}, "showarrow": False, "text": text, "x": sum(xd) / 2.0,
         "xanchor": "center", "xref": "paper", "y": yd[1], "yanchor": "bottom",
         "yref": "paper"} for text, (xd, yd) in zip(titles, domains, strict=False) if text]
    return layout


def clamp_domain(y: float) -> float:
    """A domain end rounded into [0, 1] as make_subplots (y) and the validation of a
    domain (x) do (float error)."""
    return 0.0 if -0.01 < y < 0.0 else 1.0 if 1.0 < y < 1.01 else y


def axis_key(i: int, letter: str) -> str:
    """The layout key of subplot ``i``'s axis (``xaxis``, ``yaxis2``, ...)."""
    return f"{letter}axis{'' if i == 1 else i}"


def axis_refs(i: int) -> tuple[str, str]:
    """The axes of subplot ``i`` as a trace names them (``("x", "y")``, ``("x2", "y2")``)."""
    n = "" if i == 1 else str(i)
    return f"x{n}", f"y{n}"


if __name__ == "__main__":  # rewrite the shipped template (after a Plotly upgrade)
    path = resources.files("custseg.report") / WHITE_TEMPLATE
    with resources.as_file(path) as file:
        file.write_text(json.dumps(plotly_white_template(), indent=1) + "\n", "utf-8")
