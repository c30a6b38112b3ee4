"""Activation fake-quantisation for quantisation-aware training (QAT), straight-through.

Forward (the integers an integer engine computes, carried in float)::

    u = x / s
    n = clip(floor(u + 1/2), qmin, qmax)      # integer code, rounding half up
    y = n * s

with ``[qmin, qmax]`` the ``bits``-bit range (unsigned ``[0, 2**b - 1]``, which also does the
ReLU, or signed ``[-2**(b-1), 2**(b-1) - 1]``). Rounding is **half up** because that is what
the fixed-point requantisation ``(acc * M + 2**(sh-1)) >> sh`` of an integer engine does
(:func:`spikesim.backends.northpole.requantize`); post-training quantisation keeps numpy's
half-to-even (:mod:`spikesim.quant.core`).

Backward:

* input: the straight-through estimator (Bengio et al. 2013) with clipping, as in PACT
  (Choi et al. 2018) and LSQ (Esser et al. 2020): ``dy/dx = 1`` where
  ``qmin - 1/2 <= u < qmax + 1/2`` (the rounding is treated as the identity), ``0`` where the
  code saturates;
* scale: the LSQ gradient ``dy/ds = n - u`` where the code does not saturate, ``qmin`` or
  ``qmax`` where it does, times the LSQ gradient scale ``1 / sqrt(n_features * qmax)``.

Scales are parametrised by ``log2(s)`` (TQT, Jain et al. 2020, "Trained quantization
thresholds"); with ``power_of_two=True`` the forward uses ``s = 2**ceil(log2 s)`` and the
gradient passes straight through the ceiling (``ds/dlog2 s = s ln 2``).

Why power-of-two activation scales: with ``s_in`` and ``s_out`` powers of two and per-channel
weight scales ``s_w`` that are float32 numbers (:class:`~spikesim.quant.KBit` with
``scale_float32=True``), the requantisation multiplier ``s_in * s_w / s_out`` is a 24-bit
fixed-point number, which an int32 multiplier and a shift represent exactly, and the
fake-quantised forward evaluated in float64 is exact (every product and partial sum is an
integer times ``s_in * s_w[c]`` below ``2**53``): the integer engine then computes the
trained network **bit for bit** (tested in ``tests/test_northpole_qat.py``).

Example:
    >>> y, n, inside = fake_quant(np.array([-0.2, 0.26, 0.76, 9.0]), 0.5, bits=2)
    >>> y.tolist(), n.tolist(), inside.tolist()
    ([0.0, 0.5, 1.0, 1.5], [0.0, 1.0, 2.0, 3.0], [True, True, True, False])
"""
from __future__ import annotations

import math

import numpy as np

from spikesim.quant.core import QuantSpec, int_range


def _check(bits: int, signed: bool, scale) -> tuple[int, int, float]:
    QuantSpec(bits=bits, signed=signed)  # validates bits/signed (TypeError/ValueError)
    s = float(scale)
    if not (math.isfinite(s) and s > 0):
        raise ValueError(f"scale={scale!r} must be finite and > 0")
    qmin, qmax = int_range(bits, signed)
    return qmin, qmax, s


def fake_quant(x: np.ndarray, scale: float, bits: int, signed: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fake-quantise ``x`` with one ``scale``: returns ``(y, n, inside)``.

    ``y = n * scale`` in ``x``'s dtype, ``n`` the integer codes (same float dtype),
    ``inside`` the boolean mask where the straight-through gradient passes
    (``qmin - 1/2 <= x / scale < qmax + 1/2``). See the module docs for the rounding.
    ``n`` equals ``quantize_activations(x, scale, bits, signed, rounding="half_up").q``.
    """
    qmin, qmax, s = _check(bits, signed, scale)
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"x must be a float array, got dtype {x.dtype}")
    dt = x.dtype.type
    u = x / dt(s)
    r = np.floor(u + dt(0.5))
    inside = (r >= qmin) & (r <= qmax)
    n = np.clip(r, qmin, qmax)
    return n * dt(s), n, inside


def fake_quant_backward(g: np.ndarray, x: np.ndarray, scale: float, n: np.ndarray,
                        inside: np.ndarray) -> tuple[np.ndarray, float]:
    """Gradients of :func:`fake_quant`: ``(dL/dx, dL/ds)`` from ``g = dL/dy``.

    ``dL/dx = g * inside`` (clipped straight-through estimator); ``dL/ds = sum(g * d)`` with
    ``d = n - x/s`` inside and ``d = n`` (the saturated code) outside (LSQ, without the
    gradient scale: apply :func:`lsq_grad_scale` yourself).

    Example:
        >>> x = np.array([0.26, 9.0]); y, n, m = fake_quant(x, 0.5, 2)
        >>> gx, gs = fake_quant_backward(np.ones(2), x, 0.5, n, m)
        >>> gx.tolist(), round(gs, 6)
        ([1.0, 0.0], 3.48)
    """
    dt = x.dtype.type
    u = x / dt(scale)
    d = np.where(inside, n - u, n)
    return g * inside, float(np.sum(g * d, dtype=np.float64))


def lsq_grad_scale(n_features: int, bits: int, signed: bool = False) -> float:
    """LSQ's gradient scale ``1 / sqrt(n_features * qmax)`` (Esser et al. 2020, sec. 2.2)."""
    qmax = int_range(bits, signed)[1]
    return 1.0 / math.sqrt(max(1, int(n_features)) * qmax)


def pot_scale(x, bits: int, signed: bool = False, span: int = 6) -> float:
    """The power-of-two scale with the smallest fake-quantisation error on ``x`` (MSE).

    Candidates ``2**e`` from the exponent that maps the largest ``|x|`` onto ``qmax`` down to
    ``span`` octaves below it (smaller scales clip more but resolve the bulk better, which
    wins at 2 and 4 bits). Returns 1.0 for an all-zero ``x``.

    Example:
        >>> pot_scale(np.linspace(0, 1, 1001), bits=8)   # 255 * 2**-8 ~ 1: no clipping
        0.00390625
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    _check(bits, signed, 1.0)
    qmax = int_range(bits, signed)[1]
    m = float(np.max(np.abs(a) if signed else np.maximum(a, 0.0), initial=0.0))
    if m <= 0:
        return 1.0
    e_hi = math.ceil(math.log2(m / qmax))
    best, best_err = 2.0 ** e_hi, np.inf
    for e in range(e_hi, e_hi - span - 1, -1):
        y, _, _ = fake_quant(a, 2.0 ** e, bits, signed)
        err = float(np.mean((y - a) ** 2))
        if err < best_err:
            best, best_err = 2.0 ** e, err
    return best
