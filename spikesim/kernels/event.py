"""numba kernels of the exact event-driven engine (:mod:`spikesim.sim.event`).

One call of :func:`run_events` simulates one batch entry from its current time up to (not
including) ``t_end``. All neurons of all neuron nodes share one flat index space ``[0, N)``;
input channels follow at ``[N, N_pre)``. Every projection is merged into one CSR over
presynaptic indices whose rows are sorted by (delay, target, port); per synapse: target
``sidx``, weight ``sw`` (read at delivery time, so a learning rule may change it between
deliveries), delay ``sdly`` (s, exact), port ``sport`` and projection id ``sproj``.

Three event sources, merged in time order:

* the *delivery queue*: a binary min-heap of cursors ``(t_arrival, seq, pre, q, t_spike)``.
  A spike of ``pre`` at ``t_spike`` pushes one cursor at its row's first synapse; popping it
  delivers every synapse of the row with the same delay (one heap operation per distinct
  delay per spike), then re-pushes the cursor at the next delay group;
* the *input stream*: external spike times, sorted by (time, channel);
* the *neuron heap*: an indexed 4-ary min-heap holding at most one wake-up time per neuron:
  ``FIRE`` (exact threshold crossing), ``CHECK`` (a rigorous lower bound on the crossing
  time of a CubaLIF neuron), ``REFR`` (end of the refractory period) or ``STALE``.

Order at identical times (documented, deterministic): deliveries first, in the order their
spikes were emitted (``seq``, given at emission), a spike's synapses in row order; then input
spikes by channel; then neuron wake-ups by neuron index. So every input arriving at ``t`` is
applied before the threshold test at ``t``, and the zero-delay deliveries of a spike at ``t``
come after the deliveries already queued for ``t``.

Per neuron, the state record ``S[j] = (v, t_state, t_refractory_end, wake kind, I_k...)``
refers to ``t_state``; it is advanced analytically (exact exponential propagators; one
exponential and integer powers of it when the CubaLIF rates are commensurate) only when an
event reaches the neuron. Parameters live in a table with one row per distinct parameter set
(``prm[pidx[j]]``). After each change the neuron's next possible crossing is re-scheduled:

* ``LIF``: closed form ``t* = tau ln((v_inf - v)/(v_inf - v_th))`` when ``v_inf > v_th``;
* ``IF``: ``t* = (v_th - v)/(r bias)`` when ``bias > 0``;
* ``AdaptiveLIF`` (threshold ``v_th + a``, ``tau_a da/dt = -a``, ``a += delta`` at a spike):
  the record holds ``u = v - a`` in place of ``v`` and ``a`` in place of a current. Then
  ``u(t+s) = v_inf + (u - v_inf) e^{-s/tau_m} - a (e^{-s/tau_a} - e^{-s/tau_m})``, the
  CubaLIF propagator with one port of rate ``1/tau_a`` and ``q = -1``, the threshold test is
  ``u >= v_th`` and ``f(s) = u(t+s) - v_th`` has the CubaLIF form below; so the bounds and the
  exact solve are the CubaLIF ones. An input adds ``r w`` to ``u`` (delta synapses), a spike
  resets ``v`` and raises ``a``, and while refractory ``v`` is held, i.e. ``u = v_reset - a``;
* ``CubaLIF``: ``f(s) = v(t+s) - v_th = A + B e^{-s/tau_m} + sum_k C_k e^{-s/tau_k}``. After an
  excitatory input, bounds that cost a few flops and no exponential: ``f <= A + sum of the
  positive coefficients`` (if < 0: never crosses), ``f(s) <= f(0) + S s`` (``S``: sum of the
  positive slopes) and ``f(s) <= f(0) + f'(0) s + M s^2/2`` (``M``: sum of the positive
  second-derivative terms); the later of the two first roots is a lower bound on the
  crossing time, scheduled as ``CHECK``. An input with ``r w <= 0`` can only delay the
  crossing, so the pending wake-up stays valid (an exact ``FIRE`` time becomes a ``CHECK``).
  When a ``CHECK`` is reached with no input in between, the bounds are evaluated again from
  the state there (they tighten as the trajectory is followed); only if the new bound is
  nearer than ``REBOUND_S`` is the first root found exactly by root isolation
  (:mod:`spikesim.kernels.event_roots`), never by sampling. Most such wake-ups are followed
  by an input before the crossing, which makes an exact solve wasted work; every wake-up
  moves at least ``REBOUND_S`` forward or ends in a solve, so a neuron that approaches the
  threshold without crossing costs a bounded number of wake-ups.

Cost per event: a delivery costs one analytic advance of its target, a few flops for the bound
and ``O(log N)`` for the neuron-heap update (none for inhibitory inputs or LIF neurons that
cannot cross); a spike costs one ``O(log Q)`` queue operation per distinct delay of its row;
an exact CubaLIF solve (about 0.4 us) happens only when a lower bound nearer than
``REBOUND_S`` is reached. The event loop runs without reference counting (``_nrt=False``,
helpers inlined), so none of this allocates or touches an array's reference count. Neurons
no event reaches cost nothing.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir as llir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from spikesim.kernels.event_roots import (MAX_POLY_DEG, cuba_first_crossing,  # noqa: F401
                                          poly_first_crossing)
from spikesim.kernels.plasticity import (ev_delayed_w, ev_depress, ev_emit, ev_next_reward,
                                         ev_post, ev_pre, ev_reward, ev_sync, ev_sync_all,
                                         grow_ring)

K_LIF = 0    # LIF and LI: delta synapses, leak
K_IF = 1     # IF: delta synapses, no leak
K_CUBA = 2   # CubaLIF and CubaLI: exponential currents
K_ALIF = 3   # AdaptiveLIF: delta synapses, leak, decaying threshold adaptation (see below)

W_NONE = 0
W_CHECK = 1
W_FIRE = 2
W_REFR = 3
W_STALE = 4   # a wake-up left in place after an input moved the true one later: re-evaluate

PF = 12           # how many synapses ahead the delivery loop prefetches target state
REBOUND_S = 1e-3  # s: a CHECK wake-up whose new lower bound is nearer than this solves exactly

@intrinsic
def _prefetch(typingctx, arr, i, k):
    """Hint the CPU to fetch the cache line of ``arr[i, k]`` (2-D C-contiguous) for reading
    (``llvm.prefetch``; no effect on results). Unlike a load, it does not hold up retirement."""
    sig = types.void(arr, i, k)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = [context.cast(builder, args[n], signature.args[n], types.intp) for n in (1, 2)]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx)
        i8p = llir.IntType(8).as_pointer()
        i32 = llir.IntType(32)
        fnty = llir.FunctionType(llir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), llir.Constant(i32, 0),
                          llir.Constant(i32, 3), llir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


# ctr slots
C_QSIZE = 0
C_SEQ = 1
C_HSIZE = 2
C_NREC = 3
C_SOLVES = 4
C_WAKES = 5
C_LEN = 6


# ------------------------------------------------------------------------- neuron heap
# A 4-ary min-heap keyed by (time, neuron index). ``hkey[p]``/``hidx[p]``: key and neuron at
# heap position p (the four children of p are contiguous: one cache line of keys);
# ``hpos[i]``: position of neuron i, -1 when it has no pending wake-up.
@njit(cache=True, inline="always")
def _hup(hkey, hidx, hpos, p):
    k = hkey[p]
    i = hidx[p]
    while p > 0:
        par = (p - 1) >> 2
        kp = hkey[par]
        ip = hidx[par]
        if kp < k or (kp == k and ip < i):
            break
        hkey[p] = kp
        hidx[p] = ip
        hpos[ip] = p
        p = par
    hkey[p] = k
    hidx[p] = i
    hpos[i] = p


@njit(cache=True, inline="always")
def _hdown(hkey, hidx, hpos, p, size):
    k = hkey[p]
    i = hidx[p]
    while True:
        c0 = 4 * p + 1
        if c0 >= size:
            break
        b = c0
        kb = hkey[c0]
        ib = hidx[c0]
        for c in range(c0 + 1, min(c0 + 4, size)):
            kc = hkey[c]
            ic = hidx[c]
            if kc < kb or (kc == kb and ic < ib):
                b = c
                kb = kc
                ib = ic
        if k < kb or (k == kb and i < ib):
            break
        hkey[p] = kb
        hidx[p] = ib
        hpos[ib] = p
        p = b
    hkey[p] = k
    hidx[p] = i
    hpos[i] = p


@njit(cache=True, inline="always")
def _hset(hkey, hidx, hpos, ctr, i, key):
    """Set neuron ``i``'s wake-up time (``inf`` removes it). One sift-up and one sift-down
    site (this is inlined into the event loop)."""
    p = hpos[i]
    size = ctr[C_HSIZE]
    x = i          # the neuron left at position p
    up = True
    down = False
    if key == np.inf:
        if p < 0:
            return
        size -= 1
        ctr[C_HSIZE] = size
        hpos[i] = -1
        if p == size:
            return
        x = hidx[size]
        hkey[p] = hkey[size]
        hidx[p] = x
        hpos[x] = p
        down = True
    elif p < 0:
        p = size
        hkey[p] = key
        hidx[p] = i
        hpos[i] = p
        size += 1
        ctr[C_HSIZE] = size
    else:
        old = hkey[p]
        if key == old:
            return
        hkey[p] = key
        up = key < old
        down = not up
    if up:
        _hup(hkey, hidx, hpos, p)
    if down:
        _hdown(hkey, hidx, hpos, hpos[x], size)


# ------------------------------------------------------------------------- delivery queue
@njit(cache=True, inline="always")
def _qless(qt, qseq, a, b):
    return qt[a] < qt[b] or (qt[a] == qt[b] and qseq[a] < qseq[b])


@njit(cache=True)
def _qswap(qt, qseq, qpre, qq, qts, a, b):
    qt[a], qt[b] = qt[b], qt[a]
    qseq[a], qseq[b] = qseq[b], qseq[a]
    qpre[a], qpre[b] = qpre[b], qpre[a]
    qq[a], qq[b] = qq[b], qq[a]
    qts[a], qts[b] = qts[b], qts[a]


@njit(cache=True)
def _qpush(qt, qseq, qpre, qq, qts, ctr, t, pre, q, ts):
    p = ctr[C_QSIZE]
    ctr[C_QSIZE] = p + 1
    qt[p] = t
    qseq[p] = ctr[C_SEQ]
    ctr[C_SEQ] += 1
    qpre[p] = pre
    qq[p] = q
    qts[p] = ts
    while p > 0:
        par = (p - 1) >> 1
        if _qless(qt, qseq, par, p):
            break
        _qswap(qt, qseq, qpre, qq, qts, p, par)
        p = par


@njit(cache=True)
def _qsift_down(qt, qseq, qpre, qq, qts, size):
    p = np.int64(0)
    while True:
        c = 2 * p + 1
        if c >= size:
            break
        if c + 1 < size and _qless(qt, qseq, c + 1, c):
            c += 1
        if _qless(qt, qseq, p, c):
            break
        _qswap(qt, qseq, qpre, qq, qts, p, c)
        p = c


@njit(cache=True)
def _qpop(qt, qseq, qpre, qq, qts, ctr):
    size = ctr[C_QSIZE] - 1
    ctr[C_QSIZE] = size
    if size > 0:
        qt[0] = qt[size]
        qseq[0] = qseq[size]
        qpre[0] = qpre[size]
        qq[0] = qq[size]
        qts[0] = qts[size]
        _qsift_down(qt, qseq, qpre, qq, qts, size)


# ------------------------------------------------------------------------- neuron updates
# Parameter table columns (one row per parameter set; ``pidx[j]`` is neuron j's row).
P_KIND = 0
P_VINF = 1
P_TAU = 2      # rate 1/tau (1/tau_mem for CubaLIF), 1/s
P_SLOPE = 3
P_R = 4
P_VTH = 5
P_VRESET = 6
P_REFR = 7
P_RMODE = 8
P_NPORTS = 9
P_GROUP = 10
P_POLY = 11    # base rate (1/s) when all rates are integer multiples of it (<= 8), else 0
P_EXPM = 12    # exponent of the membrane term on the base rate
P_ADELTA = 13  # AdaptiveLIF: threshold jump per spike (delta_threshold), else 0
P_PORT0 = 14   # then (1/tau_syn_k, q_k, exponent_k) triples: q_k = r tau_k / (tau_k - tau_m)
# State record columns (one row per neuron, so an event touches one cache line).
S_V = 0
S_TL = 1
S_TREF = 2
S_WAKE = 3
S_CUR0 = 4


@njit(cache=True, inline="always")
def _ipow(x, n):
    r = 1.0
    for _ in range(n):
        r *= x
    return r


@njit(cache=True, inline="always")
def _advance(S, j, prm, r, t, nupd):
    """Advance neuron ``j``'s state analytically from ``S[j, S_TL]`` to ``t``."""
    tl = S[j, S_TL]
    dt = t - tl
    if dt <= 0.0:
        return
    nupd[int(prm[r, P_GROUP])] += 1
    npj = int(prm[r, P_NPORTS])
    kd = int(prm[r, P_KIND])
    tr = S[j, S_TREF]
    if tl < tr:
        d1 = dt if t <= tr else tr - tl
        for k in range(npj):
            S[j, S_CUR0 + k] *= np.exp(-d1 * prm[r, P_PORT0 + 3 * k])
        S[j, S_V] = prm[r, P_VRESET]
        if kd == K_ALIF:  # v held at reset: u = v_reset - a
            S[j, S_V] -= S[j, S_CUR0]
        if t <= tr:
            S[j, S_TL] = t
            return
        dt = t - tr
    vinf = prm[r, P_VINF]
    if kd == K_LIF:
        S[j, S_V] = vinf + (S[j, S_V] - vinf) * np.exp(-dt * prm[r, P_TAU])
    elif kd == K_IF:
        S[j, S_V] += prm[r, P_SLOPE] * dt
    else:
        poly = prm[r, P_POLY] > 0.0
        if poly:
            # commensurate rates: one exponential, the others are integer powers of it
            x = np.exp(-dt * prm[r, P_POLY])
            em = _ipow(x, int(prm[r, P_EXPM]))
        else:
            em = np.exp(-dt * prm[r, P_TAU])
        vn = vinf + (S[j, S_V] - vinf) * em
        for k in range(npj):
            if poly:
                ek = _ipow(x, int(prm[r, P_PORT0 + 3 * k + 2]))
            else:
                ek = np.exp(-dt * prm[r, P_PORT0 + 3 * k])
            c = S[j, S_CUR0 + k]
            vn += prm[r, P_PORT0 + 3 * k + 1] * c * (ek - em)
            S[j, S_CUR0 + k] = c * ek
        S[j, S_V] = vn
    S[j, S_TL] = t


