"""``iocfeed serve``: run the HTTP service (REST API, STIX export, TAXII 2.1)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from iocfeed.cli.context import err, settings
from iocfeed.lifeline import SUPERVISOR_PID
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import upgrade

app = typer.Typer()

# Each worker process builds its own app from the environment (see web.app).
APP_FACTORY = "iocfeed.web.app:app_from_environment"
# The Prometheus client's switch to its multiprocess mode (iocfeed.web.metrics reads it).
SHARED_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve everything: /api/v1, /taxii2/, /docs, /healthz and /metrics."""
    chosen = settings(ctx)
    engine = open_engine(chosen.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    config_file = ctx.find_root().obj
    if config_file is not None:
        os.environ["IOCFEED_CONFIG"] = str(config_file)
    if workers > 1:
        # Workers exit when this process dies, even by SIGKILL (see iocfeed.lifeline).
        os.environ[SUPERVISOR_PID] = str(os.getpid())
    logging.basicConfig(level=log_level.upper(), format="%(message)s")
    err.print(f"iocfeed serving {chosen.database_url} on http://{host}:{port}")
    with shared_metrics(workers):
        _run(host, port, workers, log_level)


@contextlib.contextmanager
def shared_metrics(workers: int) -> Iterator[None]:
    """Several workers count metrics into one directory (see ``iocfeed.web.metrics``): the
    operator's ``PROMETHEUS_MULTIPROC_DIR``, emptied first, else a temporary one removed
    at exit. One worker keeps its metrics in memory unless the operator set the variable."""
    given = os.environ.get(SHARED_DIR_VARIABLE)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # counts of an earlier run
            stale.unlink()
        yield
        return
    if workers == 1:
        yield
        return
    made = tempfile.mkdtemp(prefix="iocfeed-metrics-")
    os.environ[SHARED_DIR_VARIABLE] = made
    try:
        yield
    finally:
        del os.environ[SHARED_DIR_VARIABLE]
        shutil.rmtree(made, ignore_errors=True)


def _run(host: str, port: int, workers: int, log_level: str) -> None:
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,  # iocfeed writes its own structured access log
        proxy_headers=False,  # iocfeed.web.proxy reads them, from trusted_proxies only
    )
