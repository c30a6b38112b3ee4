"""Loihi fixed-point CUBA LIF: hand-computed sequences, the naive twin, bad input."""
import numpy as np
import pytest

from spikesim.backends.loihi import run_lif
from tests.naive_loihi import naive_lif


def test_current_decay_truncates_toward_zero_with_offset():
    # du=0 -> factor (4096 - 1)/4096 (the Loihi-1 offset); 640*4095/4096 = 639.84 -> 639
    a = np.zeros((3, 2), dtype=np.int16)
    a[0] = [10, -10]
    s, u, v = run_lif(a, du=0, dv=4095, vth=131071)
    assert u[:, 0].tolist() == [640, 639, 638]
    # negative: -639.84 -> -639 (toward zero; a floor would give -640)
    assert u[:, 1].tolist() == [-640, -639, -638]
    # dv=4095 keeps 1/4096 of v: v = trunc(v/4096) + u
    assert v[:, 0].tolist() == [640, 639 + 0, 638 + 0]


def test_du_4095_gives_full_current_decay_and_threshold_strictly_greater():
    s, u, v = run_lif(np.full((5, 1), 10), du=4095, dv=0, vth=20)
    assert u[:, 0].tolist() == [640] * 5
    assert v[:, 0].tolist() == [640, 1280, 0, 640, 1280]   # 1280 == 20<<6 does not spike
    assert s[:, 0].tolist() == [False, False, True, False, False]


def test_current_wraps_at_24_bits():
    # hand computed: u_{t+1} = trunc(u_t * 4095 / 4096) + 32767 * 64, e.g.
    # 2097088 * 4095 / 4096 = 2096576.02 -> 2096576; + 2097088 = 4193664; ...; 10480320 > 2**23 wraps
    s, u, v = run_lif(np.full((5, 1), 32767), du=0, dv=0, vth=131071)
    assert u[:, 0].tolist() == [2097088, 4193664, 6289728, 8385280, 10480320 - 2 ** 24]


def test_voltage_saturates():
    s, u, v = run_lif(np.zeros((18, 1), dtype=int), du=0, dv=0, vth=0,
                      bias_mant=-4096, bias_exp=7)
    expect = [max(-524288 * (k + 1), -(2 ** 23) + 1) for k in range(18)]
    assert v[:, 0].tolist() == expect
    assert v[15, 0] == -(2 ** 23) + 1 and not s.any()


def test_bias_reaches_threshold_and_u_not_reset():
    s, u, v = run_lif(np.zeros((4, 1), dtype=int), du=4095, dv=0, vth=1, bias_mant=33)
    # v: 33, 66 > 64 -> spike, reset 0; 33; 66 -> spike
    assert v[:, 0].tolist() == [33, 0, 33, 0]
    assert s[:, 0].tolist() == [False, True, False, True]
    s, u, v = run_lif(np.full((3, 1), 100), du=2048, dv=4095, vth=1)
    assert s[:, 0].all() and u[-1, 0] != 0   # the current survives the spike


def test_refractory_holds_voltage():
    a = np.full((6, 1), 5)
    s0, _, _ = run_lif(a, du=4095, dv=0, vth=1)
    s2, u2, v2 = run_lif(a, du=4095, dv=0, vth=1, refractory=2)
    assert s0[:, 0].tolist() == [True] * 6          # 320 > 64 every step
    assert s2[:, 0].tolist() == [True, False, False, True, False, False]
    assert v2[:, 0].tolist() == [0] * 6
    assert u2[:, 0].tolist() == [320] * 6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_naive_twin(seed):
    rng = np.random.default_rng(seed)
    T, n = 60, 12
    a = rng.integers(-32768, 32768, size=(T, n)) if seed == 0 else rng.integers(-300, 600, (T, n))
    du = rng.integers(0, 4096, n)
    dv = rng.integers(0, 4096, n)
    vth = rng.integers(0, 2 ** 17, n) if seed == 0 else rng.integers(0, 400, n)
    bm = rng.integers(-4096, 4096, n)
    be = rng.integers(0, 8, n)
    rf = rng.integers(0, 4, n) if seed == 2 else 0
    s, u, v = run_lif(a, du, dv, vth, bm, be, rf)
    S, U, V = naive_lif(a.tolist(), du, dv, vth, bm, be, rf)
    np.testing.assert_array_equal(s, np.array(S))
    np.testing.assert_array_equal(u, np.array(U))
    np.testing.assert_array_equal(v, np.array(V))
    if seed:
        assert 0 < s.sum() < s.size


@pytest.mark.parametrize("kw,msg", [
    (dict(du=4096), "du=4096 is out of range"),
    (dict(dv=-1), "dv=-1 is out of range"),
    (dict(vth=2 ** 17), "vth=131072 is out of range"),
    (dict(bias_mant=4096), "bias_mant=4096 is out of range"),
    (dict(bias_mant=-4097), "bias_mant=-4097"),
    (dict(bias_exp=8), "bias_exp=8 is out of range"),
    (dict(refractory=64), "refractory=64"),
])
def test_bad_parameters(kw, msg):
    args = dict(du=0, dv=0, vth=10)
    args.update(kw)
    with pytest.raises(ValueError, match=msg):
        run_lif(np.zeros((2, 3), dtype=int), **args)


def test_bad_input():
    with pytest.raises(ValueError, match="a_in value 32768 is out of range"):
        run_lif(np.full((2, 1), 32768), du=0, dv=0, vth=1)
    with pytest.raises(TypeError, match="integer array"):
        run_lif(np.zeros((2, 1)), du=0, dv=0, vth=1)
    with pytest.raises(ValueError, match="shape"):
        run_lif(np.zeros(3, dtype=int), du=0, dv=0, vth=1)
    with pytest.raises(ValueError, match="shape"):
        run_lif(np.zeros((2, 3), dtype=int), du=[1, 2], dv=0, vth=1)
