"""The HTML report, drawn from a :class:`~custseg.pipeline.SegmentationResult`.

Nothing is fitted here: every number comes from the result (``summary``, the segmenter's
profiles, and the report's numbers in ``result.overview`` and ``result.views``, computed by
:mod:`custseg.explore`).  The page is one self-contained file (plotly.js inlined once, no
request leaves it) that works offline and prints.  Sections (see docs/report.md): 1. Data,
2. How many segments, 3. The segments, 4. Profiles, 5. Findings, an RFM cross-table when the
summary has one, and a footer to reproduce the run.

* :func:`render_report` -- the whole report of a segmentation, as an HTML string;
* :func:`render_explore` -- the data part alone, for ``custseg explore``;
* :func:`report_charts`, :func:`explore_charts` -- the charts as Plotly figures
  (:mod:`custseg.report.charts`);
* :func:`write_chart_images` -- each chart as a PNG (needs the ``png`` extra: kaleido, and a
  Chrome or Chromium on the machine).
"""

from __future__ import annotations

import functools
import math
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custseg._version import __version__
from custseg.report.charts import Chart, explore_charts, overview_of, report_charts, views_of
from custseg.report.charts import sampling_note as sampling_note  # re-exported

if TYPE_CHECKING:
    from custseg.explore import DataOverview, SegmentViews
    from custseg.pipeline import SegmentationResult

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
ALGORITHM_NAMES = {"kmeans": "K-Means", "gmm": "a Gaussian mixture",
                   "hierarchical": "hierarchical clustering", "kprototypes": "k-prototypes",
                   "hdbscan": "HDBSCAN", "deep": "a deep embedding and K-Means"}
#: Traits listed on a segment's card; the others one click away.
CARD_TRAITS = 5
SECTION_TITLES = {"data": "Data", "k": "How many segments", "segments": "The segments",
                  "profiles": "Profiles", "findings": "Findings",
                  "rfm": "K-Means segments vs RFM segments"}


# ----------------------------------------------------------------------------- helpers
def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    return f"{x:,}" if isinstance(x, int) else f"{x:,.0f}"


def _dec(x: Any, digits: int = 2) -> str:
    if x is None or isinstance(x, str):
        return "–" if x is None else x
    x = float(x)
    if not math.isfinite(x):
        return "–"
    return f"{x:,.{digits}f}" if abs(x) < 1e6 else f"{x:,.0f}"


def _pct(x: Any) -> str:
    return "–" if x is None else f"{float(x):.1%}"


def _delimiter(d: Any) -> str:
    return {"\t": "tab", " ": "space"}.get(d, str(d))


def _env() -> Any:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
    env.filters.update(num=_num, dec=_dec, pct=_pct, delimiter=_delimiter)
    return env


@functools.cache
def _template() -> Any:
    """The page's Jinja template, compiled once (compiling takes longer than rendering)."""
    text = (resources.files("custseg.report") / "report.html.j2").read_text("utf-8")
    return _env().from_string(text)


def _chart_html(chart: Chart) -> str:
    import plotly.io as pio

    layout = chart.spec["layout"]
    height = layout.get("height") or 450
    # the figure dictionary is what Plotly's validation would give: embedded as it is
    text = pio.to_html(chart.spec, validate=False, full_html=False, include_plotlyjs=False,
                       div_id=f"fig-{chart.id}", default_width="100%",
                       default_height=f"{int(height)}px",
                       config={**PLOT_CONFIG, "toImageButtonOptions": {
                           "format": "png", "filename": chart.id, "scale": 2}})
    if layout.get("updatemenus"):
        # a chart whose buttons change its height (the heatmap's "all columns"): its
        # wrapper's fixed height goes, so the box grows and shrinks with the plot
        text = text.replace(f'<div style="height:{int(height)}px; width:100%;">',
                            '<div style="width:100%;">', 1)
    return text


