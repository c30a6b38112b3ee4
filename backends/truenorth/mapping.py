"""Placement of compiled layers onto TrueNorth cores, splitter copies, partial-sum relays,
and the mapping report. Entry point: :func:`compile_network` (``truenorth.compile``)."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import params as P
from .chip import Program, program_from_cores
from .compiler import Layer, factor_levels, integer_params, parse_chain
from .core import NeuronParams, pack_cores


def _axon_need(Q: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """bool [n_out, n_in * L]: neuron j needs axon (input i, level g) at column i * L + g."""
    L = max(levels.size, 1)
    need = np.zeros((Q.shape[0], Q.shape[1] * L), bool)
    for g, lv in enumerate(levels):
        need[:, g::L] = Q == lv
    return need


def _partition(name: str, need: np.ndarray, copies: np.ndarray) -> list[tuple[list[int], np.ndarray]]:
    """Greedy placement: [(neurons, axon columns used)] per core."""
    cores: list[tuple[list[int], np.ndarray]] = []
    cur: list[int] = []
    used = np.zeros(need.shape[1], bool)
    slots = 0
    per = need.sum(1)
    if per.size and per.max() > P.AXONS_PER_CORE:
        j = int(per.argmax())
        raise ValueError(
            f"layer {name!r} needs fan-in {int(per[j])} axons (neuron {j}: inputs x weight "
            f"levels) > {P.AXONS_PER_CORE} axons per TrueNorth core (one axon per input and "
            f"weight level: {P.TERNARY_INPUTS_PER_CORE} inputs when both signs are used). Use "
            "grouped connectivity with a fan-in that fits, or compile with relay='partial-sum'")
    if copies.size and copies.max() > P.NEURONS_PER_CORE:
        j = int(copies.argmax())
        raise ValueError(f"layer {name!r}: neuron {j} needs {int(copies[j])} destinations "
                         f"(splitter copies) > {P.NEURONS_PER_CORE} neurons per core")
    for j in range(need.shape[0]):
        u = used | need[j]
        if cur and (slots + copies[j] > P.NEURONS_PER_CORE or u.sum() > P.AXONS_PER_CORE):
            cores.append((cur, used))
            cur, used, slots = [], np.zeros(need.shape[1], bool), 0
            u = need[j].copy()
        cur.append(j)
        used = u
        slots += int(copies[j])
    if cur:
        cores.append((cur, used))
    return cores


def _relay_layers(layer: Layer, n_levels: int, threshold: float) -> list[Layer]:
    """Split a layer whose fan-in exceeds a core into input groups whose partial sums are
    carried by rectifying relay neurons (one for the positive and one for the negative part of
    each (group, neuron) partial sum, V floored at 0, linear reset at ``threshold`` weight
    units), followed by the original neurons that add the relays' spikes with weights
    +-threshold. One extra tick of latency; the rectification and the one-spike-per-tick
    limit of the relays cost accuracy (measured by the benchmark)."""
    W = layer.W
    n_out, n_in = W.shape
    G = P.AXONS_PER_CORE // max(n_levels, 1)
    groups = [np.arange(s, min(s + G, n_in)) for s in range(0, n_in, G)]
    absw = np.abs(W)
    a = np.where((absw > 0).any(1), np.true_divide(absw.sum(1), np.maximum((absw > 0).sum(1), 1)), 1.0)
    rows = []
    for gi in groups:
        for sgn in (1.0, -1.0):
            r = np.zeros((n_out, n_in))
            r[:, gi] = sgn * W[:, gi]
            rows.append(r)
    WR = np.concatenate(rows, axis=0)  # [(group, sign, neuron), n_in]
    nR = WR.shape[0]
    thr = threshold * np.tile(a, 2 * len(groups))
    relay = Layer(layer.name + "/relay", layer.syn + "/relay", WR, np.zeros(nR), thr, 1,
                  np.zeros(nR), floor_zero=True)
    W2 = np.zeros((n_out, nR))
    for q in range(2 * len(groups)):
        sgn = 1.0 if q % 2 == 0 else -1.0
        W2[np.arange(n_out), q * n_out + np.arange(n_out)] = sgn * threshold * a
    out = Layer(layer.name, layer.syn, W2, layer.bias_tick, layer.theta, layer.gamma, layer.v_init)
    return [relay, out]


def compile_network(net: Any, quantize: str | None = None, relay: str | None = None,
                    relay_threshold: float = 2.0) -> Program:
    """Compile an IR network to a TrueNorth :class:`~spikesim.backends.truenorth.chip.Program`.

    Args:
        net: :class:`spikesim.ir.Network`, a feed-forward chain (see :mod:`.compiler`).
        quantize: None (weights must already be representable: per neuron, integer multiples
            of one scale with at most 4 levels per layer), ``"ternary"`` or ``"int2"`` to
            quantise through :mod:`spikesim.quant` (your consent to change the weights).
        relay: None, or ``"partial-sum"`` to split layers whose fan-in exceeds a core into
            input groups carried by rectifying relay neurons (approximate; see
            :func:`_relay_layers`).
        relay_threshold: relay threshold in units of the layer's mean weight magnitude.

    Returns:
        a Program with ``report`` (cores, chips, utilisation, splitter overhead, per layer)
        and ``meta["latency_ticks"]`` (ticks from an input spike to the output layer).

    Example::

        prog = compile_network(net, quantize="ternary")
        print(mapping_table(prog.report))
    """
    if relay not in (None, "partial-sum"):
        raise ValueError(f"relay={relay!r}: allowed None or 'partial-sum'")
    in_name, n_in, layers, outputs = parse_chain(net)
    if quantize is not None:
        # quantise every layer once, through spikesim.quant (the user's consent)
        for ly in layers:
            a, Q, _ = factor_levels(ly, quantize)
            ly.W = a[:, None] * Q
    if relay:
        expanded: list[Layer] = []
        for ly in layers:
            lv = factor_levels(ly, None)[2].size
            if (np.abs(ly.W) > 0).sum(1).max() * max(lv, 1) > P.AXONS_PER_CORE:
                expanded += _relay_layers(ly, lv, relay_threshold)
            else:
                expanded.append(ly)
        layers = expanded
    facts = []
    for ly in layers:
        a, Q, levels = factor_levels(ly, None)
        facts.append((a, Q, levels, integer_params(ly, a, levels), _axon_need(Q, levels)))
    n = len(layers)
    # backward: partition each layer given its copies; derive the previous layer's destinations
    parts: list[list[tuple[list[int], np.ndarray]]] = [None] * n  # type: ignore[list-item]
    dests: list[list[list[tuple[int, int]]]] = [None] * n  # per layer: per neuron [(core#, axon)]
    copies = np.ones(layers[-1].W.shape[0], np.int64)
    dests[-1] = [[] for _ in range(layers[-1].W.shape[0])]
    input_dests: list[list[tuple[int, int]]] = []
    for k in range(n - 1, -1, -1):
        a, Q, levels, ip, need = facts[k]
        parts[k] = _partition(layers[k].name, need, copies)
        L = max(levels.size, 1)
        src_n = Q.shape[1]
        d: list[list[tuple[int, int]]] = [[] for _ in range(src_n)]
        for ci, (_, used) in enumerate(parts[k]):
            cols = np.flatnonzero(used)
            for ax, col in enumerate(cols):
                d[col // L].append((ci, ax))
        if k == 0:
            input_dests = d
        else:
            dests[k - 1] = d
            copies = np.array([max(1, len(x)) for x in d], np.int64)
    # global core numbering, layer by layer
    base = np.cumsum([0] + [len(p) for p in parts])
    crossbars, atypes, nparams, group, rec = [], [], [], [], {}
    names = []
    report_layers = []
    for k, ly in enumerate(layers):
        a, Q, levels, ip, need = facts[k]
        L = max(levels.size, 1)
        names.append(ly.name)
        rec[ly.name] = [None] * Q.shape[0]
        n_copies = 0
        for ci, (neurons, used) in enumerate(parts[k]):
            cols = np.flatnonzero(used)
            xb = np.zeros((256, 256), bool)
            at = np.zeros(256, np.int8)
            at[:cols.size] = cols % L
            f = {"weights": np.zeros((256, 4), np.int64), "leak": np.zeros(256, np.int64),
                 "alpha": np.full(256, P.THRESHOLD_MAX, np.int64),
                 "v_init": np.zeros(256, np.int64), "target_core": np.full(256, -1, np.int64),
                 "target_axon": np.zeros(256, np.int64), "gamma": np.zeros(256, np.int64),
                 "beta": np.full(256, P.THRESHOLD_MAX, np.int64), "kappa": np.ones(256, np.int64)}
            col = 0
            for j in neurons:
                tg = dests[k][j] if k < n - 1 else []
                for r in range(max(1, len(tg))):
                    xb[:cols.size, col] = need[j, cols]
                    f["weights"][col] = ip["weights"][j]
                    f["leak"][col] = ip["leak"][j]
                    f["alpha"][col] = ip["alpha"][j]
                    f["v_init"][col] = ip["v_init"][j]
                    f["gamma"][col] = ly.gamma
                    if ly.floor_zero:
                        f["beta"][col] = 0
                    if tg:
                        f["target_core"][col] = base[k + 1] + tg[r][0]
                        f["target_axon"][col] = tg[r][1]
                    if r == 0:
                        rec[ly.name][j] = (int(base[k] + ci), col)
                    else:
                        n_copies += 1
                    col += 1
            arr = f
            nparams.append(NeuronParams(**arr).arrays())
            crossbars.append(xb)
            atypes.append(at)
            group.append(k)
        n_log = Q.shape[0]
        report_layers.append({
            "layer": ly.name, "neurons": n_log, "splitter_neurons": n_copies,
            "cores": len(parts[k]), "levels": levels.tolist(),
            "axons_used": int(sum(u.sum() for _, u in parts[k])),
            "max_fan_in_axons": int(need.sum(1).max()) if need.size else 0,
            "gain_K_min": int(ip["K"].min()), "gain_K_max": int(ip["K"].max()),
            "threshold_rounding_max": float(ip["threshold_rounding"].max()),
        })
    cores = pack_cores(np.stack(crossbars), np.stack(atypes), nparams, validate=False)
    inputs = [[(int(base[0] + c), ax) for c, ax in d] for d in input_dests]
    prog = program_from_cores(cores, np.asarray(group), names, inputs=inputs,
                              record={k: v for k, v in rec.items()})
    prog.input_name = in_name
    C = prog.n_cores
    xbits = sum(int(x.sum()) for x in crossbars)
    n_logical = sum(r["neurons"] for r in report_layers)
    n_split = sum(r["splitter_neurons"] for r in report_layers)
    prog.report = {
        "cores": C, "chips": prog.n_chips, "cores_per_chip": P.CORES_PER_CHIP,
        "neurons": n_logical, "splitter_neurons": n_split,
        "splitter_overhead": n_split / max(n_logical, 1),
        "neuron_utilisation": (n_logical + n_split) / (C * P.NEURONS_PER_CORE),
        "axon_utilisation": sum(r["axons_used"] for r in report_layers) / (C * P.AXONS_PER_CORE),
        "crossbar_density": xbits / (C * P.AXONS_PER_CORE * P.NEURONS_PER_CORE),
        "layers": report_layers, "quantize": quantize, "relay": relay,
    }
    prog.meta.update({"latency_ticks": n - 1, "outputs": outputs,
                      "layers": [ly.name for ly in layers]})
    return prog


def mapping_table(report: dict) -> str:
    """A readable table of a compile report."""
    head = ["layer", "neurons", "splitters", "cores", "axons", "max fan-in", "K", "levels"]
    rows = [[r["layer"], r["neurons"], r["splitter_neurons"], r["cores"], r["axons_used"],
             r["max_fan_in_axons"], f"{r['gain_K_min']}-{r['gain_K_max']}", r["levels"]]
            for r in report["layers"]]
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(str(h).ljust(k) for h, k in zip(head, w)), "  ".join("-" * k for k in w)]
    lines += ["  ".join(str(x).ljust(k) for x, k in zip(r, w)) for r in rows]
    lines.append(f"cores {report['cores']}, chips {report['chips']}, neuron utilisation "
                 f"{report['neuron_utilisation']:.1%}, axon utilisation "
                 f"{report['axon_utilisation']:.1%}, crossbar density "
                 f"{report['crossbar_density']:.1%}, splitter overhead "
                 f"{report['splitter_overhead']:.1%}")
    return "\n".join(lines)
