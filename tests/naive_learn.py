"""Slow, obviously correct twin of the clock engine's plasticity (spikesim.kernels.plasticity).

Given the spikes of every presynaptic and postsynaptic neuron per step (the weights change
only at spikes, so they are a function of the spike trains), replay the rule synapse by
synapse in the documented order: traces decay; reward trace and eligibilities; at step n
each synapse of a spiking presynaptic neuron is depressed, then each synapse into a spiking
postsynaptic neuron is potentiated; then the traces of the spiking neurons jump.
"""
import math

import numpy as np

from spikesim import ir
from spikesim.learn.rules import RewardSTDP


def tagged_synapse_net(rule):
    """One plastic synapse (weight 1, rule ``rule``) from input ``pre`` onto a LIF neuron
    (tau 1 ms, threshold 2) that input ``drive`` (weight 2) fires at will: a pre spike then a
    drive spike make one pairing at a chosen timing."""
    nodes = {"pre": ir.Input(1), "drive": ir.Input(1),
             "syn": ir.Sparse.from_dense(np.full((1, 1), 1.0), plasticity=rule),
             "dsyn": ir.Sparse.from_dense(np.full((1, 1), 2.0)),
             "post": ir.LIF(1, tau=1e-3, v_threshold=2.0)}
    return ir.Network(nodes, [("pre", "syn"), ("syn", "post"), ("drive", "dsyn"),
                              ("dsyn", "post")])


def naive_plastic_weights(sparse, rule, pre_steps, post_steps, nsteps, dt, reward=None):
    """Weights of ``sparse`` (an ``ir.Sparse``) after ``nsteps`` steps.

    pre_steps/post_steps: lists (one per neuron) of the steps at which it spiked.
    reward: per-step reward added to the reward trace (RewardSTDP), or None.
    """
    p = rule.trace_params()
    is_rew = isinstance(rule, RewardSTDP)
    n_pre, n_post = sparse.n_pre, sparse.n_post
    pre_of = np.repeat(np.arange(n_pre), np.diff(sparse.indptr))
    post_of = np.asarray(sparse.indices)
    w = [float(x) for x in sparse.weight]
    c = [0.0] * len(w)
    r1 = [0.0] * n_pre
    r2 = [0.0] * n_pre
    o1 = [0.0] * n_post
    o2 = [0.0] * n_post
    d = 0.0
    pre_at = [set(s) for s in pre_steps]
    post_at = [set(s) for s in post_steps]

    def change(q, dw):
        if is_rew:
            c[q] += dw
            return
        if p["mult"]:
            dw *= (p["w_max"] - w[q]) if dw > 0 else (w[q] - p["w_min"])
        w[q] = min(max(w[q] + dw, p["w_min"]), p["w_max"])

    for n in range(nsteps):
        for i in range(n_pre):
            r1[i] *= math.exp(-dt / p["tau_r1"])
            r2[i] *= math.exp(-dt / p["tau_r2"])
        for j in range(n_post):
            o1[j] *= math.exp(-dt / p["tau_o1"])
            o2[j] *= math.exp(-dt / p["tau_o2"])
        if is_rew:
            d = d * math.exp(-dt / rule.tau_d) + (0.0 if reward is None else reward[n])
            for q in range(len(w)):
                c[q] *= math.exp(-dt / rule.tau_c)
                w[q] = min(max(w[q] + ((d + rule.d_tonic) * dt) * c[q], p["w_min"]), p["w_max"])
        pre_spk = [i for i in range(n_pre) if n in pre_at[i]]
        post_spk = [j for j in range(n_post) if n in post_at[j]]
        for i in pre_spk:
            for q in range(len(w)):
                if pre_of[q] == i:
                    change(q, -o1[post_of[q]] * (p["a2m"] + p["a3m"] * r2[i]))
        for j in post_spk:
            for q in range(len(w)):
                if post_of[q] == j:
                    change(q, r1[pre_of[q]] * (p["a2p"] + p["a3p"] * o2[j]))
        for i in pre_spk:
            r1[i] = 1.0 if p["nearest"] else r1[i] + 1.0
            r2[i] = 1.0 if p["nearest"] else r2[i] + 1.0
        for j in post_spk:
            o1[j] = 1.0 if p["nearest"] else o1[j] + 1.0
            o2[j] = 1.0 if p["nearest"] else o2[j] + 1.0
    return np.array(w)
