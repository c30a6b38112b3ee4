"""Event engine: kernel vs the naive twin, counts, continuation, save/load, batch, Poisson,
bad input."""
from __future__ import annotations

import numpy as np
import pytest

from naive_event import naive_run
from spikesim import ir
from spikesim.sim import Frames, Poisson, Simulator, SpikeTimes, StateMonitor


def random_net(seed: int, kind: str) -> ir.Network:
    rng = np.random.default_rng(seed)
    b = ir.NetworkBuilder(rng)
    b.input("in", 5)
    n = 8
    if kind.startswith("cuba"):
        taus = (0.005, 0.01) if kind == "cuba" else (0.0031, 0.0077)
        b.population("P", ir.CubaLIF(n, tau_mem=0.02, tau_syn=taus, ports=("e", "i"),
                                     v_leak=0.0, v_threshold=1.0, v_reset=0.0, refractory=0.002,
                                     bias=rng.uniform(0.5, 1.3, n)))
        b.connect("in", "P", p=0.6, weight=lambda r, k: r.uniform(0.5, 6.0, k),
                  delay=lambda r, k: r.uniform(0, 3e-3, k), port="e")
        b.connect("P", "P", p=0.3, weight=lambda r, k: r.uniform(-4, 0, k),
                  delay=lambda r, k: r.uniform(0.5e-3, 3e-3, k), port="i")
    else:
        node = ir.LIF(n, tau=0.02, v_leak=0.0, v_threshold=1.0, v_reset=0.0,
                      refractory=0.002 if kind == "lif" else 0.0, bias=rng.uniform(0.5, 1.2, n),
                      reset="value" if kind == "lif" else "subtract")
        if kind == "if":
            node = ir.IF(n, v_threshold=1.0, v_reset=0.0, bias=rng.uniform(-2, 8, n),
                         reset="subtract")
        if kind.startswith("alif"):  # tau_adapt below, above and equal to tau
            node = ir.AdaptiveLIF(n, tau=0.02, tau_adapt=rng.choice([0.008, 0.02, 0.1], n),
                                  delta_threshold=rng.uniform(0.05, 0.4, n), v_leak=0.0,
                                  v_threshold=1.0, v_reset=0.0, bias=rng.uniform(0.7, 1.6, n),
                                  a_init=rng.uniform(-0.2, 0.3, n),
                                  refractory=0.002 if kind == "alif" else 0.0,
                                  reset="value" if kind == "alif" else "subtract")
        b.population("P", node)
        b.connect("in", "P", p=0.6, weight=lambda r, k: r.uniform(0.1, 0.8, k),
                  delay=lambda r, k: r.uniform(0, 3e-3, k))
        b.connect("P", "P", p=0.3, weight=lambda r, k: r.uniform(-0.5, 0.5, k),
                  delay=lambda r, k: r.uniform(0.5e-3, 3e-3, k))
    return b.build()


def _inputs(seed, n_in=5, n=60, T=0.2):
    rng = np.random.default_rng(100 + seed)
    return SpikeTimes(times=rng.uniform(0, T, n), indices=rng.integers(0, n_in, n))


@pytest.mark.parametrize("kind", ["lif", "sub", "if", "cuba", "cubag", "alif", "alifsub"])
def test_kernel_matches_naive_twin(kind):
    for seed in range(2):
        net = random_net(seed, kind)
        st = _inputs(seed)
        sim = Simulator(net, engine="event", rng=0)
        res = sim.run(0.2, inputs={"in": st}, progress=False)
        eng = sim.engine
        nt, ni = naive_run(eng, 0.2, st.times, st.indices + eng.offset["in"], h=4e-6)
        ev = res.spikes["P"]
        assert len(ev) == nt.size > 5
        order = np.lexsort((ni, nt))
        np.testing.assert_array_equal(ev.i, ni[order])
        np.testing.assert_allclose(ev.t, nt[order], atol=1e-9, rtol=0)


