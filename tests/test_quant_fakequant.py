"""spikesim.quant.fakequant + spikesim.nn.ActQuant: rounding, straight-through and LSQ
gradients (against finite differences of the straight-through surrogate), power-of-two
scales, KBit float32 scales, bad input."""
import doctest
import math

import numpy as np
import pytest

import spikesim.nn.actquant as actquant_mod
import spikesim.quant.fakequant as fq_mod
from spikesim.nn import ActQuant
from spikesim.quant import (KBit, fake_quant, fake_quant_backward, lsq_grad_scale, pot_scale,
                            quantize_activations, round_codes)


def test_doctests():
    for mod in (fq_mod, actquant_mod):
        res = doctest.testmod(mod, extraglobs={"np": np},
                              optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0, mod.__name__


def test_rounding_half_up_and_ties():
    u = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49999, -0.50001])
    assert round_codes(u, "half_up").tolist() == [1, 2, 3, 0, -1, 0, -1]
    assert round_codes(u, "half_even").tolist() == [0, 2, 2, -0, -2, 0, -1]
    # the codes of fake_quant are quantize_activations(..., rounding="half_up")
    x = np.random.default_rng(0).normal(size=2000) * 3
    x[:8] = np.array([0.125, 0.375, -0.125, 1.875, 2.0, -2.125, 9.0, -9.0])  # exact ties
    for bits, signed in ((2, False), (4, True), (8, False)):
        y, n, _ = fake_quant(x, 0.25, bits, signed)
        qt = quantize_activations(x, 0.25, bits, signed, rounding="half_up")
        np.testing.assert_array_equal(n, qt.q)
        np.testing.assert_array_equal(y, qt.q * 0.25)


def test_saturation_range_and_ste_mask():
    s = 0.5
    # unsigned 2 bit: codes 0..3, STE passes for -0.25 <= x < 1.75
    x = np.array([-0.26, -0.25, 0.0, 1.7499, 1.75, 5.0])
    y, n, inside = fake_quant(x, s, 2, signed=False)
    assert n.tolist() == [0, 0, 0, 3, 3, 3]
    assert inside.tolist() == [False, True, True, True, False, False]
    gx, _ = fake_quant_backward(np.full(6, 2.0), x, s, n, inside)
    assert gx.tolist() == [0, 2, 2, 2, 0, 0]
    # signed 4 bit: codes -8..7
    y, n, inside = fake_quant(np.array([-100.0, -4.25, 3.74, 100.0]), s, 4, signed=True)
    assert n.tolist() == [-8, -8, 7, 7] and inside.tolist() == [False, True, True, False]
    assert y.dtype == np.float64
    assert fake_quant(np.ones(3, np.float32), s, 8)[0].dtype == np.float32


def _surrogate(x, s, c, inside, n):
    """The function whose exact gradient the STE/LSQ backward is: the rounding offsets ``c``
    and the saturation pattern frozen (rounding treated as the identity)."""
    return np.where(inside, s * (x / s + c), s * n)


@pytest.mark.parametrize("bits,signed", [(2, False), (4, True), (8, False)])
def test_scale_and_input_gradients_match_the_surrogate(bits, signed):
    rng = np.random.default_rng(bits)
    s = 0.37
    qmin, qmax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
    x = rng.uniform(qmin - 3, qmax + 3, 400) * s
    g = rng.normal(size=400)
    y, n, inside = fake_quant(x, s, bits, signed)
    c = n - x / s  # frozen rounding offset
    np.testing.assert_allclose(_surrogate(x, s, c, inside, n), y, atol=1e-12)
    gx, gs = fake_quant_backward(g, x, s, n, inside)
    h = 1e-6
    num_s = np.sum(g * (_surrogate(x, s + h, c, inside, n)
                        - _surrogate(x, s - h, c, inside, n))) / (2 * h)
    assert gs == pytest.approx(num_s, rel=1e-6, abs=1e-6)
    num_x = (_surrogate(x + h, s, c, inside, n) - _surrogate(x - h, s, c, inside, n)) / (2 * h)
    np.testing.assert_allclose(gx, g * num_x, atol=1e-6)
    assert 0 < inside.sum() < inside.size  # both branches exercised
    # LSQ: inside the range d = n - x/s, saturated d = the clip value
    d = np.where(inside, n - x / s, n)
    assert gs == pytest.approx(float(np.sum(g * d)))


