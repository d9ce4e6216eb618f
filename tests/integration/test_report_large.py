"""A report on one million customers: small (under 10 MB), valid, sampled (at most a few
thousand points a chart, stratified by segment, and it says so), and quick to open.

The data are generated here (four groups of customers, three features), written as
Parquet, and go through the real pipeline (``segment_file``: checks, choice of k on a
sample, K-Means on everyone, profiles, the report's numbers) and the real report.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from browser import assert_charts_drawn, assert_clean, chromium, open_report
from custseg.pipeline import segment_file
from custseg.report import render_report
from pagecheck import check_page

pytestmark = pytest.mark.slow
N = 1_000_000
MAX_BYTES = 10_000_000


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    rng = np.random.default_rng(0)
    centres = np.array([[20.0, 20, 30], [80, 80, 45], [80, 20, 40], [20, 80, 25]])
    group = rng.choice(4, N, p=[0.4, 0.3, 0.2, 0.1])
    X = centres[group] + rng.normal(0, 6, (N, 3))
    df = pd.DataFrame({"customer_id": pd.Series(np.arange(N)).map("C{:07d}".format),
                       "income": X[:, 0].round(2), "spending": X[:, 1].round(2),
                       "age": X[:, 2].round(0)})
    tmp = tmp_path_factory.mktemp("million")
    data = tmp / "customers.parquet"
    df.to_parquet(data, index=False)
    t0 = time.perf_counter()
    result = segment_file(data, random_state=0, k_range=(2, 6))
    t1 = time.perf_counter()
    page = render_report(result)
    t2 = time.perf_counter()
    path = tmp / "report.html"
    path.write_text(page, "utf-8")
    return result, path, {"segment_seconds": t1 - t0, "render_seconds": t2 - t1}


def test_million_report_is_small_valid_and_sampled(million, record_property):
    result, path, timings = million
    page = path.read_text("utf-8")
    size = path.stat().st_size
    record_property("report_bytes", size)
    record_property("render_seconds", round(timings["render_seconds"], 2))
    record_property("segment_seconds", round(timings["segment_seconds"], 2))
    assert result.summary["n_customers"] == N and result.summary["k"] == 4
    assert size < MAX_BYTES
    plotly_js = get_plotlyjs()
    assert page.count(plotly_js[:300]) == 1
    assert size - len(plotly_js.encode()) < 1_500_000  # the charts' data stay small
    check_page(page)
    v = result.views
    assert len(v.points) == 3000 and len(v.silhouette) == 2000 and len(v.matrix_rows) == 1000
    assert set(v.points["segment"]) == set(range(4))  # stratified: every segment drawn
    assert "Sampled: showing 3,000 of 1,000,000 customers" in page
    assert "Sampled: showing 1,000 of 1,000,000 customers" in page
    assert "Sampled: showing 2,000 of 1,000,000 customers in a segment" in page
    n_k = result.summary["k_selection"]["n_samples"]  # the pipeline's choice (10,000 now)
    assert 0 < n_k < N and f"k was chosen on a random sample of {n_k:,} customers" in page
    assert timings["render_seconds"] < 15


def test_million_report_opens_in_the_browser(million, record_property):
    _, path, _ = million
    with chromium() as browser:
        visit = open_report(browser, path)
        record_property("browser_load_seconds", round(visit.load_seconds, 2))
        assert_clean(visit)
        charts = assert_charts_drawn(visit, ["distributions", "correlation", "elbow",
                                             "k-scores", "scatter", "scatter-matrix",
                                             "sizes", "silhouette", "z-heatmap"])
        assert charts["scatter"]["points"] == 3000 + 4
        assert charts["scatter-matrix"]["points"] == 3 * 1000
        assert charts["silhouette"]["bars"] == 2000
        assert visit.load_seconds < 30
        visit.screenshot("report-1m.png")
