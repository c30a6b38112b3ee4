"""Loihi backend benchmark: an MNIST spiking MLP trained with ``spikesim.nn`` (surrogate
gradients, Poisson input), compiled to the Loihi model (8-bit weights, bit-exact fixed-point
compartments) and run on the test set: accuracy vs the float network on the same input
spikes, cores, energy per inference (Davies 2018 Table 2 via ``spikesim.energy``), latency and
timesteps per second from the Table-2 step-time model."""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = ("Loihi: MNIST spiking MLP (spikesim.nn) on the bit-exact Loihi model -- "
               "accuracy vs float, cores, energy/inference, latency, steps/s")
MODELS = ("mnist-mlp",)


def train_mlp(xtr, ytr, *, hidden: int, timesteps: int, epochs: int, beta: float, seed: int,
              progress: bool):
    """Dense(784, hidden) - LIF - Dense(hidden, 10) - LIF, reset to zero (Loihi's reset),
    trained on spike counts (cross entropy) with Poisson input."""
    from spikesim import nn
    model = nn.Sequential(nn.Dense(784, hidden, rng=seed),
                          nn.LIF(beta=beta, threshold=1.0, reset="zero"),
                          nn.Dense(hidden, 10, rng=seed + 1),
                          nn.LIF(beta=beta, threshold=1.0, reset="zero"))
    tr = nn.Trainer(model, "ce_count", nn.Adam(model, lr=2e-3), timesteps=timesteps,
                    encoding="poisson", batch_size=128, rng=seed, input_scale=1 / 255,
                    progress=progress)
    tr.fit(xtr, ytr, epochs=epochs)
    return model, tr


def to_network(model, beta: float, dt: float):
    """The trained nn model as an IR network (Affine + LIF with tau = -dt/ln(beta),
    v_reset = 0: the nn forward convention)."""
    from spikesim import ir
    d1, d2 = model[0], model[2]
    tau = -dt / math.log(beta)
    W1, b1 = d1.params["weight"].astype(np.float64), d1.params["bias"].astype(np.float64)
    W2, b2 = d2.params["weight"].astype(np.float64), d2.params["bias"].astype(np.float64)
    return ir.Network(
        nodes={"in": ir.Input(784), "fc1": ir.Affine(W1, b1),
               "lif1": ir.LIF(W1.shape[0], tau=tau, v_threshold=1.0),
               "fc2": ir.Affine(W2, b2), "lif2": ir.LIF(10, tau=tau, v_threshold=1.0),
               "out": ir.Output()},
        edges=["in->fc1", "fc1->lif1", "lif1->fc2", "fc2->lif2", "lif2->out"],
        metadata={"model": "mnist-mlp", "beta": beta})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="spikesim bench loihi", description=DESCRIPTION)
    ap.add_argument("--model", default="mnist-mlp", help=f"model: {MODELS} (default mnist-mlp)")
    ap.add_argument("--data", default=None, help="MNIST .npz (default ../shared/data/mnist.npz)")
    ap.add_argument("--train-samples", type=int, default=60000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--test-samples", type=int, default=10000)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--timesteps", type=int, default=20)
    ap.add_argument("--num-bits", type=int, default=8, help="Loihi weight bits (1..9)")
    ap.add_argument("--batch", type=int, default=500, help="test samples per Loihi run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sweep-bits", default=None,
                    help="comma-separated weight precisions (e.g. 2,3,4,6,8,9) evaluated on "
                         "--sweep-samples test images after the main run")
    ap.add_argument("--sweep-samples", type=int, default=2000)
    ap.add_argument("--smoke", action="store_true",
                    help="tiny run (2000 train, 1 epoch, 300 test) for tests")
    ap.add_argument("--json", default=None, help="write results as JSON to this path")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if args.model not in MODELS:
        ap.error(f"--model {args.model!r} is unknown; known: {list(MODELS)}")
    if args.smoke:
        args.train_samples, args.epochs, args.test_samples = 2000, 1, 300
    progress = not args.no_progress
    from spikesim.backends import loihi
    from spikesim.nn import poisson_encode

    xtr, ytr, xte, yte = common.load_mnist(args.data)
    xtr = xtr.reshape(len(xtr), -1)[:args.train_samples]
    ytr = ytr[:args.train_samples]
    xte = xte.reshape(len(xte), -1)[:args.test_samples]
    yte = yte[:args.test_samples]
    beta, dt, T = 0.9, 1e-3, args.timesteps
    with common.Timer() as t_train:
        model, _ = train_mlp(xtr, ytr, hidden=args.hidden, timesteps=T, epochs=args.epochs,
                             beta=beta, seed=args.seed, progress=progress)
    # the nn stack's own exporter when it is available, else the same mapping written here
    net = model.to_ir(784, dt=dt) if hasattr(model, "to_ir") else to_network(model, beta, dt)
    in_name = next(k for k, v in net.nodes.items() if v.role == "input")
    out_name = next(k for k, v in net.nodes.items() if v.role == "output")
    prog = loihi.compile(net, dt=dt, num_bits=args.num_bits)
    jit_s = loihi.runtime.warmup()
    rng = np.random.default_rng(args.seed + 1)
    model.eval()
    correct_ref = correct_chip = 0
    counts = None
    lat, steps_ps, run_s, n_done = [], [], 0.0, 0
    # the chip delays each layer by one step: pad the input with one zero step per layer so
    # every input spike reaches the output (the float network adds inputs in the same step)
    pad = 2
    for i in range(0, len(yte), args.batch):
        xb = xte[i:i + args.batch].astype(np.float32) / 255.0
        s = poisson_encode(xb, T, rng).astype(bool)                    # [T, B, 784]
        ref_out = model.forward(s.astype(np.float32))                   # [T, B, 10]
        correct_ref += int((ref_out.sum(0).argmax(1) == yte[i:i + args.batch]).sum())
        s_pad = np.concatenate([s, np.zeros((pad,) + s.shape[1:], bool)])
        res = loihi.run(prog, {in_name: s_pad}, progress=False)
        run_s += res.run_s
        correct_chip += int((res.outputs[out_name].argmax(1) == yte[i:i + args.batch]).sum())
        lat.append(res.meta["latency_s"] * len(xb))
        counts = res.counts if counts is None else _merge(counts, res.counts)
        n_done += len(xb)
    rep = loihi.energy(_as_run(counts, n_done, sum(lat) / n_done))
    acc, ref = correct_chip / n_done, correct_ref / n_done
    latency = sum(lat) / n_done
    steps = T + pad
    out = {
        "model": args.model, "accuracy": acc, "reference_accuracy": ref,
        "accuracy_gap_pp": 100 * (ref - acc), "cores": prog.n_cores, "tiles": prog.tiles,
        "energy_per_inference_j": rep.total[1],
        "energy_per_inference_low_high_j": [rep.total[0], rep.total[2]],
        "energy_by_category_j": {k: v[1] for k, v in rep.by_category().items()},
        "latency_s": latency, "steps_per_inference": steps, "steps_per_s": steps / latency,
        "synops_per_inference": counts.total("synops_ac") / n_done,
        "spikes_per_inference": counts.total("spikes") / n_done,
        "quantisation": prog.quantisation, "num_bits": args.num_bits, "hidden": args.hidden,
        "exporter": "spikesim.nn Sequential.to_ir" if hasattr(model, "to_ir")
        else "benchmarks/loihi.py to_network",
        "timesteps": T, "train_samples": len(ytr), "epochs": args.epochs,
        "test_samples": n_done, "train_s": t_train.s, "host_run_s": run_s,
        "host_inferences_per_s": n_done / run_s if run_s else None, "jit_s": jit_s,
        "notes": ["reference_accuracy: the float spikesim.nn network on the same Poisson "
                  "input spikes; accuracy: the Loihi model (8-bit weights unless --num-bits)",
                  "latency/steps_per_s: Davies 2018 Table 2 step-time model (max over cores of "
                  "ops x latency + barrier), not a measurement; energy includes 104 mW static "
                  "power x latency (derived)",
                  "host timings measured on a shared 2-core machine"],
        **common.meta(),
    }
    if args.sweep_bits:
        out["bits_sweep"] = sweep_bits(loihi, net, in_name, out_name, model, xte, yte, T, pad,
                                       dt, [int(b) for b in args.sweep_bits.split(",")],
                                       args.sweep_samples, args.batch, args.seed + 2)
        common.print_table([[r["num_bits"], r["accuracy"], r["reference_accuracy"],
                             r["max_rel_rms_weight_err"]] for r in out["bits_sweep"]],
                           header=["bits", "accuracy", "float", "weight rel. RMS err"])
    common.print_table([
        ["accuracy (Loihi model)", acc], ["reference accuracy (float)", ref],
        ["cores", prog.n_cores], ["energy / inference (J)", rep.total[1]],
        ["latency (s)", latency], ["steps / s", steps / latency],
        ["synops / inference", out["synops_per_inference"]], ["JIT (s)", jit_s],
    ], header=["quantity", "value"])
    print(prog.report())
    common.write_json(args.json, out)
    return 0


