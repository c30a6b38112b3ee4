"""Unsupervised digit learning after Diehl and Cook 2015, on the clock engine.

``spikesim bench stdp-mnist --neurons 100 --seeds 3 --json PATH`` (``--epochs E``: E passes
over the training images; the issue's protocol is one)

Network (the paper's and its reference code's, with the deviations listed below): 784
Poisson inputs (rate = pixel/8 * intensity Hz, intensity 2; 350 ms per image, then 150 ms
without input) -> all-to-all plastic conductance synapses (initial weights uniform in
[0, 0.3]) -> ``n`` excitatory ``CobaLIF`` neurons -> one inhibitory ``CobaLIF`` neuron each
(one-to-one, weight 10.4) -> every other excitatory neuron (weight 17.0).

* excitatory: ``tau_m dv/dt = (v_rest - v) + g_e (0 - v) + g_i (-100 mV - v)``, tau_m 100 ms,
  rest and reset -65 mV, threshold -72 mV + theta (the reference's -52 mV minus its 20 mV
  offset); theta starts at 20 mV (``CobaLIF.a_init``), rises by 0.05 mV per spike and decays
  toward 0 with tau_theta 1e4 s, so the threshold starts at -52 mV and relaxes toward
  -72 mV; g_e, g_i dimensionless (a spike of weight w adds w), tau_ge 1 ms, tau_gi 2 ms;
  membrane held at reset for 5 ms after a spike (``refractory``; the reference does not
  hold it, see the deviations);
* inhibitory: tau_m 10 ms, rest -60, reset -45, threshold -40 mV, refractory 2 ms,
  reversal potentials 0 and -85 mV;
* learning: the paper's nearest-spike triplet rule, at a post spike ``w += nu_post * x_pre *
  y2`` (``y2`` the 40 ms post trace from before the spike), at a pre spike ``w -= nu_pre *
  y1`` (20 ms trace); nu_post 0.01, nu_pre 0.0001, hard bounds [0, 1]; before each image
  every neuron's input weights are scaled to sum to 78;
* an image giving fewer than 5 excitatory spikes is shown again (after the rest) with the
  intensity raised by 1 (learning on), in training, labelling and test;
* dt 0.5 ms (the reference code's clock).

Labels: each excitatory neuron gets the class it responds to most (mean spike count per
class), measured on the last ``--label`` training images with learning frozen (thresholds
fixed at their learned values; a neuron silent on all of them gets no class and no vote,
as in the reference code, since 2026-12-08: before, it counted as class 0); a test image is
classified by the class whose neurons respond most on average. Test images are never used
before the test.

Deviations from the reference code: no input delays (it draws 0-10 ms per input synapse; it
also defines 0-5 ms ``ei_input`` delays but never uses them: its only input connection type
is ``ee_input`` and its recurrent connections have no delay); the rest period is simulated
in the same ``run`` call as the image (state and learning continue as in the reference);
labelling and test show each image to a fresh copy of the frozen network (the reference
runs them in sequence with 150 ms rests, after which the state has nearly decayed: g within
e^-75, v within e^-1.5); the threshold test is ``v >= threshold`` (the reference: ``>``);
the intensity of a repeated presentation stops rising at ``MAX_INTENSITY`` (the reference
has no cap); the membrane is held at reset for 5 ms after a spike (see below).

History of the gap to the paper (one seed unless stated; "after 6000" = 6000 training
images, labels from the last 1000, the first 1000 test images):

* Theta offset (found 2026-12-07). The reference starts ``theta`` at 20 mV and fires when
  ``v > theta - 20 mV - 52 mV``; this module had started theta at 0 on a -52 mV threshold,
  the same threshold at first, but theta decays toward 0 with tau_theta, so the reference's
  threshold relaxes toward -72 mV and this module's relaxed toward -52 mV: 20 mV more
  threshold by the end of the pass (1 - e^-3 of it), a neuron that rarely wins regained no
  excitability, and images needed 4.1 presentations on average. With the offset
  (``CobaLIF.a_init``): after 6000 70.4 % / 66.4 % (seeds 0 / 1; 65.3 % / 62.7 % before),
  the full protocol 66.5 % / 69.7 % (seeds 0 / 1, ``stdp_mnist_n100_offset_seeds01.json``;
  53.9 % before, with the firing block below), 2.2 presentations per image. About three
  quarters of the neurons learn a sharp digit (weights up to 0.6-0.8, theta 40-58 mV); the
  rest keep a diffuse field and the lowest thresholds.
* Firing block. The reference's ``timer > refrac_e`` blocks nothing: it imports
  ``brian_no_units``, so ``dtimer/dt = 100.0 : ms`` makes the timer grow by 100 s per
  second, past ``refrac_e`` (5 ms) one step after the reset. Brian2 ports write ``dtimer/dt =
  0.1 : second`` (a 50 ms block), and so did this module until 2026-12-07
  (``CobaLIF.fire_block``). Removing it: after 6000 65.3 % / 62.7 % instead of 62.6 % / 59.8 %
  (seeds 0 / 1, before the offset; ``stdp_mnist_noblock_small_runs.json``).
* Membrane hold. Brian 1 honours ``refractory`` only with a scalar reset or a reset object
  carrying a period; the reference's string reset has neither, so its membrane is not held
  after a spike. That variant (``refractory=0``) does worse here: after 6000 58.6 % / 61.6 %
  with the offset (70.4 % / 66.4 % with the hold; ``stdp_mnist_theta_offset_small_runs.json``),
  50.8 % / 52.6 % before it; so this module keeps the 5 ms hold.
* Input delays. The reference's 0-10 ms input delays (its Brian 1 STDP pairs a post spike
  with each synapse's presynaptic trace as it was one delay earlier, i.e. at arrival), emulated
  with one input channel per synapse: 57.1 % after 6000, before the offset (3.5x the CPU
  time; not repeated with it).
* Learning rule. The paper's text describes a power-law rule with a target presynaptic trace
  (at a post spike ``dw = eta (x_pre - x_tar) (w_max - w)^mu``; its code keeps ``x_tar = 0.4``
  and ``mu = 0.2`` as unused constants and runs the triplet rule). A prototype kernel with
  eta = 0.01: 56.2 % after 6000 with the offset (sharper weights, more spikes); not kept.
* The engine's weight changes match the triplet rule computed offline from the spike times
  (10-image probe: 0.177 vs 0.178).

Results of the full protocol (``spikesim bench stdp-mnist --neurons 100 --seeds 3``, three
processes on the 2 cores, nothing else heavy running; ``benchmarks/results/
stdp_mnist_n100_3seeds.json``, 2026-12-07): 66.5 %, 69.7 %, 70.9 % for seeds 0-2, mean
69.0 % against the target of 80 % (the paper: 82.9 %): NOT MET with the paper's time
constants (met with more charge per spike, see below). Wall time for training,
labelling and test: 1580 s against the 30-minute budget (1800 s): met (this machine's
timings vary by about 20 % from run to run). 2.2 presentations per image, 7.0 ms CPU per
presentation, 909-920 CPU s of training and about 127 CPU s of labelling and test per seed.
Before the clock engine's per-step helpers lost their reference counting (same accuracies):
1798 s, 7.9 ms per presentation (``stdp_mnist_n100_3seeds_before_nrt.json``). The same run before the plastic kernel's shortcut past its decay table (which
changes no weight; the accuracies are identical) took 2904 s, 13.6-13.8 ms CPU per
presentation (``stdp_mnist_n100_3seeds_before_pow_shortcut.json``).

With more charge per input spike the same protocol meets the target. ``--tau-syn 1.2707
2.2604 1.2707 2.2604`` lengthens the conductance time constants (the paper's: 1 and 2 ms) so
that each spike delivers, at the same weight, the charge Brian2's ``exponential_euler``
gives it at dt = 0.5 ms (1.27x on g_e, 1.13x on g_i; see the Brian2 cross-check below for why
that scheme matters). Full protocol, 3 seeds (``stdp_mnist_n100_3seeds_expeuler_charge.json``,
three processes on the 2 cores, nothing else running): 80.89 %, 80.02 %, 81.15 %, mean
80.69 %, 1290 s wall; 1.80 presentations per image, 5.6 spikes per presentation, about 2 % of
the weights above 0.5 (0.7 % with the paper's constants) and the strongest at 1.0 (0.64-0.79).
With 400 neurons the same charge changes little: 87.33 % and 88.57 %, mean 87.95 % (seeds 0
and 1; 86.7 % and 87.6 % with the paper's constants; the paper: 87.0 %), 1614 s wall for the
two seeds in two processes (``stdp_mnist_n400_2seeds_expeuler_charge.json``). So this charge
comes near the paper's figures at both sizes (80.7 / 88.0 % against 82.9 / 87.0 %), where
the paper's constants give 69.0 / 87.4 %. Still, it is a deviation from the paper's stated
model, not its reproduction: with its time constants integrated exactly, as by the
reference code's Euler step, the 100-neuron result is the 69.0 % above. The default stays
the paper's constants.

More training, the paper's constants (``--epochs 3``: the training images three times in
order, the reference code's default ``num_examples = 60000 * 3``; labels still from the last
10k training images; ``stdp_mnist_n100_3seeds_3epochs.json``, 2026-12-08): 79.62 %, 79.78 %,
80.97 %, mean 80.12 %, so three passes reach the issue's 80 % without the charge deviation,
one pass does not (69.0 %). 2.08 presentations per image, 4.9 spikes per presentation,
2220-2240 CPU s of training per seed, 3570 s wall for the three seeds in three processes on
the 2 cores. Two passes (seeds 0 / 1, ``stdp_mnist_n100_2seeds_2epochs.json``): 77.59 % /
77.80 %, 1490 s wall in two processes; so seeds 0 / 1 go 66.5 / 69.7 -> 77.6 / 77.8 ->
79.6 / 79.8 % over one, two and three passes. Whether the paper's 82.9 % used more than one pass could not be checked here
(its training-length text is not in the stored corpora); the issue asks for one pass. No
neuron was silent on all labelling images, so the assignment of such neurons (see Labels
above; this run still gave them class 0) does not change these accuracies
(``stdp_mnist_n100_3epochs_reeval.json``).

400 neurons, the full protocol (``spikesim bench stdp-mnist --neurons 400 --seeds 3``;
``stdp_mnist_n400_3seeds.json``, 2026-12-07): 86.7 %, 87.6 %, 87.8 %, mean 87.4 % (the
paper: 87.0 %), 1.07 presentations per image, 18 spikes per presentation, 1630-1690 CPU s
of training and about 500 s of labelling and test per seed (wall 4315 s with three
processes beside two Brian2 runs on the 2 cores). After 6000 images: 76.4 % / 77.4 % (seeds
0 / 1, ``stdp_mnist_n400_6000img.json``). So the 400-neuron result is reproduced and the
100-neuron one is not.

Brian2 cross-check (``--compare brian2``, 2026-12-07; ``stdp_mnist_brian2_6000img.json``):
the same protocol in Brian2 2.9 (cython runtime) from the same initial weights, 6000
training images, labels from the last 1000, the first 1000 test images, seed 0 unless stated:

* this module's model, forward Euler (``--brian2-variant spikesim``): 70.7 % / 71.0 % (seeds
  0 / 1; spikesim 70.4 % / 66.4 %), so the engine is not the gap to 80 %; Brian2 repeats
  fewer images (1.33 presentations per image against 1.42), a sign that its Euler step,
  which front-loads each conductance into the step after the spike, drives the network a
  little harder; whether that explains seed 1's 4.6 points would need more seeds;
* this module's model without the membrane hold: 70.8 % (with it 70.7 %). In spikesim the
  hold matters: 0 / 0.5 / 2 / 5 ms give 58.6 / 59.9 / 62.9 / 70.4 % (seed 0; fewer spikes
  per presentation and a few neurons with very high thresholds without it). The cause is
  the inhibitory latency: forward Euler overshoots (one step of g_e = 10.4 takes the
  inhibitory neuron from -60 to about -29 mV), so in Brian2, as in the reference's Brian 1,
  it fires one step after the excitatory spike; this engine's exact step takes it to
  -40.3 mV (threshold -40 mV) and it fires one step later. Without the hold the winner's
  competitors get that extra 0.5 ms: with exc -> inh weight 12 (one-step latency here too)
  no hold gives 68.8 %;
* the reference code's model (``--brian2-variant reference``: no membrane hold, 0-10 ms
  input delays, forward Euler as its Brian 1 runs it, no intensity cap): 68.6 %, about the
  same as this module's model, so the deviations listed above are not the gap either;
* this module's model with ``exponential_euler`` (``--brian2-variant exponential``,
  ``stdp_mnist_brian2_expeuler_4seeds.json``): 77.0 / 72.4 / 75.2 / 72.7 %, mean 74.3 % for
  seeds 0-3, against spikesim's 70.4 / 66.4 / 69.8 / 68.0 %, mean 68.65 %, on the same seeds:
  4.7-6.6 points more on every seed, with 1.15 presentations per image (spikesim 1.42) and
  12.9 spikes per presentation (8.1). At dt = 0.5 ms that scheme holds each step's starting
  conductance over the step, which gives a spike dt / (1 - e^(-dt/tau)) times its exact
  charge: 1.27x for tau = 1 ms, 1.13x for 2 ms; forward Euler and this engine's exact step
  give the exact charge.
* The charge explains it. Spikesim with the same charges at the same weights, through
  longer conductance time constants (``--tau-syn 1.2707 2.2604 1.2707 2.2604``;
  ``stdp_mnist_tau_syn_6000img.json``), gives 73.2 / 72.6 / 76.1 / 76.1 %, mean 74.5 %, with
  1.16 presentations per image. Most of the gain is the input's: the excitatory neurons' g_e
  alone at 1.2707 ms gives 72.9 % (1.6 ms: 72.1 %; 2 ms: 73.1 %), the inhibitory charges
  alone 69.7 %. An earlier test scaled the weights instead (input weight sum 78 -> 99, exc
  -> inh 12, inh -> exc 19.2: 68.4 / 71.0 %, seeds 0 / 1; the input sum alone: 71.1 / 72.2 %)
  and was read as "the charges do not explain it"; but scaling the input weights also
  changes the learning (the rule's steps do not scale with them, so each step moves the
  normalised weights 1.27x less), so it is not the same drive. So the accuracy depends by
  about 5 points on how much charge an input spike delivers at a given weight, which the
  reference code fixes through its Euler step (the exact charge). After these 6,000 images
  1.27x-2x that charge gives 72-75 %; the full protocol with exponential Euler's charges
  gives 80.7 % (above).

Labels from the test responses themselves (the reference evaluation script's default: it
loads the same file for assignment and test) would add 0.7 points (70.4 -> 71.1 %, seed 0
after 6000).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from spikesim.benchmarks import common

DESCRIPTION = "Diehl and Cook 2015 unsupervised STDP on MNIST (accuracy, s per sample)"

mV = 1e-3
ms = 1e-3
T_IMG, T_REST = 0.350, 0.150
W_MAX = 1.0
W_SUM = 78.0            # per-neuron sum of input weights (normalised before each image)
W_EI, W_IE = 10.4, 17.0  # exc -> inh (one-to-one), inh -> other exc (conductances)
THETA_PLUS = 0.05 * mV  # adaptive threshold increment
TAU_THETA = 1e4         # s
REFRAC_E = 5 * ms       # membrane held at reset after a spike (see the module docs)
THETA_OFFSET = 20 * mV  # theta starts here; the threshold is -52 mV - offset + theta
# conductance time constants (s): excitatory neurons' g_e, g_i, inhibitory neurons' g_e, g_i
TAU_SYN = (1 * ms, 2 * ms, 1 * ms, 2 * ms)


def exc_node(n: int, theta=None, tau_syn=TAU_SYN):
    """Excitatory neurons: adaptive (training; theta starts at ``THETA_OFFSET``) or with
    fixed learned thresholds (``theta``, as returned by :func:`train`); conductance time
    constants ``tau_syn[:2]``."""
    from spikesim import ir

    kw = dict(tau_mem=100 * ms, tau_syn=tuple(tau_syn[:2]), e_rev=(0.0, -100 * mV),
              ports=("e", "i"), v_leak=-65 * mV, v_reset=-65 * mV, refractory=REFRAC_E)
    if theta is None:
        return ir.CobaLIF(n, v_threshold=-52 * mV - THETA_OFFSET, tau_adapt=TAU_THETA,
                          delta_threshold=THETA_PLUS, a_init=THETA_OFFSET, **kw)
    return ir.CobaLIF(n, v_threshold=-52 * mV - THETA_OFFSET + np.asarray(theta, np.float64),
                      **kw)


def build(n: int, rng: np.random.Generator, *, plastic: bool = True, w_in=None,
          theta=None, tau_syn=TAU_SYN):
    """The network; ``w_in`` [n, 784] (default: uniform in [0, 0.3]); ``tau_syn`` as
    :data:`TAU_SYN`."""
    from spikesim import ir, learn

    w0 = rng.uniform(0.0, 0.3, (n, 784)) if w_in is None else np.asarray(w_in)
    rule = learn.TripletSTDP(a2_plus=0.0, a3_plus=0.01, a2_minus=0.0001, a3_minus=0.0,
                             tau_plus=20 * ms, tau_minus=20 * ms, tau_x=20 * ms,
                             tau_y=40 * ms, w_min=0.0, w_max=W_MAX,
                             pairing="nearest") if plastic else None
    inh = ir.CobaLIF(n, tau_mem=10 * ms, tau_syn=tuple(tau_syn[2:]), e_rev=(0.0, -85 * mV),
                     ports=("e", "i"), v_leak=-60 * mV, v_reset=-45 * mV,
                     v_threshold=-40 * mV, refractory=2 * ms)
    nodes = {"in": ir.Input(784),
             "w_in": ir.Sparse(n_pre=784, n_post=n, indptr=np.arange(785) * n,
                               indices=np.tile(np.arange(n), 784),
                               weight=w0.T.ravel(), plasticity=rule),
             "exc": exc_node(n, None if plastic else theta, tau_syn),
             "w_ei": ir.Sparse.from_dense(np.eye(n) * W_EI),
             "inh": inh,
             "w_ie": ir.Sparse.from_dense(W_IE * (1.0 - np.eye(n)))}
    edges = ["in->w_in", "w_in->exc:e", "exc->w_ei", "w_ei->inh:e", "inh->w_ie",
             "w_ie->exc:i"]
    return ir.Network(nodes, edges)


def poisson_input(imgs: np.ndarray, factor: float, t0: float, dt: float,
                  rng: np.random.Generator):
    """Poisson input spikes of images ``imgs`` [B, 28, 28] (rates pixel/8*factor Hz) during
    ``[t0, t0 + T_IMG)``: ``(times, channels, batch)`` in (time, batch, channel) order, so
    that ``SpikeTimes`` takes them without sorting. Each spike is placed in the middle of
    its step (the engine takes inputs per step); two spikes of a channel in one step add."""
    B = len(imgs)
    nsteps = int(round(T_IMG / dt))
    rates = imgs.reshape(B, -1).astype(np.float64) * (factor / 8.0)
    flat = np.repeat(np.arange(B * 784, dtype=np.int64), rng.poisson(rates * T_IMG).ravel())
    key = rng.integers(0, nsteps, flat.size) * (B * 784) + flat
    key.sort()
    step, rem = np.divmod(key, B * 784)
    return t0 + (step + 0.5) * dt, rem % 784, rem // 784


TICK_EVERY = 100  # images between progress reports of a worker process
MAX_INTENSITY = 12.0  # a presentation is repeated with rising intensity at most up to here


def normalise(W: np.ndarray) -> np.ndarray:
    """Scale each neuron's input weights (columns of ``W`` [784, n]) to sum to ``W_SUM``
    (the reference code's normalisation: a scaling, no clipping)."""
    return W * (W_SUM / np.maximum(W.sum(axis=0, keepdims=True), 1e-30))


def train(n: int, x: np.ndarray, seed: int, dt: float, progress: bool, log_every: int = 0,
          tick=None, tau_syn=TAU_SYN, epochs: int = 1):
    """``epochs`` passes over ``x`` (in order, as the reference code's ``j % 60000``) with
    learning; returns (w_in [n, 784], theta [n], stats).
    ``log_every > 0``: a line on stderr every that many images (runs without a bar).
    ``tick(k)``: called with the number of images done since its last call (every
    ``TICK_EVERY`` images and at the end), for a progress bar in another process."""
    import sys

    from spikesim import learn
    from spikesim.sim import Simulator, SpikeTimes

    rng = np.random.default_rng(seed)
    net = build(n, rng, tau_syn=tau_syn)
    sim = Simulator(net, dt=dt, rng=seed, record=["exc"])
    total = len(x) * epochs
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"train seed {seed}", unit="img")
    t = 0.0
    shows = 0
    spikes = 0
    c0 = time.process_time()
    for k in range(total):
        j = k % len(x)
        factor = 2.0
        while True:
            learn.normalize(sim, "w_in", W_SUM)
            tt, ch, _ = poisson_input(x[j:j + 1], factor, t, dt, rng)
            res = sim.run(T_IMG + T_REST, inputs={"in": SpikeTimes(tt, ch)}, progress=False)
            cnt = int(np.sum(res.spikes["exc"].t <= t + T_IMG + 1e-9))
            t += T_IMG + T_REST
            shows += 1
            spikes += cnt
            if cnt >= 5 or factor >= MAX_INTENSITY:
                break
            factor += 1.0
        if bar is not None:
            bar.update(1)
        if tick is not None and ((k + 1) % TICK_EVERY == 0 or k + 1 == total):
            tick(k + 1 - k // TICK_EVERY * TICK_EVERY)  # images since the last call
        if log_every and (k + 1) % log_every == 0:
            print(f"seed {seed}: {k + 1} images, {shows} presentations, "
                  f"{time.process_time() - c0:.0f} CPU s", file=sys.stderr, flush=True)
    if bar is not None:
        bar.close()
    eng = sim.engine
    off = eng.offset["exc"]
    theta = eng.ath[0, off:off + n].astype(np.float64).copy()
    w_in = normalise(learn.weights(sim, "w_in").reshape(784, n)).T.copy()
    stats = {"presentations": shows, "presentations_per_image": shows / max(total, 1),
             "train_cpu_s_per_presentation": (time.process_time() - c0) / max(shows, 1),
             "exc_spikes_per_presentation": spikes / max(shows, 1),
             "theta_mV": [float(np.min(theta) / mV), float(np.median(theta) / mV),
                          float(np.max(theta) / mV)],
             "w_frac_above_0.5": float(np.mean(w_in > 0.5 * W_MAX)),
             "w_max": float(w_in.max())}
    return w_in, theta, stats


def responses(n: int, w_in, theta, x: np.ndarray, seed: int, dt: float, batch: int = 500,
              tick=None, tau_syn=TAU_SYN):
    """Spike counts [images, n] of the frozen network (batched). As in training (and the
    paper's test), an image giving fewer than 5 spikes is shown again with the input rates
    raised by pixel/8 Hz (up to intensity ``MAX_INTENSITY``). ``tick(k)``: called after
    each batch of the first presentation with its number of images."""
    from spikesim.sim import Simulator, SpikeTimes

    rng = np.random.default_rng(10_000 + seed)
    net = build(n, rng, plastic=False, w_in=w_in, theta=theta, tau_syn=tau_syn)
    out = np.zeros((len(x), n), np.int64)
    todo = np.arange(len(x))
    factor = 2.0
    while True:
        for s in range(0, len(todo), batch):
            idx = todo[s:s + batch]
            B = len(idx)
            sim = Simulator(net, dt=dt, rng=seed, batch=B, record=["exc"])
            t, c, bb = poisson_input(x[idx], factor, 0.0, dt, rng)
            res = sim.run(T_IMG, inputs={"in": SpikeTimes(t, c, batch=bb)}, progress=False)
            cnt = res.spikes["exc"].counts()
            out[idx] = 0
            out[idx[:cnt.shape[0]]] = cnt
            if tick is not None and factor == 2.0:
                tick(B)
        todo = todo[out[todo].sum(axis=1) < 5]
        if todo.size == 0 or factor >= MAX_INTENSITY:
            break
        factor += 1.0
    return out


def assign(resp: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each neuron's class: the one whose images it responds to most (mean spike count
    per class, ``resp`` [images, n]; a tie goes to the lower class), or -1 for a neuron
    silent on every labelling image, which then votes for no class (the reference code's
    assignment)."""
    mean = np.stack([resp[y == c].mean(axis=0) if np.any(y == c) else np.zeros(resp.shape[1])
                     for c in range(10)])
    labels = mean.argmax(axis=0)
    labels[mean.max(axis=0) <= 0] = -1
    return labels


def classify(resp: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The class whose neurons (``labels`` from :func:`assign`) respond to each image most
    on average."""
    score = np.stack([resp[:, labels == c].mean(axis=1) if np.any(labels == c)
                      else np.zeros(resp.shape[0]) for c in range(10)], axis=1)
    return score.argmax(axis=1)


# The same network in Brian2 (``--compare brian2``), run in its own virtualenv
# (``$SPIKESIM_VENVS/brian2``): cython runtime, one ``run`` per image set (after a ``run`` of
# 0 ms that generates and compiles the code: ``compile_s``, excluded from ``train_s`` and
# ``wall_s``), a
# network_operation at each 500 ms boundary applying the repeat rule, the normalisation and
# the new rates (a ``run`` per presentation would spend most of its time in Brian2's
# per-run setup). Labelling and test run the frozen network continuously, images 500 ms apart
# (the reference code's test mode). Variants (payload keys): ``hold`` (5 ms membrane hold,
# ``unless refractory``), ``delays`` (0-10 ms uniform input delays; the STDP pre trace is then
# per synapse, updated on arrival), ``method``, ``cap`` (intensity cap of the repeat rule, 0 =
# none, as in the reference), ``tau_syn_ms`` (``--tau-syn``). The ``spikesim`` and
# ``reference`` variants use forward Euler, the reference's Brian 1 update of this nonlinear
# model: with dt = 0.5 ms it gives a conductance spike its exact charge (w tau: decay factor
# 1 - dt/tau, sum dt/(dt/tau)), as this module's exact step does, while ``exponential``
# (``exponential_euler``) holds each step's starting conductance over the step: dt / (1 -
# e^(-dt/tau)) = 1.27 tau for tau_ge = 1 ms, 27 % more excitation per input spike (1.15
# presentations per image after 6,000 images against this module's 1.42; see the module
# docs and stdp_mnist_brian2_expeuler_4seeds.json).
BRIAN2_SCRIPT = r'''
import json, sys, time
import numpy as np
import brian2
from brian2 import (Network, NeuronGroup, Synapses, defaultclock, mV, ms,
                    network_operation, prefs)

a = json.loads(sys.argv[1])
prefs.codegen.target = a["target"]
defaultclock.dt = a["dt_ms"] * ms
n, cap = a["n"], float(a["cap"])
rng = np.random.default_rng(a["seed"])   # first draw: the initial weights, as in spikesim
brian2.seed(a["seed"])
with np.load(a["mnist"]) as d:
    x_tr = d["x_train"][:a["train"]].reshape(-1, 784).astype(np.float64)
    x_te = d["x_test"][:a["test"]].reshape(-1, 784).astype(np.float64)
t0 = time.time()


def build(plastic, w_in, theta_mV):
    exc = NeuronGroup(n, """
        dv/dt = ((-65*mV - v) + ge*(-v) + gi*(-100*mV - v)) / (100*ms) : volt%s
        dge/dt = -ge/(%r*ms) : 1
        dgi/dt = -gi/(%r*ms) : 1
        cnt : 1
        t_off : second (shared)
        %s
        """ % (" (unless refractory)" if a["hold"] else "", *a["tau_syn_ms"][:2],
               "dtheta/dt = -theta/(%r*second) : volt" % a["tau_theta_s"] if plastic
               else "theta : volt"),
        threshold="v > theta - %r*mV" % (52.0 + a["theta_offset_mV"]),
        reset="v = -65*mV; cnt += int(t < t_off)"
              + ("; theta += %r*mV" % a["theta_plus_mV"] if plastic else ""),
        method=a["method"], name="exc",
        **({"refractory": a["refrac_ms"] * ms} if a["hold"] else {}))
    exc.v = -65 * mV
    exc.theta = theta_mV * mV
    inh = NeuronGroup(n, """
        dv/dt = ((-60*mV - v) + ge*(-v) + gi*(-85*mV - v)) / (10*ms) : volt (unless refractory)
        dge/dt = -ge/(%r*ms) : 1
        dgi/dt = -gi/(%r*ms) : 1
        """ % tuple(a["tau_syn_ms"][2:]), threshold="v > -40*mV", reset="v = -45*mV",
        refractory=2 * ms, method=a["method"], name="inh")
    inh.v = -60 * mV
    # PoissonGroup's test (rand() < rate*dt), with the input switched off at t_off
    inp = NeuronGroup(784, "rate : Hz\nt_off : second (shared)",
                      threshold="rand() < rate*dt*int(t < t_off)", name="inp")
    model, on_pre, on_post = "w : 1", "ge_post += w", None
    if plastic:
        model += """
        post2bef : 1
        dpre/dt = -pre/(20*ms) : 1 (event-driven)
        dpost1/dt = -post1/(20*ms) : 1 (event-driven)
        dpost2/dt = -post2/(40*ms) : 1 (event-driven)
        """
        on_pre += "; pre = 1.; w = clip(w - 0.0001*post1, 0, 1.0)"
        on_post = ("post2bef = post2; w = clip(w + 0.01*pre*post2bef, 0, 1.0); "
                   "post1 = 1.; post2 = 1.")
    s_in = Synapses(inp, exc, model=model, on_pre=on_pre, on_post=on_post, name="s_in")
    s_in.connect(True)
    i_pre, j_post = np.asarray(s_in.i[:]), np.asarray(s_in.j[:])
    s_in.w_ = w_in[j_post, i_pre]
    if a["delays"]:
        s_in.delay = rng.uniform(0.0, 10.0, i_pre.size) * ms
    s_ei = Synapses(exc, inh, on_pre="ge_post += %r" % a["w_ei"])
    s_ei.connect(j="i")
    s_ie = Synapses(inh, exc, on_pre="gi_post += %r" % a["w_ie"])
    s_ie.connect("i != j")
    return Network(exc, inh, inp, s_in, s_ei, s_ie), i_pre, j_post


def present(net, imgs, j_post=None):
    """Every image of ``imgs`` (repeat rule included) in one run; learning if ``j_post``
    is given. Returns (spike counts [images, n] of each accepted presentation, presentations)."""
    exc, inp = net["exc"], net["inp"]
    st = {"k": 0, "f": 2.0, "shows": 0}
    out = np.zeros((len(imgs), n), np.int64)

    @network_operation(dt=500 * ms, when="start")
    def boundary(t):
        if st["shows"]:
            cnt = np.asarray(exc.cnt_[:]).astype(np.int64)
            if cnt.sum() >= 5 or (cap and st["f"] >= cap):
                out[st["k"]] = cnt
                st["k"] += 1
                st["f"] = 2.0
                if a["log_every"] and st["k"] % a["log_every"] == 0:
                    print(f"seed {a['seed']}: {st['k']} images, {st['shows']} presentations, "
                          f"{time.time() - t0:.0f} s", file=sys.stderr, flush=True)
            else:
                st["f"] += 1.0
        if st["k"] == len(imgs):
            net.stop()
            return
        if j_post is not None:
            w = np.asarray(net["s_in"].w_[:])
            net["s_in"].w_ = w * (a["w_sum"] / np.bincount(j_post, w, minlength=n))[j_post]
        exc.cnt_ = 0.0
        inp.rate_ = imgs[st["k"]] / 8.0 * st["f"]
        inp.t_off_ = exc.t_off_ = float(np.asarray(t)) + 0.350 - 1e-9
        st["shows"] += 1

    net.add(boundary)
    net.run(len(imgs) * 500 * ms * (cap or 1000.0), namespace={})
    net.remove(boundary)
    return out, st["shows"]


net, i_pre, j_post = build(True, rng.uniform(0.0, 0.3, (n, 784)),
                           np.full(n, a["theta_offset_mV"]))
t1 = time.time()
net.run(0 * ms, namespace={})  # code generation and cython compilation, timed apart
compile_s = time.time() - t1
counts, shows = present(net, x_tr, j_post)
t_train = time.time() - t0 - compile_s
w_in = np.zeros((n, 784))
w_in[j_post, i_pre] = np.asarray(net["s_in"].w_[:])
w_in *= a["w_sum"] / w_in.sum(axis=1, keepdims=True)
theta = np.asarray(net["exc"].theta_[:]) * 1e3
frozen = build(False, w_in, theta)[0]
t1 = time.time()
frozen.run(0 * ms, namespace={})
compile_s += time.time() - t1
lab = present(frozen, x_tr[-a["label"]:])[0]
resp = present(frozen, x_te)[0]
np.savez_compressed("responses.npz", label=lab, test=resp)  # read out by the caller
print(json.dumps({"seed": a["seed"], "presentations_per_image": shows / len(x_tr),
                  "exc_spikes_per_image": float(counts.sum(axis=1).mean()),
                  "theta_mV": [float(np.min(theta)), float(np.median(theta)), float(np.max(theta))],
                  "train_s": t_train, "compile_s": compile_s,
                  "wall_s": time.time() - t0 - compile_s,
                  "test_spikes_per_image": float(resp.sum(axis=1).mean()),
                  "version": brian2.__version__}))
'''

BRIAN2_VARIANTS = {
    "spikesim": dict(hold=True, delays=False, method="euler", cap=MAX_INTENSITY),
    "reference": dict(hold=False, delays=True, method="euler", cap=0.0),
    "exponential": dict(hold=True, delays=False, method="exponential_euler", cap=MAX_INTENSITY),
}


def brian2_runs(args, seeds, y_lab: np.ndarray, y_te: np.ndarray) -> list[dict]:
    """Run :data:`BRIAN2_SCRIPT` for ``seeds`` (``--jobs`` processes at once) in the Brian2
    virtualenv; one dict per seed (the script's last output line, and the accuracy that
    :func:`assign` and :func:`classify` give its spike counts with labels ``y_lab`` of the
    labelling images and ``y_te`` of the test images)."""
    import json
    import subprocess
    import tempfile
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from spikesim.benchmarks.cuba import brian2_python

    py = brian2_python(common.venv_dir("brian2"))

    def one(seed: int) -> dict:
        with tempfile.TemporaryDirectory() as wd:
            script = Path(wd) / "diehl_cook_brian2.py"
            script.write_text(BRIAN2_SCRIPT)
            payload = dict(BRIAN2_VARIANTS[args.brian2_variant], target="cython", dt_ms=args.dt,
                           n=args.neurons, seed=seed, train=args.train, label=args.label,
                           test=args.test, mnist=str(common.mnist_path(args.data)),
                           log_every=args.log_every, w_sum=W_SUM, w_ei=W_EI, w_ie=W_IE,
                           theta_plus_mV=THETA_PLUS / mV, theta_offset_mV=THETA_OFFSET / mV,
                           tau_theta_s=TAU_THETA, refrac_ms=REFRAC_E / ms,
                           tau_syn_ms=list(args.tau_syn))
            proc = subprocess.run([str(py), str(script), json.dumps(payload)],
                                  capture_output=True, text=True, cwd=wd,
                                  timeout=args.brian2_timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"Brian2 run (seed {seed}) failed:\n{proc.stderr[-3000:]}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            with np.load(Path(wd) / "responses.npz") as r:  # this module's readout
                labels = assign(r["label"], y_lab)
                out["accuracy"] = float(np.mean(classify(r["test"], labels) == y_te))
        return dict(out, **{k: v for k, v in payload.items() if k != "mnist"})

    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        return list(ex.map(one, seeds))


def _one_seed(job: dict) -> dict:
    """Train, assign labels and test for one seed (a process of its own with --jobs).
    ``job["tick"]`` (in this process) or ``job["queue"]`` (from another) gets the number
    of images done, for the progress bar of :func:`_run_seeds`."""
    n, seed, dt = job["n"], job["seed"], job["dt"]
    tick = job.get("tick")
    if tick is None and job.get("queue") is not None:
        tick = job["queue"].put
    t0 = time.perf_counter()
    c0 = time.process_time()
    tau_syn = job.get("tau_syn", TAU_SYN)
    w_in, theta, stats = train(n, job["x_tr"], seed, dt, False, job.get("log_every", 0),
                               tick=tick, tau_syn=tau_syn, epochs=job.get("epochs", 1))
    if job.get("save"):
        np.savez_compressed(f"{job['save']}_seed{seed}.npz", w_in=w_in, theta=theta)
    t_train = time.perf_counter() - t0
    cpu_train = time.process_time() - c0
    lab_resp = responses(n, w_in, theta, job["x_tr"][-job["label"]:], seed, dt, tick=tick,
                         tau_syn=tau_syn)
    labels = assign(lab_resp, job["y_tr"][-job["label"]:])
    t1 = time.perf_counter()
    test_resp = responses(n, w_in, theta, job["x_te"], seed, dt, tick=tick, tau_syn=tau_syn)
    acc = float(np.mean(classify(test_resp, labels) == job["y_te"]))
    t_all = time.perf_counter() - t0
    return {"seed": seed, "accuracy": acc, "train_s": t_train, "train_cpu_s": cpu_train,
            "label_s": t1 - t0 - t_train, "test_s": t_all - (t1 - t0), "total_s": t_all,
            "cpu_s": time.process_time() - c0,
            "classes_assigned": int(np.unique(labels[labels >= 0]).size),
            "unassigned_neurons": int(np.sum(labels < 0)),
            "silent_test_images": int(np.sum(test_resp.sum(axis=1) == 0)),
            "test_spikes_per_image": float(test_resp.sum(axis=1).mean()), **stats}


def _run_seeds(job: dict, seeds: int, jobs: int, progress: bool) -> list[dict]:
    """:func:`_one_seed` for seeds 0..seeds-1 on ``jobs`` processes (1: this one), with one
    progress bar over the images of all seeds (training, labelling and test); worker
    processes report through a queue."""
    from tqdm.auto import tqdm

    per_image = len(job["x_tr"]) * job.get("epochs", 1) + job["label"] + len(job["x_te"])
    bar = tqdm(total=seeds * per_image, desc=f"stdp-mnist, {seeds} seed(s)", unit="img",
               disable=not progress, smoothing=0.05)
    try:
        if jobs == 1:
            return [_one_seed(dict(job, seed=s, tick=bar.update if progress else None))
                    for s in range(seeds)]
        import multiprocessing
        import queue
        from concurrent.futures import ProcessPoolExecutor

        mgr = multiprocessing.Manager() if progress else None
        q = mgr.Queue() if mgr is not None else None
        try:
            with ProcessPoolExecutor(max_workers=jobs) as ex:
                futs = [ex.submit(_one_seed, dict(job, seed=s, queue=q)) for s in range(seeds)]
                while q is not None and not all(f.done() for f in futs):
                    try:
                        bar.update(q.get(timeout=0.5))
                    except queue.Empty:
                        pass
                while q is not None and not q.empty():
                    bar.update(q.get())
                return [f.result() for f in futs]
        finally:
            if mgr is not None:
                mgr.shutdown()
    finally:
        bar.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="spikesim bench stdp-mnist", description=DESCRIPTION)
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=1, help="runs seeds 0..K-1")
    ap.add_argument("--train", type=int, default=60000, help="training images (per pass)")
    ap.add_argument("--epochs", type=int, default=1,
                    help="passes over the training images (the issue's protocol: 1; the "
                         "reference code's default: 3)")
    ap.add_argument("--label", type=int, default=10000, help="last training images used for labels")
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--dt", type=float, default=0.5, help="time step in ms")
    ap.add_argument("--data", default=None, help="path to mnist.npz")
    ap.add_argument("--jobs", type=int, default=0,
                    help="seeds run in parallel processes (default 0: one per seed, at most "
                         "twice the CPU count; the OS shares the cores)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--save", default=None, help="save learned weights/thresholds to "
                    "SAVE_seed<k>.npz")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--log-every", type=int, default=0,
                    help="print a line every K training images (for runs without a bar)")
    ap.add_argument("--compare", choices=["brian2"], default=None,
                    help="also run the same protocol in Brian2 ($SPIKESIM_VENVS/brian2)")
    ap.add_argument("--brian2-variant", choices=sorted(BRIAN2_VARIANTS), default="spikesim",
                    help="spikesim: this module's model; reference: the reference code's "
                         "(no membrane hold, 0-10 ms input delays, forward Euler, no cap); "
                         "exponential: this module's model with Brian2's exponential_euler")
    ap.add_argument("--tau-syn", type=float, nargs=4, default=[t / ms for t in TAU_SYN],
                    metavar=("EXC_GE", "EXC_GI", "INH_GE", "INH_GI"),
                    help="conductance time constants in ms (default 1 2 1 2, the paper's); "
                         "1.2707 2.2604 1.2707 2.2604 gives each spike the charge Brian2's "
                         "exponential_euler gives it at dt = 0.5 ms (see the module docs)")
    ap.add_argument("--brian2-timeout", type=float, default=36000.0,
                    help="seconds allowed per Brian2 run")
    args = ap.parse_args(argv)
    if args.neurons < 1 or args.seeds < 1 or not (1 <= args.label <= args.train <= 60000):
        ap.error("need --neurons >= 1, --seeds >= 1 and 1 <= --label <= --train <= 60000")
    if args.epochs < 1:
        ap.error(f"--epochs: must be >= 1, got {args.epochs}")
    if args.epochs > 1 and args.compare:
        ap.error(f"--epochs {args.epochs}: the Brian2 comparison runs one pass only")
    if args.jobs < 0:
        ap.error(f"--jobs: must be >= 0 (0 = one process per seed), got {args.jobs}")
    if not all(np.isfinite(t) and t > 0 for t in args.tau_syn):
        ap.error(f"--tau-syn: four time constants in ms, each > 0, got {args.tau_syn}")
    if args.jobs == 0:
        import os

        args.jobs = max(1, min(args.seeds, 2 * (os.cpu_count() or 1)))
    t_main = time.perf_counter()
    x_tr, y_tr, x_te, y_te = common.load_mnist(args.data)
    x_tr, y_tr = x_tr[:args.train], y_tr[:args.train]
    x_te, y_te = x_te[:args.test], y_te[:args.test]
    dt = args.dt * 1e-3
    job = dict(n=args.neurons, x_tr=x_tr, y_tr=y_tr, x_te=x_te, y_te=y_te, label=args.label,
               dt=dt, save=args.save, log_every=args.log_every, epochs=args.epochs,
               tau_syn=tuple(t * ms for t in args.tau_syn))
    per_seed = _run_seeds(job, args.seeds, args.jobs, not args.no_progress)
    accs = [p["accuracy"] for p in per_seed]
    rows = [[p["seed"], p["accuracy"], p["train_s"], p["total_s"], p["classes_assigned"]]
            for p in per_seed]
    common.print_table(rows, ["seed", "accuracy", "train_s", "total_s", "classes"])
    total_train = sum(p["train_s"] for p in per_seed)
    wall = time.perf_counter() - t_main
    samples = args.train * args.epochs * args.seeds  # training presentations of images
    out = {"wall_s": wall, "jobs": args.jobs,
           "cpu_s_per_sample": sum(p["train_cpu_s"] for p in per_seed) / samples,
           "accuracy": float(np.mean(accs)), "accuracies": accs, "neurons": args.neurons,
           "train_samples": int(args.train), "epochs": int(args.epochs),
           "label_samples": int(args.label),
           "test_samples": int(len(x_te)), "s_per_sample": total_train / samples,
           "dt_s": dt, "tau_syn_s": [t * ms for t in args.tau_syn], "seeds": per_seed,
           "paper_accuracy_100": 0.829, "paper_accuracy_400": 0.870,
           "target_accuracy": 0.80, "target_wall_s": 1800.0,
           "deviations": "no input delays; membrane held 5 ms after a spike (the reference "
                         "does not hold it); labelling/test on fresh copies of the frozen "
                         "network; intensity capped at MAX_INTENSITY (see the module docs)",
           "note": "shared 2-core machine (timings noisy)", **common.meta()}
    print(f"accuracy {out['accuracy']:.4f} (mean of {args.seeds} seeds); "
          f"{out['s_per_sample'] * 1e3:.2f} ms per training sample; wall {wall:.0f} s for "
          f"train, labels and test with {args.jobs} processes")
    if args.compare == "brian2":
        b2 = brian2_runs(args, range(args.seeds), y_tr[-args.label:], y_te)
        common.print_table([[r["seed"], r["accuracy"], r["presentations_per_image"],
                             r["exc_spikes_per_image"], r["wall_s"]] for r in b2],
                           ["seed", "brian2 accuracy", "presentations/img", "spikes/img",
                            "wall_s"])
        out["compare"] = {"tool": "brian2 (cython runtime)", "variant": args.brian2_variant,
                          "accuracy": float(np.mean([r["accuracy"] for r in b2])),
                          "accuracies": [r["accuracy"] for r in b2], "runs": b2}
        print(f"brian2 ({args.brian2_variant} variant): accuracy "
              f"{out['compare']['accuracy']:.4f} (mean of {args.seeds} seeds)")
    common.write_json(args.json, out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
