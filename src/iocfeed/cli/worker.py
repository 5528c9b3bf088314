"""``iocfeed worker``: run due sources (and the expiry sweep) until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from iocfeed.cli.context import out, services
from iocfeed.heap import settled
from iocfeed.worker.loop import Worker

app = typer.Typer()


@app.command("worker")
def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(help="Run what is due once, then exit.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks for due sources.")] = 15.0,
) -> None:
    """Pull due sources on their schedules; several workers may share one database."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runner = Worker(services(ctx))
    if once:
        try:
            runs = runner.run_once()
        finally:
            runner.close()
        failed = [run for run in runs if run.failed]
        out.print(f"{len(runs)} source runs, {len(failed)} failed", highlight=False)
        if failed:
            raise typer.Exit(1)
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with settled():  # see iocfeed.heap
        runner.run_forever(stop, poll)
