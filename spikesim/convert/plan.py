"""Read a :class:`spikesim.nn.Sequential` ANN into conversion stages; batch-norm folding.

A stage is what becomes one layer of IF neurons: the linear operations since the previous
activation (``Conv2d``/``Dense`` with folded batch-norm, average/sum pooling, flattening, max
pooling of the previous layer's output) followed by one activation (``ReLU`` or ``QCFS``). The
last stage has no activation: it is the readout.

Supported layers (anything else raises ``ValueError`` naming the layer and this list):
``Dense``, ``Conv2d``, ``BatchNorm`` (directly after ``Dense``/``Conv2d``; folded with its
running statistics), ``ReLU``, ``QCFS``, ``AvgPool2d``, ``SumPool2d``, ``MaxPool2d`` (after an
activation; directly before one it is moved behind it, which is exact because both are
monotone), ``Flatten``, ``Dropout`` (identity at inference).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SUPPORTED = ("Dense", "Conv2d", "BatchNorm", "ReLU", "QCFS", "AvgPool2d", "SumPool2d",
             "MaxPool2d", "Flatten", "Dropout")


@dataclass
class Op:
    """One linear operation of a stage: ``kind`` in ``dense``, ``conv``, ``avgpool``,
    ``sumpool``, ``maxpool``, ``flatten``; ``weight``/``bias`` in float64 (PyTorch layouts)."""

    kind: str
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    stride: int = 1
    padding: int = 0
    kernel: int = 0


@dataclass
class Stage:
    """Linear ``ops`` then ``act`` (``"relu"``, ``"qcfs"`` or None for the readout);
    ``layer`` is the index in the (folded) ANN whose output is this stage's activation."""

    ops: list = field(default_factory=list)
    act: str | None = None
    qcfs: Any = None  # the QCFS layer (threshold, levels, shift)
    layer: int = -1


def _unsupported(i: int, layer: Any) -> ValueError:
    return ValueError(f"layer {i} {type(layer).__name__} is not supported by "
                      f"spikesim.convert; supported layers: {', '.join(SUPPORTED)}")


def fold_batchnorm(model):
    """A copy of ``model`` with every ``BatchNorm`` folded into the ``Dense``/``Conv2d`` before
    it (running statistics; the result equals the original in evaluation mode) and ``Dropout``
    removed. Weights are float64 and quantisation constraints are applied (the effective
    weights are stored), so the copy has no constraint.

    Example:
        >>> import numpy as np
        >>> from spikesim import nn
        >>> m = nn.Sequential(nn.Dense(4, 3, rng=0), nn.BatchNorm(3), nn.ReLU()).eval()
        >>> f = fold_batchnorm(m)
        >>> [type(l).__name__ for l in f.layers]
        ['Dense', 'ReLU']
    """
    import copy

    from spikesim import nn

    out = []
    layers = list(model.layers)
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(layer, (nn.Dense, nn.Conv2d)):
            w = layer.effective_weight().astype(np.float64)
            b = (layer.params["bias"].astype(np.float64) if "bias" in layer.params
                 else np.zeros(w.shape[0]))
            if isinstance(nxt, nn.BatchNorm):
                bn = nxt
                if bn.num_features != w.shape[0]:
                    raise ValueError(f"layer {i + 1} BatchNorm has {bn.num_features} features, "
                                     f"layer {i} has {w.shape[0]} outputs")
                s = bn.params["weight"].astype(np.float64) / np.sqrt(
                    bn.buffers["running_var"].astype(np.float64) + bn.eps)
                w = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
                b = (b - bn.buffers["running_mean"].astype(np.float64)) * s \
                    + bn.params["bias"].astype(np.float64)
                i += 1
            new = copy.copy(layer)
            new.params = {"weight": w, "bias": b}
            new.grads, new.buffers, new.constraint = {}, {}, None
            new._cache = None
            out.append(new)
        elif isinstance(layer, nn.BatchNorm):
            raise ValueError(f"layer {i} BatchNorm must directly follow a Dense or Conv2d layer "
                             "to be folded into it")
        elif isinstance(layer, nn.Dropout):
            pass
        elif type(layer).__name__ in SUPPORTED:
            new = copy.copy(layer)
            new.params = {k: v.copy() for k, v in layer.params.items()}
            new._cache = None
            out.append(new)
        else:
            raise _unsupported(i, layer)
        i += 1
    return nn.Sequential(*out).eval()


