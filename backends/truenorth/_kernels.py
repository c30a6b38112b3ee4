"""numba kernels of the TrueNorth model (private; the validated API is in ``core.py``/``chip.py``).

Arrays of a set of ``C`` cores (see :class:`spikesim.backends.truenorth.core.CoreArrays`):

- ``xbar``   uint64 [C, 256, 4]  crossbar row of axon i, bit j%64 of word j//64 = w_ij;
- ``atype``  int8   [C, 256]     axon type G_i;
- ``wdet``   int16  [Kw, 4, 256] s_j^G where b_j^G = 0, else 0 (deterministic part);
- ``wsto``   int16  [Kw, 4, 256] s_j^G where b_j^G = 1, else 0 (stochastic part);
- ``widx``   int32  [C]          row of ``wdet``/``wsto`` of each core (identical weight
  tables are stored once, so they stay in cache);
- ``smask``  uint64 [C, 4, 4]    packed b_j^G (stochastic-synapse flags);
- ``nzmask`` uint64 [C, 4, 4]    packed (s_j^G != 0) (for counting effective synaptic events);
- ``ptab``   int32  [K, NP]      distinct neuron parameter sets, columns ``P_*`` below;
- ``pidx``   int32  [C, 256]     row of ``ptab`` of each neuron (deduplicated: the per-tick
  neuron loop then streams 8 bytes per neuron instead of the whole parameter set);
- ``route``  int32  [C, 256, 3]  target core (-1: none), target axon, delay;
- ``ucore``  int32  [C]          the ``ptab`` row shared by all 256 neurons of the core, or -1
  (uniform cores take a branch-free, vectorised neuron loop; the result is identical);
- ``V``      int32  [C, 256]     membrane potentials; ``rkey`` uint32 [C] core PRNG keys.

Random numbers are counter based (Salmon et al., SC 2011, "Parallel random numbers: as easy
as 1, 2, 3"): every draw is the MurmurHash3 32-bit finaliser ``fmix32`` (Appleby) of a counter
that names it, so draws do not depend on the order of work (cores and neurons can run in any
order, in parallel and vectorised) and a run is reproducible from its seed::

    base(c, t)        = fmix32(key_c ^ fmix32((t + 1) * 0x9E3779B9))
    synapse (i, j)    = fmix32(base ^ (i << 8 | j))            rho = draw >> 24 (8 bits)
    leak j            = fmix32(base ^ (0x10000 | j))           rho = draw >> 24
    threshold j       = fmix32(base ^ (0x20000 | j))           eta = draw & M_j

with ``key_c`` from splitmix64(seed, c) and t the tick counter of the run. Per tick the order
of work is: synaptic integration (exact sum), saturate, leak, saturate, threshold, fire/reset,
saturate.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import get_thread_id, njit, prange, types
from numba.core.extending import intrinsic

# columns of the neuron parameter table ptab [K, NP] (neurons index it through pidx [C, 256])
P_LEAK, P_CLEAK, P_EPS, P_ALPHA, P_BETA, P_MASK, P_RESET, P_GAMMA, P_KAPPA = range(9)
NP = 9
# columns of route [C, 256, 3]
R_CORE, R_AXON, R_DELAY = 0, 1, 2

# per-core counter columns
C_SYNOPS, C_AXON_EVENTS, C_SAT, C_SPIKES, C_ROUTED, C_HOPS, C_NEG, C_DENSE = range(8)
NC = 8

V_MIN = -(2 ** 19)
V_MAX = 2 ** 19 - 1


_M32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _fmix32(h):
    """MurmurHash3's 32-bit finaliser on a uint64 holding a 32-bit value."""
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _M32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _M32
    h ^= h >> np.uint64(16)
    return h


@njit(cache=True, inline="always")
def _tick_base(key, rt):
    return _fmix32(np.uint64(key) ^ _fmix32((np.uint64(rt + 1) * np.uint64(0x9E3779B9)) & _M32))


@intrinsic
def _popcount64(typingctx, x):
    """Number of set bits of a uint64 (LLVM ctpop)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(fn, [args[0]])

    return types.uint64(types.uint64), codegen


@intrinsic
def _bitindex(typingctx, x):
    """Index of the lowest set bit of a nonzero uint64 (LLVM cttz)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.cttz", [ir.IntType(64), ir.IntType(1)])
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 1)])

    return types.uint64(types.uint64), codegen


