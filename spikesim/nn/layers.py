"""Stateless layers with forward and backward passes (for ANNs and between spiking layers).

Every layer here maps ``[N, features...]`` to ``[N, features...]``; inside a spiking model
:class:`spikesim.nn.Sequential` folds time into the batch (``[T, B, ...] -> [T*B, ...]``).
Parameters are plain numpy arrays in ``layer.params`` (names and layouts as in PyTorch:
Dense ``weight [out, in]``, ``bias [out]``; Conv2d ``weight [Cout, Cin, kh, kw]``; BatchNorm
``weight``, ``bias`` and buffers ``running_mean``, ``running_var``); gradients of the last
backward pass are in ``layer.grads`` under the same names.

Initialisation follows PyTorch (uniform in ``+-1/sqrt(fan_in)`` for weights and biases) from
the explicit ``rng`` argument (an int seed or ``np.random.Generator``; default seed 0).
"""
from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from spikesim.nn import _conv_kernels as CK
from spikesim.nn import _dense_kernels as DK
from spikesim.quant.constraints import Constraint, get_constraint


def as_rng(rng) -> np.random.Generator:
    """``np.random.Generator`` from a Generator, an int seed or None (seed 0)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be an int seed or np.random.Generator, got {type(rng).__name__}")


def _pos_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name}={v!r} must be an int >= 1")
    return int(v)


def check_input(name: str, x: np.ndarray, feat_shape: tuple, what: str) -> None:
    """Raise if ``x`` is not a float array ending in ``feat_shape`` (None entries are free)."""
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be a float numpy array, got "
                        f"{type(x).__name__} {getattr(x, 'dtype', '')}")
    k = len(feat_shape)
    if x.ndim < k + 1 or any(f is not None and f != s for f, s in zip(feat_shape, x.shape[-k:])):
        raise ValueError(f"{name}: input shape {x.shape} does not fit; expected [N, {what}] "
                         f"with features {tuple('*' if f is None else f for f in feat_shape)}")


class Layer:
    """Base class. Subclasses implement ``forward(x)`` and ``backward(grad)``.

    ``params``/``grads`` hold trainable arrays, ``buffers`` non-trainable state (saved in
    ``state_dict``). ``training`` switches Dropout/BatchNorm between train and eval behaviour.
    """

    spiking = False

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training = True
        self._cache: Any = None
        self.recomputing = False  # set by Sequential when re-running a segment in backward
        # False for the first layer of a Sequential with require_input_grad=False: skip d/dx
        self.needs_input_grad = True

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, g: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def clear_cache(self) -> None:
        self._cache = None

    def _empty(self, key: str, shape: tuple, dtype) -> np.ndarray:
        """``np.empty(shape, dtype)``, or, inside :meth:`Sequential.workspace` (the trainer's
        loop), the layer's buffer ``key`` from the previous batch when shape and dtype match.
        Large per-batch arrays (membranes, spikes, gradients over time) then stop costing
        fresh pages every batch: measured on fc MNIST T=25, about 0.2 s of system time
        (page faults) per 50-batch epoch of 0.8 s without it."""
        ws = self.__dict__.get("_workspace")
        if ws is None:
            return np.empty(shape, dtype)
        a = ws.get(key)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype:
            a = ws[key] = np.empty(shape, dtype)
        return a

    def cache_arrays(self) -> list[np.ndarray]:
        """Arrays kept for the backward pass (for memory accounting)."""
        c = self._cache
        if c is None:
            return []
        if isinstance(c, np.ndarray):
            return [c]
        return [a for a in c if isinstance(a, np.ndarray)]

    def post_step(self) -> None:
        """Called after each optimiser step (e.g. to keep parameters in range)."""

    def astype(self, dtype) -> "Layer":
        for d in (self.params, self.buffers):
            for k in d:
                d[k] = d[k].astype(dtype)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""


SPARSE_DENSITY = 0.3  # Conv2d input (e.g. spikes) or output gradient (e.g. after max
#                      pooling) with fewer non-zeros than this fraction takes the
#                      zero-skipping kernels
_SPARSE_MIN = 4096  # inputs smaller than this always take the dense path
_SPARSE_MIN_OUT = 256  # Dense: narrower layers always use BLAS (faster there, measured)
# Dense: the zero-skipping kernel runs below this input density on one thread, below
# DENSE_SPARSE_DENSITY / threads on several (numba's thread count, which the trainer and
# the benchmarks also give BLAS). The kernel is bound by memory traffic and hardly gains
# from a second thread while BLAS doubles. Measured, 784 -> 1000 on the 2-core machine:
# 3200 rows at 13 % (Poisson MNIST) kernel 33.5 / 29.9 ms on 1 / 2 threads, BLAS 48.7 /
# 25.4 ms; 128 rows at 19 % (direct MNIST) kernel + weight transpose 2.0 / 1.7 ms, BLAS
# 2.3 / 1.2 ms. Break-even on one thread: 13 % * 48.7 / 33.5 = 19 %. (Measured before
# 0237221, when the kernel's "parallel" build could be its serial code; see nn._kernels._pair.)
DENSE_SPARSE_DENSITY = 0.18


class Dense(Layer):
    """Fully connected layer ``y = x @ weight.T + bias``; ``weight [out, in]``.

    BLAS; the forward pass of a wide layer (``out_features >= 256``) on sparse input (fewer
    than ``DENSE_SPARSE_DENSITY / threads`` non-zeros, e.g. Poisson spikes) skips zero inputs
    instead.

    Args:
        in_features, out_features: sizes.
        bias: learn a bias.
        constraint: ``None``, a :class:`spikesim.quant.Constraint` (e.g. ``KBit(4)``,
            ``Ternary()``), ``"ternary"`` or ``"int<k>"``: the forward pass uses the
            constrained weights, the backward pass a straight-through estimator.
        rng: seed or Generator for the initialisation.

    Example:
        >>> d = Dense(3, 2, rng=0)
        >>> d.forward(np.ones((4, 3), np.float32)).shape
        (4, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 constraint: Constraint | str | None = None, rng=None, dtype=np.float32):
        super().__init__()
        self.in_features = _pos_int("in_features", in_features)
        self.out_features = _pos_int("out_features", out_features)
        self.constraint = get_constraint(constraint)
        g = as_rng(rng)
        k = 1.0 / np.sqrt(self.in_features)
        shape = (self.out_features, self.in_features)
        self.params["weight"] = g.uniform(-k, k, shape).astype(dtype)
        if bias:
            self.params["bias"] = g.uniform(-k, k, self.out_features).astype(dtype)

    def effective_weight(self) -> np.ndarray:
        """The weights the forward pass uses (constrained if a constraint is attached)."""
        w = self.params["weight"]
        return w if self.constraint is None else self.constraint.forward(w)

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input("Dense", x, (self.in_features,), "in_features")
        w = self.effective_weight()
        # sparse input (spikes): add the weight rows of the non-zero inputs only
        sparse = (x.ndim == 2 and x.size >= _SPARSE_MIN
                  and self.out_features >= _SPARSE_MIN_OUT
                  and np.count_nonzero(x) < DENSE_SPARSE_DENSITY / nb.get_num_threads()
                  * x.size)
        if sparse:
            y = DK.sparse_dense_forward(x, w, self.params.get("bias"))
        else:
            y = x @ w.T
            if "bias" in self.params:
                y += self.params["bias"]
        self._cache = (x, w, sparse)
        return y

    def backward(self, g: np.ndarray) -> np.ndarray:
        x, w, _ = self._cache
        gw = g.T @ x  # [out, in], C order (measured faster than (x.T @ g).T: 784->1000 at batch
        #                128: 1.9 vs 6.0 ms; 1000->10 on 3200 rows: 1.5 vs 2.6 ms, one thread)
        if self.constraint is not None:
            gw = self.constraint.backward(self.params["weight"], gw)
        self.grads["weight"] = gw
        if "bias" in self.params:
            self.grads["bias"] = g.sum(0)
        if not self.needs_input_grad:
            return None
        return np.matmul(g, w, out=self._empty("gx", (g.shape[0], w.shape[1]),
                                                np.result_type(g, w)))

    def cache_arrays(self):
        return [] if self._cache is None else [self._cache[0]]

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={'bias' in self.params}"


