"""Energy and SynOps comparison across platforms: one row per (model, platform).

Used by ``spikesim bench energy`` (MNIST) and at the end of ``spikesim demo`` (scikit-learn's
8 x 8 digits). The same task is run as

- an ANN (Dense-ReLU-Dense, float32), priced on ``cmos45nm`` (effective MACs, Horowitz 2014)
  and ``gpu`` (dense MACs + DRAM traffic), and its INT8 quantisation on the NorthPole model;
- a converted SNN (:func:`spikesim.convert.convert` of that ANN, IF neurons, Poisson input,
  spike-count readout) and a surrogate-gradient-trained SNN (IF neurons, ternary weights) on
  the clock reference engine (priced with the ``cmos45nm`` table, named in the row) and on
  the TrueNorth and Loihi models.

Every row keeps its :class:`spikesim.sim.Counts` (``row["counts"]``) and the keyword
arguments of :func:`spikesim.energy.report` (``row["report_kwargs"]``), so its energy is
recomputed exactly by :func:`row_energy`. A backend that is missing, fails to compile or to run
gives a row with ``status="not available"``, the reason, and ``None`` figures: never a number
that was not measured.

Example::

    from spikesim.compare import compare, format_rows
    out = compare(x_train, y_train, x_test, y_test, Settings(timesteps=20), progress=False)
    print(format_rows(out["rows"]))
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

#: Published figures for scale (other tasks: ResNet-50 on ImageNet, Eedn on its 8 datasets).
#: ``energy_per_frame_j`` is power / frames per second; the table's own frames/J column differs
#: from it by up to 4 % (A100: 30,814 / 400 = 77.0 against 80).
PUBLISHED: list[dict[str, Any]] = [
    {"platform": "northpole", "workload": "ResNet-50 (ImageNet)", "frames_per_s": 42460,
     "power_w": 74.0, "frames_per_j": 571, "energy_per_frame_j": 74.0 / 42460,
     "source": "Modha et al., Science 382:329 (2023), Table 1 (quoted by Ottati, Open "
               "Neuromorphic 2023; shared/reference/hardware.md section 3)", "tag": "TRANS"},
    {"platform": "NVIDIA A100", "workload": "ResNet-50 (ImageNet)", "frames_per_s": 30814,
     "power_w": 400.0, "frames_per_j": 80, "energy_per_frame_j": 400.0 / 30814,
     "source": "same table (Modha et al. 2023, Table 1)", "tag": "TRANS"},
    {"platform": "NVIDIA H100", "workload": "ResNet-50 (ImageNet)", "frames_per_s": 81292,
     "power_w": 700.0, "frames_per_j": 116, "energy_per_frame_j": 700.0 / 81292,
     "source": "same table (Modha et al. 2023, Table 1)", "tag": "TRANS"},
    {"platform": "truenorth", "workload": "Eedn CNNs, 8 vision/speech datasets",
     "frames_per_s": "1200-2600", "power_w": "0.025-0.275", "frames_per_j": ">6000",
     "energy_per_frame_j": 1.0 / 6000,
     "source": "Esser et al., PNAS 113:11441 (2016), abstract; energy_per_frame_j is the "
               "upper bound 1/(6000 frames/s/W)", "tag": "PAPER"},
]

#: Model labels, in table order.
ANN, ANN_Q, CONV, SG = "ANN", "ANN INT8", "converted SNN", "SG-trained SNN"


@dataclass(frozen=True)
class Settings:
    """Sizes and training settings (all rows use the same inputs).

    hidden: hidden neurons; timesteps: SNN steps per inference (1 ms each); epochs_ann /
    epochs_snn: training epochs; batch: test samples per run call; gpu_batch: GPU batch size
    for the weight-traffic model; num_bits: Loihi weight bits; percentile: conversion
    normalisation percentile; reset: the SNNs' reset, ``"zero"`` (Loihi 1 resets to zero,
    so every platform runs the same network) or ``"subtract"``; lr_ann / lr_snn: Adam learning
    rates; seed: every random draw.
    """

    hidden: int = 128
    timesteps: int = 32
    epochs_ann: int = 3
    epochs_snn: int = 2
    batch: int = 1000
    gpu_batch: int = 256
    num_bits: int = 8
    percentile: float = 99.9
    reset: str = "zero"
    lr_ann: float = 1e-3
    lr_snn: float = 2e-3
    seed: int = 0
    relay_thresholds: tuple = (4.0, 8.0, 16.0, 32.0, 64.0)

    def __post_init__(self) -> None:
        for name in ("hidden", "timesteps", "epochs_ann", "epochs_snn", "batch", "gpu_batch",
                     "num_bits"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Settings.{name}={v!r}: must be an int >= 1")
        if self.reset not in ("zero", "subtract"):
            raise ValueError(f"Settings.reset={self.reset!r}: allowed 'zero' or 'subtract'")
        for name in ("percentile", "lr_ann", "lr_snn"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Settings.{name}={getattr(self, name)!r}: must be > 0")
        thr = self.relay_thresholds
        if (not isinstance(thr, (tuple, list)) or not thr
                or not all(isinstance(v, (int, float)) and v > 0 for v in thr)):
            raise ValueError(f"Settings.relay_thresholds={thr!r}: must be a non-empty tuple of "
                             "numbers > 0")
        object.__setattr__(self, "relay_thresholds", tuple(float(v) for v in thr))


# ---------------------------------------------------------------------------- counts
def ann_counts(model: Any, x: np.ndarray, source: str = "ann") -> Any:
    """NeuroBench counts of a float ANN (Dense/ReLU/Flatten/Dropout) on inputs ``x [N, n]``.

    Per Dense layer: ``synops_mac`` = nonzero input x nonzero weight pairs (effective MACs),
    ``dense_mac`` = in x out per sample. Per ReLU layer: ``neuron_updates`` = its units per
    sample (kind ``neuron``). Memory is not counted (listed in ``unfilled``; the energy report
    uses its documented proxies).

    Example::

        c = ann_counts(model, x_test)      # c.total("dense_mac") == N * sum(in * out)
    """
    from spikesim import nn
    from spikesim.energy import metrics
    from spikesim.sim import Counts

    x = np.asarray(x, np.float32)
    c = Counts(samples=int(len(x)), source=source,
               unfilled=("spikes", "membrane_updates", "weight_reads", "state_reads",
                         "state_writes", "spikes_routed", "hops", "plasticity_updates",
                         "ticks", "cycles"))
    model.eval()
    for i, layer in enumerate(model.layers):
        if isinstance(layer, nn.Dense):
            ops = metrics.synops_linear(layer.effective_weight(), x[None])
            c.add(f"{i}_dense", "synapse", **ops.counts_fields())
        elif isinstance(layer, nn.ReLU):
            c.add(f"{i}_relu", "neuron", neuron_updates=int(np.prod(x.shape)))
        elif not isinstance(layer, (nn.Flatten, nn.Dropout)):
            raise TypeError(f"ann_counts: layer {i} {type(layer).__name__} is not supported "
                            "(Dense, ReLU, Flatten, Dropout)")
        x = layer.forward(x)
    return c


def merge_batches(parts: Sequence[Any]) -> Any:
    """Counts of several batches of different samples: fields add, samples add, and the
    per-sample duration is the sample-weighted mean (so static energy per inference is
    exact)."""
    from spikesim.sim import Counts

    if not parts:
        raise ValueError("merge_batches: no counts given")
    n = sum(p.samples for p in parts)
    out = Counts(samples=int(n), duration_s=sum(p.duration_s * p.samples for p in parts) / n,
                 steps=parts[0].steps, source=parts[0].source,
                 unfilled=tuple(sorted(set().union(*(p.unfilled for p in parts)))),
                 meta={k: v for k, v in parts[0].meta.items() if k == "chips"})
    for p in parts:
        for name, r in p.layers.items():
            out.add(name, p.kinds.get(name), **r)
    return out


# ---------------------------------------------------------------------------- rows
def row_energy(row: dict[str, Any]) -> tuple[float, float, float]:
    """(low, nominal, high) J per inference of ``row``, recomputed from its stored counts."""
    from spikesim import energy
    from spikesim.sim import Counts

    rep = energy.report(Counts.from_dict(row["counts"]), row["platform"], **row["report_kwargs"])
    return rep.total


def make_row(model: str, platform: str, counts: Any, *, accuracy: float, engine: str,
             latency_s: float | None, report_kwargs: dict | None = None,
             notes: Sequence[str] = (), fan_in_mapping: dict | None = None) -> dict[str, Any]:
    """One measured row: prices ``counts`` on ``platform`` with :func:`spikesim.energy.report`.

    ``synops`` are effective synaptic ops per inference (AC + MAC; None when the source does
    not count them), ``macs`` the multiply-accumulates per inference the platform is charged
    for (dense ones on ``gpu``/``northpole``, effective ones elsewhere), energies in J.
    ``fan_in_mapping``: how the platform maps the network's largest fan-in (``max_fan_in``,
    ``method``, a short ``summary`` for the table, and platform figures such as cores or the
    relay neurons' measured cost).
    """
    from spikesim import energy

    kw = dict(report_kwargs or {})
    rep = energy.report(counts, platform, **kw)
    n = counts.samples
    un = set(counts.unfilled)
    dense = platform in ("gpu", "northpole")
    macs_f = ("dense_mac",) if dense else ("synops_mac",)
    has_syn = not {"synops_ac", "synops_mac"} <= un
    lo, nom, hi = rep.total
    return {
        "model": model, "platform": platform, "engine": engine, "status": "ok",
        "accuracy": float(accuracy),
        "synops": counts.synops / n if has_syn else None,
        "macs": sum(counts.total(f) for f in macs_f) / n,
        "spikes_per_inference": None if "spikes" in un else counts.total("spikes") / n,
        "energy_j": {"low": lo, "nominal": nom, "high": hi},
        "energy_by_category_j": {k: v[1] for k, v in rep.by_category().items()},
        "latency_s": latency_s, "energy_source": f"{rep.title} (counts from {counts.source})",
        "energy_notes": list(rep.notes), "notes": list(notes), "samples": int(n),
        "fan_in_mapping": fan_in_mapping,
        "report_kwargs": kw, "counts": counts.to_dict(),
    }


def unavailable_row(model: str, platform: str, engine: str, reason: str) -> dict[str, Any]:
    """A row for a backend or model that is missing or failed: no figures, the reason."""
    return {"model": model, "platform": platform, "engine": engine,
            "status": "not available", "reason": reason, "accuracy": None, "synops": None,
            "macs": None, "spikes_per_inference": None, "energy_j": None, "latency_s": None,
            "energy_source": None, "fan_in_mapping": None}


def format_rows(rows: Sequence[dict[str, Any]], published: Sequence[dict] | None = None) -> str:
    """A readable table of the rows (energy in uJ per inference, latency in ms), followed by
    the published figures when given."""
    def f(v: Any, scale: float = 1.0, fmt: str = ".4g") -> str:
        return "-" if v is None else format(v * scale, fmt)

    head = ["model", "platform", "engine", "accuracy", "synops", "MACs", "spikes",
            "uJ low", "uJ", "uJ high", "latency ms", "fan-in mapping"]
    body = []
    for r in rows:
        if r["status"] != "ok":
            body.append([r["model"], r["platform"], r["engine"],
                         f"not available: {r['reason'][:70]}"] + [""] * 8)
            continue
        e = r["energy_j"]
        body.append([r["model"], r["platform"], r["engine"], f(r["accuracy"], 1, ".4f"),
                     f(r["synops"]), f(r["macs"]), f(r["spikes_per_inference"]),
                     f(e["low"], 1e6), f(e["nominal"], 1e6), f(e["high"], 1e6),
                     f(r["latency_s"], 1e3), (r.get("fan_in_mapping") or {}).get("summary", "-")])
    w = [max(len(h), *(len(b[i]) for b in body if len(b[i]) < 40 or i == len(head) - 1))
         for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(k) for h, k in zip(head, w)), "  ".join("-" * k for k in w)]
    lines += ["  ".join(c.ljust(k) for c, k in zip(b, w)).rstrip() for b in body]
    methods: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        m = r.get("fan_in_mapping") or {}
        if m.get("method"):
            methods.setdefault((f"{r['platform']} ({r['engine']})", m["method"]),
                               []).append(r["model"])
    if methods:
        fan = max((r.get("fan_in_mapping") or {}).get("max_fan_in", 0) for r in rows)
        lines.append(f"fan-in mapping (largest fan-in: {fan} inputs into one neuron):")
        lines += [f"  {k} [{', '.join(v)}]: {m}" for (k, m), v in methods.items()]
    if published:
        lines.append("published, for scale (other workloads):")
        for p in published:
            lines.append(f"  {p['platform']:12s} {p['workload']:36s} {p['frames_per_s']} fps at "
                         f"{p['power_w']} W: {p['frames_per_j']} frames/J "
                         f"({p['energy_per_frame_j'] * 1e6:.4g} uJ/frame)")
    return "\n".join(lines)


def plot_rows(rows: Sequence[dict[str, Any]], ax: Any = None,
              published: Sequence[dict] | None = None) -> Any:
    """Energy per inference (nominal, low-high bars, log scale) against accuracy; published
    figures as dotted horizontal lines. Returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    markers = {ANN: "o", ANN_Q: "s", CONV: "^", SG: "D"}
    colors = {"cmos45nm": "C0", "gpu": "C1", "northpole": "C2", "truenorth": "C3", "loihi": "C4"}
    for r in rows:
        if r["status"] != "ok":
            continue
        e = r["energy_j"]
        ax.errorbar([r["accuracy"]], [e["nominal"]],
                    yerr=[[e["nominal"] - e["low"]], [e["high"] - e["nominal"]]],
                    fmt=markers.get(r["model"], "x"), color=colors.get(r["platform"], "k"),
                    capsize=3, label=f"{r['model']} / {r['platform']} ({r['engine']})")
    for p in published or ():
        ax.axhline(p["energy_per_frame_j"], ls=":", lw=0.8, color="0.5")
        ax.annotate(f"{p['platform']} {p['workload'].split(' (')[0]} (published)",
                    (0.01, p["energy_per_frame_j"]), xycoords=("axes fraction", "data"),
                    fontsize=6, color="0.4", va="bottom")
    ax.set_yscale("log")
    ax.set_xlabel("accuracy")
    ax.set_ylabel("energy per inference (J)")
    ax.legend(fontsize=6, loc="best")
    return ax


