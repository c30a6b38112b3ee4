"""Loihi compiler and runtime: bit exactness through the network path, agreement with the
float clock engine, core mapping and its limits, counts, step time and energy."""
import numpy as np
import pytest

from spikesim import ir
from spikesim.backends import loihi
from spikesim.backends.loihi import params as P
from tests.naive_loihi import naive_lif, naive_synaptic_input


def _net(n_in=40, n_hid=20, seed=0, **lif):
    rng = np.random.default_rng(seed)
    return ir.Network(
        nodes={"in": ir.Input(n_in), "fc": ir.Affine(rng.normal(0.05, 0.2, (n_hid, n_in)),
                                                     bias=np.full(n_hid, 0.01)),
               "lif": ir.LIF(n_hid, tau=20e-3, **lif), "fc2": ir.Linear(rng.normal(0, .3, (5, n_hid))),
               "ro": ir.LI(5, tau=20e-3, v_leak=0.25, v_init=0.5), "out": ir.Output(),
               "spk": ir.Output()},
        edges=["in->fc", "fc->lif", "lif->fc2", "fc2->ro", "ro->out", "lif->spk"])


def test_network_run_is_bit_exact_against_naive_twins():
    net = _net(refractory=2e-3)
    prog = loihi.compile(net, dt=1e-3)
    rng = np.random.default_rng(1)
    x = rng.random((40, 2, 40)) < 0.2
    res = loihi.run(prog, {"in": x}, progress=False)
    pop = prog.populations["lif"]
    c = prog.connections[0]
    for b in range(2):
        a = naive_synaptic_input(x[:, b].tolist(), c.weights.w.tolist(), c.weights.weight_exp)
        s, u, v = naive_lif(a, pop.du, pop.dv, pop.vth, pop.bias_mant, pop.bias_exp,
                            pop.refractory)
        np.testing.assert_array_equal(res.outputs["spk"][b], np.array(s).sum(0))
        st = res.spikes["lif"].select(b)
        assert len(st) == np.array(s).sum() > 0
    assert pop.refractory.tolist() == [2] * 20


def _single(neuron, seed=0):
    rng = np.random.default_rng(seed)
    return ir.Network(nodes={"in": ir.Input(200),
                             "fc": ir.Affine(rng.normal(0.03, 0.1, (50, 200)), np.full(50, 0.002)),
                             "lif": neuron, "spk": ir.Output()},
                      edges=["in->fc", "fc->lif", "lif->spk"])


@pytest.mark.parametrize("neuron", [
    ir.CubaLIF(50, tau_mem=20e-3, tau_syn=5e-3, refractory=2e-3),
    ir.IF(50, v_threshold=1.0),
    ir.LIF(50, tau=10e-3, v_leak=-0.5, v_reset=-0.5, v_threshold=0.3)])
def test_single_layer_models_agree_with_clock_engine(neuron):
    from spikesim.sim import Simulator
    from spikesim.sim.inputs import Frames
    net = _single(neuron)
    x = np.random.default_rng(1).random((200, 3, 200)) < 0.05
    a = Simulator(net, dt=1e-3, batch=3, rng=0).run(0.2, inputs={"in": Frames(x)}).outputs["spk"]
    b = loihi.run(loihi.compile(net, dt=1e-3), {"in": x}, progress=False).outputs["spk"]
    assert a.sum() > 300
    assert abs(int(a.sum()) - int(b.sum())) <= 0.02 * a.sum()
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99


def test_agrees_with_float_clock_engine():
    from spikesim.sim import Simulator
    from spikesim.sim.inputs import Frames
    net = _net(n_in=200, n_hid=50, seed=3)
    T, B = 100, 3
    x = np.random.default_rng(2).random((T, B, 200)) < 0.1
    ref = Simulator(net, dt=1e-3, batch=B, rng=0).run(T * 1e-3, inputs={"in": Frames(x)})
    res = loihi.run(loihi.compile(net, dt=1e-3), {"in": x}, progress=False)
    a, b = ref.outputs["spk"], res.outputs["spk"]
    assert a.sum() > 500
    assert abs(int(a.sum()) - int(b.sum())) <= 0.02 * a.sum()
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99
    ra, rb = ref.outputs["out"], res.outputs["out"]
    assert np.max(np.abs(ra - rb)) <= 0.03 * np.max(np.abs(ra))
    assert (ra.argmax(1) == rb.argmax(1)).all()


