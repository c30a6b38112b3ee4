"""numba kernels of plasticity in the clock engine (used only when a projection has a rule).

Plastic synapses are positions ``q`` of the engine's merged, thread-partitioned CSR with
``srule[q] = r >= 0`` (``r`` = plastic projection slot, ``-1`` = fixed). Slot ``r`` has
parameters ``rp[r]`` (see :data:`RP`) and four traces over the global neuron/input index:
``r1, r2`` (presynaptic) and ``o1, o2`` (postsynaptic), each ``[R, N_pre]``. Traces are
stored lazily: the value at its last change and that step (``tpre``/``tpost``); read at
step ``n`` it is ``x * exp(-dt/tau)**(n - t_last)`` (so idle neurons cost nothing per step).

Order inside step ``n`` (after :mod:`spikesim.kernels.clock` updated the neurons):

0. (before the neuron update) reward projections: the reward trace decays and takes this
   step's reward, eligibilities decay and ``w += dt c d``;
1. per target block ``t`` (one thread each): every spike of step ``n`` is delivered with the
   weight from before this step's changes, and each plastic synapse of a spiking
   presynaptic neuron is depressed by ``o1 (A2- + A3- r2)``; then each plastic synapse into
   a neuron of block ``t`` that spiked is potentiated by ``r1 (A2+ + A3+ o2)``;
2. traces of the neurons/inputs that spiked jump (``+1`` or ``=1`` for nearest pairing).

So pairs at the same step change nothing, and a pair ``k`` steps apart changes the weight by
the window at ``k dt`` exactly. The slow twin is ``tests/naive_learn.py``. When every rule is
pair STDP with additive dependence, the engine runs the lazy kernels of
:mod:`spikesim.kernels.plasticity_lazy` instead (the same weights, bit for bit).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from spikesim.kernels.clock import (_after_update, _monitor, _update_block, fired_buffers,
                                     group_flags, merge_thread_lists, thread_lists)

#: Column layout of the per-slot parameter table ``rp[R, 16]``.
RP = ("kind", "a2p", "a3p", "a2m", "a3m", "d_r1", "d_r2", "d_o1", "d_o2", "nearest", "mult",
      "w_min", "w_max", "d_c", "d_d", "dt", "d_tonic")
KIND_STDP = 0
KIND_REWARD = 1


@njit(cache=True, nogil=True, inline="always")
def _change(q, r, dw, sw, rp, elig):
    """Apply a weight change (or an eligibility change for reward rules) to synapse q."""
    if rp[r, 0] == KIND_REWARD:
        elig[q] += dw
        return
    w = sw[q]
    if rp[r, 10] != 0.0:  # multiplicative (soft bounds)
        if dw > 0:
            dw *= rp[r, 12] - w
        else:
            dw *= w - rp[r, 11]
    w += dw
    if w > rp[r, 12]:
        w = rp[r, 12]
    elif w < rp[r, 11]:
        w = rp[r, 11]
    sw[q] = w


@njit(cache=True, nogil=True, _nrt=False)
def _geo(lx, m):
    """``sum_{j=1..m} e^{j lx}`` (``lx < 0``; 0 for ``m <= 0``)."""
    if m <= 0:
        return 0.0
    return np.exp(lx) * np.expm1(m * lx) / np.expm1(lx)


@njit(cache=True, nogil=True, _nrt=False)
def _rsync(q, r, n, sw, rp, elig, dopa, rtsync, rtref):
    """Bring reward synapse ``q`` (slot ``r``) from step ``rtsync[q]`` through step ``n``:
    the per-step update ``c *= dc; w = clip(w + dt (d + d_tonic) c)`` in closed form. No
    reward comes in between (every synapse of a slot is brought up to date before a reward
    step), so ``d`` decays geometrically from ``dopa[r]`` at step ``rtref[r]``, ``d +
    d_tonic`` changes sign at most once, and clipping at that step and at the end equals
    clipping at every step."""
    a = rtsync[q]
    m = n - a
    if m <= 0:
        return
    rtsync[q] = n
    c0 = elig[q]
    if c0 == 0.0:
        return
    ldc = np.log(rp[r, 13])
    elig[q] = c0 * np.exp(m * ldc)
    ldd = np.log(rp[r, 14])
    dA = dopa[r] * np.exp((a - rtref[r]) * ldd) if dopa[r] != 0.0 else 0.0  # d at step a
    tonic = rp[r, 16]
    if dA == 0.0 and tonic == 0.0:
        return
    # the j-th step (j = 1..m) adds dt c0 dc^j (dA dd^j + tonic); its sign holds for j <= j0
    j0 = m
    if dA * tonic < 0.0 and abs(dA) > abs(tonic):
        j0 = min(m, max(0, int(np.ceil(np.log(-tonic / dA) / ldd)) - 1))
    k = rp[r, 15] * c0
    lo = rp[r, 11]
    hi = rp[r, 12]
    w = sw[q] + k * (dA * _geo(ldc + ldd, j0) + tonic * _geo(ldc, j0))
    w = hi if w > hi else (lo if w < lo else w)
    if j0 < m:
        w += k * (dA * np.exp(j0 * (ldc + ldd)) * _geo(ldc + ldd, m - j0)
                  + tonic * np.exp(j0 * ldc) * _geo(ldc, m - j0))
        w = hi if w > hi else (lo if w < lo else w)
    sw[q] = w


@njit(cache=True, nogil=True, _nrt=False)
def _reward_begin(n0, plas):
    """Start of a chunk at step ``n0``: every reward synapse is current through ``n0 - 1``
    and ``dopa`` holds the reward trace of that step."""
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    for r in range(rp.shape[0]):
        if rp[r, 0] != KIND_REWARD:
            continue
        rtref[r] = n0 - 1
        for k in range(rqptr[r], rqptr[r + 1]):
            rtsync[rqpos[k]] = n0 - 1


@njit(cache=True, nogil=True, _nrt=False)
def _reward_step(n, n0, sw, plas):
    """Reward projections at step ``n``: when a reward comes, bring the slot's synapses
    through step ``n - 1`` (:func:`_rsync`), then the reward trace jumps; otherwise nothing
    (synapses are brought up to date lazily, when read or tagged)."""
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    for r in range(rp.shape[0]):
        if rp[r, 0] != KIND_REWARD:
            continue
        x = rew[r, n - n0]
        if x == 0.0:
            continue
        for k in range(rqptr[r], rqptr[r + 1]):
            _rsync(rqpos[k], r, n - 1, sw, rp, elig, dopa, rtsync, rtref)
        d = dopa[r] * np.exp((n - rtref[r]) * np.log(rp[r, 14])) if dopa[r] != 0.0 else 0.0
        dopa[r] = d + x
        rtref[r] = n


@njit(cache=True, nogil=True, _nrt=False)
def _reward_finish(n, sw, plas):
    """End of a chunk: every reward synapse and reward trace brought through step ``n``."""
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    for r in range(rp.shape[0]):
        if rp[r, 0] != KIND_REWARD:
            continue
        for k in range(rqptr[r], rqptr[r + 1]):
            _rsync(rqpos[k], r, n, sw, rp, elig, dopa, rtsync, rtref)
        if dopa[r] != 0.0:
            dopa[r] = dopa[r] * np.exp((n - rtref[r]) * np.log(rp[r, 14]))
        rtref[r] = n


@njit(cache=True, nogil=True, inline="always")
def _rd(x, tl, n, ptab, r, j, d):
    """Lazy trace value at step ``n``: ``x * d**(n - tl)`` (powers from the table
    ``ptab[r, j]`` of trace ``j``'s decay, ``pow`` beyond it; 0 without ``pow`` when the
    table has already underflowed to 0 at half its length, see :func:`_beyond`)."""
    if x == 0.0:
        return x
    k = n - tl
    if k < ptab.shape[2]:
        return x * ptab[r, j, k]
    return _beyond(x, d, k, ptab[r, j, ptab.shape[2] >> 1])


@njit(cache=True, nogil=True, inline="always")
def _beyond(x, d, k, half):
    """``x * d**k`` for ``k`` past the table of length ``K``; ``half = d**(K//2)`` from the
    table. When ``half`` is 0, the true ``d**(K//2)`` is below the smallest subnormal (the
    table's products lose no more than that), so ``d**k <= (d**(K//2))**2`` rounds to 0 and
    ``pow`` (tens of ns; hit for every synapse of a neuron silent for over ``K`` steps) is
    skipped without changing a bit."""
    return x * d ** k if half != 0.0 else 0.0


@njit(cache=True, nogil=True, inline="always")
def _new_w(w, dw, mult, lo, hi):
    """The weight after change ``dw`` (the arithmetic of :func:`_change`, scalars only)."""
    if mult != 0.0:  # multiplicative (soft bounds)
        if dw > 0:
            dw *= hi - w
        else:
            dw *= w - lo
    w += dw
    if w > hi:
        w = hi
    elif w < lo:
        w = lo
    return w


@njit(cache=True, nogil=True, _nrt=False)
def _deliver_learn(t, lo, hi, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, st,
                   syn, plas):
    """Deliver the spikes of step ``n`` to target block ``t`` (neurons ``[lo, hi)``),
    depress plastic synapses of spiking presynaptic neurons, then potentiate plastic
    synapses into spiking neurons of the block. (:func:`_rd` and :func:`_change` are written
    out: numba counts references of array arguments on each call in a loop.)"""
    v, cur, refc, ath, buf, spike_count, mu_count = st
    pstart, sidx, sw, sdly, sport = syn
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    K = ptab.shape[2]
    base = (n + 1) % L
    t_u = base + uniform_delay
    if t_u >= L:
        t_u -= L
    nup = 0
    for f in range(nf):
        b = fired_b[f]
        pre = fired_i[f]
        val = fired_v[f]
        for q in range(pstart[pre, t], pstart[pre, t + 1]):
            post = sidx[q]
            r = np.int64(srule[q])  # int16 table
            if r >= 0 and rp[r, 0] == KIND_REWARD:  # current before it is read
                _rsync(q, r, n, sw, rp, elig, dopa, rtsync, rtref)
            if direct:
                cur[sport[q], b, post] += sw[q] * val
            else:
                tt = t_u
                if uniform_delay < 0:
                    tt = base + sdly[q]
                    if tt >= L:
                        tt -= L
                buf[tt, sport[q], b, post] += sw[q] * val
            if r >= 0:
                x = o1[r, post]
                if x != 0.0:
                    k = n - tpost[r, post]
                    if k < K:
                        x = x * ptab[r, 2, k]
                    else:
                        x = _beyond(x, rp[r, 7], k, ptab[r, 2, K >> 1])
                if x != 0.0:
                    y = rp[r, 3]
                    if rp[r, 4] != 0.0:
                        z = r2[r, pre]
                        if z != 0.0:
                            k = n - tpre[r, pre]
                            if k < K:
                                z = z * ptab[r, 1, k]
                            else:
                                z = _beyond(z, rp[r, 6], k, ptab[r, 1, K >> 1])
                        y += rp[r, 4] * z
                    dw = -x * y
                    if rp[r, 0] == KIND_REWARD:
                        elig[q] += dw
                    else:
                        sw[q] = _new_w(sw[q], dw, rp[r, 10], rp[r, 11], rp[r, 12])
                nup += 1
    for f in range(nf):
        j = fired_i[f]
        if j < lo or j >= hi:
            continue
        for k in range(cptr[j], cptr[j + 1]):
            q = cq[k]
            r = crule[k]
            i = cpre[k]
            x = r1[r, i]
            if x != 0.0:
                g = n - tpre[r, i]
                if g < K:
                    x = x * ptab[r, 0, g]
                else:
                    x = _beyond(x, rp[r, 5], g, ptab[r, 0, K >> 1])
            if x != 0.0:
                y = rp[r, 1]
                if rp[r, 2] != 0.0:
                    z = o2[r, j]
                    if z != 0.0:
                        g = n - tpost[r, j]
                        if g < K:
                            z = z * ptab[r, 3, g]
                        else:
                            z = _beyond(z, rp[r, 8], g, ptab[r, 3, K >> 1])
                    y += rp[r, 2] * z
                dw = x * y
                if rp[r, 0] == KIND_REWARD:
                    _rsync(q, r, n, sw, rp, elig, dopa, rtsync, rtref)
                    elig[q] += dw
                else:
                    sw[q] = _new_w(sw[q], dw, rp[r, 10], rp[r, 11], rp[r, 12])
            nup += 1
    pupd[t] += nup


@njit(cache=True, nogil=True, _nrt=False)
def _bump(n, fired_i, nf, plas):
    """Traces of the neurons/inputs that spiked in step ``n`` jump (after the updates).
    (:func:`_rd` written out, see :func:`_deliver_learn`.)"""
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    K = ptab.shape[2]
    for r in range(rp.shape[0]):
        nearest = rp[r, 9] != 0.0
        for f in range(nf):
            i = fired_i[f]
            if rrange[r, 0] <= i < rrange[r, 1]:
                if nearest:
                    r1[r, i] = 1.0
                    r2[r, i] = 1.0
                else:
                    k = n - tpre[r, i]
                    a = r1[r, i]
                    if a != 0.0:
                        a = a * ptab[r, 0, k] if k < K else a * rp[r, 5] ** k
                    r1[r, i] = a + 1.0
                    a = r2[r, i]
                    if a != 0.0:
                        a = a * ptab[r, 1, k] if k < K else a * rp[r, 6] ** k
                    r2[r, i] = a + 1.0
                tpre[r, i] = n
            if rrange[r, 2] <= i < rrange[r, 3]:
                if nearest:
                    o1[r, i] = 1.0
                    o2[r, i] = 1.0
                else:
                    k = n - tpost[r, i]
                    a = o1[r, i]
                    if a != 0.0:
                        a = a * ptab[r, 2, k] if k < K else a * rp[r, 7] ** k
                    o1[r, i] = a + 1.0
                    a = o2[r, i]
                    if a != 0.0:
                        a = a * ptab[r, 3, k] if k < K else a * rp[r, 8] ** k
                    o2[r, i] = a + 1.0
                tpost[r, i] = n


@njit(cache=True, nogil=True)
def run_chunk_learn(n0, nsteps, batch, st, grp, prm, dt, pbias, has_pbias, direct,
                    uniform_delay, syn, ev, rec, rec_cap, mon_idx, mon_every, mon_out, plas):
    """:func:`spikesim.kernels.clock.run_chunk` with plasticity (batch 1, one thread).
    ``plas`` holds the rule table, traces and plastic-synapse indices (module docs); the
    weights ``syn[2]`` are updated in place. ``plas[12]`` (``rew[R, nsteps]``) holds the
    reward added to each reward slot at each step of this call."""
    v = st[0]
    buf = st[4]
    L = buf.shape[0]
    N = v.shape[1]
    fired_b, fired_i, fired_v = fired_buffers(batch, N, ev[0].shape[0], buf.dtype)
    flags = group_flags(1)
    n_rec = np.int64(0)
    n_mon = np.int64(0)
    ev_ptr = np.int64(0)
    sw = syn[2]
    _reward_begin(n0, plas)
    for s in range(nsteps):
        n = n0 + s
        if n_rec + batch * N > rec_cap:
            _reward_finish(n - 1, sw, plas)
            return s, n_rec, n_mon
        _reward_step(n, n0, sw, plas)
        nf = _update_block(0, 0, N, batch, n % L, direct, has_pbias, st, grp, prm, pbias, dt,
                           fired_b, fired_i, flags[0])
        nf, ev_ptr, n_rec = _after_update(n, nf, fired_b, fired_i, fired_v, ev_ptr, ev, rec,
                                          n_rec, st[5])
        _deliver_learn(0, 0, N, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, st,
                       syn, plas)
        _bump(n, fired_i, nf, plas)
        n_mon = _monitor(n, batch, mon_idx, mon_every, mon_out, n_mon, st)
    _reward_finish(n0 + nsteps - 1, sw, plas)
    return nsteps, n_rec, n_mon


@njit(cache=True, nogil=True, parallel=True)
def run_chunk_learn_parallel(n0, nsteps, batch, st, grp, prm, dt, pbias, has_pbias, direct,
                             uniform_delay, syn, ev, rec, rec_cap, mon_idx, mon_every, mon_out,
                             plas, blocks):
    """:func:`run_chunk_learn` on ``len(blocks) - 1`` threads (the CSR partitioned by target
    block, as :func:`spikesim.kernels.clock.run_chunk_parallel`); identical results."""
    v = st[0]
    buf = st[4]
    L = buf.shape[0]
    N = v.shape[1]
    T = blocks.shape[0] - 1
    fired_b, fired_i, fired_v = fired_buffers(batch, N, ev[0].shape[0], buf.dtype)
    flags = group_flags(T)
    tl = thread_lists(T, fired_b.shape[0])
    tb, ti, tn = tl
    n_rec = np.int64(0)
    n_mon = np.int64(0)
    ev_ptr = np.int64(0)
    sw = syn[2]
    _reward_begin(n0, plas)
    for s in range(nsteps):
        n = n0 + s
        if n_rec + batch * N > rec_cap:
            _reward_finish(n - 1, sw, plas)
            return s, n_rec, n_mon
        slot = n % L
        _reward_step(n, n0, sw, plas)
        for t in prange(T):
            tn[t] = _update_block(t, blocks[t], blocks[t + 1], batch, slot, direct, has_pbias, st,
                                  grp, prm, pbias, dt, tb[t], ti[t], flags[t])
        nf = merge_thread_lists(tl, fired_b, fired_i)
        nf, ev_ptr, n_rec = _after_update(n, nf, fired_b, fired_i, fired_v, ev_ptr, ev, rec,
                                          n_rec, st[5])
        for t in prange(T):
            _deliver_learn(t, blocks[t], blocks[t + 1], n, L, direct, uniform_delay, fired_b,
                           fired_i, fired_v, nf, st, syn, plas)
        _bump(n, fired_i, nf, plas)
        n_mon = _monitor(n, batch, mon_idx, mon_every, mon_out, n_mon, st)
    _reward_finish(n0 + nsteps - 1, sw, plas)
    return nsteps, n_rec, n_mon


# ----------------------------------------------------------------------------------------
# Event engine: the same rules applied exactly at spike times (continuous time).
#
# ``eplas = (srule, cptr, cq, cpre, crule, rp, erate, rrange, r1, r2, o1, o2, tpre, tpost,
# r2prev, elig, tsync, dopa, tdopa, rew_t, rew_r, rew_a, rptr, rsptr, rsq)``: traces hold
# their value at their last change (time ``tpre``/``tpost``, seconds) and decay as
# ``exp(-(t - t_last) * erate)``. On a plastic synapse with delay 0 a presynaptic spike's
# emission and its delivery happen at the same time ``t`` (delayed ones: ``ev_emit``
# below): the presynaptic traces jump at emission (``ev_pre``; a postsynaptic spike that
# this spike causes at ``t`` sees it, the limit dt -> 0 of the clock engine's one-step
# causal pair),
# the depression at delivery (``ev_depress``) uses ``o1(t)`` and the ``r2`` from before
# the jump; a postsynaptic spike potentiates its plastic input synapses, then its traces
# jump (``ev_post``).
#
# Reward rules (``rp[r, 0] == KIND_REWARD``): STDP changes the eligibility ``elig[q]``
# instead of the weight; ``elig[q]`` and ``sw[q]`` hold their values at time ``tsync[q]``;
# the reward trace of slot ``r`` is ``dopa[r]`` at time ``tdopa[r]``; both decay
# exponentially (rates ``erate[r, 4]``, ``erate[r, 5]``: 1/tau_c, 1/tau_d). A synapse is
# brought to time ``t`` (``ev_sync``) before its weight is read or its eligibility changes:
# ``w`` takes the exact integral of ``c(t) (d(t) + d_tonic)`` over the gap (``_cd_integral``),
# clipped to the bounds where the integrand may change sign and at the end (which equals
# clipping all along). A reward at ``t`` (``rew_t/rew_r/rew_a``,
# sorted by time, next one at ``rptr[0]``) brings every synapse of its slot
# (``rsq[rsptr[r]:rsptr[r + 1]]``, the plastic synapses by slot) to ``t``, then
# ``dopa`` jumps. The clock engine's per-step update converges to this as dt -> 0.
# ----------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def ev_pre(eplas, i, t):
    """Presynaptic traces of global index ``i`` jump for a spike at ``t``."""
    (srule, cptr, cq, cpre, crule, rp, erate, rrange, r1, r2, o1, o2, tpre, tpost, r2prev,
     elig, tsync, dopa, tdopa, rew_t, rew_r, rew_a, rptr, rsptr, rsq) = eplas
    for r in range(rp.shape[0]):
        if rrange[r, 0] <= i < rrange[r, 1]:
            g = t - tpre[r, i]
            a1 = r1[r, i] * np.exp(-g * erate[r, 0]) if r1[r, i] != 0.0 else 0.0
            a2 = r2[r, i] * np.exp(-g * erate[r, 1]) if r2[r, i] != 0.0 else 0.0
            r2prev[r, i] = a2
            if rp[r, 9] != 0.0:
                r1[r, i] = 1.0
                r2[r, i] = 1.0
            else:
                r1[r, i] = a1 + 1.0
                r2[r, i] = a2 + 1.0
            tpre[r, i] = t


@njit(cache=True, nogil=True)
def ev_depress(eplas, s, pre, post, t, sw):
    """Depression of synapse ``s`` (``pre -> post``) by a presynaptic spike at ``t``."""
    (srule, cptr, cq, cpre, crule, rp, erate, rrange, r1, r2, o1, o2, tpre, tpost, r2prev,
     elig, tsync, dopa, tdopa, rew_t, rew_r, rew_a, rptr, rsptr, rsq) = eplas
    r = srule[s]
    if r < 0 or o1[r, post] == 0.0:
        return
    if rp[r, 0] == KIND_REWARD:
        _ev_sync_q(s, r, t, sw, rp, erate, elig, tsync, dopa, tdopa)
    x = o1[r, post] * np.exp(-(t - tpost[r, post]) * erate[r, 2])
    _change(s, r, -x * (rp[r, 3] + rp[r, 4] * r2prev[r, pre]), sw, rp, elig)


@njit(cache=True, nogil=True)
def ev_post(eplas, j, t, sw):
    """A spike of neuron ``j`` at ``t``: potentiate its plastic input synapses, then its
    postsynaptic traces jump."""
    (srule, cptr, cq, cpre, crule, rp, erate, rrange, r1, r2, o1, o2, tpre, tpost, r2prev,
     elig, tsync, dopa, tdopa, rew_t, rew_r, rew_a, rptr, rsptr, rsq) = eplas
    if j + 1 < cptr.shape[0]:
        for k in range(cptr[j], cptr[j + 1]):
            q = cq[k]
            r = crule[k]
            i = cpre[k]
            if r1[r, i] == 0.0:
                continue
            if rp[r, 0] == KIND_REWARD:
                _ev_sync_q(q, r, t, sw, rp, erate, elig, tsync, dopa, tdopa)
            x = r1[r, i] * np.exp(-(t - tpre[r, i]) * erate[r, 0])
            y = rp[r, 1]
            if rp[r, 2] != 0.0 and o2[r, j] != 0.0:
                y += rp[r, 2] * o2[r, j] * np.exp(-(t - tpost[r, j]) * erate[r, 3])
            _change(q, r, x * y, sw, rp, elig)
    for r in range(rp.shape[0]):
        if rrange[r, 2] <= j < rrange[r, 3]:
            g = t - tpost[r, j]
            if rp[r, 9] != 0.0:
                o1[r, j] = 1.0
                o2[r, j] = 1.0
            else:
                o1[r, j] = o1[r, j] * np.exp(-g * erate[r, 2]) + 1.0
                o2[r, j] = o2[r, j] * np.exp(-g * erate[r, 3]) + 1.0
            tpost[r, j] = t


@njit(cache=True, nogil=True, inline="always")
def _cd_integral(c0, d0, tonic, kc, kd, a, b):
    """Integral over ``s`` in ``[a, b]`` of ``c0 e^{-s kc} (d0 e^{-s kd} + tonic)``."""
    k = kc + kd
    out = -c0 * d0 * np.exp(-a * k) * np.expm1(-(b - a) * k) / k if d0 != 0.0 else 0.0
    if tonic != 0.0:
        out -= c0 * tonic * np.exp(-a * kc) * np.expm1(-(b - a) * kc) / kc
    return out


@njit(cache=True, nogil=True, inline="always")
def _ev_sync_q(q, r, t, sw, rp, erate, elig, tsync, dopa, tdopa):
    """Bring reward synapse ``q`` (slot ``r``) from ``tsync[q]`` to ``t``: the exact integral
    of eligibility x (reward trace + tonic level) into its weight, the eligibility decayed.
    The integrand changes sign at most once (where the decaying trace crosses ``-d_tonic``);
    the weight is clipped at that point and at the end, which equals clipping all along."""
    g = t - tsync[q]
    if g <= 0.0:
        return
    c0 = elig[q]
    if c0 != 0.0:
        kc = erate[r, 4]
        kd = erate[r, 5]
        tonic = rp[r, 16]
        d0 = dopa[r] * np.exp(-(tsync[q] - tdopa[r]) * kd) if dopa[r] != 0.0 else 0.0
        if d0 != 0.0 or tonic != 0.0:
            s1 = g
            if d0 * tonic < 0.0 and abs(d0) > abs(tonic):
                s1 = min(g, np.log(-d0 / tonic) / kd)
            w = sw[q] + _cd_integral(c0, d0, tonic, kc, kd, 0.0, s1)
            for seg in range(2):
                if w > rp[r, 12]:
                    w = rp[r, 12]
                elif w < rp[r, 11]:
                    w = rp[r, 11]
                if seg == 0 and s1 < g:
                    w += _cd_integral(c0, d0, tonic, kc, kd, s1, g)
                else:
                    break
            sw[q] = w
        elig[q] = c0 * np.exp(-g * kc)
    tsync[q] = t


@njit(cache=True, nogil=True)
def ev_sync(eplas, s, t, sw):
    """Bring synapse ``s`` to time ``t`` before its weight is read (reward rules only)."""
    (srule, cptr, cq, cpre, crule, rp, erate, rrange, r1, r2, o1, o2, tpre, tpost, r2prev,
     elig, tsync, dopa, tdopa, rew_t, rew_r, rew_a, rptr, rsptr, rsq) = eplas
    r = srule[s]
    if r >= 0 and rp[r, 0] == KIND_REWARD:
        _ev_sync_q(s, r, t, sw, rp, erate, elig, tsync, dopa, tdopa)


@njit(cache=True, nogil=True)
def ev_next_reward(eplas):
    """Time of the next reward of this run (``inf`` when none is left)."""
    rew_t, rptr = eplas[19], eplas[22]
    return rew_t[rptr[0]] if rptr[0] < rew_t.shape[0] else np.inf


@njit(cache=True, nogil=True)
def ev_reward(eplas, t, sw):
    """Apply the next reward (at ``t``): every synapse of its slot is brought to ``t``,
    then the slot's reward trace jumps by the amount."""
    (srule, cptr, cq, cpre, crule, rp, erate, rrange, r1, r2, o1, o2, tpre, tpost, r2prev,
     elig, tsync, dopa, tdopa, rew_t, rew_r, rew_a, rptr, rsptr, rsq) = eplas
    k = rptr[0]
    r = rew_r[k]
    for m in range(rsptr[r], rsptr[r + 1]):
        _ev_sync_q(rsq[m], r, t, sw, rp, erate, elig, tsync, dopa, tdopa)
    dopa[r] = dopa[r] * np.exp(-(t - tdopa[r]) * erate[r, 5]) + rew_a[k]
    tdopa[r] = t
    rptr[0] = k + 1


@njit(cache=True, nogil=True)
def ev_sync_all(eplas, t, sw):
    """Bring every reward synapse to ``t`` (end of a run: the weights read back are current)."""
    (srule, cptr, cq, cpre, crule, rp, erate, rrange, r1, r2, o1, o2, tpre, tpost, r2prev,
     elig, tsync, dopa, tdopa, rew_t, rew_r, rew_a, rptr, rsptr, rsq) = eplas
    for r in range(rp.shape[0]):
        if rp[r, 0] != KIND_REWARD:
            continue
        for m in range(rsptr[r], rsptr[r + 1]):
            _ev_sync_q(rsq[m], r, t, sw, rp, erate, elig, tsync, dopa, tdopa)


# ----------------------------------------------------------------------------------------
# Event engine, plastic synapses with delays. The clock engine applies STDP when a
# presynaptic spike is emitted (pairing its emission time with postsynaptic spike times)
# and the spike carries the weight of that moment to its arrival. The event engine does the
# same: at emission (``ev_emit``, after ``ev_pre``) each delayed plastic synapse of the row
# is brought to ``t``, its weight is stored in a snapshot ring, then it is depressed; at
# arrival (``ev_delayed_w``) the stored weight is delivered. A synapse's arrivals come in
# the order of its emissions (one delay per synapse), so the ring is a FIFO per synapse:
# ``edly = (dpos, dlast, dhead, dread, ring, dflag)``: column of synapse ``q`` in the ring
# (``-1``: not plastic or no delay), last delayed plastic synapse of each row (its arrivals
# come last), snapshots taken per row, arrivals delivered per column, ``ring[k % cap,
# column]`` the weight of the row's ``k``-th snapshot. ``dflag[0] = 1`` asks the caller to
# double the ring before the next event (a row has half of it in flight); ``dflag[1] = 1``
# records an overflow (a row emitting more spikes within one event than the other half
# holds: only a neuron without refractory period that re-fires at the same instant can),
# which the engine reports as an error.
# ----------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def ev_emit(eplas, edly, pre, t, sw, indptr, sidx):
    """A spike of global index ``pre`` at ``t``: snapshot and depress its delayed plastic
    synapses."""
    dpos, dlast, dhead, dread, ring, dflag = edly
    if dlast.shape[0] == 0 or dlast[pre] < 0:
        return
    cap = ring.shape[0]
    k = dhead[pre]
    if k - dread[dpos[dlast[pre]]] >= cap:
        dflag[1] = 1  # full: more spikes of one row in one event than half the ring
    slot = k % cap
    for q in range(indptr[pre], indptr[pre + 1]):
        c = dpos[q]
        if c < 0:
            continue
        ev_sync(eplas, q, t, sw)
        ring[slot, c] = sw[q]
        ev_depress(eplas, q, pre, np.int64(sidx[q]), t, sw)
    dhead[pre] = k + 1
    if 2 * (k + 1 - dread[dpos[dlast[pre]]]) >= cap:
        dflag[0] = 1


@njit(cache=True, nogil=True)
def ev_delayed_w(edly, q):
    """Weight that the arriving spike carries over synapse ``q`` (its value at emission), or
    NaN when ``q`` is not a delayed plastic synapse (read ``sw[q]`` then)."""
    dpos, dlast, dhead, dread, ring, dflag = edly
    if dpos.shape[0] == 0:
        return np.nan
    c = dpos[q]
    if c < 0:
        return np.nan
    k = dread[c]
    dread[c] = k + 1
    return ring[k % ring.shape[0], c]


@njit(cache=True)
def grow_ring(edly, indptr):
    """Double the snapshot ring, keeping every snapshot still in flight at its slot."""
    dpos, dlast, dhead, dread, ring, dflag = edly
    cap = ring.shape[0]
    ring2 = np.zeros((2 * cap, ring.shape[1]))
    for pre in range(dlast.shape[0]):
        if dlast[pre] < 0:
            continue
        for q in range(indptr[pre], indptr[pre + 1]):
            c = dpos[q]
            if c < 0:
                continue
            for k in range(dread[c], dhead[pre]):
                ring2[k % (2 * cap), c] = ring[k % cap, c]
    dflag[0] = 0
    return (dpos, dlast, dhead, dread, ring2, dflag)
