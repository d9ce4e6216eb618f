"""The HTML report as a file: self-contained, every section and chart, names, sampling
notes, size, determinism, escaping; and the plain-language findings."""

from __future__ import annotations

import copy
import dataclasses
import html
import re

import pytest
from plotly.offline import get_plotlyjs

import custseg.report as report
from custseg.explore import explore_file, segment_views
from custseg.io import demo_data_path
from custseg.pipeline import segment_file
from custseg.report.findings import findings, segment_finding, who, why_k
from pagecheck import check_page

DEMO_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
SECTIONS = ["data", "k", "segments", "profiles", "findings"]
PLOTLY_HEAD = get_plotlyjs()[:300]


def chart_ids(page: str) -> list[str]:
    return re.findall(r'<figure class="chart" id="chart-([\w-]+)"', page)


@pytest.fixture(scope="module")
def demo():
    return segment_file(demo_data_path(), features=DEMO_FEATURES, random_state=0,
                        command="custseg demo")


@pytest.fixture(scope="module")
def demo_page(demo):
    return report.render_report(demo)


@pytest.fixture(scope="module")
def demo3():
    return segment_file(demo_data_path(), random_state=0)


# ----------------------------------------------------------------------------- the page
def test_report_is_a_valid_self_contained_page(demo_page):
    check_page(demo_page)
    assert demo_page.count(PLOTLY_HEAD) == 1  # plotly.js inlined once, not per chart
    assert demo_page.index(PLOTLY_HEAD) < demo_page.index('class="chart"')
    assert len(demo_page.encode()) < 6_000_000


def test_report_has_every_section_and_chart(demo_page):
    for section in SECTIONS:
        assert f'<section id="{section}">' in demo_page
    assert chart_ids(demo_page) == ["distributions", "correlation", "elbow", "k-scores",
                                    "scatter", "sizes", "silhouette", "z-heatmap"]
    for cid in chart_ids(demo_page):  # each chart has its plot
        assert re.search(rf'Plotly\.newPlot\(\s*"fig-{cid}"', demo_page), cid
    assert 'id="rfm"' not in demo_page


def test_report_names_and_numbers(demo, demo_page):
    s = demo.summary
    for seg in s["segments"]:
        assert demo_page.count(html.escape(seg["name"])) >= 2  # table, card (and charts)
        assert html.escape(seg["recommendation"], quote=False) in demo_page
    assert "Why 5 segments?" in demo_page
    assert "3 of the 4 signals point to it" in demo_page
    assert "confidence high" in demo_page
    # footer: version, command, seed, checksum, options
    footer = demo_page[demo_page.index("<footer>"):]
    for text in ("custseg 0.1.0", "custseg demo", "seed 0", s["input_sha256"],
                 "random_state=0"):
        assert text in footer
    # profile table in original units, with the population
    assert "All customers" in demo_page and ">86.54<" in demo_page and ">60.56<" in demo_page
    # findings like an analyst's
    assert ("Customers with low income but high spending: 11% of customers (22)."
            in demo_page)


def test_no_sampling_note_when_every_customer_is_drawn(demo_page):
    assert "data-sampling" not in demo_page and "Sampled:" not in demo_page


def test_sampling_note_when_sampled(demo3):
    small = segment_views(demo3.segmenter, demo3.table, demo3.projection, max_points=50,
                          matrix_points=40, silhouette_points=60)
    page = report.render_report(dataclasses.replace(demo3, views=small))
    assert page.count('data-sampling="1"') == 3  # scatter, scatter matrix, silhouette
    assert "Sampled: showing 50 of 200 customers" in page
    assert "Sampled: showing 40 of 200 customers" in page
    assert "Sampled: showing 60 of 200 customers in a segment" in page


def test_three_features_get_a_scatter_matrix_and_a_projection(demo3):
    page = report.render_report(demo3)
    ids = chart_ids(page)
    assert "scatter-matrix" in ids and "scatter" in ids
    assert "first two principal components" in page
    check_page(page)


def test_many_features_get_no_scatter_matrix(wholesale_path):
    res = segment_file(wholesale_path, random_state=0, k=3)
    page = report.render_report(res)
    assert "scatter-matrix" not in chart_ids(page) and "scatter" in chart_ids(page)
    assert "Channel" in page  # a categorical column: counts, profile column


def test_report_is_deterministic(demo, demo_page):
    assert report.render_report(demo) == demo_page


def test_report_without_precomputed_numbers(demo, demo_page):
    """A result built elsewhere without the report's numbers still renders, the same."""
    bare = dataclasses.replace(demo, overview=None, views=None)
    assert report.render_report(bare) == demo_page


def test_fixed_k_has_no_k_curves(tmp_path):
    res = segment_file(demo_data_path(), features=DEMO_FEATURES, random_state=0, k=4)
    page = report.render_report(res)
    assert "elbow" not in chart_ids(page) and "k-scores" not in chart_ids(page)
    assert "4 segments, as asked for" in page


def test_rfm_crosstab_section(demo):
    summary = copy.deepcopy(demo.summary)
    summary["rfm"] = {"crosstab": {"0": {"Champions": 30, "At risk": 51},
                                   "1": {"Champions": 39}}}
    page = report.render_report(dataclasses.replace(demo, summary=summary))
    assert '<section id="rfm">' in page and "K-Means segments vs RFM segments" in page
    section = page[page.index('<section id="rfm">'):page.index("</section>",
                                                              page.index('<section id="rfm">'))]
    assert "Champions" in section and "At risk" in section
    assert "0 · Mid income · Mid spending" in section
    assert ">81<" in section and ">39<" in section  # row totals
    check_page(page)


