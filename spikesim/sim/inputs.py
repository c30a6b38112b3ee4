"""Stimuli for ``Input`` nodes: Poisson generators, spike-time arrays, time-gridded frames.

Pass them to :meth:`spikesim.sim.Simulator.run` as ``inputs={"input_node": stimulus}``.
Times are in seconds; a spike at time ``t`` is *emitted* in clock step ``floor(t/dt)`` and,
like a neuron's spike, reaches its targets one step (plus the synaptic delay) later.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Poisson:
    """Independent Poisson spike trains.

    Args:
        rate: rate in Hz, a scalar or one value per input channel.

    The random stream is derived from the simulator's seed, the input's name and the
    absolute chunk of time, so ``run(a); run(b)`` equals ``run(a + b)`` exactly.

    Example: ``sim.run(1.0, inputs={"noise": Poisson(10 * Hz)})``.
    """

    rate: Any

    def __post_init__(self):
        r = np.asarray(self.rate, dtype=np.float64)
        if not np.isfinite(r).all() or (r < 0).any():
            raise ValueError(f"Poisson.rate: must be finite and >= 0 Hz, got {r if r.size < 6 else r.shape}")
        object.__setattr__(self, "rate", r)


@dataclass(frozen=True, eq=False)
class SpikeTimes:
    """Explicit spikes: ``times`` (s) and channel ``indices`` (flat), optional ``batch``.

    Example: ``SpikeTimes(times=[1e-3, 5e-3], indices=[0, 3])``.
    """

    times: Any
    indices: Any
    batch: Any = None

    def __post_init__(self):
        t = np.asarray(self.times, dtype=np.float64).ravel()
        i = np.asarray(self.indices).ravel()
        if i.dtype.kind not in "iu":
            if i.size and not np.all(np.mod(i, 1) == 0):
                raise TypeError("SpikeTimes.indices: must be integers")
        i = i.astype(np.int64)
        if t.shape != i.shape:
            raise ValueError(f"SpikeTimes: times has {t.size} entries but indices has {i.size}")
        if not np.isfinite(t).all() or (t < 0).any():
            raise ValueError("SpikeTimes.times: must be finite and >= 0 s")
        b = np.zeros_like(i) if self.batch is None else np.asarray(self.batch, dtype=np.int64).ravel()
        if b.shape != i.shape:
            raise ValueError(f"SpikeTimes.batch: {b.size} entries, expected {i.size}")
        order = np.lexsort((i, b, t))
        object.__setattr__(self, "times", t[order])
        object.__setattr__(self, "indices", i[order])
        object.__setattr__(self, "batch", b[order])


@dataclass(frozen=True, eq=False)
class Frames:
    """Time-gridded input: ``values[T, ...]`` or ``values[T, batch, ...]`` (event frames,
    analog currents). Frame ``k`` covers ``[k*dt_frame, (k+1)*dt_frame)``; with
    ``dt_frame=None`` one frame per simulation step. Binary frames are spikes; other values
    are analog inputs (counted as MACs).

    Example: ``Frames(np.repeat(img[None], 32, axis=0))`` feeds an image for 32 steps.
    """

    values: Any
    dt_frame: float | None = None

    def __post_init__(self):
        v = np.asarray(self.values)
        if v.dtype.kind not in "biuf":
            raise TypeError(f"Frames.values: numeric array needed, got dtype {v.dtype}")
        if v.ndim < 2:
            raise ValueError(f"Frames.values: need [T, ...channels], got shape {v.shape}")
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            raise ValueError("Frames.values: must be finite")
        if self.dt_frame is not None and not (self.dt_frame > 0):
            raise ValueError(f"Frames.dt_frame: must be > 0 s, got {self.dt_frame}")
        object.__setattr__(self, "values", v)

    @property
    def binary(self) -> bool:
        v = self.values
        return v.dtype == np.bool_ or bool(np.isin(v, (0, 1)).all())


def as_stimulus(x: Any):
    """Accept a stimulus object or a plain array (taken as :class:`Frames`)."""
    if isinstance(x, (Poisson, SpikeTimes, Frames)):
        return x
    if isinstance(x, np.ndarray):
        return Frames(x)
    raise TypeError(f"inputs: expected Poisson, SpikeTimes, Frames or an array, got {type(x).__name__}")
