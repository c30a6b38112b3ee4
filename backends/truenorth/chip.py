"""Multi-core TrueNorth simulation: cores on a 64 x 64 mesh per chip, one (core, axon) target
and a 1-15 tick axonal delay per neuron, 1 ms ticks, hop counts, :class:`Counts` and
:class:`Result`.

A spike fired at tick t by a neuron with delay d is integrated by its target axon at tick t + d
(a 16-slot delay buffer per core). External input spikes given for tick t are integrated at
tick t. Spike packets are routed on a 2-D mesh with dimension-order routing, so a packet from
core (x0, y0) to (x1, y1) travels |x1 - x0| + |y1 - y0| hops; chips tile side by side in x
(chip k covers x = 64k .. 64k + 63), so inter-chip packets count the hops across the chip edge
(the merge/split interchip links are not modelled further).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from spikesim.sim.counts import Counts
from spikesim.sim.result import Result, SpikeTrain

from . import params as P
from .core import CoreArrays, aligned_copy


def mesh_coordinates(n_cores: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of cores 0..n-1 placed row-major on 64 x 64 chips tiled along x."""
    c = np.arange(n_cores)
    chip, local = c // P.CORES_PER_CHIP, c % P.CORES_PER_CHIP
    return (chip * P.MESH_WIDTH + local % P.MESH_WIDTH).astype(np.int32), \
        (local // P.MESH_WIDTH).astype(np.int32)


@dataclass
class Program:
    """A compiled TrueNorth program (what :func:`compile` returns and :func:`run` takes).

    Attributes:
        cores: kernel arrays of every core.
        core_group: int [C], index into ``group_names`` (the layer each core serves).
        group_names: counted unit names (IR layer names, ``"<layer>/splitters"``, ...).
        n_inputs: number of external input channels.
        in_ptr, in_core, in_axon: CSR from input channel k to its (core, axon) targets.
        populations: ``{name: (rec_start, n)}`` recorded populations (rec indices
            ``rec_start..rec_start+n-1`` in ``rec_index``).
        rec_index: int32 [C, 256], recording slot of each neuron or -1.
        core_x, core_y: mesh coordinates of every core.
        input_name: counted name of the external input.
        report: mapping report (dict; see the compiler).
        meta: extras (quantisation, scales, ...).
    """

    cores: CoreArrays
    core_group: np.ndarray
    group_names: list[str]
    n_inputs: int
    in_ptr: np.ndarray
    in_core: np.ndarray
    in_axon: np.ndarray
    populations: dict[str, tuple[int, int]]
    rec_index: np.ndarray
    core_x: np.ndarray
    core_y: np.ndarray
    input_name: str = "input"
    report: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_cores(self) -> int:
        return self.cores.n_cores

    @property
    def n_chips(self) -> int:
        """Chips spanned by the placement (chips tile along x)."""
        return int(self.core_x.max()) // P.MESH_WIDTH + 1 if self.n_cores else 0

    @property
    def n_rec(self) -> int:
        return int(sum(n for _, n in self.populations.values()))

    def validate(self) -> None:
        """Check targets, delays and input targets against the chip limits."""
        from . import _kernels as K

        C = self.n_cores
        tc = self.cores.route[:, :, K.R_CORE]
        if tc.size and (tc.max() >= C or tc.min() < -1):
            bad = tc.max() if tc.max() >= C else tc.min()
            raise ValueError(f"target core {int(bad)} outside -1..{C - 1}")
        d = self.cores.route[:, :, K.R_DELAY][tc >= 0]
        if d.size and (d.min() < P.DELAY_MIN or d.max() > P.DELAY_MAX):
            bad = d.min() if d.min() < P.DELAY_MIN else d.max()
            raise ValueError(f"axonal delay {int(bad)} outside {P.DELAY_MIN}..{P.DELAY_MAX} ticks")
        if self.in_core.size and (self.in_core.min() < 0 or self.in_core.max() >= C):
            raise ValueError(f"input target core outside 0..{C - 1}")
        if self.in_axon.size and (self.in_axon.min() < 0 or self.in_axon.max() > 255):
            raise ValueError("input target axon outside 0..255")


def _compile_kernels(threads: int) -> float:
    """Compile (or load from cache) the chip kernel; returns seconds spent."""
    from . import _kernels as K

    kern = K._chip_parallel if threads > 1 else K._chip_serial
    if kern.signatures:
        return 0.0
    t0 = time.perf_counter()
    from .core import pack_cores, NeuronParams

    tiny = pack_cores(np.zeros((1, 256, 256), bool), np.zeros((1, 256), np.int8),
                      [NeuronParams().arrays()], validate=False)
    prog = Program(tiny, np.zeros(1, np.int64), ["x"], 0, np.zeros(1, np.int64),
                   np.zeros(0, np.int64), np.zeros(0, np.int64), {}, np.full((1, 256), -1, np.int32),
                   *mesh_coordinates(1))
    _run_ticks(prog, threads, 0, 0, np.zeros((0, 0), np.uint8), _State.new(prog, 0),
               np.zeros((0, 0), np.uint8), np.zeros(0, np.int64))
    return time.perf_counter() - t0


def packed_routes(route: np.ndarray) -> np.ndarray:
    """[C, 256] routes packed as ``core << 12 | axon << 4 | delay`` (-1: no target), int32
    (int64 beyond 2**19 cores): one small word per neuron, so a core's routes share cache
    lines."""
    from . import _kernels as K

    tc = route[:, :, K.R_CORE].astype(np.int64)
    pk = (tc << 12) | (route[:, :, K.R_AXON].astype(np.int64) << 4) | route[:, :, K.R_DELAY]
    pk = np.where(tc >= 0, pk, -1)
    return aligned_copy(pk, np.int32 if route.shape[0] < 2 ** 19 else np.int64)


@dataclass
class _State:
    abuf: np.ndarray
    V: np.ndarray
    rkey: np.ndarray
    fl64: np.ndarray
    fired: np.ndarray
    cnt: np.ndarray
    in_cnt: np.ndarray
    args: tuple
    rpk: np.ndarray

    @classmethod
    def new(cls, prog: Program, seed: int) -> "_State":
        from . import _kernels as K
        from .core import splitmix_seeds

        import numba

        C = prog.n_cores
        nt = numba.config.NUMBA_NUM_THREADS
        return cls(aligned_copy(np.zeros((16, C, 4), np.uint64), np.uint64),
                   aligned_copy(prog.cores.v_init, np.int32),
                   splitmix_seeds(seed, C), np.zeros((nt, 32), np.uint64),
                   np.zeros((max(C, 1), 256), np.int32), np.zeros((C, K.NC), np.int64),
                   np.zeros(2, np.int64), prog.cores.kernel_args(),
                   packed_routes(prog.cores.route))

    def reset(self, prog: Program) -> None:
        self.abuf[:] = 0
        self.V[:] = prog.cores.v_init


def _run_ticks(prog, threads, t0, T, inp, st, rec, out_count, rt0=0):
    from . import _kernels as K

    kern = K._chip_parallel if threads > 1 else K._chip_serial
    kern(t0, T, inp, prog.in_ptr, prog.in_core, prog.in_axon, st.abuf, st.V, *st.args,
         st.rpk, st.rkey, rt0, st.fl64.view(np.uint8), st.fl64, st.fired,
         prog.core_x, prog.core_y, prog.rec_index, rec, out_count, st.cnt, st.in_cnt)


def run_program(prog: Program, inputs: Any = None, ticks: int | None = None, seed: int = 0,
                threads: int = 1, record_spikes: bool = True, reset_state: bool = True,
                progress: bool = True, chunk: int = 100) -> Result:
    """Run a :class:`Program` tick by tick (1 tick = 1 ms).

    Args:
        prog: the compiled program.
        inputs: 0/1 spikes ``[batch, T, n_inputs]`` or ``[T, n_inputs]`` (None: no input, then
            ``ticks`` is required). Each batch entry is one sample, run after the previous.
        ticks: ticks per sample (default: T of ``inputs``).
        seed: seed of the per-core PRNGs (stochastic modes).
        threads: numba threads (1: the serial kernel; >1: cores in parallel, same results).
        record_spikes: keep spike times of the recorded populations (else only counts).
        reset_state: reset V and the delay buffers to their initial values before each sample.
        progress: show a tqdm bar.
        chunk: ticks per kernel call (the bar updates between calls).

    Returns:
        :class:`spikesim.sim.Result` with ``engine="truenorth"``; ``outputs[name]`` are spike
        counts ``[batch, n]`` of each recorded population; ``counts`` per layer (see
        :func:`counts_from_run`).

    Example::

        res = run_program(prog, x, seed=0)      # x: uint8 [batch, T, n_inputs]
        res.outputs["out"].argmax(1)
    """
    if not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads: {threads!r} must be an integer >= 1")
    if inputs is None:
        if ticks is None:
            raise ValueError("ticks: required when inputs is None")
        x = np.zeros((1, int(ticks), prog.n_inputs), np.uint8)
    else:
        x = np.asarray(inputs)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[2] != prog.n_inputs:
            raise ValueError(f"inputs: shape {np.shape(inputs)}, expected [batch, T, "
                             f"{prog.n_inputs}] or [T, {prog.n_inputs}]")
        if x.size and not np.all((x == 0) | (x == 1)):
            raise ValueError("inputs: values must be 0/1 spikes")
        x = x.astype(np.uint8)
        if ticks is not None:
            if ticks < x.shape[1]:
                x = x[:, :ticks]
            else:
                x = np.concatenate([x, np.zeros((x.shape[0], ticks - x.shape[1], x.shape[2]),
                                                np.uint8)], axis=1)
    prog.validate()
    B, T = x.shape[0], x.shape[1]
    import numba

    jit_s = _compile_kernels(threads)
    old_threads = numba.get_num_threads()
    if threads > 1:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    st = _State.new(prog, seed)
    n_rec = prog.n_rec
    out = np.zeros((B, n_rec), np.int64)
    sp_t, sp_i, sp_b = [], [], []
    total = B * T
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="truenorth", unit="tick", leave=False)
    t_run = time.perf_counter()
    try:
        for b in range(B):
            if reset_state:
                st.reset(prog)
            for t0 in range(0, T, chunk):
                n = min(chunk, T - t0)
                rec = np.zeros((n, n_rec) if record_spikes else (0, n_rec), np.uint8)
                _run_ticks(prog, threads, t0 if reset_state else b * T + t0,
                           n, np.ascontiguousarray(x[b, t0:t0 + n]), st, rec, out[b],
                           rt0=b * T + t0)
                if record_spikes and n_rec:
                    tt, ii = np.nonzero(rec)
                    sp_t.append(tt + t0)
                    sp_i.append(ii)
                    sp_b.append(np.full(tt.size, b))
                if bar is not None:
                    bar.update(n)
    finally:
        run_s = time.perf_counter() - t_run
        if bar is not None:
            bar.close()
        numba.set_num_threads(old_threads)
    counts = counts_from_run(prog, st, B, T, threads)
    res = Result(counts=counts, t_start=0.0, t_stop=T * P.TICK_S, dt=P.TICK_S, engine="truenorth",
                 jit_s=jit_s, run_s=run_s, meta={"seed": seed, "threads": threads,
                                                 "ticks_per_sample": T, "samples": B})
    tt = np.concatenate(sp_t) if sp_t else np.zeros(0, np.int64)
    ii = np.concatenate(sp_i) if sp_i else np.zeros(0, np.int64)
    bb = np.concatenate(sp_b) if sp_b else np.zeros(0, np.int64)
    for name, (r0, n) in prog.populations.items():
        res.outputs[name] = out[:, r0:r0 + n]
        if record_spikes:
            m = (ii >= r0) & (ii < r0 + n)
            order = np.lexsort((ii[m], bb[m], tt[m]))
            res.spikes[name] = SpikeTrain(((tt[m][order] + 1) * P.TICK_S).astype(np.float64),
                                          (ii[m][order] - r0).astype(np.int64),
                                          bb[m][order].astype(np.int64), n)
    return res


