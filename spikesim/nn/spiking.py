"""Spiking layers trained with BPTT and surrogate gradients.

Shapes: a spiking layer takes ``[T, B, features...]`` input currents, or a *static* input
``[B, features...]`` (direct encoding: the same current at every step, so the layers before it
compute ``W x`` once per sample, not once per step) and returns ``[T, B, features...]``.

**Forward convention** (the clock engine's, so exported models give identical spikes). For
decay ``beta``, threshold ``theta`` and input current ``X[t]``, with ``U[-1] = S[-1] = 0``::

    reset="subtract":  U[t] = beta * (U[t-1] - theta * S[t-1]) + X[t]
    reset="zero":      U[t] = beta * U[t-1] * (1 - S[t-1]) + X[t]
    S[t] = H(U[t] - theta),   H(x) = 1 if x >= 0 else 0  (U == theta spikes, as the clock engine)

The reset of a spike at step ``t-1`` is applied before the decay of step ``t``; the input is
added undecayed in the step it arrives. On an IR ``LIF`` node with time step ``dt`` this is
``tau = -dt / ln(beta)``, ``v_leak = 0``, ``v_threshold = theta`` and subtractive reset or
``v_reset = 0``.

**Backward**: ``dS/dU`` is replaced by the surrogate's ``grad(U - theta)``. By default the reset
term is detached (no gradient flows through ``S[t-1]`` into the reset, as snnTorch's default);
``detach_reset=False`` keeps it. ``smooth=True`` (gradient-check mode) makes the forward pass
use ``surrogate.smooth`` instead of ``H``, so the backward pass is the exact gradient.
"""
from __future__ import annotations

import numpy as np

from spikesim.nn import _kernels as K
from spikesim.nn.layers import Layer, check_input
from spikesim.nn.surrogate import Surrogate, get_surrogate


def _check_reset(reset: str) -> str:
    if reset not in ("subtract", "zero"):
        raise ValueError(f"reset={reset!r} is unknown: allowed 'subtract', 'zero'")
    return reset


def _param_array(name: str, v, size, dtype, lo: float, hi: float) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim > 1 or (a.ndim == 1 and size is None and a.size != 1):
        if size is None:
            raise ValueError(f"{name} with shape {a.shape} needs size= (number of neurons)")
    if size is not None:
        a = np.broadcast_to(a, (int(np.prod(size)),)).copy() if a.size in (1, int(np.prod(size))) \
            else None
        if a is None:
            raise ValueError(f"{name}={v!r} does not match size={size}")
    if not np.all(np.isfinite(a)) or np.any(a < lo) or np.any(a > hi):
        raise ValueError(f"{name}={v!r} is out of range: allowed [{lo}, {hi}]")
    return a.astype(dtype)


