"""Trainer: loss goes down, seeded runs reproduce, NaN stop, checkpoints, memory option,
state-dict layout, bad input, quantisation constraints."""
import numpy as np
import pytest

from spikesim.nn import (LI, LIF, SGD, Adam, AvgPool2d, BatchNorm, Conv2d, CosineLR, CountMSE,
                         CrossEntropy, CrossEntropyCount, CrossEntropyMembrane, Dense, Dropout,
                         Flatten, MaxPool2d, NonFiniteLossError, ReLU, Sequential, StepLR,
                         Trainer, load_checkpoint, poisson_encode, save_checkpoint)
from spikesim.quant import KBit, Ternary


def blobs(n=200, d=12, c=3, seed=0):
    """Separable-ish Gaussian blobs in [0, 1]."""
    rng = np.random.default_rng(seed)
    centers = rng.random((c, d))
    y = rng.integers(0, c, n)
    x = np.clip(centers[y] + rng.normal(0, 0.15, (n, d)), 0, 1).astype(np.float32)
    return x, y


def fc_snn(d=12, c=3, seed=0, **kw):
    return Sequential(Dense(d, 32, rng=seed), LIF(beta=0.9, threshold=0.5),
                      Dense(32, c, rng=seed + 1),
                      LI(beta=0.9), **kw)


def test_training_reduces_loss_and_is_reproducible():
    x, y = blobs()
    runs = []
    for _ in range(2):
        net = fc_snn()
        tr = Trainer(net, CrossEntropyMembrane(), Adam(net, 5e-3), timesteps=8, batch_size=32,
                     rng=7, progress=False)
        h = tr.fit(x, y, epochs=4, val=(x, y))
        runs.append((h, net.state_dict()))
    h = runs[0][0]
    assert h.train_loss[-1] < 0.7 * h.train_loss[0]
    assert h.val_accuracy[-1] > 0.8
    assert runs[0][0].train_loss == runs[1][0].train_loss
    for k, v in runs[0][1].items():
        np.testing.assert_array_equal(v, runs[1][1][k])
    # another seed shuffles differently
    net = fc_snn()
    h3 = Trainer(net, CrossEntropyMembrane(), Adam(net, 5e-3), timesteps=8, batch_size=32,
                 rng=8, progress=False).fit(x, y, epochs=1)
    assert h3.train_loss[0] != h.train_loss[0]


@pytest.mark.parametrize("loss", [CrossEntropyCount(), CountMSE(), CrossEntropyMembrane("sum"),
                                  CrossEntropyMembrane("max")])
def test_losses_train_poisson(loss):
    x, y = blobs(seed=1)
    out = LI(beta=0.9) if isinstance(loss, CrossEntropyMembrane) else LIF(beta=0.9, threshold=0.5)
    net = Sequential(Dense(12, 32, rng=0), LIF(beta=0.9, threshold=0.5), Dense(32, 3, rng=1), out)
    tr = Trainer(net, loss, Adam(net, 5e-3), timesteps=10, encoding="poisson", batch_size=25,
                 rng=0, progress=False)
    h = tr.fit(x, y, epochs=3)
    assert h.train_loss[-1] < h.train_loss[0]


def test_ann_training_sgd_schedule():
    x, y = blobs(seed=2)
    net = Sequential(Dense(12, 16, rng=0), BatchNorm(16), ReLU(), Dropout(0.1, rng=0),
                     Dense(16, 3, rng=1))
    tr = Trainer(net, CrossEntropy(), SGD(net, 0.1, momentum=0.9, weight_decay=1e-4),
                 schedule=StepLR(2, 0.5), batch_size=20, progress=False)
    h = tr.fit(x, y, epochs=4, val=(x, y))
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert h.lr == [0.1, 0.1, 0.05, 0.05]
    assert tr.evaluate(x, y)["accuracy"] > 0.9


