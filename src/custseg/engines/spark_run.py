"""The state every stage of a Spark run shares: the session, the input's path, progress,
timings and the DataFrames cached (:mod:`custseg.engines.spark`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from custseg.labels import LabelFile

if TYPE_CHECKING:

    import numpy as np


ProgressFn = Callable[[str, int, int], None]


class SparkRunState:
    """A run's session, path, progress, timings, cached DataFrames and segment sizes."""

    def __init__(self, spark: Any, path: str, progress: ProgressFn | None) -> None:
        self.spark = spark
        self.path = path
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.cached: list[Any] = []
        self.sizes: list[int] = []
        #: rows of the input in each of its partitions (by partition index)
        self.partition_rows: dict[int, int] = {}
        #: k chosen among these unless the evidence outside is strong (--k auto)
        self.useful: tuple[int, int] | None = None
        #: the scaled (and weighted) features of the rows k is chosen on, once collected
        #: (with whether they are a sample), for the next stage that needs them
        self.selection_rows: tuple[np.ndarray, bool] | None = None
        #: the labels given (custseg.labels.resolve_labels): column labels, codes' names
        self.labels: LabelFile = LabelFile()

    def _step(self, stage: str, done: int, total: int = 1) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _cache(self, df: Any) -> Any:
        from pyspark import StorageLevel

        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        self.cached.append(df)
        return df
