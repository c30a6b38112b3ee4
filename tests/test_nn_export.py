"""Export of trained nn models to the IR, and identical spikes on the clock engine."""
import numpy as np
import pytest

from spikesim import ir
from spikesim.nn import (LI, LIF, AdaptiveLIF, BatchNorm, Conv2d, Dense, Dropout, Flatten,
                         MaxPool2d, RecurrentLIF, ReLU, Sequential)
from spikesim.sim import Simulator
from spikesim.sim.inputs import Frames

DT = 1e-3


def _engine_spikes(res, name, steps, batch):
    st = res.spikes[name]
    E = np.zeros((steps, batch, st.n))
    E[np.round(st.t / DT).astype(int) - 1, st.b, st.i] = 1
    return E


def _layer_spikes(net, x):
    """Spikes of every spiking layer of a trained model (training forward pass)."""
    out, h = {}, x
    T, B = x.shape[:2]
    for i, layer in enumerate(net.layers):
        if layer.spiking:
            h = layer.forward(h)
            if not isinstance(layer, LI):
                out[i] = h
        else:
            y = layer.forward(h.reshape(T * B, *h.shape[2:]))
            h = y.reshape(T, B, *y.shape[1:])
    return out, h


@pytest.mark.parametrize("direct,bias", [(False, False), (True, False), (False, True), (True, True)])
def test_fc_export_gives_identical_spikes_on_clock_engine(direct, bias):
    rng = np.random.default_rng(0)
    T, B = 30, 3
    net = Sequential(Dense(20, 30, bias=bias, rng=0), LIF(beta=0.8, threshold=1.0),
                     Dense(30, 10, bias=bias, rng=1),
                     LIF(beta=0.9, threshold=0.5, reset="zero"),
                     Dense(10, 5, bias=bias, rng=2), LI(beta=0.7)).astype(np.float64).eval()
    if bias:
        for i in (0, 2, 4):
            net[i].params["bias"][...] = rng.normal(0, 0.2, net[i].params["bias"].shape)
    for i in (0, 2, 4):
        net[i].params["weight"] *= 3
    if direct:  # analog pixels, constant over time
        x = np.broadcast_to(rng.random((1, B, 20)), (T, B, 20)).copy()
    else:
        x = (rng.random((T, B, 20)) < 0.3).astype(np.float64)
    spikes, readout = _layer_spikes(net, x)
    g = net.to_ir(20, dt=DT)
    assert isinstance(g, ir.Network)
    assert isinstance(g["1_lif"], ir.LIF) and g["1_lif"].reset == "subtract"
    np.testing.assert_allclose(g["1_lif"].tau, -DT / np.log(0.8))
    assert g["3_lif"].reset == "value"
    steps = T + 3
    res = Simulator(g, engine="clock", dt=DT, dtype="float64", batch=B, rng=0).run(
        steps * DT, inputs={"input": Frames(x)}, progress=False)
    for depth, (i, S) in enumerate(sorted(spikes.items()), start=1):
        assert S.sum() > 20, "the test needs spikes"
        E = _engine_spikes(res, f"{i}_lif", steps, B)
        assert E[:depth].sum() == 0
        np.testing.assert_array_equal(E[depth:depth + T], S, err_msg=f"layer {i}")
    # the LI readout is 3 synapse stages deep: its final membrane is the trained U[T-1]
    np.testing.assert_allclose(res.outputs["output"].reshape(B, 5), readout[-1], rtol=1e-9,
                               atol=1e-9)


def test_recurrent_export_identical_spikes():
    rng = np.random.default_rng(1)
    T, B = 25, 2
    net = Sequential(Dense(8, 12, bias=False, rng=0),
                     RecurrentLIF(12, beta=0.85, threshold=0.8, rng=1)).astype(np.float64).eval()
    net[0].params["weight"] *= 2.5
    net[1].params["recurrent_weight"] *= 2.0
    x = (rng.random((T, B, 8)) < 0.3).astype(np.float64)
    spikes, _ = _layer_spikes(net, x)
    g = net.to_ir(8, dt=DT)
    assert isinstance(g["1_recurrent"], ir.Linear)
    res = Simulator(g, engine="clock", dt=DT, dtype="float64", batch=B, rng=0).run(
        (T + 1) * DT, inputs={"input": Frames(x)}, progress=False)
    E = _engine_spikes(res, "1_lif", T + 1, B)
    assert spikes[1].sum() > 20
    np.testing.assert_array_equal(E[1:T + 1], spikes[1])


@pytest.mark.parametrize("reset,recurrent", [("subtract", False), ("zero", False),
                                            ("subtract", True)])
