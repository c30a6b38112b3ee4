"""NorthPole-style backend: dense INT8/INT4/INT2 inference on a 16 x 16 core array.

Chip constants and their sources: :mod:`spikesim.backends.northpole.params`.
"""
from __future__ import annotations

from spikesim.backends.northpole import params
from spikesim.backends.northpole.engine import requantize, run_layers
from spikesim.backends.northpole.layers import (
    IntAvgPool2d, IntConv2d, IntDense, IntFlatten, IntMaxPool2d, IntReLU, quantize_multiplier,
)

__all__ = ["params", "run_layers", "requantize", "quantize_multiplier", "IntDense",
           "IntConv2d", "IntMaxPool2d", "IntAvgPool2d", "IntReLU", "IntFlatten"]
