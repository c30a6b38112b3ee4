"""numba kernels of the clock-driven engine.

All neurons of all neuron nodes live in one flat index space ``[0, N)`` (group ``g`` owns
``gstart[g]:gstart[g+1]``); input channels follow at ``[N, N + N_in)``. Every projection is
merged into one CSR over presynaptic indices with a per-synapse target port and delay (in
steps). The ring buffer ``buf[L, P, B, N]`` holds what arrives in each future step.

Order inside step ``n`` (absolute), for each batch entry:

1. arrivals of slot ``n % L`` (plus per-step projection biases) are taken; current-based
   groups add them to their currents *before* the exact propagation over the step
   (Brian2's order); delta-synapse groups add ``r * x`` to ``v`` *after* it;
2. refractory neurons hold ``v = v_reset`` (delta inputs are dropped; currents evolve); the
   refractory counter set at a spike to ``round(refractory/dt)`` holds that many steps. With a
   firing block (``CobaLIF.fire_block``; ``blocksteps = max(refsteps, round(fire_block/dt))``)
   the counter is set to ``blocksteps`` instead: while it is above ``blocksteps - refsteps``
   the membrane is held, below that it integrates, and the neuron can fire again once the
   counter is 0 (``blocksteps == refsteps``: the usual refractory period);
3. threshold ``v >= v_threshold + a`` and reset (to a value, or by subtraction);
4. spikes of step ``n`` (neurons, then inputs) are delivered to slot ``(n + 1 + delay) % L``:
   a delay of 0 acts from step ``n + 1`` on (Brian2's meaning). When every synapse has delay 0
   and targets a current-based group, spikes are added straight to the synaptic currents at
   the end of step ``n`` (the same arithmetic, without the ring buffer).

Threads: the neurons are cut into ``T`` contiguous blocks; each step, one parallel pass
updates the blocks and one parallel pass delivers spikes, thread ``t`` writing only the
synapses whose target lies in block ``t`` (the CSR is partitioned by target block:
``pstart[pre, t]:pstart[pre, t+1]``), so no two threads write the same memory and the result
is identical to the serial kernel.

Kernels are plain functions on arrays, compiled lazily with ``cache=True``; their slow,
obviously correct twin is ``tests/naive_clock.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

KIND_DELTA = 0   # LIF, IF, AdaptiveLIF, LI: delta synapses
KIND_CUBA = 1    # CubaLIF, CubaLI: exponential currents
KIND_COBA = 2    # CobaLIF: exponential conductances


@njit(cache=True, nogil=True, inline="always")
def _fire(b, i, fired_b, fired_i, nf, spike_count):
    # spike_count is updated from the fired list in _after_update (keeps the update loop
    # free of scattered stores)
    fired_b[nf] = b
    fired_i[nf] = i
    return nf + 1


_CH = 256  # neurons per chunk of the homogeneous fast path

#: Decayed synaptic currents/conductances below this magnitude are set to 0. Without it a
#: current that stops receiving input decays into the subnormal range and, for a decay
#: factor above 1/2 per step, sticks at the smallest subnormal (5e-324 * 0.6 rounds back to
#: 5e-324) forever; arithmetic on subnormals is many times slower on x86 (in an ad-hoc
#: timing a quiet conductance-based network ran about 1.9x slower per step). A current of
#: 1e-300 changes no membrane potential representable next to a threshold.
_TINY = 1e-300


@njit(cache=True, nogil=True, inline="always")
def _ftz(x):
    """``x``, or 0 when ``|x| < _TINY`` (branch-free, vectorises)."""
    return x if abs(x) >= _TINY else 0.0


@njit(cache=True, nogil=True, inline="always")
def _thr(vi, r, spk, mode, th, vr, rs):
    """Refractory hold, threshold and reset of one neuron without branches (so that the
    update loops vectorise): returns (v, refractory counter, fired)."""
    ref = r > 0
    fire = (vi >= th) & (not ref) & spk
    vo = vr if ref else vi
    vf = vr if mode == 0 else vi - (th - vr)
    vo = vf if fire else vo
    ro = rs if fire else (r - 1 if ref else r)
    return vo, ro, fire


@njit(cache=True, nogil=True)
def _fast_group(kind, np_, spk, mode, i0, i1, b, slot, direct, has_pbias, st, a_, b_, r_, th,
                vr, rs, pc, pd, pbias, fired_b, fired_i, nf, flag):
    """Homogeneous group (scalar parameters). Neurons go in chunks of ``_CH``: one branch-free
    pass updates, thresholds and resets the chunk (a SIMD loop on 0-based views, so indices
    are provably non-negative) and flags the spikes; a second pass, only when the chunk has a
    spike, appends them in index order. ``same`` counts updates that left v unchanged."""
    v, cur, refc, ath, buf, spike_count, mu_count = st
    same = 0
    for c0 in range(i0, i1, _CH):
        c1 = min(c0 + _CH, i1)
        m = c1 - c0
        vv = v[b, c0:c1]
        rc = refc[b, c0:c1]
        nspk = 0
        if kind == KIND_DELTA:
            x0 = buf[slot, 0, b, c0:c1]
            pb0 = pbias[0, c0:c1]
            for j in range(m):
                v_old = vv[j]
                x = x0[j]
                x0[j] = 0
                if has_pbias:
                    x += pb0[j]
                vi, rc[j], f = _thr(a_ * v_old + b_ + r_ * x, rc[j], spk, mode, th, vr, rs)
                flag[j] = f
                nspk += f
                same += vi == v_old
                vv[j] = vi
        elif np_ == 2:
            cc0 = pc[0]
            cc1 = pc[1]
            d0 = pd[0]
            d1 = pd[1]
            cu0 = cur[0, b, c0:c1]
            cu1 = cur[1, b, c0:c1]
            if direct and not has_pbias:
                # the common case (e.g. CUBA): inputs already added to the currents
                for j in range(m):
                    v_old = vv[j]
                    x = cu0[j]
                    y = cu1[j]
                    vi, rc[j], f = _thr(a_ * v_old + b_ + cc0 * x + cc1 * y, rc[j], spk, mode,
                                        th, vr, rs)
                    cu0[j] = _ftz(x * d0)
                    cu1[j] = _ftz(y * d1)
                    flag[j] = f
                    nspk += f
                    same += vi == v_old
                    vv[j] = vi
            else:
                x0 = buf[slot, 0, b, c0:c1]
                x1 = buf[slot, 1, b, c0:c1]
                pb0 = pbias[0, c0:c1]
                pb1 = pbias[1, c0:c1]
                for j in range(m):
                    v_old = vv[j]
                    x = cu0[j]
                    y = cu1[j]
                    if not direct:
                        x += x0[j]
                        y += x1[j]
                        x0[j] = 0
                        x1[j] = 0
                    if has_pbias:
                        x += pb0[j]
                        y += pb1[j]
                    vi, rc[j], f = _thr(a_ * v_old + b_ + cc0 * x + cc1 * y, rc[j], spk, mode,
                                        th, vr, rs)
                    cu0[j] = _ftz(x * d0)
                    cu1[j] = _ftz(y * d1)
                    flag[j] = f
                    nspk += f
                    same += vi == v_old
                    vv[j] = vi
        else:
            for j in range(m):
                i = c0 + j
                v_old = vv[j]
                vi = a_ * v_old + b_
                for k in range(np_):
                    ck = cur[k, b, i]
                    if not direct:
                        ck += buf[slot, k, b, i]
                        buf[slot, k, b, i] = 0
                    if has_pbias:
                        ck += pbias[k, i]
                    vi += pc[k] * ck
                    cur[k, b, i] = _ftz(ck * pd[k])
                vi, rc[j], f = _thr(vi, rc[j], spk, mode, th, vr, rs)
                flag[j] = f
                nspk += f
                same += vi == v_old
                vv[j] = vi
        if nspk:
            for j in range(m):
                if flag[j]:
                    nf = _fire(b, c0 + j, fired_b, fired_i, nf, spike_count)
    return nf, same


@njit(cache=True, nogil=True, _nrt=False)
def _general_group(kind, np_, spk, mode, adapt, i0, i1, b, slot, direct, st, prm, pbias,
                   dt, fired_b, fired_i, nf):
    """Any group (per-neuron parameter arrays, conductances, threshold adaptation, firing
    block)."""
    v, cur, refc, ath, buf, spike_count, mu_count = st
    (pa, pb, pc, pd, pr, vth, vreset, refsteps, ad_decay, ad_delta,
     coba_m, coba_e, coba_vinf_num, taum_inv, blocksteps) = prm
    same = 0
    for i in range(i0, i1):
        v_old = v[b, i]
        if kind == KIND_DELTA:
            x = buf[slot, 0, b, i] + pbias[0, i]
            buf[slot, 0, b, i] = 0
            vi = pa[i] * v_old + pb[i] + pr[i] * x
        elif kind == KIND_CUBA:
            vi = pa[i] * v_old + pb[i]
            for k in range(np_):
                ck = cur[k, b, i] + pbias[k, i]
                if not direct:
                    ck += buf[slot, k, b, i]
                    buf[slot, k, b, i] = 0
                vi += pc[k, i] * ck
                cur[k, b, i] = _ftz(ck * pd[k, i])
        elif np_ == 2 and direct:  # KIND_COBA, two ports, inputs already in cur (common)
            g0 = cur[0, b, i] + pbias[0, i]
            g1 = cur[1, b, i] + pbias[1, i]
            gm0 = g0 * coba_m[0, i]
            gm1 = g1 * coba_m[1, i]
            cur[0, b, i] = _ftz(g0 * pd[0, i])
            cur[1, b, i] = _ftz(g1 * pd[1, i])
            if gm0 == 0.0 and gm1 == 0.0:  # no conductance: the leak alone (pa = its decay)
                vinf = coba_vinf_num[i]
                vi = vinf + (v_old - vinf) * pa[i]
            else:
                gsum = 1.0 + gm0 + gm1
                vinf = (coba_vinf_num[i] + gm0 * coba_e[0, i] + gm1 * coba_e[1, i]) / gsum
                vi = vinf + (v_old - vinf) * np.exp(-dt * gsum * taum_inv[i])
        else:  # KIND_COBA: each conductance replaced by its exact mean over the step
            gsum = 1.0
            num = coba_vinf_num[i]
            for k in range(np_):
                gk = cur[k, b, i] + pbias[k, i]
                if not direct:
                    gk += buf[slot, k, b, i]
                    buf[slot, k, b, i] = 0
                gm = gk * coba_m[k, i]
                gsum += gm
                num += gm * coba_e[k, i]
                cur[k, b, i] = _ftz(gk * pd[k, i])
            vinf = num / gsum
            if gsum == 1.0:  # no conductance: the leak alone (pa = its decay)
                vi = vinf + (v_old - vinf) * pa[i]
            else:
                vi = vinf + (v_old - vinf) * np.exp(-dt * gsum * taum_inv[i])
        if adapt:
            ath[b, i] *= ad_decay[i]
        if spk:
            rc = refc[b, i]
            if rc > 0:
                refc[b, i] = rc - 1
                if rc > blocksteps[i] - refsteps[i]:  # held (else: blocked, integrating)
                    vi = vreset[i]
            else:
                th = vth[i] + ath[b, i]
                if vi >= th:
                    vi = vreset[i] if mode == 0 else vi - (th - vreset[i])
                    refc[b, i] = blocksteps[i]
                    if adapt:
                        ath[b, i] += ad_delta[i]
                    nf = _fire(b, i, fired_b, fired_i, nf, spike_count)
        same += vi == v_old
        v[b, i] = vi
    return nf, same


@njit(cache=True, nogil=True, _nrt=False)
def _update_block(t, lo, hi, batch, slot, direct, has_pbias, st, grp, prm, pbias, dt,
                  fired_b, fired_i, flag):
    """Update neurons ``[lo, hi)`` of every batch entry (thread ``t``); returns the number of
    spikes, whose (batch, index) are written to ``fired_b``/``fired_i``. Updates that left
    ``v`` unchanged are subtracted from ``mu_count[t, group]``."""
    mu_count = st[6]
    gstart, gkind, gspiking, greset, gadapt, gnports, guni = grp
    pa, pb, pc, pd, pr, vth, vreset, refsteps = prm[0], prm[1], prm[2], prm[3], prm[4], prm[5], prm[6], prm[7]
    nf = np.int64(0)
    G = gstart.shape[0] - 1
    for b in range(batch):
        for g in range(G):
            i0 = max(gstart[g], lo)
            i1 = min(gstart[g + 1], hi)
            if i1 <= i0:
                continue
            kind = gkind[g]
            if guni[g] and kind != KIND_COBA and not gadapt[g]:
                k0 = gstart[g]
                nf, same = _fast_group(kind, gnports[g], gspiking[g], greset[g], i0, i1, b, slot,
                                 direct, has_pbias, st, pa[k0], pb[k0], pr[k0], vth[k0],
                                 vreset[k0], refsteps[k0], pc[:, k0], pd[:, k0], pbias,
                                 fired_b, fired_i, nf, flag)
            else:
                nf, same = _general_group(kind, gnports[g], gspiking[g], greset[g], gadapt[g], i0, i1,
                                    b, slot, direct, st, prm, pbias, dt, fired_b, fired_i, nf)
            mu_count[t, g] -= same
    return nf


@njit(cache=True, nogil=True, _nrt=False)
def _dense_on(fired_i, nf, batch, dense, on, cnt):
    """Flag in ``on`` (scratch ``cnt``, both [D]) the dense projections delivered by a matrix
    product this step: those with at least ``min_activity`` of their sources (over the
    batch) among the ``nf`` spikes. Returns whether any is flagged."""
    dense_of, dsrc, dport, dcols, dwoff, dw, min_act = dense
    D = dsrc.shape[0]
    if D == 0:
        return False
    for d in range(D):
        cnt[d] = 0
    for f in range(nf):
        d = dense_of[fired_i[f]]
        if d >= 0:
            cnt[d] += 1
    any_on = False
    for d in range(D):
        on[d] = cnt[d] > 0 and cnt[d] >= min_act * batch * dsrc[d, 1]
        any_on |= on[d]
    return any_on


@njit(cache=True, nogil=True)
def _deliver_dense(t, n, L, direct, fired_b, fired_i, fired_v, nf, st, dense, on):
    """Deliver the spikes of the projections flagged in ``on`` to target block ``t`` as
    ``S @ W`` (BLAS): ``S[b, j]`` is the value of source ``j``'s spike in batch entry ``b``."""
    v, cur, refc, ath, buf, spike_count, mu_count = st
    dense_of, dsrc, dport, dcols, dwoff, dw, min_act = dense
    B = v.shape[0]
    slot = (n + 1) % L
    for d in range(dsrc.shape[0]):
        if not on[d]:
            continue
        c0 = dcols[d, t, 0]
        c1 = dcols[d, t, 1]
        if c1 <= c0:
            continue
        s0 = dsrc[d, 0]
        ns = dsrc[d, 1]
        nc = c1 - c0
        S = np.zeros((B, ns), dtype=dw.dtype)
        for f in range(nf):
            j = fired_i[f] - s0
            if j >= 0 and j < ns:
                S[fired_b[f], j] = fired_v[f]
        W = dw[dwoff[d, t]:dwoff[d, t] + ns * nc].reshape((ns, nc))
        Y = np.dot(S, W)
        p = dport[d]
        for b in range(B):
            if direct:
                tgt = cur[p, b, c0:c1]
            else:
                tgt = buf[slot, p, b, c0:c1]
            yb = Y[b]
            for j in range(nc):
                tgt[j] += yb[j]


