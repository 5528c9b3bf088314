"""``make bench``: every measurement in one run, printed as one table.

Each figure stands beside the previous release's on the same data and beside its floor or
outside peer, all measured in this run on this machine:

* import of N generated indicators (``iocfeed import``, JSON Lines), SQLite and PostgreSQL,
  beside the raw-insert floor (the same finished rows, JSON included, inserted with
  ``executemany`` on SQLite and ``COPY`` on PostgreSQL: ``bench.raw_insert``);
* the backfill that gives a store written by the previous release its stored JSON;
* a 1000-indicator STIX export over HTTP, warm (the same request repeated) and cold (the
  first export of a freshly started server), beside the floor (one SQL read of the same
  rows' stored JSON and the bytes on the socket: ``bench.floor_app``, under the same
  uvicorn, fetched by the same client, repeated and as the first read of a freshly started
  floor; and the same read with the bytes written in process) and the ``stix2`` library.
  Like the floor's, these bodies are not compressed (``Accept-Encoding: identity``); the
  warm export with gzip, as SIEMs fetch it, has a row of its own;
* TAXII over HTTP: the first page, page 900, pages at positions read once, and the full
  walk (server CPU seconds, and the client's wall time);
* REST lookups of single indicators; the server's peak memory;
* the concurrent load run, when ``bench.load`` is present (see :data:`LOAD_HOOK`).

    python -m bench [--quick] [--size N]

Reads are measured on SQLite stores (the previous release writes the store; a copy is
migrated and backfilled for this tree). ``--size 10m`` runs ``bench.tenmillion`` instead.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import importlib.util
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.import_speed import fresh_database, write_jsonl
from bench.releases import CURRENT, Release, Server, previous, serve
from bench.report import Row, print_table

DATA = Path(__file__).parent / ".data"
PAGE = 1000
ACCEPT = {"Accept": "application/taxii+json;version=2.1"}
PLAIN = {"Accept-Encoding": "identity"}  # the floor's bodies are not compressed either
GZIP = {"Accept-Encoding": "gzip"}
ALL_COLLECTION = "/taxii2/api/collections/{}/objects/"
EXPORT = "/api/v1/export/stix"
LOAD_HOOK = "bench.load"
"""A module with ``rows(*, quick: bool) -> list[bench.report.Row]`` (the concurrent load
run); its rows join the table when it exists."""


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


# -- stores ------------------------------------------------------------------------------------


def previous_store(release: Release, count: int) -> Path:
    """A SQLite store of ``count`` indicators written by the previous release (cached)."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"previous-{count}.db"
    if not path.exists():
        building = path.with_suffix(".building")
        building.unlink(missing_ok=True)
        release.run(
            f"sqlite:///{building}",
            "bench.dataset",
            str(building),
            str(count),
        )
        building.rename(path)
    return path


def admin_key(release: Release, url: str) -> str:
    return release.run(url, "iocfeed", "keys", "create", "--plan", "admin", "--name", "bench")


# -- import ------------------------------------------------------------------------------------


def import_rows(count: int, prev: Release, work: Path) -> list[Row]:
    source = work / "indicators.jsonl"
    write_jsonl(source, count)
    rows = []
    for backend, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        seconds: dict[str, float] = {}
        for release in (CURRENT, prev):
            with fresh_database(backend, work) as url:
                release.run(url, "iocfeed", "db", "upgrade")
                seconds[release.name] = _timed(
                    lambda release=release, url=url: release.run(
                        url, "iocfeed", "import", str(source)
                    )
                )
        with fresh_database(backend, work) as url:
            CURRENT.run(url, "iocfeed", "db", "upgrade")
            floor = float(CURRENT.run(url, "bench.raw_insert", str(source)))
        ours, before = seconds[CURRENT.name], seconds[prev.name]
        if backend == "sqlite":
            goal, met = "≤ 1.3× floor time", ours <= 1.3 * floor
        else:
            goal, met = "≥ 100,000/s at 1M", count / ours >= 100_000 if count >= 1e6 else None
        rows.append(
            Row(
                "import",
                f"{count:,} indicators, {label}",
                "indicators/s",
                count / ours,
                count / before,
                "raw insert" if backend == "sqlite" else "raw COPY",
                count / floor,
                goal,
                met,
                lower_is_better=False,
            )
        )
    return rows


