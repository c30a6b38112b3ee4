"""An :class:`spikesim.ir.Network` chain of Affine/Linear/Conv2d/pool/Flatten nodes as a
:mod:`spikesim.nn` ANN, so :func:`spikesim.backends.northpole.compile` can take it.

The IR has no ReLU node, so such a network is linear (what NIR calls a pure synapse graph);
neuron nodes (LIF, IF, ...) are spiking and are refused: NorthPole runs ANNs.
"""
from __future__ import annotations

import numpy as np

_OK = ("Affine", "Linear", "Conv2d", "AvgPool2d", "MaxPool2d", "Flatten")


def from_ir(net):
    """Convert a feed-forward chain ``Input -> ... -> Output`` of IR nodes to an
    ``nn.Sequential`` (weights copied as float32).

    Raises ``TypeError`` for node types NorthPole cannot run (named, with the supported
    list) and ``ValueError`` for graphs that are not a single chain or use options the
    integer layers lack (groups, dilation, pool padding, stride != kernel for pooling).

    Example::

        seq = from_ir(ir.Network(nodes={'in': ir.Input(4), 'fc': ir.Affine(w),
                                        'out': ir.Output()}, edges=['in->fc', 'fc->out']))
    """
    from spikesim import nn

    inputs = net.names("input")
    if len(inputs) != 1:
        raise ValueError(f"network has {len(inputs)} Input nodes; NorthPole needs exactly one")
    order, cur = [], inputs[0]
    while True:
        outs = net.out_edges(cur)
        if len(outs) != 1 or len(net.in_edges(outs[0].dst)) != 1:
            raise ValueError(f"node {cur!r}: the network must be a single chain "
                             f"(no branches, merges or recurrence) to run on NorthPole")
        cur = outs[0].dst
        if net[cur].role == "output":
            break
        order.append(cur)
    layers = []
    for name in order:
        node = net[name]
        t = type(node).__name__
        if t not in _OK:
            raise TypeError(f"node {name!r} ({t}) is not supported by the NorthPole backend; "
                            f"supported IR node types: {list(_OK)}")
        if t in ("Affine", "Linear"):
            w = np.asarray(node.weight, np.float32)
            d = nn.Dense(w.shape[1], w.shape[0], bias=(t == "Affine"))
            d.params["weight"] = w.copy()
            if t == "Affine":
                d.params["bias"] = np.asarray(node.bias, np.float32).copy()
            layers.append(d)
        elif t == "Conv2d":
            if node.groups != 1 or node.dilation != (1, 1) or node.stride[0] != node.stride[1] \
                    or node.padding[0] != node.padding[1]:
                raise ValueError(f"node {name!r}: Conv2d with groups, dilation or unequal "
                                 f"stride/padding is not supported on NorthPole here")
            w = np.asarray(node.weight, np.float32)
            c = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride=node.stride[0],
                          padding=node.padding[0])
            c.params["weight"] = w.copy()
            c.params["bias"] = np.asarray(node.bias, np.float32).copy()
            layers.append(c)
        elif t in ("AvgPool2d", "MaxPool2d"):
            k = node.kernel_size
            if k[0] != k[1] or node.stride != k or node.padding != (0, 0):
                raise ValueError(f"node {name!r}: {t} needs a square kernel, stride == kernel "
                                 f"and no padding here; got kernel {k}, stride {node.stride}, "
                                 f"padding {node.padding}")
            layers.append((nn.AvgPool2d if t == "AvgPool2d" else nn.MaxPool2d)(k[0]))
        else:
            layers.append(nn.Flatten())
    if not layers:
        raise ValueError("network has no synapse nodes between Input and Output")
    return nn.Sequential(*layers)
