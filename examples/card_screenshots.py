"""Regenerate the screenshots of the notebook card in docs/img/ (docs/notebook.md).

The card of ``custseg.segment()`` on the Mall data is rendered in headless Chromium
(Debian's /usr/bin/chromium driven by Playwright's Python package, as the tests do) inside a
light page and a dark page (JupyterLab's default backgrounds and text colours, and the
matching ``prefers-color-scheme``), with every network request refused.  Run:

    .venv/bin/python examples/card_screenshots.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import custseg

ROOT = Path(__file__).resolve().parents[1]
#: background, text colour
THEMES = {"light": ("#ffffff", "rgba(0,0,0,.87)"), "dark": ("#111111", "rgba(255,255,255,.87)")}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def page_html(card: str, theme: str) -> str:
    background, colour = THEMES[theme]
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
            f'<body style="background:{background};color:{colour};margin:16px;'
            f'font-family:sans-serif"><div class="jp-OutputArea-output">{card}</div>'
            "</body></html>")


def main(out: Path = ROOT / "docs" / "img") -> list[Path]:
    from playwright.sync_api import sync_playwright

    result = custseg.segment(custseg.demo_data_path(),
                             features=["Annual Income (k$)", "Spending Score (1-100)"])
    card = result._repr_html_()
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            for theme in THEMES:
                page = browser.new_page(viewport={"width": 1180, "height": 600},
                                        color_scheme=theme, device_scale_factor=1)
                page.route("**/*", lambda route: route.abort())
                page.set_content(page_html(card, theme))
                path = out / f"notebook-card-{theme}.png"
                page.locator(".custseg-card").screenshot(path=str(path))
                written.append(path)
        finally:
            browser.close()
    return written


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img"):
        print(path)
