"""numba kernels of the clock-driven engine.

All neurons of all neuron nodes live in one flat index space ``[0, N)`` (group ``g`` owns
``gstart[g]:gstart[g+1]``); input channels follow at ``[N, N + N_in)``. Every projection is
merged into one CSR over presynaptic indices with a per-synapse target port and delay (in
steps). The ring buffer ``buf[L, P, B, N]`` holds what arrives in each future step.

Order inside step ``n`` (absolute), for each batch entry:

1. arrivals of slot ``n % L`` (plus per-step projection biases) are taken; current-based
   groups add them to their currents *before* the exact propagation over the step
   (Brian2's order); delta-synapse groups add ``r * x`` to ``v`` *after* it;
2. refractory neurons hold ``v = v_reset`` (delta inputs are dropped; currents evolve);
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
              gstart, gkind, gspiking, greset, gadapt, gnports,
              # per-neuron parameters
              pa, pb, pc, pd, pr, vth, vreset, refsteps, ad_decay, ad_delta,
              coba_m, coba_e, coba_vinf_num, taum_inv, dt,
              # ring buffer and per-step projection bias
              buf, pbias,
              # synapses (CSR over pre indices, global)
              indptr, sidx, sw, sdly, sport,
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
                for i in range(gstart[g], gstart[g + 1]):
                    v_old = v[b, i]
                    if kind == KIND_DELTA:
                        x = buf[slot, 0, b, i] + pbias[0, i]
                        buf[slot, 0, b, i] = 0.0
                        if refc[b, i] > 0:
                            refc[b, i] -= 1
                            v[b, i] = vreset[i]
                            if adapt:
                                ath[b, i] *= ad_decay[i]
                            if v[b, i] != v_old:
                                mu_count[i] += 1
                            continue
                        vi = pa[i] * v_old + pb[i] + pr[i] * x
                    elif kind == KIND_CUBA:
                        for k in range(np_):
                            cur[k, b, i] += buf[slot, k, b, i] + pbias[k, i]
                            buf[slot, k, b, i] = 0.0
                        if refc[b, i] > 0:
                            refc[b, i] -= 1
                            v[b, i] = vreset[i]
                            for k in range(np_):
                                cur[k, b, i] *= pd[k, i]
                            if adapt:
                                ath[b, i] *= ad_decay[i]
                            if v[b, i] != v_old:
                                mu_count[i] += 1
                            continue
                        vi = pa[i] * v_old + pb[i]
                        for k in range(np_):
                            vi += pc[k, i] * cur[k, b, i]
                            cur[k, b, i] *= pd[k, i]
                    else:  # KIND_COBA
                        for k in range(np_):
                            cur[k, b, i] += buf[slot, k, b, i] + pbias[k, i]
                            buf[slot, k, b, i] = 0.0
                        if refc[b, i] > 0:
                            refc[b, i] -= 1
                            v[b, i] = vreset[i]
                            for k in range(np_):
                                cur[k, b, i] *= pd[k, i]
                            if adapt:
                                ath[b, i] *= ad_decay[i]
                            if v[b, i] != v_old:
                                mu_count[i] += 1
                            continue
                        # conductances replaced by their exact mean over the step
                        gsum = 1.0
                        num = coba_vinf_num[i]
                        for k in range(np_):
                            gm = cur[k, b, i] * coba_m[k, i]
                            gsum += gm
                            num += gm * coba_e[k, i]
                            cur[k, b, i] *= pd[k, i]
                        vinf = num / gsum
                        vi = vinf + (v_old - vinf) * np.exp(-dt * gsum * taum_inv[i])
                    v[b, i] = vi
                    if adapt:
                        ath[b, i] *= ad_decay[i]
                    if spk and vi >= vth[i] + ath[b, i]:
                        if mode == 0:
                            v[b, i] = vreset[i]
                        else:
                            v[b, i] = vi - (vth[i] + ath[b, i] - vreset[i])
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
                    if v[b, i] != v_old:
                        mu_count[i] += 1
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
        for f in range(nf):
            b = fired_b[f]
            pre = fired_i[f]
            val = fired_v[f]
            if val == 1.0:
                for q in range(indptr[pre], indptr[pre + 1]):
                    t = (n + 1 + sdly[q]) % L
                    buf[t, sport[q], b, sidx[q]] += sw[q]
            else:
                for q in range(indptr[pre], indptr[pre + 1]):
                    t = (n + 1 + sdly[q]) % L
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