@functools.cache
def _plotlyjs() -> str:
    """plotly.js, read once (4.8 MB: 11 ms a report)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


# ----------------------------------------------------------------------------- tables
def _cleaning_rows(data: DataOverview, explore: bool) -> list[tuple[str, str]]:
    c, p = data.cleaning, data.preprocessing

    def per_col(d: dict[str, Any] | None) -> str:
        return ", ".join(f"{k} ({_num(v)})" for k, v in (d or {}).items()) or "none"

    rows = [("Exact duplicate rows", f"{_num(c.get('duplicate_rows_dropped', 0))} dropped")]
    if c.get("rows_dropped_missing") is not None:
        rows.append(("Rows with missing values",
                     f"{_num(c['rows_dropped_missing'])} not segmented (impute: drop)"))
    rows.append(("Missing markers read as missing (NA, ?, -...)",
                 per_col(c.get("missing_markers"))))
    rows.append(("Non-numeric values read as missing", per_col(c.get("junk_coerced"))))
    how = p.get("impute", "median")
    rows.append((f"Values {'to be ' if explore else ''}imputed ({how})",
                 per_col(c.get("imputed"))))
    clip = p.get("clip")
    if clip:
        rows.append((f"Values clipped at quantiles {clip:g} and {1 - clip:g}",
                     per_col(c.get("clipped"))))
    logs = p.get("log_columns") or []
    skew = p.get("skewness") or {}
    rows.append(("Log-transformed (skewness above 1)",
                 ", ".join(f"{col} (skewness {skew.get(col, float('nan')):.1f})"
                           for col in logs) or "none"))
    rows.append(("Scaling", str(p.get("scaling", ""))))
    rows.append(("Columns dropped", per_col(c.get("columns_dropped"))))
    return rows


def _profile_table(result: SegmentationResult, views: SegmentViews) -> dict[str, Any]:
    """The transposed profile table (features as rows, by importance; segments as columns)."""
    from custseg.report.profiles import profile_table

    medians: dict[int, dict[str, float]] = {}
    profiles = result.segmenter.profiles_
    for _, r in profiles.iterrows():
        medians[int(r["segment"])] = {c[:-7]: float(r[c]) for c in profiles.columns
                                      if c.endswith("_median")}
    return profile_table(result.summary, _segment_means(result), views.population_mean,
                         medians, views.category_shares or None)


def _segment_means(result: SegmentationResult) -> dict[int, dict[str, float]]:
    profiles = result.segmenter.profiles_
    means: dict[int, dict[str, float]] = {}
    for _, r in profiles.iterrows():
        means[int(r["segment"])] = {c[:-5]: float(r[c]) for c in profiles.columns
                                    if c.endswith("_mean")}
    return means


def _cards(summary: dict[str, Any],
           population: dict[str, dict[str, float]] | None = None) -> list[dict[str, Any]]:
    """One card a segment: name, size, share, its traits (arrows agree with the sign of
    z), evidence, the categories where it differs, stability, the recommendation."""
    from custseg.display import segment_colour
    from custseg.report.profiles import (
        everyone_share,
        is_outlier_group,
        label,
        notable_categories,
        population_mix,
        says_yes,
        traits,
    )

    mix = population or population_mix(summary)
    cards = []
    for s in summary["segments"]:
        apart = []
        for t in traits(s, summary):
            size = (f"{t['ratio']:.1f}× the average" if t["ratio"] is not None
                    else f"{t['z']:+.1f} sd".replace("-", "−"))
            apart.append({"arrow": t["arrow"], "up": t["z"] > 0, "label": t["label"],
                          "text": t["text"], "size": size, "z": f"{t['z']:+.2f}",
                          "column": t["feature"]})
        said = {a["text"] for a in apart}
        evidence = [str(e) for e in s.get("evidence") or [] if str(e) not in said]
        mostly, rates = [], []
        for col, n in notable_categories(s, mix).items():
            overall = everyone_share(n, mix.get(col) or {})
            if says_yes(n, mix.get(col) or {}) and overall is not None:
                rates.append(f"{label(summary, col)} {float(n['share']):.0%} (vs "
                             f"{overall:.0%} overall)")
            else:
                mostly.append(f"{label(summary, col)}: {n['level']} ({float(n['share']):.0%})")
        stability = ""
        if isinstance(s.get("stability"), int | float):  # with --stability
            stability = (f"{s['stability']:.2f} (" + ("stable" if s.get("stable") else
                         "unstable: it changes when the data are resampled") + ")")
        cards.append({"id": s["id"], "name": s["name"], "size": s["size"],
                      "share": s["share"], "colour": segment_colour(int(s["id"])),
                      "apart": apart, "evidence": evidence, "categories": ", ".join(mostly),
                      "yes_rates": ", ".join(rates),
                      "stability": stability, "outlier_group": is_outlier_group(s),
                      "spend_share": s.get("spend_share"),
                      "recommendation": s.get("recommendation", "")})
    return cards


def rfm_crosstab(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The K-Means × RFM cross-table of ``summary["rfm"]["crosstab"]`` as rows to print, or
    None.  Accepts ``{segment: {rfm_segment: count}}`` and pandas' ``split`` layout
    (``{"index": [...], "columns": [...], "data": [[...]]}``)."""
    rfm = summary.get("rfm")
    table = rfm.get("crosstab") if isinstance(rfm, dict) else None
    if not isinstance(table, dict) or not table:
        return None
    if {"index", "columns", "data"} <= set(table):
        index, columns, data = table["index"], table["columns"], table["data"]
    elif all(isinstance(v, dict) for v in table.values()):
        index = list(table)
        columns = []
        for v in table.values():
            columns += [c for c in v if c not in columns]
        data = [[table[i].get(c, 0) for c in columns] for i in index]
    else:
        return None
    names = {str(s["id"]): s["name"] for s in summary["segments"]}
    rows = []
    for label, cells in zip(index, data, strict=False):
        label = str(label)
        shown = f"{label} · {names[label]}" if label in names else label
        numbers = [c if isinstance(c, int | float) else 0 for c in cells]
        rows.append((shown, list(cells), sum(numbers)))
    return {"columns": [str(c) for c in columns], "rows": rows}