@njit(cache=True, inline="always")
def _set_wake(S, j, key, wk, hkey, hidx, hpos, ctr):
    """Schedule neuron ``j``'s wake-up of kind ``wk`` at ``key`` (``inf``: none)."""
    if key == np.inf:
        if S[j, S_WAKE] == W_NONE:
            return
        S[j, S_WAKE] = W_NONE
    else:
        S[j, S_WAKE] = wk
    _hset(hkey, hidx, hpos, ctr, j, key)


@njit(cache=True, inline="always")
def _bound(S, j, prm, r, t):
    """Next wake-up ``(time, kind)`` of neuron ``j`` (state current at ``t``, not refractory):
    exact crossing for LIF/IF, cheap bounds for CubaLIF and AdaptiveLIF (see the module
    docstring); time ``inf`` if it cannot cross."""
    vt = prm[r, P_VTH]
    if vt == np.inf:
        return np.inf, W_NONE
    vj = S[j, S_V]
    key = np.inf
    wk = W_FIRE
    if vj >= vt:
        key = t
    else:
        kd = int(prm[r, P_KIND])
        vinf = prm[r, P_VINF]
        if kd == K_LIF:
            if vinf > vt:
                key = t + np.log((vinf - vj) / (vinf - vt)) / prm[r, P_TAU]
        elif kd == K_IF:
            if prm[r, P_SLOPE] > 0.0:
                key = t + (vt - vj) / prm[r, P_SLOPE]
        else:
            # f(s) = amp + b e^{-s/tau_m} + sum_k c_k e^{-s/tau_k}, f(0) = f0 < 0
            f0 = vj - vt
            amp = vinf - vt
            b = vj - vinf
            up = 0.0    # sum of positive coefficients: f <= amp + up
            sp = 0.0    # sum of positive slopes: f(s) <= f0 + sp s
            fp = 0.0    # f'(0)
            mp = 0.0    # f'' <= mp: f(s) <= f0 + fp s + mp s^2 / 2
            for k in range(int(prm[r, P_NPORTS])):
                c = prm[r, P_PORT0 + 3 * k + 1] * S[j, S_CUR0 + k]
                b -= c
                lam = prm[r, P_PORT0 + 3 * k]
                fp -= c * lam
                if c > 0.0:
                    up += c
                    mp += c * lam * lam
                else:
                    sp -= c * lam
            lam = prm[r, P_TAU]
            fp -= b * lam
            if b > 0.0:
                up += b
                mp += b * lam * lam
            else:
                sp -= b * lam
            if amp + up >= 0.0 and sp > 0.0:
                lb = -f0 / sp
                # second-order bound: uses the true slope, so inhibition lengthens it
                if mp > 0.0:
                    disc = np.sqrt(fp * fp - 2.0 * mp * f0)
                    lb2 = -2.0 * f0 / (fp + disc) if fp >= 0.0 else (disc - fp) / mp
                elif fp > 0.0:
                    lb2 = -f0 / fp
                else:
                    lb2 = np.inf  # concave and not rising: never crosses
                if lb2 > lb:
                    lb = lb2
                if lb < np.inf:
                    key = t + lb
                    wk = W_CHECK
    return key, wk


