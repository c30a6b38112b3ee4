"""NorthPole backend: MNIST CNN at INT8/4/2 (accuracy, cores, frames/s, frames/J, host GMAC/s);
``--resnet50-shapes``: the schedule of a shape-only ResNet-50 against the published figures."""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = ("NorthPole: INT8/4/2 MNIST CNN (accuracy, cores, frames/s, frames/J, host "
               "GMAC/s) or --resnet50-shapes (schedule vs published 42,460 frames/s)")
MODELS = ("mnist-cnn", "mnist-mlp", "convert-cnn")


def build_model(name: str, rng: int = 0):
    """The float ANNs this benchmark trains (layers from :mod:`spikesim.nn`)."""
    from spikesim.nn import Conv2d, Dense, Flatten, MaxPool2d, ReLU, Sequential
    if name == "mnist-cnn":
        return Sequential(Conv2d(1, 16, 5, padding=2, rng=rng), ReLU(), MaxPool2d(2),
                          Conv2d(16, 32, 5, padding=2, rng=rng + 1), ReLU(), MaxPool2d(2),
                          Flatten(), Dense(32 * 7 * 7, 10, rng=rng + 2))
    if name == "mnist-mlp":
        return Sequential(Flatten(), Dense(784, 256, rng=rng), ReLU(),
                          Dense(256, 10, rng=rng + 1))
    if name == "convert-cnn":  # the conversion benchmark's ReLU CNN (batch-norm, avg-pool)
        from spikesim.benchmarks.convert import build_model as conv_model
        return conv_model("cnn", "relu", seed=rng)
    raise ValueError(f"--model {name!r} is unknown; known: {list(MODELS)}")


def _energy_fpj(counts) -> float:
    from spikesim.energy import report
    return 1.0 / report(counts, "northpole").total[1]


def resnet50(args) -> dict:
    from spikesim.backends.northpole import params as P
    from spikesim.backends.northpole import resnet50_shapes, schedule
    from spikesim.energy import report
    from spikesim.sim import Counts

    pub = P.RESNET50_PUBLISHED["frames_per_s"]
    combos = []
    for prec in ("paper", 8):
        for mpo in (P.MACS_PER_OP, 1.0 if P.MACS_PER_OP != 1.0 else 0.5):
            s = schedule(resnet50_shapes(prec), macs_per_op=mpo)
            combos.append({"precision": prec, "macs_per_op": mpo, "model_fps": s.frames_per_s,
                           "roofline_fps": s.roofline_fps, "utilisation": s.utilisation,
                           "implied_utilisation": pub / s.roofline_fps,
                           "error": s.frames_per_s / pub - 1.0, "cores": s.cores_used,
                           "latency_s": s.latency_s})
    layers = resnet50_shapes("paper")
    s = schedule(layers)
    print(s.table())
    c = Counts.empty([l.name for l in layers], samples=1, source="northpole")
    for l in layers:
        c.add(l.name, dense_mac=l.macs)
    fpj = 1.0 / report(c, "northpole").total[1]
    llm = P.LLM3B_PUBLISHED
    c2 = Counts.empty(["llm3b"], samples=1, source="northpole")
    c2.add("llm3b", dense_mac=int(llm["params"]))
    tpj = 1.0 / report(c2, "northpole").total[1]
    print()
    common.print_table([[str(r["precision"]), r["macs_per_op"], r["model_fps"],
                         r["roofline_fps"], r["utilisation"], r["implied_utilisation"],
                         r["error"]] for r in combos],
                       ["precision", "MACs/op", "model fps", "roofline fps", "util (model)",
                        "util (published)", "fps error"])
    print(f"\nResNet-50 (precision 'paper', MACs/op {P.MACS_PER_OP:g}): model {s.frames_per_s:,.0f}"
          f" vs published {pub:,.0f} frames/s ({s.frames_per_s / pub - 1:+.1%}); frames/J "
          f"{fpj:.0f} (calibrated on the published 571 -> not a prediction)")
    print("what one NorthPole 'operation' is (one MAC or half of one) is not stated in any "
          "primary source read (see params.py); op = 2 ops/MAC with 4-bit interior layers and "
          "op = 1 MAC with all-8-bit layers give the same schedule")
    print(f"second network, same all-in cost per MAC unchanged: 3B-parameter LLM on 16 cards "
          f"predicted {tpj:.0f} tokens/J vs published {llm['tokens_per_j']:.1f} "
          f"({tpj / llm['tokens_per_j'] - 1:+.0%})")
    return {"benchmark": "northpole-resnet50-shapes", "published_fps": pub,
            "model_fps": s.frames_per_s, "roofline_fps": s.roofline_fps,
            "utilisation": s.utilisation, "implied_utilisation": pub / s.roofline_fps,
            "fps_error": s.frames_per_s / pub - 1.0, "cores": s.cores_used,
            "fits_on_chip": s.fits_on_chip, "latency_s": s.latency_s,
            "macs_per_frame": s.macs_per_frame, "macs_per_op": s.macs_per_op,
            "precision": "paper: first/last 8 bit, others 4 bit [RECALL]",
            "op_definition": {
                "macs_per_op_default": P.MACS_PER_OP,
                "status": "not stated in any primary source that could be read; one MAC = two "
                          "operations is a documented assumption (sources checked and their "
                          "words: spikesim.backends.northpole.params docstring)",
                "self_consistent_pairs": "op = 2 ops/MAC with a 4-bit interior, or op = 1 MAC "
                                         "with an all-8-bit ResNet-50: the same schedule "
                                         "(2048 MACs per core per cycle); see combinations"},
            "frames_per_j": fpj, "frames_per_j_label": "calibrated (on the published 571)",
            "published_frames_per_j": P.RESNET50_PUBLISHED["frames_per_j"],
            "second_network": {"name": "3B-parameter LLM, 16 NorthPole cards (HPEC 2024)",
                               "macs_per_token_assumed": llm["params"],
                               "published_tokens_per_j": llm["tokens_per_j"],
                               "predicted_tokens_per_j": tpj,
                               "error": tpj / llm["tokens_per_j"] - 1.0},
            "combinations": combos, "schedule": s.summary(), "layers": s.rows}


