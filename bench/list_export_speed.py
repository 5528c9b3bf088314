"""List export speed: 100,000-entry ``txt`` and ``rpz`` downloads from a large store, with
the floor measured in the same run.

On a SQLite store of ``IOCFEED_BENCH_COUNT`` indicators (default 1,000,000; ``bench.dataset``)
it measures, for a 100,000-entry domain list (``txt``) and zone (``rpz``, domains and IPs):

* the endpoint: median wall time of a full download from a real ``iocfeed serve`` process on
  a loopback port (auth, fingerprint, keyset reads, decoding, writing, HTTP), plain and gzip,
  and the time to the first byte;
* the floor: the same rows' values read by one SQL query on the same driver, in process,
  and the finished body's bytes written to ``/dev/null``;

and the server's peak resident memory (VmHWM) after serving lists of 1,000, 10,000 and
100,000 entries, each in a fresh server: flat memory means the peak does not grow with the
list. Run: ``.venv/bin/python -m bench.list_export_speed``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.dataset import sqlite_dataset
from bench.export_speed import median_ms, peak_rss_mb, server, timed
from iocfeed.store.engine import open_engine
from iocfeed.store.keys import KeyStore
from iocfeed.store.rows import to_us

COUNT = int(os.environ.get("IOCFEED_BENCH_COUNT", "1000000"))
LIMIT = 100_000
REQUESTS = int(os.environ.get("IOCFEED_BENCH_REQUESTS", "7"))
MEMORY_LIMITS = (1_000, 10_000, 100_000)


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    types: tuple[str, ...]


CASES = [
    Case("txt, type=domain", "/api/v1/export/txt?type=domain", ("domain",)),
    Case("rpz (domains, IPs)", "/api/v1/export/rpz", ("domain", "ipv4", "ipv6")),
]


def floor(raw: sqlite3.Connection, case: Case, now: int, limit: int) -> int:
    """One SQL read of the same rows' values, and the body's bytes written out."""
    marks = ",".join("?" * len(case.types))
    rows = raw.execute(
        "SELECT value FROM indicator_versions WHERE superseded_at IS NULL "
        f"AND type IN ({marks}) AND revoked = 0 AND (valid_until IS NULL OR valid_until > ?) "
        "ORDER BY date_added DESC LIMIT ?",
        (*case.types, now, limit),
    ).fetchall()
    body = "\n".join(value for (value,) in rows).encode()
    with open(os.devnull, "wb") as sink:
        sink.write(body)
    return len(rows)


def download(client: httpx.Client, path: str, limit: int) -> tuple[int, float, float]:
    """Bytes, seconds to the first byte and to the last."""
    started = time.perf_counter()
    first = 0.0
    size = 0
    with client.stream("GET", f"{path}{'&' if '?' in path else '?'}limit={limit}") as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            if not size:
                first = time.perf_counter() - started
            size += len(chunk)
    return size, first, time.perf_counter() - started


def main() -> None:
    source = sqlite_dataset(COUNT)
    results = []
    memory: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="iocfeed-bench-") as scratch:
        database = Path(scratch) / "store.db"
        shutil.copyfile(source, database)
        engine = open_engine(f"sqlite:///{database}")
        now = datetime.now(UTC)
        key = KeyStore(engine).create(name="bench", plan="admin", now=now)[1]
        engine.dispose()
        raw = sqlite3.connect(database)
        headers = {"X-API-Key": key, "Accept-Encoding": "identity"}
        with server(database) as (base, _pid):
            plain = httpx.Client(base_url=base, headers=headers, timeout=120)
            zipped = httpx.Client(
                base_url=base, headers={**headers, "Accept-Encoding": "gzip"}, timeout=120
            )
            for case in CASES:
                size, _, cold = download(plain, case.path, LIMIT)  # cold caches
                runs = [download(plain, case.path, LIMIT) for _ in range(REQUESTS)]
                gz = [download(zipped, case.path, LIMIT)[2] for _ in range(REQUESTS)]
                entries = floor(raw, case, to_us(now), LIMIT)
                floors = timed(lambda c=case: floor(raw, c, to_us(now), LIMIT), REQUESTS)
                results.append(
                    {
                        "case": case.name,
                        "entries": entries,
                        "mb": size / 2**20,
                        "endpoint": median_ms([r[2] for r in runs]),
                        "first_byte": median_ms([r[1] for r in runs]),
                        "cold": cold * 1000,
                        "gzip": median_ms(gz),
                        "floor": median_ms(floors),
                    }
                )
            plain.close()
            zipped.close()
        for limit in MEMORY_LIMITS:
            with server(database) as (base, pid):
                idle = peak_rss_mb(pid)
                with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                    for case in CASES:
                        for _ in range(3):
                            download(client, case.path, limit)
                memory[limit] = (idle, peak_rss_mb(pid))
        raw.close()

    print(f"\nList exports, {COUNT:,} indicators in SQLite, lists of {LIMIT:,} (median ms)\n")
    print(
        "| case | entries | MiB | endpoint over HTTP | first byte | first request (cold) "
        "| endpoint, gzip | floor (1 SQL + write) | x the floor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in results:
        print(
            f"| {row['case']} | {row['entries']:,} | {row['mb']:.1f} | {row['endpoint']:.0f} "
            f"| {row['first_byte']:.0f} | {row['cold']:.0f} | {row['gzip']:.0f} "
            f"| {row['floor']:.0f} | {row['endpoint'] / row['floor']:.1f}x |"
        )
    print(f"\nmedian of {REQUESTS} runs each (goal: under 1000 ms on the server)\n")
    print("| list length | server RSS idle (MiB) | peak RSS after 3 txt + 3 rpz (MiB) |")
    print("|---:|---:|---:|")
    for limit, (idle, peak) in memory.items():
        print(f"| {limit:,} | {idle:.0f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
