"""``compile`` a float :mod:`spikesim.nn` ANN into an integer NorthPole program; ``run`` it.

Quantisation goes through :mod:`spikesim.quant` only (no second quantiser here):

* weights: :func:`spikesim.quant.quantize` with ``QuantSpec(bits, per_channel=True)``
  (symmetric, one scale per output channel, round half to even); batch-norm that follows a
  Dense/Conv2d is folded into it first. A model fine-tuned with ``KBit`` constraints
  (quantisation-aware training, :func:`spikesim.backends.northpole.qat.finetune`) compiles to
  the same integers its forward pass used;
* activations: :func:`spikesim.quant.calibrate_scale` on the calibration data (99.99th
  percentile; the network input with ``method="max"``), unsigned after a ReLU;
* int32 biases: :func:`spikesim.quant.quantize` at scale ``s_in x s_w[c]``.

The requantisation multiplier ``s_in x s_w[c] / s_out`` becomes the fixed-point pair
``(M, shift)`` the hardware applies (:func:`.layers.quantize_multiplier`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikesim.backends.northpole import params as P
from spikesim.backends.northpole.engine import run_layers, warmup
from spikesim.backends.northpole.layers import (IntAvgPool2d, IntConv2d, IntDense, IntFlatten,
                                                IntMaxPool2d, IntReLU, quantize_multiplier)
from spikesim.backends.northpole.schedule import LayerShape, Schedule, schedule

#: spikesim.nn layer types the compiler accepts.
SUPPORTED = ("Dense", "Conv2d", "ReLU", "MaxPool2d", "AvgPool2d", "Flatten", "BatchNorm",
             "Dropout", "ActQuant")


@dataclass
class Program:
    """A compiled NorthPole program: integer layers, input quantisation, schedule.

    Attributes:
        layers: integer layers (:mod:`.layers`) in execution order.
        input_shape: per-sample input shape (C, H, W) or (F,).
        input_scale, input_bits, input_signed: input quantisation ``x ~= q * input_scale``.
        out_scale: per-output-channel scale of the last layer's int32 accumulator.
        shapes: the MAC layers as :class:`.schedule.LayerShape` (per-layer precisions).
        schedule: the mapping onto the core array (:class:`.schedule.Schedule`).
        precision: per MAC layer ``(w_bits, a_bits)``.
        meta: quantisation statistics (clipped weights per layer, calibration size; for a
            quantisation-aware model ``qat=True`` and ``requant_exact`` per layer).
        input_rounding: rounding of the input quantiser (``"half_up"`` for a
            quantisation-aware model, whose :class:`spikesim.nn.ActQuant` rounds half up).
    """

    layers: list
    input_shape: tuple[int, ...]
    input_scale: float
    input_bits: int
    input_signed: bool
    out_scale: np.ndarray
    shapes: list[LayerShape]
    schedule: Schedule
    precision: list[tuple[int, int]]
    meta: dict[str, Any] = field(default_factory=dict)
    input_rounding: str = "half_even"

    @property
    def cores(self) -> int:
        return self.schedule.cores_used

    @property
    def fits_on_chip(self) -> bool:
        return self.schedule.fits_on_chip

    @property
    def macs_per_frame(self) -> int:
        return sum(s.macs for s in self.shapes)

    def report(self) -> str:
        """The per-layer schedule next to the roofline (readable text)."""
        return self.schedule.table()

    def frames_per_j(self) -> float:
        """Frames per joule from :func:`spikesim.energy.report` on one frame's dense MACs
        (the energy module's NorthPole entry: one all-in cost per MAC, calibrated on the
        published ResNet-50 571 frames/J)."""
        from spikesim.energy import report
        from spikesim.sim import Counts

        c = Counts.empty([s.name for s in self.shapes], samples=1, source="northpole")
        for s in self.shapes:
            c.add(s.name, dense_mac=s.macs)
        return 1.0 / report(c, "northpole").total[1]


def _layer_outputs(layers, x: np.ndarray) -> list:
    """Float forward in evaluation mode, returning each layer's output on ``x`` (calibration
    data); the layers' training flags are restored and their caches cleared afterwards."""
    was = [l.training for l in layers]
    acts = []
    try:
        for l in layers:
            l.training = False
        cur = x
        for j, l in enumerate(layers):
            try:
                cur = l.forward(cur)
            except ValueError as e:
                raise ValueError(f"calibration_data shape {x.shape} does not fit the model at "
                                 f"layer {j} ({_type(l)}): {e}") from None
            acts.append(cur)
    finally:
        for l, t in zip(layers, was):
            l.training = t
            l.clear_cache()
    return acts


