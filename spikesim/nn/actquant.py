"""``ActQuant``: the activation fake-quantiser of :mod:`spikesim.quant.fakequant` as a layer.

Put it after a ReLU (``signed=False``) to train with ``bits``-bit activations, and first in a
model to quantise its input. The arithmetic (forward, straight-through and LSQ gradients,
power-of-two scales) lives in :mod:`spikesim.quant.fakequant`; this module only holds the
trainable ``log2`` scale and caches what the backward pass needs.

Example:
    >>> import numpy as np
    >>> q = ActQuant(bits=2, scale=0.5)
    >>> q.forward(np.array([[-0.2, 0.26, 0.76, 9.0]], np.float32))
    array([[0. , 0.5, 1. , 1.5]], dtype=float32)
"""
from __future__ import annotations

import math

import numpy as np

from spikesim.nn.layers import Layer, check_input
from spikesim.quant.fakequant import fake_quant, fake_quant_backward, lsq_grad_scale


class ActQuant(Layer):
    """Fake-quantise activations to ``bits``-bit integers times a learned scale.

    Args:
        bits: integer width (2..8 typical; signed needs >= 2).
        signed: signed codes; ``False`` (default) clamps at 0 and so also acts as a ReLU.
        scale: initial scale (> 0); with ``power_of_two`` it is rounded up to a power of two.
            Usually set from calibration data by :func:`spikesim.quant.pot_scale`.
        power_of_two: forward with ``s = 2**ceil(log2_scale)`` (TQT); needed for exact
            integer execution (see :mod:`spikesim.quant.fakequant`).
        learn_scale: train ``params["log2_scale"]`` with the LSQ gradient; ``False`` keeps
            the calibrated scale fixed.

    ``params["log2_scale"]`` (shape ``(1,)``) is ``log2`` of the scale before the rounding.
    """

    def __init__(self, bits: int = 8, signed: bool = False, scale: float = 1.0,
                 power_of_two: bool = True, learn_scale: bool = True, dtype=np.float32):
        super().__init__()
        fake_quant(np.zeros(1), 1.0, bits, signed)  # validates bits and signed
        self.bits = int(bits)
        self.signed = bool(signed)
        self.power_of_two = bool(power_of_two)
        self.learn_scale = bool(learn_scale)
        self.params["log2_scale"] = np.zeros(1, dtype)
        self.set_scale(scale)

    @property
    def scale(self) -> float:
        """The scale the forward pass uses (a power of two if ``power_of_two``)."""
        e = float(self.params["log2_scale"][0])  # float64 arithmetic, whatever the dtype
        return 2.0 ** math.ceil(e) if self.power_of_two else 2.0 ** e

    def set_scale(self, scale: float) -> None:
        """Set the scale (e.g. from calibration), in place. With ``power_of_two`` the
        ``log2`` parameter goes to the middle of the octave that rounds up to ``scale``'s
        power of two (``ceil(log2 scale) - 1/2``), so small updates do not flip it."""
        if not (isinstance(scale, (int, float, np.floating)) and math.isfinite(scale)
                and scale > 0):
            raise ValueError(f"scale={scale!r} must be a finite number > 0")
        e = math.log2(scale)
        self.params["log2_scale"][0] = math.ceil(e) - 0.5 if self.power_of_two else e

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input("ActQuant", x, (), "...")
        s = self.scale
        y, n, inside = fake_quant(x, s, self.bits, self.signed)
        self._cache = (x, n, inside, s)
        return y

    def backward(self, g: np.ndarray) -> np.ndarray:
        x, n, inside, s = self._cache
        gx, gs = fake_quant_backward(g, x, s, n, inside)
        if self.learn_scale:
            per_sample = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
            gs *= lsq_grad_scale(per_sample, self.bits, self.signed)
            self.grads["log2_scale"] = np.array([gs * s * math.log(2.0)],
                                                self.params["log2_scale"].dtype)
        else:  # no gradient entry: optimisers (and weight decay) leave the scale alone
            self.grads.pop("log2_scale", None)
        return gx if self.needs_input_grad else None

    def cache_arrays(self):
        return [] if self._cache is None else list(self._cache[:3])

    def extra_repr(self) -> str:
        return (f"bits={self.bits}, signed={self.signed}, scale={self.scale:.4g}, "
                f"power_of_two={self.power_of_two}")
