"""STDP in the event engine: exact at spike times (window, reference trajectories),
agreement with the clock engine as dt shrinks, bad input."""
import numpy as np
import pytest

from spikesim import ir, learn
from spikesim.sim import Simulator, SpikeTimes
from tests.naive_learn import tagged_synapse_net


def _probe(rule, n, w0=0.1):
    nodes = {"pre": ir.Input(n), "drive": ir.Input(1),
             "syn": ir.Sparse.from_dense(np.full((1, n), w0), plasticity=rule),
             "dsyn": ir.Sparse.from_dense(np.full((1, 1), 100.0)),
             "post": ir.LIF(1, tau=1e-3, v_threshold=50.0)}
    return ir.Network(nodes, [("pre", "syn"), ("syn", "post"), ("drive", "dsyn"), ("dsyn", "post")])


@pytest.mark.parametrize("rule", [
    learn.PairSTDP(a_plus=0.005, a_minus=0.006, tau_plus=0.0168, tau_minus=0.0337, w_max=0.2),
    learn.PairSTDP(a_plus=0.05, a_minus=0.05, w_max=0.2, weight_dependence="multiplicative",
                   pairing="nearest")], ids=["additive", "mult-nearest"])
def test_event_window_is_exact(rule):
    """Off-grid pair timings: the event engine gives the analytic window (to rounding)."""
    rng = np.random.default_rng(1)
    deltas = np.sort(rng.uniform(-0.08, 0.08, 25))
    t_post = 0.1
    sim = Simulator(_probe(rule, deltas.size), engine="event", rng=0)
    res = sim.run(0.3, inputs={"pre": SpikeTimes(t_post - deltas, np.arange(deltas.size)),
                               "drive": SpikeTimes([t_post], [0])}, progress=False)
    assert np.allclose(res.spikes["post"].t, [t_post])
    dw = learn.weights(sim, "syn") - 0.1
    if rule.weight_dependence == "additive":
        np.testing.assert_allclose(dw, rule.window(deltas), rtol=1e-9, atol=1e-15)
    else:
        f = np.where(deltas > 0, 0.2 - 0.1, 0.1)
        np.testing.assert_allclose(dw, rule.window(deltas) * f, rtol=1e-9, atol=1e-15)


def test_event_matches_reference_on_its_own_spikes():
    """Random feed-forward network: every synapse equals the continuous-time reference on
    the engine's spikes (post spikes caused by an input at the same time count as after it)."""
    rule = learn.TripletSTDP.published("visual_all_to_all", w_max=0.5)
    rng = np.random.default_rng(0)
    n_in, n_out, T = 30, 5, 1.0
    W = rng.uniform(0.1, 0.4, (n_out, n_in)) * (rng.random((n_out, n_in)) < 0.5)
    net = ir.Network({"in": ir.Input(n_in), "syn": ir.Sparse.from_dense(W, plasticity=rule),
                      "out": ir.LIF(n_out, tau=0.02)}, [("in", "syn"), ("syn", "out")])
    nsp = rng.poisson(20 * T * n_in)
    t, i = np.sort(rng.uniform(0, T, nsp)), rng.integers(0, n_in, nsp)
    sim = Simulator(net, engine="event", rng=0)
    res = sim.run(T, inputs={"in": SpikeTimes(t, i)}, progress=False)
    st = res.spikes["out"]
    assert len(st) > 20
    sp = net["syn"]
    pre = np.repeat(np.arange(n_in), np.diff(sp.indptr))
    ref = np.array([learn.stdp_final_weight(t[i == pre[k]], st.t[st.i == sp.indices[k]] + 1e-12,
                                            rule, sp.weight[k]) for k in range(sp.nnz)])
    got = learn.weights(sim, "syn")
    assert np.abs(got - sp.weight).max() > 1e-3
    np.testing.assert_allclose(got, ref, atol=1e-9)