def test_one_core_per_small_layer_and_splits():
    prog = loihi.compile(_net(n_in=784, n_hid=100))
    assert [c["layer"] for c in prog.cores] == ["lif", "ro"]
    big = ir.Network(nodes={"in": ir.Input(50), "fc": ir.Linear(np.ones((1500, 50)) * 0.1),
                            "lif": ir.LIF(1500), "o": ir.Output()},
                     edges=["in->fc", "fc->lif", "lif->o"])
    prog = loihi.compile(big)
    assert [c["compartments"] for c in prog.cores] == [1024, 476]
    # synapse memory: 784 inputs x 8 bits = 6272 bits/neuron -> 167 neurons per 128 KB core
    mem = ir.Network(nodes={"in": ir.Input(784), "fc": ir.Linear(np.full((500, 784), 0.1)),
                            "lif": ir.LIF(500), "o": ir.Output()},
                     edges=["in->fc", "fc->lif", "lif->o"])
    prog = loihi.compile(mem)
    assert [c["compartments"] for c in prog.cores] == [167, 167, 166]
    assert all(c["synapse_bits"] <= P.SYNAPSE_MEMORY_BITS for c in prog.cores)
    assert "rel_rms_err" in prog.report()


def test_limits_raise_named_errors():
    rng = np.random.default_rng(0)
    w = (rng.random((2, 5000)) < 0.9) * 0.1
    fan = ir.Network(nodes={"in": ir.Input(5000), "fc": ir.Linear(w), "lif": ir.LIF(2),
                            "o": ir.Output()}, edges=["in->fc", "fc->lif", "lif->o"])
    with pytest.raises(ValueError, match=r"layer 'lif'.*fan-in \d+ > 4096"):
        loihi.compile(fan)
    many = ir.Network(nodes={"in": ir.Input(2), "fc": ir.Linear(np.full((130 * 1024, 2), .1)),
                             "lif": ir.LIF(130 * 1024), "o": ir.Output()},
                      edges=["in->fc", "fc->lif", "lif->o"])
    with pytest.raises(ValueError, match="130 cores > 128"):
        loihi.compile(many)
    with pytest.raises(ValueError, match="reset='subtract'"):
        loihi.compile(_net(reset="subtract"))
    with pytest.raises(ValueError, match="v_reset must equal v_leak"):
        loihi.compile(_net(v_reset=-0.1))
    with pytest.raises(ValueError, match="refractory .* at most 63"):
        loihi.compile(_net(refractory=0.1), dt=1e-3)
    with pytest.raises(ValueError, match="vth_target=0"):
        loihi.compile(_net(), vth_target=0)
    from spikesim.learn import PairSTDP, TripletSTDP
    plastic = ir.Network(nodes={"in": ir.Input(3), "s": ir.Sparse.from_dense(
        np.ones((2, 3)), plasticity=TripletSTDP()), "n": ir.LIF(2), "o": ir.Output()},
        edges=["in->s", "s->n", "n->o"])
    with pytest.raises(ValueError, match="plasticity"):
        loihi.compile(plastic)
    pair = ir.Network(nodes={"in": ir.Input(3), "s": ir.Sparse.from_dense(
        np.full((2, 3), 0.5), plasticity=PairSTDP(a_plus=0.01, a_minus=0.01)), "n": ir.LIF(2),
        "o": ir.Output()}, edges=["in->s", "s->n", "n->o"])
    q = loihi.compile(pair).quantisation["s"]
    assert q["stdp_rule"].startswith("dw = ") and q["stdp_rel_err"] <= 1 / 16
    prog = loihi.compile(plastic, learning={"s": loihi.LearningRule(dw="dw = 2^-2*x1*y0")})
    assert prog.connections[0].learning is not None
    with pytest.raises(ValueError, match="not synapse nodes"):
        loihi.compile(_net(), learning={"lif": loihi.LearningRule(dw="dw = x0")})
    with pytest.raises(ValueError, match="num_bits=10"):
        loihi.compile(_net(), num_bits=10)
    prog = loihi.compile(_net())
    with pytest.raises(ValueError, match="binary spikes"):
        loihi.run(prog, {"in": np.full((3, 1, 40), 2)}, progress=False)
    with pytest.raises(ValueError, match="missing"):
        loihi.run(prog, {}, progress=False)