def counts_from_run(prog: Program, st: _State, samples: int, ticks_per_sample: int,
                    threads: int) -> Counts:
    """Counts per layer (group of cores) from the kernel counters.

    Fields: ``spikes`` (neurons that fired), ``synops_ac`` (active axon x crossbar bit with a
    nonzero type weight; stochastic synapses count whether or not they changed V),
    ``weight_reads`` (crossbar rows read = axon events), ``dense_ac`` (256 x 256 synapse pairs
    per core per tick), ``neuron_updates`` (256 neurons per core per tick: the hardware updates
    every neuron), ``spikes_routed`` (packets sent by neurons with a target), ``hops`` (mesh
    hops of those packets); the ``chip`` row holds ``ticks`` (all samples). ``duration_s`` and
    ``steps`` are per sample (samples are independent inferences). The ``input`` row holds the
    external input spikes and the packets injected (hops of external injection are not
    modelled).
    """
    from . import _kernels as K

    T = samples * ticks_per_sample
    names = list(prog.group_names)
    # duration_s and steps are those of one sample (the samples are independent inferences,
    # as for a batch of the clock engine); the chip row's ``ticks`` is every tick executed
    c = Counts.empty([], samples=samples, duration_s=ticks_per_sample * P.TICK_S,
                     steps=ticks_per_sample, source="truenorth",
                     unfilled=("synops_mac", "dense_mac", "membrane_updates", "state_reads",
                               "state_writes", "plasticity_updates", "cycles"))
    c.add(prog.input_name, "input", spikes=int(st.in_cnt[0]), spikes_routed=int(st.in_cnt[1]))
    ncores = np.bincount(prog.core_group, minlength=len(names))
    for g, name in enumerate(names):
        m = prog.core_group == g
        s = st.cnt[m].sum(axis=0)
        c.add(name, "layer", spikes=s[K.C_SPIKES], synops_ac=s[K.C_SYNOPS],
              weight_reads=s[K.C_AXON_EVENTS], dense_ac=int(ncores[g]) * 65536 * T,
              neuron_updates=int(ncores[g]) * 256 * T, spikes_routed=s[K.C_ROUTED],
              hops=s[K.C_HOPS])
    c.add("chip", "core", ticks=T)
    c.meta.update({"cores": prog.n_cores, "chips": prog.n_chips, "tick_s": P.TICK_S,
                   "total_ticks": T,
                   "threads": threads, "saturations": int(st.cnt[:, K.C_SAT].sum()),
                   "negative_threshold_events": int(st.cnt[:, K.C_NEG].sum())})
    return c


