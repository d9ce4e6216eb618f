"""The one place that knows the segmentation methods: name -> estimator, parameters, capabilities.

Nothing else in custseg compares a method's name to a string: the segmenter, k selection,
the outputs, the comparison of methods, the notebook card and the service ask
:func:`get` for the :class:`AlgorithmSpec` and act on its :class:`Capabilities`.

Where do I add a new algorithm?
-------------------------------
1. Write a scikit-learn style estimator (``fit(X)`` sets ``labels_``, ``predict(X)``),
   e.g. in ``custseg/algorithms/mymethod.py``; it receives the preprocessed (scaled) data.
2. Write a factory ``build(k, *, random_state, n_init="auto", n_samples=0, **options)``
   that returns it unfitted (``k`` is None for methods that find the number themselves).
3. ``register(AlgorithmSpec("mymethod", "My method", build, Capabilities(...)))`` below in
   :data:`_BUILT_IN` (or at run time: a test registers a toy one the same way).
4. Say what it can do in :class:`Capabilities`; the hooks (``space``, ``predict``,
   ``describe``...) are needed only when it differs from "labels + nearest centre".
5. ``Segmenter(algorithm="mymethod")`` and ``custseg segment --algorithm mymethod`` now
   choose k, profile and name its segments like any other (tests/unit/test_registry.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from sklearn.cluster import KMeans

__all__ = ["DEFAULT", "AlgorithmSpec", "Capabilities", "get", "kmeans_model", "names",
           "register", "unregister"]

#: The method used when none is named.
DEFAULT = "kmeans"

#: ``build(k, *, random_state, n_init, n_samples, **options) -> unfitted estimator``.
Factory = Callable[..., Any]


@dataclass(frozen=True)
class Capabilities:
    """What a method can do: the rest of custseg acts on these, never on its name."""

    #: Takes a number of segments, chosen among candidates (False: finds it itself).
    needs_k: bool = True
    #: Gives each customer a membership probability (``probabilities_``, a column).
    gives_probabilities: bool = False
    #: Segments on categorical columns itself (ordinal codes; ``categorical`` option).
    handles_categoricals: bool = False
    #: May leave customers unassigned (label -1, "Unassigned").
    has_noise_label: bool = False
    #: A fitted model is only its centres: customers go to the nearest one (K-Means); the
    #: model is re-fitted from a sample's centres, k may be chosen on principal components,
    #: the fast scoring path and the out-of-core engines apply.
    centres_only: bool = False
    #: Candidates are scored with the model's own ``inertia_`` (sampled silhouette, standard
    #: errors when the data are a sample).
    scores_inertia: bool = False
    #: One fit serves every k (a tree cut at k: ``labels_for(k)``, ``with_k(k)``).
    one_fit_for_all_k: bool = False
    #: Candidates k are fitted several at a time (threads).
    parallel_k: bool = False
    #: Customers with a low membership probability are counted in the summary.
    flags_unclear: bool = False
    #: Offered to users (``Segmenter(algorithm=...)``, ``--algorithm``); False: internal.
    public: bool = True


@dataclass(frozen=True)
class AlgorithmSpec:
    """A segmentation method: its name, estimator factory, parameters and capabilities.

    Hooks (all optional) say where a method differs from "labels, centres in the scaled
    space, ``predict``":

    ``requires()``
        raises :class:`~custseg.errors.UsageError` when an optional dependency is missing.
    ``space(model, Z)``
        the space its centres and distances live in (default: ``Z``).
    ``predict(model, Z) -> (labels, probability)``
        assignment of new customers (default: ``model.predict`` and ``predict_proba``).
    ``describe(model) -> dict``
        extra entries of ``summary.json``.
    ``embedding(seed)``, ``assemble(embedding, kmeans, E, seed)``
        methods that segment an embedding with K-Means: k is chosen on the embedding.
    ``explain(model, n) -> str``
        for methods that find k themselves: the sentence explaining the number found.
    ``refine(model, Z, seed) -> model``
        improves the fit of the k chosen, on the rows k was chosen on, before it is re-fitted
        on every customer (K-Means: the global repair step,
        :func:`custseg.algorithms.kmeans.repair_fit`).
    """

    name: str
    title: str
    build: Factory
    capabilities: Capabilities = field(default_factory=Capabilities)
    parameters: tuple[str, ...] = ()
    #: A few words for ``custseg segment --help`` (default: the title).
    description: str = ""
    requires: Callable[[], Any] | None = None
    space: Callable[[Any, np.ndarray], np.ndarray] | None = None
    predict: Callable[[Any, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    describe: Callable[[Any], dict[str, Any]] | None = None
    embedding: Callable[[int], Any] | None = None
    assemble: Callable[..., Any] | None = None
    explain: Callable[[Any, int], str] | None = None
    refine: Callable[[Any, np.ndarray, Any], Any] | None = None

    def make(self, k: int | None, *, random_state: Any = None, n_init: int | str = "auto",
             n_samples: int = 0, **options: Any) -> Any:
        """The unfitted estimator with ``k`` segments (ignored by methods that find k)."""
        unknown = sorted(set(options) - set(self.parameters))
        if unknown:
            raise TypeError(f"algorithm {self.name!r} takes no option {unknown}; it takes "
                            f"{list(self.parameters)}")
        return self.build(k if self.capabilities.needs_k else None,
                          random_state=random_state, n_init=n_init, n_samples=n_samples,
                          **options)


_REGISTRY: dict[str, AlgorithmSpec] = {}


def register(spec: AlgorithmSpec, *, replace: bool = False) -> AlgorithmSpec:
    """Add a method (``replace=True`` to redefine an existing name); returns ``spec``."""
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"algorithm {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a method registered at run time (tests)."""
    _REGISTRY.pop(name, None)


