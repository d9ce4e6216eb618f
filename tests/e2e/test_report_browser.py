"""The report opened in a real browser (headless Debian Chromium via Playwright): no console
errors, no request beyond the file, every chart drawn, names shown, hover shows the customer,
it prints.  Screenshots are saved in tests/artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser import ARTIFACTS, assert_charts_drawn, assert_clean, chromium, open_report
from custseg.explore import explore_file
from custseg.io import demo_data_path
from custseg.pipeline import segment_file, write_outputs
from custseg.report import write_explore

DEMO_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
DEMO_CHARTS = ["distributions", "correlation", "elbow", "k-scores", "scatter", "sizes",
               "silhouette", "z-heatmap"]


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    res = segment_file(demo_data_path(), features=DEMO_FEATURES, random_state=0,
                       command="custseg demo")
    out = write_outputs(res, tmp_path_factory.mktemp("demo") / "run")
    return res, out / "report.html"


def test_demo_report_in_the_browser(browser, demo):
    res, path = demo
    visit = open_report(browser, path)
    assert_clean(visit)
    charts = assert_charts_drawn(visit, DEMO_CHARTS)
    # every customer drawn once, plus the five centres; one silhouette bar each
    assert charts["scatter"]["points"] == 200 + 5
    assert charts["silhouette"]["bars"] == 200
    assert charts["sizes"]["bars"] == 5
    text = visit.page.inner_text("body")
    for seg in res.summary["segments"]:
        assert seg["name"] in text
    assert "Customers with low income but high spending: 11% of customers (22)." in text
    visit.screenshot("report-demo.png")


def test_hover_shows_the_customer(browser, demo):
    _, path = demo
    visit = open_report(browser, path)
    page = visit.page
    page.locator("#chart-scatter").scroll_into_view_if_needed()
    point = page.locator("#chart-scatter .scatterlayer path.point").first
    point.hover(force=True)
    page.wait_for_selector("#chart-scatter .hoverlayer .hovertext", timeout=10_000)
    label = page.locator("#chart-scatter .hoverlayer").text_content() or ""
    assert re.search(r"customer \d{4}", label), label
    assert "Annual Income (k$): " in label and "Spending Score (1-100): " in label
    assert_clean(visit)


def test_demo_report_prints(browser, demo):
    _, path = demo
    visit = open_report(browser, path)
    page = visit.page
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") \
        == "none"
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "report-demo.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    assert pdf.stat().st_size > 50_000
    assert len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes())) >= 5  # one section a page
    assert_charts_drawn(visit, DEMO_CHARTS)
    assert_clean(visit)


def test_three_features_report_in_the_browser(browser, tmp_path):
    res = segment_file(demo_data_path(), random_state=0)
    path = tmp_path / "report.html"
    from custseg.report import render_report

    path.write_text(render_report(res), "utf-8")
    visit = open_report(browser, path, width=1280, height=800)
    assert_clean(visit)
    charts = assert_charts_drawn(visit, ["distributions", "correlation", "elbow", "k-scores",
                                         "scatter", "scatter-matrix", "sizes", "silhouette",
                                         "z-heatmap"])
    assert charts["scatter-matrix"]["points"] == 3 * 200  # 3 pairs of features
    visit.screenshot("report-three-features.png")


def test_explore_report_in_the_browser(browser, tmp_path, wholesale_path):
    out = write_explore(explore_file(wholesale_path, command="custseg explore"), tmp_path / "e")
    visit = open_report(browser, out / "report.html")
    assert_clean(visit)
    charts = assert_charts_drawn(visit, ["distributions", "correlation"])
    assert charts["distributions"]["bars"] > 6 * 5  # 6 histograms and 2 category charts
    assert "Data overview" in visit.page.title()
    visit.screenshot("report-explore.png")


def test_hostile_names_do_not_run(browser, tmp_path):
    f = tmp_path / "x.csv"
    bad = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    lines = [f"id,{bad},b"] + [f"{bad}{i},{i % 9},{(i * 7) % 13}" for i in range(60)]
    f.write_text("\n".join(lines) + "\n")
    res = segment_file(f, random_state=0, k=3, id_col="id")
    out = write_outputs(res, tmp_path / "run")
    visit = open_report(browser, Path(out) / "report.html")
    assert_clean(visit)  # no dialog, no request for "x"
    assert bad in visit.page.inner_text("body")  # shown as text


def test_wide_report_fits_1280_px(browser, tmp_path):
    """30 columns and 8 segments: the profile table (features as rows) fits a 1280 px
    window, the page does not scroll sideways, the heatmap shows the top columns and a
    button shows them all."""
    import dataclasses

    from test_report import enrich, wide_frame

    from custseg.report import render_report

    data = tmp_path / "marketing.csv"
    wide_frame().to_csv(data, index=False)
    res = segment_file(data, random_state=0, k=8)
    res = dataclasses.replace(res, summary=enrich(res.summary, res.views.population_mean))
    path = tmp_path / "report.html"
    path.write_text(render_report(res), "utf-8")
    visit = open_report(browser, path, width=1280, height=900)
    assert_clean(visit)
    page = visit.page
    size = page.evaluate("""() => { const t = document.querySelector('table.profiles');
      const w = t.closest('.table-wrap');
      return {table: t.scrollWidth, wrap: w.scrollWidth, wrapClient: w.clientWidth,
              page: document.documentElement.scrollWidth,
              rows: t.querySelectorAll('tbody tr[data-column]').length}; }""")
    assert size["rows"] >= 25, size
    assert size["table"] <= 1280 and size["page"] <= 1280, size
    assert size["wrap"] <= size["wrapClient"], size  # nothing scrolls inside the table's box
    heat = page.evaluate("""() => { const p = document.querySelector('#fig-z-heatmap');
      return {rows: p.data[0].y.length, visible: p.data.map(t => t.visible),
              buttons: p.querySelectorAll('.updatemenu-button').length}; }""")
    assert heat["rows"] <= 12 and heat["visible"][0] is not False, heat
    if len(heat["visible"]) > 1:  # more columns than shown: one click shows them all
        assert heat["visible"][1] is False and heat["buttons"] == 2, heat
        box = "() => document.querySelector('#chart-z-heatmap').getBoundingClientRect().height"
        before = page.evaluate(box)
        page.locator("#chart-z-heatmap .updatemenu-button").nth(1).click()
        page.wait_for_function("() => document.querySelector('#fig-z-heatmap').data[1]"
                               ".visible === true")
        page.wait_for_function(f"() => ({box})() > {before}")  # the box grows to fit them
        page.locator("#chart-z-heatmap .updatemenu-button").nth(0).click()
    section = page.locator("#profiles")
    table = page.locator("table.profiles")
    table.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    table.screenshot(path=str(ARTIFACTS / "report-wide-profiles.png"))
    assert section.is_visible()
    visit.screenshot("report-wide.png")


def test_the_browser_checks_catch_problems(browser, tmp_path):
    """The checks above can fail: a request to the network, a console error, a script error
    and an empty chart container are all caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>bad</title>'
        '<script src="https://cdn.example.invalid/plotly.js"></script></head><body>'
        '<figure class="chart" data-chart="empty"><div class="plot"></div></figure>'
        '<script>console.error("boom"); notAFunction();</script></body></html>', "utf-8")
    visit = open_report(browser, page, wait_for_charts=False)
    assert visit.blocked == ["https://cdn.example.invalid/plotly.js"]
    assert any("boom" in e for e in visit.console_errors)
    assert any("notAFunction" in e for e in visit.page_errors)
    with pytest.raises(AssertionError):
        assert_clean(visit)
    with pytest.raises(AssertionError):
        assert_charts_drawn(visit, ["empty"])
