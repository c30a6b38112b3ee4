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


# ------------------------------------------------------------------ learning engine --------
M64 = (1 << 64) - 1


def _mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def rand_bits(seed, t, stream, idx, bits):
    z = _mix((seed + t * 0x9E3779B97F4A7C15) & M64)
    z = _mix(z ^ ((stream * 0xD1B54A32D192ED03 + idx) & M64))
    return z >> (64 - bits)


def naive_learning(products, pre, post, reward, w, d, tg, decays, imps, t_epoch, decimate,
                   w_lo, w_hi, w_step, seed):
    """Pure-Python twin of the learning kernel.

    products: list of (target 'w'|'d'|'t', dependency 'x0'|'y0'|'u', mant, exp,
    [(var, const, sgn), ...]). Traces per step: decay (stochastic, 12 bits), impulse
    (8 fractional bits), reward into r1; at epoch ends every product runs on traces as
    they were at the dependency's last spike (u: at the epoch end).
    """
    T, n_pre, n_post = len(pre), len(pre[0]), len(post[0])
    frac = {"w": 7, "d": 9, "t": 7}
    width = {"x0": 1, "y0": 1, "x1": 7, "x2": 7, "y1": 7, "y2": 7, "y3": 7, "w": 9, "d": 7,
             "t": 9, "r0": 1, "r1": 8, "C": 8}
    rng_lo = {"w": w_lo, "d": 0, "t": -256}
    rng_hi = {"w": w_hi, "d": 63, "t": 255}
    step = {"w": w_step, "d": 1, "t": 1}
    x = [[0] * n_pre for _ in range(2)]
    y = [[0] * n_post for _ in range(3)]
    r1 = [0] * n_post
    w = [list(map(int, r)) for r in w]
    d = [list(map(int, r)) for r in d]
    tg = [list(map(int, r)) for r in tg]

    def decay(z, dz, t, idx):
        if dz == 0 or z == 0:
            return z
        a = abs(z) * (4096 - dz)
        q = a // 4096 + (1 if rand_bits(seed, t, 0, idx, 12) < a % 4096 else 0)
        return q if z > 0 else -q

    def impulse(z, imp, t, idx):
        z += imp // 256 + (1 if rand_bits(seed, t, 1, idx, 8) < imp % 256 else 0)
        return min(z, 127)

    hist = [None] * t_epoch
    x0, y0, r0 = [0] * n_pre, [0] * n_post, [0] * n_post
    tx, ty = [0] * n_pre, [0] * n_post
    updates = 0
    for t in range(T):
        k = t % t_epoch
        for j in range(n_pre):
            for c in range(2):
                idx = c * n_pre + j
                z = decay(x[c][j], decays[c], t, idx)
                if pre[t][j]:
                    z = impulse(z, imps[c], t, idx)
                x[c][j] = z
            if pre[t][j]:
                x0[j], tx[j] = 1, k
        for i in range(n_post):
            for c in range(3):
                idx = 2 * n_pre + c * n_post + i
                z = decay(y[c][i], decays[2 + c], t, idx)
                if post[t][i]:
                    z = impulse(z, imps[2 + c], t, idx)
                y[c][i] = z
            z = decay(r1[i], decays[5], t, 2 * n_pre + 3 * n_post + i) + int(reward[t][i])
            r1[i] = max(-128, min(127, z))
            if reward[t][i]:
                r0[i] = 1
            if post[t][i]:
                y0[i], ty[i] = 1, k
        hist[k] = ([r[:] for r in x], [r[:] for r in y], r1[:])
        if k != t_epoch - 1:
            continue
        u_on = (t // t_epoch) % (2 ** decimate) == 0
        for i in range(n_post):
            for j in range(n_pre):
                old = {"w": w[i][j], "d": d[i][j], "t": tg[i][j]}
                acc = {z: old[z] * 2 ** frac[z] for z in old}
                active = False
                for (z, dep, mant, exp, factors) in products:
                    if dep == "x0":
                        if not x0[j]:
                            continue
                        hx, hy, hr = hist[tx[j]]
                    elif dep == "y0":
                        if not y0[i]:
                            continue
                        hx, hy, hr = hist[ty[i]]
                    else:
                        if not u_on:
                            continue
                        hx, hy, hr = hist[k]
                    active = True
                    vals = {"x0": x0[j], "y0": y0[i], "x1": hx[0][j], "x2": hx[1][j],
                            "y1": hy[0][i], "y2": hy[1][i], "y3": hy[2][i], "w": old["w"],
                            "d": old["d"], "t": old["t"], "r0": r0[i], "r1": hr[i], "C": 0}
                    term = mant
                    for (var, const, sgn) in factors:
                        v = vals[var] + const
                        v = max(-(2 ** width[var]), min(2 ** width[var] - 1, v))
                        if sgn:
                            v = (v > 0) - (v < 0)
                        term *= v
                    sh = exp + frac[z]
                    term = term * 2 ** sh if sh >= 0 else term // 2 ** (-sh)
                    term = max(-32768, min(32767, term))
                    acc[z] = max(-32768, min(32767, acc[z] + term))
                if not active:
                    continue
                updates += 1
                for z in {p[0] for p in products}:
                    unit = step[z] * 2 ** frac[z]
                    q = acc[z] // unit
                    s = unit.bit_length() - 1
                    if rand_bits(seed, t, 2 + "wdt".index(z), i * n_pre + j, s) < acc[z] % unit:
                        q += 1
                    q = max(rng_lo[z], min(rng_hi[z], q * step[z]))
                    {"w": w, "d": d, "t": tg}[z][i][j] = q
        x0, y0, r0 = [0] * n_pre, [0] * n_post, [0] * n_post
    return w, d, tg, x, y, r1, updates
