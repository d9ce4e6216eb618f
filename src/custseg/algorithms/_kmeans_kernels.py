"""Numba kernels behind :mod:`custseg.algorithms.kmeans` (private; imported lazily).

Layout of every parallel kernel: the rows are cut into fixed-size chunks (``chunk`` rows,
independent of the number of threads); each thread runs one compiled function over a run of
whole chunks (:func:`_over_chunks`: Python threads, the compiled code releases the GIL); each
chunk writes its own partial sums, counts and inertia into its own slot, and the caller
reduces the slots in chunk order.  The result therefore depends on the chunk size only,
never on how many threads ran or in which order they finished: the same data and seed give
byte-identical centres on 1 or 2 threads.  (Numba's ``parallel=True`` would do the same
split, but it compiles the whole loop body again for its thread team and optimises it once
more where it is called: the first compilation took 1.7 to 2 times longer.  And no kernel
uses Numba's OpenMP threads: after a parallel region they keep spinning for a while, and
took a core from these threads, which then ran at half speed.)

Inside a chunk, ``BLOCK`` rows at a time are copied transposed into a small ``(d, BLOCK)``
buffer that stays in L1 cache, so that the loops run over contiguous rows and vectorise
(AVX2/AVX-512).  The features are padded with zeros to 2, 4, 6 or a multiple of 8 and the
loops over features are compiled for those widths (unrolled), so the loops over rows
vectorise whatever ``d`` is.

Nearest centre: ``|x|² + min_c (|c|² - 2 x·c)``, one multiply-add per feature and centre,
on rows and centres shifted by the mean of the centres (no distance changes; ``|x|²`` and
``|c|²`` stay near the size of the distances, so the cancellation of this form stays small).
Centres are taken in tiles of 4-8 whose distances stay in registers (:func:`tile_width`).
:func:`assign_pass` then recomputes the distance to the chosen centre as ``sum((x - c)**2)``
in the data's dtype (a row equal to its centre is at 0 exactly).  Per-cluster sums are of
the rows as they are, added in the data's dtype within one block of at most ``BLOCK`` rows
(one branch-free pass per cluster up to :data:`MASKED_MAX_K` clusters, a scatter above),
then accumulated in float64 across blocks and chunks, as are counts and inertia.
(scikit-learn accumulates float32 data in float32.)

No store depends on a comparison with the value loaded from the same address, and no load
is conditional: LLVM turns those into masked stores and loads, which are very slow on AMD
processors before Zen 4.  (Numba does not run LLVM's SLP vectoriser: only loops vectorise.)

``fastmath`` allows re-association (vectorised reductions) and fused multiply-add; not
``nnan``/``ninf`` (the estimator checks finiteness before, but the kernels make no promise
they rely on).  Results are reproducible on the same machine and build; another CPU may
vectorise differently and round the last bits differently.

Compiled code is cached on disk (``cache=True``) next to this file or, when that folder is
not writable, in Numba's user-wide cache (``NUMBA_CACHE_DIR`` when set); when no location is
writable the kernels are compiled in memory on first use instead of failing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any

import numpy as np
from numba import njit

#: Rows copied transposed at a time (d x BLOCK stays in L1).
BLOCK = 256
#: Re-association and FMA only.
FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
#: Up to this many clusters the per-cluster sums are accumulated with branch-free vector
#: loops (k passes over the L1 block); above, with a scatter (one pass, scalar).  Measured
#: crossover on AVX2 at d = 6: 16-18.
MASKED_MAX_K = 16


#: These kernels are compiled (the NumPy ones in :mod:`._kmeans_numpy` are not).
COMPILED = True


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


#: Centres per register tile of the distance loop (see :func:`tile_width`).
TILES = (4, 5, 6, 8)


def tile_width(k: int) -> int:
    """Centres compared per pass over a block: the fewest passes of at most 8 centres, each
    pass as narrow as possible (4, 5, 6 or 8; the last tile is padded with centres that are
    never nearest).

    >>> [tile_width(k) for k in (2, 5, 7, 10, 16, 20, 50)]
    [4, 5, 8, 5, 8, 8, 8]
    """
    n_tiles = -(-k // TILES[-1])
    need = -(-k // n_tiles)
    for t in TILES:
        if t >= need:
            return t
    return TILES[-1]


_tile_width = _jit()(tile_width)


@_jit(inline="always")
def _prepare(C, dp, X):  # pragma: no cover - compiled
    """Centres in the form the distance loop uses.  ``m`` is the mean of the centres (in the
    data's dtype): rows and centres are shifted by it, which changes no distance but keeps
    ``|x|²`` and ``|c|²`` small next to the distances.  ``A = -2 (C - m)`` and
    ``cn = |C - m|²`` (computed in float64), padded to a multiple of the tile width with
    centres at infinite distance (``X`` gives the dtype)."""
    k, d = C.shape
    T = _tile_width(k) if dp <= GROUP else GROUP
    kp = -(-k // T) * T
    m = np.zeros(dp, dtype=X.dtype)
    for j in range(d):
        acc = 0.0
        for c in range(k):
            acc += C[c, j]
        m[j] = acc / k
    A = np.zeros((kp, dp), dtype=X.dtype)
    cn = np.full(kp, np.inf, dtype=X.dtype)
    for c in range(k):
        acc = 0.0
        for j in range(d):
            u = np.float64(C[c, j]) - np.float64(m[j])
            A[c, j] = -2.0 * u
            acc += u * u
        cn[c] = acc
    return A, cn, m, T


@_jit(fastmath=FASTMATH, inline="always")
def _shift(xt, b, m, d, xs):  # pragma: no cover - compiled
    """``xs = xt - m`` for the block's rows (the rows the distances are computed on; the sums
    are taken on the rows as they are, so that the mean of equal rows is that row exactly)."""
    for j in range(d):
        mj = m[j]
        for r in range(b):
            xs[j, r] = xt[j, r] - mj


@_jit(fastmath=FASTMATH, inline="always")
def _tile(xt, b, A, cn, c0, best, lab, T, D):  # pragma: no cover - compiled
    # T centres against every row of the block: the T partial distances of a row stay in
    # registers (the loop over rows vectorises, T and D are compile-time constants, so
    # the loops over centres and features unroll), then one compare with the running best.
    for r in range(b):
        bb = best[r]
        ll = lab[r]
        for t in range(T):
            v = cn[c0 + t]
            for j in range(D):
                v += xt[j, r] * A[c0 + t, j]
            if v < bb:
                bb = v
                ll = c0 + t
        best[r] = bb
        lab[r] = ll


@_jit(fastmath=FASTMATH, inline="always")
def _tiles(xt, b, A, cn, best, lab, T, D):  # pragma: no cover - compiled
    for c0 in range(0, A.shape[0], T):
        _tile(xt, b, A, cn, c0, best, lab, T, D)


@_jit(fastmath=FASTMATH, inline="always")
def _tiles_of(xt, b, A, cn, best, lab, T, D):  # pragma: no cover - compiled
    if T == 4:
        _tiles(xt, b, A, cn, best, lab, 4, D)
    elif T == 5:
        _tiles(xt, b, A, cn, best, lab, 5, D)
    elif T == 6:
        _tiles(xt, b, A, cn, best, lab, 6, D)
    else:
        _tiles(xt, b, A, cn, best, lab, 8, D)


@_jit(fastmath=FASTMATH, inline="always")
def _pick(dist, b, c0, best, lab, T):  # pragma: no cover - compiled
    for r in range(b):
        bb = best[r]
        ll = lab[r]
        for t in range(T):
            v = dist[t, r]
            if v < bb:
                bb = v
                ll = c0 + t
        best[r] = bb
        lab[r] = ll


@_jit(fastmath=FASTMATH, inline="always")
def _gemm_group(xt, b, A, c, g, dist, G):  # pragma: no cover - compiled
    for r in range(b):
        t = dist[r]
        for j in range(G):
            t += xt[g + j, r] * A[c, g + j]
        dist[r] = t


@_jit(fastmath=FASTMATH)
def _nearest(xt, b, A, cn, T, dist, best, lab, zero):  # pragma: no cover - compiled
    """Nearest centre (``lab``) and squared distance (``best``) of the block's rows (``xt``
    shifted, ``A`` and ``cn`` from :func:`_prepare`); ties go to the lower index, as with
    ``argmin``.  The distance is ``|x|² + min_c (|c|² - 2 x·c)``: one multiply-add per
    feature and centre."""
    kp, dp = A.shape
    for r in range(b):
        best[r] = np.inf
        lab[r] = 0
    if dp == 2:
        _tiles_of(xt, b, A, cn, best, lab, T, 2)
    elif dp == 4:
        _tiles_of(xt, b, A, cn, best, lab, T, 4)
    elif dp == 6:
        _tiles_of(xt, b, A, cn, best, lab, T, 6)
    elif dp == GROUP:
        _tiles_of(xt, b, A, cn, best, lab, T, GROUP)
    else:  # wider rows: the tile's distances go through a buffer, 8 features at a time
        for c0 in range(0, kp, GROUP):
            for t in range(GROUP):
                for r in range(b):
                    dist[t, r] = cn[c0 + t]
                for g in range(0, dp, GROUP):
                    _gemm_group(xt, b, A, c0 + t, g, dist[t], GROUP)
            _pick(dist, b, c0, best, lab, GROUP)
    # add |x|²; rounding can make a distance slightly negative: clip at zero.  (No store
    # depends on a comparison with the value loaded from the same place: LLVM would make
    # it a masked store, which is slow on AMD processors before Zen 4.)
    norm = dist[0]
    for r in range(b):
        norm[r] = xt[0, r] * xt[0, r]
    for j in range(1, dp):
        for r in range(b):
            norm[r] += xt[j, r] * xt[j, r]
    for r in range(b):
        best[r] = max(best[r] + norm[r], zero)


@_jit(fastmath=FASTMATH, inline="always")
def _masked_group(xt, b, lab, sums, counts, g, G, zero, one):  # pragma: no cover - compiled
    # One pass over the block per cluster with one accumulator per feature of the group
    # (registers): a row's features are multiplied by 1 or 0 (its label is the cluster or
    # not), so that the loop is branch-free: compare, blend, one multiply-add per feature.
    # (Loading the features only for the matching rows would compile to masked loads,
    # several times slower.)  The block's partial sums are in the data's dtype (<= BLOCK
    # rows), then added to the float64 sums.
    k = sums.shape[0]
    for c in range(k):
        cc = np.int32(c)
        n_c = zero
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
        for r in range(b):
            f = one if lab[r] == cc else zero
            n_c += f
            s0 += xt[g, r] * f
            s1 += xt[g + 1, r] * f
            if G > 2:
                s2 += xt[g + 2, r] * f
                s3 += xt[g + 3, r] * f
            if G > 4:
                s4 += xt[g + 4, r] * f
                s5 += xt[g + 5, r] * f
            if G > 6:
                s6 += xt[g + 6, r] * f
                s7 += xt[g + 7, r] * f
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


@_jit(fastmath=FASTMATH, inline="always")
def _accumulate(xt, b, lab, best, w, start, sums, counts, zero, one):  # pragma: no cover
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
        _masked_group(xt, b, lab, sums, counts, 0, 2, zero, one)
    elif dp == 4:
        _masked_group(xt, b, lab, sums, counts, 0, 4, zero, one)
    elif dp == 6:
        _masked_group(xt, b, lab, sums, counts, 0, 6, zero, one)
    else:
        for g in range(0, dp, GROUP):
            _masked_group(xt, b, lab, sums, counts, g, GROUP, zero, one)
    return inertia


@_jit(fastmath=FASTMATH)
def _lloyd_chunks(X, w, C, chunk, first, last, sums, counts, inertia,
                  zero):  # pragma: no cover - compiled
    """Chunks ``first .. last - 1`` of :func:`lloyd_pass`, each into its own slot."""
    n, d = X.shape
    k = C.shape[0]
    X1 = X.reshape(-1)
    dp = _padded_width(d)
    A, cn, m, T = _prepare(C, dp, X)
    one = np.ones(1, dtype=X.dtype)[0]
    xt = np.zeros((dp, BLOCK), dtype=X.dtype)
    xs = np.zeros((dp, BLOCK), dtype=X.dtype)
    dist = np.empty((GROUP, BLOCK), dtype=X.dtype)
    best = np.empty(BLOCK, dtype=X.dtype)
    lab = np.empty(BLOCK, dtype=np.int32)
    s = np.zeros((k, dp), dtype=np.float64)
    cnt = np.zeros(k, dtype=np.float64)
    for ch in range(first, last):
        s[:] = 0.0
        cnt[:] = 0.0
        tot = 0.0
        start = ch * chunk
        stop = min(n, start + chunk)
        for b0 in range(start, stop, BLOCK):
            b = min(BLOCK, stop - b0)
            _load(X1, d, b0, b, xt)
            _shift(xt, b, m, d, xs)
            _nearest(xs, b, A, cn, T, dist, best, lab, zero)
            tot += _accumulate(xt, b, lab, best, w, b0, s, cnt, zero, one)
        sums[ch] = s[:, :d]
        counts[ch] = cnt
        inertia[ch] = tot


@_jit(fastmath=FASTMATH)
def _assign_chunks(X, C, chunk, first, last, labels, sqdist):  # pragma: no cover - compiled
    """Chunks ``first .. last - 1`` of :func:`assign_pass`."""
    n, d = X.shape
    X1 = X.reshape(-1)
    dp = _padded_width(d)
    A, cn, m, T = _prepare(C, dp, X)
    Cx = C.astype(X.dtype)
    zero = np.zeros(1, dtype=X.dtype)[0]
    xt = np.zeros((dp, BLOCK), dtype=X.dtype)
    xs = np.zeros((dp, BLOCK), dtype=X.dtype)
    dist = np.empty((GROUP, BLOCK), dtype=X.dtype)
    best = np.empty(BLOCK, dtype=X.dtype)
    lab = np.empty(BLOCK, dtype=np.int32)
    stop = min(n, last * chunk)
    for b0 in range(first * chunk, stop, BLOCK):
        b = min(BLOCK, stop - b0)
        _load(X1, d, b0, b, xt)
        _shift(xt, b, m, d, xs)
        _nearest(xs, b, A, cn, T, dist, best, lab, zero)
        for r in range(b):
            c = lab[r]
            e = zero
            for j in range(d):
                u = X1[(b0 + r) * d + j] - Cx[c, j]
                e += u * u
            labels[b0 + r] = c
            sqdist[b0 + r] = e


#: Threads the passes run on in this context (:func:`threads`; None: :func:`available_threads`).
THREADS: ContextVar[int | None] = ContextVar("custseg_kernel_threads", default=None)


def available_threads() -> int:
    """Threads the kernels may use: Numba's ``NUMBA_NUM_THREADS`` (every core unless that
    environment variable says otherwise)."""
    from numba import config

    return int(config.NUMBA_NUM_THREADS)


def threads() -> int:
    """Threads the passes run on now (:data:`THREADS`)."""
    n = THREADS.get()
    return available_threads() if n is None else n


@functools.lru_cache(maxsize=4)
def _pool(n_threads: int, pid: int) -> ThreadPoolExecutor:
    """Threads kept for the kernels (one pool per process: a forked child makes its own)."""
    return ThreadPoolExecutor(n_threads, thread_name_prefix="custseg-kmeans")


def _over_chunks(run: Callable[[int, int], None], n_chunks: int) -> None:
    """``run(first, last)`` over ``0 .. n_chunks`` cut into one run of chunks per thread
    (:data:`THREADS`, set by :func:`custseg.algorithms.kmeans.kernel_threads`); the compiled
    functions release the GIL, so the threads run at the same time."""
    t = min(threads(), n_chunks)
    if t <= 1:
        run(0, n_chunks)
        return
    bounds = [n_chunks * i // t for i in range(t + 1)]
    pool = _pool(t, os.getpid())
    for done in [pool.submit(run, bounds[i], bounds[i + 1]) for i in range(t)]:
        done.result()


def lloyd_pass(X: np.ndarray, w: np.ndarray, C: np.ndarray, chunk: int, sums: np.ndarray,
               counts: np.ndarray, inertia: np.ndarray, zero: Any) -> None:
    """One Lloyd pass: per-chunk sums ``(n_chunks, k, d)``, counts ``(n_chunks, k)`` and
    inertia ``(n_chunks,)`` of the rows assigned to their nearest centre in ``C`` (float64).
    ``w`` is the sample weights or an empty array (all ones); ``zero`` a zero of the data's
    dtype."""
    _over_chunks(lambda first, last: _lloyd_chunks(X, w, C, chunk, first, last, sums, counts,
                                                   inertia, zero),
                 -(-X.shape[0] // chunk))


def assign_pass(X: np.ndarray, C: np.ndarray, chunk: int, labels: np.ndarray,
                sqdist: np.ndarray) -> None:
    """Nearest centre of every row (``labels``) and its squared distance (``sqdist``);
    ``C`` float64.  The nearest centre is found as in :func:`lloyd_pass`; the distance to it
    is then computed again directly, ``sum((x - c)**2)`` in the data's dtype, so that a row
    equal to its centre is at distance 0 exactly (the ``|x|² - 2x·c + |c|²`` form leaves
    rounding errors of the size of ``|x|²``)."""
    _over_chunks(lambda first, last: _assign_chunks(X, C, chunk, first, last, labels, sqdist),
                 -(-X.shape[0] // chunk))


@_jit(fastmath=FASTMATH)
def _nearest_two_rows(X, C, labels, d1, d2, first, last):  # pragma: no cover - compiled
    k, d = C.shape
    for i in range(first, last):
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


def nearest_two(X: np.ndarray, C: np.ndarray, labels: np.ndarray, d1: np.ndarray,
                d2: np.ndarray) -> None:
    """Nearest and second-nearest squared distances of every row (float64)."""
    _over_chunks(lambda first, last: _nearest_two_rows(X, C, labels, d1, d2, first, last),
                 X.shape[0])


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
