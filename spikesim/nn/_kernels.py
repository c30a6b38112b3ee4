"""numba kernels for the feed-forward LIF recurrence over time (forward and BPTT backward).

Arrays are ``[T, B, N]`` (time, batch, neurons; C order); the parallel loop runs over the
batch and the inner loop over contiguous neurons. A static (direct) input is ``[1, B, N]`` and
is added at every step. ``beta`` and ``theta`` are 1-d arrays of length ``N``. State is carried
in float64 and stored (rounded) in the dtype of the output arrays, and the stored value is the
state of the next step, so a recomputation gives bit-identical results. Slow twins live in
``tests/naive_nn.py``.

Convention (see :class:`spikesim.nn.LIF`)::

    subtract: U[t] = beta * (U[t-1] - theta * S[t-1]) + X[t]
    zero:     U[t] = beta * U[t-1] * (1 - S[t-1]) + X[t]
    S[t] = H(U[t] - theta)  (H(0) = 1: U >= theta spikes)
    (gradient-check mode: S[t] = smooth(U[t] - theta))
"""
from __future__ import annotations

import math
import types

import numba as nb
import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _sg_grad(code, p, x):
    if code == 0:
        a = 1.0 + p * abs(x)
        return 1.0 / (a * a)
    if code == 1:
        z = math.pi / 2 * p * x
        return (p / 2) / (1.0 + z * z)
    g = 1.0 - abs(x) / p
    return g / p if g > 0.0 else 0.0


@njit(cache=True, inline="always")
def _sg_smooth(code, p, x):
    if code == 0:
        return x / (1.0 + p * abs(x)) + 1.0 / p
    if code == 1:
        return math.atan(math.pi / 2 * p * x) / math.pi + 0.5
    xc = min(max(x, -p), p)
    if xc < 0.0:
        return (xc + p) * (xc + p) / (2 * p * p)
    return 1.0 - (p - xc) * (p - xc) / (2 * p * p)


def _lif_forward(X, T, beta, theta, reset_zero, smooth, code, p, U, S):
    B = U.shape[1]
    N = U.shape[2]
    static = X.shape[0] == 1
    for bi in prange(B):
        u = np.zeros(N)
        s = np.zeros(N)
        for t in range(T):
            tx = 0 if static else t
            for j in range(N):
                b = np.float64(beta[j])
                th = np.float64(theta[j])
                x = np.float64(X[tx, bi, j])
                if reset_zero:
                    v = b * u[j] * (1.0 - s[j]) + x
                else:
                    v = b * (u[j] - th * s[j]) + x
                U[t, bi, j] = v
                # the stored (rounded) value is the state, so recomputation is bit-identical
                v = np.float64(U[t, bi, j])
                if smooth:
                    sv = _sg_smooth(code, p, v - th)
                else:
                    sv = 1.0 if v >= th else 0.0
                S[t, bi, j] = sv
                u[j] = v
                s[j] = np.float64(S[t, bi, j])


def _lif_backward(gS, U, S, beta, theta, reset_zero, detach, code, p, need_b, need_th, gX,
                  gbeta, gtheta):
    """gX is [T, B, N] or [1, B, N] (static input: summed over time); gbeta/gtheta [B, N]
    (filled only when need_b / need_th; the sums are skipped otherwise)."""
    T = U.shape[0]
    B = U.shape[1]
    N = U.shape[2]
    static = gX.shape[0] == 1
    for bi in prange(B):
        gu_next = np.zeros(N)
        acc = np.zeros(N)
        gb = np.zeros(N)
        gth = np.zeros(N)
        for t in range(T - 1, -1, -1):
            last = t == T - 1
            for j in range(N):
                b = np.float64(beta[j])
                th = np.float64(theta[j])
                u = np.float64(U[t, bi, j])
                gs = np.float64(gS[t, bi, j])
                carry = 0.0
                gn = gu_next[j]
                if not last:
                    if reset_zero:
                        if not detach:
                            gs += gn * (-b * u)
                        carry = gn * b * (1.0 - np.float64(S[t, bi, j]))
                    else:
                        if not detach:
                            gs += gn * (-b * th)
                        carry = gn * b
                        if need_th:
                            gth[j] += gn * (-b * np.float64(S[t, bi, j]))
                sg = _sg_grad(code, p, u - th)
                gu = gs * sg + carry
                if need_th:
                    gth[j] -= gs * sg
                if need_b and t > 0:
                    up = np.float64(U[t - 1, bi, j])
                    sp = np.float64(S[t - 1, bi, j])
                    if reset_zero:
                        gb[j] += gu * up * (1.0 - sp)
                    else:
                        gb[j] += gu * (up - th * sp)
                if static:
                    acc[j] += gu
                else:
                    gX[t, bi, j] = gu
                gu_next[j] = gu
        for j in range(N):
            if static:
                gX[0, bi, j] = acc[j]
            if need_b:
                gbeta[bi, j] = gb[j]
            if need_th:
                gtheta[bi, j] = gth[j]


