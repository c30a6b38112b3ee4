"""Quantisation-clip-floor-shift activation (QCFS, Bu et al. 2022, ICLR).

``QCFS`` replaces ``ReLU`` in an ANN that is meant to be converted to a spiking network:

    y = lambda / L * clip(floor(x * L / lambda + shift), 0, L)

with a trainable threshold ``lambda > 0`` (one scalar per layer), ``L`` quantisation levels and
``shift = 0.5``. An integrate-and-fire neuron with threshold ``lambda``, reset by subtraction
and initial membrane ``lambda * shift`` fires, over ``T = L`` steps of a constant input, exactly
``clip(floor(x*L/lambda + shift), 0, L)`` spikes, so the converted network matches the ANN
already at few steps (see :func:`spikesim.convert.convert`).

Backward pass (straight-through estimator for the floor, as in Bu et al.'s code):
``dy/dx = 1`` where the clip is inactive on ``u = x/lambda + shift/L`` (``0 <= u <= 1``),
else 0; ``dy/dlambda = q - x/lambda`` inside that range, ``1`` above it and ``0`` below, with
``q = y / lambda``.

Example:
    >>> import numpy as np
    >>> a = QCFS(levels=4, threshold=1.0)
    >>> a.forward(np.array([[-1.0, 0.1, 0.2, 0.6, 2.0]], np.float32))
    array([[0.  , 0.  , 0.25, 0.5 , 1.  ]], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from spikesim.nn.layers import Layer, _pos_int, check_input


class QCFS(Layer):
    """QCFS activation with a trainable scalar threshold ``params["threshold"]`` (shape ``(1,)``).

    Args:
        levels: quantisation levels ``L`` (int >= 1; Bu et al. use 4-16, default 8).
        threshold: initial ``lambda`` (> 0, the activation's upper clip value).
        shift: the shift ``phi`` in units of one level (0.5 in Bu et al.; in [0, 1)).

    ``post_step`` keeps ``lambda >= 1e-3`` so it stays a valid firing threshold.
    """

    def __init__(self, levels: int = 8, threshold: float = 4.0, shift: float = 0.5,
                 dtype=np.float32):
        super().__init__()
        self.levels = _pos_int("levels", levels)
        if not (np.isfinite(threshold) and threshold > 0):
            raise ValueError(f"threshold={threshold!r} must be a finite number > 0")
        if not 0.0 <= float(shift) < 1.0:
            raise ValueError(f"shift={shift!r} must be in [0, 1)")
        self.shift = float(shift)
        self.params["threshold"] = np.array([threshold], dtype)

    @property
    def threshold(self) -> float:
        """The current ``lambda``."""
        return float(self.params["threshold"][0])

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input("QCFS", x, (), "...")
        lam = x.dtype.type(self.params["threshold"][0])
        L = self.levels
        u = x / lam
        q = np.clip(np.floor(u * L + self.shift), 0, L) / x.dtype.type(L)
        # STE range: the clip is inactive on u + shift/L (the floor is treated as identity)
        us = u + x.dtype.type(self.shift / L)
        inside = (us >= 0) & (us <= 1)
        self._cache = (u, q, inside)
        return (q * lam).astype(x.dtype, copy=False)

    def backward(self, g: np.ndarray) -> np.ndarray:
        u, q, inside = self._cache
        above = (u + self.shift / self.levels) > 1
        glam = np.where(inside, q - u, 0) + above
        self.grads["threshold"] = np.array([np.sum(g * glam)], self.params["threshold"].dtype)
        return g * inside

    def post_step(self) -> None:
        np.maximum(self.params["threshold"], 1e-3, out=self.params["threshold"])

    def cache_arrays(self):
        return [] if self._cache is None else list(self._cache)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, threshold={self.threshold:.4g}, shift={self.shift}"
