"""Engines' online counts equal the offline count from recorded spikes and connectivity."""
import numpy as np
import pytest

from spikesim import ir
from spikesim.energy import network_metrics as nm
from spikesim.energy import report
from spikesim.sim import Simulator, SpikeTimes

DT = 1e-3


def bin_spikes(train, steps, batch):
    """SpikeTrain -> [T, batch, n] 0/1 array (clipped to the run: only totals matter)."""
    a = np.zeros((steps, batch, train.n))
    k = np.clip(np.floor(train.t / DT + 1e-9).astype(np.int64) - 1, 0, steps - 1)
    np.add.at(a, (k, train.b, train.i), 1)
    return a


def _net_and_input():
    rng = np.random.default_rng(7)
    steps, batch = 60, 3
    w1 = rng.normal(0.4, 0.3, size=(30, 20)) * (rng.random((30, 20)) < 0.5)
    indptr = np.concatenate([[0], np.cumsum(rng.integers(0, 5, size=30))])
    nnz = int(indptr[-1])
    sp = ir.Sparse(n_pre=30, n_post=10, indptr=indptr, indices=rng.integers(0, 10, nnz),
                   weight=rng.normal(0.5, 0.3, nnz) * (rng.random(nnz) < 0.8))
    net = ir.Network(nodes={"in": ir.Input(20), "fc": ir.Affine(w1), "lif": ir.LIF(30, tau=0.01),
                            "syn": sp, "lif2": ir.LIF(10, tau=0.01), "out": ir.Output()},
                     edges=["in->fc", "fc->lif", "lif->syn", "syn->lif2", "lif2->out"])
    x = (rng.random((steps, batch, 20)) < 0.15).astype(float)
    t_idx, b_idx, i_idx = np.nonzero(x)
    stim = SpikeTimes(times=(t_idx + 0.5) * DT, indices=i_idx, batch=b_idx)
    return net, x, stim, steps, batch


@pytest.mark.timeout(240)
def test_clock_engine_counts_equal_offline_counts():
    net, x, stim, steps, batch = _net_and_input()
    res = Simulator(net, engine="clock", dt=DT, batch=batch, rng=1).run(steps * DT,
                                                                         inputs={"in": stim})
    online = res.counts
    acts = {"in": x, "lif": bin_spikes(res.spikes["lif"], steps, batch),
            "lif2": bin_spikes(res.spikes["lif2"], steps, batch)}
    assert acts["lif"].sum() > 0 and acts["lif2"].sum() > 0
    offline = nm.counts_from_network(net, acts, duration_s=steps * DT)
    for layer in ("fc", "syn"):
        for f in ("synops_ac", "synops_mac", "dense_ac", "dense_mac"):
            assert online.layers[layer][f] == offline.layers[layer][f], (layer, f)
    for layer in ("lif", "lif2"):
        for f in ("spikes", "neuron_updates"):
            assert online.layers[layer][f] == offline.layers[layer][f], (layer, f)
    # and the engine's counts price on every spiking platform
    for platform in ("cmos45nm", "truenorth", "loihi", "northpole"):
        assert report(online, platform).total[1] > 0


def one_step_per_spike(train, batch):
    """SpikeTrain of the event engine -> [spikes, batch, n] with one spike per "step". The
    event engine delivers simultaneous arrivals one by one, so a neuron can fire several
    times at one instant; NeuroBench binarises a step's input, so each spike gets its own."""
    a = np.zeros((max(len(train), 1), batch, train.n))
    a[np.arange(len(train)), train.b, train.i] = 1
    return a


@pytest.mark.slow  # over 20 s with a cold numba cache; the event tests check counts too
@pytest.mark.timeout(240)
def test_event_engine_counts_equal_offline_counts():
    net, x, stim, steps, batch = _net_and_input()
    res = Simulator(net, engine="event", batch=batch, rng=1).run(steps * DT, inputs={"in": stim})
    online = res.counts
    acts = {"in": x, "lif": one_step_per_spike(res.spikes["lif"], batch),
            "lif2": one_step_per_spike(res.spikes["lif2"], batch)}
    assert acts["lif"].sum() > 0 and acts["lif2"].sum() > 0
    offline = nm.counts_from_network(net, acts, duration_s=steps * DT)
    for layer in ("fc", "syn"):     # zero delays: every delivery happens within the run
        assert online.layers[layer]["synops_ac"] == offline.layers[layer]["synops_ac"], layer
    for layer in ("lif", "lif2"):
        assert online.layers[layer]["spikes"] == offline.layers[layer]["spikes"], layer
    for platform in ("cmos45nm", "truenorth", "loihi"):
        assert report(online, platform).total[1] > 0
    with pytest.raises(ValueError, match="dense_ac nor dense_mac"):
        report(online, "northpole")     # no steps: the event engine has no dense counts