def _lif_backward_detached(gS, U, beta, theta, code, p, gX):
    """The common case of :func:`_lif_backward` without branches in the inner loop: reset by
    subtraction, detached, no gradient for beta or theta. Then ``dU[t+1]/dU[t] = beta`` and
    the spikes are not needed. Same arithmetic (float64) as the general kernel."""
    T = U.shape[0]
    B = U.shape[1]
    N = U.shape[2]
    static = gX.shape[0] == 1
    for bi in prange(B):
        gu_next = np.zeros(N)
        acc = np.zeros(N)
        for t in range(T - 1, -1, -1):
            for j in range(N):
                u = np.float64(U[t, bi, j])
                th = np.float64(theta[j])
                gu = np.float64(gS[t, bi, j]) * _sg_grad(code, p, u - th) \
                    + gu_next[j] * np.float64(beta[j])
                if static:
                    acc[j] += gu
                else:
                    gX[t, bi, j] = gu
                gu_next[j] = gu
        if static:
            for j in range(N):
                gX[0, bi, j] = acc[j]


def _li_forward(X, T, beta, U):
    B = U.shape[1]
    N = U.shape[2]
    static = X.shape[0] == 1
    for bi in prange(B):
        u = np.zeros(N)
        for t in range(T):
            tx = 0 if static else t
            for j in range(N):
                U[t, bi, j] = np.float64(beta[j]) * u[j] + np.float64(X[tx, bi, j])
                u[j] = np.float64(U[t, bi, j])


def _li_backward(gU, U, beta, gX, gbeta):
    T = U.shape[0]
    B = U.shape[1]
    N = U.shape[2]
    static = gX.shape[0] == 1
    for bi in prange(B):
        g = np.zeros(N)
        acc = np.zeros(N)
        gb = np.zeros(N)
        for t in range(T - 1, -1, -1):
            for j in range(N):
                g[j] = np.float64(gU[t, bi, j]) + np.float64(beta[j]) * g[j]
                if t > 0:
                    gb[j] += g[j] * np.float64(U[t - 1, bi, j])
                if static:
                    acc[j] += g[j]
                else:
                    gX[t, bi, j] = g[j]
        for j in range(N):
            if static:
                gX[0, bi, j] = acc[j]
            gbeta[bi, j] = gb[j]


def _adam(p, g, m, v, b1, c1, b2, c2, step, ibc2, eps, keep):
    """One Adam step on flat arrays in a single pass, in the arrays' precision (the scalars
    come in that dtype): m = b1 m + c1 g; v = b2 v + c2 g^2; p *= keep (AdamW decay);
    p -= step * m / (sqrt(v * ibc2) + eps), with c = 1 - b, step = lr / (1 - b1^t) and
    ibc2 = 1 / (1 - b2^t)."""
    for i in prange(p.size):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        p[i] = p[i] * keep - step * mi / (np.sqrt(vi * ibc2) + eps)


