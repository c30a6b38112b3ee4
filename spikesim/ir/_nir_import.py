"""NIR -> spikesim import (the conventions are documented in :mod:`spikesim.ir.nir`)."""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable

import numpy as np

from spikesim.ir import nodes as N
from spikesim.ir.network import Edge, Network
from spikesim.ir.nir import (IMPORT_RESETS, META, _check_args, _Ctx, _nir, _th_in,
                             cuba_coeff)

_NEURONS = ("LIF", "LI", "IF", "CubaLIF", "CubaLI")


# ----------------------------------------------------------------------------------------
# Reading and graph flattening
# ----------------------------------------------------------------------------------------
def _read(nir, path: str | os.PathLike):
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"{p}: no such NIR file")
    import h5py

    try:
        with h5py.File(p, "r") as f:
            ok = "node" in f
    except OSError as exc:
        raise ValueError(f"{p}: not a NIR file (not an HDF5 file: {exc})") from None
    if not ok:
        raise ValueError(f"{p}: not a NIR file (an HDF5 file without the 'node' group NIR "
                         f"writes)")
    try:
        return nir.read(p, type_check=False)
    except Exception as exc:  # nir signals bad content with asserts, KeyErrors, ...
        raise ValueError(f"{p}: invalid NIR graph ({type(exc).__name__}: {exc})") from None


def _s(x: Any) -> str:
    return x.decode("utf8") if isinstance(x, bytes) else str(x)


def _flatten(nir, graph, prefix: str = ""):
    """Nodes and edges with nested graphs inlined (names ``outer.inner``) and the set of
    pass-through nodes (nested Input/Output, Identity)."""
    identity = nir.ir.graph.Identity
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    through: set[str] = set()
    subs: dict[str, tuple[list[str], list[str]]] = {}
    for k, n in graph.nodes.items():
        full = prefix + _s(k)
        if isinstance(n, nir.NIRGraph):
            sn, se, st = _flatten(nir, n, full + ".")
            nodes.update(sn)
            edges += se
            through |= st
            ins = [full + "." + _s(kk) for kk, nn in n.nodes.items() if isinstance(nn, nir.Input)]
            outs = [full + "." + _s(kk) for kk, nn in n.nodes.items() if isinstance(nn, nir.Output)]
            through |= set(ins) | set(outs)
            subs[_s(k)] = (ins, outs)
        else:
            if not isinstance(n, nir.NIRNode):
                raise TypeError(f"NIR node {full!r}: expected a nir.NIRNode, got "
                                f"{type(n).__name__}")
            nodes[full] = n
            if isinstance(n, identity):
                through.add(full)

    def resolve(x: str, role: str, edge) -> str:
        if x in subs:
            cand = subs[x][1] if role == "source" else subs[x][0]
            kind = "Output" if role == "source" else "Input"
            if len(cand) != 1:
                raise ValueError(f"NIR edge {edge}: subgraph {x!r} has {len(cand)} {kind} nodes; "
                                 f"the edge must name one as '{x}.<node>'")
            return cand[0]
        if prefix + x in nodes:
            return prefix + x
        raise ValueError(f"NIR edge {edge}: {role} node {x!r} does not exist (dangling edge); "
                         f"nodes are {sorted(_s(k) for k in graph.nodes)}")

    for e in graph.edges:
        if isinstance(e, str) or len(e) != 2:
            raise ValueError(f"NIR edge {e!r}: expected a (source, target) pair of node names")
        a, b = _s(e[0]), _s(e[1])
        edge = (resolve(a, "source", (a, b)), resolve(b, "target", (a, b)))
        if edge in edges:
            raise ValueError(f"NIR edge {(a, b)}: appears twice")
        edges.append(edge)
    return nodes, edges, through


def _bypass(nodes: dict, edges: list, through: set) -> list:
    for p in through:
        preds = [a for a, b in edges if b == p and a != p]
        succs = [b for a, b in edges if a == p and b != p]
        edges = [e for e in edges if p not in e] + [(a, b) for a in preds for b in succs]
        del nodes[p]
    return list(dict.fromkeys(edges))


# ----------------------------------------------------------------------------------------
# Shapes
# ----------------------------------------------------------------------------------------
def _pair(x: Any) -> tuple[int, int]:
    a = np.atleast_1d(np.asarray(x)).astype(np.int64).ravel()
    return (int(a[0]), int(a[0])) if a.size == 1 else (int(a[0]), int(a[1]))