def test_rfm_crosstab_layouts():
    summary = {"segments": [{"id": 0, "name": "A"}],
               "rfm": {"crosstab": {"index": [0], "columns": ["x", "y"], "data": [[1, 2]]}}}
    assert report.rfm_crosstab(summary) == {"columns": ["x", "y"],
                                            "rows": [("0 · A", [1, 2], 3)]}
    assert report.rfm_crosstab({"segments": [], "rfm": {"crosstab": [1, 2]}}) is None
    assert report.rfm_crosstab({"segments": []}) is None


def test_hostile_names_are_escaped(tmp_path):
    f = tmp_path / "x.csv"
    bad = "<script>alert(1)</script>"
    lines = [f"id,{bad},b"] + [f"{bad}{i},{i % 9},{(i * 7) % 13}" for i in range(60)]
    f.write_text("\n".join(lines) + "\n")
    res = segment_file(f, random_state=0, k=3, id_col="id")
    page = report.render_report(res)
    assert "<script>alert(1)" not in page
    check_page(page)


def test_explore_page(tmp_path):
    page = report.render_explore(explore_file(demo_data_path(), command="custseg explore x"))
    check_page(page)
    assert page.count(PLOTLY_HEAD) == 1
    assert chart_ids(page) == ["distributions", "correlation"]
    assert '<section id="data">' in page and '<section id="k">' not in page
    assert "What cleaning would do" in page and "custseg explore x" in page


def test_unassigned_customers(tmp_path):
    """A density method leaves customers in no segment: drawn grey, not as a segment."""
    res = segment_file(demo_data_path(), random_state=0, algorithm="hdbscan")
    assert (res.views.points["segment"] == -1).any()
    page = report.render_report(res)
    assert "Unassigned (in no segment)" in page
    assert "Sampled:" not in page  # the silhouette shows every customer in a segment
    check_page(page)


# ----------------------------------------------------------------------------- findings
SEG = {"id": 4, "name": "Low income · High spending", "size": 22, "share": 0.11,
       "levels": {"Annual Income (k$)": "Low", "Spending Score (1-100)": "High", "Age": "Low"},
       "z": {"Annual Income (k$)": -1.3, "Spending Score (1-100)": 1.2, "Age": -1.0},
       "distinguishing": ["Annual Income (k$)", "Spending Score (1-100)"],
       "categories": {"Genre": {"Female": 0.8, "Male": 0.2}},
       "recommendation": "Reward loyalty."}


@pytest.mark.parametrize("levels,expected", [
    (("Low", "High"), "Customers with low income but high spending"),
    (("High", "High"), "Customers with high income and high spending"),
    (("Mid", "Low"), "Customers with average income and low spending"),
    (("Mid", "Mid"), "Customers close to average on income and spending"),
])
def test_who(levels, expected):
    seg = {**SEG, "levels": dict(zip(DEMO_FEATURES, levels, strict=True))}
    assert who(seg, DEMO_FEATURES) == expected


def test_segment_finding_mentions_what_else_stands_out(demo):
    text = segment_finding(SEG, DEMO_FEATURES, demo.views,
                           {"Age": 25.3, **dict.fromkeys(DEMO_FEATURES, 1.0)})
    assert text.startswith("Customers with low income but high spending: 11% of customers "
                           "(22). They have lower age than average (25.3 vs 38.9) and 80% "
                           "genre Female (vs 56% overall).")
    assert text.endswith("Reward loyalty.")


def test_findings_and_why_k(demo):
    out = findings(demo.summary, demo.views)
    assert out[0].startswith("The 200 customers fall into 5 segments. The largest, "
                             "“Mid income · Mid spending”, holds 40%")
    assert out[1] == why_k(demo.summary)
    assert len(out) == 2 + 5
    fixed = copy.deepcopy(demo.summary)
    fixed["k_selection"].update(method="fixed", votes={})
    assert why_k(fixed).startswith("5 segments, as asked for")


GOOD = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
        '<body>{}</body></html>')


@pytest.mark.parametrize("body", [
    '<script src="https://cdn.example/plotly.js"></script>',
    '<img src="chart.png">',
    '<div id="a"></div><div id="a"></div>',
    "<div><span></div>",
    "<section>",
])
def test_page_check_catches_problems(body):
    check_page(GOOD.format("<p>fine</p>"))
    with pytest.raises(AssertionError):
        check_page(GOOD.format(body))


def test_cleaning_table_says_what_was_done(tmp_path):
    f = tmp_path / "messy.csv"
    rows = ["id,spend,visits,flat"] + [f"C{i},{i * 10},{(i * 7) % 11},1" for i in range(1, 80)]
    rows[3] = "C3,,2,1"  # a missing value, imputed
    rows[5] = "C5,?,4,1"  # a missing marker
    rows.append(rows[10])  # a duplicate row
    f.write_text("\n".join(rows) + "\n")
    res = segment_file(f, random_state=0, k=3, clip=0.05)
    page = report.render_report(res)
    table = page[page.index('<table class="cleaning">'):]
    table = html.unescape(table[:table.index("</table>")])
    assert "<td>Exact duplicate rows</td><td>1 dropped</td>" in table
    assert "<td>Values imputed (median)</td><td>spend (2)</td>" in table
    assert "<td>Missing markers read as missing (NA, ?, -...)</td><td>spend (1)</td>" in table
    assert "<td>Columns dropped</td><td>flat (constant)</td>" in table
    assert "<td>Values clipped at quantiles 0.05 and 0.95</td><td>spend (8)</td>" in table
    check_page(page)
