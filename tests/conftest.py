"""Shared fixtures: paths to the shared data, ``invoke`` (a command run in process, as the CLI
tests do) and ``run_custseg`` (the real command in a subprocess, for the few tests that need a
real process), the summary.json schema's validator, one OpenMP thread for modules that run many
commands, and the Spark session (``spark``) with the Spark runs the modules share."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CUSTSEG = [sys.executable, "-m", "custseg.cli"]
SUMMARY_SCHEMA = ROOT / "docs" / "summary.schema.json"


#: ``make test`` runs ``pytest -n 2 --dist loadfile`` (pytest-xdist), with the scheduler of
#: :func:`pytest_xdist_make_scheduler`: the tests of a module run on one worker, so that its
#: module-scoped fixtures (fitted runs, a browser, a million-row report, the compiled K-Means
#: kernels' first compile) are made once, except the modules below, whose cheap cases are
#: spread one by one, and the modules sharing one worker below (one JVM for the Spark tests).
SPREAD_MODULES = frozenset({"tests/integration/test_corpus.py"})
SAME_WORKER = {"tests/integration/test_engines_agree.py": "spark",
               "tests/integration/test_spark_engine.py": "spark"}


def work_unit(nodeid: str) -> str:
    """The unit of work of the test ``nodeid`` for the scheduler: its module, its group of
    modules (:data:`SAME_WORKER`), or the test itself (:data:`SPREAD_MODULES`)."""
    module = nodeid.split("::", 1)[0]
    if module in SPREAD_MODULES:
        return nodeid
    return SAME_WORKER.get(module, module)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``--dist loadfile``: xdist's file scheduler with :func:`work_unit` as the unit
    (the largest units start first).  pytest-xdist's own groups (``--dist loadgroup``, the
    ``xdist_group`` mark) are not used: with pytest 9.2 they are silently ignored
    (pytest-dev/pytest-xdist#1386)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ModuleScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ModuleScheduling(config, log)


@functools.cache
def summary_validator() -> Draft202012Validator:
    """A validator of docs/summary.schema.json (read once)."""
    return Draft202012Validator(json.loads(SUMMARY_SCHEMA.read_text("utf-8")))


@pytest.fixture(scope="session", autouse=True)
def one_thread_per_worker() -> Iterator[None]:
    """Run every test with one OpenMP and one BLAS thread.  The suite runs on as many
    workers as the machine has cores (``pytest -n``), so the CPUs are busy, and K-Means'
    OpenMP threads (and OpenBLAS') spin-wait for each other: a Wholesale run then takes
    ~25 s instead of ~2 s (same results); the corpus module took 174 s on two workers, 114 s
    with one OpenMP thread.  The variables reach commands run in a subprocess; threadpoolctl
    limits the runtimes already loaded in this process, for the commands run in process.
    Tests of thread counts set them explicitly (``n_threads``, Numba's own pool)."""
    from threadpoolctl import threadpool_limits

    with pytest.MonkeyPatch.context() as mp, threadpool_limits(limits=1):
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            mp.setenv(var, "1")
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mall_path(shared_data: Path) -> Path:
    return shared_data / "mall_customers.csv"


@pytest.fixture(scope="session")
def wholesale_path(shared_data: Path) -> Path:
    return shared_data / "wholesale_customers.csv"


@dataclass(frozen=True)
class Invoked:
    """What a command run in process left: its exit code, what it printed (``output``: both
    streams as they came) and the exception that escaped it, if any (a bug)."""

    exit_code: int
    stdout: str
    stderr: str
    output: str
    exception: BaseException | None = None


@contextlib.contextmanager
def _as_command(args: tuple[str, ...], cwd: Path | None) -> Iterator[None]:
    """``sys.argv`` as the real command would see it (the report's footer and summary.json's
    ``command`` come from it) and, if given, ``cwd`` as the current folder."""
    argv, here = sys.argv, Path.cwd()
    sys.argv = ["custseg", *args]
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        sys.argv = argv
        os.chdir(here)


@functools.cache
def click_command(app: Any) -> Any:
    """The Click command Typer builds from the Typer ``app``, built once.  Typer's
    ``CliRunner`` builds it again on every call (~25 ms; the corpus alone runs ~700
    commands); the command holds no state between runs."""
    import typer.main

    return typer.main.get_command(app)


def invoke(*args: str, cwd: Path | None = None) -> Invoked:
    """Run ``custseg *args`` in this process (Typer's CliRunner), from ``cwd`` if given.

    Much faster than the real command (no interpreter start, imports done once) and it
    counts for coverage.  Tests that need a real process (signals, the console script's own
    exit, ``python -m custseg``, import costs) use :func:`run_custseg`.  A Python exception
    that escapes the command (a bug: the command itself maps errors to exit codes) is added
    to ``stderr`` with its traceback, as the real command would print it."""
    import typer.testing

    from custseg.cli import app

    with _as_command(args, cwd), pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.testing, "_get_command", click_command)
        res = typer.testing.CliRunner().invoke(
            app, list(args), env={"COLUMNS": "120", "NO_COLOR": "1"}, prog_name="custseg")
    exc = res.exception if not isinstance(res.exception, SystemExit) else None
    trace = "".join(traceback.format_exception(exc)) if exc is not None else ""
    return Invoked(res.exit_code, res.stdout, res.stderr + trace, res.output + trace, exc)


def run_custseg(*args: str, cwd: Path | None = None, timeout: float = 300
                ) -> subprocess.CompletedProcess[str]:
    """Run the real ``custseg`` command (the installed console script) in a subprocess:
    only for tests that need a real process (see :func:`invoke`)."""
    exe = Path(sys.executable).with_name("custseg")
    cmd = [str(exe)] if exe.exists() else CUSTSEG
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)



