"""Loihi chip constants, each defined once with its source.

Source tags (as in ``../shared/reference/hardware.md``):

- ``[SRC lava]``: lava-nc/lava source, ``src/lava/proc/lif/models.py`` (``PyLifModelBitAcc``),
  ``src/lava/proc/dense/models.py``, ``src/lava/utils/weightutils.py``,
  ``src/lava/magma/core/learning/constants.py``.
- ``[TRANS davies2018]``: Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip
  Learning", IEEE Micro 38(1), 2018 (quoted through a research note, hardware.md 2.1).
- ``[DEY2022]``: Dey & Dimitrov, Front. Neurosci. 2022 (state widths).
- ``[RECALL]``: widths recalled, not read in a source; marked where used.
- ``[DERIVED]``: computed from the above (the static power, from Frady et al. 2020).
- ``[MODEL]``: a choice of this model where the sources are silent; documented where used.
"""
from __future__ import annotations

# ---------------------------------------------------------------- neuron (compartment) ----
DECAY_SHIFT = 12            #: decays are 12-bit fractions of 4096              [SRC lava]
DECAY_UNITY = 1 << DECAY_SHIFT  #: 4096                                         [SRC lava]
DECAY_MAX = DECAY_UNITY - 1  #: du, dv are unsigned 12-bit: 0..4095             [SRC lava]
DS_OFFSET = 1               #: Loihi-1 1-bit offset added to du (current decay) [SRC lava]
DM_OFFSET = 0               #: offset added to dv (voltage decay)               [SRC lava]
UV_BITS = 24                #: u and v are 24-bit signed                        [SRC lava, DEY2022]
MAX_UV = 1 << (UV_BITS - 1)  #: 2**23                                           [SRC lava]
VTH_BITS = 17               #: vth unsigned 17-bit: 0..131071                   [SRC lava, DEY2022]
VTH_MAX = (1 << VTH_BITS) - 1
VTH_SHIFT = 6               #: effective threshold = vth << 6                   [SRC lava]
ACT_SHIFT = 6               #: synaptic input a_in is shifted left by 6         [SRC lava]
BIAS_MANT_BITS = 13         #: bias mantissa signed 13-bit: -4096..4095         [SRC lava]
BIAS_MANT_MIN = -(1 << (BIAS_MANT_BITS - 1))
BIAS_MANT_MAX = (1 << (BIAS_MANT_BITS - 1)) - 1
BIAS_EXP_MIN = 0            #: bias exponent, unsigned 3-bit (Lava docstring)   [SRC lava]
BIAS_EXP_MAX = 7
A_IN_BITS = 16              #: the LIF input port is int16                      [SRC lava]
A_IN_MIN = -(1 << (A_IN_BITS - 1))
A_IN_MAX = (1 << (A_IN_BITS - 1)) - 1
REFRACTORY_MAX = 63         #: Loihi-1 refractory delay, 6-bit [RECALL]; absent from Lava

# ---------------------------------------------------------------- synapses ----------------
WEIGHT_MANT_BITS = 8        #: stored weight magnitude is 8 bits (+ sign when MIXED) [SRC lava]
WEIGHT_BITS_MIN = 1         #: "any weight precision between one and nine bits" [TRANS davies2018]
WEIGHT_BITS_MAX = 9
WEIGHT_EXP_MIN = -8         #: weight exponent, 4-bit signed [RECALL]
WEIGHT_EXP_MAX = 7
DELAY_BITS = 6              #: per-synapse delay field, 6 bits                  [TRANS davies2018]
DELAY_MAX = (1 << DELAY_BITS) - 1
SIGN_MODES = {"mixed": 1, "excitatory": 2, "inhibitory": 3}  #: Lava SignMode values [SRC lava]

