"""spikesim.quant: specs, round trips, ranges, clipping counts, ternary, STE constraints."""
import doctest

import numpy as np
import pytest

import spikesim.quant as quant
from spikesim.quant import (KBit, QTensor, QuantSpec, Ternary, calibrate_scale, dequantize,
                            get_constraint, int_range, quantize, quantize_activations, ternary)


def test_doctests():
    for mod in (quant, quant.core, quant.constraints, quant.activations):
        res = doctest.testmod(mod, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0, mod.__name__


@pytest.mark.parametrize("bits,signed,rng_", [(8, True, (-128, 127)), (2, True, (-2, 1)),
                                              (4, False, (0, 15)), (1, False, (0, 1)),
                                              (16, True, (-32768, 32767))])
def test_int_range(bits, signed, rng_):
    assert int_range(bits, signed) == rng_


@pytest.mark.parametrize("bits", [2, 3, 4, 8, 12])
@pytest.mark.parametrize("per_channel", [False, True])
def test_round_trip_error_bounded_by_half_step(bits, per_channel):
    rng = np.random.default_rng(bits)
    w = rng.normal(size=(6, 5, 3)).astype(np.float32)
    qt = quantize(w, QuantSpec(bits, per_channel=per_channel))
    assert qt.n_clipped == 0  # method="max" never saturates
    assert qt.q.min() >= -(2 ** (bits - 1)) + 1 and qt.q.max() <= 2 ** (bits - 1) - 1
    err = np.abs(dequantize(qt, np.float64) - w)
    assert np.all(err <= qt.scale / 2 + 1e-7)
    # the calibration magnitude maps exactly to qmax
    amax = np.abs(w).reshape(6, -1).max(1) if per_channel else np.abs(w).max()
    qmax = 2 ** (bits - 1) - 1
    np.testing.assert_allclose(np.asarray(qt.scale).ravel() * qmax, amax, rtol=1e-6)
    if per_channel:
        assert qt.scale.shape == (6, 1, 1)
        # each channel reaches +-qmax somewhere
        assert np.all(np.abs(qt.q).reshape(6, -1).max(1) == 2 ** (bits - 1) - 1)


def test_dtype_and_requantize_is_exact():
    w = np.linspace(-1, 1, 101)
    qt = quantize(w, QuantSpec(8))
    assert qt.q.dtype == np.int8
    assert quantize(w, QuantSpec(12)).q.dtype == np.int16
    qt2 = quantize(dequantize(qt, np.float64), QuantSpec(8))
    np.testing.assert_array_equal(qt.q, qt2.q)


def test_round_half_to_even():
    qt = quantize(np.array([0.5, 1.5, 2.5, -2.5, -0.5]), QuantSpec(8), scale=1.0)
    assert qt.q.tolist() == [0, 2, 2, -2, 0]


def test_percentile_saturates_and_counts():
    w = np.concatenate([np.linspace(-1, 1, 999), [50.0]])
    qt = quantize(w, QuantSpec(4, method="percentile", percentile=99.0))
    assert qt.n_clipped >= 1
    assert qt.q.max() == 7 and qt.q[-1] == 7
    # count equals the number of entries whose rounded value exceeds the range
    r = np.rint(w / qt.scale)
    assert qt.n_clipped == int(np.sum((r > 7) | (r < -8)))


def test_fixed_scale_saturation_counted():
    qt = quantize(np.array([-3.0, -1.0, 0.0, 2.0]), QuantSpec(2), scale=1.0)
    assert qt.q.tolist() == [-2, -1, 0, 1]
    assert qt.n_clipped == 2


def test_zero_tensor_scale_one():
    qt = quantize(np.zeros((3, 2)), QuantSpec(8, per_channel=True))
    assert np.all(qt.scale == 1.0) and np.all(qt.q == 0)


@pytest.mark.parametrize("kwargs,exc", [
    (dict(bits=1), ValueError), (dict(bits=33), ValueError), (dict(bits=2.0), TypeError),
    (dict(bits=8, method="mean"), ValueError), (dict(bits=8, percentile=0), ValueError),
    (dict(bits=8, signed="yes"), TypeError), (dict(bits=0, signed=False), ValueError)])
def test_spec_validation(kwargs, exc):
    with pytest.raises(exc):
        QuantSpec(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        quantize(np.array([1.0, np.nan]), QuantSpec(8))
    with pytest.raises(TypeError):
        quantize(np.array(["a"]), QuantSpec(8))
    with pytest.raises(TypeError):
        quantize(np.ones(3), 8)
    with pytest.raises(ValueError, match="axis"):
        quantize(np.ones(3), QuantSpec(8, per_channel=True, axis=2))
    with pytest.raises(ValueError, match="scale"):
        quantize(np.ones(3), QuantSpec(8), scale=0.0)
    with pytest.raises(TypeError):
        dequantize(np.ones(3))


def test_ternary_twn():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4, 50))
    qt = ternary(w)
    assert set(np.unique(qt.q)) <= {-1, 0, 1}
    delta = 0.7 * np.abs(w).mean()
    keep = np.abs(w) > delta
    np.testing.assert_array_equal(qt.q, np.sign(w) * keep)
    np.testing.assert_allclose(qt.scale, np.abs(w[keep]).mean())
    pc = ternary(w, per_channel=True)
    assert pc.scale.shape == (4, 1)
    for c in range(4):
        d = 0.7 * np.abs(w[c]).mean()
        k = np.abs(w[c]) > d
        np.testing.assert_array_equal(pc.q[c], np.sign(w[c]) * k)
        np.testing.assert_allclose(pc.scale[c, 0], np.abs(w[c][k]).mean())
    # explicit delta
    qt2 = ternary(np.array([0.1, 0.3, -0.6]), delta=0.2)
    assert qt2.q.tolist() == [0, 1, -1]
    np.testing.assert_allclose(qt2.scale, 0.45)
    with pytest.raises(ValueError):
        ternary(w, delta=-1.0)


