"""``python -m spikesim``: same as the ``spikesim`` console script."""
from spikesim.cli import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
