"""Segmentation methods beyond K-Means, each a scikit-learn compatible estimator.

================  ==========================================================================
``kmeans``        K-Means (k-means++), the default; see :mod:`custseg.selection`.
                  :class:`FastKMeans`: compiled (Numba) Lloyd kernel, k-means++ seeding on a
                  sample, split/merge repair; :func:`custseg.algorithms.kmeans.assign`.
``hierarchical``  :class:`WardClustering`: Ward agglomerative clustering, on K-Means
                  micro-clusters weighted by size above 20,000 customers; a dendrogram.
``gmm``           :class:`GaussianMixtureSegments`: Gaussian mixture, membership probabilities,
                  k also chosen by BIC.
``kprototypes``   :class:`KPrototypesSegments`: mixed numeric + categorical data (batch
                  k-prototypes with NumPy), categorical weight chosen automatically.
``hdbscan``       :class:`DensitySegments`: HDBSCAN (the ``hdbscan`` package); noise customers
                  are "Unassigned" (-1); chooses the number of segments itself.
``deep``          :class:`AutoencoderSegments`: an autoencoder embedding (PyTorch, the optional
                  extra ``custseg[deep]``) segmented with K-Means.
================  ==========================================================================

All take preprocessed (scaled) data; :class:`custseg.Segmenter` chooses k, profiles and names
the segments the same way whatever the method (``Segmenter(algorithm="gmm")``).  Each method
is described once in :mod:`custseg.algorithms.registry` (estimator factory, parameters,
capabilities); add a new one there.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from custseg.algorithms import registry

#: The built-in methods offered to users (:func:`custseg.algorithms.registry.names`).
ALGORITHMS = registry.names()

_CLASSES = {
    "FastKMeans": "custseg.algorithms.kmeans",
    "WardClustering": "custseg.algorithms.hierarchical",
    "GaussianMixtureSegments": "custseg.algorithms.gmm",
    "KPrototypesSegments": "custseg.algorithms.kprototypes",
    "DensitySegments": "custseg.algorithms.density",
    "AutoencoderSegments": "custseg.algorithms.deep",
}

__all__ = ["ALGORITHMS", "registry", *_CLASSES]


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        return getattr(import_module(_CLASSES[name]), name)
    raise AttributeError(f"module 'custseg.algorithms' has no attribute {name!r}")
