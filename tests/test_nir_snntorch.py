"""Interop with a real NIR producer: snnTorch, in its own virtualenv (slow, optional).

``tests/nir_snntorch_producer.py`` runs under $SPIKESIM_VENVS/snntorch (torch 2.13 CPU, snntorch,
nir): it builds Linear -> Leaky/Synaptic -> Linear -> Leaky/Synaptic, simulates it with
snnTorch and exports it with snnTorch's own ``export_to_nir``. Here the file is imported
with ``from_nir(discretization="euler", dt=1e-4)`` (snnTorch's export hard-codes
dt = 1e-4 s) and run on the clock engine; the spikes of both layers must agree at every
(neuron, step).

Timing: snnTorch passes a spike through every layer within one step; spikesim's clock engine
takes one step per synapse stage and reports a spike at the end of its step, so layer ``k``
(0-based) of spikesim fires at step ``t + 2 + k`` for snnTorch's step ``t``.

Run with: ``python -m pytest tests/test_nir_snntorch.py -m slow``. Skipped when the venv is
absent (create it with ``python -m venv $SPIKESIM_VENVS/snntorch`` and
``pip install torch==2.13.0 snntorch nir nirtorch numpy``).
"""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from spikesim.benchmarks.common import venv_python

nir = pytest.importorskip("nir")

from spikesim.ir.nir import from_nir  # noqa: E402
from spikesim.sim import Frames, Simulator  # noqa: E402

VENV_PY = os.environ.get("SPIKESIM_SNNTORCH_PYTHON", str(venv_python("snntorch")))
PRODUCER = os.path.join(os.path.dirname(__file__), "nir_snntorch_producer.py")
DT = 1e-4  # snnTorch's export_to_nir uses dt = 1e-4 s

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(VENV_PY),
                                 reason=f"snnTorch venv not found at {VENV_PY}")]


def _produce(tmp_path, *args):
    cmd = [VENV_PY, PRODUCER, str(tmp_path), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert p.returncode == 0, p.stderr[-3000:]
    return np.load(tmp_path / "run.npz")


def _layers(net):
    """Spiking nodes in feed-forward order from the Input."""
    order, frontier = [], [n for n in net.names("input")]
    seen = set(frontier)
    while frontier:
        nxt = []
        for n in frontier:
            for e in net.out_edges(n):
                if e.dst not in seen:
                    seen.add(e.dst)
                    nxt.append(e.dst)
                    if net[e.dst].role == "neuron":
                        order.append(e.dst)
        frontier = nxt
    return order


def _compare(tmp_path, dtype, *producer_args, reset=None):
    run = _produce(tmp_path, "--dtype", dtype, *producer_args)
    net = from_nir(tmp_path / "net.nir", discretization="euler", dt=DT, reset=reset)
    layers = _layers(net)
    assert len(layers) == 2
    x = run["x"]
    T = x.shape[0]
    res = Simulator(net, engine="clock", dt=DT, dtype=dtype, rng=0).run(
        (T + 3) * DT, inputs={"input": Frames(x)}, progress=False)
    out = {}
    for k, (name, key) in enumerate(zip(layers, ("lif1", "lif2"))):
        ref = run[key]
        st = res.spikes[name]
        ours = np.zeros((T + 4, ref.shape[1]))
        ours[np.rint(st.t / DT).astype(int), st.i] = 1
        ours = ours[2 + k:2 + k + T]
        assert ref.sum() > 0.02 * ref.size, "the test network is too quiet to be informative"
        out[key] = (int((ours != ref).sum()), ref.size, int(ref.sum()))
    return out


CASES = [("leaky", "zero", None), ("leaky", "subtract", "subtract_undecayed"),
         ("synaptic", "subtract", "subtract_undecayed"), ("synaptic", "zero", "value_hold")]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("neuron,snn_reset,reset", CASES)
def test_snntorch_float64_identical_spikes(tmp_path, neuron, snn_reset, reset):
    diff = _compare(tmp_path, "float64", "--neuron", neuron, "--reset", snn_reset, reset=reset)
    for key, (nd, size, nspk) in diff.items():
        assert nd == 0, f"{key}: {nd} of {size} (neuron, step) pairs differ ({nspk} spikes)"


@pytest.mark.timeout(600)
def test_snntorch_float32_at_most_0p1_percent(tmp_path):
    diff = _compare(tmp_path, "float32", "--neuron", "leaky", "--reset", "subtract",
                    reset="subtract_undecayed")
    for key, (nd, size, nspk) in diff.items():
        assert nd <= 0.001 * size, f"{key}: {nd} of {size} pairs differ"


@pytest.mark.timeout(600)
def test_snntorch_wrong_reset_is_detected(tmp_path):
    """The comparison can fail: importing snnTorch's subtract model with NIR's reset-to-zero
    (what the file says) gives different spikes."""
    diff = _compare(tmp_path, "float64", "--neuron", "leaky", "--reset", "subtract", reset=None)
    assert sum(d[0] for d in diff.values()) > 0


@pytest.mark.timeout(600)
def test_snntorch_with_linear_bias(tmp_path):
    diff = _compare(tmp_path, "float64", "--neuron", "leaky", "--reset", "subtract", "--bias",
                    reset="subtract_undecayed")
    assert all(d[0] == 0 for d in diff.values()), diff
