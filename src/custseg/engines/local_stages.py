"""The fast path's stages after the read: checks and preprocessing (:func:`prepare`), k
chosen on a sample, the final K-Means, the assignment and the profiles
(:mod:`custseg.engines.local`, which runs them in order)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from custseg.engines.base import not_trait_warnings
from custseg.engines.local_arrays import (
    arrow_float64,
    assign_chunked,
    column_rows,
    fast_transform,
    stratified_sample,
)
from custseg.engines.local_checks import check_features, describe_columns
from custseg.engines.local_stats import segment_statistics_numpy
from custseg.errors import DataError, Problem
from custseg.selection import number_by_size

#: Customers k is chosen on (a stratified random sample): 5% of them, within these bounds.
SELECTION_SAMPLE = (50_000, 100_000)


def selection_sample_size(n: int) -> int:
    """Customers k is chosen on out of ``n``: 5%, at least 50,000 and at most 100,000
    (all of them below 50,000).  Per-k inertia on a 50,000 sample is within 0.3% of the
    whole table's, and the scores' standard errors say how precise the sample is.

    >>> selection_sample_size(1_000_000), selection_sample_size(10_000_000)
    (50000, 100000)
    """
    lo, hi = SELECTION_SAMPLE
    return int(min(n, max(lo, min(hi, n // 20))))


@dataclass
class Prepared:
    """The data after the checks and the preprocessing: roles, features and their values
    (``sources``), findings and cleaning, the plan and fitted preprocessor, the scaled
    float32 matrix ``Z`` of every row, the rows fitted (``fit_rows``; ``fit_idx`` their
    numbers, None for all), the selection sample (row numbers) and the outliers found."""

    roles: Any
    feats: list[str]
    sources: dict[str, Any]
    warns: list[Problem]
    cleaning: dict[str, Any]
    plan: Any
    preprocessor: Any
    Z: np.ndarray
    sample: np.ndarray
    fit_rows: np.ndarray
    fit_idx: np.ndarray | None
    seed: int
    outliers: dict[str, Any]
    #: The features' roles (:func:`custseg.roles.numeric_roles` on the selection sample).
    role_of: dict[str, str] = field(default_factory=dict)
    #: Features left out because they move with an earlier one (the standard engine's
    #: rule, :func:`custseg.column_facts.near_duplicates`, on the selection sample).
    near_duplicates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_fit(self) -> int:
        return int(self.fit_rows.sum())

    @property
    def sampled(self) -> bool:
        return self.n_fit > len(self.sample)


def prepare(table: Any, o: dict[str, Any], ks: list[int], stage: Any) -> Prepared:
    """Checks (:func:`check_features`), the rows fitted, the selection sample, the
    preprocessing planned and fitted on it and applied to every row (float32)."""
    from sklearn.utils import check_random_state

    from custseg.column_facts import near_duplicates
    from custseg.preprocess import GROUP_R, build_preprocessor, plan_preprocessing
    from custseg.roles import money_columns, not_traits, numeric_roles

    stage("check", 0)
    roles, feats, sources, warns, cleaning = check_features(
        table, id_col=o["id_col"], features=o["features"], exclude=o["exclude"],
        categorical=o["categorical"], max_junk=o["max_junk"], min_rows=min(ks))
    stage("check", 1)
    columns = [sources[c] for c in feats]
    n = table.num_rows
    seed = int(check_random_state(o["random_state"]).randint(np.iinfo(np.int32).max))
    fit_rows = _rows_fitted(sources, cleaning, o["impute"], ks, n)
    fit_idx = np.flatnonzero(fit_rows) if not fit_rows.all() else None
    n_fit = int(fit_rows.sum())
    sample = stratified_sample(n_fit, o["sample_size"] or selection_sample_size(n_fit), seed)
    if fit_idx is not None:
        sample = fit_idx[sample]
    sample_frame = pd.DataFrame(column_rows(columns, sample), columns=feats)
    gone = {} if o["features"] else not_traits(sample_frame, feats)  # row numbers
    if gone and len(gone) < len(feats):
        feats = [c for c in feats if c not in gone]
        warns = [*warns, *not_trait_warnings(gone)]
    near = [] if o["features"] else near_duplicates(sample_frame[feats], feats,
                                                     random_state=seed)
    feats = [c for c in feats if c not in {d["dropped"] for d in near}]
    columns, sample_frame = [sources[c] for c in feats], sample_frame[feats]
    role_of = numeric_roles(sample_frame, feats)
    # the standard engine's rules (custseg.segmenter.Segmenter, defaults outliers="winsorize"
    # and feature_groups=True), their statistics taken on the sample
    plan = plan_preprocessing(sample_frame, feats, [], impute=o["impute"], clip=o["clip"],
                              log=o["log"], scaling=o["scaling"],
                              winsorize=o["outliers"] == "winsorize",
                              group_threshold=GROUP_R if o["feature_groups"] else None,
                              signed_log=money_columns(role_of))
    stage("preprocess", 0)
    preprocessor = build_preprocessor(plan).fit(sample_frame)
    tally = OutlierTally.of(preprocessor, sample_frame, fit_rows) if plan.winsorize else None
    # the scaled float32 matrix, built once from the Arrow columns a chunk of rows at a time
    # (no float64 copy of the table); the profiles read the Arrow columns again, and only
    # columns parsed from text (junk, decimal commas...) keep their parsed float64 values
    Z = np.empty((n, len(feats)), dtype=np.float32)
    fast_transform(preprocessor, columns, Z, before_fences=tally, n_threads=o["n_threads"])
    reference = preprocessor.transform(sample_frame.iloc[:1000])
    if not np.allclose(Z[sample[:1000]], reference, rtol=1e-5, atol=1e-5):
        raise RuntimeError("fast preprocessing disagrees with the fitted transformer")
    stage("preprocess", 1)
    outliers = outliers_found(tally, preprocessor, plan, feats, columns)
    return Prepared(roles, feats, sources, warns, cleaning, plan, preprocessor, Z, sample,
                     fit_rows, fit_idx, seed, outliers, role_of, near)


class OutlierTally:
    """The outliers (:meth:`custseg.preprocess.RobustFences.outside`) among the fitted rows,
    counted a chunk at a time on the way to the fences (``fast_transform``'s
    ``before_fences``): how many rows, how many low and high per column, and per column the
    :data:`~custseg.segmenter.OUTLIER_EXAMPLES` farthest from the column's median (the
    median of the selection sample: exact when the sample is every customer)."""

    def __init__(self, fences: Any, median: np.ndarray, fit_rows: np.ndarray) -> None:
        d = len(median)
        self.fences, self.median, self.fit_rows = fences, median, fit_rows
        self.all_fitted = bool(fit_rows.all())
        self.rows = 0
        self.low = np.zeros(d, dtype=np.int64)
        self.high = np.zeros(d, dtype=np.int64)
        self.top: list[list[tuple[float, int]]] = [[] for _ in range(d)]
        self._lock = threading.Lock()

    @classmethod
    def of(cls, preprocessor: Any, sample_frame: pd.DataFrame, fit_rows: np.ndarray
           ) -> OutlierTally:
        pipe = preprocessor.named_transformers_["numeric"]
        cut = [name for name, _ in pipe.steps].index("fences")
        before = np.asarray(pipe[:cut].transform(sample_frame), dtype=np.float64)
        return cls(pipe.named_steps["fences"], np.median(before, axis=0), fit_rows)

    def __call__(self, start: int, before: np.ndarray) -> None:
        """Count a chunk (called from :func:`fast_transform`'s threads: the counting is
        done outside the lock, and the totals and the farthest examples do not depend on
        the order the chunks come in)."""
        from custseg.segmenter import OUTLIER_EXAMPLES

        low, high = self.fences.outside(before)
        if not self.all_fitted:
            fitted = self.fit_rows[start:start + len(before), None]
            low &= fitted
            high &= fitted
        flagged = low | high
        top: dict[int, list[tuple[float, int]]] = {}
        for j in np.flatnonzero(flagged.any(axis=0)):
            idx = np.flatnonzero(flagged[:, j])
            far = np.abs(before[idx, j] - self.median[j])
            top[j] = sorted((-float(f), start + int(i))
                            for f, i in zip(far, idx, strict=True))[:OUTLIER_EXAMPLES]
        with self._lock:
            self.rows += int(flagged.any(axis=1).sum())
            self.low += low.sum(axis=0)
            self.high += high.sum(axis=0)
            for j, found in top.items():
                self.top[j] = sorted(self.top[j] + found)[:OUTLIER_EXAMPLES]


def outliers_found(tally: OutlierTally | None, preprocessor: Any, plan: Any,
                   feats: list[str], columns: list[Any]) -> dict[str, Any]:
    """The summary's ``outliers`` (as :class:`custseg.segmenter.Segmenter` reports them)
    from the tally: the fences in the columns' units, up to 5 examples a column."""
    from custseg.preprocess import FENCE_METHOD, fences_in_units

    out: dict[str, Any] = {"method": FENCE_METHOD, "winsorized": plan.winsorize, "rows": 0,
                           "share": 0.0, "columns": {}}
    if tally is None:
        return out
    n_fit = int(tally.fit_rows.sum())
    out["rows"] = tally.rows
    out["share"] = round(tally.rows / n_fit, 6) if n_fit else 0.0
    units = fences_in_units(preprocessor.named_transformers_["numeric"])
    for j, c in enumerate(feats):
        count = int(tally.low[j] + tally.high[j])
        if not count:
            continue
        rows = np.array(sorted(i for _, i in tally.top[j]))
        values = column_rows([columns[j]], rows)[:, 0]
        out["columns"][c] = {
            "count": count, "low": int(tally.low[j]), "high": int(tally.high[j]),
            "lower": units[j][0], "upper": units[j][1],
            "examples": [{"row": int(r) + 1, "value": float(v)}
                         for r, v in zip(rows, values, strict=True)]}
    return out


