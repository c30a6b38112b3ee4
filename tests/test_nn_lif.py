"""LIF forward convention (hand-computed), kernels vs naive twins, surrogates."""
import numpy as np
import pytest

import naive_nn as naive
from spikesim.nn import LI, LIF, ATan, FastSigmoid, Triangle, get_surrogate

X_SEQ = np.array([0.6, 0.6, 0.6, 0.6, 1.2, 0.0])


def _run(layer, xs):
    return layer.forward(np.asarray(xs, np.float64).reshape(-1, 1, 1))[:, 0, 0]


def test_forward_convention_subtract_hand_computed():
    lif = LIF(beta=0.5, threshold=1.0, reset="subtract", dtype=np.float64)
    lif.record = True
    s = _run(lif, X_SEQ)
    # U[t] = beta*(U[t-1] - theta*S[t-1]) + X[t]
    u_expected = [0.6, 0.9, 1.05, 0.625, 1.5125, 0.25625]
    np.testing.assert_allclose(lif.last_membrane[:, 0, 0], u_expected, rtol=1e-12)
    assert s.tolist() == [0, 0, 1, 0, 1, 0]


def test_forward_convention_zero_hand_computed():
    lif = LIF(beta=0.5, threshold=1.0, reset="zero", dtype=np.float64)
    lif.record = True
    s = _run(lif, X_SEQ)
    # U[t] = beta*U[t-1]*(1 - S[t-1]) + X[t]
    np.testing.assert_allclose(lif.last_membrane[:, 0, 0], [0.6, 0.9, 1.05, 0.6, 1.5, 0.0],
                               rtol=1e-12)
    assert s.tolist() == [0, 0, 1, 0, 1, 0]


def test_threshold_is_inclusive():
    # U == theta spikes (H(0) = 1, the clock engine's v >= v_threshold); U = 0.75, then
    # 0.5*0.75 + 0.625 = 1.0 exactly (binary fractions), then 0.5*(1-1) + 0.5
    s = _run(LIF(beta=0.5, threshold=1.0, dtype=np.float64), [0.75, 0.625, 0.5])
    assert s.tolist() == [0, 1, 0]


def test_li_readout_hand_computed():
    u = LI(beta=0.5, dtype=np.float64).forward(np.array([1.0, 0.0, 2.0]).reshape(3, 1, 1))
    np.testing.assert_allclose(u[:, 0, 0], [1.0, 0.5, 2.25])


def test_static_input_equals_repeated_input():
    rng = np.random.default_rng(0)
    x = rng.normal(0.5, 0.5, (3, 7)).astype(np.float32)
    a = LIF(beta=0.8).forward_seq(x, 20, static=True)
    b = LIF(beta=0.8).forward(np.broadcast_to(x, (20, 3, 7)).copy())
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_kernel_matches_naive(reset, dtype):
    rng = np.random.default_rng(1)
    T, N = 30, 40
    X = rng.normal(0.3, 0.6, (T, N)).astype(dtype)
    lif = LIF(beta=0.85, threshold=0.7, reset=reset)
    lif.record = True
    S = lif.forward(X.reshape(T, 1, N))
    # naive twin in the same dtype (state rounded to dtype each step)
    U_ref, S_ref = naive.lif_forward(X, T, float(np.float32(0.85)), float(np.float32(0.7)),
                                     reset, dtype)
    np.testing.assert_array_equal(S[:, 0], S_ref)
    np.testing.assert_allclose(lif.last_membrane[:, 0], U_ref, rtol=1e-6, atol=1e-6)
    assert S.sum() > 10  # the test exercises resets


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("detach", [True, False])
@pytest.mark.parametrize("sg", [FastSigmoid(10.0), ATan(2.0), Triangle(0.8)])
def test_backward_kernel_matches_naive(reset, detach, sg):
    rng = np.random.default_rng(2)
    T, B, N = 12, 2, 9
    X = rng.normal(0.4, 0.6, (T, B, N))
    lif = LIF(beta=0.8, threshold=0.9, reset=reset, surrogate=sg, detach_reset=detach,
              dtype=np.float64)
    S = lif.forward(X)
    U = lif._cache[0]
    gS = rng.normal(size=S.shape)
    gX = lif.backward(gS)
    for b in range(B):
        ref = naive.lif_backward(gS[:, b], U[:, b], S[:, b], 0.8, 0.9, reset, detach,
                                 sg.code, sg.param)
        np.testing.assert_allclose(gX[:, b], ref, rtol=1e-12, atol=1e-12)
    if not detach:  # the reset term changes the gradient (the test can fail)
        lif2 = LIF(beta=0.8, threshold=0.9, reset=reset, surrogate=sg, dtype=np.float64)
        lif2.forward(X)
        assert not np.allclose(lif2.backward(gS), gX)