@njit(cache=True)
def _core_tick(c, act, act64, V, xbar, atype, wdet, wsto, widx, smask, nzmask, has_sto, pidx,
               ptab, ucore, rkey, rt, a, fl, fired, cnt):
    """One tick of core ``c`` at random-tick ``rt``: integrate the active axons ``act`` (uint8
    [256], the same memory as ``act64`` uint64 [32]; zero words are skipped and the flags are
    cleared), leak, threshold, fire, reset. ``a`` (int32 [256], zero on entry and exit) and
    ``fl`` (uint8 [256]) are scratch. Writes the indices of the neurons that fired into
    ``fired`` and returns how many; updates V and cnt."""
    base = _tick_base(rkey[c], rt)
    n_ax = 0
    n_syn = 0
    for i in range(256):
        if (i & 7) == 0 and act64[i >> 3] == 0:
            continue
        if act[i] == 0:
            continue
        act[i] = 0
        g = atype[c, i]
        n_ax += 1
        wrow = wdet[widx[c], g]
        srow = wsto[widx[c], g]
        for wd in range(4):
            word = xbar[c, i, wd]
            if word == 0:
                continue
            n_syn += np.int64(_popcount64(word & nzmask[c, g, wd]))
            o = wd * 64
            for b in range(64):  # deterministic part (vectorises)
                a[o + b] += np.int32((word >> np.uint64(b)) & np.uint64(1)) * wrow[o + b]
            if has_sto[c]:
                sw = word & smask[c, g, wd]
                if sw != 0:
                    hi = base ^ np.uint64(i << 8)
                    for b in range(64):  # stochastic part: F(s, rho), branch free
                        bit = np.int32((sw >> np.uint64(b)) & np.uint64(1))
                        rho = np.int32(_fmix32(hi ^ np.uint64(o + b)) >> np.uint64(24))
                        wv = np.int32(srow[o + b])
                        sg = np.int32(wv > 0) - np.int32(wv < 0)
                        a[o + b] += bit * sg * np.int32(abs(wv) >= rho)
    n_sat = 0
    n_neg = 0
    nf = 0
    Vc = V[c]
    k = ucore[c]
    if k >= 0:
        # uniform core: one parameter set, branch-free lanes
        lam = np.int32(ptab[k, P_LEAK])
        cl = ptab[k, P_CLEAK]
        eps = np.int32(ptab[k, P_EPS])
        msk = np.uint64(ptab[k, P_MASK])
        alpha = np.int32(ptab[k, P_ALPHA])
        beta = np.int32(ptab[k, P_BETA])
        kap = np.int32(ptab[k, P_KAPPA])
        gam = ptab[k, P_GAMMA]
        rst = np.int32(ptab[k, P_RESET])
        g0 = np.int32(gam == 0)
        g1 = np.int32(gam == 1)
        g2 = np.int32(gam == 2)
        lsg = np.int32(lam > 0) - np.int32(lam < 0)
        labs = abs(lam)
        stoch = cl != 0 or msk != 0
        if not stoch and eps == 0:
            # deterministic leak and threshold, no leak reversal: the same equations with
            # eta = 0 and Omega = 1, in 32-bit lanes (twice the SIMD width)
            vmax = np.int32(V_MAX)
            vmin = np.int32(V_MIN)
            nb = np.int32(-beta)
            for j in range(256):
                v = np.int32(Vc[j] + a[j])
                a[j] = 0
                n_sat += np.int32(v > vmax) + np.int32(v < vmin)
                v = np.int32(min(max(v, vmin), vmax))
                v = np.int32(v + lam)
                n_sat += np.int32(v > vmax) + np.int32(v < vmin)
                v = np.int32(min(max(v, vmin), vmax))
                f = v >= alpha
                ng = (not f) and (v < nb)
                if gam == 0:
                    vr = rst
                elif gam == 1:
                    vr = np.int32(v - alpha)
                else:
                    vr = v
                if kap != 0:
                    vn = nb
                elif gam == 0:
                    vn = np.int32(-rst)
                elif gam == 1:
                    vn = np.int32(v + beta)
                else:
                    vn = v
                v = vr if f else (vn if ng else v)
                n_sat += np.int32(v > vmax) + np.int32(v < vmin)
                v = np.int32(min(max(v, vmin), vmax))
                Vc[j] = v
                fl[j] = np.int32(f)
                nf += np.int32(f)
                n_neg += np.int32(ng)
        else:
            for j in range(256):
                v = Vc[j] + a[j]
                a[j] = 0
                n_sat += np.int32(v > V_MAX) + np.int32(v < V_MIN)
                v = min(max(v, V_MIN), V_MAX)
                sgv = np.int32(v > 0) - np.int32(v < 0)
                om = 1 - eps + eps * sgv
                eta = np.int32(0)
                if stoch:
                    if cl != 0:
                        rho = np.int32(_fmix32(base ^ np.uint64(0x10000 | j)) >> np.uint64(24))
                        step = lsg * np.int32(labs >= rho)
                    else:
                        step = lam
                    if msk != 0:
                        eta = np.int32(_fmix32(base ^ np.uint64(0x20000 | j)) & msk)
                else:
                    step = lam
                v = v + om * step
                n_sat += np.int32(v > V_MAX) + np.int32(v < V_MIN)
                v = min(max(v, V_MIN), V_MAX)
                th = alpha + eta
                f = np.int32(v >= th)
                vr = g0 * rst + g1 * (v - th) + g2 * v
                lim = kap * beta + (1 - kap) * (beta + eta)
                ng = (1 - f) * np.int32(v < -lim)
                vn = -beta * kap + (1 - kap) * (-g0 * rst + g1 * (v + beta + eta) + g2 * v)
                v = f * vr + ng * vn + (1 - f - ng) * v
                n_sat += np.int32(v > V_MAX) + np.int32(v < V_MIN)
                v = min(max(v, V_MIN), V_MAX)
                Vc[j] = v
                fl[j] = f
                nf += f
                n_neg += ng
        if nf > 0:
            q = 0
            for j in range(256):  # branch-free compaction of the fired flags
                fired[q] = j
                q += fl[j]
    else:
        pc = pidx[c]
        for j in range(256):
            kk = pc[j]
            v = np.int64(Vc[j]) + a[j]
            a[j] = 0
            if v > V_MAX:
                v = V_MAX
                n_sat += 1
            elif v < V_MIN:
                v = V_MIN
                n_sat += 1
            lam = ptab[kk, P_LEAK]
            cl = ptab[kk, P_CLEAK]
            if lam != 0 or cl != 0:
                # leak with leak reversal: Omega = (1 - eps) + eps * sgn(V)
                if ptab[kk, P_EPS] != 0:
                    om = 1 if v > 0 else (-1 if v < 0 else 0)
                else:
                    om = 1
                if cl != 0:
                    rho = np.int64(_fmix32(base ^ np.uint64(0x10000 | j)) >> np.uint64(24))
                    if abs(lam) >= rho:
                        v += om * (1 if lam > 0 else (-1 if lam < 0 else 0))
                else:
                    v += om * lam
                if v > V_MAX:
                    v = V_MAX
                    n_sat += 1
                elif v < V_MIN:
                    v = V_MIN
                    n_sat += 1
            eta = 0
            m = ptab[kk, P_MASK]
            if m != 0:
                eta = np.int64(_fmix32(base ^ np.uint64(0x20000 | j)) & np.uint64(m))
            alpha = ptab[kk, P_ALPHA]
            gamma = ptab[kk, P_GAMMA]
            if v >= alpha + eta:
                fired[nf] = j
                nf += 1
                if gamma == 0:
                    v = ptab[kk, P_RESET]
                elif gamma == 1:
                    v = v - (alpha + eta)
            else:
                beta = ptab[kk, P_BETA]
                kappa = ptab[kk, P_KAPPA]
                lim = beta if kappa != 0 else beta + eta
                if v < -lim:
                    n_neg += 1
                    if kappa != 0:
                        v = -beta
                    elif gamma == 0:
                        v = -ptab[kk, P_RESET]
                    elif gamma == 1:
                        v = v + (beta + eta)
            if v > V_MAX:
                v = V_MAX
                n_sat += 1
            elif v < V_MIN:
                v = V_MIN
                n_sat += 1
            Vc[j] = v
    cnt[c, C_AXON_EVENTS] += n_ax
    cnt[c, C_SYNOPS] += n_syn
    cnt[c, C_SAT] += n_sat
    cnt[c, C_NEG] += n_neg
    cnt[c, C_SPIKES] += nf
    return nf


