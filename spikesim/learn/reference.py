"""Plain float STDP weight trajectories for given spike trains (no network, no engine).

Used as the analytic reference of the engines' kernels and by the chip backends (e.g. the
Loihi learning engine is compared with :func:`stdp_trajectory`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from spikesim.learn.rules import RULES, RewardSTDP


def _check(rule: Any, w0: float) -> tuple:
    if not isinstance(rule, RULES) or isinstance(rule, RewardSTDP):
        raise TypeError(f"rule: expected PairSTDP or TripletSTDP, got {type(rule).__name__}")
    w0 = float(w0)
    if not (rule.w_min <= w0 <= rule.w_max):
        raise ValueError(f"w0: {w0!r} is outside the rule's bounds [{rule.w_min}, {rule.w_max}]")
    p = rule.trace_params()
    return p, w0


def _apply(w: float, dw: float, p: dict) -> float:
    if p["mult"]:
        dw *= (p["w_max"] - w) if dw > 0 else (w - p["w_min"])
    return min(max(w + dw, p["w_min"]), p["w_max"])


def stdp_trajectory(pre_times: Any, post_times: Any, rule: Any, w0: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Exact continuous-time weight of one synapse under a pair or triplet rule.

    Args:
        pre_times, post_times: spike times in seconds (any order).
        rule: :class:`PairSTDP` or :class:`TripletSTDP`.
        w0: initial weight (within the rule's bounds).

    Returns:
        ``(t, w)``: the sorted times of all spikes and the weight just after each one.
        Spikes at the same time use the traces from before that time (no change from a
        simultaneous pair), as in the engines.

    Example::

        t, w = stdp_trajectory([0.010], [0.015], PairSTDP(), w0=0.5)
        # w[-1] - 0.5 == PairSTDP().window(0.005)
    """
    p, w = _check(rule, w0)
    pre = np.sort(np.asarray(pre_times, dtype=np.float64).ravel())
    post = np.sort(np.asarray(post_times, dtype=np.float64).ravel())
    times = np.unique(np.concatenate([pre, post]))
    r1 = r2 = o1 = o2 = 0.0
    t_last = times[0] if times.size else 0.0
    out = np.empty(times.size)
    ip = iq = 0
    for k, t in enumerate(times):
        gap = t - t_last
        r1 *= math.exp(-gap / p["tau_r1"])
        r2 *= math.exp(-gap / p["tau_r2"])
        o1 *= math.exp(-gap / p["tau_o1"])
        o2 *= math.exp(-gap / p["tau_o2"])
        t_last = t
        npre = npost = 0
        while ip < pre.size and pre[ip] == t:
            npre += 1
            ip += 1
        while iq < post.size and post[iq] == t:
            npost += 1
            iq += 1
        for _ in range(npre):
            w = _apply(w, -o1 * (p["a2m"] + p["a3m"] * r2), p)
        for _ in range(npost):
            w = _apply(w, r1 * (p["a2p"] + p["a3p"] * o2), p)
        if npre:
            r1, r2 = (1.0, 1.0) if p["nearest"] else (r1 + npre, r2 + npre)
        if npost:
            o1, o2 = (1.0, 1.0) if p["nearest"] else (o1 + npost, o2 + npost)
        out[k] = w
    return times, out


def stdp_final_weight(pre_times: Any, post_times: Any, rule: Any, w0: float) -> float:
    """Weight after all spikes of :func:`stdp_trajectory` (``w0`` when there are none).

    Example: ``stdp_final_weight([0.0, 0.1], [0.005, 0.105], PairSTDP(), 0.5)``.
    """
    t, w = stdp_trajectory(pre_times, post_times, rule, w0)
    return float(w[-1]) if w.size else float(w0)


def pairing_protocol(rule: Any, delta_t: float, rate: float, n_pairs: int = 60,
                     w0: float = 0.5) -> float:
    """Weight change of the pairing protocol of Sjostrom et al. 2001 (as in Pfister and
    Gerstner 2006): ``n_pairs`` pre/post pairs with ``delta_t = t_post - t_pre`` (s)
    repeated at ``rate`` (Hz). Exact continuous-time value of the model.

    Example: ``pairing_protocol(TripletSTDP.published(), 0.010, 20.0)``.
    """
    if not (rate > 0 and np.isfinite(rate)):
        raise ValueError(f"rate: must be a finite number > 0 Hz, got {rate!r}")
    start = abs(delta_t) + 0.01
    pre = start + np.arange(int(n_pairs)) / rate
    post = pre + delta_t
    return stdp_final_weight(pre, post, rule, w0) - w0
