"""The engines by name: the three built in (:class:`StandardEngine`, :class:`LocalEngine`,
:class:`SparkEngine`, each declared against :class:`custseg.engines.base.Engine`) and any
registered with :func:`register_engine`; :func:`get_engine` makes one.

Here, above :mod:`custseg.engines.local` and :mod:`custseg.engines.spark` (which import
:mod:`custseg.engines.base`), so that the engines' modules import no cycle.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from custseg.engines.base import Engine, ProgressFn


class StandardEngine:
    """pandas + scikit-learn in memory: :func:`custseg.pipeline.segment_file` (reads with
    :func:`custseg.io.read_table`, aggregates in pandas, passes over whole arrays)."""

    name = "standard"

    def segment(self, path: str | os.PathLike[str], *, progress: ProgressFn | None = None,
                command: str = "", **options: Any) -> Any:
        from custseg.pipeline import segment_file

        return segment_file(path, progress=progress, command=command, **options)

    def write(self, result: Any, out: str | os.PathLike[str], *, force: bool = False,
              report: bool = True, fmt: str = "csv") -> Path:
        from custseg.pipeline import write_outputs

        return write_outputs(result, out, force=force, report=report, fmt=fmt)


class LocalEngine:
    """One machine, millions of customers: :mod:`custseg.engines.local` (reads columns with
    Arrow, aggregates in NumPy, passes over float32 chunks; K-Means, k on a sample)."""

    name = "local"

    def segment(self, path: str | os.PathLike[str], *, progress: ProgressFn | None = None,
                command: str = "", **options: Any) -> Any:
        from custseg.engines.local import segment_large

        return segment_large(path, progress=progress, command=command, **options)

    def write(self, result: Any, out: str | os.PathLike[str], *, force: bool = False,
              report: bool = True, fmt: str | None = "auto") -> Path:
        from custseg.engines.local import write_large_outputs

        return write_large_outputs(result, out, force=force, report=report, fmt=fmt)


class SparkEngine:
    """Apache Spark: :mod:`custseg.engines.spark` (reads, aggregates and passes over Spark
    DataFrames; only samples and per-segment numbers come to the driver)."""

    name = "spark"

    def __init__(self, master: str = "local[*]", spark: Any = None,
                 spark_config: dict[str, str] | None = None) -> None:
        self.master, self.spark, self.spark_config = master, spark, spark_config

    def segment(self, path: str | os.PathLike[str], *, progress: ProgressFn | None = None,
                command: str = "", **options: Any) -> Any:
        from custseg.engines.spark import segment_spark

        return segment_spark(path, master=self.master, spark=self.spark,
                             spark_config=self.spark_config, progress=progress,
                             command=command, **options)

    def write(self, result: Any, out: str | os.PathLike[str], *, force: bool = False,
              report: bool = True, fmt: str | None = None) -> Path:
        """Write the outputs; the segments are always Parquet part files (``fmt`` is
        ignored: :func:`custseg.engines.pick_engine` refuses CSV for Spark)."""
        from custseg.engines.spark import write_spark_outputs

        return write_spark_outputs(result, out, force=force, report=report)


_REGISTRY: dict[str, Callable[..., Engine]] = {
    "standard": StandardEngine, "local": LocalEngine, "spark": SparkEngine}


def register_engine(name: str, factory: Callable[..., Engine]) -> None:
    """Make an engine available to :func:`get_engine` under ``name`` (replacing one of
    the same name)."""
    _REGISTRY[name] = factory


def engine_names() -> list[str]:
    """The engines registered, the built-in ones first."""
    return list(_REGISTRY)


def get_engine(name: str, **settings: Any) -> Engine:
    """A new engine by name (``settings`` go to its constructor, e.g. a Spark master).

    >>> get_engine("local").name
    'local'
    """
    from custseg.errors import UsageError

    if name not in _REGISTRY:
        raise UsageError(f"engine must be one of {engine_names()}, got {name!r}", "engine")
    return _REGISTRY[name](**settings)


def engine_with(name: str, offered: Mapping[str, Any]) -> Engine:
    """A new engine by name, given those of the ``offered`` settings its constructor takes
    (a face offers all its engine settings, such as a Spark master, without knowing which
    engine takes which).

    >>> engine_with("standard", {"master": "local[2]"}).name
    'standard'
    >>> engine_with("spark", {"master": "local[2]"}).master
    'local[2]'
    """
    if name not in _REGISTRY:
        return get_engine(name)  # the error names the engines
    taken = inspect.signature(_REGISTRY[name]).parameters
    return get_engine(name, **{k: v for k, v in offered.items() if k in taken})
