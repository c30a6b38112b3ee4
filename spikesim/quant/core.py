"""Post-training quantisation of weights and activations: specs, integer tensors, ternary.

Conventions (shared by training constraints and every chip backend):

* Symmetric, zero-point-free quantisation: ``w ~= q * scale`` with integer ``q``.
* Signed ``bits``-bit integers span ``[-2**(bits-1), 2**(bits-1) - 1]``; the scale maps the
  calibration magnitude onto ``2**(bits-1) - 1`` (so ``-2**(bits-1)`` is reachable only by
  saturation). Unsigned integers span ``[0, 2**bits - 1]``.
* Rounding is **round half to even** (``numpy.rint``), the IEEE default, e.g. 0.5 -> 0, 1.5 -> 2,
  -2.5 -> -2.
* Values beyond the integer range saturate at the range ends, and every :class:`QTensor`
  carries ``n_clipped``, the number of saturated entries: nothing is clipped silently.
* A channel (or tensor) whose calibration magnitude is 0 gets scale 1.0 (its q are all 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Method = Literal["max", "percentile"]


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """The integer range ``(qmin, qmax)`` of a ``bits``-bit (un)signed integer.

    Example: ``int_range(8, True) == (-128, 127)``; ``int_range(4, False) == (0, 15)``.
    """
    _check_bits(bits, signed)
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _check_bits(bits: int, signed: bool) -> None:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"bits must be an int, got {type(bits).__name__} {bits!r}")
    lo = 2 if signed else 1
    if not lo <= bits <= 32:
        raise ValueError(f"bits={bits} is out of range: allowed {lo}..32 for "
                         f"{'signed' if signed else 'unsigned'} integers")


def _int_dtype(bits: int, signed: bool) -> np.dtype:
    for nb, (s, u) in ((8, (np.int8, np.uint8)), (16, (np.int16, np.uint16)),
                       (32, (np.int32, np.uint32))):
        if bits <= nb:
            return np.dtype(s if signed else u)
    raise ValueError(f"bits={bits} > 32")  # unreachable after _check_bits


@dataclass(frozen=True)
class QuantSpec:
    """How to quantise a tensor.

    Attributes:
        bits: integer width (2..32 signed, 1..32 unsigned).
        signed: signed (symmetric around 0) or unsigned (negative values saturate at 0).
        per_channel: one scale per slice along ``axis`` instead of one per tensor.
        axis: channel axis for ``per_channel`` (0 = output channel of Dense ``[out, in]`` and
            Conv2d ``[Cout, Cin, kh, kw]`` weights).
        method: calibration of the magnitude mapped to the largest integer: ``"max"`` (max
            absolute value, nothing clips) or ``"percentile"`` (the ``percentile``-th percentile
            of absolute values; larger values saturate and are counted).
        percentile: in (0, 100], used when ``method == "percentile"``.

    Example:
        >>> spec = QuantSpec(bits=8, per_channel=True)
    """

    bits: int
    signed: bool = True
    per_channel: bool = False
    axis: int = 0
    method: Method = "max"
    percentile: float = 99.99

    def __post_init__(self) -> None:
        if not isinstance(self.signed, (bool, np.bool_)):
            raise TypeError(f"signed must be a bool, got {self.signed!r}")
        _check_bits(self.bits, bool(self.signed))
        if self.method not in ("max", "percentile"):
            raise ValueError(f"method={self.method!r} is unknown: allowed 'max', 'percentile'")
        if not (0.0 < float(self.percentile) <= 100.0):
            raise ValueError(f"percentile={self.percentile} is out of range: allowed (0, 100]")
        if isinstance(self.axis, bool) or not isinstance(self.axis, (int, np.integer)):
            raise TypeError(f"axis must be an int, got {self.axis!r}")

    @property
    def qmin(self) -> int:
        return int_range(self.bits, self.signed)[0]

    @property
    def qmax(self) -> int:
        return int_range(self.bits, self.signed)[1]


@dataclass
class QTensor:
    """An integer tensor with its scale: ``value ~= q * scale``.

    Attributes:
        q: integer array (smallest numpy int type that holds ``bits``).
        scale: float64 array broadcastable to ``q`` (shape ``()`` per tensor, or 1 along every
            axis but the channel axis per channel).
        bits, signed: the integer format.
        n_clipped: number of entries that saturated at the integer range ends.
    """

    q: np.ndarray
    scale: np.ndarray
    bits: int
    signed: bool
    n_clipped: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.q.shape)

    def dequantize(self, dtype=np.float32) -> np.ndarray:
        """``q * scale`` as ``dtype`` (see :func:`dequantize`)."""
        return dequantize(self, dtype)


def _as_float_array(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf values; quantisation needs finite values")
    return a


def _reduce_axes(ndim: int, per_channel: bool, axis: int) -> tuple[int, ...] | None:
    if not per_channel:
        return None
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis} is out of range for a {ndim}-d tensor")
    axis %= ndim
    return tuple(i for i in range(ndim) if i != axis)


def _magnitude(a: np.ndarray, axes, method: str, percentile: float) -> np.ndarray:
    mag = np.abs(a)
    if method == "max":
        m = mag.max(axis=axes, keepdims=axes is not None) if mag.size else np.zeros(())
    else:
        m = np.percentile(mag, percentile, axis=axes, keepdims=axes is not None)
    return np.asarray(m, dtype=np.float64)


def calibrate(w, spec: QuantSpec) -> np.ndarray:
    """The scale(s) ``spec`` gives for ``w``: magnitude / largest positive integer.

    Returns an array broadcastable to ``w`` (shape ``()`` per tensor). Zero magnitudes give 1.0.

    Example:
        >>> calibrate(np.array([0.5, -1.0]), QuantSpec(8))  # 1/127
        array(0.00787402)
    """
    a = _as_float_array(w, "w")
    axes = _reduce_axes(a.ndim, spec.per_channel, spec.axis)
    m = _magnitude(a, axes, spec.method, spec.percentile)
    qmax = spec.qmax
    scale = np.where(m > 0, m / qmax, 1.0)
    return np.asarray(scale, dtype=np.float64)


#: Rounding modes: ``"half_even"`` (numpy.rint, the IEEE default; weights and post-training
#: activations) and ``"half_up"`` (``floor(u + 1/2)``, the rounding of the fixed-point
#: requantisation ``(acc * M + 2**(s-1)) >> s`` of integer engines; used by activation
#: fake-quantisation, :mod:`spikesim.quant.fakequant`).
ROUNDINGS = ("half_even", "half_up")


def round_codes(u: np.ndarray, rounding: str = "half_even") -> np.ndarray:
    """Round ``u`` to integers (float array) with ``rounding`` (see :data:`ROUNDINGS`).

    Example:
        >>> round_codes(np.array([0.5, 1.5, -0.5, -1.5]), "half_up").tolist()
        [1.0, 2.0, 0.0, -1.0]
    """
    if rounding == "half_even":
        return np.rint(u)
    if rounding == "half_up":
        return np.floor(np.asarray(u) + 0.5)  # a python float keeps the array's dtype
    raise ValueError(f"rounding={rounding!r} is unknown: allowed {list(ROUNDINGS)}")


def _quantize_with_scale(a: np.ndarray, scale: np.ndarray, bits: int, signed: bool,
                         rounding: str = "half_even") -> QTensor:
    qmin, qmax = int_range(bits, signed)
    r = round_codes(a / scale, rounding)
    n_clipped = int(np.count_nonzero((r < qmin) | (r > qmax)))
    q = np.clip(r, qmin, qmax).astype(_int_dtype(bits, signed))
    return QTensor(q=q, scale=np.asarray(scale, dtype=np.float64), bits=int(bits),
                   signed=bool(signed), n_clipped=n_clipped)


def quantize(w, spec: QuantSpec, scale=None) -> QTensor:
    """Quantise ``w`` to ``spec.bits``-bit integers (round half to even, saturating, counted).

    Args:
        w: float array (any shape).
        spec: the format; the scale is calibrated from ``w`` unless ``scale`` is given.
        scale: optional fixed scale(s) broadcastable to ``w`` (e.g. from a calibration set).

    Returns:
        :class:`QTensor` with ``q``, ``scale`` and ``n_clipped``.

    Example:
        >>> qt = quantize(np.array([0.1, -0.5, 1.0]), QuantSpec(bits=4))
        >>> qt.q.tolist(), qt.n_clipped
        ([1, -4, 7], 0)
    """
    if not isinstance(spec, QuantSpec):
        raise TypeError(f"spec must be a QuantSpec, got {type(spec).__name__}")
    a = _as_float_array(w, "w")
    if scale is None:
        s = calibrate(a, spec)
    else:
        s = np.asarray(scale, dtype=np.float64)
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ValueError("scale must be finite and > 0 everywhere")
        try:
            np.broadcast_shapes(s.shape, a.shape)
        except ValueError:
            raise ValueError(f"scale shape {s.shape} does not broadcast to w shape {a.shape}")
    return _quantize_with_scale(a, s, spec.bits, spec.signed)


def dequantize(qt: QTensor, dtype=np.float32) -> np.ndarray:
    """``qt.q * qt.scale`` as a ``dtype`` array (computed in float64, then cast).

    Example:
        >>> dequantize(quantize(np.array([0.25, -1.0]), QuantSpec(8)))
        array([ 0.2519685, -1.       ], dtype=float32)
    """
    if not isinstance(qt, QTensor):
        raise TypeError(f"qt must be a QTensor, got {type(qt).__name__}")
    return (qt.q.astype(np.float64) * qt.scale).astype(dtype)


def ternary_threshold(w, delta_factor: float = 0.7, per_channel: bool = False,
                      axis: int = 0) -> np.ndarray:
    """TWN threshold ``delta = delta_factor * mean(|w|)`` (per tensor or per channel)."""
    a = _as_float_array(w, "w")
    if not delta_factor >= 0:
        raise ValueError(f"delta_factor={delta_factor} must be >= 0")
    axes = _reduce_axes(a.ndim, per_channel, axis)
    return np.asarray(delta_factor * np.abs(a).mean(axis=axes, keepdims=axes is not None))


def ternary(w, delta=None, per_channel: bool = False, axis: int = 0,
            delta_factor: float = 0.7) -> QTensor:
    """Ternary weights (Li & Liu 2016, "Ternary Weight Networks"): ``q in {-1, 0, 1}``.

    ``q = sign(w)`` where ``|w| > delta`` and 0 elsewhere; the scale ``alpha`` is the mean of
    ``|w|`` over the kept entries (the TWN least-squares optimum), per tensor or per channel.
    ``delta`` defaults to ``0.7 * mean(|w|)``. Channels with no kept entry get scale 1.0.
    Nothing saturates (``n_clipped == 0``); ``meta['delta']`` holds the threshold used.

    Example:
        >>> qt = ternary(np.array([0.9, -0.05, -1.1, 0.3]))
        >>> qt.q.tolist(), float(qt.scale)
        ([1, 0, -1, 0], 1.0)
    """
    a = _as_float_array(w, "w")
    axes = _reduce_axes(a.ndim, per_channel, axis)
    if delta is None:
        d = ternary_threshold(a, delta_factor, per_channel, axis)
    else:
        d = np.asarray(delta, dtype=np.float64)
        if np.any(~np.isfinite(d)) or np.any(d < 0):
            raise ValueError(f"delta must be finite and >= 0, got {delta!r}")
    keep = np.abs(a) > d
    q = (np.sign(a) * keep).astype(np.int8)
    n_keep = keep.sum(axis=axes, keepdims=axes is not None)
    s_keep = (np.abs(a) * keep).sum(axis=axes, keepdims=axes is not None)
    alpha = np.where(n_keep > 0, s_keep / np.maximum(n_keep, 1), 1.0)
    return QTensor(q=q, scale=np.asarray(alpha, dtype=np.float64), bits=2, signed=True,
                   n_clipped=0, meta={"delta": d, "ternary": True})
