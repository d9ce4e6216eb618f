"""Segment history: stable identities across retrains, and who moved between two runs.

**Stable identities.**  Each run numbers its segments 0..k-1 by size, so "Segment 2" of
this month need not be "Segment 2" of last month.  :func:`match_segments` pairs the
segments of a new run with those of a previous one by the Hungarian method
(``scipy.optimize.linear_sum_assignment``) on their centres in original units, each feature
divided by its standard deviation in the training data (the mean of the two runs' standard
deviations), over the numeric features both runs share.  A pair further apart than
``max_distance`` (1.0 by default: one standard deviation, Euclidean over the standardised
features) is not a match: the new run's segment is **new**, the previous one **vanished**.
A matched segment keeps its **stable id**; a new one gets the next unused id.

**Migration.**  :func:`compare_runs` counts, for the customers in both runs, how many went
from each segment of run A to each segment of run B (the migration matrix), how each
segment grew or shrank, and counts apart the customers present in only one run.
:func:`render_compare_html` draws it as a Sankey diagram (Plotly, self-contained: plotly.js
inlined once).

The matching is in :mod:`custseg.history.matching`, the runs read and recorded in
:mod:`custseg.history.runs`, the comparison in :mod:`custseg.history.compare`, its page and
files in :mod:`custseg.history.render`; every public name is importable from here.

Examples
--------
>>> old = [{"id": 0, "name": "Low", "centre": {"x": 0.0}},
...        {"id": 1, "name": "High", "centre": {"x": 10.0}}]
>>> new = [{"id": 0, "name": "High", "centre": {"x": 10.2}},
...        {"id": 1, "name": "Huge", "centre": {"x": 30.0}}]
>>> m = match_segments(old, new, {"x": 2.0})
>>> m.pairs, m.new, m.vanished
({0: 1}, [1], [0])
"""

from __future__ import annotations

from custseg.history.compare import Comparison, compare_runs, describe_changes
from custseg.history.matching import (
    DEFAULT_MAX_DISTANCE,
    UNASSIGNED,
    Matching,
    assign_stable_ids,
    centre_distances,
    match_segments,
    pooled_std,
)
from custseg.history.render import render_compare_html, sankey_figure, write_comparison
from custseg.history.runs import (
    RunData,
    load_run,
    load_run_folder,
    load_run_store,
    record_segmentation,
)

__all__ = ["DEFAULT_MAX_DISTANCE", "UNASSIGNED", "Comparison", "Matching", "RunData",
           "assign_stable_ids", "centre_distances", "compare_runs", "describe_changes",
           "load_run", "load_run_folder", "load_run_store", "match_segments", "pooled_std",
           "record_segmentation", "render_compare_html", "sankey_figure", "write_comparison"]
