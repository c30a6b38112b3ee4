"""Gradient-check mode: float64 central differences vs the backward pass, to 1e-5 relative,
for every layer type and for small networks through time."""
import numpy as np
import pytest

from naive_nn import numeric_grad
from spikesim.nn import (LI, LIF, ATan, AdaptiveLIF, AvgPool2d, BatchNorm, Conv2d, Dense,
                         Dropout, FastSigmoid, Flatten, MaxPool2d, RecurrentLIF, ReLU,
                         Sequential, SumPool2d, Triangle)

RTOL = 1e-5


def _compare(num, ana, what):
    num, ana = np.asarray(num, np.float64), np.asarray(ana, np.float64)
    scale = max(np.abs(num).max(), np.abs(ana).max(), 1e-12)
    err = np.abs(num - ana).max() / scale
    assert err < RTOL, f"{what}: max relative error {err:.2e} (scale {scale:.3g})"
    assert scale > 1e-8, f"{what}: gradient is zero, the check would be vacuous"


def check_model(model, x, timesteps=None, n_check=25, seed=0):
    """Loss = sum(out * R); compare d loss / d (input and every parameter)."""
    model.astype(np.float64).gradcheck_mode(True)
    rng = np.random.default_rng(seed)
    out = model.forward(x, timesteps=timesteps)  # draws the Dropout masks
    R = rng.normal(size=out.shape)

    def run():
        # recomputing: Dropout reuses its mask and BatchNorm leaves its running statistics
        for layer in model.layers:
            layer.recomputing = True
        try:
            return model.forward(x, timesteps=timesteps)
        finally:
            for layer in model.layers:
                layer.recomputing = False

    def f():
        return float(np.sum(run() * R))

    run()
    model.zero_grad()
    gx = model.backward(R)
    idx = rng.choice(x.size, min(n_check, x.size), replace=False)
    _compare(numeric_grad(f, x, idx), gx.reshape(-1)[idx], "input")
    for name, p in model.named_parameters():
        g = dict(model.named_grads())[name]
        assert g is not None and g.shape == p.shape, name
        idx = rng.choice(p.size, min(n_check, p.size), replace=False)
        _compare(numeric_grad(f, p, idx), g.reshape(-1)[idx], name)


def rnd(*shape, seed=1, loc=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(loc, scale, shape)


@pytest.mark.parametrize("layer,x", [
    (Dense(6, 4, rng=0), rnd(5, 6)),
    (Conv2d(2, 3, 3, rng=0), rnd(2, 2, 6, 6)),
    (Conv2d(2, 3, (3, 2), stride=2, padding=1, rng=0), rnd(2, 2, 7, 6)),
    (AvgPool2d(2), rnd(2, 3, 4, 5)),
    (SumPool2d(2), rnd(2, 3, 4, 4)),
    (MaxPool2d(2), rnd(2, 3, 5, 4)),
    (Flatten(), rnd(2, 3, 2, 2)),
    (ReLU(), rnd(4, 7)),
    (Dropout(0.3, rng=0), rnd(4, 7)),
    (BatchNorm(3), rnd(8, 3)),
    (BatchNorm(2), rnd(3, 2, 3, 3)),
])
def test_stateless_layer_gradients(layer, x):
    if isinstance(layer, BatchNorm):
        layer.params["weight"][:] = [1.5, -0.7, 0.9][:layer.num_features]
        layer.params["bias"][:] = 0.3
    check_model(Sequential(layer), x)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("sg", [FastSigmoid(5.0), ATan(2.0), Triangle(1.5)])
def test_lif_gradients_learnable(reset, sg):
    lif = LIF(beta=np.linspace(0.6, 0.9, 5), threshold=np.linspace(0.5, 1.0, 5), size=5,
              learn_beta=True, learn_threshold=True, reset=reset, surrogate=sg)
    check_model(Sequential(lif), rnd(8, 3, 5, loc=0.4, scale=0.6))


def test_lif_gradients_shared_params_static_input():
    lif = LIF(beta=0.8, threshold=0.7, learn_beta=True, learn_threshold=True)
    check_model(Sequential(Dense(4, 6, rng=0), lif), rnd(3, 4, loc=0.3), timesteps=9)


def test_li_gradients():
    check_model(Sequential(LI(beta=np.array([0.5, 0.9, 0.7]), size=3, learn_beta=True)),
                rnd(6, 2, 3))


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_recurrent_lif_gradients(reset):
    layer = RecurrentLIF(5, beta=0.8, threshold=0.8, reset=reset, learn_beta=True,
                         learn_threshold=True, surrogate=FastSigmoid(4.0), rng=0)
    check_model(Sequential(layer), rnd(7, 2, 5, loc=0.3, scale=0.7))


def test_adaptive_lif_gradients():
    layer = AdaptiveLIF(4, beta=0.85, threshold=0.6, rho=0.8, b_adapt=0.4, recurrent=True,
                        learn_beta=True, learn_threshold=True, surrogate=ATan(1.5), rng=1)
    check_model(Sequential(layer), rnd(8, 2, 4, loc=0.4, scale=0.7))


def test_small_conv_snn_through_time():
    net = Sequential(
        Conv2d(1, 3, 3, bias=False, rng=0), BatchNorm(3),
        LIF(beta=0.8, threshold=0.6, learn_beta=True),
        MaxPool2d(2), Flatten(), Dropout(0.2, rng=1), Dense(12, 5, rng=2),
        RecurrentLIF(5, beta=0.9, threshold=0.5, rng=3), Dense(5, 3, rng=4),
        LI(beta=0.8))
    check_model(net, rnd(2, 1, 6, 6, loc=0.5), timesteps=6, n_check=15)


def test_small_fc_snn_time_varying_input():
    net = Sequential(Dense(4, 6, rng=0), LIF(beta=0.9, threshold=0.5, reset="zero"),
                     Dense(6, 3, rng=1), LIF(beta=0.7, threshold=0.3), Dense(3, 2, rng=2),
                     LI(beta=0.9))
    check_model(net, rnd(10, 2, 4, loc=0.4), n_check=20)


def test_ann_gradients():
    net = Sequential(Conv2d(1, 2, 3, padding=1, bias=False, rng=0), BatchNorm(2), ReLU(),
                     AvgPool2d(2),
                     Flatten(), Dense(8, 4, rng=1), ReLU(), Dense(4, 3, rng=2))
    check_model(net, rnd(3, 1, 4, 4))
