"""Bad input for spikesim.learn: errors name the argument."""
import numpy as np
import pytest

from spikesim import ir, learn
from spikesim.sim import Simulator


@pytest.mark.parametrize("kw, match", [
    (dict(w_min=1.0, w_max=0.5), "w_min"),
    (dict(a_plus=-0.1), "a_plus"),
    (dict(a_minus=float("nan")), "a_minus"),
    (dict(tau_plus=0.0), "tau_plus"),
    (dict(weight_dependence="power"), "weight_dependence"),
    (dict(pairing="some"), "pairing"),
    (dict(a_plus=2.0, weight_dependence="multiplicative"), "a_plus"),
    (dict(w_max="big"), "w_max"),
])
def test_pair_rule_rejects_forbidden_values(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        learn.PairSTDP(**kw)


def test_other_rules_reject_forbidden_values():
    with pytest.raises(ValueError, match="tau_x"):
        learn.TripletSTDP(tau_x=-1.0)
    with pytest.raises(ValueError, match="name"):
        learn.TripletSTDP.published("hippocampus_maybe")
    with pytest.raises(ValueError, match="tau_c"):
        learn.RewardSTDP(tau_c=0.0)
    with pytest.raises(ValueError, match="weight_dependence"):
        learn.RewardSTDP(weight_dependence="multiplicative")
    with pytest.raises(ValueError, match=r"RewardSTDP.d_tonic.*nan"):
        learn.RewardSTDP(d_tonic=float("nan"))
    with pytest.raises(ValueError, match="theta_plus"):
        learn.AdaptiveThreshold(theta_plus=-1.0)


def _net(rule, **kw):
    nodes = {"pre": ir.Input(2), "syn": ir.Sparse.from_dense(np.full((1, 2), 0.1), plasticity=rule),
             "post": ir.LIF(1)}
    return ir.Network(nodes, [("pre", "syn"), ("syn", "post")])


def test_projection_types_that_cannot_carry_a_rule():
    rule = learn.PairSTDP()
    net = ir.Network({"in": ir.Input(2), "a": ir.Affine(np.ones((1, 2)), np.ones(1)),
                      "out": ir.LIF(1)}, [("in", "a"), ("a", "out")])
    with pytest.raises(TypeError, match="'a' is a Affine"):
        learn.attach(net, "a", rule)
    with pytest.raises(TypeError, match="plasticity"):
        Simulator(_net("stdp please"), dt=1e-4, rng=0)
    with pytest.raises(ValueError, match="projection"):
        learn.attach(net, "nope", rule)
    # a plastic Sparse inside a composed chain
    chain = ir.Network({"in": ir.Input(2), "s": ir.Sparse.from_dense(np.ones((2, 2)), plasticity=rule),
                        "f": ir.Linear(np.ones((1, 2))), "out": ir.LIF(1)},
                       [("in", "s"), ("s", "f"), ("f", "out")])
    with pytest.raises(ValueError, match="cannot carry a rule"):
        Simulator(chain, dt=1e-4, rng=0)


@pytest.mark.parametrize("engine", ["clock", "event"])
def test_batch_with_plasticity_is_refused(engine):
    kw = {"dt": 1e-4} if engine == "clock" else {}
    with pytest.raises(ValueError, match=r"batch: plasticity needs batch=1 .*got batch=2"):
        Simulator(_net(learn.PairSTDP()), rng=0, batch=2, engine=engine, **kw)


def test_reward_signal_shape_and_target():
    net = _net(learn.RewardSTDP())
    sim = Simulator(net, dt=1e-4, rng=0)
    with pytest.raises(ValueError, match=r"inputs\['syn'\].*shape \(100,\)"):
        sim.run(0.01, inputs={"syn": np.zeros(99)}, progress=False)
    with pytest.raises(ValueError, match="Reward.amounts"):
        learn.Reward(times=[0.1, 0.2], amounts=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="Reward.times"):
        learn.Reward(times=[[0.1]])
    sim2 = Simulator(_net(learn.PairSTDP()), dt=1e-4, rng=0)
    with pytest.raises(ValueError, match="not RewardSTDP"):
        sim2.run(0.01, inputs={"syn": np.zeros(100)}, progress=False)


def test_reference_function_checks():
    with pytest.raises(ValueError, match="w0"):
        learn.stdp_trajectory([0.0], [0.01], learn.PairSTDP(w_max=1.0), w0=2.0)
    with pytest.raises(TypeError, match="rule"):
        learn.stdp_trajectory([0.0], [0.01], learn.RewardSTDP(), w0=0.5)
    with pytest.raises(ValueError, match="rate"):
        learn.pairing_protocol(learn.PairSTDP(), 0.01, 0.0)


def test_weight_monitor_and_readback_errors():
    net = _net(learn.PairSTDP())
    with pytest.raises(ValueError, match="WeightMonitor.every"):
        learn.WeightMonitor("syn", every=0)
    with pytest.raises(ValueError, match="WeightMonitor.projection"):
        Simulator(net, dt=1e-4, rng=0, monitors=[learn.WeightMonitor("post")])
    sim = Simulator(net, dt=1e-4, rng=0)
    with pytest.raises(ValueError, match="name"):
        learn.weights(sim, "post")


def test_reference_trajectory_window_and_simultaneous_pair():
    rule = learn.PairSTDP(a_plus=0.01, a_minus=0.012, w_max=1.0)
    for d in (-0.03, -0.004, 0.004, 0.03):
        assert learn.stdp_final_weight([0.1], [0.1 + d], rule, 0.5) - 0.5 == pytest.approx(
            float(rule.window(d)), rel=1e-12)
    assert learn.stdp_final_weight([0.1], [0.1], rule, 0.5) == 0.5
    t, w = learn.stdp_trajectory([0.1, 0.2], [0.105], rule, 0.5)
    np.testing.assert_allclose(t, [0.1, 0.105, 0.2])
    assert w[1] > 0.5 and w[2] < w[1]


def test_song2000_needs_measure_within_duration():
    from spikesim.learn.experiments import song2000

    for dur, meas in ((50.0, 100.0), (100.0, 100.0), (500.0, 0.0)):
        with pytest.raises(ValueError, match=rf"0 < measure < duration.*duration={dur}, "
                                             rf"measure={meas}"):
            song2000(duration=dur, measure=meas, progress=False)
