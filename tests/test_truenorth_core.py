"""TrueNorth core: every leak, threshold and reset mode against hand-computed sequences, the
numba kernel against the naive twin (bit-exact, stochastic modes included), bad input."""
from __future__ import annotations

import numpy as np
import pytest

from spikesim.backends.truenorth import params as P
from spikesim.backends.truenorth.core import NeuronParams, run_core, splitmix_seeds

from naive_truenorth import draw, naive_run_core

BIG = P.THRESHOLD_MAX


def one_neuron(seq_axons, T, **kw):
    """Neuron 0 with axon 0 (type 0) and axon 1 (type 1) connected; returns V[:,0], spikes[:,0]."""
    xb = np.zeros((256, 256), bool)
    xb[0, 0] = xb[1, 0] = True
    at = np.zeros(256, int)
    at[1] = 1
    A = np.zeros((T, 256), np.uint8)
    for t, axons in seq_axons.items():
        for a in axons:
            A[t, a] = 1
    kw.setdefault("alpha", BIG)
    kw.setdefault("beta", BIG)
    s, v = run_core(xb, at, NeuronParams(**kw), A)
    return v[:, 0].tolist(), s[:, 0].tolist()


def test_integration_types():
    v, s = one_neuron({0: [0, 1], 1: [0], 2: [1]}, 4, weights=[[3, -2, 0, 0]])
    assert v == [1, 4, 2, 2] and s == [0, 0, 0, 0]


def test_leak_plain():
    v, _ = one_neuron({}, 7, leak=-2, v_init=10)
    assert v == [8, 6, 4, 2, 0, -2, -4]


def test_leak_reversal_converges_to_zero_and_oscillates():
    # Omega = sgn(V): the leak pushes V towards 0 from both sides; at |V| < |lambda| it
    # overshoots (the equations have no "ringing" guard) and at V = 0 it stops.
    v, _ = one_neuron({}, 5, leak=-2, leak_reversal=True, v_init=5)
    assert v == [3, 1, -1, 1, -1]
    v, _ = one_neuron({}, 3, leak=-2, leak_reversal=True, v_init=-5)
    assert v == [-3, -1, 1]
    v, _ = one_neuron({}, 3, leak=-4, leak_reversal=True, v_init=0)
    assert v == [0, 0, 0]


def test_leak_reversal_divergent():
    v, _ = one_neuron({}, 3, leak=1, leak_reversal=True, v_init=2)
    assert v == [3, 4, 5]
    v, _ = one_neuron({}, 3, leak=1, leak_reversal=True, v_init=-2)
    assert v == [-3, -4, -5]


def test_normal_reset_gamma0():
    v, s = one_neuron({t: [0] for t in range(5)}, 5, weights=[[3, 0, 0, 0]], alpha=5, reset=1)
    assert v == [3, 1, 4, 1, 4] and s == [0, 1, 0, 1, 0]


def test_linear_reset_gamma1():
    v, s = one_neuron({t: [0] for t in range(6)}, 6, weights=[[3, 0, 0, 0]], alpha=5, gamma=1)
    assert v == [3, 1, 4, 2, 0, 3] and s == [0, 1, 0, 1, 1, 0]


def test_non_reset_gamma2():
    v, s = one_neuron({t: [0] for t in range(4)}, 4, weights=[[3, 0, 0, 0]], alpha=5, gamma=2)
    assert v == [3, 6, 9, 12] and s == [0, 1, 1, 1]


def test_leak_applied_after_integration_before_threshold():
    # V: 0 + 4 (input) - 1 (leak) = 3 < 4 no spike; 3 + 4 - 1 = 6 >= 4 spike, reset 0.
    v, s = one_neuron({t: [0] for t in range(3)}, 3, weights=[[4, 0, 0, 0]], leak=-1, alpha=4)
    assert v == [3, 0, 3] and s == [0, 1, 0]


@pytest.mark.parametrize("gamma,reset,expected", [
    (0, 2, [-3, -2, -5, -2, -5]),     # kappa=0, normal: -> -R
    (1, 0, [-3, -1, -4, -2, -5]),     # kappa=0, linear: V + beta
    (2, 0, [-3, -6, -9, -12, -15]),   # kappa=0, non-reset
])
def test_negative_threshold_kappa0(gamma, reset, expected):
    v, s = one_neuron({t: [1] for t in range(5)}, 5, weights=[[0, -3, 0, 0]], beta=5,
                      gamma=gamma, reset=reset, alpha=5)
    assert v == expected and sum(s) == 0


