"""numba kernels of the TrueNorth model (private; the validated API is in ``core.py``/``chip.py``).

Arrays of a set of ``C`` cores (see :class:`spikesim.backends.truenorth.core.CoreArrays`;
:meth:`~spikesim.backends.truenorth.core.CoreArrays.kernel_args` derives the tick kernel's
tables from them once per run):

- ``xbar``   uint64 [C, 256, 4]  crossbar row of axon i, bit j%64 of word j//64 = w_ij;
  ``xb32`` is the same memory as uint32 [C, 256, 8] (bit j%32 of word j//32);
- ``atype``  int8   [C, 256]     axon type G_i;
- ``wdet``   int32  [Kw, 4, 256] s_j^G where b_j^G = 0, else 0 (deterministic part);
- ``sabs``, ``ssgn`` int32 [Kw, 4, 256]  |s_j^G| and sgn(s_j^G) where b_j^G = 1, else 0
  (stochastic part, F(s, rho) = ssgn if sabs >= rho);
- ``tnz``    uint8  [Kw, 4, 2]   whether the deterministic / stochastic part of a type is
  nonzero anywhere (an all-zero part is skipped);
- ``widx``   int32  [C]          row of the weight tables of each core (identical weight
  tables are stored once, so they stay in cache);
- ``nzmask`` uint64 [C, 4, 4]    packed (s_j^G != 0) (for counting effective synaptic events);
- ``ptab``   int32  [K, NP]      distinct neuron parameter sets, columns ``P_*`` below;
- ``pidx``   int   [C, 256]      row of ``ptab`` of each neuron;
- ``route``  int32  [C, 256, 3]  target core (-1: none), target axon, delay; the chip kernels
  take it packed, ``rpk`` int32/int64 [C, 256] = ``core << 12 | axon << 4 | delay`` or -1;
- ``ucore``  int32  [C]          the ``ptab`` row shared by all 256 neurons of the core, or -1
  (uniform cores take a branch-free, vectorised neuron loop; the result is identical);
- ``V``      int32  [C, 256]     membrane potentials; ``rkey`` uint32 [C] core PRNG keys;
- ``abuf``   uint64 [16, C, 4]   axon input bitmaps, one per delay slot (tick t reads slot
  t % 16 and clears it; a spike with delay d sets its target bit in slot (t + d) % 16).

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

Speed (the arithmetic above is unchanged): the active axons of a core are the set bits of its
input bitmap; each active axon adds its crossbar row in 32-bit lanes (bit -> lane mask & weight;
stochastic lanes draw 32-bit fmix32 numbers branch free) straight into V (exact: the per-tick
sum is below 2**17 in magnitude, V is saturated after the sum); uniform cores run one
branch-free 32-bit neuron loop; fired neurons are found from 8-byte words of the fired flags.
The 2-thread kernel runs cores in parallel and routes the fired spikes serially afterwards.
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

# the chip kernels prefetch the crossbar rows and routes of the core this many cores ahead
PREFETCH_CORES = 4


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


@intrinsic
def _fmix32u(typingctx, h):
    """The same finaliser on a uint32, emitted as 32-bit LLVM operations (numba would widen
    the products to 64 bits, which AVX-512 multiplies slowly); vectorises in 32-bit lanes."""
    if not isinstance(h, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        x = context.cast(builder, args[0], signature.args[0], types.uint32)
        x = builder.xor(x, builder.lshr(x, ir.Constant(i32, 16)))
        x = builder.mul(x, ir.Constant(i32, 0x85EBCA6B))
        x = builder.xor(x, builder.lshr(x, ir.Constant(i32, 13)))
        x = builder.mul(x, ir.Constant(i32, 0xC2B2AE35))
        return builder.xor(x, builder.lshr(x, ir.Constant(i32, 16)))

    return types.uint32(h), codegen


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


@intrinsic
def _prefetch(typingctx, addr):
    """Hint the CPU to load the cache line at byte address ``addr`` (LLVM prefetch, read,
    high locality); no effect on results."""
    if not isinstance(addr, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
        builder.call(fn, [builder.inttoptr(args[0], i8p), ir.Constant(i32, 0),
                          ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(addr), codegen


@njit(cache=True, inline="always")
def _prefetch_core(c, abuf, slot, xaddr, raddr, rbytes, vaddr, aaddr):
    """Prefetch what the tick of core ``c`` reads: the crossbar rows (32 bytes each) of its
    active axons, its block of packed routes (``rbytes`` bytes), its V row (1 KB) and axon
    types (256 B); no effect on results."""
    for wd in range(4):
        bits = abuf[slot, c, wd]
        while bits != 0:
            i = wd * 64 + np.int64(_bitindex(bits))
            bits &= bits - np.uint64(1)
            _prefetch(xaddr + (c * 256 + i) * 32)
    for o in range(0, rbytes, 64):
        _prefetch(raddr + c * rbytes + o)
    for o in range(0, 1024, 64):
        _prefetch(vaddr + c * 1024 + o)
    for o in range(0, 256, 64):
        _prefetch(aaddr + c * 256 + o)


@njit(cache=True, inline="always")
def _add_row(V, c, xb32, i, wdet, wi, g):
    """V[c, j] += s_j^g for every set bit j of crossbar row i, in 32-bit lanes."""
    for k in range(8):
        x = xb32[c, i, k]
        if x == 0:
            continue
        o = k * 32
        for b in range(32):
            m = np.int32(-np.int32(np.uint32(x >> np.uint32(b)) & np.uint32(1)))
            V[c, o + b] = np.int32(V[c, o + b] + np.int32(m & wdet[wi, g, o + b]))


@njit(cache=True, inline="always")
def _add_row_stochastic(V, c, xb32, i, sabs, ssgn, wi, g, hi):
    """V[c, j] += F(s_j, rho_ij) for every set bit j of row i: sgn(s) if |s| >= rho with
    rho = fmix32(hi ^ j) >> 24 (hi = base ^ i << 8); branch free, 32-bit lanes."""
    for k in range(8):
        x = xb32[c, i, k]
        if x == 0:
            continue
        o = k * 32
        for b in range(32):
            m = np.int32(-np.int32(np.uint32(x >> np.uint32(b)) & np.uint32(1)))
            rho = np.int32(_fmix32u(np.uint32(hi ^ np.uint32(o + b))) >> np.uint32(24))
            take = np.int32(-np.int32(sabs[wi, g, o + b] >= rho))
            V[c, o + b] = np.int32(V[c, o + b] + np.int32(np.int32(m & take) & ssgn[wi, g, o + b]))


@njit(cache=True, inline="always")
def _integrate(c, abuf, slot, V, xbar, xb32, atype, wdet, sabs, ssgn, widx, tnz, nzmask, base,
               cnt):
    """Synaptic integration of core ``c``: add the rows of the active axons (set bits of
    ``abuf[slot, c]``, cleared here) to V (exact sum, no saturation yet)."""
    wi = widx[c]
    n_ax = 0
    n_syn = 0
    for wd in range(4):
        bits = abuf[slot, c, wd]
        if bits == 0:
            continue
        abuf[slot, c, wd] = 0
        while bits != 0:
            i = wd * 64 + np.int64(_bitindex(bits))
            bits &= bits - np.uint64(1)
            g = atype[c, i]
            n_ax += 1
            for k in range(4):
                n_syn += np.int64(_popcount64(xbar[c, i, k] & nzmask[c, g, k]))
            if tnz[wi, g, 0]:
                _add_row(V, c, xb32, i, wdet, wi, g)
            if tnz[wi, g, 1]:
                _add_row_stochastic(V, c, xb32, i, sabs, ssgn, wi, g,
                                    np.uint32(base ^ np.uint64(i << 8)))
    cnt[c, C_AXON_EVENTS] += n_ax
    cnt[c, C_SYNOPS] += n_syn


@njit(cache=True, inline="always")
def _clamp(v):
    return np.int32(min(max(v, np.int32(V_MIN)), np.int32(V_MAX)))


@njit(cache=True, inline="always")
def _neurons_uniform(c, k, V, ptab, base, fl, ft, cnt):
    """Leak, threshold, fire/reset of core ``c`` whose neurons all use ``ptab[k]``; V holds
    V + synaptic sum on entry. Branch-free 32-bit lanes (every intermediate is cast to int32
    so the loop vectorises 16 neurons wide); fired flags into ``fl[ft]`` (uint8 [256]).
    Returns the number of spikes. The per-core choices (gamma, kappa, epsilon, c) are taken
    once: fire: V = R (gamma 0), V - alpha - eta (1), V (2); below -(beta + eta (kappa 0)):
    V = -beta (kappa 1), -R (gamma 0), V + beta + eta (1), V (2)."""
    i32 = np.int32
    lam = i32(ptab[k, P_LEAK])
    cl = ptab[k, P_CLEAK]
    eps = ptab[k, P_EPS]
    msk = np.uint32(ptab[k, P_MASK])
    alpha = i32(ptab[k, P_ALPHA])
    beta = i32(ptab[k, P_BETA])
    kap = ptab[k, P_KAPPA]
    gam = ptab[k, P_GAMMA]
    rst = i32(ptab[k, P_RESET])
    g0 = i32(gam == 0)
    g1 = i32(gam == 1)
    g2 = i32(gam == 2)
    lsg = i32(i32(lam > 0) - i32(lam < 0))
    labs = i32(abs(lam))
    rf0 = i32(g0 * rst - g1 * alpha)
    m_rf1 = i32(-(g1 + g2))            # -1: the fire reset keeps V (gamma 1, 2)
    m_g1 = i32(-g1)
    if kap != 0:
        rn0, m_rn1, m_rn2, m_nk = i32(-beta), i32(0), i32(0), i32(0)
    else:
        rn0, m_rn1, m_rn2, m_nk = i32(-g0 * rst + g1 * beta), i32(-(g1 + g2)), i32(-g1), i32(-1)
    n_sat = i32(0)
    n_neg = i32(0)
    nf = i32(0)
    Vc = V[c]
    flc = fl[ft]
    if cl == 0 and msk == 0 and eps == 0:
        # deterministic leak and threshold, no leak reversal: eta = 0, Omega = 1
        nb = i32(-beta)
        for j in range(256):
            v = Vc[j]
            cv = _clamp(v)
            n_sat = i32(n_sat + i32(cv != v))
            v = i32(cv + lam)
            cv = _clamp(v)
            n_sat = i32(n_sat + i32(cv != v))
            v = cv
            f = i32(v >= alpha)
            ng = i32(i32(v < nb) & i32(1 - f))
            vr = i32(rf0 + i32(v & m_rf1))
            vn = i32(rn0 + i32(v & m_rn1))
            mf = i32(-f)
            mg = i32(-ng)
            v = i32(i32(vr & mf) | i32(vn & mg) | i32(v & i32(~i32(mf | mg))))
            cv = _clamp(v)
            n_sat = i32(n_sat + i32(cv != v))
            Vc[j] = cv
            flc[j] = np.uint8(f)
            nf = i32(nf + f)
            n_neg = i32(n_neg + ng)
    else:
        bl = np.uint32(np.uint32(base) ^ np.uint32(0x10000))
        bt = np.uint32(np.uint32(base) ^ np.uint32(0x20000))
        m_cl = i32(-i32(cl != 0))
        m_eps = i32(-i32(eps != 0))
        for j in range(256):
            v = Vc[j]
            cv = _clamp(v)
            n_sat = i32(n_sat + i32(cv != v))
            v = cv
            rho = i32(_fmix32u(bl ^ np.uint32(j)) >> np.uint32(24))
            eta = i32(_fmix32u(bt ^ np.uint32(j)) & msk)
            # leak step: F(lambda, rho) (stochastic) or lambda, times Omega = 1 or sgn(V)
            step = i32(i32(i32(lsg & i32(-i32(labs >= rho))) & m_cl) | i32(lam & i32(~m_cl)))
            om = i32(i32(1 & i32(~m_eps)) | i32(i32(i32(v > 0) - i32(v < 0)) & m_eps))
            v = i32(v + i32(om * step))
            cv = _clamp(v)
            n_sat = i32(n_sat + i32(cv != v))
            v = cv
            f = i32(v >= i32(alpha + eta))
            ng = i32(i32(v < i32(-i32(beta + i32(eta & m_nk)))) & i32(1 - f))
            vr = i32(i32(rf0 + i32(v & m_rf1)) - i32(eta & m_g1))
            vn = i32(i32(rn0 + i32(v & m_rn1)) + i32(eta & m_rn2))
            mf = i32(-f)
            mg = i32(-ng)
            v = i32(i32(vr & mf) | i32(vn & mg) | i32(v & i32(~i32(mf | mg))))
            cv = _clamp(v)
            n_sat = i32(n_sat + i32(cv != v))
            Vc[j] = cv
            flc[j] = np.uint8(f)
            nf = i32(nf + f)
            n_neg = i32(n_neg + ng)
    cnt[c, C_SAT] += n_sat
    cnt[c, C_NEG] += n_neg
    return nf


@njit(cache=True)
def _neurons_general(c, V, pidx, ptab, base, fired, fr, cnt):
    """Per-neuron parameter sets (scalar loop); writes the fired neurons into ``fired[fr]`` in
    ascending order and returns how many."""
    n_sat = 0
    n_neg = 0
    nf = 0
    for j in range(256):
        kk = pidx[c, j]
        v = np.int64(V[c, j])
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
            fired[fr, nf] = j
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
        V[c, j] = v
    cnt[c, C_SAT] += n_sat
    cnt[c, C_NEG] += n_neg
    return nf


@njit(cache=True, inline="always")
def _tick(c, abuf, slot, V, xbar, xb32, atype, wdet, sabs, ssgn, widx, tnz, nzmask, pidx, ptab,
          ucore, rkey, rt, fl, fl64, ft, fired, fr, cnt):
    """One tick of core ``c`` at random-tick ``rt``: integrate the active axons (set bits of
    ``abuf[slot, c]``, cleared), leak, threshold, fire, reset. ``fl[ft]`` (uint8 [256], the
    same memory as ``fl64[ft]`` uint64 [32]) is scratch. Writes the indices of the neurons
    that fired into ``fired[fr]`` (ascending) and returns how many; updates V and the
    counters ``cnt``."""
    base = _tick_base(rkey[c], rt)
    _integrate(c, abuf, slot, V, xbar, xb32, atype, wdet, sabs, ssgn, widx, tnz, nzmask, base,
               cnt)
    k = ucore[c]
    if k >= 0:
        nf = _neurons_uniform(c, k, V, ptab, base, fl, ft, cnt)
        if nf > 0:
            q = 0
            for w in range(32):  # the fired flags, 8 neurons per word
                x = fl64[ft, w]
                while x != 0:
                    fired[fr, q] = w * 8 + (np.int64(_bitindex(x)) >> 3)
                    q += 1
                    x &= x - np.uint64(1)
    else:
        nf = _neurons_general(c, V, pidx, ptab, base, fired, fr, cnt)
    cnt[c, C_SPIKES] += nf
    return nf


@njit(cache=True)
def _run_core(T, inputs, V, xbar, xb32, atype, wdet, sabs, ssgn, widx, tnz, nzmask, pidx, ptab,
              ucore, rkey, spikes, vrec, cnt):
    """Run core 0 for T ticks on ``inputs`` (uint8 [T, 256]); record spikes and V."""
    act = np.zeros((1, 1, 4), dtype=np.uint64)
    fl64 = np.zeros((1, 32), dtype=np.uint64)
    fl = fl64.view(np.uint8)
    fired = np.zeros((1, 256), dtype=np.int32)
    for t in range(T):
        for i in range(256):
            if inputs[t, i] != 0:
                act[0, 0, i >> 6] |= np.uint64(1) << np.uint64(i & 63)
        nf = _tick(0, act, 0, V, xbar, xb32, atype, wdet, sabs, ssgn, widx, tnz, nzmask, pidx,
                   ptab, ucore, rkey, t, fl, fl64, 0, fired, 0, cnt)
        for q in range(nf):
            spikes[t, fired[0, q]] = 1
        for j in range(256):
            vrec[t, j] = V[0, j]


@njit(cache=True, inline="always")
def _route(c, t, tl, nf, fired, fr, rpk, abuf, core_x, core_y, rec_index, rec, out_count, cnt):
    """Send the ``nf`` spikes of core ``c`` (neurons ``fired[fr]``) fired at tick t: set the
    target axon bit in delay slot (t + d) % 16, count packets and hops, record. ``rpk``
    [C, 256] packs each neuron's route as ``target_core << 12 | axon << 4 | delay`` (-1: no
    target)."""
    n_r = 0
    n_h = 0
    recording = rec.shape[1] > 0
    cx = core_x[c]
    cy = core_y[c]
    for q in range(nf):
        j = fired[fr, q]
        if recording:
            r = rec_index[c, j]
            if r >= 0:
                if rec.shape[0] > 0:
                    rec[tl, r] = 1
                out_count[r] += 1
        pk = np.int64(rpk[c, j])
        if pk >= 0:
            tc = pk >> 12
            ax = (pk >> 4) & 255
            abuf[(t + (pk & 15)) % 16, tc, ax >> 6] |= np.uint64(1) << np.uint64(ax & 63)
            n_r += 1
            n_h += abs(core_x[tc] - cx) + abs(core_y[tc] - cy)
    cnt[c, C_ROUTED] += n_r
    cnt[c, C_HOPS] += n_h


@njit(cache=True)
def _inject(t, tl, inp, in_ptr, in_core, in_axon, abuf, in_cnt):
    slot = t % 16
    for k in range(inp.shape[1]):
        if inp[tl, k] != 0:
            in_cnt[0] += 1
            for q in range(in_ptr[k], in_ptr[k + 1]):
                ax = in_axon[q]
                abuf[slot, in_core[q], ax >> 6] |= np.uint64(1) << np.uint64(ax & 63)
                in_cnt[1] += 1


@njit(cache=True)
def _chip_serial(t0, T, inp, in_ptr, in_core, in_axon, abuf, V, xbar, xb32, atype, wdet, sabs,
                 ssgn, widx, tnz, nzmask, pidx, ptab, ucore, rpk, rkey, rt0, flbuf, fl64buf,
                 firedbuf, core_x, core_y, rec_index, rec, out_count, cnt, in_cnt):
    """Ticks t0..t0+T-1 of all cores, one thread. ``inp`` uint8 [T, n_in] (may have 0 columns);
    ``rec`` uint8 [T, n_rec] (or [0, n_rec] to only count into ``out_count``). ``abuf`` uint64
    [16, C, 4] are the delay-slot input bitmaps; ``flbuf`` uint8 [threads, 256] (the same
    memory as ``fl64buf`` uint64 [threads, 32]) and ``firedbuf`` int32 [C, 256] are scratch;
    ``rt0`` is the random-tick counter of the first tick (it keeps counting across samples)."""
    C = V.shape[0]
    xaddr = xbar.ctypes.data
    raddr = rpk.ctypes.data
    rbytes = 256 * rpk.itemsize
    vaddr = V.ctypes.data
    aaddr = atype.ctypes.data
    for tl in range(T):
        t = t0 + tl
        slot = t % 16
        _inject(t, tl, inp, in_ptr, in_core, in_axon, abuf, in_cnt)
        for c in range(C):
            if c + PREFETCH_CORES < C:
                _prefetch_core(c + PREFETCH_CORES, abuf, slot, xaddr, raddr, rbytes, vaddr, aaddr)
            nf = _tick(c, abuf, slot, V, xbar, xb32, atype, wdet, sabs, ssgn, widx, tnz, nzmask,
                       pidx, ptab, ucore, rkey, rt0 + tl, flbuf, fl64buf, 0, firedbuf, 0, cnt)
            if nf > 0:
                _route(c, t, tl, nf, firedbuf, 0, rpk, abuf, core_x, core_y, rec_index, rec,
                       out_count, cnt)


@njit(cache=True, parallel=True)
def _chip_parallel(t0, T, inp, in_ptr, in_core, in_axon, abuf, V, xbar, xb32, atype, wdet, sabs,
                   ssgn, widx, tnz, nzmask, pidx, ptab, ucore, rpk, rkey, rt0, flbuf, fl64buf,
                   firedbuf, core_x, core_y, rec_index, rec, out_count, cnt, in_cnt):
    """Same as :func:`_chip_serial`, cores in parallel (numba threads), then the spikes are
    routed serially. Each core's state and counters are touched by one thread, random numbers
    are counter based and a core only reads its own slot of the tick, so results equal the
    serial kernel's."""
    C = V.shape[0]
    nfs = np.zeros(C, dtype=np.int64)
    xaddr = xbar.ctypes.data
    raddr = rpk.ctypes.data
    rbytes = 256 * rpk.itemsize
    vaddr = V.ctypes.data
    aaddr = atype.ctypes.data
    for tl in range(T):
        t = t0 + tl
        slot = t % 16
        _inject(t, tl, inp, in_ptr, in_core, in_axon, abuf, in_cnt)
        for c in prange(C):
            tid = get_thread_id()
            if c + PREFETCH_CORES < C:
                _prefetch_core(c + PREFETCH_CORES, abuf, slot, xaddr, raddr, rbytes, vaddr, aaddr)
            nfs[c] = _tick(c, abuf, slot, V, xbar, xb32, atype, wdet, sabs, ssgn, widx, tnz,
                           nzmask, pidx, ptab, ucore, rkey, rt0 + tl, flbuf, fl64buf, tid,
                           firedbuf, c, cnt)
        for c in range(C):
            if nfs[c] > 0:
                _route(c, t, tl, nfs[c], firedbuf, c, rpk, abuf, core_x, core_y, rec_index,
                       rec, out_count, cnt)
