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
from custseg.errors import UsageError
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
    # profile table (transposed: one row a column) in original units, with the population;
    # income is money (86.54, two decimals under 100) once the column roles say so, a measure
    # (86.5) otherwise; the spending score is a measure
    table = demo_page[demo_page.index('<table class="profiles"'):]
    table = table[:table.index("</table>")]
    assert "All customers" in table
    assert re.search(r">86\.54?<", table) and re.search(r'class="num all">60\.(56|6)<', table)
    assert 'class="num all">50.2<' in table
    rows = re.findall(r'<tr data-column="([^"]+)">', table)
    assert rows == ["Spending Score (1-100)", "Annual Income (k$)", "Age"]  # by importance
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
    # its codes (1, 2) are shown as they are, with a note that asks for their names
    assert 'data-coded="Channel"' in page and "[values.Channel]" in page
    assert res.summary["columns"][0]["reason"] == "codes 1, 2 (a few whole-number levels)"


def test_codes_named_by_a_labels_file_read_by_their_names(wholesale_path, tmp_path):
    """A labels file names Channel's codes and a column: the profile table, the findings
    and the segments' descriptions read them; no note asks for names."""
    labels = tmp_path / "labels.toml"
    labels.write_text('[labels]\nDetergents_Paper = "household supplies"\n'
                      '[values.Channel]\n1 = "Hotel/restaurant/café"\n2 = "Retail"\n')
    res = segment_file(wholesale_path, random_state=0, k=3, labels=str(labels))
    page = report.render_report(res)
    assert "data-coded" not in page
    assert "Hotel/restaurant/café (vs 68% overall)" in page  # a finding, with the mix
    assert "detergents paper" not in page.replace("Detergents_Paper", "")
    segs = res.summary["segments"]
    assert {lvl for s in segs for lvl in s["categories"]["Channel"]} == {
        "Hotel/restaurant/café", "Retail"}
    with pytest.raises(UsageError, match="value labels for 'Chanel': no such column"):
        labels.write_text('[values.Chanel]\n1 = "Hotel/restaurant/café"\n')
        segment_file(wholesale_path, random_state=0, k=3, labels=str(labels))


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


# ----------------------------------------------------------------------------- 30 columns
# A wide summary as issue 12's keys describe it (columns, labels, outliers, near_duplicates,
# traits, evidence, outlier_group, notable_categories), built by hand: 30 numeric features of
# every role, 8 segments (the last an outlier group), two categorical columns.
HOSTILE = "[bold]Spend[/bold] <b>now</b>"
WIDE_ROLES = {
    "Income": "money", "MntWines": "money", "MntFruits": "money", "MntMeatProducts": "money",
    "MntFishProducts": "money", "MntSweetProducts": "money", "MntGoldProds": "money",
    "NumDealsPurchases": "count", "NumWebPurchases": "count", "NumCatalogPurchases": "count",
    "NumStorePurchases": "count", "NumWebVisitsMonth": "count", "Kidhome": "count",
    "Teenhome": "count", "Recency": "measure", "Year_Birth": "measure",
    "PRC_FULL_PAYMENT": "rate", "Discount Share (%)": "rate", "AcceptedCmp1": "flag",
    "AcceptedCmp2": "flag", "Complain": "flag", "Response": "flag", "BALANCE": "money",
    "CASH_ADVANCE": "money", "CREDIT_LIMIT": "money", "PAYMENTS": "money",
    "MINIMUM_PAYMENTS": "money", "PURCHASES_FREQUENCY": "rate", "TENURE": "count",
    HOSTILE: "measure"}
WIDE_LABELS = {
    "Income": "income", "MntWines": "spend on wines", "MntFruits": "spend on fruits",
    "MntMeatProducts": "spend on meat products", "MntFishProducts": "spend on fish products",
    "MntSweetProducts": "spend on sweet products", "MntGoldProds": "spend on gold products",
    "NumDealsPurchases": "number of deals purchases",
    "NumWebPurchases": "number of web purchases",
    "NumCatalogPurchases": "number of catalog purchases",
    "NumStorePurchases": "number of store purchases",
    "NumWebVisitsMonth": "number of web visits a month", "Kidhome": "kids at home",
    "Teenhome": "teens at home", "Recency": "days since last purchase",
    "Year_Birth": "year of birth", "PRC_FULL_PAYMENT": "share of full payments",
    "Discount Share (%)": "discount share", "AcceptedCmp1": "accepted campaign 1",
    "AcceptedCmp2": "accepted campaign 2", "Complain": "complained",
    "Response": "responded", "BALANCE": "balance", "CASH_ADVANCE": "cash advance",
    "CREDIT_LIMIT": "credit limit", "PAYMENTS": "payments",
    "MINIMUM_PAYMENTS": "minimum payments", "PURCHASES_FREQUENCY": "purchases frequency",
    "TENURE": "tenure", HOSTILE: "spend now"}
