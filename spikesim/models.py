"""Ready-made networks from the literature, built with :class:`spikesim.ir.NetworkBuilder`."""
from __future__ import annotations

from typing import Any

import numpy as np

from spikesim import ir
from spikesim.units import mV, ms


def cuba(n: int = 4000, *, rng: Any = 0, p: float | None = None, delay: float = 0.0) -> ir.Network:
    """Brette et al. 2007 benchmark 2 (CUBA), exactly as Brian2's CUBA example.

    ``n`` neurons (80 % excitatory, 20 % inhibitory) in one ``CubaLIF`` population ``"P"``
    with ports ``exc`` (5 ms) and ``inh`` (10 ms); Bernoulli connections with
    ``p = 80/n`` (0.02 at n = 4000) over all pairs, autapses allowed; taum 20 ms,
    Vt -50 mV, Vr -60 mV, El -49 mV, refractory 5 ms; we = 60*0.27/10 mV, wi = -20*4.5/10 mV;
    V starts uniform in [Vr, Vt]. No external input: El > Vt.

    Example: ``net = cuba(4000, rng=1); Simulator(net, dt=0.1*ms).run(1.0)``.
    """
    if int(n) < 5:
        raise ValueError(f"n: need at least 5 neurons, got {n}")
    n = int(n)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    p = 80.0 / n if p is None else p
    ne = int(0.8 * n)
    v_init = rng.uniform(-60 * mV, -50 * mV, size=n)
    b = ir.NetworkBuilder(rng)
    b.population("P", ir.CubaLIF(n, tau_mem=20 * ms, tau_syn=(5 * ms, 10 * ms), ports=("exc", "inh"),
                                 v_leak=-49 * mV, v_threshold=-50 * mV, v_reset=-60 * mV,
                                 refractory=5 * ms, v_init=v_init))
    b.connect("P", "P", p=p, pre=slice(0, ne), weight=60 * 0.27 / 10 * mV, delay=delay,
              port="exc", name="Pe")
    b.connect("P", "P", p=p, pre=slice(ne, n), weight=-20 * 4.5 / 10 * mV, delay=delay,
              port="inh", name="Pi")
    return b.build(metadata={"model": "CUBA", "n": n, "p": p})