def names(*, internal: bool = False) -> tuple[str, ...]:
    """Names of the methods offered to users, in registration order (``internal=True``:
    also those only custseg uses, such as the fast path's ``fastkmeans``)."""
    return tuple(n for n, s in _REGISTRY.items() if internal or s.capabilities.public)


def describe_choices() -> str:
    """The methods offered, for a help text: ``kmeans (K-Means), ...``."""
    return ", ".join(f"{s.name} ({s.description or s.title})" for s in _REGISTRY.values()
                     if s.capabilities.public)


def get(name: str) -> AlgorithmSpec:
    """The method called ``name``.

    Raises
    ------
    UsageError
        No method has that name (``parameter="algorithm"``).
    """
    spec = _REGISTRY.get(name) if isinstance(name, str) else None
    if spec is None:
        from custseg.errors import UsageError

        raise UsageError(f"algorithm must be one of {list(names())}, got {name!r}",
                         "algorithm")
    return spec


def capabilities(name: str | None) -> Capabilities:
    """Capabilities of ``name``; those of an unknown or missing name are all False (an old
    summary or bundle naming a method this version does not have)."""
    spec = _REGISTRY.get(name) if isinstance(name, str) else None
    return spec.capabilities if spec is not None else _NONE


_NONE = Capabilities(needs_k=False, public=False)


# ---------------------------------------------------------------- built-in factories
def kmeans_model(k: int, random_state: Any, n_samples: int,
                 n_init: int | str = "auto") -> KMeans:
    """The K-Means used everywhere: k-means++, 10 initialisations up to 100,000 customers,
    3 above."""
    if n_init == "auto":
        n_init = 10 if n_samples <= 100_000 else 3
    from sklearn.cluster import KMeans  # imported when used: 0.1 s the fast path saves

    return KMeans(n_clusters=k, init="k-means++", n_init=n_init, random_state=random_state)


def _kmeans(k: int, *, random_state: Any, n_init: int | str = "auto", n_samples: int = 0
            ) -> KMeans:
    return kmeans_model(k, random_state, n_samples, n_init)


def _repair_kmeans(model: Any, Z: np.ndarray, seed: Any) -> Any:
    from custseg.algorithms.kmeans import repair_fit

    return repair_fit(model, Z, random_state=seed)


def _fastkmeans(k: int, *, random_state: Any, n_init: int | str = "auto", n_samples: int = 0,
                **options: Any) -> Any:
    from custseg.algorithms.kmeans import FastKMeans

    return FastKMeans(k, random_state=random_state, **options)


