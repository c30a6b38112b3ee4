"""Simulation: the :class:`Simulator` (clock and event engines), stimuli, results, counts."""
from spikesim.sim.clock import StateMonitor
from spikesim.sim.counts import FIELDS, Counts
from spikesim.sim.inputs import Frames, Poisson, SpikeTimes
from spikesim.sim.result import Result, SpikeTrain
from spikesim.sim.simulator import Simulator

__all__ = ["Simulator", "StateMonitor", "Poisson", "SpikeTimes", "Frames", "Counts", "FIELDS",
           "Result", "SpikeTrain"]