@njit(cache=True)
def _schedule(S, j, prm, r, t, hkey, hidx, hpos, ctr):
    """Re-schedule neuron ``j`` (state current at ``t``, not refractory): :func:`_bound`."""
    key, wk = _bound(S, j, prm, r, t)
    _set_wake(S, j, key, wk, hkey, hidx, hpos, ctr)


@njit(cache=True)
def _exact(S, j, prm, r, t, wcoef, wlam, wa, wroots, wnroots, wc, wts):
    """Exact first threshold crossing time (absolute; ``t`` if at or above threshold, ``inf``
    if none) of CubaLIF or AdaptiveLIF neuron ``j`` from ``t`` (after a CHECK wake-up)."""
    f0 = S[j, S_V] - prm[r, P_VTH]
    if f0 >= 0.0:
        return t
    b = S[j, S_V] - prm[r, P_VINF]
    npj = int(prm[r, P_NPORTS])
    for k in range(npj):
        wc[k] = prm[r, P_PORT0 + 3 * k + 1] * S[j, S_CUR0 + k]
        wts[k] = 1.0 / prm[r, P_PORT0 + 3 * k]
        b -= wc[k]
    if prm[r, P_POLY] > 0.0:
        deg = int(prm[r, P_EXPM])
        for k in range(npj):
            deg = max(deg, int(prm[r, P_PORT0 + 3 * k + 2]))
        for i in range(deg + 1):
            wcoef[i] = 0.0
        wcoef[0] = prm[r, P_VINF] - prm[r, P_VTH]
        wcoef[int(prm[r, P_EXPM])] += b
        for k in range(npj):
            wcoef[int(prm[r, P_PORT0 + 3 * k + 2])] += wc[k]
        s = poly_first_crossing(wcoef, deg, prm[r, P_POLY], wa, wroots, wnroots)
    else:
        s = cuba_first_crossing(prm[r, P_VINF] - prm[r, P_VTH], b, 1.0 / prm[r, P_TAU], wc, wts,
                                npj, wcoef, wlam, wa, wroots, wnroots)
    return t + s