@pytest.mark.parametrize("bits", [2, 4])
@pytest.mark.parametrize("start", [1e-3, 10.0])
def test_lsq_gradient_descent_finds_a_good_scale(bits, start):
    """Behaviour: descending the LSQ scale gradient of the quantisation MSE from a far too
    small or far too large scale ends near the best scale (brute force on a fine grid)."""
    x = np.abs(np.random.default_rng(7).normal(size=4000))
    log_s = math.log(start)
    for _ in range(3000):
        s = math.exp(log_s)
        y, n, inside = fake_quant(x, s, bits)
        _, gs = fake_quant_backward(2 * (y - x) / x.size, x, s, n, inside)
        log_s -= 0.05 * np.sign(gs * s)  # sign descent in log scale (Adam-like)
    grid = np.exp(np.linspace(math.log(1e-3), math.log(10), 2000))
    mse = [np.mean((fake_quant(x, g, bits)[0] - x) ** 2) for g in grid]
    got = np.mean((fake_quant(x, math.exp(log_s), bits)[0] - x) ** 2)
    assert got <= 1.15 * min(mse), (math.exp(log_s), grid[int(np.argmin(mse))])


def test_actquant_layer_gradients_and_scale():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 5)).astype(np.float64) * 2
    q = ActQuant(4, signed=True, scale=0.3).astype(np.float64)
    assert q.scale == 0.5 and q.params["log2_scale"][0] == -1.5  # octave middle
    y = q.forward(x)
    g = rng.normal(size=y.shape)
    gx = q.backward(g)
    _, n, inside = fake_quant(x, 0.5, 4, True)
    gx_ref, gs_ref = fake_quant_backward(g, x, 0.5, n, inside)
    np.testing.assert_array_equal(gx, gx_ref)
    want = gs_ref * lsq_grad_scale(5, 4, True) * 0.5 * math.log(2)
    assert q.grads["log2_scale"][0] == pytest.approx(want)
    # fixed scale: no gradient entry, so optimisers leave it alone
    q2 = ActQuant(4, scale=0.3, learn_scale=False)
    q2.forward(x.astype(np.float32))
    q2.backward(np.ones((6, 5), np.float32))
    assert "log2_scale" not in q2.grads
    # non power-of-two scale is used as given
    assert ActQuant(8, scale=0.3, power_of_two=False).scale == pytest.approx(0.3)


def test_pot_scale_is_the_least_squares_power_of_two():
    rng = np.random.default_rng(5)
    x = np.abs(rng.standard_t(3, size=5000))
    for bits in (2, 4, 8):
        s = pot_scale(x, bits)
        assert math.log2(s) == round(math.log2(s))
        errs = {e: np.mean((fake_quant(x, 2.0 ** e, bits)[0] - x) ** 2) for e in range(-14, 6)}
        assert errs[int(math.log2(s))] == min(errs.values())
    assert pot_scale(np.zeros(4), 8) == 1.0


def test_kbit_float32_scales_are_exact_float32_and_same_integers():
    w = np.random.default_rng(2).normal(size=(7, 3, 3, 3))
    a, b = KBit(4, per_channel=True), KBit(4, per_channel=True, scale_float32=True)
    sb = b.quantize(w).scale
    np.testing.assert_array_equal(sb, sb.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(sb, a.quantize(w).scale, rtol=1e-7)
    np.testing.assert_array_equal(a.quantize(w).q, b.quantize(w).q)
    assert b.quantize(w).n_clipped == 0


def test_bad_input():
    with pytest.raises(ValueError, match="scale"):
        fake_quant(np.ones(2), 0.0, 8)
    with pytest.raises(ValueError, match="bits"):
        fake_quant(np.ones(2), 1.0, 1, signed=True)
    with pytest.raises(TypeError, match="float"):
        fake_quant(np.ones(2, np.int64), 1.0, 8)
    with pytest.raises(ValueError, match="rounding"):
        round_codes(np.ones(2), "up")
    with pytest.raises(ValueError, match="rounding"):
        quantize_activations(np.ones(2), 1.0, 8, rounding="nearest")
    with pytest.raises(ValueError, match="scale"):
        ActQuant(8, scale=-1.0)
    with pytest.raises(TypeError, match="scale_float32"):
        KBit(4, scale_float32="yes")
    with pytest.raises(TypeError, match="float"):
        ActQuant(8).forward(np.ones((2, 2), np.int64))
