"""Slow, obviously correct twin of the event engine's kernel (``spikesim.kernels.event``).

Pure Python on the engine's flattened arrays (one batch entry). Between consecutive events
every neuron's trajectory is evaluated in closed form on a fine time grid (``h`` seconds)
and the first grid interval where ``v >= v_threshold`` is refined by bisection; so it needs
no bound or root isolation, only sampling that is fine enough for the test networks.
Events at identical times follow the documented order: deliveries FIFO, then inputs by
channel, then threshold crossings by neuron index. AdaptiveLIF neurons (kind 3) are kept in
their natural variables: ``v`` and the adaptation ``a`` (in ``cur[j, 0]``), with the
threshold ``v_th + a(t)`` (the engine holds ``u = v - a`` instead).
"""
from __future__ import annotations

import heapq

import numpy as np


def _traj(eng, j, v, cur, tl, tref, t):
    """Membrane of neuron j at times t (array, all >= tl), from state (v, cur) at tl."""
    t = np.asarray(t, dtype=np.float64)
    start = max(tl, tref)
    vs = eng.vreset[j] if tl < tref else v
    cs = [cur[k] * np.exp(-(start - tl) / eng.tsyn[k, j]) for k in range(eng.nports[j])]
    dt = np.maximum(t - start, 0.0)
    kind = eng.kind[j]
    if kind in (0, 3):
        out = eng.vinf[j] + (vs - eng.vinf[j]) * np.exp(-dt / eng.tau[j])
    elif kind == 1:
        out = vs + eng.slope[j] * dt
    else:
        em = np.exp(-dt / eng.tau[j])
        out = eng.vinf[j] + (vs - eng.vinf[j]) * em
        for k in range(eng.nports[j]):
            out = out + eng.qk[k, j] * cs[k] * (np.exp(-dt / eng.tsyn[k, j]) - em)
    return np.where(t <= tref, eng.vreset[j], out)


def _cur_at(eng, j, cur, tl, t):
    return [cur[k] * np.exp(-(t - tl) / eng.tsyn[k, j]) for k in range(eng.nports[j])]


def _threshold(eng, j, cur, tl, t):
    """Threshold of neuron j at times t (AdaptiveLIF: v_th + a(t))."""
    if eng.kind[j] != 3:
        return eng.vth[j]
    return eng.vth[j] + cur[0] * np.exp(-(np.asarray(t, dtype=np.float64) - tl) / eng.tsyn[0, j])


def naive_run(eng, t_end: float, in_t, in_i, h: float = 1e-6):
    """Simulate ``eng``'s network (fresh state, batch entry 0) for ``[0, t_end)`` with input
    spikes ``(in_t, in_i)`` (global channel indices). Returns ``(times, neurons)`` of all
    spikes in processing order."""
    N = eng.N
    v = eng.v0.copy()
    cur = np.zeros((N, eng.P))
    alif = eng.kind == 3
    if alif.any():
        cur[alif, 0] = eng.a0[alif]
    tl = np.zeros(N)
    tref = np.zeros(N)
    arrivals = []  # (t, seq, pre, synapse)
    seq = 0
    order = np.lexsort((in_i, in_t))
    inputs = [(float(in_t[k]), int(in_i[k])) for k in order]
    ip = 0
    out_t, out_i = [], []
    t = 0.0

    def advance(j, tt):
        if tt <= tl[j]:
            return
        v[j] = float(_traj(eng, j, v[j], cur[j], tl[j], tref[j], [tt])[0])
        cur[j, :eng.nports[j]] = _cur_at(eng, j, cur[j], tl[j], tt)
        tl[j] = tt

    def fire(j, tt):
        nonlocal seq
        out_t.append(tt)
        out_i.append(j)
        for s in range(eng.indptr[j], eng.indptr[j + 1]):
            heapq.heappush(arrivals, (tt + eng.sdly[s], seq, j, s))
            seq += 1
        if eng.rmode[j] == 0:
            v[j] = eng.vreset[j]
        else:
            v[j] -= _threshold(eng, j, cur[j], tl[j], tt) - eng.vreset[j]
        if eng.kind[j] == 3:
            cur[j, 0] += eng.adelta[j]
        if eng.refr[j] > 0:
            v[j] = eng.vreset[j]
            tref[j] = tt + eng.refr[j]

    def first_crossing(t0, t1):
        """Earliest (time, neuron) with v >= v_th in [t0, t1) (grid + bisection)."""
        best = (np.inf, -1)
        for j in range(N):
            if not np.isfinite(eng.vth[j]):
                continue
            lo = max(t0, tref[j])
            if lo >= t1:
                continue
            grid = np.append(np.arange(lo, t1, h), t1)
            vv = _traj(eng, j, v[j], cur[j], tl[j], tref[j], grid)
            hit = np.flatnonzero(vv >= _threshold(eng, j, cur[j], tl[j], grid))
            if not hit.size:
                continue
            k = hit[0]
            if k == 0:
                tc = grid[0]
            else:
                a, b = grid[k - 1], grid[k]
                for _ in range(80):
                    m = 0.5 * (a + b)
                    if (_traj(eng, j, v[j], cur[j], tl[j], tref[j], [m])[0]
                            >= _threshold(eng, j, cur[j], tl[j], m)):
                        b = m
                    else:
                        a = m
                tc = b
            if tc < best[0] or (tc == best[0] and j < best[1]):
                best = (tc, j)
        return best

    while True:
        ta = arrivals[0][0] if arrivals else np.inf
        ti = inputs[ip][0] if ip < len(inputs) else np.inf
        te = min(ta, ti, t_end)
        tc, jc = first_crossing(t, te)
        if jc >= 0 and tc < te:
            advance(jc, tc)
            fire(jc, tc)
            t = tc
            continue
        if te >= t_end:
            break
        t = te
        if ta <= ti:
            _, _, pre, s = heapq.heappop(arrivals)
            j = int(eng.sidx[s])
            advance(j, t)
            w = eng.sw[s]
            refractory = t < tref[j]
            if eng.kind[j] == 2:
                cur[j, eng.sport[s]] += w
            elif not refractory:
                v[j] += eng.rr[j] * w
            if not refractory and v[j] >= _threshold(eng, j, cur[j], tl[j], t):
                fire(j, t)
        else:
            _, pre = inputs[ip]
            ip += 1
            for s in range(eng.indptr[pre], eng.indptr[pre + 1]):
                heapq.heappush(arrivals, (t + eng.sdly[s], seq, pre, s))
                seq += 1
    return np.array(out_t), np.array(out_i, dtype=np.int64)
