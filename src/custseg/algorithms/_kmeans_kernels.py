"""Numba kernels behind :mod:`custseg.algorithms.kmeans` (private; imported lazily).

Layout of every parallel kernel: the rows are cut into fixed-size chunks (``chunk`` rows,
independent of the number of threads); ``prange`` hands whole chunks to threads; each chunk
writes its own partial sums, counts and inertia into its own slot, and the caller reduces
the slots in chunk order.  The result therefore depends on the chunk size only, never on how
many threads ran or in which order they finished: the same data and seed give byte-identical
centres on 1 or 2 threads.

Inside a chunk, ``BLOCK`` rows at a time are copied transposed into a small ``(d, BLOCK)``
buffer that stays in L1 cache, so that the distance loops run over contiguous rows and
vectorise (AVX2/AVX-512).  The features are padded with zeros to 2, 4, 6 or a multiple of 8
and the loops over features are compiled for those group widths (unrolled), so the loops
over rows vectorise whatever ``d`` is.  Distances are computed as ``sum((x - c)**2)`` in the
data's dtype (float32 stays float32; no ``|x|² - 2x·c + |c|²`` cancellation).  Per-cluster
sums are added in the data's dtype within one block of at most ``BLOCK`` rows (one pass per
cluster, one register accumulator per feature), then accumulated in float64 across blocks
and chunks, as are counts and inertia.  (scikit-learn accumulates float32 data in float32.)

``fastmath`` allows re-association (vectorised reductions) and fused multiply-add; not
``nnan``/``ninf`` (the estimator checks finiteness before, but the kernels make no promise
they rely on).  Results are reproducible on the same machine and build; another CPU may
vectorise differently and round the last bits differently.

Compiled code is cached on disk (``cache=True``) next to this file or, when that folder is
not writable, in Numba's user-wide cache (``NUMBA_CACHE_DIR`` when set); when no location is
writable the kernels are compiled in memory on first use instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange

#: Rows copied transposed at a time (d x BLOCK stays in L1).
BLOCK = 256
#: Re-association and FMA only.
FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
#: Up to this many clusters the per-cluster sums are accumulated with masked vector loops
#: (k passes over the L1 block); above, with a scatter (one pass, scalar).
MASKED_MAX_K = 16


def _jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    def decorate(func: Callable[..., Any]) -> Any:
        try:
            return njit(cache=True, nogil=True, **options)(func)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return njit(cache=False, nogil=True, **options)(func)

    return decorate


#: The features are padded with zeros to 2, 4, 6 or a multiple of 8 (``padded_width``); the
#: distance and sum loops are compiled for groups of 2, 4, 6 and 8 features (unrolled, the
#: loops over rows vectorised).  Zero features change neither distances nor sums.
GROUP = 8


def padded_width(d: int) -> int:
    """Number of features the kernels work on: 2, 4, 6 or a multiple of 8."""
    if d <= 2:
        return 2
    if d <= 4:
        return 4
    if d <= 6:
        return 6
    return -(-d // GROUP) * GROUP


_padded_width = _jit()(padded_width)


@_jit(fastmath=FASTMATH, inline="always")
def _load_fixed(X1, start, b, xt, D):  # pragma: no cover - compiled
    for r in range(b):
        for j in range(D):
            xt[j, r] = X1[(start + r) * D + j]


@_jit(fastmath=FASTMATH)
def _load(X1, d, start, b, xt):  # pragma: no cover - compiled
    """Copy rows ``start .. start + b`` of the flattened ``(n, d)`` matrix into the first
    ``d`` rows of ``xt``, transposed."""
    if d == 1:
        _load_fixed(X1, start, b, xt, 1)
    elif d == 2:
        _load_fixed(X1, start, b, xt, 2)
    elif d == 3:
        _load_fixed(X1, start, b, xt, 3)
    elif d == 4:
        _load_fixed(X1, start, b, xt, 4)
    elif d == 5:
        _load_fixed(X1, start, b, xt, 5)
    elif d == 6:
        _load_fixed(X1, start, b, xt, 6)
    elif d == 7:
        _load_fixed(X1, start, b, xt, 7)
    elif d == 8:
        _load_fixed(X1, start, b, xt, 8)
    else:
        for r in range(b):
            for j in range(d):
                xt[j, r] = X1[(start + r) * d + j]


@_jit(fastmath=FASTMATH, inline="always")
def _dist_group(xt, b, C, c, g, dist, first, G):  # pragma: no cover - compiled
    if first:
        for r in range(b):
            t = xt[g, r] - C[c, g]
            t = t * t
            for j in range(1, G):
                u = xt[g + j, r] - C[c, g + j]
                t += u * u
            dist[r] = t
    else:
        for r in range(b):
            t = dist[r]
            for j in range(G):
                u = xt[g + j, r] - C[c, g + j]
                t += u * u
            dist[r] = t


@_jit(fastmath=FASTMATH, inline="always")
def _nearest_fused(xt, b, C, best, lab, G):  # pragma: no cover - compiled
    # one group of features: distance and comparison in one loop (no distance buffer)
    k = C.shape[0]
    for c in range(k):
        for r in range(b):
            t = xt[0, r] - C[c, 0]
            t = t * t
            for j in range(1, G):
                u = xt[j, r] - C[c, j]
                t += u * u
            if t < best[r]:
                best[r] = t
                lab[r] = c


@_jit(fastmath=FASTMATH)
def _nearest(xt, b, C, dist, best, lab):  # pragma: no cover - compiled
    """Nearest centre (``lab``) and squared distance (``best``) of the block's rows (``C``
    padded like ``xt``); ties go to the lower index, as with ``argmin``."""
    k, dp = C.shape
    for r in range(b):
        best[r] = np.inf
        lab[r] = 0
    if dp == 2:
        _nearest_fused(xt, b, C, best, lab, 2)
    elif dp == 4:
        _nearest_fused(xt, b, C, best, lab, 4)
    elif dp == 6:
        _nearest_fused(xt, b, C, best, lab, 6)
    elif dp == GROUP:
        _nearest_fused(xt, b, C, best, lab, GROUP)
    else:
        for c in range(k):
            for g in range(0, dp, GROUP):
                _dist_group(xt, b, C, c, g, dist, g == 0, GROUP)
            for r in range(b):
                if dist[r] < best[r]:
                    best[r] = dist[r]
                    lab[r] = c


@_jit(fastmath=FASTMATH, inline="always")
def _masked_group(xt, b, lab, sums, counts, g, G, zero):  # pragma: no cover - compiled
    # One pass over the block per cluster with one accumulator per feature of the group
    # (registers); the block's partial sums are in the data's dtype (<= BLOCK rows), then
    # added to the float64 sums.
    k = sums.shape[0]
    for c in range(k):
        n_c = 0
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
        for r in range(b):
            m = lab[r] == c
            n_c += m
            s0 += xt[g, r] if m else zero
            s1 += xt[g + 1, r] if m else zero
            if G > 2:
                s2 += xt[g + 2, r] if m else zero
                s3 += xt[g + 3, r] if m else zero
            if G > 4:
                s4 += xt[g + 4, r] if m else zero
                s5 += xt[g + 5, r] if m else zero
            if G > 6:
                s6 += xt[g + 6, r] if m else zero
                s7 += xt[g + 7, r] if m else zero
        if g == 0:
            counts[c] += n_c
        sums[c, g] += s0
        sums[c, g + 1] += s1
        if G > 2:
            sums[c, g + 2] += s2
            sums[c, g + 3] += s3
        if G > 4:
            sums[c, g + 4] += s4
            sums[c, g + 5] += s5
        if G > 6:
            sums[c, g + 6] += s6
            sums[c, g + 7] += s7


@_jit(fastmath=FASTMATH)
def _accumulate(xt, b, lab, best, w, start, sums, counts, zero):  # pragma: no cover
    """Add the block's rows to their clusters' sums and counts (``sums`` padded like
    ``xt``); return the block's inertia."""
    k, dp = sums.shape
    inertia = 0.0
    if w.shape[0] > 0:
        for r in range(b):
            wr = np.float64(w[start + r])
            inertia += wr * best[r]
            c = lab[r]
            counts[c] += wr
            for j in range(dp):
                sums[c, j] += wr * xt[j, r]
        return inertia
    part = zero
    for r in range(b):
        part += best[r]
    inertia += part
    if k > MASKED_MAX_K:
        for r in range(b):
            c = lab[r]
            counts[c] += 1.0
            for j in range(dp):
                sums[c, j] += xt[j, r]
    elif dp == 2:
        _masked_group(xt, b, lab, sums, counts, 0, 2, zero)
    elif dp == 4:
        _masked_group(xt, b, lab, sums, counts, 0, 4, zero)
    elif dp == 6:
        _masked_group(xt, b, lab, sums, counts, 0, 6, zero)
    else:
        for g in range(0, dp, GROUP):
            _masked_group(xt, b, lab, sums, counts, g, GROUP, zero)
    return inertia


