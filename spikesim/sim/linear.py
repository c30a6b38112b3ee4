"""Synapse nodes as sparse linear maps, and chains of them composed into one projection.

Every linear synapse node of the IR is a sparse matrix ``M[out, in]`` plus a bias ``b[out]``:
``Affine``/``Linear`` (their nonzero weights), ``Sparse`` (its CSR, transposed),
``Conv2d`` (each output pixel's receptive field, stride, padding, dilation and groups exactly),
``SumPool2d``/``AvgPool2d`` (window sums, averages divide by ``kh*kw`` with zero padding
counted) and ``Flatten`` (identity). A chain ``source -> s1 -> s2 -> ... -> neuron node``
carries ``M_k ... M_1`` and ``b = M_k ... M_2 b_1 + ... + b_k`` and is delivered by the engine
as one synaptic stage.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from spikesim import ir

#: Synapse nodes the clock engine composes (the rest are named in its error message).
LINEAR_NODES = (ir.Affine, ir.Linear, ir.Sparse, ir.Conv2d, ir.SumPool2d, ir.AvgPool2d, ir.Flatten)


def _conv_matrix(in_shape, out_shape, weight, stride, padding, dilation, groups) -> sp.csr_matrix:
    cin, h, w = in_shape
    cout, ho, wo = out_shape
    cg = cin // groups
    og = cout // groups
    kh, kw = weight.shape[2], weight.shape[3]
    co, ci, ky, kx, oy, ox = np.meshgrid(np.arange(cout), np.arange(cg), np.arange(kh),
                                         np.arange(kw), np.arange(ho), np.arange(wo),
                                         indexing="ij")
    iy = oy * stride[0] - padding[0] + ky * dilation[0]
    ix = ox * stride[1] - padding[1] + kx * dilation[1]
    ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    cin_abs = (co // og) * cg + ci
    rows = (co * ho + oy) * wo + ox
    cols = (cin_abs * h + iy) * w + ix
    vals = weight[co, ci, ky, kx]
    ok &= vals != 0
    m = sp.coo_matrix((vals[ok], (rows[ok], cols[ok])), shape=(cout * ho * wo, cin * h * w))
    return m.tocsr()


def _pool_matrix(in_shape, out_shape, kernel, stride, padding, scale) -> sp.csr_matrix:
    c, h, w = in_shape
    _, ho, wo = out_shape
    ch, ky, kx, oy, ox = np.meshgrid(np.arange(c), np.arange(kernel[0]), np.arange(kernel[1]),
                                     np.arange(ho), np.arange(wo), indexing="ij")
    iy = oy * stride[0] - padding[0] + ky
    ix = ox * stride[1] - padding[1] + kx
    ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    rows = (ch * ho + oy) * wo + ox
    cols = (ch * h + iy) * w + ix
    m = sp.coo_matrix((np.full(int(ok.sum()), scale), (rows[ok], cols[ok])),
                      shape=(c * ho * wo, c * h * w))
    return m.tocsr()


def node_matrix(net: ir.Network, name: str) -> tuple[sp.csr_matrix, np.ndarray]:
    """``(M[out, in], bias[out])`` of synapse node ``name`` (flattened shapes)."""
    node = net[name]
    in_shape, out_shape = net.shapes[name]
    n_out = int(np.prod(out_shape))
    zero = np.zeros(n_out)
    if isinstance(node, (ir.Affine, ir.Linear)):
        m = sp.csr_matrix(node.weight)
        m.eliminate_zeros()
        return m, (np.asarray(node.bias, dtype=np.float64) if isinstance(node, ir.Affine) else zero)
    if isinstance(node, ir.Sparse):
        pre = np.repeat(np.arange(node.n_pre), np.diff(node.indptr))
        m = sp.csr_matrix((node.weight, (node.indices, pre)), shape=(node.n_post, node.n_pre))
        m.sum_duplicates()
        m.eliminate_zeros()
        return m, zero
    if isinstance(node, ir.Conv2d):
        return (_conv_matrix(node.input_shape, out_shape, node.weight, node.stride, node.padding,
                             node.dilation, node.groups), np.repeat(node.bias, out_shape[1] * out_shape[2]))
    if isinstance(node, (ir.SumPool2d, ir.AvgPool2d)):
        scale = 1.0 if isinstance(node, ir.SumPool2d) else 1.0 / (node.kernel_size[0] * node.kernel_size[1])
        return _pool_matrix(in_shape, out_shape, node.kernel_size, node.stride, node.padding, scale), zero
    if isinstance(node, ir.Flatten):
        return sp.identity(n_out, format="csr"), zero
    raise NotImplementedError(type(node).__name__)


def dense_ops(net: ir.Network, name: str) -> int:
    """Dense synaptic operations of one step of node ``name`` (NeuroBench ``Dense``: every
    (input, weight) pair, zeros included; pooling and reshaping count 0)."""
    node = net[name]
    if isinstance(node, (ir.Affine, ir.Linear)):
        return int(node.weight.size)
    if isinstance(node, ir.Sparse):
        return int(node.n_pre) * int(node.n_post)
    if isinstance(node, ir.Conv2d):
        out = net.shapes[name][1]
        return int(np.prod(node.weight.shape)) * int(out[1]) * int(out[2])
    return 0


def chains(net: ir.Network) -> list[tuple[str, list[str], str, str | None]]:
    """Every path ``source -> synapse nodes -> neuron node``: ``(source, [synapse nodes],
    target, port)``; a direct source -> neuron edge has an empty list."""
    out = []

    def walk(src, path, node_name):
        for e in net.out_edges(node_name):
            dst = net[e.dst]
            if isinstance(dst, ir.NeuronNode):
                out.append((src, path, e.dst, e.port))
            elif isinstance(dst, ir.SynapseNode):
                walk(src, path + [e.dst], e.dst)

    for name, node in net.nodes.items():
        if isinstance(node, (ir.NeuronNode, ir.Input)):
            for e in net.out_edges(name):
                dst = net[e.dst]
                if isinstance(dst, ir.NeuronNode):
                    out.append((name, [], e.dst, e.port))
                elif isinstance(dst, ir.SynapseNode):
                    walk(name, [e.dst], e.dst)
    return out


def compose(net: ir.Network, path: list[str], cache: dict) -> tuple[sp.csr_matrix, np.ndarray]:
    """``(M, b)`` of a chain of synapse nodes (applied first to last)."""
    m = b = None
    for name in path:
        if name not in cache:
            cache[name] = node_matrix(net, name)
        mk, bk = cache[name]
        if m is None:
            m, b = mk, bk.copy()
        else:
            m = (mk @ m).tocsr()
            b = mk @ b + bk
    m.sum_duplicates()
    m.eliminate_zeros()
    return m, b


def depths(net: ir.Network) -> dict[str, int]:
    """Synaptic stages from the nearest Input to each neuron node (0 for Inputs, and for
    neuron nodes no Input reaches); used to start projection biases when their first input
    can arrive, as a layer-by-layer model does."""
    d = {n: 0 for n in net.names("input")}
    frontier = list(d)
    all_chains = chains(net)
    while frontier:
        nxt = []
        for src, path, dst, _ in all_chains:
            if src in frontier and dst not in d:
                d[dst] = d[src] + 1
                nxt.append(dst)
        frontier = nxt
    for n in net.names("neuron"):
        d.setdefault(n, 0)
    return d
