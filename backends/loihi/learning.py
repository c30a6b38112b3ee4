"""The Loihi learning engine: traces, epochs and sum-of-products updates in fixed point.

Model (hardware.md 2.3; Lava's ``ConnectionModelBitApproximate`` is the reference for the
widths and the order of operations; where this model differs it says so):

Every step t, for each pre neuron j and post neuron i:

1. every trace decays by one step, ``z <- z * (4096 - dz) / 4096`` with stochastic rounding
   of the 12 fractional bits (``dz = round(4096 * (1 - exp(-1/tau)))``, a 12-bit decay like
   the compartment's) [MODEL: Lava decays lazily at epoch ends from spike time stamps with
   ``exp(-t/tau)``; the expected values agree];
2. a spike adds the trace's impulse (integer part plus the 8 fractional bits stochastically
   rounded) and the trace saturates at 0..127 (7 bits); a second spike in one epoch adds a
   second impulse, as in Lava. The reward input (integer, per post neuron) is added to the
   signed 8-bit reward trace r1 and sets r0 for the epoch;
3. at the end of each epoch (``(t + 1) % t_epoch == 0``) the rules run on every synapse. A
   product with dependency x0 runs if pre neuron j spiked in the epoch and sees the traces
   as they were at j's last spike in the epoch; y0 likewise for post neuron i; u_k runs
   every ``2**k`` epochs and sees the traces at the end of the epoch.
4. The update of a synaptic variable Z (w, d or t): a 16-bit accumulator starts at
   ``Z << f`` (f = 7 for w and t, 9 for d: the variable's MSB aligned with the accumulator's,
   as Lava does); each product adds ``mant * dep * prod(factors) * 2**(exp + f)`` (a floor
   shift when ``exp + f < 0``), with the term and the sum saturated to 16 bits; the result
   is stochastically rounded to the variable's grid (the weight precision's step for w)
   and saturated to the variable's range (w: the sign mode and precision; d: 0..63;
   t: -256..255). All variables are updated from their values before the epoch.

Accuracy (tests/test_loihi_learning.py, pair STDP ``dw = 2^-3*x1*y0 - 2^-3*y1*x0``, impulses
32, tau 20 steps, 200 steps of 5 % Bernoulli spikes per train, against the float pair STDP
of ``spikesim.learn.stdp_final_weight``): over 100 random pairs the mean final-weight error is +0.20 LSB and the largest
7.5 LSB; over 600 pairs the mean is -0.10 +- 0.09 LSB (unbiased). The documented bound
per pair is ``3 * sqrt(n_updates)`` LSB (the error is a sum of zero-mean rounding errors, one
per update); the largest observed ratio |error| / sqrt(n_updates) was 1.5 (100 pairs) and
2.7 (600 pairs).

Randomness: every stochastic rounding draws from a counter-based hash (splitmix64) of
``(seed, step, stream, index)``, so a run is reproducible from its seed and independent of
the order of evaluation; one draw per rounded value and synapse [MODEL: Lava shares one
random number per epoch across synapses].
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from spikesim.backends.loihi import params as P
from spikesim.backends.loihi.rule import DEP_IDS, MAX_FACTORS, VAR_IDS, Product, parse_rule
from spikesim.backends.loihi.synapse import Weights, check_delays, check_weights, weight_grid

TRACE_NAMES = ("x1", "x2", "y1", "y2", "y3", "r1")
_TARGET_IDS = {"w": 0, "d": 1, "t": 2}
#: factor saturation widths: value saturates to [-2**b, 2**b - 1] (as Lava's applier)
_FACTOR_WIDTH = np.array([1, 1, 7, 7, 7, 7, 7, 9, 7, 9, 1, 8, 8], dtype=np.int64)
_FRAC = np.array([P.SYNVAR_FRAC_BITS[z] for z in ("w", "d", "t")], dtype=np.int64)


def trace_decay(tau: float) -> int:
    """12-bit per-step decay ``round(4096 * (1 - exp(-1/tau)))`` for ``tau`` in steps
    (``tau = inf`` gives 0: no decay)."""
    if not (tau > 0):
        raise ValueError(f"trace tau={tau!r} must be > 0 steps (inf for no decay)")
    d = 0 if math.isinf(tau) else int(round(P.DECAY_UNITY * (1.0 - math.exp(-1.0 / tau))))
    if d > P.DECAY_MAX:
        raise ValueError(f"trace tau={tau!r} steps is too short: its 12-bit decay {d} "
                         f"exceeds {P.DECAY_MAX} (tau must be >= 0.125 steps)")
    return d


def impulse_fixed(value: float, name: str) -> int:
    """Impulse in trace units with 8 fractional bits (0..127)."""
    if not (0 <= value <= P.TRACE_MAX):
        raise ValueError(f"{name}={value!r} is out of range: impulses are 0..{P.TRACE_MAX} "
                         f"(7-bit traces)")
    return int(round(value * (1 << P.IMPULSE_FRAC_BITS)))


@dataclass(frozen=True)
class LearningRule:
    """A set of Loihi learning rules and their trace parameters.

    Attributes:
        dw, dd, dt: rule strings (``"dw = ..."`` or just the right-hand side), or None.
        x1_impulse, x2_impulse, y1_impulse, y2_impulse, y3_impulse: trace impulses per spike,
            in trace units (0..127, resolution 1/256).
        x1_tau, x2_tau, y1_tau, y2_tau, y3_tau, r1_tau: trace time constants in steps.
        t_epoch: learning epoch in steps, 1..63.

    Example::

        >>> stdp = LearningRule(dw="dw = 2^-2*x1*y0 - 2^-2*y1*x0", x1_tau=20, y1_tau=20)
        >>> [str(p) for p in stdp.products["w"]]
        ['1*2^-2 * y0 * x1', '-1*2^-2 * x0 * y1']
    """

    dw: str | None = None
    dd: str | None = None
    dt: str | None = None
    x1_impulse: float = 16.0
    x1_tau: float = 20.0
    x2_impulse: float = 0.0
    x2_tau: float = 20.0
    y1_impulse: float = 16.0
    y1_tau: float = 20.0
    y2_impulse: float = 0.0
    y2_tau: float = 20.0
    y3_impulse: float = 0.0
    y3_tau: float = 20.0
    r1_tau: float = 20.0
    t_epoch: int = 1
    products: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        prods: dict[str, tuple[Product, ...]] = {}
        for z, text in (("w", self.dw), ("d", self.dd), ("t", self.dt)):
            if text is not None:
                prods[z] = parse_rule(text, target=z)[1]
        if not prods:
            raise ValueError("LearningRule needs at least one of dw, dd, dt")
        ks = {p.decimate for ps in prods.values() for p in ps if p.dependency == "u"}
        if len(ks) > 1:
            raise ValueError(f"u dependencies use several decimation exponents {sorted(ks)}; "
                             f"Loihi allows one k across all rules")
        if isinstance(self.t_epoch, bool) or not isinstance(self.t_epoch, (int, np.integer)) \
                or not 1 <= self.t_epoch <= P.T_EPOCH_MAX:
            raise ValueError(f"t_epoch={self.t_epoch!r} is out of range 1..{P.T_EPOCH_MAX}")
        for n in TRACE_NAMES:
            trace_decay(getattr(self, f"{n}_tau"))
            if n != "r1":
                impulse_fixed(getattr(self, f"{n}_impulse"), f"{n}_impulse")
        object.__setattr__(self, "products", prods)

    @property
    def decimate(self) -> int:
        ks = [p.decimate for ps in self.products.values() for p in ps if p.dependency == "u"]
        return ks[0] if ks else 0

    def tables(self) -> dict[str, np.ndarray]:
        """The products as flat arrays for the kernel."""
        rows = [(z, p) for z in ("w", "d", "t") for p in self.products.get(z, ())]
        n = len(rows)
        tab = {"target": np.zeros(n, np.int64), "dep": np.zeros(n, np.int64),
               "mant": np.zeros(n, np.int64), "exp": np.zeros(n, np.int64),
               "nf": np.zeros(n, np.int64), "fvar": np.zeros((n, MAX_FACTORS), np.int64),
               "fconst": np.zeros((n, MAX_FACTORS), np.int64),
               "fsgn": np.zeros((n, MAX_FACTORS), np.bool_)}
        for r, (z, p) in enumerate(rows):
            tab["target"][r] = _TARGET_IDS[z]
            tab["dep"][r] = DEP_IDS[p.dependency]
            tab["mant"][r], tab["exp"][r], tab["nf"][r] = p.mant, p.exp, len(p.factors)
            for k, f in enumerate(p.factors):
                tab["fvar"][r, k] = VAR_IDS[f.var]
                tab["fconst"][r, k] = f.const
                tab["fsgn"][r, k] = f.sgn
        return tab

    def decays(self) -> np.ndarray:
        return np.array([trace_decay(getattr(self, f"{n}_tau")) for n in TRACE_NAMES], np.int64)

    def impulses(self) -> np.ndarray:
        return np.array([impulse_fixed(getattr(self, f"{n}_impulse"), n)
                         for n in TRACE_NAMES[:5]], np.int64)


# ------------------------------------------------------------------- random numbers -------
@njit(cache=True)
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _rand_bits(seed, t, stream, idx, bits):
    """``bits`` uniform random bits (0 < bits < 64) from (seed, step, stream, index)."""
    z = _mix(np.uint64(seed) + np.uint64(t) * np.uint64(0x9E3779B97F4A7C15))
    z = _mix(z ^ (np.uint64(stream) * np.uint64(0xD1B54A32D192ED03) + np.uint64(idx)))
    return np.int64(z >> np.uint64(64 - bits))


# ------------------------------------------------------------------- kernel ---------------
@njit(cache=True)
def _decay(z, d, seed, t, idx):
    """One-step stochastic decay of a (possibly signed) trace value."""
    if d == 0 or z == 0:
        return z
    a = abs(z) * (4096 - d)
    q = a >> 12
    if _rand_bits(seed, t, 0, idx, 12) < (a & 4095):
        q += 1
    return q if z > 0 else -q


@njit(cache=True)
def _impulse(z, imp, seed, t, idx):
    z += imp >> 8
    if _rand_bits(seed, t, 1, idx, 8) < (imp & 255):
        z += 1
    return min(z, 127)


@njit(cache=True)
def _learning_kernel(pre, post, reward, conn, w, dl, tg, xtr, ytr, r1,
                     target, dep, mant, expo, nf, fvar, fconst, fsgn, fwidth, frac,
                     decays, imps, t_epoch, decimate, w_lo, w_hi, w_step_bits, seed, upd, t0):
    T, n_pre = pre.shape
    n_post = post.shape[1]
    n_prod = target.shape[0]
    hx = np.zeros((t_epoch, 2, n_pre), np.int64)
    hy = np.zeros((t_epoch, 3, n_post), np.int64)
    hr = np.zeros((t_epoch, n_post), np.int64)
    x0 = np.zeros(n_pre, np.int64)
    y0 = np.zeros(n_post, np.int64)
    r0 = np.zeros(n_post, np.int64)
    tx = np.zeros(n_pre, np.int64)
    ty = np.zeros(n_post, np.int64)
    has = np.zeros(3, np.bool_)
    for p in range(n_prod):
        has[target[p]] = True
    lo = np.array([w_lo, 0, -256], np.int64)
    hi = np.array([w_hi, 63, 255], np.int64)
    step_bits = np.array([w_step_bits, 0, 0], np.int64)
    old = np.zeros(3, np.int64)
    vals = np.zeros(13, np.int64)
    ybase = 2 * n_pre
    rbase = 2 * n_pre + 3 * n_post
    for ts in range(T):
        t = t0 + ts           # absolute step: random streams and epochs continue across calls
        k = t % t_epoch
        # 1-2. traces: decay, impulses, reward
        for j in range(n_pre):
            for c in range(2):
                z = _decay(xtr[c, j], decays[c], seed, t, c * n_pre + j)
                if pre[ts, j]:
                    z = _impulse(z, imps[c], seed, t, c * n_pre + j)
                xtr[c, j] = z
            if pre[ts, j]:
                x0[j] = 1
                tx[j] = k
        for i in range(n_post):
            for c in range(3):
                z = _decay(ytr[c, i], decays[2 + c], seed, t, ybase + c * n_post + i)
                if post[ts, i]:
                    z = _impulse(z, imps[2 + c], seed, t, ybase + c * n_post + i)
                ytr[c, i] = z
            z = _decay(r1[i], decays[5], seed, t, rbase + i) + reward[ts, i]
            r1[i] = max(-128, min(127, z))
            if reward[ts, i] != 0:
                r0[i] = 1
            if post[ts, i]:
                y0[i] = 1
                ty[i] = k
        hx[k] = xtr
        hy[k] = ytr
        hr[k] = r1
        if k != t_epoch - 1:
            continue
        # 3-4. epoch end: apply the rules
        epoch = t // t_epoch
        u_on = (epoch % (1 << decimate)) == 0
        for i in range(n_post):
            for j in range(n_pre):
                if not conn[i, j]:
                    continue
                old[0] = w[i, j]
                old[1] = dl[i, j]
                old[2] = tg[i, j]
                acc0 = old[0] << frac[0]
                acc1 = old[1] << frac[1]
                acc2 = old[2] << frac[2]
                active = False
                for p in range(n_prod):
                    dp = dep[p]
                    if dp == 0:
                        if x0[j] == 0:
                            continue
                        ti = tx[j]
                    elif dp == 1:
                        if y0[i] == 0:
                            continue
                        ti = ty[i]
                    else:
                        if not u_on:
                            continue
                        ti = k
                    active = True
                    vals[0] = x0[j]
                    vals[1] = y0[i]
                    vals[2] = hx[ti, 0, j]
                    vals[3] = hx[ti, 1, j]
                    vals[4] = hy[ti, 0, i]
                    vals[5] = hy[ti, 1, i]
                    vals[6] = hy[ti, 2, i]
                    vals[7] = old[0]
                    vals[8] = old[1]
                    vals[9] = old[2]
                    vals[10] = r0[i]
                    vals[11] = hr[ti, i]
                    vals[12] = 0
                    term = mant[p]
                    for f in range(nf[p]):
                        v = fvar[p, f]
                        x = vals[v] + fconst[p, f]
                        b = fwidth[v]
                        x = max(-(1 << b), min((1 << b) - 1, x))
                        if fsgn[p, f]:
                            x = 1 if x > 0 else (-1 if x < 0 else 0)
                        term *= x
                    z = target[p]
                    sh = expo[p] + frac[z]
                    term = term << sh if sh >= 0 else term >> (-sh)
                    term = max(P.ACC_MIN, min(P.ACC_MAX, term))
                    if z == 0:
                        acc0 = max(P.ACC_MIN, min(P.ACC_MAX, acc0 + term))
                    elif z == 1:
                        acc1 = max(P.ACC_MIN, min(P.ACC_MAX, acc1 + term))
                    else:
                        acc2 = max(P.ACC_MIN, min(P.ACC_MAX, acc2 + term))
                if not active:
                    continue
                upd[0] += 1
                for z in range(3):
                    if not has[z]:
                        continue
                    acc = acc0 if z == 0 else (acc1 if z == 1 else acc2)
                    s = frac[z] + step_bits[z]
                    q = acc >> s
                    if _rand_bits(seed, t, 2 + z, i * n_pre + j, s) < (acc & ((1 << s) - 1)):
                        q += 1
                    q = max(lo[z], min(hi[z], q << step_bits[z]))
                    if z == 0:
                        w[i, j] = q
                    elif z == 1:
                        dl[i, j] = q
                    else:
                        tg[i, j] = q
        x0[:] = 0
        y0[:] = 0
        r0[:] = 0


# ------------------------------------------------------------------- API ------------------
@dataclass
class LearningState:
    """Synaptic variables and traces after a learning run.

    Attributes:
        w: weights [n_post, n_pre] (int64 mantissas on the precision grid).
        d: delays [n_post, n_pre] (0..63) -- the dd target.
        t: tags [n_post, n_pre] (-256..255) -- the dt target.
        x: pre traces [2, n_pre] (x1, x2); y: post traces [3, n_post]; r1: reward trace [n_post].
        updates: synapse updates performed (synapse x epoch with an active product).
        steps: steps run so far (a continued run starts there: epochs and random streams
            carry on; continue only at epoch boundaries).
    """

    w: np.ndarray
    d: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    r1: np.ndarray
    updates: int
    steps: int = 0


def _spikes(a, name, n=None):
    s = np.asarray(a)
    if s.ndim != 2:
        raise ValueError(f"{name} must have shape [T, n]; got {s.shape}")
    if s.dtype.kind not in "biu" or (s.size and (s.min() < 0 or s.max() > 1)):
        raise ValueError(f"{name} must hold spikes (bool or 0/1)")
    return np.ascontiguousarray(s, dtype=np.bool_)


def run_learning(rule: LearningRule, pre: np.ndarray, post: np.ndarray, w0,
                 *, num_bits: int = 9, sign_mode: str = "mixed", delays=None, tags=None,
                 reward=None, conn=None, seed: int = 0,
                 state: LearningState | None = None) -> LearningState:
    """Run the learning engine on given pre and post spike trains.

    Args:
        rule: the :class:`LearningRule`.
        pre: spikes [T, n_pre] (bool); post: spikes [T, n_post].
        w0: initial weights, a :class:`~spikesim.backends.loihi.synapse.Weights` (its
            precision, sign mode and delays are used) or integer mantissas [n_post, n_pre].
        num_bits, sign_mode: precision of ``w0`` when it is an array (default 9-bit mixed).
        delays: initial delays (0..63) for the dd target, tags: initial tags (-256..255).
        reward: integer reward impulses, [T] (to every post neuron) or [T, n_post]; added to
            the reward trace r1 (signed 8-bit, saturating).
        conn: bool [n_post, n_pre], the synapses that exist (default: all).
        seed: seed of the stochastic rounding (an int >= 0).
        state: continue from a previous :class:`LearningState` (traces and variables).

    Returns:
        :class:`LearningState`.

    Example::

        >>> rule = LearningRule(dw="dw = 2^-2*x1*y0 - 2^-2*y1*x0")
        >>> pre = np.zeros((10, 1), bool); post = np.zeros((10, 1), bool)
        >>> pre[2, 0] = post[4, 0] = True
        >>> run_learning(rule, pre, post, np.array([[0]])).w.tolist()   # 1/4 * x1(4) ~ 3.6
        [[4]]
    """
    if not isinstance(rule, LearningRule):
        raise TypeError(f"rule must be a LearningRule; got {type(rule).__name__}")
    pre = _spikes(pre, "pre")
    post = _spikes(post, "post")
    if pre.shape[0] != post.shape[0]:
        raise ValueError(f"pre and post must have the same number of steps; got "
                         f"{pre.shape[0]} and {post.shape[0]}")
    T, n_pre = pre.shape
    n_post = post.shape[1]
    if isinstance(w0, Weights):
        num_bits, sign_mode = w0.num_bits, w0.sign_mode
        if delays is None and w0.delays is not None:
            delays = w0.delays
        w0 = w0.w
    if state is not None:
        w0, delays, tags = state.w, state.d, state.t
    w = check_weights(w0, num_bits, sign_mode).copy()
    if w.shape != (n_post, n_pre):
        raise ValueError(f"weights must have shape (n_post, n_pre) = {(n_post, n_pre)}; "
                         f"got {w.shape}")
    step, lo, hi = weight_grid(num_bits, sign_mode)
    dl = np.zeros_like(w) if delays is None else check_delays(delays, w.shape).copy()
    if delays is not None and dl.max(initial=0) > P.DELAY_MAX:
        raise ValueError(f"delays must be 0..{P.DELAY_MAX}")
    tg = np.zeros_like(w) if tags is None else np.asarray(tags, dtype=np.int64).copy()
    if tg.shape != w.shape or (tg.size and (tg.min() < -256 or tg.max() > 255)):
        raise ValueError(f"tags must have shape {w.shape} and values -256..255")
    if reward is None:
        rw = np.zeros((T, n_post), np.int64)
    else:
        rw = np.asarray(reward)
        if rw.dtype.kind not in "iub":
            raise TypeError(f"reward must be integer impulses; got dtype {rw.dtype}")
        rw = rw.astype(np.int64)
        if rw.ndim == 1:
            rw = np.repeat(rw[:, None], n_post, axis=1)
        if rw.shape != (T, n_post):
            raise ValueError(f"reward must have shape [T] or [T, n_post] = {(T, n_post)}; "
                             f"got {rw.shape}")
        if rw.size and (rw.min() < P.REWARD_TRACE_MIN or rw.max() > P.REWARD_TRACE_MAX):
            raise ValueError(f"reward impulses must be {P.REWARD_TRACE_MIN}.."
                             f"{P.REWARD_TRACE_MAX} (8-bit signed reward trace)")
    cn = np.ones(w.shape, np.bool_) if conn is None else np.asarray(conn, dtype=np.bool_)
    if cn.shape != w.shape:
        raise ValueError(f"conn must have shape {w.shape}; got {cn.shape}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0; got {seed!r}")
    if state is None:
        xtr = np.zeros((2, n_pre), np.int64)
        ytr = np.zeros((3, n_post), np.int64)
        r1 = np.zeros(n_post, np.int64)
    else:
        xtr, ytr, r1 = state.x.copy(), state.y.copy(), state.r1.copy()
        if state.steps % rule.t_epoch:
            raise ValueError(f"state: a run continues at an epoch boundary; {state.steps} steps "
                             f"is not a multiple of t_epoch={rule.t_epoch}")
    t0 = 0 if state is None else int(state.steps)
    tab = rule.tables()
    upd = np.zeros(1, np.int64)
    _learning_kernel(pre, post, np.ascontiguousarray(rw), cn, w, dl, tg, xtr, ytr, r1,
                     tab["target"], tab["dep"], tab["mant"], tab["exp"], tab["nf"],
                     tab["fvar"], tab["fconst"], tab["fsgn"], _FACTOR_WIDTH, _FRAC,
                     rule.decays(), rule.impulses(), int(rule.t_epoch), int(rule.decimate),
                     int(lo), int(hi), int(step).bit_length() - 1,
                     np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF), upd, t0)
    return LearningState(w, dl, tg, xtr, ytr, r1, int(upd[0]), t0 + T)
