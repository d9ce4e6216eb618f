"""The figure dictionaries of custseg.report.plotly_dict are what Plotly's graph_objects
give (``Figure.to_dict()``), key order included: the report embeds them as they are."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from custseg.report import plotly_dict as pdict


def _layout(fig: go.Figure) -> dict:
    """A figure's layout as ``to_dict`` gives it, without Plotly's default template."""
    return {k: v for k, v in fig.to_dict()["layout"].items() if k != "template"}


def _same(mine: object, plotly: object) -> None:
    """Equal as JSON text: values and key order."""
    assert json.dumps(mine) == json.dumps(plotly)


@pytest.mark.parametrize(("rows", "cols", "h", "v"), [
    (1, 3, 0.09, 0.3), (2, 3, 0.08, 0.12), (3, 3, 0.05, 0.09), (4, 4, 0.05, 0.09),
    (7, 3, 0.08, 0.5 / 7), (5, 2, 0.08, 0.1), (1, 1, 0.2, 0.3)])
def test_subplot_grid_is_make_subplots_layout(rows: int, cols: int, h: float, v: float
                                              ) -> None:
    titles = [f"panel {i}" for i in range(rows * cols - 1)]  # one panel without a title
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=h,
                        vertical_spacing=v)
    expected = _layout(fig)
    grid = pdict.subplot_grid(rows, cols, h, v, titles)
    if not titles or rows * cols == 1:
        grid.pop("annotations")
    _same(grid, expected)


@pytest.mark.parametrize("direction", ["v", "h"])
def test_line_shape_is_add_line(direction: str) -> None:
    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Scatter(x=[0], y=[0]), 1, 2)  # Plotly draws no line on an empty panel
    add = fig.add_vline if direction == "v" else fig.add_hline
    add(2.5, line_dash="dash", line_color="#2ca02c", annotation_text="here",
        annotation_position="top left" if direction == "h" else "top right", row=1, col=2)
    layout = _layout(fig)
    shape, note = pdict.line_shape(direction, 2.5, "#2ca02c", "x2", "y2", text="here",
                                   position="top right")
    _same([shape], layout["shapes"])
    _same([note], layout["annotations"])


def test_trace_is_a_validated_trace() -> None:
    x = np.arange(5.0)
    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Scatter(x=x, y=[1, 2, 3, 4, 5], mode="markers", name="a",
                             marker={"size": 4, "color": "#1f77b4", "line": {"width": 0}},
                             text=None, hovertemplate="%{x}"), 1, 2)
    expected = fig.to_dict()["data"]
    mine = {"data": [pdict.trace("scatter", ("x2", "y2"), x=x, y=[1, 2, 3, 4, 5],
                                 mode="markers", name="a", text=None,
                                 marker={"size": 4, "color": "#1f77b4", "line": {"width": 0}},
                                 hovertemplate="%{x}")]}
    from _plotly_utils.utils import convert_to_base64

    convert_to_base64(mine)
    _same(mine["data"], expected)


def test_update_puts_new_objects_before_values() -> None:
    fig = go.Figure()
    fig.update_layout(height=300, margin={"l": 1, "t": 2}, showlegend=False,
                      legend={"y": -0.1, "orientation": "h"})
    layout: dict = {}
    pdict.update(layout, {"height": 300, "margin": {"l": 1, "t": 2}, "showlegend": False,
                          "legend": {"y": -0.1, "orientation": "h"}})
    _same(layout, _layout(fig))


def test_steady_gives_the_same_figure_for_last_bit_differences() -> None:
    """NumPy's AVX-512 and AVX2 kernels give projections that differ by about 1e-15: the
    report's figure must not (the golden reports are compared byte for byte)."""
    from custseg.report.figures import _figure_spec

    rng = np.random.default_rng(0)
    x = rng.normal(size=500) * 3.7
    nudged = x + rng.choice([-1, 0, 1], size=500) * np.spacing(x) * 4
    assert not np.array_equal(x, nudged)

    def page(values: np.ndarray) -> str:
        data = [pdict.trace("scatter", x=values, y=values[::-1].copy(), mode="markers")]
        layout = {"xaxis": {"range": [float(values.min()) - 0.05, 1]}}
        return json.dumps(_figure_spec(data, layout, 400))

    assert page(x) == page(nudged)
    # eight significant digits are kept: far more than a chart shows
    kept = pdict.steady({"x": x})["x"]
    assert np.abs(kept - x).max() <= 0.5e-7 * np.abs(x).max()
    assert pdict.steady({"n": np.arange(3), "s": "a", "v": [0.0, float("nan")]})["v"][0] == 0.0


def test_shipped_white_template_is_the_installed_plotlys() -> None:
    """The template the package ships is what the installed Plotly gives, key order included
    (after a Plotly upgrade: ``python -m custseg.report.plotly_dict`` rewrites it)."""
    _same(pdict.white_template(), pdict.plotly_white_template())
    fig = go.Figure(layout={"template": "plotly_white"})
    _same(pdict.white_template(), fig.to_dict()["layout"]["template"])
