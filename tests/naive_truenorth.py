"""Slow, obviously correct twin of the TrueNorth core kernel (hardware.md section 1.2).

Plain Python integers, a dense crossbar and the documented counter-based draws: every random
number is fmix32 (MurmurHash3's finaliser) of a counter naming it (core key, tick, synapse /
leak / threshold, axon, neuron).
"""
from __future__ import annotations

import numpy as np

V_MIN, V_MAX = -(2 ** 19), 2 ** 19 - 1


M32 = 0xFFFFFFFF


def fmix32(h: int) -> int:
    h &= M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h


def draw(key: int, t: int, counter: int) -> int:
    """The random number named ``counter`` at tick t of the core with ``key``."""
    base = fmix32(int(key) ^ fmix32(((t + 1) * 0x9E3779B9) & M32))
    return fmix32(base ^ counter)


def sgn(x: int) -> int:
    return (x > 0) - (x < 0)


def F(s: int, rho: int) -> int:
    """Stochastic comparison: sgn(s) if |s| >= rho else 0."""
    return sgn(s) if abs(s) >= rho else 0


def sat(v: int, log: list) -> int:
    if v > V_MAX:
        log.append(1)
        return V_MAX
    if v < V_MIN:
        log.append(1)
        return V_MIN
    return v


def naive_core_tick(crossbar, axon_types, p: dict, active, V: list, key: int, t: int,
                    sats: list) -> list:
    """One tick of one core: ``active`` the set of axons with an input spike, ``V`` the list
    of 256 potentials (updated in place). Returns the 0/1 spikes of the 256 neurons."""
    add = [0] * 256
    for i in sorted(active):
        g = int(axon_types[i])
        for j in range(256):
            if not crossbar[i][j]:
                continue
            s = int(p["weights"][j][g])
            if p["stochastic_synapse"][j][g]:
                rho = draw(key, t, (i << 8) | j) >> 24
                add[j] += F(s, rho)
            else:
                add[j] += s
    out = [0] * 256
    for j in range(256):
        v = sat(V[j] + add[j], sats)
        lam = int(p["leak"][j])
        if lam != 0 or p["stochastic_leak"][j]:
            omega = (1 - int(p["leak_reversal"][j])) + int(p["leak_reversal"][j]) * sgn(v)
            if p["stochastic_leak"][j]:
                rho = draw(key, t, 0x10000 | j) >> 24
                v += omega * F(lam, rho)
            else:
                v += omega * lam
            v = sat(v, sats)
        M = (1 << int(p["mask_bits"][j])) - 1
        eta = (draw(key, t, 0x20000 | j) & M) if M else 0
        alpha, beta = int(p["alpha"][j]), int(p["beta"][j])
        R, gamma, kappa = int(p["reset"][j]), int(p["gamma"][j]), int(p["kappa"][j])
        d = lambda x: 1 if x == 0 else 0  # Kronecker delta
        if v >= alpha + eta:
            out[j] = 1
            v = d(gamma) * R + d(gamma - 1) * (v - (alpha + eta)) + d(gamma - 2) * v
        elif v < -(beta * kappa + (beta + eta) * (1 - kappa)):
            v = -beta * kappa + (-d(gamma) * R + d(gamma - 1) * (v + (beta + eta))
                                 + d(gamma - 2) * v) * (1 - kappa)
        V[j] = sat(v, sats)
    return out


def naive_run_core(crossbar, axon_types, p: dict, A, key: int):
    """p: the dict of NeuronParams.arrays(). Returns spikes [T,256], V [T,256], saturations."""
    T = len(A)
    V = [int(x) for x in p["v_init"]]
    spikes = np.zeros((T, 256), dtype=np.uint8)
    vrec = np.zeros((T, 256), dtype=np.int64)
    sats: list = []
    for t in range(T):
        active = {i for i in range(256) if A[t][i]}
        spikes[t] = naive_core_tick(crossbar, axon_types, p, active, V, key, t, sats)
        vrec[t] = V
    return spikes, vrec, len(sats)


def naive_run_chip(crossbars, axon_types, params: list, inputs, keys):
    """C cores on one 64 x 64 mesh (core c at x = c % 64, y = c // 64). ``params[c]`` the dict of
    NeuronParams.arrays() of core c (targets and delays used); ``inputs`` [T, C, 256] external
    0/1 axon spikes integrated at their tick; a spike of neuron j at tick t reaches its target
    axon at tick t + delay. Returns spikes [T, C, 256], V [T, C, 256] and totals (spikes,
    synops, axon events, routed, hops, saturations)."""
    T, C = len(inputs), len(params)
    V = [[int(x) for x in p["v_init"]] for p in params]
    pending: dict = {}  # (tick, core) -> set of axons
    spikes = np.zeros((T, C, 256), dtype=np.uint8)
    vrec = np.zeros((T, C, 256), dtype=np.int64)
    tot = dict(spikes=0, synops=0, axon_events=0, routed=0, hops=0)
    sats: list = []
    for t in range(T):
        for c in range(C):
            p = params[c]
            active = pending.pop((t, c), set()) | {i for i in range(256) if inputs[t][c][i]}
            tot["axon_events"] += len(active)
            for i in active:
                g = int(axon_types[c][i])
                tot["synops"] += sum(1 for j in range(256)
                                     if crossbars[c][i][j] and p["weights"][j][g] != 0)
            out = naive_core_tick(crossbars[c], axon_types[c], p, active, V[c], int(keys[c]), t,
                                  sats)
            spikes[t, c] = out
            vrec[t, c] = V[c]
            for j in range(256):
                if not out[j]:
                    continue
                tot["spikes"] += 1
                tc = int(p["target_core"][j])
                if tc < 0:
                    continue
                key = (t + int(p["delay"][j]), tc)
                pending.setdefault(key, set()).add(int(p["target_axon"][j]))
                tot["routed"] += 1
                tot["hops"] += abs(tc % 64 - c % 64) + abs(tc // 64 - c // 64)
    tot["saturations"] = len(sats)
    return spikes, vrec, tot
