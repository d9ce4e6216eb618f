"""The output folders of the commands: where they go by default, and the checks that refuse
a bad one before any work is done."""

from __future__ import annotations

from pathlib import Path

#: Where outputs go when --out is not given: a folder of the current directory (the input's
#: folder may be read-only or shared), one entry per input file.
DEFAULT_OUT_ROOT = Path("custseg-out")


def default_out(input_path: Path, suffix: str = "") -> Path:
    """``custseg-out/<input name><suffix>`` in the current folder."""
    return DEFAULT_OUT_ROOT / (input_path.stem + suffix)


def check_out(out: Path, *, force: bool, input_path: Path | None = None,
              only_custseg_output: bool = False) -> None:
    """Refuse a bad output folder before any work is done (it is checked again on writing)."""
    from custseg.errors import OutputExistsError, UsageError
    from custseg.io import check_output_location

    target = out.resolve()
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise UsageError(f"--out {out} is the current folder or one of its parents; choose a "
                         "new folder for the outputs", "--out")
    if input_path is not None and target in input_path.resolve().parents:
        raise UsageError(f"--out {out} contains the input file {input_path}; choose another "
                         "folder", "--out")
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"--out {out} exists and is a file, not a folder", "--out")
    check_output_location(out)
    if out.is_dir() and any(out.iterdir()):
        if only_custseg_output and not (out / "summary.json").exists():
            raise OutputExistsError(f"--out {out} is not empty and is not a custseg output "
                                    "folder; the demo will not replace it", "--out")
        if not force:
            raise OutputExistsError(f"--out {out} exists and is not empty; choose another "
                                    "--out or pass --force to replace it", "--out")


def slug(text: str) -> str:
    """A run's name as a piece of a folder name (``compare-RUN_A-RUN_B``)."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(text).name or text).strip("_") or "run"
