"""Plasticity state of the clock engine (built by :class:`spikesim.sim.clock.ClockEngine`
only when some projection has a rule; the kernels are in :mod:`spikesim.kernels.plasticity`)."""
from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Mapping

import numpy as np

from spikesim.learn.monitor import Reward, WeightMonitor
from spikesim.learn.rules import RULES, RewardSTDP


def plastic_lists(eng: Any, srule: np.ndarray, R: int) -> tuple:
    """Index lists of the plastic synapses (``srule[q] >= 0``: the rule slot of synapse
    ``q``) of either engine: ``plastic`` (their indices); by postsynaptic neuron ``cq``
    (synapses), ``cpre`` (presynaptic indices), ``crule`` (slots), ``cptr`` (start per
    neuron); by rule slot ``rqpos`` (synapses) and ``rqptr`` (start per slot)."""
    plastic = np.flatnonzero(srule >= 0)
    qpre = np.repeat(np.arange(eng.N_pre), np.diff(eng.indptr))
    post = eng.sidx[plastic].astype(np.int64)
    cq = plastic[np.argsort(post, kind="stable")].astype(np.int64)
    cptr = np.concatenate([[0], np.cumsum(np.bincount(post, minlength=eng.N))]).astype(np.int64)
    rqpos = plastic[np.argsort(srule[plastic], kind="stable")].astype(np.int64)
    rqptr = np.concatenate([[0], np.cumsum(np.bincount(srule[plastic], minlength=R))]
                           ).astype(np.int64)
    return (plastic, cq, qpre[cq].astype(np.int64), srule[cq].astype(np.int64), cptr, rqpos,
            rqptr)


def check_rule(where: str, rule: Any) -> None:
    if not isinstance(rule, RULES):
        raise TypeError(f"{where}.plasticity: {rule!r} is not a learning rule; use one of "
                        f"{[c.__name__ for c in RULES]} from spikesim.learn")


def plastic_projections(eng: Any) -> Iterator[tuple[str, Any, int, np.ndarray, tuple]]:
    """The plastic ``Sparse`` nodes of either engine's network, in the engine's order:
    ``(name, rule, start, sel, rrange)`` with ``sel`` the positions of the node's synapses
    in the engine's synapse arrays, ``start`` its first synapse's original index and
    ``rrange`` its (pre start, pre stop, post start, post stop) in the engine's offsets.
    Checks that the rule is a learning rule and that the node has exactly one input and one
    output edge, and that the engine runs one network (``batch=1``)."""
    if eng.batch != 1:
        raise ValueError(f"batch: plasticity needs batch=1 (the weights are shared by the "
                         f"batch), got batch={eng.batch}")
    net = eng.net
    for name, (start, nnz) in eng.syn_origin.items():
        rule = getattr(net[name], "plasticity", None)
        if rule is None:
            continue
        check_rule(f"node {name!r}: Sparse", rule)
        ins, outs = net.in_edges(name), net.out_edges(name)
        if len(ins) != 1 or len(outs) != 1:
            raise ValueError(f"node {name!r}: a plastic Sparse needs exactly one input and "
                             f"one output edge, got {len(ins)} and {len(outs)}")
        src, dst = ins[0].src, outs[0].dst
        sel = np.flatnonzero((eng.sorig >= start) & (eng.sorig < start + nnz))
        so, do = eng.offset[src], eng.offset[dst]
        yield name, rule, start, sel, (so, so + net.size(src), do, do + net[dst].n)


def split_reward_inputs(names: list[str], rules: list[Any],
                        inputs: Mapping[str, Any] | None) -> tuple[dict, dict]:
    """``(stimuli, rewards)``: the entries of ``inputs`` keyed by a plastic projection's
    name (in ``names``, with ``rules``) are reward signals; that projection's rule must be
    RewardSTDP. Shared by both engines."""
    stims, rewards = {}, {}
    for name, val in (inputs or {}).items():
        if name in names:
            rule = rules[names.index(name)]
            if not isinstance(rule, RewardSTDP):
                raise ValueError(f"inputs[{name!r}]: a reward signal for a projection whose "
                                 f"rule is {type(rule).__name__}, not RewardSTDP")
            rewards[name] = val
        else:
            stims[name] = val
    return stims, rewards


