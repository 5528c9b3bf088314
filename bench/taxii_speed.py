"""TAXII 2.1 speed: iocfeed at 1,000,000 indicators against medallion and opentaxii, one run.

    .venv/bin/python -m bench.taxii_speed            # full run (about 10-15 minutes)
    .venv/bin/python -m bench.taxii_speed --quick    # smaller stores, fewer repetitions

Every server runs as its own process on a loopback port and is asked the same requests
over HTTP Basic: a first page of 1000 objects, page 900 of a ``next`` walk (iocfeed only:
the peers hold fewer than 900 pages), ``added_after`` near the end, and the first manifest
page; plus iocfeed's full walk of the all-indicators collection with taxii2-client's
``as_pages``. Medians of several requests; the peers are loaded with the very objects
iocfeed serves (its first N, exported as STIX JSON). The peers are installed from PyPI into
``bench/.peers/<name>`` on first use. medallion's request path is quadratic, so it holds
1,000 and 5,000 objects and is asked once per request at 5,000.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text
from taxii2client.v21 import Collection, as_pages

from bench.dataset import sqlite_dataset
from bench.releases import free_port
from iocfeed.store.engine import open_engine
from iocfeed.store.keys import KeyStore
from iocfeed.taxii.collections import ALL_COLLECTION_ID

ROOT = Path(__file__).resolve().parent
PEERS = ROOT / ".peers"
ACCEPT = {"Accept": "application/taxii+json;version=2.1"}
PAGE = 1000
USER, PASSWORD = "bench", "bench-password"

PEER_PACKAGES = {
    "medallion": ["medallion==3.0.0"],
    # opentaxii 0.9.3 predates SQLAlchemy 2, marshmallow 4 and Flask/Werkzeug 2.3.
    "opentaxii": [
        "opentaxii==0.9.3",
        "sqlalchemy>=1.4,<2",
        "marshmallow>=3,<4",
        "flask>=2.2,<2.3",
        "werkzeug>=2.2,<2.3",
    ],
}


@dataclass
class Row:
    server: str
    size: int
    timings: dict[str, float | None] = field(default_factory=dict)


def wait_for(url: str, auth: tuple[str, str], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=ACCEPT, auth=auth, timeout=5).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], url: str, auth: tuple[str, str]
) -> Iterator[None]:
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=log)
    try:
        wait_for(url, auth, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def timed(request: Callable[[], httpx.Response], repeat: int) -> float:
    """Median seconds of ``repeat`` requests (each must succeed)."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = request()
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
    return statistics.median(samples)


def measure(
    client: httpx.Client,
    collection_url: str,
    *,
    repeat: int,
    added_after: str,
    page_900: str | None,
) -> dict[str, float | None]:
    objects = collection_url + "objects/"
    return {
        "page 1": timed(lambda: client.get(objects, params={"limit": PAGE}), repeat),
        "page 900": timed(
            lambda: client.get(objects, params={"limit": PAGE, "next": page_900}), repeat
        )
        if page_900
        else None,
        "added_after near end": timed(
            lambda: client.get(objects, params={"limit": PAGE, "added_after": added_after}),
            repeat,
        ),
        "manifest": timed(
            lambda: client.get(collection_url + "manifest/", params={"limit": PAGE}), repeat
        ),
    }


# -- iocfeed -------------------------------------------------------------------------------


def iocfeed(size: int, repeat: int, walk: bool, export_count: int) -> tuple[Row, list[bytes]]:
    """Serve a copy of the cached store; return its timings and its first objects."""
    work = Path(tempfile.mkdtemp(prefix="iocfeed-bench-"))
    try:
        database = work / "store.db"
        shutil.copy(sqlite_dataset(size), database)
        url = f"sqlite:///{database}"
        engine = open_engine(url)
        key = KeyStore(engine).create(name="bench", plan="admin", now=datetime.now(UTC))[1]
        with engine.connect() as connection:
            near_end = connection.execute(
                text(
                    "SELECT date_added FROM indicator_versions ORDER BY date_added DESC "
                    "LIMIT 1 OFFSET 500"
                )
            ).scalar_one()
        engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "IOCFEED_DATABASE_URL": url,
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "iocfeed.web.app:app_from_environment",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        collection_url = f"{base}/taxii2/api/collections/{ALL_COLLECTION_ID}/"
        with running(command, env, f"{base}/taxii2/api/", (USER, key)):
            row = Row("iocfeed", size)
            page_900 = None
            walk_seconds = None
            exported: list[bytes] = []
            with httpx.Client(auth=(USER, key), headers=ACCEPT, timeout=600) as client:
                objects = client.get(collection_url + "objects/", params={"limit": PAGE}).json()
                if walk:
                    collection = Collection(collection_url, user=USER, password=key)
                    started = time.perf_counter()
                    count = 0
                    for number, envelope in enumerate(
                        as_pages(collection.get_objects, per_request=PAGE), start=1
                    ):
                        count += len(envelope.get("objects", []))
                        if number == 899:
                            page_900 = envelope.get("next")
                    walk_seconds = time.perf_counter() - started
                    print(f"  iocfeed full walk: {count:,} objects in {walk_seconds:.1f} s")
                row.timings = measure(
                    client,
                    collection_url,
                    repeat=repeat,
                    added_after=_taxii_time(near_end),
                    page_900=page_900,
                )
                row.timings["full walk (s)"] = walk_seconds
                after = None
                while len(exported) < export_count:
                    params: dict[str, str | int] = {
                        "limit": PAGE,
                        "match[type]": "indicator,vulnerability,attack-pattern",
                    }
                    if after:
                        params["next"] = after
                    page = client.get(collection_url + "objects/", params=params).json()
                    exported += [json.dumps(o).encode() for o in page.get("objects", [])]
                    after = page.get("next")
                    if not after:
                        break
            del objects
        return row, exported[:export_count]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _taxii_time(micros: int) -> str:
    moment = datetime.fromtimestamp(micros / 1_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- peers ---------------------------------------------------------------------------------


def peer_python(name: str) -> Path:
    """The peer's interpreter, its virtualenv created and filled from PyPI on first use."""
    venv = PEERS / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        print(f"  installing {name} into {venv} ...")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES[name]], check=True
        )
        marker.touch()
    return python