@njit(cache=True, nogil=True, _nrt=False)
def _deliver_rows(t, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, st, syn,
                  dense_of, on, any_on):
    """Deliver ``nf`` fired (batch, pre, value) row by row to the synapses of target block
    ``t``, skipping the sources of the dense projections flagged in ``on`` (delivered by
    :func:`_deliver_dense`)."""
    v, cur, refc, ath, buf, spike_count, mu_count = st
    pstart, sidx, sw, sdly, sport = syn
    base = (n + 1) % L
    t_u = base + uniform_delay
    if t_u >= L:
        t_u -= L
    for f in range(nf):
        b = fired_b[f]
        pre = fired_i[f]
        if any_on:
            d = dense_of[pre]
            if d >= 0 and on[d]:
                continue
        val = fired_v[f]
        q0 = pstart[pre, t]
        q1 = pstart[pre, t + 1]
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


@njit(cache=True, nogil=True)
def _deliver(t, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, st, syn, dense,
             on, any_on):
    """Deliver ``nf`` fired (batch, pre, value) to the synapses of target block ``t``: the
    dense projections flagged in ``on`` (:func:`_dense_on`) as one matrix product, the rest
    row by row."""
    if any_on:
        _deliver_dense(t, n, L, direct, fired_b, fired_i, fired_v, nf, st, dense, on)
    _deliver_rows(t, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, st, syn,
                  dense[0], on, any_on)


