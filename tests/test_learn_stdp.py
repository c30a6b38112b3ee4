"""STDP in the clock engine: the window against the analytic curve, the naive twin, the
continuous-time reference, reward modulation, readback and saving."""
import numpy as np
import pytest

from spikesim import ir, learn
from spikesim.sim import Poisson, Simulator, SpikeTimes
from tests.naive_learn import naive_plastic_weights, tagged_synapse_net

DT = 1e-4


def _window_net(rule, deltas, w0=0.05):
    """One post neuron driven to fire once; pre channel k spikes deltas[k] before it."""
    n = len(deltas)
    nodes = {"pre": ir.Input(n), "drive": ir.Input(1),
             "syn": ir.Sparse.from_dense(np.full((1, n), w0), plasticity=rule),
             "post": ir.LIF(1, tau=1e-3, v_threshold=1.0)}
    return ir.Network(nodes, [("pre", "syn"), ("syn", "post"), ("drive", "post")])


def _window_run(rule, deltas, t_post=0.2, w0=0.05):
    net = _window_net(rule, deltas, w0)
    sim = Simulator(net, dt=DT, rng=0)
    # the drive spike of step m makes the post neuron fire in step m + 1
    m_post = int(round(t_post / DT))
    pre_steps = m_post - np.rint(np.asarray(deltas) / DT).astype(np.int64)
    res = sim.run(0.45, inputs={"pre": SpikeTimes((pre_steps + 0.5) * DT, np.arange(len(deltas))),
                                "drive": SpikeTimes([(m_post - 1 + 0.5) * DT], [0])},
                  progress=False)
    assert np.allclose(res.spikes["post"].t, (m_post + 1) * DT)  # one post spike, as planned
    return learn.weights(sim, "syn") - w0, res


@pytest.mark.parametrize("pairing", ["all", "nearest"])
def test_window_matches_analytic_curve(pairing):
    rule = learn.PairSTDP(a_plus=0.005, a_minus=0.006, tau_plus=0.0168, tau_minus=0.0337,
                          w_min=0.0, w_max=0.1, pairing=pairing)
    deltas = np.arange(-80, 81, 5) * 1e-3
    dw, res = _window_run(rule, deltas)
    np.testing.assert_allclose(dw, rule.window(deltas), rtol=1e-9, atol=1e-15)
    assert dw[deltas > 0].min() > 0 and dw[deltas < 0].max() < 0 and dw[deltas == 0] == 0
    # one update per pre spike and one per synapse at the post spike
    assert res.counts.total("plasticity_updates") == 2 * deltas.size


def test_multiplicative_soft_bounds_scale_with_distance_to_bound():
    rule = learn.PairSTDP(a_plus=0.1, a_minus=0.1, w_min=0.0, w_max=0.2,
                          weight_dependence="multiplicative")
    deltas = np.array([-0.01, 0.01])
    dw, _ = _window_run(rule, deltas, w0=0.05)
    expect = np.array([-0.1 * np.exp(-0.5) * 0.05, 0.1 * np.exp(-0.5) * (0.2 - 0.05)])
    np.testing.assert_allclose(dw, expect, rtol=1e-9)


def test_additive_hard_bounds_clip():
    rule = learn.PairSTDP(a_plus=0.5, a_minus=0.5, w_min=0.0, w_max=0.1)
    dw, _ = _window_run(rule, np.array([-0.001, 0.001]), w0=0.05)
    np.testing.assert_allclose(dw, [-0.05, 0.05])


def _random_ff(rule, n_pre=12, n_post=4, seed=3, duration=0.5, rate=40.0, w=0.5):
    rng = np.random.default_rng(seed)
    W = np.where(rng.random((n_post, n_pre)) < 0.7, rng.uniform(0.2, w, (n_post, n_pre)), 0.0)
    syn = ir.Sparse.from_dense(W, plasticity=rule)
    nodes = {"in": ir.Input(n_pre), "syn": syn,
             "out": ir.LIF(n_post, tau=0.01, v_threshold=1.0, refractory=2e-3)}
    net = ir.Network(nodes, [("in", "syn"), ("syn", "out")])
    nsp = rng.poisson(rate * duration * n_pre)
    t = np.sort(rng.uniform(0, duration, nsp))
    i = rng.integers(0, n_pre, nsp)
    return net, SpikeTimes(t, i)


