"""IR: save/load round trip over every node type, validation, builder."""
from __future__ import annotations

import numpy as np
import pytest

from spikesim import ir
from spikesim.units import ms


def example(cls):
    """One instance of every registered node type, with array parameters where possible."""
    rng = np.random.default_rng(0)
    ex = {
        "LIF": lambda: ir.LIF(4, tau=rng.uniform(1, 2, 4) * 10 * ms, v_threshold=1.0,
                              reset="subtract", refractory=1 * ms, v_init=np.zeros(4)),
        "IF": lambda: ir.IF((2, 2), bias=np.arange(4.0).reshape(2, 2)),
        "CubaLIF": lambda: ir.CubaLIF(3, tau_syn=(5 * ms, np.full(3, 10 * ms)), ports=("e", "i")),
        "CobaLIF": lambda: ir.CobaLIF(3, tau_syn=(5 * ms, 10 * ms), e_rev=(0.0, -0.08), ports=("e", "i")),
        "AdaptiveLIF": lambda: ir.AdaptiveLIF(3, tau_adapt=0.1, delta_threshold=0.05),
        "LI": lambda: ir.LI(5, tau=np.full(5, 3 * ms)),
        "CubaLI": lambda: ir.CubaLI(5),
        "Affine": lambda: ir.Affine(rng.normal(size=(3, 4)), rng.normal(size=3)),
        "Linear": lambda: ir.Linear(rng.normal(size=(3, 4))),
        "Conv2d": lambda: ir.Conv2d((2, 6, 6), rng.normal(size=(4, 1, 3, 3)), stride=2, padding=1,
                                    groups=2),
        "SumPool2d": lambda: ir.SumPool2d(2),
        "AvgPool2d": lambda: ir.AvgPool2d((2, 3), stride=1, padding=1),
        "MaxPool2d": lambda: ir.MaxPool2d(2),
        "Flatten": lambda: ir.Flatten(),
        "Delay": lambda: ir.Delay(np.full(4, 1e-3)),
        "Threshold": lambda: ir.Threshold(0.5),
        "Sparse": lambda: ir.Sparse(2, 3, [0, 2, 3], [0, 2, 1], [0.1, 0.2, 0.3], delay=[0.0, 1e-3, 2e-3]),
        "Input": lambda: ir.Input((2, 2)),
        "Output": lambda: ir.Output(),
    }
    return ex[cls.__name__]()


@pytest.mark.parametrize("name", sorted(ir.NODE_TYPES))
def test_every_node_type_round_trips(name, tmp_path):
    node = example(ir.NODE_TYPES[name])
    # wrap the node into a valid network
    if isinstance(node, ir.Input):
        net = ir.Network({"x": node}, [])
    elif isinstance(node, ir.NeuronNode):
        net = ir.Network({"x": node}, [], metadata={"note": "single population"})
    elif isinstance(node, (ir.Affine, ir.Linear, ir.Sparse)):
        n_in = node.input_shape()[0]
        net = ir.Network({"i": ir.Input(n_in), "x": node}, ["i->x"])
    elif isinstance(node, ir.Conv2d):
        net = ir.Network({"i": ir.Input(node.input_shape), "x": node}, ["i->x"])
    elif isinstance(node, (ir.Delay,)):
        net = ir.Network({"i": ir.Input(4), "x": node}, ["i->x"])
    else:
        net = ir.Network({"i": ir.Input((2, 6, 6)), "x": node}, ["i->x"])
    ir.save(net, tmp_path / "n.npz")
    back = ir.load(tmp_path / "n.npz")
    assert back == net
    assert type(back["x"]) is type(node)
    assert back.metadata == net.metadata


def test_every_registered_type_has_an_example():
    for cls in ir.NODE_TYPES.values():
        assert example(cls) is not None


def test_shapes_inferred():
    net = ir.Network({"i": ir.Input((1, 8, 8)),
                      "c": ir.Conv2d((1, 8, 8), np.ones((2, 1, 3, 3)), padding=1),
                      "p": ir.AvgPool2d(2), "f": ir.Flatten(), "w": ir.Affine(np.ones((3, 32))),
                      "l": ir.LIF(3), "o": ir.Output()},
                     ["i->c", "c->p", "p->f", "f->w", "w->l", "l->o"])
    assert net.shapes["p"][1] == (2, 4, 4)
    assert net.shapes["f"][1] == (32,)
    assert net.shapes["o"][1] == (3,)


def test_load_rejects_foreign_files(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a spikesim network"):
        ir.load(tmp_path / "x.npz")
    (tmp_path / "y.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a spikesim network"):
        ir.load(tmp_path / "y.npz")


def test_builder_rules_and_bernoulli_statistics():
    b = ir.NetworkBuilder(np.random.default_rng(0))
    b.population("a", ir.LIF(2000))
    name = b.connect("a", "a", p=0.01, autapses=False)
    sp = b.nodes[name]
    n = 2000 * 2000
    assert abs(sp.nnz - 0.01 * n) < 5 * np.sqrt(0.01 * n)
    pre = np.repeat(np.arange(2000), np.diff(sp.indptr))
    assert not np.any(pre == sp.indices)
    b.population("b", ir.LIF(50))
    s2 = b.nodes[b.connect("a", "b", in_degree=7)]
    assert np.all(np.bincount(s2.indices, minlength=50) == 7)
    s3 = b.nodes[b.connect("b", "b", rule="one_to_one", weight=lambda r, k: r.normal(size=k))]
    assert s3.nnz == 50
    s4 = b.nodes[b.connect("b", "b", pre_idx=[0, 1], post_idx=[3, 4], delay=[1e-3, 2e-3])]
    assert s4.to_dense()[3, 0] == 1.0 and s4.delay.tolist() == [1e-3, 2e-3]
    net = b.build()
    assert len(net.names("synapse")) == 4
    with pytest.raises(ValueError, match="exactly one"):
        b.connect("a", "b", p=0.1, in_degree=2)
    with pytest.raises(ValueError, match="delay"):
        b.connect("b", "b", rule="one_to_one", delay=-1.0)
