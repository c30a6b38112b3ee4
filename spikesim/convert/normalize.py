"""Data-based normalisation: activation scales from calibration data.

* ``norm="max"`` (Diehl et al. 2015): the scale of a ReLU layer is its largest activation on
  the calibration data.
* ``norm="percentile"`` (Rueckauer et al. 2017): the ``percentile``-th percentile of the
  layer's positive activations (robust to outliers; 99.9 by default, 99.99 in the paper for
  larger sets).
* A ``QCFS`` layer's scale is always its trained threshold ``lambda`` (Bu et al. 2022): the
  ANN's activation saturates there, so no data statistic is needed.

A layer whose activations are all zero on the calibration data gets scale 1.
"""
from __future__ import annotations

import numpy as np

NORMS = ("max", "percentile")


def check_calibration(folded, data, name: str = "calibration_data") -> np.ndarray:
    """``data`` as float64 ``[N, *input_shape]``; raises if it does not fit the ANN."""
    if not isinstance(data, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array [N, *input_shape], got "
                        f"{type(data).__name__}")
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{name}: numeric array needed, got dtype {data.dtype}")
    if data.ndim < 2 or data.shape[0] < 1:
        raise ValueError(f"{name}: shape {data.shape} must be [N >= 1, *input_shape] (a batch "
                         "of ANN inputs)")
    x = data.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: values must be finite")
    try:
        folded.forward(x[:1])
    except ValueError as exc:
        raise ValueError(f"{name}: shape {data.shape} does not fit the ANN ({exc})") from None
    return x


def activations(folded, x: np.ndarray, layer_ids, batch: int = 500) -> dict[int, np.ndarray]:
    """Outputs of the layers ``layer_ids`` of the folded ANN on ``x`` (float64)."""
    want = set(int(i) for i in layer_ids)
    out: dict[int, list] = {i: [] for i in want}
    for s in range(0, len(x), batch):
        h = x[s:s + batch]
        for i, layer in enumerate(folded.layers):
            h = layer.forward(h)
            if i in want:
                out[i].append(h)
    return {i: np.concatenate(v) for i, v in out.items()}


def scale_of(a: np.ndarray, norm: str, percentile: float) -> float:
    """The normalisation scale of activations ``a`` (see the module docs)."""
    pos = a[a > 0]
    if pos.size == 0:
        return 1.0
    if norm == "max":
        return float(pos.max())
    return float(np.percentile(pos, percentile))
