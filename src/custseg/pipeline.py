"""From a file to a segmentation result, and from a result to the output folder.

:func:`segment_file` reads a table, fits a :class:`~custseg.segmenter.Segmenter` and returns a
:class:`SegmentationResult` holding everything the outputs and the report need (no printing,
no files).  :func:`write_outputs` writes the output contract of ``custseg segment --out DIR``
atomically (see docs/summary-schema.md):

* ``segments.csv``: the input rows (exact duplicates dropped) with ``segment``,
  ``segment_name`` and ``distance``; a ``row`` column first when there is no id column;
* ``profiles.csv``: one row a segment;
* ``summary.json``: the run described (schema in docs/summary.schema.json);
* ``report.html``: a self-contained page;
* ``model/``: the fitted segmenter.

Examples
--------
>>> from custseg.pipeline import segment_file
>>> from custseg.io import demo_data_path
>>> result = segment_file(demo_data_path(), features=["Annual Income (k$)",
...                       "Spending Score (1-100)"], random_state=0)
>>> result.summary["k"], result.summary["segments"][0]["name"]
(5, 'Mid income · Mid spending')
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg._version import __version__
from custseg.algorithms import registry
from custseg.explore import (
    DataOverview,
    SegmentViews,
    overview_of_segmentation,
    segment_views,
)
from custseg.io import TableInfo, atomic_output_dir, peek_columns, read_table, write_csv
from custseg.segmenter import Segmenter
from custseg.summary import Summary

if TYPE_CHECKING:
    from custseg.profiling import SegmentProfile

ProgressFn = Callable[[str, int, int], None]
SUMMARY_SCHEMA_VERSION = "1.0"
UNASSIGNED_NAME = "Not assigned (missing values)"
NOISE_NAME = "Unassigned"
#: Customers whose highest membership probability (Gaussian mixture) is below this have no
#: clear segment; the summary counts them.
UNCLEAR_PROBABILITY = 0.6


@dataclass
class SegmentationResult:
    """Everything a segmentation run produced, for writing and rendering."""

    table: pd.DataFrame
    info: TableInfo
    segmenter: Segmenter
    segments: pd.DataFrame
    summary: Summary
    projection: pd.DataFrame
    command: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    #: The report's numbers (custseg.explore): the data's distributions, and point samples
    #: and silhouettes of the segments.  None: computed when the report is rendered.
    overview: DataOverview | None = None
    views: SegmentViews | None = None


def versions() -> dict[str, str]:
    """The versions the summary records: custseg, Python, scikit-learn, pandas, NumPy."""
    import sklearn

    return {"custseg": __version__, "python": platform.python_version(),
            "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
            "numpy": np.__version__}


def _clean_number(x: Any) -> Any:
    if isinstance(x, float | np.floating):
        x = float(x)
        return None if not np.isfinite(x) else round(x, 6)
    if isinstance(x, np.integer):
        return int(x)
    return x


def jsonable(obj: Any) -> Any:
    """``obj`` as JSON can hold it: keys as text, tuples as lists, NumPy numbers as Python
    numbers rounded to 6 decimals, non-finite numbers as None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return _clean_number(obj)




def segments_frame(table: pd.DataFrame, seg: Segmenter) -> pd.DataFrame:
    """The rows of ``segments.csv``: input columns (id first) + segment, name, distance."""
    keep = seg.fit_mask_ | (seg.labels_ == -1)  # exact duplicates are left out
    out = table.loc[keep].copy()
    id_col = seg.roles_.id_column
    if id_col is not None:
        out = out[[id_col, *[c for c in out.columns if c != id_col]]]
    else:
        out.insert(0, "row", np.flatnonzero(keep) + 1)
    labels = seg.labels_[keep]
    names = np.array([s.name for s in seg.segments_] + [UNASSIGNED_NAME], dtype=object)
    out["segment"] = labels
    out["segment_name"] = names[labels]
    noise = (labels == -1) & seg.fit_mask_[keep]  # a density method left them out
    out.loc[noise, "segment_name"] = NOISE_NAME
    out["distance"] = np.round(seg.distances_[keep], 6)
    if registry.capabilities(seg.algorithm).gives_probabilities:
        out["probability"] = np.round(seg.probabilities_[keep], 6)
    return out.reset_index(drop=True)


def with_derived(table: pd.DataFrame, seg: Segmenter) -> pd.DataFrame:
    """``table`` with the features the segmenter derived from its columns (age from a year
    of birth, days since a date: :mod:`custseg.roles`) appended, as in ``segments.csv``."""
    derivations = getattr(seg, "derivations_", [])
    if not derivations:
        return table
    from custseg.roles import derive

    derived = derive(table, derivations).round(6)
    return pd.concat([table, derived[[c for c in derived.columns
                                      if c not in table.columns]]], axis=1)


