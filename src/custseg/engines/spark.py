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
3. **preprocess**: ``Imputer`` (median), optional clipping at quantiles, ``log1p`` of the
   columns the local engine would log-transform (non-negative, skewness above 1),
   ``VectorAssembler``, ``StandardScaler(withMean=True, withStd=True)``;
4. **choose k** on a seeded sample (:data:`SELECTION_SAMPLE` customers):
   MLlib ``KMeans`` (k-means||) for every k; inertia is the model's training cost, the
   silhouette, Calinski-Harabasz and Davies-Bouldin are computed on the sample exactly as the
   local engine computes them (:func:`custseg.selection.score_partition`), and
   :func:`custseg.selection.consensus` chooses k and its confidence; MLlib's
   ``ClusteringEvaluator`` silhouette (squared Euclidean) is recorded beside;
5. **segment** everyone with the final ``KMeans`` (k-means||, seeded), segments numbered by
   size, distance to the centre;
6. **profile** in Spark: size, share, mean, median (exact up to :data:`EXACT_QUANTILES`
   customers, ``percentile_approx`` above), population tertiles; names, levels and
   recommendations by :func:`custseg.profiling.profiles_from_statistics`, the code the local
   engine uses;
7. **write** (:func:`write_spark_outputs`): ``segments/`` (Parquet part files written by
   Spark), ``profiles.csv``, ``summary.json``, ``report.html`` drawn from a seeded sample of
   :data:`REPORT_SAMPLE` customers, and ``model/``, the bundle for ``custseg score`` and
   ``custseg serve``: a fitted :class:`~custseg.segmenter.Segmenter` whose scikit-learn
   preprocessing carries Spark's own fitted medians, clipping bounds, means and standard
   deviations (:func:`spark_segmenter`), so that it assigns a customer as Spark did;
   atomically, as the local engine.

PySpark is imported here only, when the engine runs; without it a
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

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg.algorithms.registry import DEFAULT as DEFAULT_ALGORITHM
from custseg.engines.base import new_cleaning, number_by_size, record_unreadable
from custseg.errors import DataError, Problem, UsageError
from custseg.schema import DECIMAL_COMMA_PATTERN, THOUSANDS_PATTERN, comma_reading
from custseg.selection import USEFUL_K

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

    from custseg.explore import DataOverview, SegmentViews
    from custseg.pipeline import SegmentationResult
    from custseg.preprocess import PreprocessPlan
    from custseg.profiling import SegmentProfile
    from custseg.segmenter import Segmenter
    from custseg.summary import Summary

ProgressFn = Callable[[str, int, int], None]

INSTALL_HINT = "pip install 'custseg[spark]'"
#: Rows looked at on the driver to infer column roles (as custseg.schema does).
ROLE_SAMPLE = 10_000
#: Customers collected to the driver to draw the report (and the final silhouette).
REPORT_SAMPLE = 10_000
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
#: Seeded k-means|| fits per k on the selection sample; the lowest cost is kept.
N_INIT = 3
#: The final K-Means stops when the centres move less than this (squared, summed, scaled
#: units) in an iteration.
TOL = 1e-8
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


