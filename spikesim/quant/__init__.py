"""One quantisation toolkit for training, conversion and every chip backend.

* :class:`QuantSpec`, :func:`quantize`, :func:`dequantize`, :class:`QTensor`, :func:`ternary`:
  post-training quantisation of weights (per tensor or per channel, saturation counted).
* :class:`KBit`, :class:`Ternary`: training-time constraints with straight-through gradients,
  attached to :class:`spikesim.nn.Dense` / :class:`spikesim.nn.Conv2d` via ``constraint=``.
* :func:`calibrate_scale`, :func:`quantize_activations`: activations for integer inference.
* :func:`fake_quant`, :func:`fake_quant_backward`, :func:`pot_scale`: activation
  fake-quantisation for quantisation-aware training (straight-through, LSQ scale gradient,
  power-of-two scales); the layer is :class:`spikesim.nn.ActQuant`.

Conventions: symmetric (no zero point), round half to even, signed range
``[-2**(b-1), 2**(b-1)-1]`` with the scale mapping the calibration magnitude to ``2**(b-1)-1``,
unsigned ``[0, 2**b-1]``; saturated entries are counted in ``QTensor.n_clipped``.

Example:
    >>> import numpy as np
    >>> from spikesim.quant import QuantSpec, quantize, dequantize
    >>> w = np.array([[0.5, -1.0], [0.02, 0.04]])
    >>> qt = quantize(w, QuantSpec(bits=8, per_channel=True))
    >>> qt.q.tolist()
    [[64, -127], [64, 127]]
"""
from spikesim.quant.activations import calibrate_scale, quantize_activations
from spikesim.quant.constraints import Constraint, KBit, Ternary, get_constraint
from spikesim.quant.core import (ROUNDINGS, QTensor, QuantSpec, calibrate, dequantize, int_range,
                                 quantize, round_codes, ternary, ternary_threshold)
from spikesim.quant.fakequant import fake_quant, fake_quant_backward, lsq_grad_scale, pot_scale

__all__ = ["QuantSpec", "QTensor", "quantize", "dequantize", "calibrate", "int_range",
           "ternary", "ternary_threshold", "Constraint", "KBit", "Ternary", "get_constraint",
           "calibrate_scale", "quantize_activations", "ROUNDINGS", "round_codes", "fake_quant",
           "fake_quant_backward", "lsq_grad_scale", "pot_scale"]
