"""NeuroBench metrics on numpy: hand-computed cases and a brute-force conv reference."""
import numpy as np
import pytest

from spikesim.energy import metrics as m


# ------------------------------------------------------------------ slow, obviously correct twin
def naive_conv_synops(w, x, stride, padding, dilation=1, groups=1):
    """Loop over every (step, sample, output, tap): NeuroBench binary forward, by hand."""
    s, p, d = stride, padding, dilation
    t_steps, batch, c_in, h, wd = x.shape
    c_out, cpg, kh, kw = w.shape
    opg = c_out // groups
    h_out = (h + 2 * p - d * (kh - 1) - 1) // s + 1
    w_out = (wd + 2 * p - d * (kw - 1) - 1) // s + 1
    eff_ac = eff_mac = den_ac = den_mac = 0
    for t in range(t_steps):
        spiking = np.all(np.isin(x[t], (-1, 0, 1)))
        eff = den = 0
        for b in range(batch):
            for o in range(c_out):
                g = o // opg
                for cl in range(cpg):
                    c = g * cpg + cl
                    for oy in range(h_out):
                        for ox in range(w_out):
                            for ky in range(kh):
                                for kx in range(kw):
                                    iy, ix = oy * s - p + ky * d, ox * s - p + kx * d
                                    if 0 <= iy < h and 0 <= ix < wd:
                                        den += 1
                                        eff += int(w[o, cl, ky, kx] != 0
                                                   and x[t, b, c, iy, ix] != 0)
        if spiking:
            eff_ac, den_ac = eff_ac + eff, den_ac + den
        else:
            eff_mac, den_mac = eff_mac + eff, den_mac + den
    return eff_ac, eff_mac, den_ac, den_mac


def test_linear_hand_computed():
    w = np.array([[1.0, 0.0], [2.0, 3.0]])
    assert m.linear_fanout(w)[0].tolist() == [2, 1]
    x = np.array([[[1, 1]], [[0, 1]]])  # T=2, batch=1: 2+1 then 1
    s = m.synops_linear(w, x)
    assert (s.effective_ac, s.effective_mac, s.dense_ac, s.dense_mac) == (4, 0, 8, 0)
    # a valued step counts as MACs (NeuroBench tests each forward call)
    x2 = np.array([[[1, 1]], [[0, 0.5]]])
    s2 = m.synops_linear(w, x2)
    assert (s2.effective_ac, s2.effective_mac, s2.dense_ac, s2.dense_mac) == (3, 1, 4, 4)
    assert s2.per_sample() == {"Effective_MACs": 1.0, "Effective_ACs": 3.0, "Dense": 8.0}
    # batch: per-sample average halves with two identical samples
    s3 = m.synops_linear(w, np.concatenate([x, x], axis=1))
    assert s3.effective_ac == 8 and s3.per_sample()["Effective_ACs"] == 4.0
    # -1 is a spike too
    assert m.synops_linear(w, -x).effective_ac == 4