def test_clock_converges_to_event_engine():
    from spikesim.learn.experiments import engines_agree

    r = engines_agree(dts=(1e-3, 1e-4, 1e-5), duration=1.0, n_in=30, n_out=5)
    d = r["mean_abs_diff"]
    assert r["weight_change_event"] > 0.01  # the weights did learn
    # floor measured during development: 1 ms -> 10 us shrinks the mean difference >= 3x
    assert d[2] < d[0] / 3
    assert abs(r["clock_spikes"][-1] - r["event_spikes"]) <= 0.01 * r["event_spikes"] + 2


def test_event_engine_bad_input():
    rew = ir.Network({"pre": ir.Input(2),
                      "syn": ir.Sparse.from_dense(np.full((1, 2), 0.1), plasticity=learn.RewardSTDP()),
                      "post": ir.LIF(1)}, [("pre", "syn"), ("syn", "post")])
    sim = Simulator(rew, engine="event", rng=0)
    with pytest.raises(TypeError, match=r"inputs\['syn'\].*Reward\(times, amounts\)"):
        sim.run(0.1, inputs={"syn": np.zeros(1000)}, progress=False)
    with pytest.raises(ValueError, match="not RewardSTDP"):
        Simulator(_probe(learn.PairSTDP(), 1), engine="event", rng=0).run(
            0.1, inputs={"syn": learn.Reward([0.05])}, progress=False)


def test_event_reward_stdp_is_exact(tmp_path):
    """One causal pair (10 ms) tags the synapse, rewards at 1.11 s and 1.61 s (off any
    grid): the weight equals the closed form of the integral of c(t) d(t) to rounding,
    also when the run is split in two with the state saved in between."""
    rule = learn.RewardSTDP(a_plus=1.0, a_minus=1.5, tau_c=1.0, tau_d=0.2, w_min=0, w_max=10)
    t_pre, t_post, T = 0.1, 0.11, 3.0
    rew = learn.Reward([1.11, 1.61], [0.5, -0.2])
    stim = {"pre": SpikeTimes([t_pre], [0]), "drive": SpikeTimes([t_post], [0]), "syn": rew}
    sim = Simulator(tagged_synapse_net(rule), engine="event", rng=0)
    res = sim.run(T, inputs=stim, progress=False)
    np.testing.assert_allclose(res.spikes["post"].t, [t_post])
    kc, kd = 1 / rule.tau_c, 1 / rule.tau_d
    k = kc + kd

    def c(t):
        return np.exp(-(t_post - t_pre) / rule.tau_plus) * np.exp(-(t - t_post) * kc)

    # d(t) = 0.5 e^{-(t - 1.11) kd} from 1.11 s, minus 0.2 e^{-(t - 1.61) kd} from 1.61 s
    expect = 0.0
    for tr, a in ((1.11, 0.5), (1.61, -0.2)):
        expect += c(tr) * a * (1 - np.exp(-(T - tr) * k)) / k
    got = learn.weights(sim, "syn")[0] - 1.0
    assert got == pytest.approx(expect, rel=1e-12)
    # the same in two runs (split between the rewards), through save/load of the state
    a = Simulator(tagged_synapse_net(rule), engine="event", rng=0)
    a.run(1.3, inputs=stim, progress=False)
    a.save_state(tmp_path / "st.npz")
    b = Simulator(tagged_synapse_net(rule), engine="event", rng=0)
    b.load_state(tmp_path / "st.npz")
    b.run(T - 1.3, inputs=stim, progress=False)
    assert learn.weights(b, "syn")[0] - 1.0 == pytest.approx(expect, rel=1e-12)


