"""NorthPole-style backend: dense INT8/INT4/INT2 inference on a 16 x 16 core array.

The backend protocol::

    import spikesim.backends as B
    np_ = B.get("northpole")
    prog = np_.compile(net, x_calib, precision=8)     # quantise (spikesim.quant) + map
    print(prog.report())                               # per-layer schedule vs roofline
    res = np_.run(prog, x_test)                        # bit-exact integer inference
    res.outputs["logits"], res.counts                  # -> spikesim.energy.report(..., "northpole")

Modules: :mod:`.params` (chip constants and their sources; what an "operation" is),
:mod:`.layers` (integer layers and their arithmetic), :mod:`.engine` (fast exact integer
inference), :mod:`.schedule` (mapping, cycles, fps, latency, roofline), :mod:`.resnet50`
(shape-only ResNet-50), :mod:`.program` (``compile``/``run``), :mod:`.qat` (quantisation-aware
fine-tuning).
"""
from __future__ import annotations

from spikesim.backends.northpole import params
from spikesim.backends.northpole.engine import requantize, run_layers
from spikesim.backends.northpole.layers import (
    IntAvgPool2d, IntConv2d, IntDense, IntFlatten, IntMaxPool2d, IntReLU, quantize_multiplier,
)
from spikesim.backends.northpole.program import SUPPORTED, Program, compile, run
from spikesim.backends.northpole.resnet50 import resnet50_shapes
from spikesim.backends.northpole.schedule import LayerShape, Schedule, roofline_fps, schedule

__all__ = ["params", "compile", "run", "Program", "SUPPORTED", "schedule", "Schedule",
           "LayerShape", "roofline_fps", "resnet50_shapes", "run_layers", "requantize",
           "quantize_multiplier", "IntDense", "IntConv2d", "IntMaxPool2d", "IntAvgPool2d",
           "IntReLU", "IntFlatten"]
