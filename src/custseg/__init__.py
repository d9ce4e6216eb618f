"""custseg: customer segmentation that works on your messy file the first time.

>>> from custseg import Segmenter, load_table, demo_data_path
>>> seg = Segmenter(random_state=0).fit(load_table(demo_data_path()))
>>> seg.k_ >= 2
True

In a notebook, one call segments a file, a pandas or Polars DataFrame or an Arrow table and
shows the segments as a card (see docs/notebook.md):

>>> import custseg
>>> result = custseg.segment(demo_data_path(), features=["Annual Income (k$)",
...                                                      "Spending Score (1-100)"])
>>> result.k
5

Heavy modules are imported on first use, so that ``import custseg`` and ``custseg --help``
stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from custseg._version import __version__

__all__ = [
    "CustsegError",
    "DataError",
    "KSelection",
    "Segmentation",
    "Segmenter",
    "UsageError",
    "__version__",
    "demo_data_path",
    "load_table",
    "read_table",
    "segment",
    "select_k",
]

_LAZY = {
    "Segmenter": "custseg.segmenter",
    "segment": "custseg.notebook",
    "Segmentation": "custseg.notebook",
    "KSelection": "custseg.selection",
    "select_k": "custseg.selection",
    "read_table": "custseg.io",
    "load_table": "custseg.io",
    "demo_data_path": "custseg.io",
    "CustsegError": "custseg.errors",
    "DataError": "custseg.errors",
    "UsageError": "custseg.errors",
}

if TYPE_CHECKING:
    from custseg.errors import CustsegError, DataError, UsageError
    from custseg.io import demo_data_path, load_table, read_table
    from custseg.notebook import Segmentation, segment
    from custseg.segmenter import Segmenter
    from custseg.selection import KSelection, select_k


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'custseg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
