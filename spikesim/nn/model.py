"""``Sequential``: a stack of layers for ANNs and spiking networks, with BPTT memory options.

* ANN: ``model.forward(x)`` with ``x [B, ...]``.
* SNN, time-varying input (e.g. Poisson spikes): ``model.forward(x)`` with ``x [T, B, ...]``.
* SNN, direct input: ``model.forward(x, timesteps=T)`` with static ``x [B, ...]``: the layers
  before the first spiking layer run **once per sample** (``W x`` is not recomputed per step)
  and that layer receives the same current at every step.

Between spiking layers, stateless layers see time folded into the batch (``[T*B, ...]``).

``memory="bits"`` (BPTT memory option): the forward pass keeps, per spiking segment, only the
segment's input, with spike tensors packed to bits (``np.packbits``); the backward pass
recomputes each segment (currents and membranes, with the same kernels, dropout masks and batch
statistics) before back-propagating through it. Stored state between the passes drops from
32-bit membranes plus 32-bit spikes per neuron and step to 1 bit, and the gradients are
identical (tested). ``memory="full"`` (default) keeps every layer's cache.

``state_dict()`` keys mirror PyTorch's ``nn.Sequential``: ``"<index>.<name>"``, e.g.
``"0.weight" [out, in]``, ``"0.bias"``, ``"1.running_mean"``; buffers (BatchNorm statistics,
non-trainable LIF ``beta``/``threshold``) are included.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from spikesim.nn.layers import Layer


def _is_binary(x: np.ndarray) -> bool:
    return x.dtype == np.bool_ or bool(np.all((x == 0) | (x == 1)))


class _Packed:
    """A 0/1 float array stored as bits."""

    def __init__(self, x: np.ndarray):
        self.shape, self.dtype = x.shape, x.dtype
        self.bits = np.packbits(x.reshape(-1) != 0)

    def unpack(self) -> np.ndarray:
        n = int(np.prod(self.shape))
        return np.unpackbits(self.bits, count=n).astype(self.dtype).reshape(self.shape)

    @property
    def nbytes(self) -> int:
        return int(self.bits.nbytes)


class Sequential:
    """Layers applied in order, with ``forward``/``backward``, parameters and state dicts.

    Args:
        *layers: :class:`~spikesim.nn.Layer` instances.
        memory: ``"full"`` or ``"bits"`` (see the module docs).

    Example:
        >>> from spikesim.nn import Dense, LIF, LI
        >>> net = Sequential(Dense(4, 8, rng=0), LIF(beta=0.9), Dense(8, 2, rng=1), LI())
        >>> net.forward(np.ones((3, 4), np.float32), timesteps=5).shape
        (5, 3, 2)
    """

    def __init__(self, *layers: Layer, memory: str = "full"):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a spikesim.nn Layer")
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        self.layers = list(layers)
        self.memory = memory
        self._segments: list = []
        self._stored: list = []
        self._static_out = True
        self._T: int | None = None
        self._ran_static = [True] * len(self.layers)
        self._ws_depth = 0

    @property
    def memory(self) -> str:
        return self._memory

    @memory.setter
    def memory(self, m: str) -> None:
        if m not in ("full", "bits"):
            raise ValueError(f"memory={m!r} is unknown: allowed 'full', 'bits'")
        self._memory = m

    @property
    def spiking(self) -> bool:
        return any(layer.spiking for layer in self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    def __repr__(self) -> str:
        body = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{body}\n)"

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> "Sequential":
        for layer in self.layers:
            layer.training = mode
        return self

    def eval(self) -> "Sequential":
        return self.train(False)

    def gradcheck_mode(self, on: bool = True) -> "Sequential":
        """Gradient-check mode: spiking layers use the smooth surrogate in the forward pass
        and do not detach the reset (so the backward pass is the exact gradient).
        ``gradcheck_mode(False)`` restores the defaults (hard threshold, detached reset)."""
        for layer in self.layers:
            if hasattr(layer, "smooth"):
                layer.smooth = bool(on)
                layer.detach_reset = not on
        return self

    def astype(self, dtype) -> "Sequential":
        for layer in self.layers:
            layer.astype(dtype)
        return self

    @contextlib.contextmanager
    def workspace(self):
        """Inside this block each layer reuses its large per-batch arrays (membranes,
        spikes, gradients) from one forward/backward pass to the next instead of allocating
        them anew, so an array returned by ``forward`` or ``backward`` is valid only until
        the next call. :class:`~spikesim.nn.Trainer` trains and evaluates inside it. The
        buffers are released when the outermost block ends."""
        outer = self._ws_depth == 0
        if outer:
            for layer in self.layers:
                layer._workspace = {}
        self._ws_depth += 1
        try:
            yield self
        finally:
            self._ws_depth -= 1
            if outer:
                for layer in self.layers:
                    layer.__dict__.pop("_workspace", None)

    # ------------------------------------------------------------ forward
    def _segments_of(self) -> list[list[int]]:
        segs, cur = [], []
        for i, layer in enumerate(self.layers):
            cur.append(i)
            if layer.spiking:
                segs.append(cur)
                cur = []
        if cur:
            segs.append(cur)
        return segs

    def _run(self, idx: list[int], x: np.ndarray, static: bool, T: int | None):
        for i in idx:
            layer = self.layers[i]
            self._ran_static[i] = static or T is None
            if layer.spiking:
                x = layer.forward_seq(x, T, static)
                static = False
            elif static or T is None:
                x = layer.forward(x)
            else:
                t, b = x.shape[:2]
                y = layer.forward(x.reshape(t * b, *x.shape[2:]))
                x = y.reshape(t, b, *y.shape[1:])
        return x, static

    def forward(self, x: np.ndarray, timesteps: int | None = None) -> np.ndarray:
        """Run the model. ``x`` is ``[B, ...]`` (ANN, or static input with ``timesteps``)
        or ``[T, B, ...]`` (spiking model, time-varying input). Returns ``[B, ...]`` for an ANN
        and ``[T, B, ...]`` for a spiking model."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy array, got {type(x).__name__}")
        if x.dtype.kind != "f":
            raise TypeError(f"x must be a float array (got dtype {x.dtype}); convert spikes or "
                            "pixels with x.astype(np.float32)")
        if timesteps is not None:
            if not self.spiking:
                raise ValueError("timesteps is only meaningful for a model with spiking layers")
            if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) \
                    or timesteps < 1:
                raise ValueError(f"timesteps={timesteps!r} must be an int >= 1")
            static, T = True, int(timesteps)
        elif self.spiking:
            if x.ndim < 3:
                raise ValueError(f"x shape {x.shape}: a spiking model needs [T, B, ...] input, "
                                 "or static [B, ...] input with timesteps=T")
            static, T = False, int(x.shape[0])
        else:
            static, T = True, None
        self._T = T
        segs = self._segments_of()
        training = any(layer.training for layer in self.layers)
        if self.memory == "full" or not training or not self.spiking:
            self._segments, self._stored = [], []
            out, st = self._run(list(range(len(self.layers))), x, static, T)
            self._static_out = st
            return out
        # memory="bits": keep only segment inputs (spikes packed), drop layer caches
        self._segments, self._stored = [], []
        for idx in segs:
            stored = _Packed(x) if (not static and _is_binary(x)) else x
            self._segments.append((idx, static))
            self._stored.append(stored)
            x, static = self._run(idx, x, static, T)
            for i in idx:
                self.layers[i].clear_cache()
        self._static_out = static
        return x

    __call__ = forward

    # ----------------------------------------------------------- backward
    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate ``grad`` (d loss / d output, same shape as the output). Gradients
        land in each layer's ``grads``; returns d loss / d input (None with
        ``input_grad=False``, which skips the work below the first layer with parameters)."""
        first = next((i for i, layer in enumerate(self.layers) if layer.params), len(self.layers))
        self._stop = -1 if input_grad else first
        g = grad
        if self._segments:
            for (idx, static), stored in zip(reversed(self._segments), reversed(self._stored)):
                if idx[-1] < self._stop:  # nothing below needs a gradient
                    return None
                x = stored.unpack() if isinstance(stored, _Packed) else stored
                for i in idx:
                    self.layers[i].recomputing = True
                try:
                    self._run(idx, x, static, self._T)
                finally:
                    for i in idx:
                        self.layers[i].recomputing = False
                g = self._back(idx, g)
                for i in idx:
                    self.layers[i].clear_cache()
            return g
        return self._back(list(range(len(self.layers))), g)

    def _back(self, idx: list[int], g: np.ndarray) -> np.ndarray:
        for i in reversed(idx):
            layer = self.layers[i]
            if i < self._stop:
                return None
            layer.needs_input_grad = i != self._stop
            if layer.spiking:
                g = layer.backward_seq(g)
            elif self._ran_static[i]:
                g = layer.backward(g)
            else:
                t, b = g.shape[:2]
                y = layer.backward(g.reshape(t * b, *g.shape[2:]))
                g = None if y is None else y.reshape(t, b, *y.shape[1:])
        return g

    # -------------------------------------------------------- parameters
    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        for i, layer in enumerate(self.layers):
            for k, v in layer.params.items():
                yield f"{i}.{k}", v

    def named_grads(self) -> Iterator[tuple[str, np.ndarray | None]]:
        for i, layer in enumerate(self.layers):
            for k in layer.params:
                yield f"{i}.{k}", layer.grads.get(k)

    def n_params(self) -> int:
        """Number of trainable scalars."""
        return int(sum(v.size for _, v in self.named_parameters()))

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.grads.clear()

    def post_step(self) -> None:
        for layer in self.layers:
            layer.post_step()

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters and buffers, keyed ``"<layer index>.<name>"``."""
        out = {}
        for i, layer in enumerate(self.layers):
            for d in (layer.params, layer.buffers):
                for k, v in d.items():
                    out[f"{i}.{k}"] = v.copy()
        return out

    def load_state_dict(self, sd: dict[str, np.ndarray], strict: bool = True) -> None:
        """Copy arrays into the model in place (shapes must match; dtype is kept)."""
        seen = set()
        for i, layer in enumerate(self.layers):
            for d in (layer.params, layer.buffers):
                for k in list(d):
                    key = f"{i}.{k}"
                    if key not in sd:
                        if strict:
                            raise KeyError(f"state dict has no entry {key!r}")
                        continue
                    v = np.asarray(sd[key])
                    if v.shape != d[k].shape:
                        raise ValueError(f"{key}: shape {v.shape} != model shape {d[k].shape}")
                    d[k][...] = v
                    seen.add(key)
        extra = set(sd) - seen
        if strict and extra:
            raise KeyError(f"unexpected keys in state dict: {sorted(extra)}")

    def to_ir(self, input_shape, dt: float = 1e-3):
        """Export to :class:`spikesim.ir.Network` (see :func:`spikesim.nn.export.to_ir`)."""
        from spikesim.nn.export import to_ir

        return to_ir(self, input_shape, dt=dt)

    # --------------------------------------------------------- memory
    def stored_bytes(self) -> int:
        """Bytes kept between the forward and backward pass (layer caches and, with
        ``memory="bits"``, the packed segment inputs); arrays shared by layers count once."""
        seen, total = set(), 0
        for layer in self.layers:
            for a in layer.cache_arrays():
                base = a if a.base is None else a.base
                if id(base) not in seen:
                    seen.add(id(base))
                    total += a.nbytes
        for s in self._stored:
            if id(s) not in seen:
                seen.add(id(s))
                total += s.nbytes
        return int(total)
