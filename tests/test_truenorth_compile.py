"""TrueNorth compiler: exact agreement with a float IF reference (reset to value, ternary
weights), splitters, fan-in limit, quantisation consent, relays, report, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from spikesim import backends, ir

tn = backends.get("truenorth")


def float_if(layers, x, reset="value"):
    """Float IF chain, all layers in the same step (the nn / clock convention).
    layers: [(W, theta)]; x: [B, T, n]. Returns output spike counts [B, n_out]."""
    B, T, _ = x.shape
    vs = [np.zeros((B, W.shape[0])) for W, _ in layers]
    out = np.zeros((B, layers[-1][0].shape[0]), int)
    for t in range(T):
        s = x[:, t].astype(float)
        for k, (W, th) in enumerate(layers):
            vs[k] += s @ W.T
            s = (vs[k] > th).astype(float)
            if reset == "value":
                vs[k][s > 0] = 0.0
            else:
                vs[k] -= th * s
        out += s.astype(int)
    return out


def chain(W1, th1, W2, th2, reset="value"):
    return ir.Network({"in": ir.Input(W1.shape[1]), "fc1": ir.Linear(W1),
                       "h": ir.IF(W1.shape[0], v_threshold=th1, reset=reset),
                       "fc2": ir.Linear(W2),
                       "o": ir.IF(W2.shape[0], v_threshold=th2, reset=reset), "out": ir.Output()},
                      ["in->fc1", "fc1->h", "h->fc2", "fc2->o", "o->out"])


def ternary_net(seed=0, n_in=100, hidden=64):
    rng = np.random.default_rng(seed)
    W1 = rng.choice([-1, 0, 1], size=(hidden, n_in), p=[.3, .4, .3]) * 0.25
    W2 = rng.choice([-1, 0, 1], size=(10, hidden)) * 0.5
    return W1, W2, rng


def test_exact_against_float_reference():
    W1, W2, rng = ternary_net()
    net = chain(W1, 0.6, W2, 0.75)
    prog = tn.compile(net)
    x = (rng.random((4, 30, 100)) < 0.2).astype(np.uint8)
    res = tn.run(prog, x, progress=False)
    ref = float_if([(W1, 0.6), (W2, 0.75)], x)
    assert np.array_equal(res.outputs["out"], ref)
    assert ref.sum() > 20
    # hidden layer spike counts too (logical neurons; copies are not recorded)
    assert np.array_equal(res.outputs["h"], float_if([(W1, 0.6)], x))


def test_subtract_reset_close_to_float():
    W1, W2, rng = ternary_net(1)
    net = chain(W1, 0.6, W2, 0.75, reset="subtract")
    prog = tn.compile(net)
    x = (rng.random((4, 30, 100)) < 0.2).astype(np.uint8)
    out = tn.run(prog, x, progress=False).outputs["out"]
    ref = float_if([(W1, 0.6), (W2, 0.75)], x, reset="subtract")
    # the integer threshold is floor(K theta / a) + 1 with K = 255: residuals differ by < 1/255
    assert np.abs(out - ref).max() <= 1 and (out == ref).mean() > 0.9


def test_splitters_and_report():
    W1, W2, _ = ternary_net(2)
    prog = tn.compile(chain(W1, 0.6, W2, 0.75))
    rep = prog.report
    both = ((W2 > 0).any(0) & (W2 < 0).any(0)).sum()
    one = ((W2 != 0).any(0)).sum() - both
    h = rep["layers"][0]
    assert h["splitter_neurons"] == both and h["cores"] == 1
    assert rep["cores"] == 2 and rep["chips"] == 1
    assert rep["splitter_overhead"] == pytest.approx(both / (64 + 10))
    assert rep["neuron_utilisation"] == pytest.approx((74 + both) / 512)
    assert h["neurons"] == 64 and one >= 0
    assert "splitter overhead" in tn.mapping_table(rep)


def test_fan_in_limit_names_layer_and_limit():
    rng = np.random.default_rng(3)
    # 200 inputs fit when each neuron needs one level per input (one core per neuron) ...
    W1 = rng.choice([-1, 1], size=(8, 200)) * 0.1
    W2 = rng.choice([-1, 1], size=(4, 8)) * 0.1
    assert tn.compile(chain(W1, 1.0, W2, 1.0)).report["layers"][0]["cores"] == 8
    # ... 300 do not
    W1 = rng.choice([-1, 1], size=(8, 300)) * 0.1
    with pytest.raises(ValueError, match=r"layer 'h' needs fan-in 300 axons.*> 256 axons per "
                                         r"TrueNorth core.*128 inputs when both signs"):
        tn.compile(chain(W1, 1.0, W2, 1.0))


def test_relay_partial_sums_fit_and_run():
    rng = np.random.default_rng(3)
    W1 = rng.choice([-1, 1], size=(8, 300)) * 0.1
    W2 = rng.choice([-1, 1], size=(4, 8)) * 0.1
    prog = tn.compile(chain(W1, 1.0, W2, 0.2), relay="partial-sum")
    names = [r["layer"] for r in prog.report["layers"]]
    assert names == ["h/relay", "h", "o"] and prog.meta["latency_ticks"] == 2
    assert prog.report["layers"][0]["max_fan_in_axons"] <= 256
    x = (rng.random((2, 40, 300)) < 0.3).astype(np.uint8)
    res = tn.run(prog, x, progress=False)
    assert res.outputs["h/relay"].sum() > 0 and res.outputs["out"].shape == (2, 4)


def test_quantisation_needs_consent():
    rng = np.random.default_rng(4)
    W1 = rng.normal(size=(16, 50))
    W2 = rng.normal(size=(4, 16))
    with pytest.raises(ValueError, match="quantize='ternary'"):
        tn.compile(chain(W1, 1.0, W2, 1.0))
    prog = tn.compile(chain(W1, 1.0, W2, 1.0), quantize="ternary")
    assert prog.report["quantize"] == "ternary"
    assert all(set(r["levels"]) <= {-1, 1} for r in prog.report["layers"])
    with pytest.raises(ValueError, match="quantize="):
        tn.compile(chain(W1, 1.0, W2, 1.0), quantize="int9")


def test_unsupported_neurons_and_bias_range():
    W1, W2, _ = ternary_net()
    net = ir.Network({"in": ir.Input(100), "fc1": ir.Linear(W1), "h": ir.LIF(64, tau=0.02),
                      "out": ir.Output()}, ["in->fc1", "fc1->h", "h->out"])
    with pytest.raises(ValueError, match="linearly"):
        tn.compile(net)
    net = ir.Network({"in": ir.Input(100), "fc1": ir.Affine(W1, np.full(64, 100.0)),
                      "h": ir.IF(64), "out": ir.Output()}, ["in->fc1", "fc1->h", "h->out"])
    with pytest.raises(ValueError, match="leak beyond -255..255"):
        tn.compile(net)
    net = ir.Network({"in": ir.Input(100), "fc1": ir.Linear(W1),
                      "h": ir.IF(64, refractory=2e-3), "out": ir.Output()},
                     ["in->fc1", "fc1->h", "h->out"])
    with pytest.raises(ValueError, match="refractory"):
        tn.compile(net)


def test_bias_becomes_leak():
    W1 = np.full((1, 2), 0.5)
    net = ir.Network({"in": ir.Input(2), "fc": ir.Affine(W1, np.array([0.25])),
                      "h": ir.IF(1, v_threshold=0.9, reset="value"), "out": ir.Output()},
                     ["in->fc", "fc->h", "h->out"])
    prog = tn.compile(net)
    # v: 0.25/tick without input -> crosses 0.9 at the 4th tick, resets to 0: 2 spikes in 8
    res = tn.run(prog, np.zeros((8, 2), np.uint8), progress=False)
    assert res.outputs["out"].tolist() == [[2]]
    assert res.spikes["out"].t.tolist() == pytest.approx([4e-3, 8e-3])


def test_conv_layer_grouped_connectivity_fits_and_is_exact():
    # a 3x3 convolution on a 12x12 image: 144 inputs, but each neuron's fan-in is 9 pixels,
    # so the layer is placed core by core (Eedn-style grouped connectivity)
    from scipy.signal import correlate2d

    rng = np.random.default_rng(6)
    k = rng.choice([-1, 1], size=(4, 1, 3, 3)) * 0.25
    W2 = rng.choice([-1, 0, 1], size=(10, 400), p=[.2, .6, .2]) * 0.5
    net = ir.Network({"in": ir.Input((1, 12, 12)), "conv": ir.Conv2d((1, 12, 12), k),
                      "c": ir.IF((4, 10, 10), v_threshold=0.3), "fl": ir.Flatten(),
                      "fc": ir.Linear(W2), "o": ir.IF(10, v_threshold=0.75), "out": ir.Output()},
                     ["in->conv", "conv->c", "c->fl", "fl->fc", "fc->o", "o->out"])
    prog = tn.compile(net)
    assert prog.report["layers"][0]["max_fan_in_axons"] == 9
    x = (rng.random((2, 15, 144)) < 0.3).astype(np.uint8)
    res = tn.run(prog, x, progress=False)
    Wc = np.zeros((400, 144))
    for i in range(144):
        e = np.zeros((12, 12))
        e.flat[i] = 1
        Wc[:, i] = np.stack([correlate2d(e, k[o, 0], mode="valid") for o in range(4)]).ravel()
    assert np.array_equal(res.outputs["out"], float_if([(Wc, 0.3), (W2, 0.75)], x))
    assert res.outputs["out"].sum() > 0
