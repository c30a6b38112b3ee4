"""Intel Loihi backend: bit-exact fixed-point CUBA LIF, weight encoding, the learning engine,
core mapping, timing and energy (hardware.md section 2).

Public API::

    from spikesim.backends import loihi
    spikes, u, v = loihi.run_lif(a_in, du=..., dv=..., vth=...)
"""
from __future__ import annotations

from spikesim.backends.loihi import params
from spikesim.backends.loihi.lif import run_lif

__all__ = ["params", "run_lif"]
