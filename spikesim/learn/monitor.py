"""Weight monitors and reward signals for plastic runs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class WeightMonitor:
    """Snapshot the weights of a ``Sparse`` projection every ``every`` steps (clock engine)
    or every ``period`` seconds (either engine; the event engine has no steps, so it needs
    ``period``; on the clock engine ``period`` must be a whole number of steps).

    Pass it in ``Simulator(..., monitors=[...])``; the snapshots are in
    ``result.meta["weights"][projection]`` as ``(t, w)`` with ``t`` the times (s, multiples
    of the period counted from the simulator's start: every event before ``t`` is in the
    snapshot, none after) and ``w`` an array ``[snapshots, synapses]`` (``index`` selects
    synapses in the order of ``Sparse.weight``; default all).
    :func:`spikesim.learn.weight_history` reads it.

    Example: ``WeightMonitor("exc_syn", every=1000)``, ``WeightMonitor("syn", period=1.0)``.
    """

    projection: str
    every: int = 1000
    index: Any = None
    period: Any = None

    def __post_init__(self):
        if not isinstance(self.projection, str):
            raise TypeError(f"WeightMonitor.projection: expected a node name, got {self.projection!r}")
        if int(self.every) < 1:
            raise ValueError(f"WeightMonitor.every: must be >= 1 step, got {self.every!r}")
        object.__setattr__(self, "every", int(self.every))
        if self.period is not None:
            p = float(self.period)
            if not (np.isfinite(p) and p > 0):
                raise ValueError(f"WeightMonitor.period: must be a finite number of seconds > 0, "
                                 f"got {self.period!r}")
            object.__setattr__(self, "period", p)
        if self.index is not None:
            idx = np.asarray(self.index, dtype=np.int64).ravel()
            if idx.size and idx.min() < 0:
                raise ValueError(f"WeightMonitor.index: must be >= 0, got min {idx.min()}")
            object.__setattr__(self, "index", idx)


@dataclass(frozen=True, eq=False)
class Reward:
    """A reward signal for a :class:`~spikesim.learn.RewardSTDP` projection: at each time
    ``times[k]`` (s) the projection's reward trace jumps by ``amounts[k]`` (a scalar for all).

    Pass it in ``run(..., inputs={"projection_name": Reward(...)})``; a 1-d array with one
    value per step of the run is accepted too.

    Example: ``Reward(times=[1.5, 3.2], amounts=0.5)``.
    """

    times: Any
    amounts: Any = 1.0

    def __post_init__(self):
        t = np.asarray(self.times, dtype=np.float64)
        if t.ndim != 1:
            raise ValueError(f"Reward.times: must be 1-d, got shape {t.shape}")
        if not np.isfinite(t).all() or (t < 0).any():
            raise ValueError("Reward.times: must be finite and >= 0 s")
        a = np.asarray(self.amounts, dtype=np.float64)
        if a.ndim == 0:
            a = np.full(t.shape, float(a))
        if a.shape != t.shape:
            raise ValueError(f"Reward.amounts: shape {a.shape} does not match times {t.shape} "
                             f"(give one amount per time, or a scalar)")
        if not np.isfinite(a).all():
            raise ValueError("Reward.amounts: must be finite")
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "amounts", a)


def weight_history(result: Any, projection: str) -> tuple[np.ndarray, np.ndarray]:
    """``(t, w)`` snapshots of a :class:`WeightMonitor` in a run's result.

    Example: ``t, w = weight_history(res, "syn")``  (``w``: ``[snapshots, synapses]``).
    """
    hist = result.meta.get("weights", {})
    if projection not in hist:
        raise ValueError(f"projection: no weight monitor on {projection!r} in this result; "
                         f"monitored: {sorted(hist)}")
    return hist[projection]
