"""Stimuli for ``Input`` nodes: Poisson generators, spike-time arrays, time-gridded frames.

Pass them to :meth:`spikesim.sim.Simulator.run` as ``inputs={"input_node": stimulus}``.
Times are in seconds; a spike at time ``t`` is *emitted* in clock step ``floor(t/dt)`` and,
like a neuron's spike, reaches its targets one step (plus the synaptic delay) later.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import zlib

import numpy as np

from spikesim.ir.builder import geometric_positions


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
        if not _sorted(t, b, i):  # events in (time, batch, index) order are kept as given
            order = np.lexsort((i, b, t))
            t, i, b = t[order], i[order], b[order]
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "indices", i)
        object.__setattr__(self, "batch", b)


def _sorted(t: np.ndarray, b: np.ndarray, i: np.ndarray) -> bool:
    """True when the events are in lexicographic (time, batch, index) order."""
    if t.size < 2:
        return True
    d_t, d_b = np.diff(t), np.diff(b)
    tie_t = d_t == 0
    if (d_t < 0).any() or (tie_t & (d_b < 0)).any():
        return False
    return not (tie_t & (d_b == 0) & (np.diff(i) < 0)).any()


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


def events_for_steps(stims, net, offset, dt, batch, seed, n0, n1, chunk, dtype):
    """Input events ``(step, batch, global index, value)`` of steps ``[n0, n1)``, sorted by
    step, for the clock engine. ``offset`` maps an Input node to its first global index;
    Poisson streams come from ``SeedSequence(seed, spawn_key=(crc32(name), chunk index))``
    over absolute chunks of ``chunk`` steps, so they do not depend on how a run is split."""
    parts = []
    for name, stim in stims.items():
        off = offset[name]
        n = net[name].n
        if isinstance(stim, Poisson):
            parts.extend(_poisson(name, stim, off, n, n0, n1, dt, batch, seed, chunk))
        elif isinstance(stim, SpikeTimes):
            steps = np.floor(stim.times / dt + 1e-9).astype(np.int64)
            lo, hi = np.searchsorted(steps, [n0, n1])
            parts.append((steps[lo:hi], stim.batch[lo:hi], stim.indices[lo:hi] + off,
                          np.ones(hi - lo)))
        else:
            parts.append(_frames(name, stim, off, n, n0, n1, net, dt, batch))
    if not parts:
        z = np.zeros(0, np.int64)
        return z, z, z, np.zeros(0, dtype)
    st = np.concatenate([p[0] for p in parts])
    order = np.argsort(st, kind="stable")
    return (st[order].astype(np.int64), np.concatenate([p[1] for p in parts])[order].astype(np.int64),
            np.concatenate([p[2] for p in parts])[order].astype(np.int64),
            np.concatenate([p[3] for p in parts])[order].astype(dtype))

def _poisson(name, stim, off, n, n0, n1, dt, batch, seed, chunk):
    rate = stim.rate
    if rate.ndim and rate.size != n:
        raise ValueError(f"inputs[{name!r}]: Poisson rate has {rate.size} values for {n} channels")
    p = np.broadcast_to(rate * dt, (n,))
    if (p > 1).any():
        raise ValueError(f"inputs[{name!r}]: rate*dt = {p.max():g} > 1; lower the rate or dt")
    out = []
    B = batch
    key = zlib.crc32(name.encode())
    for c in range(n0 // chunk, (n1 - 1) // chunk + 1):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key, c)))
        s0 = c * chunk
        if rate.ndim == 0:
            pos = geometric_positions(rng, float(p[0]), chunk * B * n)
        else:
            pos = np.flatnonzero(rng.random((chunk, B, n)) < p)
        st = s0 + pos // (B * n)
        rem = pos % (B * n)
        m = (st >= n0) & (st < n1)
        out.append((st[m], rem[m] // n, rem[m] % n + off, np.ones(int(m.sum()))))
    return out

def _frames(name, stim, off, n, n0, n1, net, dt, batch):
    v = stim.values
    shape = net[name].shape
    B = batch
    if v.shape[1:] == tuple(shape) or (v.ndim == 2 and v.shape[1] == n and len(shape) == 1):
        vv = v.reshape(v.shape[0], 1, n)
    elif v.ndim >= 3 and v.shape[1] == B and v.shape[2:] == tuple(shape):
        vv = v.reshape(v.shape[0], B, n)
    else:
        raise ValueError(f"inputs[{name!r}]: frames of shape {v.shape} do not fit input shape "
                         f"{tuple(shape)} (expected [T, *shape] or [T, batch={B}, *shape])")
    fdt = dt if stim.dt_frame is None else stim.dt_frame
    steps = np.arange(n0, n1)
    fidx = np.floor(steps * dt / fdt + 1e-9).astype(np.int64)
    ok = fidx < vv.shape[0]
    steps, fidx = steps[ok], fidx[ok]
    vals = vv[fidx]  # [S, 1 or B, n]
    if vals.shape[1] == 1 and B > 1:
        vals = np.broadcast_to(vals, (vals.shape[0], B, n))
    s_i, b_i, c_i = np.nonzero(vals)
    return steps[s_i], b_i, c_i + off, vals[s_i, b_i, c_i].astype(np.float64)


def frame_values(stim: Frames, shape: tuple, dt: float, batch: int, step: int):
    """``(frame index, values [batch, n])`` of the frame emitted in ``step``, or
    ``(None, None)`` after the last frame."""
    v = stim.values
    n = int(np.prod(shape))
    fdt = dt if stim.dt_frame is None else stim.dt_frame
    f = int(np.floor(step * dt / fdt + 1e-9))
    if f >= v.shape[0]:
        return None, None
    if v.shape[1:] == tuple(shape) or (v.ndim == 2 and v.shape[1] == n and len(shape) == 1):
        vals = np.broadcast_to(v[f].reshape(1, n), (batch, n))
    elif v.ndim >= 3 and v.shape[1] == batch and v.shape[2:] == tuple(shape):
        vals = v[f].reshape(batch, n)
    else:
        raise ValueError(f"frames of shape {v.shape} do not fit input shape {tuple(shape)} "
                         f"(expected [T, *shape] or [T, batch={batch}, *shape])")
    return f, np.asarray(vals, dtype=np.float64)