def _type(layer) -> str:
    return type(layer).__name__


def _parse(model) -> list:
    """Validate layer types; returns the layers of an nn.Sequential."""
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(f"model must be a spikesim.nn.Sequential ANN; got {type(model).__name__}")
    for i, layer in enumerate(layers):
        if _type(layer) not in SUPPORTED:
            raise TypeError(f"layer {i} ({_type(layer)}) is not supported by the NorthPole "
                            f"backend; supported layer types: {list(SUPPORTED)}")
        if getattr(layer, "spiking", False):
            raise TypeError(f"layer {i} ({_type(layer)}) is spiking; NorthPole runs ANNs")
    return list(layers)


def _is_aq(layer) -> bool:
    return _type(layer) == "ActQuant"


def _qat_plan(layers: list) -> list[dict]:
    """The quantisation-aware layout of ``layers`` (a model with ActQuant layers).

    Returns one dict per MAC layer: ``mac`` (index), ``in_aq`` (the ActQuant of its input),
    ``out_aq`` (the ActQuant of its output, None for the last MAC layer), ``relu`` (a ReLU
    sits between them) and ``next`` (the index after them). Raises ``ValueError``/
    ``TypeError`` naming the offending layer when the layout cannot run exactly on integers.
    """
    if not _is_aq(layers[0]):
        raise ValueError(f"a quantisation-aware model must start with an ActQuant (the input "
                         f"quantiser); layer 0 is {_type(layers[0])}")
    plan: list[dict] = []
    cur = layers[0]
    i = 1
    n = len(layers)
    while i < n:
        l = layers[i]
        t = _type(l)
        if t in ("Dense", "Conv2d"):
            j = i + 1
            while j < n and _type(layers[j]) == "Dropout":
                j += 1
            if j < n and _type(layers[j]) == "BatchNorm":
                raise TypeError(f"layer {j} (BatchNorm) after quantisation-aware training cannot "
                                f"be folded exactly; fold it before prepare_qat or train "
                                f"without it")
            relu = j < n and _type(layers[j]) == "ReLU"
            k = j + 1 if relu else j
            out = layers[k] if k < n and _is_aq(layers[k]) else None
            plan.append({"mac": i, "in_aq": cur, "out_aq": out, "relu": relu,
                         "next": k + 1 if out is not None else k})
            if out is not None:
                if relu and out.signed:
                    raise ValueError(f"layer {k} (ActQuant) after a ReLU must be unsigned "
                                     f"(signed=False)")
                cur = out
            i = plan[-1]["next"]
            continue
        if _is_aq(l):
            raise ValueError(f"layer {i} (ActQuant) must directly follow a Dense/Conv2d or its "
                             f"ReLU (or be layer 0, the input quantiser)")
        if t == "AvgPool2d":
            raise TypeError(f"layer {i} (AvgPool2d) is not supported in a quantisation-aware "
                            f"model: the integer engine re-rounds the window mean; use "
                            f"MaxPool2d")
        if t == "BatchNorm":
            raise TypeError(f"layer {i} (BatchNorm) must directly follow a Dense or Conv2d")
        i += 1
    if not plan:
        raise ValueError("model has no Dense or Conv2d layer: nothing to map onto NorthPole")
    for p in plan[:-1]:
        if p["out_aq"] is None:
            raise ValueError(f"layer {p['mac']} ({_type(layers[p['mac']])}) needs an ActQuant "
                             f"after it (after its ReLU): the next layer's integer inputs")
    if plan[-1]["out_aq"] is not None:
        raise ValueError(f"the last MAC layer {plan[-1]['mac']} must not be followed by an "
                         f"ActQuant: its int32 accumulators are the program's output")
    return plan


def _qat_precision(layers: list, plan: list[dict]) -> list[tuple[int, int]]:
    """``(w_bits, a_bits)`` per MAC layer of a quantisation-aware model (from its
    ``KBit`` constraints and ActQuant layers)."""
    out = []
    for p in plan:
        l = layers[p["mac"]]
        c = getattr(l, "constraint", None)
        if (type(c).__name__ != "KBit" or not c.per_channel or not c.scale_float32
                or c.method != "max"):
            raise ValueError(f"layer {p['mac']} ({_type(l)}) of a quantisation-aware model needs "
                             f"the constraint KBit(bits, per_channel=True, scale_float32=True); "
                             f"got {c!r} (use northpole.qat.prepare_qat)")
        out.append((P.check_precision(c.bits, f"layer {p['mac']} weight bits"),
                    P.check_precision(p["in_aq"].bits, f"layer {p['mac']} input bits")))
    return out


