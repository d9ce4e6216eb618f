"""The model bundle: a fitted segmentation on disk, versioned, loaded without running code.

A bundle is a folder (``model/`` in every output folder) with two files:

``bundle.json``
    Plain JSON: format name and version, custseg and dependency versions, the algorithm,
    the features and their types, the preprocessing, the segments (ids, names, sizes, centres
    in original units, recommendations), the k selection summary, a fingerprint of the
    training data (input SHA-256, customers, per-feature mean, standard deviation and
    deciles, for drift checks), and the SHA-256 of ``model.skops``.
``model.skops``
    The fitted :class:`~custseg.segmenter.Segmenter` without its training rows, in skops'
    format: loading rebuilds objects from a description and refuses any type that is not on
    custseg's fixed allow-list (:data:`TRUSTED_TYPES`), so a bundle cannot execute code the way
    a pickle or joblib file can.

Loading checks, in order: the folder and both files exist, each a regular file inside the
folder (a link is followed only to a file in the folder; a named pipe, device or folder is
refused without being opened for a blocking read) and no larger than a fixed bound
(:data:`MAX_META_BYTES`, :data:`MAX_MODEL_BYTES`); ``bundle.json`` is a JSON object, a custseg
bundle of a format version this custseg reads, and follows ``data/bundle.schema.json``
(``model_file`` a plain file name, ``model_sha256`` 64 hex digits, sizes bounded...);
``model.skops`` has the size and SHA-256 written in ``bundle.json`` (a changed file is
refused as tampered); its members and arrays declare no more bytes than it holds; every type
in it is allowed.  Every refusal is a :class:`BundleError`.  Saving is reproducible: the same
segmenter and inputs give byte-identical files (:func:`custseg.skops_file.stable_zip`).
Format history: 1 (this one).  The joblib dumps (``segmenter.joblib``) of custseg 0.1's first
commits are format 0: refused with the reason (loading them would run code) and the fix
(segment again).

Examples
--------
>>> import tempfile, pathlib
>>> from custseg import Segmenter, load_table, demo_data_path
>>> df = load_table(demo_data_path())
>>> seg = Segmenter(k=5, features=["Annual Income (k$)", "Spending Score (1-100)"],
...                 random_state=0).fit(df)
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
>>> _ = save_bundle(seg, folder, training=df)
>>> bundle = load_bundle(folder)
>>> bundle.meta["k"], bundle.segmenter.predict(df.head(3)).tolist()
(5, [3, 4, 3])
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import math
import os
import platform
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from custseg._version import __version__
from custseg.compiled import scoring_section
from custseg.errors import EXIT_DATA, CustsegError
from custseg.skops_file import ZIP_DATE as ZIP_DATE  # re-exported: the members' date
from custseg.skops_file import skops_dumps, skops_io, stable_zip

FORMAT = "custseg-bundle"
FORMAT_VERSION = 1
MODEL_FILE = "model.skops"
META_FILE = "bundle.json"
#: Largest ``bundle.json`` read (bytes); a larger one is refused before it is read.
MAX_META_BYTES = 10 * 2**20
#: Largest ``model.skops`` read (bytes), and largest total of its members once unpacked.
MAX_MODEL_BYTES = 2 * 2**30
#: Most members (arrays) a ``model.skops`` may hold.
MAX_MODEL_MEMBERS = 100_000
#: A plain file name: no folder part, no ``..``, not absolute, not hidden.
PLAIN_NAME = re.compile(r"(?!.*\.\.)[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_BINARY", 0))
#: Attributes of a fitted Segmenter that describe the training rows: not kept in a bundle.
TRAINING_ROWS = ("labels_", "distances_", "fit_mask_", "probabilities_", "profiles_")

#: The only types a bundle may contain besides those skops trusts by default.
TRUSTED_TYPES = sorted({
    "custseg.segmenter.Segmenter",
    "custseg.preprocess.PreprocessPlan",
    "custseg.preprocess.QuantileClipper",
    "custseg.preprocess.SelectiveLog1p",
    "custseg.preprocess.SignedLog",
    "custseg.preprocess.RobustFences",
    "custseg.preprocess.FeatureGroupWeights",
    "custseg.preprocess.ScaleBy",
    "custseg.roles.ColumnDecision",
    "custseg.roles.Derivation",
    "custseg.profiling.SegmentProfile",
    "custseg.schema.Roles",
    "custseg.selection.KScore",
    "custseg.selection.KSelection",
    "custseg.stability.Stability",
    "custseg.errors.Problem",
    "custseg.algorithms.hierarchical.WardClustering",
    "custseg.algorithms.gmm.GaussianMixtureSegments",
    "custseg.algorithms.kprototypes.KPrototypesSegments",
    "custseg.algorithms.density.DensitySegments",
    "custseg.algorithms.deep.AutoencoderEmbedding",
    "custseg.algorithms.deep.AutoencoderSegments",
    "kmodes.kprototypes.KPrototypes",
    "kmodes.kmodes.KModes",
    "kmodes.util.dissim.euclidean_dissim",
    "kmodes.util.dissim.matching_dissim",
    "hdbscan.hdbscan_.HDBSCAN",
    "hdbscan.prediction.PredictionData",
    "hdbscan.dist_metrics.EuclideanDistance",
    "joblib.memory.Memory",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    # the scikit-learn estimators custseg fits, named one by one (skops' default of every
    # scikit-learn estimator is not used: see skops_io)
    "sklearn.cluster._kmeans.KMeans",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.decomposition._pca.PCA",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.mixture._gaussian_mixture.GaussianMixture",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "custseg.algorithms.kmeans.FastKMeans",
    "numpy.dtype",
})


class BundleError(CustsegError, ValueError):
    """A model bundle is missing, foreign, tampered with, or of an unreadable version."""

    exit_code = EXIT_DATA
    reason = "bundle"


@dataclass
class Bundle:
    """A loaded bundle: the segmenter, ready to score, and the metadata."""

    segmenter: Any
    meta: dict[str, Any]
    path: Path




def _versions() -> dict[str, str]:
    import sklearn

    versions = {"custseg": __version__, "python": platform.python_version(),
                "scikit-learn": sklearn.__version__, "numpy": np.__version__,
                "pandas": pd.__version__}
    try:
        import skops

        versions["skops"] = skops.__version__
    except ImportError:  # pragma: no cover - skops is a dependency
        pass
    return versions


def _number(x: Any) -> Any:
    x = float(x)
    return round(x, 6) if np.isfinite(x) else None


def fingerprint(seg: Any, training: pd.DataFrame | None) -> dict[str, Any]:
    """Per-feature statistics of the training customers in original units (for drift)."""
    out: dict[str, Any] = {}
    if training is None:
        return out
    rows = training
    if hasattr(seg, "fit_mask_") and len(seg.fit_mask_) == len(training):
        rows = training.loc[seg.fit_mask_]
    typed = seg.typed_features(rows)
    for col in seg.plan_.numeric:
        v = typed[col].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if not len(v):
            continue
        out[col] = {"type": "numeric", "mean": _number(v.mean()), "std": _number(v.std()),
                    "deciles": [_number(q) for q in np.quantile(v, np.linspace(0, 1, 11))]}
    for col in seg.plan_.categorical:
        shares = typed[col].value_counts(normalize=True)
        out[col] = {"type": "categorical",
                    "shares": {str(k): _number(s) for k, s in shares.items()}}
    return out


def save_bundle(seg: Any, folder: str | os.PathLike[str], *,
                training: pd.DataFrame | None = None,
                summary: dict[str, Any] | None = None) -> Path:
    """Write ``seg`` (a fitted Segmenter) as a bundle in ``folder`` (created).

    ``training`` (the table it was fitted on) gives the data fingerprint; ``summary`` (the
    run's summary.json) the k selection and the input checksum.  The same segmenter and
    inputs give byte-identical files (see :func:`stable_zip`).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lean = copy.copy(seg)
    for attr in TRAINING_ROWS:
        lean.__dict__.pop(attr, None)
    blob = stable_zip(skops_dumps(lean))
    (folder / MODEL_FILE).write_bytes(blob)
    meta = _meta(seg, training, summary or {})
    meta.update(model_file=MODEL_FILE, model_sha256=hashlib.sha256(blob).hexdigest(),
                model_size=len(blob), trusted_types=TRUSTED_TYPES)
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                    "utf-8")
    return folder


