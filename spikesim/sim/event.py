"""The exact event-driven engine: continuous time, no dt.

Supported nodes: ``LIF``, ``IF``, ``AdaptiveLIF``, ``CubaLIF`` (any number of ports), the
readouts ``LI`` and ``CubaLI`` (never fire), ``Input``, ``Output``, ``Sparse`` (per-synapse
weights and exact delays), ``Affine`` (zero bias) and ``Linear`` (dense, zero delay), and
direct neuron/input -> neuron edges (identity, weight 1, zero delay). Semantics are those of
:mod:`spikesim.ir.nodes`:

* delta synapses (``LIF``, ``IF``): ``v`` jumps by ``r*w`` at the arrival time; a neuron
  fires at that time if ``v >= v_threshold``; between inputs ``v`` relaxes exactly to
  ``v_leak + r*bias`` (``IF``: ``v`` grows by ``r*bias`` per second), so a neuron with
  ``v_leak + r*bias > v_threshold`` fires with no input, at the closed-form crossing time;
* ``AdaptiveLIF`` (``LIF`` with the threshold ``v_threshold + a``; ``a`` decays with
  ``tau_adapt`` and jumps by ``delta_threshold`` at each spike, after the reset; a
  subtractive reset subtracts ``v_threshold + a - v_reset``; Diehl and Cook's homeostasis,
  ``learn.with_homeostasis``): the crossing of the decaying threshold is found as for
  ``CubaLIF`` (below), and ``state_at(node, t, var="a")`` reads ``a``;
* ``CubaLIF``: ``I_k`` jumps by ``w`` and decays with ``tau_syn[k]``; the crossing time is
  found exactly (rigorous root isolation of the exponential sum, Newton to 1e-13 s), so a
  trajectory that peaks above the threshold between inputs fires and one that peaks below
  does not, however small the margin;
* refractory: for ``refractory`` seconds after a spike ``v`` is held at ``v_reset``; delta
  inputs arriving then are dropped (their synaptic operations are still counted), currents
  keep decaying and integrating inputs; an input arriving exactly at the end of the period
  counts;
* reset ``"value"`` (to ``v_reset``) or ``"subtract"`` (by ``v_threshold - v_reset``; if
  ``v`` is still above threshold the neuron fires again at the same time);
* a synapse of delay ``d`` delivers a spike emitted at ``t`` at exactly ``t + d`` (``d = 0``
  means at ``t``; the clock engine rounds delays to steps and delivers one step later).

Events at identical times are processed in this deterministic order: deliveries in the order
their spikes were emitted (FIFO), then input spikes by channel, then neuron threshold
crossings by neuron index (global index: nodes in network order). Inputs arriving at ``t``
are applied before the threshold test at ``t``. A run of ``duration`` processes the events
with times in ``[t, t + duration)``; ``run(a); run(b)`` equals ``run(a + b)`` exactly.

Cost model (see :mod:`spikesim.kernels.event`): work is proportional to events, not to
neurons x time. A synaptic event costs one analytic advance of its target (one exponential
for LIF; ``1 + ports`` for CubaLIF, or one when its rates are commensurate), a bound of a few
flops and an ``O(log N)`` update of an indexed 4-ary heap of neuron wake-up times (none for an
inhibitory input, which can only delay a crossing, nor for a delta neuron that cannot cross
without input); a spike costs one ``O(log Q)`` operation on the queue of arrivals per distinct
delay of its synapses; when a CubaLIF neuron's lower-bound wake-up time is reached with no
input in between, the bound is taken again from there, and the exact crossing time is solved
for (about 0.4 us) only once that bound is nearer than ``REBOUND_S`` (1 ms). A neuron that no
event reaches is never touched. Measured: ``spikesim bench sparse [--accuracy | --cuba]``.

``Counts`` (source ``"event"``): ``neuron_updates`` (= ``membrane_updates``) are the analytic
advances performed; ``synops_ac``/``weight_reads`` the deliveries with a nonzero weight made
during the run (a spike's deliveries that fall after the end of the run are counted in the
run that makes them); ``state_reads``/``state_writes`` are advances times state variables.
There are no steps, so ``ticks`` and the dense counts are listed in ``unfilled``.
"""
from __future__ import annotations

import time
import zlib
from typing import Any, Iterable, Mapping

import numpy as np

from spikesim import ir
from spikesim.sim.counts import Counts
from spikesim.sim.inputs import Poisson, SpikeTimes
from spikesim.sim.result import Result, SpikeTrain

#: Simulated seconds per kernel call (progress-bar granularity; results do not depend on it).
CHUNK_S = 0.1
#: Length (s) of the absolute time blocks in which Poisson inputs are drawn.
POISSON_BLOCK_S = 0.1

_EXACT_NEURONS = (ir.LIF, ir.IF, ir.CubaLIF, ir.LI, ir.CubaLI, ir.AdaptiveLIF)
_UNFILLED = ("dense_ac", "dense_mac", "ticks", "spikes_routed", "hops", "cycles",
             "plasticity_updates")


def _b(value: Any, n: int) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    return np.broadcast_to(a.ravel() if a.ndim else a, (n,)).astype(np.float64).copy()