# ----------------------------------------------------------------------------- Spark
#: The test session's Spark settings (local[2]: small data, no UI).  The JVM compiles with
#: its quick compiler only (C1): the tests' queries are short and many, and on 2 busy cores
#: C2's compile threads take CPU from them (a session and three small runs: 105 s -> 72 s at
#: load 3-4; the same, 54 s, at load 2).  C1 alone reserves 48 MB for compiled code, which
#: the session's many generated queries filled in one run of session 34 ("CodeCache is
#: full", then "Out of space in CodeCache for adapters": the JVM died and every later Spark
#: test failed): 256 MB are reserved.
SPARK_CONFIG = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m",
    "spark.sql.adaptive.enabled": "false",
}


def _require_spark() -> None:
    """Skip without PySpark or Java here; fail in CI, where they must be installed."""
    missing = []
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing.append("pyspark (pip install 'custseg[spark]')")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        missing.append("Java 17 (apt-get install openjdk-17-jre-headless)")
    if not missing:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the Spark engine tests need {' and '.join(missing)}: .ci/run and "
                    "`make test` must install them")
    pytest.skip(f"the Spark engine tests need {' and '.join(missing)}")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local[2] Spark session for the test session (its start-up is the slow part),
    used by tests/integration/test_spark_engine.py and test_engines_agree.py (one xdist
    worker runs both: :data:`SAME_WORKER`, one JVM); the CLI run in process reuses it."""
    _require_spark()
    from custseg.engines.spark import spark_session

    session = spark_session("local[2]", SPARK_CONFIG)
    yield session
    session.stop()


class SparkRuns:
    """The Spark engine's runs (``get_engine("spark", spark=...).segment``), each made once
    for the session: the modules that compare the same input with the same options share
    one fit (a Spark fit of the 200 Mall customers takes ~25 s, mostly MLlib's short jobs).
    The results are read only; their cached DataFrames are released at the end."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.done: dict[str, Any] = {}

    def __call__(self, path: str | os.PathLike[str], **options: Any) -> Any:
        from custseg.engines.registry import get_engine

        key = repr((str(path), sorted(options.items())))
        if key not in self.done:
            engine = get_engine("spark", spark=self.session)
            self.done[key] = engine.segment(path, **options)
        return self.done[key]

    def release(self) -> None:
        for result in self.done.values():
            result.unpersist()
        self.done.clear()


@pytest.fixture(scope="session")
def spark_runs(spark: Any) -> Iterator[SparkRuns]:
    """The session's shared Spark runs (see :class:`SparkRuns`)."""
    runs = SparkRuns(spark)
    yield runs
    runs.release()
