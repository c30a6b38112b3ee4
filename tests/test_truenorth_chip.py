"""TrueNorth multi-core simulation: delays, routing and hops, counts, serial = parallel,
one-core chip = run_core, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from spikesim.backends.truenorth import params as P
from spikesim.backends.truenorth.chip import mesh_coordinates, program_from_cores, run_program
from spikesim.backends.truenorth.core import NeuronParams, pack_cores, run_core
from spikesim.backends.truenorth.fullchip import random_chip


def relay(delay, placement=None, n_cores=2):
    """core 0 neuron 0 <- input 0 on axon 0; it targets (last core, axon 5) with ``delay``;
    neuron 3 of the last core listens to axon 5 and is recorded."""
    C = n_cores
    xb = np.zeros((C, 256, 256), bool)
    xb[0, 0, 0] = True
    xb[C - 1, 5, 3] = True
    arrs = []
    for c in range(C):
        tc = np.full(256, -1)
        if c == 0:
            tc[0] = C - 1
        arrs.append(NeuronParams(weights=[[1, 0, 0, 0]], alpha=1, target_core=tc,
                                 target_axon=5, delay=delay).arrays())
    cores = pack_cores(xb, np.zeros((C, 256), np.int8), arrs)
    group = np.zeros(C, int)
    group[C - 1] = 1
    return program_from_cores(cores, group, ["first", "last"], inputs=[[(0, 0)]],
                              record={"out": [(C - 1, 3)], "src": [(0, 0)]}, placement=placement)


@pytest.mark.parametrize("delay", [1, 7, 15])
def test_delay_and_hops(delay):
    prog = relay(delay)
    x = np.zeros((30, 1), np.uint8)
    x[2, 0] = 1
    res = run_program(prog, x, progress=False)
    assert res.spikes["src"].t.tolist() == pytest.approx([3e-3])
    assert res.spikes["out"].t.tolist() == pytest.approx([(2 + delay + 1) * 1e-3])
    c = res.counts
    assert c.layers["first"]["spikes_routed"] == 1 and c.layers["first"]["hops"] == 1
    assert c.layers["first"]["synops_ac"] == 1 and c.layers["last"]["synops_ac"] == 1
    assert c.layers["input"]["spikes"] == 1 and c.layers["chip"]["ticks"] == 30
    assert c.layers["first"]["neuron_updates"] == 256 * 30
    assert res.outputs["out"].tolist() == [[1]]


def test_hops_far_core_and_second_chip():
    prog = relay(1, placement=np.array([0, 4095]))
    x = np.zeros((5, 1), np.uint8)
    x[0] = 1
    assert run_program(prog, x, progress=False).counts.layers["first"]["hops"] == 126
    prog = relay(1, placement=np.array([0, 4096]))  # second core on the second chip
    assert prog.n_chips == 2
    res = run_program(prog, x, progress=False)
    xs, ys = mesh_coordinates(4097)
    assert (xs[4096], ys[4096]) == (64, 0)
    assert res.counts.layers["first"]["hops"] == 64 and res.counts.meta["chips"] == 2


def test_one_core_chip_equals_run_core():
    rng = np.random.default_rng(4)
    xb = rng.random((256, 256)) < 0.3
    at = rng.integers(0, 4, 256)
    p = NeuronParams(weights=rng.integers(-20, 21, (256, 4)), stochastic_synapse=rng.random((256, 4)) < 0.3,
                     leak=rng.integers(-2, 3, 256), stochastic_leak=rng.random(256) < 0.3,
                     alpha=rng.integers(1, 40, 256), beta=rng.integers(0, 40, 256),
                     mask_bits=rng.integers(0, 4, 256), gamma=rng.integers(0, 3, 256),
                     kappa=rng.random(256) < 0.5)
    A = (rng.random((25, 256)) < 0.2).astype(np.uint8)
    s, _ = run_core(xb, at, p, A, seed=9)
    prog = program_from_cores(pack_cores(xb[None], at[None], [p.arrays()]),
                              inputs=[[(0, i)] for i in range(256)],
                              record={"n": [(0, j) for j in range(256)]})
    res = run_program(prog, A, seed=9, progress=False)
    got = np.zeros_like(s)
    st = res.spikes["n"]
    got[np.round(st.t * 1e3).astype(int) - 1, st.i] = 1
    assert np.array_equal(got, s) and s.sum() > 0


@pytest.mark.parametrize("stochastic", [False, True])
def test_parallel_equals_serial(stochastic):
    prog = random_chip(48, stochastic=stochastic, seed=2, max_delay=15)
    a = run_program(prog, ticks=60, seed=1, threads=1, progress=False)
    b = run_program(prog, ticks=60, seed=1, threads=2, progress=False)
    assert a.counts.layers == b.counts.layers
    assert 14 < a.counts.total("spikes") / (48 * 256 * 0.06) < 28  # about 20 Hz


def test_samples_reset_and_batch_outputs():
    prog = relay(3)
    x = np.zeros((3, 10, 1), np.uint8)
    x[0, 1] = 1
    x[2, 8] = 1  # arrives after the end of the sample: dropped (state reset between samples)
    res = run_program(prog, x, progress=False)
    assert res.outputs["out"][:, 0].tolist() == [1, 0, 0]
    assert res.outputs["src"][:, 0].tolist() == [1, 0, 1]
    assert res.counts.samples == 3 and res.counts.steps == 10
    assert res.counts.total("ticks") == 30 and res.counts.duration_s == pytest.approx(0.01)


def test_bad_input():
    prog = relay(1)
    with pytest.raises(ValueError, match="inputs"):
        run_program(prog, np.zeros((5, 2)), progress=False)
    with pytest.raises(ValueError, match="threads"):
        run_program(prog, np.zeros((5, 1)), threads=0, progress=False)
    prog.cores.route[0, 0, 2] = 16
    with pytest.raises(ValueError, match="delay 16 outside 1..15"):
        run_program(prog, np.zeros((5, 1)), progress=False)
    with pytest.raises(ValueError, match="1..15"):
        NeuronParams(delay=16).arrays()
    assert P.DELAY_MAX == 15
