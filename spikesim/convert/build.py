"""``convert``: an ANN (:class:`spikesim.nn.Sequential`) to an :class:`spikesim.ir.Network`.

Each stage of the ANN (:mod:`spikesim.convert.plan`) becomes a chain of IR synapse nodes
(``Conv2d``/``Affine`` with folded batch-norm, ``AvgPool2d``/``SumPool2d``, ``Flatten``) into a
layer of ``IF`` neurons with threshold 1 (weight normalisation): with the scales ``lambda_l``
(:mod:`spikesim.convert.normalize`), the first weight of stage ``l`` is multiplied by
``lambda_{l-1} / lambda_l`` and every bias of the stage is divided by ``lambda_l``, so a
neuron's firing rate (spikes per step) approximates ``clip(a_l / lambda_l, 0, 1)``.
Biases are the IR nodes' biases: the clock engine adds them once per step, from the step the
stage's first input can arrive.

Max pooling (the engine has no max node) uses an exact-in-rate construction from supported
nodes, the *ReLU tree*: ``max(p, q) = relu(p - q) + q``. For each ``k x k`` window the
``k*k`` inputs are paired level by level; a level is one layer of IF neurons computing
``relu(p - q)`` (weights +1/-1) and relaying ``q`` (weight 1, a relay IF neuron reproduces a
rate in [0, 1]); the next level reads the sums. A ``2 x 2`` window takes 2 extra IF layers (6
neurons per window) and ``ceil(log2(k*k))`` in general; all are grouped ``Conv2d`` nodes. The
cost: those extra layers add their depth to the latency (steps before the first output) and
their spikes to the synaptic operations, and the approximation error of each extra rate-coded
layer (it is exact only in the limit of many steps). Average pooling costs nothing: it is
composed into the next layer's synapses. Measured (``spikesim bench convert --model tiny
--pool max|avg``, ReLU + 99.9th percentile, 1000 MNIST test images,
``benchmarks/results/convert_mnist_tiny_percentile_pool*.json``): depth 7 instead of 3 and
1.7x the spikes, but fewer synaptic operations (0.93 M vs 1.37 M per inference at T = 32,
because a pooled spike fans out once instead of every input spike of the window) and an
agreement with its own ANN of 97.2 / 99.9 % at T = 4 / 32 (average pooling: 91.8 / 99.6 %).

Readout (``readout=``):

* ``"membrane"`` (default): an ``LI`` node with ``tau = 1e12 s`` (a perfect integrator to
  float64 precision for any practical ``dt``) accumulates ``sum_t (W s_t + b)``; the predicted
  class is the argmax of its membrane.
* ``"spikes"``: an ``IF`` layer normalised like the hidden layers (scale from the ANN's outputs
  on the calibration data); the predicted class has the most spikes (ties: lowest index).

Input coding (``input_coding=``): ``"analog"`` feeds the input values as currents into the
first layer every step (``Frames``); ``"poisson"`` feeds Bernoulli spikes with probability
``x / x_max`` per step (``x_max``: the calibration data's maximum, stored in the metadata).

Timing: a spike emitted by a layer in step ``n`` reaches the next layer in step ``n + 1``, so
the readout (depth ``D`` = number of neuron layers, metadata ``["convert"]["depth"]``) sees the
input first in step ``D - 1`` (0-based). Running ``T + D`` steps with the input present
reproduces exactly the layer-synchronous SNN (all layers updated in the same step) after ``T``
steps; :func:`spikesim.convert.simulate` does that.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikesim.convert.normalize import NORMS, activations, check_calibration, scale_of
from spikesim.convert.plan import fold_batchnorm, stages

READOUT_TAU = 1e12  # s
RESETS = {"subtract": "subtract", "zero": "value"}


def _check_args(norm, percentile, reset, v_init, readout, input_coding):
    if norm not in NORMS:
        raise ValueError(f"norm={norm!r} is unknown: allowed {NORMS}")
    if not (isinstance(percentile, (int, float)) and 0 < percentile <= 100):
        raise ValueError(f"percentile={percentile!r} must be a number in (0, 100]")
    if reset not in RESETS:
        raise ValueError(f"reset={reset!r} is unknown: allowed 'subtract', 'zero'")
    if not (isinstance(v_init, (int, float)) and 0.0 <= v_init < 1.0):
        raise ValueError(f"v_init={v_init!r} must be a fraction of the threshold in [0, 1)")
    if readout not in ("membrane", "spikes"):
        raise ValueError(f"readout={readout!r} is unknown: allowed 'membrane', 'spikes'")
    if input_coding not in ("analog", "poisson"):
        raise ValueError(f"input_coding={input_coding!r} is unknown: allowed 'analog', 'poisson'")


def _tree(k: int):
    """Levels of the ReLU tree over ``k*k`` items: per level a list of neurons, each a
    coefficient vector over the previous level's slots; and the final item's coefficients."""
    n_slots = k * k
    items = [np.eye(n_slots)[i] for i in range(n_slots)]
    levels = []
    while len(items) > 1:
        neurons, nxt = [], []
        for j in range(0, len(items) - 1, 2):
            p, q = items[j], items[j + 1]
            neurons += [p - q, q]
            nxt.append((len(neurons) - 2, len(neurons) - 1))
        if len(items) % 2:
            neurons.append(items[-1])
            nxt.append((len(neurons) - 1,))
        levels.append(np.array(neurons))
        m = len(neurons)
        items = [np.bincount(np.array(ix), minlength=m).astype(np.float64) for ix in nxt]
    return levels, items[0]


def convert(ann, calibration_data: np.ndarray, *, norm: str = "percentile",
            percentile: float = 99.9, reset: str = "subtract", v_init: float = 0.0,
            readout: str = "membrane", input_coding: str = "analog", name: str = "converted"):
    """Convert a ReLU or QCFS ANN to a spiking :class:`spikesim.ir.Network` (module docs).

    Args:
        ann: a :class:`spikesim.nn.Sequential` of supported layers
            (:data:`spikesim.convert.plan.SUPPORTED`), e.g. built with
            :func:`spikesim.convert.load_weights` from a PyTorch state dict.
        calibration_data: ``[N, *input_shape]`` ANN inputs (e.g. a few hundred training
            images, scaled as the ANN saw them) for the activation statistics.
        norm: ``"percentile"`` (Rueckauer et al. 2017) or ``"max"`` (Diehl et al. 2015) for
            ReLU layers; QCFS layers always use their trained threshold.
        percentile: the percentile for ``norm="percentile"`` (in (0, 100]).
        reset: ``"subtract"`` (reset by subtraction, keeps the residual) or ``"zero"``.
        v_init: initial membrane as a fraction of the threshold (0.5: half threshold, which
            turns the rate code's floor into rounding; use it with QCFS).
        readout: ``"membrane"`` or ``"spikes"``.
        input_coding: ``"analog"`` or ``"poisson"``.
        name: recorded in the metadata.

    Returns:
        ``ir.Network`` with nodes ``input``, per stage ``s<l>_<op>`` synapse nodes and
        ``s<l>_if`` neurons (``s<l>_max<j>`` for max-pooling levels), ``readout`` and
        ``output``; ``metadata["convert"]`` holds depth, scales and the options.

    Example:
        >>> import numpy as np
        >>> from spikesim import nn
        >>> ann = nn.Sequential(nn.Dense(4, 8, rng=0), nn.ReLU(), nn.Dense(8, 3, rng=1))
        >>> x = np.random.default_rng(0).random((50, 4))
        >>> net = convert(ann, x, norm="max")
        >>> net.metadata["convert"]["depth"]
        2
    """
    from spikesim import ir

    _check_args(norm, percentile, reset, v_init, readout, input_coding)
    folded = fold_batchnorm(ann)
    plan, layers = stages(folded)
    folded.layers = layers  # with MaxPool/activation swaps (exact)
    x = check_calibration(folded, calibration_data)
    acts = activations(folded, x, [s.layer for s in plan])
    scales = []
    for s in plan[:-1]:
        scales.append(s.qcfs.threshold if s.act == "qcfs" else scale_of(acts[s.layer], norm,
                                                                          percentile))
    if readout == "spikes":
        scales.append(scale_of(acts[plan[-1].layer], norm, percentile))
    else:
        scales.append(1.0)
    if input_coding == "poisson":
        if x.min() < 0:
            raise ValueError("calibration_data: Poisson input coding needs inputs >= 0, got "
                             f"minimum {x.min()}")
        in_scale = float(x.max()) if x.max() > 0 else 1.0
    else:
        in_scale = 1.0
    shape = tuple(int(s) for s in x.shape[1:])
    nodes: dict[str, Any] = {"input": ir.Input(shape)}
    edges: list[str] = []
    prev, prev_scale = "input", in_scale
    rst = RESETS[reset]
    depth = 0

    def neurons(shape_):
        return ir.IF(shape_, v_threshold=1.0, v_reset=0.0, reset=rst,
                     v_init=float(v_init) if v_init else None)

    for li, st in enumerate(plan):
        last = li == len(plan) - 1
        lam = scales[li]
        chain: list[str] = []
        first_w = True
        for k, op in enumerate(st.ops):
            key = f"s{li + 1}_{k}_{op.kind}"
            if op.kind == "maxpool":
                prev, shape, depth = _maxpool(nodes, edges, prev, shape, op.kernel,
                                              f"s{li + 1}", neurons, depth)
                continue
            if op.kind in ("conv", "dense"):
                w = op.weight * ((prev_scale / lam) if first_w else 1.0)
                b = op.bias / lam
                first_w = False
                if op.kind == "conv":
                    nodes[key] = ir.Conv2d(input_shape=shape, weight=w, stride=op.stride,
                                           padding=op.padding, bias=b)
                    shape = tuple(nodes[key].output_shape())
                else:
                    if shape != (w.shape[1],):
                        raise ValueError(f"stage {li + 1}: Dense expects {w.shape[1]} inputs, "
                                         f"the shape there is {shape} (add a Flatten layer)")
                    nodes[key] = ir.Affine(w, b)
                    shape = (w.shape[0],)
            elif op.kind in ("avgpool", "sumpool"):
                cls = ir.AvgPool2d if op.kind == "avgpool" else ir.SumPool2d
                nodes[key] = cls(kernel_size=op.kernel, stride=op.kernel)
                shape = tuple(nodes[key].output_shape(shape))
            else:  # flatten
                nodes[key] = ir.Flatten(start_dim=0, end_dim=-1)
                shape = (int(np.prod(shape)),)
            chain.append(key)
        if last:
            out_key = "readout"
            nodes[out_key] = (ir.LI(shape, tau=READOUT_TAU) if readout == "membrane"
                              else neurons(shape))
        else:
            out_key = f"s{li + 1}_if"
            nodes[out_key] = neurons(shape)
        for a, b_ in zip([prev] + chain, chain + [out_key]):
            edges.append(f"{a}->{b_}")
        prev, prev_scale = out_key, lam
        depth += 1
    nodes["output"] = ir.Output()
    edges.append("readout->output")
    meta = {"source": f"spikesim.convert.{name}", "depth": depth, "norm": norm,
            "percentile": float(percentile), "reset": reset, "v_init": float(v_init),
            "readout": readout, "input_coding": input_coding, "input_scale": in_scale,
            "scales": [float(s) for s in scales], "maxpool": "relu-tree",
            "qcfs_levels": [int(s.qcfs.levels) for s in plan if s.act == "qcfs"],
            "timing": "run T + depth steps: equals the layer-synchronous SNN after T steps"}
    return ir.Network(nodes=nodes, edges=edges, metadata={"convert": meta})


def _maxpool(nodes, edges, prev, shape, k, prefix, neurons, depth):
    """Insert the ReLU-tree max pooling (module docs) after neuron node ``prev``."""
    from spikesim import ir

    if len(shape) != 3:
        raise ValueError(f"{prefix}: MaxPool2d needs a (C, H, W) input, got {shape}")
    c = shape[0]
    if k == 1:
        return prev, shape, depth
    levels, final = _tree(k)
    cur_shape = shape
    n_prev = 1
    for j, lv in enumerate(levels):
        n = lv.shape[0]
        if j == 0:
            w = np.zeros((c * n, 1, k, k))
            for ch in range(c):
                w[ch * n:(ch + 1) * n, 0] = lv.reshape(n, k, k)
            conv = ir.Conv2d(input_shape=cur_shape, weight=w, stride=k, groups=c)
        else:
            w = np.zeros((c * n, n_prev, 1, 1))
            for ch in range(c):
                w[ch * n:(ch + 1) * n, :, 0, 0] = lv
            conv = ir.Conv2d(input_shape=cur_shape, weight=w, groups=c)
        ck, nk = f"{prefix}_max{j}_syn", f"{prefix}_max{j}"
        nodes[ck] = conv
        cur_shape = tuple(conv.output_shape())
        nodes[nk] = neurons(cur_shape)
        edges += [f"{prev}->{ck}", f"{ck}->{nk}"]
        prev, n_prev = nk, n
        depth += 1
    # the final sum of the last level's neurons: a 1x1 grouped conv composed into the next stage
    w = np.zeros((c, n_prev, 1, 1))
    w[:, :, 0, 0] = final
    ck = f"{prefix}_max_sum"
    nodes[ck] = ir.Conv2d(input_shape=cur_shape, weight=w, groups=c)
    edges.append(f"{prev}->{ck}")
    # the caller continues the stage's synapse chain from this (synapse) node
    return ck, tuple(nodes[ck].output_shape()), depth
