"""The custseg pipeline on Apache Spark (PySpark MLlib), for data beyond one machine.

``custseg segment INPUT --engine spark --spark-master local[*] --out DIR`` runs the same
flow as the local engine, with the data staying in Spark and only small things (a sample of
rows, per-segment numbers) coming to the driver:

1. **read** Parquet or CSV from any Spark path (``/data/x.parquet``, ``s3a://``, ``gs://``,
   ``abfss://``...); CSV cells are read as text and parsed as :mod:`custseg.schema` parses
   them (missing markers, junk counted, decimal commas);
2. **roles** (id, numeric, categorical...) inferred by :func:`custseg.schema.validate_table`
   on the first :data:`ROLE_SAMPLE` rows; then every check on all rows in Spark (junk share,
   infinities, constant columns, exact duplicate rows dropped, one id on different rows);
3. **preprocess**: missing values as the medians MLlib's ``Imputer`` takes, optional
   clipping at quantiles, ``log1p`` of the columns the standard engine would log-transform
   (non-negative, skewness above 1), the
   signed log ``asinh(x / s)`` of the amounts that can be negative (the money role of
   :func:`custseg.roles.money_columns` on the rows of 2, some values negative, skewed),
   the far-out fences, ``VectorAssembler``, ``StandardScaler(withMean=True, withStd=True)``,
   the feature-group weights (:mod:`custseg.engines.spark_prepare`);
4. **choose k** on a seeded sample (:data:`SELECTION_SAMPLE` customers), collected to the
   driver, by the standard engine's own rule: :func:`custseg.selection.select_k` (scikit-learn's
   ``KMeans``, :data:`N_INIT` k-means++ starts for every k, the same scores and consensus),
   then the registry's repair step on the k chosen.  MLlib's short jobs per k are gone: on a
   table that fits the sample, the segments are the standard engine's;
5. **segment** everyone: Lloyd iterations in Spark from the sample's centres (or MLlib's
   k-means|| on everyone with ``final_init="k-means||"``), segments numbered by size,
   distance to the centre;
6. **profile** in Spark: size, share, mean, median (exact up to :data:`EXACT_QUANTILES`
   customers, ``percentile_approx`` above), population tertiles; names, levels and
   recommendations by :func:`custseg.profiling.profiles_from_statistics`, the code the local
   engine uses;
7. **write** (:func:`write_spark_outputs`): ``segments/`` (Parquet part files written by
   Spark), ``profiles.csv``, ``summary.json``, ``report.html`` drawn from a seeded sample of
   :data:`REPORT_SAMPLE` customers, and ``model/``, the bundle for ``custseg score`` and
   ``custseg serve``: a fitted :class:`~custseg.segmenter.Segmenter` whose scikit-learn
   preprocessing carries Spark's own fitted medians, clipping bounds, signed-log scales,
   fences, means, standard deviations and weights (:func:`spark_segmenter`), so that it
   assigns a customer as Spark did;
   atomically, as the local engine.

The stages are in modules of one concern each (:mod:`custseg.engines.spark_read`, 1;
:mod:`custseg.engines.spark_checks`, 2; :mod:`custseg.engines.spark_fit`, 3 to 5;
:mod:`custseg.engines.spark_profiles`, 6 and the summary; the result and the bundle's model
in :mod:`custseg.engines.spark_model`); this module runs them and writes (7).  Their public
names are all importable from here.

PySpark is imported by these modules only, when the engine runs; without it a
:class:`~custseg.errors.UsageError` says ``pip install 'custseg[spark]'``.

Examples
--------
>>> from custseg.engines.spark import segment_spark, write_spark_outputs
>>> from custseg.io import demo_data_path
>>> result = segment_spark(demo_data_path(), master="local[2]", random_state=0,
...                        features=["Annual Income (k$)", "Spending Score (1-100)"],
...                        spark_config={"spark.ui.enabled": "false"})  # doctest: +SKIP
>>> result.summary["k"], result.summary["segments"][0]["name"]  # doctest: +SKIP
(5, 'Mid income · Mid spending')
>>> write_spark_outputs(result, "runs/spark")  # doctest: +SKIP
PosixPath('runs/spark')
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from custseg.algorithms.registry import DEFAULT as DEFAULT_ALGORITHM
from custseg.engines.spark_checks import ROLE_SAMPLE, SparkChecks
from custseg.engines.spark_fit import (
    EXACT_QUANTILES,
    IMPUTER_RELATIVE_ERROR,
    INIT_STEPS,
    MAX_ITER,
    QUANTILE_ACCURACY,
    TOL,
    SparkFitting,
)
from custseg.engines.spark_model import (
    SparkModel,
    SparkPreprocessing,
    SparkSegmentation,
    sklearn_preprocessor,
    spark_segmenter,
)
from custseg.engines.spark_prepare import finish_docs
from custseg.engines.spark_profiles import SparkProfiles
from custseg.engines.spark_read import DECIMAL_COMMA, THOUSANDS, SparkReading
from custseg.engines.spark_run import ProgressFn
from custseg.errors import UsageError
from custseg.selection import USEFUL_K

if TYPE_CHECKING:

    pass


#: The engine's public names, wherever they are defined (its stages live in the
#: ``custseg.engines.spark_*`` modules; they are imported from here).
__all__ = [
    "DECIMAL_COMMA", "EXACT_QUANTILES", "IMPUTER_RELATIVE_ERROR", "IMPUTE_CHOICES",
    "INIT_STEPS", "INSTALL_HINT", "MAX_ITER", "N_INIT", "QUANTILE_ACCURACY", "REPORT_SAMPLE",
    "ROLE_SAMPLE", "SELECTION_SAMPLE", "SUPPORTED", "THOUSANDS", "TOL", "ProgressFn",
    "SparkModel", "SparkPreprocessing", "SparkSegmentation", "require_spark",
    "segment_spark", "sklearn_preprocessor", "spark_segmenter", "spark_session",
    "write_spark_outputs",
]

INSTALL_HINT = "pip install 'custseg[spark]'"
#: Customers collected to the driver to draw the report (and the final silhouette).
REPORT_SAMPLE = 10_000
#: K-Means starts (k-means++, seeded) for each k on the selection sample, as the standard
#: engine's (scikit-learn's ``KMeans``); the lowest inertia is kept.
N_INIT = 10
#: Options of the local engine the Spark engine does not offer (yet), with the value it
#: takes.
#: Customers k is chosen on (a seeded sample; every customer below it).
SELECTION_SAMPLE = 50_000
SUPPORTED: dict[str, Any] = {"algorithm": DEFAULT_ALGORITHM, "scaling": "standard",
                             "use_categorical": False, "categorical": None, "stability": False,
                             "n_threads": None, "sheet": None}
IMPUTE_CHOICES = ("median",)


def _import_pyspark() -> Any:
    try:
        import pyspark
    except ImportError as exc:
        raise UsageError(f"`engine='spark'` needs PySpark, an optional extra: {INSTALL_HINT} "
                         "(and Java 17 on the machine)", "engine") from exc
    return pyspark


def require_spark() -> None:
    """Raise a :class:`~custseg.errors.UsageError` with the install hint when PySpark or Java
    is missing.

    >>> try:
    ...     require_spark()
    ... except UsageError as exc:
    ...     print("custseg[spark]" in str(exc))
    ... else:
    ...     print(True)
    True
    """
    _import_pyspark()
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise UsageError("`engine='spark'` needs Java 17 (a JRE) on the machine: java is not on "
                         "PATH and JAVA_HOME is not set (Debian/Ubuntu: apt-get install "
                         "openjdk-17-jre-headless)", "engine")


def spark_session(master: str = "local[*]", config: dict[str, str] | None = None) -> Any:
    """The active SparkSession, or a new one on ``master`` with ``config``.

    An already running session is reused as it is (its master and configuration win).
    """
    require_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.master(master).appName("custseg")
    settings = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "true"}
    settings.update(config or {})
    if master.startswith("local"):  # Spark's 200 shuffle partitions are for clusters
        settings.setdefault("spark.sql.shuffle.partitions", str(2 * (os.cpu_count() or 2)))
    settings.setdefault("spark.ui.showConsoleProgress", "false")  # custseg shows progress
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ----------------------------------------------------------------------------- the engine
def segment_spark(
    input_path: str | os.PathLike[str], *,
    # the columns and the segments, as for custseg.Segmenter
    features: Sequence[str] | None = None, id_col: str | None = None,
    exclude: Sequence[str] | None = None, k: int | tuple[int, int] | str = "auto",
    k_range: tuple[int, int] = (2, 10), useful_k: tuple[int, int] | None = USEFUL_K,
    impute: str = "median", clip: float | None = None, log: str | Sequence[str] = "auto",
    max_junk: float = 0.05, rules: str | None = None, labels: Any = None,
    # the Spark session
    master: str = "local[*]", spark: Any = None, spark_config: dict[str, str] | None = None,
    # seeds, samples and starts
    random_state: int = 0, sample_size: int | None = None, n_init: int = N_INIT,
    final_init: str = "sample", report_sample: int = REPORT_SAMPLE,
    # the input; the caller
    input_format: str | None = None, delimiter: str | None = None,
    encoding: str | None = None, progress: ProgressFn | None = None, command: str = "",
    **unsupported: Any,
) -> SparkSegmentation:
    """Segment the customers of ``input_path`` on Spark; nothing is printed or written.

    Parameters
    ----------
    input_path : str or path
        Parquet (a file or a folder of part files) or CSV, any path Spark reads
        (``s3a://bucket/customers/``, ``gs://...``, ``abfss://...``, ``hdfs://...``).
    features, id_col, exclude, k, k_range, impute, clip, log, max_junk, rules, labels
        As for :class:`custseg.segmenter.Segmenter` (``impute`` median only).
    master, spark, spark_config
        The session: ``spark`` if given, else the active one, else a new one on ``master``
        (``local[*]``, ``spark://host:7077``...) with the settings ``spark_config`` (e.g.
        ``{"spark.executor.memory": "8g"}``).
    random_state : int
        Seed of every random choice (samples, k-means||).
    sample_size : int, optional
        Customers k is chosen on; default :data:`SELECTION_SAMPLE`.
    n_init : int
        K-Means starts (k-means++, seeded) for each k on the sample, as the standard engine.
    final_init : {"sample", "k-means||"}
        When k was chosen on a sample, the final K-Means on everyone starts from the
        sample's centres (``"sample"``, as the local engine) or is MLlib's k-means|| run on
        everyone (one seeded fit).
    report_sample : int
        Customers collected to the driver to draw the report.
    input_format, delimiter, encoding : str, optional
        ``"csv"`` or ``"parquet"`` (default: from the path's ending; a folder of ``.parquet``
        files is Parquet); a CSV's delimiter and encoding (default: detected for a local
        file, else comma and UTF-8).
    progress, command
        ``progress(stage, done, total)``; the command line, for the summary.

    Returns
    -------
    SparkSegmentation
    """
    sample_size = SELECTION_SAMPLE if sample_size is None else int(sample_size)
    _check_options(unsupported, impute=impute, random_state=random_state,
                   final_init=final_init, n_init=n_init, sample_size=sample_size,
                   report_sample=report_sample)
    return _start_run(str(input_path), locals())


def _start_run(path: str, o: dict[str, Any]) -> SparkSegmentation:
    """The k tried, the rules and the session, then the run (``o``: the options)."""
    from custseg.labels import resolve_labels
    from custseg.profiling import load_rules
    from custseg.segmenter import k_values as resolve_k

    k, useful_k = o["k"], o["useful_k"]
    k_values = resolve_k(k, o["k_range"])
    rule_table = load_rules(o["rules"])
    label_file = resolve_labels(o["labels"])
    session = (o["spark"] if o["spark"] is not None
               else spark_session(o["master"], o["spark_config"]))
    run = _SparkRun(session, path, o["progress"])
    run.labels = label_file
    run.useful = tuple(useful_k) if useful_k is not None and k == "auto" else None
    params = {name: o[name] for name in ("k", "k_range", "features", "id_col", "exclude",
                                         "impute", "clip", "log", "max_junk", "rules",
                                         "random_state")}
    params |= {"engine": "spark", "master": session.sparkContext.master,
               "sample_size": o["sample_size"]}
    return run.execute(features=o["features"], id_col=o["id_col"], exclude=o["exclude"],
                       k_values=k_values, clip=o["clip"], log=o["log"],
                       max_junk=o["max_junk"], rules=rule_table, seed=int(o["random_state"]),
                       sample_size=o["sample_size"], n_init=int(o["n_init"]),
                       final_init=o["final_init"], report_sample=int(o["report_sample"]),
                       input_format=o["input_format"], delimiter=o["delimiter"],
                       encoding=o["encoding"], command=o["command"], params=params)


def _check_options(unsupported: dict[str, Any], *, impute: str, random_state: Any,
                   final_init: str, n_init: int, sample_size: int, report_sample: int) -> None:
    """Refuse the options :func:`segment_spark` does not offer, and values out of range."""
    for name, value in unsupported.items():
        if name not in SUPPORTED:
            raise TypeError(f"segment_spark() got an unexpected keyword argument {name!r}")
        if value not in (SUPPORTED[name], None) or (value and SUPPORTED[name] is None):
            accepted = f" (only {SUPPORTED[name]!r})" if SUPPORTED[name] is not None else ""
            raise UsageError(f"`{name}` {value!r} is not available with `engine='spark'`"
                             f"{accepted}; use `engine='standard'` for it", name)
    if impute not in IMPUTE_CHOICES:
        raise UsageError(f"`impute` {impute!r} is not available with `engine='spark'` (only "
                         "median)", "impute")
    if not isinstance(random_state, int | np.integer) or random_state < 0:
        raise UsageError(f"random_state must be a non-negative int with `engine='spark'`, got "
                         f"{random_state!r}", "random_state")
    if final_init not in ("sample", "k-means||"):
        raise UsageError(f"final_init must be 'sample' or 'k-means||', got {final_init!r}",
                         "final_init")
    if int(n_init) < 1:
        raise UsageError(f"n_init must be at least 1, got {n_init!r}", "n_init")
    if sample_size < 2 or report_sample < 2:
        raise UsageError("sample_size and report_sample must be at least 2", "sample_size")


class _SparkRun(SparkReading, SparkChecks, SparkFitting, SparkProfiles):
    """One run of the engine: the stages of :func:`segment_spark`, in order (each group of
    stages in its own module: :mod:`custseg.engines.spark_read`, ``spark_checks``,
    ``spark_fit``, ``spark_profiles``)."""

    # ------------------------------------------------------------------ the whole run
    def execute(self, *, features: Sequence[str] | None, id_col: str | None,
                exclude: Sequence[str] | None, k_values: list[int], clip: float | None,
                log: str | Sequence[str], max_junk: float, rules: Any, seed: int,
                sample_size: int, n_init: int, final_init: str, report_sample: int,
                input_format: str | None,
                delimiter: str | None, encoding: str | None, command: str,
                params: dict[str, Any]) -> SparkSegmentation:
        """The stages of :data:`custseg.engines.base.STAGES`, in Spark."""
        t0 = time.perf_counter()
        raw, info, sha256, checksum_of = self.read_all(input_format, delimiter, encoding)
        self.timings["read"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        self._step("check", 0)
        data = self.check(raw, info["rows"], features=features, id_col=id_col,
                          exclude=exclude, max_junk=max_junk, k_values=k_values)
        self._step("check", 1)
        self._step("preprocess", 0)
        plan, scaled, clipped, fitted, extras = self.preprocess(
            data.typed, data.kept, data.cols, data.n, clip, log, seed=seed,
            sample_size=sample_size, rows_known=data.key == "row", signed_log=data.money)
        extras |= _preprocessing_recorded(data, plan, clipped)
        self._step("preprocess", 1)
        selection, centres, sampled = self.choose_k(scaled, data.n, k_values, seed,
                                                              sample_size, n_init)
        centres, iterations = self.fit(scaled, centres, sampled, final_init, seed)
        assigned, centres, sizes, quality = self.assign(scaled, centres)
        self.sizes = sizes
        self._step("profile", 0)
        describe_num = [c for c in data.numeric if c not in data.kept]
        segs, profiles_table, population = self.profile(
            assigned, data.cols, data.kept, describe_num, list(data.roles.categorical), sizes,
            data.n, rules, data.role_of, plan.log_columns, data.echoes)
        self._step("profile", 1)
        self.timings["segment"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        engine = {"name": "spark", "master": self.spark.sparkContext.master,
                  "spark_version": self.spark.version,
                  "partitions": int(scaled.rdd.getNumPartitions()),
                  "input_checksum": checksum_of, "kmeans_init": "k-means++",
                  "n_init": n_init, "final_init": final_init if sampled else "none",
                  "final_iterations": iterations, "max_iter": MAX_ITER,
                  "selection_sample": selection.n_samples}
        result = self.outputs(data, assigned, segs, profiles_table, describe_num,
                              report_sample=report_sample, seed=seed, selection=selection,
                              quality=quality, plan=plan, info=info, sha256=sha256,
                              command=command, engine=engine,
                              population=population, centres=centres, params=params,
                              extras=extras)
        result.model = spark_segmenter(result, columns=data.data_cols, roles=data.roles,
                                       plan=plan, fitted=fitted, selection=selection,
                                       centres=centres, quality=quality,
                                       cleaning=data.cleaning, warnings=data.warns)
        finish_docs(result.model, result.summary, extras)
        self.timings["prepare_outputs"] = time.perf_counter() - t2
        result.summary["timings"] = {k_: round(v, 4) for k_, v in self.timings.items()}
        return result


def _preprocessing_recorded(data: Any, plan: Any, clipped: Any) -> dict[str, Any]:
    """What the preprocessing did, in the cleaning report (imputed, log-transformed,
    clipped); returns the summary's feature decisions (near duplicates, echoes), as the
    standard engine's summary has them."""
    data.cleaning["imputed"] = dict(data.cleaning["missing_values"])
    data.cleaning["log_transformed"] = list(plan.log_columns)
    data.cleaning["clipped_at_quantile"] = plan.clip
    if clipped is not None:
        data.cleaning["clipped"] = clipped
    return {k: v for k, v in (("near_duplicates", data.near_duplicates),
                              ("echoes", data.echoes)) if v}


