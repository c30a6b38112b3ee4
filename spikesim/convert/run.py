"""Run a converted network on the clock engine and read it out after several timestep counts.

:func:`simulate` feeds a batch of inputs (analog currents as one constant frame, or
Bernoulli spike frames drawn from ``rng``), runs ``max(T) + depth`` steps in segments that end
at ``T + depth`` for every requested ``T``, and reads the readout there: the membrane of the
``LI`` readout, or the readout's spike counts so far. Because the input is constant and every
layer starts receiving (and its bias starts acting) in the step its first input can arrive,
the state after ``T + depth`` steps is exactly that of the layer-synchronous SNN after ``T``
steps (tested). Synaptic operations are the engine's :class:`~spikesim.sim.Counts`
(``synops_ac`` from spikes plus ``synops_mac`` from analog input values) over those
``T + depth`` steps, per inference.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass
class ConversionRun:
    """Readouts of :func:`simulate`.

    Attributes:
        timesteps: the ``T`` values.
        scores: ``{T: [N, classes]}`` readout membranes (or spike counts) after ``T + depth``
            steps.
        synops: ``{T: total synaptic operations}`` over all ``N`` inputs (AC + MAC).
        synops_ac, synops_mac: the two parts.
        spikes: ``{T: total spikes}`` of all neuron layers.
        jit_s, run_s: engine JIT/cache-load and run seconds (summed over batches).
    """

    timesteps: list
    scores: dict = field(default_factory=dict)
    synops: dict = field(default_factory=dict)
    synops_ac: dict = field(default_factory=dict)
    synops_mac: dict = field(default_factory=dict)
    spikes: dict = field(default_factory=dict)
    n: int = 0
    jit_s: float = 0.0
    run_s: float = 0.0

    def predictions(self, T: int) -> np.ndarray:
        """Predicted class per input after ``T`` timesteps (argmax; ties: lowest index)."""
        return self.scores[T].argmax(axis=1)

    def accuracy(self, labels: np.ndarray) -> dict:
        """``{T: fraction correct}``."""
        return {T: float(np.mean(self.predictions(T) == labels)) for T in self.timesteps}


def _check_timesteps(timesteps) -> list[int]:
    ts = [timesteps] if np.isscalar(timesteps) else list(timesteps)
    if not ts:
        raise ValueError("timesteps: need at least one value")
    for t in ts:
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1:
            raise ValueError(f"timesteps: {t!r} must be an int >= 1")
    return sorted({int(t) for t in ts})


def simulate(net, x: np.ndarray, timesteps: Sequence[int] | int, *, batch: int = 500,
             dt: float = 1e-3, rng=0, dtype: str = "float64", threads: int | None = None,
             max_seconds: float | None = None, progress: bool = True) -> ConversionRun:
    """Simulate a network from :func:`spikesim.convert.convert` on inputs ``x``.

    Args:
        net: the converted ``ir.Network``.
        x: ``[N, *input_shape]`` inputs, scaled as for the ANN.
        timesteps: the ``T`` values to read out at (the run lasts ``max(T) + depth`` steps).
        batch: inputs simulated together (the engine's batch).
        dt: the engine time step (s); the converted network's dynamics do not depend on it.
        rng: seed or ``np.random.Generator`` for Poisson input spikes.
        dtype: engine precision, ``"float64"`` or ``"float32"``.
        threads: numba threads for the engine.
        max_seconds: stop after the batch during which this much wall time has passed; the
            result then covers the first ``run.n`` inputs only (``run.n < len(x)``).
        progress: a tqdm bar over batches.

    Example:
        >>> import numpy as np
        >>> from spikesim import nn
        >>> from spikesim.convert import convert
        >>> ann = nn.Sequential(nn.Dense(4, 8, rng=0), nn.ReLU(), nn.Dense(8, 3, rng=1))
        >>> x = np.random.default_rng(0).random((20, 4))
        >>> run = simulate(convert(ann, x, norm="max"), x, [16, 64], progress=False)
        >>> sorted(run.scores), run.scores[64].shape
        ([16, 64], (20, 3))
    """
    from tqdm.auto import tqdm

    from spikesim.nn.layers import as_rng
    from spikesim.sim import Frames, Simulator

    meta = net.metadata.get("convert") if isinstance(net.metadata, dict) else None
    if meta is None:
        raise ValueError("net: not a network from spikesim.convert.convert (no "
                         "metadata['convert'])")
    ts = _check_timesteps(timesteps)
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch={batch!r} must be an int >= 1")
    shape = tuple(net["input"].shape)
    x = np.asarray(x)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise ValueError(f"x: shape {x.shape} must be [N, {', '.join(map(str, shape))}]")
    gen = as_rng(rng)
    D = int(meta["depth"])
    coding = meta["input_coding"]
    spike_out = meta["readout"] == "spikes"
    total = ts[-1] + D
    out = ConversionRun(timesteps=ts)
    parts: dict = {T: [] for T in ts}
    for k in ("synops", "synops_ac", "synops_mac", "spikes"):
        setattr(out, k, {T: 0 for T in ts})
    bar = tqdm(range(0, len(x), batch), desc="convert.simulate", disable=not progress,
               leave=False)
    t_start = time.perf_counter()
    done_n = 0
    sims: dict = {}
    for s in bar:
        if max_seconds is not None and time.perf_counter() - t_start > max_seconds:
            break
        xb = x[s:s + batch].astype(np.float64)
        B = len(xb)
        if B not in sims:  # one engine (synapse tables) per batch size, reset between batches
            sims[B] = Simulator(net, dt=dt, batch=B, record=False, dtype=dtype, threads=threads,
                                rng=0)
        sim = sims[B]
        sim.reset()
        if coding == "analog":
            stim = Frames(xb[None], dt_frame=total * dt * 2)
        else:
            p = xb / meta["input_scale"]
            if p.min() < 0 or p.max() > 1:
                raise ValueError(f"x: Poisson coding needs 0 <= x <= input_scale "
                                 f"({meta['input_scale']}), got [{xb.min()}, {xb.max()}]")
            stim = Frames(gen.random((total, *xb.shape)) < p)
        done = 0
        acc = np.zeros((B,) + tuple(net.shapes["readout"][1]))
        ac = mac = spk = 0
        for T in ts:
            res = sim.run((T + D - done) * dt, inputs={"input": stim}, progress=False)
            done = T + D
            out.jit_s += res.jit_s
            out.run_s += res.run_s
            o = res.outputs["output"]
            acc = acc + o if spike_out else o
            ac += res.counts.total("synops_ac")
            mac += res.counts.total("synops_mac")
            spk += res.counts.total("spikes")
            parts[T].append(np.array(acc, dtype=np.float64).reshape(B, -1))
            out.synops_ac[T] += ac
            out.synops_mac[T] += mac
            out.synops[T] += ac + mac
            out.spikes[T] += spk
        done_n += B
    out.n = done_n
    out.scores = {T: np.concatenate(parts[T]) for T in ts}
    return out


def synchronous_reference(net, x: np.ndarray, T: int) -> np.ndarray:
    """Slow layer-synchronous simulation of a converted network (analog input, membrane or
    spike readout): every layer updated in the same step. For tests; returns the readout
    after ``T`` steps ``[N, classes]``."""
    from spikesim import ir
    from spikesim.sim.linear import chains, compose

    meta = net.metadata["convert"]
    order = ["input"]
    cs = chains(net)
    incoming = {}
    for src, path, dst, _ in cs:
        incoming[dst] = (src, compose(net, path, {}) if path else None)
    while len(order) < len(incoming) + 1:
        for dst, (src, _) in incoming.items():
            if dst not in order and src in order:
                order.append(dst)
    N = len(x)
    xin = x.reshape(N, -1).astype(np.float64)
    v = {n: np.full((N, net[n].n), 0.0 if net[n].v_init is None else float(np.ravel(net[n].v_init)[0]))
         for n in order[1:]}
    counts = {n: np.zeros((N, net[n].n)) for n in order[1:]}
    for _ in range(T):
        s = {"input": xin}
        for n in order[1:]:
            src, (m, b) = incoming[n]
            v[n] += s[src] @ m.T.toarray() + b
            node = net[n]
            if isinstance(node, ir.IF):
                fired = v[n] >= 1.0
                if node.reset == "subtract":
                    v[n] -= fired
                else:
                    v[n][fired] = 0.0
                s[n] = fired.astype(np.float64)
                counts[n] += fired
    return counts["readout"] if meta["readout"] == "spikes" else v["readout"]
