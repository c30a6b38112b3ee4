"""Slow, obviously correct twin of the TrueNorth core kernel (hardware.md section 1.2).

Plain Python integers, a dense crossbar and the documented draw order: synapses (axons
ascending, neurons ascending, connected and stochastic only), then per neuron: leak draw (if
stochastic leak), threshold draw (if mask != 0).
"""
from __future__ import annotations

import numpy as np

V_MIN, V_MAX = -(2 ** 19), 2 ** 19 - 1


class XorShift32:
    def __init__(self, state: int):
        self.s = int(state) & 0xFFFFFFFF

    def next(self) -> int:
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s


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


def naive_run_core(crossbar, axon_types, p: dict, A, rng_state: int):
    """p: the dict of NeuronParams.arrays(). Returns spikes [T,256], V [T,256], saturations."""
    T = len(A)
    rng = XorShift32(rng_state)
    V = [int(x) for x in p["v_init"]]
    spikes = np.zeros((T, 256), dtype=np.uint8)
    vrec = np.zeros((T, 256), dtype=np.int64)
    sats: list = []
    for t in range(T):
        add = [0] * 256
        for i in range(256):
            if not A[t][i]:
                continue
            g = int(axon_types[i])
            for j in range(256):
                if not crossbar[i][j]:
                    continue
                s = int(p["weights"][j][g])
                if p["stochastic_synapse"][j][g]:
                    rho = rng.next() >> 24
                    add[j] += F(s, rho)
                else:
                    add[j] += s
        for j in range(256):
            v = sat(V[j] + add[j], sats)
            lam = int(p["leak"][j])
            if lam != 0 or p["stochastic_leak"][j]:
                omega = (1 - int(p["leak_reversal"][j])) + int(p["leak_reversal"][j]) * sgn(v)
                if p["stochastic_leak"][j]:
                    rho = rng.next() >> 24
                    v += omega * F(lam, rho)
                else:
                    v += omega * lam
                v = sat(v, sats)
            M = (1 << int(p["mask_bits"][j])) - 1
            eta = (rng.next() & M) if M else 0
            alpha, beta = int(p["alpha"][j]), int(p["beta"][j])
            R, gamma, kappa = int(p["reset"][j]), int(p["gamma"][j]), int(p["kappa"][j])
            d = lambda x: 1 if x == 0 else 0  # Kronecker delta
            if v >= alpha + eta:
                spikes[t, j] = 1
                v = d(gamma) * R + d(gamma - 1) * (v - (alpha + eta)) + d(gamma - 2) * v
            elif v < -(beta * kappa + (beta + eta) * (1 - kappa)):
                v = -beta * kappa + (-d(gamma) * R + d(gamma - 1) * (v + (beta + eta))
                                     + d(gamma - 2) * v) * (1 - kappa)
            V[j] = sat(v, sats)
            vrec[t, j] = V[j]
    return spikes, vrec, len(sats)
