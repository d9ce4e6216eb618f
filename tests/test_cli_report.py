"""The report from the command line: ``custseg explore`` and ``--png``, run as the real
command in a subprocess (and in-process where a missing package is simulated)."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT, run_custseg
from custseg.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _one_openmp_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as in test_cli_e2e: fast on a busy machine
    yield


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    return struct.unpack(">II", data[16:24])


def test_importing_the_cli_imports_no_report_machinery() -> None:
    code = ("import custseg.cli, sys; print(sorted(m for m in sys.modules if m.split('.')[0] "
            "in {'jinja2','kaleido','playwright','plotly'} or m in {'custseg.report', "
            "'custseg.explore'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_explore_writes_the_data_report(tmp_path: Path, wholesale_path: Path) -> None:
    proc = run_custseg("explore", str(wholesale_path), "--out", "eda", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
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
    proc = run_custseg("explore", "mall.csv", "--features", "Age,Annual Income (k$)",
                       "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    page = (tmp_path / "mall-explore" / "report.html").read_text("utf-8")
    assert "Would segment on</dt><dd>Age, Annual Income (k$)</dd>" in page
    again = run_custseg("explore", "mall.csv", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    assert run_custseg("explore", "mall.csv", "--force", "-q", cwd=tmp_path).returncode == 0
    missing = run_custseg("explore", "nope.csv", cwd=tmp_path)
    assert missing.returncode == 3 and "no such file" in missing.stderr
    bad = run_custseg("explore", "mall.csv", "--features", "Nope", "--out", "x", cwd=tmp_path)
    assert bad.returncode == 2 and "Nope" in bad.stderr


def test_demo_png_writes_every_chart(tmp_path: Path) -> None:
    proc = run_custseg("demo", "--png", "slides", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
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
    proc = run_custseg("segment", str(mall_path), "--out", "run", "--png", "charts",
                       cwd=tmp_path)
    assert proc.returncode == 2
    assert "no Chrome or Chromium browser found" in proc.stderr
    assert "apt-get install chromium" in proc.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "charts").exists()


def test_png_without_kaleido_says_what_to_install(tmp_path: Path, mall_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "kaleido", None)  # import kaleido -> ImportError
    monkeypatch.chdir(tmp_path)
    code = main(["explore", str(mall_path), "--out", "eda", "--png", "charts"])
    assert code == 2
    assert "pip install 'custseg[png]'" in capsys.readouterr().err
    assert not (tmp_path / "eda").exists()
