"""Bit-exact integer inference of a list of integer layers (see :mod:`.layers`).

Exactness of the fast path (the proof the issue asks for, applied per layer):
every product ``x * w`` and every partial sum of a dot product is an integer bounded in
absolute value by ``B = max|x| * max_c sum_k |w_ck|`` (:meth:`_MacLayer.sum_bound`). An IEEE
float with a ``p``-bit significand represents every integer of magnitude <= ``2**p`` exactly,
so when ``B <= 2**24`` every multiply, add and fused multiply-add in a float32 GEMM returns
the exact integer whatever the BLAS summation order. When ``B`` is larger (but ``<= 2**53``)
the fan-in is cut into consecutive chunks whose own bound (``max|x| x max_c sum over the
chunk of |w_ck|``) is ``<= 2**24`` (:func:`_k_chunks`); each chunk is an exact float32 GEMM
and the chunk results are added in float64, exact because every partial total is an integer
of magnitude ``<= B <= 2**53``. Layers above ``2**53`` fall back to an int64 matmul (exact,
slower; unreachable with <= 8-bit operands below a fan-in of 2.7e11). The int32 bias is added
afterwards in int64. :meth:`_MacLayer.exact_dtype` picks the path; the choice is reported per
layer in the run statistics.

Threads: a conv layer is processed in cache-sized batch chunks, two at a time on two worker
threads (the numba kernels release the GIL); while they run, BLAS is limited to one thread per
call with ``threadpoolctl`` when it is installed (process-wide for that time), which avoids
oversubscribing the cores. Results do not depend on the threading.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from spikesim.backends.northpole.layers import (
    IntAvgPool2d, IntConv2d, IntDense, IntFlatten, IntMaxPool2d,
    IntReLU, int_range,
)

_DT = {"float32": np.float32, "float32-split": np.float32, "float64": np.float64,
       "int64": np.int64}
_F32_EXACT = 2 ** 24
#: worker threads for conv chunks (each runs im2col, a 1-thread GEMM and requantisation)
_WORKERS = 2


def _blas_single_thread():
    """Context limiting BLAS to one thread per call (threadpoolctl if installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")
#: im2col chunks are kept near this many elements (cache-sized blocks: im2col, GEMM and
#: requantisation of a block run while it is hot in cache).
_IM2COL_ELEMS = 1_000_000


@njit(cache=True, nogil=True)
def _requant_kernel(acc, bias, M, s, lo, hi, do_requant, out):  # pragma: no cover - numba
    """acc [R, C] (float or int, integer values) + bias[C] -> int32 clamp -> optional
    requantisation ``(a*M + 2**(s-1)) >> s`` and clamp to [lo, hi]; writes ``out``.
    Returns (accumulator saturations, output saturations)."""
    r, c = acc.shape
    nacc = 0
    nout = 0
    for i in range(r):
        for j in range(c):
            a = np.int64(acc[i, j]) + bias[j]
            if a > 2147483647:
                a = 2147483647
                nacc += 1
            elif a < -2147483648:
                a = -2147483648
                nacc += 1
            if do_requant:
                sj = s[j]
                y = (a * M[j] + (np.int64(1) << (sj - 1))) >> sj
                if y > hi:
                    y = hi
                    nout += 1
                elif y < lo:
                    y = lo
                    if lo < 0:  # an unsigned output's lower clamp is the fused ReLU
                        nout += 1
                out[i, j] = y
            else:
                out[i, j] = a
    return nacc, nout


@njit(cache=True, nogil=True)
def _im2col_kernel(x, kh, kw, sh, sw, ph, pw, ho, wo, cols):  # pragma: no cover - numba
    """x [N, H, W, C] -> cols [N*ho*wo, kh*kw*C] (patch order kh, kw, C), zero padding."""
    n, h, w, c = x.shape
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                row = (b * ho + i) * wo + j
                k = 0
                for di in range(kh):
                    r = i * sh + di - ph
                    for dj in range(kw):
                        q0 = j * sw + dj - pw
                        if r < 0 or r >= h or q0 < 0 or q0 >= w:
                            for q in range(c):
                                cols[row, k] = 0
                                k += 1
                        else:
                            for q in range(c):
                                cols[row, k] = x[b, r, q0, q]
                                k += 1


def requantize(acc: np.ndarray, multiplier: np.ndarray, shift: np.ndarray, out_bits: int,
               signed: bool) -> tuple[np.ndarray, int]:
    """``clamp((acc * M + 2**(s-1)) >> s)`` per output channel (last axis of ``acc``).

    ``acc`` integer values (int32 range) in any numeric dtype; ``multiplier``/``shift`` per
    channel (or scalars). Rounding is half toward +infinity (an arithmetic right shift
    floors). Returns ``(y int64, n_saturated)``; ``n_saturated`` counts values clamped to the
    ``out_bits`` range (for unsigned outputs only at the top: the clamp at 0 is the ReLU). (The engine runs the same arithmetic in a numba kernel; this numpy
    version is its readable twin and is used for pooling.)

    Example::

        y, nsat = requantize(np.array([[300]]), np.array([2**30]), np.array([31]), 8, True)
        # 300 * 0.5 = 150 -> clamped to 127, nsat = 1
    """
    acc = np.asarray(acc).astype(np.int64)
    M = np.asarray(multiplier, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    rnd = np.left_shift(np.int64(1), s - 1)
    y = (acc * M + rnd) >> s
    lo, hi = int_range(out_bits, signed)
    nsat = int((np.count_nonzero(y < lo) if signed else 0) + np.count_nonzero(y > hi))
    np.clip(y, lo, hi, out=y)
    return y, nsat


def _k_chunks(wt: np.ndarray, xmax: int, limit: int = _F32_EXACT) -> list[tuple[int, int]]:
    """Cut the fan-in (rows of ``wt`` [K, O]) into consecutive ranges whose partial sums are
    bounded by ``limit``: ``xmax * max_c sum_{k in range} |wt[k, c]| <= limit``."""
    cs = np.concatenate([np.zeros((1, wt.shape[1])), np.cumsum(np.abs(wt), axis=0,
                                                                dtype=np.float64)])
    k = wt.shape[0]
    out, s = [], 0
    while s < k:
        m = (cs[s + 1:] - cs[s]).max(axis=1) * xmax       # non-decreasing in the range end
        e = s + max(1, int(np.searchsorted(m, limit, side="right")))
        out.append((s, min(e, k)))
        s = min(e, k)
    return out


def _matmul_exact(a: np.ndarray, wt: np.ndarray, dtype: str, xmax: int = 0) -> np.ndarray:
    """``a @ wt`` for integer-valued arrays by the path ``dtype`` names (exact by the module
    proof when :meth:`exact_dtype` chose it). ``xmax``: bound on ``|a|`` (for the split)."""
    if dtype == "float32-split":
        a32 = a.astype(np.float32, copy=False)
        w32 = wt.astype(np.float32)
        acc = np.zeros((a.shape[0], wt.shape[1]), np.float64)
        for s, e in _k_chunks(wt, xmax):
            acc += a32[:, s:e] @ w32[s:e]
        return acc
    dt = _DT[dtype]
    return a.astype(dt, copy=False) @ wt.astype(dt, copy=False)


def _xmax(layer) -> int:
    lo, hi = int_range(layer.in_bits, layer.in_signed)
    return max(abs(lo), abs(hi))


def _mac_out(layer, acc2d: np.ndarray, st: dict, out: np.ndarray | None = None) -> np.ndarray:
    """Bias, int32 clamp and requantisation of a ``[rows, out]`` accumulator block (in place
    when the block is float32 and the layer requantises)."""
    c = acc2d.shape[1]
    if layer.out_bits is None:
        out = np.empty(acc2d.shape, dtype=np.int64) if out is None else out
        M = np.zeros(c, dtype=np.int64)
        sh = np.ones(c, dtype=np.int64)
        lo = hi = 0
    else:
        if out is None:
            out = acc2d if acc2d.dtype == np.float32 else np.empty(acc2d.shape, np.float32)
        M = np.asarray(layer.multiplier, dtype=np.int64)
        sh = np.asarray(layer.shift, dtype=np.int64)
        lo, hi = int_range(layer.out_bits, layer.out_signed)
    na, no = _requant_kernel(acc2d, layer.bias, M, sh, np.int64(lo), np.int64(hi),
                             layer.out_bits is not None, out)
    st["acc_saturations"] += int(na)
    st["out_saturations"] += int(no)
    return out


def _dense(layer: IntDense, x: np.ndarray, st: dict) -> np.ndarray:
    dtype = layer.exact_dtype()
    st["dtype"] = dtype
    acc = _matmul_exact(x, layer.weight.T, dtype, _xmax(layer))
    return _mac_out(layer, acc, st)


def _conv(layer: IntConv2d, x: np.ndarray, st: dict) -> np.ndarray:
    """x: NHWC (integer values, float32 or int64) -> NHWC."""
    dtype = layer.exact_dtype()
    st["dtype"] = dtype
    dt = _DT[dtype]
    n, h, w, c = x.shape
    o, _, kh, kw = layer.weight.shape
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    _, ho, wo = layer.out_shape((c, h, w))
    # weights reordered to (kh, kw, C) to match the patch order below
    wt = np.ascontiguousarray(layer.weight.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)).astype(dt)
    xp = np.ascontiguousarray(x, dtype=dt)
    rows = ho * wo
    out = np.empty((n * rows, o), dtype=np.float32 if layer.out_bits is not None else np.int64)
    per = max(1, _IM2COL_ELEMS // max(1, rows * kh * kw * c))
    direct = out.dtype == dt and dtype == "float32"
    xm = _xmax(layer)
    starts = list(range(0, n, per))
    workers = min(_WORKERS, len(starts))
    bufs = [np.empty((min(per, n) * rows, kh * kw * c), dtype=dt) for _ in range(workers)]

    def chunk(i: int) -> tuple[int, int]:
        b0 = starts[i]
        nb = min(per, n - b0)
        cb = bufs[i % workers][:nb * rows]
        _im2col_kernel(xp[b0:b0 + nb], kh, kw, sh, sw, ph, pw, ho, wo, cb)
        ob = out[b0 * rows:(b0 + nb) * rows]
        loc = {"acc_saturations": 0, "out_saturations": 0}
        if direct:  # GEMM straight into the output block, requantised in place
            np.matmul(cb, wt, out=ob)
            _mac_out(layer, ob, loc, ob)
        else:
            _mac_out(layer, _matmul_exact(cb, wt, dtype, xm), loc, ob)
        return loc["acc_saturations"], loc["out_saturations"]

    if workers == 1:
        res = [chunk(i) for i in range(len(starts))]
    else:
        # one chunk per worker thread (numba kernels release the GIL; BLAS limited to one
        # thread per call when threadpoolctl is available, so 2 workers use 2 cores)
        res = []
        with _blas_single_thread(), ThreadPoolExecutor(workers) as ex:
            for k in range(0, len(starts), workers):
                res += list(ex.map(chunk, range(k, min(k + workers, len(starts)))))
    st["acc_saturations"] += sum(r[0] for r in res)
    st["out_saturations"] += sum(r[1] for r in res)
    return out.reshape(n, ho, wo, o)


def _pool_windows(x: np.ndarray, layer) -> np.ndarray:
    (kh, kw), (sh, sw) = layer.kernel, layer.stride
    n, h, w, c = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    return win[:, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw]  # N,Ho,Wo,C,kh,kw


def warmup() -> float:
    """Compile (or load from numba's on-disk cache) the kernel signatures the engine uses;
    returns the seconds it took (reported as ``jit_s``, excluded from run times)."""
    t0 = time.perf_counter()
    one = np.ones(1, np.int64)
    for a in (np.zeros((1, 1), np.float32), np.zeros((1, 1), np.float64)):
        for o in (np.zeros((1, 1), np.float32), np.zeros((1, 1), np.int64)):
            _requant_kernel(a, one, one, one, np.int64(0), np.int64(1), True, o)
    _im2col_kernel(np.zeros((1, 1, 1, 1), np.float32), 1, 1, 1, 1, 0, 0, 1, 1,
                   np.zeros((1, 1), np.float32))
    return time.perf_counter() - t0


def run_layers(layers, x: np.ndarray, in_bits: int, in_signed: bool,
               progress: bool = False) -> tuple[np.ndarray, list[dict]]:
    """Run integer ``layers`` on integer input ``x`` (NCHW or NF), exactly.

    Returns ``(y, stats)``: ``y`` int64 in NCHW/NF layout (the int32 accumulator of a last
    layer with ``out_bits=None``, else its ``out_bits`` integers) and per-layer statistics
    ``{"name", "dtype", "acc_saturations", "out_saturations", "bits", "signed"}``.

    Example::

        y, stats = run_layers(program.layers, x_int, in_bits=8, in_signed=False)
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"x must be an integer array; got {x.dtype}")
    lo, hi = int_range(in_bits, in_signed)
    if x.size and (x.min() < lo or x.max() > hi):
        raise ValueError(f"x values span [{x.min()}, {x.max()}], outside the {in_bits}-bit "
                         f"{'signed' if in_signed else 'unsigned'} range [{lo}, {hi}]")
    cur = x.astype(np.float32)  # integers of <= 8 bits are exact in float32
    nhwc = False
    if cur.ndim == 4:
        cur = np.ascontiguousarray(cur.transpose(0, 2, 3, 1))
        nhwc = True
    bits, signed = in_bits, in_signed
    stats: list[dict] = []
    it = layers
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(layers, desc="northpole layers", leave=False)
    for layer in it:
        st = {"name": layer.name, "dtype": "", "acc_saturations": 0, "out_saturations": 0}
        t0, c0 = time.perf_counter(), time.process_time()
        if isinstance(layer, (IntDense, IntConv2d)):
            if layer.in_bits != bits or layer.in_signed != signed:
                raise ValueError(f"{layer.name} expects {layer.in_bits}-bit "
                                 f"{'signed' if layer.in_signed else 'unsigned'} inputs; the "
                                 f"previous layer gives {bits}-bit "
                                 f"{'signed' if signed else 'unsigned'}")
            if isinstance(layer, IntDense):
                if cur.ndim != 2:
                    raise ValueError(f"{layer.name}: dense layer needs (N, F) input; got "
                                     f"{cur.ndim}-d (add a Flatten)")
                cur = _dense(layer, cur, st)
            else:
                if cur.ndim != 4:
                    raise ValueError(f"{layer.name}: conv layer needs (N, C, H, W) input")
                cur = _conv(layer, cur, st)
            bits, signed = (layer.out_bits, layer.out_signed) if layer.out_bits else (32, True)
        elif isinstance(layer, IntMaxPool2d):
            cur = _pool_windows(cur, layer).max(axis=(-2, -1))
        elif isinstance(layer, IntAvgPool2d):
            ssum = _pool_windows(cur, layer).sum(axis=(-2, -1), dtype=np.float64)
            y, _ = requantize(ssum, np.int64(layer.multiplier), np.int64(layer.shift),
                              bits, signed)
            cur = y.astype(np.float32)
        elif isinstance(layer, IntReLU):
            cur = np.maximum(cur, 0)
            signed = False
        elif isinstance(layer, IntFlatten):
            if cur.ndim == 4 and nhwc:
                cur = cur.transpose(0, 3, 1, 2)
            cur = np.ascontiguousarray(cur).reshape(cur.shape[0], -1)
            nhwc = False
        else:
            raise TypeError(f"layer {getattr(layer, 'name', layer)!r} of type "
                            f"{type(layer).__name__} is not an integer NorthPole layer")
        if cur.ndim != 4:
            nhwc = False
        st["bits"], st["signed"] = bits, signed
        st["run_s"] = time.perf_counter() - t0
        st["cpu_s"] = time.process_time() - c0  # CPU seconds of all threads of the process
        stats.append(st)
    if cur.ndim == 4 and nhwc:
        cur = np.ascontiguousarray(cur.transpose(0, 3, 1, 2))
    return cur.astype(np.int64), stats