# Each kernel exists in a parallel (prange over the batch) and a serial build; small problems
# use the serial one. T * B * N below which the serial build runs. High on purpose: these
# kernels stream memory, and after a parallel region numba's OpenMP threads keep spinning
# for a while, so the two-thread BLAS call that follows (Dense, Conv2d) competes with them
# for the two cores. Measured on the 2-core CI machine type, MNIST fc 784-1000-10, T=25,
# batch 128, 6400 images, best of 3: LIF/LI/Adam on 2 threads 1.60 s per epoch, serial
# 0.71-0.73 s (the same as 2 threads with OMP_WAIT_POLICY=passive, which the clock engine's
# one-region-per-step kernel cannot afford). (Figures from before 2026-12-07 that credit
# these kernels with 2 threads were measured while the parallel builds loaded the serial
# code from numba's cache; see _pair.)
_SMALL = 50_000_000


def _renamed(f, suffix: str):
    """A copy of plain function ``f`` whose qualified name ends in ``suffix``."""
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__ + suffix, f.__defaults__,
                           f.__closure__)
    g.__qualname__ = f.__qualname__ + suffix
    g.__doc__ = f.__doc__
    return g


def _pair(f):
    """(parallel, serial) builds of ``f``. ``error_model="numpy"``: a float division does not
    check its divisor for zero (Python's check is a branch that stops LLVM from vectorising
    the loop; measured: LIF backward [25, 128, 1000] 6.5 ms -> 2.1 ms, bit-identical). Every
    divisor in these kernels is positive by construction (validated parameters, ``+ eps``).

    The two builds are compiled from copies of ``f`` with their own names: numba's on-disk
    cache keys an entry by the function's name, signature and bytecode but not by
    ``parallel=``, so two builds of one function share one entry and whichever compiled
    first is loaded for both (a "parallel" kernel that runs on one thread, measured: the
    same CPU time as wall time on 2 threads; tests/test_nn_kernels_cache.py)."""
    kw = dict(cache=True, error_model="numpy")
    return (njit(parallel=True, **kw)(_renamed(f, "__parallel")),
            njit(**kw)(_renamed(f, "__serial")))


_LIF_FWD = _pair(_lif_forward)
_LIF_BWD = _pair(_lif_backward)
_LIF_BWD_DET = _pair(_lif_backward_detached)
_LI_FWD = _pair(_li_forward)
_LI_BWD = _pair(_li_backward)
_ADAM = _pair(_adam)


def lif_forward(X, T, beta, theta, reset_zero, smooth, code, p, U, S):
    _LIF_FWD[U.size < _SMALL](X, T, beta, theta, reset_zero, smooth, code, p, U, S)


def lif_backward(gS, U, S, beta, theta, reset_zero, detach, code, p, gX, gbeta, gtheta,
                 need_b=True, need_th=True):
    if not reset_zero and detach and not need_b and not need_th:
        _LIF_BWD_DET[U.size < _SMALL](gS, U, beta, theta, code, p, gX)
        return
    _LIF_BWD[U.size < _SMALL](gS, U, S, beta, theta, reset_zero, detach, code, p, need_b,
                              need_th, gX, gbeta, gtheta)


def li_forward(X, T, beta, U):
    _LI_FWD[U.size < _SMALL](X, T, beta, U)


def li_backward(gU, U, beta, gX, gbeta):
    _LI_BWD[U.size < _SMALL](gU, U, beta, gX, gbeta)


def adam_update(p, g, m, v, b1, b2, step, bc2, eps, decay):
    """In place on ``p``, ``m``, ``v`` (C-contiguous, same shape and dtype)."""
    f = p.dtype.type
    _ADAM[p.size < _SMALL](p.reshape(-1), np.ascontiguousarray(g, dtype=p.dtype).reshape(-1),
                           m.reshape(-1), v.reshape(-1), f(b1), f(1 - b1), f(b2), f(1 - b2),
                           f(step), f(1 / bc2), f(eps), f(1 - decay))


def set_threads(n: int) -> None:
    """Number of numba threads used by the kernels (``numba.set_num_threads``)."""
    nb.set_num_threads(int(n))
