"""The profiles as a manager reads them: features as rows (most distinguishing first),
segments as columns, each number formatted by its column's role, the traits that set each
segment apart, and the categories where a segment differs.

Pure functions of ``summary.json``'s dictionary (plus, when the report has them, the
segments' means of every numeric column and the population's means): the HTML report and
the terminal summary share them.  Every key added by issue 12 (``columns``, ``labels``,
``outliers``, ``near_duplicates``, a segment's ``traits``, ``evidence``, ``outlier_group``,
``notable_categories``) is optional: without it the same tables come out of the older keys.

Examples
--------
>>> fmt_value(52340.4, "money"), fmt_value(86.54, "money"), fmt_value(1967.03, "year")
('52,340', '86.54', '1967')
>>> fmt_value(0.342, "rate", scale=1.0), fmt_value(34.2, "rate", scale=100.0)
('34%', '34%')
>>> fmt_value(0.24, "flag"), fmt_value(2.34, "count"), fmt_value(0.04, "rate", scale=1.0)
('24%', '2.3', '4.0%')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: A category level is notable in a segment when it is at least this many times as common
#: there as among all customers ...
NOTABLE_LIFT = 1.3
#: ... and held by at least this share of the segment.
NOTABLE_SHARE = 0.4
#: A trait (or a cell's arrow) needs the segment's mean this many standard deviations away
#: from the average customer.
TRAIT_Z = 0.5
#: Rows of the z-score heatmap shown before "show all".
HEATMAP_TOP = 12
UP, DOWN = "▲", "▼"

_YEAR_NAME = re.compile(r"year|birth|\byr\b|_yr|yr_", re.IGNORECASE)


# ----------------------------------------------------------------------------- numbers
def _finite(x: Any) -> bool:
    return (isinstance(x, int | float) and not isinstance(x, bool)
            and math.isfinite(float(x)))


def _pct_text(p: float) -> str:
    return f"{p:.1f}%" if 0 < abs(p) < 10 else f"{p:.0f}%"


def fmt_value(x: Any, role: str | None, scale: float | None = None) -> str:
    """``x`` written for a reader, by the role of its column.

    money: thousands grouping, no decimals from 100 up; count: one decimal; rate: a percent
    (``scale`` 1.0: values 0-1, 100.0: values 0-100; guessed from the value when None);
    flag: the percent of customers; year: four digits, never a separator; age: one decimal;
    tenure (days): whole numbers; anything else: decimals by magnitude.
    """
    if not _finite(x):
        return "–"
    x = float(x)
    if role == "year":
        return f"{x:.0f}"
    if role == "money":
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"
    if role == "count":
        return f"{x:,.1f}"
    if role in ("rate", "flag"):
        if scale is None:
            scale = 1.0 if (role == "flag" or abs(x) <= 1.0) else 100.0
        return _pct_text(x * 100.0 if scale == 1.0 else x)
    if role == "age":
        return f"{x:.1f}"
    if role == "tenure":
        return f"{x:,.0f}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:,.1f}"
    return f"{x:,.2f}"


# ----------------------------------------------------------------------------- columns
def label(summary: Mapping[str, Any], column: str) -> str:
    """The human label of a column: ``summary["labels"]``, else a short label from its name."""
    labels = summary.get("labels")
    if isinstance(labels, Mapping) and labels.get(column):
        return str(labels[column])
    from custseg.profiling import short_label

    return short_label(column)


def _entries(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    cols = summary.get("columns")
    return [c for c in cols if isinstance(c, Mapping)] if isinstance(cols, list) else []


def entry_for(summary: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The ``summary["columns"]`` entry whose feature (or, failing that, column) is
    ``name``; one in use first."""
    return _entry_index(summary).get(name)


#: The index of the last summary's column entries (the report asks for every column, and
#: a table may have thousands): (the columns list, its length, {name: entry}).
_INDEX: list[Any] = [None, -1, {}]


