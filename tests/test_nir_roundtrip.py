"""NIR round trips over every IR node type (the set comes from ``spikesim.ir.NODE_TYPES``).

ours -> NIR -> ours and NIR -> ours -> NIR, in memory and through ``.nir`` (HDF5) files, with
both time mappings. Arrays compare exactly, except the parameters that pass through the
time mapping (time constants and gains), which compare to 1e-12 (exact) / 1e-9 (euler)
relative.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from spikesim import ir  # noqa: E402
from spikesim.ir.io import from_nir as io_from_nir, to_nir as io_to_nir  # noqa: E402
from spikesim.ir.nir import NOT_IN_NIR, _EXPORT, from_nir, to_nir  # noqa: E402

DT = 1e-3
MODES = [("exact", None), ("euler", DT)]
MAPPED = {"tau", "tau_mem", "tau_syn", "r"}  # fields that pass through the time mapping
RNG = np.random.default_rng(12)


def _u(lo, hi, shape):
    return RNG.uniform(lo, hi, size=shape)


# --------------------------------------------------------------------------------------
# One small network per IR node type (the node under test is called "x")
# --------------------------------------------------------------------------------------
def _neuron_net(x):
    n = x.shape
    return ir.Network({"in": ir.Input(n), "w": ir.Linear(_u(-1, 1, (int(np.prod(n)),) * 2)),
                       "x": x, "out": ir.Output()}, ["in->w", "w->x", "x->out"])


def _syn_net(in_shape, x, post_shape):
    return ir.Network({"in": ir.Input(in_shape), "x": x, "post": ir.LIF(post_shape, tau=0.01),
                       "out": ir.Output()}, ["in->x", "x->post", "post->out"])


SAMPLES = {
    "LIF": lambda bias: _neuron_net(ir.LIF(4, tau=_u(5e-3, 3e-2, 4), r=_u(0.5, 2, 4), v_leak=0.1,
                                           v_threshold=_u(0.8, 1.2, 4), v_reset=-0.1,
                                           bias=_u(-0.2, 0.3, 4))),
    "LI": lambda bias: _neuron_net(ir.LI(4, tau=0.01, r=_u(0.5, 2, 4), v_leak=_u(-.1, .1, 4),
                                         bias=0.25)),
    "IF": lambda bias: _neuron_net(ir.IF(4, r=_u(0.5, 2, 4), v_threshold=1.5,
                                         v_reset=_u(-.2, 0, 4))),
    "CubaLIF": lambda bias: _neuron_net(ir.CubaLIF(4, tau_mem=_u(1e-2, 3e-2, 4), tau_syn=4e-3,
                                                   ports=("exc",), r=2.0, v_leak=0.05,
                                                   v_threshold=_u(0.8, 1.2, 4), bias=0.1)),
    "CubaLI": lambda bias: _neuron_net(ir.CubaLI(3, tau_mem=0.02, tau_syn=_u(2e-3, 8e-3, 3),
                                                 r=_u(0.5, 2, 3), v_leak=-0.1)),
    "Affine": lambda bias: _syn_net(3, ir.Affine(_u(-1, 1, (5, 3)),
                                                 _u(-.5, .5, 5) if bias else None), 5),
    "Linear": lambda bias: _syn_net(3, ir.Linear(_u(-1, 1, (5, 3))), 5),
    "Conv2d": lambda bias: _syn_net((2, 6, 5), ir.Conv2d((2, 6, 5), _u(-1, 1, (4, 1, 3, 2)),
                                                         stride=(2, 1), padding=(1, 0),
                                                         dilation=(1, 2), groups=2,
                                                         bias=_u(-1, 1, 4) if bias else None),
                                    (4, 3, 3)),
    "SumPool2d": lambda bias: _syn_net((2, 6, 6), ir.SumPool2d(2), (2, 3, 3)),
    "AvgPool2d": lambda bias: _syn_net((2, 7, 7), ir.AvgPool2d(3, stride=2, padding=1), (2, 4, 4)),
    "Flatten": lambda bias: _syn_net((2, 3, 3), ir.Flatten(1, 2), (2, 9)),
    "Delay": lambda bias: _syn_net(4, ir.Delay(_u(1e-3, 5e-3, 4)), 4),
    "Threshold": lambda bias: _syn_net(4, ir.Threshold(0.5), 4),
    "Input": lambda bias: ir.Network({"in": ir.Input((3, 2)), "post": ir.LIF((3, 2)),
                                      "out": ir.Output((3, 2))}, ["in->post", "post->out"]),
    "Output": lambda bias: ir.Network({"in": ir.Input(3), "out": ir.Output()}, ["in->out"]),
    # types NIR 1.0 does not have: they must raise a named error
    "CobaLIF": lambda bias: _neuron_net(ir.CobaLIF(3, tau_syn=1e-3, e_rev=0.0)),
    "AdaptiveLIF": lambda bias: _neuron_net(ir.AdaptiveLIF(3, delta_threshold=0.1)),
    "MaxPool2d": lambda bias: _syn_net((1, 4, 4), ir.MaxPool2d(2), (1, 2, 2)),
    "Sparse": lambda bias: _syn_net(2, ir.Sparse(2, 3, [0, 2, 3], [0, 2, 1], [0.1, 0.2, 0.3]), 3),
}
EXPORTABLE = sorted(t for t in ir.NODE_TYPES if t not in NOT_IN_NIR)


def test_every_node_type_has_a_decision_and_a_sample():
    types = set(ir.NODE_TYPES)
    assert set(_EXPORT) | set(NOT_IN_NIR) == types, "new IR node type: decide its NIR mapping"
    assert not set(_EXPORT) & set(NOT_IN_NIR)
    assert set(SAMPLES) == types, "new IR node type: add a round-trip sample"
    for t in types:  # each sample really contains its type
        assert any(type(n).__name__ == t for n in SAMPLES[t](True).nodes.values())


def assert_node_close(a, b, rtol):
    assert type(a) is type(b), (a, b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, tuple) and x and not isinstance(x[0], str) and f.name in MAPPED:
            assert isinstance(y, tuple) and len(x) == len(y)
            pairs = list(zip(x, y))
        else:
            pairs = [(x, y)]
        for xx, yy in pairs:
            if f.name in MAPPED and xx is not None:
                assert type(xx) is type(yy), (f.name, xx, yy)  # scalars stay scalars
                np.testing.assert_allclose(yy, xx, rtol=rtol, atol=0, err_msg=f.name)
            elif isinstance(xx, np.ndarray) or isinstance(yy, np.ndarray):
                assert type(xx) is type(yy), (f.name, xx, yy)
                np.testing.assert_array_equal(yy, xx, err_msg=f.name)
                assert np.shape(xx) == np.shape(yy)
            else:
                assert xx == yy, (f.name, xx, yy)


def assert_net_close(a: ir.Network, b: ir.Network, rtol: float):
    assert list(a.nodes) == list(b.nodes) or set(a.nodes) == set(b.nodes)
    assert set(a.edges) == set(b.edges)
    for k in a.nodes:
        assert_node_close(a[k], b[k], rtol)
    assert a.metadata == b.metadata


@pytest.mark.parametrize("tname", EXPORTABLE)
@pytest.mark.parametrize("disc,dt", MODES)
def test_ours_nir_ours(tname, disc, dt, tmp_path):
    net = SAMPLES[tname](disc == "euler")
    net = ir.Network(net.nodes, net.edges, {"purpose": "round trip", "n": [1, 2]})
    rtol = 1e-12 if disc == "exact" else 1e-9
    g = to_nir(net, dt=dt, discretization=disc, path=tmp_path / "net.nir")
    assert isinstance(g, nir.NIRGraph)
    assert any(type(n).__name__ == tname for n in g.nodes.values())
    assert_net_close(net, from_nir(g), rtol)
    # through the HDF5 file written by nir.write, and through the io wrappers
    back = io_from_nir(tmp_path / "net.nir")
    assert_net_close(net, back, rtol)
    assert_net_close(net, io_from_nir(io_to_nir(net, dt=dt, discretization=disc)), rtol)
    assert back == net  # exact: spikesim's metadata restores the mapped floats


@pytest.mark.parametrize("tname", sorted(NOT_IN_NIR))
def test_types_nir_lacks_raise_named_error(tname):
    net = SAMPLES[tname](True)
    with pytest.raises(ValueError, match=f"'x' \\({tname}\\).*NIR 1.0"):
        to_nir(net, dt=DT, discretization="euler")


# --------------------------------------------------------------------------------------
# NIR -> ours -> NIR for every NIR node type that spikesim has
# --------------------------------------------------------------------------------------
def _nir_graph(x, in_shape, post=None):
    nodes = {"input": nir.Input(np.array(in_shape)), "x": x}
    edges = [("input", "x")]
    last = "x"
    if post is not None:
        nodes["post"] = post
        edges.append(("x", "post"))
        last = "post"
    out_shape = (post if post is not None else x).output_type["output"]
    nodes["output"] = nir.Output(np.array(out_shape))
    edges.append((last, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _nir_lif(n):
    return nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))


def _nir_neuron(x, n):
    g = _nir_graph(nir.Linear(weight=_u(-1, 1, (n, n))), [n], x)
    return g


N4 = (4,)
NIR_SAMPLES = {
    "LIF": lambda: _nir_neuron(nir.LIF(tau=_u(2e-3, 2e-2, N4), r=_u(1, 20, N4),
                                       v_leak=_u(-.1, .1, N4), v_threshold=_u(.5, 1.5, N4),
                                       v_reset=_u(-.3, 0, N4)), 4),
    "LI": lambda: _nir_neuron(nir.LI(tau=_u(2e-3, 2e-2, N4), r=_u(1, 20, N4),
                                     v_leak=_u(-.1, .1, N4)), 4),
    "IF": lambda: _nir_neuron(nir.IF(r=_u(1, 3, N4), v_threshold=_u(.5, 1.5, N4)), 4),
    "CubaLIF": lambda: _nir_neuron(nir.CubaLIF(tau_syn=_u(2e-3, 5e-3, N4),
                                               tau_mem=_u(1e-2, 2e-2, N4), r=_u(1, 20, N4),
                                               v_leak=_u(-.1, .1, N4), v_threshold=np.ones(4),
                                               v_reset=_u(-.3, 0, N4), w_in=_u(.5, 3, N4)), 4),
    "CubaLI": lambda: _nir_neuron(nir.CubaLI(tau_syn=_u(2e-3, 5e-3, N4), tau_mem=np.full(4, .02),
                                             r=_u(1, 20, N4), v_leak=np.zeros(4),
                                             w_in=np.full(4, 2.0)), 4),
    "Affine": lambda: _nir_graph(nir.Affine(weight=_u(-1, 1, (4, 3)), bias=_u(-1, 1, 4)), [3],
                                 _nir_lif(4)),
    "Linear": lambda: _nir_graph(nir.Linear(weight=_u(-1, 1, (4, 3))), [3], _nir_lif(4)),
    "Conv2d": lambda: _nir_graph(nir.Conv2d(input_shape=(5, 5), weight=_u(-1, 1, (2, 3, 3, 3)),
                                            stride=1, padding=1, dilation=1, groups=1,
                                            bias=_u(-1, 1, 2)), [3, 5, 5],
                                 nir.LIF(tau=np.full((2, 5, 5), .01), r=np.ones((2, 5, 5)),
                                         v_leak=np.zeros((2, 5, 5)),
                                         v_threshold=np.ones((2, 5, 5)))),
    "SumPool2d": lambda: _pooled(nir.SumPool2d(kernel_size=np.array([2, 2]),
                                               stride=np.array([2, 2]), padding=np.array([0, 0]))),
    "AvgPool2d": lambda: _pooled(nir.AvgPool2d(kernel_size=np.array([3, 3]),
                                               stride=np.array([2, 2]), padding=np.array([1, 1]))),
    "Flatten": lambda: _nir_graph(nir.Flatten(input_type={"input": np.array([2, 3, 3])},
                                              start_dim=0, end_dim=-1), [2, 3, 3], _nir_lif(18)),
    "Delay": lambda: _nir_graph(nir.Delay(delay=_u(1e-3, 4e-3, N4)), [4], _nir_lif(4)),
    "Threshold": lambda: _nir_graph(nir.Threshold(threshold=_u(.2, .8, N4)), [4], _nir_lif(4)),
    "Input": lambda: _nir_graph(_nir_lif(6), [6]),
    "Output": lambda: _nir_graph(_nir_lif(6), [6]),
}


def _pooled(pool):
    g = _nir_graph(pool, [2, 6, 6], None)
    pool.input_type = {"input": np.array([2, 6, 6])}
    pool.output_type = {"output": np.array([2, 3, 3])}
    g.nodes["output"] = nir.Output(np.array([2, 3, 3]))
    return g


NIR_TYPES = sorted(t for t in ir.NODE_TYPES if t in nir.__all__)  # types both sides have


def test_nir_samples_cover_every_shared_type():
    assert set(NIR_TYPES) == set(EXPORTABLE)
    assert set(NIR_SAMPLES) == set(NIR_TYPES)


def _fields(node):
    return [f.name for f in dataclasses.fields(node)
            if f.name not in ("input_type", "output_type", "metadata")]


def assert_nir_close(a, b, rtol):
    assert set(a.nodes) == set(b.nodes)
    assert {tuple(e) for e in a.edges} == {tuple(e) for e in b.edges}
    for k, x in a.nodes.items():
        y = b.nodes[k]
        assert type(x) is type(y), k
        for f in _fields(x):
            u, v = getattr(x, f), getattr(y, f)
            if isinstance(x, (nir.CubaLIF, nir.CubaLI)) and f in ("r", "w_in"):
                # spikesim's CubaLIF has no w_in: only the product R*w_in is defined
                u, v = x.r * x.w_in, y.r * y.w_in
            if u is None:
                assert v is None, (k, f)
            elif isinstance(u, (str, int)) and not isinstance(u, bool):
                assert np.array_equal(np.asarray(u), np.asarray(v)), (k, f)
            elif f in MAPPED or isinstance(x, (nir.CubaLIF, nir.CubaLI)) and f in ("r", "w_in"):
                np.testing.assert_allclose(v, u, rtol=rtol, atol=0, err_msg=f"{k}.{f}")
            else:
                np.testing.assert_array_equal(np.asarray(v), np.asarray(u), err_msg=f"{k}.{f}")


@pytest.mark.parametrize("tname", NIR_TYPES)
@pytest.mark.parametrize("disc,dt", MODES)
def test_nir_ours_nir(tname, disc, dt, tmp_path):
    g = NIR_SAMPLES[tname]()
    assert any(type(n).__name__ == tname for n in g.nodes.values())
    if disc == "exact":  # exact mode moves synapse biases into neurons (tested below)
        for n in g.nodes.values():
            if isinstance(n, (nir.Affine, nir.Conv2d)):
                n.bias = np.zeros_like(n.bias)
    rtol = 1e-12 if disc == "exact" else 1e-9
    net = from_nir(g, dt=dt, discretization=disc)
    assert_nir_close(g, to_nir(net, dt=dt, discretization=disc), rtol)
    nir.write(tmp_path / "g.nir", g)
    net2 = from_nir(tmp_path / "g.nir", dt=dt, discretization=disc)
    g2 = to_nir(net2, dt=dt, discretization=disc, path=tmp_path / "back.nir")
    assert_nir_close(g, g2, rtol)
    assert_nir_close(g, nir.read(tmp_path / "back.nir"), rtol)


def test_exact_import_moves_synapse_bias_into_neurons():
    g = NIR_SAMPLES["Affine"]()
    b = g.nodes["x"].bias.copy()
    lif = g.nodes["post"]
    net = from_nir(g)
    assert np.array_equal(net["x"].bias, np.zeros(4))
    # tau dv/dt = (v_leak - v) + R b  <=>  spikesim r*bias = R*b with r = R/tau
    np.testing.assert_allclose(net["post"].r * net["post"].bias, lif.r * b, rtol=1e-14)
    back = to_nir(net)  # same ODE: the constant current is now inside NIR's v_leak
    np.testing.assert_allclose(back.nodes["post"].v_leak, lif.v_leak + lif.r * b, rtol=1e-14)
    # Conv2d bias: broadcast over the channel's pixels
    gc = NIR_SAMPLES["Conv2d"]()
    netc = from_nir(gc)
    want = np.broadcast_to(gc.nodes["x"].bias[:, None, None], (2, 5, 5)) * 0.01
    np.testing.assert_allclose(netc["post"].bias, want, rtol=1e-14)
    # a bias feeding a non-neuron cannot be carried in exact mode
    gbad = _nir_graph(nir.Affine(weight=np.eye(3), bias=np.ones(3)), [3],
                      nir.Delay(delay=np.full(3, 1e-3)))
    with pytest.raises(ValueError, match="'x' \\(Affine\\) has a bias.*'post' \\(Delay\\)"):
        from_nir(gbad)
    assert from_nir(gbad, dt=DT, discretization="euler")["x"].bias.tolist() == [1, 1, 1]