_GX_CHUNK = 16384  # output positions per chunk of the Conv2d input gradient


class Conv2d(Layer):
    """2-d convolution (cross-correlation, as PyTorch) on ``[N, Cin, H, W]``.

    Dense input: im2col + BLAS. Sparse input (fewer than ``SPARSE_DENSITY`` non-zeros, e.g.
    spikes from a LIF layer): the forward pass and the weight gradient skip zero inputs
    (cost proportional to the spike count, no column matrix). The input gradient skips zero
    output gradients when they are as sparse (e.g. behind a max pooling layer), else it is
    BLAS + col2im in batch chunks.

    ``weight [Cout, Cin, kh, kw]``, ``bias [Cout]``; integer ``stride`` and zero ``padding``.

    Example:
        >>> c = Conv2d(1, 4, 5, rng=0)
        >>> c.forward(np.zeros((2, 1, 28, 28), np.float32)).shape
        (2, 4, 24, 24)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple,
                 stride: int = 1, padding: int = 0, bias: bool = True,
                 constraint: Constraint | str | None = None, rng=None, dtype=np.float32):
        super().__init__()
        self.in_channels = _pos_int("in_channels", in_channels)
        self.out_channels = _pos_int("out_channels", out_channels)
        ks = (kernel_size, kernel_size) if np.isscalar(kernel_size) else tuple(kernel_size)
        if len(ks) != 2:
            raise ValueError(f"kernel_size={kernel_size!r} must be an int or a pair")
        self.kernel_size = (_pos_int("kernel_size", ks[0]), _pos_int("kernel_size", ks[1]))
        self.stride = _pos_int("stride", stride)
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"padding={padding!r} must be an int >= 0")
        self.padding = int(padding)
        self.constraint = get_constraint(constraint)
        g = as_rng(rng)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        k = 1.0 / np.sqrt(fan_in)
        self.params["weight"] = g.uniform(
            -k, k, (self.out_channels, self.in_channels, *self.kernel_size)).astype(dtype)
        if bias:
            self.params["bias"] = g.uniform(-k, k, self.out_channels).astype(dtype)

    def effective_weight(self) -> np.ndarray:
        w = self.params["weight"]
        return w if self.constraint is None else self.constraint.forward(w)

    def out_shape(self, in_shape: tuple) -> tuple:
        c, h, w = in_shape
        kh, kw = self.kernel_size
        p, s = self.padding, self.stride
        return (self.out_channels, (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1)

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input("Conv2d", x, (self.in_channels, None, None), "Cin, H, W")
        if x.ndim != 4:
            raise ValueError(f"Conv2d: input shape {x.shape} must be [N, Cin, H, W]")
        p = self.padding
        kh, kw = self.kernel_size
        if x.shape[2] + 2 * p < kh or x.shape[3] + 2 * p < kw:
            raise ValueError(f"Conv2d: input {x.shape} is smaller than kernel {self.kernel_size}")
        w = self.effective_weight()
        # sparse input (spikes): scatter the non-zero inputs, no column matrix
        nnz = np.count_nonzero(x) if x.size >= _SPARSE_MIN else x.size
        sparse = nnz < SPARSE_DENSITY * x.size
        if sparse:
            ho, wo = self.out_shape(x.shape[1:])[1:]
            y = CK.sparse_conv_forward(x, w, self.params.get("bias"), self.stride, p,
                                       out=self._empty("y", (x.shape[0], self.out_channels,
                                                             ho, wo), w.dtype), nnz=nnz)
        else:
            xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
            cols, ho, wo = CK.im2col(xp, kh, kw, self.stride)
            y = cols @ w.reshape(self.out_channels, -1).T
            del cols
            if "bias" in self.params:
                y += self.params["bias"]
            y = CK.rows_to_nchw(y, x.shape[0], ho, wo)
        self._cache = (x, w, ho, wo, sparse)  # cols are recomputed in backward (memory)
        return y

    def backward(self, g: np.ndarray) -> np.ndarray:
        x, w, ho, wo, sparse = self._cache
        p = self.padding
        kh, kw = self.kernel_size
        if sparse:
            gw = CK.sparse_conv_weight_grad(x, np.ascontiguousarray(g), kh, kw, self.stride, p)
        else:
            xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
            cols, _, _ = CK.im2col(xp, kh, kw, self.stride)
            gy = CK.nchw_to_rows(g)
            gw = (gy.T @ cols).reshape(w.shape)
            del cols, gy
        if self.constraint is not None:
            gw = self.constraint.backward(self.params["weight"], gw)
        self.grads["weight"] = gw
        if "bias" in self.params:
            self.grads["bias"] = g.sum(axis=(0, 2, 3))
        if not self.needs_input_grad:
            return None
        nnz = np.count_nonzero(g) if g.size >= _SPARSE_MIN else g.size
        if nnz < SPARSE_DENSITY * g.size:
            # sparse output gradient (max pooling after this layer passes one in k*k)
            return CK.sparse_conv_input_grad(g, w, x.shape, self.stride, p,
                                             out=self._empty("gx", x.shape, g.dtype), nnz=nnz)
        # d/dx: (g rows @ W) then col2im, in batch chunks (the column matrix of a whole
        # T*B batch would be hundreds of MB)
        n = x.shape[0]
        shape = (n, x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p)
        gx = np.empty(shape, dtype=g.dtype)
        wm = w.reshape(self.out_channels, -1)
        step = max(1, _GX_CHUNK // max(1, ho * wo))
        for i in range(0, n, step):
            gy = CK.nchw_to_rows(g[i:i + step])
            CK.col2im(gy @ wm, (len(gy) // (ho * wo), *shape[1:]), kh, kw, self.stride, ho,
                      wo, out=gx[i:i + step])
        if p:
            gx = np.ascontiguousarray(gx[:, :, p:-p, p:-p])
        return gx

    def cache_arrays(self):
        return [] if self._cache is None else [self._cache[0]]

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class _Pool2d(Layer):
    """Non-overlapping pooling (``stride == kernel_size``) over the last two axes; rows and
    columns that do not fill a window are dropped (PyTorch's floor mode)."""

    def __init__(self, kernel_size: int, stride: int | None = None):
        super().__init__()
        self.kernel_size = _pos_int("kernel_size", kernel_size)
        s = self.kernel_size if stride is None else _pos_int("stride", stride)
        if s != self.kernel_size:
            raise ValueError(f"stride={stride} is not supported: pooling here requires "
                             f"stride == kernel_size ({self.kernel_size})")
        self.stride = s

    def out_shape(self, in_shape: tuple) -> tuple:
        c, h, w = in_shape
        k = self.kernel_size
        return (c, h // k, w // k)

    def _windows(self, x: np.ndarray) -> np.ndarray:
        check_input(type(self).__name__, x, (None, None, None), "C, H, W")
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__}: input shape {x.shape} must be [N, C, H, W]")
        k = self.kernel_size
        n, c, h, w = x.shape
        if h < k or w < k:
            raise ValueError(f"{type(self).__name__}: input {x.shape} smaller than kernel {k}")
        ho, wo = h // k, w // k
        return x[:, :, :ho * k, :wo * k].reshape(n, c, ho, k, wo, k)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"


class SumPool2d(_Pool2d):
    """Sum over ``k x k`` windows (NIR ``SumPool2d``).

    Example:
        >>> SumPool2d(2).forward(np.ones((1, 1, 4, 4), np.float32))[0, 0]
        array([[4., 4.],
               [4., 4.]], dtype=float32)
    """

    factor = 1.0

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = self._windows(x).sum(axis=(3, 5))
        if self.factor != 1.0:
            y *= x.dtype.type(self.factor)
        self._cache = x.shape
        return y

    def backward(self, g: np.ndarray) -> np.ndarray:
        shape = self._cache
        k = self.kernel_size
        n, c, ho, wo = g.shape
        gg = g * g.dtype.type(self.factor) if self.factor != 1.0 else g
        gx = np.zeros(shape, dtype=g.dtype)
        gx[:, :, :ho * k, :wo * k] = np.broadcast_to(
            gg[:, :, :, None, :, None], (n, c, ho, k, wo, k)).reshape(n, c, ho * k, wo * k)
        return gx

    def cache_arrays(self):
        return []


class AvgPool2d(SumPool2d):
    """Mean over ``k x k`` windows.

    Example:
        >>> float(AvgPool2d(2).forward(np.ones((1, 1, 4, 4), np.float32))[0, 0, 0, 0])
        1.0
    """

    def __init__(self, kernel_size: int, stride: int | None = None):
        super().__init__(kernel_size, stride)
        self.factor = 1.0 / self.kernel_size**2


class MaxPool2d(_Pool2d):
    """Max over ``k x k`` windows; the gradient goes to the first maximum of each window.

    Example:
        >>> MaxPool2d(2).forward(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))[0, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._windows(x)  # validates
        y, idx = CK.maxpool_forward(x, self.kernel_size,
                                    lambda shape, dt: self._empty(f"fwd{dt}", shape, dt))
        self._cache = (x.shape, idx)
        return y

    def backward(self, g: np.ndarray) -> np.ndarray:
        shape, idx = self._cache
        return CK.maxpool_backward(g, idx, self.kernel_size, shape,
                                   out=self._empty("gx", shape, g.dtype))

    def cache_arrays(self):
        return [] if self._cache is None else [self._cache[1]]


class Flatten(Layer):
    """``[N, ...] -> [N, prod(...)]`` (C order, as ``torch.flatten(x, 1)``)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input("Flatten", x, (), "...")
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g.reshape(self._cache)

    def cache_arrays(self):
        return []


class ReLU(Layer):
    """``max(x, 0)``; the gradient at 0 is 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input("ReLU", x, (), "...")
        mask = x > 0
        self._cache = mask
        return x * mask

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g * self._cache


class Dropout(Layer):
    """Inverted dropout: in training, zero each entry with probability ``p`` and scale the
    rest by ``1/(1-p)``; identity in evaluation. Masks come from ``rng``.

    When a :class:`Sequential` recomputes a segment in its backward pass (``memory="bits"``)
    the stored mask is reused, so gradients are identical.
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not 0.0 <= float(p) < 1.0:
            raise ValueError(f"p={p!r} must be in [0, 1)")
        self.p = float(p)
        self.rng = as_rng(rng)
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input("Dropout", x, (), "...")
        if not self.training or self.p == 0.0:
            self._cache = None
            return x
        if not (self.recomputing and self._mask is not None and self._mask.shape == x.shape):
            self._mask = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self._cache = self._mask
        return x * self._mask * x.dtype.type(1.0 / (1.0 - self.p))

    def backward(self, g: np.ndarray) -> np.ndarray:
        if self._cache is None:
            return g
        return g * self._cache * g.dtype.type(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm(Layer):
    """Batch normalisation over ``[N, C]`` or ``[N, C, H, W]`` (PyTorch ``BatchNorm1d/2d``).

    Training uses batch statistics and updates ``running_mean`` and ``running_var``
    (unbiased variance, ``momentum`` as in PyTorch); evaluation uses the running statistics.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 dtype=np.float32):
        super().__init__()
        self.num_features = _pos_int("num_features", num_features)
        self.eps = float(eps)
        self.momentum = float(momentum)
        c = self.num_features
        self.params["weight"] = np.ones(c, dtype)
        self.params["bias"] = np.zeros(c, dtype)
        self.buffers["running_mean"] = np.zeros(c, dtype)
        self.buffers["running_var"] = np.ones(c, dtype)

    def _axes(self, x):
        check_input("BatchNorm", x, (), "C, ...")
        if x.ndim not in (2, 4) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm: input shape {x.shape} must be [N, {self.num_features}]"
                             f" or [N, {self.num_features}, H, W]")
        return (0,) if x.ndim == 2 else (0, 2, 3)

    def _b(self, v, x):
        return v.reshape((1, -1) + (1,) * (x.ndim - 2))

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._axes(x)
        w, b = self.params["weight"], self.params["bias"]
        if not self.training:
            inv = 1.0 / np.sqrt(self.buffers["running_var"] + self.eps)
            self._cache = None
            return ((x - self._b(self.buffers["running_mean"], x)) * self._b(inv * w, x)
                    + self._b(b, x)).astype(x.dtype)
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        n = x.size // self.num_features
        if not self.recomputing:
            m = self.momentum
            self.buffers["running_mean"] = ((1 - m) * self.buffers["running_mean"] + m * mean
                                            ).astype(self.buffers["running_mean"].dtype)
            unb = var * n / max(n - 1, 1)
            self.buffers["running_var"] = ((1 - m) * self.buffers["running_var"] + m * unb
                                           ).astype(self.buffers["running_var"].dtype)
        inv = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        xhat = (x - self._b(mean, x)) * self._b(inv, x)
        self._cache = (xhat, inv, axes)
        return xhat * self._b(w, x) + self._b(b, x)

    def backward(self, g: np.ndarray) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("BatchNorm.backward needs a forward pass in training mode")
        xhat, inv, axes = self._cache
        w = self.params["weight"]
        self.grads["weight"] = (g * xhat).sum(axis=axes)
        self.grads["bias"] = g.sum(axis=axes)
        gx_hat = g * self._b(w, g)
        mean_g = gx_hat.mean(axis=axes)
        mean_gx = (gx_hat * xhat).mean(axis=axes)
        return (gx_hat - self._b(mean_g, g) - xhat * self._b(mean_gx, g)) * self._b(inv, g)

    def cache_arrays(self):
        return [] if self._cache is None else [self._cache[0]]

    def extra_repr(self) -> str:
        return f"{self.num_features}"
