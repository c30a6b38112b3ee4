"""Simulation: the :class:`Simulator` (clock and event engines), results and counts."""
from spikesim.sim.counts import FIELDS, Counts
from spikesim.sim.result import Result, SpikeTrain

__all__ = ["Counts", "FIELDS", "Result", "SpikeTrain"]