def parse_precision(text: str) -> tuple[int, int]:
    """``"4"`` -> (4, 4); ``"4/8"`` -> (4, 8): weight bits / activation bits."""
    parts = str(text).split("/")
    try:
        w, a = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (None, None)
    except ValueError:
        w = a = None
    if w not in (8, 4, 2) or a not in (8, 4, 2):
        raise argparse.ArgumentTypeError(f"--precision {text!r}: use 8, 4, 2 or w/a such as "
                                         f"4/8 (bits of weights / activations in 8, 4, 2)")
    return w, a


def _exact_agreement(qnet, prog_logits: np.ndarray, x: np.ndarray, batch: int = 1000) -> dict:
    """Compare the integer engine's logits with the quantisation-aware model's float64
    forward (:func:`northpole.qat.exact_copy`): fraction of samples bit-identical."""
    from spikesim.backends.northpole.qat import exact_copy

    ref_model = exact_copy(qnet)
    ref = np.concatenate([ref_model.forward(x[i:i + batch].astype(np.float64))
                          for i in range(0, len(x), batch)])
    same = np.all(ref == prog_logits, axis=1)
    return {"samples_bit_identical": float(same.mean()),
            "max_abs_logit_difference": float(np.abs(ref - prog_logits).max()),
            "argmax_agreement": float((ref.argmax(1) == prog_logits.argmax(1)).mean())}