def _conv_padding(nn, where: str) -> tuple[int, int]:
    pad = nn.padding
    if isinstance(pad, (str, bytes)):
        pad = _s(pad)
        if pad == "valid":
            return (0, 0)
        st, dil = _pair(nn.stride), _pair(nn.dilation)
        k = np.asarray(nn.weight).shape[2:]
        tot = [dil[i] * (k[i] - 1) for i in range(2)]
        if st != (1, 1) or any(t % 2 for t in tot):
            raise ValueError(f"{where}: padding='same' with stride {st} and kernel {k} needs "
                             f"asymmetric padding, which spikesim's Conv2d does not have")
        return (tot[0] // 2, tot[1] // 2)
    return _pair(pad)


def _intrinsic(nir, name: str, nn) -> tuple[int, ...] | None:
    t = type(nn).__name__
    if isinstance(nn, nir.Input):
        s = (nn.input_type or {}).get("input")
        if s is None or np.size(s) == 0:
            raise ValueError(f"NIR Input node {name!r} has no shape")
        return tuple(int(v) for v in np.atleast_1d(s))
    if t in _NEURONS:
        s = np.shape(nn.v_leak if hasattr(nn, "v_leak") else nn.r)
        return tuple(s) if s else None
    if t in ("Affine", "Linear"):
        return (np.shape(nn.weight)[0],) if np.ndim(nn.weight) == 2 else None
    if t in ("Delay", "Threshold", "Scale"):
        s = np.shape(getattr(nn, t.lower()))
        return tuple(s) if s else None
    if t == "Conv2d" and nn.input_shape is not None:
        return _conv_node(name, nn, None).output_shape()
    return None


def _shapes(nir, nodes: dict, edges: list) -> dict[str, tuple]:
    """``{name: (input shape or None, output shape)}`` by propagation from fixed shapes."""
    preds = {k: [a for a, b in edges if b == k] for k in nodes}
    out: dict[str, tuple] = {}
    for k, nn in nodes.items():
        try:
            s = _intrinsic(nir, k, nn)
        except TypeError as exc:
            raise TypeError(f"NIR node {k!r} ({type(nn).__name__}): {exc}") from None
        except ValueError as exc:
            raise ValueError(str(exc) if str(exc).startswith("NIR") else
                             f"NIR node {k!r} ({type(nn).__name__}): {exc}") from None
        if s is not None:
            out[k] = s
    pending = [k for k in nodes if k not in out]
    while pending:
        progressed = False
        for k in list(pending):
            ps = preds[k]
            if ps and all(p in out for p in ps):
                out[k] = _derived(nir, k, nodes[k], out[ps[0]])
                pending.remove(k)
                progressed = True
            elif (not ps and isinstance(nodes[k], nir.Output)
                  and nodes[k].output_type.get("output") is not None):
                out[k] = tuple(int(v) for v in np.atleast_1d(nodes[k].output_type["output"]))
                pending.remove(k)
                progressed = True
        if not progressed:
            raise ValueError(f"NIR graph: cannot infer the shapes of {sorted(pending)} (no path "
                             f"from an Input node or a node of fixed shape)")
    return {k: (out[preds[k][0]] if preds[k] else None, out[k]) for k in nodes}


def _derived(nir, name: str, nn, in_shape: tuple) -> tuple[int, ...]:
    t = type(nn).__name__
    try:
        if t == "Conv2d":
            return _conv_node(name, nn, in_shape).output_shape()
        if t in ("SumPool2d", "AvgPool2d"):
            return _pool_node(nn).output_shape(in_shape)
        if t == "Flatten":
            return N.Flatten(int(nn.start_dim), int(nn.end_dim)).output_shape(in_shape)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"NIR node {name!r} ({t}): {exc}") from None
    return tuple(in_shape)


# ----------------------------------------------------------------------------------------
# Node conversion: one function per NIR node type
# ----------------------------------------------------------------------------------------
def _node_meta(nn) -> dict:
    m = getattr(nn, "metadata", None)
    m = m.get(META, {}) if isinstance(m, dict) else {}
    return {k: (_s(v) if isinstance(v, (bytes, np.bytes_, np.str_)) else v) for k, v in m.items()}


def _params(name: str, nn, fields: list[str], shapes: dict) -> tuple[dict, tuple]:
    p = {}
    for f in fields:
        try:
            p[f] = np.array(getattr(nn, f), dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"parameter {f!r}: expected numbers, got "
                            f"{type(getattr(nn, f)).__name__}") from None
    ref = p[fields[0]].shape
    for f in fields:
        if p[f].shape != ref:
            raise ValueError(f"parameter arrays of inconsistent shapes: {f!r} has shape "
                             f"{p[f].shape} but {fields[0]!r} has shape {ref} (NIR needs one "
                             f"shape for all parameters of a node)")
    shape = ref if ref else (shapes[name][0] or (1,))
    return {f: np.array(np.broadcast_to(v, shape)) for f, v in p.items()}, tuple(shape)


