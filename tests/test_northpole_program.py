"""NorthPole compile/run: nn ANN -> integer program (spikesim.quant), Result and Counts."""
import numpy as np
import pytest

import naive_northpole as naive
from spikesim.backends.northpole import compile, run
from spikesim.backends.northpole.qat import attach_constraints, finetune
from spikesim.nn import (AvgPool2d, BatchNorm, Conv2d, Dense, Dropout, Flatten, LIF, MaxPool2d,
                         ReLU, Sequential, SumPool2d)
from spikesim.quant import quantize_activations


def _cnn():
    net = Sequential(Conv2d(1, 4, 3, padding=1, rng=0), BatchNorm(4), ReLU(), MaxPool2d(2),
                     Conv2d(4, 8, 3, rng=1), ReLU(), AvgPool2d(2), Flatten(), Dropout(0.2),
                     Dense(8, 16, rng=2), ReLU(), Dense(16, 5, rng=3))
    bn = net.layers[1]
    bn.buffers["running_mean"][:] = [0.1, -0.2, 0.0, 0.3]
    bn.buffers["running_var"][:] = [0.5, 2.0, 1.0, 1.5]
    bn.params["weight"][:] = [1.2, 0.8, 1.0, 0.5]
    return net.eval()


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).random((48, 1, 10, 10)).astype(np.float32)


def test_int8_program_is_bit_exact_and_close_to_float(data):
    net = _cnn()
    prog = compile(net, data, 8)
    res = run(prog, data, progress=False)
    q = quantize_activations(data[:4], prog.input_scale, prog.input_bits, prog.input_signed)
    np.testing.assert_array_equal(res.outputs["acc"][:4],
                                  naive.run(prog.layers, q.q, prog.input_bits, False))
    f = net.forward(data)
    rel = np.abs(res.outputs["logits"] - f).max() / np.abs(f).max()
    assert rel < 0.03, rel
    assert (res.outputs["logits"].argmax(1) == f.argmax(1)).mean() >= 0.95
    # Counts: dense MACs per layer x samples; energy through spikesim.energy
    c = res.counts
    assert c.source == "northpole" and c.samples == 48
    assert c.total("dense_mac") == prog.macs_per_frame * 48
    assert c.layers["conv2d0"]["dense_mac"] == 4 * 10 * 10 * 9 * 48
    assert c.total("cycles") > 0 and c.total("spikes_routed") > 0
    from spikesim.energy import northpole_energy_per_mac, report
    e = report(c, "northpole").total[1]
    assert e == pytest.approx(prog.macs_per_frame * northpole_energy_per_mac())
    assert prog.frames_per_j() == pytest.approx(1 / e)
    assert res.meta["frames_per_s"] == prog.schedule.frames_per_s
    assert res.engine == "northpole" and res.run_s > 0


def test_precision_forms_and_lower_precision_error_grows(data):
    net = _cnn()
    f = net.forward(data)
    errs = {}
    for p in (8, 4, 2):
        res = run(compile(net, data, p), data, progress=False)
        errs[p] = np.abs(res.outputs["logits"] - f).max()
    assert errs[8] < errs[4] < errs[2]
    prog = compile(net, data, [8, 4, (2, 4), 8])
    assert prog.precision == [(8, 8), (4, 4), (2, 4), (8, 8)]
    assert [s.bits for s in prog.shapes] == [8, 4, 4, 8]
    prog = compile(net, data, {"dense3": 4, 1: 2})
    assert prog.precision == [(8, 8), (2, 2), (8, 8), (4, 4)]
    assert compile(net, data, (4, 8)).precision == [(4, 8)] * 4


def test_qat_constraints_compile_to_the_trained_integers(data):
    net = _cnn()
    attach_constraints(net, 4)
    prog = compile(net, data, 4)
    for d, layer in ((prog.layers[-1], net.layers[-1]), (prog.layers[-2], net.layers[-3])):
        deq = d.weight * d.meta["w_scale"].reshape(-1, 1)
        np.testing.assert_allclose(deq, layer.effective_weight(), rtol=1e-5, atol=1e-7)
        assert np.abs(d.weight).max() <= 7


