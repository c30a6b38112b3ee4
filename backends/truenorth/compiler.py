"""Compile an :class:`spikesim.ir.Network` onto TrueNorth cores.

Supported networks: a feed-forward chain ``Input -> (Affine | Linear | Sparse | Conv2d) ->
IF/LIF(tau = inf) -> ... -> Output``. Each synapse layer becomes a weight matrix
``W [n_out, n_in]`` that must factor as ``W = diag(a) Q`` with a per-neuron scale ``a_j > 0``
and integers ``Q`` taking at most 4 distinct nonzero values ("levels") in the layer. Then:

- each input i enters a core on one axon per level its neurons there need; the axon's type is
  the level index, so a ternary layer (levels +1, -1) uses a + copy and a - copy of an input
  used with both signs, and at most 128 such inputs fit a core (Esser et al. 2016);
- neuron j's type weights are ``s_j^g = K_j * level_g`` with an integer gain ``K_j`` (the
  largest that keeps weights, leak and threshold in their registers), its threshold is
  ``alpha_j = floor(K_j theta_j / a_j) + 1`` (so ``V >= alpha`` is exactly ``v > theta`` of the
  float model on the integer grid), its leak ``round(K_j b_j / a_j)`` (b_j: the Affine bias
  plus ``bias * 1 ms`` of the neuron node, per tick), reset by subtraction -> linear reset
  (gamma 1), reset to value -> gamma 0 with R = 0 (potentials are shifted by v_reset), and a
  floor far below (kappa 1, beta = 2**18 - 1);
- a neuron whose spikes must reach d > 1 (core, axon) destinations is given d - 1 copies in its
  own core ("splitters": identical neurons with the same inputs fire identically in
  deterministic mode), each copy targeting one destination with a 1-tick delay;
- neurons are placed greedily, layer by layer, into cores whose axon set (distinct
  (input, level) pairs) and neuron count (copies included) fit 256;
- a neuron whose own fan-in needs more than 256 axons raises a ValueError naming the layer and
  the limit, unless ``relay="partial-sum"`` is given (see :mod:`.relay`).

Each layer adds one tick of latency (spikes of tick t are integrated at tick t + 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import params as P
_LEVEL_TOL = 1e-6


@dataclass
class Layer:
    """One compiled layer (float form before placement)."""

    name: str              # neuron node name
    syn: str               # synapse node name
    W: np.ndarray          # [n_out, n_in] float
    bias_tick: np.ndarray  # [n_out] per-tick input (Affine bias + neuron bias * tick)
    theta: np.ndarray      # [n_out] threshold relative to v_reset
    gamma: int             # 0 reset to value, 1 subtract
    v_init: np.ndarray     # [n_out] relative to v_reset
    floor_zero: bool = False  # relay neurons: V saturates at 0 (beta = 0, kappa = 1)


def _dense_weight(node: Any, in_shape: tuple[int, ...]) -> np.ndarray:
    from spikesim import ir

    if isinstance(node, (ir.Affine, ir.Linear)):
        return np.asarray(node.weight, dtype=np.float64)
    if isinstance(node, ir.Sparse):
        return node.to_dense()
    if isinstance(node, ir.Conv2d):
        n_in = int(np.prod(in_shape))
        if n_in > 20000:
            raise ValueError(f"Conv2d input of {n_in} values is too large to densify")
        cols = []
        w = np.asarray(node.weight, np.float64)
        # response to each unit input (the convolution is linear; bias excluded)
        eye = np.eye(n_in).reshape(n_in, *in_shape)
        for e in eye:
            cols.append(_conv2d(e, w, node).ravel())
        return np.stack(cols, axis=1)
    raise ValueError(f"synapse node {type(node).__name__} is not supported by the TrueNorth "
                     "compiler (Affine, Linear, Sparse, Conv2d)")


def _conv2d(x: np.ndarray, w: np.ndarray, node: Any) -> np.ndarray:
    stride = node.stride if isinstance(node.stride, tuple) else (node.stride, node.stride)
    pad = node.padding if isinstance(node.padding, tuple) else (node.padding, node.padding)
    groups = getattr(node, "groups", 1)
    if groups != 1 or getattr(node, "dilation", 1) not in (1, (1, 1)):
        raise ValueError("Conv2d with groups or dilation is not supported by the TrueNorth compiler")
    C, H, Wd = x.shape
    xp = np.pad(x, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    O, _, kh, kw = w.shape
    Ho = (H + 2 * pad[0] - kh) // stride[0] + 1
    Wo = (Wd + 2 * pad[1] - kw) // stride[1] + 1
    out = np.zeros((O, Ho, Wo))
    for a in range(Ho):
        for b in range(Wo):
            patch = xp[:, a * stride[0]:a * stride[0] + kh, b * stride[1]:b * stride[1] + kw]
            out[:, a, b] = np.tensordot(w, patch, axes=([1, 2, 3], [0, 1, 2]))
    return out


def parse_chain(net: Any) -> tuple[str, int, list[Layer], dict[str, str]]:
    """``(input name, input size, layers, {output node: neuron layer})`` of a feed-forward
    chain; ValueError naming the node for anything else."""
    from spikesim import ir

    if not isinstance(net, ir.Network):
        raise TypeError(f"net: expected spikesim.ir.Network, got {type(net).__name__}")
    inputs = [n for n, v in net.nodes.items() if isinstance(v, ir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"the TrueNorth compiler needs exactly one Input node, got {inputs}")
    layers: list[Layer] = []
    outputs: dict[str, str] = {}
    cur = inputs[0]
    seen = {cur}
    while True:
        outs = net.out_edges(cur)
        nxt = [e.dst for e in outs if not isinstance(net.nodes[e.dst], ir.Output)]
        for e in outs:
            if isinstance(net.nodes[e.dst], ir.Output):
                if cur == inputs[0]:
                    raise ValueError("an Input connected straight to an Output is not supported")
                outputs[e.dst] = cur
        if not nxt:
            break
        if len(nxt) > 1:
            raise ValueError(f"node {cur!r} feeds {nxt}: the TrueNorth compiler supports "
                             "feed-forward chains (one successor per node)")
        syn_name = nxt[0]
        syn = net.nodes[syn_name]
        if isinstance(syn, ir.Flatten):
            cur = syn_name
            continue
        if not isinstance(syn, ir.SynapseNode):
            raise ValueError(f"node {syn_name!r} ({type(syn).__name__}) follows {cur!r}; "
                             "expected a synapse node")
        if len(net.in_edges(syn_name)) != 1:
            raise ValueError(f"synapse node {syn_name!r} has several inputs (not supported)")
        W = _dense_weight(syn, net.shapes[syn_name][0] or net.shapes[cur][1])
        bias = np.zeros(W.shape[0])
        if isinstance(syn, ir.Affine) or (isinstance(syn, ir.Conv2d) and syn.bias is not None):
            b = np.asarray(syn.bias, np.float64)
            bias = np.repeat(b, W.shape[0] // b.size) if b.size != W.shape[0] else b
        if isinstance(syn, ir.Sparse) and np.any(np.asarray(syn.delay) > 0):
            raise ValueError(f"Sparse node {syn_name!r} has synaptic delays; the TrueNorth "
                             "compiler maps each layer with a 1-tick delay")
        nouts = [e.dst for e in net.out_edges(syn_name)]
        if len(nouts) != 1 or not isinstance(net.nodes[nouts[0]], ir.NeuronNode):
            raise ValueError(f"synapse node {syn_name!r} must feed exactly one neuron node")
        nname = nouts[0]
        if nname in seen:
            raise ValueError(f"recurrent connection into {nname!r} is not supported")
        seen.update({syn_name, nname})
        layers.append(_neuron_layer(nname, syn_name, net.nodes[nname], W, bias))
        cur = nname
    if not layers:
        raise ValueError("the network has no synapse -> neuron layer to compile")
    return inputs[0], int(net.size(inputs[0])), layers, outputs


def _neuron_layer(name: str, syn: str, node: Any, W: np.ndarray, bias: np.ndarray) -> Layer:
    from spikesim import ir

    n = W.shape[0]
    if isinstance(node, ir.LIF):
        if np.any(np.isfinite(node.tau) & (np.asarray(node.tau) < 1e6)):
            raise ValueError(f"layer {name!r}: LIF with tau={np.min(node.tau):g} s has an "
                             "exponential leak; a TrueNorth neuron leaks linearly (a constant "
                             "per tick). Use IF neurons (or LIF with tau=inf)")
    elif not isinstance(node, ir.IF):
        raise ValueError(f"layer {name!r}: {type(node).__name__} neurons are not supported by "
                         "the TrueNorth compiler (IF, or LIF with an infinite tau)")
    if np.any(np.asarray(node.refractory) > 0):
        raise ValueError(f"layer {name!r}: refractory={np.max(node.refractory):g} s is not "
                         "supported (the TrueNorth neuron has no refractory period)")
    r = np.broadcast_to(np.asarray(node.r, np.float64), (n,))
    v_reset = np.broadcast_to(np.asarray(node.v_reset, np.float64), (n,))
    v_th = np.broadcast_to(np.asarray(node.v_threshold, np.float64), (n,))
    nb = np.broadcast_to(np.asarray(node.bias, np.float64), (n,))
    v0 = np.broadcast_to(np.asarray(node.v_init if node.v_init is not None
                                    else (node.v_leak if hasattr(node, "v_leak") else 0.0),
                                    np.float64), (n,))
    theta = v_th - v_reset
    if np.any(theta <= 0):
        raise ValueError(f"layer {name!r}: v_threshold must exceed v_reset")
    return Layer(name, syn, W * r[:, None], r * (bias + nb * P.TICK_S), theta,
                 1 if node.reset == "subtract" else 0, v0 - v_reset)


def factor_levels(layer: Layer, quantize: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(scale a [n_out], Q [n_out, n_in] int, levels [<=4])`` with ``W = diag(a) Q``.

    ``quantize=None`` requires W to be exactly representable; ``"ternary"`` quantises with
    :func:`spikesim.quant.ternary` (per neuron), ``"int2"`` with a 2-bit
    :class:`spikesim.quant.QuantSpec` (levels -2, -1, 1), both with the user's consent.
    """
    W = layer.W
    if quantize is not None:
        from spikesim import quant

        if quantize == "ternary":
            qt = quant.ternary(W, per_channel=True, axis=0)
        elif quantize == "int2":
            qt = quant.quantize(W, quant.QuantSpec(bits=2, per_channel=True, axis=0))
        else:
            raise ValueError(f"quantize={quantize!r}: allowed None, 'ternary', 'int2'")
        a = np.broadcast_to(np.asarray(qt.scale, np.float64).reshape(-1), (W.shape[0],)).copy()
        Q = qt.q.astype(np.int64)
    else:
        absw = np.abs(W)
        a = np.where((absw > 0).any(1), np.min(np.where(absw > 0, absw, np.inf), axis=1), 1.0)
        Qf = W / a[:, None]
        Q = np.rint(Qf).astype(np.int64)
        bad = np.abs(Qf - Q) > _LEVEL_TOL * np.maximum(1.0, np.abs(Qf))
        if bad.any():
            j, i = map(int, np.argwhere(bad)[0])
            raise ValueError(
                f"layer {layer.syn!r}: weight {W[j, i]:g} (neuron {j}, input {i}) is not an "
                f"integer multiple of that neuron's smallest weight {a[j]:g}; TrueNorth holds "
                f"at most {P.N_AXON_TYPES} weight levels per layer (axon types). Pass "
                "quantize='ternary' (or 'int2') to quantise with spikesim.quant")
    levels = np.unique(Q[Q != 0])
    if levels.size > P.N_AXON_TYPES:
        raise ValueError(f"layer {layer.syn!r}: {levels.size} distinct weight levels "
                         f"{levels[:8].tolist()} > {P.N_AXON_TYPES} axon types per core; pass "
                         "quantize='ternary' (or 'int2') to quantise with spikesim.quant")
    return a, Q, levels


