"""Training-time weight constraints with straight-through-estimator (STE) gradients.

A constraint is attached to a :class:`spikesim.nn.Dense` or :class:`spikesim.nn.Conv2d` with
``constraint=``. The layer keeps float ("latent") weights ``w``; every forward pass uses
``constraint.forward(w)`` (the de-quantised weights, float), and the backward pass maps the
gradient with respect to those weights back to ``w`` with ``constraint.backward(w, grad)``:

* STE (Bengio et al. 2013): the gradient passes through unchanged, ``d w_q / d w := 1``;
* with ``ste="clipped"`` it is zeroed where ``w`` lies outside the representable range
  (``|w| > qmax * scale``), the usual "saturated STE".

``constraint.quantize(w)`` returns the integer :class:`~spikesim.quant.QTensor` that a chip
backend loads; ``forward(w) == dequantize(quantize(w))`` exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from spikesim.quant.core import QTensor, QuantSpec, calibrate, quantize, ternary

SteMode = Literal["identity", "clipped"]


def _check_ste(ste: str) -> None:
    if ste not in ("identity", "clipped"):
        raise ValueError(f"ste={ste!r} is unknown: allowed 'identity', 'clipped'")


class Constraint:
    """Base class: ``forward(w) -> w_q`` (float), ``backward(w, grad) -> grad_w``."""

    def quantize(self, w: np.ndarray) -> QTensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, w: np.ndarray) -> np.ndarray:
        """De-quantised weights in ``w``'s dtype."""
        w = np.asarray(w)
        qt = self.quantize(w)
        return (qt.q.astype(np.float64) * qt.scale).astype(w.dtype)

    def backward(self, w: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """STE: ``grad`` (optionally zeroed where ``w`` is outside the range)."""
        return grad


@dataclass(frozen=True)
class KBit(Constraint):
    """Symmetric ``bits``-bit weights, one scale per tensor or per output channel (axis 0).

    Scale calibration follows :class:`~spikesim.quant.QuantSpec` (``method="max"`` by
    default, so nothing saturates; with ``"percentile"`` the largest weights saturate and their
    STE gradient is zeroed when ``ste="clipped"``).

    Example:
        >>> c = KBit(4)
        >>> c.forward(np.array([0.1, -0.5, 1.0], dtype=np.float32))
        array([ 0.14285715, -0.5714286 ,  1.        ], dtype=float32)
    """

    bits: int
    per_channel: bool = False
    method: str = "max"
    percentile: float = 99.99
    ste: SteMode = "identity"
    #: Round the scale(s) to float32 values (24-bit significands). Integer backends need this
    #: for exact requantisation: with power-of-two activation scales the multiplier
    #: ``s_in * s_w / s_out`` is then exactly a 24-bit fixed-point number
    #: (see :mod:`spikesim.quant.fakequant`). Costs nothing measurable (relative 2**-24).
    scale_float32: bool = False

    def __post_init__(self) -> None:
        self.spec  # validates
        _check_ste(self.ste)
        if not isinstance(self.scale_float32, (bool, np.bool_)):
            raise TypeError(f"scale_float32={self.scale_float32!r} must be a bool")

    @property
    def spec(self) -> QuantSpec:
        return QuantSpec(bits=self.bits, signed=True, per_channel=self.per_channel, axis=0,
                         method=self.method, percentile=self.percentile)

    def scale(self, w: np.ndarray) -> np.ndarray:
        """The scale(s) for ``w`` (float64 array; float32-representable if ``scale_float32``)."""
        s = calibrate(w, self.spec)
        return s.astype(np.float32).astype(np.float64) if self.scale_float32 else s

    def quantize(self, w: np.ndarray) -> QTensor:
        return quantize(w, self.spec, scale=self.scale(w) if self.scale_float32 else None)

    def backward(self, w: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.ste == "identity":
            return grad
        spec = self.spec
        lim = self.scale(w) * spec.qmax
        return np.where(np.abs(w) <= lim, grad, 0).astype(grad.dtype)


@dataclass(frozen=True)
class Ternary(Constraint):
    """Ternary weights ``alpha * {-1, 0, 1}`` (TWN, threshold ``delta_factor * mean|w|``).

    ``ste="clipped"`` zeroes the gradient where ``|w| > 1`` (BinaryConnect-style clip; the
    latent weights are otherwise unbounded).

    Example:
        >>> Ternary().forward(np.array([0.9, -0.05, -1.1, 0.3]))
        array([ 1.,  0., -1.,  0.])
    """

    per_channel: bool = False
    delta_factor: float = 0.7
    ste: SteMode = "identity"

    def __post_init__(self) -> None:
        if not self.delta_factor >= 0:
            raise ValueError(f"delta_factor={self.delta_factor} must be >= 0")
        _check_ste(self.ste)

    def quantize(self, w: np.ndarray) -> QTensor:
        return ternary(w, per_channel=self.per_channel, axis=0, delta_factor=self.delta_factor)

    def backward(self, w: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.ste == "identity":
            return grad
        return np.where(np.abs(w) <= 1.0, grad, 0).astype(grad.dtype)


def get_constraint(c) -> Constraint | None:
    """``None``, a :class:`Constraint`, ``"ternary"`` or ``"int<k>"`` (e.g. ``"int8"``)."""
    if c is None or isinstance(c, Constraint):
        return c
    if isinstance(c, str):
        if c == "ternary":
            return Ternary()
        if c.startswith("int") and c[3:].isdigit():
            return KBit(int(c[3:]))
    raise ValueError(f"constraint={c!r} is unknown: allowed None, a Constraint, 'ternary', "
                     "'int<k>' (e.g. 'int8')")