def _make(cls, kw: dict, m: dict):
    for f in str(m.get("scalars", "")).split():
        v = kw.get(f)
        if isinstance(v, np.ndarray) and v.size and (v == v.flat[0]).all():
            kw[f] = float(v.flat[0])
    return cls(**kw)


def _restore_common(kw: dict, m: dict, spiking: bool) -> None:
    exact = m.get("exact", {})
    for f, v in (exact.items() if isinstance(exact, dict) else ()):
        v = np.asarray(v, dtype=np.float64)
        if f in kw and np.shape(v) in ((), np.shape(kw[f])) and np.allclose(
                v, kw[f], rtol=1e-9, atol=0):
            kw[f] = np.broadcast_to(v, np.shape(kw[f])).copy() if v.ndim else float(v)
    if "v_init" in m:
        kw["v_init"] = np.asarray(m["v_init"], dtype=np.float64)
    if spiking and "refractory" in m:
        kw["refractory"] = np.asarray(m["refractory"], dtype=np.float64)
    if "v_leak" in m and "bias" in m:
        vl, b = np.asarray(m["v_leak"], np.float64), np.asarray(m["bias"], np.float64)
        if np.allclose(vl + np.asarray(kw["r"]) * b, kw["v_leak"], rtol=1e-9, atol=1e-12):
            kw["v_leak"], kw["bias"] = vl, b
    for f in ("v_init", "refractory", "v_leak", "bias"):
        if f in kw and isinstance(kw[f], np.ndarray) and kw[f].ndim == 0:
            kw[f] = float(kw[f])


def _reset(kw: dict, m: dict, ctx: _Ctx, th_n: np.ndarray, vr_n: np.ndarray,
           tau: np.ndarray | None) -> None:
    mode = ctx.reset if ctx.reset is not None else _s(m.get("reset", "value"))
    if mode in ("value", "subtract"):
        kw["reset"] = mode
        return
    if mode == "value_hold":  # v held at v_reset for the step after the spike
        kw["reset"] = "value"
        kw["refractory"] = ctx.dt
        return
    # "subtract_undecayed": amount (v_th - v_reset) subtracted one step later after the decay
    beta = np.ones_like(th_n) if tau is None else np.exp(-ctx.dt / tau)
    if (beta <= 0).any():
        raise ValueError("reset='subtract_undecayed' needs a decay exp(-dt/tau) > 0")
    kw["reset"] = "subtract"
    kw["v_reset"] = kw["v_threshold"] - (th_n - vr_n) / beta


def _i_leaky(nir, name, nn, shapes, ctx):
    m = _node_meta(nn)
    li = isinstance(nn, nir.LI)
    p, sh = _params(name, nn, ["tau", "r", "v_leak"] + ([] if li else ["v_threshold", "v_reset"]),
                    shapes)
    tau = ctx.tau_in("parameter 'tau'", p["tau"])
    kw: dict[str, Any] = dict(shape=sh, tau=tau, r=p["r"] * ctx.gain(p["tau"]), v_leak=p["v_leak"])
    if not li:
        kw.update(v_threshold=_th_in(p["v_threshold"]), v_reset=p["v_reset"])
        _reset(kw, m, ctx, p["v_threshold"], p["v_reset"], tau)
    _restore_common(kw, m, not li)
    return _make(N.LI if li else N.LIF, kw, m)


def _i_if(nir, name, nn, shapes, ctx):
    m = _node_meta(nn)
    p, sh = _params(name, nn, ["r", "v_threshold", "v_reset"], shapes)
    r = p["r"] if ctx.disc == "exact" else p["r"] * ctx.dt
    kw: dict[str, Any] = dict(shape=sh, r=r, v_threshold=_th_in(p["v_threshold"]),
                              v_reset=p["v_reset"])
    _reset(kw, m, ctx, p["v_threshold"], p["v_reset"], None)
    if "bias" in m:
        kw["bias"] = np.asarray(m["bias"], np.float64)
    _restore_common(kw, m, True)
    return _make(N.IF, kw, m)


