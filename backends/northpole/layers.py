"""Integer layers of a compiled NorthPole program (the chip's view of a network).

These are not a second layer stack: they hold the *integers* a NorthPole core would store
(weights of ``w_bits`` bits, int32 biases, fixed-point requantisation multipliers) after
:func:`spikesim.backends.northpole.compile` has quantised a :mod:`spikesim.nn` model with
:mod:`spikesim.quant`. Layout of activations at the boundary is NCHW (N, C, H, W) or (N, F).

Integer semantics (documented once, used by the engine and its naive twin in tests):

* inputs to a layer are integers of ``in_bits`` bits, unsigned ``[0, 2**b - 1]`` if
  ``in_signed`` is False, else signed ``[-2**(b-1), 2**(b-1) - 1]``;
* weights are signed integers of ``w_bits`` bits in ``[-2**(w-1), 2**(w-1) - 1]``;
* ``acc = sum(x * w) + bias`` is exact, then clamped to int32 (the model of a saturating
  32-bit accumulator; each clamped value is counted as an accumulator saturation);
* requantisation (when ``out_bits`` is set): ``y = (acc * M + 2**(s-1)) >> s`` -- a
  fixed-point multiply by ``M * 2**-s`` with rounding half toward +infinity -- then clamped
  to the output range (unsigned ``[0, 2**b - 1]`` when ``relu`` else signed); every value
  clamped at the top (and, for signed outputs, at the bottom) is counted as an output
  saturation. ReLU is the lower clamp at 0 of unsigned outputs (fused, not a saturation).
* ``out_bits=None`` keeps the int32 accumulator (a classifier's last layer); the host
  dequantises it with ``acc_scale`` (one float per output channel).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikesim.backends.northpole.params import ACC_BITS, check_precision

INT32_MIN = -(2 ** (ACC_BITS - 1))
INT32_MAX = 2 ** (ACC_BITS - 1) - 1


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """``(lo, hi)`` of a ``bits``-bit integer, e.g. ``int_range(8, False) == (0, 255)``."""
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2 ** bits - 1


def quantize_multiplier(m: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point form ``(M, s)`` of a positive real multiplier: ``m ~= M * 2**-s``.

    ``M`` is an integer in ``[2**30, 2**31)`` (31 significant bits, relative error
    <= 2**-31) and ``1 <= s <= 62``; for very small ``m`` (``s`` would exceed 62) ``s = 62``
    and ``M = round(m * 2**62)`` keeps fewer bits. Raises ``ValueError`` if ``m <= 0`` or
    ``m >= 2**30`` (not representable with a right shift).

    Example::

        M, s = quantize_multiplier(0.5)    # M = 2**30, s = 31
    """
    m = np.atleast_1d(np.asarray(m, dtype=np.float64))
    if not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(f"multiplier must be finite and > 0; got {m[~(m > 0)][:3]}")
    if np.any(m >= 2.0 ** 30):
        raise ValueError(f"multiplier {m.max():g} >= 2**30 cannot be applied with a right shift")
    e = np.floor(np.log2(m)).astype(np.int64)
    s = 30 - e
    M = np.round(np.ldexp(m, s)).astype(np.int64)
    over = M >= 2 ** 31
    M[over] //= 2
    s[over] -= 1
    big = s > 62
    if np.any(big):
        s[big] = 62
        M[big] = np.round(np.ldexp(m[big], 62)).astype(np.int64)
    return M, s


