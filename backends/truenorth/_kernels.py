"""numba kernels of the TrueNorth model (private; the validated API is in ``core.py``/``chip.py``).

Arrays of a set of ``C`` cores (see :class:`spikesim.backends.truenorth.core.CoreArrays`):

- ``xbar``   uint64 [C, 256, 4]  crossbar row of axon i, bit j%64 of word j//64 = w_ij;
- ``atype``  int8   [C, 256]     axon type G_i;
- ``wdet``   int32  [C, 4, 256]  s_j^G where b_j^G = 0, else 0 (deterministic part);
- ``wsto``   int32  [C, 4, 256]  s_j^G where b_j^G = 1, else 0 (stochastic part);
- ``smask``  uint64 [C, 4, 4]    packed b_j^G (stochastic-synapse flags);
- ``nzmask`` uint64 [C, 4, 4]    packed (s_j^G != 0) (for counting effective synaptic events);
- ``nparam`` int32  [C, 256, NP] per-neuron parameters, columns ``P_*`` below;
- ``V``      int32  [C, 256]     membrane potentials; ``rng`` uint32 [C] core PRNG states.

Per core and tick the order of work (and of PRNG draws) is fixed: synaptic integration over the
active axons in ascending order (one draw per connected synapse whose type is stochastic,
neurons ascending), then per neuron j ascending: saturate, leak (one draw if c_j), saturate,
threshold (one draw if M_j != 0), fire/reset, saturate.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

# neuron parameter columns
P_LEAK, P_CLEAK, P_EPS, P_ALPHA, P_BETA, P_MASK, P_RESET, P_GAMMA, P_KAPPA = range(9)
P_TCORE, P_TAXON, P_DELAY = 9, 10, 11
NP = 12

# per-core counter columns
C_SYNOPS, C_AXON_EVENTS, C_SAT, C_SPIKES, C_ROUTED, C_HOPS, C_NEG, C_DENSE = range(8)
NC = 8

V_MIN = -(2 ** 19)
V_MAX = 2 ** 19 - 1


@njit(cache=True, inline="always")
def _xorshift32(s):
    """Marsaglia's xorshift32 (13, 17, 5); returns the new state (also the output)."""
    s ^= (s << np.uint32(13)) & np.uint32(0xFFFFFFFF)
    s ^= s >> np.uint32(17)
    s ^= (s << np.uint32(5)) & np.uint32(0xFFFFFFFF)
    return s


