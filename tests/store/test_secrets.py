"""Shared server secrets: made once, the same for every engine and thread on one store."""

from __future__ import annotations

import threading
from itertools import count

from sqlalchemy import Engine, func, select

from iocfeed.store.engine import open_engine
from iocfeed.store.schema import server_secrets
from iocfeed.store.secrets import SECRET_BYTES, shared_secret


def test_the_first_caller_makes_the_secret_and_every_later_one_reads_it(engine: Engine) -> None:
    first = shared_secret(engine, "signing")
    assert len(first) == SECRET_BYTES
    assert shared_secret(engine, "signing") == first
    assert shared_secret(engine, "other") != first


def test_racing_workers_on_separate_engines_all_get_the_one_secret(engine: Engine) -> None:
    made = count()
    results: list[bytes] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        own = open_engine(engine.url.render_as_string(hide_password=False))
        try:
            number = next(made)
            barrier.wait()
            results.append(shared_secret(own, "raced", lambda: bytes([number]) * 32))
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1
    with engine.connect() as connection:
        rows = connection.execute(
            select(func.count()).select_from(server_secrets).where(server_secrets.c.name == "raced")
        ).scalar_one()
    assert rows == 1
