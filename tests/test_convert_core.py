"""spikesim.convert: rate-code bounds, BN folding, exact engine timing, QCFS equivalence,
reproduction of a trained ANN, weight loading, max pooling, bad input."""
import numpy as np
import pytest

from spikesim import ir, nn
from spikesim.convert import convert, fold_batchnorm, load_weights, simulate
from spikesim.convert.run import synchronous_reference
from spikesim.sim import Frames, Simulator


def _count_spikes(a, theta, T, v0, reset="subtract"):
    """Spike counts of IF neurons (threshold theta, reset by subtraction, v(0)=v0) driven by
    constant currents ``a`` for T steps, on the clock engine."""
    n = a.size
    net = ir.Network(nodes={"in": ir.Input(n),
                            "if": ir.IF(n, v_threshold=theta, reset=reset,
                                        v_init=v0 if v0 else None),
                            "out": ir.Output()},
                     edges=["in->if", "if->out"])
    sim = Simulator(net, dt=1e-3, record=False)
    # input emitted in steps 0..T-1 arrives in steps 1..T: run T + 1 steps
    res = sim.run((T + 1) * 1e-3, inputs={"in": Frames(np.tile(a, (T, 1)))}, progress=False)
    return res.outputs["out"].ravel()


@pytest.mark.parametrize("T", [1, 7, 64, 1000])
def test_spike_count_bound_subtract(T):
    theta = 0.7
    rng = np.random.default_rng(T)
    a = np.concatenate([[0.0, theta], rng.uniform(0, theta, 300)])
    x = T * a / theta
    n0 = _count_spikes(a, theta, T, 0.0)
    assert np.all(n0 <= x + 1e-9) and np.all(n0 > x - 1)
    assert n0[0] == 0 and n0[1] == T
    nh = _count_spikes(a, theta, T, theta / 2)
    np.testing.assert_array_equal(nh, np.round(x))


def test_spike_count_reset_zero_loses_residual():
    # reset to zero throws the residual away: for a = 0.625 (exact in binary) it fires every
    # second step (0.625, 1.25 -> 0, ...): 50 spikes in 100 steps, below T*a/theta - 1 = 61.5;
    # reset by subtraction gives floor(62.5) = 62
    n = _count_spikes(np.array([0.625]), 1.0, 100, 0.0, reset="value")
    assert n[0] == 50
    assert _count_spikes(np.array([0.625]), 1.0, 100, 0.0)[0] == 62


def _bn_model(dtype=np.float64):
    rng = np.random.default_rng(3)
    m = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=0, dtype=dtype), nn.BatchNorm(3, dtype=dtype),
                      nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Dense(48, 5, rng=1, dtype=dtype),
                      nn.BatchNorm(5, dtype=dtype), nn.ReLU(), nn.Dense(5, 4, rng=2, dtype=dtype))
    for layer in m.layers:
        if isinstance(layer, nn.BatchNorm):
            c = layer.num_features
            layer.params["weight"][:] = rng.uniform(0.5, 2, c)
            layer.params["bias"][:] = rng.normal(0, 0.3, c)
            layer.buffers["running_mean"][:] = rng.normal(0, 0.5, c)
            layer.buffers["running_var"][:] = rng.uniform(0.2, 3, c)
    return m.eval()


def test_batchnorm_folding_exact():
    m = _bn_model()
    x = np.random.default_rng(0).normal(size=(20, 2, 8, 8))
    f = fold_batchnorm(m)
    assert [type(layer).__name__ for layer in f.layers] == [
        "Conv2d", "ReLU", "AvgPool2d", "Flatten", "Dense", "ReLU", "Dense"]
    np.testing.assert_allclose(f.forward(x), m.forward(x), rtol=1e-12, atol=1e-12)
    # and the original is untouched
    assert any(isinstance(layer, nn.BatchNorm) for layer in m.layers)


def test_engine_equals_layer_synchronous_snn_exactly():
    m = _bn_model()
    x = np.random.default_rng(1).random((12, 2, 8, 8))
    for kw in ({"v_init": 0.5}, {"reset": "zero"}, {"readout": "spikes", "norm": "max"}):
        net = convert(m, x, **kw)
        run = simulate(net, x, [3, 10, 40], batch=5, progress=False)
        for T in (3, 10, 40):
            np.testing.assert_allclose(run.scores[T], synchronous_reference(net, x, T),
                                       rtol=1e-9, atol=1e-9)


