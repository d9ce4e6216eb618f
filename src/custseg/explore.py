"""The numbers the report draws: a look at the data, and at the segments.

Compute first, render later: everything here is plain numbers and tables (no plotting, no
fitting).  :mod:`custseg.report` draws them.

* :class:`DataOverview` (:func:`explore_file`, :func:`explore_table`,
  :func:`overview_of_segmentation`): rows and columns read, column roles, what cleaning
  found and did, a histogram of every numeric column (bins and counts, original units), the
  counts of every categorical column, the correlation matrix of the numeric columns.
* :class:`SegmentViews` (:func:`segment_views`): a point sample stratified by segment for
  the scatter plots (at most :data:`MAX_POINTS` customers a chart, so that a report on
  millions of customers stays small), the segment centres in the scatter's space, the
  silhouette of each customer of another stratified sample, and the population's means,
  medians and category shares to compare segments with.

Sampling is seeded: the same result and seed give the same points.

Examples
--------
>>> import numpy as np
>>> labels = np.repeat([0, 1, 2], [9000, 900, 100])
>>> idx = stratified_sample(labels, 1000, random_state=0)
>>> len(idx), np.bincount(labels[idx]).tolist()
(1000, [890, 90, 20])
>>> h = histogram(np.array([1.0, 2, 2, 3, np.nan]), "x")
>>> sum(h.counts) == h.n_values == 4, h.n_missing
(True, 1)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from custseg.segmenter import Segmenter

#: Largest number of customers drawn in one scatter chart.
MAX_POINTS = 3000
#: Largest number of customers in the scatter matrix (it draws each one in every panel).
MATRIX_POINTS = 1000
#: Customers whose silhouette is computed for the silhouette plot (pairwise distances).
SILHOUETTE_POINTS = 2000
#: Fewest customers a segment gets in a sample (when it has that many): small segments
#: stay visible.
MIN_PER_SEGMENT = 20
#: Largest number of bins of a histogram.
MAX_BINS = 40
#: Largest number of columns given a distribution (features first).
MAX_COLUMNS = 30
#: Largest number of categories shown for a categorical column (the rest are "other").
MAX_LEVELS = 20
#: At most this many features: a scatter matrix; more: a 2-D projection only.
MATRIX_MAX_FEATURES = 5


# ----------------------------------------------------------------------------- sampling
def stratified_sample(labels: np.ndarray, max_points: int, random_state: int = 0,
                      min_per_segment: int = MIN_PER_SEGMENT) -> np.ndarray:
    """Positions of at most ``max_points`` rows, drawn at random within each segment.

    Each segment gets a share of the points proportional to its size (largest remainders
    first), but at least ``min_per_segment`` (or all its rows if it has fewer), so that
    small segments stay visible.  All positions when there are at most ``max_points``
    rows.  Returned sorted, deterministic for a given ``random_state``.

    Parameters
    ----------
    labels : array of int
        Segment of each row (every value is a segment: leave unassigned rows out).
    max_points : int
        Largest sample size (at least the number of segments).
    random_state : int
        Seed.
    min_per_segment : int
        Fewest rows drawn from a segment.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points!r}")
    if n <= max_points:
        return np.arange(n)
    segments, counts = np.unique(labels, return_counts=True)
    floor = np.minimum(counts, min(min_per_segment, max_points // len(segments)))
    alloc = floor.copy()
    spare = max_points - int(alloc.sum())
    want = counts * max_points / n
    extra = np.clip(np.floor(want) - alloc, 0, counts - alloc).astype(np.int64)
    while extra.sum() > spare:  # the minimums took some points: trim the largest shares
        extra[np.argmax(extra)] -= 1
    alloc = alloc + extra
    spare -= int(extra.sum())
    order = np.argsort(-(want - alloc), kind="stable")  # the most under-served first
    while spare > 0:
        for i in order:
            if spare > 0 and alloc[i] < counts[i]:
                alloc[i] += 1
                spare -= 1
    rng = np.random.default_rng(random_state)
    picked = []
    for seg, size in zip(segments, alloc, strict=True):
        rows = np.flatnonzero(labels == seg)
        picked.append(rng.choice(rows, int(size), replace=False))
    return np.sort(np.concatenate(picked))


# ----------------------------------------------------------------------------- the data
@dataclass
class Histogram:
    """A numeric column's distribution: ``counts[i]`` values in ``[edges[i], edges[i+1])``
    (the last bin includes its right edge), original units."""

    column: str
    edges: list[float]
    counts: list[int]
    n_values: int
    n_missing: int
    is_feature: bool = False


@dataclass
class CategoryCounts:
    """A categorical column's levels, most common first; ``n_other`` values in the levels
    beyond :data:`MAX_LEVELS`."""

    column: str
    levels: list[str]
    counts: list[int]
    n_other: int = 0
    n_missing: int = 0
    is_feature: bool = False


@dataclass
class DataOverview:
    """What the data look like, before any segment (the report's "Data" section).

    Attributes
    ----------
    input : dict
        The file as read: path, format, encoding, delimiter, rows, columns.
    input_sha256 : str
    n_rows : int
        Customers described: rows read minus exact duplicates.
    roles : dict
        Column roles (id_column, numeric, categorical, dates, ignored; ``ranked``: the
        categorical columns whose ordered levels are segmented on as their rank).
    features : list of str
        Columns segmented on (or that would be, for ``explore``).
    cleaning : dict
        As ``summary.json``'s ``cleaning``.
    preprocessing : dict
        As ``summary.json``'s ``preprocessing`` (for ``explore``: what ``segment`` would do
        with its default options).
    warnings : list of dict
    histograms : list of Histogram
        Numeric columns, features first, at most :data:`MAX_COLUMNS`.
    categories : list of CategoryCounts
    correlation : DataFrame
        Pearson correlation of the numeric columns (those with a histogram), symmetric.
    n_columns_left_out : int
        Numeric and categorical columns without a distribution (beyond :data:`MAX_COLUMNS`).
    command : str
    """

    input: dict[str, Any]
    input_sha256: str
    n_rows: int
    roles: dict[str, Any]
    features: list[str]
    cleaning: dict[str, Any]
    preprocessing: dict[str, Any]
    warnings: list[dict[str, Any]]
    histograms: list[Histogram]
    categories: list[CategoryCounts]
    correlation: pd.DataFrame
    n_columns_left_out: int = 0
    command: str = ""


def histogram(values: np.ndarray, column: str, *, max_bins: int = MAX_BINS,
              is_feature: bool = False) -> Histogram:
    """Bins and counts of the finite values; integer data with a small range get one bin
    per integer.

    >>> histogram(np.array([1.0, 1, 2, 5]), "visits").counts
    [2, 1, 0, 0, 1]
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    n_missing = int(len(values) - len(finite))
    if len(finite) == 0:
        return Histogram(column, [], [], 0, n_missing, is_feature)
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        edges = np.array([lo - 0.5, hi + 0.5])
    elif np.all(np.mod(finite, 1) == 0) and hi - lo < max_bins:
        edges = np.arange(lo - 0.5, hi + 1.0, 1.0)
    else:
        edges = np.histogram_bin_edges(finite, bins="auto")
        if len(edges) - 1 > max_bins:
            edges = np.histogram_bin_edges(finite, bins=max_bins)
    counts, edges = np.histogram(finite, bins=edges)
    return Histogram(column, [float(e) for e in edges], [int(c) for c in counts],
                     len(finite), n_missing, is_feature)


def category_counts(values: pd.Series, column: str, *, max_levels: int = MAX_LEVELS,
                    is_feature: bool = False) -> CategoryCounts:
    """Counts of each level (text), most common first, ties by level."""
    filled = values.dropna()
    counts = filled.astype(str).value_counts()
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = order[:max_levels]
    return CategoryCounts(column, [k for k, _ in shown], [int(v) for _, v in shown],
                          int(sum(v for _, v in order[max_levels:])),
                          int(len(values) - len(filled)), is_feature)


def _numeric_values(s: pd.Series) -> np.ndarray:
    """A column as floats: numeric columns as they are, text parsed as ``validate_table``
    does (junk and missing markers become NaN)."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    from custseg.schema import parse_numeric

    return parse_numeric(s).values.to_numpy(dtype=np.float64, na_value=np.nan)


def _category_values(s: pd.Series) -> pd.Series:
    """A column as text levels, as ``validate_table`` types categoricals (``1.0`` -> ``1``)."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        f = s.astype("float64")
        return f.map(lambda x: (str(int(x)) if float(x).is_integer() else str(x))
                     if pd.notna(x) else np.nan)
    text = s.astype("string").str.strip()
    text = text.mask(text == "")
    return text.astype(object).where(text.notna(), np.nan)


def describe_data(
    frame: pd.DataFrame,
    *,
    roles: dict[str, Any],
    features: list[str],
    cleaning: dict[str, Any],
    preprocessing: dict[str, Any],
    warnings: list[dict[str, Any]],
    input_info: dict[str, Any],
    input_sha256: str,
    command: str = "",
) -> DataOverview:
    """Histograms, category counts and correlations of ``frame`` (one row a customer;
    numeric columns as numbers or text, categorical ones as text)."""
    numeric = [c for c in roles.get("numeric", []) if c in frame.columns]
    categorical = [c for c in roles.get("categorical", []) if c in frame.columns]
    numeric = [c for c in features if c in numeric] + [c for c in numeric if c not in features]
    categorical = ([c for c in features if c in categorical]
                   + [c for c in categorical if c not in features])
    shown_num = numeric[:MAX_COLUMNS]
    shown_cat = categorical[:max(0, MAX_COLUMNS - len(shown_num))]
    values = {c: _numeric_values(frame[c]) for c in shown_num}
    hists = [histogram(values[c], c, is_feature=c in features) for c in shown_num]
    cats = [category_counts(_category_values(frame[c]), c, is_feature=c in features)
            for c in shown_cat]
    corr = pd.DataFrame(values, columns=shown_num).corr() if shown_num else pd.DataFrame()
    return DataOverview(
        input=dict(input_info), input_sha256=input_sha256, n_rows=len(frame),
        roles=dict(roles), features=list(features), cleaning=dict(cleaning),
        preprocessing=dict(preprocessing), warnings=list(warnings), histograms=hists,
        categories=cats, correlation=corr,
        n_columns_left_out=len(numeric) + len(categorical) - len(shown_num) - len(shown_cat),
        command=command)


def _input_dict(info: Any) -> dict[str, Any]:
    return {"path": info.path, "format": info.format, "encoding": info.encoding,
            "delimiter": info.delimiter, "rows": info.n_rows, "columns": info.n_columns}


def explore_table(table: pd.DataFrame, info: Any, *, command: str = "",
                  **validate_options: Any) -> DataOverview:
    """The overview of a table read by :func:`custseg.io.read_table` (with its
    ``TableInfo``), checked by :func:`custseg.schema.validate_table` with
    ``validate_options`` (``features``, ``exclude``, ``id_col``, ``categorical``,
    ``use_categorical``, ``max_junk``).  The preprocessing shown is what ``segment`` would
    do with its default options (median imputation, log of skewed columns, standard
    scaling)."""
    from custseg.preprocess import plan_preprocessing
    from custseg.schema import validate_table

    checked = validate_table(table, **validate_options)
    numeric = [c for c in checked.features if c not in checked.categorical_features]
    plan = plan_preprocessing(checked.frame, numeric, checked.categorical_features)
    cleaning = dict(checked.cleaning)
    cleaning["imputed"] = dict(checked.cleaning["missing_values"])
    cleaning["log_transformed"] = list(plan.log_columns)
    cleaning["clipped_at_quantile"] = None
    warns = [p.to_dict() for p in [*info.problems, *checked.warnings]]
    return describe_data(checked.frame, roles=checked.roles.to_dict(),
                         features=list(checked.features), cleaning=cleaning,
                         preprocessing=plan.to_dict(), warnings=warns,
                         input_info=_input_dict(info), input_sha256=info.sha256,
                         command=command)


def explore_file(path: str | os.PathLike[str], *, delimiter: str | None = None,
                 encoding: str | None = None, sheet: str | int | None = None,
                 command: str = "", **validate_options: Any) -> DataOverview:
    """Read ``path`` (:func:`custseg.io.read_table`) and describe it
    (:func:`explore_table`): exploratory analysis before segmenting.

    >>> from custseg.io import demo_data_path
    >>> ov = explore_file(demo_data_path())
    >>> ov.n_rows, ov.roles["id_column"], [h.column for h in ov.histograms]
    (200, 'CustomerID', ['Age', 'Annual Income (k$)', 'Spending Score (1-100)'])
    """
    from custseg.io import read_table

    table, info = read_table(path, delimiter=delimiter, encoding=encoding, sheet=sheet)
    return explore_table(table, info, command=command, **validate_options)


def overview_of_segmentation(seg: Segmenter, table: pd.DataFrame, info: Any,
                             summary: dict[str, Any]) -> DataOverview:
    """The overview of the customers a fitted segmenter was given (exact duplicates left
    out), with the cleaning it did."""
    keep = seg.fit_mask_ | (seg.labels_ == -1)
    ids = {c["column"] for c in summary.get("columns") or [] if c["role"] == "id"}
    cols = [c for c in [*seg.roles_.numeric, *seg.roles_.categorical]
            if c in table.columns and c not in ids]  # row numbers: no distribution to show
    frame = table.loc[keep, cols]
    ranked = [d["name"] for d in summary.get("derived") or [] if d["kind"] == "levels"]
    return describe_data(frame, roles={**summary["roles"], "ranked": ranked},
                         features=list(seg.features_),
                         cleaning=summary["cleaning"], preprocessing=summary["preprocessing"],
                         warnings=summary["warnings"], input_info=summary["input"],
                         input_sha256=summary["input_sha256"],
                         command=summary.get("command", ""))


# ----------------------------------------------------------------------------- segments
@dataclass
class SegmentViews:
    """Points and per-customer numbers to draw the segments.

    Attributes
    ----------
    n_customers : int
        Customers segmented (all of them, not the sample).
    points : DataFrame
        The sampled customers (at most :data:`MAX_POINTS`, stratified by segment): ``id``,
        ``segment``, ``x``, ``y`` (the scatter's coordinates) and every numeric feature in
        original units (missing values as NaN).
    x_name, y_name : str
        What ``x`` and ``y`` are: two features, or ``component 1`` / ``component 2``.
    projected : bool
        ``x`` and ``y`` are the first two principal components of the scaled features.
    centres : DataFrame
        ``segment``, ``x``, ``y``: each segment's mean in the scatter's space (all its
        customers).
    matrix_rows : ndarray
        Positions in ``points`` of the customers drawn in the scatter matrix (at most
        :data:`MATRIX_POINTS`, stratified); empty when there is no scatter matrix (fewer
        than 3 or more than :data:`MATRIX_MAX_FEATURES` numeric features).
    silhouette : DataFrame
        ``id``, ``segment``, ``silhouette`` of a stratified sample of at most
        :data:`SILHOUETTE_POINTS` customers, computed within the sample in the scaled
        space (where K-Means ran).
    n_assigned : int
        Customers in a segment (all but those a density method left unassigned): the
        population the silhouette sample is drawn from.
    population_mean, population_median : dict
        Of every numeric column (features and describing columns), all customers,
        original units.
    category_shares : dict
        ``{column: {level: share}}`` for every categorical column, all customers.
    random_state : int
        Seed of the samples.
    """

    n_customers: int
    points: pd.DataFrame
    x_name: str
    y_name: str
    projected: bool
    centres: pd.DataFrame
    matrix_rows: np.ndarray
    silhouette: pd.DataFrame
    n_assigned: int = 0
    population_mean: dict[str, float] = field(default_factory=dict)
    population_median: dict[str, float] = field(default_factory=dict)
    category_shares: dict[str, dict[str, float]] = field(default_factory=dict)
    random_state: int = 0

    @property
    def sampled(self) -> bool:
        """Whether the scatter shows a sample rather than every customer."""
        return len(self.points) < self.n_customers

    @property
    def silhouette_sampled(self) -> bool:
        """Whether the silhouette plot shows a sample of the customers in a segment."""
        return len(self.silhouette) < self.n_assigned


def _sampled_points(seg: Segmenter, fitted: pd.DataFrame, projection: pd.DataFrame,
                    idx: np.ndarray, numeric: list[str]) -> pd.DataFrame:
    """The scatter's points at positions ``idx``: id, segment, x, y and every numeric
    feature in original units."""
    pts = projection.iloc[idx][["id", "segment", "x", "y"]].reset_index(drop=True)
    typed = seg.typed_features(fitted.iloc[idx])
    pts = pd.concat([pts, pd.DataFrame(
        {c: typed[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in numeric
         if c not in pts.columns}, index=pts.index)], axis=1)  # one insert, not one per column
    for c in numeric:
        if c in ("id", "segment", "x", "y"):  # a feature named like a column of the view
            pts[c] = typed[c].to_numpy(dtype=np.float64, na_value=np.nan)
    return pts


def _silhouette_sample(seg: Segmenter, fitted: pd.DataFrame, projection: pd.DataFrame,
                       labels: np.ndarray, points: int,
                       random_state: int) -> tuple[pd.DataFrame, int]:
    """(the silhouettes of a stratified sample of the customers in a segment, computed in
    the space where the segments were formed; how many customers are in a segment)."""
    from sklearn.metrics import silhouette_samples

    in_segment = np.flatnonzero(labels >= 0)  # unassigned customers have no silhouette
    sidx = in_segment[stratified_sample(labels[in_segment], points, random_state)]
    sil_labels = labels[sidx]
    if len(np.unique(sil_labels)) >= 2:
        Z = np.asarray(seg.preprocessor_.transform(seg.typed_features(fitted.iloc[sidx])),
                       dtype=np.float64)
        space = getattr(seg, "_space", None)  # the space where the segments were formed
        values = silhouette_samples(space(Z) if callable(space) else Z, sil_labels)
    else:
        values = np.zeros(len(sidx))
    sil = pd.DataFrame({"id": projection["id"].to_numpy()[sidx], "segment": sil_labels,
                        "silhouette": values})
    return sil, len(in_segment)


def _population_numbers(seg: Segmenter, table: pd.DataFrame, fitted: pd.DataFrame,
                        numeric: list[str]) -> tuple[dict[str, float], dict[str, float],
                                                     dict[str, dict[str, float]]]:
    """(mean, median) of every numeric column and the level shares of every categorical
    column, over all the segmented customers."""
    from custseg.labels import name_levels

    describe = [c for c in seg.roles_.numeric if c in table.columns]
    pop_mean: dict[str, float] = {}
    pop_median: dict[str, float] = {}
    for c in dict.fromkeys([*numeric, *describe]):
        v = _numeric_values(fitted[c])
        v = v[np.isfinite(v)]
        pop_mean[c] = float(v.mean()) if len(v) else float("nan")
        pop_median[c] = float(np.median(v)) if len(v) else float("nan")
    shares: dict[str, dict[str, float]] = {}
    for c in seg.roles_.categorical:
        if c in table.columns:
            counts = _category_values(fitted[c]).fillna("missing").value_counts(normalize=True)
            shares[c] = name_levels({str(k): round(float(v), 4) for k, v in counts.items()},
                                    getattr(seg, "value_labels_", {}).get(c))
    return pop_mean, pop_median, shares


def segment_views(seg: Segmenter, table: pd.DataFrame, projection: pd.DataFrame, *,
                  max_points: int = MAX_POINTS, matrix_points: int = MATRIX_POINTS,
                  silhouette_points: int = SILHOUETTE_POINTS,
                  random_state: int = 0) -> SegmentViews:
    """Samples and per-customer numbers for the segment charts of a fitted segmenter.

    ``projection`` is :func:`custseg.pipeline.projection_frame` of the same segmenter and
    table (one row per segmented customer).  Nothing is fitted: the silhouette uses the
    segmenter's fitted preprocessing.
    """
    mask = seg.fit_mask_
    labels = seg.labels_[mask]
    fitted = table.loc[mask]
    numeric = list(seg.plan_.numeric)
    n = int(mask.sum())

    idx = stratified_sample(labels, max_points, random_state)
    pts = _sampled_points(seg, fitted, projection, idx, numeric)
    assigned = projection[projection["segment"] >= 0]
    centres = assigned.groupby("segment", sort=True)[["x", "y"]].mean().reset_index()
    x_name, y_name = str(projection["x_name"].iloc[0]), str(projection["y_name"].iloc[0])
    projected = x_name not in numeric

    matrix_rows = np.array([], dtype=np.int64)
    if 3 <= len(numeric) <= MATRIX_MAX_FEATURES:
        matrix_rows = stratified_sample(pts["segment"].to_numpy(), matrix_points,
                                        random_state)
    sil, n_assigned = _silhouette_sample(seg, fitted, projection, labels, silhouette_points,
                                         random_state)
    pop_mean, pop_median, shares = _population_numbers(seg, table, fitted, numeric)
    return SegmentViews(n, pts, x_name, y_name, projected, centres, matrix_rows, sil,
                        n_assigned, pop_mean, pop_median, shares, random_state)