def test_online_counts_equal_offline_counts():
    net = random_net(3, "cuba")
    st = _inputs(3)
    T = 0.15
    res = Simulator(net, engine="event", rng=0).run(T, inputs={"in": st}, progress=False)
    c = res.counts
    assert c.source == "event" and "ticks" in c.unfilled
    spikes = {"in": (st.times[st.times < T], st.indices[st.times < T]),
              "P": (res.spikes["P"].t, res.spikes["P"].i)}
    assert c.layers["P"]["spikes"] == len(res.spikes["P"])
    assert c.layers["in"]["spikes"] == spikes["in"][0].size
    for name in ("in_P", "P_P"):
        node = net[name]
        src = net.in_edges(name)[0].src
        t_sp, i_sp = spikes[src]
        offline = 0
        for t, i in zip(t_sp, i_sp):
            sl = slice(node.indptr[i], node.indptr[i + 1])
            d = np.broadcast_to(node.delay, (node.nnz,))[sl]
            offline += int(np.sum((node.weight[sl] != 0) & (t + d < T)))
        assert c.layers[name]["synops_ac"] == offline > 0
        assert c.layers[name]["weight_reads"] == offline
    upd = c.layers["P"]["neuron_updates"]
    assert 0 < upd <= c.synops + c.meta["wakeups"]
    assert c.layers["P"]["state_reads"] == 3 * upd  # v and two currents


@pytest.mark.parametrize("kind", ["cuba", "alif"])
def test_run_split_equals_one_run_and_counts_add(kind):
    net = random_net(1, kind)
    stim = {"in": Poisson(np.linspace(20, 80, 5))}
    a = Simulator(net, engine="event", rng=5)
    r1 = a.run(0.13, inputs=stim, progress=False)
    r2 = a.run(0.27, inputs=stim, progress=False)
    b = Simulator(net, engine="event", rng=5)
    r = b.run(0.4, inputs=stim, progress=False)
    t_split = np.concatenate([r1.spikes["P"].t, r2.spikes["P"].t])
    np.testing.assert_array_equal(t_split, r.spikes["P"].t)
    tot = r1.counts + r2.counts
    for f in ("spikes", "synops_ac", "neuron_updates"):
        assert tot.total(f) == r.counts.total(f)
    assert a.t == pytest.approx(0.4)


@pytest.mark.parametrize("kind", ["lif", "alif"])
def test_save_load_state_continues_identically(tmp_path, kind):
    net = random_net(2, kind)
    stim = {"in": Poisson(50.0)}
    a = Simulator(net, engine="event", rng=3)
    a.run(0.1, inputs=stim, progress=False)
    a.save_state(tmp_path / "s.npz")
    b = Simulator(net, engine="event", rng=3)
    b.load_state(tmp_path / "s.npz")
    ra = a.run(0.1, inputs=stim, progress=False)
    rb = b.run(0.1, inputs=stim, progress=False)
    assert len(ra.spikes["P"]) > 0
    np.testing.assert_array_equal(ra.spikes["P"].t, rb.spikes["P"].t)
    if kind == "alif":
        np.testing.assert_array_equal(a.engine.state_at("P", var="a"),
                                      b.engine.state_at("P", var="a"))
    a.reset()
    assert a.t == 0.0
    if kind == "alif":  # back to the initial adaptation
        np.testing.assert_array_equal(a.engine.state_at("P", var="a")[0], net["P"].a_init)


@pytest.mark.parametrize("kind", ["cuba", "alif"])
def test_batch_entries_are_independent_runs(kind):
    net = random_net(0, kind)
    s0, s1 = _inputs(0), _inputs(1)
    both = SpikeTimes(times=np.concatenate([s0.times, s1.times]),
                      indices=np.concatenate([s0.indices, s1.indices]),
                      batch=np.r_[np.zeros(s0.times.size), np.ones(s1.times.size)])
    rb = Simulator(net, engine="event", rng=0, batch=2).run(0.2, inputs={"in": both},
                                                           progress=False)
    for b, s in enumerate((s0, s1)):
        r = Simulator(net, engine="event", rng=0).run(0.2, inputs={"in": s}, progress=False)
        np.testing.assert_array_equal(rb.spikes["P"].select(b).t, r.spikes["P"].t)
    assert rb.outputs == {} and rb.counts.samples == 2


