"""Real event datasets through tonic, from files the user already has (never downloads).

``load_nmnist``, ``load_dvs_gesture`` and ``load_shd`` return the tonic dataset objects
themselves (``tonic.datasets.NMNIST`` ...), so every tonic transform and tool applies. The
only change: when the files are missing, tonic would start a download; here a
``FileNotFoundError`` says which files tonic expects where. Expected layouts (tonic 1.7):

- N-MNIST: ``<root>/NMNIST/train.zip`` (or ``test.zip``) next to the extracted
  ``Train/<digit>/*.bin`` (``Test/...``), 5-byte ATIS records; tonic checks >= 10000 files.
- DVS128 Gesture: ``<root>/DVSGesture/ibmGestureTrain.tar.gz`` (``ibmGestureTest.tar.gz``)
  and the extracted ``ibmGestureTrain/userNN_<lighting>/<label>.npy`` (x, y, p, t [ms]);
  tonic checks >= 100 files.
- SHD: ``<root>/SHD/shd_train.h5.zip`` (``shd_test.h5.zip``) and the extracted
  ``shd_train.h5`` (``spikes/times`` in s, ``spikes/units``, ``labels``, ``extra/...``).

tonic is imported inside each function.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

#: Sensor sizes (W, H, P) as tonic defines them.
SENSOR_SIZES = {"NMNIST": (34, 34, 2), "DVSGesture": (128, 128, 2), "SHD": (700, 1, 1)}

_LAYOUT = {
    "NMNIST": "{root}/NMNIST/{archive} plus the extracted {folder}/<digit>/*.bin files "
              "(download from https://www.garrickorchard.com/datasets/n-mnist)",
    "DVSGesture": "{root}/DVSGesture/{archive} plus the extracted {folder}/userNN_<lighting>/"
                  "<label>.npy files (tonic's preprocessed version)",
    "SHD": "{root}/SHD/{archive} plus the extracted {folder} "
           "(https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/)",
}


def _no_download(cls):
    """A subclass of a tonic dataset class, with the same name (tonic derives the folder from
    the class name), whose ``download`` raises instead of fetching."""

    def download(self):
        name = cls.__name__
        folder = getattr(self, "folder_name", "") or getattr(self, "data_filename", "")
        where = _LAYOUT[name].format(root=os.path.dirname(self.location_on_system),
                                     archive=self.filename, folder=folder)
        raise FileNotFoundError(
            f"{name} files not found (or incomplete) under {self.location_on_system}: expected "
            f"{where}. spikesim never downloads; fetch the dataset yourself or call "
            f"tonic.datasets.{name}(save_to=...) which downloads it.")

    return type(cls.__name__, (cls,), {"download": download, "__doc__": cls.__doc__,
                                        "__module__": cls.__module__})


def _root(save_to: str | os.PathLike) -> str:
    p = Path(save_to).expanduser()
    if not p.is_dir():
        raise FileNotFoundError(f"save_to={str(save_to)!r} is not a directory")
    return str(p)


def load_nmnist(save_to: str | os.PathLike, train: bool = True, *,
                first_saccade_only: bool = False, transform: Callable | None = None,
                target_transform: Callable | None = None):
    """N-MNIST through ``tonic.datasets.NMNIST`` from local files (no download).

    Args:
        save_to: the folder that holds ``NMNIST/``.
        train: training (60000) or test (10000) split.
        first_saccade_only, transform, target_transform: passed to tonic.

    Example:
        >>> ds = load_nmnist("~/data", train=False)            # doctest: +SKIP
        >>> events, label = ds[0]                              # doctest: +SKIP
    """
    import tonic

    cls = _no_download(tonic.datasets.NMNIST)
    return cls(_root(save_to), train=train, first_saccade_only=first_saccade_only,
               transform=transform, target_transform=target_transform)


def load_dvs_gesture(save_to: str | os.PathLike, train: bool = True, *,
                     transform: Callable | None = None,
                     target_transform: Callable | None = None):
    """DVS128 Gesture through ``tonic.datasets.DVSGesture`` from local files (no download).

    Example:
        >>> ds = load_dvs_gesture("~/data", train=False)       # doctest: +SKIP
    """
    import tonic

    cls = _no_download(tonic.datasets.DVSGesture)
    return cls(_root(save_to), train=train, transform=transform,
               target_transform=target_transform)


def load_shd(save_to: str | os.PathLike, train: bool = True, *,
             transform: Callable | None = None, target_transform: Callable | None = None):
    """Spiking Heidelberg Digits through ``tonic.datasets.SHD`` from local files (no download).

    Events have fields ``t, x, p`` (x = channel 0-699, t in microseconds); sensor
    ``(700, 1, 1)``.

    Example:
        >>> ds = load_shd("~/data", train=False)               # doctest: +SKIP
    """
    import tonic

    cls = _no_download(tonic.datasets.SHD)
    return cls(_root(save_to), train=train, transform=transform,
               target_transform=target_transform)
