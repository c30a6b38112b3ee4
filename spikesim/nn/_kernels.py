"""numba kernels for the feed-forward LIF recurrence over time (forward and BPTT backward).

Arrays are ``[T, M]`` with ``M = batch * n_feat`` (C order, feature index ``m % n_feat``).
A static (direct) input is ``[1, M]`` and is added at every step. ``beta`` and ``theta`` are
1-d arrays of length 1 (shared) or ``n_feat`` (per neuron). State is carried in float64 and
stored in the dtype of the output arrays. Slow twins live in ``tests/naive_nn.py``.

Convention (see :class:`spikesim.nn.LIF`)::

    subtract: U[t] = beta * (U[t-1] - theta * S[t-1]) + X[t]
    zero:     U[t] = beta * U[t-1] * (1 - S[t-1]) + X[t]
    S[t] = H(U[t] - theta)  (H(0) = 0),  or smooth(U[t] - theta) in gradient-check mode
"""
from __future__ import annotations

import math

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


@njit(cache=True, parallel=True)
def _lif_forward(X, T, beta, theta, n_feat, reset_zero, smooth, code, p, U, S):
    M = U.shape[1]
    static = X.shape[0] == 1
    nbeta = beta.shape[0]
    nth = theta.shape[0]
    for m in prange(M):
        j = m % n_feat
        b = np.float64(beta[j if nbeta > 1 else 0])
        th = np.float64(theta[j if nth > 1 else 0])
        u = 0.0
        s = 0.0
        for t in range(T):
            x = np.float64(X[0, m]) if static else np.float64(X[t, m])
            if reset_zero:
                u = b * u * (1.0 - s) + x
            else:
                u = b * (u - th * s) + x
            if smooth:
                s = _sg_smooth(code, p, u - th)
            else:
                s = 1.0 if u > th else 0.0
            U[t, m] = u
            S[t, m] = s
            # the stored (rounded) value is the state, so recomputation is bit-identical
            u = np.float64(U[t, m])


@njit(cache=True, parallel=True)
def _lif_backward(gS, U, S, beta, theta, n_feat, reset_zero, detach, code, p,
                  gX, gbeta, gtheta):
    """gX is [T, M] or [1, M] (static input: summed over time); gbeta/gtheta are [M]."""
    T = U.shape[0]
    M = U.shape[1]
    static = gX.shape[0] == 1
    nbeta = beta.shape[0]
    nth = theta.shape[0]
    for m in prange(M):
        j = m % n_feat
        b = np.float64(beta[j if nbeta > 1 else 0])
        th = np.float64(theta[j if nth > 1 else 0])
        gu_next = 0.0
        acc = 0.0
        gb = 0.0
        gth = 0.0
        for t in range(T - 1, -1, -1):
            u = np.float64(U[t, m])
            s = np.float64(S[t, m])
            gs = np.float64(gS[t, m])
            carry = 0.0
            if t < T - 1:
                if reset_zero:
                    if not detach:
                        gs += gu_next * (-b * u)
                    carry = gu_next * b * (1.0 - s)
                else:
                    if not detach:
                        gs += gu_next * (-b * th)
                    carry = gu_next * b
                    gth += gu_next * (-b * s)
            sg = _sg_grad(code, p, u - th)
            gu = gs * sg + carry
            gth -= gs * sg
            if t > 0:
                up = np.float64(U[t - 1, m])
                sp = np.float64(S[t - 1, m])
                if reset_zero:
                    gb += gu * up * (1.0 - sp)
                else:
                    gb += gu * (up - th * sp)
            if static:
                acc += gu
            else:
                gX[t, m] = gu
            gu_next = gu
        if static:
            gX[0, m] = acc
        gbeta[m] = gb
        gtheta[m] = gth


@njit(cache=True, parallel=True)
def _li_forward(X, T, beta, n_feat, U):
    M = U.shape[1]
    static = X.shape[0] == 1
    nbeta = beta.shape[0]
    for m in prange(M):
        b = np.float64(beta[(m % n_feat) if nbeta > 1 else 0])
        u = 0.0
        for t in range(T):
            u = b * u + (np.float64(X[0, m]) if static else np.float64(X[t, m]))
            U[t, m] = u
            u = np.float64(U[t, m])


@njit(cache=True, parallel=True)
def _li_backward(gU, U, beta, n_feat, gX, gbeta):
    T = U.shape[0]
    M = U.shape[1]
    static = gX.shape[0] == 1
    nbeta = beta.shape[0]
    for m in prange(M):
        b = np.float64(beta[(m % n_feat) if nbeta > 1 else 0])
        g = 0.0
        acc = 0.0
        gb = 0.0
        for t in range(T - 1, -1, -1):
            g = np.float64(gU[t, m]) + b * g
            if t > 0:
                gb += g * np.float64(U[t - 1, m])
            if static:
                acc += g
            else:
                gX[t, m] = g
        if static:
            gX[0, m] = acc
        gbeta[m] = gb


def set_threads(n: int) -> None:
    """Number of numba threads used by the kernels (``numba.set_num_threads``)."""
    nb.set_num_threads(int(n))
