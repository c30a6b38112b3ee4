"""Slow, obviously correct twins of the spikesim.nn kernels and layers (test references)."""
import math

import numpy as np


def sg_grad(kind, p, x):
    if kind == 0:
        return 1.0 / (1.0 + p * abs(x)) ** 2
    if kind == 1:
        return (p / 2) / (1.0 + (math.pi / 2 * p * x) ** 2)
    return max(0.0, 1.0 - abs(x) / p) / p


def lif_forward(X, T, beta, theta, reset="subtract", dtype=np.float32):
    """X [T, N] (or [N] static); scalar beta/theta; H(0) = 1 (U >= theta spikes).
    Returns U, S [T, N]."""
    X = np.asarray(X, dtype=np.float64)
    N = X.shape[-1]
    U = np.zeros((T, N), dtype)
    S = np.zeros((T, N), dtype)
    for n in range(N):
        u, s = 0.0, 0.0
        for t in range(T):
            x = X[n] if X.ndim == 1 else X[t, n]
            if reset == "subtract":
                u = beta * (u - theta * s) + x
            else:
                u = beta * u * (1 - s) + x
            u = float(dtype(u))
            s = 1.0 if u >= theta else 0.0
            U[t, n], S[t, n] = u, s
    return U, S


def lif_backward(gS, U, S, beta, theta, reset="subtract", detach=True, kind=0, p=25.0):
    """Reverse-mode through the recurrence written out step by step. Returns gX [T, N]."""
    T, N = U.shape
    gX = np.zeros((T, N))
    for n in range(N):
        gu_next = 0.0
        for t in reversed(range(T)):
            u, s = float(U[t, n]), float(S[t, n])
            gs = float(gS[t, n])
            carry = 0.0
            if t + 1 < T:
                if reset == "subtract":
                    # U[t+1] = beta*U[t] - beta*theta*S[t] + X[t+1]
                    carry = beta * gu_next
                    if not detach:
                        gs += -beta * theta * gu_next
                else:
                    # U[t+1] = beta*U[t]*(1 - S[t]) + X[t+1]
                    carry = beta * (1 - s) * gu_next
                    if not detach:
                        gs += -beta * u * gu_next
            gu = gs * sg_grad(kind, p, u - theta) + carry
            gX[t, n] = gu
            gu_next = gu
    return gX


def conv2d(x, w, b, stride=1, padding=0):
    """Direct loops: x [N, C, H, W], w [O, C, kh, kw]."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    y = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    if b is not None:
        y += b[None, :, None, None]
    return y


def pool2d(x, k, op):
    n, c, h, w = x.shape
    ho, wo = h // k, w // k
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            win = x[:, :, i * k:(i + 1) * k, j * k:(j + 1) * k]
            y[:, :, i, j] = {"max": win.max(axis=(2, 3)), "sum": win.sum(axis=(2, 3)),
                             "avg": win.mean(axis=(2, 3))}[op]
    return y


def numeric_grad(f, arr, idx, eps=1e-6):
    """Central difference of scalar f() w.r.t. arr.flat[i] for i in idx (arr modified in place
    and restored)."""
    out = np.zeros(len(idx))
    flat = arr.reshape(-1)
    for k, i in enumerate(idx):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        out[k] = (fp - fm) / (2 * eps)
    return out