def test_conv_ann_and_snn_train_step():
    rng = np.random.default_rng(0)
    x = rng.random((16, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 2, 16)
    ann = Sequential(Conv2d(1, 4, 3, padding=1, rng=0), ReLU(), MaxPool2d(2), Flatten(),
                     Dense(64, 2, rng=1))
    snn = Sequential(Conv2d(1, 4, 3, rng=0), LIF(), AvgPool2d(2), Flatten(), Dense(36, 2, rng=1),
                     LI())
    for net, T in ((ann, None), (snn, 4)):
        tr = Trainer(net, CrossEntropy() if T is None else CrossEntropyMembrane(),
                     Adam(net, 1e-2), timesteps=T, batch_size=8, progress=False)
        l0 = tr.evaluate(x, y)["loss"]
        tr.fit(x, y, epochs=5)
        assert tr.evaluate(x, y)["loss"] < l0


class _NaNAfter:
    """CrossEntropyMembrane that returns NaN from its n-th call on (a diverging run)."""

    def __init__(self, n):
        self.n, self.calls, self.inner = n, 0, CrossEntropyMembrane()

    def __call__(self, out, y):
        self.calls += 1
        loss, g = self.inner(out, y)
        return (float("nan"), g) if self.calls >= self.n else (loss, g)

    def predict(self, out):
        return self.inner.predict(out)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    x, y = blobs(n=64)
    net = fc_snn()
    opt = Adam(net, 1e-3)
    tr = Trainer(net, _NaNAfter(7), opt, timesteps=5, batch_size=16, progress=False,
                 checkpoint_dir=tmp_path)
    with pytest.raises(NonFiniteLossError, match="epoch 2, batch 3/4.*last good checkpoint"):
        tr.fit(x, y, epochs=3)
    # the model is back at the end of epoch 1, which is what last.npz holds
    ref = fc_snn()
    meta = load_checkpoint(tmp_path / "last.npz", ref)
    assert meta["epoch"] == 1
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, ref.state_dict()[k])
        assert np.all(np.isfinite(v))
    assert opt.steps == 4


def test_non_finite_input_is_rejected():
    x, y = blobs(n=20)
    x[3, 2] = np.nan
    net = fc_snn()
    tr = Trainer(net, CrossEntropyMembrane(), Adam(net), timesteps=3, progress=False)
    with pytest.raises(ValueError, match="NaN"):
        tr.fit(x, y, epochs=1)


def test_checkpoint_round_trip(tmp_path):
    x, y = blobs(n=64)
    net = Sequential(Dense(12, 8, rng=0), BatchNorm(8),
                     LIF(beta=np.full(8, 0.8), size=8, learn_beta=True), Dense(8, 3, rng=1),
                     LI())
    opt = Adam(net, 1e-2)
    Trainer(net, CrossEntropyMembrane(), opt, timesteps=4, batch_size=16,
            progress=False).fit(x, y, 1)
    p = save_checkpoint(tmp_path / "c.npz", net, opt, meta={"note": "hi"})
    net2 = Sequential(Dense(12, 8, rng=5), BatchNorm(8),
                      LIF(beta=np.full(8, 0.5), size=8, learn_beta=True), Dense(8, 3, rng=6),
                      LI())
    opt2 = Adam(net2, 1e-2)
    meta = load_checkpoint(p, net2, opt2)
    assert meta["note"] == "hi" and meta["version"] == 1
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, net2.state_dict()[k])
    assert opt2.steps == opt.steps
    for k, v in opt.state_dict().items():
        np.testing.assert_array_equal(v, opt2.state_dict()[k])
    # no pickle inside: loading with allow_pickle=False works key by key
    with np.load(p, allow_pickle=False) as f:
        assert all(f[k].dtype != object for k in f.files)
    with pytest.raises(ValueError, match="shape"):
        load_checkpoint(p, Sequential(Dense(12, 9), BatchNorm(9), LIF(), Dense(9, 3), LI()))


def test_state_dict_layout_mirrors_pytorch():
    net = Sequential(Conv2d(1, 4, 5, rng=0), BatchNorm(4), ReLU(), MaxPool2d(2), Flatten(),
                     Dense(4 * 12 * 12, 10, rng=1))
    sd = net.state_dict()
    assert set(sd) == {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                       "1.running_var", "5.weight", "5.bias"}
    assert sd["0.weight"].shape == (4, 1, 5, 5) and sd["5.weight"].shape == (10, 576)
    sd["5.bias"][:] = 3.0
    net.load_state_dict(sd)
    assert np.all(net[5].params["bias"] == 3.0)
    with pytest.raises(KeyError):
        net.load_state_dict({"0.weight": sd["0.weight"]})


