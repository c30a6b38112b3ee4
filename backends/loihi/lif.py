"""Loihi's fixed-point CUBA LIF compartment, bit-identical to Lava's ``PyLifModelBitAcc``.

Per time step and compartment (all integers; ``>>`` on a magnitude, so truncation is toward
zero; hardware.md section 2.2)::

    u  = u * (4096 - (du + 1)) / 4096      (truncated toward zero; the +1 is Loihi-1's ds_offset)
    u += a_in << 6
    u  = wrap(u)                           (if u > 2**23: u -= 2**24; elif u <= -2**23: u += 2**24)
    v  = v * (4096 - dv) / 4096            (truncated toward zero)
    v  = clip(v + u + (bias_mant << bias_exp), -2**23 + 1, 2**23 - 1)     (saturating)
    spike = v > vth << 6 ;  v[spike] = 0   (u is not reset)

``a_in << 6`` is exact: Lava's int16 input port sums into the sender's int32 data, so the
shift does not overflow for int16 inputs. The wrap is applied once, exactly as Lava does, so ``u == 2**23`` survives a step (Lava's
boundary case, kept for bit identity).

Refractory period (optional, ``refractory=r > 0``): a Loihi-1 feature that Lava's bit-accurate
model lacks. After a spike, the voltage is held at 0 for the next ``r`` steps (no voltage
integration, no spike) while the current u keeps decaying and integrating its input. With
``refractory=0`` (the default) the model is exactly Lava's.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from spikesim.backends.loihi import params as P


@njit(cache=True)
def _lif_kernel(a_in, du, dv, vth_eff, bias_eff, refractory, u, v, ref_left,
                spikes, u_out, v_out):
    """Advance ``u``, ``v``, ``ref_left`` (int64 [n], in place) over ``a_in`` (int64 [T, n]).

    Writes ``spikes`` (bool [T, n]) and the after-reset state ``u_out``, ``v_out``
    (int32 [T, n]).
    """
    T, n = a_in.shape
    max_uv = P.MAX_UV
    vmax = max_uv - 1
    vmin = -max_uv + 1
    for t in range(T):
        for i in range(n):
            # current
            d = u[i] * (P.DECAY_UNITY - (du[i] + P.DS_OFFSET))
            if d >= 0:
                d = d >> P.DECAY_SHIFT
            else:
                d = -((-d) >> P.DECAY_SHIFT)
            d += a_in[t, i] << P.ACT_SHIFT
            if d > max_uv:
                d -= 2 * max_uv
            elif d <= -max_uv:
                d += 2 * max_uv
            u[i] = d
            # voltage
            if ref_left[i] > 0:
                ref_left[i] -= 1
                v[i] = 0
                spikes[t, i] = False
            else:
                e = v[i] * (P.DECAY_UNITY - (dv[i] + P.DM_OFFSET))
                if e >= 0:
                    e = e >> P.DECAY_SHIFT
                else:
                    e = -((-e) >> P.DECAY_SHIFT)
                e += d + bias_eff[i]
                if e > vmax:
                    e = vmax
                elif e < vmin:
                    e = vmin
                if e > vth_eff[i]:
                    spikes[t, i] = True
                    e = 0
                    ref_left[i] = refractory[i]
                else:
                    spikes[t, i] = False
                v[i] = e
            u_out[t, i] = u[i]
            v_out[t, i] = v[i]


def _int_param(name: str, value, n: int, lo: int, hi: int, what: str) -> np.ndarray:
    """Broadcast an integer parameter to [n] int64 and check ``lo <= value <= hi``."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError(f"{name} must be an integer ({what}); got {value!r}")
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"{name} must be an integer ({what}); got {value!r}")
    arr = arr.astype(np.int64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (1, n)):
        raise ValueError(f"{name} must be a scalar or have shape ({n},); got shape {arr.shape}")
    bad = (arr < lo) | (arr > hi)
    if np.any(bad):
        val = arr[bad].flat[0] if arr.ndim else int(arr)
        raise ValueError(f"{name}={int(val)} is out of range: {what} allows {lo}..{hi}")
    return np.ascontiguousarray(np.broadcast_to(arr, (n,)))