def test_poisson_rate_and_seed():
    net = ir.Network({"in": ir.Input(200), "n": ir.LIF(200, tau=0.02, v_threshold=0.5),
                      "s": ir.Sparse.from_dense(np.eye(200))}, ["in->s", "s->n"])
    r = Simulator(net, engine="event", rng=1).run(1.0, inputs={"in": Poisson(20.0)},
                                                  progress=False)
    n = r.counts.layers["in"]["spikes"]
    assert abs(n - 4000) < 5 * np.sqrt(4000)
    r2 = Simulator(net, engine="event", rng=2).run(1.0, inputs={"in": Poisson(20.0)},
                                                   progress=False)
    assert not np.array_equal(r.spikes["n"].t[:50], r2.spikes["n"].t[:50])


def test_readout_and_dense_projection_outputs():
    w = np.array([[2.0, 0.0], [0.5, 0.5]])
    nodes = {"in": ir.Input(2), "a": ir.Affine(w), "n": ir.LIF(2, tau=0.01),
             "l": ir.Linear(np.ones((1, 2))), "ro": ir.LI(1, tau=0.01), "o1": ir.Output(),
             "o2": ir.Output()}
    net = ir.Network(nodes, ["in->a", "a->n", "n->l", "l->ro", "n->o1", "ro->o2"])
    sim = Simulator(net, engine="event", rng=0)
    res = sim.run(0.02, inputs={"in": SpikeTimes(times=[0.01], indices=[0])}, progress=False)
    assert res.outputs["o1"].tolist() == [[1, 0]]  # neuron 1 got only 0.5
    assert res.outputs["o2"][0, 0] == pytest.approx(np.exp(-1.0), rel=1e-12)


def test_unsupported_nodes_name_the_type_and_the_clock_engine():
    for node in (ir.CobaLIF(2, e_rev=0.0),):
        net = ir.Network({"in": ir.Input(2), "s": ir.Sparse.from_dense(np.eye(2)), "n": node},
                         ["in->s", "s->n"])
        with pytest.raises(NotImplementedError, match=type(node).__name__ + ".*clock"):
            Simulator(net, engine="event", rng=0)
    conv = ir.Conv2d((1, 4, 4), weight=np.ones((1, 1, 3, 3)))
    net = ir.Network({"in": ir.Input((1, 4, 4)), "c": conv, "n": ir.LIF((1, 2, 2))},
                     ["in->c", "c->n"])
    with pytest.raises(NotImplementedError, match="Conv2d.*clock"):
        Simulator(net, engine="event", rng=0)


def test_bad_input():
    net = random_net(0, "lif")
    sim = Simulator(net, engine="event", rng=0)
    with pytest.raises(TypeError, match="Frames"):
        sim.run(0.1, inputs={"in": Frames(np.zeros((10, 5)))}, progress=False)
    with pytest.raises(ValueError, match=r"indices must be in \[0, 5\)"):
        sim.run(0.1, inputs={"in": SpikeTimes(times=[0.01], indices=[7])}, progress=False)
    with pytest.raises(ValueError, match="not an Input node"):
        sim.run(0.1, inputs={"P": Poisson(1.0)}, progress=False)
    with pytest.raises(ValueError, match="duration"):
        sim.run(-1.0, progress=False)
    with pytest.raises(ValueError, match="Poisson rate has 3 values"):
        sim.run(0.1, inputs={"in": Poisson([1.0, 2.0, 3.0])}, progress=False)
    with pytest.raises(ValueError, match="no dt"):
        Simulator(net, engine="event", dt=1e-4, rng=0)
    with pytest.raises(NotImplementedError, match="clock"):
        Simulator(net, engine="event", rng=0, monitors=[StateMonitor("P")])
    bad = ir.Network({"n": ir.CubaLIF(1, tau_mem=0.01, tau_syn=0.01)}, [])
    with pytest.raises(ValueError, match="tau_syn.*equals tau_mem"):
        Simulator(bad, engine="event", rng=0)
    endless = ir.Network({"n": ir.LIF(1, v_threshold=0.0, v_reset=0.5)}, [])
    with pytest.raises(ValueError, match="fire endlessly"):
        Simulator(endless, engine="event", rng=0)