class ClockLearning:
    """Plastic projections of a clock engine: rule table, traces, plastic-synapse indices."""

    def __init__(self, eng: Any):
        net = eng.net
        self.eng = eng
        self.names: list[str] = []
        self.rules: list[Any] = []
        self.pos: dict[str, np.ndarray] = {}
        srule = np.full(eng.sidx.size, -1, np.int16)
        rrange = []
        rows = []
        dt = eng.dt
        for name, rule, start, sel, rr in plastic_projections(eng):
            self.pos[name] = sel[np.argsort(eng.sorig[sel] - start, kind="stable")]
            srule[sel] = len(self.names)
            rrange.append(rr)
            p = rule.trace_params()
            reward = isinstance(rule, RewardSTDP)
            rows.append([1.0 if reward else 0.0, p["a2p"], p["a3p"], p["a2m"], p["a3m"],
                         np.exp(-dt / p["tau_r1"]), np.exp(-dt / p["tau_r2"]),
                         np.exp(-dt / p["tau_o1"]), np.exp(-dt / p["tau_o2"]), p["nearest"],
                         p["mult"], p["w_min"], p["w_max"],
                         np.exp(-dt / rule.tau_c) if reward else 1.0,
                         np.exp(-dt / rule.tau_d) if reward else 1.0, dt if reward else 0.0,
                         rule.d_tonic if reward else 0.0])
            self.names.append(name)
            self.rules.append(rule)
        if len(self.names) > 32000:
            raise ValueError("plasticity: at most 32000 plastic projections are supported")
        R = len(self.names)
        self.R = R
        self.srule = srule
        self.rp = np.array(rows, np.float64).reshape(R, 17)
        # out- and in-degree of each plastic projection (for update_counts)
        self._degrees = [(np.diff(net[name].indptr),
                          np.bincount(net[name].indices, minlength=net[name].n_post))
                         for name in self.names]
        self.rrange = np.array(rrange, np.int64).reshape(R, 4)
        (_, self.cq, self.cpre, self.crule, self.cptr, self.rqpos,
         self.rqptr) = plastic_lists(eng, srule, R)
        self.ptab = decay_table(self.rp[:, 5:9])
        self.has_reward = bool(any(isinstance(r, RewardSTDP) for r in self.rules))
        # pair STDP with additive dependence everywhere: lazy potentiation (kernels docs)
        self.lazy = bool(R > 0 and not self.has_reward and np.all(self.rp[:, 2] == 0.0)
                         and np.all(self.rp[:, 4] == 0.0) and np.all(self.rp[:, 10] == 0.0))
        self.T = eng.blocks.size - 1
        self.rrow, self.rport = row_rules(srule, eng.sport, eng.pstart)
        self.sw0 = eng.sw.copy()
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        eng = self.eng
        R, M = self.R, eng.N_pre
        self.r1 = np.zeros((R, M))
        self.r2 = np.zeros((R, M))
        self.o1 = np.zeros((R, M))
        self.o2 = np.zeros((R, M))
        self.tpre = np.zeros((R, M), np.int64)  # step of each trace's last change (lazy decay)
        self.tpost = np.zeros((R, M), np.int64)
        self.elig = np.zeros(eng.sw.size if self.has_reward else 1)
        # reward synapses are brought up to date lazily (kernels.plasticity._rsync): the
        # step each one is current through, and the step of each slot's reward trace
        self.rtsync = np.zeros(eng.sw.size if self.has_reward else 1, np.int64)
        self.rtref = np.zeros(max(self.R, 1), np.int64)
        self.dopa = np.zeros(R)
        self.pupd = np.zeros(self.T, np.int64)  # per thread (all plastic projections)
        eng.sw[:] = self.sw0
        self._reset_lazy()

    # postsynaptic spikes listed per neuron before they are applied to its input synapses:
    # 64 (a full list costs the eager kernel's scattered writes once), fewer when the lists
    # would take more than 16 MB
    LAZY_LIST, LAZY_BYTES = 64, 16 << 20
    # the newest listed spikes of each neuron, also kept in one row of their own (at least 2):
    # a synapse with up to this many pending potentiations does not read the list
    LAZY_NEWEST = 4

    def _reset_lazy(self) -> None:
        """Empty the pending-potentiation lists (nothing pending)."""
        eng = self.eng
        if self.lazy:
            h = self.LAZY_LIST
            while h > 8 and eng.N * h * 8 > self.LAZY_BYTES:
                h //= 2
            self.lz = (np.zeros((eng.N, h), np.int64), np.zeros(eng.N, np.int64),
                       np.ones(1, np.bool_), np.full(eng.N_pre, -1, np.int64),
                       np.full((eng.N, self.LAZY_NEWEST), -1, np.int64), self.rrow, self.rport,
                       np.zeros((self.R, eng.N, 2)))

    def flush(self) -> None:
        """Apply all pending potentiation to the weights (lazy kernels; a no-op otherwise)."""
        if self.lazy:
            from spikesim.kernels.plasticity_lazy import lazy_flush

            lazy_flush(self.plas(np.zeros((self.R, 1))), self.eng.sw, self.lz)

    def run_chunk(self, args: tuple, plas: tuple, blocks: np.ndarray | None) -> tuple:
        """Call the plastic chunk kernel (lazy or eager; serial or on ``blocks``)."""
        from spikesim.kernels import plasticity as k
        from spikesim.kernels import plasticity_lazy as kl

        if self.lazy:
            if blocks is not None:
                return kl.run_chunk_lazy_parallel(*args, plas, self.lz, blocks)
            return kl.run_chunk_lazy(*args, plas, self.lz)
        if blocks is not None:
            return k.run_chunk_learn_parallel(*args, plas, blocks)
        return k.run_chunk_learn(*args, plas)

    KEYS = ("r1", "r2", "o1", "o2", "tpre", "tpost", "elig", "dopa", "pupd")

    def get_state(self) -> dict[str, np.ndarray]:
        self.flush()
        st = {f"learn_{k}": getattr(self, k).copy() for k in self.KEYS}
        st["learn_sw"] = self.eng.sw.copy()
        return st

    def set_state(self, st: Mapping[str, np.ndarray]) -> None:
        for k in self.KEYS + ("sw",):
            key = f"learn_{k}"
            if key not in st:
                raise ValueError(f"state: missing {key!r} (state saved without plasticity?)")
            tgt = self.eng.sw if k == "sw" else getattr(self, k)
            arr = np.asarray(st[key])
            if arr.shape != tgt.shape:
                raise ValueError(f"state[{key!r}]: shape {arr.shape} != {tgt.shape}")
            tgt[...] = arr
        self._reset_lazy()

    # ------------------------------------------------------------------ run support
    def split_inputs(self, inputs: Mapping[str, Any] | None) -> tuple[dict, dict]:
        """Separate reward signals (keyed by a plastic projection's name) from stimuli."""
        return split_reward_inputs(self.names, self.rules, inputs)

    def reward_array(self, rewards: Mapping[str, Any], n_start: int, nsteps: int) -> np.ndarray:
        """``[R, nsteps]`` reward added to each slot's reward trace at each step of the run."""
        out = np.zeros((self.R, max(nsteps, 1)))
        dt = self.eng.dt
        for name, val in rewards.items():
            r = self.names.index(name)
            if isinstance(val, Reward):
                steps = np.floor(val.times / dt + 1e-9).astype(np.int64) - n_start
                m = (steps >= 0) & (steps < nsteps)
                np.add.at(out[r], steps[m], val.amounts[m])
            else:
                a = np.asarray(val, dtype=np.float64)
                if a.shape != (nsteps,):
                    raise ValueError(f"inputs[{name!r}]: a reward array must have one value per "
                                     f"step of this run, shape ({nsteps},), got {a.shape}; or "
                                     f"pass spikesim.learn.Reward(times, amounts)")
                if not np.isfinite(a).all():
                    raise ValueError(f"inputs[{name!r}]: reward values must be finite")
                out[r, :nsteps] += a
        return out

    def plas(self, rew: np.ndarray) -> tuple:
        return (self.srule, self.cptr, self.cq, self.cpre, self.crule, self.rp, self.rrange,
                self.r1, self.r2, self.o1, self.o2, self.tpre, self.tpost, self.ptab, self.elig,
                self.dopa, rew, self.rqptr, self.rqpos, self.pupd, self.rtsync, self.rtref)

    def update_counts(self, spikes: np.ndarray) -> dict[str, int]:
        """Synapse updates per plastic projection for the spikes per global index of a run:
        each spike of a presynaptic neuron updates its plastic synapses, each spike of a
        postsynaptic neuron its plastic input synapses (the kernel's ``pupd`` total)."""
        out = {}
        for r, name in enumerate(self.names):
            so, se, do, de = self.rrange[r]
            outdeg, indeg = self._degrees[r]
            out[name] = int(np.dot(spikes[so:se], outdeg) + np.dot(spikes[do:de], indeg))
        return out

    def weights(self, name: str) -> np.ndarray:
        """Current weights of projection ``name`` in the order of its ``Sparse.weight``."""
        return projection_weights(self.eng, name)


