"""Loihi weights (precision, sign mode, exponent) and synaptic delays."""
import numpy as np
import pytest

from spikesim.backends.loihi.synapse import Weights, encode, synaptic_input, synops, weight_grid
from tests.naive_loihi import naive_synaptic_input


def test_grids():
    assert weight_grid(9, "mixed") == (1, -256, 255)
    assert weight_grid(8, "mixed") == (2, -256, 254)
    assert weight_grid(2, "mixed") == (128, -256, 128)
    assert weight_grid(8, "excitatory") == (1, 0, 255)
    assert weight_grid(1, "excitatory") == (128, 0, 128)
    assert weight_grid(3, "inhibitory") == (32, -224, 0)


@pytest.mark.parametrize("bits", [2, 3, 5, 8, 9])
def test_encode_error_within_half_step(bits):
    rng = np.random.default_rng(bits)
    w = rng.normal(0, 1.0, (20, 30))
    enc = encode(w, num_bits=bits)
    step, lo, hi = weight_grid(bits, "mixed")
    assert enc.sign_mode == "mixed"
    assert np.all(enc.w % step == 0) and enc.w.min() >= lo and enc.w.max() <= hi
    err = np.abs(enc.value - w)
    assert err.max() <= 0.5 * step * 2.0 ** enc.weight_exp + 1e-12
    # the exponent is the smallest that fits: one lower would overflow the mantissa range
    assert np.abs(w).max() / 2.0 ** (enc.weight_exp - 1) > min(-lo, hi)


def test_bad_weights():
    with pytest.raises(ValueError, match="weight 3 is beyond the chosen precision"):
        Weights(np.array([[3]]), 8, "mixed", 0)
    with pytest.raises(ValueError, match=r"weight 300 is out of range .* allowed -256..254"):
        Weights(np.array([[300]]), 8, "mixed", 0)
    with pytest.raises(ValueError, match="weight -1 is out of range"):
        Weights(np.array([[-1]]), 8, "excitatory", 0)
    with pytest.raises(ValueError, match="num_bits=10 is out of range"):
        weight_grid(10, "mixed")
    with pytest.raises(ValueError, match="num_bits=9 is out of range"):
        weight_grid(9, "excitatory")
    with pytest.raises(ValueError, match="sign_mode='both'"):
        weight_grid(8, "both")
    with pytest.raises(ValueError, match="weight_exp=8 is out of range"):
        Weights(np.array([[2]]), 8, "mixed", 8)
    with pytest.raises(ValueError, match="delay 64 is out of range"):
        Weights(np.array([[2]]), 8, "mixed", 0, delays=np.array([[64]]))
    with pytest.raises(ValueError, match="too large"):
        encode(np.array([[1e6]]))
    with pytest.raises(TypeError, match="integer mantissas"):
        Weights(np.array([[2.0]]), 8, "mixed", 0)


def test_one_step_delay_and_exponent():
    s = np.zeros((4, 2), dtype=bool)
    s[0, 0] = s[1, 1] = s[2, 0] = s[2, 1] = True
    w = Weights(np.array([[6, -4]]), 8, "mixed", -1)
    a = synaptic_input(s, w)
    # arrivals one step later; (6 - 4) >> 1 = 1, 6 >> 1 = 3, -4 >> 1 = -2
    assert a[:, 0].tolist() == [0, 3, -2, 1]
    assert synops(s, w) == 4


@pytest.mark.parametrize("use_delays", [False, True])
def test_matches_naive(use_delays):
    rng = np.random.default_rng(5)
    T, n_pre, n_post = 30, 7, 5
    s = rng.random((T, n_pre)) < 0.3
    wm = (rng.integers(-128, 128, (n_post, n_pre)) * 2)
    d = rng.integers(0, 5, (n_post, n_pre)) if use_delays else None
    for exp in (-3, 0, 2):
        w = Weights(wm, 8, "mixed", exp, d)
        a = synaptic_input(s, w)
        ref = naive_synaptic_input(s.tolist(), wm.tolist(), exp, None if d is None else d.tolist())
        np.testing.assert_array_equal(a, np.array(ref))
    # batched input gives the same per-sample result
    sb = np.stack([s, s[::-1]], axis=1)
    ab = synaptic_input(sb, w)
    np.testing.assert_array_equal(ab[:, 0], synaptic_input(s, w))
    np.testing.assert_array_equal(ab[:, 1], synaptic_input(s[::-1].copy(), w))
