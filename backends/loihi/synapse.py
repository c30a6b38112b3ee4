"""Loihi synapses: weight mantissa/exponent encoding, sign modes, the one-step synaptic delay
and optional per-synapse delays (hardware.md sections 2.1-2.2).

A weight is stored as an integer mantissa ``w``; the input it adds to the post compartment's
``a_in`` is ``(sum of w) << weight_exp`` (``>> -weight_exp``, a floor, when negative), summed
per post neuron and step as Lava's ``Dense`` does; the compartment then shifts ``a_in`` by 6.

Precision: ``num_bits`` is the total weight width, 1..9 bits. In the ``"mixed"`` sign mode the
sign takes one of the bits (mantissa range -256..255 in steps of ``2**(9 - num_bits)``, so
2..9 bits); ``"excitatory"`` (0..255) and ``"inhibitory"`` (-255..0) use ``num_bits`` 1..8 of
magnitude in steps of ``2**(8 - num_bits)``. This is Lava's ``truncate_weights`` grid
(``k = 8 - bits + mixed``), with ``bits`` counted including the sign.

Delays: every spike reaches its targets one step after it is emitted (Lava's Dense output
buffer); a per-synapse delay ``d`` (6-bit field, 0..63) adds ``d`` further steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from spikesim.backends.loihi import params as P
from spikesim.quant import QuantSpec, quantize

SIGN_MODES = tuple(P.SIGN_MODES)


def weight_grid(num_bits: int, sign_mode: str) -> tuple[int, int, int]:
    """``(step, lo, hi)`` of the mantissa grid for a precision and sign mode."""
    if sign_mode not in P.SIGN_MODES:
        raise ValueError(f"sign_mode={sign_mode!r} is unknown; allowed: {SIGN_MODES}")
    if isinstance(num_bits, bool) or not isinstance(num_bits, (int, np.integer)):
        raise TypeError(f"num_bits must be an int; got {num_bits!r}")
    if sign_mode == "mixed":
        if not 2 <= num_bits <= P.WEIGHT_BITS_MAX:
            raise ValueError(f"num_bits={num_bits} is out of range: mixed-sign weights allow "
                             f"2..{P.WEIGHT_BITS_MAX} bits (sign included)")
        step = 1 << (P.WEIGHT_BITS_MAX - num_bits)
        return step, -256, 256 - step
    if not P.WEIGHT_BITS_MIN <= num_bits <= P.WEIGHT_MANT_BITS:
        raise ValueError(f"num_bits={num_bits} is out of range: {sign_mode} weights allow "
                         f"{P.WEIGHT_BITS_MIN}..{P.WEIGHT_MANT_BITS} bits")
    step = 1 << (P.WEIGHT_MANT_BITS - num_bits)
    top = 256 - step
    return (step, 0, top) if sign_mode == "excitatory" else (step, -top, 0)


@dataclass(frozen=True)
class Weights:
    """Encoded Loihi weights of one connection.

    Attributes:
        w: int64 mantissas [n_post, n_pre] on the grid of (``num_bits``, ``sign_mode``).
        num_bits: weight precision in bits, sign included (1..9).
        sign_mode: ``"mixed"``, ``"excitatory"`` or ``"inhibitory"``.
        weight_exp: exponent -8..7; the input is ``sum(w) * 2**weight_exp`` (floor).
        delays: int64 [n_post, n_pre] extra delays in steps (0..63), or None.
    """

    w: np.ndarray
    num_bits: int
    sign_mode: str
    weight_exp: int
    delays: np.ndarray | None = None

    def __post_init__(self):
        check_weights(self.w, self.num_bits, self.sign_mode, self.weight_exp)
        if self.delays is not None:
            check_delays(self.delays, self.w.shape)

    @property
    def value(self) -> np.ndarray:
        """The weights as float a_in units, ``w * 2**weight_exp``."""
        return self.w * 2.0 ** self.weight_exp

    @property
    def bits_per_synapse(self) -> int:
        """Synapse-memory bits per stored synapse (weight bits + 6 delay bits if delays)."""
        return self.num_bits + (P.DELAY_BITS if self.delays is not None else 0)


def check_weights(w, num_bits: int, sign_mode: str, weight_exp: int = 0) -> np.ndarray:
    """Validate integer weight mantissas against the precision and sign mode; return int64."""
    step, lo, hi = weight_grid(num_bits, sign_mode)
    if isinstance(weight_exp, bool) or not isinstance(weight_exp, (int, np.integer)):
        raise TypeError(f"weight_exp must be an int; got {weight_exp!r}")
    if not P.WEIGHT_EXP_MIN <= weight_exp <= P.WEIGHT_EXP_MAX:
        raise ValueError(f"weight_exp={weight_exp} is out of range "
                         f"{P.WEIGHT_EXP_MIN}..{P.WEIGHT_EXP_MAX}")
    a = np.asarray(w)
    if a.dtype.kind not in "iu":
        raise TypeError(f"weights must be integer mantissas; got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size:
        if a.min() < lo or a.max() > hi:
            val = int(a.min() if a.min() < lo else a.max())
            raise ValueError(f"weight {val} is out of range for {num_bits}-bit {sign_mode} "
                             f"weights: allowed {lo}..{hi}")
        off = a % step != 0
        if off.any():
            raise ValueError(f"weight {int(a[off].flat[0])} is beyond the chosen precision: "
                             f"{num_bits}-bit {sign_mode} weights are multiples of {step}")
    return a


def check_delays(delays, shape=None) -> np.ndarray:
    """Validate per-synapse delays (integers 0..63 extra steps); return int64."""
    d = np.asarray(delays)
    if d.dtype.kind not in "iu":
        raise TypeError(f"delays must be integer steps; got dtype {d.dtype}")
    if shape is not None and d.shape != tuple(shape):
        raise ValueError(f"delays must have the weights' shape {tuple(shape)}; got {d.shape}")
    hi = P.DELAY_MAX       # the 6-bit field holds d; a spike arrives 1 + d steps later
    if d.size and (d.min() < 0 or d.max() > hi):
        val = int(d.min() if d.min() < 0 else d.max())
        raise ValueError(f"delay {val} is out of range: the 6-bit delay field allows "
                         f"0..{hi} extra steps")
    return d.astype(np.int64)


def encode(weights: np.ndarray, num_bits: int = 8, sign_mode: str | None = None,
           weight_exp: int | None = None, delays: np.ndarray | None = None) -> Weights:
    """Quantise float weights (in a_in units) to Loihi mantissas with an exponent.

    Args:
        weights: float [n_post, n_pre], the desired input per spike in a_in units.
        num_bits: precision, sign included (1..9; mixed sign needs at least 2).
        sign_mode: ``"mixed"``, ``"excitatory"``, ``"inhibitory"``; None picks it from
            the signs of ``weights`` (as Lava's ``determine_sign_mode``).
        weight_exp: None chooses the smallest exponent (-8..7) at which the largest weight
            fits the mantissa range; an explicit value is used as given (weights beyond
            the range then raise).
        delays: optional integer per-synapse extra delays (0..63 steps).

    Returns:
        :class:`Weights`. Rounding is to the nearest grid point, ties to even
        (:func:`spikesim.quant.quantize`); a weight that does not fit raises.

    Example::

        >>> enc = encode(np.array([[1.5, -0.25]]), num_bits=8)
        >>> enc.w.tolist(), enc.weight_exp
        ([[192, -32]], -7)
    """
    w = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite")
    if sign_mode is None:
        sign_mode = "excitatory" if w.min(initial=0) >= 0 else (
            "inhibitory" if w.max(initial=0) <= 0 else "mixed")
    step, lo, hi = weight_grid(num_bits, sign_mode)
    if weight_exp is None:
        big = max(abs(w.max(initial=0)) / max(hi, 1), abs(w.min(initial=0)) / max(-lo, 1))
        weight_exp = P.WEIGHT_EXP_MIN
        while weight_exp < P.WEIGHT_EXP_MAX and big > 2.0 ** weight_exp:
            weight_exp += 1
        if big > 2.0 ** weight_exp:
            raise ValueError(f"weight {float(np.abs(w).max()):g} is too large: the largest "
                             f"representable weight is {hi * 2.0 ** P.WEIGHT_EXP_MAX:g} "
                             f"({num_bits}-bit {sign_mode}, weight_exp<={P.WEIGHT_EXP_MAX})")
    # the mantissa grid is a plain (bits)-bit integer range times step: reuse spikesim.quant
    sign = -1.0 if sign_mode == "inhibitory" else 1.0
    qt = quantize(sign * w, QuantSpec(bits=int(num_bits), signed=sign_mode == "mixed"),
                  scale=step * 2.0 ** weight_exp)
    if qt.n_clipped:
        mant_raw = sign * np.rint(sign * w / (step * 2.0 ** weight_exp)) * step
        bad = (mant_raw < lo) | (mant_raw > hi)
        val = float(w[bad].flat[0]) if bad.any() else float(np.abs(w).max())
        raise ValueError(f"weight {val:g} does not fit {num_bits}-bit {sign_mode} weights "
                         f"with weight_exp={weight_exp} (mantissa range {lo}..{hi})")
    mant = (sign * qt.q.astype(np.int64) * step).astype(np.int64)
    return Weights(mant.astype(np.int64), int(num_bits), sign_mode, int(weight_exp),
                   None if delays is None else check_delays(delays, w.shape))


# -------------------------------------------------------------------- propagation --------
def _shift(acc: np.ndarray, weight_exp: int) -> np.ndarray:
    return acc << weight_exp if weight_exp >= 0 else acc >> -weight_exp


def synaptic_input(spikes: np.ndarray, weights: Weights) -> np.ndarray:
    """Input ``a_in`` [T, n_post] (int64) produced by pre spikes [T, n_pre] (bool/0-1).

    A spike at step t arrives at step ``t + 1 + delay``; arrivals past the end are dropped.
    Leading batch dimensions are allowed: spikes [T, ..., n_pre] -> [T, ..., n_post].
    """
    s = np.asarray(spikes)
    T = s.shape[0]
    out = np.zeros(s.shape[:-1] + (weights.w.shape[0],), dtype=np.int64)
    if T < 2:
        return out
    if weights.delays is None or not weights.delays.any():
        # exact: 0/1 times |w| <= 256 summed over < 2**40 inputs is exact in float64
        acc = np.rint(s[:-1].astype(np.float64) @ weights.w.T.astype(np.float64))
        out[1:] = _shift(acc.astype(np.int64), weights.weight_exp)
        return out
    flat = s.reshape(T, -1, s.shape[-1]).astype(np.bool_)
    acc = np.zeros((T, flat.shape[1], weights.w.shape[0]), dtype=np.int64)
    _delayed_kernel(flat, weights.w, weights.delays, acc)
    return _shift(acc, weights.weight_exp).reshape(out.shape)


@njit(cache=True)
def _delayed_kernel(spikes, w, delays, acc):
    """acc[t + 1 + d_ij, b, i] += w_ij for every pre spike (t, b, j)."""
    T, B, n_pre = spikes.shape
    n_post = w.shape[0]
    for t in range(T):
        for b in range(B):
            for j in range(n_pre):
                if spikes[t, b, j]:
                    for i in range(n_post):
                        ta = t + 1 + delays[i, j]
                        if ta < T and w[i, j] != 0:
                            acc[ta, b, i] += w[i, j]


def synops(spikes: np.ndarray, weights: Weights) -> int:
    """Effective synaptic operations: delivered spikes x nonzero weights of their fan-out
    (spikes whose arrival falls past the end of the run are not delivered)."""
    s = np.asarray(spikes)
    T = s.shape[0]
    nnz = (weights.w != 0)
    if weights.delays is None:
        per_pre = s[:-1].reshape(-1, s.shape[-1]).sum(0) if T > 1 else np.zeros(s.shape[-1])
        return int(per_pre @ nnz.sum(0))
    total = 0
    counts_by_t = s.reshape(T, -1, s.shape[-1]).sum(1)   # [T, n_pre]
    for t in range(T - 1):
        ok = (t + 1 + weights.delays < T) & nnz          # [n_post, n_pre]
        total += int(counts_by_t[t] @ ok.sum(0))
    return total
