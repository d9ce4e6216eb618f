"""Every docstring example in the package runs as a test."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import custseg

MODULES = sorted(m.name for m in pkgutil.walk_packages(custseg.__path__, "custseg.")
                 if m.name != "custseg.__main__")


@pytest.mark.parametrize("name", ["custseg", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
