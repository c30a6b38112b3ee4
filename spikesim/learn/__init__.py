"""Synaptic plasticity: STDP rules applied inside the engines' kernels.

Rules are frozen dataclasses attached to ``ir.Sparse(plasticity=rule)`` (or to a dense
``Linear`` projection with :func:`attach`); both engines apply them during a run (the event
engine at exact spike times).
Learned weights are read with :func:`weights` and saved with :func:`learned_network`.

Example::

    from spikesim import ir, learn
    syn = ir.Sparse.from_dense(w, plasticity=learn.PairSTDP(a_plus=0.01, a_minus=0.012))
    ...
    sim = Simulator(net, dt=1e-4, rng=0, monitors=[learn.WeightMonitor("syn", every=1000)])
    res = sim.run(10.0, inputs={"in": Poisson(10.0)})
    w = learn.weights(sim, "syn"); net2 = learn.learned_network(sim)
"""
from spikesim.learn.api import (attach, learned_network, normalize, set_weights, weights,
                               with_homeostasis)
from spikesim.learn.monitor import Reward, WeightMonitor, weight_history
from spikesim.learn.reference import pairing_protocol, stdp_final_weight, stdp_trajectory
from spikesim.learn.rules import (PFISTER_GERSTNER_2006, AdaptiveThreshold, PairSTDP,
                                  RewardSTDP, TripletSTDP)

__all__ = ["PairSTDP", "TripletSTDP", "RewardSTDP", "AdaptiveThreshold",
           "PFISTER_GERSTNER_2006", "WeightMonitor", "Reward", "weight_history", "attach",
           "weights", "set_weights", "normalize", "learned_network", "with_homeostasis",
           "stdp_trajectory",
           "stdp_final_weight", "pairing_protocol"]