#: Population mean and standard deviation by role (the means of a segment: mean + z * sd).
WIDE_SCALE = {"money": (52340.0, 20000.0), "count": (4.0, 2.0), "measure": (50.0, 15.0),
              "rate": (0.3, 0.15), "flag": (0.12, 0.2)}


def wide_summary(n_segments: int = 8, seed: int = 7) -> dict:
    """A summary of 30 features and 8 segments, every issue-12 key filled in."""
    import numpy as np

    rng = np.random.default_rng(seed)
    features = list(WIDE_ROLES)
    pop = {}
    for f, role in WIDE_ROLES.items():
        mean, sd = WIDE_SCALE[role]
        pop[f] = (mean, sd)
    pop["Year_Birth"] = (1968.6, 11.9)
    pop["Discount Share (%)"] = (31.0, 14.0)
    sizes = [700, 520, 410, 300, 280, 200, 150, 25][:n_segments]
    total = sum(sizes)
    segments = []
    for i, size in enumerate(sizes):
        z = {f: float(np.round(rng.normal(0, 0.5), 3)) for f in features}
        z["MntWines"] = [1.9, -0.8, 0.2, -0.1, 0.6, -1.1, 0.0, 3.5][i]  # the most telling
        z["Year_Birth"] = [-1.2, 0.9, 0.1, 0.0, 0.3, -0.4, 0.5, 0.0][i]
        centre = {f: pop[f][0] + z[f] * pop[f][1] for f in features}
        for f in ("AcceptedCmp1", "AcceptedCmp2", "Complain", "Response", "PRC_FULL_PAYMENT",
                  "PURCHASES_FREQUENCY"):
            centre[f] = float(min(max(centre[f], 0.0), 1.0))
        ranked = sorted(features, key=lambda f: -abs(z[f]))
        traits = []
        for f in ranked[:3]:
            if abs(z[f]) < 0.5:
                continue
            ratio = centre[f] / pop[f][0] if (centre[f] / pop[f][0] > 1) == (z[f] > 0) \
                else None
            traits.append({"feature": f, "label": WIDE_LABELS[f], "z": z[f],
                           "level": "High" if z[f] > 0 else "Low", "ratio": ratio,
                           "mean": centre[f], "population_mean": pop[f][0],
                           "text": f"{'higher' if z[f] > 0 else 'lower'} {WIDE_LABELS[f]}"})
        segments.append({
            "id": i, "name": f"Segment {i} " + " · ".join(
                ("High " if t["z"] > 0 else "Low ") + t["label"] for t in traits[:2]),
            "size": size, "share": size / total, "centre": centre,
            "median": dict(centre), "z": z,
            "levels": {f: "High" if z[f] >= 0.5 else "Low" if z[f] <= -0.5 else "Mid"
                       for f in features},
            "distinguishing": ranked[:3],
            "categories": {"Education": {"PhD": 0.7, "Graduation": 0.3} if i == 0 else
                           {"PhD": 0.2, "Graduation": 0.8},
                           "Marital_Status": {"Married": 0.5, "Single": 0.5}},
            "recommendation": f"Recommendation for segment {i}.",
            "traits": traits, "evidence": [t["text"] for t in traits] + [f"evidence {i}"],
            "outlier_group": size / total < 0.02, "defined_by_risk": False,
            "recommendation_kind": "generic"})
    columns = [{"column": "ID", "role": "id", "use": "dropped", "feature": None,
                "reason": "a different value on every row", "overridden": False},
               {"column": "Z_CostContact", "role": "constant", "use": "dropped",
                "feature": None, "reason": "the same value on every row", "overridden": False},
               {"column": "MntTotal", "role": "duplicate", "use": "dropped", "feature": None,
                "reason": "near-duplicate of MntWines (r = 0.97)", "overridden": False}]
    columns += [{"column": f, "role": r, "use": "feature", "feature": f,
                 "reason": f"{r} column", "overridden": f == "Recency"}
                for f, r in WIDE_ROLES.items()]
    columns += [{"column": c, "role": "category", "use": "describe", "feature": c,
                 "reason": "few distinct text values", "overridden": False}
                for c in ("Education", "Marital_Status")]
    return {
        "n_customers": total, "k": n_segments, "features": features,
        "segments": segments, "columns": columns,
        "labels": {**WIDE_LABELS, "Education": "education",
                   "Marital_Status": "marital status"},
        "outliers": {"method": "robust z above 5 (median and MAD)", "rows": 3,
                     "share": 3 / total, "columns": {
                         "Income": {"count": 1, "lower": None, "upper": 160000.0,
                                    "examples": [{"row": 2233, "value": 666666.0}]},
                         "Year_Birth": {"count": 2, "lower": 1920.0, "upper": None,
                                        "examples": [{"row": 239, "value": 1893.0},
                                                     {"row": 339, "value": 1899.0}]}}},
        "near_duplicates": [{"dropped": "MntTotal", "kept": "MntWines", "r": 0.97}],
        "preprocessing": {"numeric": features, "categorical": []},
    }