# ----------------------------------------------------------------------------- writing
def write_spark_outputs(result: SparkSegmentation, out: str | os.PathLike[str], *,
                        force: bool = False, report: bool = True) -> Path:
    """Write the output folder of a Spark run atomically; returns its path.

    ``OUT/segments/``: Parquet part files written by Spark (``part-*.parquet`` and
    ``_SUCCESS``; read the folder with ``pandas.read_parquet`` or ``spark.read.parquet``),
    one row a customer: the id column (or ``row``), the input columns as read,
    ``segment``, ``segment_name``, ``distance``.  Then ``profiles.csv``, ``summary.json`` and
    ``report.html`` as the local engine writes them, and ``model/``: the bundle of
    ``result.model`` (:func:`custseg.bundle.save_bundle`; its drift fingerprint is of the
    collected sample, ``result.sample``), for ``custseg score`` and ``custseg serve``.
    ``OUT`` is a local folder: Spark writes into a temporary folder beside it, which
    replaces ``OUT`` when everything is written.
    """
    from custseg.io import atomic_output_dir
    from custseg.pipeline import write_model_and_report, write_summary

    out = Path(out)
    t_write = time.perf_counter()
    with atomic_output_dir(out, force=force) as tmp:
        target = tmp / "segments"
        result.assignments.write.mode("error").parquet(target.resolve().as_uri())
        for crc in target.glob(".*.crc"):  # Hadoop's local checksums: not part of the output
            crc.unlink()
        write_model_and_report(tmp, summary=result.summary, profiles=result.profiles,
                               model=result.model, training=result.sample,
                               report=result.report_result() if report else None)
        write_summary(tmp, result.summary, t_write)
    return out