def sweep_bits(loihi, net, in_name, out_name, model, xte, yte, T, pad, dt, bits, n, batch,
               seed):
    """Accuracy of the Loihi model at several weight precisions on the same input spikes."""
    from spikesim.nn import poisson_encode
    rng = np.random.default_rng(seed)
    xs, ys = xte[:n], yte[:n]
    spikes = [poisson_encode(xs[i:i + batch].astype(np.float32) / 255.0, T, rng).astype(bool)
              for i in range(0, len(ys), batch)]
    ref = sum(int((model.forward(s.astype(np.float32)).sum(0).argmax(1)
                   == ys[i * batch:(i + 1) * batch]).sum()) for i, s in enumerate(spikes))
    rows = []
    for b in bits:
        prog = loihi.compile(net, dt=dt, num_bits=b)
        correct = 0
        for i, s in enumerate(spikes):
            s_pad = np.concatenate([s, np.zeros((pad,) + s.shape[1:], bool)])
            res = loihi.run(prog, {in_name: s_pad}, progress=False)
            correct += int((res.outputs[out_name].argmax(1) == ys[i * batch:(i + 1) * batch]).sum())
        rows.append({"num_bits": b, "accuracy": correct / len(ys),
                     "reference_accuracy": ref / len(ys), "samples": len(ys),
                     "max_rel_rms_weight_err": max(q["rel_rms_err"] for q in
                                                   prog.quantisation.values()
                                                   if "rel_rms_err" in q)})
    return rows


def _merge(a, b):
    """Sum two batches' counts (different samples)."""
    c = a + b
    c.samples = a.samples + b.samples
    c.steps = a.steps
    return c


def _as_run(counts, samples, latency):
    counts.samples = samples
    counts.duration_s = latency
    return type("R", (), {"counts": counts})()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
