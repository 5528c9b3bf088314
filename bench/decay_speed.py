"""Decay's cost: loading with decay on against off, and the decay sweep against the expiry
sweep, on the same indicators in the same run (SQLite in a temporary directory).

``python -m bench.decay_speed [N] [REPEATS]``: N indicators (default 50,000), medians of
REPEATS runs (default 3). Loads are ``IndicatorStore.write`` in batches of 5,000; the decay
sweep runs once everything is due (each indicator gets one new version, a lower score),
the expiry sweep once every indicator is past ``valid_until`` (each gets one revoked one).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from iocfeed.config import Settings
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType
from iocfeed.services import decay_policy
from iocfeed.stix.ids import new_stix_id
from iocfeed.store.engine import open_engine
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.migrate import upgrade

BATCH = 5000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def inputs(count: int, *, expiring: bool) -> list[IndicatorInput]:
    until = T0 + timedelta(days=1) if expiring else None
    return [
        IndicatorInput(
            IocType.IPV4,
            f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
            Confidence.HIGH,
            first_seen=T0,
            last_seen=T0,
            valid_until=until,
        )
        for n in range(count)
    ]


def fresh_store(directory: Path, name: str, *, decay: bool) -> IndicatorStore:
    engine = open_engine(f"sqlite:///{directory / name}.db")
    upgrade(engine)
    return IndicatorStore(engine, new_stix_id, decay_policy(Settings()) if decay else None)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def one_run(count: int, directory: Path, run: int) -> dict[str, float]:
    items = inputs(count, expiring=False)
    expiring = inputs(count, expiring=True)
    found: dict[str, float] = {}
    for label, decay in (("load, decay off", False), ("load, decay on", True)):
        store = fresh_store(
            directory, f"{run}-{label.replace(' ', '').replace(',', '')}", decay=decay
        )
        found[label] = timed(
            lambda store=store: [
                store.write(items[i : i + BATCH], T0) for i in range(0, count, BATCH)
            ]
        )
    decaying = fresh_store(directory, f"{run}-sweep", decay=True)
    for i in range(0, count, BATCH):
        decaying.write(items[i : i + BATCH], T0)
    # Five days on, every IP has lost more than a step: one new version each.
    found["decay sweep"] = timed(
        lambda: decaying.decay_due(T0 + timedelta(days=5), batch_size=1000, max_batches=10**6)
    )
    expiring_store = fresh_store(directory, f"{run}-expiry", decay=False)
    for i in range(0, count, BATCH):
        expiring_store.write(expiring[i : i + BATCH], T0)
    found["expiry sweep (peer)"] = timed(lambda: expiring_store.expire_due(T0 + timedelta(days=2)))
    return found


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as directory:
        for run in range(repeats):
            runs.append(one_run(count, Path(directory), run))
    print(f"{count:,} IPv4 indicators, SQLite, median of {repeats} runs")
    print(f"{'what':<22}{'seconds':>10}{'per second':>14}")
    for label in runs[0]:
        median = statistics.median(r[label] for r in runs)
        print(f"{label:<22}{median:>10.2f}{count / median:>14,.0f}")
    load_off = statistics.median(r["load, decay off"] for r in runs)
    load_on = statistics.median(r["load, decay on"] for r in runs)
    sweep = statistics.median(r["decay sweep"] for r in runs)
    expiry = statistics.median(r["expiry sweep (peer)"] for r in runs)
    print(f"load with decay / without: {load_on / load_off:.2f}x")
    print(f"decay sweep / expiry sweep: {sweep / expiry:.2f}x")


if __name__ == "__main__":
    main()