def medallion(objects: list[bytes], repeat: int) -> Row:
    python = peer_python("medallion")
    work = Path(tempfile.mkdtemp(prefix="medallion-bench-"))
    try:
        collection_id = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
        start = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
        parsed = [json.loads(raw) for raw in objects]
        manifest = [
            {
                "id": obj["id"],
                "date_added": _taxii_time(int((start + index) * 1_000_000)),
                "version": obj.get("modified", obj["created"]),
                "media_type": "application/stix+json;version=2.1",
            }
            for index, obj in enumerate(parsed)
        ]
        port = free_port()
        data = {
            "/discovery": {
                "title": "bench",
                "default": f"http://127.0.0.1:{port}/bench/",
                "api_roots": [f"http://127.0.0.1:{port}/bench/"],
            },
            "bench": {
                "information": {
                    "title": "bench",
                    "versions": ["application/taxii+json;version=2.1"],
                    "max_content_length": 104857600,
                },
                "status": [],
                "collections": [
                    {
                        "id": collection_id,
                        "title": "bench",
                        "can_read": True,
                        "can_write": True,
                        "media_types": ["application/stix+json;version=2.1"],
                        "objects": parsed,
                        "manifest": manifest,
                    }
                ],
            },
        }
        (work / "data.json").write_text(json.dumps(data))
        config = {
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": str(work / "data.json"),
            },
            "users": {USER: PASSWORD},
            "taxii": {"max_page_size": PAGE},
        }
        (work / "config.json").write_text(json.dumps(config))
        command = [
            str(python.parent / "medallion"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            str(work / "config.json"),
        ]
        base = f"http://127.0.0.1:{port}/bench/"
        with (
            running(command, {}, base, (USER, PASSWORD)),
            httpx.Client(auth=(USER, PASSWORD), headers=ACCEPT, timeout=900) as client,
        ):
            timings = measure(
                client,
                f"{base}collections/{collection_id}/",
                repeat=repeat,
                added_after=manifest[-500]["date_added"]
                if len(manifest) > 500
                else manifest[0]["date_added"],
                page_900=None,
            )
        return Row("medallion 3.0.0", len(objects), timings)
    finally:
        shutil.rmtree(work, ignore_errors=True)


OPENTAXII_LOADER = """
import json, sys
from opentaxii.config import ServerConfig
from opentaxii.server import TAXIIServer
from opentaxii.local import context
server = TAXIIServer(ServerConfig())
context.server = server
api = server.servers.taxii2.persistence.api
root = api.add_api_root(title="bench", default=True, is_public=False)
collection = api.add_collection(api_root_id=root.id, title="bench", is_public=False)
objects = json.load(open(sys.argv[1]))
for start in range(0, len(objects), 5000):
    api.add_objects(root.id, collection.id, objects[start:start + 5000])
server.auth.api.create_account(sys.argv[2], sys.argv[3], is_admin=True)
print(root.id, collection.id)
"""

OPENTAXII_CONFIG = """
domain: "127.0.0.1:{port}"
support_basic_auth: yes
return_server_error_details: no
auth_api:
  class: opentaxii.auth.sqldb.SQLDatabaseAPI
  parameters:
    db_connection: sqlite:///{work}/auth.db
    create_tables: yes
    secret: bench-secret-not-for-production
    token_ttl_secs: 3600
taxii1:
taxii2:
  persistence_api:
    class: opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI
    parameters:
      db_connection: sqlite:///{work}/data.db
      create_tables: yes
  max_content_length: 104857600
  title: bench
  public_discovery: true
logging:
  opentaxii: warning
  root: warning
"""


def opentaxii(objects: list[bytes], repeat: int) -> Row:
    python = peer_python("opentaxii")
    work = Path(tempfile.mkdtemp(prefix="opentaxii-bench-"))
    try:
        port = free_port()
        (work / "config.yml").write_text(OPENTAXII_CONFIG.format(port=port, work=work))
        (work / "objects.json").write_bytes(b"[" + b",".join(objects) + b"]")
        (work / "load.py").write_text(OPENTAXII_LOADER)
        env = {"OPENTAXII_CONFIG": str(work / "config.yml")}
        loaded = subprocess.run(
            [str(python), str(work / "load.py"), str(work / "objects.json"), USER, PASSWORD],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        root_id, collection_id = loaded.stdout.split()[-2:]
        command = [
            str(python),
            "-c",
            "from opentaxii.middleware import create_app; from opentaxii.server import TAXIIServer;"
            "from opentaxii.config import ServerConfig; from werkzeug.serving import run_simple;"
            f"run_simple('127.0.0.1', {port}, "
            "create_app(TAXIIServer(ServerConfig())), threaded=True)",
        ]
        base = f"http://127.0.0.1:{port}/taxii2/{root_id}/"
        with (
            running(command, env, base, (USER, PASSWORD)),
            httpx.Client(auth=(USER, PASSWORD), headers=ACCEPT, timeout=900) as client,
        ):
            collection_url = f"{base}collections/{collection_id}/"
            first = client.get(collection_url + "objects/", params={"limit": PAGE})
            first.raise_for_status()
            manifest = client.get(collection_url + "manifest/", params={"limit": PAGE}).json()
            records = manifest.get("objects", [])
            timings = measure(
                client,
                collection_url,
                repeat=repeat,
                added_after=records[0]["date_added"] if records else "2000-01-01T00:00:00Z",
                page_900=None,
            )
        return Row("opentaxii 0.9.3", len(objects), timings)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- report --------------------------------------------------------------------------------

COLUMNS = ("page 1", "page 900", "added_after near end", "manifest")


def table(rows: list[Row]) -> str:
    lines = [
        "| server | objects | " + " | ".join(f"{c} (ms)" for c in COLUMNS) + " | full walk (s) |",
        "|---" * (len(COLUMNS) + 3) + "|",
    ]
    for row in rows:
        cells = [_ms(row.timings.get(c)) for c in COLUMNS]
        walk = row.timings.get("full walk (s)")
        walked = f"{walk:.1f}" if walk else "–"
        lines.append(f"| {row.server} | {row.size:,} | " + " | ".join(cells) + f" | {walked} |")
    return "\n".join(lines)


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.1f}"


def ratio(peer: Row | None, ours: Row | None) -> str:
    if peer is None or ours is None:
        return "n/a"
    mine, theirs = ours.timings.get("page 1"), peer.timings.get("page 1")
    return "n/a" if not mine or not theirs else f"{theirs / mine:,.0f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller stores, fewer repeats")
    parser.add_argument("--no-peers", action="store_true", help="measure iocfeed only")
    args = parser.parse_args()
    big = 100_000 if args.quick else 1_000_000
    repeat = 3 if args.quick else 9
    medallion_sizes = (1000,) if args.quick else (1000, 5000)
    opentaxii_sizes = (10_000,) if args.quick else (10_000, 100_000)

    rows: list[Row] = []
    ours: dict[int, Row] = {}
    print(f"iocfeed at {big:,} indicators (full walk with taxii2-client) ...")
    big_row, exported = iocfeed(big, repeat, walk=True, export_count=max(opentaxii_sizes))
    rows.append(big_row)
    for size in sorted({*medallion_sizes, *opentaxii_sizes}):
        print(f"iocfeed at {size:,} indicators ...")
        ours[size] = iocfeed(size, repeat, walk=False, export_count=0)[0]
        rows.append(ours[size])
    peers: dict[tuple[str, int], Row] = {}
    if not args.no_peers:
        for size in medallion_sizes:
            print(f"medallion at {size:,} objects ...")
            try:
                peers["medallion", size] = medallion(exported[:size], 1 if size > 1000 else 3)
                rows.append(peers["medallion", size])
            except Exception as error:  # a peer that will not run is reported, not fatal
                print(f"  medallion failed: {error!r}")
        for size in opentaxii_sizes:
            print(f"opentaxii at {size:,} objects ...")
            try:
                peers["opentaxii", size] = opentaxii(exported[:size], 3)
                rows.append(peers["opentaxii", size])
            except Exception as error:
                print(f"  opentaxii failed: {error!r}")

    print()
    print(table(rows))
    print()
    page1, page900 = big_row.timings["page 1"], big_row.timings["page 900"]
    if page1 and page900:
        print(f"iocfeed page 900 / page 1 at {big:,}: {page900 / page1:.2f} (goal ≤ 1.5)")
    print(f"iocfeed first page at {big:,}: {_ms(page1)} ms (goal < 100 ms)")
    for (name, size), row in peers.items():
        print(f"{name} at {size:,} / iocfeed at {size:,}, first page: {ratio(row, ours.get(size))}")


if __name__ == "__main__":
    main()
