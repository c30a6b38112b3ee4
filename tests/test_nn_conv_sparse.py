"""Conv2d on sparse input (spikes): the zero-skipping kernels against the naive convolution,
the dense path, and float64 finite differences."""
import numpy as np
import pytest

from naive_nn import conv2d
from spikesim.nn import Conv2d, Sequential
from spikesim.nn import _conv_kernels as CK
from spikesim.nn import layers as L
from test_nn_gradcheck import check_model


def sparse_input(shape, density, seed=0, binary=False):
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < density
    return (mask * (1.0 if binary else rng.normal(size=shape))).astype(np.float64)


@pytest.mark.parametrize("stride,pad,ks", [(1, 0, (5, 5)), (2, 1, (3, 2)), (1, 2, (3, 3))])
def test_sparse_kernels_match_naive(stride, pad, ks):
    rng = np.random.default_rng(1)
    x = sparse_input((3, 4, 9, 8), 0.2, seed=2)
    w = rng.normal(size=(5, 4, *ks))
    b = rng.normal(size=5)
    ref = conv2d(x, w, b, stride, pad)
    y = CK.sparse_conv_forward(x, w, b, stride, pad)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    # weight gradient of sum(y * g) is sum over positions of g * input patch
    g = rng.normal(size=ref.shape)
    gw = CK.sparse_conv_weight_grad(x, g, *ks, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ref_gw = np.zeros_like(w)
    for i in range(ref.shape[2]):
        for j in range(ref.shape[3]):
            patch = xp[:, :, i * stride:i * stride + ks[0], j * stride:j * stride + ks[1]]
            ref_gw += np.tensordot(g[:, :, i, j], patch, axes=([0], [0]))
    np.testing.assert_allclose(gw, ref_gw, rtol=1e-12, atol=1e-12)
    # input gradient: every output position sends g * weight back to its input patch;
    # half of g zeroed (the kernel skips zeros)
    g[rng.random(g.shape) < 0.5] = 0.0
    gx = CK.sparse_conv_input_grad(g, w, x.shape, stride, pad)
    ref_gx = np.zeros_like(xp)
    for i in range(ref.shape[2]):
        for j in range(ref.shape[3]):
            ref_gx[:, :, i * stride:i * stride + ks[0], j * stride:j * stride + ks[1]] += \
                np.tensordot(g[:, :, i, j], w, axes=([1], [0]))
    ref_gx = ref_gx[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    np.testing.assert_allclose(gx, ref_gx, rtol=1e-12, atol=1e-12)


def test_sparse_and_dense_paths_agree(monkeypatch):
    x = sparse_input((40, 3, 10, 10), 0.1, seed=3, binary=True).astype(np.float32)
    conv = Conv2d(3, 6, 3, padding=1, rng=0)
    g = np.random.default_rng(4).normal(size=(40, 6, 10, 10)).astype(np.float32)
    out = {}
    for name, dens in (("sparse", 1.1), ("dense", 0.0)):
        monkeypatch.setattr(L, "SPARSE_DENSITY", dens)
        y = conv.forward(x)
        assert conv._cache[4] == (name == "sparse")
        conv.needs_input_grad = True
        gx = conv.backward(g)
        out[name] = (y, gx, conv.grads["weight"], conv.grads["bias"])
    for a, b in zip(out["sparse"], out["dense"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_sparse_path_gradcheck(monkeypatch):
    monkeypatch.setattr(L, "_SPARSE_MIN", 0)
    monkeypatch.setattr(L, "SPARSE_DENSITY", 0.5)
    x = sparse_input((3, 2, 7, 6), 0.25, seed=5)
    layer = Conv2d(2, 3, (3, 2), stride=2, padding=1, rng=0)
    check_model(Sequential(layer), x)
    assert layer._cache[4]  # the sparse path ran


def test_sparse_grads_reproducible_across_threads():
    import numba

    x = sparse_input((64, 12, 12, 12), 0.15, seed=6, binary=True).astype(np.float32)
    g = np.random.default_rng(7).normal(size=(64, 16, 8, 8)).astype(np.float32)
    w = np.random.default_rng(8).normal(size=(16, 12, 5, 5)).astype(np.float32)
    n0 = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = CK.sparse_conv_weight_grad(x, g, 5, 5, 1, 0)
        ga = CK.sparse_conv_input_grad(g, w, x.shape, 1, 0)
        numba.set_num_threads(n0)
        b = CK.sparse_conv_weight_grad(x, g, 5, 5, 1, 0)
        gb = CK.sparse_conv_input_grad(g, w, x.shape, 1, 0)
    finally:
        numba.set_num_threads(n0)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ga, gb)


def test_dense_sparse_forward_matches_blas(monkeypatch):
    from spikesim.nn import Dense

    x = sparse_input((64, 100), 0.15, seed=8)
    d = Dense(100, 300, rng=0, dtype=np.float64)
    g = np.random.default_rng(9).normal(size=(64, 300))
    out = {}
    for name, dens in (("sparse", 0.5 * 64), ("dense", 0.0)):
        monkeypatch.setattr(L, "DENSE_SPARSE_DENSITY", dens)
        y = d.forward(x)
        assert d._cache[2] == (name == "sparse")
        gx = d.backward(g)
        out[name] = (y, gx, d.grads["weight"], d.grads["bias"])
    for a, b in zip(out["sparse"], out["dense"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["sparse"][0], x @ d.params["weight"].T + d.params["bias"],
                               rtol=1e-12, atol=1e-12)
