"""Streaming over event datasets: batches with a progress bar and bounded memory.

A *dataset* is anything tonic-like: ``len(ds)`` and ``ds[i] -> (data, label)`` (tonic
datasets, :class:`~spikesim.data.saccades.SyntheticEventDigits`). Samples are read one at a
time, converted by ``transform`` (e.g. :class:`~spikesim.data.adapter.ToSpikeTensor`) and
stacked into batches; only one batch is held at a time, so memory is
``batch_size x (one converted sample)`` whatever the dataset size.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np


def _indices(ds, indices) -> np.ndarray:
    n = len(ds)
    idx = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64)
    if idx.ndim != 1:
        raise ValueError(f"indices must be 1-D, got shape {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"indices must lie in 0..{n - 1}, got min {idx.min()} max {idx.max()}")
    return idx


def iter_batches(dataset, batch_size: int, *, transform: Callable | None = None,
                 indices: Sequence[int] | None = None, time_major: bool = False,
                 progress: bool = True, desc: str = "samples") -> Iterator[tuple[np.ndarray,
                                                                                 np.ndarray]]:
    """Yield ``(x, y)`` batches read sample by sample from a tonic-like dataset.

    Args:
        dataset: ``len()`` and ``ds[i] -> (data, label)``.
        batch_size: samples per batch (the last one may be smaller).
        transform: applied to each sample's data (e.g. ``ToSpikeTensor``); the results must
            share one shape.
        indices: which samples, in order (default: all).
        time_major: stack as ``[T, B, ...]`` instead of ``[B, T, ...]``.
        progress: tqdm bar over samples.
        desc: bar label.

    Example:
        >>> ds = [(np.ones(3) * k, k) for k in range(5)]
        >>> [x.shape for x, y in iter_batches(ds, 2, progress=False)]
        [(2, 3), (2, 3), (1, 3)]
    """
    from tqdm.auto import tqdm

    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    idx = _indices(dataset, indices)
    with tqdm(total=idx.size, desc=desc, disable=not progress, unit="sample") as bar:
        for s in range(0, idx.size, batch_size):
            xs, ys = [], []
            for i in idx[s:s + batch_size]:
                data, label = dataset[int(i)]
                xs.append(transform(data) if transform is not None else data)
                ys.append(label)
            shapes = {np.shape(x) for x in xs}
            if len(shapes) != 1:
                raise ValueError(f"samples {idx[s:s + batch_size].tolist()} converted to "
                                 f"different shapes {sorted(shapes)}; fix T with duration_s")
            x = np.stack(xs, axis=1 if time_major else 0)
            bar.update(len(xs))
            yield x, np.asarray(ys, dtype=np.int64)


def materialize(dataset, *, transform: Callable | None = None,
                indices: Sequence[int] | None = None, dtype=None, progress: bool = True,
                desc: str = "converting") -> tuple[np.ndarray, np.ndarray]:
    """Convert samples into one preallocated array ``[n, ...]`` plus labels ``[n]``.

    Memory is exactly ``n x`` one converted sample (use ``dtype=np.uint8`` for binary spike
    tensors); the events themselves are never all held at once.

    Example:
        >>> ds = [(np.ones(3) * k, k) for k in range(4)]
        >>> x, y = materialize(ds, progress=False)
        >>> x.shape, y.tolist()
        ((4, 3), [0, 1, 2, 3])
    """
    from tqdm.auto import tqdm

    idx = _indices(dataset, indices)
    out = None
    labels = np.zeros(idx.size, np.int64)
    for k, i in enumerate(tqdm(idx, desc=desc, disable=not progress, unit="sample")):
        data, label = dataset[int(i)]
        x = transform(data) if transform is not None else data
        x = np.asarray(x)
        if out is None:
            out = np.empty((idx.size, *x.shape), dtype=dtype or x.dtype)
        if x.shape != out.shape[1:]:
            raise ValueError(f"sample {int(i)} converted to shape {x.shape}, expected "
                             f"{out.shape[1:]}; fix T with duration_s")
        out[k] = x
        labels[k] = label
    if out is None:
        raise ValueError("materialize: no samples selected")
    return out, labels


def evaluate(predict: Callable[[np.ndarray], np.ndarray], dataset, *, batch_size: int = 64,
             transform: Callable | None = None, indices: Sequence[int] | None = None,
             time_major: bool = False, progress: bool = True) -> dict[str, Any]:
    """Accuracy of ``predict`` over a dataset, streamed batch by batch (bounded memory).

    Args:
        predict: maps a batch ``x`` to predicted labels ``[B]`` or to scores ``[B, classes]``
            (argmax taken).
        dataset, batch_size, transform, indices, time_major, progress: as in
            :func:`iter_batches`.

    Returns:
        ``{"accuracy": fraction in [0, 1], "correct": int, "samples": int,
        "confusion": [classes, classes] counts (rows: true label)}``.

    Example:
        >>> ds = [(np.array([k % 2]), k % 2) for k in range(6)]
        >>> evaluate(lambda x: x[:, 0], ds, batch_size=4, progress=False)["accuracy"]
        1.0
    """
    correct = 0
    n = 0
    pairs = []
    for x, y in iter_batches(dataset, batch_size, transform=transform, indices=indices,
                             time_major=time_major, progress=progress, desc="evaluating"):
        out = np.asarray(predict(x))
        pred = out.argmax(axis=-1) if out.ndim == 2 else out
        if pred.shape != y.shape:
            raise ValueError(f"predict returned shape {out.shape} for a batch of {y.size}")
        correct += int(np.count_nonzero(pred == y))
        n += y.size
        pairs.append(np.stack([y, pred.astype(np.int64)], axis=1))
    allp = np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)
    k = int(allp.max()) + 1 if allp.size else 0
    conf = np.zeros((k, k), np.int64)
    np.add.at(conf, (allp[:, 0], allp[:, 1]), 1)
    return {"accuracy": correct / n if n else float("nan"), "correct": correct, "samples": n,
            "confusion": conf}