@njit(cache=True)
def _popcount64(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def _sat(v, cnt, c):
    if v > V_MAX:
        cnt[c, C_SAT] += 1
        return V_MAX
    if v < V_MIN:
        cnt[c, C_SAT] += 1
        return V_MIN
    return v


@njit(cache=True)
def _core_tick(c, act, V, xbar, atype, wdet, wsto, smask, nzmask, has_sto, nparam, rng, acc,
               fired, cnt):
    """One tick of core ``c``: integrate the active axons ``act`` (uint8 [256]), leak,
    threshold, fire, reset. Writes ``fired`` (uint8 [256]); updates V, rng, cnt."""
    s = np.uint32(rng[c])
    for j in range(256):
        acc[c, j] = 0
    for i in range(256):
        if act[i] == 0:
            continue
        g = atype[c, i]
        cnt[c, C_AXON_EVENTS] += 1
        for wd in range(4):
            word = xbar[c, i, wd]
            if word == 0:
                continue
            cnt[c, C_SYNOPS] += _popcount64(word & nzmask[c, g, wd])
            base = wd * 64
            for b in range(64):
                bit = np.int32((word >> np.uint64(b)) & np.uint64(1))
                acc[c, base + b] += bit * wdet[c, g, base + b]
            if has_sto[c]:
                sw = word & smask[c, g, wd]
                if sw != 0:
                    for b in range(64):
                        if (sw >> np.uint64(b)) & np.uint64(1):
                            s = _xorshift32(s)
                            rho = np.int32(s >> np.uint32(24))
                            wv = wsto[c, g, base + b]
                            if wv > 0 and wv >= rho:
                                acc[c, base + b] += 1
                            elif wv < 0 and -wv >= rho:
                                acc[c, base + b] -= 1
    for j in range(256):
        p = nparam[c, j]
        v = _sat(np.int64(V[c, j]) + acc[c, j], cnt, c)
        # leak with leak reversal: Omega = (1 - eps) + eps * sgn(V)
        lam = p[P_LEAK]
        cl = p[P_CLEAK]
        if lam != 0 or cl != 0:
            if p[P_EPS] != 0:
                om = 1 if v > 0 else (-1 if v < 0 else 0)
            else:
                om = 1
            if cl != 0:
                s = _xorshift32(s)
                rho = np.int32(s >> np.uint32(24))
                if lam > 0 and lam >= rho:
                    v += om
                elif lam < 0 and -lam >= rho:
                    v -= om
            else:
                v += om * lam
            v = _sat(v, cnt, c)
        # threshold with masked random part eta = rho & M
        eta = 0
        m = p[P_MASK]
        if m != 0:
            s = _xorshift32(s)
            eta = np.int64(s & np.uint32(m))
        alpha = p[P_ALPHA]
        beta = p[P_BETA]
        kappa = p[P_KAPPA]
        gamma = p[P_GAMMA]
        if v >= alpha + eta:
            fired[j] = 1
            cnt[c, C_SPIKES] += 1
            if gamma == 0:
                v = p[P_RESET]
            elif gamma == 1:
                v = v - (alpha + eta)
        else:
            fired[j] = 0
            if kappa != 0:
                lim = beta
            else:
                lim = beta + eta
            if v < -lim:
                cnt[c, C_NEG] += 1
                if kappa != 0:
                    v = -beta
                elif gamma == 0:
                    v = -p[P_RESET]
                elif gamma == 1:
                    v = v + (beta + eta)
        V[c, j] = _sat(v, cnt, c)
    rng[c] = s


@njit(cache=True)
def _run_core(T, inputs, V, xbar, atype, wdet, wsto, smask, nzmask, has_sto, nparam, rng,
              spikes, vrec, cnt):
    """Run core 0 for T ticks on ``inputs`` (uint8 [T, 256]); record spikes and V."""
    acc = np.zeros((1, 256), dtype=np.int32)
    fired = np.zeros(256, dtype=np.uint8)
    for t in range(T):
        _core_tick(0, inputs[t], V, xbar, atype, wdet, wsto, smask, nzmask, has_sto, nparam,
                   rng, acc, fired, cnt)
        for j in range(256):
            spikes[t, j] = fired[j]
            vrec[t, j] = V[0, j]


@njit(cache=True)
def _route(c, t, fired, nparam, buf, core_x, core_y, rec_index, rec, out_count, cnt):
    for j in range(256):
        if fired[j] == 0:
            continue
        r = rec_index[c, j]
        if r >= 0:
            if rec.shape[0] > 0:
                rec[t, r] = 1
            out_count[r] += 1
        tc = nparam[c, j, P_TCORE]
        if tc >= 0:
            d = nparam[c, j, P_DELAY]
            buf[(t + d) % 16, tc, nparam[c, j, P_TAXON]] = 1
            cnt[c, C_ROUTED] += 1
            cnt[c, C_HOPS] += abs(core_x[tc] - core_x[c]) + abs(core_y[tc] - core_y[c])


@njit(cache=True)
def _inject(t, tl, inp, in_ptr, in_core, in_axon, buf, in_cnt):
    slot = t % 16
    for k in range(inp.shape[1]):
        if inp[tl, k] != 0:
            in_cnt[0] += 1
            for q in range(in_ptr[k], in_ptr[k + 1]):
                buf[slot, in_core[q], in_axon[q]] = 1
                in_cnt[1] += 1


@njit(cache=True)
def _chip_serial(t0, T, inp, in_ptr, in_core, in_axon, buf, V, xbar, atype, wdet, wsto, smask,
                 nzmask, has_sto, nparam, rng, acc, firedbuf, core_x, core_y, rec_index, rec,
                 out_count, cnt, in_cnt):
    """Ticks t0..t0+T-1 of all cores, one thread. ``inp`` uint8 [T, n_in] (may have 0 columns);
    ``rec`` uint8 [T, n_rec] (or [0, n_rec] to only count into ``out_count``)."""
    C = V.shape[0]
    for tl in range(T):
        t = t0 + tl
        slot = t % 16
        _inject(t, tl, inp, in_ptr, in_core, in_axon, buf, in_cnt)
        for c in range(C):
            _core_tick(c, buf[slot, c], V, xbar, atype, wdet, wsto, smask, nzmask, has_sto,
                       nparam, rng, acc, firedbuf[c], cnt)
            for i in range(256):
                buf[slot, c, i] = 0
            _route(c, tl, firedbuf[c], nparam, buf, core_x, core_y, rec_index, rec, out_count, cnt)


@njit(cache=True, parallel=True)
def _chip_parallel(t0, T, inp, in_ptr, in_core, in_axon, buf, V, xbar, atype, wdet, wsto, smask,
                   nzmask, has_sto, nparam, rng, acc, firedbuf, core_x, core_y, rec_index, rec,
                   out_count, cnt, in_cnt):
    """Same as :func:`_chip_serial`, cores in parallel (numba threads). Each core's state,
    PRNG and counters are touched by one thread; spike delivery writes the value 1 into a
    future delay slot (never the slot being read), so results equal the serial kernel's."""
    C = V.shape[0]
    for tl in range(T):
        t = t0 + tl
        slot = t % 16
        _inject(t, tl, inp, in_ptr, in_core, in_axon, buf, in_cnt)
        for c in prange(C):
            _core_tick(c, buf[slot, c], V, xbar, atype, wdet, wsto, smask, nzmask, has_sto,
                       nparam, rng, acc, firedbuf[c], cnt)
            for i in range(256):
                buf[slot, c, i] = 0
            _route(c, tl, firedbuf[c], nparam, buf, core_x, core_y, rec_index, rec, out_count, cnt)