def wide_population(summary: dict) -> dict[str, float]:
    """The population means of the wide summary (what the report's views carry)."""
    pop = {}
    for f in summary["features"]:
        t = next((t for s in summary["segments"] for t in s["traits"] if t["feature"] == f),
                 None)
        if t is not None:
            pop[f] = t["population_mean"]
    pop.update({"Year_Birth": 1968.6, "Income": 52340.0})
    return pop


def test_wide_profile_table_is_transposed_and_ordered_by_importance():
    from custseg.report.profiles import importance, profile_table

    s = wide_summary()
    table = profile_table(s, population_mean=wide_population(s))
    assert len(table["segments"]) == 8 and table["segments"][-1]["outlier_group"]
    rows = table["rows"]
    assert len(rows) == 30 and all(len(r["cells"]) == 8 for r in rows)
    # by importance (spread of z, the outlier group left out): MntWines (1.9 - -1.1) first
    assert rows[0]["column"] == "MntWines"
    spreads = [r["spread"] for r in rows]
    assert spreads == sorted(spreads, reverse=True)
    assert [c for c, _ in importance(s)] == [r["column"] for r in rows]
    by = {r["column"]: r for r in rows}
    assert by["MntWines"]["label"] == "spend on wines"
    # numbers by role
    assert by["Year_Birth"]["all"] == "1969"
    assert all(re.fullmatch(r"1\d{3}", c["text"]) for c in by["Year_Birth"]["cells"])
    assert by["Income"]["all"] == "52,340"
    assert all(c["text"].endswith("%") for c in by["PRC_FULL_PAYMENT"]["cells"])
    assert all(c["text"].endswith("%") for c in by["Discount Share (%)"]["cells"])
    assert all(c["text"].endswith("%") for c in by["Response"]["cells"])
    assert all(re.fullmatch(r"-?\d+\.\d", c["text"]) for c in by["Kidhome"]["cells"])
    # cells: coloured by z, the z in the title, arrows agreeing with its sign
    wine = by["MntWines"]["cells"]
    assert wine[0]["arrow"] == "▲" and wine[1]["arrow"] == "▼" and wine[2]["arrow"] == ""
    assert wine[0]["title"].startswith("z = +1.90") and wine[0]["colour"].startswith("#")
    assert wine[0]["colour"] != wine[1]["colour"]


def test_format_by_role():
    from custseg.report.profiles import fmt_value, role_of

    assert fmt_value(1967.03, "year") == "1967"
    assert fmt_value(52340.4, "money") == "52,340" and fmt_value(86.54, "money") == "86.54"
    assert fmt_value(0.342, "rate", 1.0) == "34%" and fmt_value(34.2, "rate", 100.0) == "34%"
    assert fmt_value(0.24, "flag") == "24%" and fmt_value(2.345, "count") == "2.3"
    assert fmt_value(None, "money") == "–" and fmt_value(float("nan"), None) == "–"
    # a year of birth: as a year without the summary saying so, and as age once derived
    assert role_of({}, "Year_Birth", [1967.03, 1971.2]) == "year"
    cols = {"columns": [{"column": "Year_Birth", "role": "birth_year", "use": "feature",
                         "feature": "Age"},
                        {"column": "Dt_Customer", "role": "date", "use": "feature",
                         "feature": "Dt_Customer tenure (days)"}]}
    assert role_of(cols, "Age", [45.2]) == "age"
    assert role_of(cols, "Dt_Customer tenure (days)", [400.0]) == "tenure"
    assert role_of({}, "Income", [52340.0]) is None


