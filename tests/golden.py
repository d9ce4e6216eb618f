"""Golden outputs of the default pipeline (issue 16): the Mall demo, the Wholesale table and
the retail transaction log, run in process through the CLI.

What is compared, byte for byte after normalisation:

- ``summary.json`` without ``timings``, ``versions`` and ``command`` (how it was called), with
  the data folder and the output folder replaced by ``<data>`` and ``<out>``;
- ``segments.csv`` (the assignments) and ``profiles.csv``;
- the report's data: ``report.html`` with the bundled plotly.js replaced by its length and the
  folders replaced as above.

``python tests/golden.py --update`` rewrites ``tests/golden/expected/`` from the current
code (only when an output change is intended, and said in the commit message).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "golden" / "expected"
ROOT = HERE.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PACKAGE_DATA = ROOT / "src" / "custseg" / "data"

#: case -> CLI arguments; ``{data}`` is the shared data folder, ``{out}`` the output folder.
CASES: dict[str, list[str]] = {
    "mall_demo": ["demo", "--out", "{out}"],
    "wholesale": ["segment", "{data}/wholesale_customers.csv", "--out", "{out}"],
    "retail_transactions": ["segment", "{data}/retail_data_transactions.csv",
                            "--transactions", "--out", "{out}"],
}
#: summary.json keys that describe the run rather than its result.
RUN_KEYS = ("timings", "versions", "command")
FILES = ("summary.json", "segments.csv", "profiles.csv", "report.html")


def run_case(name: str, out: Path) -> None:
    """Run one case through the CLI in process (Typer's CliRunner)."""
    from typer.testing import CliRunner

    from custseg.cli import app

    args = [a.format(data=SHARED_DATA, out=out) for a in CASES[name]]
    # the report's footer shows the command from sys.argv: make it the one a user types
    argv, sys.argv = sys.argv, ["custseg", *CASES[name]]
    try:
        res = CliRunner().invoke(app, [*args, "--quiet"], env={"COLUMNS": "120"})
    finally:
        sys.argv = argv
    if res.exit_code != 0:
        raise RuntimeError(f"{name}: exit {res.exit_code}\n{res.output}")


def _paths(text: str, out: Path) -> str:
    for real, mark in ((str(out), "<out>"), (str(SHARED_DATA), "<data>"),
                       (str(PACKAGE_DATA), "<package-data>")):
        text = text.replace(real, mark)
    return text


def normalise(out: Path) -> dict[str, bytes]:
    """The compared bytes of each output file."""
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text("utf-8"))
    for key in RUN_KEYS:
        summary.pop(key, None)
    html = (out / "report.html").read_text("utf-8")
    # the first (very long) script is the bundled plotly.js: keep its length only
    html = re.sub(r"<script>(.{100000,}?)</script>",
                  lambda m: f"<script>/* plotly.js, {len(m.group(1))} chars */</script>",
                  html, count=1, flags=re.S)
    return {
        "summary.json": _paths(json.dumps(summary, indent=2, ensure_ascii=False), out).encode(),
        "segments.csv": (out / "segments.csv").read_bytes(),
        "profiles.csv": (out / "profiles.csv").read_bytes(),
        "report.html": _paths(html, out).encode(),
    }


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def update(tmp: Path) -> None:
    """Rewrite tests/golden/expected/: the normalised summary and profiles (to read a diff)
    and the SHA-256 of every compared file."""
    hashes: dict[str, dict[str, str]] = {}
    for name in CASES:
        out = tmp / name
        run_case(name, out)
        files = normalise(out)
        folder = EXPECTED / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "summary.json").write_bytes(files["summary.json"])
        (folder / "profiles.csv").write_bytes(files["profiles.csv"])
        hashes[name] = {f: digest(b) for f, b in files.items()}
        print(name, hashes[name])
    (EXPECTED / "sha256.json").write_text(json.dumps(hashes, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the expected outputs")
    if not parser.parse_args().update:
        parser.print_help()
        sys.exit(0)
    with tempfile.TemporaryDirectory() as tmp:
        update(Path(tmp))
