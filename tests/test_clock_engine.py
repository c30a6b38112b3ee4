"""Clock engine: closed-form solutions, the naive twin, delays, determinism, counts, errors."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from spikesim import ir, models
from spikesim.sim import Frames, Poisson, Simulator, SpikeTimes, StateMonitor
from spikesim.units import mV, ms

from naive_clock import simulate as naive_simulate

DT = 0.1 * ms


def single(node, *, edges_port=None, weight=1.0, delay=0.0, monitor=("v",)):
    """Input(1) -> Sparse(weight, delay) -> node."""
    net = ir.Network(
        nodes={"in": ir.Input(1), "syn": ir.Sparse(1, node.n, indptr=[0, node.n],
                                                  indices=np.arange(node.n), weight=weight,
                                                  delay=delay),
               "pop": node},
        edges=["in->syn", "syn->pop" + (f":{edges_port}" if edges_port else "")])
    return net


def test_lif_constant_bias_trace_and_period():
    tau, vth, vl, bias = 20 * ms, 1.0, 0.0, 1.5
    node = ir.LIF(1, tau=tau, v_leak=vl, v_threshold=vth, v_reset=0.0, bias=bias)
    net = ir.Network({"pop": node}, [])
    sim = Simulator(net, dt=DT, rng=0, monitors=[StateMonitor("pop", ["v"])])
    res = sim.run(0.2, progress=False)
    t = res.state_t
    v = res.state["pop"]["v"][:, 0, 0]
    t_cross = tau * math.log(bias / (bias - vth))        # analytic first crossing
    first = int(math.ceil(t_cross / DT - 1e-12))          # first grid time with v >= vth
    # before the first spike the trace is the closed form to 1e-12 relative
    closed = bias * (1 - np.exp(-t[: first - 1] / tau))
    np.testing.assert_allclose(v[: first - 1], closed, rtol=1e-12)
    st = res.spikes["pop"]
    assert st.t[0] == pytest.approx(first * DT, abs=1e-12)
    # periodic firing: every spike restarts from v_reset
    isi = np.diff(st.t)
    assert np.all(np.abs(isi - first * DT) < 1e-9)


def test_lif_refractory_and_subtract_reset():
    node = ir.LIF(1, tau=10 * ms, v_threshold=1.0, v_reset=0.0, bias=3.0, refractory=2 * ms)
    res = Simulator(ir.Network({"p": node}, []), dt=DT, rng=0).run(0.1, progress=False)
    n_cross = math.ceil(10 * ms * math.log(3 / 2) / DT - 1e-12)
    # period = crossing steps + refractory steps held at v_reset
    assert np.allclose(np.diff(res.spikes["p"].t), (n_cross + 20) * DT)
    sub = ir.LIF(1, tau=10 * ms, v_threshold=1.0, v_reset=0.0, bias=3.0, reset="subtract")
    sim = Simulator(ir.Network({"p": sub}, []), dt=DT, rng=0, monitors=[StateMonitor("p")])
    r2 = sim.run(0.02, progress=False)
    v = r2.state["p"]["v"][:, 0, 0]
    k = int(round(r2.spikes["p"].t[0] / DT)) - 1
    # subtract reset keeps the overshoot
    a = math.exp(-DT / (10 * ms))
    v_before = 3.0 + (v[k - 1] - 3.0) * a
    assert v[k] == pytest.approx(v_before - 1.0, rel=1e-12)


def test_lif_one_input_spike_delta():
    node = ir.LIF(1, tau=20 * ms, v_threshold=10.0, r=2.0)
    sim = Simulator(single(node, weight=0.5), dt=DT, rng=0, monitors=[StateMonitor("pop")])
    res = sim.run(5 * ms, inputs={"in": SpikeTimes([0.0], [0])}, progress=False)
    v = res.state["pop"]["v"][:, 0, 0]
    # emitted in step 0, arrives in step 1 and adds r*w after that step's decay
    assert v[0] == 0.0
    t_after = res.state_t[1:] - res.state_t[1]
    np.testing.assert_allclose(v[1:], 1.0 * np.exp(-t_after / (20 * ms)), rtol=1e-12)


@pytest.mark.parametrize("tau_s", [5 * ms, 20 * ms])
def test_cubalif_psp_peak_time_and_height(tau_s):
    tau_m, w = 20 * ms, 1.0 * mV
    node = ir.CubaLIF(1, tau_mem=tau_m, tau_syn=tau_s, v_threshold=1.0)
    sim = Simulator(single(node, weight=w), dt=DT, rng=0, monitors=[StateMonitor("pop", ["v", "I"])])
    res = sim.run(100 * ms, inputs={"in": SpikeTimes([0.0], [0])}, progress=False)
    v = res.state["pop"]["v"][:, 0, 0]
    # the current jumps at the start of step 1 (time dt); v at the end of step m is the PSP
    # kernel at (m + 1)*dt - dt
    s = res.state_t - DT
    if tau_s == tau_m:
        closed = w * s / tau_m * np.exp(-s / tau_m)
        t_peak, v_peak = tau_m, w / math.e
    else:
        closed = w * tau_s / (tau_s - tau_m) * (np.exp(-s / tau_s) - np.exp(-s / tau_m))
        t_peak = tau_s * tau_m / (tau_s - tau_m) * math.log(tau_s / tau_m)
        v_peak = w * tau_s / (tau_s - tau_m) * (math.exp(-t_peak / tau_s) - math.exp(-t_peak / tau_m))
    np.testing.assert_allclose(v[1:], closed[1:], rtol=1e-12, atol=1e-18)
    k = int(np.argmax(v))
    assert abs(s[k] - t_peak) <= DT
    assert v.max() == pytest.approx(v_peak, rel=1e-4)
    I = res.state["pop"]["I"][:, 0, 0]
    np.testing.assert_allclose(I[1:], w * np.exp(-s[1:] / tau_s), rtol=1e-12)


def test_cobalif_step_response():
    # a conductance with a practically infinite time constant is a step of conductance g
    g, e, tm = 0.5, 50 * mV, 10 * ms
    node = ir.CobaLIF(1, tau_mem=tm, tau_syn=1e9, e_rev=e, v_leak=0.0, v_threshold=1.0)
    sim = Simulator(single(node, weight=g), dt=DT, rng=0, monitors=[StateMonitor("pop")])
    res = sim.run(50 * ms, inputs={"in": SpikeTimes([0.0], [0])}, progress=False)
    v = res.state["pop"]["v"][:, 0, 0]
    s = res.state_t - DT
    vinf = g * e / (1 + g)
    closed = vinf * (1 - np.exp(-s * (1 + g) / tm))
    np.testing.assert_allclose(v[1:], closed[1:], rtol=1e-9)


def test_if_ramp_and_adaptive_threshold():
    node = ir.IF(1, v_threshold=1.0, bias=100.0)        # dv/dt = 100 /s -> 10 ms to threshold
    res = Simulator(ir.Network({"p": node}, []), dt=DT, rng=0).run(0.05, progress=False)
    assert len(res.spikes["p"]) == 5
    ad = ir.AdaptiveLIF(1, tau=10 * ms, tau_adapt=1e9, delta_threshold=0.5, bias=3.0)
    r2 = Simulator(ir.Network({"p": ad}, []), dt=DT, rng=0).run(0.2, progress=False)
    isi = np.diff(r2.spikes["p"].t)
    assert np.all(np.diff(isi) > 0)   # the threshold grows with every spike


def test_delay_arrives_exactly_one_delay_later():
    node = ir.CubaLIF(1, tau_mem=20 * ms, tau_syn=5 * ms, v_threshold=1.0)
    traces = {}
    for d in (0.0, 1.5 * ms):
        sim = Simulator(single(node, weight=1e-3, delay=d), dt=DT, rng=0,
                        monitors=[StateMonitor("pop")])
        res = sim.run(10 * ms, inputs={"in": SpikeTimes([0.0], [0])}, progress=False)
        traces[d] = res.state["pop"]["v"][:, 0, 0]
    v0, v15 = traces[0.0], traces[1.5 * ms]
    assert v0[0] == 0 and v0[1] > 0                       # delay 0: acts from step 1
    assert np.all(v15[:16] == 0) and v15[16] > 0          # 15 steps later
    np.testing.assert_array_equal(v15[15:], v0[:-15])


def test_delay_zero_follows_brian2_order():
    # neuron A fires in step n; B (delta) receives in step n+1
    a = ir.LIF(1, tau=1.0, v_threshold=1.0, bias=0.0)
    b = ir.LIF(1, tau=1.0, v_threshold=100.0)
    net = ir.Network({"in": ir.Input(1), "a": a, "b": b,
                      "s1": ir.Sparse(1, 1, [0, 1], [0], [2.0]),
                      "s2": ir.Sparse(1, 1, [0, 1], [0], [1.0])},
                     ["in->s1", "s1->a", "a->s2", "s2->b"])
    sim = Simulator(net, dt=DT, rng=0, monitors=[StateMonitor("b")])
    res = sim.run(1 * ms, inputs={"in": SpikeTimes([0.0], [0])}, progress=False)
    assert res.spikes["a"].t[0] == pytest.approx(2 * DT)   # emitted in step 1
    vb = res.state["b"]["v"][:, 0, 0]
    assert vb[1] == 0 and vb[2] == 1.0                      # acts in step 2


def test_short_delay_is_an_error():
    node = ir.LIF(1)
    with pytest.raises(ValueError, match="shorter than one step"):
        Simulator(single(node, delay=0.05 * ms), dt=DT, rng=0)


def random_net(rng, delays=True):
    b = ir.NetworkBuilder(rng)
    b.input("in", 6)
    b.population("lif", ir.LIF(7, tau=rng.uniform(5, 30, 7) * ms, v_threshold=1.0, v_reset=0.1,
                               reset="subtract", refractory=1 * ms, bias=rng.uniform(0, 1.5, 7)))
    b.population("cuba", ir.CubaLIF(5, tau_mem=rng.uniform(10, 30, 5) * ms, tau_syn=(3 * ms, 20 * ms),
                                    ports=("e", "i"), v_threshold=1.0, bias=1.2, refractory=0.5 * ms))
    b.population("coba", ir.CobaLIF(4, tau_mem=15 * ms, tau_syn=(2 * ms, 8 * ms), e_rev=(3.0, -1.0),
                                    ports=("e", "i"), v_threshold=1.0, bias=0.9))
    b.population("ad", ir.AdaptiveLIF(3, tau=10 * ms, tau_adapt=50 * ms, delta_threshold=0.2, bias=1.3))
    b.population("if", ir.IF(4, v_threshold=1.0, bias=30.0, reset="subtract"))
    b.population("li", ir.LI(2, tau=5 * ms))
    dly = (lambda r, n: r.integers(0, 4, n) * DT) if delays else 0.0
    b.connect("in", "lif", p=0.5, weight=lambda r, n: r.normal(0.4, 0.2, n), delay=dly)
    b.connect("lif", "cuba", p=0.6, weight=0.8, port="e", delay=dly)
    b.connect("lif", "cuba", p=0.3, weight=-0.5, port="i")
    b.connect("cuba", "coba", p=0.7, weight=0.3, port="e", delay=dly)
    b.connect("coba", "lif", p=0.5, weight=-0.3)
    b.connect("cuba", "ad", rule="all_to_all", weight=0.2)
    b.connect("ad", "if", p=0.8, weight=0.3)
    b.connect("if", "li", rule="all_to_all", weight=0.1)
    nodes = dict(b.nodes)
    nodes["aff"] = ir.Affine(rng.normal(0, 0.3, (3, 6)), bias=rng.normal(0, 0.01, 3))
    edges = list(b.edges) + [ir.Edge("in", "aff"), ir.Edge("aff", "ad")]
    return ir.Network(nodes, edges)


@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_matches_naive_twin(seed):
    rng = np.random.default_rng(seed)
    net = random_net(rng)
    steps = 300
    ev_rng = np.random.default_rng(seed + 10)
    st = np.sort(ev_rng.integers(0, steps, 200))
    idx = ev_rng.integers(0, 6, 200)
    sim = Simulator(net, dt=DT, rng=0, monitors=[StateMonitor(n) for n in net.names("neuron")])
    res = sim.run(steps * DT, inputs={"in": SpikeTimes(st * DT, idx)}, progress=False)
    pairs = {}
    for s_, i_ in zip(st, idx):
        pairs[(s_, i_)] = pairs.get((s_, i_), 0.0) + 1.0
    evs = [(s_, i_, v_) for (s_, i_), v_ in pairs.items()]
    spikes, vtr = naive_simulate(net, DT, steps, {"in": evs})
    for name in net.names("neuron"):
        np.testing.assert_allclose(res.state[name]["v"][:, 0, :], vtr[name], rtol=1e-9, atol=1e-12)
        if net[name].spiking:
            got = sorted(zip(np.rint(res.spikes[name].t / DT).astype(int) - 1,
                             res.spikes[name].i.tolist()))
            assert got == sorted(spikes[name]), name
    assert sum(len(v) for v in spikes.values()) > 50      # the network is active


def dense_net(rng, current_based):
    """Input -> Linear -> hidden -> Affine -> output, the hidden layer firing often, so its
    dense projection is delivered by a matrix product in most steps."""
    if current_based:  # every target current-based, no delays: the kernel's `direct` mode
        hid = ir.CubaLIF(30, tau_mem=10 * ms, tau_syn=3 * ms, v_threshold=1.0, bias=1.1,
                         reset="subtract")
        out = ir.CubaLIF(25, tau_mem=10 * ms, tau_syn=5 * ms, v_threshold=1.0)
    else:
        hid = ir.LIF(30, tau=10 * ms, v_threshold=1.0, bias=1.1, reset="subtract")
        out = ir.LIF(25, tau=10 * ms, v_threshold=1.0, refractory=0.3 * ms)
    nodes = {"in": ir.Input((20,)), "w1": ir.Linear(rng.normal(0.3, 0.3, (30, 20))),
             "hid": hid, "w2": ir.Affine(rng.normal(0.05, 0.2, (25, 30)), bias=rng.normal(0, 0.01, 25)),
             "out": out}
    edges = [ir.Edge("in", "w1"), ir.Edge("w1", "hid"), ir.Edge("hid", "w2"), ir.Edge("w2", "out")]
    return ir.Network(nodes, edges)


@pytest.mark.parametrize("current_based", [False, True])
def test_dense_projection_blas_delivery(current_based):
    """A dense projection from a busy layer goes through S @ W (BLAS); spikes and traces
    equal the naive twin's and the row-by-row delivery's (to rounding), batch entries too."""
    rng = np.random.default_rng(4)
    net = dense_net(rng, current_based)
    steps = 200
    ev_rng = np.random.default_rng(5)
    st = np.sort(ev_rng.integers(0, steps, 400))
    idx = ev_rng.integers(0, 20, 400)
    runs = {}
    for act in (0.0, 2.0):  # 0: matrix product whenever the layer spikes; 2: never
        sim = Simulator(net, dt=DT, rng=0, batch=2, monitors=[StateMonitor("out")])
        assert sim.engine.dsrc.shape[0] == 1 and sim.engine.dsrc[0, 1] == 30
        sim.engine.dense_min_activity = act
        runs[act] = sim.run(steps * DT, inputs={"in": SpikeTimes(st * DT, idx)}, progress=False)
    a, b = runs[0.0], runs[2.0]
    assert a.spikes["hid"].t.size > 0.05 * 30 * steps * 2    # busy: > 5 % per step
    for name in ("hid", "out"):
        np.testing.assert_array_equal(a.spikes[name].t, b.spikes[name].t)
        np.testing.assert_array_equal(a.spikes[name].i, b.spikes[name].i)
    np.testing.assert_allclose(a.state["out"]["v"], b.state["out"]["v"], rtol=1e-12, atol=1e-13)
    pairs = {}
    for s_, i_ in zip(st, idx):
        pairs[(s_, i_)] = pairs.get((s_, i_), 0.0) + 1.0
    spikes, vtr = naive_simulate(net, DT, steps, {"in": [(s_, i_, v_) for (s_, i_), v_ in pairs.items()]})
    np.testing.assert_allclose(a.state["out"]["v"][:, 0, :], vtr["out"], rtol=1e-9, atol=1e-12)
    for name in ("hid", "out"):
        sp = a.spikes[name]
        got = sorted((int(k) - 1, int(i)) for k, i, bb in
                     zip(np.rint(sp.t / DT), sp.i, sp.b) if bb == 0)
        assert got == sorted(spikes[name]), name
    assert len(spikes["out"]) > 20


def test_kernel_without_jit_matches(tmp_path):
    code = (
        "import numpy as np, sys; sys.path.insert(0, 'tests');"
        "from test_clock_engine import random_net, DT;"
        "from spikesim.sim import Simulator, SpikeTimes;"
        "net = random_net(np.random.default_rng(3));"
        "r = Simulator(net, dt=DT, rng=0).run(100*DT, inputs={'in': SpikeTimes(np.arange(50)*2*DT, np.arange(50)%6)}, progress=False);"
        "print(sum(len(s) for s in r.spikes.values()))")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, cwd=root)
    assert out.returncode == 0, out.stderr[-2000:]
    ref = Simulator(random_net(np.random.default_rng(3)), dt=DT, rng=0).run(
        100 * DT, inputs={"in": SpikeTimes(np.arange(50) * 2 * DT, np.arange(50) % 6)}, progress=False)
    assert int(out.stdout.split()[-1]) == sum(len(s) for s in ref.spikes.values())


def test_continued_runs_are_bit_identical_and_seeded():
    net = models.cuba(400, rng=2)
    def go(parts, seed=5):
        b = ir.NetworkBuilder(1)
        sim = Simulator(net, dt=DT, rng=seed)
        out = [sim.run(p, progress=False) for p in parts]
        t = np.concatenate([r.spikes["P"].t for r in out])
        i = np.concatenate([r.spikes["P"].i for r in out])
        return t, i, sim.engine.v.copy()
    t1, i1, v1 = go([0.25])
    t2, i2, v2 = go([0.1, 0.05, 0.1])
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(v1, v2)
    # Poisson input: same seed same spikes, different seed different spikes
    b = ir.NetworkBuilder(0)
    b.input("noise", 50)
    b.population("p", ir.LIF(20, tau=10 * ms, v_threshold=1.0))
    b.connect("noise", "p", p=0.3, weight=0.4)
    pnet = b.build()
    def prun(seed, parts=(0.3,)):
        sim = Simulator(pnet, dt=DT, rng=seed)
        rs = [sim.run(p, inputs={"noise": Poisson(40.0)}, progress=False) for p in parts]
        return np.concatenate([r.spikes["p"].t for r in rs]), np.concatenate([r.spikes["p"].i for r in rs])
    a, b_ = prun(1), prun(1)
    np.testing.assert_array_equal(a[0], b_[0])
    c = prun(2)
    assert len(a[0]) > 10 and (len(a[0]) != len(c[0]) or not np.array_equal(a[0], c[0]))
    d = prun(1, parts=(0.1, 0.2))
    np.testing.assert_array_equal(a[0], d[0])
    np.testing.assert_array_equal(a[1], d[1])


def test_state_save_load(tmp_path):
    net = models.cuba(300, rng=4)
    s1 = Simulator(net, dt=DT, rng=1)
    s1.run(0.05, progress=False)
    s1.save_state(tmp_path / "st.npz")
    r1 = s1.run(0.05, progress=False)
    s2 = Simulator(net, dt=DT, rng=1)
    s2.load_state(tmp_path / "st.npz")
    r2 = s2.run(0.05, progress=False)
    np.testing.assert_array_equal(r1.spikes["P"].t, r2.spikes["P"].t)
    np.testing.assert_array_equal(r1.spikes["P"].i, r2.spikes["P"].i)


def test_online_counts_equal_offline_counts():
    rng = np.random.default_rng(7)
    net = random_net(rng)
    res = Simulator(net, dt=DT, rng=0, batch=2).run(
        0.05, inputs={"in": Poisson(np.full(6, 200.0))}, progress=False)
    c = res.counts
    for name in net.names("synapse"):
        src = net.in_edges(name)[0].src
        node = net[name]
        if isinstance(node, ir.Sparse):
            deg = np.bincount(np.repeat(np.arange(node.n_pre), np.diff(node.indptr))[node.weight != 0],
                              minlength=node.n_pre)
        else:
            deg = (node.weight != 0).sum(axis=0)
        if src == "in":
            continue  # input spikes are not recorded; their count is checked below
        nsp = res.spikes[src].counts().sum(axis=0)
        assert c.layers[name]["synops_ac"] == int(nsp @ deg), name
    for name in net.names("neuron"):
        if net[name].spiking:
            assert c.layers[name]["spikes"] == len(res.spikes[name])
        assert c.layers[name]["neuron_updates"] == net[name].n * 500 * 2
    assert c.samples == 2 and c.steps == 500


def test_batch_entries_are_independent():
    net = random_net(np.random.default_rng(1))
    fr = (np.random.default_rng(0).random((100, 2, 6)) < 0.1).astype(float)
    res = Simulator(net, dt=DT, rng=0, batch=2).run(100 * DT, inputs={"in": Frames(fr)}, progress=False)
    for b in range(2):
        rb = Simulator(net, dt=DT, rng=0).run(100 * DT, inputs={"in": Frames(fr[:, b])}, progress=False)
        for name in rb.spikes:
            np.testing.assert_array_equal(res.spikes[name].select(b).t, rb.spikes[name].t)


def test_bad_input_messages():
    net = models.cuba(100, rng=0)
    with pytest.raises(ValueError, match="dt"):
        Simulator(net, dt=0.0, rng=0)
    with pytest.raises(ValueError, match="dt"):
        Simulator(net, dt=-1e-4, rng=0)
    with pytest.raises(ValueError, match="tau"):
        ir.LIF(3, tau=0.0)
    with pytest.raises(ValueError, match="tau_syn"):
        ir.CubaLIF(3, tau_syn=(-1e-3,))
    with pytest.raises(ValueError, match="finite"):
        ir.Affine(np.array([[np.inf]]))
    with pytest.raises(ValueError, match="finite"):
        ir.Sparse(1, 1, [0, 1], [0], [np.nan])
    with pytest.raises(ValueError, match="takes"):
        ir.Network({"a": ir.Input(3), "w": ir.Affine(np.ones((2, 4)))}, ["a->w"])
    with pytest.raises(ValueError, match="unknown"):
        ir.Network({"a": ir.Input(3)}, ["a->b"])
    with pytest.raises(ValueError, match="port"):
        ir.Network({"a": ir.Input(2), "p": ir.CubaLIF(2, ports=("e", "i"), tau_syn=(1e-3, 2e-3))},
                   ["a->p:x"])
    b = ir.NetworkBuilder(0)
    b.population("p", ir.LIF(3))
    with pytest.raises(ValueError, match=r"p: must be in \[0, 1\]"):
        b.connect("p", "p", p=1.5)
    with pytest.raises(ValueError, match="shape"):
        ir.LIF(3, tau=np.ones(4))
    with pytest.raises(ValueError, match="Input node"):
        Simulator(net, dt=DT, rng=0).run(0.01, inputs={"P": Poisson(1.0)})
    with pytest.raises(ValueError, match="whole number of steps"):
        Simulator(net, dt=DT, rng=0).run(0.00015)


@pytest.mark.slow  # compiling the parallel kernel from a cold cache takes 20-80 s
@pytest.mark.parametrize("delay, batch, every", [(0.0, 1, 0), (0.0, 2, 7), (1.0e-3, 2, 3)])
def test_threads_give_identical_results(delay, batch, every):
    """The parallel kernel (one region per step: deliver step n-1, then update step n) gives
    the serial kernel's spikes, monitored states and final state bit for bit: direct delivery
    and ring-buffer delays, batch > 1, monitor samples and a run continued in two pieces."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    net = models.cuba(5000, rng=8, delay=delay)
    out = []
    for threads in (1, 2):
        mon = [StateMonitor("P", ["v", "exc", "inh"], index=[0, 7, 4999], every=every)] if every else []
        sim = Simulator(net, dt=DT, rng=1, threads=threads, batch=batch, monitors=mon)
        assert sim.engine.blocks.size - 1 == threads
        r1 = sim.run(0.03, progress=False)
        r2 = sim.run(0.02, progress=False)
        got = [r.spikes["P"].t for r in (r1, r2)] + [r.spikes["P"].i for r in (r1, r2)]
        if every:
            got += [r.state["P"][k] for r in (r1, r2) for k in ("v", "exc", "inh")]
        out.append(got + [sim.engine.v.copy(), sim.engine.cur.copy()])
    for a, b in zip(out[0], out[1]):
        np.testing.assert_array_equal(a, b)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


