"""Data layout of the Lloyd pass: custseg's kernel on row-major data against a prototype
that reads feature-major data in place (issue 14, part 2), in one process, on the same data.

    .venv/bin/python bench/kernel_layout.py                   # 10M x 6 float32, 2 threads
    .venv/bin/python bench/kernel_layout.py --ks 5,10 --rows 2000000

* ``row``: :func:`custseg.algorithms._kmeans_kernels.lloyd_pass` on the ``(n, 6)`` array
  (it copies each block of 256 rows transposed into an L1 buffer, shifts it into a second
  one, then finds the nearest centres and sums the clusters from those buffers).
* ``feature-major``: :func:`fm_pass` below on ``X.T`` as a C-contiguous ``(6, n)`` array:
  no copy, no buffer but the block's labels and distances; every loop reads the six
  features' contiguous slices ``XT[j, b0:b0 + b]`` directly (each a 1-D slice: indexed by
  the loop variable alone, the loops vectorise; indexing the flat array with ``j * n + b0 +
  r`` does not vectorise, Numba's wrap-around of negative indices is in the way).  The same
  arithmetic as the kernel (shift by the mean of the centres, tiles of centres, masked sums
  up to 16 clusters, a scatter above), d = 6 only: a prototype, not custseg's kernel.
* ``bound``: one streaming pass over the 240 MB (a parallel sum), as bench/peers.py.

Medians of ``--repeats``, the variants interleaved; the results of the two compared (rows
in another cluster, inertia, sums).  The transposed copy ``X.T`` (one more array of the size
of X) is made once, outside the timings.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import njit, prange

from custseg.algorithms import _kmeans_kernels as K

FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
BLOCK = 256
CHUNK = 16_384


@njit(fastmath=FASTMATH, inline="always")
def _tile(f, b, m, A, cn, c0, best, lab, T):  # pragma: no cover - compiled
    f0, f1, f2, f3, f4, f5 = f
    for r in range(b):
        bb = best[r]
        ll = lab[r]
        x0 = f0[r] - m[0]
        x1 = f1[r] - m[1]
        x2 = f2[r] - m[2]
        x3 = f3[r] - m[3]
        x4 = f4[r] - m[4]
        x5 = f5[r] - m[5]
        for t in range(T):
            c = c0 + t
            v = (cn[c] + x0 * A[c, 0] + x1 * A[c, 1] + x2 * A[c, 2] + x3 * A[c, 3]
                 + x4 * A[c, 4] + x5 * A[c, 5])
            if v < bb:
                bb = v
                ll = np.int32(c)
        best[r] = bb
        lab[r] = ll


@njit(fastmath=FASTMATH, inline="always")
def _nearest(f, b, m, A, cn, best, lab, zero, T):  # pragma: no cover - compiled
    for r in range(b):
        best[r] = np.inf
        lab[r] = 0
    for c0 in range(0, A.shape[0], T):
        _tile(f, b, m, A, cn, c0, best, lab, T)
    f0, f1, f2, f3, f4, f5 = f
    part = zero
    for r in range(b):
        x0 = f0[r] - m[0]
        x1 = f1[r] - m[1]
        x2 = f2[r] - m[2]
        x3 = f3[r] - m[3]
        x4 = f4[r] - m[4]
        x5 = f5[r] - m[5]
        v = max(best[r] + (x0 * x0 + x1 * x1 + x2 * x2 + x3 * x3 + x4 * x4 + x5 * x5), zero)
        best[r] = v
        part += v
    return part


@njit(fastmath=FASTMATH, inline="always")
def _sums(f, b, lab, s, cnt, zero, one):  # pragma: no cover - compiled
    f0, f1, f2, f3, f4, f5 = f
    k = s.shape[0]
    if k > K.MASKED_MAX_K:
        for r in range(b):
            c = lab[r]
            cnt[c] += 1.0
            s[c, 0] += f0[r]
            s[c, 1] += f1[r]
            s[c, 2] += f2[r]
            s[c, 3] += f3[r]
            s[c, 4] += f4[r]
            s[c, 5] += f5[r]
        return
    for c in range(k):
        cc = np.int32(c)
        n_c = s0 = s1 = s2 = s3 = s4 = s5 = zero
        for r in range(b):
            g = one if lab[r] == cc else zero
            n_c += g
            s0 += f0[r] * g
            s1 += f1[r] * g
            s2 += f2[r] * g
            s3 += f3[r] * g
            s4 += f4[r] * g
            s5 += f5[r] * g
        cnt[c] += n_c
        s[c, 0] += s0
        s[c, 1] += s1
        s[c, 2] += s2
        s[c, 3] += s3
        s[c, 4] += s4
        s[c, 5] += s5


@njit(parallel=True, fastmath=FASTMATH)
def fm_pass(XT, A, cn, m, k, T, sums, counts, inertia):  # pragma: no cover - compiled
    """One Lloyd pass over feature-major ``XT`` (6, n): per-chunk sums, counts, inertia."""
    n = XT.shape[1]
    zero = np.zeros(1, dtype=XT.dtype)[0]
    one = np.ones(1, dtype=XT.dtype)[0]
    for ch in prange((n + CHUNK - 1) // CHUNK):
        best = np.empty(BLOCK, dtype=XT.dtype)
        lab = np.empty(BLOCK, dtype=np.int32)
        s = np.zeros((k, 6))
        cnt = np.zeros(k)
        tot = 0.0
        stop = min(n, (ch + 1) * CHUNK)
        for b0 in range(ch * CHUNK, stop, BLOCK):
            b = min(BLOCK, stop - b0)
            f = (XT[0, b0:b0 + b], XT[1, b0:b0 + b], XT[2, b0:b0 + b], XT[3, b0:b0 + b],
                 XT[4, b0:b0 + b], XT[5, b0:b0 + b])
            if T == 5:
                tot += _nearest(f, b, m, A, cn, best, lab, zero, 5)
            else:
                tot += _nearest(f, b, m, A, cn, best, lab, zero, 8)
            _sums(f, b, lab, s, cnt, zero, one)
        sums[ch] = s
        counts[ch] = cnt
        inertia[ch] = tot


@njit(parallel=True, fastmath=True)
def psum(a):  # pragma: no cover - compiled
    s = 0.0
    for i in prange(a.shape[0]):
        s += a[i]
    return s


def outputs(k: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_chunks = -(-n // CHUNK)
    return np.zeros((n_chunks, k, 6)), np.zeros((n_chunks, k)), np.zeros(n_chunks)


def row_pass(X: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    s, c, i = outputs(len(C), len(X))
    K.lloyd_pass(X, np.empty(0, X.dtype), C, CHUNK, s, c, i, X.dtype.type(0))
    return s.sum(axis=0), c.sum(axis=0), float(i.sum())


def feature_major_pass(XT: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The centres prepared as the kernel's ``_prepare`` does, then :func:`fm_pass`."""
    k = len(C)
    T = K.tile_width(k)
    kp = -(-k // T) * T
    m = C.mean(axis=0).astype(XT.dtype)
    U = C - m.astype(np.float64)
    A = np.zeros((kp, 6), dtype=XT.dtype)
    A[:k] = -2.0 * U
    cn = np.full(kp, np.inf, dtype=XT.dtype)
    cn[:k] = (U * U).sum(axis=1)
    s, c, i = outputs(k, XT.shape[1])
    fm_pass(XT, A, cn, m, k, 5 if T == 5 else 8, s, c, i)
    return s.sum(axis=0), c.sum(axis=0), float(i.sum())


def medians(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--ks", default="5,10,20,50")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    numba.set_num_threads(args.threads)
    rng = np.random.default_rng(0)  # the data of bench/peers.py
    X = rng.standard_normal((args.rows, 6), dtype=np.float32)
    X += rng.integers(0, 8, args.rows)[:, None].astype(np.float32) * 3
    XT = np.ascontiguousarray(X.T)
    fns: dict[str, Callable[[], Any]] = {"bound": lambda: psum(X.reshape(-1))}
    pick = np.random.default_rng(1)
    for k in map(int, args.ks.split(",")):
        C = X[pick.choice(args.rows, k, replace=False)].astype(np.float64)
        a, b = row_pass(X, C), feature_major_pass(XT, C)
        moved = float(np.abs(a[1] - b[1]).sum()) / 2
        print(f"k={k}: rows in another cluster {moved:.0f}, inertia rel. diff "
              f"{abs(a[2] - b[2]) / a[2]:.1e}, sums max abs diff {np.abs(a[0] - b[0]).max():.1e}")
        fns[f"{k} row"] = lambda C=C: row_pass(X, C)
        fns[f"{k} feature-major"] = lambda C=C: feature_major_pass(XT, C)
    t = medians(fns, args.repeats)
    bound = t.pop("bound")
    print(f"| k | bound ms | row ms | feature-major ms | row / bound | feature-major / bound "
          f"| row / feature-major |  ({args.rows:,} x 6 float32, {args.threads} threads)")
    for k in map(int, args.ks.split(",")):
        r, f = t[f"{k} row"], t[f"{k} feature-major"]
        print(f"| {k} | {bound * 1e3:.1f} | {r * 1e3:.1f} | {f * 1e3:.1f} | {r / bound:.2f} "
              f"| {f / bound:.2f} | {r / f:.2f} |")


if __name__ == "__main__":
    main()
