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
    **Not stated in any primary text that could be read** (re-checked 2026-11-23 with the
    ``search``, ``find_string`` and ``read_file`` tools over stored pages, docs, code and
    issues). What each source says, word for word:

    1. Modha et al. 2023, abstract [PAPER] (openreview.net/forum?id=FzJpr8XGg8,
       researcher.watson.ibm.com publication page): no per-core figure; "a co-optimized,
       high-utilization programming model".
    2. The paper's body, quoted word for word by F. Ottati [TRANS] (repository
       ``fabrizio-ottati/fabrizio-ottati.dev``, ``content/blog/northpole/index.md`` @ 03d3cae0;
       the same post on open-neuromorphic.org): "256 cores, 2048 (4096 and 8192) operations
       per core per cycle at 8-bit (at 4- and 2-bit, respectively) precision" and (Axiom 3)
       "each core capable of massive parallelism (8192 2-bit operations per cycle) (Fig. 2F)".
       "Operations" is not defined in either sentence.
    3. Ottati's own reading (third party, not the paper): "Each core can carry out 2048 INT8
       operations in parallel per iteration, which means that are 2048 PEs per core"; an
       earlier draft of the post (same search results) hedged: "it might mean that NorthPole
       has 2048 multiply-and-accumulate (MAC) units that work on INT8 precision operands".
       He also writes "in Table 1 of the paper, the power consumption required to run an INT8
       version of ResNet50 is 74 W" -- again his reading (his copy of the table lists the
       formats "INT8,4,1").
    4. Hot Chips 2023 talk as reported by SemiEngineering ("IBM's Energy-Efficient NorthPole
       AI Unit", semiengineering.com/ibms-energy-efficient-northpole-ai-unit) [NEWS]: "a
       Vector Matrix Multiplication Engine capable of 8-, 4- and 2-bit precision operations
       at 2048, 4096 and 8192 Ops/cycle respectively ... a Vector Compute Unit capable of 256
       FP16 ops/cycle ... an "Activation" Function Unit capable of 32 FP16 ops/cycle". Ops of
       the VMM engine; a MAC is not mentioned. The slides themselves were not found.
    5. IBM Research blog (research.ibm.com/blog/northpole-ibm-ai-chip, stored excerpt) and
       press copies (tweaktown, saifontech, investlb): "2,048 operations per core per cycle at
       8-bit precision"; no definition.
    6. Appuswamy et al., HPEC 2024, abstract [PAPER]: tokens/s and W only. Cassidy et al. /
       the HPEC full text: not found in the stores.
    7. DeBole et al. 2025 (arXiv 2511.15950, abstract and introduction [PAPER]): "115
       peta-ops at 4-bit integer precision" for 288 cards, i.e. 256 x 4096 ops x 381 MHz per
       card: the same unit as the per-core figure, still undefined.
    8. Generic convention only (not about NorthPole): "Some vendors count a multiply ... as one
       operation and an accumulation ... as one operation. So a single Multiply-Accumulate =
       2 Operations" (SemiEngineering, "Lies, Damn Lies, And TOPS/Watt").

    Not found anywhere searchable: the paper's full text (Fig. 2F, Table 1 footnotes), its
    supplementary material, the Hot Chips slides.

    Convention kept: ONE MAC = TWO OPERATIONS (:data:`MACS_PER_OP` = 0.5), a documented
    assumption, unchanged because no primary source decides it and the only explicit reading
    (item 3, op = one MAC unit) is a third party's. The question is tied to another unknown,
    the precision of the published ResNet-50 (4.09 GMAC/frame, 42,460 frames/s = 174 TMAC/s):

    ============================  ======================  =========================
    reading                       ResNet-50 interior 4 b   ResNet-50 all 8 b
                                  ([RECALL] hardware.md)   (Ottati's reading, item 3)
    ============================  ======================  =========================
    op = 2 ops per MAC (default)  47,830 fps (+12.6 %)    23,915 fps (-43.7 %)
    op = 1 MAC                    95,648 fps (+125 %)     47,830 fps (+12.6 %)
    ============================  ======================  =========================

    (``spikesim bench northpole --resnet50-shapes``, ``benchmarks/results/
    northpole_resnet50_shapes.json``). The two diagonal pairs are the same schedule (both
    mean 2048 MACs per core per cycle at the precision the network uses), so the frames/s
    check within +/-30 % holds under either reading; it is a consistency check, not a
    prediction, and which pair is true stays open. Every function takes ``macs_per_op`` to
    override the default.
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

#: MACs per "operation" -- see the module docstring: NOT stated in any primary source read
#: (eight sources checked, listed there); assumed 0.5 (one MAC = two operations).
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
