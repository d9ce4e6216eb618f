"""The fast path loads the compiled K-Means kernels in the background only for a table large
enough to fit with them, and says so when Numba has to compile them (the first large run on
a machine), not when it loads them from its cache."""

from __future__ import annotations

import json
import subprocess
import sys

import numba

from custseg.algorithms.kmeans import NUMPY_MAX_ROWS, compilation_notice


def _jitted(module: str):
    def add_one(x):
        return x + 1

    add_one.__module__ = module
    return numba.njit(add_one)  # no cache: compiled in this process


def test_the_notice_comes_once_when_a_custseg_kernel_compiles() -> None:
    ours, theirs = _jitted("custseg.algorithms.probe"), _jitted("elsewhere")
    calls: list[int] = []
    with compilation_notice(lambda: calls.append(1)) as said:
        ours(1)
        ours(2.0)  # a second signature: compiled too, said once
    assert calls == [1] and said == [True]
    with compilation_notice(lambda: calls.append(2)) as said:
        ours(3)  # compiled already
        theirs(1)  # not custseg's
    assert calls == [1] and said == [False]
    ours(4.5j)  # outside the block: nothing listens
    assert calls == [1]


def test_the_warm_up_loads_the_compiled_kernels_of_a_large_table_only() -> None:
    code = (
        "import json\n"
        "from custseg.algorithms import _kmeans_kernels as kk\n"
        "from custseg.engines.local import _warm_up\n"
        "stages = []\n"
        "def loaded(): return len(kk._lloyd_chunks.signatures)\n"
        f"_warm_up({NUMPY_MAX_ROWS - 1}, lambda *a: stages.append(a))\n"
        "small = loaded()\n"
        f"_warm_up({NUMPY_MAX_ROWS}, lambda *a: stages.append(a))\n"
        "print(json.dumps([small, loaded(), stages]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    small, large, stages = json.loads(proc.stdout.strip().splitlines()[-1])
    assert small == 0 and large >= 1
    # the kernels come from the cache the test run compiled first (make test), or are
    # compiled here and said so, from start to end
    assert stages in ([], [["compile K-Means kernels (first large run only)", 0],
                           ["compile K-Means kernels (first large run only)", 1]])
