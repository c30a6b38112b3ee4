"""NorthPole chip constants, each with its source.

Tags (as in ``../shared/reference/hardware.md``):
[PAPER] read in the paper's own text (abstract) in the stored pages;
[TRANS] read in a third-party text that quotes the paper word for word or copies its table;
[NEWS] read in press copies of the paper's numbers;
[RECALL] not confirmed in anything read here (kept as an explicit, overridable assumption).

Sources read (with the ``search`` tool, 2026-11-23):

* Modha et al., "Neural inference at the frontier of energy, space, and time",
  Science 382(6668):329-335, 2023, doi:10.1126/science.adh1174. Abstract [PAPER]
  (openreview.net/forum?id=FzJpr8XGg8, research.ibm.com): ResNet-50 vs a 12 nm GPU: 25x FPS/W,
  5x FPS per transistor, 22x lower latency; "Similar results are reported for the Yolo-v4
  detection network" (no absolute Yolo-v4 number in the abstract).
* F. Ottati, "NorthPole, IBM's latest Neuromorphic AI Hardware", Open Neuromorphic blog, 2023
  (open-neuromorphic.org/blog/northpole-ibm-neuromorphic-ai-hardware) [TRANS], as transcribed
  in ``../shared/reference/hardware.md`` section 3 (this helper's searches found the stored
  blog but their excerpts showed only its opening, so the quote was not re-read): quotes the paper
  "256 cores, 2048 (4096 and 8192) operations per core per cycle at 8-bit (at 4- and 2-bit,
  respectively) precision, 224 megabytes of on-chip memory (768 kilobytes per core,
  32-megabyte framebuffer for input-output)", "a distributed, modular core array (16-by-16)",
  and copies the paper's Table 1 row for ResNet-50: 74 W, 42,460 frames/s, 571 frames/J.
  The 400 MHz clock is the blog's statement, not a quote.
* Press copies [NEWS] (investlb.com, siliconangle.com 2023-10-20, saifontech.com): 256 cores,
  2,048 operations per core per cycle at 8 bit, doubled at 4 bit and quadrupled at 2 bit,
  12 nm, 22 billion transistors, 800 mm^2.
* Appuswamy et al., "Breakthrough low-latency, high-energy-efficiency LLM inference performance
  using NorthPole", IEEE HPEC 2024, abstract [PAPER] (openreview.net/forum?id=8yB8Wd9z90):
  a 3-billion-parameter LLM on 16 NorthPole cards: 28,356 tokens/s, 672 W.
* DeBole et al., "A Scalable NorthPole System ...", arXiv 2511.15950 (2025), abstract [PAPER]:
  288 cards deliver "115 peta-ops at 4-bit integer precision". Per card 115e15/288 = 3.99e14
  ops/s = 256 cores x 4096 ops x 381 MHz: consistent (within 5 %) with the 400 MHz clock and
  with system "ops" being the same unit as the per-core-per-cycle operations.

Is one "operation" one multiply-accumulate (MAC)?
    **Not stated in any text read here.** The quoted sentence says "operations"; none of the
    sources above defines whether a MAC counts as one operation or two (the usual TOPS
    convention of GPU and accelerator data sheets, which the paper compares against).
    We take ONE MAC = TWO OPERATIONS (:data:`MACS_PER_OP` = 0.5) as a documented assumption,
    for this reason: ResNet-50 is 4.09 GMAC per frame, so the published 42,460 frames/s is
    174 TMAC/s. With the paper's (recalled) 4-bit interior layers the 4-bit ceiling is
    256 x 4096 x 400 MHz = 419 T ops/s; reading op = MAC gives 41 % utilisation, reading
    op = 2 MAC gives 83 %. The abstract [PAPER] stresses a "high-utilization programming
    model", which fits the second reading (the first would also fit an all-8-bit network;
    conversely, under the second reading an all-8-bit ResNet-50 would need 166 % of the 8-bit
    ceiling, so the published speed itself implies mostly sub-8-bit layers, consistent with
    the recalled 4-bit interior).
    This choice is therefore NOT independent of the published frames/s: the +/-30 % check of
    the ResNet-50 schedule against 42,460 frames/s is a consistency check, not a prediction,
    and the benchmark reports the four combinations (op = MAC or 2 MACs, paper precisions or
    all 8 bit). Every function takes ``macs_per_op`` to override it.
"""
from __future__ import annotations

