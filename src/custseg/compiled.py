"""A K-Means model's numeric preprocessing as plain data, and as one NumPy function.

Scoring a K-Means model on numeric features needs no fitted scikit-learn object: each fitted
step of its numeric pipeline (imputation, clipping, logarithms, group weights, scaling) is a
few arrays.  :func:`numeric_steps` reads them into plain lists (``bundle.json`` holds them,
in its ``scoring`` section: see :mod:`custseg.bundle`), :func:`compile_steps` turns them into
one NumPy function of a float matrix, and :func:`checked_steps` keeps them only when that
function gives exactly what the model's own preprocessing gives on probe customers built
from the training deciles.  Both scoring paths use it: the service, for a few customers a
request, and ``custseg score``, which then neither imports scikit-learn nor loads the model
file (half of its time on a small file).

Examples
--------
>>> steps = [{"step": "impute", "fill": [2.0, 10.0]},
...          {"step": "affine", "shift": [2.0, 10.0], "scale": [1.0, 5.0]}]
>>> compile_steps(steps)(np.array([[3.0, np.nan], [1.0, 20.0]]))
array([[ 1.,  0.],
       [-1.,  2.]])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger("custseg.compiled")

#: A function of a float matrix (rows: customers, columns: features).
ArrayFn = Callable[[np.ndarray], np.ndarray]
#: One fitted step as plain data: ``{"step": kind, ...its arrays as lists}``.
Step = dict[str, Any]
#: The kinds of :data:`Step`.
KINDS = ("impute", "clip", "log1p", "signed_log", "weights", "affine", "minmax")


def _floats(x: Any) -> list[float]:
    return [float(v) for v in np.asarray(x, dtype=np.float64).ravel()]


def _bools(x: Any) -> list[bool]:
    return [bool(v) for v in np.asarray(x, dtype=bool).ravel()]


def _imputer(step: Any) -> Step | None:
    if getattr(step, "add_indicator", False):
        return None
    return {"step": "impute", "fill": _floats(step.statistics_)}


def _bounds(x: Any) -> list[float | None]:
    """Clipping bounds, None where there is none (an infinite bound: JSON has no infinity)."""
    return [None if math.isinf(v) else v for v in _floats(x)]


def _clipper(step: Any) -> Step:
    return {"step": "clip", "lower": _bounds(step.lower_), "upper": _bounds(step.upper_)}


def _log1p(step: Any) -> Step:
    return {"step": "log1p", "mask": _bools(step.mask_)}


def _signed_log(step: Any) -> Step:
    mask = np.asarray(step.mask_, dtype=bool)
    return {"step": "signed_log", "mask": _bools(mask),
            "scale": _floats(np.asarray(step.scale_, dtype=np.float64)[mask])}


def _weights(step: Any) -> Step:
    return {"step": "weights", "weights": _floats(step.weights_)}


def _affine(shift: Any, scale: Any) -> Step:
    return {"step": "affine", "shift": None if shift is None else _floats(shift),
            "scale": None if scale is None else _floats(scale)}


def _standard(step: Any) -> Step:
    return _affine(step.mean_ if step.with_mean else None,
                   step.scale_ if step.with_std else None)


def _robust(step: Any) -> Step:
    return _affine(step.center_ if step.with_centering else None,
                   step.scale_ if step.with_scaling else None)


def _minmax(step: Any) -> Step:
    return {"step": "minmax", "scale": _floats(step.scale_), "shift": _floats(step.min_),
            "clip": _floats(step.feature_range) if step.clip else None}


def _step_readers() -> list[tuple[Any, Callable[[Any], Step | None]]]:
    """The fitted steps :func:`numeric_steps` knows, each with the function reading it."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    from custseg.preprocess import (
        FeatureGroupWeights,
        QuantileClipper,
        RobustFences,
        SelectiveLog1p,
        SignedLog,
    )

    return [(SimpleImputer, _imputer), ((QuantileClipper, RobustFences), _clipper),
            (SelectiveLog1p, _log1p), (SignedLog, _signed_log),
            (FeatureGroupWeights, _weights), (StandardScaler, _standard),
            (RobustScaler, _robust), (MinMaxScaler, _minmax)]


def numeric_steps(preprocessor: Any) -> list[Step] | None:
    """The fitted numeric pipeline of ``preprocessor`` (a fitted
    :func:`custseg.preprocess.build_preprocessor`) as plain data, one :data:`Step` per
    fitted step; None when a step is of a kind it does not know, or holds a value that is
    not a finite number (JSON has none)."""
    try:
        pipe = preprocessor.named_transformers_["numeric"]
    except (AttributeError, KeyError):
        return None
    readers = _step_readers()
    steps: list[Step] = []
    for _, fitted in pipe.steps:
        if fitted is None or (isinstance(fitted, str) and fitted == "passthrough"):
            continue
        read = next((r for kinds, r in readers if isinstance(fitted, kinds)), None)
        step = read(fitted) if read is not None else None
        if step is None:
            return None
        steps.append(step)
    values = [v for s in steps for k, vs in s.items() if k != "step" and vs is not None
              for v in vs]
    if not all(v is None or isinstance(v, bool) or math.isfinite(v) for v in values):
        return None
    return steps


def _array(step: Step, key: str) -> np.ndarray:
    return np.asarray(step[key], dtype=np.float64)


