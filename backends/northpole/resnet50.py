"""Shape-only ResNet-50 (He et al. 2016; torchvision "v1.5": stride 2 on the 3x3 conv).

Layer shapes give MACs and memory; no weights are needed. Batch-norm is folded into the
convolutions (no MACs), residual adds and pooling are fused into the producing layer (see
:mod:`.schedule`). 53 convolutions + 1 fully connected layer, 25.5 M weights, 4.09 GMAC per
224 x 224 frame.
"""
from __future__ import annotations

import math

from spikesim.backends.northpole import params as P
from spikesim.backends.northpole.schedule import LayerShape


def _precisions(precision) -> tuple[int, int, int]:
    """(first, other, last) bits from ``precision``: an int, or ``"paper"`` (the recalled
    per-layer precisions of the NorthPole paper, see :data:`params.RESNET50_PRECISION_RECALL`)."""
    if precision == "paper":
        r = P.RESNET50_PRECISION_RECALL
        return r["first"], r["other"], r["last"]
    b = P.check_precision(precision, "precision")
    return b, b, b


def resnet50_shapes(precision: int | str = "paper", image: int = 224,
                    classes: int = 1000) -> list[LayerShape]:
    """The MAC layers of ResNet-50 as :class:`LayerShape` (execution order).

    Args:
        precision: 8, 4 or 2 for every layer, or ``"paper"``: first and last layer 8 bit,
            the others 4 bit ([RECALL], see :mod:`.params`).
        image: input side in pixels; classes: outputs of the last layer.

    Example::

        layers = resnet50_shapes("paper")
        sum(l.macs for l in layers) / 1e9    # ~4.09 GMAC
    """
    first, other, last = _precisions(precision)
    out: list[LayerShape] = []

    def conv(name, cin, h, cout, k, s, wb, ab, ob, extra=0):
        p = k // 2
        ho = (h + 2 * p - k) // s + 1
        out.append(LayerShape(name, "conv", (cin, h, h), (cout, ho, ho), cin * k * k,
                              cin * k * k * cout, wb, ab, ob, extra))
        return ho

    h = conv("conv1", 3, image, 64, 7, 2, first, first, other)
    h = (h + 2 - 3) // 2 + 1          # 3x3/2 max-pool (fused into conv1's cores)
    cin = 64
    for stage, (width, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2),
                                                     (512, 3, 2)), start=1):
        for b in range(blocks):
            s = stride if b == 0 else 1
            name = f"layer{stage}.{b}"
            cout = width * 4
            # the block input (skip) is held while the frame passes the 3 convs: 4 frames
            skip_elems = cin * h * h if (b > 0) else 0
            h1 = conv(f"{name}.conv1", cin, h, width, 1, 1, other, other, other)
            h2 = conv(f"{name}.conv2", width, h1, width, 3, s, other, other, other)
            extra = math.ceil(4 * skip_elems * other / 8)
            conv(f"{name}.conv3", width, h2, cout, 1, 1, other, other, other, extra)
            if b == 0:
                conv(f"{name}.downsample", cin, h, cout, 1, s, other, other, other)
            h, cin = h2, cout
    # global average pool (fused), then the classifier
    out.append(LayerShape("fc", "dense", (cin,), (classes,), cin, cin * classes, last, last,
                          None))
    return out