def test_event_reward_stdp_clock_converges():
    """Random feed-forward network under R-STDP with rewards: the clock engine's weights
    approach the event engine's as dt shrinks."""
    rule = learn.RewardSTDP(a_plus=0.5, a_minus=0.6, tau_c=0.5, tau_d=0.2, w_min=0.0,
                            w_max=0.6)
    rng = np.random.default_rng(3)
    n_in, n_out, T = 20, 4, 2.0
    W = rng.uniform(0.1, 0.4, (n_out, n_in))
    net = ir.Network({"in": ir.Input(n_in), "syn": ir.Sparse.from_dense(W, plasticity=rule),
                      "out": ir.LIF(n_out, tau=0.02)}, [("in", "syn"), ("syn", "out")])
    nsp = rng.poisson(15 * T * n_in)
    t, i = np.sort(rng.uniform(0, T, nsp)), rng.integers(0, n_in, nsp)
    rew = learn.Reward(np.sort(rng.uniform(0, T, 12)), rng.uniform(-0.5, 1.0, 12))
    ev = Simulator(net, engine="event", rng=0)
    res = ev.run(T, inputs={"in": SpikeTimes(t, i), "syn": rew}, progress=False)
    assert len(res.spikes["out"]) > 20
    w_ev = learn.weights(ev, "syn")
    assert np.abs(w_ev - net["syn"].weight).max() > 0.02  # the rewards changed weights
    diffs = []
    for dt in (1e-3, 1e-4, 1e-5):
        cl = Simulator(net, dt=dt, rng=0)
        cl.run(T, inputs={"in": SpikeTimes(t, i), "syn": rew}, progress=False)
        diffs.append(np.abs(learn.weights(cl, "syn") - w_ev).mean())
    # measured during development: the mean difference falls at least 3x from 1 ms to 10 us
    assert diffs[2] < diffs[0] / 3 and diffs[1] < diffs[0]


def test_event_reward_stdp_tonic_level_and_bounds():
    """A tonic reward level (d_tonic) and a negative reward: c (d + d_tonic) changes sign
    after the reward, and the weight meets w_max first. The event engine equals a fine
    step-by-step integration with clipping at every step (an independent reference)."""
    rule = learn.RewardSTDP(a_plus=1.0, a_minus=1.5, tau_c=1.0, tau_d=0.2, w_min=0.0,
                            w_max=1.01, d_tonic=0.05)
    T, t_post, t_r = 3.0, 0.11, 1.0
    stim = {"pre": SpikeTimes([0.1], [0]), "drive": SpikeTimes([t_post], [0]),
            "syn": learn.Reward([t_r], [-0.5])}
    sim = Simulator(tagged_synapse_net(rule), engine="event", rng=0)
    sim.run(T, inputs=stim, progress=False)
    h = 1e-5
    s = t_post + (np.arange(int(round((T - t_post) / h))) + 0.5) * h  # midpoints
    c = np.exp(-0.01 / rule.tau_plus) * np.exp(-(s - t_post) / rule.tau_c)
    d = rule.d_tonic + np.where(s > t_r, -0.5 * np.exp(-(s - t_r) / rule.tau_d), 0.0)
    w, hit = 1.0, False
    for inc in c * d * h:
        w = min(max(w + inc, rule.w_min), rule.w_max)
        hit |= w == rule.w_max
    assert hit and w < rule.w_max - 0.005  # the bound was met, then left
    assert learn.weights(sim, "syn")[0] == pytest.approx(w, abs=2e-6)
    # and the clock engine with the same rule (the per-step naive twin checks it exactly)
    cl = Simulator(tagged_synapse_net(rule), dt=1e-4, rng=0)
    cl.run(T, inputs=stim, progress=False)
    assert learn.weights(cl, "syn")[0] == pytest.approx(w, abs=2e-3)


