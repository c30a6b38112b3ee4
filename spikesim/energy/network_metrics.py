"""NeuroBench metrics of a :class:`spikesim.ir.Network` from recorded activity.

These read the IR node geometry (``Affine``/``Linear`` ``[out, in]`` weights, ``Conv2d``
stride/padding/dilation/groups, ``Sparse`` CSR rows) and call the numpy functions of
:mod:`spikesim.energy.metrics`. They are the *offline* reference: given the spikes an engine
recorded, :func:`counts_from_network` computes the synaptic operations the engine should
have counted online.

``activity`` maps a node name to what that node emitted, ``[T, batch, ...]`` (any trailing
shape with the node's number of elements): the input arrays for ``Input`` nodes and the
spike arrays (0/1, or spike counts per step) for neuron nodes. The input of a synapse node
is the activity of its source node (summed when several edges arrive); it is traced through
shape-only nodes (``Flatten``, ``Delay``) where the delay is ignored (a delay shifts the
operations in time but does not change their number when ``T`` covers the whole run).
Pooling nodes are not counted (NeuroBench does not count pooling) and their output is not
traced (a connection layer fed by a pool has no offline count; it is listed in ``skipped``).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from spikesim.energy import metrics as m
from spikesim.sim.counts import Counts

__all__ = ["layer_fanout", "from_network", "counts_from_network", "network_weights",
           "network_footprint", "network_connection_sparsity", "network_weight_count"]


def layer_fanout(node: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(F_eff, F_dense)`` of an IR connection node over its input shape, or None for nodes
    that are not connection layers (pools, flatten, neurons...)."""
    from spikesim import ir

    if isinstance(node, (ir.Affine, ir.Linear)):
        return m.linear_fanout(node.weight)
    if isinstance(node, ir.Conv2d):
        return m.conv2d_fanout(node.weight, node.input_shape, node.stride, node.padding,
                               node.dilation, node.groups)
    if isinstance(node, ir.Sparse):
        return m.csr_fanout(node.indptr, node.weight, node.n_post)
    return None


def _source_activity(net: Any, name: str, activity: Mapping[str, Any],
                     seen: frozenset = frozenset()) -> np.ndarray | None:
    """Activity arriving at node ``name`` (flattened to [T, batch, n]), or None if untraceable."""
    from spikesim import ir

    total = None
    for e in net.in_edges(name):
        src = e.src
        node = net.nodes[src]
        if src in activity:
            a = np.asarray(activity[src])
            if a.ndim < 2:
                raise ValueError(f"activity[{src!r}] must be [T, batch, ...], got shape {a.shape}")
            n = net.size(src)
            if int(np.prod(a.shape[2:])) != n:
                raise ValueError(f"activity[{src!r}] has {int(np.prod(a.shape[2:]))} elements per "
                                 f"step and sample, but node {src!r} has {n}")
            a = a.reshape(a.shape[0], a.shape[1], n)
        elif isinstance(node, (ir.Flatten, ir.Delay)) and src not in seen:
            a = _source_activity(net, src, activity, seen | {name})
        else:
            return None
        if a is None:
            return None
        total = a if total is None else total + a
    return total


def from_network(net: Any, activity: Mapping[str, Any]) -> tuple[dict[str, m.SynOps], list[str]]:
    """Synaptic operations of every connection node of ``net`` from recorded activity.

    Args:
        net: a :class:`spikesim.ir.Network`.
        activity: ``{node name: [T, batch, ...]}`` for the Input and neuron nodes that feed
            connection layers (see the module docstring).

    Returns:
        ``(synops, skipped)``: ``{layer name: SynOps}`` and the connection layers whose input
        activity was not given or not traceable.

    Example::

        ops, skipped = from_network(net, {"in": x, "lif1": spikes1})
        ops["fc1"].effective_ac
    """
    out: dict[str, m.SynOps] = {}
    skipped: list[str] = []
    for name, node in net.nodes.items():
        f = layer_fanout(node)
        if f is None:
            continue
        x = _source_activity(net, name, activity)
        if x is None:
            skipped.append(name)
            continue
        in_shape = net.shapes[name][0]
        x = x.reshape(x.shape[0], x.shape[1], *f[0].shape) if in_shape is not None else x
        out[name] = m.synops(x, f[0], f[1])
    return out, skipped


