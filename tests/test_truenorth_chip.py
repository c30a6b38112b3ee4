"""TrueNorth multi-core simulation: delays, routing and hops, counts, serial = parallel,
one-core chip = run_core, bad input."""
from __future__ import annotations

import numpy as np
import pytest

from spikesim.backends.truenorth import params as P
from spikesim.backends.truenorth.chip import mesh_coordinates, program_from_cores, run_program
from spikesim.backends.truenorth.core import NeuronParams, pack_cores, run_core, splitmix_seeds
from spikesim.backends.truenorth.fullchip import random_chip

from naive_truenorth import naive_run_chip


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


def random_small_chip(rng, C=6):
    """Cores of every kernel path: uniform deterministic (the 32-bit fast path), uniform with
    leak reversal, uniform stochastic, per-neuron deterministic and per-neuron stochastic;
    crossbar density 0.5, random targets (some none) and delays 1..15."""
    def common(n):
        return dict(target_core=np.where(rng.random(n) < 0.5, rng.integers(0, C, n), -1),
                    target_axon=rng.integers(0, 256, n), delay=rng.integers(1, 16, n),
                    v_init=rng.integers(-30, 30, n))

    def per_neuron(sto):
        n = 256
        return NeuronParams(
            weights=rng.integers(-12, 13, (n, 4)),
            stochastic_synapse=(rng.random((n, 4)) < 0.5) if sto else False,
            leak=rng.integers(-3, 4, n), stochastic_leak=(rng.random(n) < 0.5) if sto else False,
            leak_reversal=rng.random(n) < 0.3, alpha=rng.integers(10, 60, n),
            beta=rng.integers(0, 40, n), mask_bits=rng.integers(0, 4, n) if sto else 0,
            reset=rng.integers(-5, 6, n), gamma=rng.integers(0, 3, n),
            kappa=rng.random(n) < 0.5, **common(n))

    kinds = [
        NeuronParams(weights=[[3, -2, 1, 0]], leak=1, alpha=40, beta=30, gamma=1, kappa=True,
                     **common(256)),
        NeuronParams(weights=[[4, -3, 0, 2]], leak=-1, leak_reversal=True, alpha=30, beta=10,
                     gamma=0, reset=2, **common(256)),
        NeuronParams(weights=[[120, -90, 7, -4]], stochastic_synapse=[[1, 1, 0, 0]], leak=60,
                     stochastic_leak=True, alpha=30, beta=20, mask_bits=3, gamma=1,
                     **common(256)),
        per_neuron(False), per_neuron(True),
        NeuronParams(weights=[[2, -2, 0, 0]], leak=0, alpha=25, beta=5, gamma=1, **common(256)),
    ][:C]
    xb = rng.random((C, 256, 256)) < 0.5
    at = rng.integers(0, 4, (C, 256))
    return xb, at, [k.arrays() for k in kinds]


def test_chip_kernel_equals_naive_chip():
    """The optimised chip kernel (bitmap delay slots, lane-parallel rows, prefetching, packed
    routes), serial and on 2 threads, against the naive chip (sets of axons, a dict of
    pending spikes, plain Python integers): every spike of every neuron and every count, bit
    for bit."""
    rng = np.random.default_rng(21)
    C, T = 6, 30
    xb, at, arrs = random_small_chip(rng, C)
    x = (rng.random((T, C, 256)) < 0.03).astype(np.uint8)
    prog = program_from_cores(pack_cores(xb, at, arrs), group_names=["cores"],
                              inputs=[[(c, i)] for c in range(C) for i in range(256)],
                              record={"all": [(c, j) for c in range(C) for j in range(256)]})
    s_ref, _, tot = naive_run_chip(xb, at, arrs, x, splitmix_seeds(3, C))
    # every core took part (each kernel path ran); activity neither silent nor saturated
    per_core = s_ref.sum(axis=(0, 2))
    assert np.all(per_core > 0) and s_ref.mean() < 0.3 and tot["hops"] > 0
    for threads in (1, 2):
        res = run_program(prog, x.reshape(T, C * 256), seed=3, threads=threads, progress=False)
        got = np.zeros((T, C * 256), np.uint8)
        st = res.spikes["all"]
        got[np.round(st.t * 1e3).astype(int) - 1, st.i] = 1
        assert np.array_equal(got, s_ref.reshape(T, C * 256)), threads
        lay = res.counts.layers["cores"]
        assert (lay["spikes"], lay["synops_ac"], lay["weight_reads"], lay["spikes_routed"],
                lay["hops"]) == (tot["spikes"], tot["synops"], tot["axon_events"],
                                 tot["routed"], tot["hops"])
        assert res.counts.meta["saturations"] == tot["saturations"]


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