@_jit(parallel=True, fastmath=FASTMATH)
def lloyd_pass(X, w, C, chunk, sums, counts, inertia, zero):  # pragma: no cover - compiled
    """One Lloyd pass: per-chunk sums ``(n_chunks, k, d)``, counts ``(n_chunks, k)`` and
    inertia ``(n_chunks,)`` of the rows assigned to their nearest centre in ``C``.
    ``w`` is the sample weights or an empty array (all ones); ``zero`` a zero of the data's
    dtype."""
    n, d = X.shape
    k = C.shape[0]
    X1 = X.reshape(-1)
    dp = _padded_width(d)
    Cp = np.zeros((k, dp), dtype=X.dtype)
    Cp[:, :d] = C
    n_chunks = (n + chunk - 1) // chunk
    for ch in prange(n_chunks):
        xt = np.zeros((dp, BLOCK), dtype=X.dtype)
        dist = np.empty(BLOCK, dtype=X.dtype)
        best = np.empty(BLOCK, dtype=X.dtype)
        lab = np.empty(BLOCK, dtype=np.int32)
        s = np.zeros((k, dp), dtype=np.float64)
        cnt = np.zeros(k, dtype=np.float64)
        tot = 0.0
        start = ch * chunk
        stop = min(n, start + chunk)
        for b0 in range(start, stop, BLOCK):
            b = min(BLOCK, stop - b0)
            _load(X1, d, b0, b, xt)
            _nearest(xt, b, Cp, dist, best, lab)
            tot += _accumulate(xt, b, lab, best, w, b0, s, cnt, zero)
        sums[ch] = s[:, :d]
        counts[ch] = cnt
        inertia[ch] = tot


