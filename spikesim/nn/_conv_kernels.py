"""numba kernels for convolution (im2col / col2im) and max pooling, parallel over the batch.

The GEMMs stay in BLAS (``np.matmul``); these kernels do the memory-bound rearrangements that
numpy's strided copies do slowly. Layouts: images ``[N, C, H, W]`` (C order); columns
``[N*Ho*Wo, C*kh*kw]`` with row ``(n, oh, ow)`` and column ``(c, i, j)``. Slow twins:
``tests/naive_nn.py`` (``conv2d``, ``pool2d``).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


def _im2col(x, kh, kw, stride, ho, wo, cols):
    N, C = x.shape[0], x.shape[1]
    for n in prange(N):
        for oh in range(ho):
            for ow in range(wo):
                r = (n * ho + oh) * wo + ow
                h0 = oh * stride
                w0 = ow * stride
                k = 0
                for c in range(C):
                    for i in range(kh):
                        for j in range(kw):
                            cols[r, k] = x[n, c, h0 + i, w0 + j]
                            k += 1


def _col2im(gcols, kh, kw, stride, ho, wo, gx):
    N, C = gx.shape[0], gx.shape[1]
    for n in prange(N):
        for c in range(C):
            for h in range(gx.shape[2]):
                for w in range(gx.shape[3]):
                    gx[n, c, h, w] = 0.0
        for oh in range(ho):
            for ow in range(wo):
                r = (n * ho + oh) * wo + ow
                h0 = oh * stride
                w0 = ow * stride
                k = 0
                for c in range(C):
                    for i in range(kh):
                        for j in range(kw):
                            gx[n, c, h0 + i, w0 + j] += gcols[r, k]
                            k += 1


def _nhwc_to_nchw(y, N, P, C, out):
    """y [N*P, C] -> out [N, C, P]."""
    for n in prange(N):
        for p in range(P):
            for c in range(C):
                out[n, c, p] = y[n * P + p, c]


def _nchw_to_nhwc(g, N, P, C, out):
    """g [N, C, P] -> out [N*P, C]."""
    for n in prange(N):
        for p in range(P):
            for c in range(C):
                out[n * P + p, c] = g[n, c, p]


def _maxpool_fwd(x, k, y, idx):
    """Non-overlapping k x k max; idx holds the flat window position of the first max."""
    N, C, ho, wo = y.shape
    for n in prange(N):
        for c in range(C):
            for oh in range(ho):
                for ow in range(wo):
                    best = x[n, c, oh * k, ow * k]
                    bi = 0
                    for i in range(k):
                        for j in range(k):
                            v = x[n, c, oh * k + i, ow * k + j]
                            if v > best:
                                best = v
                                bi = i * k + j
                    y[n, c, oh, ow] = best
                    idx[n, c, oh, ow] = bi


def _maxpool_bwd(g, idx, k, gx):
    N, C, ho, wo = g.shape
    for n in prange(N):
        for c in range(C):
            for h in range(gx.shape[2]):
                for w in range(gx.shape[3]):
                    gx[n, c, h, w] = 0.0
            for oh in range(ho):
                for ow in range(wo):
                    b = idx[n, c, oh, ow]
                    gx[n, c, oh * k + b // k, ow * k + b % k] = g[n, c, oh, ow]


_SMALL = 100_000  # elements below which the serial build runs (thread start-up dominates)


def _pair(f):
    return njit(cache=True, parallel=True)(f), njit(cache=True)(f)


_IM2COL, _COL2IM = _pair(_im2col), _pair(_col2im)
_TO_NCHW, _TO_ROWS = _pair(_nhwc_to_nchw), _pair(_nchw_to_nhwc)
_MP_FWD, _MP_BWD = _pair(_maxpool_fwd), _pair(_maxpool_bwd)


def im2col(x: np.ndarray, kh: int, kw: int, stride: int) -> tuple[np.ndarray, int, int]:
    n, c, h, w = x.shape
    ho, wo = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n * ho * wo, c * kh * kw), dtype=x.dtype)
    _IM2COL[cols.size < _SMALL](np.ascontiguousarray(x), kh, kw, stride, ho, wo, cols)
    return cols, ho, wo


def col2im(gcols: np.ndarray, shape: tuple, kh: int, kw: int, stride: int, ho: int,
           wo: int) -> np.ndarray:
    gx = np.empty(shape, dtype=gcols.dtype)
    _COL2IM[gcols.size < _SMALL](np.ascontiguousarray(gcols), kh, kw, stride, ho, wo, gx)
    return gx


def rows_to_nchw(y: np.ndarray, n: int, ho: int, wo: int) -> np.ndarray:
    c = y.shape[1]
    out = np.empty((n, c, ho * wo), dtype=y.dtype)
    _TO_NCHW[y.size < _SMALL](y, n, ho * wo, c, out)
    return out.reshape(n, c, ho, wo)


def nchw_to_rows(g: np.ndarray) -> np.ndarray:
    n, c, ho, wo = g.shape
    out = np.empty((n * ho * wo, c), dtype=g.dtype)
    _TO_ROWS[g.size < _SMALL](np.ascontiguousarray(g).reshape(n, c, ho * wo), n, ho * wo, c, out)
    return out


def maxpool_forward(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n, c, h, w = x.shape
    y = np.empty((n, c, h // k, w // k), dtype=x.dtype)
    idx = np.empty(y.shape, dtype=np.uint8 if k * k < 256 else np.int32)
    _MP_FWD[x.size < _SMALL](np.ascontiguousarray(x), k, y, idx)
    return y, idx


def maxpool_backward(g: np.ndarray, idx: np.ndarray, k: int, shape: tuple) -> np.ndarray:
    gx = np.empty(shape, dtype=g.dtype)
    _MP_BWD[gx.size < _SMALL](np.ascontiguousarray(g), idx, k, gx)
    return gx
