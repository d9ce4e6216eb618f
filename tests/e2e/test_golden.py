"""The refactoring keeps the outputs (issue 16): the Mall demo, the Wholesale table and the
retail transaction log give the same summary, assignments, profiles and report data, byte
for byte after normalisation (tests/golden.py says what is normalised)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from golden import CASES, EXPECTED, SHARED_DATA, digest, normalise, run_case

EXPECTED_SHA = json.loads((EXPECTED / "sha256.json").read_text("utf-8"))


@pytest.mark.parametrize("case", list(CASES))
def test_outputs_are_unchanged(case: str, tmp_path: Path) -> None:
    if not SHARED_DATA.exists():
        pytest.skip("shared data not found")
    run_case(case, tmp_path / "out")
    files = normalise(tmp_path / "out")
    changed = [f for f, data in files.items() if digest(data) != EXPECTED_SHA[case][f]]
    detail = []
    for name in ("summary.json", "profiles.csv"):
        if name in changed:
            want = (EXPECTED / case / name).read_text("utf-8").splitlines()
            got = files[name].decode().splitlines()
            detail += list(difflib.unified_diff(want, got, "expected", "now", lineterm=""))[:60]
    assert not changed, f"{case}: {changed} changed\n" + "\n".join(detail)