def mnist(args) -> dict:
    from spikesim.backends.northpole import compile, run
    from spikesim.backends.northpole.qat import finetune, prepare_qat
    from spikesim.nn import Adam, Trainer

    xtr, ytr, xte, yte = common.load_mnist(args.data)
    ntr, nte = (args.train_samples, args.test_samples)
    xtr, ytr = xtr[:ntr, None].astype(np.float32) / 255, ytr[:ntr]
    xte, yte = xte[:nte, None].astype(np.float32) / 255, yte[:nte]
    net = build_model(args.model, args.seed)
    tr = Trainer(net, "ce", Adam(net, lr=1e-3), batch_size=128, rng=args.seed,
                 progress=not args.no_progress)
    with common.Timer() as t_train:
        tr.fit(xtr, ytr, args.epochs)
    float_acc = tr.evaluate(xte, yte)["accuracy"]
    calib = xtr[:args.calibration]

    def evaluate(precision):
        prog = compile(net, calib, precision)
        res = run(prog, xte, progress=False)
        return prog, res, float((res.outputs["logits"].argmax(1) == yte).mean())

    w_bits, a_bits = args.precision
    main_prec = w_bits if w_bits == a_bits else (w_bits, a_bits)
    label = f"{w_bits}/{a_bits}"
    mixes = {label: main_prec}
    if args.mixes:
        mixes.update({"8/8": 8, "4/4": 4, "2/2": 2,
                      "8/4/8 (first, middle, last)": "first-last-8:4",
                      "8/2/8 (first, middle, last)": "first-last-8:2"})
    rows, acc_mix = [], {}
    prog = res = None
    for lbl, p in mixes.items():
        if isinstance(p, str):
            n_mac = sum(type(l).__name__ in ("Dense", "Conv2d") for l in net.layers)
            inner = int(p.split(":")[1])
            p = [8] + [inner] * (n_mac - 2) + [8] if n_mac > 2 else [8] * n_mac
        pr, rs, acc = evaluate(p)
        acc_mix[lbl] = {"ptq": acc}
        rows.append([lbl, "PTQ", acc, pr.cores, rs.meta["frames_per_s"]])
        if lbl == label:
            prog, res = pr, rs
    ptq_acc = acc_mix[label]["ptq"]
    qat_acc, qat_s, qat_info = None, 0.0, {}
    if args.qat_epochs > 0:
        with common.Timer() as t_qat:
            if args.qat == "activations":  # weights and activations fake-quantised
                qnet = prepare_qat(net, calib, main_prec)
                init_scales = [l.scale for l in qnet.layers if type(l).__name__ == "ActQuant"]
                finetune(qnet, xtr, ytr, epochs=args.qat_epochs, lr=args.qat_lr,
                         scale_lr=args.qat_scale_lr, rng=args.seed,
                         progress=not args.no_progress)
            else:  # weights only; activations calibrated after training
                finetune(net, xtr, ytr, main_prec, epochs=args.qat_epochs, lr=args.qat_lr,
                         rng=args.seed, progress=not args.no_progress)
        qat_s = t_qat.s
        if args.qat == "activations":
            prog = compile(qnet, calib)
            res = run(prog, xte, progress=False)
            qat_acc = float((res.outputs["logits"].argmax(1) == yte).mean())
            qat_info = {"activation_scales_initial": init_scales,
                        "activation_scales_trained": [l.scale for l in qnet.layers
                                                      if type(l).__name__ == "ActQuant"],
                        "requant_exact": prog.meta["requant_exact"],
                        "engine_vs_trained_model": _exact_agreement(
                            qnet, res.outputs["logits"], xte)}
        else:
            prog, res, qat_acc = evaluate(main_prec)
        acc_mix[label]["qat"] = qat_acc
        rows.append([label, f"QAT ({args.qat}) {args.qat_epochs} ep", qat_acc, prog.cores,
                     res.meta["frames_per_s"]])
    print(prog.report())
    print()
    common.print_table(rows, ["precision", "quantisation", "accuracy", "cores", "frames/s"])
    conv = _conv_gmacs(prog, xte, args.repeats, 8 if args.smoke else 64)
    fpj = _energy_fpj(res.counts)
    acc = qat_acc if qat_acc is not None else ptq_acc
    if qat_info:
        ag = qat_info["engine_vs_trained_model"]
        print(f"\ninteger engine vs the trained fake-quantised model (float64): "
              f"{ag['samples_bit_identical']:.4f} of test samples bit-identical, max |logit "
              f"difference| {ag['max_abs_logit_difference']:g}; requantisation exact: "
              f"{all(qat_info['requant_exact'].values())}")
    print(f"\nfloat accuracy {float_acc:.4f}; W{w_bits}/A{a_bits} accuracy {acc:.4f} "
          f"({(acc - float_acc) * 100:+.2f} pp); cores {prog.cores}; fits on chip "
          f"{prog.fits_on_chip}; {res.meta['frames_per_s']:,.0f} frames/s (compute-only "
          f"schedule); {fpj:,.0f} frames/J (calibrated all-in cost per MAC); host conv layers "
          f"{conv['gmacs_per_s_host']:.1f} GMAC/s (JIT {res.jit_s:.2f} s excluded)")
    return {"benchmark": "northpole", "model": args.model, "precision": label,
            "w_bits": w_bits, "a_bits": a_bits,
            "accuracy": acc, "ptq_accuracy": ptq_acc, "qat_accuracy": qat_acc,
            "qat_mode": args.qat if args.qat_epochs > 0 else None, "qat": qat_info,
            "float_accuracy": float_acc, "accuracy_drop_pp": (float_acc - acc) * 100,
            "accuracy_per_mix": acc_mix, "cores": prog.cores,
            "fits_on_chip": prog.fits_on_chip, "frames_per_s": res.meta["frames_per_s"],
            "frames_per_s_label": "compute-only schedule: no I/O or intra-core tiling "
                                  "modelled (an upper bound for small networks)",
            "frames_per_j": fpj, "frames_per_j_label": "calibrated all-in cost per MAC "
                                                       "(ResNet-50, 571 frames/J)",
            "latency_s": res.meta["latency_s"], "gmacs_per_s_host": conv["gmacs_per_s_host"],
            "gmacs_per_s_host_detail": conv, "gmacs_per_s_host_whole_run":
                res.meta["gmacs_per_s_host"], "run_s": res.run_s, "jit_s": res.jit_s,
            "train_s": t_train.s, "qat_s": qat_s, "qat_epochs": args.qat_epochs,
            "train_samples": int(len(ytr)),
            "test_samples": int(len(yte)), "epochs": args.epochs,
            "saturations": res.meta["saturations"], "schedule": prog.schedule.summary(),
            "layers": prog.schedule.rows, "dtypes": res.meta["dtypes"]}


