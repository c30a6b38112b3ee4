"""NeuroBench-compatible metrics on plain numpy arrays (no IR, no torch).

Definitions follow NeuroBench 2.3.0 (``neurobench/metrics``; shared/reference/hardware.md 4.1).
Activity arrays are ``[T, batch, ...features]`` (time steps first); weights follow the torch /
NIR layout: Linear ``[out, in]``, Conv2d ``[C_out, C_in / groups, kh, kw]``.

Synaptic operations (NeuroBench ``SynapticOperations``), for one connection layer with
binarised weights ``[W != 0]`` and binarised input ``[x != 0]`` (bias ignored):

    effective(t) = sum_b sum_i [x[t, b, i] != 0] * F_eff[i]
    dense(t)     = batch * sum_i F_dense[i]

where ``F_eff[i]`` is the fan-out of input ``i`` (number of (output, weight) pairs it reaches
through a nonzero weight) and ``F_dense[i]`` the same with every weight counted (the all-ones
forward pass of NeuroBench). Step ``t`` counts as accumulates (AC) when every element of
``x[t]`` is in {-1, 0, 1} (a spike), otherwise as MACs: NeuroBench tests each forward call,
i.e. each time step over the whole batch. NeuroBench's ``Dense`` is ``dense_ac + dense_mac``;
its reported values are these totals divided by the number of samples
(:meth:`SynOps.per_sample`).

For Linear, ``F_eff[i] = sum_o [W[o, i] != 0]`` and ``F_dense[i] = out``. For Conv2d the
fan-out of input pixel (c, y, x) is computed exactly, with stride, padding, dilation and groups:
kernel row ``ky`` links input row ``y`` to output row ``oy`` iff
``y + pad - ky * dil = oy * stride`` with ``0 <= oy < H_out``, so

    F[c, y, x] = sum_{ky, kx} R_ky[y] * C_kx[x] * N[c, ky, kx]

with ``R_ky``/``C_kx`` those 0/1 row/column masks and ``N[c, ky, kx]`` the number of output
channels of c's group whose weight at (c, ky, kx) is nonzero (``C_out / groups`` for dense).
Padded positions carry no input, so they add no operation (as in NeuroBench's all-ones
forward; syops-counter's ``k*k*C_in*C_out*H_out*W_out`` counts them). This equals the all-ones
transposed-convolution connection map of sinabs.

Network helpers that read ``spikesim.ir`` node geometry live in
:mod:`spikesim.energy.network_metrics` (``from_network``, ``counts_from_network``...).

The other metrics: ``activation_sparsity``, ``connection_sparsity``, ``membrane_updates``,
``footprint``; each docstring gives its formula. All counts are exact integers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["SynOps", "is_spiking", "linear_fanout", "conv2d_fanout", "conv2d_output_shape",
           "synops", "synops_linear", "synops_conv2d", "synops_sparse", "sparse_fanout",
           "csr_fanout",
           "activation_sparsity", "connection_sparsity", "membrane_updates", "footprint",
           "weight_count"]


@dataclass(frozen=True)
class SynOps:
    """Synaptic operation totals over all time steps and samples of one run.

    Attributes:
        effective_ac, effective_mac: NeuroBench effective ops split by the spike test.
        dense_ac, dense_mac: dense (all-ones) ops split by the same test.
        samples: batch size the totals cover.
    """

    effective_ac: int
    effective_mac: int
    dense_ac: int
    dense_mac: int
    samples: int

    @property
    def effective(self) -> int:
        return self.effective_ac + self.effective_mac

    @property
    def dense(self) -> int:
        return self.dense_ac + self.dense_mac

    def per_sample(self) -> dict[str, float]:
        """NeuroBench's output: ``{"Effective_MACs", "Effective_ACs", "Dense"}`` per sample."""
        n = max(self.samples, 1)
        return {"Effective_MACs": self.effective_mac / n, "Effective_ACs": self.effective_ac / n,
                "Dense": self.dense / n}

    def counts_fields(self) -> dict[str, int]:
        """The :class:`spikesim.sim.Counts` fields these totals fill."""
        return {"synops_ac": self.effective_ac, "synops_mac": self.effective_mac,
                "dense_ac": self.dense_ac, "dense_mac": self.dense_mac}

    def __add__(self, other: "SynOps") -> "SynOps":
        if not isinstance(other, SynOps):
            return NotImplemented
        if other.samples != self.samples:
            raise ValueError(f"cannot add SynOps over {self.samples} and {other.samples} samples")
        return SynOps(self.effective_ac + other.effective_ac,
                      self.effective_mac + other.effective_mac,
                      self.dense_ac + other.dense_ac, self.dense_mac + other.dense_mac,
                      self.samples)