@pytest.mark.parametrize("gamma", [0, 1, 2])
def test_negative_threshold_kappa1_saturates(gamma):
    v, _ = one_neuron({t: [1] for t in range(4)}, 4, weights=[[0, -3, 0, 0]], beta=5, kappa=True,
                      gamma=gamma, reset=2, alpha=5)
    assert v == [-3, -5, -5, -5]


def test_masked_random_threshold_hand_computed():
    # Constant drive +2 per tick, alpha = 3, mask 3 bits: spike iff V >= 3 + (draw & 7),
    # linear reset; eta is the documented counter-based draw.
    T = 40
    v, s = one_neuron({t: [0] for t in range(T)}, T, weights=[[2, 0, 0, 0]], alpha=3,
                      mask_bits=3, gamma=1)
    key = int(splitmix_seeds(0, 1)[0])
    V, exp_v, exp_s = 0, [], []
    for t in range(T):
        V += 2
        eta = draw(key, t, 0x20000 | 0) & 7  # the threshold draw of neuron 0 at tick t
        if V >= 3 + eta:
            V -= 3 + eta
            exp_s.append(1)
        else:
            exp_s.append(0)
        exp_v.append(V)
    assert v == exp_v and s == exp_s
    assert 0 < sum(s) < T


def test_stochastic_synapse_and_leak_probability():
    # |s| = 63 -> P(+-1) = (63 + 1) / 256 = 0.25 per synaptic event (F uses |s| >= rho).
    T = 4000
    xb = np.zeros((256, 256), bool)
    xb[0, :2] = True
    A = np.zeros((T, 256), np.uint8)
    A[:, 0] = 1
    p = NeuronParams(weights=[[63, 0, 0, 0], [-63, 0, 0, 0]] + [[0] * 4] * 254,
                     stochastic_synapse=[[1, 0, 0, 0]] * 256, alpha=BIG, beta=BIG, gamma=2)
    _, v = run_core(xb, np.zeros(256, int), p, A, seed=3)
    sd = np.sqrt(T * 0.25 * 0.75)
    assert abs(v[-1, 0] - T * 0.25) < 4 * sd and abs(-v[-1, 1] - T * 0.25) < 4 * sd
    assert np.all(np.diff(v[:, 0]) >= 0) and np.all(np.diff(v[:, 0]) <= 1)
    p = NeuronParams(leak=-127, stochastic_leak=True, alpha=BIG, beta=BIG, gamma=2)
    _, v = run_core(np.zeros((256, 256), bool), np.zeros(256, int), p, np.zeros((T, 256)), seed=5)
    sd = np.sqrt(T * 0.25)
    assert abs(-v[-1, 0] - T * 0.5) < 4 * sd


def test_saturation_counted():
    xb = np.zeros((256, 256), bool)
    xb[:, 0] = True
    A = np.ones((12, 256), np.uint8)
    p = NeuronParams(weights=[[255, 0, 0, 0]] + [[0] * 4] * 255, alpha=BIG, gamma=2)
    s, v, c = run_core(xb, np.zeros(256, int), p, A, return_counts=True)
    exp = np.minimum(65280 * np.arange(1, 13), P.V_MAX)
    assert v[:, 0].tolist() == exp.tolist()
    assert c["saturations"] == int((65280 * np.arange(1, 13) > P.V_MAX).sum())
    assert c["synops"] == 12 * 256 and c["axon_events"] == 12 * 256
    p = NeuronParams(weights=[[-255, 0, 0, 0]] + [[0] * 4] * 255, alpha=BIG, beta=BIG, gamma=2)
    _, v = run_core(xb, np.zeros(256, int), p, A)
    assert v[-1, 0] == P.V_MIN


def random_core(rng, stochastic):
    xb = rng.random((256, 256)) < 0.3
    at = rng.integers(0, 4, 256)
    n = 256
    p = NeuronParams(
        weights=rng.integers(-255, 256, (n, 4)),
        stochastic_synapse=(rng.random((n, 4)) < 0.5) if stochastic else False,
        leak=rng.integers(-20, 21, n),
        stochastic_leak=(rng.random(n) < 0.5) if stochastic else False,
        leak_reversal=rng.random(n) < 0.5,
        alpha=rng.integers(1, 3000, n), beta=rng.integers(0, 3000, n),
        mask_bits=rng.integers(0, 10, n) if stochastic else 0,
        reset=rng.integers(-100, 100, n), gamma=rng.integers(0, 3, n),
        kappa=rng.random(n) < 0.5, v_init=rng.integers(-500, 500, n))
    return xb, at, p