def test_finetune_improves_2bit_weights():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(512, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] - x[:, 2] > 0).astype(np.int64)
    net = Sequential(Dense(6, 16, rng=0), ReLU(), Dense(16, 2, rng=1))
    from spikesim.nn import Adam, Trainer
    Trainer(net, "ce", Adam(net, lr=1e-2), batch_size=32, progress=False).fit(x, y, 5)
    acc = lambda: (run(compile(net, x, (2, 8)), x, progress=False).outputs["logits"]
                   .argmax(1) == y).mean()
    ptq = acc()
    finetune(net, x, y, (2, 8), epochs=3, lr=3e-3, batch_size=32, progress=False)
    qat = acc()
    assert qat > ptq and qat > 0.98, (ptq, qat)


def test_bad_input(data):
    net = _cnn()
    with pytest.raises(ValueError, match="not supported by NorthPole"):
        compile(net, data, 3)
    with pytest.raises(ValueError, match="4 MAC layers"):
        compile(net, data, [8, 8])
    with pytest.raises(ValueError, match="unknown MAC layers"):
        compile(net, data, {"conv9": 4})
    with pytest.raises(ValueError, match="calibration_data shape"):
        compile(net, data[:, :, :, 0], 8)
    with pytest.raises(ValueError, match="calibration_data shape"):
        compile(net, np.zeros((4, 3, 10, 10), np.float32), 8)
    with pytest.raises(TypeError, match="LIF.*supported layer types: \\['Dense'"):
        compile(Sequential(Dense(4, 4, rng=0), LIF(beta=0.9)), np.zeros((2, 4)), 8)
    with pytest.raises(ValueError, match="calibration_data shape .* layer 6 \\(AvgPool2d\\)"):
        compile(net, data[:, :, :6, :6], 8)
    with pytest.raises(TypeError, match="SumPool2d.*not supported"):
        compile(Sequential(Conv2d(1, 2, 3, rng=0), SumPool2d(2), Flatten(), Dense(8, 2)),
                data[:, :, :6, :6], 8)
    with pytest.raises(TypeError, match="Sequential"):
        compile(object(), data, 8)
    prog = compile(net, data, 8)
    with pytest.raises(ValueError, match="inputs shape"):
        run(prog, data[:, :, :8], progress=False)


def test_ir_network_chain_compiles_and_matches_float():
    from spikesim import ir
    rng = np.random.default_rng(3)
    w1 = rng.normal(0, 0.3, (4, 1, 3, 3))
    w2 = rng.normal(0, 0.3, (3, 4 * 4 * 4))
    net = ir.Network(nodes={"in": ir.Input((1, 8, 8)),
                            "c": ir.Conv2d((1, 8, 8), w1, padding=1),
                            "p": ir.MaxPool2d(2), "f": ir.Flatten(),
                            "fc": ir.Affine(w2, np.zeros(3)), "out": ir.Output()},
                     edges=["in->c", "c->p", "p->f", "f->fc", "fc->out"])
    x = rng.random((32, 1, 8, 8)).astype(np.float32)
    res = run(compile(net, x, 8), x, progress=False)
    from spikesim.backends.northpole.from_ir import from_ir
    f = from_ir(net).forward(x)
    assert np.abs(res.outputs["logits"] - f).max() < 0.03 * np.abs(f).max()
    lif = ir.Network(nodes={"in": ir.Input(4), "fc": ir.Linear(np.eye(4)),
                            "n": ir.LIF(4, tau=0.02), "out": ir.Output()},
                     edges=["in->fc", "fc->n", "n->out"])
    with pytest.raises(TypeError, match="LIF.*supported IR node types"):
        compile(lif, np.zeros((2, 4)), 8)
