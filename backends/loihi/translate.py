"""Translate a float ``spikesim.learn.PairSTDP`` rule into a Loihi :class:`LearningRule`.

The float rule (continuous time, traces with unit impulses): on a post spike
``w += a_plus * r1``, on a pre spike ``w -= a_minus * o1``, traces decaying with
``tau_plus`` / ``tau_minus``. On Loihi the weight is an integer in LSB units of
``weight_lsb`` (float weight per LSB) and the traces are 7-bit integers with impulse
``impulse``, so the rule becomes::

    dw = s_plus * x1 * y0 - s_minus * y1 * x0
    s_plus = a_plus / (weight_lsb * impulse),  s_minus = a_minus / (weight_lsb * impulse)

each scaling rounded to the nearest ``m * 2**e`` with ``|m| <= 15`` and ``e`` in -8..7 (the
4-bit mantissa: relative error at most 1/16 for scalings >= 2**-5, reported by
:func:`stdp_scalings`), and
``x1_tau = tau_plus / dt``, ``y1_tau = tau_minus / dt`` in steps. Only additive, all-to-all
pair STDP has this form; other rules raise. One semantic difference remains: a pre and a
post spike in the same step make Loihi apply both terms with traces that include both
impulses (net ``(s_plus - s_minus) * impulse``), while the float rule changes nothing for a
simultaneous pair; with ``a_plus == a_minus`` the two agree.

Trace saturation: Loihi's traces are 7-bit (0..127), the float traces are not. A trace
holds about ``impulse * rate * tau`` (rate in spikes per step), so at high rates a large
impulse saturates the trace and biases learning (measured: post neurons at 0.6 spikes per
step with impulse 32 potentiate about 7x more than the float rule; with impulse 8 the mean
matches within 4 LSB). Pick ``impulse`` so that ``impulse * (1 + rate * tau)`` stays well
below 127; a smaller impulse costs more relative rounding noise in the traces. Weights saturate at the precision grid's range,
not at the float rule's ``w_min`` / ``w_max`` (the compiler picks the grid from the weights).
"""
from __future__ import annotations

import math

from spikesim.backends.loihi import params as P
from spikesim.backends.loihi.learning import LearningRule


def nearest_scaling(x: float) -> tuple[int, int]:
    """``(m, e)`` with ``m * 2**e`` nearest to ``x >= 0``, ``m <= 15``, ``e`` in -8..7."""
    if x < 0 or not math.isfinite(x):
        raise ValueError(f"scaling {x!r} must be finite and >= 0")
    if x == 0:
        return 0, 0
    best = None
    for e in range(P.SCALE_EXP_MIN, P.SCALE_EXP_MAX + 1):
        m = min(P.SCALE_MANT_MAX, round(x / 2.0 ** e))
        err = abs(m * 2.0 ** e - x)
        if best is None or err < best[0] - 1e-18:
            best = (err, m, e)
    _, m, e = best
    if m == 0:
        raise ValueError(f"scaling {x:g} LSB per trace unit is below the smallest Loihi "
                         f"scaling 2^{P.SCALE_EXP_MIN}; raise the impulse or lower weight_lsb")
    if abs(m * 2.0 ** e - x) > 0.5 * x:
        raise ValueError(f"scaling {x:g} LSB per trace unit exceeds the largest Loihi scaling "
                         f"{P.SCALE_MANT_MAX}*2^{P.SCALE_EXP_MAX}")
    return int(m), int(e)


def stdp_scalings(rule, weight_lsb: float, impulse: float = 16.0) -> dict:
    """The Loihi scalings of a ``PairSTDP`` and their relative rounding errors."""
    out = {}
    for k, a in (("plus", rule.a_plus), ("minus", rule.a_minus)):
        x = a / (weight_lsb * impulse)
        m, e = nearest_scaling(x)
        out[k] = {"mant": m, "exp": e, "value": m * 2.0 ** e,
                  "rel_err": abs(m * 2.0 ** e - x) / x if x else 0.0}
    return out


def stdp_rule(rule, *, weight_lsb: float, dt: float, impulse: float = 16.0,
              t_epoch: int = 1) -> LearningRule:
    """A Loihi :class:`LearningRule` for a float ``spikesim.learn.PairSTDP``.

    Args:
        rule: ``PairSTDP`` with ``weight_dependence="additive"`` and ``pairing="all"``.
        weight_lsb: float weight of one Loihi weight LSB (the connection's
            ``2**weight_exp * 64 / (scale * r)``; see :func:`connection_lsb`).
        dt: Loihi timestep in seconds.
        impulse: trace impulse (trace units, <= 127; see trace saturation above).
        t_epoch: learning epoch in steps.

    Example::

        from spikesim.learn import PairSTDP
        r = stdp_rule(PairSTDP(a_plus=0.01, a_minus=0.0105), weight_lsb=1 / 256, dt=1e-3)
        r.dw   # 'dw = 10*2^-6*x1*y0 - 11*2^-6*y1*x0' (0.01 * 256 / 16 = 0.16 ~ 10/64)
    """
    from spikesim.learn import PairSTDP

    if not isinstance(rule, PairSTDP):
        raise TypeError(f"rule must be a spikesim.learn.PairSTDP; got {type(rule).__name__} "
                        f"(triplet and reward rules have no automatic Loihi translation; write "
                        f"a rule string)")
    if rule.weight_dependence != "additive" or rule.pairing != "all":
        raise ValueError(f"only additive all-to-all PairSTDP translates to Loihi; got "
                         f"weight_dependence={rule.weight_dependence!r}, "
                         f"pairing={rule.pairing!r}")
    if not weight_lsb > 0 or not dt > 0:
        raise ValueError(f"weight_lsb={weight_lsb!r} and dt={dt!r} must be > 0")
    s = stdp_scalings(rule, weight_lsb, impulse)
    terms = []
    if s["plus"]["mant"]:
        terms.append(f"{s['plus']['mant']}*2^{s['plus']['exp']}*x1*y0")
    if s["minus"]["mant"]:
        terms.append(f"-{s['minus']['mant']}*2^{s['minus']['exp']}*y1*x0")
    if not terms:
        raise ValueError("PairSTDP with a_plus = a_minus = 0 has nothing to learn")
    text = "dw = " + " + ".join(terms).replace("+ -", "- ")
    return LearningRule(dw=text, x1_impulse=impulse, y1_impulse=impulse,
                        x1_tau=rule.tau_plus / dt, y1_tau=rule.tau_minus / dt, t_epoch=t_epoch)


def connection_lsb(program, name: str) -> float:
    """Float weight of one LSB of connection ``name`` in a compiled program (mean over the
    post neurons when their gains differ)."""
    conn = next((c for c in program.connections if c.name == name), None)
    if conn is None:
        raise ValueError(f"{name!r} is not a connection of the program; connections: "
                         f"{[c.name for c in program.connections]}")
    w = conn.weights
    nz = w.w != 0
    if nz.any():
        import numpy as np
        ratio = conn.float_weight[nz] / (w.w[nz] * 2.0 ** w.weight_exp)
        return float(np.median(ratio) * 2.0 ** w.weight_exp)
    pop = program.populations[conn.dst]
    return 2.0 ** w.weight_exp * 64.0 / pop.scale