def _options(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in sorted(params.items()) if v is not None)


# ----------------------------------------------------------------------------- pages
def _page(context: dict[str, Any], charts: list[Chart]) -> str:
    grouped: dict[str, list[dict[str, Any]]] = {s: [] for s in SECTION_TITLES}
    for c in charts:
        grouped.setdefault(c.section, []).append(
            {"id": c.id, "title": c.title, "note": c.note, "sampling": c.sampling,
             "html": _chart_html(c)})
    return _template().render(charts=grouped, plotlyjs=_plotlyjs(), version=__version__,
                              **context)


def _lead(summary: Any, features: list[str], algorithm: str) -> str:
    """The report's first line: how many customers, from what, segmented on what."""
    on = (", ".join(features) if len(features) <= 6 else
          f"{len(features)} features (see Column roles)")
    source = Path(summary["input"]["path"]).name
    tx = summary.get("transactions")
    if tx:  # a log: its customers' features were computed first
        source = (f"the transaction log {source} ({tx['cleaning']['lines_read']:,} lines; "
                  f"their features as of {tx['as_of']})")
    return (f"{summary['n_customers']:,} customers from {source}, "
            f"segmented on {on} into {summary['k']} segments with {algorithm}.")


def render_report(result: SegmentationResult) -> str:
    """The report as one HTML string (self-contained; plotly.js inlined once)."""
    from custseg.explore import MAX_COLUMNS
    from custseg.report.findings import findings, why_k
    from custseg.report.profiles import NOTABLE_LIFT, NOTABLE_SHARE, column_roles, label

    summary = result.summary
    views = views_of(result)
    data = overview_of(result)
    ksel = summary["k_selection"]
    features = summary["features"]
    algorithm = ALGORITHM_NAMES.get(summary.get("algorithm", ""), summary.get("algorithm"))
    lead = _lead(summary, features, algorithm)
    k_note = []
    if ksel.get("n_samples") and ksel["n_samples"] < summary["n_customers"]:
        k_note.append(f"k was chosen on a random sample of {ksel['n_samples']:,} customers; "
                      "the final segments use all of them.")
    sampling = ksel.get("sampling") or {}
    if sampling.get("subsamples"):
        k_note.append(f"Silhouettes by k are means over {sampling['subsamples']} disjoint random "
                      f"subsamples of {sampling['subsample_size']:,} customers, with their "
                      "standard errors (summary.json).")
    elif ksel.get("silhouette_sample"):
        k_note.append(f"Silhouettes by k were computed on a random sample of "
                      f"{ksel['silhouette_sample']:,} customers.")
    engine = summary.get("engine") or {}
    data_note = ""
    if engine.get("report_sample") and engine["report_sample"] < summary["n_customers"]:
        data_note = (f"The distributions, correlations and charts of this report are drawn "
                     f"from a stratified sample of {engine['report_sample']:,} of the "
                     f"{summary['n_customers']:,} customers (the fast path for large tables); "
                     "the segment sizes, profiles and the choice of k are computed on all "
                     "of them.")
    sections = [{"id": s, "title": f"{i}. {SECTION_TITLES[s]}"} for i, s in enumerate(
        ["data", "k", "segments", "profiles", "findings"], start=1)]
    rfm = rfm_crosstab(summary)
    if rfm:
        sections.append({"id": "rfm", "title": f"6. {SECTION_TITLES['rfm']}"})
    versions = ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items())
    context = {
        "title": f"Customer segments: {summary['k']} segments of "
                 f"{summary['n_customers']:,} customers",
        "lead": lead, "why_k": why_k(summary), "sections": sections, "explore": False,
        "summary": summary, "data": data, "cleaning_rows": _cleaning_rows(data, False),
        "max_columns": MAX_COLUMNS, "k_sample_note": " ".join(k_note),
        "data_sample_note": data_note,
        "profile": _profile_table(result, views),
        "cards": _cards(summary, views.category_shares or None),
        "spend_of": ", ".join(label(summary, c) for c in summary.get("spend_columns", [])),
        "column_roles": column_roles(summary),
        "notable_lift": NOTABLE_LIFT, "notable_share": NOTABLE_SHARE, "card_traits": CARD_TRAITS,
        "findings": findings(summary, views, _segment_means(result)), "rfm": rfm,
        "command": summary.get("command", ""), "seed": summary.get("seed"),
        "sha256": summary.get("input_sha256", ""),
        "options": _options(result.segmenter.get_params()), "versions": versions,
    }
    return _page(context, report_charts(result))


