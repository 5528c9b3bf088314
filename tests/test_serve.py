"""``iocfeed serve --workers 2`` on PostgreSQL keeps serving while ``iocfeed import`` loads
into the same database, and what it serves grows as the import commits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from iocfeed.clock import SystemClock
from iocfeed.store.engine import open_engine
from iocfeed.store.keys import KeyStore
from iocfeed.store.migrate import upgrade
from tests.conftest import postgres_url

IOCFEED = Path(sys.executable).with_name("iocfeed")
FILES = 8
PER_FILE = 2000


def write_batches(directory: Path) -> list[Path]:
    """FILES JSON Lines files of PER_FILE IPv6 indicators, each file with its own tag."""
    paths = []
    for batch in range(FILES):
        path = directory / f"batch-{batch}.jsonl"
        path.write_bytes(
            b"".join(
                orjson.dumps(
                    # Documentation addresses: private ones are on a blocking warninglist.
                    {"value": f"2001:db8:{batch:x}::{n + 1:x}", "tags": [f"batch-{batch}"]},
                    option=orjson.OPT_APPEND_NEWLINE,
                )
                for n in range(PER_FILE)
            )
        )
        paths.append(path)
    return paths


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def loaded_batches(client: httpx.Client, base: str, headers: dict[str, str]) -> int:
    """How many files' indicators the server shows (each answer must be a 200)."""
    seen = 0
    for batch in range(FILES):
        response = client.get(
            f"{base}/api/v1/iocs", params={"tag": f"batch-{batch}", "limit": 1}, headers=headers
        )
        assert response.status_code == 200, response.text
        seen += bool(response.json()["items"])
    return seen


def test_two_workers_serve_while_an_import_loads(tmp_path: Path, postgres_schema: str) -> None:
    database_url = postgres_url(postgres_schema)
    engine = open_engine(database_url)
    upgrade(engine)
    _, key = KeyStore(engine).create(name="poller", plan="admin", now=SystemClock().now())
    engine.dispose()
    files = write_batches(tmp_path)
    environment = {
        **os.environ,
        "IOCFEED_DATABASE_URL": database_url,
        "IOCFEED_EXPIRY_SWEEP_SECONDS": "0",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"X-API-Key": key}
    with (tmp_path / "serve.log").open("wb") as serve_log:
        server = subprocess.Popen(
            [str(IOCFEED), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "2", "--log-level", "warning"],
            env=environment, stdout=serve_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        with httpx.Client(timeout=10) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
            assert loaded_batches(client, base, headers) == 0

            with (tmp_path / "import.log").open("wb") as import_log:
                importer = subprocess.Popen(
                    [str(IOCFEED), "import", *map(str, files)],
                    env=environment, stdout=import_log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            counts = []
            while importer.poll() is None:
                counts.append(loaded_batches(client, base, headers))
            assert importer.returncode == 0, (tmp_path / "import.log").read_text()
            counts.append(loaded_batches(client, base, headers))

            assert counts == sorted(counts), counts  # never shrinks
            assert counts[-1] == FILES
            assert any(0 < count < FILES for count in counts), counts  # served mid-import
            page = client.get(f"{base}/api/v1/iocs", params={"limit": 1000}, headers=headers)
            assert page.status_code == 200 and len(page.json()["items"]) == 1000
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