# -- reads -------------------------------------------------------------------------------------


def export_floor(database: Path, runs: int) -> list[float]:
    """One SQL read of the export's rows (their stored JSON) plus writing the bytes."""
    samples = []
    with open(os.devnull, "wb") as sink:
        for _ in range(runs):
            started = time.perf_counter()
            connection = sqlite3.connect(database)
            parts = [
                row[0]
                for row in connection.execute(
                    "SELECT stix_json FROM indicator_versions WHERE superseded_at IS NULL "
                    f"ORDER BY date_added DESC LIMIT {PAGE}"
                )
            ]
            sink.write(b'{"type":"bundle","objects":[' + b",".join(parts) + b"]}")
            connection.close()
            samples.append(time.perf_counter() - started)
    return samples


def _floor_server(database: Path) -> contextlib.AbstractContextManager[Server]:
    module = ["uvicorn", "bench.floor_app:app", "--host", "127.0.0.1", "--lifespan", "off"]
    module += ["--no-access-log", "--log-level", "warning"]
    return serve(module, {**os.environ, "IOCFEED_BENCH_FLOOR_DB": str(database)}, "floor")


def export_floor_http(database: Path, runs: int) -> list[float]:
    """The same read with the bytes sent on the socket (``bench.floor_app``, under the same
    uvicorn), fetched as ours is: the floor of an export over HTTP."""
    with _floor_server(database) as server, httpx.Client(base_url=server.base) as client:
        fetch = lambda: _get(client, EXPORT, headers=PLAIN)  # noqa: E731
        fetch()
        return [_timed(fetch) for _ in range(runs)]


def cold_floor_http(database: Path, runs: int) -> list[float]:
    """The floor's first read in each of ``runs`` freshly started floors: the floor of a cold
    export (:func:`cold_exports`), whose process and connection are new too."""
    samples = []
    for _ in range(runs):
        with _floor_server(database) as server, httpx.Client(base_url=server.base) as client:
            samples.append(_timed(lambda: _get(client, EXPORT, headers=PLAIN)))
    return samples


def stix2_export(database: Path, runs: int) -> list[float]:
    """The ``stix2`` library making the same bundle from the same rows, already read."""
    import stix2

    from iocfeed.config import DEFAULT_IDENTITY_ID
    from iocfeed.indicators.query import IndicatorQuery
    from iocfeed.stix.bundle import build_objects
    from iocfeed.stix.objects import ExportOptions, Producer
    from iocfeed.store.engine import open_engine
    from iocfeed.store.search import IndicatorSearch

    classes: dict[str, Any] = {
        "identity": stix2.v21.Identity,
        "marking-definition": stix2.v21.MarkingDefinition,
        "indicator": stix2.v21.Indicator,
        "vulnerability": stix2.v21.Vulnerability,
        "attack-pattern": stix2.v21.AttackPattern,
        "relationship": stix2.v21.Relationship,
    }
    engine = open_engine(f"sqlite:///{database}")
    now = datetime.now(UTC)
    rows = IndicatorSearch(engine).newest_first(IndicatorQuery(), limit=PAGE, after=None, now=now)
    engine.dispose()
    producer = Producer(identity_id=DEFAULT_IDENTITY_ID)

    def bundle() -> str:
        built = build_objects(rows.items, ExportOptions(), producer, now=now)
        objects = [classes[obj["type"]](**obj) for obj in built]
        return str(stix2.v21.Bundle(objects=objects).serialize())

    return [_timed(bundle) for _ in range(runs)]


def cold_exports(release: Release, url: str, key: str, runs: int) -> list[float]:
    """The first 1000-indicator export of each of ``runs`` freshly started servers (one
    tiny export of other rows first, so that the code is loaded but these rows never read)."""
    samples = []
    for _ in range(runs):
        with release.server(url) as server, _client(server, key) as client:
            client.get(EXPORT, params={"limit": 1, "type": "cve"})
            samples.append(_timed(lambda: _get(client, EXPORT, {"limit": PAGE}, PLAIN)))
    return samples


def _client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers={"X-API-Key": key}, timeout=600)


