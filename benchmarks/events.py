"""``spikesim bench events``: synthetic N-MNIST-like event digits -> tonic -> surrogate-gradient SNN.

Pipeline: MNIST images (``--data``) -> :class:`spikesim.data.SyntheticEventDigits` (the
event-camera emulator moving each digit along the three N-MNIST saccades; **synthetic**, not
N-MNIST) -> tonic transforms (optional ``Denoise``; ``Downsample`` when ``--downsample``) ->
:class:`spikesim.data.ToSpikeTensor` (tonic ``ToFrame``, binary spikes ``[T, 2, H, W]``) ->
:class:`spikesim.nn.Trainer` (BPTT with a fast-sigmoid surrogate) on a Flatten-Dense-LIF-Dense-LI
network. The test digits are generated on the fly and streamed through
:func:`spikesim.data.evaluate` (bounded memory, progress bar).

Reported: ``test_accuracy`` (fraction), ``events_per_sample`` (mean over the test digits), the
event statistics of the synthetic digits next to published N-MNIST figures, ``epoch_s``
(training seconds per epoch, JIT excluded), ``emulate_s_per_sample``, ``jit_s``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = "synthetic N-MNIST-like event digits (emulator) -> tonic -> SNN training"

#: Published N-MNIST figures we could find (source named; 'not found' otherwise).
NMNIST_PUBLISHED = {
    "events_per_sample": {"value": "~4500 (a user's estimate)",
                          "source": "snnTorch issue #56 (github.com/jeshraghian/snntorch/issues/56)"},
    "duration_s": {"value": "0.291-0.315 (t[-1]-t[0], min-max over samples)",
                   "source": "SpikingJelly issue #122, maintainer comment "
                             "(github.com/fangwei123456/spikingjelly/issues/122)"},
    "saccades": {"value": "3 saccades of ~105 ms along a triangle",
                 "source": "tonic.datasets.nmnist.stabilize (tonic 1.7.0 source)"},
    "on_fraction": {"value": "not found", "source": None},
}


class _StatsTap:
    """Wraps a transform and records per-sample event statistics on the way through."""

    def __init__(self, transform):
        self.transform = transform
        self.n, self.on, self.dur = [], 0, []

    def __call__(self, ev):
        self.n.append(len(ev))
        if len(ev):
            self.on += int(np.count_nonzero(ev["p"] > 0))
            self.dur.append((int(ev["t"][-1]) - int(ev["t"][0])) * 1e-6)
        return self.transform(ev)

    def summary(self) -> dict:
        n = np.asarray(self.n, dtype=np.float64)
        return {"samples": int(n.size), "events_mean": float(n.mean()),
                "events_std": float(n.std()), "events_min": int(n.min()),
                "events_max": int(n.max()),
                "on_fraction": self.on / float(n.sum()) if n.sum() else 0.0,
                "duration_mean_s": float(np.mean(self.dur)) if self.dur else 0.0,
                "duration_min_s": float(np.min(self.dur)) if self.dur else 0.0,
                "duration_max_s": float(np.max(self.dur)) if self.dur else 0.0}


def build_transform(sensor_size, timesteps: int, duration_s: float, downsample: bool,
                    denoise_us: float | None):
    """tonic event transforms followed by :class:`ToSpikeTensor`; returns (transform, shape)."""
    import tonic

    from spikesim.data import ToSpikeTensor

    pre = []
    if denoise_us:
        pre.append(tonic.transforms.Denoise(filter_time=denoise_us))
    ss = tuple(sensor_size)
    if downsample:
        pre.append(tonic.transforms.Downsample(spatial_factor=0.5))
        ss = ((ss[0] + 1) // 2, (ss[1] + 1) // 2, ss[2])
    events_tf = tonic.transforms.Compose(pre) if pre else None
    frames = ToSpikeTensor(ss, n_time_bins=timesteps, duration_s=duration_s)

    def transform(ev):
        # ToSpikeTensor runs after the Compose (a tonic Compose stops at empty recordings)
        return frames(events_tf(ev) if events_tf is not None and len(ev) else ev)

    return transform, frames.shape


def build_model(n_in: int, hidden: int, seed: int, dropout: float = 0.0):
    from spikesim.nn import LI, LIF, Dense, Dropout, Flatten, Sequential

    layers = [Flatten(), Dense(n_in, hidden, rng=seed), LIF(beta=0.9)]
    if dropout > 0:
        layers.append(Dropout(dropout, rng=seed + 2))
    return Sequential(*layers, Dense(hidden, 10, rng=seed + 1), LI(beta=0.9))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="spikesim bench events", description=DESCRIPTION)
    p.add_argument("--data", default=None, help="MNIST .npz (default: ../shared/data/mnist.npz "
                                                "or $SPIKESIM_MNIST)")
    p.add_argument("--train", type=int, default=35000, help="training digits (default %(default)s)")
    p.add_argument("--test", type=int, default=5000, help="test digits (default %(default)s)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--timesteps", type=int, default=10, help="frames over the 315 ms recording")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--dropout", type=float, default=0.3, help="dropout after the LIF layer")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--downsample", action="store_true",
                   help="tonic Downsample(spatial_factor=0.5): 34x34 -> 17x17")
    p.add_argument("--denoise-us", type=float, default=0.0,
                   help="tonic Denoise filter_time in us (0: off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="write results JSON here")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    progress = not a.no_progress

    from spikesim.data import SyntheticEventDigits, evaluate, materialize
    from spikesim.data.saccades import NMNIST_SACCADE_S
    from spikesim.nn import Adam, CosineLR, CrossEntropyMembrane, Trainer

    x_tr, y_tr, x_te, y_te = common.load_mnist(a.data)
    if not (1 <= a.train <= len(y_tr) and 1 <= a.test <= len(y_te)):
        raise SystemExit(f"--train must be in 1..{len(y_tr)} and --test in 1..{len(y_te)}")
    # one simulated camera (same threshold mismatch) for both sets, different noise draws
    train_ds = SyntheticEventDigits(x_tr[:a.train], y_tr[:a.train], seed=a.seed,
                                    sensor_seed=a.seed)
    test_ds = SyntheticEventDigits(x_te[:a.test], y_te[:a.test], seed=a.seed + 1,
                                   sensor_seed=a.seed)
    duration = 3 * NMNIST_SACCADE_S
    transform, shape = build_transform(train_ds.sensor_size, a.timesteps, duration,
                                       a.downsample, a.denoise_us)

    # JIT (emulator and render kernels) on one sample, timed separately
    with common.Timer() as t_jit:
        train_ds.events(0)

    # training set: emulate -> tonic -> spike tensors, kept as uint8 [n, T, C, H, W]
    with common.Timer() as t_gen:
        x, y = materialize(train_ds, transform=transform, dtype=np.uint8, progress=progress,
                           desc="emulating train digits")
    model = build_model(int(np.prod(shape)), a.hidden, a.seed, a.dropout)
    opt = Adam(model, a.lr)
    trainer = Trainer(model, CrossEntropyMembrane(), opt, timesteps=a.timesteps,
                      encoding=lambda xb, T, rng: np.moveaxis(xb, 1, 0),
                      batch_size=a.batch_size, schedule=CosineLR(a.epochs), rng=a.seed,
                      progress=progress)
    # nn kernels compile on a first small batch (excluded from epoch_s, added to jit_s)
    with common.Timer() as t_jit_nn:
        trainer.evaluate(x[:2], y[:2])
    hist = trainer.fit(x, y, epochs=a.epochs)
    train_bytes = int(x.nbytes)
    del x

    # test digits: generated, transformed and classified on the fly (bounded memory)
    tap = _StatsTap(transform)
    with common.Timer() as t_eval:
        res = evaluate(lambda xb: trainer.predict(xb), test_ds, batch_size=256, transform=tap,
                       progress=progress)
    stats = tap.summary()

    out = {
        "benchmark": "events",
        "dataset": test_ds.description,
        "synthetic": True,
        "test_accuracy": res["accuracy"],
        "target_test_accuracy": 0.95,
        "events_per_sample": stats["events_mean"],
        "epoch_s": float(np.mean(hist.epoch_s)),
        "epoch_s_all": hist.epoch_s,
        "train_accuracy": hist.train_accuracy,
        "train_loss": hist.train_loss,
        "emulate_train_s": t_gen.s,
        "emulate_s_per_sample": t_gen.s / a.train,
        "eval_stream_s": t_eval.s,
        "jit_s": t_jit.s + t_jit_nn.s,
        "train_tensor_bytes": train_bytes,
        "synthetic_stats": stats,
        "nmnist_published": NMNIST_PUBLISHED,
        "config": {"train": a.train, "test": a.test, "epochs": a.epochs,
                   "timesteps": a.timesteps, "frame_s": duration / a.timesteps,
                   "input_shape": list(shape), "hidden": a.hidden, "lr": a.lr,
                   "dropout": a.dropout,
                   "batch_size": a.batch_size, "downsample": a.downsample,
                   "denoise_us": a.denoise_us, "seed": a.seed,
                   "emulator": dict(train_ds.config.__dict__),
                   "model": "Flatten-Dense-LIF(beta 0.9)-Dropout-Dense-LI(beta 0.9), "
                            "CrossEntropyMembrane, Adam + cosine LR"},
        "notes": "synthetic digits made by spikesim's emulator (not N-MNIST); timings on a "
                 "shared 2-core machine (other jobs running), JIT excluded from epoch_s",
        **common.meta(extra_versions=("tonic",)),
    }
    common.print_table(
        [["test_accuracy", res["accuracy"]], ["events_per_sample", stats["events_mean"]],
         ["on_fraction", stats["on_fraction"]], ["duration_mean_s", stats["duration_mean_s"]],
         ["epoch_s", out["epoch_s"]], ["emulate_s_per_sample", out["emulate_s_per_sample"]],
         ["jit_s", out["jit_s"]]],
        ["metric", "value"])
    print("N-MNIST (published, for comparison):")
    for k, v in NMNIST_PUBLISHED.items():
        print(f"  {k}: {v['value']}" + (f"  [{v['source']}]" if v["source"] else ""))
    common.write_json(a.json, out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