def test_counts_time_and_energy_by_hand():
    # one input -> one IF neuron (dv=0), weight = threshold/2: spikes every second input step
    net = ir.Network(nodes={"in": ir.Input(1), "fc": ir.Linear(np.array([[0.6]])),
                            "n": ir.IF(1, v_threshold=1.0), "o": ir.Output()},
                     edges=["in->fc", "fc->n", "n->o"])
    prog = loihi.compile(net, dt=1e-3)
    x = np.ones((6, 1, 1), bool)
    res = loihi.run(prog, {"in": x}, progress=False)
    # arrivals at steps 1..5: v = 0.6, 1.2 -> spike, 0.6, 1.2 -> spike, 0.6
    assert res.outputs["o"].tolist() == [[2]]
    c = res.counts
    assert c.total("synops_ac") == 5 and c.layers["n"]["spikes"] == 2
    assert c.layers["in"]["spikes_routed"] == 6 and c.layers["n"]["spikes_routed"] == 0
    assert c.layers["n"]["neuron_updates"] == 6
    # step time: step 0 inactive neuron; steps 1..5 one synop + active neuron (v or u != 0)
    t_active = P.T_SYNOP + P.T_NEURON_ACTIVE
    expect = P.T_NEURON_INACTIVE + 5 * t_active + 6 * P.T_BARRIER_MIN
    assert res.meta["latency_s"] == pytest.approx(expect)
    assert c.duration_s == pytest.approx(expect)
    rep = loihi.energy(res)
    e = 5 * P.E_SYNOP + 6 * P.E_NEURON_ACTIVE + 6 * P.E_SPIKE_TILE + P.STATIC_POWER_W * expect
    assert rep.total[1] == pytest.approx(e, rel=1e-6)


def test_online_learning_matches_standalone_engine():
    rng = np.random.default_rng(4)
    net = ir.Network(nodes={"in": ir.Input(10), "syn": ir.Linear(rng.uniform(0.1, 0.3, (3, 10))),
                            "n": ir.LIF(3, tau=10e-3), "o": ir.Output()},
                     edges=["in->syn", "syn->n", "n->o"])
    rule = loihi.LearningRule(dw="dw = 2^-2*x1*y0 - 2^-3*y1*x0", t_epoch=2)
    prog = loihi.compile(net, learning={"syn": rule})
    x = rng.random((60, 1, 10)) < 0.3
    res = loihi.run(prog, {"in": x}, seed=3, progress=False)
    post = np.zeros((60, 3), bool)
    st = res.spikes["n"]
    post[np.round(st.t / 1e-3).astype(int) - 1, st.i] = True
    ref = loihi.run_learning(rule, x[:, 0], post, prog.connections[0].weights, seed=3)
    np.testing.assert_array_equal(res.meta["learned"]["syn"], ref.w)
    assert (ref.w != prog.connections[0].weights.w).any()
    assert res.counts.total("plasticity_updates") == ref.updates > 0
    with pytest.raises(ValueError, match="batch=1"):
        loihi.run(prog, {"in": np.zeros((4, 2, 10), bool)}, progress=False)


def test_online_delay_learning_changes_delays():
    rng = np.random.default_rng(5)
    net = ir.Network(nodes={"in": ir.Input(6), "syn": ir.Linear(rng.uniform(0.3, 0.6, (2, 6))),
                            "n": ir.LIF(2, tau=10e-3), "o": ir.Output()},
                     edges=["in->syn", "syn->n", "n->o"])
    rule = loihi.LearningRule(dd="dd = 2^-2*y0*x1", x1_impulse=20)
    prog = loihi.compile(net, learning={"syn": rule})
    x = rng.random((50, 1, 6)) < 0.3
    res = loihi.run(prog, {"in": x}, progress=False)
    d = res.meta["learned"]["syn.delays"]
    assert d.min() >= 0 and d.max() <= 63 and d.any()


def test_hops_between_tiles():
    rng = np.random.default_rng(6)
    net = ir.Network(nodes={"in": ir.Input(784), "fc": ir.Linear(rng.uniform(0.01, 0.05, (1000, 784))),
                            "lif": ir.LIF(1000, tau=20e-3), "fc2": ir.Linear(np.full((10, 1000), 0.1)),
                            "out_l": ir.LIF(10), "o": ir.Output()},
                     edges=["in->fc", "fc->lif", "lif->fc2", "fc2->out_l", "out_l->o"])
    prog = loihi.compile(net)
    assert [c["layer"] for c in prog.cores] == ["lif"] * 6 + ["out_l"]
    assert prog.core_tile.tolist() == [0, 0, 0, 0, 1, 1, 1] and prog.tiles == 2
    x = rng.random((20, 2, 784)) < 0.1
    res = loihi.run(prog, {"in": x}, progress=False)
    lif = res.spikes["lif"]
    first_tile = prog.populations["lif"].core_of[lif.i] < 4
    # lif neurons on tile 0 send one packet one E-W hop to the output core on tile 1
    assert res.counts.layers["lif"]["hops"] == int(first_tile.sum()) > 0
    assert res.counts.layers["lif"]["spikes_routed"] == len(lif)
    # input spikes enter at tile 0: packets to all 6 lif cores, one hop to the 2 on tile 1
    n_in = int(x.sum())
    assert res.counts.layers["in"]["spikes_routed"] == 6 * n_in
    assert res.counts.layers["in"]["hops"] == 2 * n_in
    assert res.meta["step_time_s"] > P.barrier_s(2) > P.T_BARRIER_MIN