def projection_frame(seg: Segmenter, table: pd.DataFrame) -> pd.DataFrame:
    """Coordinates to draw customers in 2-D: the two features when there are two (original
    units), otherwise the first two principal components of the scaled features."""
    mask = seg.fit_mask_
    numeric = seg.plan_.numeric
    labels = seg.labels_[mask]
    if len(numeric) == 2 and not seg.plan_.categorical:
        typed = seg.typed_features(table.loc[mask])
        xy = typed[numeric].to_numpy(dtype=float)
        names = list(numeric)
    else:
        from sklearn.decomposition import PCA

        Z = np.asarray(seg.preprocessor_.transform(seg.typed_features(table.loc[mask])))
        n_comp = min(2, Z.shape[1])
        xy = PCA(n_components=n_comp, random_state=0).fit_transform(Z)
        if n_comp == 1:
            xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
        names = ["component 1", "component 2"]
    ids = (table.loc[mask, seg.roles_.id_column].astype(str).to_numpy()
           if seg.roles_.id_column else (np.flatnonzero(mask) + 1).astype(str))
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "segment": labels, "id": ids}).assign(
        x_name=names[0], y_name=names[1])


def _seed(value: Any) -> int | str | None:
    """A seed as JSON can hold it: an int, None, or a description of a generator object."""
    if value is None or isinstance(value, int | np.integer):
        return None if value is None else int(value)
    return f"<{type(value).__name__}>"


#: What profiling says of a segment besides its numbers (custseg.profiling.SegmentProfile).
SEGMENT_EXTRAS = ("traits", "evidence", "outlier_group", "defined_by_risk",
                  "notable_categories", "recommendation_kind", "spend_share")


def feature_labels(columns: Sequence[str],
                   labels_map: Mapping[str, str] | None = None) -> dict[str, str]:
    """The summary's ``labels``: the label a manager reads of each column shown
    (:func:`custseg.labels.label_for`), for every engine.

    >>> feature_labels(["Annual Income (k$)", "Fresh"], {"Fresh": "fresh food"})
    {'Annual Income (k$)': 'income', 'Fresh': 'fresh food'}
    """
    from custseg.labels import table_labels

    return table_labels(list(columns), labels_map)


def _feature_decisions(seg: Segmenter) -> dict[str, Any]:
    """Every decision made about the columns (custseg.roles), the labels, the outliers and
    the weighting of the features, for the summary."""
    decisions = getattr(seg, "column_decisions_", [])
    given, values = getattr(seg, "labels_map_", {}), getattr(seg, "value_labels_", {})
    named = {"value_labels": {c: dict(v) for c, v in values.items()}} if values else {}
    if echoes := getattr(seg, "echoes_", None):
        named["echoes"] = dict(echoes)
    if not decisions:  # an engine without the column table: the labels given, if any
        roles = getattr(seg, "roles_", None)
        shown = [*roles.numeric, *roles.categorical] if roles is not None else []
        near = getattr(seg, "near_duplicates_", None)
        return (({"labels": feature_labels(shown, given)} if given else {}) | named
                | ({"near_duplicates": list(near)} if near else {}))
    shown = [d.feature for d in decisions if d.feature and d.use != "dropped"]
    return {
        "columns": [d.to_dict() for d in decisions],
        "derived": [d.to_dict() for d in seg.derivations_],
        "labels": feature_labels(shown, given),
        **named,
        "near_duplicates": list(seg.near_duplicates_),
        "outliers": seg.outliers_,
        "reduction": seg.reduction_,
    }


def segment_entries(segments: Sequence[SegmentProfile], features: Sequence[str],
                    numeric: Sequence[str],
                    stability: Sequence[float] | None = None) -> list[dict[str, Any]]:
    """The ``segments`` of the summary, for every engine: one entry a profiled segment
    (its numbers and what profiling says besides them, :data:`SEGMENT_EXTRAS`), with its
    stability (the Jaccard index of each segment) when measured.

    ``features``: the segmentation features (a numeric one's centre is its mean, a
    categorical one's its most common level); ``numeric``: the numeric features (medians).
    """
    entries = []
    for s in segments:
        centre: dict[str, Any] = {}
        for f in features:  # numeric: the mean; categorical: the most common level
            if f in numeric:
                centre[f] = s.mean[f]
            else:
                mix = s.categories.get(f, {})
                centre[f] = max(mix, key=lambda lvl: mix[lvl]) if mix else None
        entries.append({
            "id": s.id,
            "name": s.name,
            "size": s.size,
            "share": s.share,
            "centre": centre,
            "median": {f: s.median[f] for f in numeric},
            "z": {f: s.z[f] for f in s.z},
            "levels": s.levels,
            "distinguishing": s.distinguishing,
            "categories": s.categories,
            "recommendation": s.recommendation,
            **{key: getattr(s, key) for key in SEGMENT_EXTRAS
               if getattr(s, key, None) is not None},
        })
    if stability is not None:
        for entry, jac in zip(entries, stability, strict=True):
            entry["stability"] = jac
            entry["stable"] = jac >= 0.6
    return entries


