"""Recurrent and adaptive LIF layers (time loop in numpy, vectorised over batch and neurons).

Same convention as :class:`spikesim.nn.LIF`, plus a recurrent current from the previous step's
spikes and/or an adaptive threshold (Bellec et al. 2018, LSNN)::

    A[t]  = rho * A[t-1] + S[t-1]                  (adaptation trace, A[-1] = 0)
    TH[t] = theta + b_adapt * A[t]                 (b_adapt = 0 without adaptation)
    subtract: U[t] = beta * (U[t-1] - TH[t-1] * S[t-1]) + X[t] + S[t-1] @ recurrent_weight.T
    zero:     U[t] = beta * U[t-1] * (1 - S[t-1])  + X[t] + S[t-1] @ recurrent_weight.T
    S[t] = H(U[t] - TH[t])

``recurrent_weight`` is ``[N, N]`` (row = target neuron, as PyTorch ``weight [out, in]``).
Only the reset term is detached by default; the recurrent and adaptation paths always carry
gradient.
"""
from __future__ import annotations

import numpy as np

from spikesim.nn.layers import as_rng, _pos_int
from spikesim.nn.spiking import SpikingLayer, _check_reset, _param_array
from spikesim.nn.surrogate import Surrogate, get_surrogate


class RecurrentLIF(SpikingLayer):
    """LIF layer of ``size`` neurons with all-to-all recurrent weights (and optional
    threshold adaptation, see :class:`AdaptiveLIF`).

    Args:
        size: number of neurons (the input must be ``[T, B, size]`` or static ``[B, size]``).
        beta, threshold, reset, surrogate, learn_beta, learn_threshold, detach_reset,
            smooth: as :class:`~spikesim.nn.LIF`.
        recurrent: learn ``recurrent_weight [size, size]`` (init uniform +-1/sqrt(size)).
        rho, b_adapt: adaptation decay per step and strength (0 = no adaptation).
        rng: seed or Generator for the recurrent weights.

    Example:
        >>> r = RecurrentLIF(4, rng=0)
        >>> r.forward(np.ones((5, 2, 4), np.float32)).shape
        (5, 2, 4)
    """

    def __init__(self, size: int, beta: float = 0.9, threshold: float = 1.0,
                 reset: str = "subtract", surrogate: Surrogate | str = "fast_sigmoid",
                 learn_beta: bool = False, learn_threshold: bool = False,
                 recurrent: bool = True, rho: float = 0.0, b_adapt: float = 0.0,
                 detach_reset: bool = True, smooth: bool = False, rng=None, dtype=np.float32):
        super().__init__()
        self.size = _pos_int("size", size)
        self.reset = _check_reset(reset)
        self.surrogate = get_surrogate(surrogate)
        self.detach_reset = bool(detach_reset)
        self.smooth = bool(smooth)
        n = self.size
        (self.params if learn_beta else self.buffers)["beta"] = _param_array(
            "beta", beta, n, dtype, 0.0, 1.0)
        (self.params if learn_threshold else self.buffers)["threshold"] = _param_array(
            "threshold", threshold, n, dtype, 1e-12, np.inf)
        self.buffers["rho"] = _param_array("rho", rho, n, dtype, 0.0, 1.0)
        self.buffers["b_adapt"] = _param_array("b_adapt", b_adapt, n, dtype, 0.0, np.inf)
        if recurrent:
            k = 1.0 / np.sqrt(n)
            self.params["recurrent_weight"] = as_rng(rng).uniform(-k, k, (n, n)).astype(dtype)

    def _get(self, k):
        return self.params[k] if k in self.params else self.buffers[k]

    def _spike(self, v):
        if self.smooth:
            return self.surrogate.smooth(v).astype(v.dtype)
        return (v >= 0).astype(v.dtype)

    def forward_seq(self, x, T, static):
        X, B, feat, n = self._flat(x, T, static, type(self).__name__)
        if feat != (self.size,):
            raise ValueError(f"{type(self).__name__}: input features {feat} != ({self.size},)")
        dt = x.dtype
        X = X.reshape(-1, B, n)
        beta, th = self._get("beta"), self._get("threshold")
        rho, ba = self.buffers["rho"], self.buffers["b_adapt"]
        V = self.params.get("recurrent_weight")
        adapt = bool(np.any(ba != 0))
        U = np.empty((T, B, n), dt)
        S = np.empty((T, B, n), dt)
        A = np.empty((T, B, n), dt)
        u = np.zeros((B, n), dt)
        s = np.zeros((B, n), dt)
        a = np.zeros((B, n), dt)
        thp = np.broadcast_to(th, (B, n))
        for t in range(T):
            if adapt:
                a = rho * a + s
            tht = th + ba * a if adapt else thp
            if self.reset == "zero":
                u = beta * u * (1 - s) + X[0 if static else t]
            else:
                u = beta * (u - thp * s) + X[0 if static else t]
            if V is not None:
                u = u + s @ V.T
            s = self._spike(u - tht)
            U[t], S[t], A[t] = u, s, a
            thp = tht
        self._cache = (U, S, A, static, B) if self.training else None
        return S

    def backward_seq(self, g):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs a training forward pass")
        U, S, A, static, B = self._cache
        T, _, n = U.shape
        dt = U.dtype
        beta, th = self._get("beta"), self._get("threshold")
        rho, ba = self.buffers["rho"], self.buffers["b_adapt"]
        V = self.params.get("recurrent_weight")
        zero = self.reset == "zero"
        gX = np.zeros((B, n), dt) if static else np.empty((T, B, n), dt)
        gV = np.zeros_like(V) if V is not None else None
        gbeta = np.zeros((B, n), np.float64)
        gth = np.zeros((B, n), np.float64)
        gu_next = np.zeros((B, n), dt)
        ga_next = np.zeros((B, n), dt)
        for t in range(T - 1, -1, -1):
            u, s, a = U[t], S[t], A[t]
            tht = th + ba * a
            gs = g[t].astype(dt, copy=True)
            gth_t = np.zeros((B, n), dt)
            carry = np.zeros((B, n), dt)
            if t < T - 1:
                if V is not None:
                    gs += gu_next @ V
                    gV += gu_next.T @ s
                gs += ga_next  # A[t+1] = rho A[t] + S[t]
                if zero:
                    if not self.detach_reset:
                        gs += gu_next * (-beta * u)
                    carry = gu_next * beta * (1 - s)
                else:
                    if not self.detach_reset:
                        gs += gu_next * (-beta * tht)
                    carry = gu_next * beta
                    gth_t += gu_next * (-beta * s)  # reset amount TH[t] * S[t]
            sg = self.surrogate.grad(u - tht).astype(dt)
            gu = gs * sg + carry
            gth_t -= gs * sg
            ga = gth_t * ba + (ga_next * rho if t < T - 1 else 0)
            gth += gth_t
            if t > 0:
                up, sp = U[t - 1], S[t - 1]
                thm = th + ba * A[t - 1]
                gbeta += gu * (up * (1 - sp) if zero else (up - thm * sp))
            if static:
                gX += gu
            else:
                gX[t] = gu
            gu_next, ga_next = gu, ga
        if gV is not None:
            self.grads["recurrent_weight"] = gV
        for k, gv in (("beta", gbeta), ("threshold", gth)):
            if k in self.params:
                self.grads[k] = gv.sum(0).astype(self.params[k].dtype)
        return gX

    def post_step(self) -> None:
        if "beta" in self.params:
            np.clip(self.params["beta"], 0.0, 1.0, out=self.params["beta"])
        if "threshold" in self.params:
            np.maximum(self.params["threshold"], 1e-3, out=self.params["threshold"])

    def cache_arrays(self):
        return [] if self._cache is None else list(self._cache[:3])

    def extra_repr(self) -> str:
        return f"{self.size}, reset={self.reset!r}, recurrent={'recurrent_weight' in self.params}"


class AdaptiveLIF(RecurrentLIF):
    """LIF with an adaptive threshold ``theta + b_adapt * A`` (LSNN, Bellec et al. 2018);
    recurrent weights optional (``recurrent=False`` by default).

    Example:
        >>> al = AdaptiveLIF(3, rho=0.9, b_adapt=0.5, rng=0)
        >>> bool(al.forward(np.full((10, 1, 3), 0.8, np.float32)).sum() < 10 * 3)
        True
    """

    def __init__(self, size: int, beta: float = 0.9, threshold: float = 1.0,
                 rho: float = 0.95, b_adapt: float = 0.2, recurrent: bool = False, **kw):
        if rho is None or b_adapt is None:
            raise ValueError("rho and b_adapt must be numbers")
        super().__init__(size, beta=beta, threshold=threshold, recurrent=recurrent, rho=rho,
                         b_adapt=b_adapt, **kw)
