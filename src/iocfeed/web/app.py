"""The composition root of the HTTP service: ``create_app(settings)`` builds everything."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from iocfeed import __version__
from iocfeed.clock import Clock
from iocfeed.config import Settings, load_settings
from iocfeed.heap import settled
from iocfeed.indicators import attack
from iocfeed.services import Services, build_services
from iocfeed.sweeps import holder_name, sweep_decayed, sweep_expired
from iocfeed.web import (
    api,
    export,
    export_formats,
    keys,
    ops,
    pushers,
    sightings,
    sources,
    stream,
    taxii,
    warninglists,
    webhooks,
)
from iocfeed.web.bulk import BulkTurns
from iocfeed.web.compression import Compression
from iocfeed.web.docs import install_docs
from iocfeed.web.errors import install_error_handlers
from iocfeed.web.headers import SecurityHeadersMiddleware
from iocfeed.web.metrics import Metrics, shared_dir
from iocfeed.web.middleware import RequestMiddleware
from iocfeed.web.pages import install_pages
from iocfeed.web.proxy import ProxyMiddleware
from iocfeed.web.reads import ReplicaReadsMiddleware
from iocfeed.web.usage import UsageMiddleware

log = logging.getLogger("iocfeed")

# How often each worker tries to claim the sweep (at most every expiry_sweep_seconds).
SWEEP_ATTEMPT_SECONDS = 10.0

DESCRIPTION = """\
iocfeed publishes indicators of compromise as STIX 2.1 bundles, TAXII 2.1 collections and a
JSON API. Authenticate with your API key in the `X-API-Key` header, as
`Authorization: Bearer <key>` (or `Token <key>`), or by HTTP Basic for TAXII clients such as
Microsoft Sentinel: the key as password (any username) or as username (empty password).
Errors share one JSON shape: `{"status", "error", "message", "parameter"?, "details"?}`.
"""


async def _sweep_expired(built: Services) -> None:
    """Revoke indicators past ``valid_until`` periodically (SPEC §1), and run warninglist
    re-checks: only with ``sweep_in_server``, for a deployment without ``iocfeed worker``,
    which does both. Every worker tries; the lease in the store lets one per interval run
    the expiry sweep (``iocfeed.sweeps``)."""
    holder = holder_name()
    pause = min(built.settings.expiry_sweep_seconds, SWEEP_ATTEMPT_SECONDS)
    while True:
        try:
            expired = await asyncio.to_thread(sweep_expired, built, holder)
            if expired:
                log.info("revoked %d expired indicators", expired)
            published = await asyncio.to_thread(built.warninglists.recheck_due)
            if published:
                log.info("warninglist re-check published %d versions", published)
        except Exception:  # the sweep must outlive a database hiccup
            log.exception("expiry sweep failed")
        await asyncio.sleep(pause)


async def _sweep_decayed(built: Services) -> None:
    """Apply decay periodically (``lifecycle.decay``): only with ``sweep_in_server``; the
    lease lets one worker per interval run it (``iocfeed.sweeps``)."""
    holder = holder_name()
    pause = min(built.settings.decay_sweep_seconds, SWEEP_ATTEMPT_SECONDS)
    while True:
        try:
            await asyncio.to_thread(sweep_decayed, built, holder)
        except Exception:  # the sweep must outlive a database hiccup
            log.exception("decay sweep failed")
        await asyncio.sleep(pause)


def _warm_up(built: Services) -> None:
    """Load before the first request what it would otherwise load: the ATT&CK catalogue
    (~0.1 s) and the false-positive lists' matcher (~1 s). Left to the first lookup or
    write under load, that request and every one queued behind it waited seconds."""
    attack.catalogue()
    try:
        built.warninglists.matcher()
    except Exception as error:  # only a warm-up: the first use tries again and reports
        log.warning("warninglists not loaded at start (%s); the first use loads them", error)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The iocfeed ASGI application for ``settings`` (the database must be migrated)."""
    built = build_services(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(_warm_up, built)
        sweepers = []
        if settings.sweep_in_server and settings.expiry_sweep_seconds > 0:
            sweepers.append(asyncio.create_task(_sweep_expired(built)))
        if settings.sweep_in_server and settings.decay_sweep_seconds > 0:
            sweepers.append(asyncio.create_task(_sweep_decayed(built)))
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # collector's passes, and make them rarer (``iocfeed.heap``).
        try:
            with settled():
                yield
        finally:
            for sweeper in sweepers:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            metrics.close()
            built.close()

    app = FastAPI(
        title="iocfeed",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by iocfeed.web.docs, without a CDN
        redoc_url=None,
    )
    app.state.services = built
    app.state.bulk_turns = BulkTurns(settings.bulk_slots)
    metrics = Metrics(
        built.search.counts_by_type, built.limiter.redis_failures, shared=shared_dir()
    )
    app.state.metrics = metrics
    install_error_handlers(app)
    install_pages(app)
    app.include_router(ops.router)
    app.include_router(api.router, prefix="/api/v1")
    app.include_router(keys.router, prefix="/api/v1")
    app.include_router(sources.router, prefix="/api/v1")
    app.include_router(sightings.router, prefix="/api/v1")
    app.include_router(export.router, prefix="/api/v1")
    app.include_router(export_formats.router, prefix="/api/v1")
    app.include_router(webhooks.router, prefix="/api/v1")
    app.include_router(stream.router, prefix="/api/v1")
    app.include_router(pushers.router, prefix="/api/v1")
    app.include_router(warninglists.router, prefix="/api/v1")
    app.include_router(taxii.router, prefix="/taxii2")
    install_docs(app)
    keys.declare_plans(app, list(settings.plans))
    # Innermost first.
    # At ``export.GZIP_LEVEL``: a 1000-object TAXII page compresses in about 1 ms.
    app.add_middleware(Compression, minimum_size=1024)
    if settings.usage_metering:
        # Outside compression: counts the bytes the client receives.
        app.state.meter = built.meter
        app.add_middleware(UsageMiddleware, meter=built.meter, clock=built.clock)
    app.add_middleware(
        RequestMiddleware,
        max_body_bytes=settings.max_body_bytes,
        metrics=app.state.metrics,
        log_access=settings.access_log,
    )
    if built.reads.replicas:
        app.add_middleware(ReplicaReadsMiddleware, routing=built.reads)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        ProxyMiddleware, public_url=settings.public_url, trusted_proxies=settings.trusted_proxies
    )
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker builds its own app from IOCFEED_*)."""
    import os
    import signal
    from pathlib import Path

    from iocfeed.lifeline import SUPERVISOR_PID, watch_owner

    config = os.environ.get("IOCFEED_CONFIG")
    app = create_app(load_settings(Path(config) if config else None))
    supervisor = int(os.environ.get(SUPERVISOR_PID, "0"))
    if supervisor and supervisor != os.getpid():
        # A worker of `serve --workers N`: shut down (freeing the port) if the master dies.
        watch_owner(supervisor, on_orphaned=lambda: os.kill(os.getpid(), signal.SIGTERM))
    return app
