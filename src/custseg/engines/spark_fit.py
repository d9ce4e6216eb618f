"""The Spark engine's preprocessing, choice of k, final K-Means and assignment, in MLlib
(:mod:`custseg.engines.spark`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg.engines.spark_model import SparkPreprocessing
from custseg.engines.spark_read import NumericColumn
from custseg.engines.spark_run import SparkRunState
from custseg.selection import number_by_size

if TYPE_CHECKING:

    from custseg.preprocess import PreprocessPlan


#: Up to this many customers, medians and tertiles are exact (Spark's ``percentile``, the
#: same linear interpolation as pandas); above, ``percentile_approx`` with
#: :data:`QUANTILE_ACCURACY` (relative rank error 1/accuracy).
EXACT_QUANTILES = 1_000_000


QUANTILE_ACCURACY = 10_000


#: Relative error of the median the ``Imputer`` fills missing values with.
IMPUTER_RELATIVE_ERROR = 1e-4


#: Largest number of K-Means iterations (MLlib's own default is 20).
MAX_ITER = 100


#: k-means|| rounds of MLlib's KMeans (its default is 2; more rounds, better starts).
INIT_STEPS = 5


#: The final K-Means stops when the centres move less than this (squared, summed, scaled
#: units) in an iteration.
TOL = 1e-8


def _scaled_by_key(sample: Any) -> np.ndarray:
    """The scaled features of a (small) sample on the driver, rows in key order."""
    from pyspark.sql import functions as F

    local = sample.select(F.col("__key").cast("string").alias("key"), "__x").toPandas()
    order = np.argsort(local["key"].to_numpy(), kind="stable")
    return np.vstack(local["__x"].to_numpy())[order]


def median_aggregates(internal: list[str]) -> list[Any]:
    """The aggregates (``med{i}``) of the medians missing values are filled with: MLlib's
    ``Imputer`` (strategy median) as it measures them, ``approxQuantile`` with the relative
    error :data:`IMPUTER_RELATIVE_ERROR` (``percentile_approx`` with the accuracy
    ``ceil(1 / error)``) of the values neither null nor NaN."""
    from pyspark.sql import functions as F

    accuracy = math.ceil(1.0 / IMPUTER_RELATIVE_ERROR)
    return [F.percentile_approx(F.when(F.isnan(c), F.lit(None)).otherwise(F.col(c)), [0.5],
                                accuracy).alias(f"med{i}") for i, c in enumerate(internal)]


def impute_medians(typed: Any, internal: list[str], got: Any) -> tuple[Any, np.ndarray]:
    """``typed`` with the columns ``{c}_imp``: each of ``internal`` with its null and NaN
    cells filled with its median (``got``: the row of :func:`median_aggregates`), as the
    ``Imputer``'s model fills them; and the medians."""
    from pyspark.sql import functions as F

    medians = np.array([float("nan") if not got[f"med{i}"] or got[f"med{i}"][0] is None
                        else float(got[f"med{i}"][0]) for i in range(len(internal))])
    filled = [F.when(F.col(c).isNull() | F.isnan(c), F.lit(float(m))).otherwise(F.col(c))
              .cast("double").alias(f"{c}_imp") for c, m in zip(internal, medians, strict=True)]
    return typed.select("*", *filled), medians


def seeded_sample(df: Any, n: int, size: int, seed: int) -> Any:
    """Exactly ``min(size, n)`` rows drawn at random (seeded): a Bernoulli pre-sample of
    about 1.2 ``size`` rows when the data are much larger (one pass, no shuffle of
    everyone), then the ``size`` rows with the smallest random keys."""
    from pyspark.sql import functions as F

    if n > 4 * size:
        df = df.sample(withReplacement=False, fraction=min(1.0, 1.2 * size / n), seed=seed)
    return df.orderBy(F.rand(seed)).limit(size)


def _squared_distances(centres: np.ndarray) -> Any:
    """A Spark column: the array of squared distances from ``__x`` to each centre."""
    from pyspark.sql import functions as F

    lit = F.array(*[F.array(*[F.lit(float(v)) for v in c]) for c in centres])
    return F.transform(lit, lambda c: F.aggregate(
        F.zip_with(F.col("__x"), c, lambda a, b: (a - b) * (a - b)), F.lit(0.0),
        lambda acc, v: acc + v))


def _nearest(centres: np.ndarray) -> Any:
    """A Spark column: the index of the nearest centre (the first one on a tie, as
    scikit-learn's and MLlib's predictions)."""
    from pyspark.sql import functions as F

    d = _squared_distances(centres)
    return (F.array_position(d, F.array_min(d)) - 1).cast("int")


