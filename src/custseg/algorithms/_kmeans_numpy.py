"""NumPy kernels behind :mod:`custseg.algorithms.kmeans` for tables that fit in a moment
(private; the same four functions and signatures as :mod:`custseg.algorithms._kmeans_kernels`).

Below :data:`custseg.algorithms.kmeans.NUMPY_MAX_ROWS` rows the estimator runs these instead
of the compiled ones: a Lloyd pass over a few thousand customers takes well under a
millisecond either way, and Numba's first compilation (tens of seconds on a new machine)
would cost more than the whole run.  The choice depends on the number of rows only, so the
same data and seed always give the same centres.

Nearest centres come from ``|x - m|² - 2 (x - m)·(c - m) + |c - m|²`` in float64 (``m`` the
mean of the centres, as the compiled kernels do), one matrix product per block of rows; the
squared distance a row reports is then recomputed directly, ``sum((x - c)**2)`` in the data's
dtype.  Per-cluster sums and counts are weighted ``bincount`` s in float64, reduced per chunk
of ``chunk`` rows like the compiled kernels.

Arithmetic on blocks is written in place (``Z -= m``, ``out=``) rather than as expressions on
temporaries (``X.astype(float) - m``): NumPy's elision of a large temporary first walks the C
stack (``backtrace``) to prove it safe, which cost about 1.4 ms per operation on a 1.3 MB
block on the 2-core test VM, ten times the arithmetic.  The values are the same bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Rows per block of a distance matrix (``BLOCK x k`` float64 at a time).
BLOCK = 8192


def _nearest(Xb: np.ndarray, C: np.ndarray, m: np.ndarray, cn: np.ndarray,
             second: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(labels, nearest squared distance, second-nearest or None) of a block of rows."""
    Z = Xb.astype(np.float64)
    Z -= m
    D = Z @ C.T
    D *= -2.0
    D += (Z * Z).sum(axis=1)[:, None]  # |z|^2 - 2 z.c, as |z|^2 + (-2 z.c)
    D += cn[None, :]
    np.maximum(D, 0.0, out=D)
    lab = np.argmin(D, axis=1)
    best = D[np.arange(len(D)), lab]
    if not second:
        return lab, best, None
    if D.shape[1] < 2:
        return lab, best, np.full(len(D), np.inf)
    D[np.arange(len(D)), lab] = np.inf
    return lab, best, D.min(axis=1)


def _prepared(C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres shifted by their mean, the mean, and their squared norms."""
    m = C.mean(axis=0)
    Cs = C - m
    return Cs, m, (Cs * Cs).sum(axis=1)


def _direct(Xb: np.ndarray, C: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """``sum((x - c)**2)`` of each row to its centre, in the rows' dtype."""
    diff = np.subtract(Xb, C.astype(Xb.dtype)[lab])
    np.multiply(diff, diff, out=diff)
    return diff.sum(axis=1)


def lloyd_pass(X: np.ndarray, w: np.ndarray, C: np.ndarray, chunk: int, sums: np.ndarray,
               counts: np.ndarray, inertia: np.ndarray, zero: Any) -> None:
    """One Lloyd pass, written per chunk into ``sums``, ``counts`` and ``inertia`` (see
    :func:`custseg.algorithms._kmeans_kernels.lloyd_pass`)."""
    n, d = X.shape
    k = C.shape[0]
    Cs, m, cn = _prepared(C)
    for ch in range((n + chunk - 1) // chunk):
        s = np.zeros((k, d))
        cnt = np.zeros(k)
        tot = 0.0
        for b0 in range(ch * chunk, min(n, (ch + 1) * chunk), BLOCK):
            Xb = X[b0:min(b0 + BLOCK, (ch + 1) * chunk, n)]
            wb = np.ones(len(Xb)) if len(w) == 0 else w[b0:b0 + len(Xb)].astype(np.float64)
            lab, _, _ = _nearest(Xb, Cs, m, cn)
            sq = _direct(Xb, C, lab).astype(np.float64)
            cnt += np.bincount(lab, weights=wb, minlength=k)
            Xw = Xb.astype(np.float64)
            Xw *= wb[:, None]
            for j in range(d):
                s[:, j] += np.bincount(lab, weights=Xw[:, j], minlength=k)
            tot += float(wb @ sq)
        sums[ch] = s
        counts[ch] = cnt
        inertia[ch] = tot


def assign_pass(X: np.ndarray, C: np.ndarray, chunk: int, labels: np.ndarray,
                sqdist: np.ndarray) -> None:
    """Nearest centre of every row and its squared distance (see
    :func:`custseg.algorithms._kmeans_kernels.assign_pass`)."""
    Cs, m, cn = _prepared(C)
    for b0 in range(0, X.shape[0], BLOCK):
        Xb = X[b0:b0 + BLOCK]
        lab, _, _ = _nearest(Xb, Cs, m, cn)
        labels[b0:b0 + len(Xb)] = lab
        sqdist[b0:b0 + len(Xb)] = _direct(Xb, C, lab)


def nearest_two(X: np.ndarray, C: np.ndarray, labels: np.ndarray, d1: np.ndarray,
                d2: np.ndarray) -> None:
    """Nearest and second-nearest squared distances of every row (float64)."""
    Cs, m, cn = _prepared(C)
    for b0 in range(0, X.shape[0], BLOCK):
        Xb = X[b0:b0 + BLOCK]
        lab, best, second = _nearest(Xb, Cs, m, cn, second=True)
        labels[b0:b0 + len(Xb)] = lab
        d1[b0:b0 + len(Xb)] = best
        assert second is not None
        d2[b0:b0 + len(Xb)] = second


def kmeans_plusplus(X: np.ndarray, w: np.ndarray, first: int, U: np.ndarray) -> np.ndarray:
    """Greedy k-means++ with the uniform draws ``U`` (see
    :func:`custseg.algorithms._kmeans_kernels.kmeans_plusplus`): indices of the rows chosen."""
    n = X.shape[0]
    k = U.shape[0] + 1
    X64 = X.astype(np.float64)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = first

    def to_rows(idx: np.ndarray) -> np.ndarray:
        """Squared distances of every row to the rows ``idx``, computed directly (a row
        equal to a centre is at 0 exactly and is never drawn again)."""
        out = np.empty((n, len(idx)))
        for t, i in enumerate(idx):
            diff = X64 - X64[i]
            out[:, t] = (diff * diff).sum(axis=1)
        return out

    closest = to_rows(np.array([first]))[:, 0]
    for c in range(1, k):
        cum = np.cumsum(w * closest)
        idx = np.minimum(np.searchsorted(cum, U[c - 1] * cum[-1]), n - 1)
        cand = np.minimum(to_rows(idx), closest[:, None])
        pots = w @ cand
        best = int(np.argmin(pots))
        chosen[c] = idx[best]
        closest = cand[:, best]
    return chosen
