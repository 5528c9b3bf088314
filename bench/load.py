"""The load run: 16 concurrent clients against ``iocfeed serve --workers 2`` on PostgreSQL
and Redis, with the previous release measured beside it in the same run.

    .venv/bin/python -m bench.load            # 60 s mixed run (about 4 minutes in all)
    .venv/bin/python -m bench.load --quick    # 15 s mixed run

The server runs as deployed, with default settings (access log, audit trail, Redis rate
limiter counting every request, an ``iocfeed worker`` beside it running the sweeps), on a
PostgreSQL schema holding the benchmark store (100,000 indicators; 20,000 with ``--quick``).
The clients run in a separate process (``httpx`` over asyncio, 16 tasks, keep-alive, gzip
accepted as SIEMs do), so the load generator is not starved by the server nor the server
by it; on a 2-core machine they still share the CPU.

Three phases:

1. **Cold TAXII pages, iocfeed**: 16 clients each asking for the first page of 1000
   objects from a random ``added_after`` in the store's range (a fresh walk at a new
   position each time: pages nobody read recently).
2. **The same against the previous release** (``PEER_COMMIT``, in its own git worktree and
   virtualenv under ``bench/.peers/``, made on first use), on a store written by its own
   code from the same seed.
3. **The mixed run** (60 s): 15 clients mixing cold TAXII pages (50 %), STIX exports of
   1000 indicators of a random type (15 %) and REST lookups of random stored indicators
   (35 %), while the 16th client loads new indicators through ``POST /api/v1/iocs`` in
   batches of 250 as fast as they are accepted. Afterwards every acknowledged indicator
   is looked up in the database, and a sample of them over HTTP.

Figures: requests per second, p50 and p99 latency per kind (whole response read), 5xx and
transport errors. The cold-page throughput of phase 1 is set against phase 2's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import redis
from sqlalchemy import text

from bench.dataset import write_dataset
from bench.releases import free_port, wait_until_healthy
from bench.report import Row, print_table
from iocfeed.store.engine import open_engine
from iocfeed.taxii.collections import ALL_COLLECTION_ID

ROOT = Path(__file__).resolve().parent
PEER_COMMIT = "5dfe092"
PEER_DIR = Path(
    os.environ.get("IOCFEED_BENCH_PEER_DIR", ROOT / ".peers" / f"iocfeed-{PEER_COMMIT}")
)
POSTGRES_URL = os.environ.get(
    "IOCFEED_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("IOCFEED_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
CLIENTS = 16
PAGE = 1000
IMPORT_BATCH = 250
TAXII_ACCEPT = "application/taxii+json;version=2.1"
OBJECTS = f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/"
TYPES = ("ipv4", "domain", "url", "sha256", "md5", "sha1", "email", "ipv6", "cve")
# A plan that counts every request in Redis without ever refusing one.
CONFIG = """
[plans.load]
title = "Load"
scopes = ["read:iocs", "read:stix", "read:taxii", "write:iocs"]
lookback_days = "unlimited"
requests_per_minute = 100000000
max_tlp = "red"
"""


# --- the store and the servers ----------------------------------------------------------------


def ensure_peer() -> Path:
    """The previous release's Python, in its own worktree and virtualenv (made on first use)."""
    python = PEER_DIR / ".venv" / "bin" / "python"
    if python.exists():
        return python
    if not PEER_DIR.exists():
        subprocess.run(
            [
                "git",
                "-C",
                str(ROOT.parent),
                "worktree",
                "add",
                "--detach",
                str(PEER_DIR),
                PEER_COMMIT,
            ],
            check=True,
            capture_output=True,
        )
    subprocess.run([sys.executable, "-m", "venv", str(PEER_DIR / ".venv")], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(PEER_DIR)], check=True)
    return python


