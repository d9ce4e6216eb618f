"""The Spark engine's profiles (computed in Spark), the report's sample and numbers, and the
summary (:mod:`custseg.engines.spark`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg.algorithms.registry import DEFAULT as DEFAULT_ALGORITHM
from custseg.engines.spark_checks import Checked
from custseg.engines.spark_fit import (
    EXACT_QUANTILES,
    QUANTILE_ACCURACY,
    seeded_sample,
    spark_quantiles,
)
from custseg.engines.spark_model import SparkSegmentation
from custseg.engines.spark_read import NumericColumn, spark_col
from custseg.engines.spark_run import SparkRunState
from custseg.labels import name_levels

if TYPE_CHECKING:

    from custseg.explore import DataOverview, SegmentViews
    from custseg.labels import LabelFile
    from custseg.profiling import SegmentProfile
    from custseg.summary import Summary


def category_shares(assigned: Any, categorical: list[str], sizes: list[int], n: int
                     ) -> tuple[list[dict[str, dict[str, float]]], dict[str, dict[str, float]]]:
    """Per segment and overall, the shares of each categorical column's levels (empty
    cells as ``"missing"``), the most frequent first (then by name)."""
    from pyspark.sql import functions as F

    k = len(sizes)
    cats: list[dict[str, dict[str, float]]] = [{} for _ in range(k)]
    shares: dict[str, dict[str, float]] = {}
    if not categorical:
        return cats, shares
    levels = []
    for j in range(len(categorical)):
        level = F.col(f"__cat{j}")
        level = F.when(level.isNull() | (level == ""), F.lit(None)).otherwise(level)
        levels.append(F.struct(F.lit(j).alias("j"), level.alias("level")))
    # every column's levels counted in one pass (one row per customer and column)
    counted = (assigned.select("segment", F.explode(F.array(*levels)).alias("p"))
               .groupBy("segment", "p.j", "p.level").count().collect())
    total: list[dict[str, int]] = [{} for _ in categorical]
    for r in counted:
        name = "missing" if r["level"] is None else str(r["level"])
        c = categorical[r["j"]]
        total[r["j"]][name] = total[r["j"]].get(name, 0) + r["count"]
        cats[r["segment"]].setdefault(c, {})[name] = r["count"]
    for j, c in enumerate(categorical):
        for s in range(k):
            mix = cats[s].get(c, {})
            cats[s][c] = {lvl: round(cnt / sizes[s], 4) for lvl, cnt in
                          sorted(mix.items(), key=lambda kv: (-kv[1], kv[0]))}
        shares[c] = {lvl: round(cnt / n, 4) for lvl, cnt in
                     sorted(total[j].items(), key=lambda kv: (-kv[1], kv[0]))}
    return cats, shares


def _log_aggregates(internal: list[str]) -> list[Any]:
    """The aggregates (``log{i}``, ``logstd{i}``) of ``log1p`` of the columns ``internal``
    (negative values as 0): the log scale :func:`custseg.profiling.log_scale` states, in
    SQL."""
    from pyspark.sql import functions as F

    aggs = []
    for i, c in enumerate(internal):
        lv = F.log1p(F.greatest(F.col(c).cast("double"), F.lit(0.0)))
        aggs += [F.avg(lv).alias(f"log{i}"), F.stddev_pop(lv).alias(f"logstd{i}")]
    return aggs


def build_spark_summary(*, n: int, features: list[str], k: int, selection: Any,
                        quality: dict[str, Any], segments: list[SegmentProfile],
                        roles: dict[str, Any], plan: dict[str, Any], cleaning: dict[str, Any],
                        warnings: list[dict[str, Any]], info: dict[str, Any], sha256: str,
                        seed: int, command: str, engine: dict[str, Any],
                        shown: list[str] | None = None,
                        extras: dict[str, Any] | None = None,
                        labels: LabelFile | None = None) -> Summary:
    """The ``summary.json`` document of a Spark run (docs/summary-schema.md); ``shown``: the
    columns profiled (features and described columns, in the file's order) that ``labels``
    names; ``extras``: its ``outliers`` and ``reduction``; ``labels``: the labels given
    (column labels, and ``value_labels``: the names of categories' codes).

    The segments, ``spend_columns`` and ``labels`` are built by the standard summary's code
    (:func:`custseg.pipeline.segment_entries`, :func:`~custseg.pipeline.spend_columns`,
    :func:`~custseg.pipeline.feature_labels`). What a Spark run does not have: segment
    ``stability`` (no bootstrap refits), the ``columns``/``derived`` decisions of
    custseg.roles' column table; it adds ``engine`` and pyspark's version."""
    import pyspark

    from custseg._version import __version__
    from custseg.pipeline import (
        SUMMARY_SCHEMA_VERSION,
        feature_labels,
        jsonable,
        segment_entries,
        spend_columns,
        versions,
    )

    numeric = plan["numeric"]
    doc = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "custseg_version": __version__,
        "n_customers": n,
        "features": features,
        "k": k,
        "algorithm": DEFAULT_ALGORITHM,
        "engine": engine,
        "k_selection": selection.to_dict(),
        "quality": quality,
        "segments": segment_entries(segments, features, numeric),
        **spend_columns(segments),
        "roles": roles,
        "labels": feature_labels(shown if shown is not None else features,
                                 labels.columns if labels else None),
        **({"value_labels": labels.values} if labels and labels.values else {}),
        **(extras or {}),
        "preprocessing": plan,
        "cleaning": cleaning,
        "warnings": warnings,
        "input": info,
        "input_sha256": sha256,
        "seed": seed,
        "command": command,
        "timings": {},
        "versions": {**versions(), "pyspark": pyspark.__version__},
    }
    return jsonable(doc)


class SparkProfiles(SparkRunState):
    """Stages 6 and 7 of a run: profiles, the report's sample and numbers, the result."""

    # ------------------------------------------------------------------ outputs
    def outputs(self, data: Checked, assigned: Any, segs: list[SegmentProfile],
                profiles_table: pd.DataFrame, describe_num: list[str], *, report_sample: int,
                seed: int, selection: Any, quality: dict[str, Any], plan: Any,
                info: dict[str, Any], sha256: str, command: str, engine: dict[str, Any],
                population: dict[str, Any], centres: np.ndarray,
                params: dict[str, Any], extras: dict[str, Any] | None = None
                ) -> SparkSegmentation:
        """The assignments with the input columns, the report's sample, the summary and the
        report's numbers."""
        from pyspark.sql import functions as F

        names = F.array(*[F.lit(s.name) for s in segs])
        labels = assigned.select(F.col("__key").alias("__k2"), "segment", "distance")
        output = (data.base.join(labels, spark_col(data.key) == F.col("__k2"), "inner").drop("__k2")
                  .withColumn("segment_name", F.element_at(names, F.col("segment") + 1)))
        ordered = [data.key, *[c for c in data.data_cols if c != data.key]]
        output = output.select(*[spark_col(c) for c in ordered], "segment", "segment_name",
                               F.round("distance", 6).alias("distance"))
        categorical = list(data.roles.categorical)
        profiled = {*data.kept, *describe_num, *categorical}
        self._step("report sample", 0)
        sample = self.report_sample(assigned, data.cols, data.kept, describe_num,
                                    categorical, report_sample, seed)
        self._step("report sample", 1)
        quality["silhouette"] = self.sample_silhouette(sample, selection.chosen_k, seed)
        engine = {**engine, "report_sample": len(sample),
                  "quantiles": ("exact" if data.n <= EXACT_QUANTILES else
                                f"approximate (percentile_approx, accuracy "
                                f"{QUANTILE_ACCURACY})")}
        summary = build_spark_summary(
            n=data.n, features=data.kept, k=selection.chosen_k, selection=selection,
            quality=quality, segments=segs, roles=data.roles.to_dict(), plan=plan.to_dict(),
            cleaning=data.cleaning, warnings=[p.to_dict() for p in data.warns], info=info,
            sha256=sha256, seed=seed, command=command, engine=engine,
            shown=[c for c in data.data_cols if c in profiled], extras=extras,
            labels=self.labels)
        views, overview = self.report_numbers(sample, summary, data.kept, describe_num,
                                              categorical, population, centres, seed)
        return SparkSegmentation(self.spark, output, summary, segs, profiles_table,
                                 sample, views, overview, params, cached=self.cached)

    # ------------------------------------------------------------------ 6. profile
    def profile(self, assigned: Any, cols: dict[str, NumericColumn], kept: list[str],
                describe_num: list[str], categorical: list[str], sizes: list[int], n: int,
                rules: Any, feature_roles: dict[str, str] | None = None,
                log_columns: Sequence[str] = (), echoes: dict[str, str] | None = None
                ) -> tuple[list[SegmentProfile], pd.DataFrame, dict[str, Any]]:
        """Per-segment and population statistics in Spark; profiles, names and
        recommendations by the local engine's code, with the standard engine's
        ``feature_roles`` (the role each column is worded by), ``log_columns`` (profiled on
        the log scale) and ``echoes`` (describing columns kept out of the evidence)."""
        from pyspark.sql import functions as F

        from custseg.profiling import SegmentStatistics, profiles_from_statistics

        numeric = [*kept, *describe_num]
        k = len(sizes)
        aggs = []
        for i, c in enumerate(numeric):
            v = F.col(cols[c].internal)
            aggs += [F.avg(v).alias(f"mean{i}"), F.stddev_pop(v).alias(f"std{i}"),
                     spark_quantiles(v, [1 / 3, 0.5, 2 / 3], n).alias(f"q{i}")]
        logged = [c for c in numeric if c in log_columns]
        aggs += _log_aggregates([cols[c].internal for c in logged])
        # each segment and everyone (the row whose segment is null) in one pass
        rows = assigned.rollup("segment").agg(*aggs).collect()
        per = {r["segment"]: r for r in rows if r["segment"] is not None}
        pop = next(r for r in rows if r["segment"] is None)

        def num(x: Any) -> float:
            return float("nan") if x is None else float(x)

        def middle(x: Any) -> float:  # the median of the tertiles and median
            return float("nan") if not x or x[1] is None else float(x[1])

        cats, shares = category_shares(assigned, categorical, sizes, n)
        stats = SegmentStatistics(
            n=n, sizes=sizes,
            mean=[{c: num(per[s][f"mean{i}"]) for i, c in enumerate(numeric)} for s in range(k)],
            median=[{c: middle(per[s][f"q{i}"]) for i, c in enumerate(numeric)}
                    for s in range(k)],
            categories=cats,
            population_mean={c: num(pop[f"mean{i}"]) for i, c in enumerate(numeric)},
            population_std={c: num(pop[f"std{i}"]) for i, c in enumerate(numeric)},
            lower_tertile={c: num((pop[f"q{i}"] or [None])[0]) for i, c in enumerate(numeric)},
            upper_tertile={c: num((pop[f"q{i}"] or [None] * 3)[2])
                           for i, c in enumerate(numeric)})
        if logged:
            stats.log_population_mean = {c: num(pop[f"log{i}"]) for i, c in enumerate(logged)}
            stats.log_population_std = {c: num(pop[f"logstd{i}"]) for i, c in enumerate(logged)}
            stats.log_mean = [{c: num(per[s][f"log{i}"]) for i, c in enumerate(logged)}
                              for s in range(k)]
        segs, table = profiles_from_statistics(
            stats, kept, describe_numeric=describe_num, describe_categorical=categorical,
            rules=rules, roles=feature_roles, labels=self.labels.columns,
            value_labels=self.labels.values, echoes=echoes)
        population = {"mean": stats.population_mean,
                      "median": {c: num((pop[f"q{i}"] or [None] * 3)[1])
                                 for i, c in enumerate(numeric)},
                      "shares": {c: name_levels(s, self.labels.values.get(c))
                                 for c, s in shares.items()}}
        return segs, table, population

    # ------------------------------------------------------------------ report
    def report_sample(self, assigned: Any, cols: dict[str, NumericColumn], kept: list[str],
                      describe_num: list[str], categorical: list[str], size: int,
                      seed: int) -> pd.DataFrame:
        """A seeded random sample of customers, collected to the driver: ``id``,
        ``segment``, the numeric columns in original units, the categorical ones, and the
        scaled features (``__x``)."""
        from pyspark.sql import functions as F

        picked = seeded_sample(assigned, sum(self.sizes), size, seed + 1)
        sel = [F.col("__key").cast("string").alias("id"), "segment",
               *[F.col(cols[c].internal).alias(c) for c in [*kept, *describe_num]],
               *[F.col(f"__cat{j}").alias(c) for j, c in enumerate(categorical)],
               "__x"]
        sample = picked.select(*sel).toPandas()
        return sample.sort_values("id", kind="stable").reset_index(drop=True)

    def sample_silhouette(self, sample: pd.DataFrame, k: int, seed: int) -> float | None:
        """The final partition's silhouette as the local engine computes it (sklearn, on at
        most 10,000 customers): here on the report sample."""
        from custseg.selection import score_partition

        X = np.vstack(sample["__x"].to_numpy())
        labels = sample["segment"].to_numpy()
        if len(np.unique(labels)) < 2:
            return None
        value = score_partition(X, labels, 0.0, k, seed).silhouette
        return float(value) if np.isfinite(value) else None

    def report_numbers(self, sample: pd.DataFrame, summary: dict[str, Any], kept: list[str],
                       describe_num: list[str], categorical: list[str],
                       population: dict[str, Any], centres: np.ndarray,
                       seed: int) -> tuple[SegmentViews, DataOverview]:
        """The report's numbers (custseg.explore's structures) from the driver's sample and
        the Spark aggregates."""
        from sklearn.metrics import silhouette_samples

        from custseg.explore import (
            MATRIX_MAX_FEATURES,
            MATRIX_POINTS,
            MAX_POINTS,
            SILHOUETTE_POINTS,
            SegmentViews,
            describe_data,
            stratified_sample,
        )

        labels = sample["segment"].to_numpy()
        X = np.vstack(sample["__x"].to_numpy())
        if len(kept) == 2:
            xy = sample[kept].to_numpy(dtype=np.float64)
            x_name, y_name = kept
            centre_xy = np.array([[s["centre"][f] for f in kept] for s in summary["segments"]],
                                 dtype=np.float64)
        else:
            from sklearn.decomposition import PCA

            pca = PCA(n_components=min(2, X.shape[1]), random_state=0).fit(X)
            xy, centre_xy = pca.transform(X), pca.transform(centres)
            if xy.shape[1] == 1:
                xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
                centre_xy = np.column_stack([centre_xy[:, 0], np.zeros(len(centre_xy))])
            x_name, y_name = "component 1", "component 2"
        idx = stratified_sample(labels, MAX_POINTS, seed)
        pts = pd.DataFrame({"id": sample["id"].to_numpy()[idx], "segment": labels[idx],
                            "x": xy[idx, 0], "y": xy[idx, 1]})
        for c in kept:
            pts[c] = sample[c].to_numpy(dtype=np.float64)[idx]
        centre_frame = pd.DataFrame({"segment": np.arange(len(centre_xy)),
                                     "x": centre_xy[:, 0], "y": centre_xy[:, 1]})
        matrix_rows = np.array([], dtype=np.int64)
        if 3 <= len(kept) <= MATRIX_MAX_FEATURES:
            matrix_rows = stratified_sample(pts["segment"].to_numpy(), MATRIX_POINTS, seed)
        sidx = stratified_sample(labels, SILHOUETTE_POINTS, seed)
        sil_values = (silhouette_samples(X[sidx], labels[sidx])
                      if len(np.unique(labels[sidx])) >= 2 else np.zeros(len(sidx)))
        sil = pd.DataFrame({"id": sample["id"].to_numpy()[sidx], "segment": labels[sidx],
                            "silhouette": sil_values})
        views = SegmentViews(summary["n_customers"], pts, x_name, y_name, len(kept) != 2,
                             centre_frame, matrix_rows, sil, summary["n_customers"],
                             dict(population["mean"]), dict(population["median"]),
                             dict(population["shares"]), seed)
        overview = describe_data(
            sample[[*kept, *describe_num, *categorical]], roles=summary["roles"],
            features=kept, cleaning=summary["cleaning"], preprocessing=summary["preprocessing"],
            warnings=summary["warnings"], input_info=summary["input"],
            input_sha256=summary["input_sha256"], command=summary["command"])
        return views, overview