@pytest.mark.parametrize("poisson", [False, True])
def test_bits_memory_identical_gradients_and_8x_less_state(poisson):
    rng = np.random.default_rng(0)
    T, B = 20, 16
    x = rng.random((B, 1, 8, 8), dtype=np.float32)
    if poisson:
        x = poisson_encode(x, T, rng)
    y = rng.integers(0, 3, B)
    grads, stored = {}, {}
    for mode in ("full", "bits"):
        net = Sequential(Conv2d(1, 4, 3, rng=0), LIF(beta=0.9, threshold=0.5), MaxPool2d(2),
                         Flatten(), Dropout(0.2, rng=3), Dense(36, 20, rng=1),
                         LIF(beta=0.8, threshold=0.5), Dense(20, 3, rng=2), LI(), memory=mode)
        out = net.forward(x, timesteps=None if poisson else T)
        stored[mode] = net.stored_bytes()
        _, g = CrossEntropyMembrane()(out, y)
        net.backward(g)
        grads[mode] = dict(net.named_grads())
    for k, v in grads["full"].items():
        np.testing.assert_array_equal(v, grads["bits"][k], err_msg=k)
    assert stored["bits"] * 8 <= stored["full"], stored


def test_bad_inputs():
    net = fc_snn()
    tr = Trainer(net, CrossEntropyMembrane(), Adam(net), timesteps=4, progress=False)
    x, y = blobs(n=20)
    with pytest.raises(ValueError, match="shape"):
        net.forward(np.ones((2, 13), np.float32), timesteps=3)
    with pytest.raises(TypeError, match="float"):
        net.forward(np.ones((2, 12), np.int32), timesteps=3)
    with pytest.raises(ValueError, match="T, B"):
        net.forward(np.ones((2, 12), np.float32))
    with pytest.raises(ValueError, match="samples"):
        tr.fit(x, y[:10], epochs=1)
    with pytest.raises(TypeError, match="integer"):
        tr.fit(x, y.astype(float), epochs=1)
    with pytest.raises(ValueError, match="labels"):
        CrossEntropy()(np.zeros((2, 3), np.float32), np.array([0, 3]))
    with pytest.raises(ValueError, match="timesteps"):
        Trainer(net, "ce_membrane", Adam(net), progress=False)
    with pytest.raises(ValueError, match="encoding"):
        Trainer(net, "ce_membrane", Adam(net), timesteps=3, encoding="rate", progress=False)
    with pytest.raises(ValueError, match="loss"):
        Trainer(net, "hinge", Adam(net), timesteps=3)
    with pytest.raises(ValueError, match="lr"):
        Adam(net, lr=-1.0)
    with pytest.raises(ValueError, match="memory"):
        Sequential(Dense(2, 2), memory="half")
    with pytest.raises(TypeError, match="Layer"):
        Sequential(Dense(2, 2), "relu")
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        poisson_encode(np.array([2.0]), 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Conv2d"):
        Conv2d(1, 2, 3).forward(np.ones((2, 2, 5, 5), np.float32))
    with pytest.raises(ValueError, match="stride"):
        MaxPool2d(2, stride=1)


def test_quant_constraints_in_training():
    x, y = blobs(seed=3)
    net = Sequential(Dense(12, 32, constraint=Ternary(), rng=0), LIF(beta=0.9, threshold=0.5),
                     Dense(32, 3, constraint=KBit(4, per_channel=True), rng=1), LI())
    tr = Trainer(net, CrossEntropyMembrane(), Adam(net, 5e-3), timesteps=8, batch_size=25,
                 progress=False)
    h = tr.fit(x, y, epochs=4)
    assert h.train_loss[-1] < h.train_loss[0]
    w0 = net[0].effective_weight()
    assert np.unique(np.round(w0 / np.abs(w0).max(), 6)).size <= 3
    w2 = net[2].effective_weight()
    for row in w2:
        assert np.unique(row).size <= 16
    qt = net[2].constraint.quantize(net[2].params["weight"])
    np.testing.assert_array_equal(qt.dequantize(), w2)


def test_early_stopping_and_cosine():
    x, y = blobs(n=60)
    net = fc_snn()
    tr = Trainer(net, CrossEntropyMembrane(), Adam(net, 1e-9), timesteps=3, batch_size=30,
                 schedule=CosineLR(10), patience=2, restore_best=True, progress=False)
    h = tr.fit(x, y, epochs=10, val=(x, y))
    assert h.stopped_early and len(h.train_loss) == 3


@pytest.mark.parametrize("decoupled,wd", [(False, 0.0), (False, 0.1), (True, 0.1)])
def test_adam_matches_textbook_formula(decoupled, wd):
    """The fused numba Adam step against the formula written out in numpy (float64)."""
    rng = np.random.default_rng(0)
    net = Sequential(Dense(5, 4, rng=0, dtype=np.float64))
    opt = Adam(net, lr=1e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=wd, decoupled=decoupled)
    p = net[0].params["weight"].copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t in range(1, 4):
        g = rng.normal(size=p.shape)
        net[0].grads["weight"] = g.copy()
        net[0].grads["bias"] = np.zeros(4)
        opt.step()
        if wd and not decoupled:
            g = g + wd * p
        m = 0.8 * m + 0.2 * g
        v = 0.95 * v + 0.05 * g * g
        if decoupled:
            p = p - 1e-2 * wd * p
        p = p - 1e-2 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.95**t)) + 1e-6)
        np.testing.assert_allclose(net[0].params["weight"], p, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("arch", ["dense", "conv"])
@pytest.mark.parametrize("memory", ["full", "bits"])
def test_workspace_reuse_gives_identical_training(memory, arch, monkeypatch):
    """The trainer reuses per-batch buffers (Sequential.workspace); the weights after a few
    steps equal a plain loop that allocates fresh arrays, and the buffers really are reused.
    "conv": a convolution on spikes (the zero-skipping kernels, forward and input gradient
    behind max pooling) as in the benchmark's conv network."""
    rng = np.random.default_rng(1)
    T, B = 6, 8
    side = 8 if arch == "dense" else 16
    x = rng.random((3 * B, 1, side, side), dtype=np.float32)
    y = rng.integers(0, 3, 3 * B)

    def make():
        if arch == "conv":
            return Sequential(Conv2d(1, 4, 3, rng=0), MaxPool2d(2), LIF(beta=0.9, threshold=1.5),
                              Conv2d(4, 8, 3, rng=1), MaxPool2d(2),
                              LIF(beta=0.8, threshold=0.3), Flatten(), Dense(32, 3, rng=2),
                              LI(), memory=memory)
        return Sequential(Conv2d(1, 4, 3, rng=0), LIF(beta=0.9, threshold=0.3), MaxPool2d(2),
                          Flatten(), Dense(36, 20, rng=1), LIF(beta=0.8, threshold=0.3),
                          Dense(20, 3, rng=2), LI(), memory=memory)

    from spikesim.nn import _conv_kernels as CK

    calls = []
    sparse_gx = CK.sparse_conv_input_grad
    monkeypatch.setattr(CK, "sparse_conv_input_grad",
                        lambda *a, **k: calls.append(1) or sparse_gx(*a, **k))
    a = make()
    tr = Trainer(a, CrossEntropyMembrane(), Adam(a, 1e-2), timesteps=T, batch_size=B, rng=3,
                 progress=False)
    for i in range(3):
        tr.train_step(x[i * B:(i + 1) * B], y[i * B:(i + 1) * B])
    b = make()
    opt = Adam(b, 1e-2)
    for i in range(3):
        b.train()
        b.zero_grad()
        out = b.forward(x[i * B:(i + 1) * B], timesteps=T)
        _, g = CrossEntropyMembrane()(out, y[i * B:(i + 1) * B])
        b.backward(g, input_grad=False)
        opt.step()
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
    if arch == "conv":
        assert calls  # the input gradient behind max pooling skipped zeros
        if memory == "full":
            assert a[3]._cache[4]  # so did the second convolution's forward pass
    with a.workspace():
        y1 = a.forward(x[:B], timesteps=T)
        y2 = a.forward(x[B:2 * B], timesteps=T)
        assert np.shares_memory(y1, y2)  # the LI readout's buffer was reused
    assert not np.shares_memory(a.forward(x[:B], timesteps=T), y2)  # off outside the block