def test_qcfs_one_hidden_layer_exact_at_T_equal_L():
    # Bu et al.: IF with threshold lambda, v0 = lambda/2, reset by subtraction reproduces
    # QCFS after T = L steps; the membrane readout is then exactly L * the ANN's logits
    L = 8
    ann = nn.Sequential(nn.Dense(6, 20, rng=0, dtype=np.float64),
                        nn.QCFS(levels=L, threshold=1.3), nn.Dense(20, 4, rng=1, dtype=np.float64))
    ann.layers[1].params["threshold"] = np.array([1.3])
    ann.eval()
    x = np.random.default_rng(2).normal(0, 1.5, (30, 6))
    net = convert(ann, x, v_init=0.5)
    run = simulate(net, x, [L], progress=False)
    np.testing.assert_allclose(run.scores[L], L * ann.forward(x), rtol=1e-9, atol=1e-9)


def _blobs(n, rng):
    centers = rng.normal(0, 1, (4, 8))
    y = rng.integers(0, 4, n)
    return (centers[y] + 0.35 * rng.normal(size=(n, 8))).clip(0, None), y


@pytest.mark.parametrize("act", ["relu", "qcfs"])
def test_tiny_trained_network_reproduces_ann(act):
    rng = np.random.default_rng(0)
    x, y = _blobs(600, rng)
    a = nn.ReLU() if act == "relu" else nn.QCFS(levels=8, threshold=2.0)
    ann = nn.Sequential(nn.Dense(8, 32, rng=0), nn.BatchNorm(32), a, nn.Dense(32, 4, rng=1))
    tr = nn.Trainer(ann, nn.CrossEntropy(), nn.Adam(ann, 1e-2), batch_size=50, progress=False)
    tr.fit(x[:500].astype(np.float32), y[:500], epochs=15)
    ann.eval()
    xt = x[500:]
    pred = ann.forward(xt.astype(np.float32)).argmax(1)
    assert np.mean(pred == y[500:]) > 0.9
    net = convert(ann, x[:200], norm="percentile", percentile=99.9, v_init=0.5)
    run = simulate(net, xt, [8, 256], batch=100, progress=False)
    assert np.mean(run.predictions(256) == pred) == 1.0
    assert np.mean(run.predictions(8) == pred) >= 0.9


def test_maxpool_relu_tree_computes_max_rate():
    # spikes of rate p through the tree give max(p) per window in the rate limit
    rng = np.random.default_rng(4)
    ann = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=0, dtype=np.float64), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Dense(32, 3, rng=1, dtype=np.float64))
    x = rng.random((10, 1, 8, 8))
    net = convert(ann, x, norm="max", v_init=0.5)
    assert net.metadata["convert"]["depth"] == 4  # 1 + 2 tree levels + readout
    T = 2000
    run = simulate(net, x, [T], progress=False)
    ann_out = ann.eval().forward(x)
    np.testing.assert_allclose(run.scores[T] / T, ann_out, atol=0.02 * np.abs(ann_out).max())
    # and the engine matches the layer-synchronous reference through the tree
    run2 = simulate(net, x, [20], progress=False)
    np.testing.assert_allclose(run2.scores[20], synchronous_reference(net, x, 20), atol=1e-9)


def test_maxpool_before_activation_is_moved():
    ann = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
                        nn.Dense(18, 2, rng=1))
    net = convert(ann, np.random.default_rng(0).random((4, 1, 8, 8)))
    assert "s2_max0" in net.nodes


def test_poisson_input_and_depth():
    rng = np.random.default_rng(5)
    x, y = _blobs(300, rng)
    ann = nn.Sequential(nn.Dense(8, 16, rng=0), nn.ReLU(), nn.Dense(16, 4, rng=1)).eval()
    net = convert(ann, x, input_coding="poisson")
    assert net.metadata["convert"]["input_scale"] == pytest.approx(x.max())
    r1 = simulate(net, x[:50], [200], rng=1, progress=False)
    r2 = simulate(net, x[:50], [200], rng=1, progress=False)
    np.testing.assert_array_equal(r1.scores[200], r2.scores[200])
    pred = ann.forward(x[:50].astype(np.float32)).argmax(1)
    assert np.mean(r1.predictions(200) == pred) > 0.85
    assert r1.synops_mac[200] == 0 and r1.synops_ac[200] > 0
    with pytest.raises(ValueError, match="Poisson"):
        convert(ann, x - 1.0, input_coding="poisson")