@pytest.mark.slow  # compiles the parallel kernel
def test_threads_dense_projection_identical():
    """Dense (BLAS) delivery with 2 threads, each multiplying its own column block, gives the
    1-thread result bit for bit."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    rng = np.random.default_rng(2)
    nodes = {"in": ir.Input((50,)), "w1": ir.Linear(rng.normal(0.2, 0.3, (2500, 50))),
             "hid": ir.LIF(2500, tau=10 * ms, v_threshold=1.0, bias=1.2, reset="subtract"),
             "w2": ir.Linear(rng.normal(0.0, 0.05, (2000, 2500))),
             "out": ir.CubaLIF(2000, tau_mem=10 * ms, tau_syn=5 * ms, v_threshold=1.0)}
    net = ir.Network(nodes, [ir.Edge("in", "w1"), ir.Edge("w1", "hid"), ir.Edge("hid", "w2"),
                             ir.Edge("w2", "out")])
    ev = np.random.default_rng(3)
    st, idx = np.sort(ev.integers(0, 100, 2000)) * DT, ev.integers(0, 50, 2000)
    out = []
    for threads in (1, 2):
        sim = Simulator(net, dt=DT, rng=0, threads=threads, batch=2)
        assert sim.engine.blocks.size - 1 == threads and sim.engine.dsrc.shape[0] == 1
        sim.engine.dense_min_activity = 0.0  # matrix product in every step with a spike
        r = sim.run(100 * DT, inputs={"in": SpikeTimes(st, idx)}, progress=False)
        out.append([r.spikes["hid"].t, r.spikes["out"].t, r.spikes["out"].i, sim.engine.v.copy()])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    assert out[0][1].size > 0
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def _dense_conv(w, in_shape, stride, pad):
    """Brute-force Conv2d as a dense [out, in] matrix (explicit loops)."""
    cin, h, wd = in_shape
    cout, _, kh, kw = w.shape
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    m = np.zeros((cout * ho * wo, cin * h * wd))
    for co in range(cout):
        for oy in range(ho):
            for ox in range(wo):
                for ci in range(cin):
                    for ky in range(kh):
                        for kx in range(kw):
                            iy, ix = oy * stride - pad + ky, ox * stride - pad + kx
                            if 0 <= iy < h and 0 <= ix < wd:
                                m[(co * ho + oy) * wo + ox, (ci * h + iy) * wd + ix] += w[co, ci, ky, kx]
    return m, (cout, ho, wo)


def test_conv_pool_chain_equals_dense_equivalent():
    rng = np.random.default_rng(4)
    w = rng.normal(0.3, 0.5, (3, 2, 3, 3))
    bias = rng.normal(0, 0.05, 3)
    conv = ir.Conv2d((2, 7, 7), w, stride=2, padding=1, bias=bias)
    mconv, (c, ho, wo) = _dense_conv(w, (2, 7, 7), 2, 1)
    # 2x2 average pooling (stride 2) of the 3x4x4 conv output, written out by hand
    mpool = np.zeros((c * 2 * 2, c * ho * wo))
    for ch in range(c):
        for py in range(2):
            for px in range(2):
                for dy in range(2):
                    for dx in range(2):
                        mpool[(ch * 2 + py) * 2 + px, (ch * ho + 2 * py + dy) * wo + 2 * px + dx] = 0.25
    neuron = ir.IF(12, v_threshold=1.0, reset="subtract")
    fancy = ir.Network({"in": ir.Input((2, 7, 7)), "conv": conv, "pool": ir.AvgPool2d(2),
                        "flat": ir.Flatten(), "n": neuron},
                       ["in->conv", "conv->pool", "pool->flat", "flat->n"])
    plain = ir.Network({"in": ir.Input(98), "w": ir.Affine(mpool @ mconv, mpool @ np.repeat(bias, ho * wo)),
                        "n": neuron}, ["in->w", "w->n"])
    x = (rng.random((40, 2, 7, 7)) < 0.3).astype(float)
    mons = [StateMonitor("n", ["v"])]
    r1 = Simulator(fancy, dt=DT, rng=0, monitors=mons).run(40 * DT, inputs={"in": Frames(x)}, progress=False)
    r2 = Simulator(plain, dt=DT, rng=0, monitors=mons).run(
        40 * DT, inputs={"in": Frames(x.reshape(40, 98))}, progress=False)
    np.testing.assert_allclose(r1.state["n"]["v"], r2.state["n"]["v"], rtol=1e-12, atol=1e-12)
    assert len(r1.spikes["n"]) > 20
    # one synaptic stage: counted once, dense ops = conv MACs (pooling not counted)
    row = r1.counts.layers["conv+pool+flat"]
    assert row["dense_ac"] == 3 * 2 * 9 * 16 * 40
    with pytest.raises(NotImplementedError, match="MaxPool2d"):
        Simulator(ir.Network({"in": ir.Input((1, 4, 4)), "mp": ir.MaxPool2d(2), "f": ir.Flatten(),
                              "n": ir.IF(4)}, ["in->mp", "mp->f", "f->n"]), dt=DT, rng=0)


def test_dense_frame_delivery_equals_event_delivery():
    rng = np.random.default_rng(11)
    net = ir.Network({"in": ir.Input(30), "w": ir.Affine(rng.normal(0.2, 0.3, (20, 30))),
                      "h": ir.IF(20, v_threshold=1.0, reset="subtract"),
                      "s": ir.Sparse.from_dense(rng.normal(0.3, 0.3, (10, 30)) * (rng.random((10, 30)) < 0.3)),
                      "o": ir.LIF(10, tau=5 * ms, v_threshold=0.5)},
                     ["in->w", "w->h", "in->s", "s->o"])
    fr = (rng.random((60, 3, 30)) < 0.2).astype(float)
    st, b, i = np.nonzero(fr)
    mons = [StateMonitor("h"), StateMonitor("o")]
    r_dense = Simulator(net, dt=DT, rng=0, batch=3, monitors=mons).run(60 * DT, inputs={"in": Frames(fr)}, progress=False)
    r_ev = Simulator(net, dt=DT, rng=0, batch=3, monitors=mons).run(
        60 * DT, inputs={"in": SpikeTimes(st * DT, i, batch=b)}, progress=False)
    for node in ("h", "o"):
        np.testing.assert_allclose(r_dense.state[node]["v"], r_ev.state[node]["v"], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(r_dense.spikes[node].t, r_ev.spikes[node].t)
    for name in ("w", "s", "in"):
        assert r_dense.counts.layers[name] == r_ev.counts.layers[name], name
