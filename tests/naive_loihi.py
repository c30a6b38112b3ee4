"""Slow, obviously correct pure-Python twins of the Loihi backend's numba kernels.

Each function transcribes the arithmetic of ../shared/reference/hardware.md section 2 one
integer at a time (Python ints, no numpy arithmetic), so it can be read against the text.
"""
from __future__ import annotations


def trunc_shift12(x: int) -> int:
    """sign(x) * (|x| >> 12): Lava's truncation toward zero."""
    return -((-x) >> 12) if x < 0 else x >> 12


def naive_lif(a_in, du, dv, vth, bias_mant=0, bias_exp=0, refractory=0):
    """Lists-of-lists twin of ``run_lif`` (scalar or per-neuron parameters)."""
    T = len(a_in)
    n = len(a_in[0]) if T else 0

    def at(p, i):
        return int(p[i]) if hasattr(p, "__len__") else int(p)

    u = [0] * n
    v = [0] * n
    ref = [0] * n
    S, U, V = [], [], []
    for t in range(T):
        srow, urow, vrow = [], [], []
        for i in range(n):
            cu = trunc_shift12(u[i] * (4096 - (at(du, i) + 1))) + (int(a_in[t][i]) << 6)
            if cu > 2 ** 23:
                cu -= 2 ** 24
            elif cu <= -(2 ** 23):
                cu += 2 ** 24
            u[i] = cu
            spike = False
            if ref[i] > 0:
                ref[i] -= 1
                v[i] = 0
            else:
                bias = at(bias_mant, i) << at(bias_exp, i)
                cv = trunc_shift12(v[i] * (4096 - at(dv, i))) + cu + bias
                cv = max(-(2 ** 23) + 1, min(2 ** 23 - 1, cv))
                if cv > (at(vth, i) << 6):
                    spike = True
                    cv = 0
                    ref[i] = at(refractory, i)
                v[i] = cv
            srow.append(spike)
            urow.append(u[i])
            vrow.append(v[i])
        S.append(srow)
        U.append(urow)
        V.append(vrow)
    return S, U, V


def naive_synaptic_input(spikes, w, weight_exp, delays=None):
    """a_in[t][i] = shift(sum of w[i][j] over pre spikes j at t - 1 - d[i][j])."""
    T = len(spikes)
    n_post, n_pre = len(w), len(w[0])
    acc = [[0] * n_post for _ in range(T)]
    for t in range(T):
        for j in range(n_pre):
            if spikes[t][j]:
                for i in range(n_post):
                    ta = t + 1 + (int(delays[i][j]) if delays is not None else 0)
                    if ta < T:
                        acc[ta][i] += int(w[i][j])
    if weight_exp >= 0:
        return [[a << weight_exp for a in row] for row in acc]
    return [[a >> -weight_exp for a in row] for row in acc]   # Python >> floors