@pytest.mark.timeout(240)
def test_clock_engine_membrane_updates_equal_neurobench():
    from spikesim.energy import metrics
    from spikesim.sim import StateMonitor

    rng = np.random.default_rng(7)
    steps, batch = 40, 2
    w1 = rng.normal(0.4, 0.3, size=(30, 20)) * (rng.random((30, 20)) < 0.5)
    net = ir.Network(nodes={"in": ir.Input(20), "fc": ir.Affine(w1),
                            "lif": ir.LIF(30, tau=0.01, v_init=0.2)},
                     edges=["in->fc", "fc->lif"])
    x = (rng.random((steps, batch, 20)) < 0.15).astype(float)
    t_idx, b_idx, i_idx = np.nonzero(x)
    stim = SpikeTimes(times=(t_idx + 0.5) * DT, indices=i_idx, batch=b_idx)
    res = Simulator(net, engine="clock", dt=DT, batch=batch, rng=1,
                    monitors=[StateMonitor("lif", ["v"])]).run(steps * DT, inputs={"in": stim})
    v = res.state["lif"]["v"]                      # [steps, batch, 30], after each step
    assert v.shape == (steps, batch, 30)
    assert res.counts.layers["lif"]["membrane_updates"] == metrics.membrane_updates(v)


@pytest.mark.timeout(240)
def test_loihi_backend_counts_equal_offline_counts():
    """The Loihi model delivers a spike one step after it is sent and counts synaptic ops on
    delivery, so the offline reference drops the spikes of the last step."""
    loihi = pytest.importorskip("spikesim.backends.loihi")
    rng = np.random.default_rng(3)
    # weights exactly representable at 8 bits, so quantisation zeroes none of them
    w1 = rng.choice([-0.5, 0.5, 1.0], size=(30, 20)) * (rng.random((30, 20)) < 0.5)
    w2 = rng.choice([-0.5, 0.5, 1.0], size=(10, 30)) * (rng.random((10, 30)) < 0.5)
    net = ir.Network(nodes={"in": ir.Input(20), "fc": ir.Affine(w1), "lif": ir.LIF(30, tau=0.01),
                            "fc2": ir.Affine(w2), "lif2": ir.LIF(10, tau=0.01),
                            "out": ir.Output()},
                     edges=["in->fc", "fc->lif", "lif->fc2", "fc2->lif2", "lif2->out"])
    steps, batch = 50, 3
    x = rng.random((steps, batch, 20)) < 0.2
    res = loihi.run(loihi.compile(net, dt=DT), {"in": x}, progress=False)
    train = res.spikes["lif"]
    s1 = np.zeros((steps, batch, 30))
    np.add.at(s1, (np.rint(train.t / DT).astype(int) - 1, train.b, train.i), 1)
    assert s1.max() == 1 and s1.sum() > 0
    ops, _ = nm.from_network(net, {"in": x[:-1].astype(float), "lif": s1[:-1]})
    # the backend books a connection's ops on its target population
    assert res.counts.layers["lif"]["synops_ac"] == ops["fc"].effective_ac
    assert res.counts.layers["lif2"]["synops_ac"] == ops["fc2"].effective_ac
    assert res.counts.layers["lif"]["spikes"] == int(s1.sum())
    assert report(res.counts, "loihi").total[1] > 0


@pytest.mark.timeout(240)
def test_truenorth_backend_counts_equal_offline_counts_with_splitters():
    """TrueNorth books a layer's ops on its core. A neuron whose spikes must reach both the
    +1 and the -1 axon of the next core gets a splitter copy with the same inputs, so the
    offline reference repeats those weight rows: that extra work is real and counted."""
    tn = pytest.importorskip("spikesim.backends.truenorth")
    rng = np.random.default_rng(3)
    w1 = rng.choice([-1.0, 1.0], size=(30, 20)) * (rng.random((30, 20)) < 0.5)
    w2 = rng.choice([-1.0, 1.0], size=(10, 30)) * (rng.random((10, 30)) < 0.5)
    net = ir.Network(nodes={"in": ir.Input(20), "fc": ir.Affine(w1),
                            "h": ir.IF(30, v_threshold=0.5), "fc2": ir.Affine(w2),
                            "o": ir.IF(10, v_threshold=0.5), "out": ir.Output()},
                     edges=["in->fc", "fc->h", "h->fc2", "fc2->o", "o->out"])
    batch, t_in = 3, 40
    x = (rng.random((batch, t_in, 20)) < 0.2).astype(np.uint8)
    res = tn.run(tn.compile(net), x, progress=False)
    steps = res.counts.steps
    xs = np.zeros((steps, batch, 20))
    xs[:t_in] = x.transpose(1, 0, 2)
    train = res.spikes["h"]
    s1 = np.zeros((steps, batch, 30))
    np.add.at(s1, (np.rint(train.t / DT).astype(int) - 1, train.b, train.i), 1)
    assert s1.max() == 1 and s1.sum() > 0
    copies = np.array([max(len(set(np.sign(w2[:, j][w2[:, j] != 0]))), 1) - 1
                       for j in range(30)])
    assert copies.sum() > 0                       # the case with splitters is exercised
    from spikesim.energy import metrics

    h_ops = metrics.synops_linear(np.repeat(w1, 1 + copies, axis=0), xs).effective_ac
    o_ops = nm.from_network(net, {"h": s1})[0]["fc2"].effective_ac
    assert res.counts.layers["h"]["synops_ac"] == h_ops
    assert res.counts.layers["o"]["synops_ac"] == o_ops
    assert res.counts.layers["h"]["spikes"] == int((s1.sum((0, 1)) * (1 + copies)).sum())
    assert report(res.counts, "truenorth").total[1] > 0
