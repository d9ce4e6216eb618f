"""The report from the command line: ``custseg explore`` and ``--png``, run in process
(``conftest.invoke``); the import cost of the CLI module is checked in a fresh interpreter."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, invoke

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# the terminal tests reuse tests/integration/test_report.py's summaries: importable even
# when this file runs alone (pytest puts only the folders of the collected files on sys.path)
if str(ROOT / "tests" / "integration") not in sys.path:
    sys.path.append(str(ROOT / "tests" / "integration"))




def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    return struct.unpack(">II", data[16:24])


def test_importing_the_cli_imports_no_report_machinery() -> None:
    # a real process: a fresh interpreter's sys.modules
    code = ("import custseg.cli, sys; print(sorted(m for m in sys.modules if m.split('.')[0] "
            "in {'jinja2','kaleido','playwright','plotly'} or m in {'custseg.report', "
            "'custseg.explore'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_explore_writes_the_data_report(tmp_path: Path, wholesale_path: Path) -> None:
    proc = invoke("explore", str(wholesale_path), "--out", "eda", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "eda").iterdir()) == ["report.html"]
    page = (tmp_path / "eda" / "report.html").read_text("utf-8")
    assert "<title>Data overview: wholesale_customers.csv</title>" in page
    assert '<section id="data">' in page and '<section id="k">' not in page
    assert re.findall(r'data-chart="([\w-]+)"', page) == ["distributions", "correlation"]
    assert "custseg explore" in page  # the command, in the footer
    assert "Read 440 rows × 8 columns" in proc.stdout
    assert "would segment on: Fresh, Milk, Grocery, Frozen, Detergents_Paper, Delicassen" \
        in proc.stdout
    assert "categorical: Channel, Region" in proc.stdout


def test_explore_default_out_options_and_errors(tmp_path: Path, mall_path: Path) -> None:
    data = tmp_path / "mall.csv"
    data.write_bytes(mall_path.read_bytes())
    proc = invoke("explore", "mall.csv", "--features", "Age,Annual Income (k$)",
                  "--quiet", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    assert proc.stdout == ""
    page = (tmp_path / "custseg-out" / "mall-explore" / "report.html").read_text("utf-8")
    assert "Would segment on</dt><dd>Age, Annual Income (k$)</dd>" in page
    again = invoke("explore", "mall.csv", cwd=tmp_path)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert invoke("explore", "mall.csv", "--force", "-q", cwd=tmp_path).exit_code == 0
    missing = invoke("explore", "nope.csv", cwd=tmp_path)
    assert missing.exit_code == 3 and "no such file" in missing.stderr
    bad = invoke("explore", "mall.csv", "--features", "Nope", "--out", "x", cwd=tmp_path)
    assert bad.exit_code == 2 and "Nope" in bad.stderr


def test_demo_png_writes_every_chart(tmp_path: Path) -> None:
    proc = invoke("demo", "--png", "slides", cwd=tmp_path)
    assert proc.exit_code == 0, proc.stderr
    page = (tmp_path / "custseg-demo" / "report.html").read_text("utf-8")
    charts = re.findall(r'data-chart="([\w-]+)"', page)
    pngs = sorted((tmp_path / "slides").iterdir())
    assert [p.name for p in pngs] == [f"{i:02d}-{c}.png" for i, c in enumerate(charts, 1)]
    for p in pngs:
        width, height = png_size(p)
        assert width == 2400 and height >= 500  # 1200 px at scale 2
        assert p.stat().st_size > 20_000  # something was drawn
    assert f"Wrote {len(charts)} charts as PNG to slides" in proc.stdout


def test_png_without_a_browser_fails_before_any_work(tmp_path: Path, mall_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chrome"))
    proc = invoke("segment", str(mall_path), "--out", "run", "--png", "charts",
                  cwd=tmp_path)
    assert proc.exit_code == 2
    assert "no Chrome or Chromium browser found" in proc.stderr
    assert "apt-get install chromium" in proc.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "charts").exists()


def test_png_without_kaleido_says_what_to_install(tmp_path: Path, mall_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kaleido", None)  # import kaleido -> ImportError
    proc = invoke("explore", str(mall_path), "--out", "eda", "--png", "charts", cwd=tmp_path)
    assert proc.exit_code == 2
    assert "pip install 'custseg[png]'" in proc.stderr
    assert not (tmp_path / "eda").exists()


# ----------------------------------------------------------------------------- terminal
def _terminal(summary: dict) -> str:
    from types import SimpleNamespace

    from rich.console import Console

    from custseg.cli.output import print_result

    console = Console(record=True, width=200, highlight=False, soft_wrap=False)
    print_result(console, SimpleNamespace(summary=summary), None)
    return console.export_text()


def _cli_summary() -> dict:
    from test_report import HOSTILE, wide_summary

    s = wide_summary()
    s.update({
        "input": {"path": "[red]x[/red].csv", "format": "csv", "encoding": "utf-8",
                  "delimiter": ",", "rows": 2585, "columns": 35},
        "roles": {"id_column": "ID", "numeric": s["features"], "categorical": [
            "Education", "Marital_Status"], "dates": [], "ignored": {}},
        "preprocessing": {"numeric": s["features"], "categorical": [], "log_columns": [],
                          "impute": "median", "clip": None},
        "cleaning": {}, "warnings": [{"column": HOSTILE, "message": "odd [i]values[/i]",
                                      "rows": [3]}],
        "k_selection": {"scores": [], "method": "fixed", "chosen_k": 8,
                        "explanation": "k = 8, as asked for."}})
    s["segments"][2]["name"] = "[bold]Loud[/bold] segment"
    return s


def test_terminal_shows_each_segments_own_features_and_escapes_names() -> None:
    from test_report import HOSTILE

    s = _cli_summary()
    text = _terminal(s)
    assert "Read 2585 rows × 35 columns from [red]x[/red].csv" in text
    assert HOSTILE in text and "odd [i]values[/i]" in text  # shown as written, not markup
    assert "[bold]Loud[/bold] segment" in text
    # one row a segment, with its own distinguishing features (labels, ▲/▼ by the z sign)
    for seg in s["segments"]:
        first = seg["traits"][0]
        arrow = "▲" if first["z"] > 0 else "▼"
        assert f"{arrow} {first['label']}" in text, first
    wines = next(t for t in s["segments"][0]["traits"] if t["feature"] == "MntWines")
    assert f"▲ spend on wines {wines['ratio']:.1f}×" in text
    assert "outlier group: review individually" in text
    # what was dropped, and the outliers
    assert "dropped ids: ID" in text and "dropped constants: Z_CostContact" in text
    assert "dropped near-duplicates: MntTotal (kept MntWines, r = 0.97)" in text
    assert "outliers:  3 customers (0.1%) in 2 columns (Income, Year_Birth)" in text
    assert "winsorised for fitting, not removed" in text
    assert "Recommendations" in text and "Recommendation for segment 7." in text
    # no column list of the first four features any more
    assert "(mean)" not in text


def test_terminal_without_issue_12_keys_uses_the_distinguishing_features() -> None:
    s = _cli_summary()
    for key in ("columns", "labels", "outliers", "near_duplicates"):
        del s[key]
    for seg in s["segments"]:
        for key in ("traits", "evidence", "outlier_group", "notable_categories"):
            seg.pop(key, None)
    text = _terminal(s)
    seg = s["segments"][0]
    top = next(f for f in seg["distinguishing"] if abs(seg["z"][f]) >= 0.5)
    from custseg.profiling import short_label

    arrow = "▲" if seg["z"][top] > 0 else "▼"
    assert f"{arrow} {short_label(top)} {seg['z'][top]:+.1f} sd".replace("-", "−") in text
    assert "dropped" not in text and "outliers:" not in text
