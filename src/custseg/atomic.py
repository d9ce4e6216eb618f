"""Writing outputs atomically: a temporary file or folder beside the output becomes the
output only once everything in it is written, so that a failed or killed run never leaves a
half-written output; leftovers of killed runs are swept by the next one, and a location that
cannot be written is refused before any work."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from custseg.errors import CustsegError, OutputError, OutputExistsError

#: Temporary outputs are named ``.<name>.tmp-<host>-<pid>-<random>`` beside the output, so
#: that a later run can tell a leftover of a killed process from another run's work.
_TMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old|probe)-(?P<host>[A-Za-z0-9_]*)-(?P<pid>\d+)-")


def _host() -> str:
    """This machine's name, as temporary names carry it."""
    return re.sub(r"[^A-Za-z0-9_]", "_", os.uname().nodename if hasattr(os, "uname")
                  else "host")[:24]


def temp_prefix(out: Path, kind: str = "tmp") -> str:
    """The prefix of a temporary file or folder made beside ``out`` by this process."""
    return f".{out.name}.{kind}-{_host()}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    """Whether a process of this machine is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temporaries(out: Path) -> list[Path]:
    """Remove the temporary files and folders that a killed custseg process left beside
    ``out`` (same machine, process gone); returns what was removed."""
    removed: list[Path] = []
    try:
        candidates = list(out.parent.glob(f".{glob_escape(out.name)}.*-*"))
    except OSError:
        return removed
    for path in candidates:
        m = _TMP_NAME.match(path.name)
        if not m or m["name"] != out.name or m["host"] != _host() or _alive(int(m["pid"])):
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def output_error(exc: OSError, path: Path) -> OutputError:
    """An operating-system error met while writing ``path``, said for a person."""
    reason = exc.strerror or str(exc)
    return OutputError(f"{path}: cannot write the outputs there ({reason}); choose a folder "
                       "you can write to", str(path))


def check_output_location(out: Path) -> None:
    """Refuse, before any work, an output path that cannot be created: the nearest existing
    folder on its way must be a folder this process can write to (OutputError)."""
    probe = out.parent  # outputs are made beside ``out`` and renamed into place
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise output_error(NotADirectoryError(20, f"{probe} is a file, not a folder"), out)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise output_error(PermissionError(13, f"{probe} is not writable"), out)
    try:  # permissions do not tell everything (a read-only mount, /proc, a full quota)
        fd, name = tempfile.mkstemp(prefix=temp_prefix(out, "probe"), dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise output_error(exc, out) from None


def _prepare_output(out: Path) -> None:
    """Before a temporary output is made beside ``out``: refuse a location that cannot be
    written, create the folder, and sweep what killed runs left there."""
    check_output_location(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out) from None
    sweep_stale_temporaries(out)


_WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT,
                 errno.ENOTDIR, errno.ENAMETOOLONG, errno.EFBIG}


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Operating-system errors of writing (read-only, full disk...) as OutputError."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, CustsegError) or exc.errno not in _WRITE_ERRNOS:
            raise
        raise output_error(exc, out) from None


@contextlib.contextmanager
def atomic_output_dir(out: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``out`` only when the block succeeds.

    The temporary folder sits beside ``out`` (same file system, so the final rename is
    atomic) and is removed when the block fails or the process is interrupted; leftovers of
    a killed process are swept by the next run.  A non-empty ``out`` is refused unless
    ``force``; with ``force`` it is replaced only after the new one is complete.  A folder
    that cannot be written raises :class:`~custseg.errors.OutputError`.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_dir(root / "run") as tmp:
    ...     _ = (tmp / "a.txt").write_text("done")
    >>> sorted(p.name for p in (root / "run").iterdir())
    ['a.txt']
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is a file, not a folder", "out")
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputExistsError(
            f"{out} exists and is not empty; choose another `out` or pass `force=True` to replace "
            "it",
            "out",
        )
    _prepare_output(out)
    with _writing(out):
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out), dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the output is an ordinary folder
    try:
        with _writing(out):
            yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(out, "old"), dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_output_file(out: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary file path beside ``out`` that is renamed to ``out`` when the block
    succeeds (and removed when it does not).

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_file(root / "scored.csv") as tmp:
    ...     _ = tmp.write_text("id,segment\\n")
    >>> sorted(p.name for p in root.iterdir())
    ['scored.csv']
    """
    out = Path(out)
    if out.is_dir():
        raise OutputExistsError(f"{out} is a folder; give the name of a file to write", "out")
    if out.exists() and not force:
        raise OutputExistsError(f"{out} exists; pass `force=True` to replace it", "out")
    _prepare_output(out)
    with _writing(out):
        fd, name = tempfile.mkstemp(prefix=temp_prefix(out), dir=out.parent)
        os.close(fd)
    tmp = Path(name)
    try:
        with _writing(out):
            yield tmp
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
