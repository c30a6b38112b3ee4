"""CobaLIF threshold adaptation and firing block (Diehl and Cook 2015's neuron) in the clock
engine: a hand-computed case, the naive twin, the plastic kernels, and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

from spikesim import ir
from spikesim.sim import Simulator, SpikeTimes, StateMonitor
from spikesim.units import mV, ms

from naive_clock import simulate as naive_simulate

DT = 0.1 * ms


def test_fire_block_hand_computed():
    """Constant drive v_inf = 3 > threshold 1: with refractory 2 ms alone the period is
    20 held steps + 41 steps to climb from 0 to 1 (tau ln(3/2) = 4.05 ms); with a 10 ms
    firing block the membrane climbs past threshold during the block (no spike) and the
    neuron fires in the first step after it: period 101 steps."""
    tau, bias = 10 * ms, 3.0
    kw = dict(tau_mem=tau, tau_syn=1 * ms, e_rev=0.0, v_leak=0.0, v_threshold=1.0,
              v_reset=0.0, bias=bias, refractory=2 * ms)
    n_cross = math.ceil(tau * math.log(bias / (bias - 1.0)) / DT - 1e-12)
    plain = Simulator(ir.Network({"p": ir.CobaLIF(1, **kw)}, []), dt=DT, rng=0)
    res = plain.run(0.1, progress=False)
    assert np.allclose(np.diff(res.spikes["p"].t), (20 + n_cross) * DT)
    sim = Simulator(ir.Network({"p": ir.CobaLIF(1, fire_block=10 * ms, **kw)}, []), dt=DT,
                    rng=0, monitors=[StateMonitor("p", ["v"])])
    res = sim.run(0.1, progress=False)
    t = res.spikes["p"].t
    assert len(t) >= 5
    assert np.allclose(np.diff(t), 101 * DT)
    # between spikes: held at 0 for 20 steps, then the closed form from 0, above threshold
    # long before the block ends
    s0 = int(round(t[0] / DT)) - 1                  # step of the first spike
    v = res.state["p"]["v"][:, 0, 0]                # v after steps 0, 1, ...
    np.testing.assert_array_equal(v[s0:s0 + 21], 0.0)
    m = np.arange(1, 81)
    np.testing.assert_allclose(v[s0 + 21:s0 + 101], bias * (1 - np.exp(-m * DT / tau)),
                               rtol=1e-12)
    assert v[s0 + 100] > 1.6 and v[s0 + 101] == 0.0


def test_adaptive_threshold_hand_computed():
    """a jumps by delta_threshold at each spike and decays with tau_adapt in between."""
    node = ir.CobaLIF(1, tau_mem=10 * ms, tau_syn=1 * ms, v_leak=0.0, v_threshold=1.0,
                      v_reset=0.0, bias=3.0, tau_adapt=20 * ms, delta_threshold=0.1)
    assert node.adaptive and not ir.CobaLIF(1).adaptive
    sim = Simulator(ir.Network({"p": node}, []), dt=DT, rng=0,
                    monitors=[StateMonitor("p", ["a"])])
    res = sim.run(0.05, progress=False)
    steps = np.rint(res.spikes["p"].t / DT).astype(int) - 1
    assert len(steps) >= 3
    a = np.zeros(len(res.state_t))
    cur = 0.0
    k = 0
    for n in range(len(a)):
        cur *= math.exp(-DT / (20 * ms))
        if k < len(steps) and steps[k] == n:
            cur += 0.1
            k += 1
        a[n] = cur
    np.testing.assert_allclose(res.state["p"]["a"][:, 0, 0], a, rtol=1e-12, atol=1e-15)
    # the intervals grow as the threshold rises
    assert np.all(np.diff(np.diff(steps)) >= 0) and steps[-1] - steps[-2] > steps[1] - steps[0]


@pytest.mark.parametrize("kind", ["CobaLIF", "AdaptiveLIF"])
def test_a_init_first_spike_analytic(kind):
    """A neuron at rest (-65 mV) under a threshold of -72 mV + a, a starting at a_init =
    20 mV and decaying with tau_adapt (no increments), fires when the threshold passes the
    rest: t = tau_adapt ln(20/7) (Diehl and Cook's theta offset, on a short clock). After
    the spike a keeps decaying and the neuron fires at every step it is not refractory;
    Simulator.reset brings a back to a_init."""
    tau_a = 50 * ms
    kw = dict(v_leak=-65 * mV, v_reset=-65 * mV, v_threshold=-72 * mV, refractory=1 * ms,
              tau_adapt=tau_a, a_init=20 * mV)
    node = (ir.CobaLIF(1, tau_mem=100 * ms, **kw) if kind == "CobaLIF"
            else ir.AdaptiveLIF(1, tau=100 * ms, **kw))
    sim = Simulator(ir.Network({"p": node}, []), dt=DT, rng=0,
                    monitors=[StateMonitor("p", ["a"])])
    for _ in range(2):
        res = sim.run(0.06, progress=False)
        t = res.spikes["p"].t
        first = math.ceil(tau_a * math.log(20 / 7) / DT - 1e-9) * DT
        assert len(t) > 1 and t[0] == pytest.approx(first, abs=1e-12)
        np.testing.assert_allclose(np.diff(t), 11 * DT)  # 10 held steps, then fires again
        a = res.state["p"]["a"][:, 0, 0]
        np.testing.assert_allclose(a, 20 * mV * np.exp(-np.arange(1, a.size + 1) * DT / tau_a),
                                   rtol=1e-9)
        sim.reset()
    # without a_init the same neuron never fires (rest -65 mV above threshold -72 mV would
    # fire at once): a_init is what holds it
    plain = dict(kw, a_init=0.0)
    node0 = (ir.CobaLIF(1, tau_mem=100 * ms, **plain) if kind == "CobaLIF"
             else ir.AdaptiveLIF(1, tau=100 * ms, **plain))
    t0 = Simulator(ir.Network({"p": node0}, []), dt=DT, rng=0).run(
        0.01, progress=False).spikes["p"].t
    assert t0[0] == pytest.approx(DT)


def dc_net(rng, n=6):
    """Input -> excitatory CobaLIF (adaptive, blocked, per-neuron parameters) -> one-to-one
    inhibitory CobaLIF -> lateral inhibition: Diehl and Cook's motif, small."""
    exc = ir.CobaLIF(n, tau_mem=rng.uniform(20, 40, n) * ms, tau_syn=(1 * ms, 2 * ms),
                     e_rev=(0.0, -100 * mV), ports=("e", "i"), v_leak=-65 * mV,
                     v_threshold=-52 * mV, v_reset=-65 * mV, refractory=0.5 * ms,
                     fire_block=rng.choice([0.0, 0.5, 2.0, 5.0], n) * ms, tau_adapt=30 * ms,
                     delta_threshold=rng.uniform(0.5, 2.0, n) * mV,
                     a_init=rng.uniform(-1.0, 3.0, n) * mV)
    inh = ir.CobaLIF(n, tau_mem=10 * ms, tau_syn=(1 * ms, 2 * ms), e_rev=(0.0, -85 * mV),
                     ports=("e", "i"), v_leak=-60 * mV, v_threshold=-40 * mV, v_reset=-45 * mV,
                     refractory=0.2 * ms)
    w_in = rng.uniform(0.0, 2.0, (n, 8))
    nodes = {"in": ir.Input(8), "w_in": ir.Sparse.from_dense(w_in), "exc": exc,
             "w_ei": ir.Sparse.from_dense(np.eye(n) * 10.4), "inh": inh,
             "w_ie": ir.Sparse.from_dense(2.0 * (1 - np.eye(n)))}
    edges = ["in->w_in", "w_in->exc:e", "exc->w_ei", "w_ei->inh:e", "inh->w_ie", "w_ie->exc:i"]
    return ir.Network(nodes, edges)


@pytest.mark.parametrize("seed", [0, 1])
def test_block_and_adaptation_match_naive_twin(seed):
    rng = np.random.default_rng(seed)
    net = dc_net(rng)
    steps = 400
    ev_rng = np.random.default_rng(seed + 10)
    st = np.sort(ev_rng.integers(0, steps, 600))
    idx = ev_rng.integers(0, 8, 600)
    sim = Simulator(net, dt=DT, rng=0, monitors=[StateMonitor(n, ["v", "a"])
                                                 for n in net.names("neuron")])
    res = sim.run(steps * DT, inputs={"in": SpikeTimes(st * DT, idx)}, progress=False)
    pairs = {}
    for s_, i_ in zip(st, idx):
        pairs[(s_, i_)] = pairs.get((s_, i_), 0.0) + 1.0
    spikes, vtr = naive_simulate(net, DT, steps, {"in": [(s, i, v) for (s, i), v in pairs.items()]})
    for name in net.names("neuron"):
        np.testing.assert_allclose(res.state[name]["v"][:, 0, :], vtr[name], rtol=1e-9,
                                   atol=1e-12)
        got = sorted(zip(np.rint(res.spikes[name].t / DT).astype(int) - 1,
                         res.spikes[name].i.tolist()))
        assert got == sorted(spikes[name]), name
    # the block matters here: some blocked neuron's membrane crossed threshold while blocked
    exc = res.spikes["exc"]
    assert len(exc.t) > 20
    blocked = net["exc"].fire_block >= 2 * ms
    isi = [np.diff(exc.t[exc.i == j]) for j in np.flatnonzero(blocked)]
    assert all(np.all(d >= net["exc"].fire_block[j] - 1e-12) for d, j in
               zip(isi, np.flatnonzero(blocked)))


def test_block_in_plastic_network():
    """The plastic kernels share the neuron update: the block holds there too."""
    from spikesim import learn

    rule = learn.PairSTDP(a_plus=0.01, a_minus=0.012, tau_plus=20 * ms, tau_minus=20 * ms,
                          w_max=3.0)
    node = ir.CobaLIF(2, tau_mem=10 * ms, tau_syn=1 * ms, e_rev=3.0, v_leak=0.0, v_threshold=1.0,
                      v_reset=0.0, refractory=1 * ms, fire_block=[0.0, 8 * ms])
    net = ir.Network({"in": ir.Input(1), "w": ir.Sparse(1, 2, indptr=[0, 2], indices=[0, 1],
                                                       weight=[2.0, 2.0], plasticity=rule),
                      "p": node}, ["in->w", "w->p"])
    sim = Simulator(net, dt=DT, rng=0)
    t_in = np.arange(0, 0.1, 0.5 * ms)
    res = sim.run(0.1, inputs={"in": SpikeTimes(t_in, np.zeros(t_in.size, int))}, progress=False)
    sp = res.spikes["p"]
    isi0, isi1 = np.diff(sp.t[sp.i == 0]), np.diff(sp.t[sp.i == 1])
    assert isi0.size > 10 and isi0.min() < 8 * ms
    assert isi1.size > 3 and isi1.min() >= 8 * ms - 1e-12


def test_bad_fire_block_and_adaptation():
    with pytest.raises(ValueError, match="fire_block.*>= refractory"):
        ir.CobaLIF(2, refractory=5 * ms, fire_block=1 * ms)
    with pytest.raises(ValueError, match="fire_block.*>= 0"):
        ir.CobaLIF(2, fire_block=-1.0)
    with pytest.raises(ValueError, match="tau_adapt.*> 0"):
        ir.CobaLIF(2, tau_adapt=0.0)
    with pytest.raises(ValueError, match="delta_threshold.*>= 0"):
        ir.CobaLIF(2, delta_threshold=-0.1)
    with pytest.raises(ValueError, match="CobaLIF.a_init.*finite"):
        ir.CobaLIF(2, a_init=float("nan"))
    with pytest.raises(ValueError, match="AdaptiveLIF.a_init: shape"):
        ir.AdaptiveLIF(2, a_init=[0.0, 1.0, 2.0])
    from spikesim import learn
    with pytest.raises(ValueError, match="AdaptiveThreshold.theta_init.*finite"):
        learn.AdaptiveThreshold(theta_init=float("inf"))
    net = ir.Network({"p": ir.CobaLIF(2, fire_block=5 * ms, refractory=1 * ms)}, [])
    with pytest.raises(NotImplementedError, match="CobaLIF.*clock engine"):
        Simulator(net, engine="event", rng=0)


def test_cobalif_round_trip_keeps_new_fields(tmp_path):
    node = ir.CobaLIF(3, refractory=1 * ms, fire_block=[0.0, 2 * ms, 5 * ms], tau_adapt=1e4,
                      delta_threshold=0.05 * mV, a_init=[20 * mV, 0.0, -1 * mV])
    net = ir.Network({"p": node}, [])
    ir.save(net, tmp_path / "n.npz")
    back = ir.load(tmp_path / "n.npz")
    assert back["p"] == node


def test_with_homeostasis_on_cobalif():
    from spikesim import learn

    base = ir.CobaLIF(3, tau_mem=100 * ms, refractory=5 * ms, fire_block=50 * ms)
    net = ir.Network({"p": base}, [])
    got = learn.with_homeostasis(net, "p", learn.AdaptiveThreshold(0.05 * mV, 1e4))["p"]
    assert isinstance(got, ir.CobaLIF) and got.adaptive
    assert got == ir.CobaLIF(3, tau_mem=100 * ms, refractory=5 * ms, fire_block=50 * ms,
                             tau_adapt=1e4, delta_threshold=0.05 * mV)
    got = learn.with_homeostasis(net, "p", learn.AdaptiveThreshold(0.05 * mV, 1e4,
                                                                   theta_init=20 * mV))["p"]
    assert got.a_init == 20 * mV
    lif = learn.with_homeostasis(ir.Network({"p": ir.LIF(2)}, []), "p",
                                 learn.AdaptiveThreshold(theta_init=-1 * mV))["p"]
    assert isinstance(lif, ir.AdaptiveLIF) and lif.a_init == -1 * mV
    with pytest.raises(TypeError, match="LIF and CobaLIF"):
        learn.with_homeostasis(ir.Network({"p": ir.CubaLIF(2)}, []), "p",
                               learn.AdaptiveThreshold())


@pytest.mark.parametrize("kind", ["CobaLIF", "CubaLIF"])
def test_quiet_conductance_decays_to_zero(kind):
    """A conductance (or current) that stops receiving input reaches exactly 0 instead of
    sticking at the smallest subnormal (5e-324 times a decay factor above 1/2 rounds back
    to 5e-324, and subnormal arithmetic is many times slower); until then it follows the
    exact exponential decay, and the membrane matches the naive twin."""
    tau_s = 1 * ms
    if kind == "CobaLIF":
        node = ir.CobaLIF(1, tau_mem=100 * ms, tau_syn=tau_s, e_rev=0.0, v_leak=-65 * mV,
                          v_threshold=-52 * mV, v_reset=-65 * mV)
    else:
        node = ir.CubaLIF(1, tau_mem=100 * ms, tau_syn=tau_s, v_leak=-65 * mV,
                          v_threshold=-52 * mV, v_reset=-65 * mV)
    net = ir.Network({"in": ir.Input(1), "w": ir.Sparse.from_dense(np.array([[0.5]])),
                      "p": node}, ["in->w", "w->p"])
    dt = 0.5 * ms
    steps = 2000  # 1 s: exp(-1000) underflows
    sim = Simulator(net, dt=dt, rng=0, monitors=[StateMonitor("p", ["v", "I"])])
    res = sim.run(steps * dt, inputs={"in": SpikeTimes([0.25 * ms], [0])}, progress=False)
    g = res.state["p"]["I"][:, 0, 0]
    assert g[-1] == 0.0 and np.all(g[g != 0] >= 1e-300)
    k = np.arange(1, 400)  # the exact decay while far from underflow
    np.testing.assert_allclose(g[k], 0.5 * np.exp(-k * dt / tau_s), rtol=1e-12)
    _, vtr = naive_simulate(net, dt, steps, {"in": [(0, 0, 1.0)]})
    np.testing.assert_allclose(res.state["p"]["v"][:, 0, 0], vtr["p"][:, 0], rtol=1e-12,
                               atol=1e-15)