@dataclass(frozen=True, eq=False)
class _MacLayer:
    """Shared fields of :class:`IntDense` and :class:`IntConv2d`."""

    name: str
    weight: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray | None
    shift: np.ndarray | None
    w_bits: int
    in_bits: int
    in_signed: bool
    out_bits: int | None
    relu: bool = False
    acc_scale: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        check_precision(self.w_bits, f"{self.name}.w_bits")
        check_precision(self.in_bits, f"{self.name}.in_bits")
        w = np.asarray(self.weight)
        if not np.issubdtype(w.dtype, np.integer):
            raise TypeError(f"{self.name}.weight must be an integer array; got {w.dtype}")
        lo, hi = int_range(self.w_bits, True)
        if w.size and (w.min() < lo or w.max() > hi):
            raise ValueError(f"{self.name}.weight values span [{w.min()}, {w.max()}], outside "
                             f"the {self.w_bits}-bit range [{lo}, {hi}]")
        b = np.asarray(self.bias)
        if b.shape != (w.shape[0],) or not np.issubdtype(b.dtype, np.integer):
            raise ValueError(f"{self.name}.bias must be an integer array of shape "
                             f"({w.shape[0]},); got {b.dtype} {b.shape}")
        if b.size and (b.min() < INT32_MIN or b.max() > INT32_MAX):
            raise ValueError(f"{self.name}.bias exceeds the int32 range")
        if self.out_bits is not None:
            check_precision(self.out_bits, f"{self.name}.out_bits")
            for nm in ("multiplier", "shift"):
                v = getattr(self, nm)
                if v is None or np.asarray(v).shape != (w.shape[0],):
                    raise ValueError(f"{self.name}.{nm} must have shape ({w.shape[0]},) when "
                                     f"out_bits is set")
            s = np.asarray(self.shift)
            if s.min() < 1 or s.max() > 62:
                raise ValueError(f"{self.name}.shift must be in [1, 62]; got "
                                 f"[{s.min()}, {s.max()}]")
            M = np.asarray(self.multiplier)
            if M.min() < 0 or M.max() >= 2 ** 31:
                raise ValueError(f"{self.name}.multiplier must be in [0, 2**31)")
        elif self.relu:
            raise ValueError(f"{self.name}: relu needs out_bits (ReLU is fused into requant)")
        object.__setattr__(self, "weight", w.astype(np.int8 if self.w_bits <= 8 else np.int32))
        object.__setattr__(self, "bias", b.astype(np.int64))

    @property
    def out_signed(self) -> bool:
        return not self.relu

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])

    @property
    def fan_in(self) -> int:
        return int(np.prod(self.weight.shape[1:]))

    @property
    def n_params(self) -> int:
        return int(self.weight.size)

    def sum_bound(self) -> int:
        """Largest possible ``|sum(x * w)|`` (and of any partial sum): max|x| x max over
        output channels of sum|w| -- the proof that float GEMM is exact (see engine)."""
        lo, hi = int_range(self.in_bits, self.in_signed)
        xmax = max(abs(lo), abs(hi))
        l1 = np.abs(self.weight.reshape(self.n_out, -1).astype(np.int64)).sum(axis=1)
        return int(xmax * (int(l1.max()) if l1.size else 0))

    def exact_dtype(self) -> str:
        """``"float32"`` if every partial sum fits float32's 24-bit significand;
        ``"float32-split"`` if the sum fits float64's 53 bits (the fan-in is then cut into
        chunks whose partial sums each fit 24 bits, every chunk is a float32 GEMM and the
        chunks are added in float64: all exact); else ``"int64"`` (slow exact fallback)."""
        b = self.sum_bound()
        if b <= 2 ** 24:
            return "float32"
        if b <= 2 ** 53:
            return "float32-split"
        return "int64"


@dataclass(frozen=True, eq=False)
class IntDense(_MacLayer):
    """Fully connected layer: ``weight`` is ``[out, in]`` (int), input ``[N, in]``."""

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(in_shape) != 1 or in_shape[0] != self.weight.shape[1]:
            raise ValueError(f"{self.name}: input shape {in_shape} does not match weight "
                             f"[{self.weight.shape[0]}, {self.weight.shape[1]}]")
        return (self.n_out,)

    def macs(self, in_shape: tuple[int, ...]) -> int:
        return int(self.weight.size)


