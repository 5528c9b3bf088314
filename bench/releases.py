"""The code a benchmark runs: this tree, or the previous release checked out beside it.

The previous release is a ``git worktree`` of :data:`PREVIOUS_COMMIT` under
``bench/.previous`` (made on first use); its ``src`` goes first on ``PYTHONPATH`` of the
processes that run it, so both releases run with the same interpreter and libraries, on the
same machine, in the same run. Everything a release does is a process of its own: its CLI,
its server, or a ``bench`` module run against it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PREVIOUS_COMMIT = os.environ.get("IOCFEED_BENCH_PREVIOUS", "5dfe092")
PREVIOUS_TREE = ROOT / "bench" / ".previous"


@dataclass(frozen=True)
class Release:
    name: str
    source: Path | None
    """The ``src`` directory put first on ``PYTHONPATH``; ``None`` for this tree."""

    def environment(self, database_url: str, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "IOCFEED_DATABASE_URL": database_url,
            "TERM": "dumb",
            **extra,
        }
        if self.source is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(self.source), str(ROOT)])
        return env

    def run(self, database_url: str, *arguments: str) -> str:
        """``python -m <arguments>`` under this release; its standard output."""
        return subprocess.run(
            [sys.executable, "-m", *arguments],
            env=self.environment(database_url),
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ).stdout

    def server(self, database_url: str) -> contextlib.AbstractContextManager[Server]:
        """``iocfeed serve`` of this release on a free loopback port."""
        command = ["iocfeed", "serve", "--host", "127.0.0.1", "--log-level", "warning"]
        return serve(command, self.environment(database_url), self.name)


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(
    base: str, process: subprocess.Popen[bytes], *, seconds: float, failure: str
) -> None:
    """Return once ``base/healthz`` answers 200; raise ``failure`` if ``process`` exits or
    ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(failure)
        time.sleep(0.1)


@contextlib.contextmanager
def serve(module: list[str], env: dict[str, str], name: str) -> Iterator[Server]:
    """``python -m <module> --port <free loopback port>`` in ``env``, once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", *module, "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, seconds=120, failure=f"{name}: the server did not start")
        yield Server(base, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)


@dataclass(frozen=True)
class Server:
    base: str
    pid: int

    def peak_rss_mb(self) -> float:
        """The server process's peak resident set size (``VmHWM``), MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


CURRENT = Release("this tree", None)


def previous() -> Release:
    """The previous release, checked out on first use."""
    if not (PREVIOUS_TREE / "src" / "iocfeed").is_dir():
        command = ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(PREVIOUS_TREE)]
        subprocess.run(
            [*command, PREVIOUS_COMMIT],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return Release(f"previous ({PREVIOUS_COMMIT})", PREVIOUS_TREE / "src")
