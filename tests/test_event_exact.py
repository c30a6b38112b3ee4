"""Event engine against closed-form solutions: spike times to 1e-9 s, near-threshold peaks,
autonomous firing periods, exact delays and refractory periods, tie order."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from spikesim import ir
from spikesim.sim import Simulator, SpikeTimes

TOL = 1e-9


def _one(node, weights=None, delay=0.0, port=None, n_in=1):
    """Input(n_in) -> Sparse(one weight per channel, all to neuron 0) -> node."""
    nodes = {"in": ir.Input(n_in), "n": node}
    edges = []
    if weights is not None:
        w = np.asarray(weights, float).reshape(node.n, n_in)
        nodes["syn"] = ir.Sparse.from_dense(w, delay=delay)
        edges = ["in->syn", f"syn->n:{port}" if port else "syn->n"]
    return ir.Network(nodes, edges)


def _run(net, duration, times=(), idx=(), seed=0):
    sim = Simulator(net, engine="event", rng=seed)
    inputs = {"in": SpikeTimes(times=list(times), indices=list(idx))} if "in" in net.nodes else None
    return sim, sim.run(duration, inputs=inputs, progress=False)


# ----------------------------------------------------------------------------- CubaLIF peaks
def _psp_kernel(tm, ts):
    q = ts / (ts - tm)
    return lambda s: np.where(s > 0, q * (np.exp(-s / ts) - np.exp(-s / tm)), 0.0)


@pytest.mark.parametrize("ts", [5e-3, 3.1e-3])  # polynomial fast path / general path
@pytest.mark.parametrize("margin", [1e-6, -1e-6])
def test_cuba_peak_one_microvolt_above_or_below_threshold(ts, margin):
    tm = 20e-3
    vth = 15e-3
    K = _psp_kernel(tm, ts)
    t_in = np.array([0.010, 0.0135])
    w_rel = np.array([0.6, 1.0])

    def v(t, scale=1.0):
        return scale * float(np.sum(w_rel * K(t - t_in)))

    # the peak lies after the second input; locate it precisely on the closed form
    opt = minimize_scalar(lambda t: -v(t), bounds=(t_in[1], t_in[1] + 0.05), method="bounded",
                          options={"xatol": 1e-13})
    t_peak, v_peak = opt.x, v(opt.x)
    assert v(t_in[1]) < v_peak
    scale = (vth + margin) / v_peak
    node = ir.CubaLIF(1, tau_mem=tm, tau_syn=ts, v_leak=0.0, v_threshold=vth, v_reset=0.0)
    net = _one(node, weights=[w_rel * scale], n_in=2)
    _, res = _run(net, 0.1, times=t_in, idx=[0, 1])
    spikes = res.spikes["n"].t
    if margin > 0:
        t_cross = brentq(lambda t: v(t, scale) - vth, t_in[1], t_peak, xtol=1e-16, rtol=1e-15)
        assert spikes.size == 1
        assert abs(spikes[0] - t_cross) < TOL
    else:
        assert spikes.size == 0


@pytest.mark.parametrize("ts", [5e-3, 3.1e-3])
def test_cuba_single_input_spike_time_closed_form(ts):
    tm, vth = 20e-3, 1.0
    K = _psp_kernel(tm, ts)
    w = 12.0
    s_peak = np.log(tm / ts) * ts * tm / (tm - ts)
    node = ir.CubaLIF(1, tau_mem=tm, tau_syn=ts, v_leak=0.0, v_threshold=vth, v_reset=0.0,
                      refractory=50e-3)
    _, res = _run(_one(node, weights=[[w]]), 0.1, times=[0.02], idx=[0])
    t_cross = 0.02 + brentq(lambda s: w * K(s) - vth, 1e-9, s_peak, xtol=1e-16, rtol=1e-15)
    assert res.spikes["n"].t.size == 1
    assert abs(res.spikes["n"].t[0] - t_cross) < TOL


# ----------------------------------------------------------------------------- autonomous firing
def test_cuba_rest_above_threshold_fires_with_analytic_period():
    mV, ms = 1e-3, 1e-3
    node = ir.CubaLIF(1, tau_mem=20 * ms, tau_syn=(5 * ms, 10 * ms), ports=("exc", "inh"),
                      v_leak=-49 * mV, v_threshold=-50 * mV, v_reset=-60 * mV,
                      refractory=5 * ms, v_init=-60 * mV)
    _, res = _run(ir.Network({"n": node}, []), 1.0)
    t = res.spikes["n"].t
    isi = 20 * ms * np.log((-49 + 60) / (-49 + 50))
    expect = isi + np.arange(t.size) * (isi + 5 * ms)
    assert t.size == int((1.0 - isi) // (isi + 5 * ms)) + 1
    np.testing.assert_allclose(t, expect, atol=TOL, rtol=0)


def test_lif_bias_above_threshold_period():
    node = ir.LIF(3, tau=10e-3, v_leak=0.0, v_threshold=1.0, v_reset=0.0, bias=[1.1, 2.0, 0.9],
                  refractory=[0.0, 1e-3, 0.0])
    _, res = _run(ir.Network({"n": node}, []), 0.5)
    st = res.spikes["n"]
    assert np.sum(st.i == 2) == 0  # v_inf = 0.9 < threshold: never fires
    for i, (b, ref) in enumerate([(1.1, 0.0), (2.0, 1e-3)]):
        isi = 10e-3 * np.log(b / (b - 1.0))
        t = st.t[st.i == i]
        np.testing.assert_allclose(t, isi + np.arange(t.size) * (isi + ref), atol=TOL, rtol=0)
        assert t.size == int((0.5 - isi) // (isi + ref)) + 1


def test_if_bias_period_and_subtract_reset_double_spike():
    node = ir.IF(1, v_threshold=1.0, v_reset=0.0, bias=20.0, reset="subtract")
    net = _one(node, weights=[[2.5]])
    sim, res = _run(net, 0.2, times=[0.0123], idx=[0])
    t = res.spikes["n"].t
    # bias alone: a spike every 50 ms; at 0.0123 s the input (2.5) adds two spikes at once
    v_before = 20.0 * 0.0123
    assert np.sum(t == 0.0123) == 2
    later = t[t > 0.0123]
    first = 0.0123 + (1.0 - (v_before + 2.5 - 2.0)) / 20.0
    np.testing.assert_allclose(later, first + 0.05 * np.arange(later.size), atol=TOL, rtol=0)


# ----------------------------------------------------------------------------- delays, refractory
def test_delays_exact_along_a_chain():
    d1, d2 = 1.2345e-3, 0.7777e-3
    nodes = {"in": ir.Input(1), "a": ir.LIF(1, tau=0.02), "b": ir.LIF(1, tau=0.02),
             "s1": ir.Sparse(1, 1, [0, 1], [0], [2.0], delay=d1),
             "s2": ir.Sparse(1, 1, [0, 1], [0], [2.0], delay=d2)}
    net = ir.Network(nodes, ["in->s1", "s1->a", "a->s2", "s2->b"])
    _, res = _run(net, 0.1, times=[0.01], idx=[0])
    assert res.spikes["a"].t.tolist() == [0.01 + d1]
    assert res.spikes["b"].t.tolist() == [(0.01 + d1) + d2]


def test_refractory_drops_inputs_until_exactly_its_end():
    ref = 2e-3
    t0 = 0.01
    t_end_ref = t0 + ref
    node = ir.LIF(1, tau=0.02, v_threshold=1.0, v_reset=0.0, refractory=ref)
    net = _one(node, weights=[[1.5]])
    times = [t0, np.nextafter(t_end_ref, 0.0), t_end_ref, 0.02]
    _, res = _run(net, 0.05, times=times, idx=[0] * 4)
    # the input one ulp before the end is dropped, the one exactly at the end fires
    assert res.spikes["n"].t.tolist() == [t0, t_end_ref, 0.02]
    assert res.counts.total("synops_ac") == 4


def test_cuba_currents_integrate_during_refractory():
    tm, ts, ref = 20e-3, 5e-3, 4e-3
    node = ir.CubaLIF(1, tau_mem=tm, tau_syn=ts, v_leak=0.0, v_threshold=1.0, v_reset=0.0,
                      refractory=ref, v_init=2.0)  # fires at t = 0, refractory until 4 ms
    net = _one(node, weights=[[0.3]])
    sim, res = _run(net, 0.010, times=[0.001], idx=[0])
    assert res.spikes["n"].t.tolist() == [0.0]
    i_ref = 0.3 * np.exp(-(ref - 0.001) / ts)
    s = 0.010 - ref
    q = ts / (ts - tm)
    expect = q * i_ref * (np.exp(-s / ts) - np.exp(-s / tm))
    assert abs(sim.engine.state_at("n")[0, 0] - expect) < 1e-12


# ----------------------------------------------------------------------------- tie order
def test_tie_order_inputs_by_channel_then_deterministic():
    node = ir.LIF(1, tau=0.02, v_threshold=1.0, v_reset=0.0)
    # channel 0 (+1.2) is delivered before channel 1 (+0.5) at the same time: the neuron fires
    # on channel 0 and keeps 0.5 afterwards (the other order would fire on 1.7 and keep 0)
    net = _one(node, weights=[[1.2, 0.5]], n_in=2)
    sim, res = _run(net, 0.01, times=[0.005, 0.005], idx=[1, 0])
    assert res.spikes["n"].t.tolist() == [0.005]
    v = sim.engine.state_at("n", 0.005)[0, 0]
    assert v == pytest.approx(0.5, abs=1e-15)
    net2 = _one(node, weights=[[0.5, 1.2]], n_in=2)
    sim2, res2 = _run(net2, 0.01, times=[0.005, 0.005], idx=[0, 1])
    assert sim2.engine.state_at("n", 0.005)[0, 0] == pytest.approx(0.0, abs=1e-15)


def test_simultaneous_crossings_ordered_by_neuron_index():
    # two identical autonomous neurons reach threshold at the same instant. Neuron 0 (lower
    # index) is tested first and fires; its zero-delay inhibition to neuron 1 arrives at that
    # same instant and, as deliveries come before threshold tests, prevents neuron 1's spike.
    node = ir.LIF(2, tau=0.01, v_threshold=1.0, v_reset=0.0, bias=1.5, refractory=1e-3)
    syn = ir.Sparse(2, 2, [0, 1, 2], [1, 0], [-5.0, -5.0], delay=0.0)
    net = ir.Network({"n": node, "s": syn}, ["n->s", "s->n"])
    runs = [_run(net, 0.05)[1] for _ in range(2)]
    st = runs[0].spikes["n"]
    np.testing.assert_array_equal(runs[0].spikes["n"].t, runs[1].spikes["n"].t)
    np.testing.assert_array_equal(runs[0].spikes["n"].i, runs[1].spikes["n"].i)
    isi = 0.01 * np.log(1.5 / 0.5)
    first = np.abs(st.t - isi) < TOL
    assert first.sum() == 1 and st.i[first][0] == 0