@njit(cache=True)
def _run_core(T, inputs, V, xbar, atype, wdet, wsto, widx, smask, nzmask, has_sto, pidx, ptab,
              ucore, rkey, spikes, vrec, cnt):
    """Run core 0 for T ticks on ``inputs`` (uint8 [T, 256], consumed: cleared while read);
    record spikes and V."""
    acc = np.zeros(256, dtype=np.int32)
    fl = np.zeros(256, dtype=np.int32)
    fired = np.zeros(256, dtype=np.int32)
    in64 = inputs.view(np.uint64)
    for t in range(T):
        nf = _core_tick(0, inputs[t], in64[t], V, xbar, atype, wdet, wsto, widx, smask, nzmask,
                        has_sto, pidx, ptab, ucore, rkey, t, acc, fl, fired, cnt)
        for q in range(nf):
            spikes[t, fired[q]] = 1
        for j in range(256):
            vrec[t, j] = V[0, j]


@njit(cache=True)
def _route(c, t, tl, nf, fired, route, buf8, core_x, core_y, rec_index, rec, out_count, cnt):
    n_r = 0
    n_h = 0
    recording = rec.shape[1] > 0
    for q in range(nf):
        j = fired[q]
        if recording:
            r = rec_index[c, j]
            if r >= 0:
                if rec.shape[0] > 0:
                    rec[tl, r] = 1
                out_count[r] += 1
        tc = route[c, j, R_CORE]
        if tc >= 0:
            buf8[(t + route[c, j, R_DELAY]) % 16, tc, route[c, j, R_AXON]] = 1
            n_r += 1
            n_h += abs(core_x[tc] - core_x[c]) + abs(core_y[tc] - core_y[c])
    cnt[c, C_ROUTED] += n_r
    cnt[c, C_HOPS] += n_h


