"""Load ANN weights trained elsewhere from a plain dict of numpy arrays.

Layout (what a PyTorch ``state_dict`` becomes after ``{k: v.numpy() for k, v in sd.items()}``):

* ``Dense`` (``torch.nn.Linear``): ``weight [out, in]``, ``bias [out]``;
* ``Conv2d``: ``weight [C_out, C_in, kh, kw]``, ``bias [C_out]`` (cross-correlation, as PyTorch);
* ``BatchNorm`` (``BatchNorm1d/2d``): ``weight`` (gamma), ``bias`` (beta), ``running_mean``,
  ``running_var``; PyTorch's ``num_batches_tracked`` is ignored; ``eps`` is the layer's;
* ``QCFS``: ``threshold [1]`` (Bu et al.'s code names it ``up``; pass ``rename`` for that).

Keys are ``"<prefix><index>.<name>"`` where ``<index>`` is the layer's position in the
:class:`spikesim.nn.Sequential` -- the keys of a ``torch.nn.Sequential`` with the same layer
order (layers without parameters keep their index, as in PyTorch). A common prefix such as
``"features."`` or ``"module."`` is stripped automatically. With ``by_order=True`` the arrays
are instead assigned in dict order to the model's parameters in order (for models whose
PyTorch module tree is not one ``nn.Sequential``); shapes are checked either way.
"""
from __future__ import annotations

import os
from typing import Mapping

import numpy as np

IGNORED = ("num_batches_tracked",)


def _as_array(key: str, v) -> np.ndarray:
    if hasattr(v, "detach") and hasattr(v, "numpy"):  # a torch tensor passed by mistake
        v = v.detach().cpu().numpy()
    a = np.asarray(v)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"state_dict[{key!r}]: numeric array needed, got dtype {a.dtype}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ValueError(f"state_dict[{key!r}]: values must be finite")
    return a


def _strip_prefix(keys: list[str]) -> str:
    if not keys:
        return ""
    parts = [k.split(".") for k in keys]
    prefix = []
    for i in range(min(len(p) for p in parts) - 2):
        seg = {p[i] for p in parts}
        if len(seg) == 1 and not next(iter(seg)).isdigit():
            prefix.append(next(iter(seg)))
        else:
            break
    return ".".join(prefix) + "." if prefix else ""


def load_weights(model, state_dict: Mapping[str, np.ndarray] | str | os.PathLike, *,
                 by_order: bool = False, rename: Mapping[str, str] | None = None,
                 strict: bool = True):
    """Copy ``state_dict`` (or an ``.npz`` file of one) into ``model`` in place; returns it.

    Args:
        model: a :class:`spikesim.nn.Sequential` with the same architecture.
        state_dict: ``{key: array}`` in the layout of the module docs, or a path to ``.npz``.
        by_order: assign arrays to parameters in order instead of by key.
        rename: parameter-name replacements applied to the last key component first, e.g.
            ``{"up": "threshold"}``.
        strict: every model parameter must be set and every array used.

    Example:
        >>> import numpy as np
        >>> from spikesim import nn
        >>> m = nn.Sequential(nn.Flatten(), nn.Dense(4, 2, rng=0))
        >>> sd = {"net.1.weight": np.ones((2, 4), np.float32), "net.1.bias": np.zeros(2)}
        >>> float(load_weights(m, sd)[1].params["weight"].sum())
        8.0
    """
    if isinstance(state_dict, (str, os.PathLike)):
        with np.load(state_dict, allow_pickle=False) as f:
            state_dict = {k: f[k] for k in f.files}
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict: expected a dict of arrays or an .npz path, got "
                        f"{type(state_dict).__name__}")
    rename = dict(rename or {})
    items = []
    for k, v in state_dict.items():
        last = str(k).rsplit(".", 1)[-1]
        if last in IGNORED:
            continue
        if last in rename:
            k = str(k)[: len(str(k)) - len(last)] + rename[last]
        items.append((str(k), _as_array(str(k), v)))
    slots = []  # (key, dict holding it, name)
    for i, layer in enumerate(model.layers):
        for d in (layer.params, layer.buffers):
            for name in d:
                slots.append((f"{i}.{name}", d, name))
    if by_order:
        if strict and len(items) != len(slots):
            raise ValueError(f"state_dict has {len(items)} arrays, the model has {len(slots)} "
                             f"parameters and buffers: {[s[0] for s in slots]}")
        pairs = list(zip(slots, items))
    else:
        prefix = _strip_prefix([k for k, _ in items])
        by_key = {k[len(prefix):]: (k, v) for k, v in items}
        pairs, used = [], set()
        for slot in slots:
            if slot[0] not in by_key:
                if strict:
                    raise KeyError(f"state_dict has no entry for {prefix}{slot[0]!r} (layer "
                                   f"{type(model.layers[int(slot[0].split('.')[0])]).__name__});"
                                   f" its keys: {sorted(k for k, _ in items)[:12]}")
                continue
            pairs.append((slot, by_key[slot[0]]))
            used.add(slot[0])
        extra = sorted(set(by_key) - used)
        if strict and extra:
            raise KeyError(f"state_dict entries not used by the model: {[prefix + e for e in extra]}"
                           f"; the model's keys are {[s[0] for s in slots]}")
    for (key, d, name), (skey, arr) in pairs:
        if arr.shape != d[name].shape:
            raise ValueError(f"state_dict[{skey!r}]: shape {arr.shape} != model {key} shape "
                             f"{d[name].shape}")
        d[name][...] = arr
    return model