def test_cuba_readout_output_is_the_closed_form_at_the_end():
    tm, ts = 0.02, 0.005
    nodes = {"in": ir.Input(1), "s": ir.Sparse.from_dense(np.full((2, 1), 0.7), delay=2e-3),
             "ro": ir.CubaLI(2, tau_mem=tm, tau_syn=ts), "o": ir.Output()}
    net = ir.Network(nodes, ["in->s", "s->ro", "ro->o"])
    res = Simulator(net, engine="event", rng=0).run(
        0.05, inputs={"in": SpikeTimes(times=[0.008], indices=[0])}, progress=False)
    s = 0.05 - 0.010
    expect = 0.7 * ts / (ts - tm) * (np.exp(-s / ts) - np.exp(-s / tm))
    np.testing.assert_allclose(res.outputs["o"], [[expect, expect]], rtol=1e-12)


@pytest.mark.parametrize("batch", [1, 3])
def test_input_spikes_merge_in_time_channel_order(batch):
    """Spikes of several inputs reach the kernel in (time, channel) order: a stable sort by
    time of the already sorted SpikeTimes runs (merged in channel order) equals a full
    lexsort, with ties in time within and across inputs; a Poisson input among them is
    sorted by lexsort."""
    rng = np.random.default_rng(7)
    sizes = {"a": 4, "b": 3, "c": 2}
    nodes = {"p": ir.LIF(2, tau=0.02, v_threshold=1e9)}
    edges = []
    for name, n in sizes.items():
        nodes[name] = ir.Input(n)
        nodes["w" + name] = ir.Sparse.from_dense(np.ones((2, n)))
        edges += [(name, "w" + name), ("w" + name, "p")]
    net = ir.Network(nodes, edges)
    eng = Simulator(net, engine="event", rng=0, batch=batch).engine
    grid = np.round(rng.uniform(0, 0.05, 300), 3)  # many ties on a 1 ms grid

    def st(n):
        k = rng.integers(100, 300)
        return SpikeTimes(rng.choice(grid, k), rng.integers(0, n, k), rng.integers(0, batch, k))

    stims = {"c": st(2), "a": st(4), "b": st(3)}  # not in channel order
    for with_poisson in (False, True):
        s = dict(stims)
        if with_poisson:
            s.pop("b")
            s["b"] = Poisson(200.0)
        for t0, t1 in ((0.0, 0.05), (0.011, 0.029)):
            got = eng._input_spikes(s, t0, t1)
            for bb in range(batch):
                ts, ch = [], []
                for name, x in s.items():
                    if isinstance(x, SpikeTimes):
                        m = (x.batch == bb) & (x.times >= t0) & (x.times < t1)
                        ts.append(x.times[m])
                        ch.append(x.indices[m] + eng.offset[name])
                    else:
                        t_p, i_p = eng._poisson(name, x, 3, bb, t0, t1, eng.offset[name])
                        ts.append(t_p)
                        ch.append(i_p)
                t, i = np.concatenate(ts), np.concatenate(ch)
                o = np.lexsort((i, t))
                assert t.size > 20
                np.testing.assert_array_equal(got[bb][0], t[o])
                np.testing.assert_array_equal(got[bb][1], i[o])
