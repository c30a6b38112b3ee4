"""Real-dataset loaders through tonic on tiny fake folders in the real on-disk formats.

tonic 1.7 checks that the archive file exists and that at least N extracted files are
present (N-MNIST 10000, DVS Gesture 100); the tests lower that minimum by monkeypatching
``_check_exists`` (the check, not the reading code) so a handful of files suffices.
"""
from __future__ import annotations

import numpy as np
import pytest

tonic = pytest.importorskip("tonic")

from spikesim.data import (SyntheticEventDigits, ToSpikeTensor, load_dvs_gesture,  # noqa: E402
                           load_nmnist, load_shd, to_frames, validate_events)


def write_atis_bin(path, ev):
    """N-MNIST 40-bit records: x, y, p<<7 | t[22:16], t[15:8], t[7:0] (t < 2**23 us)."""
    t = ev["t"].astype(np.uint32)
    assert t.max() < 2 ** 23
    raw = np.zeros((len(ev), 5), np.uint8)
    raw[:, 0] = ev["x"]
    raw[:, 1] = ev["y"]
    raw[:, 2] = (ev["p"].astype(np.uint32) << 7) | ((t >> 16) & 0x7F)
    raw[:, 3] = (t >> 8) & 0xFF
    raw[:, 4] = t & 0xFF
    path.write_bytes(raw.tobytes())


def _min_files(n, ext):
    def check(self):
        return self._is_file_present() and self._folder_contains_at_least_n_files_of_type(n, ext)
    return check


@pytest.fixture
def digits():
    imgs = np.zeros((4, 28, 28), np.uint8)
    imgs[0, 6:22, 13:15] = 255                     # a "1"
    imgs[1, 8:20, 8:20] = 255                      # a block
    imgs[2, 10:12, 4:24] = 255                     # a bar
    imgs[3, 4:24, 4:8] = 200
    return SyntheticEventDigits(imgs, np.array([1, 0, 7, 4]), seed=3)


def test_nmnist_fake_folder_roundtrip(tmp_path, monkeypatch, digits):
    root = tmp_path / "NMNIST"
    (root / "Test").mkdir(parents=True)
    (root / "test.zip").write_bytes(b"")
    written = []
    for k in range(len(digits)):
        ev, label = digits[k]
        d = root / "Test" / str(label)
        d.mkdir(exist_ok=True)
        write_atis_bin(d / f"{k:05d}.bin", ev)
        written.append((label, ev))
    monkeypatch.setattr(tonic.datasets.NMNIST, "_check_exists", _min_files(4, ".bin"))
    ds = load_nmnist(tmp_path, train=False)
    assert len(ds) == 4 and type(ds).__name__ == "NMNIST"
    assert isinstance(ds, tonic.datasets.NMNIST)
    by_label = dict(written)
    for i in range(len(ds)):
        ev, label = ds[i]
        want = by_label[label]
        np.testing.assert_array_equal(ev["t"], want["t"])
        np.testing.assert_array_equal(ev["x"], want["x"])
        np.testing.assert_array_equal(ev["p"], want["p"])
        validate_events(ev, ds.sensor_size)
    # through tonic transforms and the adapter
    tf = tonic.transforms.Compose([tonic.transforms.Denoise(filter_time=10_000),
                                   tonic.transforms.Downsample(spatial_factor=0.5)])
    ds2 = load_nmnist(tmp_path, train=False, transform=tf)
    frames = ToSpikeTensor((17, 17, 2), dt_s=0.0315, duration_s=0.315)(ds2[0][0])
    assert frames.shape == (10, 2, 17, 17) and frames.sum() > 0