# ---------------------------------------------------------------- learning engine ---------
TRACE_BITS = 7              #: x1, x2, y1, y2, y3 are 7-bit: 0..127             [SRC lava, TRANS davies2018]
TRACE_MAX = (1 << TRACE_BITS) - 1
IMPULSE_FRAC_BITS = 8       #: fractional bits of a trace impulse (W_TRACE_FRACTIONAL_PART) [SRC lava]
TRACE_DECAY_BITS = 12       #: trace decay stored like the neuron decays, x(1 - d/4096) per step [MODEL]
REWARD_TRACE_BITS = 8       #: r1, signed 8-bit reward trace [RECALL]
REWARD_TRACE_MIN = -(1 << (REWARD_TRACE_BITS - 1))
REWARD_TRACE_MAX = (1 << (REWARD_TRACE_BITS - 1)) - 1
ACCUMULATOR_BITS = 16       #: signed learning accumulator (W_ACCUMULATOR_S)   [SRC lava]
ACC_MIN = -(1 << (ACCUMULATOR_BITS - 1))
ACC_MAX = (1 << (ACCUMULATOR_BITS - 1)) - 1
SCALE_MANT_BITS = 4         #: scaling mantissa (W_S_MANT): |mant| <= 15        [SRC lava]
SCALE_MANT_MAX = (1 << SCALE_MANT_BITS) - 1
SCALE_EXP_MIN = -8          #: scaling exponent, 4-bit signed [RECALL]
SCALE_EXP_MAX = 7
CONST_BITS = 8              #: additive constants C are signed 8-bit (W_CONST)  [SRC lava]
CONST_MIN = -(1 << (CONST_BITS - 1))
CONST_MAX = (1 << (CONST_BITS - 1)) - 1
T_EPOCH_MAX = 63            #: learning epoch, at most 63 steps                 [TRANS davies2018]
DECIMATE_MAX = 7            #: u_k dependency: every 2**k epochs, k 0..7 [MODEL]
#: Synaptic variables: range and fractional bits in the 16-bit accumulator.
#: w: 9-bit signed -> 7 fractional bits (Lava); t (tag): 9-bit signed -> 7 [SRC lava, TRANS davies2018];
#: d (delay): 6-bit unsigned (Loihi-1 dly field) -> 9 fractional bits [TRANS davies2018, MODEL].
SYNVAR_RANGE = {"w": (-256, 255), "t": (-256, 255), "d": (0, DELAY_MAX)}
SYNVAR_FRAC_BITS = {"w": 7, "t": 7, "d": 9}

# ---------------------------------------------------------------- cores and chip -----------
COMPARTMENTS_PER_CORE = 1024    #: [TRANS davies2018]
CORES_PER_CHIP = 128            #: [TRANS davies2018]
FANIN_AXONS_PER_CORE = 4096     #: input axon distribution lists N_axin     [TRANS davies2018]
FANOUT_AXONS_PER_CORE = 4096    #: core-to-core fan-out edges N_axout       [TRANS davies2018]
SYNAPSE_MEMORY_BITS = 128 * 1024 * 8  #: 128 KB synaptic state per core      [TRANS davies2018]
CORES_PER_TILE = 4              #: Loihi-1 tile holds 4 cores; 32 tiles [RECALL]
MESH_COLS = 4                   #: tiles laid out as an 8 x 4 mesh [RECALL]
MESH_ROWS = 8
#: Bits per synapse entry in our synapse-memory check: weight bits + 6 delay bits when delays
#: are used + 9 tag bits when the rule has a tag target [MODEL: Loihi packs synapses in
#: variable-width 64-bit words; we bound the count by the field widths].

# ---------------------------------------------------------------- Table 2 (0.75 V) --------
#: Energy per operation in joules                                   [TRANS davies2018 Table 2]
E_SYNOP = 23.6e-12          #: synaptic spike op (minimum energy)
E_SYN_UPDATE = 120e-12      #: synaptic update, pairwise STDP
E_NEURON_ACTIVE = 81e-12    #: neuron update, active
E_NEURON_INACTIVE = 52e-12  #: neuron update, inactive
E_SPIKE_TILE = 1.7e-12      #: within-tile spike
E_HOP_EW = 3.0e-12          #: per tile hop, east-west
E_HOP_NS = 4.0e-12          #: per tile hop, north-south
#: Latency per operation in seconds                                 [TRANS davies2018 Table 2]
T_SYNOP = 3.5e-9            #: synaptic spike op (maximum time)
T_SYN_UPDATE = 6.1e-9
T_NEURON_ACTIVE = 8.4e-9
T_NEURON_INACTIVE = 5.3e-9
T_SPIKE_TILE = 2.1e-9
T_HOP_EW = 4.1e-9
T_HOP_NS = 6.5e-9
T_BARRIER_MIN = 113e-9      #: mesh-wide barrier, 1 tile
T_BARRIER_MAX = 465e-9      #: mesh-wide barrier, 32 tiles
TILES_MAX = 32
STATIC_POWER_W = 0.104      #: chip static power, about 104 mW [DERIVED from Frady et al. 2020]


def barrier_s(tiles: int) -> float:
    """Mesh-wide barrier time for ``tiles`` active tiles (1..32), seconds.

    Table 2 gives 113 ns for 1 tile and 465 ns for 32 tiles; between them we interpolate
    linearly in the number of tiles [MODEL].
    """
    t = min(max(int(tiles), 1), TILES_MAX)
    return T_BARRIER_MIN + (T_BARRIER_MAX - T_BARRIER_MIN) * (t - 1) / (TILES_MAX - 1)
