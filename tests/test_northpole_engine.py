"""Integer engine of the NorthPole backend against the slow Python-int reference."""
import numpy as np
import pytest

from spikesim.backends.northpole import (IntAvgPool2d, IntConv2d, IntDense, IntFlatten,
                                         IntMaxPool2d, IntReLU, quantize_multiplier,
                                         requantize, run_layers)
from spikesim.backends.northpole.layers import int_range

import naive_northpole as naive


def _mac(cls, name, rng, shape, w_bits, in_bits, in_signed, out_bits, relu, scale=None, **kw):
    lo, hi = int_range(w_bits, True)
    w = rng.integers(lo, hi + 1, size=shape)
    o = shape[0]
    b = rng.integers(-2000, 2000, size=o)
    if out_bits is None:
        return cls(name, w, b, None, None, w_bits, in_bits, in_signed, None, relu=False, **kw)
    fan = int(np.prod(shape[1:]))
    m = (scale if scale is not None else 1.0 / (fan * 2 ** (in_bits - 1))) * \
        rng.uniform(0.5, 2.0, size=o)
    M, s = quantize_multiplier(m)
    return cls(name, w, b, M, s, w_bits, in_bits, in_signed, out_bits, relu=relu, **kw)


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_cnn_matches_naive_bit_exact(bits):
    rng = np.random.default_rng(bits)
    layers = [
        _mac(IntConv2d, "c1", rng, (4, 2, 3, 3), bits, bits, False, bits, True,
             scale=16.0 / (18 * 2 ** bits), padding=1),
        IntMaxPool2d("p1", 2),
        _mac(IntConv2d, "c2", rng, (5, 4, 3, 3), bits, bits, False, bits, False,
             scale=3.0 / (36 * 2 ** bits), stride=2),
        IntReLU("r2"),
        IntAvgPool2d("a2", 1),
        IntFlatten("f"),
        _mac(IntDense, "d1", rng, (6, 5 * 2 * 2), bits, bits, False, bits, True,
             scale=3.0 / (20 * 2 ** bits)),
        _mac(IntDense, "out", rng, (3, 6), bits, bits, False, None, False),
    ]
    lo, hi = int_range(bits, False)
    x = rng.integers(lo, hi + 1, size=(3, 2, 10, 10))
    y, stats = run_layers(layers, x, bits, False)
    ref = naive.run(layers, x, bits, False)
    np.testing.assert_array_equal(y, ref)
    assert y.shape == (3, 3)
    # the test data saturates somewhere: saturation counting is exercised
    assert sum(s["out_saturations"] for s in stats) > 0


def test_avgpool_and_signed_input_match_naive():
    rng = np.random.default_rng(5)
    layers = [_mac(IntConv2d, "c", rng, (3, 2, 2, 2), 8, 8, True, 8, False, padding=(1, 0)),
              IntAvgPool2d("a", 2, 1), IntFlatten("f")]
    x = rng.integers(-128, 128, size=(2, 2, 6, 5))
    y, _ = run_layers(layers, x, 8, True)
    np.testing.assert_array_equal(y, naive.run(layers, x, 8, True))


