"""Parameter validation shared by IR nodes: clear errors naming field, value and range."""
from __future__ import annotations

from typing import Any

import numpy as np

Param = "float | np.ndarray"


def _show(value: Any) -> str:
    a = np.asarray(value)
    if a.ndim == 0:
        return repr(a.item())
    if a.size <= 6:
        return np.array2string(a, separator=", ")
    return f"array of shape {a.shape} (min {np.nanmin(a):g}, max {np.nanmax(a):g})"


def as_param(node: str, name: str, value: Any, shape: tuple[int, ...] | None, *,
             positive: bool = False, nonneg: bool = False, allow_inf: bool = False):
    """Return ``value`` as a float (scalar) or a read-only float64 array broadcastable to
    ``shape``; raise ``ValueError`` naming ``node.name`` if it is not finite, not positive
    (``positive``) or negative (``nonneg``), or has the wrong shape."""
    if isinstance(value, (list, tuple)):
        value = np.asarray(value, dtype=np.float64)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{node}.{name}: expected numbers, got dtype {value.dtype}")
        arr = np.array(value, dtype=np.float64)
        if shape is not None and arr.ndim > 0 and arr.shape != tuple(shape):
            try:
                np.broadcast_to(arr, shape)
            except ValueError:
                raise ValueError(f"{node}.{name}: shape {arr.shape} does not match the node "
                                 f"shape {tuple(shape)} (scalars and arrays of that shape "
                                 f"are allowed)") from None
            arr = np.ascontiguousarray(np.broadcast_to(arr, shape))
        if arr.ndim == 0:
            value = float(arr)
        else:
            _check(node, name, arr, positive, nonneg, allow_inf)
            arr.setflags(write=False)
            return arr
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{node}.{name}: expected a number or an array, got {value!r}") from None
    _check(node, name, np.asarray(v), positive, nonneg, allow_inf)
    return v


def _check(node: str, name: str, arr: np.ndarray, positive: bool, nonneg: bool,
           allow_inf: bool) -> None:
    if np.isnan(arr).any() or (not allow_inf and np.isinf(arr).any()):
        raise ValueError(f"{node}.{name}: values must be finite, got {_show(arr)}")
    if positive and (arr <= 0).any():
        raise ValueError(f"{node}.{name}: must be > 0, got {_show(arr)}")
    if nonneg and (arr < 0).any():
        raise ValueError(f"{node}.{name}: must be >= 0, got {_show(arr)}")


def as_array(node: str, name: str, value: Any, *, ndim: int | None = None,
             dtype=np.float64, finite: bool = True) -> np.ndarray:
    """Read-only array copy with dtype and ndim checks."""
    try:
        arr = np.array(value, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{node}.{name}: cannot convert {type(value).__name__} to a "
                        f"{np.dtype(dtype).name} array") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{node}.{name}: expected a {ndim}-d array, got shape {arr.shape}")
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)][:3]
        raise ValueError(f"{node}.{name}: values must be finite (no NaN or inf), found {bad.tolist()}")
    arr.setflags(write=False)
    return arr


def as_shape(node: str, name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        value = (int(value),)
    try:
        shape = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{node}.{name}: expected an int or a tuple of ints, got {value!r}") from None
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(f"{node}.{name}: every dimension must be >= 1, got {shape}")
    return shape


def as_pair(node: str, name: str, value: Any, *, minimum: int = 0) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        value = (int(value), int(value))
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{node}.{name}: expected an int or a pair of ints, got {value!r}") from None
    if a < minimum or b < minimum:
        raise ValueError(f"{node}.{name}: must be >= {minimum}, got {(a, b)}")
    return a, b


def one_of(node: str, name: str, value: Any, allowed: tuple) -> Any:
    if value not in allowed:
        raise ValueError(f"{node}.{name}: {value!r} is not allowed; choose one of {allowed}")
    return value