def _meta(seg: Any, training: pd.DataFrame | None, summary: dict[str, Any]) -> dict[str, Any]:
    """The description part of ``bundle.json`` (everything but the model file's fields)."""
    segments = [{"id": s.id, "name": s.name, "size": s.size, "share": s.share,
                 "centre": {f: _number(s.mean[f]) for f in seg.plan_.numeric},
                 "recommendation": s.recommendation} for s in seg.segments_]
    reference = fingerprint(seg, training)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "custseg_version": __version__,
        "versions": _versions(),
        "algorithm": seg.algorithm,
        "k": int(seg.k_),
        "features": list(seg.features_),
        "feature_types": {f: ("categorical" if f in seg.plan_.categorical else "numeric")
                          for f in seg.features_},
        "id_column": seg.roles_.id_column,
        "preprocessing": seg.plan_.to_dict(),
        "segments": segments,
        "k_selection": {k: v for k, v in seg.k_selection_.to_dict().items() if k != "scores"},
        "training": {"input_sha256": summary.get("input_sha256"),
                     "n_customers": summary.get("n_customers"),
                     "features": reference},
    }
    section = scoring_section(seg, reference)
    if section is not None:
        meta["scoring"] = section
    return meta


# --- loading: every file opened is a regular file inside the bundle, every read bounded ---