def _apply(step: Step, Z: np.ndarray) -> np.ndarray:
    """One step of :func:`compile_steps` on ``Z`` (a fresh float64 matrix it may change)."""
    kind = step["step"]
    if kind == "impute":
        return np.where(np.isnan(Z), _array(step, "fill"), Z)
    if kind == "clip":
        lower = np.array([-np.inf if v is None else v for v in step["lower"]], np.float64)
        upper = np.array([np.inf if v is None else v for v in step["upper"]], np.float64)
        clipped: np.ndarray = np.clip(Z, lower, upper)
        return clipped
    if kind in ("log1p", "signed_log"):
        mask = np.asarray(step["mask"], dtype=bool)
        Z = Z.copy()
        Z[:, mask] = (np.log1p(np.clip(Z[:, mask], 0, None)) if kind == "log1p"
                      else np.arcsinh(Z[:, mask] / _array(step, "scale")))
        return Z
    if kind == "weights":
        weighted: np.ndarray = Z * _array(step, "weights")
        return weighted
    if kind == "affine":
        if step["shift"] is not None:
            Z = Z - _array(step, "shift")
        if step["scale"] is not None:
            Z = Z / _array(step, "scale")
        return Z
    if kind == "minmax":
        Z = Z * _array(step, "scale") + _array(step, "shift")
        bounds = step["clip"]
        return np.clip(Z, bounds[0], bounds[1]) if bounds is not None else Z
    raise ValueError(f"unknown preprocessing step {kind!r}")


def _check_kinds(steps: Sequence[Step]) -> None:
    unknown = [s.get("step") for s in steps if s.get("step") not in KINDS]
    if unknown:
        raise ValueError(f"unknown preprocessing steps {unknown}; known: {list(KINDS)}")


def compile_steps(steps: Sequence[Step]) -> ArrayFn:
    """``steps`` (:func:`numeric_steps`) as one function of a float matrix (a column per
    numeric feature, NaN: missing) giving the rows in the space of the model's centres."""
    _check_kinds(steps)  # here, not on the first customer

    def transform(X: np.ndarray) -> np.ndarray:
        Z = np.array(X, dtype=np.float64, copy=True)
        for step in steps:
            Z = _apply(step, Z)
        return Z

    return transform


def check_section(section: Mapping[str, Any], k: int) -> None:
    """Refuse a ``scoring`` section (:func:`scoring_section`) whose arrays do not fit its
    features and the model's ``k`` segments: ValueError saying which."""
    n = len(section["numeric"])
    _check_kinds(section["steps"])
    for i, step in enumerate(section["steps"]):
        mask = step.get("mask")
        for key, value in step.items():
            want = (2 if key == "clip" else sum(mask) if key == "scale" and mask is not None
                    else n)
            if key != "step" and value is not None and len(value) != want:
                raise ValueError(f"step {i + 1} ({step['step']}): {key} has {len(value)} "
                                 f"values for {want}")
    shape = (len(section["centres"]), *{len(c) for c in section["centres"]})
    if shape != (k, n):
        raise ValueError(f"the centres are {' x '.join(map(str, shape))}, not {k} x {n} "
                         "(segments x numeric features)")


def probe_rows(numeric: Sequence[str], reference: Mapping[str, Any]) -> pd.DataFrame:
    """Customers from the training deciles (``reference``: the bundle's
    ``training.features``), shuffled across features; one with every value negated, one
    with each feature missing."""
    rows = []
    for i in range(11):
        for shift in (0, 3, 7):
            row = {}
            for j, f in enumerate(numeric):
                dec = (reference.get(f) or {}).get("deciles") or [0.0] * 11
                row[f] = float(dec[(i + shift * j) % 11])
            rows.append(row)
    rows.append({f: -v for f, v in rows[-1].items()})
    for f in numeric:
        rows.append({**rows[5], f: np.nan})
    return pd.DataFrame(rows, columns=list(numeric))


def checked_steps(seg: Any, reference: Mapping[str, Any], *,
                  typed: bool = False) -> list[Step] | None:
    """:func:`numeric_steps` of the fitted Segmenter ``seg`` when their function gives
    exactly what ``seg``'s own preprocessing gives on :func:`probe_rows`; else None (and
    None when ``seg`` is not K-Means on numeric features only).

    ``typed``: the function is given the features as the model reads them
    (:meth:`Segmenter.typed_features`: ordered levels as their ranks, derived features
    computed, junk refused), as ``custseg score`` gives them; by default, the numbers as
    they come (the service's few customers), which a model reading its features otherwise
    (a rank of -2 is no level: missing, then imputed) does not pass."""
    if getattr(seg, "model_", 1) is not None or list(seg.plan_.categorical):
        return None
    try:
        steps = numeric_steps(seg.preprocessor_)
        if steps is None:
            return None
        numeric = list(seg.plan_.numeric)
        probes = probe_rows(numeric, reference)
        read = seg.typed_features(probes)
        want = np.asarray(seg.preprocessor_.transform(read), dtype=np.float64)
        given = read[numeric] if typed else probes
        got = compile_steps(steps)(given.to_numpy(dtype=np.float64, na_value=np.nan))
    except Exception as exc:  # anything unexpected: the model's own path
        log.info("fast scoring path not used: %s", exc)
        return None
    if want.shape != got.shape or not np.array_equal(want, got, equal_nan=True):
        log.info("fast scoring path not used: it differs from the model's preprocessing")
        return None
    return steps


def scoring_section(seg: Any, reference: Mapping[str, Any]) -> dict[str, Any] | None:
    """What scoring ``seg`` needs besides the features and segment names of
    ``bundle.json``: the numeric features, the derived ones, the junk accepted, the
    :func:`checked_steps` and the centres in their space; None when it needs the model."""
    steps = checked_steps(seg, reference, typed=True)
    if steps is None:
        return None
    centres = np.asarray(seg.cluster_centers_, dtype=np.float64)
    if not np.isfinite(centres).all():
        return None
    return {"numeric": list(seg.plan_.numeric),
            "derivations": [d.to_dict() for d in getattr(seg, "derivations_", [])],
            "max_junk": float(seg.max_junk), "steps": steps,
            "centres": [_floats(c) for c in centres]}