def stages(folded) -> list[Stage]:
    """Split a folded ANN (:func:`fold_batchnorm`) into conversion stages (module docs)."""
    from spikesim import nn

    layers = list(folded.layers)
    # MaxPool directly before an activation commutes with it: move it behind
    for i in range(len(layers) - 1):
        if isinstance(layers[i], nn.MaxPool2d) and type(layers[i + 1]).__name__ in ("ReLU", "QCFS"):
            layers[i], layers[i + 1] = layers[i + 1], layers[i]
    out: list[Stage] = []
    cur = Stage()
    has_weights = False
    for i, layer in enumerate(layers):
        name = type(layer).__name__
        if isinstance(layer, nn.Dense):
            cur.ops.append(Op("dense", layer.params["weight"], layer.params["bias"]))
            has_weights = True
        elif isinstance(layer, nn.Conv2d):
            cur.ops.append(Op("conv", layer.params["weight"], layer.params["bias"],
                              stride=layer.stride, padding=layer.padding))
            has_weights = True
        elif isinstance(layer, nn.AvgPool2d):
            cur.ops.append(Op("avgpool", kernel=layer.kernel_size))
        elif isinstance(layer, nn.SumPool2d):
            cur.ops.append(Op("sumpool", kernel=layer.kernel_size))
        elif isinstance(layer, nn.MaxPool2d):
            if cur.ops or not out:
                raise ValueError(f"layer {i} MaxPool2d: max pooling is converted only directly "
                                 "after an activation (ReLU/QCFS), where it pools spike rates")
            cur.ops.append(Op("maxpool", kernel=layer.kernel_size))
        elif isinstance(layer, nn.Flatten):
            cur.ops.append(Op("flatten"))
        elif name in ("ReLU", "QCFS"):
            if not has_weights:
                raise ValueError(f"layer {i} {name}: an activation needs a Dense or Conv2d "
                                 "layer before it (since the previous activation)")
            cur.act = "relu" if name == "ReLU" else "qcfs"
            cur.qcfs = layer if name == "QCFS" else None
            cur.layer = i
            out.append(cur)
            cur, has_weights = Stage(), False
        else:
            raise _unsupported(i, layer)
    if has_weights:
        cur.layer = len(layers) - 1
        out.append(cur)
    elif cur.ops:
        raise ValueError("the ANN ends with pooling/flatten layers after its last activation; "
                         "the readout needs a final Dense or Conv2d layer")
    else:  # ends with an activation: its pre-activation is the readout (argmax unchanged)
        last = out.pop()
        last.act, last.qcfs = None, None
        out.append(last)
    if not out or not any(op.kind in ("dense", "conv") for op in out[-1].ops):
        raise ValueError("the ANN needs at least one Dense or Conv2d layer")
    return out, layers


def ann_macs(folded, input_shape) -> int:
    """Multiply-accumulates of one ANN inference (Dense and Conv2d layers, zeros included)."""
    from spikesim import nn

    shape = tuple(input_shape)
    macs = 0
    for layer in folded.layers:
        if isinstance(layer, nn.Dense):
            macs += layer.in_features * layer.out_features
            shape = (layer.out_features,)
        elif isinstance(layer, nn.Conv2d):
            shape = layer.out_shape(shape)
            macs += int(np.prod(shape)) * layer.in_channels * int(np.prod(layer.kernel_size))
        elif isinstance(layer, (nn.AvgPool2d, nn.SumPool2d, nn.MaxPool2d)):
            shape = layer.out_shape(shape)
        elif isinstance(layer, nn.Flatten):
            shape = (int(np.prod(shape)),)
    return int(macs)
