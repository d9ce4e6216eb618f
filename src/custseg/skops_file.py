"""skops files: :func:`skops_io` imports ``skops.io`` fast, and :func:`skops_dumps` with
:func:`stable_zip` write an object so that identical runs give identical bytes.

The model bundle (:mod:`custseg.bundle`) keeps its fitted segmenter in such a file
(``model.skops``); loading it, with the bundle's checks, is the bundle's business.
"""

from __future__ import annotations

import io
import json
import stat
import sys
import zipfile
from pathlib import Path
from typing import Any

#: The time stamp of every member of ``model.skops`` (the earliest a zip file can record).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def skops_io() -> Any:
    """``skops.io``, imported without PyTorch.

    Importing ``skops.io`` walks every scikit-learn package to list the estimators it trusts,
    and the walk imports ``sklearn.externals.array_api_compat.torch``, hence PyTorch when it
    is installed: 2-4 s for nothing, since a bundle holds no PyTorch object (the deep
    method's weights are NumPy arrays).  While ``skops.io`` is imported, an import hook makes
    ``import torch`` fail (the walk skips packages that fail to import); it is removed
    afterwards, so that a later ``import torch`` works as usual.
    """
    if "skops.io" in sys.modules:
        import skops.io

        return skops.io
    import sklearn.utils

    blocker, lister = _NoTorch(), _NoScipyUfuncs()
    sys.meta_path[:0] = [blocker, lister]
    walk = sklearn.utils.all_estimators
    # skops lists every scikit-learn estimator as trusted by default, importing every
    # scikit-learn package to do so (0.3-0.4 s of each command); custseg trusts only the
    # types of TRUSTED_TYPES, named one by one, so the walk is skipped
    sklearn.utils.all_estimators = lambda *args, **kwargs: []
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = walk
        sys.meta_path.remove(blocker)
        sys.meta_path.remove(lister)
        lister.restore()
    return skops.io


class _NoTorch:
    """An import hook under which ``import torch`` and ``import sklearn.ensemble`` fail
    while skops.io loads (see :func:`skops_io`): skops imports the gradient-boosting
    modules, 0.1 s, to trust types no custseg model holds."""

    blocked = ("torch", "sklearn.ensemble")

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if any(name == b or name.startswith(b + ".") for b in self.blocked):
            raise ImportError(f"{name} is not imported while skops.io loads")
        return None


class _NoScipyUfuncs:
    """An import hook under which skops lists no SciPy ufunc as trusted while ``skops.io``
    loads (see :func:`skops_io`).

    SciPy's ufuncs have no ``__module__``, so skops finds each one's module by searching
    every loaded module: 0.3-0.4 s of every command that writes or reads a model, to trust
    types no custseg model holds (a model holding one is refused, as any untrusted type).
    When ``skops.io._utils`` loads, its ``get_public_type_names`` is wrapped to list nothing
    under ``scipy.special``; :meth:`restore` puts the original back once skops is loaded.
    """

    def __init__(self) -> None:
        self.module: Any = None
        self.original: Any = None
        self.loader: Any = None

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        """``skops.io._utils``'s spec, loaded through this hook (the others: not found)."""
        if name != "skops.io._utils" or self.loader is not None:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            self.loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        """The module's own loader runs it, then :meth:`wrap`."""
        self.loader.exec_module(module)
        self.wrap(module)

    def wrap(self, module: Any) -> None:
        """Make ``module.get_public_type_names`` list nothing under ``scipy.special``."""
        self.module, self.original = module, module.get_public_type_names
        original = self.original

        def public_type_names(module: Any, oftype: Any) -> list[str]:
            return [] if module.__name__ == "scipy.special" else original(module, oftype)

        module.get_public_type_names = public_type_names

    def restore(self) -> None:
        """The module's own function and loader back (tracebacks read its source)."""
        if self.module is not None:
            self.module.get_public_type_names = self.original
            self.module.__loader__ = self.module.__spec__.loader = self.loader


class _CompactJSON:
    """The ``json`` module as skops' writer sees it, with ``dumps`` writing compact JSON.

    skops indents ``schema.json``, which makes :mod:`json` use its pure-Python encoder: 4 s
    for a model of 2,000 features.  :func:`stable_zip` rewrites the file anyway.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)

    @staticmethod
    def dumps(obj: Any, **options: Any) -> str:
        options.pop("indent", None)
        return json.dumps(obj, separators=(",", ":"), **options)


def skops_dumps(obj: Any) -> bytes:
    """``skops.io.dumps(obj)``, with its schema written compactly (:class:`_CompactJSON`)."""
    sio = skops_io()
    persist = sys.modules.get("skops.io._persist")
    if persist is None or getattr(persist, "json", None) is not json:
        return bytes(sio.dumps(obj))
    persist.json = _CompactJSON()  # type: ignore[attr-defined]
    try:
        return bytes(sio.dumps(obj))
    finally:
        persist.json = json  # type: ignore[attr-defined]


def stable_zip(data: bytes) -> bytes:
    """A skops file rewritten so that identical runs give identical bytes.

    skops names array members and numbers objects after their memory addresses, and stamps
    members with the current time.  Here the object numbers and member names become their
    order of appearance in ``schema.json``, members are written in name order
    (``schema.json`` first), uncompressed, dated :data:`ZIP_DATE`, mode 0644.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        members = {info.filename: src.read(info) for info in src.infolist()}
    schema = json.loads(members.pop("schema.json"))
    names: dict[str, str] = {}
    _renumber(schema, set(members), names, {})
    names.update({n: n for n in members if n not in names})  # unreferenced: kept as they are
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        # compact: json's C encoder (indent would take the pure-Python one, 10x slower on
        # the schema of a model with thousands of features)
        _write_member(dst, "schema.json", json.dumps(schema, separators=(",", ":")).encode())
        for old, new in sorted(names.items(), key=lambda item: item[1]):
            _write_member(dst, new, members[old])
    return out.getvalue()


def _renumber(node: Any, members: set[str], names: dict[str, str], ids: dict[int, int]) -> None:
    """Replace, in a skops schema, ``__id__`` values and member names by their rank."""
    if isinstance(node, list):
        for item in node:
            _renumber(item, members, names, ids)
    elif isinstance(node, dict):
        if isinstance(node.get("__id__"), int):
            node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
        name = node.get("file")
        if isinstance(name, str) and name in members:
            node["file"] = names.setdefault(name, f"{len(names):06d}{Path(name).suffix}")
        for value in node.values():
            _renumber(value, members, names, ids)


def _write_member(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Write a member as :func:`stable_zip` does: stored, dated :data:`ZIP_DATE`, 0644."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3  # Unix, whichever system writes it
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    zf.writestr(info, data)
