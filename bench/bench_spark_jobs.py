"""The Spark engine's fixed costs: the Spark jobs, stages and tasks a run launches, and its
wall time, per stage of the pipeline (read, check, preprocess, choose k, fit, assign,
profile, outputs, model), on small tables, where nearly all of a run is per-job overhead.

Each method of the run (``custseg.engines.spark._SparkRun``) is wrapped to put the jobs it
launches in a job group of its name (``SparkContext.setJobGroup``); the counts come from
``SparkContext.statusTracker()``.  One warm-up run first (the JVM's JIT, Python's imports),
then ``--repeat`` timed runs of each table; the job counts are of the last run (they do not
change from run to run).

    python bench/bench_spark_jobs.py --repeat 3
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

#: The pipeline's stages, as methods of the run, in order.
STAGES = ("read_all", "check", "preprocess", "choose_k", "fit", "assign", "profile",
          "outputs")
MALL_FEATURES = ["Annual Income (k$)", "Spending Score (1-100)"]
WHOLESALE = "/work/shared/data/wholesale_customers.csv"


class StageRecorder:
    """Puts every job a stage launches in a job group of the stage's name, and times it."""

    def __init__(self, sc: Any) -> None:
        self.sc = sc
        self.seconds: dict[str, float] = defaultdict(float)
        self.prefix = ""

    def wrap(self, cls: type, name: str) -> None:
        method = getattr(cls, name)
        recorder = self

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            group = f"{recorder.prefix}{name}"
            recorder.sc.setJobGroup(group, group)
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                recorder.seconds[name] += time.perf_counter() - t0
                recorder.sc.setJobGroup(f"{recorder.prefix}other", "other")

        setattr(cls, name, timed)

    def counts(self, name: str) -> tuple[int, int, int]:
        """Jobs, stages run (skipped ones not counted) and tasks of a stage."""
        tracker = self.sc.statusTracker()
        jobs = tracker.getJobIdsForGroup(f"{self.prefix}{name}")
        stages = tasks = 0
        for job in jobs:
            info = tracker.getJobInfo(job)
            for sid in info.stageIds if info else []:
                stage = tracker.getStageInfo(sid)
                if stage is not None and stage.numCompletedTasks:
                    stages += 1
                    tasks += stage.numTasks
        return len(jobs), stages, tasks


def run_once(recorder: StageRecorder, label: str, path: str, options: dict[str, Any],
             spark: Any) -> tuple[float, dict[str, Any]]:
    from custseg.engines.spark import segment_spark

    recorder.prefix = f"{label}:"
    recorder.seconds.clear()
    t0 = time.perf_counter()
    result = segment_spark(path, spark=spark, **options)
    wall = time.perf_counter() - t0
    result.unpersist()
    rows = {}
    for name in (*STAGES, "other"):
        jobs, stages, tasks = recorder.counts(name)
        rows[name] = {"jobs": jobs, "stages": stages, "tasks": tasks,
                      "seconds": round(recorder.seconds.get(name, 0.0), 2)}
    return wall, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    from machine import machine

    from conftest import SPARK_CONFIG
    from custseg.engines import spark as spark_engine
    from custseg.engines.spark import spark_session
    from custseg.io import demo_data_path

    config = {**SPARK_CONFIG, "spark.ui.retainedJobs": "100000",
              "spark.ui.retainedStages": "100000"}
    t0 = time.perf_counter()
    spark = spark_session(args.master, config)
    print(f"session start {time.perf_counter() - t0:.1f} s; {machine()}")
    recorder = StageRecorder(spark.sparkContext)
    for name in STAGES:
        recorder.wrap(spark_engine._SparkRun, name)
    tables = {"mall": (str(demo_data_path()), {"random_state": 0, "features": MALL_FEATURES}),
              "wholesale": (WHOLESALE, {"random_state": 0, "k_range": (2, 6)})}
    run_once(recorder, "warm-up", *tables["mall"], spark)
    for label, (path, options) in tables.items():
        walls = []
        for i in range(args.repeat):
            wall, rows = run_once(recorder, f"{label}{i}", path, options, spark)
            walls.append(wall)
        print(f"\n{label}: wall median {statistics.median(walls):.2f} s "
              f"({', '.join(f'{w:.2f}' for w in walls)})")
        print(f"  {'stage':<12}{'jobs':>6}{'stages':>8}{'tasks':>7}{'seconds':>9}")
        for name, row in rows.items():
            print(f"  {name:<12}{row['jobs']:>6}{row['stages']:>8}{row['tasks']:>7}"
                  f"{row['seconds']:>9.2f}")
        total = {key: sum(r[key] for r in rows.values()) for key in ("jobs", "stages",
                                                                       "tasks")}
        print(f"  {'total':<12}{total['jobs']:>6}{total['stages']:>8}{total['tasks']:>7}")
    spark.stop()


if __name__ == "__main__":
    main()
