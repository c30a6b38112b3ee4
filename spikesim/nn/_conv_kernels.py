"""numba kernels for convolution (im2col / col2im, sparse input) and max pooling, parallel
over the batch.

The dense GEMMs stay in BLAS (``np.matmul``); these kernels do the memory-bound rearrangements
that numpy's strided copies do slowly. Layouts: images ``[N, C, H, W]`` (C order); columns
``[N*Ho*Wo, C*kh*kw]`` with row ``(n, oh, ow)`` and column ``(c, i, j)``.

Sparse input (spikes between layers are mostly zero): ``sparse_conv_forward`` scatters
``x[n, c, h, w] * weight[:, c, i, j]`` into every output position the input reaches, skipping
zeros, and ``sparse_conv_weight_grad`` gathers the weight gradient the same way; the cost is
proportional to the number of non-zero inputs instead of the number of inputs, and no column
matrix is built. Both work for any values (zeros are skipped, not assumed elsewhere), so they
are exact for non-binary input too. ``sparse_conv_input_grad`` skips zero output gradients
instead (behind max pooling at most one in k*k is non-zero). The weight gradient is
accumulated in a fixed number of batch chunks (independent of the thread count) and summed in
chunk order, and the other kernels accumulate each sample in a fixed order, so results are
reproducible. Slow twins: ``tests/naive_nn.py`` (``conv2d``, ``pool2d``).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from spikesim.nn._kernels import _pair

# work (elements, or multiply-adds of the sparse kernels) below which the serial build runs.
# Convolutions do enough work per element that two threads pay even with the BLAS calls
# around them (conv benchmark network, 1280 images: 3.1 s per epoch vs 3.8 s all serial).
_SMALL = 100_000


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


@njit(cache=True, inline="always")
def _taps(hp, k, stride, n_out):
    """Kernel taps ``i`` (range ``lo..hi-1``, every ``step``-th) through which padded input
    row ``hp`` reaches an output row ``(hp - i) / stride`` in ``[0, n_out)``."""
    lo = max(0, hp - (n_out - 1) * stride)
    hi = min(k - 1, hp) + 1
    if stride == 1:
        return lo, hi, 1
    r = (hp - lo) % stride  # first tap with (hp - i) divisible by stride
    return lo + r, hi, stride


def _sparse_fwd(x, wr, bias, stride, pad, ho, wo, y):
    """x [N, C, H, W]; wr [C, kh, kw, Co]; bias [Co]; y [N, Co, ho, wo]. Zero inputs are
    skipped; each sample accumulates in a small scratch ``[ho, wo, Co]`` of its own (a
    batch-sized one costs fresh pages on every call). The innermost loop runs over 1-d rows
    (``arow``, ``wrow``) indexed from 0: numba then emits no negative-index check there and
    LLVM vectorises it (indexing ``a[oh, ow, co]`` directly was 4x slower)."""
    N, C, H, W = x.shape
    kh, kw, Co = wr.shape[1], wr.shape[2], wr.shape[3]
    for n in prange(N):
        a = np.zeros((ho, wo, Co), dtype=y.dtype)
        for c in range(C):
            for h in range(H):
                hp = h + pad
                ilo, ihi, ist = _taps(hp, kh, stride, ho)
                oh0 = (hp - ilo) // stride  # output row of tap ilo; one less per tap
                for w in range(W):
                    v = x[n, c, h, w]
                    if v == 0:
                        continue
                    wp = w + pad
                    jlo, jhi, jst = _taps(wp, kw, stride, wo)
                    ow0 = (wp - jlo) // stride
                    oh = oh0
                    for i in range(ilo, ihi, ist):
                        ow = ow0
                        for j in range(jlo, jhi, jst):
                            arow = a[oh, ow]
                            wrow = wr[c, i, j]
                            for co in range(Co):
                                arow[co] += v * wrow[co]
                            ow -= 1
                        oh -= 1
        for co in range(Co):
            for oh in range(ho):
                for ow in range(wo):
                    y[n, co, oh, ow] = a[oh, ow, co] + bias[co]


def _sparse_gw(x, g, stride, pad, gl, gwr):
    """Weight gradient from sparse input: x [N, C, H, W], g [N, Co, ho, wo] (d loss / d out);
    gl [K, ho, wo, Co] scratch; gwr [K, C, kh, kw, Co] per-chunk sums (K batch chunks)."""
    N, C, H, W = x.shape
    Co, ho, wo = g.shape[1], g.shape[2], g.shape[3]
    K, kh, kw = gwr.shape[0], gwr.shape[2], gwr.shape[3]
    for k in prange(K):
        acc = gwr[k]
        acc[...] = 0.0
        q = gl[k]
        for n in range(k * N // K, (k + 1) * N // K):
            for co in range(Co):
                for oh in range(ho):
                    for ow in range(wo):
                        q[oh, ow, co] = g[n, co, oh, ow]
            for c in range(C):
                for h in range(H):
                    hp = h + pad
                    ilo, ihi, ist = _taps(hp, kh, stride, ho)
                    oh0 = (hp - ilo) // stride
                    for w in range(W):
                        v = x[n, c, h, w]
                        if v == 0:
                            continue
                        wp = w + pad
                        jlo, jhi, jst = _taps(wp, kw, stride, wo)
                        ow0 = (wp - jlo) // stride
                        oh = oh0
                        for i in range(ilo, ihi, ist):
                            ow = ow0
                            for j in range(jlo, jhi, jst):
                                arow = acc[c, i, j]  # 1-d rows: see _sparse_fwd
                                qrow = q[oh, ow]
                                for co in range(Co):
                                    arow[co] += v * qrow[co]
                                ow -= 1
                            oh -= 1


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


def _sparse_gx(g, wt, kw, stride, pad, gx):
    """Input gradient that skips zero output gradients (after max pooling at most one in
    k*k is non-zero): g [N, Co, ho, wo]; wt [Co, kh, L], row ``i`` = ``weight[co, :, i, :]``
    in (j, c) order, zero-padded to ``L`` (a multiple of 16: whole vectors); gx [N, C, H, W].

    Per sample: the output gradient is laid out as ``q [ho, wo, Co]``; for each output
    position the non-zero ``q`` values are summed against ``wt`` into a small buffer ``t [kh,
    L]`` that stays in L1, which is then added once to the ``kh`` rows of the padded input
    gradient ``a [Hp, Wp*C + L - kw*C]`` ((w, c) order; the extra columns absorb the zero
    tail). Adding every non-zero straight into ``a`` was 2x slower: neighbouring positions'
    rows overlap, and the stores of one wait on the loads of the next."""
    N, Co, ho, wo = g.shape
    kh, L = wt.shape[1], wt.shape[2]
    C, H, W = gx.shape[1], gx.shape[2], gx.shape[3]
    for n in prange(N):
        a = np.zeros((H + 2 * pad, (W + 2 * pad) * C + L - kw * C), dtype=gx.dtype)
        q = np.empty((ho, wo, Co), dtype=gx.dtype)
        t = np.empty((kh, L), dtype=gx.dtype)
        for co in range(Co):
            for oh in range(ho):
                for ow in range(wo):
                    q[oh, ow, co] = g[n, co, oh, ow]
        for oh in range(ho):
            h0 = oh * stride
            for ow in range(wo):
                qr = q[oh, ow]
                t[...] = 0.0
                hit = False
                for co in range(Co):
                    v = qr[co]
                    if v == 0:
                        continue
                    hit = True
                    wc = wt[co]
                    for i in range(kh):
                        ti = t[i]
                        wi = wc[i]
                        for m in range(L):
                            ti[m] += v * wi[m]
                if not hit:
                    continue
                b0 = np.uint64(ow * stride * C)  # unsigned: no negative-index check
                for i in range(kh):
                    row = a[h0 + i]
                    ti = t[i]
                    for m in range(np.uint64(L)):
                        row[b0 + m] += ti[m]
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    gx[n, c, h, w] = a[h + pad, (w + pad) * C + c]


_IM2COL, _COL2IM = _pair(_im2col), _pair(_col2im)
_TO_NCHW, _TO_ROWS = _pair(_nhwc_to_nchw), _pair(_nchw_to_nhwc)
_MP_FWD, _MP_BWD = _pair(_maxpool_fwd), _pair(_maxpool_bwd)
_SP_FWD, _SP_GW, _SP_GX = _pair(_sparse_fwd), _pair(_sparse_gw), _pair(_sparse_gx)
_GW_CHUNKS = 8  # batch chunks of the sparse weight gradient (fixed: results do not depend on
                # the thread count)


def im2col(x: np.ndarray, kh: int, kw: int, stride: int) -> tuple[np.ndarray, int, int]:
    n, c, h, w = x.shape
    ho, wo = (h - kh) // stride + 1, (w - kw) // stride + 1
    cols = np.empty((n * ho * wo, c * kh * kw), dtype=x.dtype)
    _IM2COL[cols.size < _SMALL](np.ascontiguousarray(x), kh, kw, stride, ho, wo, cols)
    return cols, ho, wo


def col2im(gcols: np.ndarray, shape: tuple, kh: int, kw: int, stride: int, ho: int,
           wo: int, out: np.ndarray | None = None) -> np.ndarray:
    gx = np.empty(shape, dtype=gcols.dtype) if out is None else out
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


def maxpool_forward(x: np.ndarray, k: int, empty=np.empty) -> tuple[np.ndarray, np.ndarray]:
    """``(y, idx)``: the maxima and the flat window position of each. ``empty(shape, dtype)``
    allocates the results (a layer passes its workspace, :meth:`Layer._empty`)."""
    n, c, h, w = x.shape
    y = empty((n, c, h // k, w // k), x.dtype)
    idx = empty(y.shape, np.dtype(np.uint8 if k * k < 256 else np.int32))
    _MP_FWD[x.size < _SMALL](np.ascontiguousarray(x), k, y, idx)
    return y, idx


def maxpool_backward(g: np.ndarray, idx: np.ndarray, k: int, shape: tuple,
                     out: np.ndarray | None = None) -> np.ndarray:
    gx = np.empty(shape, dtype=g.dtype) if out is None else out
    _MP_BWD[gx.size < _SMALL](np.ascontiguousarray(g), idx, k, gx)
    return gx


def sparse_conv_forward(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride: int,
                        pad: int, out: np.ndarray | None = None,
                        nnz: int | None = None) -> np.ndarray:
    """Convolution ``[N, C, H, W] -> [N, Co, ho, wo]`` that skips zero inputs (``x`` is not
    padded; ``pad`` zeros are implied). ``out``: an array of the output's shape and dtype to
    write into (else a new one); ``nnz``: the non-zeros of ``x`` if the caller counted them."""
    n, c, h, wd = x.shape
    co, _, kh, kw = w.shape
    ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    wr = np.ascontiguousarray(w.transpose(1, 2, 3, 0))
    b = np.zeros(co, w.dtype) if bias is None else np.ascontiguousarray(bias, dtype=w.dtype)
    y = np.empty((n, co, ho, wo), dtype=w.dtype) if out is None else out
    work = (np.count_nonzero(x) if nnz is None else nnz) * kh * kw * co
    _SP_FWD[bool(work < _SMALL)](np.ascontiguousarray(x, dtype=w.dtype), wr, b, stride, pad,
                                 ho, wo, y)
    return y


def sparse_conv_weight_grad(x: np.ndarray, g: np.ndarray, kh: int, kw: int, stride: int,
                            pad: int) -> np.ndarray:
    """``d loss / d weight [Co, C, kh, kw]`` of :func:`sparse_conv_forward` for the output
    gradient ``g [N, Co, ho, wo]``, skipping zero inputs."""
    n, c = x.shape[:2]
    co, ho, wo = g.shape[1:]
    k = max(1, min(_GW_CHUNKS, n))
    gl = np.empty((k, ho, wo, co), dtype=g.dtype)
    gwr = np.empty((k, c, kh, kw, co), dtype=g.dtype)
    _SP_GW[bool(x.size * co < _SMALL)](np.ascontiguousarray(x, dtype=g.dtype),
                                 np.ascontiguousarray(g), stride, pad, gl, gwr)
    tot = gwr[0].copy()
    for i in range(1, k):  # fixed order: reproducible
        tot += gwr[i]
    return np.ascontiguousarray(tot.transpose(3, 0, 1, 2))


def sparse_conv_input_grad(g: np.ndarray, w: np.ndarray, x_shape: tuple, stride: int,
                           pad: int, out: np.ndarray | None = None,
                           nnz: int | None = None) -> np.ndarray:
    """``d loss / d x [N, C, H, W]`` of a convolution with weight ``w [Co, C, kh, kw]`` for
    the output gradient ``g [N, Co, ho, wo]``, skipping zeros of ``g`` (exact for any
    values; cost proportional to the non-zeros of ``g``). ``out``, ``nnz`` (of ``g``) as in
    :func:`sparse_conv_forward`."""
    co, c, kh, kw = w.shape
    ln = kw * c
    L = -(-ln // 16) * 16
    wt = np.zeros((co, kh, L), dtype=g.dtype)
    wt[:, :, :ln] = w.transpose(0, 2, 3, 1).reshape(co, kh, ln)
    gx = np.empty(x_shape, dtype=g.dtype) if out is None else out
    work = (np.count_nonzero(g) if nnz is None else nnz) * kh * L
    _SP_GX[bool(work < _SMALL)](np.ascontiguousarray(g), wt, kw, stride, pad, gx)
    return gx