def test_categories_listed_only_where_a_segment_differs():
    from custseg.report.profiles import notable_categories, population_mix

    s = wide_summary()
    mix = population_mix(s)
    assert mix["Education"]["PhD"] == pytest.approx(0.7 * 700 / 2585 + 0.2 * 1885 / 2585)
    # segment 0: PhD 70% vs about 32% overall; no one differs on marital status
    assert notable_categories(s["segments"][0], mix) == {
        "Education": {"level": "PhD", "share": 0.7, "lift": pytest.approx(0.7 / mix[
            "Education"]["PhD"])}}
    assert notable_categories(s["segments"][1], mix) == {}  # Graduation 80% vs 73%: lift 1.1
    given = {**s["segments"][1], "notable_categories": {
        "Marital_Status": {"level": "Single", "share": 0.9, "lift": 1.8}}}
    assert list(notable_categories(given, mix)) == ["Marital_Status"]  # the summary's word


def test_wide_cards_and_column_roles():
    from custseg.report import _cards
    from custseg.report.profiles import column_roles

    s = wide_summary()
    cards = _cards(s)
    assert [c["outlier_group"] for c in cards] == [False] * 7 + [True]
    assert cards[0]["categories"] == "education: PhD (70%)"
    assert all(c["categories"] == "" for c in cards[1:])  # nobody differs: nothing listed
    for card, seg in zip(cards, s["segments"], strict=True):
        assert [a["arrow"] for a in card["apart"]] == ["▲" if t["z"] > 0 else "▼"
                                                       for t in seg["traits"]]
        assert card["evidence"] == [f"evidence {seg['id']}"]  # traits' texts not repeated
    roles = column_roles(s)
    assert len(roles["rows"]) == 3 + 30 + 2
    assert roles["rows"][0] == {"column": "ID", "role": "id", "use": "dropped",
                                "reason": "a different value on every row", "feature": "",
                                "overridden": False}
    assert roles["near_duplicates"] == ["dropped MntTotal, kept MntWines, r = 0.97"]
    out = roles["outliers"]
    assert out["rows"] == 3 and [c["column"] for c in out["columns"]] == ["Income",
                                                                          "Year_Birth"]
    assert out["columns"][0]["examples"] == "row 2233: 666,666"
    assert out["columns"][1]["examples"] == "row 239: 1893; row 339: 1899"
    assert out["columns"][1]["bounds"] == "below 1920"


def test_wide_heatmap_shows_the_top_columns_and_all_on_a_click():
    from custseg.report.figures import snake
    from custseg.report.profiles import HEATMAP_TOP, importance

    s = wide_summary()
    fig = snake(s)
    top, full = fig.data
    assert top.visible is not False and full.visible is False
    assert len(top.y) == HEATMAP_TOP <= 12 and len(full.y) == 30
    assert list(top.y[:2]) == [s["labels"][c] for c, _ in importance(s)[:2]]
    assert "MntWines" not in top.y  # labels, not raw names
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["Top 12 columns", "All 30 columns"]
    assert buttons[1].args[0] == {"visible": [False, True]}
    few = snake({**s, "segments": [{**seg, "z": dict(list(seg["z"].items())[:5])}
                                   for seg in s["segments"]]})
    assert len(few.data) == 1 and len(few.data[0].y) == 5 and not few.layout.updatemenus