def program_from_cores(cores: CoreArrays, group_of_core: Sequence[int] | None = None,
                       group_names: Sequence[str] = ("cores",), inputs: Sequence[Sequence[tuple[int, int]]] = (),
                       record: dict[str, Sequence[tuple[int, int]]] | None = None,
                       placement: np.ndarray | None = None) -> Program:
    """Build a :class:`Program` from packed cores (hand-made networks, benchmarks).

    Args:
        cores: :func:`~spikesim.backends.truenorth.core.pack_cores` output.
        group_of_core: group index of each core (default all 0).
        group_names: names of the groups (counted units).
        inputs: for each external input channel, its list of (core, axon) targets.
        record: ``{population: [(core, neuron), ...]}`` neurons whose spikes are recorded.
        placement: optional int [C] mesh slot of each core (default: core index).

    Example::

        prog = program_from_cores(arrs, inputs=[[(0, 0)]], record={"out": [(0, 0)]})
    """
    C = cores.n_cores
    g = np.zeros(C, np.int64) if group_of_core is None else np.asarray(group_of_core, np.int64)
    ptr = np.zeros(len(inputs) + 1, np.int64)
    ic, ia = [], []
    for k, tg in enumerate(inputs):
        ptr[k + 1] = ptr[k] + len(tg)
        for cc, aa in tg:
            ic.append(cc)
            ia.append(aa)
    rec_index = np.full((C, 256), -1, np.int32)
    pops: dict[str, tuple[int, int]] = {}
    r = 0
    for name, neurons in (record or {}).items():
        pops[name] = (r, len(neurons))
        for cc, jj in neurons:
            if rec_index[cc, jj] >= 0:
                raise ValueError(f"record: neuron (core {cc}, {jj}) is recorded twice")
            rec_index[cc, jj] = r
            r += 1
    if placement is None:
        x, y = mesh_coordinates(C)
    else:
        pl = np.asarray(placement)
        xs, ys = mesh_coordinates(int(pl.max()) + 1)
        x, y = xs[pl], ys[pl]
    prog = Program(cores, g, list(group_names), len(inputs), ptr, np.asarray(ic, np.int64),
                   np.asarray(ia, np.int64), pops, rec_index, x.astype(np.int32),
                   y.astype(np.int32))
    prog.validate()
    return prog
