"""A random full-chip workload (the benchmark of Merolla et al. 2014 style): every core used,
crossbar density p, random targets, a mean rate near 20 Hz.

Deterministic variant: axon types 0/1 carry weights +1/-1 (balanced), leak +1 per tick,
threshold 50, linear reset (gamma 1), a floor at -beta (kappa 1): V drifts up by one per tick
and the balanced synaptic input adds zero-mean noise, so each neuron fires at about
1 / 50 ticks = 20 Hz. Stochastic variant: stochastic synapses (+-127 -> +-1 with p = 0.5),
stochastic leak (+127 -> +1 with p = 0.5), masked random threshold (4 bits) on every neuron.
"""
from __future__ import annotations

import numpy as np

from . import params as P
from .chip import Program, program_from_cores
from .core import CoreArrays


def random_chip(n_cores: int = P.CORES_PER_CHIP, density: float = 0.5, stochastic: bool = False,
                seed: int = 0, alpha: int | None = None, max_delay: int = 1) -> Program:
    """Build the random full-chip program.

    Args:
        n_cores: cores (4096 = one chip).
        density: crossbar density p (fraction of 1 bits).
        stochastic: stochastic synapses, leak and threshold on every neuron.
        seed: numpy seed of the construction (not of the run).
        alpha: positive threshold (default 50 deterministic, 22 stochastic: ~20 Hz).
        max_delay: delays drawn uniformly in 1..max_delay ticks.

    Example::

        prog = random_chip(64, seed=1)
        res = run_program(prog, ticks=100, progress=False)
    """
    from . import _kernels as K

    if not 1 <= n_cores:
        raise ValueError(f"n_cores: {n_cores} must be >= 1")
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density: {density} must be in [0, 1]")
    if not P.DELAY_MIN <= max_delay <= P.DELAY_MAX:
        raise ValueError(f"max_delay: {max_delay} outside {P.DELAY_MIN}..{P.DELAY_MAX}")
    rng = np.random.default_rng(seed)
    C = n_cores
    if density == 0.5:
        xbar = rng.integers(0, 2 ** 63, size=(C, 256, 4), dtype=np.int64).astype(np.uint64)
        xbar ^= (rng.integers(0, 2, size=(C, 256, 4), dtype=np.uint64) << np.uint64(63))
    else:
        from .core import pack_bits

        xbar = np.empty((C, 256, 4), np.uint64)
        for c in range(C):
            xbar[c] = pack_bits(rng.random((256, 256)) < density)
    atype = rng.integers(0, 2, size=(C, 256)).astype(np.int8)
    W = np.zeros((1, 4, 256), np.int16)  # one weight table shared by every core
    if stochastic:
        W[:, 0], W[:, 1] = 127, -127
        wdet, wsto = np.zeros_like(W), W
        smask = np.zeros((C, 4, 4), np.uint64)
        smask[:, :2] = np.uint64(2 ** 64 - 1)
        a = 22 if alpha is None else alpha
    else:
        W[:, 0], W[:, 1] = 1, -1
        wdet, wsto = W, np.zeros_like(W)
        smask = np.zeros((C, 4, 4), np.uint64)
        a = 50 if alpha is None else alpha
    if not 0 <= a <= P.THRESHOLD_MAX:
        raise ValueError(f"alpha: {a} outside 0..{P.THRESHOLD_MAX}")
    nzmask = np.zeros((C, 4, 4), np.uint64)
    nzmask[:, :2] = np.uint64(2 ** 64 - 1)
    has_sto = np.full(C, 1 if stochastic else 0, np.uint8)
    ptab = np.zeros((1, K.NP), np.int32)
    ptab[0, K.P_LEAK] = 127 if stochastic else 1
    ptab[0, K.P_CLEAK] = 1 if stochastic else 0
    ptab[0, K.P_ALPHA] = a
    ptab[0, K.P_BETA] = 1000
    ptab[0, K.P_MASK] = 15 if stochastic else 0
    ptab[0, K.P_GAMMA] = 1
    ptab[0, K.P_KAPPA] = 1
    pidx = np.zeros((C, 256), np.uint16)
    route = np.empty((C, 256, 3), np.int32)
    route[:, :, K.R_CORE] = rng.integers(0, C, size=(C, 256))
    route[:, :, K.R_AXON] = rng.integers(0, 256, size=(C, 256))
    route[:, :, K.R_DELAY] = rng.integers(1, max_delay + 1, size=(C, 256))
    v_init = rng.integers(0, max(a, 1), size=(C, 256)).astype(np.int32)
    cores = CoreArrays(xbar, atype, wdet, wsto, np.zeros(C, np.int32), smask, nzmask, has_sto,
                       pidx, ptab, route, v_init,
                       ucore=np.zeros(C, np.int32))
    prog = program_from_cores(cores, group_names=["chip_cores"])
    prog.meta.update({"workload": "random full chip", "density": density,
                      "stochastic": stochastic, "alpha": a, "construction_seed": seed})
    return prog
