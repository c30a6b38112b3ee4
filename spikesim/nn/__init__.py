"""Layers, surrogate gradients, losses, optimisers and a trainer, in numpy + numba.

One stack for surrogate-gradient BPTT training of spiking networks and for the ANNs that
ANN-to-SNN conversion starts from. See :mod:`spikesim.nn.spiking` for the LIF forward
convention (the clock engine's) and :mod:`spikesim.nn.model` for the memory options.

Example:
    >>> import numpy as np
    >>> from spikesim.nn import Sequential, Dense, LIF, LI
    >>> net = Sequential(Dense(784, 100, rng=0), LIF(beta=0.9), Dense(100, 10, rng=1), LI())
    >>> net(np.zeros((2, 784), np.float32), timesteps=25).shape
    (25, 2, 10)
"""
from spikesim._numba_cache import drop_stale as _drop_stale

_drop_stale(__file__)  # kernels here use helpers/constants of other files

from spikesim.nn._kernels import set_threads
from spikesim.nn.export import to_ir
from spikesim.nn.layers import (AvgPool2d, BatchNorm, Conv2d, Dense, Dropout, Flatten, Layer,
                                MaxPool2d, ReLU, SumPool2d)
from spikesim.nn.losses import (CountMSE, CrossEntropy, CrossEntropyCount, CrossEntropyMembrane,
                                get_loss)
from spikesim.nn.model import Sequential
from spikesim.nn.optim import SGD, Adam, CosineLR, ExponentialLR, StepLR
from spikesim.nn.recurrent import AdaptiveLIF, RecurrentLIF
from spikesim.nn.spiking import LI, LIF, SpikingLayer
from spikesim.nn.surrogate import ATan, FastSigmoid, Surrogate, Triangle, get_surrogate
from spikesim.nn.train import (History, NonFiniteLossError, Trainer, load_checkpoint,
                               poisson_encode, save_checkpoint)

__all__ = [
    "Layer", "Dense", "Conv2d", "AvgPool2d", "SumPool2d", "MaxPool2d", "Flatten", "Dropout",
    "BatchNorm", "ReLU", "SpikingLayer", "LIF", "LI", "RecurrentLIF", "AdaptiveLIF",
    "Surrogate", "FastSigmoid", "ATan", "Triangle", "get_surrogate",
    "CrossEntropy", "CrossEntropyCount", "CrossEntropyMembrane", "CountMSE", "get_loss",
    "SGD", "Adam", "StepLR", "ExponentialLR", "CosineLR", "Sequential",
    "Trainer", "History", "NonFiniteLossError", "save_checkpoint", "load_checkpoint",
    "poisson_encode", "set_threads", "to_ir",
]
from spikesim.nn.qcfs import QCFS  # noqa: E402  (ANN-to-SNN conversion activation)
__all__.append("QCFS")
from spikesim.nn.actquant import ActQuant  # noqa: E402  (activation fake-quantisation, QAT)
__all__.append("ActQuant")
