"""``python -m bench [--quick] [--size N|10m]``: the one-table benchmark (``bench.suite``)."""

from __future__ import annotations

from bench.suite import main

if __name__ == "__main__":
    main()