def _rows_fitted(sources: dict[str, Any], cleaning: dict[str, Any], impute: str,
                 ks: list[int], n: int) -> np.ndarray:
    """The rows the model is fitted on: all, or with ``impute="drop"`` those without a
    missing feature (counted in ``cleaning``)."""
    fit_rows = np.ones(n, dtype=bool)
    if impute != "drop":
        return fit_rows
    for c in cleaning["missing_values"]:  # only columns with missing cells
        src = sources[c]
        fit_rows &= ~np.isnan(src if isinstance(src, np.ndarray) else arrow_float64(src))
    cleaning["rows_dropped_missing"] = int((~fit_rows).sum())
    if fit_rows.sum() < max(min(ks), 2):
        raise DataError([Problem(None, f"only {int(fit_rows.sum())} rows without missing "
                                 "values remain after `impute='drop'`", code="too-few-rows")])
    return fit_rows


def selection_kernels(n_fit: int) -> str:
    """The K-Means kernels k is chosen with on the sample of a table whose final fit covers
    ``n_fit`` rows: that fit's own (compiled on a large table, where their compilation is
    paid anyway and they are 10x faster than NumPy's on the sample).

    >>> selection_kernels(5_000), selection_kernels(10**6)
    ('auto', 'compiled')
    """
    from custseg.algorithms.kmeans import kernels_for

    return "compiled" if getattr(kernels_for(n_fit), "COMPILED", False) else "auto"


