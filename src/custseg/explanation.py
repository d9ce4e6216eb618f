"""Why a customer is in its segment: :class:`Explanation` and the numbers behind it.

:meth:`custseg.notebook.Segmentation.explain` calls :func:`explain_row`.  A customer is
compared with its segment and with everyone on the scale the segments were formed on
(log-transformed columns as ``log1p``, signed ones as ``asinh``), as profiling measures
z-scores; typical values are shown back in the column's units.  Rendering only: nothing is
fitted here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from custseg.display import (
    DOWN,
    UP,
    card,
    escape,
    finite,
    format_number,
    segment_colour,
    segment_traits,
)

if TYPE_CHECKING:
    import pandas as pd

    from custseg.profiling import SegmentProfile
    from custseg.segmenter import Segmenter

#: (everyone's mean, everyone's standard deviation, each segment's mean) on the fitted scale.
Population = tuple[Any, Any, Any]


@dataclass
class Explanation:
    """Why a customer is in its segment.

    ``table`` has one row a numeric feature segmented on: the customer's value, the
    segment's and everyone's typical value (the mean on the scale the segments were formed
    on: log-transformed columns give a geometric mean) in the column's units, and the
    customer's and the segment's z-scores on that scale; ``matches`` the defining traits of
    the segment the customer shares.
    """

    customer: Any
    segment: int
    name: str
    distance: float
    typical_share: float | None
    runner_up: int | None
    runner_up_name: str | None
    runner_up_distance: float | None
    table: pd.DataFrame
    matches: list[str] = field(default_factory=list)
    text: str = ""

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        colour = segment_colour(int(self.segment)) if self.segment >= 0 else "#b0b0b0"
        paragraphs = self.text.split("\n")
        head = (f'<div class="cs-head"><span class="cs-title"><span class="cs-dot" '
                f'style="background:{colour}"></span>{escape(paragraphs[0])}</span></div>')
        body = "".join(f'<div class="cs-why">{escape(p)}</div>' for p in paragraphs[1:] if p)
        rows = []
        for _, r in self.table.iterrows():
            z = r["customer z"]
            arrow = "" if not finite(z) or abs(z) < 0.5 else (UP if z > 0 else DOWN)
            rows.append(f'<tr><td>{escape(r["feature"])}</td>'
                        f'<td class="cs-num">{escape(arrow)} {format_number(r["customer"])}</td>'
                        f'<td class="cs-num">{format_number(r["segment typical"])}</td>'
                        f'<td class="cs-num">{format_number(r["everyone typical"])}</td></tr>')
        table = ('<table class="cs-table"><thead><tr><th>feature</th><th>this customer</th>'
                 '<th>segment</th><th>everyone</th></tr></thead>'
                 f'<tbody>{"".join(rows)}</tbody></table>') if rows else ""
        return card(head + body + table)


# ----------------------------------------------------------------------------- numbers
def find_row(segmenter: Segmenter, table: pd.DataFrame, customer_id: Any) -> int:
    """Position in ``table`` of the customer with this id (the id column, compared as
    text and as a number too), or by the table's index label."""
    import numpy as np

    from custseg.errors import UsageError

    id_col = segmenter.roles_.id_column
    if id_col is not None and id_col in table.columns:
        ids = table[id_col]
        hits = np.flatnonzero((ids == customer_id).to_numpy(dtype=bool, na_value=False))
        if not len(hits):  # "0001" for 1, or 1 for "0001"
            hits = np.flatnonzero(ids.astype(str).str.strip().to_numpy()
                                  == str(customer_id).strip())
        if not len(hits) and isinstance(customer_id, int | float | str):
            import pandas as pd

            number = pd.to_numeric(pd.Series([customer_id]), errors="coerce").iloc[0]
            if pd.notna(number):
                numbers = pd.to_numeric(ids, errors="coerce").to_numpy(dtype=float)
                hits = np.flatnonzero(numbers == float(number))
        where = f"in the id column {id_col!r}"
        examples = ids.head(3).tolist()
    else:
        index = table.index
        hits = np.flatnonzero(index == customer_id)
        where = "in the table's index (there is no id column)"
        examples = index[:3].tolist()
    if not len(hits):
        raise UsageError(f"customer {customer_id!r} not found {where}; ids look like "
                         f"{examples}", "customer_id")
    return int(hits[0])


def to_fitted_scale(segmenter: Segmenter, values: pd.DataFrame) -> pd.DataFrame:
    """Numeric features on the scale the segments were formed on (log-transformed
    columns as log1p, signed ones as asinh), as profiling measures z-scores."""
    import numpy as np

    plan = segmenter.plan_
    out = values.astype(float).copy()
    for c in out.columns:
        if c in plan.log_columns:
            out[c] = np.log1p(out[c].clip(lower=0))
        elif c in getattr(plan, "signed_log_columns", []):
            out[c] = np.arcsinh(out[c])
    return out


def from_fitted_scale(segmenter: Segmenter, column: str, value: float) -> float:
    """A value of the fitted scale back in the column's units."""
    import numpy as np

    plan = segmenter.plan_
    if column in plan.log_columns:
        return float(np.expm1(value))
    if column in getattr(plan, "signed_log_columns", []):
        return float(np.sinh(value))
    return float(value)