def _conv_gmacs(prog, x, repeats: int, batch3x3: int = 64) -> dict:
    """Host GMAC/s of the engine on conv layers: best of ``repeats`` runs of the program's
    conv layers on the test set, and of a ResNet-like 3x3 64->64 layer on 28x28 maps."""
    from spikesim.backends.northpole import IntConv2d, quantize_multiplier, run_layers
    from spikesim.quant import quantize_activations

    q = quantize_activations(x, prog.input_scale, prog.input_bits, prog.input_signed).q
    best = {}
    for _ in range(repeats):
        _, st = run_layers(prog.layers, q, prog.input_bits, prog.input_signed)
        for s, layer in zip(st, prog.layers):
            if isinstance(layer, IntConv2d):
                best[layer.name] = min(best.get(layer.name, np.inf), s["run_s"])
    macs = {sh.name: sh.macs * len(x) for sh in prog.shapes if sh.name in best}
    g = np.random.default_rng(0)
    w = g.integers(-128, 128, (64, 64, 3, 3))
    M, s = quantize_multiplier(np.full(64, 1e-4))
    layer = IntConv2d("res3x3", w, np.zeros(64, np.int64), M, s, 8, 8, False, 8, relu=True,
                      padding=1)
    xs = g.integers(0, 256, (batch3x3, 64, 28, 28))
    t3 = np.inf
    for _ in range(repeats):
        _, st = run_layers([layer], xs, 8, False)
        t3 = min(t3, st[0]["run_s"])
    m3 = layer.macs((64, 28, 28)) * batch3x3
    g3 = m3 / t3 / 1e9
    return {"gmacs_per_s_host": sum(macs.values()) / sum(best.values()) / 1e9 if best else g3,
            "source": "the model's conv layers on the test set" if best else
                      "the 3x3 64->64 layer (the model has no conv layer)",
            "per_layer": {k: macs[k] / best[k] / 1e9 for k in best},
            f"resnet_3x3_64x64_28x28_batch{batch3x3}": g3, "repeats": repeats,
            "note": "best of repeats; machine shared with other agents (2 cores), timings noisy"}


HOST_LAYERS = (  # (C_in, C_out, H, kernel, batch): ResNet-like 3x3 stages and the MNIST CNN
    (64, 64, 28, 3, 64), (128, 128, 14, 3, 64), (256, 256, 7, 3, 64), (16, 32, 14, 5, 512))