def spend_columns(segments: Sequence[SegmentProfile]) -> dict[str, Any]:
    """The summary's ``spend_columns``, for every engine: the amounts the segments'
    ``spend_share`` is a share of, when there are some (else nothing)."""
    columns = next((s.spend_columns for s in segments if getattr(s, "spend_columns", [])),
                   [])
    return {"spend_columns": list(columns)} if columns else {}


def _method_entries(seg: Segmenter) -> dict[str, Any]:
    """What the method adds to the summary: unassigned and unclear customers, stability and
    the method's own entries."""
    fitted = seg.labels_[seg.fit_mask_]
    n_fit = max(len(fitted), 1)
    extra: dict[str, Any] = {}
    if (fitted == -1).any():
        extra["unassigned"] = {"size": int((fitted == -1).sum()),
                               "share": float((fitted == -1).sum() / n_fit)}
    spec = registry.get(seg.algorithm)
    if spec.capabilities.flags_unclear:
        proba = seg.probabilities_[seg.fit_mask_]
        extra["unclear_customers"] = {"threshold": UNCLEAR_PROBABILITY,
                                      "count": int((proba < UNCLEAR_PROBABILITY).sum())}
    if seg.stability_ is not None:
        extra["stability"] = seg.stability_.to_dict()
    if spec.describe is not None and seg.model_ is not None:
        extra.update(spec.describe(seg.model_))  # the method's own entries
    return extra


def build_summary(result_parts: dict[str, Any]) -> Summary:
    """The ``summary.json`` document (see docs/summary-schema.md)."""
    seg: Segmenter = result_parts["segmenter"]
    info: TableInfo = result_parts["info"]
    fs = seg.final_scores_
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "custseg_version": __version__,
        "n_customers": int(seg.fit_mask_.sum()),
        "features": list(seg.features_),
        "k": seg.k_,
        "algorithm": seg.algorithm,
        **_method_entries(seg),
        "k_selection": seg.k_selection_.to_dict(),
        "quality": {"inertia": seg.inertia_, "silhouette": fs.silhouette,
                    "calinski_harabasz": fs.calinski_harabasz,
                    "davies_bouldin": fs.davies_bouldin},
        "segments": segment_entries(
            seg.segments_, seg.features_, seg.plan_.numeric,
            None if seg.stability_ is None else seg.stability_.jaccard),
        **spend_columns(seg.segments_),
        "roles": seg.roles_.to_dict(),
        **_feature_decisions(seg),
        "preprocessing": seg.plan_.to_dict(),
        "cleaning": seg.cleaning_,
        "warnings": [p.to_dict() for p in [*info.problems, *seg.warnings_]],
        "input": {"path": info.path, "format": info.format, "encoding": info.encoding,
                  "delimiter": info.delimiter, "rows": info.n_rows, "columns": info.n_columns},
        "input_sha256": info.sha256,
        "seed": _seed(result_parts.get("seed")),
        "command": result_parts.get("command", ""),
        "timings": result_parts.get("timings", {}),
        "versions": versions(),
    }
    return jsonable(summary)