@_jit(parallel=True, fastmath=FASTMATH)
def assign_pass(X, C, chunk, labels, sqdist):  # pragma: no cover - compiled
    """Nearest centre of every row (``labels``) and its squared distance (``sqdist``)."""
    n, d = X.shape
    k = C.shape[0]
    X1 = X.reshape(-1)
    dp = _padded_width(d)
    Cp = np.zeros((k, dp), dtype=X.dtype)
    Cp[:, :d] = C
    n_chunks = (n + chunk - 1) // chunk
    for ch in prange(n_chunks):
        xt = np.zeros((dp, BLOCK), dtype=X.dtype)
        dist = np.empty(BLOCK, dtype=X.dtype)
        best = np.empty(BLOCK, dtype=X.dtype)
        lab = np.empty(BLOCK, dtype=np.int32)
        start = ch * chunk
        stop = min(n, start + chunk)
        for b0 in range(start, stop, BLOCK):
            b = min(BLOCK, stop - b0)
            _load(X1, d, b0, b, xt)
            _nearest(xt, b, Cp, dist, best, lab)
            for r in range(b):
                labels[b0 + r] = lab[r]
                sqdist[b0 + r] = best[r]


@_jit(parallel=True, fastmath=FASTMATH)
def nearest_two(X, C, labels, d1, d2):  # pragma: no cover - compiled
    """Nearest and second-nearest squared distances of every row (float64)."""
    n, d = X.shape
    k = C.shape[0]
    for i in prange(n):
        b1 = np.inf
        b2 = np.inf
        lab = 0
        for c in range(k):
            t = 0.0
            for j in range(d):
                u = np.float64(X[i, j]) - C[c, j]
                t += u * u
            if t < b1:
                b2 = b1
                b1 = t
                lab = c
            elif t < b2:
                b2 = t
        labels[i] = lab
        d1[i] = b1
        d2[i] = b2


@_jit(fastmath=FASTMATH)
def kmeans_plusplus(X, w, first, U):  # pragma: no cover - compiled
    """Greedy k-means++ (Arthur & Vassilvitskii 2007, with ``U.shape[1]`` local trials as in
    scikit-learn): ``first`` is the index of the first centre, ``U[c - 1]`` the uniform
    draws for the candidates of centre ``c``.  Returns the indices of the chosen rows."""
    n, d = X.shape
    k = U.shape[0] + 1
    trials = U.shape[1]
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = first
    closest = np.empty(n, dtype=np.float64)
    cand = np.empty(n, dtype=np.float64)
    keep = np.empty(n, dtype=np.float64)
    cum = np.empty(n, dtype=np.float64)
    for i in range(n):
        t = 0.0
        for j in range(d):
            u = np.float64(X[i, j]) - np.float64(X[first, j])
            t += u * u
        closest[i] = t
    for c in range(1, k):
        acc = 0.0
        for i in range(n):
            acc += w[i] * closest[i]
            cum[i] = acc
        best_pot = np.inf
        best_idx = 0
        for t_ in range(trials):
            idx = np.searchsorted(cum, U[c - 1, t_] * acc)
            if idx > n - 1:
                idx = n - 1
            pot = 0.0
            for i in range(n):
                t = 0.0
                for j in range(d):
                    u = np.float64(X[i, j]) - np.float64(X[idx, j])
                    t += u * u
                m = min(t, closest[i])
                cand[i] = m
                pot += w[i] * m
            if pot < best_pot:
                best_pot = pot
                best_idx = idx
                keep[:] = cand
        chosen[c] = best_idx
        closest[:] = keep
    return chosen