def _i_cuba(nir, name, nn, shapes, ctx):
    m = _node_meta(nn)
    li = isinstance(nn, nir.CubaLI)
    fields = ["tau_syn", "tau_mem", "r", "v_leak", "w_in"]
    fields += [] if li else ["v_threshold", "v_reset"]
    p, sh = _params(name, nn, fields, shapes)
    ts = ctx.tau_in("parameter 'tau_syn'", p["tau_syn"])
    tm = ctx.tau_in("parameter 'tau_mem'", p["tau_mem"])
    if ctx.disc == "exact":
        r = p["r"] * (p["w_in"] / p["tau_syn"])
    else:
        dt = ctx.dt
        r = p["r"] * p["w_in"] * (dt / p["tau_mem"]) * (dt / p["tau_syn"]) / cuba_coeff(dt, ts, tm)
    kw: dict[str, Any] = dict(shape=sh, tau_mem=tm, tau_syn=ts, r=r, v_leak=p["v_leak"])
    if not li:
        kw.update(ports=(_s(m.get("port", "syn")),), v_threshold=_th_in(p["v_threshold"]),
                  v_reset=p["v_reset"])
        _reset(kw, m, ctx, p["v_threshold"], p["v_reset"], tm)
    _restore_common(kw, m, not li)
    return _make(N.CubaLI if li else N.CubaLIF, kw, m)


def _weight(nn, ndim: int) -> np.ndarray:
    w = np.array(nn.weight, dtype=np.float64)
    if w.ndim != ndim:
        raise ValueError(f"weight: expected a {ndim}-d array, got shape {w.shape}")
    return w


def _i_affine(nir, name, nn, shapes, ctx):
    return N.Affine(weight=_weight(nn, 2), bias=np.array(nn.bias, dtype=np.float64))


def _i_linear(nir, name, nn, shapes, ctx):
    return N.Linear(weight=_weight(nn, 2))


