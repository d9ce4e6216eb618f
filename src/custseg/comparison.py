"""Comparing segmentation methods on the same customers, and recommending one.

Each method that fits the data (k-prototypes only with categorical columns; deep only with
PyTorch installed) is fitted with its own choice of k, then judged on:

* **stability**: bootstrap re-fits (20 subsamples of 80%, at most 5,000 customers), mean
  adjusted Rand index, and each segment's mean Jaccard (clusterboot); a segment below 0.6 is
  flagged as not to be trusted;
* **separation**: silhouette in one common space (the scaled numeric features plus one-hot
  categories), so that methods are compared on the same ruler; unassigned customers left out;
* **coverage**: the share of customers assigned to a segment (HDBSCAN leaves some out).

Ranking score (documented in docs/methods.md)::

    score = coverage * (0.6 * stability + 0.2 * max(silhouette, 0) + 0.2 * stable_share)

where ``stable_share`` is the share of customers in segments with Jaccard >= 0.6.  The
method with the highest score is recommended, with its reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from custseg.stability import UNSTABLE_JACCARD, bootstrap_stability

ProgressFn = Callable[[str, int, int], None]
WEIGHTS = {"stability": 0.6, "silhouette": 0.2, "stable_share": 0.2}


@dataclass
class MethodResult:
    """How one method did."""

    algorithm: str
    k: int
    score: float
    stability: float
    silhouette: float
    coverage: float
    stable_share: float
    jaccard: list[float]
    unstable_segments: list[str]
    segment_names: list[str]
    k_explanation: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Comparison:
    """The ranking of methods and the recommendation."""

    results: list[MethodResult]
    recommended: str
    reasons: list[str]
    skipped: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        from custseg.display import comparison_text

        return comparison_text(self)

    def _repr_html_(self) -> str:  # the card a notebook shows
        from custseg.display import comparison_html

        return comparison_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {"results": [r.to_dict() for r in self.results],
                "recommended": self.recommended, "reasons": self.reasons,
                "skipped": self.skipped, "weights": WEIGHTS}

    def table(self) -> pd.DataFrame:
        """One row a method, best first."""
        return pd.DataFrame([{k: v for k, v in r.to_dict().items()
                              if k not in ("jaccard", "segment_names", "unstable_segments")}
                             for r in self.results])


def applicable_methods(segmenter_options: dict[str, Any], has_categorical: bool) -> tuple[
        list[str], dict[str, str]]:
    """Methods that fit the data, and why the others are skipped: every registered method
    (:mod:`custseg.algorithms.registry`), those that run on any data first, then those for
    categorical data, then those that need an optional dependency."""
    from custseg.algorithms import registry
    from custseg.errors import UsageError

    specs = [registry.get(name) for name in registry.names()]
    specs.sort(key=lambda s: (s.requires is not None, s.capabilities.handles_categoricals))
    methods: list[str] = []
    skipped: dict[str, str] = {}
    for spec in specs:
        if spec.capabilities.handles_categoricals and not has_categorical:
            skipped[spec.name] = "no categorical column to segment on"
            continue
        try:
            if spec.requires is not None:
                spec.requires()
        except UsageError as exc:
            skipped[spec.name] = str(exc)
            continue
        methods.append(spec.name)
    return methods, skipped


def compare_methods(
    df: pd.DataFrame,
    *,
    methods: Sequence[str] | None = None,
    random_state: int = 0,
    n_resamples: int = 20,
    progress: ProgressFn | None = None,
    **segmenter_options: Any,
) -> Comparison:
    """Fit every applicable method on ``df`` and rank them (see the module docstring).

    ``segmenter_options`` go to every :class:`~custseg.Segmenter` (features, k, k_range...).
    The bootstrap re-fits run with one BLAS/OpenMP thread on small tables, as fitting does
    (:func:`~custseg.selection.limit_threads`): threads cost more than they bring on a few
    thousand customers, up to 10x on a busy machine.
    """
    from custseg.selection import limit_threads

    with limit_threads(len(df), segmenter_options.get("n_threads")):
        return _compare_methods(df, methods=methods, random_state=random_state,
                                n_resamples=n_resamples, progress=progress,
                                **segmenter_options)


def _compare_methods(
    df: pd.DataFrame,
    *,
    methods: Sequence[str] | None,
    random_state: int,
    n_resamples: int,
    progress: ProgressFn | None,
    **segmenter_options: Any,
) -> Comparison:
    """:func:`compare_methods`, its threads limited."""
    from custseg.segmenter import Segmenter

    base = Segmenter(random_state=random_state, **segmenter_options).fit(df)
    requested = segmenter_options.get("features")
    has_cat = (bool(base.roles_.categorical) if not requested
               else any(f in base.roles_.categorical for f in requested))
    chosen, skipped = applicable_methods(segmenter_options, has_cat)
    if methods is not None:  # only those asked for, among those that fit the data
        chosen = [m for m in methods if m in chosen]
    fit_mask, train, common = _common_space(df, random_state, has_cat, segmenter_options)
    results: list[MethodResult] = []
    for i, algorithm in enumerate(chosen):
        results.append(_judge(algorithm, df, fit_mask, train, common, random_state=random_state,
                              n_resamples=n_resamples, segmenter_options=segmenter_options))
        if progress:
            progress("methods", i + 1, len(chosen))
    results.sort(key=lambda r: (-r.score, chosen.index(r.algorithm)))
    return Comparison(results, results[0].algorithm, _reasons(results), skipped)


def _common_space(df: pd.DataFrame, random_state: int, has_cat: bool,
                  segmenter_options: dict[str, Any]
                  ) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """The space every method's silhouette is measured in: the scaled numeric features plus
    one-hot categories (with the rows fitted and their table)."""
    from custseg.preprocess import build_preprocessor
    from custseg.segmenter import Segmenter

    common_opts = {**segmenter_options, "use_categorical": has_cat}
    ref = Segmenter(random_state=random_state, k=2, **{k: v for k, v in common_opts.items()
                                                       if k not in ("k", "k_range")})
    ref.fit(df)
    train = df.iloc[np.flatnonzero(ref.fit_mask_)]
    plan = ref.plan_
    common = np.asarray(build_preprocessor(plan).fit_transform(ref.typed_features(train)),
                        dtype=float)
    return ref.fit_mask_, train, common


def _judge(algorithm: str, df: pd.DataFrame, fit_mask: np.ndarray, train: pd.DataFrame,
           common: np.ndarray, *, random_state: int, n_resamples: int,
           segmenter_options: dict[str, Any]) -> MethodResult:
    """Fit one method and measure its stability, separation and coverage."""
    import time

    from custseg.algorithms import registry
    from custseg.segmenter import Segmenter

    t0 = time.perf_counter()
    opts = dict(segmenter_options)
    if registry.get(algorithm).capabilities.handles_categoricals:
        opts["use_categorical"] = False  # it segments on the categories itself
    seg = Segmenter(algorithm=algorithm, random_state=random_state, **opts).fit(df)
    labels = seg.labels_[fit_mask]
    Z = np.asarray(seg.preprocessor_.transform(
        seg.typed_features(train)), dtype=float)
    options = seg._algorithm_options(Z)
    stab = bootstrap_stability(
        Z, labels, lambda Zb, sd, s=seg, o=options: s._refit_labels(Zb, sd, o),
        n_resamples=n_resamples, random_state=random_state)
    assigned = labels >= 0
    coverage = float(assigned.mean())
    sil = _silhouette(common, labels, assigned, random_state)
    sizes = np.bincount(labels[assigned], minlength=seg.k_)
    stable = np.array([j >= UNSTABLE_JACCARD for j in stab.jaccard])
    stable_share = float(sizes[stable].sum() / max(len(labels), 1))
    score = coverage * (WEIGHTS["stability"] * max(stab.mean_ari, 0)
                        + WEIGHTS["silhouette"] * max(sil if np.isfinite(sil) else 0, 0)
                        + WEIGHTS["stable_share"] * stable_share)
    names = [s.name for s in seg.segments_]
    return MethodResult(
        algorithm=algorithm, k=seg.k_, score=round(score, 4),
        stability=round(stab.mean_ari, 4), silhouette=round(sil, 4),
        coverage=round(coverage, 4), stable_share=round(stable_share, 4),
        jaccard=stab.jaccard, unstable_segments=[names[s] for s in stab.unstable_segments],
        segment_names=names, k_explanation=seg.k_selection_.explanation,
        seconds=round(time.perf_counter() - t0, 2))


def _silhouette(common: np.ndarray, labels: np.ndarray, assigned: np.ndarray,
                random_state: int) -> float:
    """Silhouette of the assigned customers in the common space (on at most 10,000 of
    them); NaN with fewer than two segments."""
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels[assigned])) <= 1:
        return float("nan")
    idx = np.flatnonzero(assigned)
    if len(idx) > 10_000:
        idx = np.sort(np.random.RandomState(random_state).choice(idx, 10_000,
                                                                 replace=False))
    return float(silhouette_score(common[idx], labels[idx]))


def _reasons(results: list[MethodResult]) -> list[str]:
    """Why the best method (``results[0]``) is recommended, and the next one."""
    best = results[0]
    reasons = [
        f"highest score {best.score:.2f} of {len(results)} methods",
        f"stability {best.stability:.2f} (mean adjusted Rand index between re-fits)",
        f"silhouette {best.silhouette:.2f} in the common space",
    ]
    if best.coverage < 1:
        reasons.append(f"leaves {1 - best.coverage:.0%} of customers unassigned")
    if best.unstable_segments:
        reasons.append("but segments not to be trusted (Jaccard < 0.6): "
                       + ", ".join(best.unstable_segments))
    else:
        reasons.append("every segment is stable (Jaccard >= 0.6)")
    if len(results) > 1:
        second = results[1]
        reasons.append(f"next: {second.algorithm} (score {second.score:.2f})")
    return reasons