@njit(cache=True)
def _inject(t, tl, inp, in_ptr, in_core, in_axon, buf8, in_cnt):
    slot = t % 16
    for k in range(inp.shape[1]):
        if inp[tl, k] != 0:
            in_cnt[0] += 1
            for q in range(in_ptr[k], in_ptr[k + 1]):
                buf8[slot, in_core[q], in_axon[q]] = 1
                in_cnt[1] += 1


@njit(cache=True)
def _chip_serial(t0, T, inp, in_ptr, in_core, in_axon, buf8, buf64, V, xbar, atype, wdet, wsto,
                 widx, smask, nzmask, has_sto, pidx, ptab, ucore, route, rkey, rt0, acc, flbuf,
                 firedbuf, core_x, core_y, rec_index, rec, out_count, cnt, in_cnt):
    """Ticks t0..t0+T-1 of all cores, one thread. ``inp`` uint8 [T, n_in] (may have 0 columns);
    ``rec`` uint8 [T, n_rec] (or [0, n_rec] to only count into ``out_count``). ``buf8`` uint8
    [16, C, 256] is the delay buffer, ``buf64`` the same memory viewed as uint64 [16, C, 32];
    ``acc``/``flbuf``/``firedbuf`` are per-thread scratch rows [threads, 256]; ``rt0`` is the
    random-tick counter of the first tick (it keeps counting across samples)."""
    C = V.shape[0]
    for tl in range(T):
        t = t0 + tl
        slot = t % 16
        _inject(t, tl, inp, in_ptr, in_core, in_axon, buf8, in_cnt)
        for c in range(C):
            nf = _core_tick(c, buf8[slot, c], buf64[slot, c], V, xbar, atype, wdet, wsto, widx,
                            smask, nzmask, has_sto, pidx, ptab, ucore, rkey, rt0 + tl, acc[0], flbuf[0],
                            firedbuf[0], cnt)
            if nf > 0:
                _route(c, t, tl, nf, firedbuf[0], route, buf8, core_x, core_y, rec_index, rec,
                       out_count, cnt)


@njit(cache=True, parallel=True)
def _chip_parallel(t0, T, inp, in_ptr, in_core, in_axon, buf8, buf64, V, xbar, atype, wdet, wsto,
                   widx, smask, nzmask, has_sto, pidx, ptab, ucore, route, rkey, rt0, acc, flbuf,
                   firedbuf, core_x, core_y, rec_index, rec, out_count, cnt, in_cnt):
    """Same as :func:`_chip_serial`, cores in parallel (numba threads). Each core's state,
    counters are touched by one thread, random numbers are counter based; spike delivery writes the value 1 into a
    future delay slot (never the slot being read, delays are 1..15), so results equal the
    serial kernel's."""
    C = V.shape[0]
    for tl in range(T):
        t = t0 + tl
        slot = t % 16
        _inject(t, tl, inp, in_ptr, in_core, in_axon, buf8, in_cnt)
        for c in prange(C):
            tid = get_thread_id()
            nf = _core_tick(c, buf8[slot, c], buf64[slot, c], V, xbar, atype, wdet, wsto, widx,
                            smask, nzmask, has_sto, pidx, ptab, ucore, rkey, rt0 + tl, acc[tid],
                            flbuf[tid], firedbuf[tid], cnt)
            if nf > 0:
                _route(c, t, tl, nf, firedbuf[tid], route, buf8, core_x, core_y, rec_index, rec,
                       out_count, cnt)
