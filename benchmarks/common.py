"""Helpers shared by every benchmark: machine facts, JSON output, tables, data paths."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence


def git_commit() -> str | None:
    """The current git commit of the source tree, if it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def cpu_info() -> str:
    """CPU model name and core count, e.g. 'AMD EPYC 7B13 (2 cores)'."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores)"


def versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Versions of python, spikesim, numpy, numba and any ``extra`` packages."""
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for pkg in ("spikesim", "numpy", "numba", "scipy", *extra):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def meta(extra_versions: Iterable[str] = ()) -> dict[str, Any]:
    """Fields every benchmark JSON carries: versions, git commit, cpu, date, and how busy the
    machine was (load averages, this process's nice value, Linux's autogroup setting, under
    which nice only ranks processes of the same session)."""
    return {
        "versions": versions(extra_versions),
        "git_commit": git_commit(),
        "cpu": cpu_info(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine_load": machine_load(),
    }


def machine_load() -> dict[str, Any]:
    """Load averages (1, 5, 15 min), nice value and ``sched_autogroup_enabled`` (None where the
    platform has no such thing)."""
    try:
        load = list(os.getloadavg())
    except (AttributeError, OSError):
        load = None
    try:
        nice = os.nice(0)
    except (AttributeError, OSError):
        nice = None
    try:
        autogroup = int(Path("/proc/sys/kernel/sched_autogroup_enabled").read_text())
    except (OSError, ValueError):
        autogroup = None
    return {"load_avg": load, "nice": nice, "sched_autogroup": autogroup}


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    return x


def write_json(path: str | os.PathLike | None, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON to ``path`` (no-op when ``path`` is None)."""
    if path is None:
        return
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n")
    print(f"wrote {p}")


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain-text table with aligned columns (floats to 4 significant digits)."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            if v == 0 or 1e-3 <= abs(v) < 1e5:
                return f"{v:.4g}"
            return f"{v:.3e}"
        return str(v)

    cells = [[fmt(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join([line, sep, *body])


def print_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    print(format_table(rows, header))


def mnist_path(arg: str | None) -> Path:
    """Resolve the MNIST file: ``--data`` argument, then ``$SPIKESIM_MNIST``, then
    ``../shared/data/mnist.npz`` (relative to the working directory or the repository).

    Raises ``FileNotFoundError`` with instructions when none exists.
    """
    cands: list[Path] = []
    if arg:
        cands.append(Path(arg))
    elif os.environ.get("SPIKESIM_MNIST"):
        cands.append(Path(os.environ["SPIKESIM_MNIST"]))
    else:
        cands.append(Path.cwd().parent / "shared" / "data" / "mnist.npz")
        repo = Path(__file__).resolve().parent.parent
        cands.append(repo.parent / "shared" / "data" / "mnist.npz")
    for c in cands:
        if c.is_file():
            return c
    raise FileNotFoundError(
        f"MNIST file not found (looked at {[str(c) for c in cands]}). Pass --data PATH or set "
        "SPIKESIM_MNIST to an .npz with uint8 arrays x_train (60000,28,28), y_train, x_test "
        "(10000,28,28), y_test; e.g. convert the files from http://yann.lecun.com/exdb/mnist/ "
        "with numpy.savez."
    )


def load_mnist(arg: str | None = None):
    """``(x_train, y_train, x_test, y_test)`` as uint8/int64 arrays from :func:`mnist_path`."""
    import numpy as np

    with np.load(mnist_path(arg)) as f:
        return f["x_train"], f["y_train"].astype(np.int64), f["x_test"], f["y_test"].astype(np.int64)


def venv_dir(name: str) -> Path:
    """Folder of the comparison virtualenv ``name`` (Brian2, NEST, snnTorch, Lava...):
    ``$SPIKESIM_VENVS/<name>``, default ``~/.cache/spikesim/venvs/<name>``. Comparisons run
    there, never in the package's environment."""
    root = os.environ.get("SPIKESIM_VENVS") or str(Path.home() / ".cache" / "spikesim" / "venvs")
    return Path(root) / name


def venv_python(name: str) -> Path:
    """The python executable of :func:`venv_dir` ``(name)`` (may not exist)."""
    return venv_dir(name) / "bin" / "python"


class Timer:
    """``with Timer() as t: ...; t.s`` -- wall-clock seconds (perf_counter)."""

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
        return False
