"""Slow, obviously correct twin of the clock engine (plain Python + numpy, one step at a time).

It follows the order stated in :mod:`spikesim.kernels.clock`, written independently:
per neuron node and step, arrivals are taken from a dict of pending inputs keyed by step;
each projection is walked synapse by synapse.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from spikesim import ir


def _p(x, n):
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).astype(np.float64)


def simulate(net: ir.Network, dt: float, steps: int, inputs: dict | None = None):
    """Run ``steps`` steps. ``inputs``: {input name: list of (step, index, value)}.

    Returns ``(spikes, v)``: spikes {node: list of (step, index)}, v {node: array [steps, n]}.
    """
    inputs = inputs or {}
    state = {}
    for name in net.names("neuron"):
        node = net[name]
        n = node.n
        ports = node.port_names()
        v0 = _p(node.v_init, n) if node.v_init is not None else (
            np.zeros(n) if isinstance(node, ir.IF) else _p(node.v_leak, n))
        state[name] = dict(v=v0.copy(), I=np.zeros((len(ports), n)), ref=np.zeros(n, int),
                           blk=np.zeros(n, int),
                           a=_p(getattr(node, "a_init", 0.0), n).copy())
    pending = defaultdict(lambda: defaultdict(lambda: None))  # (node, port) -> step -> array

    def add(dst, port, step, post, w):
        n = net[dst].n
        arr = pending[(dst, port)][step]
        if arr is None:
            arr = np.zeros(n)
            pending[(dst, port)][step] = arr
        arr[post] += w

    # projections: list of (src, dst, port, list of (pre, post, w, delay_steps), bias)
    projs = []
    for name in net.names("synapse"):
        node = net[name]
        for e_in in net.in_edges(name):
            for e_out in net.out_edges(name):
                if not isinstance(net[e_out.dst], ir.NeuronNode):
                    continue
                port = net[e_out.dst].port_index(e_out.port)
                syn = []
                bias = None
                if isinstance(node, ir.Sparse):
                    for pre in range(node.n_pre):
                        for q in range(node.indptr[pre], node.indptr[pre + 1]):
                            d = node.delay if np.ndim(node.delay) == 0 else node.delay[q]
                            syn.append((pre, int(node.indices[q]), float(node.weight[q]),
                                        int(round(d / dt))))
                else:
                    W = node.weight
                    for post in range(W.shape[0]):
                        for pre in range(W.shape[1]):
                            if W[post, pre] != 0:
                                syn.append((pre, post, float(W[post, pre]), 0))
                    if isinstance(node, ir.Affine):
                        bias = np.array(node.bias, dtype=np.float64)
                projs.append((e_in.src, e_out.dst, port, syn, bias))
    for dst in net.names("neuron"):
        for e in net.in_edges(dst):
            if isinstance(net[e.src], (ir.NeuronNode, ir.Input)):
                n = net.size(e.src)
                projs.append((e.src, dst, net[dst].port_index(e.port),
                              [(i, i, 1.0, 0) for i in range(n)], None))

    # a projection's bias acts from the step its first input can arrive: one step per
    # synaptic stage from the nearest Input (neuron nodes no Input reaches: depth 0)
    depth = {name: 0 for name in net.names("input")}
    changed = True
    while changed:
        changed = False
        for src, dst, port, syn, bias in projs:
            if src in depth and (dst not in depth or depth[dst] > depth[src] + 1):
                depth[dst] = depth[src] + 1
                changed = True

    spikes = {name: [] for name in net.names("neuron")}
    vtrace = {name: np.zeros((steps, net[name].n)) for name in net.names("neuron")}
    for step in range(steps):
        fired = {}
        for name in net.names("neuron"):
            node = net[name]
            st = state[name]
            n = node.n
            nports = len(node.port_names())
            x = np.zeros((nports, n))
            for k in range(nports):
                arr = pending[(name, k)].pop(step, None)
                if arr is not None:
                    x[k] += arr
            for src, dst, port, syn, bias in projs:
                if dst == name and bias is not None and step >= depth.get(src, 0) + 1:
                    x[port] += bias
            out = np.zeros(n, bool)
            for i in range(n):
                v = st["v"][i]
                r = _p(node.r, n)[i]
                if isinstance(node, (ir.LIF, ir.AdaptiveLIF, ir.LI)):
                    tau = _p(node.tau, n)[i]
                    vinf = _p(node.v_leak, n)[i] + r * _p(node.bias, n)[i]
                    new = vinf + (v - vinf) * math.exp(-dt / tau) + r * x[0, i]
                elif isinstance(node, ir.IF):
                    new = v + r * _p(node.bias, n)[i] * dt + r * x[0, i]
                elif isinstance(node, (ir.CubaLIF, ir.CubaLI)):
                    tm = _p(node.tau_mem, n)[i]
                    vinf = _p(node.v_leak, n)[i] + r * _p(node.bias, n)[i]
                    new = vinf + (v - vinf) * math.exp(-dt / tm)
                    taus = node.tau_syn if isinstance(node.tau_syn, tuple) else (node.tau_syn,)
                    for k, ts in enumerate(taus):
                        ts = _p(ts, n)[i]
                        I = st["I"][k, i] + x[k, i]
                        if ts == tm:
                            coef = dt / tm * math.exp(-dt / tm)
                        else:
                            coef = ts / (ts - tm) * (math.exp(-dt / ts) - math.exp(-dt / tm))
                        new += r * I * coef
                        st["I"][k, i] = I * math.exp(-dt / ts)
                elif isinstance(node, ir.CobaLIF):
                    tm = _p(node.tau_mem, n)[i]
                    G = 1.0
                    num = _p(node.v_leak, n)[i] + r * _p(node.bias, n)[i]
                    for k, (ts, er) in enumerate(zip(node.tau_syn, node.e_rev)):
                        ts = _p(ts, n)[i]
                        g = st["I"][k, i] + x[k, i]
                        gmean = g * ts / dt * -math.expm1(-dt / ts)
                        G += gmean
                        num += gmean * _p(er, n)[i]
                        st["I"][k, i] = g * math.exp(-dt / ts)
                    vinf = num / G
                    new = vinf + (v - vinf) * math.exp(-dt * G / tm)
                else:
                    raise NotImplementedError(type(node).__name__)
                # a decays with tau_adapt (it is 0 forever without a_init or increments)
                adaptive = isinstance(node, (ir.AdaptiveLIF, ir.CobaLIF))
                if adaptive:
                    st["a"][i] *= math.exp(-dt / _p(node.tau_adapt, n)[i])
                if node.spiking and st["blk"][i] > 0:
                    # blocked: no spike; the membrane is held only while refractory
                    st["blk"][i] -= 1
                    if st["ref"][i] > 0:
                        st["ref"][i] -= 1
                        new = _p(node.v_reset, n)[i]
                elif node.spiking:
                    th = _p(node.v_threshold, n)[i] + st["a"][i]
                    if new >= th:
                        out[i] = True
                        vr = _p(node.v_reset, n)[i]
                        new = vr if node.reset == "value" else new - (th - vr)
                        st["ref"][i] = int(round(_p(node.refractory, n)[i] / dt))
                        block = (int(round(_p(node.fire_block, n)[i] / dt))
                                 if isinstance(node, ir.CobaLIF) else 0)
                        st["blk"][i] = max(st["ref"][i], block)
                        if adaptive:
                            st["a"][i] += _p(node.delta_threshold, n)[i]
                st["v"][i] = new
            vtrace[name][step] = st["v"]
            fired[name] = np.flatnonzero(out)
            spikes[name].extend((step, int(i)) for i in fired[name])
        for name, evs in inputs.items():
            fired[name] = [(i, val) for (s, i, val) in evs if s == step]
        for src, dst, port, syn, bias in projs:
            if src not in fired:
                continue
            f = fired[src]
            vals = dict(f) if isinstance(net[src], ir.Input) else {int(i): 1.0 for i in f}
            for pre, post, w, d in syn:
                if pre in vals:
                    add(dst, port, step + 1 + d, post, w * vals[pre])
    return spikes, vtrace