# ---------------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------------
def _array(x: Any, name: str, ndim_min: int = 1) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.ndim < ndim_min:
        raise ValueError(f"{name} must have at least {ndim_min} dimensions, got shape {a.shape}")
    return a


def _pair(v: Any, name: str, minimum: int) -> tuple[int, int]:
    t = (v, v) if np.isscalar(v) else tuple(v)
    if len(t) != 2 or not all(isinstance(k, (int, np.integer)) and k >= minimum for k in t):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {v!r}")
    return int(t[0]), int(t[1])


def is_spiking(x: Any) -> bool:
    """NeuroBench's spike test: True when every element of ``x`` is -1, 0 or 1."""
    a = np.asarray(x)
    return bool(np.all((a == 0) | (a == 1) | (a == -1)))


# ---------------------------------------------------------------------------------------------
# fan-out maps
# ---------------------------------------------------------------------------------------------
def linear_fanout(weight: Any) -> tuple[np.ndarray, np.ndarray]:
    """Fan-out of each input of a Linear/Affine layer with weight ``[out, in]``.

    Returns ``(F_eff, F_dense)``, int64 arrays ``[in]``: nonzero weights in column i, and
    ``out``. Example: ``linear_fanout([[1, 0], [2, 3]])`` -> ``([2, 1], [2, 2])``.
    """
    w = _array(weight, "weight", 2)
    if w.ndim != 2:
        raise ValueError(f"weight must be [out, in], got shape {w.shape}")
    eff = np.count_nonzero(w, axis=0).astype(np.int64)
    return eff, np.full(w.shape[1], w.shape[0], dtype=np.int64)


def sparse_fanout(weight: Any) -> tuple[np.ndarray, np.ndarray]:
    """Fan-out of each presynaptic neuron of a sparse connection given as a scipy sparse (or
    dense) matrix ``[post, pre]`` (the layout of Linear).

    ``F_eff[i]`` counts the nonzero weights of input ``i``; ``F_dense[i] = post``: dense
    hardware computes the whole equivalent matrix (NeuroBench's all-ones pass over the
    equivalent Linear layer), which is also what the clock engine counts as dense.
    """
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        sp = None
    if sp is not None and sp.issparse(weight):
        m = sp.csc_matrix(weight)
        rows = np.repeat(np.arange(m.shape[1]), np.diff(m.indptr))
        eff = np.bincount(rows[m.data != 0], minlength=m.shape[1]).astype(np.int64)
        return eff, np.full(m.shape[1], m.shape[0], dtype=np.int64)
    return linear_fanout(weight)