def _per_layer(precision, n_mac: int, names: list[str]) -> list[tuple[int, int]]:
    """Normalise ``precision`` to one ``(w_bits, a_bits)`` per MAC layer."""
    def one(p, where):
        if isinstance(p, (tuple, list)):
            if len(p) != 2:
                raise ValueError(f"precision{where}={p!r} must be bits or (w_bits, a_bits)")
            return (P.check_precision(p[0], f"precision{where} w_bits"),
                    P.check_precision(p[1], f"precision{where} a_bits"))
        b = P.check_precision(p, f"precision{where}")
        return (b, b)

    if isinstance(precision, dict):
        unknown = set(precision) - set(names) - set(range(n_mac))
        if unknown:
            raise ValueError(f"precision names unknown MAC layers {sorted(map(str, unknown))}; "
                             f"MAC layers: {names}")
        out = []
        for i, nm in enumerate(names):
            p = precision.get(nm, precision.get(i, 8))
            out.append(one(p, f"[{nm!r}]"))
        return out
    if isinstance(precision, list):
        if len(precision) != n_mac:
            raise ValueError(f"precision has {len(precision)} entries; the model has {n_mac} "
                             f"MAC layers {names}")
        return [one(p, f"[{i}]") for i, p in enumerate(precision)]
    return [one(precision, "")] * n_mac


def _fold_bn(w: np.ndarray, b: np.ndarray, bn) -> tuple[np.ndarray, np.ndarray]:
    g = bn.params["weight"].astype(np.float64)
    beta = bn.params["bias"].astype(np.float64)
    inv = g / np.sqrt(bn.buffers["running_var"].astype(np.float64) + bn.eps)
    w = w * inv.reshape((-1,) + (1,) * (w.ndim - 1))
    b = (b - bn.buffers["running_mean"]) * inv + beta
    return w, b


