"""A real PostgreSQL primary and streaming replica on loopback ports, for the tests.

Made with the installed binaries (``initdb``, ``pg_ctl``, ``pg_basebackup -R``) in a
temporary directory, apart from the system's cluster, once per test session. The replica's
``recovery_min_apply_delay`` is in a file of its own that :meth:`ReplicaPair.delay`
rewrites and reloads, so a test sets the replica's lag.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from iocfeed.store.engine import open_engine

BINARIES = Path(os.environ.get("IOCFEED_TEST_PG_BINARIES", "/usr/lib/postgresql/15/bin"))
NEEDED = ("initdb", "pg_ctl", "pg_basebackup")
# PostgreSQL refuses to run as root; then the servers run as this user.
SERVER_USER = "postgres"
SHOW_DELAY = text("SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'")
SHOW_DELAY = text("SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'")


def missing() -> str | None:
    """Why a replica pair cannot be made here, or ``None``."""
    absent = [name for name in NEEDED if not (BINARIES / name).exists()]
    if absent:
        return f"PostgreSQL server binaries not found in {BINARIES}: {', '.join(absent)}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ReplicaPair:
    """A primary and its streaming replica; ``url(...)`` of each, ``delay`` of the replica."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="iocfeed-replica-"))
        self.primary_port = _free_port()
        self.replica_port = _free_port()
        self.primary_dir = self.root / "primary"
        self.replica_dir = self.root / "replica"
        self._started: list[Path] = []

    def _run(self, *command: str) -> None:
        argv = [str(BINARIES / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")

    def _start(self, data: Path, port: int) -> None:
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c fsync=off -c full_page_writes=off "
            "-c shared_buffers=32MB -c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / f"{data.name}.log"),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip
        self._started.append(data)

    def start(self) -> ReplicaPair:
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVER_USER, SERVER_USER)
        self._run("initdb", "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust",
                  "--no-sync", "--no-instructions")  # fmt: skip
        # initdb's pg_hba.conf lets loopback replicate with trust; the defaults of
        # wal_level (replica) and max_wal_senders (10) allow a streaming replica.
        self._start(self.primary_dir, self.primary_port)
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port),
                  "-U", "postgres", "-D", str(self.replica_dir), "-R", "-X", "stream",
                  "--checkpoint=fast", "--no-sync")  # fmt: skip
        with (self.replica_dir / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'delay.conf'\n")
        self._write_delay(0)
        self._start(self.replica_dir, self.replica_port)
        return self

    def url(self, *, replica: bool = False, schema: str | None = None) -> str:
        port = self.replica_port if replica else self.primary_port
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        return f"{url}?options=-csearch_path%3D{schema}" if schema else url

    def _write_delay(self, milliseconds: int) -> None:
        path = self.replica_dir / "delay.conf"
        staged = self.root / "delay.conf"
        staged.write_text(f"recovery_min_apply_delay = '{milliseconds}ms'\n")
        if os.geteuid() == 0:
            shutil.chown(staged, SERVER_USER, SERVER_USER)
        staged.replace(path)

    def delay(self, seconds: float) -> None:
        """Make the replica apply each commit ``seconds`` after the primary made it."""
        milliseconds = round(seconds * 1000)
        self._write_delay(milliseconds)
        engine = open_engine(self.url(replica=True))
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_reload_conf()"))
            deadline = time.monotonic() + 10
            while True:
                with engine.connect() as connection:
                    shown = connection.execute(SHOW_DELAY).scalar_one()
                if int(shown) == milliseconds or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        finally:
            engine.dispose()

    def caught_up(self, timeout: float = 30.0) -> None:
        """Wait until the replica has replayed everything the primary has written (commits
        are flushed before they are acknowledged, so the write position covers them)."""
        primary, replica = open_engine(self.url()), open_engine(self.url(replica=True))
        try:
            with primary.connect() as connection:
                target = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
            deadline = time.monotonic() + timeout
            while True:
                with replica.connect() as connection:
                    behind = connection.execute(
                        text("SELECT pg_wal_lsn_diff(:target, pg_last_wal_replay_lsn()) > 0"),
                        {"target": target},
                    ).scalar_one()
                if not behind:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError("the replica did not catch up")
                time.sleep(0.02)
        finally:
            primary.dispose()
            replica.dispose()

    def stop(self) -> None:
        for data in reversed(self._started):
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
