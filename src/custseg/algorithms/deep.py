"""Deep profiling: an autoencoder learns a low-dimensional embedding of the (scaled, one-hot)
features; K-Means segments the embedding.  Profiles stay in the original features.

PyTorch is an optional extra (``pip install 'custseg[deep]'``, CPU build), imported only
when this method is used.  Training is deterministic for a given ``random_state``: seeded
initialisation and batch order, on the CPU, one thread.  Every operation it runs (linear
layers, ReLU, the mean squared error, Adam) has one implementation on the CPU, so
``torch.use_deterministic_algorithms`` is not called: it changes nothing here, and its first
call imports ``torch._inductor`` (2 s per process on a 2-core machine).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin
from sklearn.utils.validation import check_is_fitted, validate_data

from custseg.errors import MissingDependencyError

INSTALL_HINT = ("`algorithm='deep'` needs PyTorch: pip install 'custseg[deep]' "
                "(torch==2.13.0, CPU build)")


def require_torch() -> Any:
    """Import torch, or raise :class:`~custseg.errors.MissingDependencyError` (a usage
    error) with the install hint."""
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError(INSTALL_HINT, "algorithm",
                                     hint="pip install 'custseg[deep]'") from exc
    return torch


def default_embedding_dim(n_features: int) -> int:
    """Half the features, between 2 and 8.

    >>> default_embedding_dim(30), default_embedding_dim(3)
    (8, 2)
    """
    return int(np.clip(n_features // 2, 2, 8))


class AutoencoderEmbedding(TransformerMixin, BaseEstimator):
    """A small fully connected autoencoder; ``transform`` gives the embedding.

    Parameters
    ----------
    embedding_dim : int, optional
        Size of the embedding (default :func:`default_embedding_dim`).
    hidden : int, default=64
        Width of the hidden layers (encoder ``d -> hidden -> hidden/2 -> embedding``,
        decoder mirrored).
    epochs : int, default=60
    batch_size : int, default=256
    learning_rate : float, default=1e-3
    random_state : int or None

    Attributes
    ----------
    encoder_, decoder_ : torch modules; loss_curve_ : mean reconstruction loss per epoch.
    """

    def __init__(self, embedding_dim: int | None = None, *, hidden: int = 64, epochs: int = 60,
                 batch_size: int = 256, learning_rate: float = 1e-3,
                 random_state: Any = None) -> None:
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> AutoencoderEmbedding:
        torch = require_torch()
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
        seed = 0 if self.random_state is None else int(self.random_state) % (2**31)
        d = X.shape[1]
        e = self.embedding_dim or default_embedding_dim(d)
        h = max(int(self.hidden), 2 * e)
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            torch.manual_seed(seed)
            nn = torch.nn
            self.encoder_ = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h // 2),
                                          nn.ReLU(), nn.Linear(h // 2, e))
            self.decoder_ = nn.Sequential(nn.Linear(e, h // 2), nn.ReLU(), nn.Linear(h // 2, h),
                                          nn.ReLU(), nn.Linear(h, d))
            params = list(self.encoder_.parameters()) + list(self.decoder_.parameters())
            optimiser = torch.optim.Adam(params, lr=self.learning_rate)
            data = torch.from_numpy(np.ascontiguousarray(X))
            generator = torch.Generator().manual_seed(seed)
            batch = max(1, min(int(self.batch_size), len(data)))
            self.loss_curve_ = []
            for _ in range(int(self.epochs)):
                order = torch.randperm(len(data), generator=generator)
                total = 0.0
                for start in range(0, len(data), batch):
                    xb = data[order[start:start + batch]]
                    optimiser.zero_grad()
                    loss = torch.mean((self.decoder_(self.encoder_(xb)) - xb) ** 2)
                    loss.backward()
                    optimiser.step()
                    total += loss.item() * len(xb)
                self.loss_curve_.append(total / len(data))
        finally:
            torch.set_num_threads(previous_threads)
        self.embedding_dim_ = e
        return self

    def __getstate__(self) -> dict[str, Any]:
        """The networks as plain arrays (weights by name), so that a model bundle holds no
        torch object and loads without executing code."""
        state = self.__dict__.copy()
        for name in ("encoder_", "decoder_"):
            if name in state:
                state[name] = {k: v.detach().numpy().copy()
                               for k, v in state[name].state_dict().items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if isinstance(state.get("encoder_"), dict):
            torch = require_torch()
            nn = torch.nn
            d, e = self.n_features_in_, self.embedding_dim_
            h = max(int(self.hidden), 2 * e)
            encoder = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h // 2), nn.ReLU(),
                                    nn.Linear(h // 2, e))
            decoder = nn.Sequential(nn.Linear(e, h // 2), nn.ReLU(), nn.Linear(h // 2, h),
                                    nn.ReLU(), nn.Linear(h, d))
            for module, weights in ((encoder, state["encoder_"]), (decoder, state["decoder_"])):
                module.load_state_dict({k: torch.from_numpy(np.asarray(v))
                                        for k, v in weights.items()})
            self.encoder_, self.decoder_ = encoder, decoder

    def transform(self, X: Any) -> np.ndarray:
        torch = require_torch()
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        with torch.no_grad():
            return self.encoder_(torch.from_numpy(np.ascontiguousarray(X))).numpy().astype(
                np.float64)


class AutoencoderSegments(ClusterMixin, BaseEstimator):
    """Autoencoder embedding + K-Means.

    Examples
    --------
    >>> import numpy as np  # doctest: +SKIP
    >>> rng = np.random.RandomState(0)  # doctest: +SKIP
    >>> X = np.r_[rng.normal(0, 1, (100, 6)), rng.normal(6, 1, (100, 6))]  # doctest: +SKIP
    >>> seg = AutoencoderSegments(n_clusters=2, random_state=0).fit(X)  # doctest: +SKIP
    >>> sorted(np.bincount(seg.labels_).tolist())  # doctest: +SKIP
    [100, 100]
    """

    def __init__(self, n_clusters: int = 3, *, embedding_dim: int | None = None,
                 epochs: int = 60, random_state: Any = None) -> None:
        self.n_clusters = n_clusters
        self.embedding_dim = embedding_dim
        self.epochs = epochs
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> AutoencoderSegments:
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        embedding = AutoencoderEmbedding(self.embedding_dim, epochs=self.epochs,
                                         random_state=self.random_state).fit(X)
        E = embedding.transform(X)
        km = KMeans(self.n_clusters, n_init=10, random_state=self.random_state).fit(E)
        return self._set(embedding, km, E)

    def _set(self, embedding: AutoencoderEmbedding, km: KMeans,
             E: np.ndarray) -> AutoencoderSegments:
        self.embedding_ = embedding
        self.kmeans_ = km
        self.labels_ = km.labels_.astype(np.int64)
        self.cluster_centers_ = km.cluster_centers_
        self.n_clusters = km.n_clusters
        return self

    @classmethod
    def from_parts(cls, embedding: AutoencoderEmbedding, km: KMeans, E: np.ndarray,
                   random_state: Any = None) -> AutoencoderSegments:
        """Assemble from a fitted embedding and a K-Means fitted on its output."""
        obj = cls(km.n_clusters, embedding_dim=embedding.embedding_dim_,
                  epochs=embedding.epochs, random_state=random_state)
        obj.n_features_in_ = embedding.n_features_in_
        return obj._set(embedding, km, E)

    def embed(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.embedding_.transform(X)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return pairwise_distances_argmin(self.embed(X), self.cluster_centers_)