class SpikingLayer(Layer):
    """Base of layers with state over time: ``forward_seq(x, T, static)``/``backward_seq(g)``."""

    spiking = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x`` is ``[T, B, ...]``; returns ``[T, B, ...]``."""
        check_input(type(self).__name__, x, (), "...")
        if x.ndim < 2:
            raise ValueError(f"{type(self).__name__}: input shape {x.shape} must be [T, B, ...]")
        return self.forward_seq(x, x.shape[0], static=False)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return self.backward_seq(g)

    def forward_seq(self, x, T, static):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward_seq(self, g):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _flat(x, T, static, name):
        check_input(name, x, (), "...")
        if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
            raise ValueError(f"{name}: timesteps={T!r} must be an int >= 1")
        if static:
            if x.ndim < 2:
                raise ValueError(f"{name}: static input shape {x.shape} must be [B, features...]")
            feat = x.shape[1:]
            B = x.shape[0]
            X = np.ascontiguousarray(x).reshape(1, B, -1)
        else:
            if x.ndim < 3 or x.shape[0] != T:
                raise ValueError(f"{name}: input shape {x.shape} must be [T={T}, B, features...]")
            feat = x.shape[2:]
            B = x.shape[1]
            X = np.ascontiguousarray(x).reshape(T, B, -1)
        return X, B, feat, int(np.prod(feat))


class LIF(SpikingLayer):
    """Leaky integrate-and-fire neurons (feed-forward), numba kernels over time.

    Args:
        beta: decay per step in [0, 1] (scalar, or per neuron with ``size``).
        threshold: firing threshold ``theta`` > 0.
        reset: ``"subtract"`` (by ``theta``) or ``"zero"``.
        surrogate: :class:`~spikesim.nn.Surrogate` or its name (default fast sigmoid, slope 25).
        learn_beta, learn_threshold: make them trainable (per neuron when ``size`` is given,
            else one shared value); after each optimiser step beta is clipped to [0, 1] and
            theta to >= 1e-3.
        size: number of neurons (features per sample), needed for per-neuron parameters.
        detach_reset: no gradient through the reset term (default, as snnTorch).
        smooth: gradient-check mode (forward uses ``surrogate.smooth``).

    Example:
        >>> lif = LIF(beta=0.5, threshold=1.0)
        >>> x = np.array([0.6, 0.6, 0.6, 0.6], np.float32).reshape(4, 1, 1)
        >>> lif.forward(x)[:, 0, 0].tolist()  # U = 0.6, 0.9, 1.05 (spike), 0.625
        [0.0, 0.0, 1.0, 0.0]
    """

    def __init__(self, beta: float = 0.9, threshold: float = 1.0, reset: str = "subtract",
                 surrogate: Surrogate | str = "fast_sigmoid", learn_beta: bool = False,
                 learn_threshold: bool = False, size: int | tuple | None = None,
                 detach_reset: bool = True, smooth: bool = False, dtype=np.float32):
        super().__init__()
        self.reset = _check_reset(reset)
        self.surrogate = get_surrogate(surrogate)
        self.size = size
        self.detach_reset = bool(detach_reset)
        self.smooth = bool(smooth)
        b = _param_array("beta", beta, size, dtype, 0.0, 1.0)
        th = _param_array("threshold", threshold, size, dtype, 1e-12, np.inf)
        (self.params if learn_beta else self.buffers)["beta"] = b
        (self.params if learn_threshold else self.buffers)["threshold"] = th
        self.record = False
        self.last_membrane: np.ndarray | None = None

    def _get(self, k):
        return self.params[k] if k in self.params else self.buffers[k]

    def _vec(self, k, n_feat):
        a = np.ascontiguousarray(self._get(k)).reshape(-1)
        if a.size not in (1, n_feat):
            raise ValueError(f"LIF: {k} has {a.size} values but the input has {n_feat} "
                             "features per sample")
        return np.ascontiguousarray(np.broadcast_to(a, (n_feat,)))

    def forward_seq(self, x, T, static):
        X, B, feat, n = self._flat(x, T, static, "LIF")
        U = self._empty("U", (T, B, n), x.dtype)
        S = self._empty("S", (T, B, n), x.dtype)
        beta, th = self._vec("beta", n), self._vec("threshold", n)
        sg = self.surrogate
        K.lif_forward(X, T, beta, th, self.reset == "zero", self.smooth, sg.code,
                       sg.param, U, S)
        if self.record:
            self.last_membrane = U.reshape(T, B, *feat)
        self._cache = (U, S, static, B, feat) if self.training else None
        return S.reshape(T, B, *feat)

    def backward_seq(self, g):
        if self._cache is None:
            raise RuntimeError("LIF.backward needs a forward pass in training mode")
        U, S, static, B, feat = self._cache
        T, _, n = U.shape
        gS = np.ascontiguousarray(g, dtype=U.dtype).reshape(T, B, n)
        gX = self._empty("gX", (1 if static else T, B, n), U.dtype)
        gb = np.empty((B, n) if "beta" in self.params else (1, 1), dtype=np.float64)
        gt = np.empty((B, n) if "threshold" in self.params else (1, 1), dtype=np.float64)
        sg = self.surrogate
        beta, th = self._vec("beta", n), self._vec("threshold", n)
        K.lif_backward(gS, U, S, beta, th, self.reset == "zero", self.detach_reset,
                       sg.code, sg.param, gX, gb, gt, "beta" in self.params,
                       "threshold" in self.params)
        for k, gv in (("beta", gb), ("threshold", gt)):
            if k in self.params:
                p = self.params[k]
                red = gv.sum(0) if p.size > 1 else gv.sum()
                self.grads[k] = np.asarray(red, dtype=p.dtype).reshape(p.shape)
        return gX.reshape((B, *feat) if static else (T, B, *feat))

    def post_step(self) -> None:
        if "beta" in self.params:
            np.clip(self.params["beta"], 0.0, 1.0, out=self.params["beta"])
        if "threshold" in self.params:
            np.maximum(self.params["threshold"], 1e-3, out=self.params["threshold"])

    def cache_arrays(self):
        return [] if self._cache is None else [self._cache[0], self._cache[1]]

    def extra_repr(self) -> str:
        b = np.asarray(self._get("beta"), np.float64).ravel()
        th = np.asarray(self._get("threshold"), np.float64).ravel()
        return (f"beta={round(float(b[0]), 4)}{'...' if b.size > 1 else ''}, "
                f"threshold={round(float(th[0]), 4)}{'...' if th.size > 1 else ''}, "
                f"reset={self.reset!r}, surrogate={self.surrogate}")


class LI(SpikingLayer):
    """Leaky-integrator readout (no spikes): ``U[t] = beta * U[t-1] + X[t]``; returns ``U``.

    Use it as the last layer with :class:`~spikesim.nn.CrossEntropyMembrane`.

    Example:
        >>> LI(beta=0.5).forward(np.ones((3, 1, 1), np.float32))[:, 0, 0].tolist()
        [1.0, 1.5, 1.75]
    """

    def __init__(self, beta: float = 0.9, learn_beta: bool = False,
                 size: int | tuple | None = None, dtype=np.float32):
        super().__init__()
        self.size = size
        (self.params if learn_beta else self.buffers)["beta"] = _param_array(
            "beta", beta, size, dtype, 0.0, 1.0)

    def _beta(self, n):
        b = self.params.get("beta", self.buffers.get("beta"))
        a = np.ascontiguousarray(b).reshape(-1)
        if a.size not in (1, n):
            raise ValueError(f"LI: beta has {a.size} values but the input has {n} features")
        return np.ascontiguousarray(np.broadcast_to(a, (n,)))

    def forward_seq(self, x, T, static):
        X, B, feat, n = self._flat(x, T, static, "LI")
        U = self._empty("U", (T, B, n), x.dtype)
        K.li_forward(X, T, self._beta(n), U)
        self._cache = (U, static, B, feat) if self.training else None
        return U.reshape(T, B, *feat)

    def backward_seq(self, g):
        if self._cache is None:
            raise RuntimeError("LI.backward needs a forward pass in training mode")
        U, static, B, feat = self._cache
        T, _, n = U.shape
        gU = np.ascontiguousarray(g, dtype=U.dtype).reshape(T, B, n)
        gX = self._empty("gX", (1 if static else T, B, n), U.dtype)
        gb = np.empty((B, n), dtype=np.float64)
        K.li_backward(gU, U, self._beta(n), gX, gb)
        if "beta" in self.params:
            p = self.params["beta"]
            red = gb.sum(0) if p.size > 1 else gb.sum()
            self.grads["beta"] = np.asarray(red, dtype=p.dtype).reshape(p.shape)
        return gX.reshape((B, *feat) if static else (T, B, *feat))

    def post_step(self) -> None:
        if "beta" in self.params:
            np.clip(self.params["beta"], 0.0, 1.0, out=self.params["beta"])

    def cache_arrays(self):
        return [] if self._cache is None else [self._cache[0]]