@njit(cache=True, nogil=True, _nrt=False)
def _after_update(n, nf, fired_b, fired_i, fired_v, ev_ptr, ev, rec, n_rec, spike_count):
    """Record neuron spikes, then append the input events of step ``n``; returns the new
    (nf, ev_ptr, n_rec)."""
    ev_step, ev_b, ev_i, ev_v = ev
    rec_mask, rec_step, rec_b, rec_i = rec
    for f in range(nf):
        fired_v[f] = 1.0
        spike_count[fired_b[f], fired_i[f]] += 1
        if rec_mask[fired_i[f]]:
            rec_step[n_rec] = n
            rec_b[n_rec] = fired_b[f]
            rec_i[n_rec] = fired_i[f]
            n_rec += 1
    nev = ev_step.shape[0]
    while ev_ptr < nev and ev_step[ev_ptr] < n:
        ev_ptr += 1
    while ev_ptr < nev and ev_step[ev_ptr] == n:
        fired_b[nf] = ev_b[ev_ptr]
        fired_i[nf] = ev_i[ev_ptr]
        fired_v[nf] = ev_v[ev_ptr]
        spike_count[ev_b[ev_ptr], ev_i[ev_ptr]] += 1
        nf += 1
        ev_ptr += 1
    return nf, ev_ptr, n_rec