def test_split_and_int64_fallbacks_are_exact():
    rng = np.random.default_rng(1)
    # fan-in 4096 of int8 x uint8: bound ~255*64*4096 > 2**24 -> float32 chunks added in float64
    big = _mac(IntDense, "big", rng, (4, 4096), 8, 8, False, None, False)
    assert big.exact_dtype() == "float32-split"
    x = np.full((2, 4096), 255)
    x[1] = rng.integers(0, 256, 4096)
    y, st = run_layers([big], x, 8, False)
    assert st[0]["dtype"] == "float32-split"
    np.testing.assert_array_equal(y, naive.run([big], x, 8, False))
    # a conv whose fan-in needs the split, bit-exact against the naive reference
    w = np.full((3, 64, 3, 3), -128)
    w[1] = 127
    conv = IntConv2d("cb", w, np.zeros(3, np.int64), None, None, 8, 8, False, None, padding=1)
    assert conv.exact_dtype() == "float32-split"
    xc = rng.integers(200, 256, (1, 64, 4, 4))
    yc, st = run_layers([conv], xc, 8, False)
    np.testing.assert_array_equal(yc, naive.run([conv], xc, 8, False))
    from spikesim.backends.northpole.engine import _k_chunks
    ch = _k_chunks(np.full((576, 2), 127.0), 255)
    assert ch[0] == (0, 2 ** 24 // (255 * 127)) and ch[-1][1] == 576
    small = _mac(IntDense, "small", rng, (4, 64), 4, 4, False, 4, True)
    assert small.exact_dtype() == "float32"
    # int64 path (only reachable for fan-ins > 2**53 / (255*128)): exact on huge values
    from spikesim.backends.northpole.engine import _matmul_exact
    a = np.array([[2 ** 40, 3]], dtype=np.int64)
    np.testing.assert_array_equal(_matmul_exact(a, np.array([[2 ** 20 + 1], [1]]), "int64"),
                                  [[2 ** 60 + 2 ** 40 + 3]])


def test_accumulator_saturates_and_is_counted():
    w = np.full((1, 70000), 127)
    layer = IntDense("sat", w, np.zeros(1, dtype=np.int64), None, None, 8, 8, False, None)
    assert layer.exact_dtype() == "float32-split"  # 255*127*70000 ~ 2.3e9 > 2**31
    y, st = run_layers([layer], np.full((1, 70000), 255), 8, False)
    assert y[0, 0] == 2 ** 31 - 1 and st[0]["acc_saturations"] == 1


def test_requantize_rounding_half_up_and_saturation():
    M, s = quantize_multiplier(0.5)
    assert int(M[0]) == 2 ** 30 and int(s[0]) == 31
    acc = np.array([[-3, -1, 1, 3, 255, 400]], dtype=np.int64)
    y, n = requantize(acc, M, s, 8, True)
    # -1.5 -> -1, -0.5 -> 0, 0.5 -> 1, 1.5 -> 2 (half toward +inf); 200 -> 127 saturated
    np.testing.assert_array_equal(y, [[-1, 0, 1, 2, 127, 127]])
    assert n == 2


def test_quantize_multiplier_precision():
    m = np.geomspace(1e-9, 1e3, 50)
    M, s = quantize_multiplier(m)
    assert np.all(M < 2 ** 31) and np.all(s >= 1) and np.all(s <= 62)
    np.testing.assert_allclose(M * 2.0 ** -s.astype(float), m, rtol=2 ** -29)
    with pytest.raises(ValueError, match="multiplier"):
        quantize_multiplier(0.0)


def test_bad_layers_and_inputs():
    with pytest.raises(ValueError, match="w_bits"):
        IntDense("d", np.zeros((2, 2), int), np.zeros(2, int), None, None, 3, 8, False, None)
    with pytest.raises(ValueError, match="4-bit range"):
        IntDense("d", np.full((2, 2), 9), np.zeros(2, int), None, None, 4, 8, False, None)
    with pytest.raises(TypeError, match="integer"):
        IntDense("d", np.zeros((2, 2)), np.zeros(2, int), None, None, 8, 8, False, None)
    d = IntDense("d", np.ones((2, 3), int), np.zeros(2, int), None, None, 8, 8, False, None)
    with pytest.raises(ValueError, match="outside the 8-bit"):
        run_layers([d], np.full((1, 3), 256), 8, False)
    with pytest.raises(TypeError, match="integer array"):
        run_layers([d], np.zeros((1, 3)), 8, False)
    with pytest.raises(ValueError, match="expects 8-bit unsigned inputs; the previous layer gives 4-bit"):
        run_layers([d], np.zeros((1, 3), int), 4, False)
