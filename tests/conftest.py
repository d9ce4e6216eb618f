"""Shared fixtures: paths to the shared data and a helper running the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CUSTSEG = [sys.executable, "-m", "custseg.cli"]


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
