"""Run a compiled Loihi :class:`~spikesim.backends.loihi.compiler.Program`: bit-exact
compartments, synapses and online learning, operation counts, time per step and energy.

Execution is layer by layer over the whole run (the network is feed-forward and every
synapse delays by at least one step, so a layer's input is known before it runs); plastic
connections are run epoch by epoch so their weights change online.

Time per step (Davies 2018 Table 2 latencies, charged to the core that does the work)::

    core time = synops x 3.5 ns + active compartments x 8.4 ns + inactive x 5.3 ns
              + STDP synapse updates x 6.1 ns + spikes sent x 2.1 ns
              + E-W hops x 4.1 ns + N-S hops x 6.5 ns
    step time = max over cores (core time) + barrier(tiles used)  (113..465 ns)

A compartment is *active* in a step when its u or v is nonzero or it spiked [MODEL]. A spike
is one packet per target core; hops are the Manhattan distance between the tiles (input
spikes enter at tile 0, the host interface) [MODEL]. The
latency per inference is the sum of its step times; static energy is 104 mW x latency
[DERIVED]. ``Counts.duration_s`` therefore holds the chip time per inference (not the
biological time ``T * dt``, which is ``meta["bio_duration_s"]``).
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np

from spikesim.backends.loihi import params as P
from spikesim.backends.loihi.compiler import Program, target_matrix
from spikesim.backends.loihi.learning import LearningState, _learning_kernel, _FACTOR_WIDTH, _FRAC
from spikesim.backends.loihi.lif import _lif_kernel
from spikesim.backends.loihi.synapse import synaptic_input, synops, weight_grid
from spikesim.sim.counts import Counts
from spikesim.sim.result import Result, SpikeTrain

_NO_SPIKE = 1 << 40      # threshold of readout compartments: above any 24-bit voltage
UNFILLED = ("membrane_updates", "synops_mac", "dense_ac", "dense_mac", "weight_reads",
            "state_reads", "state_writes", "cycles")


def warmup() -> float:
    """Compile (or load from cache) the numba kernels on tiny inputs; return seconds."""
    t0 = time.perf_counter()
    z = np.zeros(1, np.int64)
    _lif_kernel(np.zeros((1, 1), np.int64), z + 4095, z.copy(), z + 64, z.copy(), z.copy(),
                z.copy(), z.copy(), z.copy(), np.zeros((1, 1), np.bool_),
                np.zeros((1, 1), np.int32), np.zeros((1, 1), np.int32))
    from spikesim.backends.loihi.synapse import Weights
    synaptic_input(np.zeros((2, 1), bool), Weights(np.zeros((1, 1), np.int64), 8, "mixed", 0,
                                                  np.zeros((1, 1), np.int64) + 1))
    return time.perf_counter() - t0


def _inputs(program: Program, inputs: Mapping[str, Any]) -> tuple[dict, int, int]:
    if not isinstance(inputs, Mapping):
        raise TypeError("inputs must be a dict {input node: spike array [T, batch, *shape]}")
    missing = set(program.inputs) - set(inputs)
    extra = set(inputs) - set(program.inputs)
    if missing or extra:
        raise ValueError(f"inputs: expected spikes for {sorted(program.inputs)}; missing "
                         f"{sorted(missing)}, unknown {sorted(extra)}")
    out, T, B = {}, None, None
    for name, shape in program.inputs.items():
        a = np.asarray(inputs[name])
        n = int(np.prod(shape))
        if a.ndim == 1 + len(shape) and a.shape[1:] == tuple(shape):
            a = a[:, None]
        if a.ndim != 2 + len(shape) or a.shape[2:] != tuple(shape):
            raise ValueError(f"inputs[{name!r}]: expected shape [T, batch, *{tuple(shape)}] or "
                             f"[T, *{tuple(shape)}]; got {a.shape}")
        if a.dtype.kind not in "biu" or (a.size and (a.min() < 0 or a.max() > 1)):
            raise ValueError(f"inputs[{name!r}]: Loihi inputs are binary spikes (0/1); got "
                             f"values in [{a.min()}, {a.max()}] (encode analog values as spikes)")
        if T is None:
            T, B = a.shape[:2]
        elif a.shape[:2] != (T, B):
            raise ValueError(f"inputs[{name!r}]: [T, batch] = {a.shape[:2]} differs from "
                             f"{(T, B)} of the other inputs")
        out[name] = np.ascontiguousarray(a.reshape(T, B, n), dtype=np.bool_)
    if not T:
        raise ValueError("inputs: need at least one step")
    return out, int(T), int(B)


def _tile_xy(tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return tiles % P.MESH_COLS, tiles // P.MESH_COLS


def run(program: Program, inputs: Mapping[str, Any], *, seed: int = 0,
        progress: bool = True) -> Result:
    """Run a compiled program on spike inputs.

    Args:
        program: from :func:`~spikesim.backends.loihi.compiler.compile`.
        inputs: ``{input node: spikes}``, bool/0-1 arrays ``[T, batch, *shape]`` (or
            ``[T, *shape]`` for one sample); one array step is one Loihi timestep (dt).
        seed: seed of the learning engine's stochastic rounding (plastic connections).
        progress: show a progress bar over the layers.

    Returns:
        :class:`spikesim.sim.result.Result`: ``spikes`` per population, ``outputs`` (spike
        counts ``[batch, *shape]`` of spiking sources, final ``v`` of readouts in the
        network's float units, ``v_fix / scale + v_leak``), ``counts`` (per layer; ``duration_s`` = chip time per inference),
        ``meta`` with ``latency_s``, ``step_time_s``, ``steps_per_s``, ``cores``,
        ``learned`` weights of plastic connections.

    Example::

        prog = compile(net)
        res = run(prog, {"in": spikes})          # spikes: bool [T, batch, 784]
        res.outputs["out"].argmax(1)
    """
    if not isinstance(program, Program):
        raise TypeError(f"program must be a loihi Program; got {type(program).__name__}")
    jit_s = warmup()
    t_start = time.perf_counter()
    spikes, T, B = _inputs(program, inputs)
    n_cores = program.n_cores
    core_time = np.zeros((T, B, n_cores))
    counts = Counts(samples=B, source="loihi", steps=T, unfilled=UNFILLED)
    for name in program.inputs:
        counts.add(name, kind="input", spikes=int(spikes[name].sum()))
    final_v, learned = {}, {}
    pops = list(program.populations.items())
    it = pops
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(pops, desc="loihi layers", leave=False)
    for pname, pop in it:
        incoming = [c for c in program.connections if c.dst == pname]
        plastic = [c for c in incoming if c.learning is not None]
        if plastic and B != 1:
            raise ValueError(f"layer {pname!r} has plastic connections: online learning runs "
                             f"one sample at a time (batch=1), got batch={B}")
        n = pop.n
        a_in = np.zeros((T, B, n), np.int64)
        syn_total = 0
        for c in incoming:
            if c.learning is None:
                a_in += synaptic_input(spikes[c.src], c.weights)
                syn_total += synops(spikes[c.src], c.weights)
        tile = lambda x: np.ascontiguousarray(np.tile(x, B))  # noqa: E731
        vth_eff = tile(pop.vth << P.VTH_SHIFT) if pop.spiking else np.full(n * B, _NO_SPIKE)
        args = (tile(pop.du), tile(pop.dv), vth_eff, tile(pop.bias_mant << pop.bias_exp),
                tile(pop.refractory))
        state = [np.zeros(n * B, np.int64), tile(pop.v_init).astype(np.int64),
                 np.zeros(n * B, np.int64)]
        s_out = np.zeros((T, n * B), np.bool_)
        u_out = np.zeros((T, n * B), np.int32)
        v_out = np.zeros((T, n * B), np.int32)
        upd_steps = np.zeros(T, np.int64)
        if not plastic:
            _lif_kernel(a_in.reshape(T, n * B), *args, *state, s_out, u_out, v_out)
        else:
            syn_total += _run_plastic(program, pop, plastic, spikes, a_in, args, state,
                                      s_out, u_out, v_out, upd_steps, seed, learned)
        s = s_out.reshape(T, B, n)
        spikes[pname] = s
        final_v[pname] = v_out[-1].reshape(B, n) / pop.scale + pop.v_offset
        # per-core compartment time
        active = (u_out != 0) | (v_out != 0) | s_out
        act = active.reshape(T, B, n)
        bounds = [program.cores[k]["neurons"] for k in pop.cores]
        for k, (a, b) in zip(pop.cores, bounds):
            na = act[:, :, a:b].sum(2)
            core_time[:, :, k] += na * P.T_NEURON_ACTIVE + ((b - a) - na) * P.T_NEURON_INACTIVE
            if plastic:
                core_time[:, 0, k] += upd_steps * (b - a) / n * P.T_SYN_UPDATE
        for c in incoming:
            core_time += _synop_time(program, c, spikes[c.src], pop)
        counts.add(pname, kind="neuron", spikes=int(s.sum()), neuron_updates=n * T * B,
                   synops_ac=syn_total, ticks=T * B,
                   plasticity_updates=int(upd_steps.sum()))
    # routing: packets and hops from every source (inputs enter at tile 0)
    for src in list(program.inputs) + list(program.populations):
        m = target_matrix(src, program.populations, program.connections)
        if m is None:
            continue
        s = spikes[src]
        x_t, y_t = _tile_xy(program.core_tile)
        if src in program.populations:
            pop = program.populations[src]
            sx, sy = x_t[pop.core_of], y_t[pop.core_of]
        else:
            sx = sy = np.zeros(m.shape[0], np.int64)
        ew = (m * np.abs(sx[:, None] - x_t[None, :])).sum(1)
        ns = (m * np.abs(sy[:, None] - y_t[None, :])).sum(1)
        packets = m.sum(1)
        counts.add(src, spikes_routed=int((s.sum((0, 1)) * packets).sum()),
                   hops=int((s.sum((0, 1)) * (ew + ns)).sum()))
        if src in program.populations:
            per_n = packets * P.T_SPIKE_TILE + ew * P.T_HOP_EW + ns * P.T_HOP_NS
            for k in program.populations[src].cores:
                a, b = program.cores[k]["neurons"]
                core_time[:, :, k] += s[:, :, a:b].astype(np.float64) @ per_n[a:b]
    step_time = core_time.max(2) + P.barrier_s(program.tiles)        # [T, B]
    latency = step_time.sum(0)                                        # [B]
    counts.duration_s = float(latency.mean())
    counts.meta.update({"chips": program.chips, "cores": n_cores, "dt": program.dt,
                        "bio_duration_s": T * program.dt,
                        "duration_note": "duration_s is Loihi chip time per inference",
                        "weights": int(sum((c.weights.w != 0).sum()
                                           for c in program.connections))})
    result = Result(counts=counts, t_start=0.0, t_stop=T * program.dt, dt=program.dt,
                    engine="loihi", jit_s=jit_s)
    for pname, pop in program.populations.items():
        s = spikes[pname]
        t_idx, b_idx, i_idx = np.nonzero(s)
        result.spikes[pname] = SpikeTrain((t_idx + 1) * program.dt, i_idx.astype(np.int64),
                                          b_idx.astype(np.int64), pop.n)
    for out, pname in program.outputs.items():
        pop = program.populations[pname]
        if pop.spiking:
            result.outputs[out] = spikes[pname].sum(0).reshape((B,) + pop.shape)
        else:
            result.outputs[out] = final_v[pname].reshape((B,) + pop.shape)
    result.run_s = time.perf_counter() - t_start
    result.meta.update({"latency_s": float(latency.mean()),
                        "step_time_s": float(step_time.mean()),
                        "steps_per_s": float(T / latency.mean()),
                        "cores": n_cores, "tiles": program.tiles, "learned": learned,
                        "seed": seed})
    return result


def _synop_time(program, conn, s_src, pop) -> np.ndarray:
    """[T, B, n_cores] synaptic-op time of one connection, charged to the receiving cores."""
    T, B, _ = s_src.shape
    out = np.zeros((T, B, program.n_cores))
    nz = conn.weights.w != 0
    d = conn.weights.delays if conn.weights.delays is not None else np.zeros(nz.shape, np.int64)
    for dd in np.unique(d[nz]) if nz.any() else []:
        m = nz & (d == dd)
        lag = 1 + int(dd)
        if lag >= T:
            continue
        for k in pop.cores:
            a, b = program.cores[k]["neurons"]
            per_pre = m[a:b].sum(0).astype(np.float64)              # [n_pre]
            out[lag:, :, k] += (s_src[:-lag].astype(np.float64) @ per_pre) * P.T_SYNOP
    return out


def _run_plastic(program, pop, plastic, spikes, a_in, args, state, s_out, u_out, v_out,
                 upd_steps, seed, learned) -> int:
    """Epoch-by-epoch run of a population with plastic incoming connections (batch 1)."""
    T = a_in.shape[0]
    rules = {c.name: c.learning for c in plastic}
    t_epoch = int(np.lcm.reduce([r.t_epoch for r in rules.values()]))
    wts = {c.name: c.weights for c in plastic}
    lstate = {c.name: None for c in plastic}
    total_syn = 0
    from spikesim.backends.loihi.learning import run_learning
    from spikesim.backends.loihi.synapse import Weights
    for e0 in range(0, T, t_epoch):
        e1 = min(T, e0 + t_epoch)
        a = a_in[e0:e1, 0].copy()
        for c in plastic:
            w = wts[c.name]
            dmax = int(w.delays.max()) if w.delays is not None else 0
            lo = max(0, e0 - 1 - dmax)
            win = spikes[c.src][lo:e1]
            a += synaptic_input(win, w)[-(e1 - e0):, 0]
            # synops delivered in this chunk
            if e0 > 0 or e1 > 0:
                nzc = (w.w != 0).sum(0)
                src_t = spikes[c.src][max(0, e0 - 1):e1 - 1, 0].sum(0)
                total_syn += int(src_t @ nzc)
        _lif_kernel(np.ascontiguousarray(a), *args, *state, s_out[e0:e1], u_out[e0:e1],
                    v_out[e0:e1])
        if e1 - e0 < t_epoch:
            break
        for c in plastic:
            w = wts[c.name]
            st = run_learning(rules[c.name], spikes[c.src][e0:e1, 0], s_out[e0:e1], w,
                              seed=seed, state=lstate[c.name])
            upd_steps[e1 - 1] += st.updates
            lstate[c.name] = st
            learns_d = "d" in rules[c.name].products
            wts[c.name] = Weights(st.w, w.num_bits, w.sign_mode, w.weight_exp,
                                  st.d.copy() if learns_d else w.delays)
    for c in plastic:
        learned[c.name] = wts[c.name].w.copy()
        if wts[c.name].delays is not None:
            learned[c.name + ".delays"] = wts[c.name].delays.copy()
    return total_syn
