"""The benchmark store: N generated indicators written over 400 simulated days, cached on disk.

Building a million-indicator store takes about a minute, so it is made once per
(count, seed) under ``bench/.data/`` and reused by every benchmark.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from iocfeed.demo import generate
from iocfeed.stix.ids import new_stix_id
from iocfeed.store.engine import open_engine
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.migrate import upgrade

DATA = Path(__file__).parent / ".data"
BATCH = 5000
SPAN = timedelta(days=400)


def write_dataset(url: str, count: int, *, seed: int = 7, end: datetime | None = None) -> None:
    """Write ``count`` demo indicators into a migrated store at ``url``, oldest batch first."""
    end = end or datetime.now(UTC)
    engine = open_engine(url)
    upgrade(engine)
    store = IndicatorStore(engine, new_stix_id)
    generated = generate(count, seed=seed, now=end)
    batches = max(count // BATCH, 1)
    step = SPAN / batches
    index = 0
    while batch := list(islice(generated, BATCH)):
        store.write(batch, end - SPAN + step * index)
        index += 1
    engine.dispose()


def sqlite_dataset(count: int, *, seed: int = 7) -> Path:
    """Path of a SQLite store holding ``count`` indicators (built on first use)."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"store-{count}-{seed}.db"
    if not path.exists():
        building = path.with_suffix(".building")
        for stale in DATA.glob(building.name + "*"):
            stale.unlink()
        write_dataset(f"sqlite:///{building}", count, seed=seed)
        shutil.move(building, path)
    engine = open_engine(f"sqlite:///{path}")
    upgrade(engine)  # a store cached before a newer migration gets it once
    engine.dispose()
    return path


if __name__ == "__main__":
    # python -m bench.dataset PATH COUNT: a SQLite store at PATH (run under either release).
    import sys

    write_dataset(f"sqlite:///{sys.argv[1]}", int(sys.argv[2]))
