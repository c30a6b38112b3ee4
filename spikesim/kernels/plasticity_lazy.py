"""numba kernels of the clock engine's plasticity for pair STDP with additive weight
dependence (no reward): lazy potentiation, the weights of
:func:`spikesim.kernels.plasticity.run_chunk_learn` bit for bit without its scattered writes.
Used by :class:`spikesim.learn._clock.ClockLearning` when every plastic projection has such
a rule.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from spikesim.kernels.clock import (_after_update, _monitor, _update_block, fired_buffers,
                                     group_flags, merge_thread_lists, thread_lists)
from spikesim.kernels.plasticity import _bump, _change, _rd


# ----------------------------------------------------------------------------------------
# Lazy potentiation (pair STDP with additive weight dependence, no reward): the weights of
# the eager kernels (spikesim.kernels.plasticity), bit for bit, without their scattered writes.
#
# A synapse is depressed only when its presynaptic neuron spikes and its potentiation does
# not depend on its weight (additive), so the potentiations a synapse takes between two
# spikes of its presynaptic neuron can wait until the second one, as long as they are then
# applied in their order. So a postsynaptic spike at step ``s`` is only listed
# (``ring[j, :cnt[j]]``) instead of touching every input synapse. When presynaptic neuron
# ``i`` (last spike at step ``m``, trace ``x = r1`` after it) spikes at step ``n``, each of
# its plastic synapses ``i -> j`` first takes the potentiations ``A+ x d**(s - m)`` of the
# listed spikes ``m < s < n``, oldest first (the eager kernel's arithmetic and clipping,
# :func:`_rd` and :func:`_change`), is delivered, is depressed as before, and is potentiated
# if ``j`` spiked at step ``n`` too. A full list is applied to all input synapses of ``j`` (CSC
# order, as the eager kernel does at every spike) and emptied (:func:`_lazy_flush_neuron`),
# so a listed spike is pending exactly for the input synapses whose presynaptic neuron has
# not spiked since; :func:`lazy_flush` empties every list (the engine calls it at the end of
# a run and before weights are read). A step in which one presynaptic index fires twice
# (duplicate input events) runs in the eager order: the lists of that step's spiking neurons
# are applied first, their spikes potentiate at once. The twin is ``tests/naive_learn.py``.
#
# Speed (CUBA, ``spikesim bench cuba --stdp``; each presynaptic spike reaches ~80 random
# targets, so the cost is the cache lines read per synapse and the mispredicted branches):
# - the newest listed spikes of ``j`` are also kept in ``nw[j]`` (newest first, ``-1``: none;
#   4 of them, 32 bytes): the pending spikes of a synapse are the entries ``> m``, so the
#   list itself is read only when all of ``nw[j]`` is pending;
# - the common case, exactly one pending spike (the newest, not at ``n``), is computed for
#   every synapse and kept by a select (no branch); several go through a short loop;
# - a row of synapses of one presynaptic neuron into one thread block that all have one
#   rule and one port (``rrow[pre, t] >= 0``, ``rport``; the rest run :func:`_row_mixed`)
#   is delivered by :func:`_row_one_rule` with the rule's parameters, table rows and the
#   target row hoisted, reading ``o1`` and ``tpost`` from their copy ``pk[r, j]`` (one cache
#   line per target; synced at chunk start and after each step's trace bump);
# - the powers ``d**k`` come from a table up to k = 65535 (:func:`spikesim.learn._clock.
#   decay_table`, numba's own repeated squaring beyond numpy's 4096), so long gaps cost no
#   ``pow``;
# - no helper that takes arrays is inlined into or called from the per-synapse loops
#   (numba then puts reference counting, atomic operations, on each iteration): the
#   potentiation ``w = clip(w + (x d**k) A+)`` is written out where it is needed.
# ----------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _clip(w, lo, hi):
    """The clipping of :func:`_change` (scalars only, so inlining adds no reference counting
    to a loop)."""
    if w > hi:
        w = hi
    elif w < lo:
        w = lo
    return w


@njit(cache=True, nogil=True)
def _lazy_flush_neuron(j, plas, sw, ring, cnt, nw):
    """Apply the listed postsynaptic spikes of neuron ``j`` to all its plastic input
    synapses and empty its list."""
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    c = cnt[j]
    if c == 0:
        return
    for k in range(cptr[j], cptr[j + 1]):
        r = crule[k]
        i = cpre[k]
        x = r1[r, i]
        if x == 0.0:
            continue
        m = tpre[r, i]
        h0 = c
        while h0 > 0 and ring[j, h0 - 1] > m:
            h0 -= 1
        if h0 < c:
            q = cq[k]
            w = sw[q]
            for h in range(h0, c):
                k = ring[j, h] - m
                g = ptab[r, 0, k] if k < ptab.shape[2] else rp[r, 5] ** k
                w = _clip(w + (x * g) * rp[r, 1], rp[r, 11], rp[r, 12])
            sw[q] = w
    cnt[j] = 0
    nw[j, :] = -1


@njit(cache=True, nogil=True)
def lazy_flush(plas, sw, lz):
    """Apply every pending potentiation (all lists emptied)."""
    ring, cnt, nw = lz[0], lz[1], lz[4]
    for j in range(cnt.shape[0]):
        if cnt[j] > 0:
            _lazy_flush_neuron(j, plas, sw, ring, cnt, nw)


@njit(cache=True, nogil=True, _nrt=False)
def _lazy_mark(n, nf, fired_i, lz):
    """``first[f]`` tells whether event ``f`` is the first of its index in step ``n``
    (``seen[i]``: the last step index ``i`` fired in); returns True if an index fires twice
    (the step then runs in the eager order)."""
    first, seen = lz[2], lz[3]
    dup = False
    for f in range(nf):
        i = fired_i[f]
        if seen[i] == n:
            first[f] = False
            dup = True
        else:
            seen[i] = n
            first[f] = True
    return dup


@njit(cache=True, nogil=True)
def _pending(w, x, m, post, n, ring, cnt, ptab, r, rp):
    """Apply the listed spikes of ``post`` after ``m`` but before ``n`` to ``w`` (oldest
    first); returns ``(w, k)`` with ``k = n - m`` if ``post`` spiked at ``n`` (applied after
    the depression), else ``-1``. (Not inlined: numba's inlining would put reference
    counting of the arrays into the callers' loops.)"""
    now = -1
    c = cnt[post]
    h0 = c
    while h0 > 0 and ring[post, h0 - 1] > m:
        h0 -= 1
    for h in range(h0, c):
        s = ring[post, h]
        if s == n:  # the newest entry: applied after the depression
            now = n - m
        else:
            k = s - m
            g = ptab[r, 0, k] if k < ptab.shape[2] else rp[r, 5] ** k
            w = _clip(w + (x * g) * rp[r, 1], rp[r, 11], rp[r, 12])
    return w, now


@njit(cache=True, nogil=True)
def _row_one_rule(tb, q0, q1, pre, val, pend, n, r, sidx, sw, plas, ring, cnt, nw, pk):
    """Deliver the synapses ``q0:q1`` of ``pre`` (all of rule ``r``, one port) into ``tb``
    with their pending potentiation first, depress them, and potentiate for a postsynaptic
    spike at ``n``: :func:`_row_mixed` with the rule's parameters and rows hoisted, and
    ``o1``/``tpost`` read from their copy ``pk`` (one cache line per target)."""
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    x = r1[r, pre]
    m = tpre[r, pre]
    pend = pend and x != 0.0
    a_p = rp[r, 1]
    a_m = rp[r, 3]
    w_lo = rp[r, 11]
    w_hi = rp[r, 12]
    d_p = rp[r, 5]
    d_o = rp[r, 7]
    K = ptab.shape[2]
    pt_p = ptab[r, 0]
    pt_o = ptab[r, 0] if d_o == d_p else ptab[r, 2]  # the same row if the decays agree
    pkr = pk[r]
    last = nw.shape[1] - 1
    for q in range(q0, q1):
        post = sidx[q]
        w = sw[q]
        tp = np.int64(pkr[post, 1])  # the last spike of post before step n
        now = -1
        if pend:
            s1 = nw[post, 0]  # the newest listed spike of post (-1: none)
            s2 = nw[post, 1]  # the second newest
            one = (s1 > m) & (s2 <= m) & (s1 != n)
            # one pending potentiation, the newest entry: computed in any case, kept if
            # ``one`` (a select, not a branch)
            k = (s1 - m) * one
            g = pt_p[k] if k < K else d_p ** k
            wp = _clip(w + (x * g) * a_p, w_lo, w_hi)
            w = wp if one else w
            if s1 > m and not one:  # several, or post spikes at n
                if nw[post, last] > m:  # maybe more than those in nw: scan the list
                    w, now = _pending(w, x, m, post, n, ring, cnt, ptab, r, rp)
                else:  # all pending ones are in nw: _pending without the list
                    h = last - 1
                    while nw[post, h] <= m:
                        h -= 1
                    while h >= 0:
                        s = nw[post, h]
                        if s == n:
                            now = n - m
                        else:
                            k = s - m
                            g = pt_p[k] if k < K else d_p ** k
                            w = _clip(w + (x * g) * a_p, w_lo, w_hi)
                        h -= 1
        tb[post] += w * val
        y = pkr[post, 0]
        if y != 0.0:
            k = n - tp
            y = y * pt_o[k] if k < K else y * d_o ** k
            if y != 0.0:
                w -= y * a_m
                if w < w_lo:
                    w = w_lo
                elif w > w_hi:
                    w = w_hi
        if now >= 0:  # the potentiation of a spike of post at n
            g = pt_p[now] if now < K else d_p ** now
            w = _clip(w + (x * g) * a_p, w_lo, w_hi)
        sw[q] = w


@njit(cache=True, nogil=True)
def _row_mixed(t, q0, q1, b, pre, val, pend, n, L, direct, uniform_delay, cur, buf, syn, plas,
               ring, cnt, nw):
    """Deliver the synapses ``q0:q1`` of ``pre`` (any rules, fixed ones too, any delays)."""
    pstart, sidx, sw, sdly, sport = syn
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    base = (n + 1) % L
    t_u = base + uniform_delay
    if t_u >= L:
        t_u -= L
    nup = 0
    for q in range(q0, q1):
        post = sidx[q]
        r = np.int64(srule[q])
        w = sw[q]
        now = -1
        tp = 0
        if r >= 0:
            x = r1[r, pre]
            tp = tpost[r, post]  # the last spike of post before step n
            if pend and x != 0.0:
                m = tpre[r, pre]
                s1 = nw[post, 0]
                one = (s1 > m) & (nw[post, 1] <= m) & (s1 != n)
                k = (s1 - m) * one
                g = ptab[r, 0, k] if k < ptab.shape[2] else rp[r, 5] ** k
                wp = _clip(w + (x * g) * rp[r, 1], rp[r, 11], rp[r, 12])
                w = wp if one else w
                if s1 > m and not one:
                    w, now = _pending(w, x, m, post, n, ring, cnt, ptab, r, rp)
        if direct:
            cur[sport[q], b, post] += w * val
        else:
            tt = t_u
            if uniform_delay < 0:
                tt = base + sdly[q]
                if tt >= L:
                    tt -= L
            buf[tt, sport[q], b, post] += w * val
        if r >= 0:
            y = o1[r, post]  # _rd, written out (see the module comment)
            if y != 0.0:
                k = n - tp
                y = y * ptab[r, 2, k] if k < ptab.shape[2] else y * rp[r, 7] ** k
            if y != 0.0:
                w -= y * rp[r, 3]
                if w < rp[r, 11]:
                    w = rp[r, 11]
                elif w > rp[r, 12]:
                    w = rp[r, 12]
            if now >= 0:
                g = ptab[r, 0, now] if now < ptab.shape[2] else rp[r, 5] ** now
                w = _clip(w + (r1[r, pre] * g) * rp[r, 1], rp[r, 11], rp[r, 12])
            sw[q] = w
            nup += 1
    return nup


@njit(cache=True, nogil=True, _nrt=False)
def _deliver_lazy(t, lo, hi, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, N, eager,
                  st, syn, plas, lz):
    """:func:`_deliver_learn` for pair STDP with additive dependence (see above): list the
    postsynaptic spikes of block ``t``, then deliver each spike with its synapses' pending
    potentiation applied first, depress, and potentiate for a postsynaptic spike in the
    same step. ``eager``: this step runs in the eager order (nothing is listed).
    ``nw[j]`` the newest listed spikes of ``j``, newest first (``-1``: none); ``rrow[pre, t]``
    the rule of all synapses of ``pre`` into block ``t`` (``-1`` none plastic, ``-2`` mixed
    rules or ports), ``rport[pre, t]`` their port; ``pk[r, j] = (o1[r, j], tpost[r, j])``."""
    v, cur, refc, ath, buf, spike_count, mu_count = st
    pstart, sidx, sw, sdly, sport = syn
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    ring, cnt, first, seen, nw, rrow, rport, pk = lz
    H = ring.shape[1]
    nup = 0
    if eager:  # keep each synapse's order: apply the lists of this step's spiking neurons
        for f in range(nf):
            j = fired_i[f]
            if lo <= j < hi and j < N:
                _lazy_flush_neuron(j, plas, sw, ring, cnt, nw)
    else:
        for f in range(nf):
            j = fired_i[f]
            if j < lo or j >= hi or j >= N:
                continue
            k0 = cptr[j]
            k1 = cptr[j + 1]
            if k1 == k0:
                continue
            nup += k1 - k0
            c = cnt[j]
            if c == H:
                _lazy_flush_neuron(j, plas, sw, ring, cnt, nw)
                c = 0
            for h in range(nw.shape[1] - 1, 0, -1):  # -1 after a flush
                nw[j, h] = nw[j, h - 1]
            nw[j, 0] = n
            ring[j, c] = n
            cnt[j] = c + 1
    base = (n + 1) % L
    t_u = base + uniform_delay
    if t_u >= L:
        t_u -= L
    for f in range(nf):
        b = fired_b[f]
        pre = fired_i[f]
        val = fired_v[f]
        q0 = pstart[pre, t]
        q1 = pstart[pre, t + 1]
        if q1 == q0:
            continue
        r = rrow[pre, t]
        if r == -1:  # no plastic synapse: as the fixed kernel
            if direct:
                for q in range(q0, q1):
                    cur[sport[q], b, sidx[q]] += sw[q] * val
            elif uniform_delay >= 0:
                for q in range(q0, q1):
                    buf[t_u, sport[q], b, sidx[q]] += sw[q] * val
            else:
                for q in range(q0, q1):
                    tt = base + sdly[q]
                    if tt >= L:
                        tt -= L
                    buf[tt, sport[q], b, sidx[q]] += sw[q] * val
        elif r >= 0 and direct:
            _row_one_rule(cur[rport[pre, t], b], q0, q1, pre, val, first[f], n, r, sidx, sw,
                          plas, ring, cnt, nw, pk)
            nup += q1 - q0
        elif r >= 0 and uniform_delay >= 0:
            _row_one_rule(buf[t_u, rport[pre, t], b], q0, q1, pre, val, first[f], n, r, sidx,
                          sw, plas, ring, cnt, nw, pk)
            nup += q1 - q0
        else:
            nup += _row_mixed(t, q0, q1, b, pre, val, first[f], n, L, direct, uniform_delay,
                              cur, buf, syn, plas, ring, cnt, nw)
    if eager:  # the eager potentiation of this step's postsynaptic spikes
        for f in range(nf):
            j = fired_i[f]
            if j < lo or j >= hi or j >= N:
                continue
            for k in range(cptr[j], cptr[j + 1]):
                q = cq[k]
                r = crule[k]
                i = cpre[k]
                x = _rd(r1[r, i], tpre[r, i], n, ptab, r, 0, rp[r, 5])
                if x != 0.0:
                    _change(q, r, x * rp[r, 1], sw, rp, elig)
                nup += 1
    pupd[t] += nup


@njit(cache=True, nogil=True, _nrt=False)
def _lazy_sync(nf, fired_i, plas, pk):
    """Copy ``o1`` and ``tpost`` into ``pk`` (the lazy kernel's reads of them, one cache line
    per target): of the ``nf`` neurons in ``fired_i``, or of all neurons if ``nf < 0``."""
    (srule, cptr, cq, cpre, crule, rp, rrange, r1, r2, o1, o2, tpre, tpost, ptab, elig, dopa, rew,
     rqptr, rqpos, pupd, rtsync, rtref) = plas
    N = pk.shape[1]
    cnt = N if nf < 0 else nf
    for f in range(cnt):
        i = f if nf < 0 else fired_i[f]
        if i >= N:
            continue
        for r in range(pk.shape[0]):
            pk[r, i, 0] = o1[r, i]
            pk[r, i, 1] = tpost[r, i]


@njit(cache=True, nogil=True)
def run_chunk_lazy(n0, nsteps, batch, st, grp, prm, dt, pbias, has_pbias, direct,
                   uniform_delay, syn, ev, rec, rec_cap, mon_idx, mon_every, mon_out, plas, lz):
    """:func:`run_chunk_learn` for rules that are all pair STDP with additive dependence
    (lazy potentiation, see above; ``lz = (ring, cnt, first, seen, nw, rrow, rport, pk)``)."""
    v = st[0]
    buf = st[4]
    L = buf.shape[0]
    N = v.shape[1]
    fired_b, fired_i, fired_v = fired_buffers(batch, N, ev[0].shape[0], buf.dtype)
    flags = group_flags(1)
    lz = (lz[0], lz[1], np.ones(fired_b.shape[0], dtype=np.bool_), lz[3], lz[4], lz[5], lz[6],
          lz[7])
    _lazy_sync(np.int64(-1), fired_i, plas, lz[7])
    n_rec = np.int64(0)
    n_mon = np.int64(0)
    ev_ptr = np.int64(0)
    for s in range(nsteps):
        n = n0 + s
        if n_rec + batch * N > rec_cap:
            return s, n_rec, n_mon
        nf = _update_block(0, 0, N, batch, n % L, direct, has_pbias, st, grp, prm, pbias, dt,
                           fired_b, fired_i, flags[0])
        nf, ev_ptr, n_rec = _after_update(n, nf, fired_b, fired_i, fired_v, ev_ptr, ev, rec,
                                          n_rec, st[5])
        eager = _lazy_mark(n, nf, fired_i, lz)
        _deliver_lazy(0, 0, N, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, N,
                      eager, st, syn, plas, lz)
        _bump(n, fired_i, nf, plas)
        _lazy_sync(nf, fired_i, plas, lz[7])
        n_mon = _monitor(n, batch, mon_idx, mon_every, mon_out, n_mon, st)
    return nsteps, n_rec, n_mon


@njit(cache=True, nogil=True, parallel=True)
def run_chunk_lazy_parallel(n0, nsteps, batch, st, grp, prm, dt, pbias, has_pbias, direct,
                            uniform_delay, syn, ev, rec, rec_cap, mon_idx, mon_every, mon_out,
                            plas, lz, blocks):
    """:func:`run_chunk_lazy` on ``len(blocks) - 1`` threads (thread ``t`` lists, delivers
    to and flushes only the neurons of its block); identical results."""
    v = st[0]
    buf = st[4]
    L = buf.shape[0]
    N = v.shape[1]
    T = blocks.shape[0] - 1
    fired_b, fired_i, fired_v = fired_buffers(batch, N, ev[0].shape[0], buf.dtype)
    flags = group_flags(T)
    lz = (lz[0], lz[1], np.ones(fired_b.shape[0], dtype=np.bool_), lz[3], lz[4], lz[5], lz[6],
          lz[7])
    _lazy_sync(np.int64(-1), fired_i, plas, lz[7])
    tl = thread_lists(T, fired_b.shape[0])
    tb, ti, tn = tl
    n_rec = np.int64(0)
    n_mon = np.int64(0)
    ev_ptr = np.int64(0)
    for s in range(nsteps):
        n = n0 + s
        if n_rec + batch * N > rec_cap:
            return s, n_rec, n_mon
        slot = n % L
        for t in prange(T):
            tn[t] = _update_block(t, blocks[t], blocks[t + 1], batch, slot, direct, has_pbias, st,
                                  grp, prm, pbias, dt, tb[t], ti[t], flags[t])
        nf = merge_thread_lists(tl, fired_b, fired_i)
        nf, ev_ptr, n_rec = _after_update(n, nf, fired_b, fired_i, fired_v, ev_ptr, ev, rec,
                                          n_rec, st[5])
        eager = _lazy_mark(n, nf, fired_i, lz)
        for t in prange(T):
            _deliver_lazy(t, blocks[t], blocks[t + 1], n, L, direct, uniform_delay, fired_b,
                          fired_i, fired_v, nf, N, eager, st, syn, plas, lz)
        _bump(n, fired_i, nf, plas)
        _lazy_sync(nf, fired_i, plas, lz[7])
        n_mon = _monitor(n, batch, mon_idx, mon_every, mon_out, n_mon, st)
    return nsteps, n_rec, n_mon