def test_kbit_constraint_forward_matches_quantize_and_ste():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(5, 7)).astype(np.float32)
    c = KBit(3, per_channel=True)
    wq = c.forward(w)
    assert wq.dtype == np.float32
    np.testing.assert_array_equal(wq, dequantize(c.quantize(w), np.float32))
    assert np.unique(wq[0]).size <= 7
    g = rng.normal(size=w.shape).astype(np.float32)
    np.testing.assert_array_equal(c.backward(w, g), g)  # identity STE
    # clipped STE: zero gradient where the weight saturates
    cp = KBit(3, method="percentile", percentile=50.0, ste="clipped")
    lim = np.percentile(np.abs(w), 50.0) / 3 * 3
    gb = cp.backward(w, g)
    np.testing.assert_array_equal(gb, np.where(np.abs(w) <= lim, g, 0))
    assert np.count_nonzero(gb == 0) > 0


def test_ternary_constraint_and_get():
    w = np.array([[0.9, -0.05, -1.1, 0.3]], dtype=np.float32)
    np.testing.assert_allclose(Ternary().forward(w), [[1.0, 0.0, -1.0, 0.0]])
    g = np.ones_like(w)
    np.testing.assert_array_equal(Ternary(ste="clipped").backward(w, g), [[1, 1, 0, 1]])
    assert isinstance(get_constraint("int8"), KBit) and get_constraint("int8").bits == 8
    assert isinstance(get_constraint("ternary"), Ternary)
    assert get_constraint(None) is None
    with pytest.raises(ValueError, match="constraint"):
        get_constraint("int")
    with pytest.raises(ValueError, match="ste"):
        KBit(4, ste="none")


def test_activation_quantisation():
    rng = np.random.default_rng(3)
    x = np.maximum(rng.normal(size=1000), 0)
    s = calibrate_scale(x, 8, method="max")
    qt = quantize_activations(x, s, 8)
    assert isinstance(qt, QTensor) and qt.q.dtype == np.uint8
    assert qt.n_clipped == 0 and qt.q.max() == 255
    np.testing.assert_allclose(qt.dequantize(np.float64), x, atol=s / 2 + 1e-12)
    sp = calibrate_scale(x, 8, method="percentile", percentile=90)
    qp = quantize_activations(x, sp, 8)
    assert qp.n_clipped == int(np.sum(np.rint(x / sp) > 255)) > 0
    neg = quantize_activations(np.array([-1.0, 1.0]), 0.1, 4)
    assert neg.q.tolist() == [0, 10] and neg.n_clipped == 1
    sgn = quantize_activations(np.array([-1.0, 1.0]), calibrate_scale([-1.0, 1.0], 4, True, "max"),
                               4, signed=True)
    assert sgn.q.tolist() == [-7, 7]
    assert calibrate_scale(np.zeros(4), 8) == 1.0
    with pytest.raises(ValueError):
        quantize_activations(x, 0.0, 8)
    with pytest.raises(ValueError):
        calibrate_scale(np.array([]), 8)
