"""NorthPole mapping: per-layer schedule, roofline, fit checks, shape-only ResNet-50."""
import math

import pytest

from spikesim.backends.northpole import params as P
from spikesim.backends.northpole.resnet50 import resnet50_shapes
from spikesim.backends.northpole.schedule import (LayerShape, layer_cycles, roofline_fps,
                                                  schedule)


def _dense(name, fin, fout, bits=8):
    return LayerShape(name, "dense", (fin,), (fout,), fin, fin * fout, bits, bits, bits)


def test_layer_cycles_and_roofline_by_hand():
    l = LayerShape("c", "conv", (16, 10, 10), (32, 10, 10), 144, 144 * 32, 8, 8, 8)
    # 3200 outputs on 3 cores -> busiest core 1067 outputs x 144 MACs / (2048 x 0.5) per cycle
    assert layer_cycles(l, 3, 0.5) == math.ceil(1067 * 144 / 1024)
    assert layer_cycles(l, 1, 1.0) == math.ceil(3200 * 144 / 2048)
    l4 = LayerShape("c", "conv", (16, 10, 10), (32, 10, 10), 144, 144 * 32, 4, 8, 8)
    assert l4.bits == 8  # compute precision is the wider of weights and inputs
    fps = roofline_fps([l, _dense("d", 100, 10, 2)], macs_per_op=1.0)
    t = 460800 / (256 * 2048 * 400e6) + 1000 / (256 * 8192 * 400e6)
    assert fps == pytest.approx(1 / t)


def test_small_model_fits_and_is_bounded_by_roofline():
    layers = [LayerShape("c1", "conv", (1, 28, 28), (16, 28, 28), 9, 144, 8, 8, 8),
              LayerShape("c2", "conv", (16, 14, 14), (32, 14, 14), 144, 4608, 8, 8, 8),
              _dense("fc", 32 * 7 * 7, 10)]
    s = schedule(layers)
    assert s.fits_on_chip and s.passes == 1 and s.cores_used <= P.N_CORES
    assert 0 < s.utilisation <= 1 and s.frames_per_s <= s.roofline_fps
    assert s.latency_cycles >= s.cycles_per_frame
    assert s.time_for(10) == pytest.approx((s.latency_cycles + 9 * s.cycles_per_frame) / 400e6)
    assert s.max_core_bytes <= P.CORE_MEMORY_BYTES
    assert "roofline" in s.table()
    seq = schedule(layers, mode="sequential")
    assert seq.frames_per_s <= seq.roofline_fps


def test_resnet50_shapes_macs_params():
    L = resnet50_shapes(8)
    assert len(L) == 54  # 53 convolutions + fc
    assert sum(l.macs for l in L) == pytest.approx(4.09e9, rel=0.01)
    assert sum(l.params for l in L) == pytest.approx(25.50e6, rel=0.005)
    paper = resnet50_shapes("paper")
    assert paper[0].bits == 8 and paper[-1].bits == 8 and {l.bits for l in paper[1:-1]} == {4}


def test_resnet50_schedule_within_30_percent_of_published():
    s = schedule(resnet50_shapes("paper"))
    assert s.fits_on_chip and s.cores_used == 256
    ratio = s.frames_per_s / P.RESNET50_PUBLISHED["frames_per_s"]
    assert 0.7 <= ratio <= 1.3, ratio
    # the other reading of "operation" doubles the model throughput (see params docstring)
    s1 = schedule(resnet50_shapes("paper"), macs_per_op=1.0)
    assert s1.frames_per_s == pytest.approx(2 * s.frames_per_s, rel=0.01)


def test_does_not_fit_error_and_multipass():
    big = [_dense(f"d{i}", 4096, 4096) for i in range(16)]  # 16 x 16 MB of int8 weights
    with pytest.raises(ValueError, match="does not fit on chip"):
        schedule(big)
    with pytest.raises(ValueError, match="offchip_bytes_per_s"):
        schedule(big, allow_multipass=True)
    with pytest.warns(RuntimeWarning, match="multi-pass"):
        s = schedule(big, allow_multipass=True, offchip_bytes_per_s=10e9, batch=4)
    assert not s.fits_on_chip and s.passes >= 2
    assert s.offchip_bytes_per_frame >= 16 * 4096 * 4096 / 4
    with pytest.raises(ValueError, match="alone needs"):
        schedule([_dense("huge", 20000, 20000)], allow_multipass=True, offchip_bytes_per_s=1e9)


def test_bad_input():
    with pytest.raises(ValueError, match="mode"):
        schedule([_dense("d", 4, 4)], mode="fast")
    with pytest.raises(ValueError, match="empty"):
        schedule([])
    with pytest.raises(ValueError, match="not supported by NorthPole"):
        _dense("d", 4, 4, bits=3)
    with pytest.raises(ValueError, match="not supported"):
        resnet50_shapes(16)