def test_conv_fanout_hand_computed_stride_padding():
    # 3x3 input, 2x2 all-ones kernel, stride 1, no padding: corners 1, edges 2, centre 4
    f, fd = m.conv2d_fanout(np.ones((1, 1, 2, 2)), (1, 3, 3))
    assert f[0].tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    assert f.sum() == 4 * 4   # 2x2 outputs x 4 taps
    # 4x4 input, 3x3 kernel, stride 2, padding 1 -> 2x2 outputs over rows {-1,0,1}, {1,2,3}
    f, fd = m.conv2d_fanout(np.ones((1, 1, 3, 3)), (1, 4, 4), stride=2, padding=1)
    assert f[0].tolist() == [[1, 2, 1, 1], [2, 4, 2, 2], [1, 2, 1, 1], [1, 2, 1, 1]]
    # outputs see 4, 6, 6 and 9 real (non-padding) pixels: 25, not 9 taps x 4 outputs = 36
    assert f.sum() == 25 and fd.sum() == 25
    # zero weights remove fan-out; dense keeps it; two output channels double it
    w = np.ones((2, 1, 3, 3))
    w[1, 0, 0, 0] = 0.0
    f, fd = m.conv2d_fanout(w, (1, 4, 4), stride=2, padding=1)
    assert fd.sum() == 50
    # tap (0,0) reaches input (1,1) only, via output (1,1) (row 1*2-1+0): one op fewer there
    assert f.sum() == 50 - 1 and f[0, 1, 1] == 4 + 3 and f[0, 2, 2] == 1 + 1


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (3, 2, 1, 1), (1, 1, 2, 1), (2, 0, 1, 2), (2, 2, 2, 2)])
def test_conv_synops_match_brute_force(stride, padding, dilation, groups):
    rng = np.random.default_rng(stride * 100 + padding * 10 + dilation + groups)
    c_in, c_out = 2 * groups, 2 * groups
    w = rng.normal(size=(c_out, c_in // groups, 3, 3)) * (rng.random((c_out, c_in // groups, 3, 3))
                                                          < 0.6)
    x = (rng.random((3, 2, c_in, 7, 6)) < 0.3).astype(float)
    x[1] *= rng.random(x[1].shape)        # step 1 valued -> MACs
    got = m.synops_conv2d(w, x, stride, padding, dilation, groups)
    want = naive_conv_synops(w, x, stride, padding, dilation, groups)
    assert (got.effective_ac, got.effective_mac, got.dense_ac, got.dense_mac) == want
    assert got.effective_ac > 0 and got.effective_mac > 0


def test_sparse_fanout_effective_counts_nonzero_stored_synapses():
    sp = pytest.importorskip("scipy.sparse")
    # [post, pre]; the stored zero at (0, 0) exists in hardware but makes no effective op
    w = sp.csr_matrix((np.array([0.0, 1.0, 2.0]), np.array([0, 1, 0]), np.array([0, 2, 3])),
                      shape=(2, 3))
    fe, fd = m.sparse_fanout(w)
    assert fe.tolist() == [1, 1, 0] and fd.tolist() == [2, 2, 2]
    s = m.synops_sparse(w, np.ones((1, 1, 3)))
    assert (s.effective_ac, s.dense_ac) == (2, 6)
    # the same connection in the IR's CSR layout (rows = presynaptic)
    fe2, fd2 = m.csr_fanout([0, 2, 3, 3], [0.0, 2.0, 1.0], n_post=2)
    assert fe2.tolist() == [1, 1, 0] and fd2.tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match="indptr"):
        m.csr_fanout([0, 2], [1.0], n_post=2)


def test_sparsity_membrane_footprint_hand_computed():
    assert m.activation_sparsity(np.array([0, 1, 0, 0])) == 0.75
    assert m.activation_sparsity(np.zeros((2, 3)), np.ones(2)) == 6 / 8
    assert m.connection_sparsity(np.array([[0, 1], [2, 0]])) == 0.5
    assert m.connection_sparsity(np.array([0, 1]), np.ones((2, 3))) == 1 / 8
    v = np.array([[[0.0, 1.0]], [[0.0, 1.0]], [[1.0, 1.0]]])  # T=3, batch=1, 2 neurons
    assert m.membrane_updates(v) == 2 + 0 + 1
    assert m.membrane_updates(np.concatenate([v, v], axis=1)) == 6
    assert m.footprint(np.zeros((10, 5), np.float32)) == 200
    assert m.footprint(np.zeros((10, 5), np.float32), np.zeros(3, np.int8)) == 203
    assert m.footprint(np.zeros((10, 5)), bits=4) == 25
    assert m.footprint(np.zeros(3), bits=3) == 2   # ceil(9 / 8)
    assert m.weight_count(np.zeros((2, 3)), np.zeros(4)) == 10
    assert m.is_spiking([-1, 0, 1]) and not m.is_spiking([0, 2])


def test_bad_input():
    with pytest.raises(ValueError, match="in_shape"):
        m.synops(np.ones((1, 1, 3)), np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="groups"):
        m.conv2d_fanout(np.ones((3, 1, 2, 2)), (2, 4, 4), groups=2)
    with pytest.raises(ValueError, match="stride"):
        m.conv2d_fanout(np.ones((1, 1, 2, 2)), (1, 4, 4), stride=0)
    with pytest.raises(ValueError, match="empty output"):
        m.conv2d_fanout(np.ones((1, 1, 5, 5)), (1, 3, 3))
    with pytest.raises(ValueError, match="C_in"):
        m.conv2d_fanout(np.ones((1, 2, 2, 2)), (1, 4, 4))
    with pytest.raises(ValueError, match="weight must be"):
        m.linear_fanout(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match="numeric"):
        m.activation_sparsity(np.array(["a"]))
    with pytest.raises(ValueError, match="at least one"):
        m.connection_sparsity()
    with pytest.raises(ValueError, match="bits"):
        m.footprint(np.zeros(2), bits=0)