#: Core array: 16 x 16 = 256 cores. 256 [NEWS]/[TRANS]; 16-by-16 [TRANS] (Ottati quote).
GRID_ROWS: int = 16
GRID_COLS: int = 16
N_CORES: int = GRID_ROWS * GRID_COLS

#: Operations per core per clock cycle by precision (bits of weights and activations).
#: 2048 at 8 bit [NEWS]/[TRANS]; 4096 at 4 bit and 8192 at 2 bit [TRANS] (Ottati quote) and
#: [NEWS] ("doubled and quadrupled").
OPS_PER_CORE_PER_CYCLE: dict[int, int] = {8: 2048, 4: 4096, 2: 8192}

#: Supported precisions (bits) for weights and activations.
PRECISIONS: tuple[int, ...] = (8, 4, 2)

#: MACs per "operation" -- see the module docstring: NOT stated in the sources read; assumed
#: 0.5 (one MAC = two operations, the TOPS convention).
MACS_PER_OP: float = 0.5

#: Core memory for weights, activations and program, bytes: 768 KB per core [TRANS] (quote).
#: KB read as 1024 bytes (256 x 768 KiB = 192 MiB; + 32 MB framebuffer = 224 MB as quoted).
CORE_MEMORY_BYTES: int = 768 * 1024

#: Input-output framebuffer, bytes: 32 MB [TRANS] (quote). Not used for weights.
FRAMEBUFFER_BYTES: int = 32 * 1024 * 1024

#: Total on-chip memory, bytes: 224 MB [TRANS] (quote) = 256 x 768 KB + 32 MB.
TOTAL_MEMORY_BYTES: int = N_CORES * CORE_MEMORY_BYTES + FRAMEBUFFER_BYTES

#: Nominal clock, Hz: 400 MHz (blog statement, not a quote [RECALL]; consistent within 5 % with
#: DeBole et al. 2025's 115 peta-ops at 4 bit over 288 cards [PAPER], see module docstring).
F_CLK_HZ: float = 400e6

#: Accumulator width, bits. The sources read give no accumulator width; int32 is the usual
#: choice for 8-bit MAC arrays and is what the issue asks for [RECALL].
ACC_BITS: int = 32

#: Process, transistors, area [NEWS]; 12 nm also [PAPER] (abstract mentions 12 nm GPU parity).
PROCESS_NM: int = 12
TRANSISTORS: float = 22e9
AREA_MM2: float = 800.0

# --- published operating points (used to check the model; never to fit the schedule) -------
#: ResNet-50 on ImageNet, Table 1 of the paper via the Ottati blog [TRANS].
RESNET50_PUBLISHED: dict[str, float] = {"frames_per_s": 42460.0, "power_w": 74.0,
                                        "frames_per_j": 571.0}

#: Per-layer precisions of the paper's ResNet-50: first and last layer 8 bit, all others 4 bit.
#: [RECALL] -- not confirmed in any text read here; the benchmark also reports all-8-bit.
RESNET50_PRECISION_RECALL: dict[str, int] = {"first": 8, "last": 8, "other": 4}

#: Second published NorthPole network (HPEC 2024 abstract [PAPER]): 3-billion-parameter LLM on
#: 16 cards, 28,356 tokens/s at 672 W. MACs per token are taken as ~= parameter count (the
#: usual 2N-FLOPs-per-token estimate, attention over the context ignored) -- an assumption.
LLM3B_PUBLISHED: dict[str, float] = {"params": 3e9, "cards": 16, "tokens_per_s": 28356.0,
                                     "power_w": 672.0, "tokens_per_j": 28356.0 / 672.0}


def ops_per_core_per_cycle(bits: int) -> int:
    """Operations per core per cycle at ``bits`` (8, 4 or 2).

    Example::

        ops_per_core_per_cycle(4)   # 4096
    """
    check_precision(bits, "bits")
    return OPS_PER_CORE_PER_CYCLE[int(bits)]


def check_precision(bits, name: str = "precision") -> int:
    """Return ``bits`` as int if it is a supported precision, else raise ``ValueError``."""
    if isinstance(bits, bool) or not isinstance(bits, (int,)) and not (
            hasattr(bits, "__index__")):
        raise TypeError(f"{name}={bits!r} must be an int in {PRECISIONS}")
    b = int(bits)
    if b not in PRECISIONS:
        raise ValueError(f"{name}={bits!r} is not supported by NorthPole; allowed: "
                         f"{list(PRECISIONS)} bits")
    return b