def test_nmnist_missing_files_never_download(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("tried to download")
    monkeypatch.setattr(tonic.dataset, "download_and_extract_archive", boom)
    with pytest.raises(FileNotFoundError, match=r"NMNIST files not found.*train.zip"):
        load_nmnist(tmp_path, train=True)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_nmnist(tmp_path / "nope")


def test_dvs_gesture_fake_folder(tmp_path, monkeypatch):
    root = tmp_path / "DVSGesture"
    rng = np.random.default_rng(0)
    (root / "ibmGestureTest.tar.gz").parent.mkdir(parents=True)
    (root / "ibmGestureTest.tar.gz").write_bytes(b"")
    wrote = {}
    for user, light in [(1, "fluorescent"), (2, "lab")]:
        d = root / "ibmGestureTest" / f"user{user:02d}_{light}"
        d.mkdir(parents=True)
        for label in (0, 3):
            n = 200
            arr = np.zeros((n, 4), np.int64)        # columns x, y, p, t [ms]
            arr[:, 0] = rng.integers(0, 128, n)
            arr[:, 1] = rng.integers(0, 128, n)
            arr[:, 2] = rng.integers(0, 2, n)
            arr[:, 3] = np.sort(rng.integers(0, 1500, n))
            np.save(d / f"{label}.npy", arr)
            wrote[(user, label)] = arr
    monkeypatch.setattr(tonic.datasets.DVSGesture, "_check_exists", _min_files(4, ".npy"))
    ds = load_dvs_gesture(tmp_path, train=False)
    assert len(ds) == 4 and sorted(set(ds.targets)) == [0, 3]
    for i in range(len(ds)):
        ev, label = ds[i]
        arr = wrote[(ds.users[i], label)]
        np.testing.assert_array_equal(ev["t"], arr[:, 3] * 1000)        # ms -> us
        np.testing.assert_array_equal(ev["x"], arr[:, 0])
        f = to_frames(ev, ds.sensor_size, dt_s=0.1, duration_s=1.5, binary=False)
        assert f.shape == (15, 2, 128, 128) and f.sum() == len(ev)


def test_shd_fake_file(tmp_path):
    h5py = pytest.importorskip("h5py")
    root = tmp_path / "SHD"
    root.mkdir()
    (root / "shd_test.h5.zip").write_bytes(b"")
    rng = np.random.default_rng(1)
    times, units = [], []
    for k in range(3):
        n = 40 + 10 * k
        times.append(np.sort(rng.uniform(0, 0.9, n)).astype(np.float16))
        units.append(rng.integers(0, 700, n).astype(np.uint16))
    with h5py.File(root / "shd_test.h5", "w") as f:
        ft = f.create_dataset("spikes/times", (3,), dtype=h5py.vlen_dtype(np.float16))
        fu = f.create_dataset("spikes/units", (3,), dtype=h5py.vlen_dtype(np.uint16))
        for k in range(3):
            ft[k] = times[k]
            fu[k] = units[k]
        f["labels"] = np.array([5, 0, 19], np.uint16)
        f["extra/keys"] = np.array([b"k%d" % i for i in range(20)])
        f["extra/speaker"] = np.array([1, 2, 3], np.uint16)
    ds = load_shd(tmp_path, train=False)
    assert len(ds) == 3
    ev, label = ds[2]
    assert label == 19 and set(ev.dtype.names) == {"t", "x", "p"}
    np.testing.assert_array_equal(ev["x"], units[2])
    f = to_frames(ev, (700, 1, 1), dt_s=0.01, duration_s=1.0, binary=False)
    assert f.shape == (100, 1, 1, 700) and f.sum() == len(ev)


def test_synthetic_digits_are_labelled_and_deterministic(digits):
    assert digits.synthetic is True and "synthetic" in digits.description
    assert "synthetic=True" in repr(digits)
    a, la = digits[2]
    b, lb = digits[2]
    np.testing.assert_array_equal(a, b)
    assert la == lb == 7
    assert a.dtype == tonic.datasets.NMNIST.dtype and validate_events(a, digits.sensor_size) is a
    assert 0 < a["t"][0] and a["t"][-1] <= 315_000
    assert 0.3 < a["p"].mean() < 0.7                 # ON and OFF both present
    with pytest.raises(IndexError):
        digits[4]
    with pytest.raises(ValueError, match="28, 28"):
        SyntheticEventDigits(np.zeros((2, 20, 20)), np.zeros(2))


def test_sensor_seed_shares_one_camera():
    imgs = np.zeros((1, 28, 28), np.uint8)
    a = SyntheticEventDigits(imgs, np.array([0]), seed=0)
    b = SyntheticEventDigits(imgs, np.array([0]), seed=1, sensor_seed=0)
    c = SyntheticEventDigits(imgs, np.array([0]), seed=1)
    np.testing.assert_array_equal(a.thresholds[0], b.thresholds[0])
    assert not np.array_equal(a.thresholds[0], c.thresholds[0])