def wide_frame(n: int = 1200, seed: int = 3):
    """A customer table of the 30 columns above (8 planted groups), an id and a category."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    group = rng.choice(8, n, p=[0.26, 0.2, 0.16, 0.12, 0.1, 0.08, 0.06, 0.02])
    centres = rng.normal(0, 1.2, (8, len(WIDE_ROLES)))
    z = centres[group] + rng.normal(0, 0.6, (n, len(WIDE_ROLES)))
    data = {"ID": np.arange(10_000, 10_000 + n)}
    for j, (col, role) in enumerate(WIDE_ROLES.items()):
        x = z[:, j]
        if col == "Year_Birth":
            v = np.round(1968 + 10 * x)
        elif role == "money":
            v = np.round(np.exp(8 + 0.8 * x), 2)
        elif role == "count":
            v = np.clip(np.round(3 + 1.5 * x), 0, None)
        elif role == "rate":
            v = np.round(1 / (1 + np.exp(-x)), 3) * (100 if "%" in col else 1)
        elif role == "flag":
            v = (x > 0.8).astype(int)
        else:
            v = np.round(50 + 15 * x, 1)
        data[col] = v
    data["Education"] = np.where(group == 0, "PhD", rng.choice(["Graduation", "Master"], n))
    return pd.DataFrame(data)


def enrich(summary: dict, population_mean: dict) -> dict:
    """Add issue 12's keys a pipeline may not write yet (those it writes are kept)."""
    s = copy.deepcopy(summary)
    s.setdefault("labels", {c: WIDE_LABELS.get(c, c.lower()) for c in
                            [*s["features"], *s["roles"].get("numeric", [])]})
    s.setdefault("columns", [
        {"column": c, "role": WIDE_ROLES.get(c, "measure"),
         "use": "feature" if c in s["features"] else "describe", "feature": c,
         "reason": "from its values", "overridden": False}
        for c in s["roles"].get("numeric", [])])
    s.setdefault("outliers", {"method": "robust z", "rows": 1, "share": 1 / s["n_customers"],
                              "columns": {"Income": {"count": 1, "lower": None,
                                                     "upper": 1e5, "examples": [
                                                         {"row": 7, "value": 666666.0}]}}})
    s.setdefault("near_duplicates", [])
    for seg in s["segments"]:
        if "traits" not in seg:
            ranked = sorted(seg["z"], key=lambda f: -abs(seg["z"][f]))[:3]
            seg["traits"] = [{"feature": f, "label": s["labels"].get(f, f), "z": seg["z"][f],
                              "level": "High" if seg["z"][f] > 0 else "Low", "ratio": None,
                              "mean": None, "population_mean": population_mean.get(f),
                              "text": ""} for f in ranked if abs(seg["z"][f]) >= 0.5]
        seg.setdefault("outlier_group", seg["share"] < 0.02)
    return s


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    path = tmp_path_factory.mktemp("wide") / "marketing.csv"
    wide_frame().to_csv(path, index=False)
    res = segment_file(path, random_state=0, k=8)
    return dataclasses.replace(res, summary=enrich(res.summary, res.views.population_mean))


def test_wide_report_renders(wide):
    page = report.render_report(wide)
    check_page(page)
    section = page[page.index('<section id="profiles">'):]
    table = section[:section.index("</table>")]
    n_rows = int(re.search(r'<table class="profiles" data-rows="(\d+)"', table).group(1))
    assert n_rows >= 25  # every numeric column a row (the pipeline may derive or drop some)
    assert table.count('<th class="seg') == 8 + 1  # the segments and "All customers"
    year = re.search(r'<tr data-column="Year_Birth">.*?</tr>', table)
    if year:  # kept as a column (not turned into an age): years without a separator
        assert re.findall(r">(1\d{3})(?:<|<span)", year.group(0)) and "1,9" not in year.group(0)
    assert "%<" in table  # rates and flags as percents
    assert "Column roles" in page and "winsorised for fitting" in page
    assert "<b>now</b>" not in page and html.escape(HOSTILE) in page  # escaped
    for card in re.findall(r'<article class="card segment-card.*?</article>', page, re.S):
        shown = card.split("<details")[0]  # at most 5 traits, the others one click away
        assert shown.count("<li ") <= report.CARD_TRAITS
        for arrow, z in re.findall(r'<li class="(up|down)" title="[^"]*: z = ([-+][\d.]+)"',
                                   card):
            assert (arrow == "up") == (float(z) > 0)  # arrows agree with the sign of z
    heat = wide.summary  # the heatmap: the top 12 columns by default
    from custseg.report.figures import snake

    assert len(snake(heat).data[0].y) <= 12