# ---------------------------------------------------------------------------- models
def _cached(cache_dir: Path | None, key: dict, build: Callable[[], Any], model: Any,
            log: Callable[[str], None]) -> tuple[Any, float, bool]:
    """Load ``model``'s weights from ``cache_dir`` under a hash of ``key``, or ``build()`` it
    (training) and save. Returns (model, train seconds, loaded from cache)."""
    from spikesim import nn

    path = None
    if cache_dir is not None:
        h = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"{key['kind']}-{h}.npz"
        if path.is_file():
            nn.load_checkpoint(path, model)
            log(f"  {key['kind']}: loaded from cache {path}")
            return model.eval(), 0.0, True
    t0 = time.perf_counter()
    build()
    train_s = time.perf_counter() - t0
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        nn.save_checkpoint(path, model, meta={"key": key})
    return model.eval(), train_s, False


def train_models(x: np.ndarray, y: np.ndarray, s: Settings, *, cache_dir: str | Path | None,
                 progress: bool, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The ANN (Dense-ReLU-Dense, no bias, cross-entropy) and the SG-trained SNN (Dense-IF-
    Dense-IF, ternary weights with one scale per neuron, Poisson input, loss on output spike
    counts), trained on ``x [N, n]`` in [0, 1]; cached under ``cache_dir`` by settings and
    data."""
    from spikesim import nn
    from spikesim.quant import Ternary

    n_in, n_cls = int(x.shape[1]), int(y.max()) + 1
    data = {"n": int(len(x)), "n_in": n_in, "classes": n_cls,
            "digest": hashlib.sha256(np.ascontiguousarray(x[:200]).tobytes()).hexdigest()[:12]}
    ann = nn.Sequential(nn.Dense(n_in, s.hidden, bias=False, rng=s.seed), nn.ReLU(),
                        nn.Dense(s.hidden, n_cls, bias=False, rng=s.seed + 1))
    tr = nn.Trainer(ann, "ce", nn.Adam(ann, lr=s.lr_ann), batch_size=128, rng=s.seed,
                    progress=progress)
    ann, ann_s, ann_c = _cached(cache_dir, {"kind": "ann", "hidden": s.hidden, "epochs":
                                            s.epochs_ann, "seed": s.seed, "lr": s.lr_ann,
                                            **data},
                                lambda: tr.fit(x, y, epochs=s.epochs_ann), ann, log)
    ternary = Ternary(per_channel=True)
    snn = nn.Sequential(
        nn.Dense(n_in, s.hidden, bias=False, constraint=ternary, rng=s.seed),
        nn.LIF(beta=1.0, threshold=1.0, reset=s.reset),
        nn.Dense(s.hidden, n_cls, bias=False, constraint=ternary, rng=s.seed + 1),
        nn.LIF(beta=1.0, threshold=1.0, reset=s.reset))
    tr2 = nn.Trainer(snn, "ce_count", nn.Adam(snn, lr=s.lr_snn), timesteps=s.timesteps,
                     encoding="poisson", batch_size=128, rng=s.seed, progress=progress)
    snn, snn_s, snn_c = _cached(cache_dir, {"kind": "sg_snn", "hidden": s.hidden, "epochs":
                                            s.epochs_snn, "seed": s.seed, "T": s.timesteps, "reset": s.reset,
                                            "lr": s.lr_snn,
                                            **data},
                                lambda: tr2.fit(x, y, epochs=s.epochs_snn), snn, log)
    return {"ann": ann, "snn": snn, "train_s": {"ann": ann_s, "sg_snn": snn_s},
            "cached": {"ann": ann_c, "sg_snn": snn_c}}


# ---------------------------------------------------------------------------- runners
def _batches(spikes: np.ndarray, batch: int, pad: int):
    """``(start, [T + pad, B, n])`` input spikes, zero-padded so the last spikes reach the
    output (each layer adds one step)."""
    for i in range(0, spikes.shape[1], batch):
        sb = spikes[:, i:i + batch]
        yield i, np.concatenate([sb, np.zeros((pad,) + sb.shape[1:], bool)])


def _run_clock(net, spikes, labels, s: Settings, depth: int, calib: Any = None):
    from spikesim.sim import Frames, Simulator

    correct, parts, run_s, jit_s = 0, [], 0.0, 0.0
    for i, sb in _batches(spikes, s.batch, depth):
        sim = Simulator(net, dt=1e-3, batch=sb.shape[1], record=False, rng=s.seed)
        res = sim.run(sb.shape[0] * 1e-3, inputs={"input": Frames(sb)}, progress=False)
        correct += int((res.outputs["output"].argmax(1) == labels[i:i + sb.shape[1]]).sum())
        parts.append(res.counts)
        run_s, jit_s = run_s + res.run_s, jit_s + res.jit_s
    c = merge_batches(parts)
    mapping = {"max_fan_in": _max_fan_in(net),
               "method": "reference engine: no per-core fan-in limit (dense layers in memory)",
               "summary": "no limit"}
    return correct / len(labels), c, c.duration_s, run_s, jit_s, mapping


def _max_fan_in(net: Any) -> int:
    """Largest number of nonzero weights into one neuron over the network's weight layers."""
    from spikesim import ir

    m = 0
    for node in net.nodes.values():
        if isinstance(node, (ir.Affine, ir.Linear)):
            m = max(m, int((np.asarray(node.weight) != 0).sum(1).max()))
    return m


def _ternary_net(net: Any) -> Any:
    """``net`` with every Affine/Linear weight quantised as the TrueNorth compiler does with
    ``quantize="ternary"`` (per-neuron scale x {-1, 0, +1}, :func:`spikesim.quant.ternary`):
    the float reference that isolates the relay neurons' accuracy cost."""
    from dataclasses import replace

    from spikesim import ir, quant

    nodes = {}
    for name, node in net.nodes.items():
        if isinstance(node, (ir.Affine, ir.Linear)):
            w = np.asarray(node.weight, np.float64)
            qt = quant.ternary(w, per_channel=True, axis=0)
            scale = np.asarray(qt.scale, np.float64).reshape(-1, 1)
            node = replace(node, weight=scale * qt.q.astype(np.float64))
        nodes[name] = node
    return ir.Network(nodes=nodes, edges=list(net.edges), metadata=dict(net.metadata))


def _bernoulli(gen: np.random.Generator, T: int, p: np.ndarray) -> np.ndarray:
    """Bernoulli spikes ``[T, *p.shape]`` with probability ``p`` per step, drawn one step at a
    time (the same values as one ``gen.random((T, *p.shape), float32) < p`` call, without a
    [T, N, n] float array in memory)."""
    out = np.empty((T, *p.shape), bool)
    for t in range(T):
        out[t] = gen.random(p.shape, dtype=np.float32) < p
    return out


def _tn_batches(tn, prog, spikes, labels, s: Settings):
    correct, parts, run_s, jit_s = 0, [], 0.0, 0.0
    for i in range(0, spikes.shape[1], s.batch):
        sb = spikes[:, i:i + s.batch]
        res = tn.run(prog, sb.transpose(1, 0, 2).astype(np.uint8), seed=s.seed,
                     record_spikes=False, progress=False)
        correct += int((res.outputs["output"].argmax(1) == labels[i:i + sb.shape[1]]).sum())
        parts.append(res.counts)
        run_s, jit_s = run_s + res.run_s, jit_s + res.jit_s
    return correct, merge_batches(parts), run_s, jit_s


def _run_truenorth(net, spikes, labels, s: Settings, depth: int, calib: Any = None):
    """TrueNorth with ternary weights. A layer whose fan-in exceeds a core (256 axons: 128
    inputs with a + and a - axon each) is compiled with partial-sum relay neurons; the relay
    threshold is chosen among ``s.relay_thresholds`` on the calibration spikes (training
    samples), and the relays' cost is measured: their cores, neurons, spikes, synaptic events,
    the extra tick, the energy of those events and tick, and the accuracy against the same
    ternary network on the clock engine (no relays) on the same test spikes."""
    from spikesim import backends, energy
    from spikesim.sim import Counts

    tn = backends.get("truenorth")
    TP = tn.params
    fan_in = _max_fan_in(net)

    def build(thr: float):
        return tn.compile(net, quantize="ternary", relay="partial-sum", relay_threshold=thr)

    prog = build(s.relay_thresholds[0])
    relay_layers = [r for r in prog.report["layers"] if r["layer"].endswith("/relay")]
    limit = (f"{TP.AXONS_PER_CORE} axons per core, one per (input, weight level): "
             f"{TP.TERNARY_INPUTS_PER_CORE} inputs with ternary weights")
    mapping: dict[str, Any] = {"max_fan_in": fan_in, "fan_in_limit": limit}
    sweep = []
    if relay_layers:
        if calib is None:
            raise ValueError("a layer needs relay neurons: calibration spikes are required to "
                             "choose the relay threshold")
        cal_spikes, cal_labels = calib
        best = None
        for thr in s.relay_thresholds:
            p = build(thr)
            ok, _, _, _ = _tn_batches(tn, p, cal_spikes, cal_labels, s)
            sweep.append({"relay_threshold": thr, "calibration_accuracy": ok / len(cal_labels)})
            if best is None or ok > best[0]:
                best = (ok, thr, p)
        _, thr, prog = best
    correct, c, run_s, jit_s = _tn_batches(tn, prog, spikes, labels, s)
    c.meta["chips"] = int(prog.n_chips)
    acc = correct / len(labels)
    rep = prog.report
    mapping.update(cores=int(prog.n_cores), chips=int(prog.n_chips),
                   splitter_neurons=int(rep["splitter_neurons"]),
                   layers=[{k: r[k] for k in ("layer", "neurons", "splitter_neurons", "cores",
                                              "max_fan_in_axons")} for r in rep["layers"]])
    if not relay_layers:
        mapping.update(method="fits: every neuron's fan-in fits one core",
                       summary=f"fits, {prog.n_cores} cores")
        return acc, c, c.duration_s, run_s, jit_s, mapping
    # the relays' measured cost
    n = c.samples
    names = [r["layer"] for r in rep["layers"] if r["layer"].endswith("/relay")]
    ev = sum(c.layers[nm].get("synops_ac", 0) for nm in names)
    sp = sum(c.layers[nm].get("spikes", 0) for nm in names)
    extra_ticks = len(names)
    cr = Counts(samples=n, duration_s=extra_ticks * TP.TICK_S, source="truenorth relays",
                meta={"chips": int(prog.n_chips)})
    cr.add("relays", "synapse", synops_ac=int(ev))
    e_relay = energy.report(cr, "truenorth").total
    ref_acc, _, _, _, _, _ = _run_clock(_ternary_net(net), spikes, labels, s, depth)
    relay_cores = sum(r["cores"] for r in rep["layers"] if r["layer"] in names)
    relay_neurons = sum(r["neurons"] for r in rep["layers"] if r["layer"] in names)
    mapping.update(
        method=("partial-sum relay neurons (relay='partial-sum'): the inputs are cut into "
                f"groups of {TP.TERNARY_INPUTS_PER_CORE}; per (group, neuron) a + and a - "
                "rectifying relay neuron carries the partial sum as spikes (linear reset at "
                "relay_threshold x the neuron's mean |weight|) to the original neuron, which "
                "adds them with weights +-relay_threshold x mean |weight|"),
        relay_threshold=thr, relay_sweep=sweep,
        relay_selection=(f"best calibration accuracy on {len(calib[1])} training samples "
                         "(not the test set)"),
        relay_layers=names, relay_cores=int(relay_cores), relay_neurons=int(relay_neurons),
        relay_spikes_per_inference=sp / n, relay_synaptic_events_per_inference=ev / n,
        relay_extra_ticks=extra_ticks,
        relay_energy_j={"low": e_relay[0], "nominal": e_relay[1], "high": e_relay[2],
                        "includes": "the relay neurons' synaptic events + static power of "
                                    "the chip(s) for the extra tick(s)"},
        ternary_clock_accuracy=ref_acc, relay_accuracy_cost=ref_acc - acc,
        relay_accuracy_cost_definition=(
            "accuracy of the same ternary-quantised network on the clock engine (float "
            "membrane, no relays, same test spikes) minus the TrueNorth accuracy"),
        summary=(f"relays: {relay_neurons} neurons, {relay_cores} of {prog.n_cores} cores, "
                 f"+{extra_ticks} tick, thr {thr:g}, accuracy cost {100 * (ref_acc - acc):.2f} pp"))
    return acc, c, c.duration_s, run_s, jit_s, mapping


def _run_loihi(net, spikes, labels, s: Settings, depth: int, calib: Any = None):
    from spikesim import backends

    lo = backends.get("loihi")
    LP = lo.params
    prog = lo.compile(net, dt=1e-3, num_bits=s.num_bits)
    correct, parts, lat, run_s, jit_s = 0, [], 0.0, 0.0, 0.0
    for i, sb in _batches(spikes, s.batch, depth):
        res = lo.run(prog, {"input": sb}, progress=False)
        correct += int((res.outputs["output"].argmax(1) == labels[i:i + sb.shape[1]]).sum())
        parts.append(res.counts)
        lat += res.meta["latency_s"] * sb.shape[1]
        run_s, jit_s = run_s + res.run_s, jit_s + res.jit_s
    cores = prog.cores
    per_layer: dict[str, dict[str, int]] = {}
    for c in cores:
        d = per_layer.setdefault(c["layer"], {"cores": 0, "max_fan_in_axons": 0,
                                              "max_synapse_kb": 0})
        d["cores"] += 1
        d["max_fan_in_axons"] = max(d["max_fan_in_axons"], int(c["fan_in"]))
        d["max_synapse_kb"] = max(d["max_synapse_kb"], int(-(-c["synapse_bits"] // 8192)))
    fan_in = _max_fan_in(net)
    mapping = {
        "max_fan_in": fan_in,
        "fan_in_limit": (f"{LP.FANIN_AXONS_PER_CORE} input axons and "
                         f"{LP.SYNAPSE_MEMORY_BITS // 8192} KB of synapse memory per core"),
        "method": ("native: each core's fan-in (distinct input axons) stays within the limit; "
                   "a population is split over more cores when its synapses exceed a core's "
                   "memory (no relays, no accuracy cost)"),
        "cores": int(prog.n_cores), "chips": int(prog.chips),
        "layers": [{"layer": k, **v} for k, v in per_layer.items()],
        "summary": (f"native ({max(c['fan_in'] for c in cores)} axons/core max), "
                    f"{prog.n_cores} cores"),
    }
    return correct / len(labels), merge_batches(parts), lat / len(labels), run_s, jit_s, mapping


#: Notes added to the spiking rows of a platform.
NOTES = {
    "cmos45nm": ["clock reference engine (float), counts priced with the 45 nm CMOS table "
                 "(event-driven design: effective ops, SRAM for weights and state)"],
    "truenorth": ["weights quantised to ternary x per-neuron scale (quantize='ternary')",
                  "TrueNorth counts every physical spike and synaptic event, splitter copies "
                  "included; static power x chips x ticks (1 ms real-time ticks) dominates"],
    "loihi": ["weights quantised to the Loihi format (num_bits); static power x modelled "
              "chip time per inference"],
}

SPIKING = {"cmos45nm": ("clock", _run_clock), "truenorth": ("truenorth", _run_truenorth),
           "loihi": ("loihi", _run_loihi)}

#: Platforms in table order.
PLATFORMS = ("cmos45nm", "gpu", "northpole", "truenorth", "loihi")


def _attempt(rows: list, model: str, platform: str, engine: str, fn: Callable[[], dict],
             log: Callable[[str], None]) -> None:
    """Append ``fn()`` (a measured row) or, if it raises, a "not available" row."""
    t0 = time.perf_counter()
    try:
        row = fn()
    except Exception as e:  # noqa: BLE001 - any failure becomes a reasoned row
        row = unavailable_row(model, platform, engine, f"{type(e).__name__}: {e}")
    row["wall_s"] = time.perf_counter() - t0
    rows.append(row)
    tail = (f"accuracy {row['accuracy']:.4f}, {row['energy_j']['nominal'] * 1e6:.4g} uJ"
            if row["status"] == "ok" else f"not available ({row['reason'][:100]})")
    log(f"  {model} on {platform} ({engine}): {tail} [{row['wall_s']:.1f} s]")


def compare(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
            settings: Settings | None = None, *, platforms: Sequence[str] = PLATFORMS,
            calibration: int = 500, cache_dir: str | Path | None = None,
            progress: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train (or load) the models and measure every (model, platform) row.

    Args:
        x_train, x_test: inputs ``[N, n]`` in [0, 1] (pixel intensities; spike probabilities
            per 1 ms step for the SNNs); y_train, y_test: integer labels.
        settings: :class:`Settings`. platforms: a subset of :data:`PLATFORMS` (``cmos45nm``
            also selects the clock-engine rows).
        calibration: training samples used for conversion and NorthPole calibration.
        cache_dir: folder for trained weights (keyed by settings and data), None: no cache.

    Returns:
        ``{"rows", "published", "settings", "train_s", "cached", "test_samples"}``.
    """
    from spikesim import backends
    from spikesim.convert import convert

    s = settings or Settings()
    bad = [p for p in platforms if p not in PLATFORMS]
    if bad:
        raise ValueError(f"platforms: {bad} unknown; allowed {list(PLATFORMS)}")
    x_train = np.asarray(x_train, np.float32)
    x_test = np.asarray(x_test, np.float32)
    for name, v in (("x_train", x_train), ("x_test", x_test)):
        if v.ndim != 2 or v.size == 0 or v.min() < 0 or v.max() > 1:
            rng_ = f", range [{v.min()}, {v.max()}]" if v.size else ""
            raise ValueError(f"{name}: need a non-empty [N, n] array in [0, 1], got shape "
                             f"{v.shape}{rng_}")
    y_test = np.asarray(y_test)
    m = train_models(x_train, np.asarray(y_train), s, cache_dir=cache_dir, progress=progress,
                     log=log)
    ann, snn = m["ann"], m["snn"]
    calib = x_train[:calibration]
    rows: list[dict[str, Any]] = []
    acc_ann = float(np.mean(ann.forward(x_test).argmax(1) == y_test))
    c_ann = ann_counts(ann, x_test)
    n_w = int(sum(v.size for k, v in ann.named_parameters() if k.endswith("weight")))
    fan_in = int(x_test.shape[1])
    dense_map = {"max_fan_in": fan_in, "method": "dense matrix-vector products in memory: no "
                 "per-core fan-in limit in this model", "summary": "no limit"}
    if "cmos45nm" in platforms:
        _attempt(rows, ANN, "cmos45nm", "numpy float32", lambda: make_row(
            ANN, "cmos45nm", c_ann, accuracy=acc_ann, engine="numpy float32", latency_s=None,
            report_kwargs={"precision": "fp32"}, fan_in_mapping=dense_map), log)
    if "gpu" in platforms:
        _attempt(rows, ANN, "gpu", "numpy float32", lambda: make_row(
            ANN, "gpu", c_ann, accuracy=acc_ann, engine="numpy float32", latency_s=None,
            report_kwargs={"precision": "fp32", "weights": n_w, "batch_size": s.gpu_batch},
            notes=[f"GPU weight traffic: batches of {s.gpu_batch}"],
            fan_in_mapping=dense_map), log)

    def northpole() -> dict:
        npb = backends.get("northpole")
        prog = npb.compile(ann, calib, precision=8)
        res = npb.run(prog, x_test, progress=False)
        acc = float(np.mean(res.outputs["logits"].argmax(1) == y_test))
        sch = prog.schedule
        kb = npb.params.CORE_MEMORY_BYTES // 1024
        mapping = {
            "max_fan_in": fan_in,
            "fan_in_limit": f"{kb} KB of memory per core (weights, constants, input buffer)",
            "method": ("native: a dense layer's INT8 weights sit in its cores' memory and each "
                       "output value is a full fan-in dot product; cores are given to a layer "
                       "for memory, then for speed (no relays, no accuracy cost)"),
            "cores": int(sch.cores_used), "max_core_bytes": int(sch.max_core_bytes),
            "layers": [{"layer": r["name"], "weight_bytes": int(r["weight_bytes"]),
                        "cores_for_memory": int(r["cores_mem"]), "cores": int(r["cores"])}
                       for r in sch.rows],
            "summary": (f"native, {sch.cores_used} cores (largest layer: "
                        f"{max(r['weight_bytes'] for r in sch.rows) / 1024:.0f} KB of weights)")}
        return make_row(ANN_Q, "northpole", res.counts, accuracy=acc, engine="northpole",
                        latency_s=float(res.meta["latency_s"]),
                        notes=["INT8 weights and activations (post-training quantisation)"],
                        fan_in_mapping=mapping)

    if "northpole" in platforms:
        _attempt(rows, ANN_Q, "northpole", "northpole", northpole, log)
    gen = np.random.default_rng(s.seed + 1)
    spikes = _bernoulli(gen, s.timesteps, x_test)
    # calibration spikes (training samples, own generator: the test spikes stay as they were)
    # to choose TrueNorth's relay threshold when a layer's fan-in exceeds a core
    gen_cal = np.random.default_rng(s.seed + 2)
    u_cal = gen_cal.random((s.timesteps, *calib.shape), dtype=np.float32)
    calib_y = np.asarray(y_train)[:calibration]
    nets = []
    try:
        conv = convert(ann, calib, norm="percentile", percentile=s.percentile,
                       reset=s.reset, input_coding="poisson", readout="spikes")
        scale = float(conv.metadata["convert"]["input_scale"])
        sp = spikes if scale == 1.0 else _bernoulli(gen, s.timesteps, x_test / scale)
        nets.append((CONV, conv, sp, int(conv.metadata["convert"]["depth"]),
                     (u_cal < calib / scale, calib_y)))
    except Exception as e:  # noqa: BLE001
        for p in platforms:
            if p in SPIKING:
                rows.append(unavailable_row(CONV, p, SPIKING[p][0],
                                            f"conversion failed: {type(e).__name__}: {e}"))
    nets.append((SG, snn.to_ir(x_test.shape[1], dt=1e-3), spikes,
                 sum(1 for layer in snn.layers if layer.spiking), (u_cal < calib, calib_y)))
    for label, net, sp, depth, cal in nets:
        for p in platforms:
            if p not in SPIKING:
                continue
            engine, fn = SPIKING[p]

            def one(label=label, net=net, sp=sp, depth=depth, engine=engine, fn=fn, p=p,
                    cal=cal):
                acc, c, lat, run_s, jit_s, mapping = fn(net, sp, y_test, s, depth, cal)
                notes = [f"{s.timesteps} steps of Bernoulli input spikes + {depth} steps "
                         "for the last spikes to reach the output"] + NOTES.get(p, [])
                if mapping.get("relay_extra_ticks"):
                    notes.append(f"+{mapping['relay_extra_ticks']} tick(s) for the partial-sum "
                                 "relay neurons (see fan_in_mapping)")
                row = make_row(label, p, c, accuracy=acc, engine=engine, latency_s=lat,
                               notes=notes, fan_in_mapping=mapping)
                row.update(host_run_s=run_s, jit_s=jit_s)
                return row

            _attempt(rows, label, p, engine, one, log)
    return {"rows": rows, "published": PUBLISHED, "settings": asdict(s),
            "train_s": m["train_s"], "cached": m["cached"], "test_samples": int(len(y_test)),
            "train_samples": int(len(x_train))}


def demo_table(n_test: int = 300, progress: bool = False,
               log: Callable[[str], None] = print) -> dict[str, Any]:
    """The small comparison at the end of ``spikesim demo``: scikit-learn's 8 x 8 digits
    (bundled with scikit-learn; synthetic digits-like data if it is not installed),
    ``n_test`` test samples, small models, every platform. Prints the table; returns
    :func:`compare`'s output.

    Example::

        out = demo_table(100)      # a few seconds once the numba cache is warm
    """
    try:
        from sklearn.datasets import load_digits

        d = load_digits()
        x, y, what = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64), \
            "scikit-learn 8x8 digits"
    except ImportError:
        gen = np.random.default_rng(0)
        y = gen.integers(0, 10, 1797)
        protos = gen.random((10, 64)) < 0.3
        x = np.clip(protos[y] * 0.8 + gen.random((1797, 64)) * 0.3, 0, 1).astype(np.float32)
        what = "synthetic 64-pixel data (scikit-learn not installed)"
    if not 1 <= n_test < len(y):
        raise ValueError(f"n_test={n_test!r} must be in 1..{len(y) - 1}")
    s = Settings(hidden=64, timesteps=16, epochs_ann=30, epochs_snn=4, batch=n_test,
                 lr_ann=3e-3, lr_snn=5e-3)
    log(f"energy per inference across platforms: {what}, {len(y) - n_test} training and "
        f"{n_test} test samples, {s.timesteps} steps (a small version of `spikesim bench "
        f"energy`)")
    out = compare(x[:-n_test], y[:-n_test], x[-n_test:], y[-n_test:], s, progress=progress,
                  log=lambda m: None)
    log(format_rows(out["rows"], PUBLISHED))
    return out