def test_load_weights_torch_layout():
    m = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm(2), nn.ReLU(), nn.Flatten(),
                      nn.Dense(8, 3, rng=1))
    rng = np.random.default_rng(0)
    sd = {"features.0.weight": rng.normal(size=(2, 1, 3, 3)).astype(np.float32),
          "features.0.bias": rng.normal(size=2).astype(np.float32),
          "features.1.weight": np.ones(2, np.float32), "features.1.bias": np.zeros(2, np.float32),
          "features.1.running_mean": np.full(2, 0.5, np.float32),
          "features.1.running_var": np.full(2, 2.0, np.float32),
          "features.1.num_batches_tracked": np.array(10),
          "features.4.weight": rng.normal(size=(3, 8)).astype(np.float32),
          "features.4.bias": rng.normal(size=3).astype(np.float32)}
    load_weights(m, sd)
    np.testing.assert_array_equal(m[0].params["weight"], sd["features.0.weight"])
    np.testing.assert_array_equal(m[1].buffers["running_var"], 2.0)
    m2 = nn.Sequential(nn.Conv2d(1, 2, 3, rng=5), nn.BatchNorm(2), nn.ReLU(), nn.Flatten(),
                       nn.Dense(8, 3, rng=6))
    load_weights(m2, {f"w{i}": v for i, v in enumerate(sd.values()) if v.ndim}, by_order=True)
    np.testing.assert_array_equal(m2[4].params["bias"], sd["features.4.bias"])
    with pytest.raises(ValueError, match="shape"):
        load_weights(m, {**sd, "features.4.weight": np.zeros((8, 3))})
    with pytest.raises(KeyError, match="no entry"):
        load_weights(m, {k: v for k, v in sd.items() if k != "features.0.bias"})
    with pytest.raises(KeyError, match="not used"):
        load_weights(m, {**sd, "features.9.weight": np.zeros(3)})
    m3 = nn.Sequential(nn.Dense(4, 2, rng=0), nn.QCFS(4), nn.Dense(2, 2, rng=1))
    load_weights(m3, {"0.weight": np.zeros((2, 4)), "0.bias": np.zeros(2), "1.up": np.array([2.5]),
                      "2.weight": np.eye(2), "2.bias": np.zeros(2)}, rename={"up": "threshold"})
    assert m3[1].threshold == 2.5


def test_unsupported_layer_named_with_supported_list():
    ann = nn.Sequential(nn.Dense(4, 4, rng=0), nn.LIF(), nn.Dense(4, 2, rng=1))
    with pytest.raises(ValueError, match=r"layer 1 LIF is not supported.*Dense, Conv2d, "
                                         r"BatchNorm, ReLU, QCFS, AvgPool2d"):
        convert(ann, np.zeros((3, 4)))


def test_bad_calibration_and_options():
    ann = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.ReLU(), nn.Flatten(), nn.Dense(72, 2, rng=1))
    good = np.random.default_rng(0).random((5, 1, 8, 8))
    convert(ann, good)
    with pytest.raises(ValueError, match="calibration_data.*does not fit"):
        convert(ann, np.zeros((5, 3, 8, 8)))
    with pytest.raises(ValueError, match="calibration_data"):
        convert(ann, np.zeros((5, 1, 9, 9)))
    with pytest.raises(ValueError, match="calibration_data"):
        convert(ann, np.zeros(64))
    with pytest.raises(TypeError, match="calibration_data"):
        convert(ann, [[0.0]])
    with pytest.raises(ValueError, match="finite"):
        convert(ann, np.full((2, 1, 8, 8), np.nan))
    for kw, msg in (({"norm": "l2"}, "norm"), ({"reset": "hard"}, "reset"),
                    ({"v_init": 1.5}, "v_init"), ({"readout": "rate"}, "readout"),
                    ({"percentile": 0}, "percentile"), ({"input_coding": "ttfs"}, "input_coding")):
        with pytest.raises(ValueError, match=msg):
            convert(ann, good, **kw)
    net = convert(ann, good)
    with pytest.raises(ValueError, match="x: shape"):
        simulate(net, np.zeros((2, 8, 8)), [4], progress=False)
    with pytest.raises(ValueError, match="timesteps"):
        simulate(net, good, [0], progress=False)
    with pytest.raises(ValueError, match="BatchNorm must directly follow"):
        convert(nn.Sequential(nn.Dense(4, 4, rng=0), nn.ReLU(), nn.BatchNorm(4),
                              nn.Dense(4, 2, rng=1)), np.zeros((3, 4)))


def test_converted_network_saves_and_runs_on_loihi(tmp_path):
    from spikesim.backends import loihi

    rng = np.random.default_rng(6)
    x, _ = _blobs(200, rng)
    ann = nn.Sequential(nn.Dense(8, 16, rng=0), nn.ReLU(), nn.Dense(16, 4, rng=1)).eval()
    net = convert(ann, x, input_coding="poisson", reset="zero")  # Loihi 1 resets to 0
    ir.io.save(net, tmp_path / "net.npz")
    back = ir.io.load(tmp_path / "net.npz")
    assert back.metadata["convert"]["depth"] == 2 and set(back.nodes) == set(net.nodes)
    prog = loihi.compile(net, dt=1e-3, num_bits=8)
    pred_ann = ann.forward(x[:6].astype(np.float32)).argmax(1)
    T = 300
    hits = 0
    for i in range(6):
        spikes = (rng.random((T + 2, 8)) < x[i] / x.max()).astype(np.uint8)
        res = loihi.run(prog, {"input": spikes}, progress=False)
        hits += int(np.argmax(res.outputs["output"]) == pred_ann[i])
    assert hits >= 5