def spark_quantiles(column: Any, probs: list[float], n: int) -> Any:
    """The quantiles ``probs`` of a column of ``n`` rows: exact up to
    :data:`EXACT_QUANTILES`, ``percentile_approx`` above."""
    from pyspark.sql import functions as F

    if n <= EXACT_QUANTILES:
        return F.percentile(column, probs)
    return F.percentile_approx(column, probs, QUANTILE_ACCURACY)


class SparkFitting(SparkRunState):
    """Stages 3 to 5 of a run: preprocess, choose k, fit, assign."""

    # ------------------------------------------------------------------ 3. preprocess
    def preprocess(self, typed: Any, kept: list[str], cols: dict[str, NumericColumn],
                   n: int, clip: float | None, log: str | Sequence[str], *, seed: int,
                   sample_size: int, rows_known: bool, signed_log: Sequence[str] = ()
                   ) -> tuple[Any, Any, Any, SparkPreprocessing, dict[str, Any]]:
        """Impute (median), clip, log1p, the signed log of the amounts that can be negative
        (``signed_log``: the money columns, as the standard engine's ``plan_preprocessing``
        takes them), winsorise at the far-out fences, assemble, scale and weight the groups
        of correlated features (the standard engine's steps,
        :func:`custseg.preprocess.build_preprocessor`); returns the plan, the scaled data
        (cached: ``__key``, the typed columns, ``__scaled``, ``__x``), the clipped counts,
        the fitted parameters (for the model bundle) and summary.json's ``outliers`` and
        ``reduction``."""
        from pyspark.sql import functions as F

        from custseg.engines.spark_prepare import fitted_columns, outliers_doc, spark_fences
        from custseg.preprocess import GROUP_R

        internal = [cols[c].internal for c in kept]
        data, medians, plan, bounds, clipped, imputed_cols = self._impute_and_plan(
            typed, kept, cols, n, clip, log, signed_log)
        quantiles = partial(spark_quantiles, n=n)
        data, z_cols, scales = fitted_columns(data, kept, imputed_cols, plan, quantiles)
        plan.winsorize = True
        fences = spark_fences(data, z_cols, n, quantiles)
        extras = {"outliers": outliers_doc(data, kept, internal, z_cols, fences, n,
                                           rows_known)}
        data = data.select("*", *[
            F.least(F.greatest(F.col(z), F.lit(float(lo))), F.lit(float(hi))).alias(f"{z}w")
            for z, lo, hi in zip(z_cols, fences.lower, fences.upper, strict=True)])
        scaled, mean, std = self._scale(typed, data, cols, [f"{z}w" for z in z_cols])
        weights, groups = None, []
        plan.group_threshold = GROUP_R
        extras["reduction"] = {"method": "none", "groups": []}
        if len(kept) > 1:
            scaled, weights, groups = self._weigh_groups(scaled, n, seed, sample_size)
        fitted = SparkPreprocessing(
            medians=medians,
            lower=(np.array([bounds[f"{c}_imp"][0] for c in internal]) if bounds else None),
            upper=(np.array([bounds[f"{c}_imp"][1] for c in internal]) if bounds else None),
            mean=mean, std=std, n=n, fence_lower=fences.lower, fence_upper=fences.upper,
            weights=weights, groups=groups,
            signed_scale=scales if plan.signed_log_columns else None)
        return plan, scaled, clipped, fitted, extras

    def _impute_and_plan(self, typed: Any, kept: list[str], cols: dict[str, NumericColumn],
                         n: int, clip: float | None, log: str | Sequence[str],
                         signed_log: Sequence[str]) -> tuple[Any, np.ndarray, PreprocessPlan,
                                                             dict[str, tuple[float, float]],
                                                             dict[str, int] | None, list[str]]:
        """Missing values filled with the medians (:func:`impute_medians`), clipped when
        asked (:meth:`_clip`), and the plan (:meth:`_plan`): the data, the medians, the plan,
        the clipping bounds and counts and the columns to go on with.  Without clipping the
        medians and the plan's statistics are measured in one pass."""
        internal = [cols[c].internal for c in kept]
        medians_of = median_aggregates(internal)
        if clip is None:
            plan, got = self._plan(typed, kept, cols, {}, clip, log, signed_log, medians_of)
        else:
            plan, got = None, typed.agg(*medians_of).first()
        data, medians = impute_medians(typed, internal, got)
        imputed_cols = [f"{c}_imp" for c in internal]
        data, bounds, clipped, imputed_cols = self._clip(data, kept, imputed_cols, n, clip)
        if plan is None:
            plan, _ = self._plan(typed, kept, cols, bounds, clip, log, signed_log)
        return data, medians, plan, bounds, clipped, imputed_cols

    def _clip(self, data: Any, kept: list[str], imputed_cols: list[str], n: int,
              clip: float | None) -> tuple[Any, dict[str, tuple[float, float]],
                                           dict[str, int] | None, list[str]]:
        """Clip at the ``[clip, 1 - clip]`` quantiles when asked: the data, the bounds, the
        clipped counts and the columns to go on with."""
        from pyspark.sql import functions as F

        if clip is None:
            return data, {}, None, imputed_cols
        qs = data.agg(*[spark_quantiles(F.col(c), [clip, 1 - clip], n).alias(c)
                        for c in imputed_cols]).first()
        bounds = {c: (float(qs[c][0]), float(qs[c][1])) for c in imputed_cols}
        counts = data.agg(*[F.sum(((F.col(c) < lo) | (F.col(c) > hi)).cast("long"))
                            .alias(c) for c, (lo, hi) in bounds.items()]).first()
        clipped = {f: int(counts[c]) for f, c in zip(kept, imputed_cols, strict=True)
                   if counts[c]}
        data = data.select("*", *[F.least(F.greatest(F.col(c), F.lit(lo)), F.lit(hi))
                                  .alias(f"{c}_clip") for c, (lo, hi) in bounds.items()])
        return data, bounds, clipped, [f"{c}_clip" for c in imputed_cols]

    def _scale(self, typed: Any, data: Any, cols: dict[str, NumericColumn], ready: list[str]
               ) -> tuple[Any, np.ndarray, np.ndarray]:
        """Assemble and standardise ``ready``: the scaled data (cached), the scaler's mean
        and standard deviation."""
        from pyspark.ml.feature import StandardScaler, VectorAssembler
        from pyspark.ml.functions import vector_to_array

        assembler = VectorAssembler(inputCols=ready, outputCol="__vec", handleInvalid="error")
        data = assembler.transform(data)
        scaler = StandardScaler(inputCol="__vec", outputCol="__scaled", withMean=True,
                                withStd=True).fit(data)
        keep = ["__key", *[cols[c].internal for c in cols],
                *[c for c in typed.columns if c.startswith("__cat")]]
        scaled = scaler.transform(data).select(*keep, "__scaled")
        scaled = scaled.withColumn("__x", vector_to_array("__scaled"))
        return (self._cache(scaled), np.asarray(scaler.mean.toArray(), dtype=np.float64),
                np.asarray(scaler.std.toArray(), dtype=np.float64))

    def _weigh_groups(self, scaled: Any, n: int, seed: int, sample_size: int
                      ) -> tuple[Any, np.ndarray, list[list[int]]]:
        """Groups of correlated features weighted as one: the correlations of the scaled
        features on the seeded sample k is chosen on (:func:`seeded_sample`; everyone up
        to ``sample_size``), the rule :func:`custseg.preprocess.groups_from_correlation`;
        the weighted data (cached), the weights and the groups."""
        from pyspark.ml.feature import ElementwiseProduct
        from pyspark.ml.functions import vector_to_array
        from pyspark.ml.linalg import Vectors

        from custseg.engines.spark_prepare import sample_groups
        from custseg.preprocess import GROUP_R

        sample = seeded_sample(scaled, n, sample_size, seed) if n > sample_size else scaled
        X = _scaled_by_key(sample)
        groups, weights = sample_groups(X, GROUP_R)
        # choose_k's rows: the same seeded sample of the weighted data (a row-wise product
        # keeps its partitions and order), weighted here as ElementwiseProduct does
        self.selection_rows = (X * weights if groups else X), n > sample_size
        if not groups:
            return scaled, weights, groups
        product = ElementwiseProduct(scalingVec=Vectors.dense(weights.tolist()),
                                     inputCol="__unweighted", outputCol="__scaled")
        weighted = product.transform(scaled.drop("__x").withColumnRenamed("__scaled",
                                                                          "__unweighted"))
        weighted = weighted.drop("__unweighted").withColumn("__x", vector_to_array("__scaled"))
        return self._cache(weighted), weights, groups

    def _plan(self, typed: Any, kept: list[str], cols: dict[str, NumericColumn],
              bounds: dict[str, tuple[float, float]], clip: float | None,
              log: str | Sequence[str], signed_log: Sequence[str], also: Sequence[Any] = ()
              ) -> tuple[PreprocessPlan, Any]:
        """The preprocessing plan, and the row of its statistics (with the aggregates
        ``also``, measured in the same pass), decided by the rules of
        :func:`custseg.preprocess.plan_preprocessing`: skewness measured after clipping,
        before the log, on the values read (not imputed), pandas' sample skewness
        (:func:`~custseg.preprocess.sample_skewness`); log of the columns
        :func:`~custseg.preprocess.wants_log` takes, signed log of the columns of
        ``signed_log`` :func:`~custseg.preprocess.wants_signed_log` takes (the skewness of
        their absolute values)."""
        from pyspark.sql import functions as F

        from custseg.preprocess import (
            plan_preprocessing,
            sample_skewness,
            wants_log,
            wants_signed_log,
        )

        pre = {c: F.col(cols[c].internal) for c in kept}
        if bounds:
            pre = {c: F.least(F.greatest(pre[c], F.lit(bounds[f"{cols[c].internal}_imp"][0])),
                              F.lit(bounds[f"{cols[c].internal}_imp"][1])) for c in kept}
        sk = typed.agg(*[F.skewness(v).alias(f"s{i}") for i, v in enumerate(pre.values())],
                       *[F.count(v).alias(f"n{i}") for i, v in enumerate(pre.values())],
                       *[F.min(v).alias(f"m{i}") for i, v in enumerate(pre.values())],
                       *[(F.max(v) - F.min(v)).alias(f"r{i}")
                         for i, v in enumerate(pre.values())],
                       *[F.skewness(F.abs(v)).alias(f"a{i}")
                         for i, (c, v) in enumerate(pre.items()) if c in signed_log],
                       *also).first()
        skewness: dict[str, float] = {}
        log_auto: list[str] = []
        signed_auto: list[str] = []
        for i, c in enumerate(kept):
            m, g1, rng = sk[f"n{i}"], sk[f"s{i}"], sk[f"r{i}"]
            if m < 3 or not rng or g1 is None:
                continue
            skew = sample_skewness(g1, m)  # pandas' adjusted skewness
            skewness[c] = round(skew, 4)
            if wants_log(sk[f"m{i}"], skew):
                log_auto.append(c)
            elif (c in signed_log and sk[f"a{i}"] is not None
                  and wants_signed_log(sk[f"m{i}"], sample_skewness(sk[f"a{i}"], m))):
                signed_auto.append(c)
        probe = pd.DataFrame({c: [0.0, 1.0, 2.0] for c in kept})
        plan = plan_preprocessing(probe, kept, [], impute="median", clip=clip,
                                  log=log if not isinstance(log, str) else "none")
        plan.skewness = skewness
        if log == "auto":
            plan.log_columns, plan.signed_log_columns = log_auto, signed_auto
        return plan, sk

    # ------------------------------------------------------------------ 4. choose k
    def _kmeans(self, data: Any, k: int, seed: int) -> Any:
        """MLlib's k-means|| fitted on ``data`` (seeded): the final K-Means on everyone with
        ``final_init="k-means||"``."""
        from pyspark.ml.clustering import KMeans

        return KMeans(k=k, seed=seed, initMode="k-means||", initSteps=INIT_STEPS,
                      maxIter=MAX_ITER, featuresCol="__scaled").fit(data)

    def choose_k(self, scaled: Any, n: int, k_values: list[int], seed: int,
                 sample_size: int, n_init: int) -> tuple[Any, np.ndarray, bool]:
        """k chosen on a seeded sample collected to the driver, by the standard engine's own
        rule (:func:`custseg.selection.select_k` with scikit-learn's K-Means, ``n_init``
        starts for each k, then the registry's repair step on the k chosen).  Returns the
        selection (``n_samples``: the customers it was chosen on), the chosen k's centres
        and whether a sample was used."""
        from custseg.selection import possible_k_values, select_k

        ks = [kv for kv in k_values if kv < n] or [min(k_values)]
        sampled = n > sample_size and len(ks) > 1
        if self.selection_rows is not None and self.selection_rows[1] == sampled:
            X = self.selection_rows[0]  # collected when the feature groups were measured
        else:
            sample = seeded_sample(scaled, n, sample_size, seed) if sampled else scaled
            X = _scaled_by_key(sample.select("__key", "__x"))
        ks, only = possible_k_values(X, ks)
        selection = select_k(X, ks, random_state=seed, n_init=n_init, useful=self.useful,
                             sampling_error=sampled, refine=True, only_possible=only,
                             progress=lambda _s, done, total: self._step("choose k", done,
                                                                         total))
        centres = np.asarray(selection.model.cluster_centers_, dtype=float)
        return selection, centres, sampled

    # ------------------------------------------------------------------ 5. segments
    def fit(self, scaled: Any, centres: np.ndarray, sampled: bool, final_init: str,
            seed: int) -> tuple[np.ndarray, int]:
        """The final centres: when k was chosen on a sample, Lloyd on everyone from the
        sample's centres (:meth:`refine`) or MLlib's k-means|| on everyone; returns them and
        the iterations run."""
        if not sampled:
            return centres, 0
        self._step("fit", 0)
        iterations = 0
        if final_init == "sample":
            centres, iterations = self.refine(scaled, centres)
        else:
            centres = np.asarray(self._kmeans(scaled, len(centres), seed).clusterCenters())
        self._step("fit", 1)
        return centres, iterations

    def refine(self, scaled: Any, centres: np.ndarray) -> tuple[np.ndarray, int]:
        """Lloyd iterations on every customer from ``centres`` (as the local engine's final
        K-Means starts from the sample's centres): one pass over the data an iteration,
        until the centres move less than :data:`TOL` (squared, summed) or :data:`MAX_ITER`.
        Returns the centres and the number of iterations."""
        from pyspark.ml.stat import Summarizer
        from pyspark.sql import functions as F

        for it in range(1, MAX_ITER + 1):
            near = _nearest(centres)
            rows = (scaled.groupBy(near.alias("c")).agg(Summarizer.mean(F.col("__scaled"))
                                                        .alias("m")).collect())
            new = centres.copy()
            for r in rows:  # a centre left without customers stays where it was
                new[int(r["c"])] = r["m"].toArray()
            shift = float(((new - centres) ** 2).sum())
            centres = new
            if shift <= TOL:
                return centres, it
        return centres, MAX_ITER

    def assign(self, scaled: Any, centres: np.ndarray) -> tuple[Any, np.ndarray, list[int],
                                                               dict[str, Any]]:
        """Every customer to the nearest centre; segments numbered by size (0 = largest),
        distance to the centre, and the final partition's inertia, Calinski-Harabasz and
        Davies-Bouldin from Spark aggregates."""
        from pyspark.ml.stat import Summarizer
        from pyspark.sql import functions as F

        k = len(centres)
        pred = scaled.withColumn("__c", _nearest(centres))
        # one pass over everyone: each nearest centre's customers, distances and mean,
        # numbered by size on the driver afterwards
        near = F.sqrt(F.element_at(_squared_distances(centres), F.col("__c") + 1))
        by_centre = {r["__c"]: r for r in pred.groupBy("__c").agg(
            F.count(F.lit(1)).alias("size"), F.sum(near).alias("d"),
            F.sum(near * near).alias("d2"),
            Summarizer.mean(F.col("__scaled")).alias("mean")).collect()}
        order, label_map = number_by_size(np.array([by_centre[j]["size"] if j in by_centre
                                                    else 0 for j in range(k)]))
        per = [by_centre[int(j)] for j in order]
        centres = centres[order]
        mapping = F.array(*[F.lit(int(v)) for v in label_map])
        assigned = pred.withColumn("segment", F.element_at(mapping, F.col("__c") + 1))
        assigned = assigned.withColumn("distance", F.sqrt(F.element_at(
            _squared_distances(centres), F.col("segment") + 1)))
        assigned = self._cache(assigned.drop("__c"))
        sizes = [int(r["size"]) for r in per]
        n = sum(sizes)
        means = np.vstack([np.asarray(r["mean"].toArray()) for r in per])
        total = np.asarray(sizes) @ means / n
        # within = sum |x - c|^2 - n_j |m_j - c_j|^2 (distances to the means, exactly)
        shift = ((means - centres) ** 2).sum(axis=1)
        within = float(sum(r["d2"] for r in per) - np.dot(sizes, shift))
        between = float(np.dot(sizes, ((means - total) ** 2).sum(axis=1)))
        ch = (between / (k - 1)) / (within / (n - k)) if within > 0 and n > k else float("nan")
        spread = np.array([r["d"] / r["size"] for r in per])
        gaps = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (spread[:, None] + spread[None, :]) / gaps
        np.fill_diagonal(ratio, -np.inf)
        db = float(np.mean(ratio.max(axis=1)))
        quality = {"inertia": float(sum(r["d2"] for r in per)), "silhouette": None,
                   "calinski_harabasz": float(ch), "davies_bouldin": db}
        return assigned, centres, sizes, quality
