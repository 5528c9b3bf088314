"""Source run throughput: a URLhaus-format dump pulled by ``iocfeed sources run`` over
loopback HTTP, against ``iocfeed import`` of the same rows, each into a fresh SQLite store.

The dump follows URLhaus's published CSV layout (a ``#`` banner, the commented header
``# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter``, quoted
cells). ``iocfeed import`` cannot read that header (it names no value column), so its peer
file holds the very same rows under a plain header naming the same columns the way the
import reads them (``value``, ``first_seen``, ``last_seen``, ``tags``). Both runs are the
real CLI in a process of its own, wall time, migrations done beforehand; the source run
includes its download from a loopback HTTP server started by this benchmark.

    python -m bench.source_speed [--lines 1000000]
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.import_speed import Run, migrate, timed

FLOOR = 2 / 3
BANNER = """\
################################################################
# abuse.ch URLhaus Database Dump (CSV)                         #
# Last updated: {updated} (UTC)                      #
#                                                              #
# Terms Of Use: https://urlhaus.abuse.ch/api/                  #
# For questions please contact urlhaus [at] abuse.ch           #
################################################################
#
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter
"""
PLAIN_HEADER = "id,first_seen,value,url_status,last_seen,threat,tags,urlhaus_link,reporter\n"
_TAGS = ["32-bit,elf,mips,Mozi", "ClearFake", "exe,RedLineStealer", "None", "elf,Mirai"]
_PATHS = ["i", "bin.sh", "verification.google", "mozi.m", "payload.exe", "x86"]


def rows(count: int, *, seed: int = 11) -> Iterator[str]:
    """``count`` URLhaus rows, distinct URLs, newest first as in the real dumps."""
    chance = random.Random(seed)
    newest = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    for number in range(count):
        ident = 4_000_000 - number
        added = (newest - timedelta(seconds=number * 7)).strftime("%Y-%m-%d %H:%M:%S")
        if chance.random() < 0.6:
            host = ".".join(str(chance.randrange(1, 255)) for _ in range(4))
            host += f":{chance.randrange(1024, 65535)}"
        else:
            host = f"h{ident}.{chance.choice(['example.com', 'example.net', 'test.org'])}"
        url = f"http://{host}/{chance.choice(_PATHS)}?n={ident}"
        status = "online" if chance.random() < 0.3 else "offline"
        last = added if status == "online" else ""
        yield (
            f'"{ident}","{added}","{url}","{status}","{last}","malware_download",'
            f'"{chance.choice(_TAGS)}","https://urlhaus.abuse.ch/url/{ident}/","anonymous"\n'
        )


def write_dumps(directory: Path, count: int) -> tuple[Path, Path]:
    """The URLhaus dump and the same rows under a header ``iocfeed import`` reads."""
    dump, plain = directory / "csv.txt", directory / "urlhaus-rows.csv"
    with dump.open("w") as feed, plain.open("w") as peer:
        feed.write(BANNER.format(updated="2026-03-09 11:00:00"))
        peer.write(PLAIN_HEADER)
        for row in rows(count):
            feed.write(row)
            peer.write(row)
    return dump, plain


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving(directory: Path) -> Iterator[str]:
    """A loopback HTTP server for ``directory``; yields its base URL."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "IOCFEED_DATABASE_URL": url,
        "IOCFEED_SOURCE_MAX_BYTES": str(8 * 1024**3),
        "IOCFEED_SOURCE_TIMEOUT_SECONDS": "3600",
        "TERM": "dumb",
    }


def run_source(base: str, workdir: Path, count: int, attempt: int) -> Run:
    url = f"sqlite:///{workdir / f'source-{attempt}.db'}"
    migrate(url)
    iocfeed = [sys.executable, "-m", "iocfeed"]
    subprocess.run(
        [*iocfeed, "sources", "add", "urlhaus", "--kind", "urlhaus", "--url", f"{base}/csv.txt"],
        env=_env(url),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds, peak, _ = timed([*iocfeed, "sources", "run", "urlhaus"], _env(url))
    return Run("sqlite", "iocfeed sources run", seconds, peak, count)


def run_import(plain: Path, workdir: Path, count: int, attempt: int) -> Run:
    url = f"sqlite:///{workdir / f'import-{attempt}.db'}"
    migrate(url)
    command = [sys.executable, "-m", "iocfeed", "import", "--source", "urlhaus", str(plain)]
    seconds, peak, _ = timed(command, _env(url))
    return Run("sqlite", "iocfeed import", seconds, peak, count)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; medians shown")
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="iocfeed-bench-") as tmp:
        workdir = Path(tmp)
        console.print(f"writing a URLhaus dump of {args.lines:,} rows …")
        _, plain = write_dumps(workdir, args.lines)
        sources: list[Run] = []
        imports: list[Run] = []
        with serving(workdir) as base:
            for attempt in range(args.repeat):
                console.print(f"run {attempt + 1}: iocfeed sources run …")
                sources.append(run_source(base, workdir, args.lines, attempt))
                console.print(f"run {attempt + 1}: iocfeed import …")
                imports.append(run_import(plain, workdir, args.lines, attempt))
    source_s = _median([run.seconds for run in sources])
    import_s = _median([run.seconds for run in imports])
    table = Table(
        title=f"URLhaus dump of {args.lines:,} rows into SQLite (median of {args.repeat})",
        caption=f"rate ratio = import seconds / source seconds; floor {FLOOR:.2f}",
    )
    for column in ("path", "seconds", "lines/s", "peak RSS MB", "rate × import", "floor"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, seconds, runs in (
        ("iocfeed sources run", source_s, sources),
        ("iocfeed import", import_s, imports),
    ):
        table.add_row(
            name,
            f"{seconds:.1f}",
            f"{args.lines / seconds:,.0f}",
            f"{max(run.peak_mb for run in runs):.0f}",
            f"{import_s / seconds:.2f}",
            f"{FLOOR:.2f}" if name.startswith("iocfeed sources") else "",
        )
    console.print(table)


if __name__ == "__main__":
    main()
