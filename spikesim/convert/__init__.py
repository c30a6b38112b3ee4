"""ANN-to-SNN conversion: a ReLU or QCFS ANN (:mod:`spikesim.nn`) to an :class:`ir.Network`.

* :func:`load_weights` -- weights trained elsewhere (a PyTorch ``state_dict`` as numpy arrays).
* :func:`fold_batchnorm` -- batch-norm folded into the preceding Dense/Conv2d (exact).
* :func:`convert` -- data-based normalisation (max, Diehl et al. 2015; percentile, Rueckauer
  et al. 2017; QCFS thresholds, Bu et al. 2022), IF neurons with reset by subtraction or to
  zero, optional half-threshold initial membranes, average pooling as a synapse node, max
  pooling by a ReLU tree of IF neurons, membrane or spike-count readout, analog or Poisson
  input. The result runs on the clock engine and the chip backends.
* :func:`simulate` -- batched clock-engine run read out after several timestep counts.

QCFS training uses :class:`spikesim.nn.QCFS` in place of ``ReLU`` with the ordinary
:class:`spikesim.nn.Trainer`.

Example:
    >>> import numpy as np
    >>> from spikesim import nn
    >>> from spikesim.convert import convert, simulate
    >>> ann = nn.Sequential(nn.Dense(4, 16, rng=0), nn.QCFS(levels=8, threshold=1.0),
    ...                     nn.Dense(16, 3, rng=1))
    >>> x = np.random.default_rng(0).random((32, 4))
    >>> net = convert(ann, x, v_init=0.5)
    >>> run = simulate(net, x, [8, 32], progress=False)
    >>> run.scores[32].shape
    (32, 3)
"""
from spikesim.convert.build import READOUT_TAU, convert
from spikesim.convert.plan import SUPPORTED, ann_macs, fold_batchnorm
from spikesim.convert.run import ConversionRun, simulate
from spikesim.convert.weights import load_weights

__all__ = ["convert", "simulate", "ConversionRun", "load_weights", "fold_batchnorm", "ann_macs",
           "SUPPORTED", "READOUT_TAU"]