@njit(cache=True, nogil=True, _nrt=False)
def _monitor(n, batch, mon_idx, mon_every, mon_out, n_mon, st):
    v, cur, refc, ath, buf, spike_count, mu_count = st
    if mon_every > 0 and (n + 1) % mon_every == 0 and mon_idx.shape[0] > 0:
        P = cur.shape[0]
        for b in range(batch):
            for m in range(mon_idx.shape[0]):
                i = mon_idx[m]
                mon_out[n_mon, b, m, 0] = v[b, i]
                mon_out[n_mon, b, m, 1] = ath[b, i]
                for k in range(P):
                    mon_out[n_mon, b, m, 2 + k] = cur[k, b, i]
        n_mon += 1
    return n_mon


@njit(cache=True, nogil=True)
def fired_buffers(batch, n_neurons, n_events, dtype):
    """Scratch lists of one step's spikes (batch, index, value), large enough for every
    neuron of every batch entry plus every input event of the chunk."""
    cap = batch * n_neurons + n_events + 1
    return (np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64),
            np.ones(cap, dtype=dtype))


@njit(cache=True, nogil=True)
def dense_scratch(dense):
    """Scratch of :func:`_dense_on`: the per-step flags of the dense projections and their
    spike counts."""
    D = dense[1].shape[0]
    return np.zeros(D, dtype=np.bool_), np.zeros(D, dtype=np.int64)


