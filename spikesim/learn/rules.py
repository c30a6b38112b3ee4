"""Plasticity rules: frozen dataclasses attached to ``ir.Sparse(plasticity=...)``.

All rules are trace based. Every plastic synapse sees four traces: two presynaptic
(``r1`` with ``tau_plus``, ``r2`` with ``tau_x``) and two postsynaptic (``o1`` with
``tau_minus``, ``o2`` with ``tau_y``). Between spikes each trace decays exponentially. At a
spike a trace jumps by 1 (``pairing="all"``, all-to-all interaction) or is set to 1
(``pairing="nearest"``, nearest-neighbour interaction). Updates use the trace values from
*before* the jumps caused by spikes at the same time, so spikes at exactly the same time
change no weight:

* presynaptic spike: ``w -= f_-(w) * o1 * (A2_minus + A3_minus * r2)``
* postsynaptic spike: ``w += f_+(w) * r1 * (A2_plus + A3_plus * o2)``

Pair STDP is the case ``A3_plus = A3_minus = 0``. Its window for one pre/post pair with
``dt = t_post - t_pre`` is ``A_plus exp(-dt/tau_plus)`` for ``dt > 0`` and
``-A_minus exp(dt/tau_minus)`` for ``dt < 0``.

Weight dependence: ``"additive"`` (``f_+ = f_- = 1``, then the weight is clipped to
``[w_min, w_max]``: hard bounds, the rule's definition, counted nowhere as an error) or
``"multiplicative"`` (soft bounds, ``f_+ = w_max - w``, ``f_- = w - w_min``; the weight
never leaves the bounds for learning rates <= 1).

Reward-modulated STDP (:class:`RewardSTDP`, Izhikevich 2007; Fremaux and Gerstner 2016):
the STDP updates above go into a per-synapse eligibility trace ``c`` (decay ``tau_c``)
instead of ``w``; a reward (dopamine) trace ``d`` per projection decays with ``tau_d`` and
jumps by the reward signal; ``dw/dt = c * d`` (clipped to the bounds).

Homeostasis (:class:`AdaptiveThreshold`, Diehl and Cook 2015): a neuron-side rule, the
threshold grows by ``theta_plus`` at each spike and decays with ``tau_theta``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

WEIGHT_DEPENDENCE = ("additive", "multiplicative")
PAIRINGS = ("all", "nearest")


def _pos(cls: str, name: str, value: Any, *, allow_zero: bool = True,
         allow_inf: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{cls}.{name}: expected a number, got {value!r}") from None
    if math.isnan(v) or (math.isinf(v) and not allow_inf) or v < 0 or (v == 0 and not allow_zero):
        what = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{cls}.{name}: must be a finite number {what}, got {value!r}")
    return v


def _finite(cls: str, name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{cls}.{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{cls}.{name}: must be finite, got {value!r}")
    return v


class _Rule:
    """Shared validation of the trace rules (not part of the API)."""

    def _check_common(self) -> None:
        cls = type(self).__name__
        for name in ("tau_plus", "tau_minus"):
            object.__setattr__(self, name, _pos(cls, name, getattr(self, name), allow_zero=False))
        for name in ("w_min", "w_max"):
            object.__setattr__(self, name, _finite(cls, name, getattr(self, name)))
        if self.w_min > self.w_max:
            raise ValueError(f"{cls}.w_min: {self.w_min!r} > w_max = {self.w_max!r}; need "
                             f"w_min <= w_max")
        if self.weight_dependence not in WEIGHT_DEPENDENCE:
            raise ValueError(f"{cls}.weight_dependence: {self.weight_dependence!r} is unknown; "
                             f"choose one of {WEIGHT_DEPENDENCE}")
        if self.pairing not in PAIRINGS:
            raise ValueError(f"{cls}.pairing: {self.pairing!r} is unknown; choose one of {PAIRINGS}")

    def _check_soft(self, amps: dict[str, float]) -> None:
        if self.weight_dependence == "multiplicative":
            for name, a in amps.items():
                if a > 1:
                    raise ValueError(f"{type(self).__name__}.{name}: {a!r} > 1 is forbidden with "
                                     f"multiplicative (soft-bound) weight dependence (the weight "
                                     f"would overshoot its bound); use a rate <= 1")

    # kernel view ---------------------------------------------------------------------
    def trace_params(self) -> dict[str, float]:
        """Kernel parameters (amplitudes, time constants in s, bounds), as plain floats."""
        return dict(a2p=self.a2_plus, a3p=self.a3_plus, a2m=self.a2_minus, a3m=self.a3_minus,
                    tau_r1=self.tau_plus, tau_r2=self.tau_x, tau_o1=self.tau_minus,
                    tau_o2=self.tau_y, nearest=float(self.pairing == "nearest"),
                    mult=float(self.weight_dependence == "multiplicative"),
                    w_min=self.w_min, w_max=self.w_max)

    def window(self, dt: Any) -> np.ndarray:
        """Weight change of one isolated pair, ``dt = t_post - t_pre`` in seconds (additive
        dependence, far from the bounds; triplet terms do not act on an isolated pair).

        Example: ``PairSTDP().window([-0.01, 0.01])``.
        """
        dt = np.asarray(dt, dtype=np.float64)
        out = np.where(dt > 0, self.a2_plus * np.exp(-np.abs(dt) / self.tau_plus),
                       -self.a2_minus * np.exp(-np.abs(dt) / self.tau_minus))
        return np.where(dt == 0, 0.0, out)


@dataclass(frozen=True)
class PairSTDP(_Rule):
    """Trace-based pair STDP.

    Args:
        a_plus: potentiation per pair at ``dt -> 0+`` (weight units, >= 0).
        a_minus: depression magnitude per pair at ``dt -> 0-`` (>= 0; the change is negative).
        tau_plus, tau_minus: window time constants (s).
        w_min, w_max: weight bounds (hard for additive, soft for multiplicative).
        weight_dependence: ``"additive"`` or ``"multiplicative"``.
        pairing: ``"all"`` (all-to-all) or ``"nearest"`` (nearest neighbour).

    Example: ``ir.Sparse.from_dense(w, plasticity=PairSTDP(a_plus=0.01, a_minus=0.0105))``.
    """

    a_plus: float = 0.01
    a_minus: float = 0.0105
    tau_plus: float = 0.020
    tau_minus: float = 0.020
    w_min: float = 0.0
    w_max: float = 1.0
    weight_dependence: str = "additive"
    pairing: str = "all"

    def __post_init__(self):
        self._check_common()
        for name in ("a_plus", "a_minus"):
            object.__setattr__(self, name, _pos("PairSTDP", name, getattr(self, name)))
        self._check_soft({"a_plus": self.a_plus, "a_minus": self.a_minus})

    a2_plus = property(lambda self: self.a_plus)
    a2_minus = property(lambda self: self.a_minus)
    a3_plus = property(lambda self: 0.0)
    a3_minus = property(lambda self: 0.0)
    tau_x = property(lambda self: 1.0)
    tau_y = property(lambda self: 1.0)


#: Pfister and Gerstner 2006, Table 4 (visual cortex data of Sjostrom et al. 2001);
#: tau_plus = 16.8 ms and tau_minus = 33.7 ms for every set. Minimal models drop the
#: terms whose amplitude is 0 (their tau_x/tau_y are then irrelevant).
PFISTER_GERSTNER_2006 = {
    "visual_all_to_all": dict(tau_x=0.101, tau_y=0.125, a2_plus=5e-10, a3_plus=6.2e-3,
                              a2_minus=7e-3, a3_minus=2.3e-4, pairing="all"),
    "visual_all_to_all_minimal": dict(tau_x=0.101, tau_y=0.125, a2_plus=0.0, a3_plus=6.5e-3,
                                      a2_minus=7.1e-3, a3_minus=0.0, pairing="all"),
    "visual_nearest": dict(tau_x=0.714, tau_y=0.040, a2_plus=8.8e-11, a3_plus=5.3e-2,
                           a2_minus=6.6e-3, a3_minus=3.1e-3, pairing="nearest"),
    "visual_nearest_minimal": dict(tau_x=0.714, tau_y=0.040, a2_plus=0.0, a3_plus=5e-2,
                                   a2_minus=8e-3, a3_minus=0.0, pairing="nearest"),
}


@dataclass(frozen=True)
class TripletSTDP(_Rule):
    """Triplet STDP (Pfister and Gerstner 2006); see the module docs for the equations.

    Args:
        a2_plus, a3_plus, a2_minus, a3_minus: pair and triplet amplitudes (>= 0).
        tau_plus, tau_minus, tau_x, tau_y: trace time constants (s) of r1, o1, r2, o2.
        w_min, w_max, weight_dependence, pairing: as :class:`PairSTDP`.

    Example: ``TripletSTDP.published("visual_all_to_all")``.
    """

    a2_plus: float = 5e-10
    a3_plus: float = 6.2e-3
    a2_minus: float = 7e-3
    a3_minus: float = 2.3e-4
    tau_plus: float = 0.0168
    tau_minus: float = 0.0337
    tau_x: float = 0.101
    tau_y: float = 0.125
    w_min: float = 0.0
    w_max: float = 1.0
    weight_dependence: str = "additive"
    pairing: str = "all"

    def __post_init__(self):
        self._check_common()
        for name in ("a2_plus", "a3_plus", "a2_minus", "a3_minus"):
            object.__setattr__(self, name, _pos("TripletSTDP", name, getattr(self, name)))
        for name in ("tau_x", "tau_y"):
            object.__setattr__(self, name, _pos("TripletSTDP", name, getattr(self, name),
                                                allow_zero=False))
        self._check_soft({n: getattr(self, n) for n in ("a2_plus", "a3_plus", "a2_minus",
                                                        "a3_minus")})

    @classmethod
    def published(cls, name: str = "visual_all_to_all", **kw: Any) -> "TripletSTDP":
        """A parameter set of Pfister and Gerstner 2006, Table 4 (keys of
        :data:`PFISTER_GERSTNER_2006`); ``kw`` overrides fields (e.g. bounds)."""
        if name not in PFISTER_GERSTNER_2006:
            raise ValueError(f"name: {name!r} is not a published set; choose one of "
                             f"{sorted(PFISTER_GERSTNER_2006)}")
        p = dict(PFISTER_GERSTNER_2006[name], tau_plus=0.0168, tau_minus=0.0337)
        p.update(kw)
        return cls(**p)


@dataclass(frozen=True)
class RewardSTDP(_Rule):
    """Reward-modulated pair STDP with eligibility traces (Izhikevich 2007).

    STDP (as :class:`PairSTDP`, amplitudes ``a_plus``/``a_minus``) increments an
    eligibility trace ``c`` per synapse that decays with ``tau_c``; a reward trace ``d``
    decays with ``tau_d`` and jumps by the reward signal; ``dw/dt = c * (d + d_tonic)``,
    weights clipped to ``[w_min, w_max]``. ``d_tonic`` is a constant baseline of the reward
    trace (Izhikevich 2007's tonic dopamine: with ``a_minus > a_plus`` it makes synapses
    that are not rewarded drift down). The reward signal is passed to ``Simulator.run`` in
    ``inputs`` under the projection's name (see :class:`spikesim.learn.Reward`). Both
    engines: the clock engine updates ``w += dt c (d + d_tonic)`` each step (applied in
    closed form when a synapse is read or tagged, at rewards and at the end of a run; equal
    to the per-step update to rounding); the event engine integrates ``c (d + d_tonic)``
    exactly between events and takes rewards as ``Reward(times, amounts)`` only.

    Example: ``RewardSTDP(a_plus=1.0, a_minus=1.5, tau_c=1.0, tau_d=0.2, w_max=4.0)``.
    """

    a_plus: float = 1.0
    a_minus: float = 1.5
    tau_plus: float = 0.020
    tau_minus: float = 0.020
    tau_c: float = 1.0
    tau_d: float = 0.2
    w_min: float = 0.0
    w_max: float = 1.0
    weight_dependence: str = "additive"
    pairing: str = "all"
    d_tonic: float = 0.0

    def __post_init__(self):
        self._check_common()
        object.__setattr__(self, "d_tonic", _finite("RewardSTDP", "d_tonic", self.d_tonic))
        if self.weight_dependence != "additive":
            raise ValueError(f"RewardSTDP.weight_dependence: only 'additive' is supported "
                             f"(eligibility traces are weight independent), got "
                             f"{self.weight_dependence!r}")
        for name in ("a_plus", "a_minus"):
            object.__setattr__(self, name, _pos("RewardSTDP", name, getattr(self, name)))
        for name in ("tau_c", "tau_d"):
            object.__setattr__(self, name, _pos("RewardSTDP", name, getattr(self, name),
                                                allow_zero=False))

    a2_plus = property(lambda self: self.a_plus)
    a2_minus = property(lambda self: self.a_minus)
    a3_plus = property(lambda self: 0.0)
    a3_minus = property(lambda self: 0.0)
    tau_x = property(lambda self: 1.0)
    tau_y = property(lambda self: 1.0)


@dataclass(frozen=True)
class AdaptiveThreshold:
    """Diehl and Cook 2015 homeostasis: the threshold of a neuron rises by ``theta_plus``
    (same unit as the membrane) at each of its spikes and decays with ``tau_theta`` (s).

    Applied with :func:`spikesim.learn.with_homeostasis`, which turns a ``LIF`` node into an
    ``AdaptiveLIF`` with these parameters (simulated by both engines, by the event engine
    exactly), or sets them on a ``CobaLIF`` node (clock engine only). ``theta_plus = 0.05
    mV`` and ``tau_theta = 1e7 ms`` are the paper's values. ``theta_init`` (any sign) is the value
    theta starts at (the node's ``a_init``): the paper's code starts theta at 20 mV and
    compares ``v`` with ``theta - 20 mV - 52 mV``, so its threshold decays toward -72 mV,
    not -52 mV (give the node ``v_threshold=-72*mV`` and ``theta_init=20*mV``).

    Example: ``AdaptiveThreshold(theta_plus=0.05 * mV, tau_theta=1e4, theta_init=20 * mV)``.
    """

    theta_plus: float = 5e-5
    tau_theta: float = 1e4
    theta_init: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "theta_plus", _pos("AdaptiveThreshold", "theta_plus",
                                                    self.theta_plus))
        object.__setattr__(self, "tau_theta", _pos("AdaptiveThreshold", "tau_theta",
                                                   self.tau_theta, allow_zero=False,
                                                   allow_inf=True))
        object.__setattr__(self, "theta_init", _finite("AdaptiveThreshold", "theta_init",
                                                       self.theta_init))


RULES = (PairSTDP, TripletSTDP, RewardSTDP)