def choose_k(prep: Prepared, ks: list[int], o: dict[str, Any], stage: Any) -> Any:
    """k chosen on the sample (:func:`custseg.selection.select_k`).  A sample of at most
    the standard engine's :data:`~custseg.segmenter.SELECTION_SAMPLE` customers is chosen
    on exactly as the standard engine chooses (scikit-learn's ``KMeans``, then the
    registry's repair step; in float64), so a table that small gets the standard engine's
    segments; a larger one with :class:`~custseg.algorithms.kmeans.FastKMeans`."""
    from custseg.segmenter import SELECTION_SAMPLE as STANDARD_SAMPLE
    from custseg.selection import possible_k_values, select_k

    Zs = prep.Z[prep.sample]
    candidates, only = possible_k_values(Zs, ks)
    if len(Zs) <= STANDARD_SAMPLE:
        return select_k(Zs.astype(np.float64), candidates, random_state=prep.seed,
                        progress=stage, n_threads=o["n_threads"], sampling_error=prep.sampled,
                        useful=o["useful"], refine=True, only_possible=only)
    kernels = selection_kernels(prep.n_fit)
    return select_k(Zs, candidates, random_state=prep.seed,
                    progress=stage, n_threads=o["n_threads"], sampling_error=prep.sampled,
                    algorithm="fastkmeans",
                    options={"n_threads": o["n_threads"], "kernels": kernels},
                    useful=o["useful"], only_possible=only)


