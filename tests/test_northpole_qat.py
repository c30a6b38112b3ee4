"""NorthPole quantisation-aware training with activation fake-quantisation: the integer engine
runs exactly what was trained (bit for bit against the float64 fake-quantised forward),
precisions come from the model, and layouts that cannot run exactly are refused."""
import numpy as np
import pytest

from spikesim.backends.northpole import compile, run, run_layers
from spikesim.backends.northpole.qat import exact_copy, finetune, prepare_qat, snap_biases
from spikesim.nn import (ActQuant, Adam, AvgPool2d, BatchNorm, Conv2d, Dense, Flatten,
                         MaxPool2d, ReLU, Sequential, Trainer)
from spikesim.quant import quantize_activations


def _cnn(seed=0):
    return Sequential(Conv2d(1, 4, 3, padding=1, rng=seed), ReLU(), MaxPool2d(2),
                      Conv2d(4, 6, 3, rng=seed + 1), ReLU(), Flatten(),
                      Dense(6 * 3 * 3, 12, rng=seed + 2), ReLU(), Dense(12, 3, rng=seed + 3))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((96, 1, 10, 10)).astype(np.float32)
    y = (x[:, 0, :5].mean((1, 2)) > x[:, 0, 5:].mean((1, 2))).astype(np.int64)
    y += (x[:, 0, :, :5].mean((1, 2)) > 0.5).astype(np.int64)
    return x, y


def _codes_match(qnet, prog, x):
    """Every hidden activation code of the engine equals the exact model's code."""
    ref = exact_copy(qnet)
    h = x.astype(np.float64)
    model_codes = []
    for layer in ref.layers:
        h = layer.forward(h)
        if isinstance(layer, ActQuant):
            model_codes.append(h / layer.scale)
    q = quantize_activations(x, prog.input_scale, prog.input_bits, prog.input_signed,
                             rounding=prog.input_rounding).q
    np.testing.assert_array_equal(q, model_codes[0])
    macs = [i for i, l in enumerate(prog.layers) if type(l).__name__ in ("IntDense", "IntConv2d")]
    for k, i in enumerate(macs[:-1]):
        y, _ = run_layers(prog.layers[:i + 1], q, prog.input_bits, prog.input_signed)
        np.testing.assert_array_equal(y, model_codes[k + 1])


@pytest.mark.parametrize("precision", [8, 4, 2, [(8, 8), (2, 4), (4, 2), (8, 8)]])
def test_engine_runs_exactly_what_was_trained(data, precision):
    x, y = data
    net = _cnn()
    Trainer(net, "ce", Adam(net, lr=1e-2), batch_size=32, progress=False).fit(x, y, 2)
    qnet = prepare_qat(net, x[:32], precision)
    finetune(qnet, x, y, epochs=2, lr=1e-3, scale_lr=1e-1, batch_size=32, progress=False)
    prog = compile(qnet, x[:32])
    assert prog.meta["qat"] and all(prog.meta["requant_exact"].values())
    assert prog.input_rounding == "half_up"
    want = precision if isinstance(precision, list) else [(precision, precision)] * 4
    assert prog.precision == want
    res = run(prog, x, progress=False)
    ref = exact_copy(qnet).forward(x.astype(np.float64))
    np.testing.assert_array_equal(res.outputs["logits"], ref)  # bit for bit
    _codes_match(qnet, prog, x)
    # the float32 model that was trained differs only by float32 rounding
    f32 = qnet.eval().forward(x)
    np.testing.assert_allclose(f32, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    assert (f32.argmax(1) == ref.argmax(1)).mean() > 0.97


def test_activation_qat_beats_post_training_at_2_bits():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(512, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] - x[:, 2] > 0).astype(np.int64)
    net = Sequential(Dense(6, 16, rng=0), ReLU(), Dense(16, 2, rng=1))
    Trainer(net, "ce", Adam(net, lr=1e-2), batch_size=32, progress=False).fit(x, y, 5)
    acc = lambda m, *p: (run(compile(m, x, *p), x, progress=False).outputs["logits"]
                         .argmax(1) == y).mean()
    ptq = acc(net, 2)  # 2-bit weights and activations, post-training: near chance
    qnet = prepare_qat(net, x, 2)
    finetune(qnet, x, y, epochs=3, lr=3e-3, batch_size=32, progress=False)
    qat = acc(qnet)
    assert ptq < 0.7 and qat > 0.8 and qat > ptq + 0.15, (ptq, qat)


def test_signed_input_dense_model_and_snap():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 7)).astype(np.float32)
    y = (x[:, 0] - x[:, 3] > 0).astype(np.int64)
    net = Sequential(Dense(7, 9, rng=0), ReLU(), Dense(9, 2, rng=1))
    qnet = prepare_qat(net, x, (4, 8))
    assert qnet.layers[0].signed and qnet.layers[0].bits == 8
    assert not qnet.layers[3].signed and qnet.layers[3].bits == 8
    finetune(qnet, x, y, epochs=1, batch_size=16, progress=False)
    assert snap_biases(exact_copy(qnet)) == 0.0  # already on the grid
    prog = compile(qnet, x, (4, 8))  # a matching precision is accepted
    assert prog.input_signed
    np.testing.assert_array_equal(run(prog, x, progress=False).outputs["logits"],
                                  exact_copy(qnet).forward(x.astype(np.float64)))


def test_layouts_that_cannot_run_exactly_are_refused(data):
    x, _ = data
    qnet = prepare_qat(_cnn(), x[:8], 4)
    with pytest.raises(ValueError, match="does not match the quantisation-aware"):
        compile(qnet, x[:8], 8)
    with pytest.raises(ValueError, match="does not match the quantisation-aware"):
        finetune(qnet, x[:8], np.zeros(8, np.int64), precision=2, progress=False)
    with pytest.raises(ValueError, match="already has ActQuant"):
        prepare_qat(qnet, x[:8], 4)
    bn = Sequential(Conv2d(1, 2, 3, rng=0), BatchNorm(2), ReLU(), Flatten(), Dense(128, 2))
    with pytest.raises(TypeError, match="BatchNorm"):
        prepare_qat(bn, x[:8], 4)
    with pytest.raises(TypeError, match="AvgPool2d"):
        prepare_qat(Sequential(Conv2d(1, 2, 3, rng=0), ReLU(), AvgPool2d(2), Flatten(),
                               Dense(32, 2)), x[:8], 4)
    # hand-built layouts
    d = np.random.default_rng(0).random((8, 5)).astype(np.float32)
    with pytest.raises(ValueError, match="must start with an ActQuant"):
        compile(Sequential(Dense(5, 4), ReLU(), ActQuant(8), Dense(4, 2)), d)
    with pytest.raises(ValueError, match="needs an ActQuant after it"):
        compile(Sequential(ActQuant(8), Dense(5, 4), ReLU(), Dense(4, 2)), d)
    with pytest.raises(ValueError, match="must not be followed by an ActQuant"):
        compile(Sequential(ActQuant(8), Dense(5, 4), ActQuant(8)), d)
    with pytest.raises(ValueError, match="must be unsigned"):
        compile(Sequential(ActQuant(8), Dense(5, 4), ReLU(), ActQuant(8, signed=True),
                           Dense(4, 2)), d)
    with pytest.raises(ValueError, match="scale_float32=True"):  # no KBit constraint
        compile(Sequential(ActQuant(8), Dense(5, 4), ReLU(), ActQuant(8), Dense(4, 2)), d)
