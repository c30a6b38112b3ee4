"""``spikesim demo``: simulate the CUBA network, print a summary, write a raster plot."""
from __future__ import annotations

import time
from pathlib import Path


def run_demo(out: str = "spikesim_demo", progress: bool = True) -> int:
    """Run the demo; returns a process exit code. Writes ``<out>/raster.png``."""
    t_start = time.perf_counter()
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from spikesim import models, plot
    from spikesim.sim import Simulator, StateMonitor
    from spikesim.units import ms

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    n, duration = 4000, 1.0
    print(f"spikesim demo: CUBA network (Brette et al. 2007), {n} neurons, {duration:g} s, dt 0.1 ms")
    t0 = time.perf_counter()
    net = models.cuba(n, rng=1)
    build_s = time.perf_counter() - t0
    sim = Simulator(net, engine="clock", dt=0.1 * ms, rng=1,
                    monitors=[StateMonitor("P", ["v", "exc", "inh"], index=[0, 1, 2])])
    res = sim.run(duration, progress=progress)
    print(f"  build {build_s:.2f} s, JIT compile {res.jit_s:.2f} s (cached on disk after the "
          f"first run), run {res.run_s:.3f} s for {duration:g} s of network time")
    print(res.summary())
    st = res.spikes["P"]
    print(f"  synapses {sim.engine.n_synapses:,d} ({sim.engine.bytes_per_synapse:.1f} bytes each), "
          f"synaptic events {res.counts.synops:,d} "
          f"({1e9 * res.run_s / max(res.counts.synops, 1):.0f} ns per event)")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    plot.raster(res, "P", max_neurons=1000, ax=axes[0])
    axes[0].set_title(f"CUBA: {len(st):,d} spikes, {res.rate('P'):.2f} Hz mean rate (first 1000 neurons)")
    plot.traces(res, "P", "v", ax=axes[1])
    axes[1].axhline(-50, color="r", lw=0.5, ls="--")
    fig.tight_layout()
    png = outdir / "raster.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    print(f"  wrote {png}")
    from spikesim.compare import demo_table

    demo_table(n_test=300, progress=progress)
    print(f"demo finished in {time.perf_counter() - t_start:.1f} s")
    return 0