def _entry_index(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{feature or column name: entry}`` as :func:`entry_for` chooses: an entry whose
    feature is the name before one whose column is, one in use before a dropped one, else
    the first; built once per summary."""
    cols = summary.get("columns")
    if _INDEX[0] is cols and _INDEX[1] == (len(cols) if isinstance(cols, list) else -1):
        return _INDEX[2]
    entries = _entries(summary)
    index: dict[str, dict[str, Any]] = {}
    rank: dict[str, tuple[int, int]] = {}
    for key, order in (("feature", 0), ("column", 1)):
        for e in entries:
            name = e.get(key)
            if name is None:
                continue
            # a feature match beats a column match; within one, in use beats dropped
            r = (int(e.get("use") == "dropped"), order)
            if name not in rank or r < rank[name]:
                index[name], rank[name] = e, r
    _INDEX[:] = [cols, len(cols) if isinstance(cols, list) else -1, index]
    return index


def _rate_scale(summary: Mapping[str, Any], name: str) -> float | None:
    for where in (summary, summary.get("preprocessing") or {}):
        scales = where.get("rate_scale") if isinstance(where, Mapping) else None
        if isinstance(scales, Mapping) and _finite(scales.get(name)):
            return float(scales[name])
    return None


def role_of(summary: Mapping[str, Any], name: str, values: Iterable[Any] = ()) -> str | None:
    """How to write the values of feature or column ``name``: money, count, rate, flag,
    year, age, tenure, measure, or None when unknown.  ``values`` (means) tell a year from
    another measure when the summary does not say."""
    e = entry_for(summary, name)
    role = e.get("role") if e else None
    if e is not None:
        derived = e.get("feature") not in (None, e.get("column")) and e.get("feature") == name
        if role == "birth_year":
            role = "age" if derived else "year"
        elif role == "date":
            role = "tenure" if derived else "date"
    vals = [float(v) for v in values if _finite(v)]
    if role == "flag" and vals and max(abs(v) for v in vals) > 1.0:
        role = "measure"  # not coded 0/1 after all
    if role in (None, "measure") and vals and _YEAR_NAME.search(str(name)) \
            and all(1800 <= v <= 2100 for v in vals):
        role = "year"
    return role


def row_scale(summary: Mapping[str, Any], name: str, role: str | None,
              values: Iterable[Any]) -> float | None:
    """For a rate: 1.0 when its values are shares (0-1), 100.0 when percentages."""
    if role != "rate":
        return 1.0 if role == "flag" else None
    given = _rate_scale(summary, name)
    if given is not None:
        return given
    vals = [abs(float(v)) for v in values if _finite(v)]
    return 1.0 if vals and max(vals) <= 1.0 else 100.0


# ----------------------------------------------------------------------------- segments
def is_outlier_group(seg: Mapping[str, Any]) -> bool:
    return bool(seg.get("outlier_group"))


def numeric_columns(summary: Mapping[str, Any]) -> list[str]:
    """Numeric features and describing columns (those with a z-score), features first."""
    segs = summary.get("segments") or []
    seen: list[str] = []
    for s in segs:
        seen += [c for c in (s.get("z") or {}) if c not in seen]
    feats = [f for f in summary.get("features") or [] if f in seen]
    return feats + [c for c in seen if c not in feats]


def importance(summary: Mapping[str, Any]) -> list[tuple[str, float]]:
    """Numeric columns by how much the segments differ on them (the spread of their
    z-scores across segments, outlier groups left out), largest first."""
    segs = summary.get("segments") or []
    core = [s for s in segs if not is_outlier_group(s)] or list(segs)
    out = []
    for i, c in enumerate(numeric_columns(summary)):
        zs = [float(s["z"][c]) for s in core if _finite((s.get("z") or {}).get(c))]
        out.append((c, (max(zs) - min(zs)) if zs else -1.0, i))
    out.sort(key=lambda t: (-t[1], t[2]))
    return [(c, spread) for c, spread, _ in out]


def population_mix(summary: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Each categorical column's level shares among all customers in a segment, from the
    segments' own mixes weighted by their sizes."""
    segs = summary.get("segments") or []
    total = sum(float(s.get("size") or 0) for s in segs)
    mix: dict[str, dict[str, float]] = {}
    if total <= 0:
        return mix
    for s in segs:
        w = float(s.get("size") or 0) / total
        for col, levels in (s.get("categories") or {}).items():
            for lvl, share in (levels or {}).items():
                if _finite(share):
                    mix.setdefault(col, {})
                    mix[col][lvl] = mix[col].get(lvl, 0.0) + w * float(share)
    return mix


def notable_categories(seg: Mapping[str, Any],
                       population: Mapping[str, Mapping[str, float]] | None = None
                       ) -> dict[str, dict[str, Any]]:
    """``{column: {"level", "share", "lift"}}``: the categories where the segment differs
    (``seg["notable_categories"]`` when the summary has it; otherwise a level held by at
    least :data:`NOTABLE_SHARE` of the segment and :data:`NOTABLE_LIFT` times as common as
    among all customers)."""
    given = seg.get("notable_categories")
    if isinstance(given, Mapping):
        return {str(c): dict(v) for c, v in given.items() if isinstance(v, Mapping)}
    out: dict[str, dict[str, Any]] = {}
    for col, levels in (seg.get("categories") or {}).items():
        overall = (population or {}).get(col) or {}
        best = None
        for lvl, share in (levels or {}).items():
            pop = overall.get(lvl)
            if lvl == "missing" or not _finite(share) or not _finite(pop) or pop <= 0:
                continue
            lift = float(share) / float(pop)
            if share >= NOTABLE_SHARE and lift >= NOTABLE_LIFT and (
                    best is None or lift > best["lift"]):
                best = {"level": str(lvl), "share": float(share), "lift": lift}
        if best is not None:
            out[str(col)] = best
    return out


def says_yes(hit: Mapping[str, Any], shares: Mapping[str, float]) -> bool:
    """Whether a notable category (:func:`notable_categories`) is the share of yes of a
    yes/no column: marked so by the summary, or (older summaries) found from its levels.

    >>> says_yes({"level": "yes", "yes": True}, {}), says_yes({"level": "M"}, {"F": .5, "M": .5})
    (True, False)
    """
    from custseg.profiling.names import yes_level

    return bool(hit.get("yes")) or yes_level(shares) == hit["level"]


def everyone_share(hit: Mapping[str, Any], shares: Mapping[str, float]) -> float | None:
    """Everyone's share of a notable category's level (:func:`notable_categories`): given
    by the summary for a share of yes (``overall``), else from the population's mix.

    >>> everyone_share({"level": "yes", "overall": 0.06}, {}), everyone_share(
    ...     {"level": "F"}, {"F": 0.5})
    (0.06, 0.5)
    """
    share = hit.get("overall", shares.get(str(hit["level"])))
    return float(share) if _finite(share) else None


def traits(seg: Mapping[str, Any], summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What sets the segment apart, most distinguishing first: ``feature``, ``label``,
    ``z``, ``arrow`` (▲ above the average customer, ▼ below: the sign of z), ``ratio`` (the
    segment's mean over the population's, when it agrees with the sign) and ``text``.
    ``seg["traits"]`` when the summary has it, else the distinguishing features with
    ``|z| >= 0.5``."""
    out = []
    given = seg.get("traits")
    if isinstance(given, list) and given:
        for t in given:
            if not isinstance(t, Mapping) or not _finite(t.get("z")):
                continue
            f = str(t.get("feature", ""))
            z = float(t["z"])
            ratio = t.get("ratio")
            ratio = float(ratio) if _finite(ratio) and ratio > 0 and (
                (ratio > 1) == (z > 0)) else None
            out.append({"feature": f, "label": str(t.get("label") or label(summary, f)),
                        "z": z, "arrow": UP if z > 0 else DOWN, "ratio": ratio,
                        "text": str(t.get("text") or "")})
        return out
    z_of = seg.get("z") or {}
    for f in seg.get("distinguishing") or []:
        z = z_of.get(f)
        if _finite(z) and abs(float(z)) >= TRAIT_Z:
            z = float(z)
            out.append({"feature": f, "label": label(summary, f), "z": z,
                        "arrow": UP if z > 0 else DOWN, "ratio": None, "text": ""})
    return out


def trait_short(t: Mapping[str, Any]) -> str:
    """'▲ spend on wines 2.3×' or '▼ web visits −0.8 sd'."""
    ratio = t.get("ratio")
    size = f"{ratio:.1f}×" if _finite(ratio) and abs(ratio - 1) >= 0.05 else \
        f"{t['z']:+.1f} sd".replace("-", "−")
    return f"{t['arrow']} {t['label']} {size}"


def yes_shorts(seg: Mapping[str, Any], summary: Mapping[str, Any],
               mix: Mapping[str, Mapping[str, float]] | None = None) -> list[str]:
    """The segment's notable shares of yes, for the terminal: '▲ exited 8% vs 6%'.

    >>> seg = {"notable_categories": {"Exited": {"level": "yes", "share": 0.084,
    ...        "lift": 1.34, "yes": True, "overall": 0.063}}}
    >>> yes_shorts(seg, {"labels": {"Exited": "exited"}})
    ['▲ exited 8% vs 6%']
    """
    mix = population_mix(summary) if mix is None else mix  # once for all the segments
    out = []
    for col, hit in notable_categories(seg, mix).items():
        overall = everyone_share(hit, mix.get(col) or {})
        if says_yes(hit, mix.get(col) or {}) and overall is not None:
            arrow = "▲" if float(hit["share"]) > overall else "▼"
            out.append(f"{arrow} {label(summary, col)} {float(hit['share']):.0%} vs "
                       f"{overall:.0%}")
    return out


def apart_short(seg: Mapping[str, Any], summary: Mapping[str, Any], n: int = 3) -> str:
    """The segment's own distinguishing features in one line, for the terminal."""
    return ", ".join(trait_short(t) for t in traits(seg, summary)[:n])


# ----------------------------------------------------------------------------- table
_RED, _BLUE = (202, 0, 32), (5, 113, 176)


def z_colour(z: Any) -> str:
    """A cell's background for its z-score: red above the average, blue below, paler near
    it (light enough for dark text, and printed: see the template's print-color-adjust)."""
    if not _finite(z):
        return ""
    t = min(abs(float(z)) / 2.5, 1.0) * 0.55
    base = _RED if z > 0 else _BLUE
    r, g, b = (round(255 + (c - 255) * t) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"


def _segment_mean(s: Mapping[str, Any], col: str,
                  means: Mapping[int, Mapping[str, float]] | None,
                  pop_mean: dict[str, Any]) -> Any:
    """A segment's mean of a column: from ``means``, else its centre, else its trait (whose
    population mean then fills a gap in ``pop_mean``); None when none has it."""
    m = (means or {}).get(int(s["id"]), {}).get(col)
    if _finite(m):
        return m
    m = (s.get("centre") or {}).get(col)
    if _finite(m):
        return m
    for t in s.get("traits") or []:
        if isinstance(t, Mapping) and t.get("feature") == col and _finite(t.get("mean")):
            if not _finite(pop_mean.get(col)) and _finite(t.get("population_mean")):
                pop_mean[col] = t["population_mean"]
            return t["mean"]
    return None


def _numeric_cell(s: Mapping[str, Any], col: str, value: Any, role: str | None,
                  scale: float | None,
                  medians: Mapping[int, Mapping[str, float]] | None) -> dict[str, Any]:
    """One cell of a numeric row: the segment's mean as text, its colour, arrow and title."""
    z = (s.get("z") or {}).get(col)
    med = (medians or {}).get(int(s["id"]), {}).get(col)
    if not _finite(med):
        med = (s.get("median") or {}).get(col)
    title = f"z = {float(z):+.2f}" if _finite(z) else "z: –"
    if _finite(med):
        title += f" · median {fmt_value(med, role, scale)}"
    arrow = ""
    if _finite(z) and abs(float(z)) >= TRAIT_Z:
        arrow = UP if z > 0 else DOWN
    return {"text": fmt_value(value, role, scale), "colour": z_colour(z),
            "arrow": arrow, "title": title, "z": float(z) if _finite(z) else None}


def _numeric_rows(summary: Mapping[str, Any], segs: list[Mapping[str, Any]],
                  means: Mapping[int, Mapping[str, float]] | None,
                  pop_mean: dict[str, Any],
                  medians: Mapping[int, Mapping[str, float]] | None) -> list[dict[str, Any]]:
    """The rows of the numeric columns, by importance."""
    features = set(summary.get("features") or [])
    rows = []
    for col, spread in importance(summary):
        values = [_segment_mean(s, col, means, pop_mean) for s in segs]
        role = role_of(summary, col, [*values, pop_mean.get(col)])
        scale = row_scale(summary, col, role, [*values, pop_mean.get(col)])
        cells = [_numeric_cell(s, col, v, role, scale, medians)
                 for s, v in zip(segs, values, strict=True)]
        rows.append({"column": col, "label": label(summary, col), "role": role or "",
                     "feature": col in features, "spread": spread, "cells": cells,
                     "all": fmt_value(pop_mean.get(col), role, scale)})
    return rows


def _categorical_rows(summary: Mapping[str, Any], segs: list[Mapping[str, Any]],
                      mix: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    """The rows of the categorical columns on which some segment differs."""
    from custseg.profiling.names import yes_level

    notable = [notable_categories(s, mix) for s in segs]
    flags = {c.get("column") for c in summary.get("columns") or [] if c.get("role") == "flag"}
    cat_cols: list[str] = []
    for n in notable:  # a 0/1 flag has its row among the numbers already
        cat_cols += [c for c in n if c not in cat_cols and c not in flags]
    cat_rows = []
    for col in cat_cols:
        cells = []
        for n in notable:
            hit = n.get(col)
            if hit:
                lift = hit.get("lift")
                cells.append({"text": f"{hit['level']} {float(hit['share']):.0%}",
                              "title": (f"{float(hit['share']):.0%} of the segment"
                                        + (f", {float(lift):.1f}× as common as overall"
                                           if _finite(lift) else ""))})
            else:
                cells.append({"text": "", "title": "no level stands out"})
        overall = mix.get(col) or {}
        said_yes = [n[col]["level"] for n in notable if n.get(col, {}).get("yes")]
        top = ((said_yes[0] if said_yes else yes_level(overall))
               or max(overall, key=lambda lvl: overall[lvl])
               if overall else None)  # a yes/no column: its share of yes
        cat_rows.append({"column": col, "label": label(summary, col), "cells": cells,
                         "all": f"{top} {overall[top]:.0%}" if top is not None else "–",
                         "coded": _coded(overall)})
    return cat_rows


def coded_categories(summary: Mapping[str, Any]) -> list[str]:
    """The categorical columns whose levels in the segments are bare codes that no labels
    file named (:func:`_coded`), in the summary's order.

    >>> coded_categories({"roles": {"categorical": ["Channel", "Genre"]}, "segments": [
    ...     {"categories": {"Channel": {"1": 0.7, "2": 0.3}, "Genre": {"F": 1.0}}}]})
    ['Channel']
    """
    mix: dict[str, dict[str, float]] = {}
    for seg in summary.get("segments") or []:
        for col, levels in (seg.get("categories") or {}).items():
            mix.setdefault(col, {}).update(dict.fromkeys(levels, 1.0))
    return [c for c in (summary.get("roles") or {}).get("categorical") or []
            if _coded(mix.get(c, {}))]


def _coded(shares: Mapping[str, float]) -> bool:
    """Whether a category's levels are bare codes (whole numbers, "missing" aside) that no
    labels file named: the report asks for their names.

    >>> _coded({"1": 0.7, "2": 0.3}), _coded({"Retail": 1.0}), _coded({})
    (True, False, False)
    """
    from custseg.parsing import level_key

    levels = [lvl for lvl in shares if lvl != "missing"]
    return bool(levels) and all(level_key(lvl).lstrip("-").isdigit() for lvl in levels)


def profile_table(summary: Mapping[str, Any],
                  means: Mapping[int, Mapping[str, float]] | None = None,
                  population_mean: Mapping[str, float] | None = None,
                  medians: Mapping[int, Mapping[str, float]] | None = None,
                  population: Mapping[str, Mapping[str, float]] | None = None,
                  ) -> dict[str, Any]:
    """The transposed profile table: ``segments`` (the header: id, name, size, share,
    colour, outlier group) and ``rows``, one a numeric column by importance (label, raw
    name, role, whether it is a feature, one cell a segment: text, colour, arrow, title;
    and the population's value), then one a categorical column on which some segment
    differs (the notable level where it does).

    ``means``/``medians``: ``{segment id: {column: value}}`` of every numeric column (the
    segments' ``centre``/``median`` in the summary otherwise, features only; or the traits'
    means); ``population_mean``: ``{column: mean}``; ``population``: category shares of all
    customers (from the segments' mixes otherwise).
    """
    from custseg.display import segment_colour

    segs = list(summary.get("segments") or [])
    pop_mean: dict[str, Any] = dict(population_mean or {})
    header = [{"id": s["id"], "name": s["name"], "size": s.get("size"),
               "share": s.get("share"), "colour": segment_colour(int(s["id"])),
               "outlier_group": is_outlier_group(s)} for s in segs]
    rows = _numeric_rows(summary, segs, means, pop_mean, medians)
    mix = population if population else population_mix(summary)
    return {"segments": header, "rows": rows, "categorical": _categorical_rows(summary, segs, mix),
            "n_numeric": len(rows)}


# ----------------------------------------------------------------------------- data section
def column_roles(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """The "Column roles" part of the Data section: one row an input column (column, its
    label, role, use, reason), the near-duplicates dropped, and the outliers; None when the
    summary has none of them."""
    entries = _entries(summary)
    dups = [d for d in summary.get("near_duplicates") or [] if isinstance(d, Mapping)]
    outliers = summary.get("outliers")
    if not entries and not dups and not isinstance(outliers, Mapping):
        return None
    rows = []
    for e in entries:
        col = str(e.get("column", ""))
        feat = e.get("feature")
        rows.append({"column": col, "role": str(e.get("role") or ""),
                     "use": str(e.get("use") or ""), "reason": str(e.get("reason") or ""),
                     "feature": str(feat) if feat not in (None, col) else "",
                     "overridden": bool(e.get("overridden"))})
    dup_lines = []
    for d in dups:
        r = d.get("r")
        dup_lines.append(f"dropped {d.get('dropped')}, kept {d.get('kept')}"
                         + (f", r = {float(r):.2f}" if _finite(r) else ""))
    out_part = None
    if isinstance(outliers, Mapping):
        cols = []
        for col, info in (outliers.get("columns") or {}).items():
            if not isinstance(info, Mapping):
                continue
            role = role_of(summary, col, [x.get("value") for x in info.get("examples") or []
                                          if isinstance(x, Mapping)])
            if role == "birth_year":
                role = "year"

            def raw(x: Any, role: str | None = role) -> str:  # as in the file
                if role == "year" or not _finite(x):
                    return fmt_value(x, "year" if role == "year" else None)
                x = float(x)
                return f"{x:,.0f}" if x.is_integer() or abs(x) >= 1000 else f"{x:,.4g}"

            bounds = []
            if _finite(info.get("lower")):
                bounds.append(f"below {raw(info['lower'])}")
            if _finite(info.get("upper")):
                bounds.append(f"above {raw(info['upper'])}")
            examples = [f"row {x.get('row')}: {raw(x.get('value'))}"
                        for x in (info.get("examples") or [])[:3] if isinstance(x, Mapping)]
            cols.append({"column": str(col), "label": label(summary, col),
                         "count": info.get("count"), "bounds": " or ".join(bounds),
                         "examples": "; ".join(examples)})
        out_part = {"rows": outliers.get("rows"), "share": outliers.get("share"),
                    "method": str(outliers.get("method") or ""), "columns": cols}
    return {"rows": rows, "near_duplicates": dup_lines, "outliers": out_part}


def dropped_groups(summary: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """The dropped columns grouped by why (ids, constants, near-duplicates, text...), for
    the terminal: ``[(what, [column, ...]), ...]``."""
    names = {"id": "ids", "constant": "constants", "duplicate": "near-duplicates",
             "text": "free text", "date": "dates"}
    kept_for = {str(d.get("dropped")): d for d in summary.get("near_duplicates") or []
                if isinstance(d, Mapping)}
    groups: dict[str, list[str]] = {}
    for e in _entries(summary):
        if e.get("use") != "dropped":
            continue
        col = str(e.get("column", ""))
        role = str(e.get("role") or "other")
        if col in kept_for:
            role = "duplicate"
        text = col
        if role == "duplicate" and col in kept_for:
            d = kept_for[col]
            r = d.get("r")
            text = f"{col} (kept {d.get('kept')}" + (
                f", r = {float(r):.2f})" if _finite(r) else ")")
        groups.setdefault(names.get(role, role), []).append(text)
    for col, d in kept_for.items():  # near-duplicates the columns list does not name
        listed = groups.get("near-duplicates", [])
        if not any(x == col or x.startswith(f"{col} (") for x in listed):
            r = d.get("r")
            groups.setdefault("near-duplicates", []).append(
                f"{col} (kept {d.get('kept')}" + (f", r = {float(r):.2f})" if _finite(r)
                                                   else ")"))
    return list(groups.items())
