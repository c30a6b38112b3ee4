"""Export a trained :class:`~spikesim.nn.Sequential` to an :class:`spikesim.ir.Network`.

Mapping (time step ``dt`` in seconds; the nn forward convention equals the clock engine's):

* ``Dense`` -> ``Affine`` (``Linear`` without bias), constrained weights if a quantisation
  constraint is attached; ``Conv2d`` -> ``Conv2d``; pools -> pools; ``Flatten`` ->
  ``Flatten``; ``Dropout`` is dropped (identity at inference); a ``BatchNorm`` directly after a
  ``Dense``/``Conv2d`` is folded into it with its running statistics.
* ``LIF`` -> IR ``LIF`` with ``tau = -dt / ln(beta)``, ``v_leak = 0``, ``r = 1``,
  ``v_threshold = theta`` and ``reset="subtract"`` (``v_reset = 0``) or ``reset="value"``,
  ``v_reset = 0`` for ``reset="zero"``; ``beta = 1`` -> IR ``IF``.
* ``RecurrentLIF`` -> ``LIF`` plus a ``Linear`` self-loop with ``recurrent_weight`` (if any).
  With threshold adaptation (``AdaptiveLIF``, or ``b_adapt != 0``) -> IR ``AdaptiveLIF`` with
  ``tau_adapt = -dt / ln(rho)`` and ``delta_threshold = b_adapt / rho``: the IR threshold
  adaptation decays by ``rho`` per step and jumps after the spike, the layer's ``b_adapt A[t]``
  adds ``b_adapt S[t-1]`` after the decay, so the two agree when the jump is ``b_adapt /
  rho`` (``0 < rho < 1`` and ``beta < 1`` needed; both resets subtract or reset from the
  adapted threshold, as the layer does). ``LI`` -> IR ``LI`` with ``tau = -dt / ln(beta)``.

On the clock engine every synapse stage adds one step: the spikes of the ``l``-th spiking layer
(``l = 1`` for the first) appear ``l`` steps later than in training, and are otherwise identical
(tested, with and without biases: the engine starts a projection's bias in the step its first
input can arrive, which is when the trained layer first receives it).
``ReLU`` has no spiking IR equivalent here and raises ``ValueError``.
"""
from __future__ import annotations

import math

import numpy as np

from spikesim.nn.layers import (AvgPool2d, BatchNorm, Conv2d, Dense, Dropout, Flatten,
                                MaxPool2d, SumPool2d)
from spikesim.nn.recurrent import RecurrentLIF
from spikesim.nn.spiking import LI, LIF


def _tau(beta: np.ndarray, dt: float, where: str) -> np.ndarray:
    b = np.asarray(beta, dtype=np.float64).ravel()
    if np.any(b <= 0) or np.any(b > 1):
        raise ValueError(f"{where}: beta must be in (0, 1] for export (tau = -dt/ln(beta)), "
                         f"got range [{b.min()}, {b.max()}]")
    with np.errstate(divide="ignore"):
        return -dt / np.log(b)


def _adaptive(layer, shape, dt: float, th, reset: str, i: int):
    """IR ``AdaptiveLIF`` of a layer with threshold adaptation (module docs)."""
    from spikesim import ir

    n = int(np.prod(shape))
    ba = np.broadcast_to(np.asarray(layer.buffers["b_adapt"], np.float64).ravel(), (n,))
    rho = np.broadcast_to(np.asarray(layer.buffers["rho"], np.float64).ravel(), (n,))
    bad = (ba != 0) & ((rho <= 0) | (rho >= 1))
    if np.any(bad):
        raise ValueError(f"layer {i} {type(layer).__name__}: rho must be in (0, 1) where "
                         f"b_adapt != 0 for export (tau_adapt = -dt/ln(rho), delta_threshold "
                         f"= b_adapt/rho), got rho = {float(rho[bad][0])}")
    beta = np.asarray(layer._get("beta"), np.float64)
    if np.any(beta >= 1):
        raise ValueError(f"layer {i} {type(layer).__name__}: beta must be < 1 for an adaptive "
                         f"layer (IR AdaptiveLIF has a leak), got {float(beta.max())}")
    use = ba != 0  # neurons without adaptation: a stays 0, any decay will do
    tau_a = np.where(use, -dt / np.log(np.where(use, rho, 0.5)), dt)
    delta = np.where(use, ba / np.where(use, rho, 1.0), 0.0)
    tau = _tau(beta, dt, f"layer {i} {type(layer).__name__}")
    return ir.AdaptiveLIF(shape, tau=_scalar_or(tau), tau_adapt=_scalar_or(tau_a),
                          delta_threshold=_scalar_or(delta), v_leak=0.0, v_threshold=th,
                          v_reset=0.0, reset=reset)


def _scalar_or(a: np.ndarray):
    a = np.asarray(a, dtype=np.float64).ravel()
    return float(a[0]) if np.all(a == a[0]) else a