# ----------------------------------------------------------------------------- result
@dataclass
class SparkModel:
    """What the report needs of a fitted model: the profiles table and the parameters."""

    profiles_: pd.DataFrame
    params: dict[str, Any]
    model_: Any = None

    def get_params(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass
class SparkSegmentation:
    """Everything a Spark run produced.

    Attributes
    ----------
    assignments : pyspark.sql.DataFrame
        One row a customer (exact duplicate rows dropped): the id column (or ``row``), the
        input columns as read, ``segment`` (0 = largest), ``segment_name``, ``distance``
        (to the segment's centre, scaled units).  Lazy, cached; bound to ``spark``.
    summary : dict
        The ``summary.json`` document.
    segments : list of SegmentProfile
        Profiles, names and recommendations, largest segment first.
    profiles : DataFrame
        ``profiles.csv``.
    sample : DataFrame
        The customers collected to the driver for the report: key, typed features and
        describing columns, ``segment``.
    views, overview
        The report's numbers (drawn from ``sample`` and the Spark aggregates).
    model : Segmenter
        The fitted model as a :class:`~custseg.segmenter.Segmenter` (:func:`spark_segmenter`):
        ``model.predict`` assigns customers as Spark did; ``model/`` is its bundle.
    """

    spark: Any
    assignments: Any
    summary: Summary
    segments: list[SegmentProfile]
    profiles: pd.DataFrame
    sample: pd.DataFrame
    views: SegmentViews
    overview: DataOverview
    params: dict[str, Any]
    model: Segmenter | None = None
    cached: list[Any] = field(default_factory=list, repr=False)

    def report_result(self) -> SegmentationResult:
        """The result as :func:`custseg.report.render_report` takes it."""
        from custseg.io import TableInfo
        from custseg.pipeline import SegmentationResult

        inp = self.summary["input"]
        info = TableInfo(inp["path"], inp["format"], inp["rows"], inp["columns"],
                         self.summary["input_sha256"], inp["encoding"], inp["delimiter"])
        model = SparkModel(self.profiles, self.params)
        return SegmentationResult(self.sample, info, model, self.sample,  # type: ignore[arg-type]
                                  self.summary, self.views.points, self.summary["command"],
                                  self.summary["timings"], self.overview, self.views)

    def unpersist(self) -> None:
        """Release the cached DataFrames."""
        for df in self.cached:
            df.unpersist()
        self.cached.clear()


@dataclass
class SparkPreprocessing:
    """The parameters Spark fitted in the preprocessing, one value a feature, in order.

    Attributes
    ----------
    medians : ndarray
        The ``Imputer``'s medians (relative error :data:`IMPUTER_RELATIVE_ERROR`).
    lower, upper : ndarray or None
        Clipping bounds (the ``[clip, 1 - clip]`` quantiles of the imputed values), or None
        without clipping.
    mean, std : ndarray
        ``StandardScaler``'s mean and standard deviation (the sample one, ddof = 1) of the
        imputed, clipped, log-transformed values.
    n : int
        Customers they were fitted on.
    """

    medians: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    mean: np.ndarray
    std: np.ndarray
    n: int


def sklearn_preprocessor(plan: PreprocessPlan, fitted: SparkPreprocessing,
                         sample: pd.DataFrame) -> ColumnTransformer:
    """Spark's fitted preprocessing as the local engine's scikit-learn transformer.

    :func:`custseg.preprocess.build_preprocessor` of ``plan`` is fitted on ``sample`` (the
    customers collected to the driver, features in original units; its missing cells
    filled with Spark's medians, so that no column is empty), then given Spark's own fitted
    values: the medians as ``SimpleImputer.statistics_``, the clipping bounds as
    ``QuantileClipper.lower_``/``upper_``, and the scaler's mean and *sample* standard
    deviation as ``StandardScaler.mean_``, ``scale_`` and ``var_`` (``scale_`` 1 where the
    deviation is 0, as scikit-learn's).  Its output equals Spark's scaled features up to
    floating-point rounding.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from custseg.preprocess import PreprocessPlan
    >>> plan = PreprocessPlan(["a", "b"], [], log_columns=["b"])
    >>> fitted = SparkPreprocessing(np.array([2.0, 1.0]), None, None,
    ...                             np.array([2.0, 1.0]), np.array([1.0, 0.5]), 3)
    >>> pre = sklearn_preprocessor(plan, fitted, pd.DataFrame({"a": [1.0, 2, 3],
    ...                                                        "b": [0.0, np.e - 1, None]}))
    >>> pre.transform(pd.DataFrame({"a": [4.0, None], "b": [np.e - 1, 0.0]})).tolist()
    [[2.0, 0.0], [0.0, -2.0]]
    """
    from custseg.preprocess import build_preprocessor

    features = list(plan.numeric)
    medians = np.asarray(fitted.medians, dtype=np.float64)
    frame = sample[features].astype(np.float64).fillna(dict(zip(features, medians,
                                                                 strict=True)))
    pre = build_preprocessor(plan).fit(frame)
    steps = pre.named_transformers_["numeric"].named_steps
    steps["impute"].statistics_ = medians
    if "clip" in steps:
        if fitted.lower is None or fitted.upper is None:
            raise ValueError("the plan clips, but Spark's clipping bounds are missing")
        steps["clip"].lower_ = np.asarray(fitted.lower, dtype=np.float64)
        steps["clip"].upper_ = np.asarray(fitted.upper, dtype=np.float64)
    std = np.asarray(fitted.std, dtype=np.float64)
    scaler = steps["scale"]
    scaler.mean_ = np.asarray(fitted.mean, dtype=np.float64)
    scaler.var_ = std ** 2
    scaler.scale_ = np.where(std > 0, std, 1.0)
    scaler.n_samples_seen_ = int(fitted.n)
    return pre


def spark_segmenter(result: SparkSegmentation, *, columns: Sequence[str], roles: Any,
                    plan: PreprocessPlan, fitted: SparkPreprocessing, selection: Any,
                    centres: np.ndarray, quality: dict[str, Any], cleaning: dict[str, Any],
                    warnings: list[Problem]) -> Segmenter:
    """The Spark run's model as a fitted :class:`~custseg.segmenter.Segmenter` (assembled by
    :func:`custseg.segmenter.segmenter_from_parts`, as the local engine's fast path does).

    Its preprocessing is :func:`sklearn_preprocessor` (Spark's fitted parameters), its
    ``cluster_centers_`` Spark's final centres in that scaled space (segment 0, the largest,
    first), so ``predict`` gives every customer the segment Spark gave (the nearest centre,
    the first on a tie).  ``result.sample``'s scaled features are checked against Spark's:
    a disagreement beyond rounding is a bug and raises ``RuntimeError``.
    """
    from custseg.segmenter import Segmenter, segmenter_from_parts
    from custseg.selection import KScore

    kept = list(plan.numeric)
    preprocessor = sklearn_preprocessor(plan, fitted, result.sample)
    if len(result.sample):
        ours = np.asarray(preprocessor.transform(result.sample[kept].astype(np.float64)),
                          dtype=np.float64)
        theirs = np.vstack(result.sample["__x"].to_numpy())
        if not np.allclose(ours, theirs, rtol=1e-9, atol=1e-9):
            worst = float(np.abs(ours - theirs).max())
            raise RuntimeError(f"the model's preprocessing disagrees with Spark's (by up to "
                               f"{worst:g} scaled units)")
    allowed = Segmenter().get_params()
    params = {key: value for key, value in result.params.items() if key in allowed}
    silhouette = quality.get("silhouette")
    final = KScore(k=len(centres), inertia=float(quality["inertia"]),
                   silhouette=float("nan") if silhouette is None else float(silhouette),
                   calinski_harabasz=float(quality["calinski_harabasz"]),
                   davies_bouldin=float(quality["davies_bouldin"]))
    return segmenter_from_parts(
        params, columns=columns, roles=roles, features=kept, plan=plan,
        preprocessor=preprocessor, k_selection=selection, cluster_centers=centres,
        segments=result.segments, profiles=result.profiles, cleaning=cleaning,
        warnings=warnings, inertia=float(quality["inertia"]), final_scores=final)


# ----------------------------------------------------------------------------- helpers
def _c(name: str) -> Any:
    """A column by name, whatever characters it holds (dots, spaces, brackets)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _format_of(path: str, input_format: str | None) -> str:
    if input_format is not None:
        if input_format not in ("csv", "parquet"):
            raise UsageError(f"input format must be csv or parquet, got {input_format!r}",
                             "input_format")
        return input_format
    local = Path(path)
    if local.is_dir():
        return "parquet" if any(local.rglob("*.parquet")) else "csv"
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in ("", ".csv", ".tsv", ".txt"):
        return "parquet" if suffix == "" else "csv"
    raise UsageError(f"`engine='spark'` reads Parquet and CSV; {path} ends in {suffix!r}",
                     "engine")


def _local_text_options(path: str, delimiter: str | None,
                        encoding: str | None) -> tuple[str, str]:
    """Delimiter and encoding of a local text file (detected as custseg.io does); for other
    paths, the given values or comma and UTF-8."""
    from custseg.io import decode_text, detect_delimiter

    local = Path(path)
    if local.is_file() and (delimiter is None or encoding is None):
        with local.open("rb") as fh:
            head = fh.read(65536)
        text, found = decode_text(head)
        encoding = encoding or found
        delimiter = delimiter or detect_delimiter(text)
    return delimiter or ",", encoding or "utf-8"


def _input_sha256(spark: Any, df: Any) -> tuple[str, str]:
    """SHA-256 of the input: of its bytes when its files are local (one file: the same
    checksum as the local engine's), else of its listing (path, length, modification
    time), which changes whenever a file does."""
    files = sorted(df.inputFiles())
    digest = hashlib.sha256()
    if files and all(f.startswith("file:") for f in files):
        from urllib.parse import unquote, urlparse

        for f in files:
            with open(unquote(urlparse(f).path), "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest(), "bytes"
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    for f in files:
        p = jvm.org.apache.hadoop.fs.Path(f)
        status = p.getFileSystem(conf).getFileStatus(p)
        digest.update(f"{f}\t{status.getLen()}\t{status.getModificationTime()}\n".encode())
    return digest.hexdigest(), "listing"


# ----------------------------------------------------------------------------- parsing
THOUSANDS = f"^{THOUSANDS_PATTERN}$"
DECIMAL_COMMA = f"^{DECIMAL_COMMA_PATTERN}$"


@dataclass
class _NumericColumn:
    name: str
    internal: str
    kind: str  # "number" (typed input) or "text"
    comma: str = ""  # "thousands", "decimal" or ""
    n_filled: int = 0
    n_junk: int = 0
    n_markers: int = 0
    junk_values: list[str] = field(default_factory=list)
    marker_values: list[str] = field(default_factory=list)


def _parse_expr(col: _NumericColumn) -> Any:
    """The column as a double: numbers as they are, text as custseg.schema reads it (junk
    and missing markers become null)."""
    from pyspark.sql import functions as F

    if col.kind == "number":
        return _c(col.name).cast("double")
    t = F.trim(_c(col.name).cast("string"))
    parsed = t.try_cast("double")
    if col.comma == "thousands":
        alt = F.regexp_replace(t, ",", "").try_cast("double")
        parsed = F.when(t.rlike(THOUSANDS), alt).otherwise(parsed)
    elif col.comma == "decimal":
        alt = F.regexp_replace(t, ",", ".").try_cast("double")
        parsed = F.when(t.rlike(DECIMAL_COMMA), alt).otherwise(parsed)
    return parsed


def _scan_text_columns(base: Any, columns: list[_NumericColumn]) -> None:
    """One pass over the text columns: filled cells, numbers, comma forms, missing markers;
    decides each column's comma reading and counts its junk (as custseg.schema does)."""
    from pyspark.sql import functions as F

    from custseg.schema import MISSING_MARKERS

    text = [c for c in columns if c.kind == "text"]
    if not text:
        return
    markers = sorted(MISSING_MARKERS)
    aggs = []
    for i, c in enumerate(text):
        t = F.trim(_c(c.name).cast("string"))
        filled = t.isNotNull() & (t != "")
        failed = filled & t.try_cast("double").isNull()
        thousands = failed & t.rlike(THOUSANDS)
        decimal = failed & t.rlike(DECIMAL_COMMA)
        marker = failed & F.lower(t).isin(markers)
        aggs += [F.sum(filled.cast("long")).alias(f"f{i}"),
                 F.sum(failed.cast("long")).alias(f"x{i}"),
                 F.sum(thousands.cast("long")).alias(f"t{i}"),
                 F.sum((decimal & ~thousands).cast("long")).alias(f"d{i}"),
                 F.sum(decimal.cast("long")).alias(f"dd{i}"),
                 F.sum(marker.cast("long")).alias(f"m{i}")]
    row = base.agg(*aggs).first()
    for i, c in enumerate(text):
        failed, thousands = row[f"x{i}"] or 0, row[f"t{i}"] or 0
        decimal_only, decimal = row[f"d{i}"] or 0, row[f"dd{i}"] or 0
        c.n_filled, c.n_markers = row[f"f{i}"] or 0, row[f"m{i}"] or 0
        if comma_reading(bool(thousands), bool(decimal_only)) == "thousands":
            c.comma, fixed = "thousands", thousands
        elif decimal:
            c.comma, fixed = "decimal", decimal
        else:
            fixed = 0
        c.n_junk = int(failed - fixed - c.n_markers)
    for c in text:  # a few of the offending cells, for the messages
        if c.n_junk or c.n_markers:
            t = F.trim(_c(c.name).cast("string"))
            bad = base.where(t.isNotNull() & (t != "") & _parse_expr(c).isNull())
            values = [r[0] for r in bad.select(t).limit(40).collect()]
            c.marker_values = [v for v in values if v.lower() in MISSING_MARKERS][:20]
            c.junk_values = [v for v in values if v.lower() not in MISSING_MARKERS][:20]


@dataclass
class _Checked:
    """The data after the checks: ``base`` (deduplicated input, cached), ``typed`` (key,
    parsed numeric columns ``__num*``, trimmed categorical ones ``__cat*``), the roles, the
    numeric columns, the features read (``feats``) and kept, cleaning and findings."""

    base: Any
    roles: Any
    key: str
    data_cols: list[str]
    n: int
    typed: Any = None
    numeric: list[str] = field(default_factory=list)
    cols: dict[str, _NumericColumn] = field(default_factory=dict)
    feats: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    cleaning: dict[str, Any] = field(default_factory=dict)
    warns: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# ----------------------------------------------------------------------------- the engine
def segment_spark(
    input_path: str | os.PathLike[str],
    *,
    features: Sequence[str] | None = None,
    id_col: str | None = None,
    exclude: Sequence[str] | None = None,
    k: int | tuple[int, int] | str = "auto",
    k_range: tuple[int, int] = (2, 10),
    useful_k: tuple[int, int] | None = USEFUL_K,
    impute: str = "median",
    clip: float | None = None,
    log: str | Sequence[str] = "auto",
    max_junk: float = 0.05,
    rules: str | None = None,
    master: str = "local[*]",
    spark: Any = None,
    spark_config: dict[str, str] | None = None,
    random_state: int = 0,
    sample_size: int | None = None,
    n_init: int = N_INIT,
    final_init: str = "sample",
    report_sample: int = REPORT_SAMPLE,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    progress: ProgressFn | None = None,
    command: str = "",
    **unsupported: Any,
) -> SparkSegmentation:
    """Segment the customers of ``input_path`` on Spark; nothing is printed or written.

    Parameters
    ----------
    input_path : str or path
        Parquet (a file or a folder of part files) or CSV, any path Spark reads
        (``s3a://bucket/customers/``, ``gs://...``, ``abfss://...``, ``hdfs://...``).
    features, id_col, exclude, k, k_range, impute, clip, log, max_junk, rules
        As for :class:`custseg.segmenter.Segmenter` (``impute`` median only).
    master : str
        Spark master when no session is running (``local[*]``, ``spark://host:7077``...).
    spark : SparkSession, optional
        A session to use; by default the active one, or a new one on ``master``.
    spark_config : dict, optional
        Settings of a new session (e.g. ``{"spark.executor.memory": "8g"}``).
    random_state : int
        Seed of every random choice (samples, k-means||).
    sample_size : int, optional
        Customers k is chosen on; default :data:`SELECTION_SAMPLE`.
    n_init : int
        Seeded k-means|| fits per k on the sample (the lowest cost is kept).
    final_init : {"sample", "k-means||"}
        When k was chosen on a sample, the final K-Means on everyone starts from the
        sample's centres (``"sample"``, as the local engine) or is MLlib's k-means|| run on
        everyone (one seeded fit).
    report_sample : int
        Customers collected to the driver to draw the report.
    input_format : {"csv", "parquet"}, optional
        Default: from the path's ending (a folder of ``.parquet`` files is Parquet).
    delimiter, encoding : str, optional
        Of CSV input (default: detected for a local file, else comma and UTF-8).
    progress : callable, optional
        ``progress(stage, done, total)``.
    command : str
        The command line, for the summary.

    Returns
    -------
    SparkSegmentation
    """
    # over 60 lines with its public signature and docstring; the body checks and starts
    sample_size = SELECTION_SAMPLE if sample_size is None else int(sample_size)
    _check_options(unsupported, impute=impute, random_state=random_state,
                   final_init=final_init, n_init=n_init, sample_size=sample_size,
                   report_sample=report_sample)
    from custseg.segmenter import k_values as resolve_k

    k_values = resolve_k(k, k_range)
    from custseg.profiling import load_rules

    rule_table = load_rules(rules)
    session = spark if spark is not None else spark_session(master, spark_config)
    run = _SparkRun(session, str(input_path), progress)
    run.useful = tuple(useful_k) if useful_k is not None and k == "auto" else None
    return run.execute(features=features, id_col=id_col, exclude=exclude, k_values=k_values,
                       clip=clip, log=log, max_junk=max_junk, rules=rule_table,
                       seed=int(random_state), sample_size=sample_size,
                       n_init=int(n_init), final_init=final_init,
                       report_sample=int(report_sample), input_format=input_format,
                       delimiter=delimiter, encoding=encoding, command=command,
                       params={"k": k, "k_range": k_range, "features": features,
                               "id_col": id_col, "exclude": exclude, "impute": impute,
                               "clip": clip, "log": log, "max_junk": max_junk, "rules": rules,
                               "random_state": random_state, "engine": "spark",
                               "master": session.sparkContext.master,
                               "sample_size": sample_size})


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


class _SparkRun:
    """One run of the engine: the stages of :func:`segment_spark`, in order."""

    def __init__(self, spark: Any, path: str, progress: ProgressFn | None) -> None:
        self.spark = spark
        self.path = path
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.cached: list[Any] = []
        self.sizes: list[int] = []
        #: k chosen among these unless the evidence outside is strong (--k auto)
        self.useful: tuple[int, int] | None = None

    def _step(self, stage: str, done: int, total: int = 1) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _cache(self, df: Any) -> Any:
        from pyspark import StorageLevel

        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        self.cached.append(df)
        return df

    # ------------------------------------------------------------------ 1. read
    def read(self, input_format: str | None, delimiter: str | None,
             encoding: str | None) -> tuple[Any, dict[str, Any]]:
        fmt = _format_of(self.path, input_format)
        reader = self.spark.read
        enc = delim = None
        try:
            if fmt == "csv":
                delim, enc = _local_text_options(self.path, delimiter, encoding)
                df = (reader.option("header", True).option("inferSchema", False)
                      .option("sep", delim).option("encoding", enc.replace("-sig", ""))
                      .option("mode", "PERMISSIVE").option("multiLine", False).csv(self.path))
                first = df.columns[0] if df.columns else ""
                if first.startswith("\ufeff"):  # a UTF-8 byte-order mark in the header
                    df = df.withColumnRenamed(first, first[1:])
            else:
                df = reader.parquet(self.path)
        except Exception as exc:  # Spark's AnalysisException: path missing, unreadable
            from custseg.errors import InputFileError

            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise InputFileError(f"{self.path}: cannot read it as {fmt}: {first_line}",
                                 self.path) from exc
        info = {"path": self.path, "format": fmt, "encoding": enc, "delimiter": delim,
                "rows": 0, "columns": len(df.columns)}
        return df, info

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
        plan, scaled, clipped, fitted = self.preprocess(data.typed, data.kept, data.cols,
                                                        data.n, clip, log)
        data.cleaning["imputed"] = dict(data.cleaning["missing_values"])
        data.cleaning["log_transformed"] = list(plan.log_columns)
        data.cleaning["clipped_at_quantile"] = plan.clip
        if clipped is not None:
            data.cleaning["clipped"] = clipped
        self._step("preprocess", 1)
        selection, centres, sampled, sel_info = self.choose_k(scaled, data.n, k_values, seed,
                                                              sample_size, n_init)
        centres, iterations = self.fit(scaled, centres, sampled, final_init, seed)
        assigned, centres, sizes, quality = self.assign(scaled, centres)
        self.sizes = sizes
        self._step("profile", 0)
        describe_num = [c for c in data.numeric if c not in data.kept]
        segs, profiles_table, population = self.profile(
            assigned, data.cols, data.kept, describe_num, list(data.roles.categorical), sizes,
            data.n, rules)
        self._step("profile", 1)
        self.timings["segment"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        engine = {"name": "spark", "master": self.spark.sparkContext.master,
                  "spark_version": self.spark.version,
                  "partitions": int(scaled.rdd.getNumPartitions()),
                  "input_checksum": checksum_of, "kmeans_init": "k-means||",
                  "n_init": n_init, "final_init": final_init if sampled else "none",
                  "final_iterations": iterations, "max_iter": MAX_ITER,
                  "selection_sample": sel_info["n_samples"]}
        result = self.outputs(data, assigned, segs, profiles_table, describe_num,
                              report_sample=report_sample, seed=seed, selection=selection,
                              quality=quality, plan=plan, info=info, sha256=sha256,
                              command=command, engine=engine, sel_info=sel_info,
                              population=population, centres=centres, params=params)
        result.model = spark_segmenter(result, columns=data.data_cols, roles=data.roles,
                                       plan=plan, fitted=fitted, selection=selection,
                                       centres=centres, quality=quality,
                                       cleaning=data.cleaning, warnings=data.warns)
        self.timings["prepare_outputs"] = time.perf_counter() - t2
        result.summary["timings"] = {k_: round(v, 4) for k_, v in self.timings.items()}
        return result

    # ------------------------------------------------------------------ 1. read
    def read_all(self, input_format: str | None, delimiter: str | None,
                 encoding: str | None) -> tuple[Any, dict[str, Any], str, str]:
        """The input as a DataFrame, its description (rows counted) and its checksum."""
        self._step("read", 0)
        raw, info = self.read(input_format, delimiter, encoding)
        n_rows = raw.count()
        if n_rows == 0:
            from custseg.errors import InputFileError

            raise InputFileError(f"{self.path}: no data rows", self.path)
        info["rows"] = n_rows
        sha256, checksum_of = _input_sha256(self.spark, raw)
        self._step("read", 1)
        return raw, info, sha256, checksum_of

    # ------------------------------------------------------------------ 2. validate, roles
    def check(self, raw: Any, n_rows: int, *, features: Sequence[str] | None,
              id_col: str | None, exclude: Sequence[str] | None, max_junk: float,
              k_values: list[int]) -> _Checked:
        """Roles from the first rows (:func:`custseg.schema.validate_table`), exact
        duplicate rows dropped, every numeric column parsed and checked on all rows."""
        from pyspark.sql import functions as F

        from custseg.schema import validate_table

        head = raw.limit(ROLE_SAMPLE).toPandas()
        checked = validate_table(head, id_col=id_col, features=features, exclude=exclude,
                                 max_junk=1.0, min_rows=2)
        if checked.categorical_features:
            raise UsageError(f"`engine='spark'` segments on numeric features only; "
                             f"{checked.categorical_features} are categorical", "features")
        roles = checked.roles
        if roles.id_column is None and "row" in raw.columns:
            raise UsageError("the data have a column named 'row' and no id column; give the "
                             "id with `id_col`", "id_col")
        data = self._deduplicate(raw, roles, n_rows)
        data.warns = [p for p in checked.warnings if p.code not in (
            "junk", "missing-marker", "duplicate-row", "constant", "all-missing")] + data.warns
        typed_input = {f.name for f in raw.schema.fields
                       if f.dataType.typeName() not in ("string", "binary")}
        data.numeric = list(roles.numeric)
        data.cols = {c: _NumericColumn(c, f"__num{i}", "number" if c in typed_input else "text")
                     for i, c in enumerate(data.numeric)}
        _scan_text_columns(data.base, list(data.cols.values()))
        data.cleaning = new_cleaning(n_rows, n_rows - data.n,
                                     checked.cleaning["columns_dropped"])
        data.feats = [c for c in checked.features if c in data.cols]
        for c in data.feats:
            col = data.cols[c]
            record_unreadable(c, col.n_junk, col.n_filled, col.n_markers, max_junk=max_junk,
                              cleaning=data.cleaning, errors=data.problems, warns=data.warns,
                              junk={"values": col.junk_values},
                              markers={"values": col.marker_values})
        data.typed = self._cache(data.base.select(
            _c(data.key).alias("__key"),
            *[_parse_expr(col).alias(col.internal) for col in data.cols.values()],
            *[F.trim(_c(c).cast("string")).alias(f"__cat{i}")
              for i, c in enumerate(roles.categorical)]))
        self._check_features(data, given=bool(features))
        if data.n < max(min(k_values), 2):
            data.problems.append(Problem(None, f"only {data.n} customer(s), fewer than the "
                                         f"{max(min(k_values), 2)} segments asked for",
                                         code="too-few-rows"))
        if data.problems:
            raise DataError(data.problems)
        return data

    def _deduplicate(self, raw: Any, roles: Any, n_rows: int) -> _Checked:
        """Exact duplicate rows dropped (a warning); without an id, the 1-based row number
        is the key; one id on rows with different data is an error."""
        from pyspark.sql import functions as F

        key = roles.id_column or "row"
        data_cols = list(raw.columns)
        if roles.id_column is None:
            indexed = raw.rdd.zipWithIndex().map(lambda r: (*r[0], r[1] + 1))
            raw = indexed.toDF([*data_cols, "row"])
            base = raw.groupBy(*[_c(c) for c in data_cols]).agg(F.min("row").alias("row"))
        else:
            base = raw.dropDuplicates(data_cols)
        base = self._cache(base)
        data = _Checked(base=base, roles=roles, key=key, data_cols=data_cols, n=base.count())
        n_dup = n_rows - data.n
        if roles.id_column is not None:
            dup = (base.groupBy(_c(key)).count().where(F.col("count") > 1)
                   .orderBy(_c(key)).limit(20).collect())
            if dup:
                n_ids = base.groupBy(_c(key)).count().where(F.col("count") > 1).count()
                data.problems.append(Problem(key, f"{n_ids} id(s) given to rows with "
                                             "different data; ids must be unique",
                                             values=[str(r[0]) for r in dup],
                                             code="duplicate-id"))
        if n_dup:
            data.warns.append(Problem(roles.id_column, f"{n_dup} duplicated row(s) dropped "
                                      "(same values as an earlier row)", code="duplicate-row",
                                      severity="warning"))
        return data

    def _check_features(self, data: _Checked, given: bool) -> None:
        """Per feature, on all rows: infinite or too large values (errors), no values (an
        error when the features were ``given``, else dropped), constant (dropped)."""
        from pyspark.sql import functions as F

        from custseg.schema import (
            MAX_ABS_VALUE,
            all_missing_problem,
            constant_problem,
            infinite_problem,
            too_large_problem,
        )

        aggs = []
        for i, c in enumerate(data.feats):
            v = F.col(data.cols[c].internal)
            inf = F.abs(v) == float("inf")
            aggs += [F.count(v).alias(f"n{i}"), F.min(v).alias(f"lo{i}"),
                     F.max(v).alias(f"hi{i}"), F.sum(inf.cast("long")).alias(f"inf{i}"),
                     F.sum(((F.abs(v) > MAX_ABS_VALUE) & ~inf).cast("long")).alias(f"big{i}")]
        stats = data.typed.agg(*aggs).first() if aggs else None
        for i, c in enumerate(data.feats):
            if stats[f"inf{i}"] or stats[f"big{i}"]:
                if stats[f"inf{i}"]:
                    data.problems.append(infinite_problem(c, stats[f"inf{i}"]))
                if stats[f"big{i}"]:
                    data.problems.append(too_large_problem(c, stats[f"big{i}"]))
            elif stats[f"n{i}"] == 0:
                (data.problems if given else data.warns).append(
                    all_missing_problem(c, dropped=not given))
                if not given:
                    data.cleaning["columns_dropped"][c] = "all missing"
            elif stats[f"lo{i}"] == stats[f"hi{i}"]:
                data.warns.append(constant_problem(c, stats[f"lo{i}"]))
                data.cleaning["columns_dropped"][c] = "constant"
            else:
                if data.n - stats[f"n{i}"]:
                    data.cleaning["missing_values"][c] = data.n - stats[f"n{i}"]
                data.kept.append(c)
        if not data.kept:
            data.problems.append(Problem(
                None, "no usable numeric feature to segment on (numeric columns found: "
                f"{', '.join(data.numeric) or 'none'}; give `features`)", code="no-features"))

    # ------------------------------------------------------------------ outputs
    def outputs(self, data: _Checked, assigned: Any, segs: list[SegmentProfile],
                profiles_table: pd.DataFrame, describe_num: list[str], *, report_sample: int,
                seed: int, selection: Any, quality: dict[str, Any], plan: Any,
                info: dict[str, Any], sha256: str, command: str, engine: dict[str, Any],
                sel_info: dict[str, Any], population: dict[str, Any], centres: np.ndarray,
                params: dict[str, Any]) -> SparkSegmentation:
        """The assignments with the input columns, the report's sample, the summary and the
        report's numbers."""
        from pyspark.sql import functions as F

        names = F.array(*[F.lit(s.name) for s in segs])
        labels = assigned.select(F.col("__key").alias("__k2"), "segment", "distance")
        output = (data.base.join(labels, _c(data.key) == F.col("__k2"), "inner").drop("__k2")
                  .withColumn("segment_name", F.element_at(names, F.col("segment") + 1)))
        ordered = [data.key, *[c for c in data.data_cols if c != data.key]]
        output = output.select(*[_c(c) for c in ordered], "segment", "segment_name",
                               F.round("distance", 6).alias("distance"))
        categorical = list(data.roles.categorical)
        self._step("report sample", 0)
        sample = self.report_sample(assigned, data.cols, data.kept, describe_num,
                                    categorical, report_sample, seed)
        self._step("report sample", 1)
        quality["silhouette"] = self.sample_silhouette(sample, selection.chosen_k, seed)
        engine = {**engine, "report_sample": len(sample),
                  "quantiles": ("exact" if data.n <= EXACT_QUANTILES else
                                f"approximate (percentile_approx, accuracy "
                                f"{QUANTILE_ACCURACY})"),
                  "spark_silhouette": sel_info.pop("spark_silhouette")}
        summary = _summary(
            n=data.n, features=data.kept, k=selection.chosen_k, selection=selection,
            quality=quality, segments=segs, roles=data.roles.to_dict(), plan=plan.to_dict(),
            cleaning=data.cleaning, warnings=[p.to_dict() for p in data.warns], info=info,
            sha256=sha256, seed=seed, command=command, engine=engine)
        views, overview = self.report_numbers(sample, summary, data.kept, describe_num,
                                              categorical, population, centres, seed)
        return SparkSegmentation(self.spark, output, summary, segs, profiles_table,
                                 sample, views, overview, params, cached=self.cached)

    # ------------------------------------------------------------------ 3. preprocess
    def preprocess(self, typed: Any, kept: list[str], cols: dict[str, _NumericColumn],
                   n: int, clip: float | None, log: str | Sequence[str]
                   ) -> tuple[Any, Any, Any, SparkPreprocessing]:
        """Impute (median), clip, log1p, assemble and scale; returns the plan, the scaled
        data (cached: ``__key``, the typed columns, ``__scaled``), the clipped counts and the
        fitted parameters (for the model bundle)."""
        from pyspark.ml.feature import Imputer, StandardScaler, VectorAssembler
        from pyspark.ml.functions import vector_to_array
        from pyspark.sql import functions as F

        internal = [cols[c].internal for c in kept]
        imputed_cols = [f"{c}_imp" for c in internal]
        imputer = Imputer(inputCols=internal, outputCols=imputed_cols, strategy="median",
                          relativeError=IMPUTER_RELATIVE_ERROR).fit(typed)
        data = imputer.transform(typed)
        bounds: dict[str, tuple[float, float]] = {}
        clipped = None
        if clip is not None:
            qs = data.agg(*[self._quantiles(F.col(c), [clip, 1 - clip], n).alias(c)
                            for c in imputed_cols]).first()
            bounds = {c: (float(qs[c][0]), float(qs[c][1])) for c in imputed_cols}
            counts = data.agg(*[F.sum(((F.col(c) < lo) | (F.col(c) > hi)).cast("long"))
                                .alias(c) for c, (lo, hi) in bounds.items()]).first()
            clipped = {f: int(counts[c]) for f, c in zip(kept, imputed_cols, strict=True)
                       if counts[c]}
            data = data.select("*", *[F.least(F.greatest(F.col(c), F.lit(lo)), F.lit(hi))
                                      .alias(f"{c}_clip") for c, (lo, hi) in bounds.items()])
            imputed_cols = [f"{c}_clip" for c in imputed_cols]
        plan = self._plan(typed, kept, cols, bounds, clip, log)
        logged = set(plan.log_columns)
        ready = [F.log1p(F.greatest(F.col(c), F.lit(0.0))).alias(f"{c}_z") if f in logged
                 else F.col(c).alias(f"{c}_z") for f, c in zip(kept, imputed_cols, strict=True)]
        data = data.select("*", *ready)
        assembler = VectorAssembler(inputCols=[f"{c}_z" for c in imputed_cols],
                                    outputCol="__vec", handleInvalid="error")
        data = assembler.transform(data)
        scaler = StandardScaler(inputCol="__vec", outputCol="__scaled", withMean=True,
                                withStd=True).fit(data)
        keep = ["__key", *[cols[c].internal for c in cols],
                *[c for c in typed.columns if c.startswith("__cat")]]
        scaled = scaler.transform(data).select(*keep, "__scaled")
        scaled = scaled.withColumn("__x", vector_to_array("__scaled"))
        surrogate = imputer.surrogateDF.first()
        fitted = SparkPreprocessing(
            medians=np.array([float(surrogate[c]) for c in internal]),
            lower=(np.array([bounds[f"{c}_imp"][0] for c in internal]) if bounds else None),
            upper=(np.array([bounds[f"{c}_imp"][1] for c in internal]) if bounds else None),
            mean=np.asarray(scaler.mean.toArray(), dtype=np.float64),
            std=np.asarray(scaler.std.toArray(), dtype=np.float64), n=n)
        return plan, self._cache(scaled), clipped, fitted

    def _plan(self, typed: Any, kept: list[str], cols: dict[str, _NumericColumn],
              bounds: dict[str, tuple[float, float]], clip: float | None,
              log: str | Sequence[str]) -> PreprocessPlan:
        """The preprocessing plan, decided by the rules of
        :func:`custseg.preprocess.plan_preprocessing`: skewness measured after clipping,
        before the log, on the values read (not imputed), pandas' sample skewness
        (:func:`~custseg.preprocess.sample_skewness`); log of the columns
        :func:`~custseg.preprocess.wants_log` takes."""
        from pyspark.sql import functions as F

        from custseg.preprocess import plan_preprocessing, sample_skewness, wants_log

        pre = {c: F.col(cols[c].internal) for c in kept}
        if bounds:
            pre = {c: F.least(F.greatest(pre[c], F.lit(bounds[f"{cols[c].internal}_imp"][0])),
                              F.lit(bounds[f"{cols[c].internal}_imp"][1])) for c in kept}
        sk = typed.agg(*[F.skewness(v).alias(f"s{i}") for i, v in enumerate(pre.values())],
                       *[F.count(v).alias(f"n{i}") for i, v in enumerate(pre.values())],
                       *[F.min(v).alias(f"m{i}") for i, v in enumerate(pre.values())],
                       *[(F.max(v) - F.min(v)).alias(f"r{i}")
                         for i, v in enumerate(pre.values())]).first()
        skewness: dict[str, float] = {}
        log_auto: list[str] = []
        for i, c in enumerate(kept):
            m, g1, rng = sk[f"n{i}"], sk[f"s{i}"], sk[f"r{i}"]
            if m < 3 or not rng or g1 is None:
                continue
            skew = sample_skewness(g1, m)  # pandas' adjusted skewness
            skewness[c] = round(skew, 4)
            if wants_log(sk[f"m{i}"], skew):
                log_auto.append(c)
        probe = pd.DataFrame({c: [0.0, 1.0, 2.0] for c in kept})
        plan = plan_preprocessing(probe, kept, [], impute="median", clip=clip,
                                  log=log if not isinstance(log, str) else "none")
        plan.skewness = skewness
        if log == "auto":
            plan.log_columns = log_auto
        return plan

    def _quantiles(self, column: Any, probs: list[float], n: int) -> Any:
        from pyspark.sql import functions as F

        if n <= EXACT_QUANTILES:
            return F.percentile(column, probs)
        return F.percentile_approx(column, probs, QUANTILE_ACCURACY)

    # ------------------------------------------------------------------ 4. choose k
    def _kmeans(self, data: Any, k: int, seed: int, n_init: int) -> Any:
        """The best (lowest training cost) of ``n_init`` seeded MLlib k-means|| fits, run
        side by side (each fit is many short jobs); the same seeds give the same model
        whatever the timing."""
        from concurrent.futures import ThreadPoolExecutor

        from pyspark.ml.clustering import KMeans

        def fit(i: int) -> Any:
            return KMeans(k=k, seed=seed + i, initMode="k-means||", initSteps=INIT_STEPS,
                          maxIter=MAX_ITER, featuresCol="__scaled").fit(data)

        if n_init == 1:
            return fit(0)
        with ThreadPoolExecutor(max_workers=n_init) as pool:
            models = list(pool.map(fit, range(n_init)))
        costs = [m.summary.trainingCost for m in models]
        return models[int(np.argmin(costs))]

    def choose_k(self, scaled: Any, n: int, k_values: list[int], seed: int,
                 sample_size: int, n_init: int) -> tuple[Any, np.ndarray, bool, dict[str, Any]]:
        """KMeans for every k on a seeded sample; scores as the local engine's; the
        consensus.  Returns the selection, the chosen k's centres, whether a sample was
        used, and what to record."""
        from pyspark.ml.evaluation import ClusteringEvaluator
        from pyspark.sql import functions as F

        from custseg.selection import (
            SILHOUETTE_SAMPLE,
            consensus_for_action,
            score_partition,
            single_k_selection,
        )

        ks = [kv for kv in k_values if kv < n] or [min(k_values)]
        sampled = n > sample_size and len(ks) > 1
        sample = _seeded_sample(scaled, n, sample_size, seed) if sampled else scaled
        # small enough for one task: MLlib's many short jobs run faster on one partition
        sample = self._cache(sample.select("__key", "__scaled", "__x").coalesce(1))
        X = _scaled_by_key(sample)
        m = X.shape[0]
        n_distinct = len(np.unique(X, axis=0))
        if n_distinct < min(ks):
            raise DataError([Problem(None, f"the features take only {n_distinct} distinct "
                                     f"value(s) across customers, fewer than the {min(ks)} "
                                     "segments asked for", code="too-few-distinct")])
        asked_range = len(ks) > 1
        ks = [kv for kv in ks if kv <= n_distinct]
        evaluator = ClusteringEvaluator(featuresCol="__scaled", predictionCol="prediction")
        centres: dict[int, np.ndarray] = {}
        scores = []
        spark_sil: dict[str, float | None] = {}
        for i, kv in enumerate(ks):
            model = self._kmeans(sample, kv, seed, n_init)
            pred = model.transform(sample)
            got = pred.select(F.col("__key").cast("string").alias("key"),
                              "prediction").toPandas()
            labels = got["prediction"].to_numpy()[np.argsort(got["key"].to_numpy(),
                                                             kind="stable")]
            self._step("choose k", i + 1, len(ks))
            if len(np.unique(labels)) < kv:
                continue  # fewer distinct groups than k: not a candidate (as locally)
            centres[kv] = np.asarray(model.clusterCenters())
            scores.append(score_partition(X, labels, model.summary.trainingCost, kv, seed))
            try:
                spark_sil[str(kv)] = round(float(evaluator.evaluate(pred)), 6)
            except Exception:  # MLlib refuses degenerate partitions
                spark_sil[str(kv)] = None
        if not scores:
            raise DataError([Problem(None, "no number of segments in the range gives "
                                     "non-empty segments: too many customers share the same "
                                     "values", code="too-few-distinct")])
        if len(scores) > 1:
            selection = consensus_for_action(scores, self.useful)
        else:
            selection = single_k_selection(scores[0], only_possible=asked_range)
        selection.n_samples = int(m)
        selection.silhouette_sample = SILHOUETTE_SAMPLE if m > SILHOUETTE_SAMPLE else None
        return (selection, centres[selection.chosen_k], sampled,
                {"n_samples": int(m), "spark_silhouette": spark_sil})

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
            centres = np.asarray(self._kmeans(scaled, len(centres), seed, 1).clusterCenters())
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
        counts = dict(pred.groupBy("__c").count().collect())
        raw_counts = np.array([counts.get(j, 0) for j in range(k)])
        if (raw_counts == 0).any():
            raise DataError([Problem(None, f"only {int((raw_counts > 0).sum())} non-empty "
                                     f"segments could be formed, fewer than the {k} asked for: "
                                     "too many customers share the same values",
                                     code="too-few-distinct")])
        order, label_map = number_by_size(raw_counts)
        centres = centres[order]
        mapping = F.array(*[F.lit(int(v)) for v in label_map])
        assigned = pred.withColumn("segment", F.element_at(mapping, F.col("__c") + 1))
        assigned = assigned.withColumn("distance", F.sqrt(F.element_at(
            _squared_distances(centres), F.col("segment") + 1)))
        assigned = self._cache(assigned.drop("__c"))
        per = (assigned.groupBy("segment")
               .agg(F.count(F.lit(1)).alias("size"), F.sum("distance").alias("d"),
                    F.sum(F.col("distance") * F.col("distance")).alias("d2"),
                    Summarizer.mean(F.col("__scaled")).alias("mean"))
               .orderBy("segment").collect())
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

    # ------------------------------------------------------------------ 6. profile
    def profile(self, assigned: Any, cols: dict[str, _NumericColumn], kept: list[str],
                describe_num: list[str], categorical: list[str], sizes: list[int], n: int,
                rules: Any) -> tuple[list[SegmentProfile], pd.DataFrame, dict[str, Any]]:
        """Per-segment and population statistics in Spark; profiles, names and
        recommendations by the local engine's code."""
        from pyspark.sql import functions as F

        from custseg.profiling import SegmentStatistics, profiles_from_statistics

        numeric = [*kept, *describe_num]
        k = len(sizes)
        per_aggs, pop_aggs = [], []
        for i, c in enumerate(numeric):
            v = F.col(cols[c].internal)
            per_aggs += [F.avg(v).alias(f"mean{i}"),
                         self._quantiles(v, [0.5], n).alias(f"med{i}")]
            pop_aggs += [F.avg(v).alias(f"mean{i}"), F.stddev_pop(v).alias(f"std{i}"),
                         self._quantiles(v, [1 / 3, 0.5, 2 / 3], n).alias(f"q{i}")]
        per = {r["segment"]: r for r in assigned.groupBy("segment").agg(*per_aggs).collect()}
        pop = assigned.agg(*pop_aggs).first()

        def num(x: Any) -> float:
            return float("nan") if x is None else float(x)

        def first(x: Any) -> float:
            return float("nan") if not x or x[0] is None else float(x[0])

        cats, shares = _category_shares(assigned, categorical, sizes, n)
        stats = SegmentStatistics(
            n=n, sizes=sizes,
            mean=[{c: num(per[s][f"mean{i}"]) for i, c in enumerate(numeric)} for s in range(k)],
            median=[{c: first(per[s][f"med{i}"]) for i, c in enumerate(numeric)}
                    for s in range(k)],
            categories=cats,
            population_mean={c: num(pop[f"mean{i}"]) for i, c in enumerate(numeric)},
            population_std={c: num(pop[f"std{i}"]) for i, c in enumerate(numeric)},
            lower_tertile={c: num((pop[f"q{i}"] or [None])[0]) for i, c in enumerate(numeric)},
            upper_tertile={c: num((pop[f"q{i}"] or [None] * 3)[2])
                           for i, c in enumerate(numeric)})
        segs, table = profiles_from_statistics(stats, kept, describe_numeric=describe_num,
                                               describe_categorical=categorical, rules=rules)
        population = {"mean": stats.population_mean,
                      "median": {c: num((pop[f"q{i}"] or [None] * 3)[1])
                                 for i, c in enumerate(numeric)},
                      "shares": shares}
        return segs, table, population

    # ------------------------------------------------------------------ report
    def report_sample(self, assigned: Any, cols: dict[str, _NumericColumn], kept: list[str],
                      describe_num: list[str], categorical: list[str], size: int,
                      seed: int) -> pd.DataFrame:
        """A seeded random sample of customers, collected to the driver: ``id``,
        ``segment``, the numeric columns in original units, the categorical ones, and the
        scaled features (``__x``)."""
        from pyspark.sql import functions as F

        picked = _seeded_sample(assigned, sum(self.sizes), size, seed + 1)
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


def _category_shares(assigned: Any, categorical: list[str], sizes: list[int], n: int
                     ) -> tuple[list[dict[str, dict[str, float]]], dict[str, dict[str, float]]]:
    """Per segment and overall, the shares of each categorical column's levels (empty
    cells as ``"missing"``), the most frequent first (then by name)."""
    from pyspark.sql import functions as F

    k = len(sizes)
    cats: list[dict[str, dict[str, float]]] = [{} for _ in range(k)]
    shares: dict[str, dict[str, float]] = {}
    for j, c in enumerate(categorical):
        level = F.col(f"__cat{j}")
        level = F.when(level.isNull() | (level == ""), F.lit(None)).otherwise(level)
        counts = (assigned.select("segment", level.alias("level"))
                  .groupBy("segment", "level").count().collect())
        total: dict[str, int] = {}
        for r in counts:
            name = "missing" if r["level"] is None else str(r["level"])
            total[name] = total.get(name, 0) + r["count"]
            cats[r["segment"]].setdefault(c, {})[name] = r["count"]
        for s in range(k):
            mix = cats[s].get(c, {})
            cats[s][c] = {lvl: round(cnt / sizes[s], 4) for lvl, cnt in
                          sorted(mix.items(), key=lambda kv: (-kv[1], kv[0]))}
        shares[c] = {lvl: round(cnt / n, 4) for lvl, cnt in
                     sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))}
    return cats, shares