@dataclass(frozen=True, eq=False)
class IntConv2d(_MacLayer):
    """2-D convolution: ``weight`` is ``[out, in, kh, kw]``, input ``[N, in, H, W]``;
    ``stride`` and ``padding`` (zero padding, symmetric) in pixels."""

    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    def __post_init__(self):
        super().__post_init__()
        if np.asarray(self.weight).ndim != 4:
            raise ValueError(f"{self.name}.weight must be [out, in, kh, kw]")
        object.__setattr__(self, "stride", _pair(self.stride, f"{self.name}.stride", 1))
        object.__setattr__(self, "padding", _pair(self.padding, f"{self.name}.padding", 0))

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(in_shape) != 3 or in_shape[0] != self.weight.shape[1]:
            raise ValueError(f"{self.name}: input shape {in_shape} does not match weight "
                             f"{tuple(self.weight.shape)} (expects (C={self.weight.shape[1]}, "
                             f"H, W))")
        kh, kw = self.weight.shape[2:]
        ho = (in_shape[1] + 2 * self.padding[0] - kh) // self.stride[0] + 1
        wo = (in_shape[2] + 2 * self.padding[1] - kw) // self.stride[1] + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"{self.name}: input {in_shape} too small for kernel {(kh, kw)}")
        return (self.n_out, ho, wo)

    def macs(self, in_shape: tuple[int, ...]) -> int:
        o, ho, wo = self.out_shape(in_shape)
        return int(o * ho * wo * self.fan_in)


@dataclass(frozen=True, eq=False)
class IntMaxPool2d:
    """Max pooling over ``kernel`` windows with ``stride`` (no padding); exact on integers."""

    name: str
    kernel: tuple[int, int]
    stride: tuple[int, int] | None = None

    def __post_init__(self):
        object.__setattr__(self, "kernel", _pair(self.kernel, f"{self.name}.kernel", 1))
        object.__setattr__(self, "stride", _pair(self.stride if self.stride is not None
                                                 else self.kernel, f"{self.name}.stride", 1))

    def out_shape(self, in_shape):
        return _pool_shape(self, in_shape)


@dataclass(frozen=True, eq=False)
class IntAvgPool2d:
    """Average pooling: integer window sum, then requantised by ``M * 2**-s ~= 1/(kh*kw)``
    with the same rounding as the MAC layers (half toward +infinity); output keeps the input's
    bits and sign, so it can never saturate."""

    name: str
    kernel: tuple[int, int]
    stride: tuple[int, int] | None = None
    multiplier: int = 0
    shift: int = 0

    def __post_init__(self):
        object.__setattr__(self, "kernel", _pair(self.kernel, f"{self.name}.kernel", 1))
        object.__setattr__(self, "stride", _pair(self.stride if self.stride is not None
                                                 else self.kernel, f"{self.name}.stride", 1))
        if self.multiplier == 0:
            M, s = quantize_multiplier(1.0 / (self.kernel[0] * self.kernel[1]))
            object.__setattr__(self, "multiplier", int(M[0]))
            object.__setattr__(self, "shift", int(s[0]))

    def out_shape(self, in_shape):
        return _pool_shape(self, in_shape)


@dataclass(frozen=True, eq=False)
class IntReLU:
    """ReLU on integers (``max(x, 0)``); the output is unsigned with the same bits."""

    name: str

    def out_shape(self, in_shape):
        return tuple(in_shape)


@dataclass(frozen=True, eq=False)
class IntFlatten:
    """Flatten (C, H, W) -> (C*H*W,) in C-major (NCHW) order, as the float models do."""

    name: str

    def out_shape(self, in_shape):
        return (int(np.prod(in_shape)),)


INT_LAYERS = (IntDense, IntConv2d, IntMaxPool2d, IntAvgPool2d, IntReLU, IntFlatten)


def _pair(v, name: str, minimum: int) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        v = (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2 or min(v) < minimum:
        raise ValueError(f"{name}={v!r} must be an int or a pair of ints >= {minimum}")
    return v


def _pool_shape(layer, in_shape):
    if len(in_shape) != 3:
        raise ValueError(f"{layer.name}: pooling needs a (C, H, W) input; got {in_shape}")
    c, h, w = in_shape
    ho = (h - layer.kernel[0]) // layer.stride[0] + 1
    wo = (w - layer.kernel[1]) // layer.stride[1] + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"{layer.name}: input {in_shape} too small for kernel {layer.kernel}")
    return (c, ho, wo)