def to_ir(model, input_shape, dt: float = 1e-3, name: str = "nn"):
    """The trained ``model`` as an :class:`spikesim.ir.Network` (see the module docs).

    Args:
        model: a :class:`~spikesim.nn.Sequential`.
        input_shape: per-sample input shape, e.g. ``784`` or ``(1, 28, 28)``.
        dt: the time step (s) one training step stands for.
        name: prefix recorded in the network metadata.

    Returns:
        ``ir.Network`` with nodes ``"input"``, ``"<index>_<kind>"`` per layer and ``"output"``.

    Example:
        >>> from spikesim.nn import Sequential, Dense, LIF
        >>> net = to_ir(Sequential(Dense(4, 3, rng=0), LIF(beta=0.9)), 4)
        >>> sorted(net.nodes)
        ['0_affine', '1_lif', 'input', 'output']
    """
    from spikesim import ir

    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt={dt!r} must be a number of seconds > 0")
    shape = (int(input_shape),) if np.isscalar(input_shape) else tuple(int(s) for s in input_shape)
    nodes = {"input": ir.Input(shape)}
    edges: list[str] = []
    prev = "input"
    layers = list(model.layers)
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        key = None
        if isinstance(layer, (Dense, Conv2d)):
            j = i  # the node is named after this layer, even when a BatchNorm is folded in
            w = layer.effective_weight().astype(np.float64)
            b = layer.params["bias"].astype(np.float64) if "bias" in layer.params else None
            if isinstance(nxt, BatchNorm):  # fold BN (running statistics)
                bn = nxt
                s = bn.params["weight"] / np.sqrt(bn.buffers["running_var"].astype(np.float64)
                                                  + bn.eps)
                w = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
                b0 = np.zeros(w.shape[0]) if b is None else b
                b = (b0 - bn.buffers["running_mean"]) * s + bn.params["bias"]
                i += 1
            if isinstance(layer, Dense):
                if shape != (layer.in_features,):
                    raise ValueError(f"layer {i} Dense expects {layer.in_features} inputs, the "
                                     f"exported shape there is {shape}")
                key = f"{j}_affine" if b is not None else f"{j}_linear"
                nodes[key] = ir.Affine(w, b) if b is not None else ir.Linear(w)
                shape = (layer.out_features,)
            else:
                key = f"{j}_conv"
                nodes[key] = ir.Conv2d(input_shape=shape, weight=w, stride=layer.stride,
                                       padding=layer.padding, bias=b)
                shape = tuple(nodes[key].output_shape())
        elif isinstance(layer, BatchNorm):
            raise ValueError(f"layer {i} BatchNorm must directly follow a Dense or Conv2d layer "
                             "to be folded into it for export")
        elif isinstance(layer, (MaxPool2d, AvgPool2d, SumPool2d)):
            cls = {MaxPool2d: ir.MaxPool2d, AvgPool2d: ir.AvgPool2d,
                   SumPool2d: ir.SumPool2d}[type(layer)]
            key = f"{i}_{type(layer).__name__.lower()}"
            nodes[key] = cls(kernel_size=layer.kernel_size, stride=layer.stride)
            shape = tuple(nodes[key].output_shape(shape))
        elif isinstance(layer, Flatten):
            key = f"{i}_flatten"
            nodes[key] = ir.Flatten(start_dim=0, end_dim=-1)
            shape = (int(np.prod(shape)),)
        elif isinstance(layer, Dropout):
            i += 1
            continue
        elif isinstance(layer, (LIF, RecurrentLIF)):
            key = f"{i}_lif"
            beta = layer._get("beta")
            th = _scalar_or(layer._get("threshold"))
            reset = ("subtract" if layer.reset == "subtract" else "value")
            if isinstance(layer, RecurrentLIF) and np.any(layer.buffers["b_adapt"] != 0):
                nodes[key] = _adaptive(layer, shape, dt, th, reset, i)
            elif np.all(np.asarray(beta) == 1.0):
                nodes[key] = ir.IF(shape, v_threshold=th, v_reset=0.0, reset=reset)
            else:
                nodes[key] = ir.LIF(shape, tau=_scalar_or(_tau(beta, dt, f"layer {i} LIF")),
                                    v_leak=0.0, v_threshold=th, v_reset=0.0, reset=reset)
            if isinstance(layer, RecurrentLIF) and "recurrent_weight" in layer.params:
                rk = f"{i}_recurrent"
                nodes[rk] = ir.Linear(layer.params["recurrent_weight"].astype(np.float64))
                edges += [f"{key}->{rk}", f"{rk}->{key}"]
        elif isinstance(layer, LI):
            key = f"{i}_li"
            nodes[key] = ir.LI(shape, tau=_scalar_or(_tau(layer._beta(1 if np.size(
                layer.params.get("beta", layer.buffers.get("beta"))) == 1 else
                int(np.prod(shape))), dt, f"layer {i} LI")), v_leak=0.0)
        else:
            raise ValueError(f"layer {i} {type(layer).__name__} has no spiking IR equivalent "
                             "(for ANNs with ReLU use spikesim.convert)")
        edges.append(f"{prev}->{key}")
        prev = key
        i += 1
    nodes["output"] = ir.Output()
    edges.append(f"{prev}->output")
    return ir.Network(nodes=nodes, edges=edges,
                      metadata={"source": f"spikesim.nn.{name}", "dt": dt,
                                "convention": "U[t]=beta*(U[t-1]-theta*S[t-1])+X[t]; "
                                              "S=U>=theta"})
