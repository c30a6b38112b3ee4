"""Slow, obviously correct integer reference for the NorthPole engine (Python ints, loops).

Same semantics as ``backends/northpole/layers.py``: exact sums, int32 clamp, requantisation
``(acc * M + 2**(s-1)) >> s`` (floor division by 2**s, i.e. rounding half toward +inf),
clamp to the output range; ReLU = lower clamp at 0.
"""
from __future__ import annotations

import numpy as np

I32 = (-(2 ** 31), 2 ** 31 - 1)


def rng_of(bits, signed):
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


def clamp(v, lo, hi):
    return lo if v < lo else hi if v > hi else v


def requant_one(acc, M, s, bits, signed):
    v = (acc * M + 2 ** (s - 1)) // (2 ** s)
    lo, hi = rng_of(bits, signed)
    return clamp(v, lo, hi)


def finish(layer, acc, c):
    acc = clamp(acc + int(layer.bias[c]), *I32)
    if layer.out_bits is None:
        return acc
    return requant_one(acc, int(layer.multiplier[c]), int(layer.shift[c]), layer.out_bits,
                       not layer.relu)


def dense(layer, x):
    n, f = x.shape
    o = layer.weight.shape[0]
    y = np.zeros((n, o), dtype=object)
    for b in range(n):
        for c in range(o):
            acc = 0
            for k in range(f):
                acc += int(x[b, k]) * int(layer.weight[c, k])
            y[b, c] = finish(layer, acc, c)
    return y


def conv(layer, x):
    n, ci, h, w = x.shape
    o, _, kh, kw = layer.weight.shape
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    ho = (h + 2 * ph - kh) // sh + 1
    wo = (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, o, ho, wo), dtype=object)
    for b in range(n):
        for c in range(o):
            for i in range(ho):
                for j in range(wo):
                    acc = 0
                    for q in range(ci):
                        for di in range(kh):
                            for dj in range(kw):
                                r, s = i * sh + di - ph, j * sw + dj - pw
                                if 0 <= r < h and 0 <= s < w:
                                    acc += int(x[b, q, r, s]) * int(layer.weight[c, q, di, dj])
                    y[b, c, i, j] = finish(layer, acc, c)
    return y


def pool(layer, x, kind, bits=None, signed=None):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw) = layer.kernel, layer.stride
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.zeros((n, c, ho, wo), dtype=object)
    for b in range(n):
        for q in range(c):
            for i in range(ho):
                for j in range(wo):
                    vals = [int(x[b, q, i * sh + di, j * sw + dj])
                            for di in range(kh) for dj in range(kw)]
                    if kind == "max":
                        y[b, q, i, j] = max(vals)
                    else:
                        y[b, q, i, j] = requant_one(sum(vals), layer.multiplier, layer.shift,
                                                    bits, signed)
    return y


def run(layers, x, in_bits, in_signed):
    """Reference forward pass; returns an int64 array."""
    from spikesim.backends.northpole.layers import (IntAvgPool2d, IntConv2d, IntDense,
                                                    IntFlatten, IntMaxPool2d, IntReLU)
    cur = np.asarray(x).astype(object)
    bits, signed = in_bits, in_signed
    for layer in layers:
        if isinstance(layer, IntDense):
            cur = dense(layer, cur)
            bits, signed = (layer.out_bits, not layer.relu) if layer.out_bits else (32, True)
        elif isinstance(layer, IntConv2d):
            cur = conv(layer, cur)
            bits, signed = (layer.out_bits, not layer.relu) if layer.out_bits else (32, True)
        elif isinstance(layer, IntMaxPool2d):
            cur = pool(layer, cur, "max")
        elif isinstance(layer, IntAvgPool2d):
            cur = pool(layer, cur, "avg", bits, signed)
        elif isinstance(layer, IntReLU):
            cur = np.vectorize(lambda v: max(v, 0), otypes=[object])(cur)
            signed = False
        elif isinstance(layer, IntFlatten):
            cur = cur.reshape(cur.shape[0], -1)
    return cur.astype(np.int64)