def test_static_backward_sums_over_time():
    rng = np.random.default_rng(3)
    x = rng.normal(0.5, 0.5, (2, 5))
    g = rng.normal(size=(15, 2, 5))
    a = LIF(dtype=np.float64)
    a.forward_seq(x, 15, static=True)
    b = LIF(dtype=np.float64)
    b.forward(np.broadcast_to(x, (15, 2, 5)).copy())
    np.testing.assert_allclose(a.backward(g), b.backward(g).sum(0), rtol=1e-12)


@pytest.mark.parametrize("sg", [FastSigmoid(5.0), ATan(3.0), Triangle(0.5)])
def test_surrogate_smooth_derivative_is_grad(sg):
    x = np.linspace(-2, 2, 401) + 1e-3  # avoid the kinks at 0 and +-width
    eps = 1e-6
    num = (sg.smooth(x + eps) - sg.smooth(x - eps)) / (2 * eps)
    np.testing.assert_allclose(num, sg.grad(x), rtol=1e-6, atol=1e-9)


def test_surrogate_names_and_errors():
    assert get_surrogate("fast_sigmoid") == FastSigmoid(25.0)
    assert isinstance(get_surrogate("triangle"), Triangle)
    with pytest.raises(ValueError, match="surrogate"):
        get_surrogate("sigmoidish")
    with pytest.raises(ValueError, match="surrogate"):
        LIF(surrogate="nope")
    with pytest.raises(ValueError, match="slope"):
        FastSigmoid(slope=-1)


def test_lif_bad_input():
    lif = LIF()
    with pytest.raises(TypeError, match="float"):
        lif.forward(np.ones((3, 2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="T, B"):
        lif.forward(np.ones(4, np.float32))
    with pytest.raises(ValueError, match="reset"):
        LIF(reset="hard")
    with pytest.raises(ValueError, match="beta"):
        LIF(beta=1.5)
    with pytest.raises(ValueError, match="threshold"):
        LIF(threshold=0.0)
    per = LIF(beta=np.full(4, 0.9), size=4, learn_beta=True)
    with pytest.raises(ValueError, match="features"):
        per.forward(np.ones((3, 2, 5), np.float32))


def test_adaptive_threshold_hand_computed():
    from spikesim.nn import AdaptiveLIF
    al = AdaptiveLIF(1, beta=0.5, threshold=1.0, rho=0.5, b_adapt=1.0, dtype=np.float64)
    s = al.forward(np.array([1.2, 1.2, 1.2, 1.2]).reshape(4, 1, 1))[:, 0, 0]
    # t0: U=1.2 >= 1 spike; A1 = 1 -> TH1 = 2; U1 = 0.5*(1.2-1) + 1.2 = 1.3 < 2
    # A2 = 0.5 -> TH2 = 1.5; U2 = 0.5*1.3 + 1.2 = 1.85 spike
    # A3 = 0.25 + 1 = 1.25 -> TH3 = 2.25; U3 = 0.5*(1.85-1.5) + 1.2 = 1.375
    assert s.tolist() == [1, 0, 1, 0]


def test_learnable_parameters_stay_in_range_after_steps():
    from spikesim.nn import SGD, Sequential
    lif = LIF(beta=np.full(3, 0.99), threshold=np.full(3, 0.01), size=3, learn_beta=True,
              learn_threshold=True)
    net = Sequential(lif)
    opt = SGD(net, lr=10.0)
    x = np.full((5, 2, 3), 0.5, np.float32)
    for sign in (-1.0, 1.0):
        out = net.forward(x)
        net.backward(sign * np.ones_like(out))
        opt.step()
        assert np.all((lif.params["beta"] >= 0) & (lif.params["beta"] <= 1))
        assert np.all(lif.params["threshold"] >= 1e-3)
    assert lif.grads["beta"].shape == (3,) and lif.grads["threshold"].shape == (3,)


@pytest.mark.parametrize("static", [False, True])
def test_detached_fast_backward_equals_general_kernel(static):
    """Subtract + detach without parameter gradients takes a branch-free kernel; it must give
    the general kernel's gradient bit for bit."""
    from spikesim.nn import _kernels as K

    rng = np.random.default_rng(5)
    T, B, N = 9, 3, 7
    X = rng.normal(0.4, 0.6, (1 if static else T, B, N)).astype(np.float32)
    beta = np.linspace(0.5, 0.95, N).astype(np.float32)
    th = np.linspace(0.6, 1.1, N).astype(np.float32)
    U = np.empty((T, B, N), np.float32)
    S = np.empty_like(U)
    K.lif_forward(X, T, beta, th, False, False, 0, 10.0, U, S)
    gS = rng.normal(size=U.shape).astype(np.float32)
    out = []
    for need in (True, False):
        gX = np.empty(X.shape, np.float32)
        gb, gt = np.empty((B, N)), np.empty((B, N))
        K.lif_backward(gS, U, S, beta, th, False, True, 0, 10.0, gX, gb, gt, need, need)
        out.append(gX)
    np.testing.assert_array_equal(out[0], out[1])
    assert np.abs(out[0]).max() > 0