#: Powers ``d**k`` of the per-step trace decays are tabulated for ``k < DECAY_STEPS`` (up to
#: 6.5 s at dt = 0.1 ms, so a trace read at a long gap costs no ``pow``), fewer when the
#: table would take more than ``DECAY_BYTES``; never fewer than 4096.
DECAY_STEPS, DECAY_BYTES = 65536, 8 << 20


def decay_table(d: np.ndarray) -> np.ndarray:
    """``tab[..., k] = d**k`` for ``k < K`` (see :data:`DECAY_STEPS`): ``k < 4096`` by numpy's
    ``pow``, the rest by repeated squaring exactly as numba evaluates ``float ** int`` for
    exponents up to 0x10000, so a table read equals the kernels' ``d ** k`` bit for bit."""
    d = np.asarray(d, np.float64)
    K = DECAY_STEPS
    while K > 4096 and d.size * K * 8 > DECAY_BYTES:
        K //= 2
    k = np.arange(K)
    tab = np.empty(d.shape + (K,))
    tab[..., :4096] = d[..., None] ** k[None, :4096]
    e = k[4096:]
    r = np.ones(d.shape + (e.size,))
    a = np.broadcast_to(d[..., None], r.shape).copy()
    while np.any(e):  # numba's int_power: r *= a for each set bit, a *= a
        odd = (e & 1) == 1
        r = np.where(odd, r * a, r)
        e = e >> 1
        a = a * a
    tab[..., 4096:] = r
    return np.ascontiguousarray(tab)


