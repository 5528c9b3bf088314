"""``iocfeed serve``: run the HTTP service (REST API, STIX export, TAXII 2.1)."""

from __future__ import annotations

import logging
import os
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