@njit(cache=True)
def _fire(S, j, prm, r, t, indptr, sdly, qt, qseq, qpre, qq, qts, ctr, rec_mask, rec_t, rec_i,
          spike_count, hkey, hidx, hpos):
    """Emit a spike of neuron ``j`` at ``t``, reset it and schedule its next wake-up."""
    spike_count[j] += 1
    if rec_mask[j]:
        n = ctr[C_NREC]
        rec_t[n] = t
        rec_i[n] = j
        ctr[C_NREC] = n + 1
    q0 = indptr[j]
    if q0 < indptr[j + 1]:
        _qpush(qt, qseq, qpre, qq, qts, ctr, t + sdly[q0], j, q0, t)
    # (for AdaptiveLIF ``u - (v_th - v_reset) = v - (v_th + a - v_reset)``: v after a
    # subtractive reset, as for the others)
    if prm[r, P_RMODE] == 0.0:
        S[j, S_V] = prm[r, P_VRESET]
    else:
        S[j, S_V] -= prm[r, P_VTH] - prm[r, P_VRESET]
    if prm[r, P_REFR] > 0.0:
        S[j, S_V] = prm[r, P_VRESET]
    if int(prm[r, P_KIND]) == K_ALIF:  # the threshold rises; back to u = v - a
        S[j, S_CUR0] += prm[r, P_ADELTA]
        S[j, S_V] -= S[j, S_CUR0]
    if prm[r, P_REFR] > 0.0:
        S[j, S_TREF] = t + prm[r, P_REFR]
        _set_wake(S, j, S[j, S_TREF], W_REFR, hkey, hidx, hpos, ctr)
    else:
        _schedule(S, j, prm, r, t, hkey, hidx, hpos, ctr)