def row_rules(srule: np.ndarray, sport: np.ndarray, pstart: np.ndarray) -> tuple:
    """``(rule, port)``, each ``[N_pre, T]``: the rule slot of every synapse of ``pre`` into
    block ``t`` if they all share one and one port (``>= 0``), ``-1`` if none is plastic (or
    there are none), ``-2`` otherwise; and that port."""
    lo, hi = pstart[:, :-1].ravel(), pstart[:, 1:].ravel()
    rule = np.full(lo.size, -1, np.int64)
    port = np.zeros(lo.size, np.int64)
    ne = hi > lo
    if np.any(ne):
        s, p = srule.astype(np.int64), sport.astype(np.int64)
        mn, mx = np.minimum.reduceat(s, lo[ne]), np.maximum.reduceat(s, lo[ne])
        pmn, pmx = np.minimum.reduceat(p, lo[ne]), np.maximum.reduceat(p, lo[ne])
        rule[ne] = np.where(mn == mx, mn, -2)
        rule[ne] = np.where((mn >= 0) & (pmn != pmx), -2, rule[ne])
        port[ne] = pmn
    shape = (pstart.shape[0], pstart.shape[1] - 1)
    return rule.reshape(shape), port.reshape(shape)


def weight_positions(eng: Any, name: str) -> np.ndarray:
    """Positions in ``eng.sw`` of the synapses of ``Sparse`` node ``name``, in its
    ``weight`` order (cached), for a clock engine built with synapse ids or an event engine
    (both keep ``syn_origin`` and ``sorig``)."""
    if name not in eng.syn_origin:
        raise ValueError(f"name: {name!r} is not a Sparse projection of this network; "
                         f"Sparse nodes: {sorted(eng.syn_origin)}")
    cache = eng.__dict__.setdefault("_weight_pos", {})
    pos = cache.get(name)
    if pos is None:
        start, nnz = eng.syn_origin[name]
        sel = np.flatnonzero((eng.sorig >= start) & (eng.sorig < start + nnz))
        pos = sel[np.argsort(eng.sorig[sel] - start, kind="stable")]
        cache[name] = pos
    return pos


def flush_pending(eng: Any) -> None:
    """Pending potentiation of the clock engine's lazy kernels into ``eng.sw`` (the event
    engine has none), before weights are read or written."""
    flush = getattr(getattr(eng, "learning", None), "flush", None)
    if flush is not None:
        flush()


def projection_weights(eng: Any, name: str) -> np.ndarray:
    """Current weights of ``Sparse`` node ``name`` (Sparse order) of a clock engine built
    with synapse ids or an event engine."""
    pos = weight_positions(eng, name)
    flush_pending(eng)
    return eng.sw[pos].astype(np.float64)


def projection_set_weights(eng: Any, name: str, w: np.ndarray) -> None:
    """Overwrite the current weights of ``Sparse`` node ``name`` (Sparse order)."""
    pos = weight_positions(eng, name)
    flush_pending(eng)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != pos.shape:
        raise ValueError(f"w: shape {w.shape} != ({pos.size},) synapses of {name!r}")
    if not np.isfinite(w).all():
        raise ValueError("w: weights must be finite")
    eng.sw[pos] = w


def check_weight_monitor(eng: Any, m: WeightMonitor) -> WeightMonitor:
    """The monitor for engine ``eng`` (clock: ``period`` turned into ``every`` steps)."""
    if m.projection not in getattr(eng, "syn_origin", {}):
        raise ValueError(f"WeightMonitor.projection: {m.projection!r} is not a Sparse "
                         f"projection of this network")
    dt = getattr(eng, "dt", None)
    if m.period is not None and dt is not None:
        k = int(round(m.period / dt))
        if k < 1 or abs(k * dt - m.period) > 1e-9 * m.period:
            raise ValueError(f"WeightMonitor.period: {m.period!r} s is not a whole number of "
                             f"steps of dt = {dt!r} s")
        m = dataclasses.replace(m, every=k)
    return m