def schema_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def schema() -> Iterator[str]:
    name = f"load_{uuid.uuid4().hex[:10]}"
    admin = open_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def build_store(url: str, count: int, end: datetime, python: str | None) -> None:
    """The benchmark store at ``url``, written by our code or by the peer's ``python``, then
    analyzed.

    ``write_dataset`` writes batches straight into the store, so no planner statistics exist
    until autovacuum's next pass (``iocfeed import`` refreshes them as it loads). Without
    them PostgreSQL reads a TAXII page by a bitmap scan of every row after ``added_after``
    and a sort: 40 ms of its CPU per page at 100,000 rows, instead of 4 ms. Both stores are
    analyzed, so the run measures the servers, not autovacuum's timing.
    """
    if python is None:
        write_dataset(url, count, end=end)
    else:
        code = (
            "import sys; from datetime import datetime; from bench.dataset import write_dataset; "
            "write_dataset(sys.argv[1], int(sys.argv[2]), end=datetime.fromisoformat(sys.argv[3]))"
        )
        subprocess.run(
            [python, "-c", code, url, str(count), end.isoformat()], cwd=PEER_DIR, check=True
        )
    engine = open_engine(url)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE indicator_versions"))
    engine.dispose()


def create_key(url: str, config: Path, bindir: Path) -> str:
    """A key of the ``load`` plan, made by that release's own ``iocfeed keys create`` (its
    schema is its own: the previous release's keys have no accounts)."""
    environment = {**os.environ, "IOCFEED_DATABASE_URL": url, "IOCFEED_CONFIG": str(config)}
    made = subprocess.run(
        [str(bindir / "iocfeed"), "keys", "create", "--plan", "load", "--name", "load"],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.strip()


@contextlib.contextmanager
def deployment(url: str, config: Path, bindir: Path, logs: Path) -> Iterator[str]:
    """``iocfeed serve --workers 2`` and an ``iocfeed worker`` on ``url``; the base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "IOCFEED_DATABASE_URL": url,
        "IOCFEED_REDIS_URL": REDIS_URL,
        "IOCFEED_CONFIG": str(config),
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    processes = []
    with (logs / f"serve-{port}.log").open("wb") as log:
        processes.append(
            subprocess.Popen(
                [
                    str(bindir / "iocfeed"),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "2",
                ],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        processes.append(
            subprocess.Popen(
                [str(bindir / "iocfeed"), "worker"],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    base = f"http://127.0.0.1:{port}"
    try:
        failure = f"the server did not start; see {logs}"
        wait_until_healthy(base, processes[0], seconds=90, failure=failure)
        yield base
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def store_facts(url: str, sample: int = 3000) -> dict[str, Any]:
    """The ``date_added`` range (for random positions) and some stored (type, value)s."""
    engine = open_engine(url)
    with engine.connect() as connection:
        low, high = connection.execute(
            text("SELECT min(date_added), max(date_added) FROM indicator_versions")
        ).one()
        rows = connection.execute(
            text(
                "SELECT type, value FROM indicator_versions WHERE superseded_at IS NULL "
                "AND revoked = false ORDER BY random() LIMIT :n"
            ),
            {"n": sample},
        ).all()
    engine.dispose()
    return {"low": int(low), "high": int(high), "lookups": [[t, v] for t, v in rows]}


# --- the client process ------------------------------------------------------------------------


def _moment(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _client(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one phase as ``spec`` says; latencies and outcomes per kind."""
    headers = {"X-API-Key": spec["key"], "Accept-Encoding": "gzip"}
    low, high = spec["low"], spec["high"]
    lookups = spec["lookups"]
    rng = random.Random(spec["seed"])
    latencies: dict[str, list[float]] = {}
    statuses: dict[str, dict[str, int]] = {}
    acknowledged: list[str] = []
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    def record(kind: str, started: float, status: str) -> None:
        latencies.setdefault(kind, []).append(time.perf_counter() - started)
        counts = statuses.setdefault(kind, {})
        counts[status] = counts.get(status, 0) + 1

    async with httpx.AsyncClient(base_url=spec["base"], limits=limits, timeout=60) as client:

        async def request(
            kind: str, method: str, path: str, **options: Any
        ) -> httpx.Response | None:
            started = time.perf_counter()
            try:
                response = await client.request(
                    method, path, headers={**headers, **options.pop("headers", {})}, **options
                )
            except httpx.HTTPError as exc:
                record(kind, started, type(exc).__name__)
                return None
            record(kind, started, str(response.status_code))
            return response

        async def taxii() -> None:
            added_after = _moment(rng.randrange(low, high))
            await request(
                "taxii",
                "GET",
                OBJECTS,
                headers={"Accept": TAXII_ACCEPT},
                params={"added_after": added_after, "limit": PAGE},
            )

        async def export() -> None:
            await request(
                "export",
                "GET",
                "/api/v1/export/stix",
                params={"type": rng.choice(TYPES), "limit": PAGE},
            )

        async def lookup() -> None:
            ioc_type, value = rng.choice(lookups)
            await request("lookup", "GET", f"/api/v1/iocs/{ioc_type}/{quote(value, safe='')}")

        async def reader(deadline: float, mix: str) -> None:
            while time.monotonic() < deadline:
                if mix == "taxii":
                    await taxii()
                    continue
                draw = rng.random()
                await (taxii() if draw < 0.5 else export() if draw < 0.65 else lookup())

        async def importer(deadline: float) -> None:
            batch = 0
            while time.monotonic() < deadline:
                values = [f"load-{spec['run']}-{batch}-{n}.example" for n in range(IMPORT_BATCH)]
                batch += 1
                response = await request(
                    "import",
                    "POST",
                    "/api/v1/iocs",
                    json=[{"type": "domain", "value": v} for v in values],
                )
                if (
                    response is not None
                    and response.status_code == 200
                    and response.json().get("added") == IMPORT_BATCH
                ):
                    acknowledged.extend(values)

        # Warm-up (not counted): each worker's first requests pay for imports and pools.
        warm = time.monotonic() + 2
        await asyncio.gather(*(reader(warm, "taxii") for _ in range(4)))
        latencies.clear()
        statuses.clear()
        started = time.monotonic()
        deadline = started + spec["seconds"]
        tasks = [reader(deadline, spec["mix"]) for _ in range(CLIENTS - (spec["mix"] == "mixed"))]
        if spec["mix"] == "mixed":
            tasks.append(importer(deadline))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started

    return {
        "elapsed": elapsed,
        "latencies": latencies,
        "statuses": statuses,
        "acknowledged": acknowledged,
    }


def run_client(spec: dict[str, Any]) -> dict[str, Any]:
    """One phase, in a client process of its own."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "spec.json"
        path.write_text(json.dumps(spec))
        done = subprocess.run(
            [sys.executable, "-m", "bench.load", "--client", str(path)],
            cwd=ROOT.parent,
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kind:
    rate: float
    p50: float
    p99: float
    count: int
    errors: int  # 5xx and transport errors
    other: dict[str, int]


def summarise(result: dict[str, Any], kind: str) -> Kind:
    timings = sorted(result["latencies"].get(kind, [0.0]))
    counts: dict[str, int] = result["statuses"].get(kind, {})
    errors = sum(n for status, n in counts.items() if not status.isdigit() or status >= "500")
    other = {s: n for s, n in counts.items() if s.isdigit() and not s.startswith("2") and s < "500"}
    quantiles = statistics.quantiles(timings, n=100) if len(timings) > 1 else timings * 99
    return Kind(
        rate=len(timings) / result["elapsed"],
        p50=statistics.median(timings) * 1000,
        p99=quantiles[98] * 1000,
        count=len(timings),
        errors=errors,
        other=other,
    )


def lost_writes(url: str, base: str, key: str, acknowledged: list[str]) -> tuple[int, int]:
    """How many acknowledged values the database and a sampled HTTP lookup cannot find."""
    engine = open_engine(url)
    with engine.connect() as connection:
        found = 0
        for start in range(0, len(acknowledged), 5000):
            chunk = acknowledged[start : start + 5000]
            found += connection.execute(
                text(
                    "SELECT count(*) FROM indicator_versions WHERE type = 'domain' "
                    "AND superseded_at IS NULL AND value = ANY(:values)"
                ),
                {"values": chunk},
            ).scalar_one()
    engine.dispose()
    sample = random.Random(1).sample(acknowledged, min(300, len(acknowledged)))
    missing_http = 0
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as client:
        for value in sample:
            missing_http += client.get(f"/api/v1/iocs/domain/{quote(value)}").status_code != 200
    return len(acknowledged) - found, missing_http


def _pages_rows(ours: Kind, peer: Kind) -> list[Row]:
    """Cold TAXII pages at ``CLIENTS`` clients, beside the previous release at ``PEER_COMMIT``
    (the goal: 5×)."""
    section = f"load: cold TAXII pages of {PAGE}, {CLIENTS} clients"
    ratio = ours.rate / peer.rate if peer.rate else None
    return [
        Row(
            section,
            "throughput",
            "pages/s",
            ours.rate,
            previous=peer.rate,
            goal="≥ 5× previous",
            met=ratio is not None and ratio >= 5,
            lower_is_better=False,
        ),
        Row(section, "p50", "ms", ours.p50, previous=peer.p50),
        Row(section, "p99", "ms", ours.p99, previous=peer.p99),
        Row(
            section,
            "5xx and transport errors",
            "count",
            ours.errors,
            previous=peer.errors,
            goal="0",
            met=ours.errors == 0,
        ),
    ]


def rows(*, quick: bool) -> list[Row]:
    """The load run's rows (see the module docstring); ``quick`` = 15 s instead of 60."""
    count = 20_000 if quick else 100_000
    pages_seconds, mixed_seconds = (8.0, 15.0) if quick else (20.0, 60.0)
    end = datetime.now(UTC)
    peer_python = ensure_peer()
    table: list[Row] = []
    store = redis.Redis.from_url(REDIS_URL)
    with (
        tempfile.TemporaryDirectory(prefix="iocfeed-load-") as scratch,
        schema() as ours,
        schema() as theirs,
    ):
        logs = Path(scratch)
        config = logs / "iocfeed.toml"
        config.write_text(CONFIG)
        ours_url, peer_url = schema_url(ours), schema_url(theirs)
        build_store(ours_url, count, end, None)
        build_store(peer_url, count, end, str(peer_python))
        facts = {"ours": store_facts(ours_url), "peer": store_facts(peer_url)}
        bindirs = {"ours": Path(sys.executable).parent, "peer": peer_python.parent}
        keys = {
            "ours": create_key(ours_url, config, bindirs["ours"]),
            "peer": create_key(peer_url, config, bindirs["peer"]),
        }
        urls = {"ours": ours_url, "peer": peer_url}

        def phase(who: str, mix: str, seconds: float) -> tuple[dict[str, Any], str]:
            store.flushdb()
            with deployment(urls[who], config, bindirs[who], logs) as base:
                spec = {
                    "base": base,
                    "key": keys[who],
                    "seconds": seconds,
                    "mix": mix,
                    "seed": 7,
                    "run": uuid.uuid4().hex[:8],
                    **facts[who],
                }
                result = run_client(spec)
                lost = (
                    lost_writes(urls[who], base, keys[who], result["acknowledged"])
                    if mix == "mixed"
                    else (0, 0)
                )
            result["lost"] = lost
            return result, base

        pages_ours, _ = phase("ours", "taxii", pages_seconds)
        pages_peer, _ = phase("peer", "taxii", pages_seconds)
        mixed, _ = phase("ours", "mixed", mixed_seconds)
    store.flushdb()

    table += _pages_rows(summarise(pages_ours, "taxii"), summarise(pages_peer, "taxii"))
    for kind in ("taxii", "export", "lookup", "import"):
        got = summarise(mixed, kind)
        section = f"load: mixed {mixed_seconds:.0f} s, {kind}"
        unit = "batches of 250/s" if kind == "import" else "requests/s"
        lookup = kind == "lookup"
        table += [
            Row(section, "throughput", unit, got.rate, lower_is_better=False),
            Row(section, "p50", "ms", got.p50),
            Row(
                section,
                "p99",
                "ms",
                got.p99,
                goal="< 250 ms" if lookup else "",
                met=got.p99 < 250 if lookup else None,
            ),
            Row(
                section,
                "5xx and transport errors",
                "count",
                got.errors,
                goal="0",
                met=got.errors == 0,
            ),
        ]
    acknowledged = len(mixed["acknowledged"])
    missing_db, missing_http = mixed["lost"]
    table.append(
        Row(
            "load: mixed",
            f"acknowledged writes missing afterwards (of {acknowledged}; "
            f"HTTP sample of {min(300, acknowledged)}: {missing_http} missing)",
            "count",
            missing_db,
            goal="0",
            met=missing_db == 0 and missing_http == 0,
        )
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a 15 s mixed run on 20,000 indicators"
    )
    parser.add_argument("--client", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.client is not None:
        spec = json.loads(arguments.client.read_text())
        print(json.dumps(asyncio.run(_client(spec))))
        return
    caption = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs; clients: one separate "
        f"process (httpx, asyncio, {CLIENTS} tasks); previous = {PEER_COMMIT}"
    )
    print_table(rows(quick=arguments.quick), title="iocfeed load run", caption=caption)


if __name__ == "__main__":
    main()