def _scaled_by_key(sample: Any) -> np.ndarray:
    """The scaled features of a (small) sample on the driver, rows in key order."""
    from pyspark.sql import functions as F

    local = sample.select(F.col("__key").cast("string").alias("key"), "__x").toPandas()
    order = np.argsort(local["key"].to_numpy(), kind="stable")
    return np.vstack(local["__x"].to_numpy())[order]


def _seeded_sample(df: Any, n: int, size: int, seed: int) -> Any:
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


def _summary(*, n: int, features: list[str], k: int, selection: Any, quality: dict[str, Any],
             segments: list[SegmentProfile], roles: dict[str, Any], plan: dict[str, Any],
             cleaning: dict[str, Any], warnings: list[dict[str, Any]], info: dict[str, Any],
             sha256: str, seed: int, command: str, engine: dict[str, Any]) -> Summary:
    """The ``summary.json`` document of a Spark run (docs/summary-schema.md)."""
    import pyspark

    from custseg._version import __version__
    from custseg.pipeline import SUMMARY_SCHEMA_VERSION, jsonable, versions

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
        "segments": [{
            "id": s.id, "name": s.name, "size": s.size, "share": s.share,
            "centre": {f: s.mean[f] for f in features},
            "median": {f: s.median[f] for f in numeric},
            "z": dict(s.z), "levels": s.levels, "distinguishing": s.distinguishing,
            "categories": s.categories, "recommendation": s.recommendation,
        } for s in segments],
        "roles": roles,
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