def host_speed(args) -> dict:
    """Host throughput of the integer engine on conv layers (GMAC/s), best of repeats."""
    from spikesim.backends.northpole import IntConv2d, quantize_multiplier, run_layers
    from spikesim.backends.northpole.engine import warmup

    jit_s = warmup()
    g = np.random.default_rng(0)
    rows, out = [], []
    tot_mac, tot_s, tot_cpu = 0, 0.0, 0.0
    for bits in (8, 4, 2):
        for ci, co, h, k, n in HOST_LAYERS:
            lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            w = g.integers(lo, hi + 1, (co, ci, k, k))
            M, sh = quantize_multiplier(np.full(co, 1.0 / (ci * k * k * 2 ** bits)))
            layer = IntConv2d(f"c{ci}x{co}", w, np.zeros(co, np.int64), M, sh, bits, bits,
                              False, bits, relu=True, padding=k // 2)
            x = g.integers(0, 2 ** bits, (n, ci, h, h))
            best, best_cpu = np.inf, np.inf
            for _ in range(args.repeats):
                _, st = run_layers([layer], x, bits, False)
                best = min(best, st[0]["run_s"])
                best_cpu = min(best_cpu, st[0]["cpu_s"])
            macs = layer.macs((ci, h, h)) * n
            tot_mac += macs
            tot_s += best
            tot_cpu += best_cpu
            r = {"bits": bits, "c_in": ci, "c_out": co, "hw": h, "kernel": k, "batch": n,
                 "dtype": st[0]["dtype"], "gmacs": macs / 1e9, "best_s": best,
                 "best_cpu_s": best_cpu, "gmacs_per_s": macs / best / 1e9,
                 "gmacs_per_cpu_s": macs / best_cpu / 1e9}
            out.append(r)
            rows.append([bits, f"{ci}->{co} {k}x{k} @{h}x{h}", n, r["dtype"], r["gmacs_per_s"],
                         r["gmacs_per_cpu_s"]])
    common.print_table(rows, ["bits", "conv layer", "batch", "GEMM dtype", "GMAC/s (wall)",
                              "GMAC per CPU-s"])
    agg = tot_mac / tot_s / 1e9
    per_cpu = tot_mac / tot_cpu / 1e9
    print(f"\nall conv layers: {agg:.1f} GMAC/s wall, {per_cpu:.1f} GMAC per CPU-second "
          f"(x2 = {2 * per_cpu:.1f} GMAC/s if the process had both cores to itself and "
          f"scaled perfectly; best of {args.repeats}; JIT {jit_s:.2f} s excluded)")
    return {"benchmark": "northpole-host-speed", "gmacs_per_s_host": agg,
            "gmacs_per_cpu_s": per_cpu, "gmacs_per_s_2cores_from_cpu_time": 2 * per_cpu,
            "gmacs_per_s_2cores_from_cpu_time_label":
                "MACs / (process CPU seconds / 2): an estimate of 2 dedicated cores, assuming "
                "perfect use of both; wall-clock figures on this shared machine are lower",
            "layers": out, "repeats": args.repeats, "jit_s": jit_s}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="spikesim bench northpole", description=DESCRIPTION)
    ap.add_argument("--model", default="mnist-cnn", choices=MODELS)
    ap.add_argument("--precision", type=parse_precision, default=(8, 8),
                    help="8, 4, 2 (weights and activations) or w/a, e.g. 4/8")
    ap.add_argument("--resnet50-shapes", action="store_true",
                    help="schedule a shape-only ResNet-50 against the published figures")
    ap.add_argument("--host-speed", action="store_true",
                    help="only measure the engine's host GMAC/s on conv layers")
    ap.add_argument("--json", default=None, help="write results to this JSON file")
    ap.add_argument("--data", default=None, help="MNIST .npz (default ../shared/data)")
    ap.add_argument("--train-samples", type=int, default=60000)
    ap.add_argument("--test-samples", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--calibration", type=int, default=512, help="calibration samples")
    ap.add_argument("--qat-epochs", type=int, default=0, help="QAT fine-tuning epochs")
    ap.add_argument("--qat-lr", type=float, default=2e-4)
    ap.add_argument("--qat", choices=("activations", "weights"), default="activations",
                    help="fake-quantise weights and activations (exact on the integer engine) "
                         "or weights only (activations calibrated after training)")
    ap.add_argument("--qat-scale-lr", type=float, default=1e-2,
                    help="Adam learning rate of the activation scales (log2 units)")
    ap.add_argument("--mixes", action="store_true", help="also PTQ accuracy of other mixes")
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats (best kept)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (CI smoke test)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if args.smoke:
        args.train_samples, args.test_samples, args.calibration = 2000, 300, 128
        args.repeats = 1
    t0 = time.perf_counter()
    out = (resnet50(args) if args.resnet50_shapes else host_speed(args) if args.host_speed
           else mnist(args))
    out["wall_s"] = time.perf_counter() - t0
    out["machine_note"] = "2 CPU cores shared with up to 8 agents while measuring"
    out["load_average_1_5_15min"] = list(os.getloadavg())
    import numba
    out["threads"] = {"numba": int(numba.config.NUMBA_NUM_THREADS),
                      "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}
    common.write_json(args.json, {**out, **common.meta()})
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
