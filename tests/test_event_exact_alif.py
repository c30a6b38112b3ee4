"""AdaptiveLIF (threshold adaptation, Diehl and Cook homeostasis) in the exact event engine:
closed-form spike times, the adaptation read back against its closed form, convergence of
the clock engine, homeostasis with STDP. (The kernel against its naive twin, with random
inputs, inhibition and both reset modes: ``test_event_engine.py``.) The file sorts after
``test_event_bench.py``, whose benchmark smoke test (limit 60 s) pays the event engine's
cold compile, so these unit tests stay short."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from spikesim import ir, learn
from spikesim.sim import Simulator, SpikeTimes

TOL = 1e-9


def _reference_spikes(tm, ta, vth, vr, bias, delta, a0, refr, T):
    """Spike times of one AdaptiveLIF driven by a constant bias (v_leak 0, r 1, v from 0):
    each interspike interval is the first root of ``v(s) - v_th - a(s)`` (closed forms of
    both), bracketed on a fine grid and refined by brentq."""
    t, v, a, out = 0.0, 0.0, a0, []
    grid = np.linspace(0.0, T, 200001)[1:]
    while True:
        def f(s, v=v, a=a):
            return bias + (v - bias) * np.exp(-s / tm) - vth - a * np.exp(-s / ta)

        hit = np.flatnonzero(f(grid) >= 0)
        if not hit.size:
            return np.array(out)
        k = hit[0]
        s = brentq(f, grid[k - 1] if k else 0.0, grid[k], xtol=1e-16, rtol=1e-15)
        t += s
        if t >= T:
            return np.array(out)
        out.append(t)
        a = a * np.exp(-s / ta) + delta
        v = vr
        if refr > 0:
            a *= np.exp(-refr / ta)
            t += refr


@pytest.mark.parametrize("ta", [0.1, 0.02, 0.005])  # slower than, equal to, faster than tau
@pytest.mark.parametrize("refr", [0.0, 2e-3])
def test_adaptive_lif_bias_spike_times_closed_form(ta, refr):
    tm, vth, bias, delta, a0 = 0.02, 1.0, 1.5, 0.2, 0.1
    node = ir.AdaptiveLIF(1, tau=tm, tau_adapt=ta, delta_threshold=delta, v_threshold=vth,
                          v_reset=0.0, bias=bias, a_init=a0, refractory=refr)
    sim = Simulator(ir.Network({"n": node}, []), engine="event", rng=0)
    t = sim.run(0.5, progress=False).spikes["n"].t
    ref = _reference_spikes(tm, ta, vth, 0.0, bias, delta, a0, refr, 0.5)
    assert t.size == ref.size > 5
    np.testing.assert_allclose(t, ref, atol=TOL, rtol=0)


def _layer(n_in=200, n=20, seed=0, reset="value"):
    rng = np.random.default_rng(seed)
    node = ir.AdaptiveLIF(n, tau=0.02, tau_adapt=rng.uniform(0.03, 0.3, n),
                          delta_threshold=0.3, v_threshold=1.0, v_reset=0.0, reset=reset,
                          refractory=0.001, a_init=rng.uniform(0.0, 0.5, n))
    w = rng.uniform(-0.05, 0.15, (n, n_in))
    return ir.Network({"in": ir.Input(n_in), "w": ir.Sparse.from_dense(w), "n": node},
                      ["in->w", "w->n"])


def _poisson_times(n_in, rate, T, seed):
    rng = np.random.default_rng(seed)
    idx = np.repeat(np.arange(n_in), rng.poisson(rate * T, n_in))
    return SpikeTimes(times=rng.uniform(0, T, idx.size), indices=idx)


def test_adaptation_readback_equals_its_closed_form_from_the_spike_times():
    net = _layer()
    T = 0.5
    sim = Simulator(net, engine="event", rng=0)
    st = sim.run(T, inputs={"in": _poisson_times(200, 20.0, T, 1)}, progress=False).spikes["n"]
    assert len(st) > 100
    node = net["n"]
    delta = np.broadcast_to(node.delta_threshold, node.n)
    expect = node.a_init * np.exp(-T / node.tau_adapt)
    for t, i in zip(st.t, st.i):
        expect[i] += delta[i] * np.exp(-(T - t) / node.tau_adapt[i])
    np.testing.assert_allclose(sim.engine.state_at("n", var="a")[0], expect, rtol=1e-12,
                               atol=1e-15)
    # the membrane readback is below the adapted threshold
    assert np.all(sim.engine.state_at("n")[0] < node.v_threshold + expect)
    with pytest.raises(ValueError, match="var: 'w'.*allowed: 'v' or 'a'"):
        sim.engine.state_at("n", var="w")
    lif = Simulator(ir.Network({"m": ir.LIF(2)}, []), engine="event", rng=0)
    with pytest.raises(ValueError, match="var: 'a'.*LIF node 'm'.*allowed: 'v'"):
        lif.engine.state_at("m", var="a")


@pytest.mark.parametrize("reset", ["value", "subtract"])
def test_clock_engine_converges_to_the_event_engine(reset):
    from spikesim.benchmarks.sparse import spike_time_error

    net = _layer(reset=reset)
    T = 0.3
    inputs = {"in": _poisson_times(200, 20.0, T, 2)}
    ref = Simulator(net, engine="event", rng=0).run(T, inputs=inputs, progress=False)
    assert len(ref.spikes["n"]) > 50
    errs = []
    dts = (1e-4, 1e-5, 1e-6)
    for dt in dts:
        r = Simulator(net, dt=dt, rng=0).run(round(T / dt) * dt, inputs=inputs, progress=False)
        errs.append(spike_time_error(ref.spikes["n"], r.spikes["n"])[0])
    # first order in dt (the clock engine takes inputs and reports spikes per step); at a
    # given dt one spike near a grazing crossing can lag more (measured, value reset: mean
    # error 4.9e-4 / 8.9e-5 / 1.7e-6 s)
    assert errs[0] > errs[1] > errs[2] and errs[2] <= 2.5 * dts[2], errs


def test_homeostasis_with_stdp_runs_on_both_engines_and_they_agree():
    """Diehl and Cook's adaptive threshold (``learn.with_homeostasis`` on a LIF layer) with
    pair STDP on its input: the event engine runs it at exact spike times, and the clock
    engine's weights and adaptation approach it as dt shrinks."""
    rng = np.random.default_rng(3)
    n_in, n = 100, 10
    rule = learn.PairSTDP(a_plus=0.001, a_minus=0.00105, w_max=0.2)
    net = ir.Network({"in": ir.Input(n_in),
                      "w": ir.Sparse.from_dense(rng.uniform(0, 0.2, (n, n_in)), plasticity=rule),
                      "n": ir.LIF(n, tau=0.02, v_threshold=1.0, refractory=0.002)},
                     ["in->w", "w->n"])
    net = learn.with_homeostasis(net, "n", learn.AdaptiveThreshold(theta_plus=0.05,
                                                                  tau_theta=0.5))
    T = 1.0
    inputs = {"in": _poisson_times(n_in, 20.0, T, 4)}
    ev = Simulator(net, engine="event", rng=0)
    rev = ev.run(T, inputs=inputs, progress=False)
    w_ev = learn.weights(ev, "w")
    a_ev = ev.engine.state_at("n", var="a")[0]
    assert len(rev.spikes["n"]) > 100 and a_ev.min() > 0.05
    assert np.abs(w_ev - net["w"].weight).max() > 0.01  # it learned
    diffs = []
    for dt in (1e-4, 1e-5):
        ck = Simulator(net, dt=dt, rng=0)
        ck.run(round(T / dt) * dt, inputs=inputs, progress=False)
        a_ck = ck.engine.ath[0, ck.engine.offset["n"]:ck.engine.offset["n"] + n]
        diffs.append((np.abs(learn.weights(ck, "w") - w_ev).mean(), np.abs(a_ck - a_ev).max()))
    (w1, a1), (w2, a2) = diffs
    assert w2 < 0.2 * w1 and a2 < 0.2 * a1, diffs  # measured: 0.09x and 0.01x


def test_without_adaptation_it_is_a_lif():
    from test_event_engine import _inputs, random_net

    net = random_net(0, "lif")  # bias above threshold for some neurons, recurrent, delays
    lif = net["P"]
    nodes = dict(net.nodes)
    nodes["P"] = ir.AdaptiveLIF(lif.n, tau=lif.tau, tau_adapt=0.1, delta_threshold=0.0,
                                v_leak=lif.v_leak, v_threshold=lif.v_threshold,
                                v_reset=lif.v_reset, refractory=lif.refractory, bias=lif.bias,
                                reset=lif.reset)
    st = {"in": _inputs(0, n=200)}
    r1 = Simulator(net, engine="event", rng=0).run(0.3, inputs=st, progress=False).spikes["P"]
    r2 = Simulator(ir.Network(nodes, net.edges), engine="event", rng=0).run(
        0.3, inputs=st, progress=False).spikes["P"]
    assert len(r1) == len(r2) > 100
    np.testing.assert_array_equal(r2.i, r1.i)
    np.testing.assert_allclose(r2.t, r1.t, atol=TOL, rtol=0)  # measured: identical
