"""``python -m bench``: run every ``bench/*_speed.py`` module's ``main()``, in name order."""

from __future__ import annotations

import importlib
from pathlib import Path


def main() -> None:
    for path in sorted(Path(__file__).parent.glob("*_speed.py")):
        print(f"\n== bench.{path.stem} ==", flush=True)
        importlib.import_module(f"bench.{path.stem}").main()


if __name__ == "__main__":
    main()