def fit_final(prep: Prepared, selection: Any, n_threads: int | None, stage: Any) -> Any:
    """The final K-Means: Lloyd on every fitted row from the sample's centres (the
    selection's model itself when the sample was everyone)."""
    from custseg.algorithms.kmeans import FastKMeans

    stage("fit", 0)
    if prep.sampled:
        Zfit = prep.Z if prep.fit_idx is None else prep.Z[prep.fit_idx]
        km = FastKMeans(selection.chosen_k, init=selection.model.cluster_centers_,
                        repair=False, random_state=prep.seed, n_threads=n_threads).fit(Zfit)
    else:
        km = selection.model
    stage("fit", 1)
    return km


def assign(prep: Prepared, km: Any, n_threads: int | None, stage: Any
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Every row's segment (numbered by size; -1 for rows not fitted) and distance, the
    centres in that order and the inertia."""
    stage("assign", 0)
    kk = len(km.cluster_centers_)
    Zfit = prep.Z if prep.fit_idx is None else prep.Z[prep.fit_idx]
    labels_fit, dist_fit = assign_chunked(Zfit, km.cluster_centers_, n_threads)
    counts = np.bincount(labels_fit, minlength=kk)
    order, label_map = number_by_size(counts)
    centres = km.cluster_centers_[order].astype(np.float64)
    inertia = float(np.dot(dist_fit, dist_fit))
    if prep.fit_idx is None:  # every customer fitted: the arrays as they are
        labels, dist = label_map[labels_fit], dist_fit
    else:
        n = len(prep.fit_rows)
        labels = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        labels[prep.fit_idx] = label_map[labels_fit]
        dist[prep.fit_idx] = dist_fit
    stage("assign", 1)
    return labels, dist, centres, inertia


def profile_roles(prep: Prepared, describe_num: dict[str, Any]) -> dict[str, str]:
    """The role profiling words each numeric column by (money, count, share...):
    :func:`custseg.roles.numeric_role` on the selection sample's rows, the rule the standard
    engine's :func:`custseg.roles.assign_roles` applies on every row (so the profiles, the
    spend shares and the kinds of advice are the standard engine's).  The features' roles
    were found by :func:`prepare`; only the describing columns are read here."""
    from custseg.roles import numeric_roles

    if not describe_num:
        return dict(prep.role_of)
    values = column_rows(list(describe_num.values()), np.sort(prep.sample))
    return prep.role_of | numeric_roles(pd.DataFrame(values, columns=list(describe_num)),
                                        list(describe_num))


def profile_echoes(prep: Prepared, numbers: dict[str, Any], describing: list[str]
                   ) -> dict[str, str]:
    """The describing columns that move with a feature
    (:func:`custseg.column_facts.echoes`), on the selection sample's rows, as the standard
    engine's :func:`custseg.roles.assign_roles` finds them on every row."""
    from custseg.column_facts import echoes

    if not describing:
        return {}
    cols = [*prep.feats, *describing]
    values = column_rows([numbers[c] for c in cols], np.sort(prep.sample))
    return echoes(pd.DataFrame(values, columns=cols), prep.feats, describing)


def profile(table: Any, prep: Prepared, params: dict[str, Any], selection: Any,
             labels: np.ndarray, dist: np.ndarray, centres: np.ndarray, inertia: float,
             rules: Any, o: dict[str, Any], stage: Any) -> Any:
    """Profiles of all customers in NumPy, names by :mod:`custseg.profiling`; the fitted
    model assembled (:func:`custseg.segmenter.segmenter_from_parts`)."""
    from custseg.labels import check_value_columns, resolve_labels
    from custseg.profiling import profiles_from_statistics
    from custseg.segmenter import segmenter_from_parts
    from custseg.selection import score_partition_sampled

    stage("profile", 0)
    kk = len(centres)
    describe_num, describe_cat = describe_columns(table, prep.roles, prep.feats)
    numbers: dict[str, Any] = {c: prep.sources[c] for c in prep.feats} | describe_num
    feature_roles = profile_roles(prep, describe_num)
    echoed = profile_echoes(prep, numbers, list(describe_num))
    given = resolve_labels(o["labels"])
    check_value_columns(given.values, dict.fromkeys(table.column_names, "dropped")
                        | feature_roles | dict.fromkeys(describe_cat, "category"))
    prep.sources = {}  # the parsed columns go with the statistics
    stats = segment_statistics_numpy(numbers, labels, kk, describe_cat, o["n_threads"],
                                     prep.plan.log_columns)
    del numbers
    segments, profiles = profiles_from_statistics(
        stats, prep.feats, describe_numeric=list(describe_num),
        describe_categorical=list(describe_cat), rules=rules, roles=feature_roles,
        labels=given.columns, value_labels=given.values, echoes=echoed)
    stage("profile", 1)
    selection.model = None
    if prep.sampled:
        selection.n_samples = len(prep.sample)
        selection.sampling = {**(selection.sampling or {}), "sample": len(prep.sample),
                              "population": prep.n_fit, "design": "stratified by row order"}
    cleaning = prep.cleaning
    cleaning["imputed"] = dict(cleaning["missing_values"]) if o["impute"] != "drop" else {}
    cleaning["log_transformed"] = list(prep.plan.log_columns)
    cleaning["clipped_at_quantile"] = prep.plan.clip
    seg = segmenter_from_parts(
        params, columns=table.column_names, roles=prep.roles, features=prep.feats,
        plan=prep.plan, preprocessor=prep.preprocessor, k_selection=selection,
        cluster_centers=centres, segments=segments, profiles=profiles, cleaning=cleaning,
        warnings=prep.warns, inertia=inertia,
        final_scores=score_partition_sampled(prep.Z[prep.sample], labels[prep.sample],
                                             inertia, kk, prep.seed),
        labels=labels, distances=dist, fit_mask=prep.fit_rows)
    seg.outliers_ = prep.outliers
    seg.echoes_ = echoed
    seg.near_duplicates_ = prep.near_duplicates
    seg.reduction_ = feature_weighting(prep)
    seg.labels_map_, seg.value_labels_ = given.columns, given.values
    return seg


def feature_weighting(prep: Prepared) -> dict[str, Any]:
    """The summary's ``reduction``: the groups of correlated features weighted as one
    (:meth:`custseg.preprocess.FeatureGroupWeights.describe`), as the standard engine
    reports them."""
    pipe = prep.preprocessor.named_transformers_["numeric"]
    if "groups" not in pipe.named_steps:
        return {"method": "none", "groups": []}
    return dict(pipe.named_steps["groups"].describe(prep.feats))