def _explore_column_roles(overview: DataOverview) -> dict[str, Any] | None:
    """The column roles of ``explore``, when the overview carries them (as summary.json's
    ``columns``, ``near_duplicates`` and ``outliers``)."""
    from custseg.report.profiles import column_roles

    parts = {key: getattr(overview, key, None) or overview.roles.get(key)
             for key in ("columns", "near_duplicates", "outliers", "labels")}
    return column_roles({k: v for k, v in parts.items() if v is not None})


def render_explore(overview: DataOverview) -> str:
    """The data part of the report alone (``custseg explore``), as one HTML string."""
    from custseg.explore import MAX_COLUMNS

    name = Path(overview.input.get("path", "")).name
    lead = (f"{overview.input.get('rows', overview.n_rows):,} rows × "
            f"{overview.input.get('columns', 0):,} columns read from {name}: column roles, "
            "cleaning and distributions, before segmenting.")
    context = {
        "title": f"Data overview: {name}", "lead": lead, "why_k": "",
        "sections": [{"id": "data", "title": "1. Data"}], "explore": True, "summary": {},
        "data": overview, "cleaning_rows": _cleaning_rows(overview, True),
        "max_columns": MAX_COLUMNS, "command": overview.command, "seed": None,
        "sha256": overview.input_sha256, "options": "", "versions": "", "data_sample_note": "",
        "column_roles": _explore_column_roles(overview),
    }
    return _page(context, explore_charts(overview))


