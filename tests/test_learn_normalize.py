"""learn.normalize and learn.set_weights: per-postsynaptic-neuron weight normalisation (Diehl
and Cook 2015) and weight overwrites, on both engines."""
from __future__ import annotations

import numpy as np
import pytest

from spikesim import ir, learn
from spikesim.sim import Poisson, Simulator


def _net(rng, plastic=True):
    w = rng.uniform(0.0, 1.0, (5, 12))
    w[2] = 0.0  # a neuron with no input weight: left alone
    rule = learn.PairSTDP(a_plus=0.01, a_minus=0.012, w_max=2.0) if plastic else None
    return ir.Network({"in": ir.Input(12), "w": ir.Sparse.from_dense(w, plasticity=rule),
                       "p": ir.LIF(5, tau=0.02, v_threshold=1.0)}, ["in->w", "w->p"]), w


def _sim(net, engine):
    kw = {"dt": 1e-3} if engine == "clock" else {"engine": "event"}
    return Simulator(net, rng=0, **kw)


@pytest.mark.parametrize("engine", ["clock", "event"])
def test_normalize_matches_numpy_and_is_in_place(engine):
    rng = np.random.default_rng(0)
    net, w = _net(rng)
    sim = _sim(net, engine)
    sim.run(0.2, inputs={"in": Poisson(np.full(12, 50.0))}, progress=False)
    before = learn.weights(sim, "w")
    dense = ir.Sparse(12, 5, net["w"].indptr, net["w"].indices, before).to_dense()  # [post, pre]
    sums = dense.sum(axis=1, keepdims=True)
    want = np.where(sums > 0, dense * 7.5 / np.where(sums > 0, sums, 1.0), dense)
    learn.normalize(sim, "w", 7.5)
    got = ir.Sparse(12, 5, net["w"].indptr, net["w"].indices,
                    learn.weights(sim, "w")).to_dense()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), [7.5, 7.5, 0.0, 7.5, 7.5], rtol=1e-12)
    learn.normalize(sim, "w", 7.5)  # second call (cached positions): unchanged
    np.testing.assert_allclose(ir.Sparse(12, 5, net["w"].indptr, net["w"].indices,
                                         learn.weights(sim, "w")).to_dense(), want, rtol=1e-12)
    # the run goes on with the new weights
    sim.run(0.01, progress=False)


@pytest.mark.parametrize("engine", ["clock", "event"])
def test_set_weights_changes_what_the_next_run_delivers(engine):
    rng = np.random.default_rng(2)
    net, w = _net(rng, plastic=False)
    if engine == "clock":  # a weight monitor makes a fixed network's weights writable
        sim = Simulator(net, dt=1e-4, rng=0, monitors=[learn.WeightMonitor("w", every=100)])
    else:
        sim = Simulator(net, engine="event", rng=0)
    drive = {"in": Poisson(np.full(12, 100.0))}
    n0 = sim.run(0.2, inputs=drive, progress=False).spikes["p"].counts().sum()
    learn.set_weights(sim, "w", np.zeros(net["w"].nnz))
    n1 = sim.run(0.2, inputs=drive, progress=False).spikes["p"].counts().sum()
    assert n0 > 20 and n1 == 0
    np.testing.assert_array_equal(learn.weights(sim, "w"), 0.0)
    np.testing.assert_array_equal(learn.learned_network(sim)["w"].weight, 0.0)


def test_learned_network_keeps_unchanged_fixed_weights_as_given():
    rng = np.random.default_rng(4)
    net, w = _net(rng, plastic=False)  # float64 weights, an engine in float32
    sim = Simulator(net, dt=1e-3, rng=0, dtype="float32",
                    monitors=[learn.WeightMonitor("w", every=10)])
    assert sim.engine.sw.dtype == np.float32
    sim.run(0.05, inputs={"in": Poisson(np.full(12, 50.0))}, progress=False)
    assert learn.learned_network(sim)["w"] is net["w"]
    with pytest.raises(ValueError, match=r"w: shape \(3,\)"):
        learn.set_weights(sim, "w", np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        learn.set_weights(sim, "w", np.full(net["w"].nnz, np.nan))


def test_normalize_bad_input():
    rng = np.random.default_rng(1)
    net, _ = _net(rng)
    sim = Simulator(net, dt=1e-3, rng=0)
    for bad in (0.0, -1.0, float("nan"), "78"):
        with pytest.raises(ValueError, match="total"):
            learn.normalize(sim, "w", bad)
    with pytest.raises(ValueError, match="not a Sparse projection"):
        learn.normalize(sim, "p", 1.0)
    fixed, _ = _net(rng, plastic=False)
    with pytest.raises(TypeError, match="plastic network.*event engine"):
        learn.normalize(Simulator(fixed, dt=1e-3, rng=0), "w", 1.0)
    with pytest.raises(TypeError, match="set_weights needs a plastic network"):
        learn.set_weights(Simulator(fixed, dt=1e-3, rng=0), "w", np.zeros(fixed["w"].nnz))
