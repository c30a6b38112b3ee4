"""Attach rules to projections, read learned weights back, save them with the network."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from spikesim import ir
from spikesim.learn._clock import check_rule
from spikesim.learn.rules import AdaptiveThreshold


def attach(net: ir.Network, projection: str, rule: Any) -> ir.Network:
    """A copy of ``net`` whose projection ``projection`` learns with ``rule``.

    ``Sparse`` projections get ``plasticity=rule``; a dense ``Linear`` projection becomes an
    all-to-all ``Sparse`` (every entry a plastic synapse, zeros included) with the rule.
    ``Affine`` (bias), ``Conv2d`` and pooling nodes cannot carry a rule (shared or fixed
    weights): a ``TypeError`` names the node.

    Example: ``net2 = attach(net, "w", PairSTDP())``.
    """
    if projection not in net.nodes:
        raise ValueError(f"projection: {projection!r} is not a node; nodes: {sorted(net.nodes)}")
    check_rule(f"attach(projection={projection!r})", rule)
    node = net[projection]
    if isinstance(node, ir.Sparse):
        new = dataclasses.replace(node, plasticity=rule)
    elif type(node) is ir.Linear:
        W = np.asarray(node.weight, dtype=np.float64)
        n_post, n_pre = W.shape
        new = ir.Sparse(n_pre=n_pre, n_post=n_post,
                        indptr=np.arange(n_pre + 1) * n_post,
                        indices=np.tile(np.arange(n_post), n_pre), weight=W.T.ravel(),
                        plasticity=rule)
    else:
        raise TypeError(f"projection: {projection!r} is a {type(node).__name__}, which cannot "
                        f"carry a learning rule; rules attach to Sparse and Linear projections")
    nodes = dict(net.nodes)
    nodes[projection] = new
    return ir.Network(nodes, net.edges, metadata=net.metadata)


def _engine(sim: Any) -> Any:
    eng = getattr(sim, "engine", sim)
    if not hasattr(eng, "weights"):
        raise TypeError(f"sim: expected a Simulator (or engine) with weight readback, got "
                        f"{type(sim).__name__}")
    return eng


def weights(sim: Any, projection: str) -> np.ndarray:
    """Current (learned) weights of ``Sparse`` node ``projection`` of a simulator, in the
    order of its ``weight`` field (``Sparse.to_dense`` gives the matrix).

    Example: ``w = weights(sim, "syn")``.
    """
    return _engine(sim).weights(projection)


def _can_write(eng: Any) -> bool:
    """Whether ``eng``'s weights can be overwritten: any event engine, a clock engine built
    with synapse ids (a plastic network or one with a weight monitor)."""
    return getattr(eng, "name", "") != "clock" or getattr(eng, "_want_origin", False)


def _writable(sim: Any, fn: str) -> Any:
    """The engine of ``sim`` if its weights can be overwritten (:func:`_can_write`)."""
    eng = _engine(sim)
    if not _can_write(eng):
        raise TypeError(f"sim: {fn} needs a plastic network (or a WeightMonitor) on the clock "
                        f"engine, or the event engine")
    return eng


def set_weights(sim: Any, projection: str, w: Any) -> None:
    """Overwrite the current weights of ``Sparse`` node ``projection`` (``Sparse.weight``
    order), e.g. to normalise learned weights between trials (Diehl and Cook 2015). Traces
    and the state are untouched. Event engine: spikes already emitted deliver the new
    weights, except on plastic synapses with a delay, which deliver the weight of their
    emission.

    Example: ``set_weights(sim, "syn", w / w.sum() * 78)``.
    """
    eng = _writable(sim, "set_weights")
    from spikesim.learn._clock import projection_set_weights

    projection_set_weights(eng, projection, w)


def normalize(sim: Any, projection: str, total: float) -> None:
    """Scale the current weights of ``Sparse`` node ``projection`` so that the weights into
    each postsynaptic neuron sum to ``total`` (Diehl and Cook 2015 normalise before each
    image; a scaling, no clipping). Neurons whose incoming weights sum to 0 are left alone.
    The same as ``set_weights`` with the rescaled ``weights``, in place and without copies.

    Example: ``normalize(sim, "w_in", 78.0)``.
    """
    eng = _writable(sim, "normalize")
    if not (isinstance(total, (int, float, np.floating, np.integer)) and np.isfinite(total)
            and total > 0):
        raise ValueError(f"total: must be a finite number > 0, got {total!r}")
    from spikesim.kernels.clock import scale_incoming
    from spikesim.learn._clock import flush_pending, weight_positions

    cache = eng.__dict__.setdefault("_norm_post", {})
    if projection not in cache:
        pos = weight_positions(eng, projection)  # validates the name
        cache[projection] = (pos, eng.sidx[pos].astype(np.int64))
    flush_pending(eng)
    pos, post = cache[projection]
    scale_incoming(eng.sw, pos, post, float(total), eng.N)


def learned_network(sim: Any) -> ir.Network:
    """The simulator's network with every plastic ``Sparse`` holding its learned weights, and
    every other ``Sparse`` whose weights :func:`set_weights` changed holding its current ones
    (the others keep their weights as given, not rounded to the engine's float type; save it
    with ``ir.save``; rules stay attached).

    Example: ``ir.save(learned_network(sim), "learned.npz")``.
    """
    eng = _engine(sim)
    net = eng.net
    writable = _can_write(eng)
    nodes = dict(net.nodes)
    for name, node in net.nodes.items():
        if isinstance(node, ir.Sparse) and (node.plasticity is not None or writable):
            cur = eng.weights(name)
            if node.plasticity is None:
                given = np.asarray(node.weight, np.float64)
                if np.array_equal(cur, given.astype(eng.sw.dtype).astype(np.float64)):
                    continue  # unchanged
            nodes[name] = dataclasses.replace(node, weight=cur)
    return ir.Network(nodes, net.edges, metadata=net.metadata)


def with_homeostasis(net: ir.Network, node: str, rule: AdaptiveThreshold) -> ir.Network:
    """A copy of ``net`` where ``LIF`` or ``CobaLIF`` node ``node`` gets Diehl and Cook's
    adaptive threshold: a ``LIF`` becomes an ``AdaptiveLIF``, a ``CobaLIF`` keeps its type;
    both with ``tau_adapt = tau_theta``, ``delta_threshold = theta_plus`` and ``a_init =
    theta_init``. Both engines update the threshold in their kernels (the event engine
    exactly, for the ``AdaptiveLIF``; ``CobaLIF`` runs on the clock engine only).

    Example: ``net2 = with_homeostasis(net, "exc", AdaptiveThreshold(5e-5, 1e4))``.
    """
    if not isinstance(rule, AdaptiveThreshold):
        raise TypeError(f"rule: expected AdaptiveThreshold, got {type(rule).__name__}")
    if node not in net.nodes:
        raise ValueError(f"node: {node!r} is not a node; nodes: {sorted(net.nodes)}")
    old = net[node]
    if type(old) is ir.CobaLIF:
        new = dataclasses.replace(old, tau_adapt=rule.tau_theta, delta_threshold=rule.theta_plus,
                                  a_init=rule.theta_init)
    elif type(old) is ir.LIF:
        kw = {f.name: getattr(old, f.name) for f in dataclasses.fields(old)}
        new = ir.AdaptiveLIF(**kw, tau_adapt=rule.tau_theta, delta_threshold=rule.theta_plus,
                             a_init=rule.theta_init)
    else:
        raise TypeError(f"node: {node!r} is a {type(old).__name__}; homeostasis applies to LIF "
                        f"and CobaLIF nodes")
    nodes = dict(net.nodes)
    nodes[node] = new
    return ir.Network(nodes, net.edges, metadata=net.metadata)
