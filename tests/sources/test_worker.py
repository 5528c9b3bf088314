"""Workers: each due source runs once however many workers share PostgreSQL; a worker
killed mid-run leaves the store consistent and the next run completes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from iocfeed.sources.model import RunOutcome, SourceKind
from iocfeed.store.engine import open_engine
from iocfeed.store.schema import source_runs
from tests.conftest import postgres_url
from tests.sources.conftest import FEEDS, FeedServer, Pulling, make_pulling, wait_until

URLHAUS = FEEDS / "urlhaus" / "csv_recent.sample.csv"


def test_two_workers_on_postgresql_run_each_due_source_exactly_once(
    postgres_engine: Engine, postgres_schema: str, feeds: FeedServer
) -> None:
    first = make_pulling(postgres_engine)
    second_engine = open_engine(postgres_url(postgres_schema))
    second = make_pulling(second_engine)
    for number in range(10):
        body = f"host{number}.example.com\nhost{number}.example.net\n"
        first.add(
            f"list-{number}", SourceKind.TEXT, feeds.serve(f"/{number}.txt", body, delay=0.05)
        )
    start = threading.Barrier(2)
    results: dict[str, list[object]] = {}

    def work(name: str, pulling: Pulling) -> None:
        start.wait()
        results[name] = list(pulling.runner.run_due())

    threads = [
        threading.Thread(target=work, args=("first", first)),
        threading.Thread(target=work, args=("second", second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    second_engine.dispose()
    with postgres_engine.connect() as connection:
        per_source = Counter(connection.execute(select(source_runs.c.source_id)).scalars())
        outcomes = set(connection.execute(select(source_runs.c.outcome)).scalars())
    assert len(per_source) == 10
    assert set(per_source.values()) == {1}
    assert outcomes == {RunOutcome.SUCCEEDED.value}
    assert sum(feeds.hits.values()) == 10
    assert len(results["first"]) + len(results["second"]) == 10


def test_worker_killed_mid_run_leaves_the_store_consistent(
    database_url: str, feeds: FeedServer
) -> None:
    url = feeds.serve("/slow.csv", URLHAUS, delay=30)
    environment = {**os.environ, "IOCFEED_DATABASE_URL": database_url}
    add = [
        sys.executable,
        "-m",
        "iocfeed",
        "sources",
        "add",
        "slow",
        "--kind",
        "urlhaus",
        "--url",
        url,
    ]
    subprocess.run(add, env=environment, check=True, capture_output=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "iocfeed", "sources", "run", "slow"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: feeds.hits["/slow.csv"] == 1, timeout=30)
    process.send_signal(signal.SIGKILL)
    process.wait()
    engine = open_engine(database_url)
    try:
        pulling = make_pulling(engine)
        source = pulling.sources.get("slow")
        (interrupted,) = pulling.sources.runs(source.source_id)
        assert interrupted.outcome is RunOutcome.RUNNING
        # The lease is still held: nobody else runs the source until it expires.
        pulling.clock.at = datetime.now(UTC)
        assert pulling.runner.run(source) is None
        feeds.serve("/slow.csv", URLHAUS)
        pulling.clock.at = datetime.now(UTC) + pulling.runner.lease + timedelta(seconds=1)
        run = pulling.runner.run(source)
        assert run is not None
        assert run.outcome is RunOutcome.SUCCEEDED, run.error
        assert run.counts.added == 40
        runs = pulling.sources.runs(source.source_id)
        assert [r.outcome for r in runs] == [RunOutcome.SUCCEEDED, RunOutcome.FAILED]
        assert runs[1].error is not None
        assert "interrupted" in runs[1].error
    finally:
        engine.dispose()


@pytest.mark.parametrize("outcome", ["ok", "failed"])
def test_worker_once_runs_due_sources(
    iocfeed_cli: Callable[..., Any], feeds: FeedServer, outcome: str
) -> None:
    run = iocfeed_cli
    run(
        "sources",
        "add",
        "good",
        "--kind",
        "text",
        "--url",
        feeds.serve("/good.txt", "a.example.com\n"),
    )
    if outcome == "failed":
        run("sources", "add", "gone", "--kind", "text", "--url", feeds.url("/gone"))
    result = run("worker", "--once")
    if outcome == "ok":
        assert (result.exit_code, result.output.strip()) == (0, "1 source runs, 0 failed")
    else:
        assert (result.exit_code, result.output.strip()) == (1, "2 source runs, 1 failed")
    # Nothing is due again before its interval.
    assert run("worker", "--once").output.strip() == "0 source runs, 0 failed"


def test_export_command_filters_by_source(
    iocfeed_cli: Callable[..., Any], feeds: FeedServer
) -> None:
    run = iocfeed_cli
    for name, body in (
        ("one", "a.example.com\nshared.example.com\n"),
        ("two", "shared.example.com\n"),
    ):
        run("sources", "add", name, "--kind", "text", "--url", feeds.serve(f"/{name}.txt", body))
        assert run("sources", "run", name).exit_code == 0
    for names, expected in (
        (["two"], {"shared.example.com"}),
        (["one"], {"a.example.com", "shared.example.com"}),
        (["one", "two"], {"a.example.com", "shared.example.com"}),
    ):
        options = [part for name in names for part in ("--source", name)]
        result = run("export", *options)
        assert result.exit_code == 0, result.output
        objects = orjson.loads(result.stdout)["objects"]
        found = {o["name"].rsplit(" ", 1)[-1] for o in objects if o["type"] == "indicator"}
        assert found == expected


def test_source_commands_never_print_credentials_of_a_url(
    iocfeed_cli: Callable[..., Any], feeds: FeedServer
) -> None:
    run = iocfeed_cli
    url = feeds.url("/gone").replace("://", "://bob:hunter2@") + "?api_key=s3cret"
    added = run("sources", "add", "secretive", "--kind", "text", "--url", url)
    assert added.exit_code == 0, added.output
    results = [added, run("sources", "run", "secretive")]
    results += [run("sources", "list"), run("sources", "show", "secretive")]
    assert results[1].exit_code == 1
    for result in results:
        assert "hunter2" not in result.output and "s3cret" not in result.output
    assert "api_key=***" in results[3].output