def test_adaptive_export_identical_spikes(reset, recurrent):
    """An LSNN layer (threshold theta + b_adapt A[t], A[t] = rho A[t-1] + S[t-1]) exports to
    an IR AdaptiveLIF (tau_adapt = -dt/ln(rho), delta_threshold = b_adapt/rho) whose spikes
    on the clock engine are the trained layer's, one step later."""
    rng = np.random.default_rng(2)
    T, B = 40, 2
    rho = rng.uniform(0.8, 0.97, 12)
    ba = np.where(np.arange(12) < 10, rng.uniform(0.1, 0.6, 12), 0.0)  # two without
    net = Sequential(Dense(8, 12, bias=False, rng=0),
                     AdaptiveLIF(12, beta=0.9, threshold=0.8, rho=rho, b_adapt=ba, reset=reset,
                                 recurrent=recurrent, rng=1)).astype(np.float64).eval()
    net[0].params["weight"] *= 3.0
    x = (rng.random((T, B, 8)) < 0.4).astype(np.float64)
    spikes, _ = _layer_spikes(net, x)
    g = net.to_ir(8, dt=DT)
    node = g["1_lif"]
    assert isinstance(node, ir.AdaptiveLIF) and ("1_recurrent" in g.nodes) == recurrent
    rho_l, ba_l = net[1].buffers["rho"], net[1].buffers["b_adapt"]  # as stored (float32)
    np.testing.assert_allclose(node.tau_adapt[:10], -DT / np.log(rho_l[:10]), rtol=1e-12)
    np.testing.assert_allclose(node.delta_threshold, np.where(ba != 0, ba_l / rho_l, 0.0),
                               rtol=1e-12)
    res = Simulator(g, engine="clock", dt=DT, dtype="float64", batch=B, rng=0).run(
        (T + 1) * DT, inputs={"input": Frames(x)}, progress=False)
    E = _engine_spikes(res, "1_lif", T + 1, B)
    # the adaptation matters here: without it the layer would fire more
    plain = Sequential(net[0], AdaptiveLIF(12, beta=0.9, threshold=0.8, rho=rho, b_adapt=0.0,
                                           reset=reset, recurrent=False)).astype(np.float64)
    if not recurrent:
        assert _layer_spikes(plain.eval(), x)[0][1].sum() > 1.2 * spikes[1].sum()
    assert spikes[1].sum() > 40
    np.testing.assert_array_equal(E[1:T + 1], spikes[1])


def test_conv_export_structure_and_batchnorm_folding():
    net = Sequential(Conv2d(1, 4, 3, rng=0), BatchNorm(4), MaxPool2d(2), LIF(beta=0.9),
                     Dropout(0.5), Flatten(), Dense(4 * 3 * 3, 10, rng=1), LI(beta=0.8))
    bn = net[1]
    bn.buffers["running_mean"][:] = [0.1, -0.2, 0.3, 0.0]
    bn.buffers["running_var"][:] = [0.5, 2.0, 1.0, 1.5]
    bn.params["weight"][:] = [1.0, 0.5, -1.0, 2.0]
    bn.params["bias"][:] = [0.0, 0.1, 0.2, 0.3]
    g = net.to_ir((1, 8, 8), dt=DT)
    assert [type(g[k]).__name__ for k in ("0_conv", "2_maxpool2d", "3_lif", "5_flatten",
                                         "6_affine", "7_li")] == \
        ["Conv2d", "MaxPool2d", "LIF", "Flatten", "Affine", "LI"]
    assert not any("dropout" in k or "batchnorm" in k for k in g.nodes)
    # folded conv+BN equals conv followed by BN in evaluation mode
    net.eval()
    x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    ref = bn.forward(net[0].forward(x))
    c = g["0_conv"]
    conv = Conv2d(1, 4, 3, dtype=np.float64)
    conv.params["weight"][...] = c.weight
    conv.params["bias"][...] = c.bias
    np.testing.assert_allclose(conv.forward(x.astype(np.float64)), ref, rtol=1e-5, atol=1e-5)


def test_export_errors():
    with pytest.raises(ValueError, match="ReLU"):
        Sequential(Dense(4, 3), ReLU()).to_ir(4)
    with pytest.raises(ValueError, match=r"AdaptiveLIF: rho must be in \(0, 1\).*got rho = 1.0"):
        Sequential(Dense(4, 3), AdaptiveLIF(3, rho=1.0)).to_ir(4)
    with pytest.raises(ValueError, match="beta must be < 1 for an adaptive layer"):
        Sequential(Dense(4, 3), AdaptiveLIF(3, beta=1.0)).to_ir(4)
    with pytest.raises(ValueError, match="expects 4 inputs"):
        Sequential(Dense(4, 3), LIF()).to_ir(5)
    with pytest.raises(ValueError, match="dt"):
        Sequential(Dense(4, 3), LIF()).to_ir(4, dt=0)