def compile(model, calibration_data: np.ndarray, precision: Any = None, *,
            calibration_percentile: float = 99.99, mode: str = "pipeline",
            macs_per_op: float = P.MACS_PER_OP, allow_multipass: bool = False,
            offchip_bytes_per_s: float | None = None) -> Program:
    """Quantise a :class:`spikesim.nn.Sequential` ANN and map it onto NorthPole.

    Args:
        model: ANN of Dense, Conv2d, ReLU, MaxPool2d, AvgPool2d, Flatten,
            BatchNorm (folded), Dropout (identity) layers; float inputs ``[N, ...]``. An
            :class:`spikesim.ir.Network` chain of Affine/Linear/Conv2d/pool/Flatten nodes is
            accepted too (converted by :func:`.from_ir.from_ir`; it is linear).
        calibration_data: float inputs ``[N, *input_shape]`` for activation scales.
        precision: 8, 4 or 2 for every MAC layer; a tuple ``(w_bits, a_bits)`` for every
            MAC layer; a list with one entry per MAC layer; or a dict ``{layer name or index:
            entry}`` (others 8). An entry is ``bits`` or ``(w_bits, a_bits)`` (``a_bits``: the
            layer's input activations, so the previous layer's output precision). MAC layers
            are named ``conv0``, ``dense1``... by their position among MAC layers. ``None``
            (default): 8 bits, or, for a quantisation-aware model, the model's own precisions
            (a given ``precision`` must then match them).
        calibration_percentile: percentile of activations mapped to the largest integer.
        mode, macs_per_op, allow_multipass, offchip_bytes_per_s: passed to
            :func:`.schedule.schedule`.

    Returns:
        :class:`Program`.

    Raises:
        TypeError: an unsupported layer type (named, with the supported list).
        ValueError: unsupported precision; calibration data of the wrong shape; a model that
            does not fit on chip (names the limit); a quantisation-aware model whose layout
            or precision the integer engine cannot run exactly.

    A **quantisation-aware model** (:func:`.qat.prepare_qat`: an input :class:`ActQuant`,
    ``KBit(per_channel=True, scale_float32=True)`` weights, an ActQuant after every hidden
    MAC layer's ReLU) compiles to exactly what it computes: weight integers and scales from
    its constraints, activation scales from its ActQuant layers (no calibration), biases at
    the accumulator scale; with power-of-two activation scales the requantisation
    multipliers are exact (``meta["requant_exact"]``) and the integer engine reproduces the
    model's float64 forward bit for bit (:func:`.qat.exact_copy`).

    Example::

        prog = compile(net, x_train[:512] / 255, precision=8)
        res = run(prog, x_test / 255)
        res.outputs["logits"].argmax(1)
    """
    from spikesim.quant import QuantSpec, calibrate_scale, quantize

    if type(model).__name__ == "Network" and hasattr(model, "nodes"):
        from spikesim.backends.northpole.from_ir import from_ir
        model = from_ir(model)
    layers = _parse(model)
    x = np.asarray(calibration_data, dtype=np.float32)
    first = next((l for l in layers if _type(l) in ("Dense", "Conv2d")), None)
    if first is None:
        raise ValueError("model has no Dense or Conv2d layer: nothing to map onto NorthPole")
    want = (first.in_features,) if _type(first) == "Dense" else (first.in_channels, None, None)
    if x.ndim < 2 or x.shape[0] < 1:
        raise ValueError(f"calibration_data shape {x.shape} must be [N >= 1, *input_shape]")
    if first is layers[1 if _is_aq(layers[0]) else 0] and (x.ndim != len(want) + 1 or any(
            w is not None and w != s for w, s in zip(want, x.shape[1:]))):
        raise ValueError(f"calibration_data shape {x.shape} does not match the model input "
                         f"[N, {', '.join('?' if w is None else str(w) for w in want)}] "
                         f"(first MAC layer {_type(first)})")
    mac_idx = [i for i, l in enumerate(layers) if _type(l) in ("Dense", "Conv2d")]
    names = [f"{_type(layers[i]).lower()}{k}" for k, i in enumerate(mac_idx)]
    qat = any(_is_aq(l) for l in layers)
    plan = _qat_plan(layers) if qat else None
    if qat:
        prec = _qat_precision(layers, plan)
        if precision is not None and _per_layer(precision, len(mac_idx), names) != prec:
            raise ValueError(f"precision={precision!r} does not match the quantisation-aware "
                             f"model's (w_bits, a_bits) per MAC layer {prec}")
    else:
        prec = _per_layer(8 if precision is None else precision, len(mac_idx), names)

    acts = _layer_outputs(layers, x)

    in_bits = prec[0][1]
    if qat:
        in_signed = bool(layers[0].signed)
        s_in = layers[0].scale
    else:
        in_signed = bool(x.min() < 0)
        s_in = calibrate_scale(x, in_bits, signed=in_signed, method="max")
    input_scale, input_bits = s_in, in_bits
    out: list = []
    shapes: list[LayerShape] = []
    meta: dict[str, Any] = {"weights_clipped": {}, "calibration_samples": int(x.shape[0])}
    if qat:
        meta.update({"qat": True, "requant_exact": {}, "bias_offgrid_max": {}})
        by_mac = {p["mac"]: p for p in plan}
    cur_shape = tuple(x.shape[1:])
    cur_bits, cur_signed = in_bits, in_signed
    k = 0
    i = 1 if qat else 0  # a quantisation-aware model's layer 0 is the input quantiser
    while i < len(layers):
        l = layers[i]
        t = _type(l)
        if t in ("Dense", "Conv2d"):
            w_bits, a_bits = prec[k]
            last = k == len(mac_idx) - 1
            if qat:  # the trained integers and scales, no calibration
                pq = by_mac[i]
                qw = l.constraint.quantize(l.params["weight"])
                b = l.params.get("bias", np.zeros(qw.q.shape[0])).astype(np.float64)
                relu = pq["relu"] or (pq["out_aq"] is not None and not pq["out_aq"].signed)
                nxt = pq["next"]  # the layer after the fused MAC [+ ReLU] + ActQuant
                if last:  # a ReLU after the last MAC layer stays a separate IntReLU
                    nxt = i + 1
                    while nxt < len(layers) and _type(layers[nxt]) == "Dropout":
                        nxt += 1
            else:
                w = l.effective_weight().astype(np.float64)
                b = l.params.get("bias", np.zeros(w.shape[0])).astype(np.float64)
                j = i + 1
                if j < len(layers) and _type(layers[j]) == "BatchNorm":
                    w, b = _fold_bn(w, b, layers[j])
                    j += 1
                while j < len(layers) and _type(layers[j]) == "Dropout":
                    j += 1
                relu = j < len(layers) and _type(layers[j]) == "ReLU"
                post = acts[j if relu else j - 1]
                qw = quantize(w, QuantSpec(bits=w_bits, per_channel=True))
            s_w = qw.scale.reshape(-1)
            acc_scale = s_in * s_w
            qb = quantize(b, QuantSpec(bits=32, signed=True), scale=acc_scale)
            meta["weights_clipped"][names[k]] = qw.n_clipped
            if qat:
                meta["bias_offgrid_max"][names[k]] = float(
                    np.max(np.abs(b / acc_scale - qb.q), initial=0.0))
            if last:
                out_bits, M, sh = None, None, None
                relu = False
            if not qat:
                nxt = j + (1 if relu else 0)
            if not last:
                out_bits = prec[k + 1][1]
                if qat:
                    s_out = pq["out_aq"].scale
                else:
                    s_out = calibrate_scale(post, out_bits, signed=not relu,
                                            method="percentile",
                                            percentile=calibration_percentile)
                m = acc_scale / s_out
                M, sh = quantize_multiplier(m)
                if qat:
                    meta["requant_exact"][names[k]] = bool(np.all(np.ldexp(
                        M.astype(np.float64), -sh.astype(np.int64)) == m))
            kw = dict(name=names[k], weight=qw.q.astype(np.int64), bias=qb.q.astype(np.int64),
                      multiplier=M, shift=sh, w_bits=w_bits, in_bits=cur_bits,
                      in_signed=cur_signed, out_bits=out_bits, relu=relu, acc_scale=acc_scale,
                      meta={"w_scale": s_w, "in_scale": s_in})
            if t == "Dense":
                il = IntDense(**kw)
            else:
                il = IntConv2d(**kw, stride=l.stride, padding=l.padding)
            o_shape = il.out_shape(cur_shape)
            shapes.append(LayerShape(names[k], "dense" if t == "Dense" else "conv", cur_shape,
                                     o_shape, il.fan_in, il.n_params, w_bits, cur_bits,
                                     out_bits))
            out.append(il)
            cur_shape = o_shape
            if not last:
                s_in = s_out
                cur_bits, cur_signed = out_bits, not relu
            k += 1
            i = nxt
            continue
        if t == "ReLU":
            out.append(IntReLU(f"relu{i}"))
            cur_signed = False
        elif t == "MaxPool2d":
            out.append(IntMaxPool2d(f"maxpool{i}", l.kernel_size, l.stride))
        elif t == "AvgPool2d":
            out.append(IntAvgPool2d(f"avgpool{i}", l.kernel_size, l.stride))
        elif t == "Flatten":
            out.append(IntFlatten(f"flatten{i}"))
        elif t in ("BatchNorm", "Dropout"):
            if t == "BatchNorm":
                raise TypeError(f"layer {i} (BatchNorm) must directly follow a Dense or Conv2d "
                                f"to be folded")
        if t not in ("Dropout",):
            cur_shape = out[-1].out_shape(cur_shape)
        i += 1
    sched = schedule(shapes, mode=mode, macs_per_op=macs_per_op,
                     allow_multipass=allow_multipass, offchip_bytes_per_s=offchip_bytes_per_s)
    last_mac = [m for m in out if isinstance(m, (IntDense, IntConv2d))][-1]
    return Program(out, tuple(x.shape[1:]), float(input_scale), input_bits, in_signed,
                   np.asarray(last_mac.acc_scale), shapes, sched, prec, meta,
                   input_rounding="half_up" if qat else "half_even")