class EventEngine:
    """Exact event-driven simulation of an :class:`spikesim.ir.Network` (see the module docs).

    Use through :class:`spikesim.sim.Simulator` with ``engine="event"``::

        sim = Simulator(net, engine="event", rng=1)
        res = sim.run(1.0, inputs={"in": SpikeTimes(times=[1e-3], indices=[0])})
    """

    name = "event"

    def __init__(self, net: ir.Network, *, seed: int = 0, monitors: Iterable[Any] = (),
                 record: Any = True, batch: int = 1):
        if not isinstance(net, ir.Network):
            raise TypeError(f"net: expected a spikesim.ir.Network, got {type(net).__name__}")
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ValueError(f"batch: must be an int >= 1, got {batch!r}")
        monitors = list(monitors)
        state_mon = [m for m in monitors if not hasattr(m, "projection")]
        if state_mon:
            raise NotImplementedError(
                "monitors: the event engine records spikes and weights (learn.WeightMonitor "
                "with a period) only: state exists only at event times; record state traces "
                "with engine='clock'")
        self.net = net
        self.seed = int(seed)
        self.batch = int(batch)
        self._check_supported()
        self._layout()
        self._build_params()
        self._build_synapses()
        self.learning = None
        if self._plastic:  # STDP at spike times: spikesim.learn
            from spikesim.learn._event import EventLearning

            self.learning = EventLearning(self)
        self._set_record(record)
        self.weight_monitors = [self._check_weight_monitor(m) for m in monitors]
        self.reset()

    def _check_weight_monitor(self, m: Any) -> Any:
        from spikesim.learn._clock import check_weight_monitor

        if m.period is None:
            raise ValueError(f"WeightMonitor.period: the event engine has no steps; give the "
                             f"snapshot period in seconds (WeightMonitor({m.projection!r}, "
                             f"period=...)), got every={m.every} steps and no period")
        return check_weight_monitor(self, m)

    # ------------------------------------------------------------------ structure
    def _check_supported(self) -> None:
        net = self.net
        for name, node in net.nodes.items():
            if isinstance(node, ir.NeuronNode):
                if not isinstance(node, _EXACT_NEURONS):
                    raise NotImplementedError(
                        f"node {name!r} ({type(node).__name__}): the event engine simulates only "
                        f"LIF, IF, CubaLIF, AdaptiveLIF, LI and CubaLI exactly; "
                        f"{type(node).__name__} is "
                        f"simulated by the clock engine (engine='clock', dt=...)")
                if isinstance(node, (ir.CubaLIF, ir.CubaLI)):
                    taus = node.tau_syn if isinstance(node.tau_syn, tuple) else (node.tau_syn,)
                    for k, ts in enumerate(taus):
                        if np.any(np.abs(np.asarray(ts) - np.asarray(node.tau_mem))
                                  <= 1e-9 * np.asarray(node.tau_mem)):
                            raise ValueError(
                                f"node {name!r}: tau_syn[{k}] equals tau_mem; the event engine's "
                                f"exact solver needs distinct time constants (use e.g. "
                                f"tau_syn*(1+1e-6)) or use engine='clock'")
                if node.spiking:
                    vth, vr = np.asarray(node.v_threshold), np.asarray(node.v_reset)
                    if node.reset == "subtract" and np.any(vth <= vr):
                        raise ValueError(
                            f"node {name!r}: reset='subtract' needs v_threshold > v_reset, "
                            f"otherwise a neuron fires endlessly at one instant")
                    no_refr = np.asarray(node.refractory) <= 0
                    if node.reset == "value" and np.any((vr >= vth) & no_refr):
                        raise ValueError(
                            f"node {name!r}: v_reset >= v_threshold with refractory = 0 makes a "
                            f"neuron fire endlessly at one instant; give a refractory period")
            elif isinstance(node, (ir.Input, ir.Output)):
                continue
            elif isinstance(node, (ir.Sparse, ir.Affine, ir.Linear)):
                if isinstance(node, ir.Affine) and np.any(node.bias != 0):
                    raise NotImplementedError(
                        f"node {name!r} (Affine): a per-step bias has no continuous-time meaning "
                        f"in the event engine; fold it into the target neurons' bias or use "
                        f"engine='clock'")
                for e in net.in_edges(name):
                    if not isinstance(net[e.src], (ir.NeuronNode, ir.Input)):
                        raise NotImplementedError(
                            f"edge {e}: a {type(node).__name__} must be fed by a neuron or Input "
                            f"node in the event engine")
                for e in net.out_edges(name):
                    if not isinstance(net[e.dst], (ir.NeuronNode, ir.Output)):
                        raise NotImplementedError(
                            f"edge {e}: a {type(node).__name__} must feed a neuron node in the "
                            f"event engine")
            else:
                raise NotImplementedError(
                    f"node {name!r} ({type(node).__name__}): the event engine cannot simulate "
                    f"{type(node).__name__} (it runs spike-to-spike Sparse/Affine/Linear "
                    f"projections); use engine='clock', or express the layer as an ir.Sparse "
                    f"projection")

    def _layout(self) -> None:
        net = self.net
        self.groups = net.names("neuron")
        self.inputs = net.names("input")
        sizes = [net[n].n for n in self.groups]
        self.gstart = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.N = int(self.gstart[-1])
        isz = [net[n].n for n in self.inputs]
        self.istart = (self.N + np.concatenate([[0], np.cumsum(isz)])).astype(np.int64)
        self.N_pre = int(self.istart[-1])
        self.offset = {n: int(self.gstart[k]) for k, n in enumerate(self.groups)}
        self.offset.update({n: int(self.istart[k]) for k, n in enumerate(self.inputs)})
        # state columns after (v, t, t_refr, wake): CubaLIF currents; AdaptiveLIF's a
        self.P = max([len(net[n].port_names()) if isinstance(net[n], (ir.CubaLIF, ir.CubaLI))
                      else int(isinstance(net[n], ir.AdaptiveLIF)) for n in self.groups] + [0])

    def _build_params(self) -> None:
        from spikesim.kernels.event import K_ALIF, K_CUBA, K_IF, K_LIF

        N, P = self.N, self.P
        self.kind = np.zeros(N, np.int8)
        self.vinf = np.zeros(N)
        self.tau = np.ones(N)
        self.slope = np.zeros(N)
        self.rr = np.ones(N)
        self.vth = np.full(N, np.inf)
        self.vreset = np.zeros(N)
        self.refr = np.zeros(N)
        self.rmode = np.zeros(N, np.int8)
        self.nports = np.zeros(N, np.int64)
        self.tsyn = np.ones((P, N))
        self.qk = np.zeros((P, N))
        self.v0 = np.zeros(N)
        self.a0 = np.zeros(N)       # AdaptiveLIF: initial threshold adaptation
        self.adelta = np.zeros(N)   # AdaptiveLIF: its jump per spike
        self.nvars = {}
        for g, name in enumerate(self.groups):
            node = self.net[name]
            n = node.n
            sl = slice(self.gstart[g], self.gstart[g + 1])
            r = _b(node.r, n)
            bias = _b(node.bias, n)
            self.rr[sl] = r
            vleak = _b(getattr(node, "v_leak", 0.0), n)
            self.vinf[sl] = vleak + r * bias
            if node.spiking:
                self.vth[sl] = _b(node.v_threshold, n)
                self.vreset[sl] = _b(node.v_reset, n)
                self.refr[sl] = _b(node.refractory, n)
                self.rmode[sl] = 0 if node.reset == "value" else 1
            default_v0 = np.zeros(n) if isinstance(node, ir.IF) else vleak
            self.v0[sl] = _b(node.v_init, n) if node.v_init is not None else default_v0
            if isinstance(node, (ir.LIF, ir.LI)):
                self.kind[sl] = K_LIF
                self.tau[sl] = _b(node.tau, n)
                self.nvars[name] = 1
            elif isinstance(node, ir.AdaptiveLIF):
                # state u = v - a, a as a decaying "current" with q = -1 (kernel docs)
                self.kind[sl] = K_ALIF
                self.tau[sl] = _b(node.tau, n)
                ta = _b(node.tau_adapt, n)
                # equal rates must be equal floats, so the root solver merges the two terms
                same = np.abs(ta - self.tau[sl]) <= 1e-12 * ta
                self.tsyn[0, sl] = np.where(same, self.tau[sl], ta)
                self.qk[0, sl] = -1.0
                self.nports[sl] = 1
                self.a0[sl] = _b(node.a_init, n)
                self.adelta[sl] = _b(node.delta_threshold, n)
                self.nvars[name] = 2
            elif isinstance(node, ir.IF):
                self.kind[sl] = K_IF
                self.slope[sl] = r * bias
                self.nvars[name] = 1
            else:
                self.kind[sl] = K_CUBA
                taum = _b(node.tau_mem, n)
                self.tau[sl] = taum
                taus = node.tau_syn if isinstance(node.tau_syn, tuple) else (node.tau_syn,)
                for k, ts in enumerate(taus):
                    ts = _b(ts, n)
                    self.tsyn[k, sl] = ts
                    self.qk[k, sl] = r * ts / (ts - taum)
                self.nports[sl] = len(taus)
                self.nvars[name] = 1 + len(taus)
        self.group = np.zeros(N, np.int64)
        for g in range(len(self.groups)):
            self.group[self.gstart[g]:self.gstart[g + 1]] = g
        # one table row per distinct parameter set (homogeneous populations share one row,
        # so an event reads one cached row plus the neuron's state record)
        self._commensurate()
        cols = [self.kind, self.vinf, 1.0 / self.tau, self.slope, self.rr, self.vth, self.vreset,
                self.refr, self.rmode, self.nports, self.group, self.poly_rate, self.poly_expm,
                self.adelta]
        for k in range(P):
            cols += [1.0 / self.tsyn[k], self.qk[k], self.poly_exp[k]]
        rows = np.stack([np.asarray(c, np.float64) for c in cols], axis=1) if N else \
            np.zeros((0, len(cols)))
        if N:
            self.prm, inv = np.unique(rows, axis=0, return_inverse=True)
            self.pidx = inv.ravel().astype(np.int32)
        else:
            self.prm, self.pidx = np.zeros((1, len(cols))), np.zeros(0, np.int32)
        self.prm = np.ascontiguousarray(self.prm)

    def _commensurate(self) -> None:
        """Per CubaLIF neuron: if 1/tau_mem and every 1/tau_syn are integer multiples (<= 8,
        to 1e-12 relative) of the smallest, the crossing search runs on a polynomial in
        ``x = e^{-rate t}`` (no exponentials inside the search)."""
        from spikesim.kernels.event import K_CUBA, MAX_POLY_DEG

        N, P = self.N, self.P
        self.poly_rate = np.zeros(N)
        self.poly_expm = np.zeros(N)
        self.poly_exp = np.zeros((P, N))
        cuba = self.kind == K_CUBA
        if not cuba.any():
            return
        rates = [1.0 / self.tau] + [1.0 / self.tsyn[k] for k in range(P)]
        used = [np.ones(N, bool)] + [self.nports > k for k in range(P)]
        base = np.min(np.where(np.stack(used), np.stack(rates), np.inf), axis=0)
        ok = cuba.copy()
        exps = []
        for r, u in zip(rates, used):
            e = np.rint(r / base)
            good = ~u | ((np.abs(r / base - e) <= 1e-12 * e) & (e <= MAX_POLY_DEG))
            ok &= good
            exps.append(np.where(u, e, 0.0))
        self.poly_rate[ok] = base[ok]
        self.poly_expm[ok] = exps[0][ok]
        for k in range(P):
            self.poly_exp[k, ok] = exps[k + 1][ok]

    def _build_synapses(self) -> None:
        """Merge every projection into one CSR over global presynaptic indices, each row
        sorted by (delay, target, port)."""
        net = self.net
        rows = []
        self.projections = []  # (name, src node, nonzero out-degree per source neuron)
        self._plastic = any(getattr(nd, "plasticity", None) is not None
                            for nd in net.nodes.values())
        self.syn_origin: dict[str, tuple[int, int]] = {}  # Sparse name -> (first id, nnz)
        n_ids = 0
        for name in net.names("synapse"):
            node = net[name]
            outs = [e for e in net.out_edges(name) if isinstance(net[e.dst], ir.NeuronNode)]
            for e_in in net.in_edges(name):
                src = e_in.src
                for e_out in outs:
                    dst = e_out.dst
                    port = net[dst].port_index(e_out.port) if isinstance(
                        net[dst], (ir.CubaLIF, ir.CubaLI)) else 0
                    if isinstance(node, ir.Sparse):
                        pre = np.repeat(np.arange(node.n_pre), np.diff(node.indptr))
                        post = node.indices.astype(np.int64)
                        w = node.weight
                        d = np.broadcast_to(np.asarray(node.delay, np.float64), post.shape)
                    else:
                        W = node.weight
                        post, pre = np.nonzero(W)
                        w = W[post, pre]
                        d = np.zeros(pre.shape)
                    pid = len(self.projections)
                    if isinstance(node, ir.Sparse):
                        self.syn_origin.setdefault(name, (n_ids, int(pre.size)))
                    n_ids += int(pre.size)
                    deg = np.bincount(pre[w != 0], minlength=net.size(src))
                    self.projections.append((name, src, deg))
                    rows.append((pre + self.offset[src], post + self.offset[dst], w, d,
                                 np.full(pre.shape, port, np.int8),
                                 np.full(pre.shape, pid, np.int32)))
        for dst in self.groups:
            for e in net.in_edges(dst):
                if isinstance(net[e.src], (ir.NeuronNode, ir.Input)):
                    n = net.size(e.src)
                    port = net[dst].port_index(e.port) if isinstance(
                        net[dst], (ir.CubaLIF, ir.CubaLI)) else 0
                    idx = np.arange(n)
                    pid = len(self.projections)
                    self.projections.append((f"{e.src}->{dst}", e.src, np.ones(n, np.int64)))
                    n_ids += n
                    rows.append((idx + self.offset[e.src], idx + self.offset[dst], np.ones(n),
                                 np.zeros(n), np.full(n, port, np.int8), np.full(n, pid, np.int32)))
        if rows:
            pre = np.concatenate([r[0] for r in rows]).astype(np.int64)
            post = np.concatenate([r[1] for r in rows]).astype(np.int64)
            w = np.concatenate([r[2] for r in rows]).astype(np.float64)
            d = np.concatenate([r[3] for r in rows]).astype(np.float64)
            port = np.concatenate([r[4] for r in rows])
            proj = np.concatenate([r[5] for r in rows])
            order = np.lexsort((port, post, d, pre))
            self.sidx = post[order].astype(np.int32)
            self.sw = w[order]
            self.sdly = d[order]
            self.sport = port[order].astype(np.int8)
            self.sproj = proj[order].astype(np.int32)
            self.sorig = np.arange(n_ids, dtype=np.int64)[order]  # build order (readback)
            counts = np.bincount(pre, minlength=self.N_pre)
            self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        else:
            self.sidx = np.zeros(0, np.int32)
            self.sw = np.zeros(0)
            self.sdly = np.zeros(0)
            self.sport = np.zeros(0, np.int8)
            self.sproj = np.zeros(0, np.int32)
            self.sorig = np.zeros(0, np.int64)
            self.indptr = np.zeros(self.N_pre + 1, np.int64)
        self.maxrow = int(np.diff(self.indptr).max()) if self.N_pre else 0

    @property
    def n_synapses(self) -> int:
        return int(self.sidx.size)

    @property
    def bytes_per_synapse(self) -> float:
        """Memory per synapse of the engine's connectivity (target, weight, delay, port,
        projection id; CSR row pointers amortised)."""
        nnz = max(self.sidx.size, 1)
        return (self.sidx.nbytes + self.sw.nbytes + self.sdly.nbytes + self.sport.nbytes
                + self.sproj.nbytes + self.indptr.nbytes) / nnz

    def _set_record(self, record: Any) -> None:
        from spikesim.sim.monitors import set_record

        set_record(self, record)

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to t = 0 with the initial state."""
        B, N, P = self.batch, self.N, self.P
        self.t = 0.0
        self.S = np.zeros((B, N, 4 + P))
        self.S[:, :, 0] = self.v0 - self.a0  # AdaptiveLIF holds u = v - a (a0 = 0 otherwise)
        if self.P:
            self.S[:, :, 4] += self.a0
        self.hkey = np.full((B, N), np.inf)
        self.hidx = np.zeros((B, N), np.int64)
        self.hpos = np.full((B, N), -1, np.int64)
        self.ctr = np.zeros((B, 6), np.int64)
        self.queues = [(np.empty(64), np.empty(64, np.int64), np.empty(64, np.int64),
                        np.empty(64, np.int64), np.empty(64)) for _ in range(B)]
        self.spike_count = np.zeros((B, self.N_pre), np.int64)
        self.nupd = np.zeros((B, max(len(self.groups), 1)), np.int64)
        self.syn_count = np.zeros((B, max(len(self.projections), 1)), np.int64)
        self._init = np.zeros(B, np.bool_)
        if self.learning is not None:  # traces and the initial weights
            self.learning.reset()

    STATE_KEYS = ("S", "hkey", "hidx", "hpos", "ctr", "spike_count", "nupd", "syn_count")

    def get_state(self) -> dict[str, np.ndarray]:
        """Dynamic state (membranes, currents, wake-up heap, queued arrivals, counters)."""
        st = {k: getattr(self, k).copy() for k in self.STATE_KEYS}
        sizes = self.ctr[:, 0]
        for f, fname in enumerate(("qt", "qseq", "qpre", "qq", "qts")):
            st[fname] = np.concatenate([self.queues[b][f][:sizes[b]] for b in range(self.batch)])
        st["t"] = np.array(self.t)
        st["initialised"] = self._init.copy()
        if self.learning is not None:
            st.update(self.learning.get_state())
        return st

    def set_state(self, st: Mapping[str, np.ndarray]) -> None:
        for k in self.STATE_KEYS + ("qt", "qseq", "qpre", "qq", "qts", "t", "initialised"):
            if k not in st:
                raise ValueError(f"state: missing {k!r}")
        for k in self.STATE_KEYS:
            cur = getattr(self, k)
            arr = np.asarray(st[k])
            if arr.shape != cur.shape:
                raise ValueError(f"state[{k!r}]: shape {arr.shape} != {cur.shape} of this "
                                 f"simulator")
            setattr(self, k, arr.astype(cur.dtype).copy())
        sizes = self.ctr[:, 0]
        ends = np.concatenate([[0], np.cumsum(sizes)])
        if ends[-1] != np.asarray(st["qt"]).shape[0]:
            raise ValueError("state: queue arrays do not match the queue sizes in 'ctr'")
        dtypes = (np.float64, np.int64, np.int64, np.int64, np.float64)
        self.queues = []
        for b in range(self.batch):
            cap = max(64, 2 * int(sizes[b]))
            q = []
            for fname, dt in zip(("qt", "qseq", "qpre", "qq", "qts"), dtypes):
                a = np.empty(cap, dt)
                a[:sizes[b]] = np.asarray(st[fname])[ends[b]:ends[b + 1]]
                q.append(a)
            self.queues.append(tuple(q))
        self.t = float(st["t"])
        self._init = np.asarray(st["initialised"], np.bool_).reshape(self.batch).copy()
        if self.learning is not None:
            self.learning.set_state(st)

    # ------------------------------------------------------------------ inputs
    def _input_spikes(self, stims: Mapping[str, Any], t0: float, t1: float):
        """Per batch entry: (times, global channel) of input spikes in [t0, t1), sorted by
        (time, channel)."""
        B = self.batch
        # per batch entry: (first channel, times, channels, sorted by (time, channel)?)
        parts: list[list[tuple[int, np.ndarray, np.ndarray, bool]]] = [[] for _ in range(B)]
        for name, stim in stims.items():
            off, n = self.offset[name], self.net[name].n
            if isinstance(stim, SpikeTimes):
                # SpikeTimes are in (time, batch, index) order, so each batch entry's
                # subsequence is in (time, channel) order
                lo, hi = np.searchsorted(stim.times, [t0, t1], side="left")
                t, i, b = stim.times[lo:hi], stim.indices[lo:hi], stim.batch[lo:hi]
                for bb in range(B):
                    m = slice(None) if B == 1 else b == bb
                    parts[bb].append((off, t[m], i[m] + off, True))
            else:
                for bb in range(B):
                    parts[bb].append((off, *self._poisson(name, stim, n, bb, t0, t1, off), False))
        out = []
        for bb in range(B):
            ps = sorted(parts[bb], key=lambda p: p[0])
            if not ps:
                out.append((np.zeros(0), np.zeros(0, np.int64)))
                continue
            t = np.concatenate([p[1] for p in ps])
            i = np.concatenate([p[2] for p in ps]).astype(np.int64)
            if all(p[3] for p in ps):
                # sorted runs in increasing channel ranges: a stable sort by time alone gives
                # (time, channel) order (a merge of the runs for timsort)
                order = None if len(ps) == 1 else np.argsort(t, kind="stable")
            else:
                order = np.lexsort((i, t))
            if order is not None:
                t, i = t[order], i[order]
            out.append((np.ascontiguousarray(t), np.ascontiguousarray(i)))
        return out

    def _poisson(self, name: str, stim: Poisson, n: int, b: int, t0: float, t1: float, off: int):
        """Exact continuous-time Poisson spikes in [t0, t1): drawn per absolute block of
        POISSON_BLOCK_S seconds from (seed, input name, block, batch entry), so any split of
        a run gives the same spikes."""
        rate = np.broadcast_to(stim.rate, (n,)) if stim.rate.ndim else np.full(n, float(stim.rate))
        key = zlib.crc32(name.encode())
        T = POISSON_BLOCK_S
        ts, idx = [], []
        for c in range(int(np.floor(t0 / T)), int(np.ceil(t1 / T)) + 1):
            s0 = c * T
            if s0 >= t1 or s0 + T <= t0:
                continue
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key, c, b)))
            cnt = rng.poisson(rate * T)
            ii = np.repeat(np.arange(n), cnt)
            tt = s0 + T * rng.random(ii.size)
            m = (tt >= t0) & (tt < t1)
            ts.append(tt[m])
            idx.append(ii[m] + off)
        if not ts:
            return np.zeros(0), np.zeros(0, np.int64)
        return np.concatenate(ts), np.concatenate(idx)

    def _check_inputs(self, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
        stims = {}
        for name, stim in (inputs or {}).items():
            if name not in self.inputs:
                raise ValueError(f"inputs: {name!r} is not an Input node; Input nodes: "
                                 f"{self.inputs}")
            if isinstance(stim, Poisson):
                if stim.rate.ndim and stim.rate.size != self.net[name].n:
                    raise ValueError(f"inputs[{name!r}]: Poisson rate has {stim.rate.size} values "
                                     f"for {self.net[name].n} channels")
            elif isinstance(stim, SpikeTimes):
                n = self.net[name].n
                if stim.indices.size and (stim.indices.min() < 0 or stim.indices.max() >= n):
                    raise ValueError(f"inputs[{name!r}]: SpikeTimes.indices must be in [0, {n}), "
                                     f"got [{stim.indices.min()}, {stim.indices.max()}]")
                if stim.batch.size and (stim.batch.min() < 0 or stim.batch.max() >= self.batch):
                    raise ValueError(f"inputs[{name!r}]: SpikeTimes.batch must be in "
                                     f"[0, {self.batch}), got max {stim.batch.max()}")
            else:
                raise TypeError(f"inputs[{name!r}]: the event engine takes SpikeTimes or Poisson "
                                f"stimuli (exact spike times), got {type(stim).__name__}; "
                                f"time-gridded Frames run on engine='clock'")
            stims[name] = stim
        return stims

    # ------------------------------------------------------------------ run
    def _call(self, b: int, t_end: float, in_t: np.ndarray, in_i: np.ndarray, rec):
        from spikesim.kernels.event import run_events

        q = self.queues[b]
        out = run_events(
            t_end, not self._init[b], self.prm, self.pidx, self.S[b],
            self.hkey[b], self.hidx[b], self.hpos[b], self.ctr[b],
            q[0], q[1], q[2], q[3], q[4],
            self.indptr, self.sidx, self.sw, self.sdly, self.sport, self.sproj, self.maxrow,
            in_t, in_i, self.rec_mask, rec[0], rec[1],
            self.spike_count[b], self.nupd[b], self.syn_count[b],
            self.learning is not None, self._eplas(), self._edly())
        self.queues[b] = out[:5]
        if self.learning is not None:
            self.learning.ring = out[7]
            if self.learning.dflag[1]:
                raise RuntimeError("a neuron fired so often at one instant that the weights in "
                                   "flight on its delayed plastic synapses overflowed; give it "
                                   "a refractory period")
        return out[5], out[6]

    def run(self, duration: float, inputs: Mapping[str, Any] | None = None, *,
            progress: bool = True) -> Result:
        """Advance by ``duration`` seconds (events in ``[t, t + duration)``)."""
        if isinstance(duration, bool) or not isinstance(duration, (int, float, np.floating,
                                                                   np.integer)):
            raise TypeError(f"duration: expected a number of seconds, got {duration!r}")
        if not (np.isfinite(duration) and duration >= 0):
            raise ValueError(f"duration: must be a finite number >= 0 s, got {duration!r}")
        rewards = {}
        if self.learning is not None:  # reward signals are keyed by a projection's name
            from spikesim.learn._clock import split_reward_inputs

            inputs, rewards = split_reward_inputs(self.learning.names, self.learning.rules,
                                                  inputs)
        stims = self._check_inputs(inputs)
        B = self.batch
        t_start = self.t
        t_stop = t_start + float(duration)
        if self.learning is not None:
            self.learning.set_rewards(rewards, t_start, t_stop)
        count0 = self.spike_count.copy()
        nupd0 = self.nupd.copy()
        syn0 = self.syn_count.copy()
        solves0 = self.ctr[:, 4].copy()
        wakes0 = self.ctr[:, 5].copy()
        recs = [(np.empty(1024), np.empty(1024, np.int64)) for _ in range(B)]
        first = not bool(self._init.all())
        # JIT (or cache load) on a throw-away one-neuron network, timed separately.
        t0 = time.perf_counter()
        self._compile()
        jit_s = time.perf_counter() - t0
        self.ctr[:, 3] = 0
        z, zi = np.zeros(0), np.zeros(0, np.int64)
        t_run0 = time.perf_counter()
        nchunks = max(1, int(np.ceil(duration / CHUNK_S - 1e-9)))
        ends = [t_stop if c == nchunks - 1 else t_start + (c + 1) * CHUNK_S
                for c in range(nchunks)]
        # weight snapshots at the multiples of each monitor's period in (t_start, t_stop]
        snaps: dict[float, list] = {}
        for m in self.weight_monitors:
            k0 = int(np.floor(t_start / m.period + 1e-9)) + 1
            for k in range(k0, int(np.floor(t_stop / m.period + 1e-9)) + 1):
                # never past the end of the run (k * period may round above t_stop)
                snaps.setdefault(min(k * m.period, t_stop), []).append(m)
        ends = sorted(set(ends) | set(snaps))
        whist: dict = {m.projection: ([], []) for m in self.weight_monitors}
        bar = None
        if progress and nchunks * B > 1:
            from tqdm.auto import tqdm

            bar = tqdm(total=duration, unit="s", desc="event", leave=False,
                       bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} s [{elapsed}<{remaining}]")
        try:
            ts = t_start
            for te in ends:
                ins = self._input_spikes(stims, ts, te) if stims else None
                for b in range(B):
                    in_t, in_i = ins[b] if ins is not None else (z, zi)
                    recs[b] = self._call(b, te, in_t, in_i, recs[b])
                    self._init[b] = True
                for m in snaps.get(te, ()):
                    w = self.weights(m.projection)
                    whist[m.projection][0].append(te)
                    whist[m.projection][1].append(w if m.index is None else w[m.index])
                if bar is not None:
                    bar.update(te - ts)
                ts = te
        finally:
            if bar is not None:
                bar.close()
        recs = [(recs[b][0][:self.ctr[b, 3]].copy(), recs[b][1][:self.ctr[b, 3]].copy())
                for b in range(B)]
        self.ctr[:, 3] = 0
        self.t = t_stop
        run_s = time.perf_counter() - t_run0
        res = self._result(recs, t_start, t_stop, count0, nupd0, syn0, solves0, wakes0,
                           jit_s, run_s, first)
        if self.weight_monitors:
            res.meta["weights"] = {k: (np.array(t), np.array(w)) for k, (t, w) in whist.items()}
        return res

    def _compile(self) -> None:
        """Trigger compilation (or cache load) of the kernel on a throw-away one-neuron copy."""
        from spikesim.kernels.event import run_events

        P = self.P
        prm = np.zeros((1, 13 + 3 * P))
        prm[0, 2] = 1.0
        prm[0, 5] = np.inf
        run_events(0.0, True, prm, np.zeros(1, np.int32), np.zeros((1, 4 + P)),
                   np.full(1, np.inf), np.zeros(1, np.int64), np.full(1, -1, np.int64),
                   np.zeros(6, np.int64), np.empty(4), np.empty(4, np.int64),
                   np.empty(4, np.int64), np.empty(4, np.int64), np.empty(4),
                   np.zeros(2, np.int64), np.zeros(0, np.int32), np.zeros(0), np.zeros(0),
                   np.zeros(0, np.int8), np.zeros(0, np.int32), 0,
                   np.zeros(0), np.zeros(0, np.int64), np.zeros(1, np.bool_),
                   np.empty(4), np.empty(4, np.int64),
                   np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64),
                   False, self._eplas(), self._edly())

    def _edly(self) -> tuple:
        if self.learning is not None:
            return self.learning.delays()
        from spikesim.learn._event import dummy_delays

        return dummy_delays()

    def _eplas(self) -> tuple:
        if self.learning is not None:
            return self.learning.plas()
        from spikesim.learn._event import dummy_plas

        return dummy_plas()

    def weights(self, name: str) -> np.ndarray:
        """Current (learned) weights of ``Sparse`` node ``name``, in its ``weight`` order."""
        from spikesim.learn._clock import projection_weights

        return projection_weights(self, name)

    def state_at(self, node: str, t: float | None = None, var: str = "v") -> np.ndarray:
        """Membrane potential (``var="v"``) or, for an ``AdaptiveLIF`` node, threshold
        adaptation (``var="a"``: the threshold is ``v_threshold + a``) ``[batch, n]`` of neuron
        node ``node`` at time ``t`` (default: the current time), computed analytically from
        the last event without changing the state. ``t`` must not be earlier than any
        neuron's last event."""
        if node not in self.groups:
            raise ValueError(f"node: {node!r} is not a neuron node; neuron nodes: {self.groups}")
        alif = isinstance(self.net[node], ir.AdaptiveLIF)
        if var not in ("v", "a") or (var == "a" and not alif):
            allowed = "'v' or 'a'" if alif else "'v'"
            raise ValueError(f"var: {var!r} is not a state of {type(self.net[node]).__name__} "
                             f"node {node!r}; allowed: {allowed}")
        t = self.t if t is None else float(t)
        sl = slice(self.offset[node], self.offset[node] + self.net[node].n)
        tl = self.S[:, sl, 1]
        if np.any(tl > t):
            raise ValueError(f"t: {t} s is earlier than the last event of some neuron")
        v = self.S[:, sl, 0].copy()
        if alif:  # the record holds u = v - a and a (kernel docs)
            a_tl = self.S[:, sl, 4]
            if var == "a":
                return a_tl * np.exp(-(t - tl) / self.tsyn[0, sl])
            v = v + a_tl
        tref = self.S[:, sl, 2]
        start = np.maximum(tl, tref)
        refr_now = t <= tref
        dt = np.maximum(t - start, 0.0)
        v = np.where(tl < tref, self.vreset[sl], v)
        kind = self.kind[sl]
        vinf, tau = self.vinf[sl], self.tau[sl]
        em = np.exp(-dt / tau)
        out = np.where(kind == 1, v + self.slope[sl] * dt, vinf + (v - vinf) * em)
        for k in range(self.P):
            ts = self.tsyn[k, sl]
            cur = self.S[:, sl, 4 + k] * np.exp(-(start - tl) / ts)
            out = out + np.where(kind == 2, self.qk[k, sl] * cur * (np.exp(-dt / ts) - em), 0.0)
        return np.where(refr_now, self.vreset[sl], out)

    def _result(self, recs, t_start, t_stop, count0, nupd0, syn0, solves0, wakes0, jit_s,
                run_s, first) -> Result:
        net, B = self.net, self.batch
        spikes = {}
        bt = [np.full(r[0].size, b, np.int64) for b, r in enumerate(recs)]
        st = np.concatenate([r[0] for r in recs])
        si = np.concatenate([r[1] for r in recs])
        sb = np.concatenate(bt)
        order = np.lexsort((si, sb, st))
        st, si, sb = st[order], si[order], sb[order]
        for name in self.record_names:
            off, n = self.offset[name], net[name].n
            m = (si >= off) & (si < off + n)
            spikes[name] = SpikeTrain(t=st[m], i=si[m] - off, b=sb[m], n=n)
        dspk = self.spike_count - count0
        dupd = self.nupd - nupd0
        dsyn = self.syn_count - syn0
        c = Counts(samples=B, duration_s=t_stop - t_start, steps=0, source="event",
                   unfilled=_UNFILLED,
                   meta={"exact_solves": int((self.ctr[:, 4] - solves0).sum()),
                         "wakeups": int((self.ctr[:, 5] - wakes0).sum())})
        for g, name in enumerate(self.groups):
            node = net[name]
            sl = slice(self.gstart[g], self.gstart[g + 1])
            upd = int(dupd[:, g].sum())
            c.add(name, "neuron", spikes=int(dspk[:, sl].sum()) if node.spiking else 0,
                  neuron_updates=upd, membrane_updates=upd,
                  state_reads=upd * self.nvars[name], state_writes=upd * self.nvars[name])
        for k, name in enumerate(self.inputs):
            c.add(name, "input", spikes=int(dspk[:, self.istart[k]:self.istart[k + 1]].sum()))
        for p, (name, src, deg) in enumerate(self.projections):
            ops = int(dsyn[:, p].sum())
            c.add(name, "synapse", synops_ac=ops, weight_reads=ops)
        outputs = {}
        for name in net.names("output"):
            for e in net.in_edges(name):
                src = net[e.src]
                if isinstance(src, ir.NeuronNode) and src.spiking:
                    off = self.offset[e.src]
                    outputs[name] = dspk[:, off:off + src.n].reshape((B, *net.shapes[e.src][1]))
                elif isinstance(src, ir.NeuronNode):
                    outputs[name] = self.state_at(e.src, t_stop).reshape((B, *net.shapes[e.src][1]))
        return Result(spikes=spikes, outputs=outputs, counts=c, t_start=t_start, t_stop=t_stop,
                      dt=None, engine="event", jit_s=jit_s, run_s=run_s,
                      meta={"seed": self.seed, "batch": B, "first_run": first})
