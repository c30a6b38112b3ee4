"""TrueNorth chip constants, each once, with its source and how sure it is.

Tags (as in ``shared/reference/hardware.md``):

- ``[PAPER]``  read in the paper's own text (abstract, caption);
- ``[TRANS]``  read in a third-party transcription quoting the paper;
- ``[SRC]``    read in source code (NeMo, ``markplagge/NeMo`` @ 5edb82c, ``src/neuro/tn_neuron.c``
  and ``tn_neuron_struct.h``: an RPI simulator of the Cassidy et al. 2013 neuron);
- ``[RECALL]`` known from the literature but not confirmed in a source read for this project.

The register widths below were searched for on 2026-11-23 with the project's ``search`` tool
(stored web pages and code: the Cassidy 2013 abstract and the Merolla 2014 supplementary title
page were found, but not Table I of Cassidy 2013 nor Akopyan 2015's parameter table). They stay
``[RECALL]`` and are collected here so that one edit changes them everywhere. A third-party
review (IEEE Circuits and Systems Magazine, Q2 2022, Table II: "Binary with a choice of four
8-bit weights") [TRANS] agrees with an 8-bit weight magnitude plus sign, and NeMo stores a weight
as sign x magnitude (``synapticWeight[i] = sigma[i] * S[i]``) [SRC] and limits its PRN to 256
values (``largestRandomValue > 256`` is an error) [SRC].
"""
from __future__ import annotations

# --- chip and core geometry --------------------------------------------------------------
#: Neurosynaptic cores per chip. [PAPER] Merolla et al., Science 345:668 (2014), abstract.
CORES_PER_CHIP = 4096
#: Cores are a 64 x 64 2-D mesh on one chip. [TRANS] third-party notes quoting Merolla 2014
#: ("64 x 64 mesh"); also IEEE CAS Magazine 2022 ("64x64 core array") [TRANS].
MESH_WIDTH = 64
MESH_HEIGHT = 64
#: Axons (crossbar rows) per core. [PAPER] Merolla 2014 / Akopyan 2015, architecture figure caption.
AXONS_PER_CORE = 256
#: Neurons (crossbar columns) per core. [PAPER] same caption.
NEURONS_PER_CORE = 256
#: Axon types; each neuron holds one signed weight per type. [PAPER] caption ("axons are
#: assigned types which index a synaptic weight for each neuron"); [SRC] NeMo ``sigma[4], S[4]``.
N_AXON_TYPES = 4
#: Global tick in seconds (1 kHz, biological real time). [TRANS] notes quoting Merolla 2014.
TICK_S = 1e-3
#: Programmable axonal delay range in ticks (4-bit field). [RECALL] Merolla 2014 / Akopyan 2015;
#: [SRC] NeMo ``delayVal``: "this value is between 1 and 15".
DELAY_MIN = 1
DELAY_MAX = 15
#: Ternary inputs need a + copy and a - copy axon, so at most 128 inputs per core.
#: [PAPER] Esser et al., PNAS 113:11441 (2016) (trinary weights through the s_G weights).
TERNARY_INPUTS_PER_CORE = AXONS_PER_CORE // 2

# --- neuron register widths (Cassidy et al. 2013) -----------------------------------------
#: Membrane potential V: signed, 20 bits -> [-2**19, 2**19 - 1]; the model saturates to this
#: range (and counts saturations). [RECALL] hardware.md 1.2 ("about 20-bit signed"); not
#: confirmed. NeMo clamps at +/-393216 instead, its own choice [SRC].
V_BITS = 20
V_MIN = -(2 ** (V_BITS - 1))
V_MAX = 2 ** (V_BITS - 1) - 1
#: Synaptic type weights s_j^G: sign + 8-bit magnitude (9-bit signed, -255..255).
#: [RECALL] hardware.md 1.2 ("9-bit signed"); [TRANS] IEEE CAS Mag. 2022 ("four 8-bit weights");
#: [SRC] NeMo sign x magnitude.
WEIGHT_BITS = 9
WEIGHT_MIN = -(2 ** (WEIGHT_BITS - 1) - 1)
WEIGHT_MAX = 2 ** (WEIGHT_BITS - 1) - 1
#: Leak lambda_j: sign + 8-bit magnitude (-255..255). [RECALL] hardware.md 1.2; [SRC] NeMo sigma_l x lambda.
LEAK_BITS = 9
LEAK_MIN = -(2 ** (LEAK_BITS - 1) - 1)
LEAK_MAX = 2 ** (LEAK_BITS - 1) - 1
#: Positive threshold alpha_j and negative threshold magnitude beta_j: unsigned 18 bits.
#: [RECALL] hardware.md 1.2 ("thresholds 18-bit"). alpha >= 1 (a zero threshold would fire
#: every tick at rest; the model allows 0 but documents it).
THRESHOLD_BITS = 18
THRESHOLD_MAX = 2 ** THRESHOLD_BITS - 1
#: Reset value R_j: signed, same width as V (it is loaded into V). [RECALL] (NeMo encodes it
#: as sign x (2**VR - 1), an encoding we do not model) [SRC].
RESET_MIN = V_MIN
RESET_MAX = V_MAX
#: Threshold mask M_j: a mask of low-order ones, M_j = 2**TM - 1, TM in 0..17 so that
#: eta = rho & M_j stays within the threshold width. [PAPER]/[SRC] "mask of low-order ones"
#: (hardware.md 1.2, NeMo ``thresholdPRNMask``); the width bound is [RECALL].
MASK_BITS_MAX = THRESHOLD_BITS - 1
#: The random number rho compared with |s| (stochastic synapse) and |lambda| (stochastic leak)
#: is 8 bits (0..255): the step is +/-1 with probability (|s| + 1) / 256 for s != 0, because the
#: comparison F(s, rho) = sgn(s) if |s| >= rho (hardware.md 1.2, NeMo ``BINCOMP``) includes
#: equality. [SRC] NeMo draws in [0, largestRandomValue <= 256]; 8 bits is [RECALL].
RHO_BITS = 8

# --- energy operating points (for reference only; pricing lives in spikesim.energy) ------
#: All-in energy per synaptic event at one operating point (20 Hz, 128 active synapses per
#: neuron, 0.775 V, ~72 mW). Not a slope. [TRANS] notes quoting Merolla 2014.
ENERGY_PER_SYNOP_J_OPERATING_POINT = 26e-12
#: "Typical" real-time power. [PAPER] Akopyan 2015 title (65 mW).
TYPICAL_POWER_W = 65e-3

# --- PRNG -----------------------------------------------------------------------------------
#: Random numbers are counter based (Salmon et al., "Parallel random numbers: as easy as 1, 2,
#: 3", SC 2011): each draw is MurmurHash3's 32-bit finaliser fmix32 (A. Appleby, public domain)
#: of a counter naming the draw (core key, tick, synapse/leak/threshold, axon, neuron); the core
#: keys come from splitmix64 (Steele et al. 2014) of the user's seed. This is *our* generator:
#: the chip's PRNG is not published bit-exactly, so only the statistics (not the exact draws)
#: correspond to hardware. Being order-free, it lets cores run in parallel and neurons in SIMD.
PRNG = "fmix32(counter) per draw; core keys splitmix64(seed, core)"