def run(program: Program, inputs: np.ndarray, *, batch_size: int = 1024,
        progress: bool = True):
    """Run ``program`` on float ``inputs`` ``[N, *input_shape]``; bit-exact integer inference.

    Returns a :class:`spikesim.sim.Result`: ``outputs["logits"]`` (float, dequantised int32
    accumulators ``[N, classes]``), ``outputs["acc"]`` (the int32 accumulators), ``counts``
    (per MAC layer: dense_mac (every multiply-accumulate the dense hardware does, zeros
    included; dense_ac stays 0: NorthPole multiplies valued inputs), weight_reads,
    state_reads, state_writes, spikes_routed = NoC packets, hops, cycles; definitions in
    ``counts.meta["definitions"]``), ``meta`` with saturations, the modelled chip time,
    frames/s and the host throughput (``gmacs_per_s_host``). ``run_s`` is host wall time, JIT
    excluded (``jit_s``).

    Example::

        res = run(prog, x_test / 255)
        acc = (res.outputs["logits"].argmax(1) == y_test).mean()
    """
    from spikesim.quant import quantize_activations
    from spikesim.sim import Counts, Result
    from tqdm.auto import tqdm

    if not isinstance(program, Program):
        raise TypeError(f"program must be a northpole Program; got {type(program).__name__}")
    x = np.asarray(inputs, dtype=np.float32)
    if x.shape[1:] != program.input_shape or x.shape[0] < 1:
        raise ValueError(f"inputs shape {x.shape} does not match the program input "
                         f"[N, {', '.join(map(str, program.input_shape))}]")
    jit_s = warmup()
    n = x.shape[0]
    accs, stats_all = [], []
    clipped = 0
    t0 = time.perf_counter()
    for b0 in tqdm(range(0, n, batch_size), disable=not progress, desc="northpole run"):
        qt = quantize_activations(x[b0:b0 + batch_size], program.input_scale,
                                  program.input_bits, program.input_signed,
                                  rounding=program.input_rounding)
        clipped += qt.n_clipped
        y, st = run_layers(program.layers, qt.q, program.input_bits, program.input_signed)
        accs.append(y)
        stats_all.append(st)
    run_s = time.perf_counter() - t0
    acc = np.concatenate(accs)
    logits = acc * program.out_scale.reshape(1, -1)
    sched = program.schedule
    counts = Counts.empty([s.name for s in program.shapes],
                          kinds={s.name: "layer" for s in program.shapes}, samples=n,
                          source="northpole", unfilled=("spikes", "neuron_updates",
                                                        "membrane_updates", "synops_ac",
                                                        "synops_mac", "plasticity_updates",
                                                        "ticks"))
    sat: dict[str, dict[str, int]] = {}
    mac_s = 0.0
    for j, layer in enumerate(program.layers):
        tot_a = sum(st[j]["acc_saturations"] for st in stats_all)
        tot_o = sum(st[j]["out_saturations"] for st in stats_all)
        if tot_a or tot_o:
            sat[layer.name] = {"acc": tot_a, "out": tot_o}
        if isinstance(layer, (IntDense, IntConv2d)):
            mac_s += sum(st[j]["run_s"] for st in stats_all)
    for s, row in zip(program.shapes, sched.rows):
        counts.add(s.name, dense_mac=s.macs * n, weight_reads=s.macs * n,
                   state_reads=(s.macs // s.out_channels) * n, state_writes=s.n_out * n,
                   spikes_routed=s.n_out * n, hops=int(round(s.n_out * row["mean_hops"])) * n,
                   cycles=int(row["cycles"]) * n)
    chip_s = sched.time_for(n)
    counts.duration_s = chip_s / n
    counts.meta.update({"schedule": sched.summary(), "saturations": sat,
                        "input_clipped": clipped, "precision": program.precision,
                        "definitions": {
                            "weight_reads": "one weight word per MAC (no register reuse)",
                            "state_reads": "input activation words read (im2col words)",
                            "state_writes": "output activation words written",
                            "spikes_routed": "NoC packets: one per output activation value "
                                             "sent to the next layer's cores",
                            "hops": "packets x mean Manhattan distance between layer regions",
                            "cycles": "busy cycles of the layer's cores (per frame x frames)"}})
    macs = program.macs_per_frame * n
    meta = {"saturations": sat, "input_clipped": clipped, "chip_time_s": chip_s,
            "frames_per_s": sched.frames_per_s, "latency_s": sched.latency_s,
            "gmacs_per_s_host": macs / run_s / 1e9 if run_s > 0 else float("nan"),
            "gmacs_per_s_host_mac_layers": macs / mac_s / 1e9 if mac_s > 0 else float("nan"),
            "dtypes": {s["name"]: s["dtype"] for s in stats_all[0] if s["dtype"]}}
    return Result(outputs={"logits": logits, "acc": acc}, counts=counts, t_start=0.0,
                  t_stop=chip_s, engine="northpole", jit_s=jit_s, run_s=run_s, meta=meta)