@pytest.mark.parametrize("stochastic", [False, True])
def test_kernel_matches_naive(stochastic):
    rng = np.random.default_rng(11 + stochastic)
    xb, at, p = random_core(rng, stochastic)
    A = (rng.random((12, 256)) < 0.2).astype(np.uint8)
    s, v = run_core(xb, at, p, A, seed=7)
    s2, v2, _ = naive_run_core(xb, at, p.arrays(), A, int(splitmix_seeds(7, 1)[0]))
    assert np.array_equal(s, s2) and np.array_equal(v, v2)
    assert s.sum() > 0


@pytest.mark.parametrize("gamma,kappa,eps,sto", [(0, 0, 1, 1), (1, 1, 0, 1), (2, 0, 0, 1),
                                                  (1, 0, 1, 1), (0, 0, 0, 0), (1, 0, 0, 0),
                                                  (2, 0, 0, 0), (0, 1, 0, 0), (1, 1, 0, 0)])
def test_uniform_core_fast_path_matches_naive(gamma, kappa, eps, sto):
    # every neuron shares one parameter set: the kernel takes its branch-free vector paths
    # (a 32-bit one for deterministic leak/threshold without leak reversal)
    rng = np.random.default_rng(gamma + 3 * kappa + 7 * sto)
    xb = rng.random((256, 256)) < 0.3
    at = rng.integers(0, 4, 256)
    p = NeuronParams(weights=[[200 if sto else 9, 30, 255 if sto else -4, -25]],
                     stochastic_synapse=[[sto, 0, sto, 0]], leak=-9 if sto else 2,
                     stochastic_leak=bool(sto), leak_reversal=bool(eps), alpha=60, beta=100,
                     mask_bits=6 * sto, reset=17, gamma=gamma, kappa=bool(kappa),
                     v_init=rng.integers(-300, 300, 256))
    A = (rng.random((15, 256)) < 0.3).astype(np.uint8)
    s, v = run_core(xb, at, p, A, seed=5)
    s2, v2, _ = naive_run_core(xb, at, p.arrays(), A, int(splitmix_seeds(5, 1)[0]))
    assert np.array_equal(v, v2) and np.array_equal(s, s2) and 0 < s.sum()


def test_seed_reproducible_and_matters():
    rng = np.random.default_rng(1)
    xb, at, p = random_core(rng, True)
    A = (rng.random((10, 256)) < 0.2).astype(np.uint8)
    a = run_core(xb, at, p, A, seed=1)[1]
    assert np.array_equal(a, run_core(xb, at, p, A, seed=1)[1])
    assert not np.array_equal(a, run_core(xb, at, p, A, seed=2)[1])


@pytest.mark.parametrize("kw,needle", [
    (dict(weights=256), "256"), (dict(weights=-256), "-255..255"), (dict(delay=16), "1..15"),
    (dict(delay=0), "delay"), (dict(alpha=2 ** 18), "262143"), (dict(gamma=3), "gamma"),
    (dict(leak=300), "leak"), (dict(mask_bits=18), "mask_bits"), (dict(alpha=1.5), "integer"),
    (dict(kappa=2), "kappa"),
])
def test_bad_params(kw, needle):
    with pytest.raises(ValueError, match=needle):
        NeuronParams(**kw).arrays()


def test_bad_run_core_inputs():
    xb = np.zeros((256, 256), bool)
    with pytest.raises(ValueError, match="binary"):
        run_core(xb + 2, np.zeros(256, int), NeuronParams(), np.zeros((2, 256)))
    with pytest.raises(ValueError, match="axon type 4"):
        run_core(xb, np.full(256, 4), NeuronParams(), np.zeros((2, 256)))
    with pytest.raises(ValueError, match="axon_inputs"):
        run_core(xb, np.zeros(256, int), NeuronParams(), np.zeros((2, 255)))
    with pytest.raises(TypeError, match="NeuronParams"):
        run_core(xb, np.zeros(256, int), {}, np.zeros((2, 256)))
