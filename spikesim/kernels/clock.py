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
   refractory counter set at a spike to ``round(refractory/dt)`` holds that many steps;
3. threshold ``v >= v_threshold + a`` and reset (to a value, or by subtraction);
4. spikes of step ``n`` (neurons and inputs) are delivered to slot ``(n + 1 + delay) % L``:
   a delay of 0 acts from step ``n + 1`` on (Brian2's meaning).

Kernels are plain functions on arrays, compiled lazily with ``cache=True``; their slow,
obviously correct twin is ``tests/naive_clock.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

KIND_DELTA = 0   # LIF, IF, AdaptiveLIF, LI: delta synapses
KIND_CUBA = 1    # CubaLIF, CubaLI: exponential currents
KIND_COBA = 2    # CobaLIF: exponential conductances


@njit(cache=True, nogil=True)
def run_chunk(n0, nsteps, batch,
              # state
              v, cur, refc, ath,
              # groups
              gstart, gkind, gspiking, greset, gadapt, gnports, guni, has_pbias, direct,
              # per-neuron parameters
              pa, pb, pc, pd, pr, vth, vreset, refsteps, ad_decay, ad_delta,
              coba_m, coba_e, coba_vinf_num, taum_inv, dt,
              # ring buffer and per-step projection bias
              buf, pbias,
              # synapses (CSR over pre indices, global)
              indptr, sidx, sw, sdly, sport, uniform_delay,
              # input events of this chunk, sorted by step: (step, batch, global pre index, value)
              ev_step, ev_b, ev_i, ev_v,
              # recording
              rec_mask, rec_step, rec_b, rec_i, rec_cap,
              mon_idx, mon_every, mon_out,
              # counters
              spike_count, mu_count):
    """Advance ``nsteps`` steps from absolute step ``n0``.

    Returns ``(steps_done, n_recorded, n_monitor_records)``; ``steps_done < nsteps`` only when
    the spike record buffer would overflow (the caller grows it and calls again).
    ``mu_count`` is *decremented* for each update that left ``v`` unchanged (the caller adds
    the number of updates), so NeuroBench's membrane updates cost no store per neuron.
    """
    L = buf.shape[0]
    G = gstart.shape[0] - 1
    n_rec = 0
    n_mon = 0
    ev_ptr = 0
    nev = ev_step.shape[0]
    P = cur.shape[0]
    fired_b = np.empty(v.shape[0] * v.shape[1] + 1, dtype=np.int64)
    fired_i = np.empty(v.shape[0] * v.shape[1] + 1, dtype=np.int64)
    fired_v = np.ones(v.shape[0] * v.shape[1] + 1, dtype=sw.dtype)
    for s in range(nsteps):
        n = n0 + s
        slot = n % L
        nf = 0
        # Worst case every neuron fires: make sure the record buffer has room first.
        if n_rec + v.shape[0] * v.shape[1] > rec_cap:
            return s, n_rec, n_mon
        for b in range(batch):
            for g in range(G):
                kind = gkind[g]
                spk = gspiking[g]
                mode = greset[g]
                adapt = gadapt[g]
                np_ = gnports[g]
                i0 = gstart[g]
                i1 = gstart[g + 1]
                if guni[g] and kind != KIND_COBA and not adapt:
                    nf, n_rec = _fast_group(
                        kind, np_, spk, mode, i0, i1, b, slot, n, direct, has_pbias,
                        v, cur, refc, buf, pbias, pa[i0], pb[i0], pr[i0], vth[i0], vreset[i0],
                        refsteps[i0], pc[:, i0], pd[:, i0], fired_b, fired_i, fired_v, nf,
                        spike_count, rec_mask, rec_step, rec_b, rec_i, n_rec, mu_count)
                    continue
                # --- general path: subthreshold update, specialised per kind ---------------
                if kind == KIND_DELTA:
                    for i in range(i0, i1):
                        x = buf[slot, 0, b, i] + pbias[0, i]
                        buf[slot, 0, b, i] = 0.0
                        v_old = v[b, i]
                        if refc[b, i] > 0:
                            v[b, i] = vreset[i]
                        else:
                            v[b, i] = pa[i] * v_old + pb[i] + pr[i] * x
                        if v[b, i] == v_old:
                            mu_count[i] -= 1
                elif kind == KIND_CUBA:
                    if np_ == 2:
                        for i in range(i0, i1):
                            c0 = cur[0, b, i] + buf[slot, 0, b, i] + pbias[0, i]
                            c1 = cur[1, b, i] + buf[slot, 1, b, i] + pbias[1, i]
                            buf[slot, 0, b, i] = 0.0
                            buf[slot, 1, b, i] = 0.0
                            v_old = v[b, i]
                            if refc[b, i] > 0:
                                v[b, i] = vreset[i]
                            else:
                                v[b, i] = pa[i] * v_old + pb[i] + pc[0, i] * c0 + pc[1, i] * c1
                            cur[0, b, i] = c0 * pd[0, i]
                            cur[1, b, i] = c1 * pd[1, i]
                            if v[b, i] == v_old:
                                mu_count[i] -= 1
                    else:
                        for i in range(i0, i1):
                            v_old = v[b, i]
                            vi = pa[i] * v_old + pb[i]
                            for k in range(np_):
                                ck = cur[k, b, i] + buf[slot, k, b, i] + pbias[k, i]
                                buf[slot, k, b, i] = 0.0
                                vi += pc[k, i] * ck
                                cur[k, b, i] = ck * pd[k, i]
                            if refc[b, i] > 0:
                                vi = vreset[i]
                            v[b, i] = vi
                            if vi == v_old:
                                mu_count[i] -= 1
                else:  # KIND_COBA: conductances replaced by their exact mean over the step
                    for i in range(i0, i1):
                        v_old = v[b, i]
                        gsum = 1.0
                        num = coba_vinf_num[i]
                        for k in range(np_):
                            gk = cur[k, b, i] + buf[slot, k, b, i] + pbias[k, i]
                            buf[slot, k, b, i] = 0.0
                            gm = gk * coba_m[k, i]
                            gsum += gm
                            num += gm * coba_e[k, i]
                            cur[k, b, i] = gk * pd[k, i]
                        if refc[b, i] > 0:
                            v[b, i] = vreset[i]
                        else:
                            vinf = num / gsum
                            v[b, i] = vinf + (v_old - vinf) * np.exp(-dt * gsum * taum_inv[i])
                        if v[b, i] == v_old:
                            mu_count[i] -= 1
                if adapt:
                    for i in range(i0, i1):
                        ath[b, i] *= ad_decay[i]
                # --- refractory countdown, threshold and reset ----------------------------
                if not spk:
                    continue
                for i in range(i0, i1):
                    if refc[b, i] > 0:
                        refc[b, i] -= 1
                        continue
                    vi = v[b, i]
                    th = vth[i] + ath[b, i]
                    if vi >= th:
                        if mode == 0:
                            v[b, i] = vreset[i]
                        else:
                            v[b, i] = vi - (th - vreset[i])
                        refc[b, i] = refsteps[i]
                        if adapt:
                            ath[b, i] += ad_delta[i]
                        fired_b[nf] = b
                        fired_i[nf] = i
                        fired_v[nf] = 1.0
                        nf += 1
                        spike_count[i] += 1
                        if rec_mask[i]:
                            rec_step[n_rec] = n
                            rec_b[n_rec] = b
                            rec_i[n_rec] = i
                            n_rec += 1
        # inputs emitted in this step
        while ev_ptr < nev and ev_step[ev_ptr] < n:
            ev_ptr += 1
        while ev_ptr < nev and ev_step[ev_ptr] == n:
            if nf >= fired_b.shape[0]:
                # grow the fired list (many input events in one step)
                nb_ = np.empty(fired_b.shape[0] * 2, dtype=np.int64)
                ni_ = np.empty(fired_b.shape[0] * 2, dtype=np.int64)
                nv_ = np.ones(fired_b.shape[0] * 2, dtype=sw.dtype)
                nb_[:nf] = fired_b[:nf]
                ni_[:nf] = fired_i[:nf]
                nv_[:nf] = fired_v[:nf]
                fired_b = nb_
                fired_i = ni_
                fired_v = nv_
            fired_b[nf] = ev_b[ev_ptr]
            fired_i[nf] = ev_i[ev_ptr]
            fired_v[nf] = ev_v[ev_ptr]
            spike_count[ev_i[ev_ptr]] += 1
            nf += 1
            ev_ptr += 1
        # delivery
        base = (n + 1) % L
        for f in range(nf):
            b = fired_b[f]
            pre = fired_i[f]
            val = fired_v[f]
            if direct:
                # delay 0 onto current-based targets: add to the synaptic variable now
                # (end of step n), exactly Brian2's order; no ring buffer needed.
                for q in range(indptr[pre], indptr[pre + 1]):
                    cur[sport[q], b, sidx[q]] += sw[q] * val
            elif uniform_delay >= 0:
                t = base + uniform_delay
                if t >= L:
                    t -= L
                if val == 1.0:
                    for q in range(indptr[pre], indptr[pre + 1]):
                        buf[t, sport[q], b, sidx[q]] += sw[q]
                else:
                    for q in range(indptr[pre], indptr[pre + 1]):
                        buf[t, sport[q], b, sidx[q]] += sw[q] * val
            else:
                for q in range(indptr[pre], indptr[pre + 1]):
                    t = base + sdly[q]
                    if t >= L:
                        t -= L
                    buf[t, sport[q], b, sidx[q]] += sw[q] * val
        # state monitor
        if mon_every > 0 and (n + 1) % mon_every == 0 and mon_idx.shape[0] > 0:
            for b in range(batch):
                for m in range(mon_idx.shape[0]):
                    i = mon_idx[m]
                    mon_out[n_mon, b, m, 0] = v[b, i]
                    mon_out[n_mon, b, m, 1] = ath[b, i]
                    for k in range(P):
                        mon_out[n_mon, b, m, 2 + k] = cur[k, b, i]
            n_mon += 1
    return nsteps, n_rec, n_mon


@njit(cache=True, nogil=True, inline="always")
def _fire(b, i, n, fired_b, fired_i, fired_v, nf, spike_count, rec_mask, rec_step, rec_b,
          rec_i, n_rec):
    fired_b[nf] = b
    fired_i[nf] = i
    fired_v[nf] = 1.0
    spike_count[i] += 1
    if rec_mask[i]:
        rec_step[n_rec] = n
        rec_b[n_rec] = b
        rec_i[n_rec] = i
        n_rec += 1
    return nf + 1, n_rec


@njit(cache=True, nogil=True)
def _fast_group(kind, np_, spk, mode, i0, i1, b, slot, n, direct, has_pbias,
                v, cur, refc, buf, pbias, a_, b_, r_, th, vr, rs, pc, pd,
                fired_b, fired_i, fired_v, nf, spike_count, rec_mask, rec_step, rec_b, rec_i,
                n_rec, mu_count):
    """Homogeneous group (scalar parameters): update, threshold and reset in one pass.

    Works on 0-based views of the group so that loop indices are provably non-negative
    (no wrap-around checks in the inner loop)."""
    m = i1 - i0
    vv = v[b, i0:i1]
    rc = refc[b, i0:i1]
    mu = mu_count[i0:i1]
    if kind == KIND_DELTA:
        x0 = buf[slot, 0, b, i0:i1]
        pb0 = pbias[0, i0:i1]
        for j in range(m):
            v_old = vv[j]
            x = x0[j]
            x0[j] = 0
            if has_pbias:
                x += pb0[j]
            vi = a_ * v_old + b_ + r_ * x
            if rc[j] > 0:
                rc[j] -= 1
                vi = vr
            elif spk and vi >= th:
                vi = vr if mode == 0 else vi - (th - vr)
                rc[j] = rs
                nf, n_rec = _fire(b, i0 + j, n, fired_b, fired_i, fired_v, nf, spike_count,
                                  rec_mask, rec_step, rec_b, rec_i, n_rec)
            if vi == v_old:
                mu[j] -= 1
            vv[j] = vi
    elif np_ == 2:
        c0_ = pc[0]
        c1_ = pc[1]
        d0_ = pd[0]
        d1_ = pd[1]
        cu0 = cur[0, b, i0:i1]
        cu1 = cur[1, b, i0:i1]
        x0 = buf[slot, 0, b, i0:i1]
        x1 = buf[slot, 1, b, i0:i1]
        pb0 = pbias[0, i0:i1]
        pb1 = pbias[1, i0:i1]
        for j in range(m):
            v_old = vv[j]
            c0 = cu0[j]
            c1 = cu1[j]
            if not direct:
                c0 += x0[j]
                c1 += x1[j]
                x0[j] = 0
                x1[j] = 0
            if has_pbias:
                c0 += pb0[j]
                c1 += pb1[j]
            vi = a_ * v_old + b_ + c0_ * c0 + c1_ * c1
            cu0[j] = c0 * d0_
            cu1[j] = c1 * d1_
            if rc[j] > 0:
                rc[j] -= 1
                vi = vr
            elif spk and vi >= th:
                vi = vr if mode == 0 else vi - (th - vr)
                rc[j] = rs
                nf, n_rec = _fire(b, i0 + j, n, fired_b, fired_i, fired_v, nf, spike_count,
                                  rec_mask, rec_step, rec_b, rec_i, n_rec)
            if vi == v_old:
                mu[j] -= 1
            vv[j] = vi
    else:
        for j in range(m):
            i = i0 + j
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
                cur[k, b, i] = ck * pd[k]
            if rc[j] > 0:
                rc[j] -= 1
                vi = vr
            elif spk and vi >= th:
                vi = vr if mode == 0 else vi - (th - vr)
                rc[j] = rs
                nf, n_rec = _fire(b, i, n, fired_b, fired_i, fired_v, nf, spike_count,
                                  rec_mask, rec_step, rec_b, rec_i, n_rec)
            if vi == v_old:
                mu[j] -= 1
            vv[j] = vi
    return nf, n_rec