def _bundle_folder(folder: Path) -> Path:
    """The bundle folder given, or the ``model/`` folder of the output folder given."""
    if not folder.is_dir():
        raise BundleError(f"{folder}: no such model folder (give the model/ folder of a "
                          "custseg segment output, or the output folder itself)")
    if (folder / "model").is_dir() and not os.path.lexists(folder / META_FILE):
        folder = folder / "model"
    if os.path.lexists(folder / META_FILE):
        return folder
    if (folder / "segmenter.joblib").exists():
        raise BundleError(f"{folder}: a model of format 0 (joblib, custseg 0.1 before "
                          "bundles). It is not loaded because loading a joblib file runs "
                          "code; segment the data again to get a bundle.")
    raise BundleError(f"{folder}: not a custseg model bundle ({META_FILE} is missing)")


@contextlib.contextmanager
def _open_regular(folder: Path, name: str, limit: int) -> Iterator[BinaryIO]:
    """``folder/name`` open for reading, refused unless it is a regular file of at most
    ``limit`` bytes inside ``folder`` (a link is followed only to a file in the folder).

    Opened non-blocking, so that a named pipe cannot hang the open; checked on the open
    file (``fstat``), so that the file checked is the file read.
    """
    path = folder / name
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(os.path.realpath(folder)):
        raise BundleError(f"{path}: a link to {real}, outside the bundle folder; a bundle's "
                          "files must be in its folder (copy the file there, do not link it)")
    try:
        fd = os.open(real, _OPEN_FLAGS)
    except FileNotFoundError:
        raise BundleError(f"{path}: missing; the bundle is incomplete") from None
    except OSError as exc:
        raise BundleError(f"{path}: cannot be opened ({exc.strerror})") from None
    try:
        _check_regular(path, os.fstat(fd), limit)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        yield fh


def _check_regular(path: Path, st: os.stat_result, limit: int) -> None:
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket")]
    if not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in kinds if test(st.st_mode)), "a special file")
        raise BundleError(f"{path}: {kind}, not a regular file; it is not read (a bundle "
                          "holds plain files: segment the data again to get one)")
    if st.st_size > limit:
        raise BundleError(f"{path}: {st.st_size:,} bytes, more than the {limit:,} custseg "
                          "reads from a bundle file; it is not read")