# ------------------------------------------------------------------------- main loop
@njit(cache=True)
def run_events(t_end, init, prm, pidx, S, hkey, hidx, hpos, ctr,
               qt, qseq, qpre, qq, qts,
               indptr, sidx, sw, sdly, sport, sproj, maxrow,
               in_t, in_i, rec_mask, rec_t, rec_i, spike_count, nupd, syn_count,
               learn, eplas, edly):
    """Process every event of one batch entry with time ``< t_end``.

    ``prm``/``pidx``: parameter table and each neuron's row; ``S[N, 4 + P]``: state records
    (v, time of the state, end of refractoriness, wake kind, currents); ``hkey/hidx/hpos``:
    indexed heap of wake-up times; ``q*``: delivery queue; ``in_t/in_i``: input spikes of
    this call sorted by (time, channel). ``learn``/``eplas``: plasticity (STDP exactly at
    spike times, reward events of reward-modulated STDP, and at the end every reward synapse
    brought to ``t_end``; :mod:`spikesim.kernels.plasticity`), off when no projection has a
    rule; ``edly``: weights in flight on delayed plastic synapses (``ev_emit``).
    Returns the (possibly grown) queue, record arrays and snapshot ring
    ``(qt, qseq, qpre, qq, qts, rec_t, rec_i, ring)``; scalars live in ``ctr``.

    This wrapper allocates (workspace, growth of the queue and record arrays); the events are
    processed by :func:`_run_core`, compiled without reference counting (``_nrt=False``) and
    with its per-event helpers inlined, so that a synaptic event costs no reference-count
    update. The core returns when an array must grow and is called again.
    """
    N = S.shape[0]
    P = S.shape[1] - S_CUR0
    M = max(P + 2, MAX_POLY_DEG + 1)
    wcoef = np.empty(M)
    wlam = np.empty(M)
    wa = np.empty((M, M))
    wroots = np.empty((M, M))
    wnroots = np.zeros(M, np.int64)
    wc = np.empty(max(P, 1))
    wts = np.empty(max(P, 1))
    if init:
        for j in range(N):
            r = np.int64(pidx[j])
            if prm[r, P_VTH] == np.inf:
                continue  # readouts (LI, CubaLI) never fire
            if S[j, S_V] >= prm[r, P_VTH] or int(prm[r, P_KIND]) < K_CUBA:
                _schedule(S, j, prm, r, S[j, S_TL], hkey, hidx, hpos, ctr)
            else:
                ctr[C_SOLVES] += 1
                key = _exact(S, j, prm, r, S[j, S_TL], wcoef, wlam, wa, wroots, wnroots, wc,
                             wts)
                _set_wake(S, j, key, W_FIRE, hkey, hidx, hpos, ctr)
    need = maxrow + 2
    ip = np.int64(0)
    while True:
        # room for the worst case of one event (every target fires)
        if ctr[C_QSIZE] + need > qt.shape[0]:
            cap = 2 * qt.shape[0] + need
            qt2 = np.empty(cap)
            qt2[:qt.shape[0]] = qt
            qseq2 = np.empty(cap, np.int64)
            qseq2[:qt.shape[0]] = qseq
            qpre2 = np.empty(cap, np.int64)
            qpre2[:qt.shape[0]] = qpre
            qq2 = np.empty(cap, np.int64)
            qq2[:qt.shape[0]] = qq
            qts2 = np.empty(cap)
            qts2[:qt.shape[0]] = qts
            qt, qseq, qpre, qq, qts = qt2, qseq2, qpre2, qq2, qts2
        if ctr[C_NREC] + need > rec_t.shape[0]:
            cap = 2 * rec_t.shape[0] + need
            rt2 = np.empty(cap)
            rt2[:rec_t.shape[0]] = rec_t
            ri2 = np.empty(cap, np.int64)
            ri2[:rec_t.shape[0]] = rec_i
            rec_t, rec_i = rt2, ri2
        if learn and edly[5][0] != 0:
            edly = grow_ring(edly, indptr)
        ip = _run_core(t_end, ip, prm, pidx, S, hkey, hidx, hpos, ctr, qt, qseq, qpre, qq, qts,
                       indptr, sidx, sw, sdly, sport, sproj, need, in_t, in_i, rec_mask, rec_t,
                       rec_i, spike_count, nupd, syn_count, learn, eplas, edly, wcoef, wlam,
                       wa, wroots, wnroots, wc, wts)
        if ip < 0:
            break
    if learn:
        ev_sync_all(eplas, t_end, sw)  # reward synapses: weights current at t_end
    return qt, qseq, qpre, qq, qts, rec_t, rec_i, edly[4]


