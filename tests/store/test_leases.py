"""Sweep leases: of any number of processes racing for a due sweep, exactly one wins."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from iocfeed.store.engine import open_engine
from iocfeed.store.leases import EXPIRY_SWEEP, SweepLeases

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=60)


def test_a_claim_holds_for_its_interval(engine: Engine) -> None:
    leases = SweepLeases(engine)
    assert leases.claim(EXPIRY_SWEEP, "a", T0, INTERVAL)
    assert not leases.claim(EXPIRY_SWEEP, "b", T0, INTERVAL)
    assert not leases.claim(EXPIRY_SWEEP, "b", T0 + INTERVAL - timedelta(microseconds=1), INTERVAL)
    assert leases.claim(EXPIRY_SWEEP, "b", T0 + INTERVAL, INTERVAL)
    # Another sweep's lease is its own.
    assert leases.claim("other", "a", T0 + INTERVAL, INTERVAL)


def test_racing_sweepers_win_once_per_interval(engine: Engine) -> None:
    """Four sweepers, each with its own engine (its own connections, as separate processes
    have), race for the same due instants: each instant is won exactly once."""
    url = engine.url.render_as_string(hide_password=False)
    instants = [T0 + INTERVAL * n for n in range(15)]
    start = threading.Barrier(4)
    wins: Counter[datetime] = Counter()
    winners: list[str] = []
    lock = threading.Lock()

    def sweeper(name: str) -> None:
        own = open_engine(url)
        try:
            leases = SweepLeases(own)
            for instant in instants:
                start.wait()
                if leases.claim(EXPIRY_SWEEP, name, instant, INTERVAL):
                    with lock:
                        wins[instant] += 1
                        winners.append(name)
        finally:
            own.dispose()

    threads = [threading.Thread(target=sweeper, args=(f"s{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(wins[instant] == 1 for instant in instants), wins
    assert len(winners) == len(instants)
