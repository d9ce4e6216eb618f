"""Deep profiling (autoencoder + K-Means): needs the optional extra custseg[deep]."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score as ari

from custseg import Segmenter
from custseg.errors import UsageError


def correlated(seed=0, n=600, k=3, d=12):
    """k well-separated segments seen through d correlated features."""
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(k), n // k)
    z = np.eye(k)[y] * 4 + rng.normal(0, 0.4, (n, k))
    W = rng.normal(0, 1, (k, d))
    X = z @ W + rng.normal(0, 0.3, (n, d))
    return pd.DataFrame(X, columns=[f"m{i}" for i in range(d)]), y


def test_missing_torch_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    df, _ = correlated()
    with pytest.raises(UsageError, match=r"custseg\[deep\]"):
        Segmenter(algorithm="deep").fit(df)


def test_deep_recovers_segments_and_is_deterministic():
    pytest.importorskip("torch")
    df, y = correlated()
    a = Segmenter(algorithm="deep", k_range=(2, 6), log="none", random_state=0).fit(df)
    b = Segmenter(algorithm="deep", k_range=(2, 6), log="none", random_state=0).fit(df)
    assert a.k_ == 3
    assert ari(y, a.labels_) >= 0.9
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(df), a.labels_)
    from custseg.algorithms.deep import default_embedding_dim

    # near-duplicate columns (|r| > 0.95) are dropped first (custseg.roles)
    assert a.model_.embedding_.embedding_dim_ == default_embedding_dim(len(a.features_))
    losses = a.model_.embedding_.loss_curve_
    assert losses[-1] < losses[0] / 2  # the autoencoder learned to reconstruct
    # profiles are in the original features, not the embedding
    assert set(a.segments_[0].mean) == set(df.columns)
