"""Quantisation-aware training (QAT) for NorthPole via spikesim.quant and spikesim.nn.

Two levels:

* **weights only** (:func:`attach_constraints`): per-channel :class:`spikesim.quant.KBit`
  constraints (straight-through estimator) on the model's own Dense/Conv2d layers;
  :func:`compile` calibrates the activations afterwards (post-training);
* **weights and activations** (:func:`prepare_qat`): also an :class:`spikesim.nn.ActQuant`
  fake-quantiser on the input and after every hidden MAC layer's ReLU, with power-of-two
  scales initialised from calibration data (:func:`spikesim.quant.pot_scale`) and learned with
  the LSQ gradient. :func:`compile` then takes every integer and scale from the model, and the
  integer engine computes exactly what was trained: the model's forward pass in float64
  (:func:`exact_copy`) and the engine agree bit for bit (see
  :mod:`spikesim.quant.fakequant` for why, and ``tests/test_northpole_qat.py``).

:func:`finetune` trains either kind with the :class:`spikesim.nn.Trainer` (Adam; the
activation scales get their own, larger learning rate, as in TQT, Jain et al. 2020) and, for
a quantisation-aware model, ends by putting each bias on its accumulator grid
(:func:`snap_biases`) so the float model holds exactly the int32 biases the chip gets.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from spikesim.backends.northpole.program import (_is_aq, _layer_outputs, _parse, _per_layer,
                                                 _qat_plan, _qat_precision, _type)


def attach_constraints(model, precision: Any = 8, exact: bool = False
                       ) -> list[tuple[int, int]]:
    """Put a per-channel ``KBit(w_bits)`` constraint on every Dense/Conv2d of ``model``
    (in place); ``precision`` as in :func:`compile`. Returns the per-layer precisions.
    ``exact=True`` rounds the weight scales to float32 (``scale_float32``, needed for exact
    integer execution of a quantisation-aware model).

    Example::

        attach_constraints(net, 4)   # every MAC layer now trains with 4-bit weights
    """
    from spikesim.quant import KBit

    layers = _parse(model)
    macs = [l for l in layers if _type(l) in ("Dense", "Conv2d")]
    names = [f"{_type(l).lower()}{k}" for k, l in enumerate(macs)]
    prec = _per_layer(precision, len(macs), names)
    for l, (wb, _) in zip(macs, prec):
        l.constraint = KBit(wb, per_channel=True, scale_float32=bool(exact))
    return prec


def prepare_qat(model, calibration_data: np.ndarray, precision: Any = 8, *,
                learn_scale: bool = True, span: int = 6):
    """A quantisation-aware copy of a float ANN: a new :class:`spikesim.nn.Sequential` that
    shares ``model``'s layers (their weights train in place) with

    * ``KBit(w_bits, per_channel=True, scale_float32=True)`` on every Dense/Conv2d;
    * an unsigned (signed if the data has negative values) ``ActQuant(a_bits)`` first, as
      the input quantiser, and an ``ActQuant`` after every hidden MAC layer (after its
      ReLU; signed if it has none), carrying that layer's output precision (the next MAC
      layer's ``a_bits``);
    * power-of-two scales with the least squared error on the float model's activations
      for ``calibration_data`` (:func:`spikesim.quant.pot_scale`, ``span`` octaves searched).

    Args:
        model: a float :class:`spikesim.nn.Sequential` ANN of Dense, Conv2d, ReLU,
            MaxPool2d, Flatten, Dropout layers (no BatchNorm or AvgPool2d: they cannot be
            run exactly after training).
        calibration_data: float inputs ``[N, *input_shape]`` (as the model sees them).
        precision: as in :func:`compile` (``(w_bits, a_bits)`` per MAC layer).
        learn_scale: train the activation scales (LSQ gradient) or keep them calibrated.

    Returns:
        the quantisation-aware ``Sequential``.

    Example::

        qnet = prepare_qat(net, x_train[:512] / 255, precision=2)
        finetune(qnet, x_train, y_train, epochs=1, input_scale=1 / 255)
        prog = compile(qnet, x_train[:512] / 255)     # runs exactly what was trained
    """
    from spikesim.nn import ActQuant, Sequential
    from spikesim.quant import pot_scale

    layers = _parse(model)
    if any(_is_aq(l) for l in layers):
        raise ValueError("model already has ActQuant layers (it is quantisation-aware)")
    for i, l in enumerate(layers):
        if _type(l) in ("BatchNorm", "AvgPool2d"):
            raise TypeError(f"layer {i} ({_type(l)}) is not supported by quantisation-aware "
                            f"training for exact integer execution; supported: Dense, Conv2d, "
                            f"ReLU, MaxPool2d, Flatten, Dropout")
    mac = [i for i, l in enumerate(layers) if _type(l) in ("Dense", "Conv2d")]
    if not mac:
        raise ValueError("model has no Dense or Conv2d layer: nothing to quantise")
    names = [f"{_type(layers[i]).lower()}{k}" for k, i in enumerate(mac)]
    prec = _per_layer(precision, len(mac), names)
    x = np.asarray(calibration_data, dtype=np.float32)
    if x.ndim < 2 or x.shape[0] < 1:
        raise ValueError(f"calibration_data shape {x.shape} must be [N >= 1, *input_shape]")
    acts = _layer_outputs(layers, x)  # float activations at every layer output (eval mode)

    def aq(bits, data, signed):
        return ActQuant(bits, signed=signed, scale=pot_scale(data, bits, signed, span),
                        learn_scale=learn_scale)

    in_signed = bool(x.min() < 0)
    new = [aq(prec[0][1], x, in_signed)]
    k = 0
    i = 0
    while i < len(layers):
        l = layers[i]
        new.append(l)
        if _type(l) not in ("Dense", "Conv2d"):
            i += 1
            continue
        j = i + 1
        while j < len(layers) and _type(layers[j]) == "Dropout":
            new.append(layers[j])
            j += 1
        relu = j < len(layers) and _type(layers[j]) == "ReLU"
        if relu:
            new.append(layers[j])
            j += 1
        if k < len(mac) - 1:
            new.append(aq(prec[k + 1][1], acts[j - 1], not relu))
        k += 1
        i = j
    qnet = Sequential(*new)
    attach_constraints(qnet, [p for p in prec], exact=True)
    return qnet


def snap_biases(model) -> float:
    """Put every bias of a quantisation-aware ``model`` on its accumulator grid (in place):
    ``b = round(b / (s_in * s_w[c])) * s_in * s_w[c]``, the int32 bias the chip adds, so the
    float forward pass adds exactly what the integer engine adds (exactly in float64; in
    float32 up to float32 rounding). Returns the largest change in accumulator units (<= 0.5).
    """
    from spikesim.quant import QuantSpec, quantize

    layers = _parse(model)
    plan = _qat_plan(layers)
    worst = 0.0
    for p in plan:
        l = layers[p["mac"]]
        if "bias" not in l.params:
            continue
        s_w = l.constraint.scale(l.params["weight"]).reshape(-1)
        acc = p["in_aq"].scale * s_w
        b = l.params["bias"].astype(np.float64)
        q = quantize(b, QuantSpec(bits=32, signed=True), scale=acc).q.astype(np.float64)
        worst = max(worst, float(np.max(np.abs(b / acc - q), initial=0.0)))
        l.params["bias"][...] = (q * acc).astype(l.params["bias"].dtype)
    return worst


def exact_copy(model):
    """A float64 deep copy of a quantisation-aware ``model`` with its biases on the grid
    (:func:`snap_biases`) in evaluation mode: its forward pass is exact arithmetic, and it
    equals the integer engine's output bit for bit (``logits`` and every activation code).

    Example::

        ref = exact_copy(qnet).forward(x_test.astype(np.float64))
        res = run(compile(qnet, x_cal), x_test)
        assert np.array_equal(ref, res.outputs["logits"])
    """
    m = copy.deepcopy(model)
    _qat_plan(_parse(m))  # validates the layout
    m.astype(np.float64)
    snap_biases(m)
    m.eval()
    return m


class _Subset:
    """The parameters of a model whose names do (``scales=True``) or do not end in
    ``log2_scale``: lets two optimisers with different learning rates share a model."""

    def __init__(self, model, scales: bool):
        self.model, self.scales = model, scales

    def _keep(self, name: str) -> bool:
        return name.endswith("log2_scale") == self.scales

    def named_parameters(self):
        return ((n, p) for n, p in self.model.named_parameters() if self._keep(n))

    def named_grads(self):
        return ((n, g) for n, g in self.model.named_grads() if self._keep(n))

    def post_step(self):
        if not self.scales:
            self.model.post_step()


class _TwoRates:
    """Adam on the weights (``lr``) and Adam on the activation scales (``scale_lr``); looks
    like one optimiser to the :class:`spikesim.nn.Trainer` (``lr``/``base_lr`` scale both)."""

    def __init__(self, model, lr: float, scale_lr: float):
        from spikesim.nn import Adam

        self.w = Adam(_Subset(model, False), lr=lr)
        self.s = Adam(_Subset(model, True), lr=scale_lr)
        self.ratio = scale_lr / lr
        self.base_lr = self.w.base_lr

    @property
    def lr(self) -> float:
        return self.w.lr

    @lr.setter
    def lr(self, v: float) -> None:
        self.w.lr = v
        self.s.lr = v * self.ratio

    def step(self) -> None:
        self.w.step()
        self.s.step()

    def state_dict(self):
        return {**{f"w/{k}": v for k, v in self.w.state_dict().items()},
                **{f"s/{k}": v for k, v in self.s.state_dict().items()}}

    def load_state_dict(self, sd) -> None:
        self.w.load_state_dict({k[2:]: v for k, v in sd.items() if k.startswith("w/")})
        self.s.load_state_dict({k[2:]: v for k, v in sd.items() if k.startswith("s/")})


def finetune(model, x: np.ndarray, y: np.ndarray, precision: Any = None, *, epochs: int = 1,
             lr: float = 1e-4, scale_lr: float = 1e-2, batch_size: int = 128,
             rng: int | np.random.Generator = 0, input_scale: float = 1.0,
             val: tuple | None = None, progress: bool = True):
    """Quantisation-aware fine-tuning (in place); returns the nn ``History``.

    A float model gets weight constraints (:func:`attach_constraints` with ``precision``,
    default 8; activations stay float). A quantisation-aware model (:func:`prepare_qat`)
    trains with its own precisions (a given ``precision`` must match them), its activation
    scales at ``scale_lr``, and ends with :func:`snap_biases`.

    Args:
        model: :class:`spikesim.nn.Sequential` ANN (the layers :func:`compile` supports).
        x, y: training inputs and integer labels.
        precision: as in :func:`compile`.
        epochs, lr, batch_size: Adam fine-tuning settings (lr in units of the loss gradient).
        scale_lr: Adam learning rate of the activation scales' ``log2`` (octaves per step).
        rng: seed or Generator for shuffling.
        input_scale: multiply inputs by this (e.g. 1/255 for uint8 pixels).
        val: optional ``(x_val, y_val)``.

    Example::

        finetune(net, x_train, y_train, precision=2, epochs=1, input_scale=1/255)
        prog = compile(net, x_train[:512] / 255, precision=2)
    """
    from spikesim.nn import Adam, Trainer

    layers = _parse(model)
    qat = any(_is_aq(l) for l in layers)
    if qat:
        prec = _qat_precision(layers, _qat_plan(layers))
        if precision is not None:
            names = [f"{_type(l).lower()}{k}" for k, l in enumerate(
                [l for l in layers if _type(l) in ("Dense", "Conv2d")])]
            if _per_layer(precision, len(names), names) != prec:
                raise ValueError(f"precision={precision!r} does not match the quantisation-"
                                 f"aware model's (w_bits, a_bits) per MAC layer {prec}")
        opt = _TwoRates(model, lr, scale_lr)
    else:
        attach_constraints(model, 8 if precision is None else precision)
        opt = Adam(model, lr=lr)
    tr = Trainer(model, "ce", opt, batch_size=batch_size, rng=rng,
                 input_scale=input_scale, progress=progress)
    hist = tr.fit(x, y, epochs, val=val)
    if qat:
        snap_biases(model)
    return hist