def write_explore(overview: DataOverview, out: str | os.PathLike[str], *,
                  force: bool = False) -> Path:
    """Write ``out/report.html``, the data part of the report, atomically.  (It was
    ``custseg.explore.write_explore``: it lives here so that explore, which computes the
    numbers, never imports the report, which draws them.)"""
    from custseg.io import atomic_output_dir

    out = Path(out)
    with atomic_output_dir(out, force=force) as tmp:
        (tmp / "report.html").write_text(render_explore(overview), "utf-8")
    return out


# ----------------------------------------------------------------------------- PNG
PNG_HINT = ("`png` draws the charts with kaleido and a Chrome or Chromium browser: "
            "pip install 'custseg[png]', and install Chromium (Debian/Ubuntu: "
            "apt-get install chromium) or set BROWSER_PATH to a Chrome executable")


def check_png_support(directory: str | os.PathLike[str] | None = None) -> None:
    """Raise a :class:`~custseg.errors.UsageError` saying what to install when charts
    cannot be written as PNG (kaleido missing, or no Chrome/Chromium found), and an
    :class:`~custseg.errors.OutputError` when ``directory`` cannot be created."""
    from custseg.errors import UsageError

    if directory is not None:
        from custseg.io import check_output_location

        check_output_location(Path(directory) / "01.png")  # refused before any work
    try:
        import kaleido  # noqa: F401
        from choreographer.browsers.chromium import Chromium
    except ImportError as exc:
        raise UsageError(f"kaleido is not installed ({exc}). {PNG_HINT}", "png") from None
    path = os.environ.get("BROWSER_PATH") or Chromium.find_browser(skip_local=False)
    if not path or not Path(path).is_file():
        raise UsageError(f"no Chrome or Chromium browser found. {PNG_HINT}", "png")


def write_chart_images(charts: list[Chart], directory: str | os.PathLike[str], *,
                       width: int = 1200, scale: float = 2.0) -> list[Path]:
    """Write each chart as ``NN-<chart id>.png`` into ``directory`` (created if needed; files
    of the same name are replaced); returns the paths, in page order."""
    check_png_support()
    import kaleido

    from custseg.errors import UsageError
    from custseg.io import check_output_location, output_error

    directory = Path(directory)
    check_output_location(directory / "01.png")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, directory) from None
    jobs, paths = [], []
    for i, chart in enumerate(charts, start=1):
        path = directory / f"{i:02d}-{chart.id}.png"
        fig = chart.figure
        if not fig.layout.title.text:
            fig = type(fig)(fig)  # a copy: the title is for the slide, not the page
            fig.update_layout(title={"text": chart.title, "x": 0.02},
                              margin={"t": 70})
        jobs.append({"fig": fig, "path": str(path),
                     "opts": {"format": "png", "width": width,
                              "height": int(fig.layout.height or 500), "scale": scale}})
        paths.append(path)
    errors: Any = ()
    for attempt in (1, 2):  # a browser that starts slowly on a busy machine: try once more
        try:
            errors = kaleido.write_fig_from_object_sync(jobs, kopts={"mathjax": False})
        except Exception as exc:  # kaleido and the browser fail in many ways
            if attempt == 2:
                raise UsageError(f"could not write the charts as PNG: {exc!r}. {PNG_HINT}",
                                 "png") from exc
            continue
        if not errors and all(p.is_file() for p in paths):
            break
    missing = [p for p in paths if not p.is_file()]
    if errors or missing:
        raise UsageError(f"could not write {len(missing) or len(errors)} chart(s) as PNG: "
                         f"{list(errors or [])[:3]!r}", "png")
    return paths


def report_images(result: SegmentationResult, directory: str | os.PathLike[str]
                  ) -> list[Path]:
    """Every chart of the report of ``result`` as a PNG in ``directory``."""
    return write_chart_images(report_charts(result), directory)


def explore_images(overview: DataOverview, directory: str | os.PathLike[str]) -> list[Path]:
    """The charts of the data overview as PNGs in ``directory``."""
    return write_chart_images(explore_charts(overview), directory)
