"""Plain-language sentences for the report: the findings, and why this k.

Words only, from numbers already computed (``summary.json``'s dictionary and a
:class:`~custseg.explore.SegmentViews`).

Examples
--------
>>> seg = {"id": 4, "name": "Low income · High spending", "size": 22, "share": 0.11,
...        "levels": {"Annual Income (k$)": "Low", "Spending Score (1-100)": "High"},
...        "z": {"Annual Income (k$)": -1.3, "Spending Score (1-100)": 1.2},
...        "distinguishing": ["Annual Income (k$)", "Spending Score (1-100)"],
...        "recommendation": "Reward loyalty with discounts."}
>>> who(seg, ["Annual Income (k$)", "Spending Score (1-100)"])
'Customers with low income but high spending'
>>> segment_finding(seg, ["Annual Income (k$)", "Spending Score (1-100)"])
'Customers with low income but high spending: 11% of customers (22). Reward loyalty with discounts.'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from custseg.explore import SegmentViews

LEVEL_WORDS = {"Low": "low", "Mid": "average", "High": "high"}
SIGNAL_WORDS = {"elbow": "the elbow of the inertia curve", "silhouette": "the silhouette",
                "calinski_harabasz": "the Calinski-Harabasz index",
                "davies_bouldin": "the Davies-Bouldin index"}
STRUCTURE_WORDS = {
    "none": "the data show no clear grouping, so treat the segments as a convenient "
            "partition rather than natural groups",
    "weak": "the segments overlap a good deal",
    "reasonable": "the segments are reasonably well separated",
    "strong": "the segments are clearly separated",
}
#: A describing column is mentioned when a segment's mean is this many standard deviations
#: from the average customer.
NOTABLE_Z = 0.5


def _label(column: str, labels: Mapping[str, str] | None = None) -> str:
    """The column's label: the summary's (a user labels file's) when it has one."""
    if labels and labels.get(column):
        return str(labels[column])
    from custseg.profiling import short_label

    return short_label(column)


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def who(segment: dict[str, Any], numeric_features: list[str],
        labels: Mapping[str, str] | None = None) -> str:
    """'Customers with low income but high spending': the segment's levels of its numeric
    features (all of them up to three; otherwise the ones that set it apart), by their
    ``labels`` (the summary's) when given."""
    levels = segment.get("levels", {})
    feats = [f for f in numeric_features if f in levels]
    if len(feats) > 3:
        feats = [f for f in segment.get("distinguishing", []) if f in levels
                 and levels[f] != "Mid"][:3]
    if not feats:
        return f"Customers of segment “{segment['name']}”"
    if all(levels[f] == "Mid" for f in feats):
        return "Customers close to average on " + _join([_label(f, labels) for f in feats])
    parts = [f"{LEVEL_WORDS.get(levels[f], levels[f].lower())} {_label(f, labels)}" for f in feats]
    if len(parts) == 2 and {levels[feats[0]], levels[feats[1]]} == {"Low", "High"}:
        return f"Customers with {parts[0]} but {parts[1]}"
    return "Customers with " + _join(parts)


def _fmt(x: float) -> str:
    return f"{x:,.1f}" if abs(x) < 1e5 else f"{x:,.0f}"


def segment_finding(segment: dict[str, Any], numeric_features: list[str],
                    views: SegmentViews | None = None,
                    means: dict[str, float] | None = None,
                    labels: Mapping[str, str] | None = None) -> str:
    """One finding per segment: who they are, how many, what else marks them, what to do.

    ``means`` (the segment's mean of each numeric column) and ``views`` (population means and
    category shares) add the describing columns (e.g. age, gender) when they stand out;
    ``labels`` (the summary's) name the columns.
    """
    text = (f"{who(segment, numeric_features, labels)}: {segment['share']:.0%} of customers "
            f"({segment['size']:,}).")
    extras = []
    if views is not None and means:
        for col, z in segment.get("z", {}).items():
            if col in numeric_features or abs(z) < NOTABLE_Z or col not in means:
                continue
            pop = views.population_mean.get(col)
            word = "higher" if z > 0 else "lower"
            if pop is not None:
                extras.append(f"{word} {_label(col, labels)} than average ({_fmt(means[col])} vs "
                              f"{_fmt(pop)})")
        from custseg.report.profiles import everyone_share, notable_categories, says_yes

        # the categories where the segment differs, by the rule of the profile table
        for col, hit in notable_categories(segment, views.category_shares).items():
            overall = everyone_share(hit, views.category_shares.get(col, {}))
            vs = f" (vs {overall:.0%} overall)" if overall is not None else ""
            share = f"{float(hit['share']):.0%}"
            if says_yes(hit, views.category_shares.get(col, {})):
                extras.append(f"{_label(col, labels)}: {hit['level']} for {share}{vs}")
            else:
                extras.append(f"{share} {_label(col, labels)} {hit['level']}{vs}")
    if extras:
        text += " They have " + _join(extras) + "."
    rec = str(segment.get("recommendation", "")).strip()
    return f"{text} {rec}" if rec else text


def why_k(summary: dict[str, Any]) -> str:
    """The chosen k and how sure, in one plain sentence."""
    ksel = summary["k_selection"]
    k = ksel["chosen_k"]
    structure = STRUCTURE_WORDS.get(ksel.get("structure") or "", "")
    method = ksel.get("method")
    if method == "consensus":
        votes = ksel.get("votes") or {}
        agree = [s for s, v in votes.items() if v == k]
        names = _join([SIGNAL_WORDS.get(s, s.replace("_", " ")) for s in agree])
        why = (f"{len(agree)} of the {len(votes)} signals point to it ({names})" if agree
               else "it ranks best overall although no single signal picks it")
        best = max((s["silhouette"] for s in ksel["scores"] if s.get("silhouette") is not None),
                   default=None)
        sil = f" (best silhouette {best:.2f})" if best is not None else ""
        tail = f", and {structure}{sil}" if structure else ""
        return (f"We chose {k} segments because {why}{tail}: confidence "
                f"{ksel.get('confidence_label', '')}.")
    if method == "fixed":
        sil = summary.get("quality", {}).get("silhouette")
        sil_text = f" (silhouette {sil:.2f})" if isinstance(sil, int | float) else ""
        tail = f"; {structure}{sil_text}" if structure else sil_text
        return f"{k} segments, as asked for (k fixed, not chosen from the data){tail}."
    return str(ksel.get("explanation") or f"{k} segments.")


def findings(summary: dict[str, Any], views: SegmentViews | None = None,
             means: dict[int, dict[str, float]] | None = None) -> list[str]:
    """The findings, as an analyst would write them: the overall picture, how sure, data
    caveats, then one finding per segment (largest first)."""
    segs = summary["segments"]
    numeric = [f for f in summary["features"]
               if f in summary.get("preprocessing", {}).get("numeric", summary["features"])]
    out = []
    if segs:
        largest, smallest = segs[0], min(segs, key=lambda s: s["size"])
        out.append(f"The {summary['n_customers']:,} customers fall into {len(segs)} segments. "
                   f"The largest, “{largest['name']}”, holds {largest['share']:.0%} of them; "
                   f"the smallest, “{smallest['name']}”, {smallest['share']:.0%}.")
    out.append(why_k(summary))
    cleaning = summary.get("cleaning", {})
    caveats = []
    if cleaning.get("duplicate_rows_dropped"):
        caveats.append(f"{cleaning['duplicate_rows_dropped']:,} duplicate rows were dropped")
    if cleaning.get("rows_dropped_missing"):
        caveats.append(f"{cleaning['rows_dropped_missing']:,} rows with missing values were "
                       "not segmented")
    imputed = cleaning.get("imputed") or {}
    if imputed:
        caveats.append("missing values were filled in for " + _join(
            [f"{c} ({n:,})" for c, n in imputed.items()]))
    if caveats:
        text = "; ".join(caveats)
        out.append(f"Data: {text[0].upper()}{text[1:]}.")
    for s in segs:
        out.append(segment_finding(s, numeric, views, (means or {}).get(int(s["id"])),
                                   summary.get("labels")))
    return out
