"""Intel Loihi backend: bit-exact fixed-point CUBA LIF, weight encoding, the learning engine,
core mapping, timing and energy (../shared/reference/hardware.md section 2).

Public API::

    from spikesim.backends import loihi
    spikes, u, v = loihi.run_lif(a_in, du=..., dv=..., vth=...)   # bit-exact compartments
    prog = loihi.compile(net, dt=1e-3, num_bits=8)                 # quantise + map to cores
    res = loihi.run(prog, {"in": spikes})                          # Result with Counts
    loihi.energy(res)                                              # J per inference
    rule = loihi.LearningRule(dw="dw = 2^-2*x1*y0 - 2^-2*y1*x0")
    state = loihi.run_learning(rule, pre, post, w0)
"""
from __future__ import annotations

from spikesim._numba_cache import drop_stale as _drop_stale

_drop_stale(__file__)  # kernels here use helpers/constants of other files

from spikesim.backends.loihi import params
from spikesim.backends.loihi.compiler import Connection, Population, Program, compile
from spikesim.backends.loihi.learning import LearningRule, LearningState, run_learning
from spikesim.backends.loihi.lif import run_lif
from spikesim.backends.loihi.rule import parse_rule
from spikesim.backends.loihi.runtime import run
from spikesim.backends.loihi.synapse import Weights, encode, synaptic_input
from spikesim.backends.loihi.translate import connection_lsb, stdp_rule


def energy(result, **kw):
    """Price a Loihi run's counts with :func:`spikesim.energy.report` (platform ``"loihi"``,
    Davies 2018 Table 2; static power x chip time per inference)."""
    from spikesim.energy import report

    return report(result.counts, "loihi", **kw)


__all__ = ["params", "run_lif", "compile", "run", "Program", "Population", "Connection",
           "LearningRule", "LearningState", "run_learning", "parse_rule", "Weights", "encode",
           "synaptic_input", "energy", "stdp_rule", "connection_lsb"]
