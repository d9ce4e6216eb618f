"""What each command's process skips at start-up (issue 14, typical sizes): the walks skops
and SciPy make when imported, for help texts and trusted types no custseg model uses.  Each
check runs in a fresh interpreter, since this one has imported both already."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _python(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_skops_loads_without_listing_scipy_ufuncs_and_still_round_trips() -> None:
    out = _python("""
        import numpy as np
        from sklearn.preprocessing import StandardScaler
        from custseg.skops_file import skops_io
        sio = skops_io()
        import skops.io._trusted_types as tt, skops.io._utils as u
        assert tt.SCIPY_UFUNC_TYPE_NAMES == [] and len(tt.NUMPY_UFUNC_TYPE_NAMES) > 50
        assert u.get_public_type_names.__name__ == "get_public_type_names"  # put back
        import scipy.special
        assert u.get_public_type_names(scipy.special, np.ufunc)  # the original lists them
        model = StandardScaler().fit(np.arange(12.0).reshape(6, 2))
        back = sio.loads(sio.dumps(model), trusted=sio.get_untrusted_types(
            data=sio.dumps(model)))
        print(np.allclose(back.mean_, model.mean_))
    """)
    assert out.strip() == "True"


def test_the_command_keeps_scipy_docstrings_as_written() -> None:
    out = _python("""
        import inspect
        from custseg.cli import plain_scipy_docstrings
        plain_scipy_docstrings()
        import scipy.stats, sklearn.cluster
        doc = scipy.stats.ttest_ind.__doc__
        assert doc.startswith("Calculate the T-test"), doc[:200]
        assert "Array API Standard Support" not in doc
        print(round(float(scipy.stats.ttest_ind([1, 2, 3, 4], [3, 4, 5, 7]).pvalue), 4))
    """)
    assert out.strip() == "0.0803"


def test_importing_custseg_as_a_library_leaves_scipy_alone() -> None:
    out = _python("""
        import custseg, custseg.cli, scipy.stats
        from scipy._lib import _array_api, _docscrape
        print(_array_api.FunctionDoc is _docscrape.FunctionDoc,
              "Array API Standard Support" in scipy.stats.ttest_ind.__doc__)
    """)
    assert out.split() == ["True", "True"]


def test_the_command_collects_garbage_less_often_and_the_library_leaves_it_alone() -> None:
    out = _python("""
        import atexit, gc, sys
        import custseg, custseg.cli
        print(gc.get_threshold() == (700, 10, 10), flush=True)  # imported: Python's own
        atexit.register(lambda: print(gc.get_threshold() == custseg.cli.GC_THRESHOLDS,
                                      flush=True))
        sys.argv = ["custseg", "--help"]
        custseg.cli.entry()
    """)
    assert out.split()[0] == "True" and out.split()[-1] == "True", out