def _summarise_warnings(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with the warnings it raises summarised: one a kind (category and the
    place that raised it), the first message with how many more there were.  A wide
    table would otherwise print one warning a column, thousands of lines."""
    import functools
    import warnings

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:  # type: ignore[assignment]
                warnings.simplefilter("always")
                return fn(*args, **kwargs)
        finally:
            kinds: dict[tuple[Any, str, int], list[warnings.WarningMessage]] = {}
            for w in caught:
                kinds.setdefault((w.category, w.filename, w.lineno), []).append(w)
            for (category, filename, lineno), found in kinds.items():
                text = str(found[0].message)
                if len(found) > 1:
                    text += f" [{len(found) - 1:,} more warning(s) like this one]"
                warnings.warn_explicit(text, category, filename, lineno)

    return run


@_summarise_warnings
def segment_file(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    progress: ProgressFn | None = None,
    command: str = "",
    **segmenter_options: Any,
) -> SegmentationResult:
    """Read ``path`` and segment it; ``segmenter_options`` go to :class:`Segmenter`."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    head = peek_columns(path, delimiter, encoding)
    if head is not None:  # too wide: refused before the file is read (Segmenter.max_columns)
        from custseg.segmenter import MAX_COLUMNS, check_width

        check_width(head[0], head[1], features=segmenter_options.get("features"),
                    exclude=segmenter_options.get("exclude"),
                    max_columns=segmenter_options.get("max_columns", MAX_COLUMNS))
    if progress:
        progress("read", 0, 1)
    table, info = read_table(path, delimiter=delimiter, encoding=encoding, sheet=sheet)
    if progress:
        progress("read", 1, 1)
    timings["read"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    seg = Segmenter(**segmenter_options).fit(table, progress=progress)
    timings["segment"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    table = with_derived(table, seg)
    segments = segments_frame(table, seg)
    projection = projection_frame(seg, table)
    timings["prepare_outputs"] = time.perf_counter() - t2
    timings = {k: round(v, 4) for k, v in timings.items()}
    summary = build_summary({"segmenter": seg, "info": info, "timings": timings,
                             "seed": segmenter_options.get("random_state"),
                             "command": command})
    t3 = time.perf_counter()
    overview = overview_of_segmentation(seg, table, info, summary)
    seed = summary["seed"] if isinstance(summary["seed"], int) else 0
    views = segment_views(seg, table, projection, random_state=seed)
    prepare = round(timings["prepare_outputs"] + time.perf_counter() - t3, 4)
    timings["prepare_outputs"] = summary["timings"]["prepare_outputs"] = prepare
    return SegmentationResult(table, info, seg, segments, summary, projection, command, timings,
                              overview, views)


#: Customer features segmented on by default when segmenting transactions (custseg.features).
TRANSACTION_FEATURES = ("recency_days", "frequency", "monetary")


def _log_features(table: pd.DataFrame, features: list[str], log: Any) -> Any:
    """The features to log-transform: ``log`` as given, or for ``"auto"`` the money columns
    and the other non-negative features with a skewness above the threshold."""
    from custseg.features import MONEY_COLUMNS
    from custseg.preprocess import SKEW_THRESHOLD

    if log != "auto":
        return log
    log = [f for f in features if f in MONEY_COLUMNS]
    for f in features:
        values = table[f] if f in table and f not in log else None
        if values is not None and pd.api.types.is_numeric_dtype(values):
            v = values.dropna().astype(float)
            if len(v) > 2 and v.min() >= 0 and v.skew() > SKEW_THRESHOLD:
                log.append(f)
    return log


def _transactions_info(report: dict[str, Any], problems: list[Any]) -> TableInfo:
    """The :class:`TableInfo` of a transactions file, from the report of its reading."""
    return TableInfo(path=report["input"]["path"] or "<DataFrame>",
                     format=report["input"]["format"], n_rows=report["cleaning"]["lines_read"],
                     n_columns=report["input"]["columns"], sha256=report["input"]["sha256"],
                     encoding=report["input"]["encoding"],
                     delimiter=report["input"]["delimiter"], problems=problems)


def _add_transaction_entries(summary: Summary, table: pd.DataFrame, segments: pd.DataFrame,
                             report: dict[str, Any]) -> None:
    """Add ``rfm`` (the RFM segments and their cross-table with the segments) and
    ``transactions`` (what was read and cleaned) to the summary."""
    from custseg.features import RFM_SEGMENT_NAMES, rfm_crosstab

    order = [s["name"] for s in summary["segments"]]
    names = segments["segment_name"].tolist()
    order += [n for n in dict.fromkeys(names) if n not in order]
    counts = table["rfm_segment"].value_counts()
    summary["rfm"] = jsonable({
        "crosstab": rfm_crosstab(names, segments["rfm_segment"].tolist(), order=order),
        "segments": {n: int(counts[n]) for n in RFM_SEGMENT_NAMES if n in counts},
    })
    summary["transactions"] = jsonable({k: report[k] for k in (
        "columns", "inferred", "dates", "frequency_counts", "duplicates", "as_of",
        "n_customers", "cleaning")})


def segment_transactions(
    data: str | os.PathLike[str] | pd.DataFrame,
    *,
    columns: dict[str, str | None] | None = None,
    as_of: str | None = None,
    date_format: str | None = None,
    duplicates: str = "auto",
    delimiter: str | None = None,
    encoding: str | None = None,
    progress: ProgressFn | None = None,
    command: str = "",
    **segmenter_options: Any,
) -> SegmentationResult:
    """Turn transactions into customer features (:mod:`custseg.features`) and segment them.

    The customers are segmented on ``TRANSACTION_FEATURES`` (recency, frequency, monetary)
    unless ``features`` is given.  Unless ``log="none"``, the money columns (``monetary``,
    ``avg_order_value``) among the features are log-transformed, and so are the other
    non-negative features with a skewness above 1.  ``segmenter_options`` go to
    :class:`Segmenter`.  The summary gets ``rfm`` (the rule-based RFM segments and their
    cross-table with the segments) and ``transactions`` (what was read and cleaned).
    """
    from custseg.features import transactions_to_customers

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    fr = transactions_to_customers(data, columns=columns, as_of=as_of, date_format=date_format,
                                   duplicates=duplicates, delimiter=delimiter,
                                   encoding=encoding, threads=segmenter_options.get("n_threads"),
                                   checksum=True, progress=progress)
    timings["read"] = time.perf_counter() - t0
    id_col = fr.id_column
    table = fr.customers.drop(columns=["rfm_score"])  # digits: not a number to describe
    options = dict(segmenter_options)
    features = list(options.pop("features", None) or TRANSACTION_FEATURES)
    log = _log_features(table, features, options.pop("log", "auto"))
    categorical = list(dict.fromkeys([*(options.pop("categorical", None) or []),
                                      "rfm_segment"]))
    options.pop("id_col", None)
    t1 = time.perf_counter()
    seg = Segmenter(features=features, id_col=id_col, categorical=categorical, log=log,
                    **options).fit(table, progress=progress)
    timings["segment"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    segments = segments_frame(table, seg)
    rfm_score = fr.customers.set_index(id_col)["rfm_score"]
    segments.insert(list(segments.columns).index("m_score") + 1, "rfm_score",
                    rfm_score.reindex(segments[id_col]).to_numpy())
    projection = projection_frame(seg, table)
    timings["prepare_outputs"] = time.perf_counter() - t2
    timings = {k: round(v, 4) for k, v in timings.items()}
    info = _transactions_info(fr.report, list(fr.warnings))
    summary = build_summary({"segmenter": seg, "info": info, "timings": timings,
                             "seed": segmenter_options.get("random_state"),
                             "command": command})
    _add_transaction_entries(summary, table, segments, fr.report)
    return SegmentationResult(table, info, seg, segments, summary, projection, command, timings)


def write_model_and_report(folder: Path, *, summary: dict[str, Any], profiles: pd.DataFrame,
                           model: Any, training: pd.DataFrame | None,
                           report: SegmentationResult | None) -> None:
    """Write ``profiles.csv``, ``model/`` (when there is a model) and ``report.html`` (when
    ``report`` is given: the result the report is drawn from) into ``folder``; the report's
    time goes in ``summary["timings"]``.  Every engine's writer calls it."""
    from custseg.bundle import save_bundle

    write_csv(profiles, folder / "profiles.csv", float_format="%.6g")
    if model is not None:
        save_bundle(model, folder / "model", training=training, summary=summary)
    if report is not None:
        from custseg.report import render_report

        t_report = time.perf_counter()
        (folder / "report.html").write_text(render_report(report), "utf-8")
        summary["timings"]["report"] = round(time.perf_counter() - t_report, 4)


def write_summary(folder: Path, summary: dict[str, Any], started: float) -> None:
    """Write ``summary.json`` last, with the writing time since ``started``."""
    summary["timings"]["write"] = round(time.perf_counter() - started, 4)
    (folder / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")


@_summarise_warnings
def write_outputs(result: SegmentationResult, out: str | os.PathLike[str], *,
                  force: bool = False, report: bool = True, fmt: str = "csv") -> Path:
    """Write the output folder atomically; returns its path.  ``fmt="parquet"`` writes
    ``segments.parquet`` instead of ``segments.csv``."""
    out = Path(out)
    t_write = time.perf_counter()
    with atomic_output_dir(out, force=force) as tmp:
        if fmt == "parquet":
            result.segments.to_parquet(tmp / "segments.parquet", index=False)
        else:
            write_csv(result.segments, tmp / "segments.csv")
        write_model_and_report(tmp, summary=result.summary,
                               profiles=result.segmenter.profiles_, model=result.segmenter,
                               training=result.table, report=result if report else None)
        write_summary(tmp, result.summary, t_write)
    return out
