"""The clock-driven engine: fixed ``dt``, batched state, exact per-step propagators.

Subthreshold dynamics are linear between spikes, so each step applies the exact
propagator of the linear system (Rotter and Diesmann 1999) rather than an Euler step:

* delta synapses (``LIF``, ``IF``, ``AdaptiveLIF``, ``LI``):
  ``v <- v_inf + (v - v_inf) e^{-dt/tau} + r*x`` with ``v_inf = v_leak + r*bias``
  (``IF``: ``v <- v + r*bias*dt + r*x``); ``x`` is what arrives in the step;
* exponential currents (``CubaLIF``, ``CubaLI``), per port ``k``:
  ``v <- v_inf + (v - v_inf) e^{-dt/tau_m} + r*I_k*P_k``, ``I_k <- I_k e^{-dt/tau_k}``, with
  ``P_k = tau_k/(tau_k - tau_m) (e^{-dt/tau_k} - e^{-dt/tau_m})`` evaluated with ``expm1`` so
  that ``tau_k == tau_m`` (limit ``dt/tau_m e^{-dt/tau_m}``) is exact;
* conductances (``CobaLIF``): each ``g_k`` is replaced by its exact mean over the step, then
  the (now linear) membrane equation is solved exactly over the step (second order in dt).

Threshold ``v >= v_threshold (+ a)`` is tested at the end of each step; the spike is reported
at that time, ``(n + 1) * dt``. ``a`` is the adaptive threshold of ``AdaptiveLIF`` and of
``CobaLIF`` with ``delta_threshold > 0``; a ``CobaLIF`` with ``fire_block`` cannot spike for
``round(fire_block/dt)`` steps after a spike, of which the first ``round(refractory/dt)``
hold ``v`` at ``v_reset``. The kernel and the order of work within a step are described
in :mod:`spikesim.kernels.clock`.
"""
from __future__ import annotations

import time
from typing import Any, Iterable, Mapping

import numpy as np

from spikesim import ir
from spikesim.sim.counts import Counts
from spikesim.sim.inputs import Frames, as_stimulus
from spikesim.sim.result import Result, SpikeTrain

CHUNK = 1000  # steps per chunk; chunks are aligned to absolute multiples (determinism)
DENSE_MIN_DENSITY = 0.5  # a projection at least this full gets a dense copy (BLAS delivery)
# share of a dense projection's sources firing in a step (over the batch) above which one
# matrix product (BLAS) delivers it: 0.03 + 0.035 / batch, the break-even measured with
# `spikesim bench dense` (benchmarks/results/dense_delivery.json; 1000 x 1000 Linear, 1 BLAS
# thread: about 0.057 at batch 1, 0.036 at batch 8, 0.024 at batch 64)
DENSE_ACTIVITY_BASE = 0.03
DENSE_ACTIVITY_PER_BATCH = 0.035


from spikesim.sim.monitors import StateMonitor  # noqa: E402,F401  (re-exported)


def sp_matrix(pre: np.ndarray, post: np.ndarray, w: np.ndarray, n_src: int, n_dst: int):
    """The projection as a matrix ``[n_dst, n_src]`` for dense delivery: a numpy array when
    more than a third of it is nonzero (BLAS), else scipy CSR."""
    import scipy.sparse as sps

    m = sps.csr_matrix((np.asarray(w, dtype=np.float64), (post, pre)), shape=(n_dst, n_src))
    if m.nnz > n_src * n_dst / 3:
        return m.toarray()
    return m


def _broadcast(value: Any, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64).ravel() if np.ndim(value) else
                           np.asarray(value, dtype=np.float64), (n,)).copy()


