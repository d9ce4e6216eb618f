"""Shared fixtures: paths to the shared data, a helper running the real command, the
summary.json schema's validator, one OpenMP thread for modules that run many commands."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CUSTSEG = [sys.executable, "-m", "custseg.cli"]
SUMMARY_SCHEMA = ROOT / "docs" / "summary.schema.json"


@functools.cache
def summary_validator() -> Draft202012Validator:
    """A validator of docs/summary.schema.json (read once)."""
    return Draft202012Validator(json.loads(SUMMARY_SCHEMA.read_text("utf-8")))


@pytest.fixture(scope="module")
def one_openmp_thread() -> Iterator[None]:
    """Run the commands with one OpenMP thread.  On a machine whose CPUs are busy, K-Means'
    OpenMP threads spin-wait for each other: a Wholesale run then takes ~25 s instead of ~2 s
    (same results).  Modules that run many commands use it (``pytestmark``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
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


def run_custseg(*args: str, cwd: Path | None = None, timeout: float = 300
                ) -> subprocess.CompletedProcess[str]:
    """Run the real ``custseg`` command (the installed console script) in a subprocess."""
    exe = Path(sys.executable).with_name("custseg")
    cmd = [str(exe)] if exe.exists() else CUSTSEG
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