def _with_k(module: str, cls: str) -> Factory:
    """Factory of ``cls(k, random_state=..., **options)`` imported when first used."""

    def build(k: int, *, random_state: Any, n_init: int | str = "auto", n_samples: int = 0,
              **options: Any) -> Any:
        from importlib import import_module

        return getattr(import_module(module), cls)(k, random_state=random_state, **options)

    return build


def _hdbscan(k: None, *, random_state: Any, n_init: int | str = "auto", n_samples: int = 0,
             **options: Any) -> Any:
    from custseg.algorithms.density import DensitySegments

    return DensitySegments(**options)


def _require_torch() -> Any:
    from custseg.algorithms.deep import require_torch

    return require_torch()


def _embedding(seed: int) -> Any:
    from custseg.algorithms.deep import AutoencoderEmbedding

    return AutoencoderEmbedding(random_state=seed)


def _assemble_deep(embedding: Any, km: Any, E: np.ndarray, seed: int) -> Any:
    from custseg.algorithms.deep import AutoencoderSegments

    return AutoencoderSegments.from_parts(embedding, km, E, seed)


def _explain_density(model: Any, n: int) -> str:
    k, noise = model.n_clusters_, int((model.labels_ < 0).sum())
    return (f"HDBSCAN found {k} dense segment{'s' if k != 1 else ''} (smallest segment size "
            f"{model.min_cluster_size_}); {noise} customers ({noise / n:.0%}) lie in no dense "
            "region and are Unassigned.")


def _describe_hierarchy(model: Any) -> dict[str, Any]:
    return {"hierarchy": {"micro_clusters": bool(model.micro_),
                          "leaves": int(model.n_leaves_)}}


_BUILT_IN = (
    AlgorithmSpec("kmeans", "K-Means", _kmeans,
                  Capabilities(centres_only=True, scores_inertia=True), refine=_repair_kmeans),
    AlgorithmSpec("hierarchical", "hierarchical clustering (Ward)",
                  _with_k("custseg.algorithms.hierarchical", "WardClustering"),
                  Capabilities(one_fit_for_all_k=True),
                  parameters=("exact_limit", "micro_clusters"), description="Ward",
                  describe=_describe_hierarchy),
    AlgorithmSpec("gmm", "Gaussian mixture",
                  _with_k("custseg.algorithms.gmm", "GaussianMixtureSegments"),
                  Capabilities(gives_probabilities=True, flags_unclear=True),
                  parameters=("covariance_type", "n_init")),
    AlgorithmSpec("kprototypes", "k-prototypes",
                  _with_k("custseg.algorithms.kprototypes", "KPrototypesSegments"),
                  Capabilities(handles_categoricals=True),
                  parameters=("categorical", "gamma", "n_init"), description="mixed data",
                  space=lambda model, Z: model.scoring_matrix(Z),
                  describe=lambda model: {"categorical_weight": float(model.gamma_)}),
    AlgorithmSpec("hdbscan", "HDBSCAN", _hdbscan,
                  Capabilities(needs_k=False, gives_probabilities=True, has_noise_label=True),
                  parameters=("min_cluster_size", "min_samples"), description="density",
                  predict=lambda model, Z: model.approximate(Z),
                  explain=_explain_density),
    AlgorithmSpec("deep", "deep embedding + K-Means",
                  _with_k("custseg.algorithms.deep", "AutoencoderSegments"),
                  parameters=("embedding_dim", "epochs"),
                  description="autoencoder; needs custseg[deep]",
                  requires=_require_torch, space=lambda model, Z: model.embed(Z),
                  embedding=_embedding, assemble=_assemble_deep),
    AlgorithmSpec("fastkmeans", "K-Means (compiled, one start + repair)", _fastkmeans,
                  Capabilities(centres_only=True, scores_inertia=True, parallel_k=True,
                               public=False),
                  parameters=("init", "max_iter", "tol", "repair", "n_threads", "kernels")),
)
for _spec in _BUILT_IN:
    register(_spec)
