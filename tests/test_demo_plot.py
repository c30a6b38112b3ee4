"""The demo command and the plotting helpers."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from spikesim import ir, plot
from spikesim.sim import Simulator, StateMonitor
from spikesim.units import ms


@pytest.mark.smoke
@pytest.mark.timeout(180)
def test_demo_runs_and_writes_png(tmp_path):
    out = subprocess.run([sys.executable, "-m", "spikesim", "demo", "--out", str(tmp_path / "d"),
                          "--no-progress"], capture_output=True, text=True, timeout=170)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "JIT" in out.stdout and "spikes" in out.stdout
    png = tmp_path / "d" / "raster.png"
    assert png.exists() and png.stat().st_size > 10_000


def test_plots_return_axes():
    net = ir.Network({"p": ir.LIF(5, tau=10 * ms, bias=np.linspace(1.1, 2, 5), v_threshold=1.0)}, [])
    res = Simulator(net, dt=0.1 * ms, rng=0, monitors=[StateMonitor("p", ["v"], index=[0, 4])]).run(
        0.1, progress=False)
    ax = plot.raster(res, "p")
    assert len(ax.collections[0].get_offsets()) == len(res.spikes["p"])
    ax = plot.traces(res, "p", "v", neurons=[4], scale=1.0, unit="")
    assert len(ax.lines) == 1
    ax = plot.rate_histogram(res, "p")
    assert ax.get_xlabel() == "firing rate (Hz)"
    ax = plot.weights(np.eye(3))
    assert ax.images
    with pytest.raises(ValueError, match="no recorded"):
        plot.traces(res, "p", "a")
