"""Deep profiling: an autoencoder embedding segmented with K-Means (optional extra)."""

from __future__ import annotations

from custseg.errors import UsageError


def require_torch() -> None:
    """Raise a usage error with the install hint when PyTorch is missing."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise UsageError("--algorithm deep needs PyTorch: pip install 'custseg[deep]' "
                         "(torch==2.13.0, CPU build)", "--algorithm") from exc
    raise UsageError("--algorithm deep is not available yet", "--algorithm")