def _steps_of(times, idx, n):
    return [list(np.floor(times[idx == k] / DT + 1e-9).astype(int)) for k in range(n)]


@pytest.mark.parametrize("rule", [
    learn.PairSTDP(a_plus=0.02, a_minus=0.022, w_max=1.0),
    learn.PairSTDP(a_plus=0.05, a_minus=0.05, w_max=1.0, pairing="nearest",
                   weight_dependence="multiplicative"),
    learn.TripletSTDP.published("visual_all_to_all", w_max=1.0),
    learn.TripletSTDP.published("visual_nearest", w_max=1.0),
], ids=["pair", "pair-nn-mult", "triplet", "triplet-nn"])
def test_engine_matches_naive_twin(rule):
    net, stim = _random_ff(rule)
    sim = Simulator(net, dt=DT, rng=0)
    res = sim.run(0.5, inputs={"in": stim}, progress=False)
    out = res.spikes["out"]
    assert 5 < len(out) < 2000  # the test needs post spikes (and not saturation)
    pre_steps = _steps_of(stim.times, stim.indices, 12)
    post_steps = [list(np.rint(out.t[out.i == j] / DT).astype(int) - 1) for j in range(4)]
    ref = naive_plastic_weights(net["syn"], rule, pre_steps, post_steps, 5000, DT)
    got = learn.weights(sim, "syn")
    assert np.abs(got - np.asarray(net["syn"].weight)).max() > 1e-4  # weights did move
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)


def test_engine_matches_continuous_reference_on_grid():
    """Spikes on the step grid: the engine equals the exact continuous-time trajectory."""
    rule = learn.TripletSTDP.published("visual_all_to_all", w_max=0.3)
    rng = np.random.default_rng(0)
    post_steps = np.sort(rng.choice(np.arange(100, 2900), 25, replace=False))
    pre_steps = np.sort(rng.choice(np.arange(100, 2900), 30, replace=False))
    nodes = {"pre": ir.Input(1), "drive": ir.Input(1),
             "syn": ir.Sparse.from_dense(np.full((1, 1), 0.2), plasticity=rule),
             "post": ir.LIF(1, tau=1e-3, v_threshold=1.0)}
    net = ir.Network(nodes, [("pre", "syn"), ("syn", "post"), ("drive", "post")])
    sim = Simulator(net, dt=DT, rng=0)
    res = sim.run(0.3, inputs={"pre": SpikeTimes((pre_steps + 0.5) * DT, np.zeros(30, int)),
                               "drive": SpikeTimes((post_steps - 1 + 0.5) * DT, np.zeros(25, int))},
                  progress=False)
    assert len(res.spikes["post"]) == 25
    ref = learn.stdp_final_weight(pre_steps * DT, post_steps * DT, rule, 0.2)
    assert abs(learn.weights(sim, "syn")[0] - ref) < 1e-12


def test_reward_stdp_eligibility_times_reward_trace():
    """One causal pair tags the synapse; a reward 1 s later changes w by the integral of
    c(t) d(t): c(t_r) * a * tau_c tau_d / (tau_c + tau_d) (to first order in dt)."""
    rule = learn.RewardSTDP(a_plus=1.0, a_minus=1.5, tau_c=1.0, tau_d=0.2, w_min=0, w_max=10)
    net = tagged_synapse_net(rule)
    sim = Simulator(net, dt=DT, rng=0)
    t_pre, t_post, t_r = 0.1, 0.11, 1.11
    res = sim.run(3.0, inputs={"pre": SpikeTimes([t_pre + DT / 2], [0]),
                               "drive": SpikeTimes([t_post - DT / 2], [0]),
                               "syn": learn.Reward([t_r + DT / 2], 0.5)}, progress=False)
    assert len(res.spikes["post"]) == 1
    c_tr = np.exp(-0.01 / 0.02) * np.exp(-(t_r - t_post) / 1.0)
    expect = c_tr * 0.5 * 1.0 * 0.2 / 1.2  # integral of c d from t_r to infinity
    tail = np.exp(-(3.0 - t_r) * (1 / 1.0 + 1 / 0.2))
    got = learn.weights(sim, "syn")[0] - 1.0
    assert got == pytest.approx(expect * (1 - tail), rel=2e-3)
    # naive twin, exactly
    pre_steps = [[int((t_pre + DT / 2) / DT)]]
    post_steps = [[int(round(res.spikes["post"].t[0] / DT)) - 1]]
    reward = np.zeros(30000)
    reward[int((t_r + DT / 2) / DT)] = 0.5
    ref = naive_plastic_weights(net["syn"], rule, pre_steps, post_steps, 30000, DT, reward)
    np.testing.assert_allclose(learn.weights(sim, "syn"), ref, rtol=1e-11)