def _i_scale(nir, name, nn, shapes, ctx):
    s = np.array(nn.scale, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scale: only 1-d Scale nodes are supported, got shape {s.shape}")
    return N.Linear(weight=np.diag(s))


def _conv_node(name, nn, in_shape):
    w = _weight(nn, 4)
    g = int(np.asarray(nn.groups))
    if nn.input_shape is not None:
        hw = tuple(int(v) for v in np.atleast_1d(nn.input_shape))
        if len(hw) != 2:
            raise ValueError(f"input_shape: expected (H, W), got {hw}")
        ins = (w.shape[1] * g,) + hw
    elif in_shape is not None and len(in_shape) == 3:
        ins = tuple(in_shape)
    else:
        raise ValueError(f"input shape unknown (input_shape is None and the incoming shape is "
                         f"{in_shape})")
    bias = None if nn.bias is None else np.array(nn.bias, dtype=np.float64)
    return N.Conv2d(input_shape=ins, weight=w, stride=_pair(nn.stride),
                    padding=_conv_padding(nn, "padding"), dilation=_pair(nn.dilation), groups=g,
                    bias=bias)


def _i_conv2d(nir, name, nn, shapes, ctx):
    return _conv_node(name, nn, shapes[name][0])


def _pool_node(nn, cls=None):
    cls = cls or (N.SumPool2d if type(nn).__name__ == "SumPool2d" else N.AvgPool2d)
    return cls(kernel_size=_pair(nn.kernel_size), stride=_pair(nn.stride),
               padding=_pair(nn.padding))


def _i_pool(nir, name, nn, shapes, ctx):
    return _pool_node(nn)


def _i_flatten(nir, name, nn, shapes, ctx):
    return N.Flatten(start_dim=int(nn.start_dim), end_dim=int(nn.end_dim))


def _i_delay(nir, name, nn, shapes, ctx):
    return _make(N.Delay, {"delay": np.array(nn.delay, dtype=np.float64)}, _node_meta(nn))


def _i_threshold(nir, name, nn, shapes, ctx):
    th = _th_in(np.array(nn.threshold, dtype=np.float64))
    return _make(N.Threshold, {"threshold": th}, _node_meta(nn))


def _i_input(nir, name, nn, shapes, ctx):
    return N.Input(shape=shapes[name][1])


def _i_output(nir, name, nn, shapes, ctx):
    unset = bool(np.asarray(_node_meta(nn).get("shape_unset", 0)))
    return N.Output(shape=None if unset else shapes[name][1])


_IMPORT: dict[str, Callable] = {
    "LIF": _i_leaky, "LI": _i_leaky, "IF": _i_if, "CubaLIF": _i_cuba, "CubaLI": _i_cuba,
    "Affine": _i_affine, "Linear": _i_linear, "Scale": _i_scale, "Conv2d": _i_conv2d,
    "SumPool2d": _i_pool, "AvgPool2d": _i_pool, "Flatten": _i_flatten, "Delay": _i_delay,
    "Threshold": _i_threshold, "Input": _i_input, "Output": _i_output,
}
_WHY_NOT = {"I": "a non-leaky integrator without threshold has no spikesim node",
            "Conv1d": "spikesim has no 1-d convolution"}


def _fold_biases(out: dict, edges: list) -> None:
    """Exact mode: a synapse bias is a constant current; move it into the neurons it feeds."""
    for name, node in list(out.items()):
        if not isinstance(node, (N.Affine, N.Conv2d)) or not np.any(node.bias != 0):
            continue
        targets = [b for a, b in edges if a == name]
        bad = [f"{t!r} ({type(out[t]).__name__})" for t in targets
               if type(out[t]).__name__ not in _NEURONS]
        if bad or not targets:
            raise ValueError(
                f"NIR node {name!r} ({type(node).__name__}) has a bias (a constant current) and "
                f"feeds {', '.join(bad) or 'nothing'}; with discretization='exact' a bias can "
                f"only be carried into neuron nodes fed directly (use discretization='euler' "
                f"with the producer's dt)")
        b = node.bias
        if isinstance(node, N.Conv2d):
            b = np.broadcast_to(b[:, None, None], node.output_shape())
        b = np.asarray(b).ravel()
        for t in targets:
            nt = out[t]
            if nt.n != b.size:
                raise ValueError(f"NIR edge ({name!r}, {t!r}): {b.size} values feed {nt.n} neurons")
            if isinstance(nt, (N.LIF, N.LI)):
                scale = np.asarray(nt.tau)
            elif isinstance(nt, N.IF):
                scale = np.asarray(1.0)
            else:
                scale = np.asarray(nt.tau_syn[0] if isinstance(nt, N.CubaLIF) else nt.tau_syn)
            bias = np.asarray(nt.bias) + np.broadcast_to(scale, nt.shape) * b.reshape(nt.shape)
            out[t] = dataclasses.replace(nt, bias=bias)
        out[name] = dataclasses.replace(node, bias=np.zeros_like(node.bias))


def from_nir(graph_or_path: Any, *, dt: float | None = None, discretization: str | None = None,
             reset: str | None = None) -> Network:
    nir = _nir()
    if isinstance(graph_or_path, (str, os.PathLike)):
        graph = _read(nir, graph_or_path)
    else:
        graph = graph_or_path
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph_or_path: expected a nir.NIRGraph or a path to a .nir file, got "
                        f"{type(graph).__name__}")
    gm = graph.metadata.get(META, {}) if isinstance(graph.metadata, dict) else {}
    stored = _s(gm["discretization"]) if "discretization" in gm else None
    disc = discretization or stored or "exact"
    if dt is None and "dt" in gm and disc == stored:
        dt = float(np.asarray(gm["dt"]))
    _check_args(disc, dt)
    if reset not in IMPORT_RESETS:
        raise ValueError(f"reset: {reset!r} is unknown; choose one of {IMPORT_RESETS}")
    if reset in ("subtract_undecayed", "value_hold") and dt is None:
        raise ValueError(f"reset={reset!r} needs dt (the producer's time step)")
    ctx = _Ctx(disc, None if dt is None else float(dt), reset=reset)
    nodes, edges, through = _flatten(nir, graph)
    edges = _bypass(nodes, edges, through)
    shapes = _shapes(nir, nodes, edges)
    out = {}
    for name, nn in nodes.items():
        t = type(nn).__name__
        if t not in _IMPORT:
            why = _WHY_NOT.get(t, "spikesim has no equivalent node")
            raise ValueError(f"NIR node {name!r}: type {t} cannot be imported ({why}); supported "
                             f"types: {sorted(_IMPORT)}")
        try:
            out[name] = _IMPORT[t](nir, name, nn, shapes, ctx)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"NIR node {name!r} ({t}): {exc}") from None
    if disc == "exact":
        _fold_biases(out, edges)
    ports = {}
    if "edge_ports" in gm:
        ports = {(s, d): p for s, d, p in json.loads(_s(gm["edge_ports"]))}
    edge_objs = [Edge(a, b, ports.get((a, b))) for a, b in edges]
    if "network_metadata" in gm:
        meta = json.loads(_s(gm["network_metadata"]))
    else:
        meta = {"source": "nir", "nir_discretization": disc, "nir_dt": dt}
    try:
        return Network(out, edge_objs, meta)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"NIR graph: {exc}") from None
