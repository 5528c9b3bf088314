"""Import throughput: ``iocfeed import`` of N generated indicators into SQLite and PostgreSQL.

Each import runs as its own process (the real CLI, normalisation on), and is compared in the
same run with its floor: a process that inserts the very same finished rows with one raw
``executemany`` per 5,000 rows into the same schema, with no parsing, validation or merging.

    python -m bench.import_speed [--count 1000000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from iocfeed.demo import generate
from iocfeed.store.engine import open_engine

POSTGRES_URL = os.environ.get(
    "IOCFEED_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BATCH = 5000


@dataclass
class Run:
    backend: str
    path: str
    seconds: float
    peak_mb: float
    count: int

    @property
    def rate(self) -> float:
        return self.count / self.seconds


def write_jsonl(path: Path, count: int) -> None:
    """The input file: the JSON Lines form of ``count`` demo indicators."""
    with path.open("wb") as out:
        for item in generate(count, seed=11, now=datetime.now(UTC)):
            record = {
                "type": item.type.value,
                "value": item.value,
                "confidence": item.confidence.value,
                "tags": list(item.tags),
                "techniques": list(item.techniques),
                "description": item.description,
                "source": item.source,
                "tlp": item.tlp.value if item.tlp else None,
                "first_seen": item.first_seen.isoformat() if item.first_seen else None,
                "last_seen": item.last_seen.isoformat() if item.last_seen else None,
                "valid_until": item.valid_until.isoformat() if item.valid_until else None,
            }
            out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))


@contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[str]:
    """An empty database of ``backend``; a PostgreSQL schema is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{uuid.uuid4().hex}.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = open_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS (MB) and standard output of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{command} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024, output


def migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "iocfeed", "db", "upgrade"],
        env={**os.environ, "IOCFEED_DATABASE_URL": url},
        check=True,
        stderr=subprocess.DEVNULL,
    )


def run_import(backend: str, source: Path, workdir: Path, count: int) -> Run:
    with fresh_database(backend, workdir) as url:
        migrate(url)
        env = {**os.environ, "IOCFEED_DATABASE_URL": url, "TERM": "dumb"}
        seconds, peak, _ = timed([sys.executable, "-m", "iocfeed", "import", str(source)], env)
    return Run(backend, "iocfeed import", seconds, peak, count)


def run_floor(backend: str, source: Path, workdir: Path, count: int) -> Run:
    with fresh_database(backend, workdir) as url:
        migrate(url)
        env = {**os.environ, "IOCFEED_DATABASE_URL": url}
        _, peak, output = timed([sys.executable, "-m", "bench.raw_insert", str(source)], env)
    return Run(backend, "floor (raw executemany)", float(output), peak, count)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="iocfeed-bench-") as tmp:
        workdir = Path(tmp)
        source = workdir / "indicators.jsonl"
        console.print(f"writing {args.count:,} indicators to {source.name} …")
        write_jsonl(source, args.count)
        runs: list[Run] = []
        for backend in args.backends.split(","):
            console.print(f"{backend}: import …")
            runs.append(run_import(backend, source, workdir, args.count))
            console.print(f"{backend}: floor …")
            runs.append(run_floor(backend, source, workdir, args.count))
    table = Table(
        title=f"Import of {args.count:,} indicators (JSON Lines)",
        caption="import: whole CLI process, wall time; floor: the inserts alone",
    )
    for column in ("backend", "path", "seconds", "indicators/s", "peak RSS MB", "× floor time"):
        table.add_column(column, justify="left" if column in {"backend", "path"} else "right")
    for index in range(0, len(runs), 2):
        ours, floor = runs[index], runs[index + 1]
        for run in (ours, floor):
            table.add_row(
                run.backend,
                run.path,
                f"{run.seconds:.1f}",
                f"{run.rate:,.0f}",
                f"{run.peak_mb:.0f}",
                f"{run.seconds / floor.seconds:.2f}",
            )
    console.print(table)


if __name__ == "__main__":
    main()
