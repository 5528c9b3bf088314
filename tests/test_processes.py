"""``kill -9`` of ``iocfeed import`` or of the ``serve --workers 2`` master leaves nothing behind.

Each test starts the real command in its own session, waits until its helper processes run,
kills the main process alone with SIGKILL and checks that every process it had started is
gone within a few seconds (and, for the server, that the port is free again).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from iocfeed.lifeline import is_running
from tests.conftest import sqlite_url

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")
IOCFEED = str(Path(sys.executable).with_name("iocfeed"))


def descendants(root: int) -> set[int]:
    """Every live process below ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def wait_for(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.fixture
def session_cleanup() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever a failed test left running
        process.wait()


def kill_and_check(process: subprocess.Popen[bytes], helpers: set[int]) -> None:
    process.kill()  # SIGKILL to the main process only, not its group
    process.wait()
    wait_for(
        lambda: not any(is_running(pid) for pid in helpers),
        10,
        f"left running: {[pid for pid in helpers if is_running(pid)]}",
    )


def test_killed_import_leaves_no_worker(
    tmp_path: Path, session_cleanup: list[subprocess.Popen[bytes]]
) -> None:
    source = tmp_path / "big.jsonl"
    with source.open("w") as out:
        for n in range(150_000):
            out.write(f'{{"type": "domain", "value": "host{n}.example", "tags": ["t{n % 7}"]}}\n')
    env = {**os.environ, "IOCFEED_DATABASE_URL": sqlite_url(tmp_path)}
    subprocess.run([IOCFEED, "db", "upgrade"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [IOCFEED, "import", str(source)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    session_cleanup.append(process)
    # The forkserver, the resource tracker and at least one worker.
    wait_for(lambda: len(descendants(process.pid)) >= 3, 60, "the import started no workers")
    time.sleep(0.5)
    helpers = descendants(process.pid)
    kill_and_check(process, helpers)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_killed_server_master_leaves_no_worker_and_frees_the_port(
    tmp_path: Path, session_cleanup: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    env = {**os.environ, "IOCFEED_DATABASE_URL": sqlite_url(tmp_path)}
    command = [IOCFEED, "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    session_cleanup.append(process)

    def serving() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(lambda: serving() and len(descendants(process.pid)) >= 2, 60, "no workers")
    helpers = descendants(process.pid)
    kill_and_check(process, helpers)
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # "Address already in use" if a worker held it
