"""Network helpers: NeuroBench metrics read from IR node geometry."""
import numpy as np
import pytest

from spikesim import ir
from spikesim.energy import metrics as m
from spikesim.energy import network_metrics as nm
from spikesim.energy import report


def small_net(rng):
    w_conv = rng.normal(size=(4, 1, 3, 3)) * (rng.random((4, 1, 3, 3)) < 0.7)
    w_fc = rng.normal(size=(5, 36)) * (rng.random((5, 36)) < 0.5)
    return ir.Network(
        nodes={"in": ir.Input((1, 6, 6)),
               "conv": ir.Conv2d((1, 6, 6), w_conv, stride=2, padding=1),
               "lif": ir.LIF((4, 3, 3)), "fl": ir.Flatten(), "fc": ir.Affine(w_fc),
               "lif2": ir.LIF(5), "out": ir.Output()},
        edges=["in->conv", "conv->lif", "lif->fl", "fl->fc", "fc->lif2", "lif2->out"])


def test_from_network_equals_layer_functions_and_hand_counts():
    rng = np.random.default_rng(3)
    net = small_net(rng)
    x = rng.random((4, 2, 1, 6, 6)) * (rng.random((4, 2, 1, 6, 6)) < 0.3)   # valued input
    s1 = (rng.random((4, 2, 36)) < 0.2).astype(float)                       # flat spikes
    ops, skipped = nm.from_network(net, {"in": x, "lif": s1})
    assert skipped == []
    conv = net["conv"]
    assert ops["conv"] == m.synops_conv2d(conv.weight, x, conv.stride, conv.padding)
    assert ops["conv"].effective_ac == 0 and ops["conv"].effective_mac > 0
    # dense conv ops: 8 valid rows x 8 valid columns x 4 channels per step and sample
    assert ops["conv"].dense_mac == 8 * 8 * 4 * 4 * 2
    nnz_col = np.count_nonzero(net["fc"].weight, axis=0)
    assert ops["fc"].effective_ac == int((s1 != 0).sum(axis=(0, 1)) @ nnz_col)
    assert ops["fc"].dense_ac == 4 * 2 * 36 * 5
    c = nm.counts_from_network(net, {"in": x, "lif": s1, "lif2": np.zeros((4, 2, 5))},
                               duration_s=0.004)
    assert c.samples == 2 and c.total("spikes") == int(s1.sum())
    assert c.layers["fc"]["synops_ac"] == ops["fc"].effective_ac
    assert c.total("neuron_updates") == (36 + 5) * 4 * 2
    assert "membrane_updates" in c.unfilled and "weight_reads" in c.unfilled
    # the offline counts price on every platform that accepts valued inputs
    assert report(c, "cmos45nm").total[1] > 0
    assert report(c, "northpole").total[1] > 0
    with pytest.raises(ValueError, match="synops_mac"):
        report(c, "loihi")


def test_sparse_layer_and_static_metrics():
    sp = ir.Sparse(n_pre=2, n_post=3, indptr=[0, 2, 3], indices=[0, 2, 1],
                   weight=[0.0, 0.5, 0.25])
    net = ir.Network(nodes={"in": ir.Input(2), "syn": sp, "lif": ir.LIF(3)},
                     edges=["in->syn", "syn->lif"])
    spikes = np.array([[[1, 1]], [[1, 0]]])      # T=2, batch=1
    ops, _ = nm.from_network(net, {"in": spikes})
    # pre 0 has 2 stored synapses (one zero weight), pre 1 has 1: (1 + 1) + 1 effective;
    # dense counts the equivalent 3 x 2 matrix for every input at every step: 2 x 6
    assert (ops["syn"].effective_ac, ops["syn"].dense_ac) == (3, 12)
    assert nm.network_connection_sparsity(net) == (6 - 2) / 6
    assert nm.network_weight_count(net) == {"syn": 3}
    net2 = small_net(np.random.default_rng(0))
    nbytes = sum(a.nbytes for node in net2.nodes.values() for a in node.params().values()
                 if isinstance(a, np.ndarray))
    assert nm.network_footprint(net2) == nbytes
    w = [net2["conv"].weight, net2["fc"].weight]
    assert nm.network_connection_sparsity(net2) == pytest.approx(m.connection_sparsity(*w))


def test_network_bad_input():
    net = small_net(np.random.default_rng(1))
    with pytest.raises(ValueError, match="elements"):
        nm.from_network(net, {"in": np.zeros((2, 1, 35))})
    ops, skipped = nm.from_network(net, {"in": np.zeros((2, 1, 36))})
    assert skipped == ["fc"]
    with pytest.raises(ValueError, match="no input activity"):
        nm.counts_from_network(net, {"in": np.zeros((2, 1, 36))})
    with pytest.raises(ValueError, match="not in the network"):
        nm.counts_from_network(net, {"in": np.zeros((2, 1, 36)), "lif": np.zeros((2, 1, 36)),
                                     "nope": np.zeros((2, 1, 3))})