def population_stats(segmenter: Segmenter, table: pd.DataFrame) -> Population:
    """On the fitted scale: everyone's mean and standard deviation, and each segment's
    mean (a DataFrame indexed by segment)."""
    seg = segmenter
    typed = seg.typed_features(table.loc[seg.fit_mask_])
    numeric = [c for c in seg.plan_.numeric if c in typed.columns]
    scaled = to_fitted_scale(seg, typed[numeric])
    by_segment = scaled.groupby(seg.labels_[seg.fit_mask_]).mean()
    return scaled.mean(), scaled.std(ddof=0), by_segment


def feature_records(segmenter: Segmenter, typed: pd.DataFrame, label: int,
                    profile: SegmentProfile, population: Population) -> list[dict[str, Any]]:
    """One record a numeric feature: the customer's value, the segment's and everyone's
    typical values in the column's units, and the customer's and the segment's z."""
    mean, std, by_segment = population
    numeric = list(segmenter.plan_.numeric)
    records = []
    scaled = to_fitted_scale(segmenter, typed[[f for f in numeric if f in typed.columns]])
    for f in numeric:
        value = float(typed[f].iloc[0]) if f in typed.columns else float("nan")
        sd = float(std.get(f, float("nan")))
        mu = float(mean.get(f, float("nan")))
        cz = ((float(scaled[f].iloc[0]) - mu) / sd
              if f in scaled.columns and math.isfinite(sd) and sd > 0 else float("nan"))
        seg_mean = (float(by_segment.loc[label, f]) if f in by_segment.columns
                    and label in by_segment.index else float("nan"))
        records.append({"feature": f, "customer": value,
                        "segment typical": from_fitted_scale(segmenter, f, seg_mean),
                        "everyone typical": from_fitted_scale(segmenter, f, mu),
                        "customer z": round(cz, 3), "segment z":
                        profile.z.get(f, float("nan"))})
    return records


# ----------------------------------------------------------------------------- words
def explain_row(segmenter: Segmenter, table: pd.DataFrame, customer_id: Any, pos: int,
                population: Population) -> Explanation:
    """The :class:`Explanation` of the customer at position ``pos`` of ``table``, whose
    id is ``customer_id``; ``population`` is :func:`population_stats` of the same."""
    import numpy as np
    import pandas as pd

    seg = segmenter
    label = int(seg.labels_[pos])
    row = table.iloc[[pos]]
    if label < 0:
        text = (f"Customer {customer_id} is in no segment: "
                + ("a density method found it in no dense group."
                   if seg.fit_mask_[pos] else "it was left out for missing values."))
        return Explanation(customer_id, -1, "", float("nan"), None, None, None, None,
                           pd.DataFrame(), [], text)
    profile = seg.segments_[label]
    typed = seg.typed_features(row[list(seg.feature_names_in_)])
    distances = np.asarray(seg.transform(row[list(seg.feature_names_in_)]))[0]
    order = np.argsort(distances, kind="stable")
    runner = next((int(i) for i in order if int(i) != label), None)
    dist = float(seg.distances_[pos])
    same = seg.distances_[seg.labels_ == label]
    typical = float((same > dist).mean()) if len(same) > 1 else None
    records = feature_records(seg, typed, label, profile, population)
    frame = pd.DataFrame(records, columns=["feature", "customer", "segment typical",
                                           "everyone typical", "customer z", "segment z"])
    matches, against = _trait_lines(profile, records)
    lines = _likeness_lines(customer_id, label, profile, matches, against)
    lines.append(f"It sits {dist:.2f} from the segment's centre in scaled units"
                 f"{_closeness(typical)}.")
    runner_name = runner_dist = None
    if runner is not None:
        runner_name = seg.segments_[runner].name
        runner_dist = float(distances[runner])
        lines.append(f"Next nearest: segment {runner} · {runner_name}, at "
                     f"{runner_dist:.2f}.")
    return Explanation(customer_id, label, profile.name, dist, typical, runner,
                       runner_name, runner_dist, frame,
                       [m.split(":")[0] for m in matches], "\n".join(lines))


def _trait_lines(profile: SegmentProfile,
                 records: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(the segment's traits a customer shares, those it does not), one line each."""
    by_feature = {r["feature"]: r for r in records}
    matches, against = [], []
    for t in segment_traits(profile, n=6):
        r = by_feature.get(t["feature"])
        if r is None or not finite(r["customer z"]):
            continue
        line = (f"{UP if t['z'] > 0 else DOWN} {t['label']}: {format_number(r['customer'])} "
                f"(segment {format_number(r['segment typical'])}, everyone "
                f"{format_number(r['everyone typical'])})")
        (matches if (r["customer z"] > 0) == (t["z"] > 0) else against).append(line)
    return matches, against


def _likeness_lines(customer_id: Any, label: int, profile: SegmentProfile,
                    matches: list[str], against: list[str]) -> list[str]:
    """The first lines of an explanation: the customer's segment, and how it is like it."""
    lines = [f"Customer {customer_id} is in segment {label} · {profile.name} "
             f"({profile.size:,} customers, {profile.share:.1%})."]
    if matches:
        lines.append("Like its segment: " + "; ".join(matches) + ".")
    if against:
        lines.append("Unlike its segment: " + "; ".join(against) + ".")
    if not matches and not against:
        lines.append("Its segment is close to the average customer; so is this customer.")
    return lines


def _closeness(typical: float | None) -> str:
    """How the customer's distance compares with its segment's (``typical``: the share of
    its segment farther out than the customer), as a parenthesis; empty when unknown."""
    if typical is None:
        return ""
    return (f" (nearer than {typical:.0%} of its segment)" if typical >= 0.5
            else f" (farther out than {1 - typical:.0%} of its segment)")
