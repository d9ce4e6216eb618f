"""custseg in a notebook (custseg.notebook): the card of a fitted Segmenter and of the result
objects, custseg.segment() on every input type, plots, report, explanations, and the example
notebook executed in a real Jupyter kernel."""

from __future__ import annotations

import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import custseg
from custseg import Segmenter, UsageError, demo_data_path, load_table
from custseg.notebook import (
    PLOT_KINDS,
    Segmentation,
    comparison_html,
    comparison_text,
    segment_html,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
MALL_SEGMENTS = [("Mid income · Mid spending", 81, "40.5%"),
                 ("High income · High spending", 39, "19.5%"),
                 ("High income · Low spending", 35, "17.5%"),
                 ("Low income · Low spending", 23, "11.5%"),
                 ("Low income · High spending", 22, "11.0%")]
HOSTILE = "<script>alert(1)</script>"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
#: Attributes and CSS that would fetch something.
EXTERNAL = ("src", "href", "xlink:href", "srcset", "action", "formaction", "background",
            "poster", "data")


class StrictHTML(HTMLParser):
    """Parses a fragment and records what a browser would fetch or run: every element must
    be closed in order (void elements excepted)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.external: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in EXTERNAL or name.startswith("on"):
                self.external.append(f"{tag} {name}={value}")
            if name == "style" and value:
                self.styles.append(value)
        if tag not in VOID:
            self.stack.append(tag)
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in EXTERNAL or name.startswith("on"):
                self.external.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        else:
            self.text.append(data)


def parse(fragment: str) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(fragment)
    parser.close()
    assert not parser.errors, parser.errors[:5]
    assert not parser.stack, f"unclosed elements: {parser.stack}"
    return parser


def assert_self_contained(fragment: str) -> StrictHTML:
    parser = parse(fragment)
    assert "script" not in parser.tags
    assert not {"img", "link", "iframe", "object", "embed", "image", "use"} & set(parser.tags)
    assert not parser.external, parser.external
    css = " ".join(parser.styles).lower()
    assert "url(" not in css and "@import" not in css
    return parser


@pytest.fixture(scope="module")
def mall() -> pd.DataFrame:
    return load_table(demo_data_path())


@pytest.fixture(scope="module")
def fitted(mall: pd.DataFrame) -> Segmenter:
    return Segmenter(features=FEATURES, random_state=0).fit(mall)


@pytest.fixture(scope="module")
def result() -> Segmentation:
    return custseg.segment(demo_data_path(), features=FEATURES)


# ----------------------------------------------------------------------------- the card
def test_card_of_fitted_segmenter_on_mall(fitted: Segmenter) -> None:
    card = fitted._repr_html_()
    parser = assert_self_contained(card)
    text = " ".join(" ".join(parser.text).split())
    for name, size, share in MALL_SEGMENTS:
        assert name in text
        assert f"{size}" in text and share in text
    assert "5 segments" in text and "confidence high" in text
    assert "<svg" in card  # the inline charts
    assert len(card.encode()) < 200_000
    bundle = fitted._repr_mimebundle_()
    assert bundle["text/html"] == card
    assert bundle["text/plain"] == repr(fitted)


def test_plain_repr_of_fitted_segmenter(fitted: Segmenter) -> None:
    text = repr(fitted)
    first, headline, *rows = text.splitlines()
    assert first == ("Segmenter(features=['Annual Income (k$)', 'Spending Score (1-100)'], "
                     "random_state=0)")
    assert headline.startswith("5 segments of 200 customers · K-Means · k chosen by consensus")
    assert len(rows) == 5
    for row, (name, size, share) in zip(rows, MALL_SEGMENTS, strict=True):
        assert name in row and f" {size} " in row and share in row


def test_unfitted_segmenter_shows_sklearn_repr() -> None:
    from sklearn.base import BaseEstimator

    seg = Segmenter(k=3, random_state=0)
    assert repr(seg) == BaseEstimator.__repr__(seg) == "Segmenter(k=3, random_state=0)"
    html = seg._repr_html_()
    assert "custseg-card" not in html and "sk-" in html  # scikit-learn's estimator diagram
    bundle = seg._repr_mimebundle_()
    assert bundle["text/plain"] == "Segmenter(k=3, random_state=0)"
    assert "custseg-card" not in bundle.get("text/html", "")


def test_card_escapes_hostile_column_names(mall: pd.DataFrame) -> None:
    df = mall.rename(columns={"Spending Score (1-100)": HOSTILE,
                              "Annual Income (k$)": 'income" onmouseover="alert(2)'})
    seg = Segmenter(features=[HOSTILE, 'income" onmouseover="alert(2)'],
                    random_state=0).fit(df)
    for fragment in (seg._repr_html_(), seg.k_selection_._repr_html_(),
                     segment_html(seg.segments_[1])):
        assert HOSTILE not in fragment and "<script" not in fragment.lower()
        assert_self_contained(fragment)
    card = seg._repr_html_()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    assert 'onmouseover="' not in card


def test_card_small_on_thirty_columns() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (4, 30))
    groups = rng.integers(0, 4, 2_000)
    X = centres[groups] + rng.normal(0, 1, (2_000, 30))
    names = [f"{HOSTILE} spend on category number {i} with a long name" for i in range(30)]
    df = pd.DataFrame(X, columns=names)
    seg = Segmenter(random_state=0, k_range=(2, 6)).fit(df)
    card = seg._repr_html_()
    assert len(card.encode()) < 200_000
    assert HOSTILE not in card
    assert_self_contained(card)


# ----------------------------------------------------------------------------- other objects
def test_k_selection_display(fitted: Segmenter) -> None:
    sel = fitted.k_selection_
    text = repr(sel)
    assert text.startswith("KSelection(k=5, method='consensus', confidence high (0.70)")
    assert sel.explanation in text
    card = sel._repr_html_()
    parser = assert_self_contained(card)
    body = " ".join(parser.text)
    assert "k = 5" in body and "0.55" in body  # the chosen k's silhouette in the score table


def test_segment_display(result: Segmentation) -> None:
    seg = result.segments[2]
    assert seg.name == "High income · Low spending" and seg.size == 35
    text = repr(seg)
    assert text.startswith("Segment 2 · High income · Low spending: 35 customers (17.5%)")
    assert "Recommendation: Untapped potential" in text
    parser = assert_self_contained(seg._repr_html_())
    assert "▲ income 1.5×" in " ".join(parser.text)


def test_comparison_display() -> None:
    from custseg.comparison import Comparison, MethodResult

    rows = [MethodResult("kmeans", 5, 0.81, 0.95, 0.55, 1.0, 1.0, [0.9] * 5, [],
                         ["a"] * 5, "", 0.1),
            MethodResult("gmm", 4, 0.6, 0.7, 0.4, 1.0, 0.75, [0.5] * 4, [HOSTILE],
                         ["b"] * 4, "", 0.2)]
    comparison = Comparison(rows, "kmeans", [f"most stable {HOSTILE}"], {"hdbscan": HOSTILE})
    card = comparison_html(comparison)
    assert HOSTILE not in card
    parser = assert_self_contained(card)
    assert "Recommended: K-Means" in " ".join(parser.text)
    assert comparison_text(comparison).startswith("Comparison: recommended kmeans")


# ----------------------------------------------------------------------------- segment()
def test_segment_result_display(result: Segmentation) -> None:
    assert result.k == 5
    assert [s.size for s in result.segments] == [81, 39, 35, 23, 22]
    card = result._repr_html_()
    assert_self_contained(card)
    assert "mall_customers.csv" in card
    assert repr(result).splitlines()[0].startswith("5 segments of 200 customers")


def _inputs(kind: str, path: Path) -> object:
    frame = pd.read_csv(path)
    if kind == "path":
        return path
    if kind == "pandas":
        return frame
    if kind.startswith("polars"):
        pl = pytest.importorskip("polars")
        return pl.from_pandas(frame).lazy() if kind == "polars-lazy" else pl.from_pandas(frame)
    import pyarrow as pa

    if kind == "arrow-batch":
        return pa.RecordBatch.from_pandas(frame, preserve_index=False)
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.mark.parametrize("kind", ["path", "pandas", "polars", "arrow"])
@pytest.mark.parametrize("features", [FEATURES, None], ids=["two-features", "default"])
def test_segment_gives_segmenter_labels(kind: str, features: list[str] | None,
                                        mall_path: Path) -> None:
    data = _inputs(kind, mall_path)
    result = custseg.segment(data, features=features)
    reference = (load_table(mall_path) if kind == "path" else pd.read_csv(mall_path))
    expected = Segmenter(features=features, random_state=0).fit(reference).labels_
    np.testing.assert_array_equal(result.labels, expected)
    assert len(result.to_frame()) == 200


def test_segment_same_labels_across_inputs(mall_path: Path) -> None:
    labels = [custseg.segment(_inputs(kind, mall_path), features=FEATURES, k=5).labels
              for kind in ("path", "pandas", "polars", "polars-lazy", "arrow", "arrow-batch")]
    for other in labels[1:]:
        np.testing.assert_array_equal(other, labels[0])


def test_segment_rejects_other_objects() -> None:
    with pytest.raises(UsageError, match="file path, a pandas or Polars DataFrame"):
        custseg.segment(42)


def test_to_frame(result: Segmentation) -> None:
    frame = result.to_frame()
    assert list(frame.columns[-3:]) == ["segment", "segment_name", "distance"]
    assert len(frame) == 200 and frame.index.equals(result.table.index)
    np.testing.assert_array_equal(frame["segment"], result.labels)
    assert frame["segment"].value_counts().sort_index().tolist() == [81, 39, 35, 23, 22]
    assert "segment" not in result.table.columns  # the caller's table is not modified


@pytest.mark.parametrize("kind", PLOT_KINDS)
def test_plot(result: Segmentation, kind: str) -> None:
    import plotly.graph_objects as go

    fig = result.plot(kind)
    assert isinstance(fig, go.Figure) and fig.data


def test_plot_unknown_kind(result: Segmentation) -> None:
    with pytest.raises(UsageError, match="plot kind must be one of"):
        result.plot("pie")


def test_plot_elbow_needs_a_range(mall: pd.DataFrame) -> None:
    fixed = custseg.segment(mall, features=FEATURES, k=5)
    with pytest.raises(UsageError, match="no elbow chart"):
        fixed.plot("elbow")


def test_report(result: Segmentation, tmp_path: Path) -> None:
    out = result.report(tmp_path / "out.html")
    text = out.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>") or text.lower().startswith("<!doctype html>")
    for name, _, _ in MALL_SEGMENTS:
        assert name in text


def test_explain(result: Segmentation) -> None:
    why = result.explain("0001")
    assert why.segment == int(result.labels[0]) == 3
    assert why.name == "Low income · Low spending"
    assert why.text.startswith("Customer 0001 is in segment 3 · Low income · Low spending")
    assert "Like its segment: ▼ income: 15.0" in why.text
    assert why.runner_up is not None and why.runner_up != why.segment
    assert why.runner_up_distance >= why.distance
    assert list(why.table["feature"]) == FEATURES
    assert result.explain(1).segment == 3  # the id as parsed from the file ("0001") or a number
    assert_self_contained(why._repr_html_())


def test_explain_without_id_column_uses_index(mall: pd.DataFrame) -> None:
    df = mall.drop(columns=["CustomerID"]).set_axis([f"c{i}" for i in range(200)])
    res = custseg.segment(df, features=FEATURES)
    assert res.explain("c0").segment == int(res.labels[0])
    with pytest.raises(UsageError, match="not found in the table's index"):
        res.explain("nobody")


def test_import_custseg_is_light() -> None:
    import subprocess  # a real process: a fresh interpreter's sys.modules
    import sys

    code = ("import sys, custseg; custseg.segment; "
            "print(sorted(m for m in ('sklearn', 'pandas', 'plotly', 'scipy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"  # custseg.segment resolves without the numerical stack


def test_readme_notebook_snippet_runs(mall_path: Path, tmp_path: Path) -> None:
    """The README's Notebook snippet, on the Mall data (its file, customer and report path
    substituted)."""
    import re

    text = (ROOT / "README.md").read_text("utf-8")
    section = text[text.index("## Notebook"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = (code.replace('"customers.csv"', repr(str(mall_path)))
            .replace('"C1042"', '"0001"')
            .replace('"report.html"', repr(str(tmp_path / "report.html"))))
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert 3 <= namespace["result"].k <= 8  # every numeric column: age too
    assert (tmp_path / "report.html").exists()


# ----------------------------------------------------------------------------- the notebook
def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is missing: it is in the dev extra")
        pytest.skip(f"the example notebook needs {module} (pip install -e '.[dev]')")


def test_example_notebook_has_no_outputs() -> None:
    nb = json.loads((EXAMPLES / "quickstart.ipynb").read_text("utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]


@pytest.mark.slow
def test_example_notebook_runs(tmp_path: Path) -> None:
    for module in ("nbclient", "nbformat", "ipykernel"):
        _require(module)
    import nbformat
    from nbclient import NotebookClient

    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns("*.html", ".ipynb*"))
    nb = nbformat.read(work / "quickstart.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    htmls = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    cards = [h for h in htmls if "custseg-card" in h]
    assert len(cards) >= 3
    assert any("Low income · High spending" in h for h in cards)
    plots = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(plots) >= 4
    assert (work / "mall-report.html").exists()


# ----------------------------------------------------------------------------- in a browser
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_card_in_browser_follows_the_theme(result: Segmentation, theme: str) -> None:
    """In Chromium, on a light and a dark page: the text takes the page's colour, the card
    lets the page's background through, nothing is requested, every segment is drawn."""
    import importlib.util
    import sys

    from browser import ARTIFACTS, chromium

    spec = importlib.util.spec_from_file_location("card_screenshots",
                                                  EXAMPLES / "card_screenshots.py")
    shots = importlib.util.module_from_spec(spec)
    sys.modules["card_screenshots"] = shots
    spec.loader.exec_module(shots)
    requests: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1180, "height": 600}, color_scheme=theme)
        page.on("request", lambda r: requests.append(r.url))
        page.set_content(shots.page_html(result._repr_html_(), theme))
        style = page.evaluate("""() => {
            const s = e => getComputedStyle(document.querySelector(e));
            return {body: s('body').color, name: s('.custseg-card .cs-name').color,
                    cell: s('.custseg-card td').color,
                    background: s('.custseg-card').backgroundColor,
                    rows: document.querySelectorAll('.custseg-card tbody tr').length,
                    bars: document.querySelectorAll('.custseg-card td svg').length};
        }""")
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(".custseg-card").screenshot(path=str(ARTIFACTS /
                                                          f"notebook-card-{theme}.png"))
    assert [u for u in requests if not u.startswith(("about:", "data:"))] == []
    assert style["name"] == style["cell"] == style["body"]
    assert style["background"] in ("rgba(0, 0, 0, 0)", "transparent")
    assert style["rows"] == 5 and style["bars"] == 5