def integer_params(layer: Layer, a: np.ndarray, levels: np.ndarray) -> dict[str, np.ndarray]:
    """Per-neuron integer gain K, type weights, leak, threshold, reset, v_init."""
    n = a.size
    lmax = max(1, int(np.max(np.abs(levels)))) if levels.size else 1
    rel_b = layer.bias_tick / a
    rel_th = layer.theta / a
    rel_v0 = layer.v_init / a
    K = np.full(n, P.WEIGHT_MAX // lmax, np.float64)
    with np.errstate(divide="ignore"):
        K = np.minimum(K, np.where(np.abs(rel_b) > 0, (P.LEAK_MAX + 0.5) / np.abs(rel_b), np.inf))
        K = np.minimum(K, np.where(rel_th > 0, (P.THRESHOLD_MAX - 1) / rel_th, np.inf))
    K = np.floor(K).astype(np.int64)
    if np.any(K < 1):
        j = int(np.argmin(K))
        raise ValueError(
            f"layer {layer.name!r}: neuron {j} cannot be represented: bias/weight = "
            f"{rel_b[j]:g} per tick needs a leak beyond {P.LEAK_MIN}..{P.LEAK_MAX} or "
            f"threshold/weight = {rel_th[j]:g} beyond {P.THRESHOLD_MAX} with integer weights")
    w = np.zeros((n, P.N_AXON_TYPES), np.int64)
    for g, lv in enumerate(levels):
        w[:, g] = K * lv
    alpha = np.floor(K * rel_th).astype(np.int64) + 1
    leak = np.rint(K * rel_b).astype(np.int64)
    v0 = np.clip(np.rint(K * rel_v0), P.V_MIN, P.V_MAX).astype(np.int64)
    return {"K": K, "weights": w, "alpha": alpha, "leak": leak, "v_init": v0,
            "threshold_rounding": (alpha - K * rel_th) / np.maximum(K * rel_th, 1e-12)}