def csr_fanout(indptr: Any, weight: Any, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """Fan-out of each presynaptic neuron of a CSR connection whose rows are presynaptic
    (the layout of ``spikesim.ir.Sparse``): ``F_eff[i]`` = stored synapses of row ``i`` with a
    nonzero weight, ``F_dense[i] = n_post`` (the equivalent dense matrix, see
    :func:`sparse_fanout`). Several synapses between the same pair count separately. Example:
    ``csr_fanout([0, 2, 3], [0.0, 1.0, 2.0], 3)`` -> ``([1, 1], [3, 3])``."""
    ip = np.asarray(indptr, dtype=np.int64)
    w = _array(weight, "weight")
    if ip.ndim != 1 or ip.size < 1 or ip[0] != 0 or ip[-1] != w.size or np.any(np.diff(ip) < 0):
        raise ValueError(f"indptr must be non-decreasing from 0 to len(weight)={w.size}, "
                         f"got {ip.tolist()[:8]}...")
    if not isinstance(n_post, (int, np.integer)) or n_post < 1:
        raise ValueError(f"n_post must be an int >= 1, got {n_post!r}")
    rows = np.repeat(np.arange(ip.size - 1), np.diff(ip))
    eff = np.bincount(rows[w != 0], minlength=ip.size - 1).astype(np.int64)
    return eff, np.full(ip.size - 1, int(n_post), dtype=np.int64)


def conv2d_output_shape(in_hw: Sequence[int], kernel: Sequence[int], stride: Any = 1,
                        padding: Any = 0, dilation: Any = 1) -> tuple[int, int]:
    """``floor((H + 2 p - d (k - 1) - 1) / s) + 1`` per axis (torch/NIR convention)."""
    s, p, d = _pair(stride, "stride", 1), _pair(padding, "padding", 0), _pair(dilation,
                                                                               "dilation", 1)
    out = tuple((int(in_hw[i]) + 2 * p[i] - d[i] * (int(kernel[i]) - 1) - 1) // s[i] + 1
                for i in range(2))
    if min(out) < 1:
        raise ValueError(f"conv2d: input {tuple(in_hw)} with kernel {tuple(kernel)}, stride {s}, "
                         f"padding {p}, dilation {d} gives an empty output {out}")
    return out[0], out[1]


def _tap_mask(n_in: int, n_out: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """[k, n_in] 0/1: input position y reaches some output through kernel tap ky."""
    y = np.arange(n_in)[None, :]
    off = y + p - np.arange(k)[:, None] * d
    return ((off >= 0) & (off % s == 0) & (off // s < n_out)).astype(np.int64)


def conv2d_fanout(weight: Any, in_shape: Sequence[int], stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Exact fan-out of every input pixel of a Conv2d layer (see the module docstring).

    Args:
        weight: ``[C_out, C_in / groups, kh, kw]``.
        in_shape: ``(C_in, H, W)``.
        stride, padding, dilation: int or (row, column) pair; padding is symmetric zeros.
        groups: channel groups (C_in and C_out divisible by it).

    Returns:
        ``(F_eff, F_dense)``, int64 arrays ``[C_in, H, W]``.

    Example (3x3 input, 2x2 all-ones kernel, stride 1, no padding)::

        conv2d_fanout(np.ones((1, 1, 2, 2)), (1, 3, 3))[0][0]
        # [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    """
    w = _array(weight, "weight", 4)
    if w.ndim != 4:
        raise ValueError(f"weight must be [C_out, C_in/groups, kh, kw], got shape {w.shape}")
    if len(in_shape) != 3:
        raise ValueError(f"in_shape must be (C_in, H, W), got {tuple(in_shape)}")
    c_in, h, wd = (int(v) for v in in_shape)
    c_out, cpg, kh, kw = w.shape
    if not isinstance(groups, (int, np.integer)) or groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups!r} must be an int >= 1 dividing C_in={c_in} and "
                         f"C_out={c_out}")
    if cpg * groups != c_in:
        raise ValueError(f"weight has {cpg} input channels per group x {groups} groups, but "
                         f"in_shape has C_in={c_in}")
    s, p, d = _pair(stride, "stride", 1), _pair(padding, "padding", 0), _pair(dilation,
                                                                               "dilation", 1)
    h_out, w_out = conv2d_output_shape((h, wd), (kh, kw), s, p, d)
    rows = _tap_mask(h, h_out, kh, s[0], p[0], d[0])          # [kh, H]
    cols = _tap_mask(wd, w_out, kw, s[1], p[1], d[1])         # [kw, W]
    opg = c_out // groups
    nzw = (w != 0).reshape(groups, opg, cpg, kh, kw).sum(axis=1)   # [groups, cpg, kh, kw]
    n_eff = nzw.reshape(c_in, kh, kw).astype(np.int64)
    n_dense = np.full((c_in, kh, kw), opg, dtype=np.int64)
    f_eff = np.einsum("ckl,ky,lx->cyx", n_eff, rows, cols)
    f_dense = np.einsum("ckl,ky,lx->cyx", n_dense, rows, cols)
    return f_eff, f_dense


# ---------------------------------------------------------------------------------------------
# synaptic operations
# ---------------------------------------------------------------------------------------------
def synops(activity: Any, fanout_eff: Any, fanout_dense: Any) -> SynOps:
    """Synaptic operations of a layer from its input activity and fan-out maps.

    Args:
        activity: ``[T, batch, *in_shape]`` input values (spikes or real values).
        fanout_eff, fanout_dense: ``in_shape`` integer maps (e.g. :func:`conv2d_fanout`).

    Returns:
        :class:`SynOps` totals over all steps and samples (see the module docstring).
    """
    x = _array(activity, "activity", 2)
    fe = np.asarray(fanout_eff, dtype=np.int64)
    fd = np.asarray(fanout_dense, dtype=np.int64)
    if fe.shape != x.shape[2:] or fd.shape != x.shape[2:]:
        raise ValueError(f"activity [T, batch, *in_shape] has in_shape {x.shape[2:]}, but the "
                         f"fan-out maps have shapes {fe.shape} and {fd.shape}")
    t_steps, batch = x.shape[:2]
    flat = x.reshape(t_steps, batch, -1)
    nz = (flat != 0)
    eff_t = nz.sum(axis=1).astype(np.int64) @ fe.ravel()        # [T]
    dense_t = np.full(t_steps, batch * int(fd.sum()), dtype=np.int64)
    spk = np.all((flat == 0) | (flat == 1) | (flat == -1), axis=(1, 2))
    return SynOps(int(eff_t[spk].sum()), int(eff_t[~spk].sum()), int(dense_t[spk].sum()),
                  int(dense_t[~spk].sum()), int(batch))


def synops_linear(weight: Any, activity: Any) -> SynOps:
    """Synaptic operations of a Linear/Affine layer (weight ``[out, in]``, activity
    ``[T, batch, in]``).

    Example::

        w = np.array([[1.0, 0.0], [2.0, 3.0]])
        x = np.array([[[1, 1]], [[0, 1]]])     # T=2, batch=1
        synops_linear(w, x).effective_ac       # (2 + 1) + 1 = 4
    """
    fe, fd = linear_fanout(weight)
    return synops(activity, fe, fd)


def synops_conv2d(weight: Any, activity: Any, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1) -> SynOps:
    """Synaptic operations of a Conv2d layer; activity ``[T, batch, C_in, H, W]``."""
    x = _array(activity, "activity", 5)
    if x.ndim != 5:
        raise ValueError(f"activity must be [T, batch, C_in, H, W], got shape {x.shape}")
    fe, fd = conv2d_fanout(weight, x.shape[2:], stride, padding, dilation, groups)
    return synops(x, fe, fd)


def synops_sparse(weight: Any, activity: Any) -> SynOps:
    """Synaptic operations of a sparse connection (:func:`sparse_fanout`); activity
    ``[T, batch, pre]``."""
    fe, fd = sparse_fanout(weight)
    return synops(activity, fe, fd)


# ---------------------------------------------------------------------------------------------
# sparsity, membrane updates, footprint
# ---------------------------------------------------------------------------------------------
def activation_sparsity(*activities: Any) -> float:
    """NeuroBench ``ActivationSparsity``: ``(N_total - N_nonzero) / N_total`` over all the
    given activation arrays (all layers, steps and samples). Example:
    ``activation_sparsity(np.array([0, 1, 0, 0]))`` -> 0.75."""
    if not activities:
        raise ValueError("activation_sparsity needs at least one activation array")
    arrs = [_array(a, f"activities[{i}]") for i, a in enumerate(activities)]
    total = sum(a.size for a in arrs)
    if total == 0:
        raise ValueError("activation_sparsity: the activation arrays are empty")
    return (total - sum(int(np.count_nonzero(a)) for a in arrs)) / total


def connection_sparsity(*weights: Any) -> float:
    """NeuroBench ``ConnectionSparsity``: zero weights / all weights over the given weight
    arrays (Linear and Conv weights; neuron layers contribute nothing). NeuroBench rounds the
    result to 4 decimals; this returns it unrounded. Example:
    ``connection_sparsity(np.array([[0, 1], [2, 0]]))`` -> 0.5."""
    if not weights:
        raise ValueError("connection_sparsity needs at least one weight array")
    arrs = [_array(w, f"weights[{i}]") for i, w in enumerate(weights)]
    total = sum(a.size for a in arrs)
    if total == 0:
        raise ValueError("connection_sparsity: the weight arrays are empty")
    return sum(a.size - int(np.count_nonzero(a)) for a in arrs) / total


def membrane_updates(v: Any) -> int:
    """NeuroBench ``MembraneUpdates`` of one neuron layer, summed over the batch.

    ``v`` is the membrane potential after each step, ``[T, batch, ...]``; the count is

        v[0].size + count_nonzero(v[t] - v[t-1] for t = 1..T-1)

    (every neuron counts at the first step, then only those whose membrane changed).
    NeuroBench reports this divided by the batch size. Example:
    ``membrane_updates(np.array([[[0., 1.]], [[0., 1.]], [[1., 1.]]]))`` -> 2 + 0 + 1 = 3.
    """
    a = _array(v, "v", 2)
    return int(a[0].size + np.count_nonzero(np.diff(a, axis=0)))


def weight_count(*weights: Any) -> int:
    """Number of weight elements (zeros included) in the given arrays."""
    return int(sum(_array(w, f"weights[{i}]").size for i, w in enumerate(weights)))


def footprint(*arrays: Any, bits: int | None = None) -> int:
    """NeuroBench ``Footprint`` in bytes: ``sum(numel * element_size)`` over the parameters and
    buffers given (zeros included). With ``bits``, every element is stored on ``bits`` bits
    (quantised model): ``ceil(numel * bits / 8)`` per array. Example:
    ``footprint(np.zeros((10, 5), np.float32))`` -> 200; with ``bits=4`` -> 25."""
    if bits is not None and (not isinstance(bits, (int, np.integer)) or bits < 1):
        raise ValueError(f"bits must be an int >= 1 or None, got {bits!r}")
    total = 0
    for i, a in enumerate(arrays):
        arr = _array(a, f"arrays[{i}]", 0)
        total += arr.nbytes if bits is None else -(-arr.size * int(bits) // 8)
    return int(total)

