"""The network IR: frozen dataclass nodes in SI units, and ``Network`` (nodes + edges).

Example::

    import numpy as np
    from spikesim import ir
    from spikesim.units import ms

    net = ir.Network(
        nodes={"in": ir.Input(784), "fc": ir.Affine(np.zeros((10, 784))),
               "lif": ir.LIF(10, tau=20 * ms), "out": ir.Output()},
        edges=["in->fc", "fc->lif", "lif->out"])
    ir.save(net, "net.npz"); assert ir.load("net.npz") == net
"""
from spikesim.ir.builder import NetworkBuilder, bernoulli_pairs
from spikesim.ir.io import load, save
from spikesim.ir.network import Edge, Network
from spikesim.ir.nodes import (IF, LI, LIF, NEURON_TYPES, NODE_TYPES, SYNAPSE_TYPES, Affine,
                               AdaptiveLIF, AvgPool2d, CobaLIF, Conv2d, CubaLI, CubaLIF, Delay,
                               Flatten, Input, Linear, MaxPool2d, NeuronNode, Node, Output, Sparse,
                               SumPool2d, SynapseNode, Threshold)

__all__ = ["Network", "Edge", "NetworkBuilder", "bernoulli_pairs", "save", "load", "Node", "NeuronNode", "SynapseNode", "NODE_TYPES",
           "NEURON_TYPES", "SYNAPSE_TYPES", "LIF", "IF", "CubaLIF", "CobaLIF", "AdaptiveLIF", "LI",
           "CubaLI", "Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d", "MaxPool2d",
           "Flatten", "Delay", "Threshold", "Sparse", "Input", "Output"]
