"""Open a generated report in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright's Python package; no browser is downloaded) and record what happened: console
errors, page errors, dialogs, every request, and what each chart drew."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        "--disable-dev-shm-usage"]

#: Per chart: its size and how many marks (points, bars, lines, heatmap images) it drew.
CHARTS_JS = """() => Array.from(document.querySelectorAll('figure.chart')).map(f => {
  const p = f.querySelector('.js-plotly-plot');
  const r = p ? p.getBoundingClientRect() : {width: 0, height: 0};
  const n = s => p ? p.querySelectorAll(s).length : 0;
  return {id: f.dataset.chart, width: r.width, height: r.height, svg: n('.main-svg'),
          points: n('.scatterlayer path.point'), bars: n('.barlayer .point path'),
          lines: n('.js-line'), images: n('.heatmaplayer image, .hm image')};
})"""


def require_chromium() -> None:
    """Skip when Debian's chromium is missing here; in CI (.ci/run installs it) fail."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} "
                "(apt-get install chromium)")


@contextmanager
def chromium() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """One report opened in the browser."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    load_seconds: float = 0.0

    def charts(self) -> list[dict[str, Any]]:
        return self.page.evaluate(CHARTS_JS)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def open_report(browser: Any, path: Path, width: int = 1366, height: int = 900,
                wait_for_charts: bool = True) -> Visit:
    """Open ``path`` and wait until every chart container holds a drawn plot.  Any request
    to something other than the file itself is recorded and blocked."""
    import time

    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    url = path.resolve().as_uri()
    visit = Visit(page, url)

    def route(r: Any) -> None:
        if r.request.url == url:
            r.continue_()
        else:
            visit.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("request", lambda r: visit.requests.append(r.url))
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error"
            else None)
    page.on("pageerror", lambda e: visit.page_errors.append(str(e)))

    def dialog(d: Any) -> None:
        visit.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    t0 = time.perf_counter()
    page.goto(url, wait_until="load", timeout=60_000)
    if not wait_for_charts:
        page.wait_for_timeout(200)
        return visit
    page.wait_for_function(
        "() => { const c = document.querySelectorAll('figure.chart');"
        " return Array.from(c).every(f => f.querySelector('.js-plotly-plot .main-svg')); }",
        timeout=60_000)
    visit.load_seconds = time.perf_counter() - t0
    return visit


def assert_clean(visit: Visit) -> None:
    """No console error, no page error, no dialog, no request beyond the file itself."""
    assert visit.console_errors == []
    assert visit.page_errors == []
    assert visit.dialogs == []
    assert visit.blocked == []
    assert set(visit.requests) == {visit.url}


def assert_charts_drawn(visit: Visit, expected: list[str]) -> dict[str, dict[str, Any]]:
    """Every chart container drew something visible; returns the charts by id."""
    charts = visit.charts()
    assert [c["id"] for c in charts] == expected
    for c in charts:
        assert c["svg"] >= 1 and c["width"] > 300 and c["height"] > 200, c
        assert c["points"] + c["bars"] + c["lines"] + c["images"] > 0, c
    return {c["id"]: c for c in charts}
