"""Monitors: what a run records besides spikes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StateMonitor:
    """Record state variables of neurons of one node every ``every`` steps.

    Args:
        node: neuron node name.
        variables: names among ``"v"``, ``"a"`` (threshold adaptation), and the node's port
            names (synaptic current or conductance of that port; ``"I"`` for one-port nodes).
        index: flat neuron indices to record (default: all).
        every: record every ``every`` steps (at the end of the step).

    Example: ``StateMonitor("exc", ["v"], index=[0, 1, 2])``.
    """

    node: str
    variables: tuple[str, ...] = ("v",)
    index: Any = None
    every: int = 1


def record_names(net: Any, groups: list, record: Any) -> list:
    """Which neuron nodes' spikes a run records: ``True`` (every spiking node), ``False`` /
    ``None`` (none) or a list of spiking node names (checked)."""
    spiking = [n for n in groups if net[n].spiking]
    if record is True:
        return spiking
    if record is False or record is None:
        return []
    names = list(record)
    for n in names:
        if n not in spiking:
            raise ValueError(f"record: {n!r} is not a spiking neuron node; choose from {spiking}")
    return names


def set_record(eng: Any, record: Any) -> None:
    """Set an engine's ``record_names`` (:func:`record_names`) and ``rec_mask`` (one flag per
    neuron of the engine: its spikes are recorded). Shared by both engines."""
    eng.record_names = record_names(eng.net, eng.groups, record)
    eng.rec_mask = np.zeros(eng.N, np.bool_)
    for n in eng.record_names:
        eng.rec_mask[eng.offset[n]:eng.offset[n] + eng.net[n].n] = True