@njit(cache=True, nogil=True)
def group_flags(T):
    """Per-thread scratch of :func:`_fast_group` (spike flags of one chunk of neurons),
    allocated once per call of a step loop rather than once per group and step."""
    return np.empty((T, _CH), dtype=np.bool_)


@njit(cache=True, nogil=True)
def thread_lists(T, cap):
    """Per-thread spike lists ``(tb, ti, tn)``: batch and index of up to ``cap`` spikes of
    each of ``T`` threads, and their counts."""
    return (np.empty((T, cap), dtype=np.int64), np.empty((T, cap), dtype=np.int64),
            np.zeros(T, dtype=np.int64))


@njit(cache=True, nogil=True)
def merge_thread_lists(tl, fired_b, fired_i):
    """Concatenate the per-thread spike lists in block order (the serial order, seen from
    each target) into ``fired_b``/``fired_i``; returns their number."""
    tb, ti, tn = tl
    nf = np.int64(0)
    for t in range(tn.shape[0]):
        for f in range(tn[t]):
            fired_b[nf] = tb[t, f]
            fired_i[nf] = ti[t, f]
            nf += 1
    return nf


@njit(cache=True, nogil=True)
def run_chunk(n0, nsteps, batch, st, grp, prm, dt, pbias, has_pbias, direct, uniform_delay,
              syn, ev, rec, rec_cap, mon_idx, mon_every, mon_out, dense):
    """Advance ``nsteps`` steps from absolute step ``n0`` on one thread.

    ``st = (v, cur, refc, ath, buf, spike_count, mu_count)`` is updated in place.
    Returns ``(steps_done, n_recorded, n_monitor_records)``; ``steps_done < nsteps`` only when
    the spike record buffer could overflow (the caller grows it and calls again).
    ``mu_count[thread, group]`` is *decremented* for each update that left ``v`` unchanged (the
    caller adds the number of updates), so NeuroBench's membrane updates cost no store.
    """
    v = st[0]
    buf = st[4]
    L = buf.shape[0]
    N = v.shape[1]
    fired_b, fired_i, fired_v = fired_buffers(batch, N, ev[0].shape[0], buf.dtype)
    flags = group_flags(1)
    on, cnt = dense_scratch(dense)
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
        any_on = _dense_on(fired_i, nf, batch, dense, on, cnt)
        if any_on:
            _deliver_dense(0, n, L, direct, fired_b, fired_i, fired_v, nf, st, dense, on)
        _deliver_rows(0, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, st, syn,
                      dense[0], on, any_on)
        n_mon = _monitor(n, batch, mon_idx, mon_every, mon_out, n_mon, st)
    return nsteps, n_rec, n_mon


