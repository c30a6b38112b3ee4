"""Activation quantisation for integer inference (used by integer chip backends).

Activations use the same conventions as weights (see :mod:`spikesim.quant.core`): symmetric,
no zero point, round half to even, saturation counted in ``QTensor.n_clipped``. Activations after
a ReLU are usually quantised unsigned (``signed=False``).
"""
from __future__ import annotations

import numpy as np

from spikesim.quant.core import QTensor, QuantSpec, _as_float_array, _quantize_with_scale


def calibrate_scale(x, bits: int, signed: bool = False, method: str = "percentile",
                    percentile: float = 99.99) -> float:
    """One scale for a batch of activations ``x``: ``magnitude / qmax``.

    Args:
        x: calibration activations (any shape, e.g. ``[batch, features]``).
        bits, signed: the integer format of the activations.
        method: ``"max"`` (max of ``|x|``) or ``"percentile"`` (``percentile``-th percentile
            of ``|x|``; robust to outliers, Rueckauer et al. 2017).
        percentile: in (0, 100].

    Returns:
        the scale (float, > 0; 1.0 when ``x`` is all zero).

    Example:
        >>> calibrate_scale(np.array([0.0, 100.0, 510.0]), bits=8, method="max")
        2.0
    """
    spec = QuantSpec(bits=bits, signed=signed, method=method, percentile=percentile)
    a = _as_float_array(x, "x")
    if a.size == 0:
        raise ValueError("x is empty: need at least one activation to calibrate")
    mag = np.abs(a) if signed else np.maximum(a, 0.0)
    m = float(mag.max() if method == "max" else np.percentile(mag, percentile))
    return m / spec.qmax if m > 0 else 1.0


def quantize_activations(x, scale: float, bits: int, signed: bool = False,
                         rounding: str = "half_even") -> QTensor:
    """Quantise activations with a fixed ``scale`` (from :func:`calibrate_scale`).

    Saturating: values beyond the integer range are clipped and counted in ``n_clipped``
    (for ``signed=False`` negative values count as clipped). ``rounding``: ``"half_even"``
    (default) or ``"half_up"`` (the rounding of :mod:`spikesim.quant.fakequant`, so a
    quantisation-aware-trained input quantiser is reproduced exactly).

    Example:
        >>> qt = quantize_activations(np.array([0.0, 0.5, 3.0]), scale=0.01, bits=8)
        >>> qt.q.tolist(), qt.n_clipped
        ([0, 50, 255], 1)
    """
    QuantSpec(bits=bits, signed=signed)  # validates bits / signed
    a = _as_float_array(x, "x")
    s = float(scale)
    if not np.isfinite(s) or s <= 0:
        raise ValueError(f"scale={scale!r} must be finite and > 0")
    return _quantize_with_scale(a, np.asarray(s), bits, signed, rounding)