class ClockEngine:
    """Clock-driven simulation of an :class:`spikesim.ir.Network` (see the module docs).

    Use through :class:`spikesim.sim.Simulator`.
    """

    name = "clock"

    def __init__(self, net: ir.Network, *, dt: float, dtype: str = "float64", batch: int = 1,
                 threads: int | None = None, seed: int = 0,
                 monitors: Iterable[StateMonitor] = (), record: Any = True):
        if not (isinstance(dt, (int, float)) and np.isfinite(dt) and dt > 0):
            raise ValueError(f"dt: must be a finite number > 0 s, got {dt!r}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype: {dtype!r} is not supported; use 'float32' or 'float64'")
        if int(batch) < 1:
            raise ValueError(f"batch: must be >= 1, got {batch}")
        self.net = net
        self.dt = float(dt)
        self.dtype = np.dtype(dtype)
        self.batch = int(batch)
        self.threads = threads
        self.seed = int(seed)
        self._check_supported()
        self._layout()
        self._build_params()
        monitors = list(monitors)
        plastic = any(getattr(nd, "plasticity", None) is not None for nd in net.nodes.values())
        self.weight_monitors = [m for m in monitors if hasattr(m, "projection")]
        self._want_origin = plastic or bool(self.weight_monitors)
        self._build_synapses()
        self.learning = None
        if self._want_origin:  # plasticity and weight readback: spikesim.learn
            from spikesim.learn._clock import ClockLearning, check_weight_monitor

            self.learning = ClockLearning(self) if plastic else None
            self.weight_monitors = [check_weight_monitor(self, m) for m in self.weight_monitors]
        self.monitors = [self._check_monitor(m) for m in monitors if not hasattr(m, "projection")]
        self._set_record(record)
        self.reset()

    # ------------------------------------------------------------------ structure
    def _check_supported(self) -> None:
        from spikesim.sim.linear import LINEAR_NODES

        for name, node in self.net.nodes.items():
            if isinstance(node, (ir.NeuronNode, ir.Input, ir.Output, *LINEAR_NODES)):
                continue
            raise NotImplementedError(
                f"node {name!r} ({type(node).__name__}): the clock engine runs neuron, Input, "
                f"Output and linear synapse nodes ({', '.join(c.__name__ for c in LINEAR_NODES)}); "
                f"{type(node).__name__} is not linear and is not supported")

    def _layout(self) -> None:
        net = self.net
        self.groups = [n for n in net.names("neuron")]
        self.inputs = [n for n in net.names("input")]
        sizes = [net[n].n for n in self.groups]
        self.gstart = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.N = int(self.gstart[-1])
        isizes = [net[n].n for n in self.inputs]
        self.istart = (self.N + np.concatenate([[0], np.cumsum(isizes)])).astype(np.int64)
        self.N_pre = int(self.istart[-1])
        self.offset = {n: int(self.gstart[k]) for k, n in enumerate(self.groups)}
        self.offset.update({n: int(self.istart[k]) for k, n in enumerate(self.inputs)})
        self.P = max([len(net[n].port_names()) for n in self.groups] + [1])

    def _build_params(self) -> None:
        dt = self.dt
        N, P = self.N, self.P
        f = np.float64
        self.pa = np.ones(N, f)
        self.pb = np.zeros(N, f)
        self.pc = np.zeros((P, N), f)
        self.pd = np.zeros((P, N), f)
        self.pr = np.ones(N, f)
        self.vth = np.full(N, np.inf)
        self.vreset = np.zeros(N, f)
        self.refsteps = np.zeros(N, np.int32)
        self.blocksteps = np.zeros(N, np.int32)  # firing block (>= refsteps), see the kernel
        self.ad_decay = np.ones(N, f)
        self.ad_delta = np.zeros(N, f)
        self.coba_m = np.zeros((P, N), f)
        self.coba_e = np.zeros((P, N), f)
        self.coba_vinf_num = np.zeros(N, f)
        self.taum_inv = np.zeros(N, f)
        self.v0 = np.zeros(N, f)
        self.a0 = np.zeros(N, f)  # initial threshold adaptation
        G = len(self.groups)
        self.gkind = np.zeros(G, np.int64)
        self.gspiking = np.zeros(G, np.bool_)
        self.greset = np.zeros(G, np.int64)
        self.gadapt = np.zeros(G, np.bool_)
        self.gnports = np.ones(G, np.int64)
        self.nvars = {}
        for g, name in enumerate(self.groups):
            node = self.net[name]
            sl = slice(self.gstart[g], self.gstart[g + 1])
            n = node.n
            B = lambda x: _broadcast(x, n)  # noqa: E731
            r = B(node.r)
            self.pr[sl] = r
            vleak = B(getattr(node, "v_leak", 0.0))
            bias = B(node.bias)
            self.gspiking[g] = node.spiking
            if node.spiking:
                self.vth[sl] = B(node.v_threshold)
                self.vreset[sl] = B(node.v_reset)
                self.greset[g] = 0 if node.reset == "value" else 1
                steps = B(node.refractory) / dt
                self.refsteps[sl] = np.rint(steps).astype(np.int32)
            default_v0 = vleak if not isinstance(node, ir.IF) else np.zeros(n)
            self.v0[sl] = B(node.v_init) if node.v_init is not None else default_v0
            nv = 1
            if isinstance(node, (ir.LIF, ir.AdaptiveLIF, ir.LI)):
                a = np.exp(-dt / B(node.tau))
                self.pa[sl] = a
                self.pb[sl] = (1.0 - a) * (vleak + r * bias)
                self.gkind[g] = 0
                if isinstance(node, ir.AdaptiveLIF):
                    self.gadapt[g] = True
                    self.ad_decay[sl] = np.exp(-dt / B(node.tau_adapt))
                    self.ad_delta[sl] = B(node.delta_threshold)
                    self.a0[sl] = B(node.a_init)
                    nv += 1
            elif isinstance(node, ir.IF):
                self.pa[sl] = 1.0
                self.pb[sl] = r * bias * dt
                self.gkind[g] = 0
            elif isinstance(node, (ir.CubaLIF, ir.CubaLI)):
                taum = B(node.tau_mem)
                a = np.exp(-dt / taum)
                self.pa[sl] = a
                self.pb[sl] = (1.0 - a) * (vleak + r * bias)
                taus = node.tau_syn if isinstance(node.tau_syn, tuple) else (node.tau_syn,)
                for k, ts in enumerate(taus):
                    ts = B(ts)
                    self.pd[k, sl] = np.exp(-dt / ts)
                    self.pc[k, sl] = r * ir.nodes.cuba_coeff(dt, ts, taum)
                self.gkind[g] = 1
                self.gnports[g] = len(taus)
                nv += len(taus)
            elif isinstance(node, ir.CobaLIF):
                taum = B(node.tau_mem)
                self.taum_inv[sl] = 1.0 / taum
                self.pa[sl] = np.exp(-dt * self.taum_inv[sl])  # leak-only step (kernel)
                self.coba_vinf_num[sl] = vleak + r * bias
                for k, (ts, er) in enumerate(zip(node.tau_syn, node.e_rev)):
                    ts = B(ts)
                    d = np.exp(-dt / ts)
                    self.pd[k, sl] = d
                    self.coba_m[k, sl] = -ts / dt * np.expm1(-dt / ts)  # exact mean factor
                    self.coba_e[k, sl] = B(er)
                self.gkind[g] = 2
                self.gnports[g] = len(node.tau_syn)
                nv += len(node.tau_syn)
                self.a0[sl] = B(node.a_init)
                if node.adaptive or np.any(self.a0[sl] != 0):  # a_init decays even alone
                    self.gadapt[g] = True
                    self.ad_decay[sl] = np.exp(-dt / B(node.tau_adapt))
                    self.ad_delta[sl] = B(node.delta_threshold)
                    nv += 1
                fb = np.rint(B(node.fire_block) / dt).astype(np.int32)
                self.blocksteps[sl] = np.maximum(self.refsteps[sl], fb)
                if np.any(self.blocksteps[sl] != self.refsteps[sl]):
                    nv += 1  # the block counter
            else:  # pragma: no cover - guarded by _check_supported
                raise NotImplementedError(type(node).__name__)
            if not isinstance(node, ir.CobaLIF):
                self.blocksteps[sl] = self.refsteps[sl]
            self.nvars[name] = nv

    def _delay_steps(self, where: str, delay: Any) -> np.ndarray:
        d = np.asarray(delay, dtype=np.float64)
        steps = np.rint(d / self.dt)
        bad = (d > 0) & (d < self.dt * (1 - 1e-9))
        if bad.any():
            raise ValueError(f"{where}.delay: {d[bad].ravel()[0]!r} s is shorter than one step "
                             f"dt = {self.dt!r} s; delays must be 0 or >= dt")
        if steps.size and steps.max() > 32767:
            raise ValueError(f"{where}.delay: {d.max()} s is more than 32767 steps of dt")
        return steps.astype(np.int16)

    def _build_synapses(self) -> None:
        """Merge every projection into one CSR over global presynaptic indices.

        A projection is a chain ``source -> synapse nodes -> neuron node``; chains of several
        linear nodes (e.g. Conv2d -> AvgPool2d, Flatten -> Affine) are composed into one sparse
        map (:mod:`spikesim.sim.linear`) and delivered as one synaptic stage."""
        from spikesim.sim.linear import chains, compose, dense_ops, depths

        net = self.net
        rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        # (counts name, source, out-degree per source neuron, dense ops per step)
        self.projections = []
        self.bias_terms = []  # (start step, port, first target index, bias vector)
        # Input -> chain -> neuron projections: (matrix [n_dst, n_src] or None, offset, port)
        self.input_chains: dict[str, list] = {}
        depth = depths(net)
        cache: dict = {}
        self.syn_origin: dict[str, tuple[int, int]] = {}  # Sparse name -> (first id, nnz)
        n_ids = 0
        all_chains = list(chains(net))
        n_out: dict[str, int] = {}
        for c in all_chains:
            n_out[c[0]] = n_out.get(c[0], 0) + 1
        dense_cand: list = []  # composed, delay-free chains from a neuron node with one output
        for src, path, dst, port_name in all_chains:
            port = net[dst].port_index(port_name)
            n_src = net.size(src)
            if not path:  # direct neuron/input -> neuron edge: identity, weight 1
                idx = np.arange(n_src)
                rows.append((idx + self.offset[src], idx + self.offset[dst], np.ones(n_src),
                             np.zeros(n_src, np.int16), np.full(n_src, port, np.int8)))
                self.projections.append((f"{src}->{dst}", src, np.ones(n_src, np.int64), n_src))
                n_ids += n_src
                continue
            if len(path) == 1 and isinstance(net[path[0]], ir.Sparse):
                node = net[path[0]]
                pre = np.repeat(np.arange(node.n_pre), np.diff(node.indptr))
                post = node.indices.astype(np.int64)
                w = node.weight
                dl = np.broadcast_to(self._delay_steps(path[0], node.delay), post.shape)
                b = None
                self.syn_origin.setdefault(path[0], (n_ids, int(post.size)))
            else:
                for name in path:
                    if getattr(net[name], "plasticity", None) is not None:
                        raise ValueError(
                            f"node {name!r}: a plastic Sparse (plasticity="
                            f"{type(net[name].plasticity).__name__}) must connect a neuron or "
                            f"Input node directly to a neuron node; inside a chain of "
                            f"{'->'.join(path)} it cannot carry a rule")
                    if isinstance(net[name], ir.Sparse) and np.any(np.asarray(net[name].delay) > 0):
                        raise NotImplementedError(
                            f"node {name!r}: a Sparse projection with delays must connect a "
                            f"neuron or Input node directly to a neuron node")
                m, b = compose(net, path, cache)
                if m.shape != (net[dst].n, n_src):
                    raise ValueError(f"chain {src}->{'->'.join(path)}->{dst}: maps {m.shape[1]} "
                                     f"to {m.shape[0]} values, target has {net[dst].n}")
                mt = m.T.tocsr()  # rows = presynaptic
                mt.sort_indices()
                pre = np.repeat(np.arange(n_src), np.diff(mt.indptr))
                post = mt.indices.astype(np.int64)
                w = mt.data
                dl = np.zeros(pre.shape, np.int16)
                if (not isinstance(net[src], ir.Input) and n_out[src] == 1
                        and pre.size >= DENSE_MIN_DENSITY * n_src * net[dst].n):
                    dense_cand.append((src, dst, port, pre, post, w))
            n_ids += int(pre.size)
            if isinstance(net[src], ir.Input):  # kept for dense (frame) delivery, see run()
                delayed = bool(np.any(dl > 0))
                plastic = any(getattr(net[p_], "plasticity", None) is not None for p_ in path)
                mat = None if (delayed or plastic) else sp_matrix(pre, post, w, n_src, net[dst].n)
                self.input_chains.setdefault(src, []).append((mat, self.offset[dst], port))
            nz = w != 0
            deg = np.bincount(pre[nz], minlength=n_src)
            rows.append((pre + self.offset[src], post + self.offset[dst], w, dl,
                         np.full(pre.shape, port, np.int8)))
            label = "+".join(path)
            self.projections.append((label, src, deg, sum(dense_ops(net, p) for p in path)))
            if b is not None and np.any(b != 0):
                self.bias_terms.append((depth[src] + 1, port, self.offset[dst], b))
        if rows:
            pre = np.concatenate([r[0] for r in rows])
            if (np.diff(pre) < 0).any():
                order = np.argsort(pre, kind="stable")
            else:  # already grouped by presynaptic index (the usual case): no sort
                order = slice(None)
            pre = pre[order]
            self.sidx = np.concatenate([r[1] for r in rows]).astype(np.int32)[order]
            self.sw = np.concatenate([r[2] for r in rows]).astype(self.dtype)[order]
            self.sdly = np.concatenate([r[3] for r in rows]).astype(np.int16)[order]
            self.sport = np.concatenate([r[4] for r in rows])[order]
            if self._want_origin:  # synapse ids in build order (plasticity, weight readback)
                self.sorig = np.arange(n_ids, dtype=np.int64)[order]
            self.indptr = np.concatenate(
                [[0], np.cumsum(np.bincount(pre, minlength=self.N_pre))]).astype(np.int64)
        else:
            self.sidx = np.zeros(0, np.int32)
            self.sw = np.zeros(0, self.dtype)
            self.sdly = np.zeros(0, np.int16)
            self.sport = np.zeros(0, np.int8)
            self.sorig = np.zeros(0, np.int64)
            self.indptr = np.zeros(self.N_pre + 1, np.int64)
        self._partition()
        self._build_dense(dense_cand)
        self.L = int(self.sdly.max()) + 2 if self.sdly.size else 2
        # all synapses with one delay: the kernel skips the per-synapse delay lookup
        self.uniform_delay = int(self.sdly[0]) if self.sdly.size and (self.sdly == self.sdly[0]).all() else (0 if not self.sdly.size else -1)
        self.bias_starts = sorted({t[0] for t in self.bias_terms})
        self.has_pbias = bool(self.bias_terms)
        self.pbias = self._pbias_at(0)
        # groups whose parameters are all equal run the kernel's scalar fast path
        self.guni = np.zeros(len(self.groups), np.bool_)
        for g in range(len(self.groups)):
            sl = slice(self.gstart[g], self.gstart[g + 1])
            arrs = [self.pa[sl], self.pb[sl], self.pr[sl], self.vth[sl], self.vreset[sl],
                    self.refsteps[sl], *self.pc[:, sl], *self.pd[:, sl]]
            self.guni[g] = (all(np.all(a == a[0]) for a in arrs if a.size)
                            and np.array_equal(self.blocksteps[sl], self.refsteps[sl]))
        # delay 0 everywhere and only current/conductance targets: deliver straight into the
        # synaptic variables (Brian2's order) and skip the ring buffer
        kind_of = np.repeat(self.gkind, np.diff(self.gstart))
        tgt_kinds = set(np.flatnonzero(np.bincount(kind_of[self.sidx], minlength=3)).tolist()) \
            if self.sidx.size else set()
        self.direct = bool(self.uniform_delay == 0 and 0 not in tgt_kinds)

    def _build_dense(self, cand: list) -> None:
        """Dense copies of dense projections for BLAS delivery at high activity.

        A projection qualifies when it is a composed chain (Linear, Affine, Conv2d, ...; not a
        lone Sparse node) without delays from a neuron node that has no other outgoing chain,
        its matrix is at least ``DENSE_MIN_DENSITY`` full, and the network has no plasticity or
        weight monitors (their weights live in the CSR only). The CSR keeps these synapses too:
        in a step where at least ``dense_min_activity`` of the source's neurons (over the
        batch; default ``0.03 + 0.035 / batch``, settable on the engine, above 1 = never)
        fired, the kernel delivers the projection as one matrix product ``S @ W`` (BLAS)
        instead of one CSR row per spike; otherwise it uses the CSR rows as usual. The matrix
        product sums in another order, so results can differ in the last bits from the
        row-by-row sums. Each thread gets the contiguous column block of its own neurons."""
        D = 0 if self._want_origin else len(cand)
        T = self.blocks.size - 1
        self.dense_of = np.full(self.N_pre, -1, np.int64)
        self.dsrc = np.zeros((D, 2), np.int64)    # first source index, number of sources
        self.dport = np.zeros(D, np.int64)
        self.dcols = np.zeros((D, T, 2), np.int64)  # per thread: first and end target index
        self.dwoff = np.zeros((D, T), np.int64)
        parts, off = [], 0
        for d in range(D):
            src, dst, port, pre, post, w = cand[d]
            s0, ns = self.offset[src], self.net.size(src)
            t0, nt = self.offset[dst], self.net[dst].n
            W = np.zeros((ns, nt), self.dtype)
            W[pre, post] = w
            self.dense_of[s0:s0 + ns] = d
            self.dsrc[d] = (s0, ns)
            self.dport[d] = port
            for t in range(T):
                c0 = max(t0, int(self.blocks[t]))
                c1 = max(c0, min(t0 + nt, int(self.blocks[t + 1])))
                self.dcols[d, t] = (c0, c1)
                self.dwoff[d, t] = off
                blk = np.ascontiguousarray(W[:, c0 - t0:c1 - t0]).ravel()
                parts.append(blk)
                off += blk.size
        self.dw = np.concatenate(parts) if parts else np.zeros(0, self.dtype)
        self.dense_min_activity = DENSE_ACTIVITY_BASE + DENSE_ACTIVITY_PER_BATCH / self.batch

    def _pbias_at(self, step: int) -> np.ndarray:
        """Per-step projection bias acting in ``step``: a chain's bias starts in the step its
        first input can arrive (one step per synaptic stage from the inputs), like the bias
        of a layer-by-layer model that sees its first input then."""
        bias = np.zeros((self.P, self.N))
        for start, port, off, b in self.bias_terms:
            if step >= start:
                bias[port, off:off + b.size] += b
        return bias.astype(self.dtype)

    def _partition(self) -> None:
        """Cut the neurons into one block per thread and order each CSR row by target block
        (``pstart[pre, t]:pstart[pre, t+1]`` are the synapses of ``pre`` into block ``t``)."""
        import numba

        T = int(self.threads or 1)
        T = max(1, min(T, numba.config.NUMBA_NUM_THREADS, max(self.N // 2048, 1)))
        self.blocks = np.linspace(0, self.N, T + 1).round().astype(np.int64)
        if T == 1:
            self.pstart = np.stack([self.indptr[:-1], self.indptr[1:]], axis=1)
            return
        part = np.searchsorted(self.blocks, self.sidx, side="right") - 1
        pre = np.repeat(np.arange(self.N_pre), np.diff(self.indptr))
        order = np.lexsort((part, pre))
        for name in ("sidx", "sw", "sdly", "sport") + (("sorig",) if self._want_origin else ()):
            setattr(self, name, getattr(self, name)[order])
        counts = np.zeros((self.N_pre, T), np.int64)
        np.add.at(counts, (pre, part[order]), 1)
        self.pstart = np.zeros((self.N_pre, T + 1), np.int64)
        self.pstart[:, 1:] = np.cumsum(counts, axis=1)
        self.pstart += self.indptr[:-1, None]

    @property
    def bytes_per_synapse(self) -> float:
        """Memory per synapse of the engine's connectivity (index, weight, delay, port; CSR
        row pointers amortised)."""
        nnz = max(self.sidx.size, 1)
        total = (self.sidx.nbytes + self.sw.nbytes + self.sdly.nbytes + self.sport.nbytes
                 + self.pstart.nbytes)
        return total / nnz

    @property
    def n_synapses(self) -> int:
        return int(self.sidx.size)

    def _check_monitor(self, m: StateMonitor) -> tuple:
        if not isinstance(m, StateMonitor):
            raise TypeError(f"monitors: expected StateMonitor objects, got {type(m).__name__}")
        if m.node not in self.groups:
            raise ValueError(f"StateMonitor.node: {m.node!r} is not a neuron node; neuron nodes: "
                             f"{self.groups}")
        node = self.net[m.node]
        ports = node.port_names()
        named = [p for p in ports if p]
        allowed = ["v", "a"] + named
        if isinstance(node, (ir.CubaLIF, ir.CubaLI, ir.CobaLIF)) and len(ports) == 1:
            allowed.append("I")  # alias of the single port's current (or conductance)
        for var in m.variables:
            if var not in allowed:
                raise ValueError(f"StateMonitor.variables: {var!r} is not a variable of "
                                 f"{m.node!r}; allowed: {allowed}")
        idx = np.arange(node.n) if m.index is None else np.asarray(m.index, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= node.n):
            raise ValueError(f"StateMonitor.index: values must be in [0, {node.n}), got "
                             f"[{idx.min()}, {idx.max()}]")
        if int(m.every) < 1:
            raise ValueError(f"StateMonitor.every: must be >= 1, got {m.every}")
        return (m, idx)

    def _set_record(self, record: Any) -> None:
        from spikesim.sim.monitors import set_record

        set_record(self, record)

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to t = 0 with the initial state."""
        B, N, P, d = self.batch, self.N, self.P, self.dtype
        self.step = 0
        self.v = np.tile(self.v0.astype(d), (B, 1))
        self.cur = np.zeros((P, B, N), d)
        self.refc = np.zeros((B, N), np.int32)
        self.ath = np.tile(self.a0.astype(d), (B, 1))
        self.buf = np.zeros((self.L, P, B, N), d)
        self.spike_count = np.zeros((B, self.N_pre), np.int64)  # per batch entry
        self.mu_count = np.zeros((self.blocks.size - 1, max(len(self.groups), 1)), np.int64)
        self._first_run = True
        self._mu_step0 = np.zeros_like(self.mu_count)
        if self.learning is not None:  # traces, eligibilities and the initial weights
            self.learning.reset()
        self._params_cast = {k: getattr(self, k).astype(d) for k in
                             ("pa", "pb", "pc", "pd", "pr", "vth", "vreset", "ad_decay",
                              "ad_delta", "coba_m", "coba_e", "coba_vinf_num", "taum_inv")}

    STATE_KEYS = ("v", "cur", "refc", "ath", "buf", "spike_count", "mu_count")

    def get_state(self) -> dict[str, np.ndarray]:
        st = {k: getattr(self, k).copy() for k in self.STATE_KEYS}
        st["step"] = np.array(self.step)
        if self.learning is not None:
            st.update(self.learning.get_state())
        return st

    def set_state(self, st: Mapping[str, np.ndarray]) -> None:
        for k in self.STATE_KEYS:
            if k not in st:
                raise ValueError(f"state: missing {k!r}")
            cur = getattr(self, k)
            arr = np.asarray(st[k])
            if arr.shape != cur.shape:
                raise ValueError(f"state[{k!r}]: shape {arr.shape} != {cur.shape} of this simulator")
            setattr(self, k, arr.astype(cur.dtype).copy())
        self.step = int(st["step"])
        self._first_run = self.step == 0
        if self.learning is not None:
            self.learning.set_state(st)

    # ------------------------------------------------------------------ inputs
    def _input_events(self, stims: Mapping[str, Any], n0: int, n1: int):
        """Events (step, batch, global index, value) for steps [n0, n1), sorted by step."""
        from spikesim.sim.inputs import events_for_steps

        return events_for_steps(stims, self.net, self.offset, self.dt, self.batch, self.seed,
                                n0, n1, CHUNK, self.dtype)

    # ------------------------------------------------------------------ run
    def run(self, duration: float, inputs: Mapping[str, Any] | None = None, *,
            progress: bool = True) -> Result:
        from spikesim.kernels.clock import run_chunk, run_chunk_parallel

        if not (np.isfinite(duration) and duration >= 0):
            raise ValueError(f"duration: must be a finite number >= 0 s, got {duration!r}")
        nsteps = int(round(duration / self.dt))
        if abs(nsteps * self.dt - duration) > 1e-6 * self.dt:
            raise ValueError(f"duration: {duration!r} s is not a whole number of steps of dt = "
                             f"{self.dt!r} s")
        stims = {}
        learn = self.learning
        rewards: dict = {}
        if learn is not None:  # reward signals are keyed by their projection's name
            inputs, rewards = learn.split_inputs(inputs)
        for name, stim in (inputs or {}).items():
            if name not in self.inputs:
                raise ValueError(f"inputs: {name!r} is not an Input node; Input nodes: {self.inputs}")
            stims[name] = as_stimulus(stim)
        binary_input = {name: not (isinstance(s, Frames) and not s.binary) for name, s in stims.items()}
        # Frames into linear chains without delays are delivered densely: one matrix product
        # per distinct frame (BLAS for dense weights) added to the ring buffer one step ahead,
        # instead of one event per nonzero input value. Needs the ring buffer (not `direct`).
        self._dense_cache = {}
        dense = {name: st_ for name, st_ in stims.items()
                 if isinstance(st_, Frames) and not self.direct and name in self.input_chains
                 and all(c[0] is not None for c in self.input_chains[name])}
        n_start = self.step
        count0 = self.spike_count.copy()
        mu0 = self.mu_count.copy()
        B = self.batch
        rec_cap = max(B * self.N * 64, 1 << 16)
        rec_step = np.empty(rec_cap, np.int64)
        rec_b = np.empty(rec_cap, np.int64)
        rec_i = np.empty(rec_cap, np.int64)
        recs = []
        mon_idx = np.concatenate([self.offset[m.node] + idx for m, idx in self.monitors]) \
            if self.monitors else np.zeros(0, np.int64)
        every = int(np.gcd.reduce([m.every for m, _ in self.monitors])) if self.monitors else 0
        mons = []
        P = self.cur.shape[0]
        pc = self._params_cast
        st = (self.v, self.cur, self.refc, self.ath, self.buf, self.spike_count, self.mu_count)
        grp = (self.gstart, self.gkind, self.gspiking, self.greset, self.gadapt, self.gnports,
               self.guni)
        prm = (pc["pa"], pc["pb"], pc["pc"], pc["pd"], pc["pr"], pc["vth"], pc["vreset"],
               self.refsteps, pc["ad_decay"], pc["ad_delta"], pc["coba_m"], pc["coba_e"],
               pc["coba_vinf_num"], pc["taum_inv"], self.blocksteps)
        syn = (self.pstart, self.sidx, self.sw, self.sdly, self.sport)
        T = self.blocks.size - 1
        if learn is not None:
            rew_all = learn.reward_array(rewards, n_start, nsteps)
        wmon = self.weight_monitors
        wevery = int(np.gcd.reduce([m.every for m in wmon])) if wmon else 0
        whist: dict = {m.projection: ([], []) for m in wmon}

        def call(n_from, count, ev, mon_out):
            rec = (self.rec_mask, rec_step, rec_b, rec_i)
            args = (n_from, count, B, st, grp, prm, self.dt, self.pbias, self.has_pbias,
                    self.direct, self.uniform_delay, syn, ev, rec, rec_cap, mon_idx, every,
                    mon_out)
            if learn is not None:  # plastic networks only: the fast path above is untouched
                k = min(n_from - n_start, rew_all.shape[1] - 1)
                plas = learn.plas(np.ascontiguousarray(rew_all[:, k:]))
                return learn.run_chunk(args, plas, self.blocks if T > 1 else None)
            dense_arg = (self.dense_of, self.dsrc, self.dport, self.dcols, self.dwoff, self.dw,
                         float(self.dense_min_activity))
            if T > 1:
                return run_chunk_parallel(*args, dense_arg, self.blocks)
            return run_chunk(*args, dense_arg)

        # JIT (or cache load) happens in a zero-step call, timed separately from the run.
        t0 = time.perf_counter()
        z = np.zeros(0, np.int64)
        call(self.step, 0, (z, z, z, np.zeros(0, self.dtype)),
             np.empty((1, B, mon_idx.size, 2 + P), self.dtype))
        if learn is not None:
            learn.flush()  # compiles the flush kernel (nothing is pending here)
        jit_s = time.perf_counter() - t0
        t_run0 = time.perf_counter()
        bar = None
        if progress and nsteps > CHUNK:
            from tqdm.auto import tqdm

            bar = tqdm(total=nsteps, unit="step", desc="clock", leave=False)
        n = n_start
        end = n_start + nsteps
        try:
            while n < end:
                n1 = min([end, (n // CHUNK + 1) * CHUNK] + [s_ for s_ in self.bias_starts if s_ > n]
                         + ([(n // wevery + 1) * wevery] if wevery else []))
                if self.has_pbias:
                    self.pbias = self._pbias_at(n)
                if dense:
                    n1 = min(n1, n + self.L - 1)  # frames pre-added at most L-1 steps ahead
                    self._dense_inputs(dense, n, n1)
                ev = self._input_events({k: v for k, v in stims.items() if k not in dense}, n, n1)
                mon_out = np.empty(((n1 - n) // max(every, 1) + 2, B, mon_idx.size, 2 + P), self.dtype)
                nmon_chunk = 0
                done = 0
                while done < n1 - n:
                    count = n1 - n - done
                    if n + done == 0:
                        count = 1  # step 0 alone: NeuroBench counts its membranes as numel
                    steps_done, nrec, nmon = call(n + done, count, ev, mon_out[nmon_chunk:])
                    if n + done == 0 and steps_done == 1:
                        self._mu_step0 = self.mu_count - mu0
                    recs.append((rec_step[:nrec].copy(), rec_b[:nrec].copy(), rec_i[:nrec].copy()))
                    mons.append(mon_out[nmon_chunk:nmon_chunk + nmon].copy())
                    nmon_chunk += nmon
                    done += steps_done
                    if steps_done == 0:
                        rec_cap *= 2
                        rec_step = np.empty(rec_cap, np.int64)
                        rec_b = np.empty(rec_cap, np.int64)
                        rec_i = np.empty(rec_cap, np.int64)
                if bar is not None:
                    bar.update(n1 - n)
                n = n1
                self.step = n
                for m in wmon:  # weight snapshots at the end of step n - 1
                    if n % m.every == 0:
                        w = self.weights(m.projection)
                        whist[m.projection][0].append(n * self.dt)
                        whist[m.projection][1].append(w if m.index is None else w[m.index])
        finally:
            if bar is not None:
                bar.close()
            if learn is not None:
                learn.flush()  # pending potentiation (lazy kernels) into the weights
        run_s = time.perf_counter() - t_run0
        res = self._result(recs, mons, mon_idx, every, n_start, nsteps, count0, mu0,
                           binary_input, jit_s, run_s)
        if wmon:
            res.meta["weights"] = {k: (np.array(t), np.array(w)) for k, (t, w) in whist.items()}
        if learn is not None:
            for name, n_upd in learn.update_counts((self.spike_count - count0).sum(axis=0)).items():
                res.counts.add(name, "synapse", plasticity_updates=n_upd)
            res.counts.unfilled = tuple(f for f in res.counts.unfilled if f != "plasticity_updates")
        return res

    def _dense_inputs(self, dense: Mapping[str, Frames], n0: int, n1: int) -> None:
        """Add the contributions of the frames emitted in steps [n0, n1) to the ring-buffer
        slots they arrive in (one step later), and count them as input events."""
        from spikesim.sim.inputs import frame_values

        L, B = self.L, self.batch
        cache = self._dense_cache
        for name, stim in dense.items():
            off = self.offset[name]
            n_in = self.net[name].n
            for step in range(n0, n1):
                key, vals = frame_values(stim, self.net[name].shape, self.dt, B, step)
                if vals is None:
                    continue
                nz = vals != 0
                self.spike_count[:, off:off + n_in] += nz
                slot = (step + 1) % L
                for k, (mat, o, port) in enumerate(self.input_chains[name]):
                    ck = (name, k, id(stim), key)
                    if ck not in cache:
                        if len(cache) > 64:
                            cache.clear()
                        cache[ck] = np.asarray(mat @ vals.T).T.astype(self.dtype)  # [B, n_dst]
                    contrib = cache[ck]
                    self.buf[slot, port, :, o:o + contrib.shape[1]] += contrib

    # ------------------------------------------------------------------ learned weights
    def weights(self, name: str) -> np.ndarray:
        """Current weights of ``Sparse`` node ``name`` in the order of its ``weight`` field
        (learned weights when it is plastic)."""
        if not self._want_origin:
            if not isinstance(self.net.nodes.get(name), ir.Sparse):
                raise ValueError(f"name: {name!r} is not a Sparse node of this network")
            return np.asarray(self.net[name].weight, dtype=np.float64).copy()
        from spikesim.learn._clock import projection_weights

        return projection_weights(self, name)

    def _result(self, recs, mons, mon_idx, every, n_start, nsteps, count0, mu0, binary_input,
                jit_s, run_s) -> Result:
        net, dt, B = self.net, self.dt, self.batch
        st = np.concatenate([r[0] for r in recs]) if recs else np.zeros(0, np.int64)
        sb = np.concatenate([r[1] for r in recs]) if recs else np.zeros(0, np.int64)
        si = np.concatenate([r[2] for r in recs]) if recs else np.zeros(0, np.int64)
        order = np.lexsort((si, sb, st))
        st, sb, si = st[order], sb[order], si[order]
        spikes = {}
        for name in self.record_names:
            off, n = self.offset[name], net[name].n
            m = (si >= off) & (si < off + n)
            spikes[name] = SpikeTrain(t=(st[m] + 1) * dt, i=si[m] - off, b=sb[m], n=n)
        state, state_index = {}, {}
        state_t = np.zeros(0)
        if self.monitors:
            mon = np.concatenate(mons) if mons else np.zeros((0, B, mon_idx.size, 2 + self.P))
            first = (n_start // every + 1) * every
            state_t = (first + np.arange(mon.shape[0]) * every) * dt
            col = 0
            for m, idx in self.monitors:
                node = net[m.node]
                sel = slice(col, col + idx.size)
                col += idx.size
                keep = ((np.round(state_t / dt).astype(np.int64)) % m.every) == 0
                out = state.setdefault(m.node, {})
                ports = [p for p in node.port_names() if p]
                for var in m.variables:
                    if var == "v":
                        arr = mon[keep, :, sel, 0]
                    elif var == "a":
                        arr = mon[keep, :, sel, 1]
                    else:
                        k = ports.index(var) if var in ports else 0
                        arr = mon[keep, :, sel, 2 + k]
                    out[var] = arr.astype(np.float64)
                state_index[m.node] = idx
        counts = self._counts(nsteps, count0, mu0, binary_input)
        outputs = {}
        diff = self.spike_count - count0
        for name in net.names("output"):
            for e in net.in_edges(name):
                src = net[e.src]
                if isinstance(src, ir.NeuronNode) and src.spiking:
                    off = self.offset[e.src]
                    if e.src in self.record_names:
                        outputs[name] = spikes[e.src].counts().reshape((-1, *net.shapes[e.src][1]))
                        if outputs[name].shape[0] < B:
                            pad = np.zeros((B, *net.shapes[e.src][1]), np.int64)
                            pad[:outputs[name].shape[0]] = outputs[name]
                            outputs[name] = pad
                    else:
                        outputs[name] = diff[:, off:off + src.n].reshape((B, *net.shapes[e.src][1]))
                elif isinstance(src, ir.NeuronNode):
                    off = self.offset[e.src]
                    outputs[name] = self.v[:, off:off + src.n].astype(np.float64).reshape(
                        (B, *net.shapes[e.src][1]))
        first = self._first_run
        self._first_run = False
        return Result(spikes=spikes, state=state, state_t=state_t, state_index=state_index,
                      outputs=outputs, counts=counts, t_start=n_start * dt,
                      t_stop=(n_start + nsteps) * dt, dt=dt, engine="clock", jit_s=jit_s,
                      run_s=run_s, meta={"seed": self.seed, "dtype": self.dtype.name, "batch": B,
                                         "threads": self.threads, "first_run": first})

    def _counts(self, nsteps, count0, mu0, binary_input) -> Counts:
        net, B = self.net, self.batch
        c = Counts(samples=B, duration_s=nsteps * self.dt, steps=nsteps, source="clock",
                   unfilled=("spikes_routed", "hops", "cycles", "plasticity_updates"),
                   meta={"dt": self.dt})
        diff = (self.spike_count - count0).sum(axis=0)
        mu = self.mu_count - mu0
        for g, name in enumerate(self.groups):
            node = net[name]
            sl = slice(self.gstart[g], self.gstart[g + 1])
            upd = node.n * nsteps * B
            # NeuroBench MembraneUpdates: membranes that changed in steps 1.., plus numel at
            # step 0 (mu counts unchanged updates negatively; step 0 is replaced by numel)
            mu_upd = upd + int(mu[:, g].sum())
            if self._first_run and nsteps:
                mu_upd -= node.n * B + int(self._mu_step0[:, g].sum())
                mu_upd += node.n * B
            c.add(name, "neuron", spikes=int(diff[sl].sum()) if node.spiking else 0,
                  neuron_updates=upd, membrane_updates=mu_upd,
                  state_reads=upd * self.nvars[name], state_writes=upd * self.nvars[name],
                  ticks=nsteps)
        for k, name in enumerate(self.inputs):
            c.add(name, "input", spikes=int(diff[self.istart[k]:self.istart[k + 1]].sum()),
                  ticks=nsteps)
        for name, src, deg, dense in self.projections:
            off = self.offset[src]
            ops = int(np.dot(diff[off:off + deg.size], deg))
            binary = binary_input.get(src, True)
            if binary:
                c.add(name, "synapse", synops_ac=ops, dense_ac=dense * nsteps * B,
                      weight_reads=ops, ticks=nsteps)
            else:
                c.add(name, "synapse", synops_mac=ops, dense_mac=dense * nsteps * B,
                      weight_reads=ops, ticks=nsteps)
        return c