@njit(cache=True, nogil=True)
def _monitor_due(n, mon_idx, mon_every):
    return mon_every > 0 and (n + 1) % mon_every == 0 and mon_idx.shape[0] > 0


@njit(cache=True, nogil=True, parallel=True)
def _deliver_all(T, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, st, syn, dense,
                 on, cnt):
    any_on = _dense_on(fired_i, nf, st[0].shape[0], dense, on, cnt)
    for t in prange(T):
        _deliver(t, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, nf, st, syn, dense,
                 on, any_on)


@njit(cache=True, nogil=True, parallel=True)
def run_chunk_parallel(n0, nsteps, batch, st, grp, prm, dt, pbias, has_pbias, direct,
                       uniform_delay, syn, ev, rec, rec_cap, mon_idx, mon_every, mon_out, dense,
                       blocks):
    """:func:`run_chunk` with the neurons cut into ``len(blocks) - 1`` blocks, one per
    thread (``blocks`` are the block boundaries; the CSR in ``syn`` is partitioned the same
    way). Same results as the serial kernel, bit for bit.

    One parallel region per step: thread ``t`` first delivers the spikes of step ``n - 1`` to
    the targets in its block, then updates its block for step ``n`` (the serial kernel's
    order, seen from each target). Before a monitor sample, an early return and at the end of
    the chunk the pending spikes are delivered at once, so the state is always complete."""
    v = st[0]
    buf = st[4]
    L = buf.shape[0]
    N = v.shape[1]
    T = blocks.shape[0] - 1
    fired_b, fired_i, fired_v = fired_buffers(batch, N, ev[0].shape[0], buf.dtype)
    flags = group_flags(T)
    on, cnt = dense_scratch(dense)
    tl = thread_lists(T, fired_b.shape[0])
    tb, ti, tn = tl
    n_rec = np.int64(0)
    n_mon = np.int64(0)
    ev_ptr = np.int64(0)
    pending = np.int64(0)  # spikes of step n - 1 not yet delivered
    for s in range(nsteps):
        n = n0 + s
        if n_rec + batch * N > rec_cap:
            if pending > 0:
                _deliver_all(T, n - 1, L, direct, uniform_delay, fired_b, fired_i, fired_v,
                             pending, st, syn, dense, on, cnt)
            return s, n_rec, n_mon
        slot = n % L
        any_on = _dense_on(fired_i, pending, batch, dense, on, cnt)
        for t in prange(T):
            if pending > 0:
                _deliver(t, n - 1, L, direct, uniform_delay, fired_b, fired_i, fired_v, pending,
                         st, syn, dense, on, any_on)
            tn[t] = _update_block(t, blocks[t], blocks[t + 1], batch, slot, direct, has_pbias, st,
                                  grp, prm, pbias, dt, tb[t], ti[t], flags[t])
        nf = merge_thread_lists(tl, fired_b, fired_i)
        nf, ev_ptr, n_rec = _after_update(n, nf, fired_b, fired_i, fired_v, ev_ptr, ev, rec,
                                          n_rec, st[5])
        pending = nf
        if pending > 0 and (s == nsteps - 1 or _monitor_due(n, mon_idx, mon_every)):
            _deliver_all(T, n, L, direct, uniform_delay, fired_b, fired_i, fired_v, pending, st,
                         syn, dense, on, cnt)
            pending = 0
        n_mon = _monitor(n, batch, mon_idx, mon_every, mon_out, n_mon, st)
    return nsteps, n_rec, n_mon


@njit(cache=True, nogil=True)
def scale_incoming(sw, pos, post, total, n):
    """Scale the synapses ``sw[pos]`` (targets ``post``, indices < ``n``) so that the weights
    into each target sum to ``total`` (targets whose weights sum to 0 are left alone)."""
    s = np.zeros(n)
    for k in range(pos.shape[0]):
        s[post[k]] += sw[pos[k]]
    for j in range(n):
        s[j] = total / s[j] if s[j] != 0.0 else 1.0
    for k in range(pos.shape[0]):
        sw[pos[k]] *= s[post[k]]