def test_event_weight_monitor_snapshots_are_exact():
    """WeightMonitor(period=...) on the event engine: snapshots at the multiples of the
    period from the simulator's start, across runs; each equals the weights of a separate
    run that stops there (reward synapses included: brought to the snapshot time)."""
    net = tagged_synapse_net(learn.RewardSTDP(a_plus=1.0, a_minus=1.5, w_min=0, w_max=10))
    stim = {"pre": SpikeTimes([0.1], [0]), "drive": SpikeTimes([0.11], [0]),
            "syn": learn.Reward([0.5], [0.5])}
    mon = learn.WeightMonitor("syn", period=0.25)
    sim = Simulator(net, engine="event", rng=0, monitors=[mon])
    r1 = sim.run(0.6, inputs=stim, progress=False)
    r2 = sim.run(0.4, inputs=stim, progress=False)
    t1, w1 = learn.weight_history(r1, "syn")
    t2, w2 = learn.weight_history(r2, "syn")
    np.testing.assert_allclose(np.concatenate([t1, t2]), [0.25, 0.5, 0.75, 1.0])
    for t, w in zip(np.concatenate([t1, t2]), np.concatenate([w1, w2])):
        ref = Simulator(net, engine="event", rng=0)
        ref.run(t, inputs=stim, progress=False)
        # equal up to the rounding of the reward integral, split at the snapshot here
        np.testing.assert_allclose(w, learn.weights(ref, "syn"), rtol=1e-14)
    # the reward at 0.5 s is an event at 0.5 s: after the snapshot at 0.5 s
    assert w2[-1][0] > w2[0][0] > w1[1][0] == w1[0][0] == 1.0
    # 3 * 0.1 rounds above 0.3: the snapshot is at the end of the run, and an input spike at
    # 0.3 s is not delivered twice
    pnet = _probe(learn.PairSTDP(w_max=1.0), 1)
    sim = Simulator(pnet, engine="event", rng=0,
                    monitors=[learn.WeightMonitor("syn", period=0.1)])
    stim = {"pre": SpikeTimes([0.3], [0]), "drive": SpikeTimes([0.35], [0])}
    r1 = sim.run(0.3, inputs=stim, progress=False)
    r2 = sim.run(0.1, inputs=stim, progress=False)
    np.testing.assert_allclose(learn.weight_history(r1, "syn")[0], [0.1, 0.2, 0.3])
    assert learn.weight_history(r1, "syn")[0][-1] <= 0.3
    assert r1.counts.total("synops_ac") + r2.counts.total("synops_ac") == 2


def test_weight_monitor_period_on_both_engines_and_bad_input():
    """``period`` works on both engines (clock: a whole number of steps): the snapshot at
    0.1 s equals the weights of a run that stops there."""
    rule = learn.PairSTDP(a_plus=0.01, a_minus=0.0105, w_max=0.2)
    net = _probe(rule, 5)
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 0.2, 100))
    stim = {"pre": SpikeTimes(t, rng.integers(0, 5, t.size)),
            "drive": SpikeTimes(np.arange(0.013, 0.2, 0.02), np.zeros(10, np.int64))}
    for engine, kw in (("clock", {"dt": 1e-4}), ("event", {})):
        sim = Simulator(net, engine=engine, rng=0, **kw,
                        monitors=[learn.WeightMonitor("syn", period=0.05, index=[0, 3])])
        t, w = learn.weight_history(sim.run(0.2, inputs=stim, progress=False), "syn")
        np.testing.assert_allclose(t, [0.05, 0.1, 0.15, 0.2])
        assert w.shape == (4, 2) and np.abs(w[-1] - w[0]).max() > 1e-3
        ref = Simulator(net, engine=engine, rng=0, **kw)
        ref.run(0.1, inputs=stim, progress=False)
        np.testing.assert_array_equal(w[1], learn.weights(ref, "syn")[[0, 3]])
    with pytest.raises(ValueError, match="WeightMonitor.period: the event engine has no steps"):
        Simulator(net, engine="event", monitors=[learn.WeightMonitor("syn", every=10)])
    with pytest.raises(ValueError, match="WeightMonitor.period: 0.00015 s is not a whole number"):
        Simulator(net, dt=1e-4, monitors=[learn.WeightMonitor("syn", period=1.5e-4)])
    with pytest.raises(ValueError, match="WeightMonitor.period: must be a finite number"):
        learn.WeightMonitor("syn", period=-1.0)
    with pytest.raises(ValueError, match="not a Sparse projection"):
        Simulator(net, engine="event", monitors=[learn.WeightMonitor("post", period=0.1)])