def test_continuation_save_state_and_learned_network(tmp_path):
    rule = learn.PairSTDP(a_plus=0.02, a_minus=0.022, w_max=1.0)
    net, stim = _random_ff(rule)
    a = Simulator(net, dt=DT, rng=0)
    a.run(0.5, inputs={"in": stim}, progress=False)
    b = Simulator(net, dt=DT, rng=0)
    b.run(0.2, inputs={"in": stim}, progress=False)
    b.save_state(tmp_path / "st.npz")
    c = Simulator(net, dt=DT, rng=0)
    c.load_state(tmp_path / "st.npz")
    c.run(0.3, inputs={"in": stim}, progress=False)
    np.testing.assert_array_equal(learn.weights(a, "syn"), learn.weights(c, "syn"))
    learned = learn.learned_network(a)
    ir.save(learned, tmp_path / "net.npz")
    back = ir.load(tmp_path / "net.npz")
    np.testing.assert_array_equal(back["syn"].weight, learn.weights(a, "syn"))
    assert back["syn"].plasticity == rule
    a.reset()  # reset restores the initial weights
    np.testing.assert_array_equal(learn.weights(a, "syn"), net["syn"].weight)


def test_weight_monitor_snapshots():
    rule = learn.PairSTDP(a_plus=0.02, a_minus=0.022, w_max=1.0)
    net, stim = _random_ff(rule)
    sim = Simulator(net, dt=DT, rng=0, monitors=[learn.WeightMonitor("syn", every=1000)])
    res = sim.run(0.5, inputs={"in": stim}, progress=False)
    t, w = learn.weight_history(res, "syn")
    np.testing.assert_allclose(t, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert w.shape == (5, net["syn"].nnz)
    np.testing.assert_array_equal(w[-1], learn.weights(sim, "syn"))
    # snapshots equal separate runs stopped there
    s2 = Simulator(net, dt=DT, rng=0)
    s2.run(0.3, inputs={"in": stim}, progress=False)
    np.testing.assert_array_equal(w[2], learn.weights(s2, "syn"))


def test_dense_linear_projection_attach():
    W = np.array([[0.3, 0.0, 0.2]])
    net = ir.Network({"in": ir.Input(3), "w": ir.Linear(W), "out": ir.LIF(1, tau=1e-3)},
                     [("in", "w"), ("w", "out")])
    rule = learn.PairSTDP(a_plus=0.01, a_minus=0.01, w_max=1.0)
    net2 = learn.attach(net, "w", rule)
    assert isinstance(net2["w"], ir.Sparse) and net2["w"].nnz == 3  # zeros are plastic too
    np.testing.assert_array_equal(net2["w"].to_dense(), W)
    sim = Simulator(net2, dt=DT, rng=0)
    sim.run(0.01, progress=False)
    np.testing.assert_array_equal(learn.weights(sim, "w"), [0.3, 0.0, 0.2])


@pytest.mark.slow
def test_threads_give_identical_weights():
    """The thread-partitioned plastic kernel equals the serial one bit for bit (recurrent
    plastic projection included; needs >= 4096 neurons for two blocks)."""
    rng = np.random.default_rng(0)
    N, M = 4200, 100
    W = np.where(rng.random((N, M)) < 0.1, rng.uniform(0, 0.3, (N, M)), 0)
    Wr = np.where(rng.random((N, N)) < 0.002, 0.2, 0.0)
    net = ir.Network({"in": ir.Input(M),
                      "syn": ir.Sparse.from_dense(W, plasticity=learn.TripletSTDP.published(w_max=0.5)),
                      "rec": ir.Sparse.from_dense(Wr, plasticity=learn.PairSTDP(0.01, 0.012, w_max=0.4)),
                      "out": ir.LIF(N, tau=0.01, refractory=2e-3)},
                     [("in", "syn"), ("syn", "out"), ("out", "rec"), ("rec", "out")])
    ws = []
    for th in (1, 2):
        sim = Simulator(net, dt=DT, rng=0, threads=th)
        assert sim.engine.blocks.size == th + 1
        sim.run(0.1, inputs={"in": Poisson(30.0)}, progress=False)
        ws.append((learn.weights(sim, "syn"), learn.weights(sim, "rec")))
    np.testing.assert_array_equal(ws[0][0], ws[1][0])
    np.testing.assert_array_equal(ws[0][1], ws[1][1])


def _lazy_net(rule, n_pre=20, n_post=6, seed=5, n_extra=0):
    """Plastic inputs at 1-40 Hz onto LIF neurons that a fixed drive makes fire at ~150 Hz
    (so their lists of postsynaptic spikes overflow), plus a plastic recurrent projection
    (neurons as presynaptic side) and duplicate input events."""
    rng = np.random.default_rng(seed)
    N = n_post + n_extra
    W = np.where(rng.random((N, n_pre)) < 0.8, rng.uniform(0.1, 0.5, (N, n_pre)), 0.0)
    Wr = np.where(rng.random((N, N)) < min(0.3, 20.0 / N), rng.uniform(0.0, 0.3, (N, N)), 0.0)
    np.fill_diagonal(Wr, 0.0)
    nodes = {"in": ir.Input(n_pre), "drive": ir.Input(N),
             "syn": ir.Sparse.from_dense(W, plasticity=rule),
             "rec": ir.Sparse.from_dense(Wr, plasticity=rule),
             "dsyn": ir.Sparse.from_dense(np.eye(N) * 0.6),
             "out": ir.LIF(N, tau=0.01, v_threshold=1.0, refractory=1e-3)}
    net = ir.Network(nodes, [("in", "syn"), ("syn", "out"), ("drive", "dsyn"), ("dsyn", "out"),
                             ("out", "rec"), ("rec", "out")])
    dur = 1.0
    rates = rng.uniform(1.0, 40.0, n_pre)
    t, i = [], []
    for k, r in enumerate(rates):
        tk = rng.uniform(0, dur, rng.poisson(r * dur))
        t.append(tk)
        i.append(np.full(tk.size, k))
    t, i = np.concatenate(t), np.concatenate(i)
    dup = rng.integers(0, t.size, 15)  # the same channel twice in one step
    t, i = np.concatenate([t, t[dup]]), np.concatenate([i, i[dup]])
    td = rng.uniform(0, dur, int((300 if N < 100 else 20) * dur * N))
    stim = {"in": SpikeTimes(t, i), "drive": SpikeTimes(td, rng.integers(0, N, td.size))}
    return net, stim, dur


@pytest.mark.parametrize("pairing", ["all", "nearest"])
def test_lazy_potentiation_equals_eager_kernel(pairing, monkeypatch):
    """Pair STDP with additive dependence runs the lazy kernel (potentiation deferred to the
    next presynaptic spike); the eager kernel gives the same weights bit for bit, with full
    lists (4 entries here), duplicate input events, a weight monitor and a run split in two."""
    from spikesim.learn._clock import ClockLearning

    monkeypatch.setattr(ClockLearning, "LAZY_LIST", 4)
    rule = learn.PairSTDP(a_plus=0.02, a_minus=0.021, w_max=0.6, pairing=pairing)
    net, stim, dur = _lazy_net(rule)
    out = {}
    for lazy in (True, False):
        sim = Simulator(net, dt=DT, rng=0, monitors=[learn.WeightMonitor("syn", every=1234)])
        assert sim.engine.learning.lazy and sim.engine.learning.lz[0].shape[1] == 4
        sim.engine.learning.lazy = lazy
        r1 = sim.run(0.4, inputs=stim, progress=False)
        r2 = sim.run(dur - 0.4, inputs=stim, progress=False)
        assert len(r2.spikes["out"]) > 100 * 6 * 0.5  # the drive makes the neurons fire
        out[lazy] = (learn.weights(sim, "syn"), learn.weights(sim, "rec"),
                     r1.meta["weights"]["syn"][1], r2.meta["weights"]["syn"][1],
                     r1.counts.total("plasticity_updates"), sim.engine.learning.pupd.sum())
    for a, b in zip(out[True], out[False]):
        np.testing.assert_array_equal(a, b)
    w0 = np.asarray(net["syn"].weight)
    assert np.abs(out[True][0] - w0).max() > 0.05  # the weights did move


@pytest.mark.parametrize("delay", ["none", "uniform", "per-synapse"])
def test_lazy_equals_eager_mixed_rows_delays_and_bounds(delay, monkeypatch):
    """The lazy kernel's paths beyond one rule per row without delays: inputs that reach the
    neurons through a plastic and a fixed projection (rows of mixed synapses), delays (one
    for all synapses, or per synapse: the ring buffer), and initial weights outside
    [w_min, w_max] (a weight is clipped only when a change applies to it, as in the eager
    kernel). Same weights as the eager kernel, bit for bit."""
    from spikesim.learn._clock import ClockLearning

    monkeypatch.setattr(ClockLearning, "LAZY_LIST", 4)
    rule = learn.PairSTDP(a_plus=0.02, a_minus=0.021, w_min=0.15, w_max=0.3)
    net, stim, dur = _lazy_net(rule)
    rng = np.random.default_rng(3)
    nodes = dict(net.nodes)
    W = np.where(rng.random((6, 20)) < 0.5, 0.2, 0.0)
    d = {"none": 0.0, "uniform": 1e-3, "per-synapse": rng.integers(0, 20, int((W > 0).sum())) * DT}
    nodes["fix"] = ir.Sparse.from_dense(W, delay=d[delay])
    if delay == "uniform":  # every synapse the same delay
        for k in ("syn", "rec", "dsyn"):
            nodes[k] = ir.Sparse(nodes[k].n_pre, nodes[k].n_post, nodes[k].indptr,
                                 nodes[k].indices, nodes[k].weight, 1e-3, nodes[k].plasticity)
    edges = [(e.src, e.dst) for e in net.edges] + [("in", "fix"), ("fix", "out")]
    net = ir.Network(nodes, edges)
    out = {}
    for lazy in (True, False):
        sim = Simulator(net, dt=DT, rng=0)
        eng = sim.engine
        assert eng.learning.lazy and (eng.learning.rrow == -2).any()
        assert eng.uniform_delay == {"none": 0, "uniform": 10, "per-synapse": -1}[delay]
        eng.learning.lazy = lazy
        sim.run(dur, inputs=stim, progress=False)
        out[lazy] = (learn.weights(sim, "syn"), learn.weights(sim, "rec"))
    for a, b in zip(out[True], out[False]):
        np.testing.assert_array_equal(a, b)
    w0 = np.asarray(net["syn"].weight)
    assert (w0 > 0.3).any() and (w0 < 0.15).any()  # outside the bounds at the start
    assert np.abs(out[True][0] - w0).max() > 0.05  # the weights did move


def test_decay_table_equals_the_kernels_power():
    """The table of d**k read by the plastic kernels: numpy's pow below 4096 (as before),
    numba's ``float ** int`` beyond, bit for bit (so a table read equals the kernels'
    fallback ``d ** k``); fewer entries when there are many rules."""
    from numba import njit

    from spikesim.learn._clock import decay_table

    @njit
    def power(d, k):
        return d ** k

    d = np.array([[np.exp(-0.1 / 20), np.exp(-0.1 / 3)], [0.9999, 0.5]])
    tab = decay_table(d)
    assert tab.shape == (2, 2, 65536)
    np.testing.assert_array_equal(tab[..., :4096], d[..., None] ** np.arange(4096))
    ks = np.r_[4096:4200, np.random.default_rng(0).integers(4096, 65536, 300), 65535]
    for i in range(2):
        for j in range(2):
            got = tab[i, j, ks]
            ref = np.array([power(d[i, j], np.int64(k)) for k in ks])
            np.testing.assert_array_equal(got, ref)
    assert decay_table(np.full((8, 4), 0.99)).shape[-1] == 32768
    assert decay_table(np.full((64, 4), 0.99)).shape[-1] == 4096


def test_row_rules():
    """Rows (presynaptic neuron x thread block) of one rule and one port take the lazy
    kernel's hoisted path; fixed-only rows -1, anything else -2."""
    from spikesim.learn._clock import row_rules

    pstart = np.array([[0, 2, 2], [2, 4, 6], [6, 8, 8], [8, 10, 10]])
    srule = np.array([0, 0, -1, 0, 1, 1, 2, 2, -1, -1], np.int16)
    sport = np.array([0, 0, 0, 0, 1, 1, 0, 1, 0, 1], np.int8)
    rule, port = row_rules(srule, sport, pstart)
    np.testing.assert_array_equal(rule, [[0, -1], [-2, 1], [-2, -1], [-1, -1]])
    assert port[0, 0] == 0 and port[1, 1] == 1


def test_lazy_kernel_not_used_for_other_rules():
    for rule in (learn.PairSTDP(weight_dependence="multiplicative"),
                 learn.TripletSTDP.published(), learn.RewardSTDP()):
        net, _, _ = _lazy_net(rule)
        assert not Simulator(net, dt=DT, rng=0).engine.learning.lazy


@pytest.mark.slow
def test_lazy_kernel_threads_equal_serial_and_eager():
    """The thread-partitioned lazy kernel equals the serial lazy and eager kernels (two
    blocks need >= 4096 neurons)."""
    rule = learn.PairSTDP(a_plus=0.02, a_minus=0.021, w_max=0.6)
    net, stim, _ = _lazy_net(rule, n_extra=4200, seed=1)
    ws = []
    for th, lazy in ((1, True), (2, True), (2, False)):
        sim = Simulator(net, dt=DT, rng=0, threads=th)
        sim.engine.learning.lazy = lazy
        sim.run(0.1, inputs=stim, progress=False)
        ws.append((learn.weights(sim, "syn"), learn.weights(sim, "rec")))
    for w in ws[1:]:
        np.testing.assert_array_equal(ws[0][0], w[0])
        np.testing.assert_array_equal(ws[0][1], w[1])


@pytest.mark.parametrize("tau_minus", [1.0, 0.5, 0.002])
def test_depression_past_the_decay_table(tau_minus):
    """A presynaptic spike more than the table's 65,536 steps after the last postsynaptic
    spike: the eager kernel computes ``d**k`` past the table (tau 1 s and 0.5 s: a non-zero
    depression) or, when the table has underflowed to 0 at half its length (tau 2 ms), skips
    ``pow`` and gives the 0 that ``pow`` gives."""
    from numba import njit

    from spikesim.learn._clock import decay_table

    rule = learn.TripletSTDP(a2_plus=0.005, a3_plus=0.001, a2_minus=0.006, a3_minus=0.0,
                             tau_minus=tau_minus, pairing="nearest", w_max=0.1)
    m_post, gap = 2000, 66_000  # steps; gap > 65,536
    nodes = {"pre": ir.Input(1), "drive": ir.Input(1),
             "syn": ir.Sparse.from_dense(np.full((1, 1), 0.05), plasticity=rule),
             "post": ir.LIF(1, tau=1e-3, v_threshold=1.0)}
    net = ir.Network(nodes, [("pre", "syn"), ("syn", "post"), ("drive", "post")])
    sim = Simulator(net, dt=DT, rng=0)
    assert not sim.engine.learning.lazy
    res = sim.run((m_post + gap + 10) * DT, progress=False, inputs={
        "pre": SpikeTimes([(m_post + 1 + gap + 0.5) * DT], [0]),
        "drive": SpikeTimes([(m_post - 1 + 0.5) * DT], [0])})
    assert np.allclose(res.spikes["post"].t, (m_post + 1) * DT)
    dw = learn.weights(sim, "syn")[0] - 0.05
    d = np.exp(-DT / tau_minus)

    @njit
    def power(x, k):
        return x ** k

    expect = -0.006 * power(d, np.int64(gap + 1))  # post spike in step m_post, pre in m_post+gap+1
    assert dw == pytest.approx(expect, rel=1e-9, abs=0.0)
    half = decay_table(np.array([d]))[0, 65536 // 2]
    assert (expect == 0.0) == (tau_minus == 0.002) == (half == 0.0)


def test_reward_stdp_tonic_level_equals_naive_twin():
    """d_tonic adds a constant to the reward trace: dw = dt c (d + d_tonic) each step, equal
    to the naive twin; without any reward the tagged synapse drifts by the tonic level."""
    rule = learn.RewardSTDP(a_plus=1.0, a_minus=1.5, tau_c=1.0, tau_d=0.2, w_min=0, w_max=10,
                            d_tonic=0.02)
    net = tagged_synapse_net(rule)
    sim = Simulator(net, dt=DT, rng=0)
    res = sim.run(2.0, inputs={"pre": SpikeTimes([0.1 + DT / 2], [0]),
                               "drive": SpikeTimes([0.11 - DT / 2], [0])}, progress=False)
    assert len(res.spikes["post"]) == 1
    drift = np.exp(-0.5) * 0.02 * 1.0 * (1 - np.exp(-(2.0 - 0.11)))  # integral of c d_tonic
    assert learn.weights(sim, "syn")[0] - 1.0 == pytest.approx(drift, rel=2e-3)
    ref = naive_plastic_weights(net["syn"], rule, [[int((0.1 + DT / 2) / DT)]],
                                [[int(round(res.spikes["post"].t[0] / DT)) - 1]], 20000, DT,
                                np.zeros(20000))
    np.testing.assert_allclose(learn.weights(sim, "syn"), ref, rtol=1e-11)


def test_reward_stdp_network_equals_naive_twin_with_bounds_and_runs_split():
    """R-STDP on a random network: rewards of both signs at random steps, a negative tonic
    level (so d + d_tonic changes sign after each positive reward) and bounds that clip:
    the engine (reward synapses brought up to date lazily, in closed form) equals the naive
    twin's per-step update; split into runs of odd lengths, and on 2 threads, too."""
    rule = learn.RewardSTDP(a_plus=0.2, a_minus=0.24, tau_c=0.2, tau_d=0.05, w_min=0.1,
                            w_max=0.6, d_tonic=-0.5)
    net, stim = _random_ff(rule)
    nsteps = 5000
    rng = np.random.default_rng(7)
    reward = np.zeros(nsteps)
    reward[rng.choice(nsteps, 25, replace=False)] = rng.choice([-3.0, 4.0], 25)
    sim = Simulator(net, dt=DT, rng=0)
    res = sim.run(0.5, inputs={"in": stim, "syn": reward}, progress=False)
    out = res.spikes["out"]
    assert 5 < len(out) < 2000
    pre_steps = _steps_of(stim.times, stim.indices, 12)
    post_steps = [list(np.rint(out.t[out.i == j] / DT).astype(int) - 1) for j in range(4)]
    ref = naive_plastic_weights(net["syn"], rule, pre_steps, post_steps, nsteps, DT, reward)
    got = learn.weights(sim, "syn")
    assert np.any(ref == 0.6) and np.any(ref == 0.1)  # both bounds clip
    np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-14)
    # runs of 1237, 1 and 3762 steps; 2 threads
    for kw, cuts in (({}, (1237, 1238)), ({"threads": 2}, ())):
        s2 = Simulator(net, dt=DT, rng=0, **kw)
        edges = [0, *cuts, nsteps]
        for a, b in zip(edges[:-1], edges[1:]):
            s2.run((b - a) * DT, inputs={"in": stim, "syn": reward[a:b]}, progress=False)
        np.testing.assert_allclose(learn.weights(s2, "syn"), ref, rtol=1e-11, atol=1e-14)


def test_reward_stdp_bound_reached_before_the_sign_change_equals_naive_twin():
    """One tagged synapse, a large reward, then nothing until the end of the run: the weight
    reaches w_max while d + d_tonic > 0, then falls once the trace decays below -d_tonic.
    Brought up to date in one closed-form step at the end, it must clip at w_max first
    (as the per-step update does), not only at the end."""
    rule = learn.RewardSTDP(a_plus=1.0, a_minus=1.5, tau_c=1.0, tau_d=0.2, w_min=0, w_max=1.3,
                            d_tonic=-0.3)
    net = tagged_synapse_net(rule)
    reward = np.zeros(20000)
    reward[2000] = 5.0
    sim = Simulator(net, dt=DT, rng=0)
    res = sim.run(2.0, inputs={"pre": SpikeTimes([0.1 + DT / 2], [0]),
                               "drive": SpikeTimes([0.11 - DT / 2], [0]), "syn": reward},
                  progress=False)
    assert len(res.spikes["post"]) == 1
    ref = naive_plastic_weights(net["syn"], rule, [[int((0.1 + DT / 2) / DT)]],
                                [[int(round(res.spikes["post"].t[0] / DT)) - 1]], 20000, DT,
                                reward)
    assert 1.0 < ref[0] < 1.3  # it fell from the bound
    np.testing.assert_allclose(learn.weights(sim, "syn"), ref, rtol=1e-11)
