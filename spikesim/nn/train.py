"""Training loop (mini-batches, tqdm bar, validation, early stopping, checkpoints, NaN stop),
input encodings and npz checkpoints (no pickle).

Example:
    >>> import numpy as np
    >>> from spikesim.nn import Sequential, Dense, LIF, LI, Adam, CrossEntropyMembrane, Trainer
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((64, 10), dtype=np.float32), rng.integers(0, 2, 64)
    >>> net = Sequential(Dense(10, 16, rng=0), LIF(), Dense(16, 2, rng=1), LI())
    >>> tr = Trainer(net, CrossEntropyMembrane(), Adam(net, 1e-2), timesteps=5, progress=False)
    >>> hist = tr.fit(x, y, epochs=2)
    >>> len(hist.train_loss)
    2
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from spikesim.nn.layers import as_rng
from spikesim.nn.losses import get_loss

CHECKPOINT_VERSION = 1


class NonFiniteLossError(FloatingPointError):
    """Training stopped because the loss became NaN or infinite."""


# ---------------------------------------------------------------- encodings
def poisson_encode(x: np.ndarray, timesteps: int, rng: np.random.Generator,
                   dtype=np.float32) -> np.ndarray:
    """Bernoulli ("Poisson") spikes ``[T, B, ...]`` with probability ``x`` per step.

    ``x`` must lie in [0, 1] (e.g. pixel intensity / 255).

    Example:
        >>> s = poisson_encode(np.full((2, 3), 0.5), 100, np.random.default_rng(0))
        >>> s.shape, bool(0.35 < s.mean() < 0.65)
        ((100, 2, 3), True)
    """
    x = np.asarray(x)
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"poisson_encode: x must be in [0, 1], got range [{x.min()}, {x.max()}]")
    r = rng.random((int(timesteps), *x.shape), dtype=np.float32)
    return (r < x.astype(np.float32)).astype(dtype)


def save_checkpoint(path, model, optimizer=None, meta: dict | None = None) -> Path:
    """Write model (and optimiser) state to ``path`` (``.npz``, no pickle).

    Keys: ``model/<name>`` (as :meth:`Sequential.state_dict`), ``optim/<name>/<slot>``,
    ``meta`` (a JSON string, with ``version``). Written to a temporary file then renamed, so
    an interrupted write never replaces a good checkpoint.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    if optimizer is not None:
        arrays.update({f"optim/{k}": v for k, v in optimizer.state_dict().items()})
    m = {"version": CHECKPOINT_VERSION, **(meta or {})}
    arrays["meta"] = np.array(json.dumps(m, default=float))
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def load_checkpoint(path, model, optimizer=None) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and
    ``optimizer``) in place; returns the meta dict."""
    with np.load(Path(path), allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
        if meta.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"{path}: checkpoint version {meta.get('version')} is not "
                             f"supported (expected {CHECKPOINT_VERSION})")
        model.load_state_dict({k[6:]: f[k] for k in f.files if k.startswith("model/")})
        if optimizer is not None:
            optimizer.load_state_dict({k[6:]: f[k] for k in f.files if k.startswith("optim/")})
    return meta


@dataclass
class History:
    """Per-epoch records of a :meth:`Trainer.fit` run (accuracies are fractions)."""

    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    epoch_s: list = field(default_factory=list)
    epoch_cpu_s: list = field(default_factory=list)  # process CPU time (all threads)
    best_epoch: int | None = None
    stopped_early: bool = False


class Trainer:
    """Mini-batch training of a :class:`~spikesim.nn.Sequential` (SNN or ANN).

    Args:
        model: the network.
        loss: a loss instance or name (see :func:`spikesim.nn.losses.get_loss`).
        optimizer: :class:`~spikesim.nn.Adam` / :class:`~spikesim.nn.SGD`.
        timesteps: steps per sample for spiking models (None for an ANN).
        encoding: ``"direct"`` (static input, ``W x`` once per sample), ``"poisson"``
            (Bernoulli spikes from inputs in [0, 1], drawn from ``rng``), or a callable
            ``(x_batch, timesteps, rng) -> [T, B, ...]``.
        batch_size: samples per step.
        schedule: ``epoch -> lr factor`` (e.g. :class:`~spikesim.nn.CosineLR`).
        rng: seed or Generator for shuffling and encodings.
        checkpoint_dir: if given, ``last.npz`` after every epoch and ``best.npz`` at the
            best validation accuracy.
        patience: stop after this many epochs without validation improvement (None: never).
        restore_best: at the end (and on early stop) load the best-validation weights.
        input_scale: inputs are cast to ``dtype`` and multiplied by this (e.g. 1/255 for
            uint8 pixels), batch by batch, so datasets can stay uint8 in memory.
        progress: show a tqdm bar.
    """

    def __init__(self, model, loss, optimizer, *, timesteps: int | None = None,
                 encoding: str | Callable = "direct", batch_size: int = 128,
                 schedule: Callable[[int], float] | None = None, rng=0,
                 checkpoint_dir=None, patience: int | None = None, restore_best: bool = False,
                 input_scale: float = 1.0, dtype=np.float32, progress: bool = True):
        self.model = model
        self.loss = get_loss(loss)
        self.optimizer = optimizer
        if timesteps is None and model.spiking:
            raise ValueError("timesteps is required for a model with spiking layers")
        self.timesteps = timesteps
        if not (callable(encoding) or encoding in ("direct", "poisson")):
            raise ValueError(f"encoding={encoding!r} is unknown: allowed 'direct', 'poisson' "
                             "or a callable")
        self.encoding = encoding
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be an int >= 1")
        self.batch_size = int(batch_size)
        self.schedule = schedule
        self.rng = as_rng(rng)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.patience = patience
        self.restore_best = restore_best
        self.input_scale = float(input_scale)
        self.dtype = np.dtype(dtype)
        self.progress = progress

    # ------------------------------------------------------------ helpers
    def _inputs(self, xb: np.ndarray) -> tuple[np.ndarray, int | None]:
        x = xb.astype(self.dtype)
        if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
            raise ValueError("input batch contains NaN or inf values")
        if self.input_scale != 1.0:
            x *= self.dtype.type(self.input_scale)
        if not self.model.spiking:
            return x, None
        if self.encoding == "direct":
            return x, self.timesteps
        if self.encoding == "poisson":
            return poisson_encode(x, self.timesteps, self.rng, self.dtype), None
        return np.asarray(self.encoding(x, self.timesteps, self.rng), dtype=self.dtype), None

    def _workspace(self):
        """The model's buffer reuse between batches (:meth:`Sequential.workspace`)."""
        ws = getattr(self.model, "workspace", None)
        return ws() if ws is not None else contextlib.nullcontext()

    def _forward(self, xb):
        x, T = self._inputs(xb)
        return self.model.forward(x, timesteps=T)

    @staticmethod
    def _check_data(x, y, name):
        x = np.asarray(x)
        y = np.asarray(y)
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{name}: x must be numeric, got dtype {x.dtype}")
        if y.dtype.kind not in "iu":
            raise TypeError(f"{name}: y must be integer labels, got dtype {y.dtype}")
        if y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise ValueError(f"{name}: x has {x.shape[0]} samples but y has shape {y.shape}")
        if x.shape[0] == 0:
            raise ValueError(f"{name}: no samples")
        return x, y

    def _snapshot(self):
        return self.model.state_dict(), self.optimizer.state_dict()

    def _restore(self, snap):
        self.model.load_state_dict(snap[0])
        self.optimizer.load_state_dict(snap[1])

    # ------------------------------------------------------------ public
    def train_step(self, xb, yb) -> tuple[float, int]:
        """One optimiser step on a batch; returns (loss, number correct)."""
        self.model.train()
        self.model.zero_grad()
        with self._workspace():
            out = self._forward(xb)
            loss, g = self.loss(out, yb)
            if not math.isfinite(loss):
                return loss, 0
            correct = int(np.sum(self.loss.predict(out) == yb))
            self.model.backward(g, input_grad=False)
        self.optimizer.step()
        return loss, correct

    def evaluate(self, x, y, batch_size: int | None = None) -> dict:
        """Mean loss and accuracy (fraction) on ``(x, y)`` in evaluation mode."""
        x, y = self._check_data(x, y, "evaluate")
        bs = batch_size or self.batch_size
        self.model.eval()
        tot, correct = 0.0, 0
        try:
            with self._workspace():
                for i in range(0, len(y), bs):
                    out = self._forward(x[i:i + bs])
                    loss, _ = self.loss(out, y[i:i + bs])
                    tot += loss * len(y[i:i + bs])
                    correct += int(np.sum(self.loss.predict(out) == y[i:i + bs]))
        finally:
            self.model.train()
        return {"loss": tot / len(y), "accuracy": correct / len(y)}

    def predict(self, x, batch_size: int | None = None) -> np.ndarray:
        """Predicted class per sample."""
        bs = batch_size or self.batch_size
        self.model.eval()
        try:
            with self._workspace():
                return np.concatenate([self.loss.predict(self._forward(x[i:i + bs]))
                                       for i in range(0, len(x), bs)])
        finally:
            self.model.train()

    def fit(self, x, y, epochs: int, val: tuple | None = None,
            callback: Callable[[int, History], None] | None = None) -> History:
        """Train for ``epochs`` epochs; validate on ``val = (x_val, y_val)`` after each;
        ``callback(epoch, history)`` runs after every epoch (e.g. to save partial results).

        Raises:
            NonFiniteLossError: the loss became NaN/inf; the model and optimiser are restored
                to the state at the end of the last good epoch (``last.npz`` in
                ``checkpoint_dir`` is that state and is not overwritten).
        """
        from tqdm.auto import tqdm

        x, y = self._check_data(x, y, "fit")
        if val is not None:
            self._check_data(val[0], val[1], "val")
        hist = History()
        best, best_snap, bad = -np.inf, None, 0
        good = self._snapshot()
        n = len(y)
        n_batches = (n + self.batch_size - 1) // self.batch_size
        for epoch in range(int(epochs)):
            if self.schedule is not None:
                self.optimizer.lr = self.optimizer.base_lr * float(self.schedule(epoch))
            perm = self.rng.permutation(n)
            t0, c0 = time.perf_counter(), time.process_time()
            tot, correct, seen = 0.0, 0, 0
            bar = tqdm(range(n_batches), desc=f"epoch {epoch + 1}/{epochs}",
                       disable=not self.progress, leave=False)
            with self._workspace():  # the buffers live for the whole epoch
                for b in bar:
                    idx = perm[b * self.batch_size:(b + 1) * self.batch_size]
                    loss, c = self.train_step(x[idx], y[idx])
                    if not math.isfinite(loss):
                        bar.close()
                        self._restore(good)
                        last = (self.checkpoint_dir / "last.npz"
                                if self.checkpoint_dir is not None else None)
                        where = (f"; the last good checkpoint {last} was kept"
                                 if last is not None and last.exists() else "")
                        raise NonFiniteLossError(
                            f"loss became {loss} at epoch {epoch + 1}, batch {b + 1}/"
                            f"{n_batches}; training stopped and the model was restored to the "
                            f"end of epoch {epoch} (lr={self.optimizer.lr:g}; try a smaller "
                            f"learning rate){where}")
                    tot += loss * len(idx)
                    correct += c
                    seen += len(idx)
                    if b % 10 == 0:
                        bar.set_postfix(loss=f"{tot / seen:.4f}", acc=f"{correct / seen:.3f}")
            bar.close()
            hist.epoch_s.append(time.perf_counter() - t0)
            hist.epoch_cpu_s.append(time.process_time() - c0)
            hist.train_loss.append(tot / seen)
            hist.train_accuracy.append(correct / seen)
            hist.lr.append(self.optimizer.lr)
            good = self._snapshot()
            score = hist.train_accuracy[-1]
            if val is not None:
                ev = self.evaluate(*val)
                hist.val_loss.append(ev["loss"])
                hist.val_accuracy.append(ev["accuracy"])
                score = ev["accuracy"]
            if self.progress:
                msg = f"epoch {epoch + 1}: loss {hist.train_loss[-1]:.4f} acc {score:.4f}"
                tqdm.write(msg)
            if callback is not None:
                callback(epoch + 1, hist)
            meta = {"epoch": epoch + 1, "train_loss": hist.train_loss[-1], "score": score}
            if self.checkpoint_dir is not None:
                save_checkpoint(self.checkpoint_dir / "last.npz", self.model, self.optimizer, meta)
            if score > best:
                best, bad, hist.best_epoch = score, 0, epoch + 1
                best_snap = good
                if self.checkpoint_dir is not None:
                    save_checkpoint(self.checkpoint_dir / "best.npz", self.model,
                                    self.optimizer, meta)
            else:
                bad += 1
                if self.patience is not None and bad >= self.patience:
                    hist.stopped_early = True
                    break
        if self.restore_best and best_snap is not None:
            self._restore(best_snap)
        return hist