def _read_bounded(fh: BinaryIO, limit: int, path: Path) -> bytes:
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise BundleError(f"{path}: grew beyond {limit:,} bytes while being read; not read")
    return data


def _parse_json(raw: bytes, path: Path) -> dict[str, Any]:
    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not a JSON number")

    try:
        meta = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{path}: not valid JSON ({exc}); the bundle is damaged: segment "
                          "the data again") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{path}: not a custseg model bundle (a JSON object is expected, "
                          f"the file holds a JSON {type(meta).__name__})")
    return meta


def _check_format(meta: dict[str, Any], path: Path) -> None:
    if meta.get("format") != FORMAT:
        raise BundleError(f"{path}: not a custseg model bundle (format "
                          f"{str(meta.get('format'))[:100]!r})")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BundleError(f"{path}: unknown bundle format version {str(version)[:100]!r} "
                          f"(a whole number is expected; this custseg reads {FORMAT_VERSION})")
    if version > FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format {version} was written by custseg "
                          f"{str(meta.get('custseg_version'))[:100]}; this custseg "
                          f"({__version__}) reads format {FORMAT_VERSION}: upgrade custseg")


@functools.cache
def _validator() -> Any:
    import jsonschema

    text = resources.files("custseg").joinpath("data", "bundle.schema.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def _check_schema(meta: dict[str, Any], path: Path) -> None:
    """Refuse ``meta`` unless it follows ``bundle.schema.json``; every problem is listed."""
    errors = sorted(_validator().iter_errors(meta), key=lambda e: [str(p) for p in e.path])
    if not errors:
        return
    lines = [f"  - {'/'.join(map(str, e.absolute_path)) or '(top level)'}: {_problem(e)}"
             for e in errors[:10]]
    if len(errors) > 10:
        lines.append(f"  - and {len(errors) - 10} more")
    raise BundleError(f"{path}: not a valid custseg bundle of format {FORMAT_VERSION} "
                      f"({len(errors)} problem(s)); it was edited or damaged: segment the "
                      "data again to get a sound bundle\n" + "\n".join(lines))


def _problem(error: Any) -> str:
    """A schema error in words: a pattern's description rather than the pattern itself."""
    if error.validator == "pattern" and "description" in error.schema:
        return f"{repr(error.instance)[:100]} is not {error.schema['description']}"
    return error.message[:200]


def read_meta(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``bundle.json`` of a bundle, checked for format, version and schema.

    The model file is not read.  Raises :class:`BundleError` with the reason.
    """
    folder = _bundle_folder(Path(folder))
    meta_path = folder / META_FILE
    with _open_regular(folder, META_FILE, MAX_META_BYTES) as fh:
        raw = _read_bounded(fh, MAX_META_BYTES, meta_path)
    meta = _parse_json(raw, meta_path)
    _check_format(meta, meta_path)
    _check_schema(meta, meta_path)
    meta["_folder"] = str(folder)
    return meta


def _check_checksum(fh: BinaryIO, path: Path, meta: dict[str, Any]) -> None:
    h, size = hashlib.sha256(), 0
    while chunk := fh.read(1 << 20):
        size += len(chunk)
        if size > MAX_MODEL_BYTES:
            raise BundleError(f"{path}: grew beyond {MAX_MODEL_BYTES:,} bytes while being "
                              "read; not read")
        h.update(chunk)
    fh.seek(0)
    if meta.get("model_size", size) != size:
        raise BundleError(f"{path}: {size:,} bytes, but {META_FILE} says {meta['model_size']:,}; "
                          "the model file was changed or comes from another bundle, so it is "
                          "not loaded")
    if h.hexdigest() != meta["model_sha256"]:
        raise BundleError(f"{path}: its SHA-256 does not match {META_FILE}; the model "
                          "file was changed or comes from another bundle, so it is not loaded")


def _check_zip(fh: BinaryIO, path: Path) -> None:
    """Refuse a model file whose members or arrays declare more than it holds."""
    try:
        with zipfile.ZipFile(fh) as zf:
            _check_members(zf, path, nested=False)
    except BundleError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
            MemoryError) as exc:
        raise BundleError(f"{path}: not a readable skops model file ({exc}); the bundle is "
                          "damaged: segment the data again") from None
    finally:
        fh.seek(0)


def _check_members(zf: zipfile.ZipFile, path: Path, nested: bool) -> None:
    infos = zf.infolist()
    unpacked = sum(info.file_size for info in infos)
    if len(infos) > MAX_MODEL_MEMBERS or unpacked > MAX_MODEL_BYTES:
        raise BundleError(f"{path}: declares {len(infos):,} members of {unpacked:,} bytes, "
                          f"more than custseg loads ({MAX_MODEL_MEMBERS:,} members, "
                          f"{MAX_MODEL_BYTES:,} bytes); it is not loaded")
    for info in infos:
        if info.filename.endswith(".npy"):
            with zf.open(info) as member:
                _check_array(member, info, path)
        elif info.filename.endswith(".npz") and not nested:
            with zf.open(info) as member, zipfile.ZipFile(member) as inner:
                _check_members(inner, path, nested=True)


def _check_array(member: BinaryIO, info: zipfile.ZipInfo, path: Path) -> None:
    """Refuse an array whose header declares more bytes than its member holds."""
    from numpy.lib import format as npy

    version = npy.read_magic(member)
    read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
    shape, _, dtype = read_header(member)
    declared = math.prod(shape) * dtype.itemsize
    if declared > info.file_size:
        raise BundleError(f"{path}: member {info.filename} declares an array of "
                          f"{declared:,} bytes (shape {shape}) but holds {info.file_size:,}; "
                          "the model file is damaged or forged, so it is not loaded")


def _load_model(fh: BinaryIO, path: Path) -> Any:
    sio = skops_io()
    try:
        untrusted = sio.get_untrusted_types(file=fh)
    except Exception as exc:
        raise BundleError(f"{path}: not a readable skops file ({exc})") from None
    foreign = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if foreign:
        raise BundleError(f"{path}: contains types custseg does not load: {foreign}")
    fh.seek(0)
    try:
        return sio.load(fh, trusted=sorted(set(untrusted)))
    except Exception as exc:
        raise BundleError(f"{path}: cannot be loaded ({type(exc).__name__}: "
                          f"{str(exc)[:300]})") from None


def _model_name(meta: dict[str, Any], folder: Path) -> str:
    name = str(meta["model_file"])
    if not PLAIN_NAME.fullmatch(name):  # the schema says so too: kept as a second lock
        raise BundleError(f"{folder / META_FILE}: model_file {name[:100]!r} is not a plain "
                          "file name in the bundle folder; it is not followed")
    return name


def checked_meta(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``bundle.json`` of a bundle (:func:`read_meta`), with the model file checked against
    it (size and SHA-256) but not loaded: what scoring from the ``scoring`` section needs.
    Raises :class:`BundleError` with the reason."""
    meta = read_meta(folder)
    folder = Path(meta.pop("_folder"))
    name = _model_name(meta, folder)
    with _open_regular(folder, name, MAX_MODEL_BYTES) as fh:
        _check_checksum(fh, folder / name, meta)
    return meta


def load_bundle(folder: str | os.PathLike[str]) -> Bundle:
    """Load a bundle safely (see the module docstring); raises :class:`BundleError`."""
    meta = read_meta(folder)
    folder = Path(meta.pop("_folder"))
    name = _model_name(meta, folder)
    path = folder / name
    with _open_regular(folder, name, MAX_MODEL_BYTES) as fh:
        _check_checksum(fh, path, meta)
        _check_zip(fh, path)
        seg = _load_model(fh, path)
    if type(seg).__name__ != "Segmenter":
        raise BundleError(f"{path}: holds a {type(seg).__name__}, not a Segmenter")
    return Bundle(seg, meta, folder)
