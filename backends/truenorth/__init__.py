"""IBM TrueNorth backend: 256 x 256 binary-crossbar cores running the Cassidy et al. (2013)
neuron, 1 ms ticks, 1-15 tick axonal delays, one target per neuron, 64 x 64 mesh per chip.

Low level: :func:`run_core` runs one core on given axon inputs (see :mod:`.core`).
Chip constants, each with its source: :mod:`.params`.
"""
from __future__ import annotations

from . import params
from .core import NeuronParams, run_core

__all__ = ["params", "NeuronParams", "run_core"]