def counts_from_network(net: Any, activity: Mapping[str, Any], duration_s: float = 0.0,
                        source: str = "offline") -> Counts:
    """Offline :class:`spikesim.sim.Counts` of a run: synaptic ops of every connection layer
    (:func:`from_network`), and for every neuron node given in ``activity`` its spikes and its
    neuron updates with clock-engine semantics (neurons x T x batch).

    Fields an offline count cannot know (membrane updates, memory, routing) are listed in
    ``unfilled``. ``samples`` is the batch size of the activity arrays.
    """
    ops, skipped = from_network(net, activity)
    if skipped:
        raise ValueError(f"counts_from_network: no input activity for connection layers "
                         f"{skipped}; give the activity of the nodes feeding them")
    batches = {np.asarray(a).shape[1] for a in activity.values()}
    if len(batches) != 1:
        raise ValueError(f"activity arrays disagree on the batch size: {sorted(batches)}")
    c = Counts(samples=int(batches.pop()), duration_s=float(duration_s), source=source,
               unfilled=("membrane_updates", "weight_reads", "state_reads",
                         "state_writes", "spikes_routed", "hops", "plasticity_updates", "ticks",
                         "cycles"))
    for name, s in ops.items():
        c.add(name, "synapse", **s.counts_fields())
    for name, a in activity.items():
        node = net.nodes.get(name)
        if node is None:
            raise ValueError(f"activity: node {name!r} is not in the network")
        if node.role == "neuron":
            a = np.asarray(a)
            c.add(name, "neuron", spikes=int(a.sum()) if node.spiking else 0,
                  neuron_updates=net.size(name) * a.shape[0] * a.shape[1])
    return c


def network_weights(net: Any) -> dict[str, np.ndarray]:
    """``{layer: weight array}`` of the connection layers (Sparse: its stored weights)."""
    return {n: np.asarray(v.weight) for n, v in net.nodes.items() if layer_fanout(v) is not None}


def network_weight_count(net: Any) -> dict[str, int]:
    """Weight words per connection layer (for the GPU traffic model of ``energy.report``)."""
    return {n: int(w.size) for n, w in network_weights(net).items()}


def network_connection_sparsity(net: Any) -> float:
    """NeuroBench ``ConnectionSparsity`` of ``net``: zero weights / all weights over the
    connection layers. A ``Sparse`` layer counts as its dense ``n_pre x n_post`` matrix
    (absent synapses are zero weights)."""
    from spikesim import ir

    zeros = total = 0
    for node in net.nodes.values():
        if isinstance(node, ir.Sparse):
            n = node.n_pre * node.n_post
            total += n
            zeros += n - int(np.count_nonzero(node.weight))
        elif layer_fanout(node) is not None:
            total += node.weight.size
            zeros += node.weight.size - int(np.count_nonzero(node.weight))
    if total == 0:
        raise ValueError("network_connection_sparsity: the network has no connection layer")
    return zeros / total


def network_footprint(net: Any, bits: int | None = None) -> int:
    """NeuroBench ``Footprint`` (bytes) of the parameters of every node: each numpy array
    field (weights, biases, per-neuron parameters, CSR indices, delays) at its dtype size, or
    at ``bits`` per element. The IR holds no state buffers; pass state arrays to
    :func:`spikesim.energy.metrics.footprint` to add them."""
    arrays = [v for node in net.nodes.values() for v in node.params().values()
              if isinstance(v, np.ndarray)]
    return m.footprint(*arrays, bits=bits)
