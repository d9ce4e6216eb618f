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

Loading checks, in order: the folder and both files exist; ``bundle.json`` is a custseg
bundle of a format version this custseg reads; ``model.skops`` has the SHA-256 written in
``bundle.json`` (a changed file is refused as tampered); every type in it is allowed.
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

import copy
import hashlib
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg import __version__
from custseg.errors import EXIT_DATA, CustsegError

FORMAT = "custseg-bundle"
FORMAT_VERSION = 1
MODEL_FILE = "model.skops"
META_FILE = "bundle.json"
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _skops_io() -> Any:
    """``skops.io``, imported without PyTorch.

    Importing ``skops.io`` walks every scikit-learn package to list the estimators it trusts,
    and the walk imports ``sklearn.externals.array_api_compat.torch``, hence PyTorch when it
    is installed: 2-4 s for nothing, since a bundle holds no PyTorch object (the deep
    method's weights are NumPy arrays).  While ``skops.io`` is imported, an import hook makes
    ``import torch`` fail (the walk skips packages that fail to import); it is removed
    afterwards, so that a later ``import torch`` works as usual.
    """
    if "skops.io" in sys.modules or "torch" in sys.modules:
        import skops.io

        return skops.io
    blocker = _NoTorch()
    sys.meta_path.insert(0, blocker)
    try:
        import skops.io
    finally:
        sys.meta_path.remove(blocker)
    return skops.io


class _NoTorch:
    """An import hook under which ``import torch`` fails (see :func:`_skops_io`)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is not imported while skops.io loads")
        return None


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
    typed = seg._typed_features(rows)
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
    run's summary.json) the k selection and the input checksum.
    """
    sio = _skops_io()

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lean = copy.copy(seg)
    for attr in TRAINING_ROWS:
        lean.__dict__.pop(attr, None)
    model_path = folder / MODEL_FILE
    sio.dump(lean, model_path)
    summary = summary or {}
    segments = [{"id": s.id, "name": s.name, "size": s.size, "share": s.share,
                 "centre": {f: _number(s.mean[f]) for f in seg.plan_.numeric},
                 "recommendation": s.recommendation} for s in seg.segments_]
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
                     "features": fingerprint(seg, training)},
        "model_file": MODEL_FILE,
        "model_sha256": _sha256(model_path),
        "trusted_types": TRUSTED_TYPES,
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                    "utf-8")
    return folder


def read_meta(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``bundle.json`` of a bundle, checked for format and version (the model is not read)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"{folder}: no such model folder (give the model/ folder of a "
                          "custseg segment output, or the output folder itself)")
    if (folder / "model").is_dir() and not (folder / META_FILE).exists():
        folder = folder / "model"
    meta_path = folder / META_FILE
    if not meta_path.exists():
        if (folder / "segmenter.joblib").exists():
            raise BundleError(f"{folder}: a model of format 0 (joblib, custseg 0.1 before "
                              "bundles). It is not loaded because loading a joblib file runs "
                              "code; segment the data again to get a bundle.")
        raise BundleError(f"{folder}: not a custseg model bundle ({META_FILE} is missing)")
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{meta_path}: not valid JSON ({exc}); the bundle is damaged") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BundleError(f"{meta_path}: not a custseg model bundle (format "
                          f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BundleError(f"{meta_path}: unknown bundle format version {version!r}")
    if version > FORMAT_VERSION:
        raise BundleError(f"{meta_path}: bundle format {version} was written by custseg "
                          f"{meta.get('custseg_version')}; this custseg ({__version__}) reads "
                          f"format {FORMAT_VERSION}: upgrade custseg")
    meta["_folder"] = str(folder)
    return meta


def load_bundle(folder: str | os.PathLike[str]) -> Bundle:
    """Load a bundle safely (see the module docstring); raises :class:`BundleError`."""
    sio = _skops_io()

    meta = read_meta(folder)
    folder = Path(meta.pop("_folder"))
    model_path = folder / str(meta.get("model_file", MODEL_FILE))
    if not model_path.exists():
        raise BundleError(f"{model_path}: missing; the bundle is incomplete")
    if _sha256(model_path) != meta.get("model_sha256"):
        raise BundleError(f"{model_path}: its SHA-256 does not match {META_FILE}; the model "
                          "file was changed or comes from another bundle, so it is not loaded")
    try:
        untrusted = sio.get_untrusted_types(file=model_path)
    except Exception as exc:
        raise BundleError(f"{model_path}: not a readable skops file ({exc})") from exc
    foreign = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if foreign:
        raise BundleError(f"{model_path}: contains types custseg does not load: {foreign}")
    try:
        seg = sio.load(model_path, trusted=sorted(set(untrusted)))
    except Exception as exc:
        raise BundleError(f"{model_path}: cannot be loaded ({type(exc).__name__}: {exc})"
                          ) from exc
    if type(seg).__name__ != "Segmenter":
        raise BundleError(f"{model_path}: holds a {type(seg).__name__}, not a Segmenter")
    return Bundle(seg, meta, folder)
