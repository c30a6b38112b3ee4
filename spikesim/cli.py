"""Command line: ``spikesim demo`` and ``spikesim bench NAME [options]``.

``spikesim bench`` with no name lists the benchmarks; ``spikesim bench NAME --help`` shows a
benchmark's options. Every benchmark prints a table and writes JSON with ``--json PATH``.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="spikesim",
        description="spikesim: spiking networks from Jupyter to neuromorphic chips.",
    )
    sub = parser.add_subparsers(dest="command")
    p_demo = sub.add_parser("demo", help="simulate a network, print a summary, write a raster PNG")
    p_demo.add_argument("--out", default="spikesim_demo", help="output folder (default: %(default)s)")
    p_demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p_bench = sub.add_parser("bench", help="run a benchmark: spikesim bench NAME --help",
                             add_help=False)
    p_bench.add_argument("name", nargs="?", help="benchmark name")
    sub.add_parser("version", help="print the version")

    if argv[:1] == ["bench"]:
        # Everything after the benchmark name belongs to the benchmark's own parser.
        from spikesim import benchmarks

        if len(argv) < 2 or argv[1] in {"-h", "--help"}:
            print("usage: spikesim bench NAME [options]\n\nbenchmarks:")
            for name in benchmarks.names():
                mod = benchmarks.get(name)
                print(f"  {name:14s} {getattr(mod, 'DESCRIPTION', '')}")
            return 0
        try:
            mod = benchmarks.get(argv[1])
        except ValueError as exc:
            print(f"spikesim bench: {exc}", file=sys.stderr)
            return 2
        return int(mod.main(argv[2:]) or 0)

    args = parser.parse_args(argv)
    if args.command == "demo":
        from spikesim.demo import run_demo

        return int(run_demo(out=args.out, progress=not args.no_progress) or 0)
    if args.command == "version":
        import spikesim

        print(spikesim.__version__)
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
