"""Quantisation-aware fine-tuning for NorthPole through :mod:`spikesim.quant` + :mod:`spikesim.nn`.

Weights train under :class:`spikesim.quant.KBit` constraints (per-channel scales,
straight-through estimator) attached to the model's own Dense/Conv2d layers, with the
:class:`spikesim.nn.Trainer`. Activations are not fake-quantised during training (the nn
stack has no activation quantiser); :func:`compile` calibrates them afterwards.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikesim.backends.northpole.program import _parse, _per_layer, _type


def attach_constraints(model, precision: Any = 8) -> list[tuple[int, int]]:
    """Put a per-channel ``KBit(w_bits)`` constraint on every Dense/Conv2d of ``model``
    (in place); ``precision`` as in :func:`compile`. Returns the per-layer precisions.

    Example::

        attach_constraints(net, 4)   # every MAC layer now trains with 4-bit weights
    """
    from spikesim.quant import KBit

    layers = _parse(model)
    macs = [l for l in layers if _type(l) in ("Dense", "Conv2d")]
    names = [f"{_type(l).lower()}{k}" for k, l in enumerate(macs)]
    prec = _per_layer(precision, len(macs), names)
    for l, (wb, _) in zip(macs, prec):
        l.constraint = KBit(wb, per_channel=True)
    return prec


def finetune(model, x: np.ndarray, y: np.ndarray, precision: Any = 8, *, epochs: int = 1,
             lr: float = 1e-4, batch_size: int = 128, rng: int | np.random.Generator = 0,
             input_scale: float = 1.0, val: tuple | None = None, progress: bool = True):
    """Quantisation-aware fine-tuning of a float ANN (in place); returns the nn ``History``.

    Args:
        model: :class:`spikesim.nn.Sequential` ANN (the layers :func:`compile` supports).
        x, y: training inputs and integer labels.
        precision: as in :func:`compile` (only ``w_bits`` is used here).
        epochs, lr, batch_size: Adam fine-tuning settings (lr in units of the loss gradient).
        rng: seed or Generator for shuffling.
        input_scale: multiply inputs by this (e.g. 1/255 for uint8 pixels).
        val: optional ``(x_val, y_val)``.

    Example::

        finetune(net, x_train, y_train, precision=2, epochs=1, input_scale=1/255)
        prog = compile(net, x_train[:512] / 255, precision=2)
    """
    from spikesim.nn import Adam, Trainer

    attach_constraints(model, precision)
    tr = Trainer(model, "ce", Adam(model, lr=lr), batch_size=batch_size, rng=rng,
                 input_scale=input_scale, progress=progress)
    return tr.fit(x, y, epochs, val=val)