def _get(
    client: httpx.Client,
    path: str,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    response = client.get(path, params=params, headers=headers)
    response.raise_for_status()
    return response.content


def read_figures(release: Release, database: Path, quick: bool) -> dict[str, Any]:
    """Every read measurement of one release on its own copy of the store."""
    from iocfeed.taxii.collections import ALL_COLLECTION_ID

    url = f"sqlite:///{database}"
    key = admin_key(release, url).strip()
    repeat = 5 if quick else 15
    figures: dict[str, Any] = {}
    connection = sqlite3.connect(database)
    newest = connection.execute("SELECT max(date_added) FROM indicator_versions").fetchone()[0]
    oldest = connection.execute("SELECT min(date_added) FROM indicator_versions").fetchone()[0]
    lookups = connection.execute(
        "SELECT type, value FROM indicator_versions WHERE superseded_at IS NULL "
        "AND type NOT IN ('url') ORDER BY random() LIMIT 200"
    ).fetchall()
    connection.close()
    figures["export cold"] = cold_exports(release, url, key, 3 if quick else 5)
    objects = ALL_COLLECTION.format(ALL_COLLECTION_ID)
    with release.server(url) as server, _client(server, key) as client:
        client.headers.update(ACCEPT)
        export = lambda encoding: _get(client, EXPORT, {"limit": PAGE}, encoding)  # noqa: E731
        for encoding, name in ((PLAIN, "export warm"), (GZIP, "export warm gzip")):
            export(encoding)
            figures[name] = [_timed(lambda e=encoding: export(e)) for _ in range(repeat)]
        first = lambda: _get(client, objects, {"limit": PAGE})  # noqa: E731
        first()
        figures["first page"] = [_timed(first) for _ in range(repeat)]
        spread = random.Random(5)
        positions = [spread.randrange(oldest, newest) for _ in range(repeat)]
        figures["page read once"] = [
            _timed(lambda at=at: _get(client, objects, {"limit": PAGE, "added_after": _taxii(at)}))
            for at in positions
        ]
        cpu, started, count, token, page_900 = (
            server.cpu_seconds(),
            time.perf_counter(),
            0,
            None,
            None,
        )
        for number in range(1, 10**9):
            params: dict[str, Any] = {"limit": PAGE}
            if token:
                params["next"] = token
            envelope = client.get(objects, params=params).json()
            count += len(envelope.get("objects", []))
            token = envelope.get("next")
            if number == 899:
                page_900 = token
            if not envelope.get("more"):
                break
        figures["walk client"] = time.perf_counter() - started
        figures["walk server"] = server.cpu_seconds() - cpu
        figures["walk count"] = count
        if page_900:
            page = lambda: _get(client, objects, {"limit": PAGE, "next": page_900})  # noqa: E731
            figures["page 900"] = [_timed(page) for _ in range(repeat)]
        client.headers.pop("Accept")
        figures["lookup"] = [
            _timed(lambda kind=kind, value=value: _get(client, f"/api/v1/iocs/{kind}/{value}"))
            for kind, value in lookups
        ]
        figures["peak MB"] = server.peak_rss_mb()
    return figures


def _taxii(micros: int) -> str:
    moment = datetime.fromtimestamp(micros / 1_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def read_rows(count: int, prev: Release, work: Path, quick: bool) -> list[Row]:
    before_db = work / "previous.db"
    ours_db = work / "ours.db"
    shutil.copyfile(previous_store(prev, count), before_db)
    shutil.copyfile(before_db, ours_db)
    backfill = _timed(lambda: CURRENT.run(f"sqlite:///{ours_db}", "iocfeed", "db", "upgrade"))
    ours = read_figures(CURRENT, ours_db, quick)
    before = read_figures(prev, before_db, quick)
    floor = _ms(export_floor_http(ours_db, 15))
    cold_floor = _ms(cold_floor_http(ours_db, 3 if quick else 5))
    in_process = _ms(export_floor(ours_db, 15))
    stix2 = _ms(stix2_export(ours_db, 2 if quick else 3))
    cold, warm = _ms(ours["export cold"]), _ms(ours["export warm"])
    full = count >= 1_000_000
    p99 = lambda samples: sorted(samples)[int(len(samples) * 0.99) - 1] * 1000  # noqa: E731
    # Each export beside each of its peers: the floor over HTTP (repeated, and cold for the
    # cold export), in process, stix2.
    cold_beside = functools.partial(
        Row,
        "export",
        "1000 indicators, cold (fresh server)",
        "ms",
        cold,
        _ms(before["export cold"]),
    )
    warm_beside = functools.partial(
        Row, "export", "1000 indicators, warm (repeated)", "ms", warm, _ms(before["export warm"])
    )

    def median_ms(section: str, measure: str, key: str) -> Row:
        """Ours beside the previous release: the median of ``key``'s samples (if taken)."""
        return Row(
            section,
            measure,
            "ms",
            _ms(ours[key]) if key in ours else None,
            _ms(before[key]) if key in before else None,
        )

    return [
        Row(
            "store",
            f"backfill stored JSON, {count:,} versions",
            "versions/s",
            count / backfill,
            lower_is_better=False,
        ),
        cold_beside(
            "floor: SQL read + bytes on the socket",
            floor,
            "≤ 2× floor, ≤ 2× warm",
            cold <= 2 * floor and cold <= 2 * warm,
        ),
        cold_beside(
            "floor, cold: its first read in a fresh process",
            cold_floor,
            "≤ 2× the cold floor",
            cold <= 2 * cold_floor,
        ),
        warm_beside(
            "floor: SQL read + bytes on the socket", floor, "≤ 2× floor", warm <= 2 * floor
        ),
        warm_beside("SQL read + bytes in process", in_process),
        median_ms("export", "1000 indicators, warm, gzip", "export warm gzip"),
        warm_beside(
            "stix2 library", stix2, "≥ 100× faster than stix2", stix2 >= 100 * max(cold, warm)
        ),
        median_ms("TAXII", "first page (1000)", "first page"),
        median_ms("TAXII", "page 900 (next token)", "page 900"),
        median_ms("TAXII", "page at a position read once (cold)", "page read once"),
        Row(
            "TAXII",
            f"full walk {ours['walk count']:,} objects, server CPU",
            "s",
            ours["walk server"],
            before["walk server"],
            goal="≤ 10 s at 1M" if full else "",
            met=ours["walk server"] <= 10 if full else None,
        ),
        Row(
            "TAXII",
            "full walk, client wall time",
            "s",
            ours["walk client"],
            before["walk client"],
        ),
        median_ms("REST", "lookup of one indicator, median", "lookup"),
        Row(
            "REST", "lookup of one indicator, p99", "ms", p99(ours["lookup"]), p99(before["lookup"])
        ),
        Row(
            "server",
            "peak memory (VmHWM) after the above",
            "MiB",
            ours["peak MB"],
            before["peak MB"],
        ),
    ]


def load_rows(quick: bool) -> list[Row]:
    """The concurrent load run's rows, when its module is present."""
    if importlib.util.find_spec(LOAD_HOOK) is None:
        return []
    module = importlib.import_module(LOAD_HOOK)
    produced: list[Row] = module.rows(quick=quick)
    return produced


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50,000 indicators, fewer repeats")
    parser.add_argument("--size", default=None, help="indicators (1000000 by default; 10m)")
    args = parser.parse_args(argv)
    if args.size == "10m":
        importlib.import_module("bench.tenmillion").main()
        return
    count = int(args.size) if args.size else (50_000 if args.quick else 1_000_000)
    prev = previous()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="iocfeed-bench-") as scratch:
        work = Path(scratch)
        print(f"import of {count:,} indicators …", file=sys.stderr, flush=True)
        rows = import_rows(count, prev, work)
        print("reads …", file=sys.stderr, flush=True)
        rows += read_rows(count, prev, work, args.quick)
    rows += load_rows(args.quick)
    print_table(
        rows,
        title=f"iocfeed benchmark, {count:,} indicators, {datetime.now(UTC):%Y-%m-%d}",
        caption=(
            f"{os.cpu_count()} CPUs; medians; ÷ columns: ours over the other's cost (time) "
            f"or the other's rate over ours (rates), below 1 is ours better; "
            f"run took {time.perf_counter() - started:.0f} s"
        ),
    )