@njit(cache=True, _nrt=False)
def _run_core(t_end, ip, prm, pidx, S, hkey, hidx, hpos, ctr, qt, qseq, qpre, qq, qts,
              indptr, sidx, sw, sdly, sport, sproj, need, in_t, in_i, rec_mask, rec_t, rec_i,
              spike_count, nupd, syn_count, learn, eplas, edly, wcoef, wlam, wa, wroots, wnroots,
              wc, wts):
    """The event loop of :func:`run_events` from input position ``ip``. Returns -1 when every
    event before ``t_end`` is processed, else the input position at which the queue or the
    record arrays lack room for ``need`` more entries or the snapshot ring of delayed plastic
    synapses is half full for some row (the caller grows them and calls again)."""
    nin = in_t.shape[0]
    one_row = prm.shape[0] == 1
    touch = 0.0
    while True:
        if ctr[C_QSIZE] + need > qt.shape[0] or ctr[C_NREC] + need > rec_t.shape[0]:
            return ip
        if learn and edly[5][0] != 0:
            return ip
        td = qt[0] if ctr[C_QSIZE] > 0 else np.inf
        tw = hkey[0] if ctr[C_HSIZE] > 0 else np.inf
        ti = in_t[ip] if ip < nin else np.inf
        if td <= ti and td <= tw:
            t = td
            src = 0
        elif ti <= tw:
            t = ti
            src = 1
        else:
            t = tw
            src = 2
        if learn:
            tr = ev_next_reward(eplas)
            if tr <= t and tr < t_end:
                ev_reward(eplas, tr, sw)  # a reward comes before spikes at the same time
                continue
        if not (t < t_end):
            break
        if src == 0:
            # ---- delivery of one delay group of one spike
            pre = qpre[0]
            q = qq[0]
            ts = qts[0]
            d = sdly[q]
            end = indptr[pre + 1]
            qn = q
            while qn < end and sdly[qn] == d:
                qn += 1
            if qn < end:
                # the next delay group of the same spike replaces the top (keeping its seq:
                # ties are ordered by the emission of the spike)
                qt[0] = ts + sdly[qn]
                qq[0] = qn
                _qsift_down(qt, qseq, qpre, qq, qts, ctr[C_QSIZE])
            else:
                _qpop(qt, qseq, qpre, qq, qts, ctr)
            for s in range(q, qn):
                j = np.int64(sidx[s])
                # prefetch the state record PF synapses ahead: the cache misses of a fan-out
                # overlap instead of stalling one after the other
                sa = s + PF
                if sa < qn:
                    _prefetch(S, sidx[sa], S_V)
                    if not one_row:
                        touch += pidx[sidx[sa]]
                if learn:
                    # a delayed plastic synapse delivers the weight of the spike's emission
                    # (stored by ev_emit); others are read, then depressed, at delivery
                    w = ev_delayed_w(edly, s)
                    if w != w:
                        ev_sync(eplas, s, t, sw)
                        w = sw[s]
                        ev_depress(eplas, s, pre, j, t, sw)
                else:
                    w = sw[s]
                if w != 0.0:
                    syn_count[sproj[s]] += 1
                r = 0 if one_row else pidx[j]
                _advance(S, j, prm, r, t, nupd)
                refractory = t < S[j, S_TREF]
                kd = int(prm[r, P_KIND])
                cuba = kd == K_CUBA
                if cuba:
                    S[j, S_CUR0 + sport[s]] += w
                    if refractory:
                        continue
                else:
                    if refractory:
                        continue
                    S[j, S_V] += prm[r, P_R] * w
                rw = prm[r, P_R] * w
                if rw <= 0.0:
                    # An input with r*w <= 0 lowers v(t') at every later t' (for CubaLIF the
                    # kernel r w q_k (e^{-s/tau_k} - e^{-s/tau_m}) has the sign of r w), so the
                    # crossing can only come later: a pending wake-up stays a valid lower
                    # bound (an exact crossing becomes a bound to re-check), "never" stays never.
                    if rw < 0.0 and S[j, S_WAKE] == W_FIRE:
                        S[j, S_WAKE] = W_CHECK if kd >= K_CUBA else W_STALE
                    continue
                if S[j, S_V] >= prm[r, P_VTH]:
                    _fire(S, j, prm, r, t, indptr, sdly, qt, qseq, qpre, qq, qts, ctr,
                          rec_mask, rec_t, rec_i, spike_count, hkey, hidx, hpos)
                    if learn:
                        ev_post(eplas, j, t, sw)
                        ev_pre(eplas, j, t)
                        ev_emit(eplas, edly, j, t, sw, indptr, sidx)
                elif (kd <= K_IF and S[j, S_WAKE] == W_NONE and prm[r, P_SLOPE] <= 0.0
                      and prm[r, P_VINF] <= prm[r, P_VTH]):
                    # a LIF/IF neuron that cannot cross without input: nothing to do (an
                    # AdaptiveLIF can: its threshold decays)
                    continue
                else:
                    key, wk = _bound(S, j, prm, r, t)
                    _set_wake(S, j, key, wk, hkey, hidx, hpos, ctr)
        elif src == 1:
            # ---- an external input spike
            pre = in_i[ip]
            ip += 1
            spike_count[pre] += 1
            q0 = indptr[pre]
            if q0 < indptr[pre + 1]:
                _qpush(qt, qseq, qpre, qq, qts, ctr, t + sdly[q0], pre, q0, t)
            if learn:
                ev_pre(eplas, pre, t)
                ev_emit(eplas, edly, pre, t, sw, indptr, sidx)
        else:
            # ---- a neuron wake-up
            j = hidx[0]
            ctr[C_WAKES] += 1
            r = np.int64(pidx[j])
            wk = S[j, S_WAKE]
            _advance(S, j, prm, r, t, nupd)
            if wk == W_FIRE or S[j, S_V] >= prm[r, P_VTH]:
                _fire(S, j, prm, r, t, indptr, sdly, qt, qseq, qpre, qq, qts, ctr,
                      rec_mask, rec_t, rec_i, spike_count, hkey, hidx, hpos)
                if learn:
                    ev_post(eplas, j, t, sw)
                    ev_pre(eplas, j, t)
                    ev_emit(eplas, edly, j, t, sw, indptr, sidx)
                continue
            key, wk2 = _bound(S, j, prm, r, t)
            if wk != W_STALE and int(prm[r, P_KIND]) >= K_CUBA and key - t < REBOUND_S:
                # a lower bound reached with no input in between (or the end of the
                # refractory period) and the bound from here is near: solve exactly
                ctr[C_SOLVES] += 1
                key = _exact(S, j, prm, r, t, wcoef, wlam, wa, wroots, wnroots, wc, wts)
                wk2 = W_FIRE
            wk = wk2
            _set_wake(S, j, key, wk, hkey, hidx, hpos, ctr)
    if touch == -1.2345e300:  # keeps the prefetch loads alive
        ctr[C_WAKES] += 0
    return -1