def check_a_in(a_in, name: str = "a_in", lo: int = P.A_IN_MIN, hi: int = P.A_IN_MAX) -> np.ndarray:
    """Validate an integer input array [T, n] and return it as int64."""
    a = np.asarray(a_in)
    if a.dtype.kind not in "iub":
        raise TypeError(f"{name} must be an integer array [T, n]; got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must have shape [T, n]; got shape {a.shape}")
    if a.size and (a.min() < lo or a.max() > hi):
        val = a.min() if a.min() < lo else a.max()
        raise ValueError(f"{name} value {int(val)} is out of range: the int16 input port "
                         f"allows {lo}..{hi}")
    return np.ascontiguousarray(a, dtype=np.int64)


def lif_params(n: int, du, dv, vth, bias_mant=0, bias_exp=0, refractory=0) -> dict:
    """Validate the compartment parameters and return them as int64 arrays [n] (effective
    threshold ``vth << 6`` and bias ``bias_mant << bias_exp`` included)."""
    du_a = _int_param("du", du, n, 0, P.DECAY_MAX, "a 12-bit unsigned current decay")
    dv_a = _int_param("dv", dv, n, 0, P.DECAY_MAX, "a 12-bit unsigned voltage decay")
    vth_a = _int_param("vth", vth, n, 0, P.VTH_MAX, "a 17-bit unsigned threshold")
    bm = _int_param("bias_mant", bias_mant, n, P.BIAS_MANT_MIN, P.BIAS_MANT_MAX,
                    "a 13-bit signed bias mantissa")
    be = _int_param("bias_exp", bias_exp, n, P.BIAS_EXP_MIN, P.BIAS_EXP_MAX,
                    "a 3-bit unsigned bias exponent")
    rf = _int_param("refractory", refractory, n, 0, P.REFRACTORY_MAX,
                    "a refractory delay in steps")
    return {"du": du_a, "dv": dv_a, "vth_eff": vth_a << P.VTH_SHIFT, "bias_eff": bm << be,
            "refractory": rf}


def run_lif(a_in: np.ndarray, du: int | np.ndarray, dv: int | np.ndarray,
            vth: int | np.ndarray, bias_mant: int | np.ndarray = 0,
            bias_exp: int | np.ndarray = 0, refractory: int | np.ndarray = 0
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run Loihi's fixed-point CUBA LIF on an integer input, bit-identical to Lava's
    ``PyLifModelBitAcc`` (with ``refractory=0``).

    Args:
        a_in: integer array [T, n], the synaptic input per step (Lava's int16 ``a_in``,
            -32768..32767, in weight units before the 6-bit shift).
        du: current decay, 0..4095 (12-bit; the effective decay is ``(du + 1) / 4096``).
        dv: voltage decay, 0..4095 (12-bit; ``dv / 4096``).
        vth: threshold, 0..131071 (17-bit; compared as ``vth << 6``).
        bias_mant: bias mantissa, -4096..4095 (13-bit signed).
        bias_exp: bias exponent, 0..7 (the bias is ``bias_mant << bias_exp``).
        refractory: steps the voltage is held at 0 after a spike, 0..63 (Loihi-1 only;
            Lava's model has none).
        Every parameter is a scalar or an array [n]. All state is dimensionless integer.

    Returns:
        ``(spikes, u, v)``: bool [T, n] and int32 [T, n]; u and v are the state at the end
        of each step, after the reset.

    Example::

        >>> s, u, v = run_lif(np.full((5, 1), 10), du=4095, dv=0, vth=20)
        >>> u[:, 0].tolist(), v[:, 0].tolist(), s[:, 0].tolist()
        ([640, 640, 640, 640, 640], [640, 1280, 0, 640, 1280], [False, False, True, False, False])
    """
    a = check_a_in(a_in)
    T, n = a.shape
    p = lif_params(n, du, dv, vth, bias_mant, bias_exp, refractory)
    spikes = np.zeros((T, n), dtype=np.bool_)
    u_out = np.zeros((T, n), dtype=np.int32)
    v_out = np.zeros((T, n), dtype=np.int32)
    state = [np.zeros(n, dtype=np.int64) for _ in range(3)]
    _lif_kernel(a, p["du"], p["dv"], p["vth_eff"], p["bias_eff"], p["refractory"],
                *state, spikes, u_out, v_out)
    return spikes, u_out, v_out
