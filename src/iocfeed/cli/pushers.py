"""``iocfeed pushers``: uploads to a SIEM on a schedule (add, list, run, remove): Microsoft
Sentinel's STIX objects upload API. ``run`` runs one now, in the foreground, and exits 1
if it failed. The client secret is read from standard input and never shown."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from iocfeed.cli.context import fail, out, services
from iocfeed.errors import IocfeedError
from iocfeed.indicators.model import Tlp
from iocfeed.push.model import PushOutcome, SentinelSettings
from iocfeed.push.sentinel import check_source_system
from iocfeed.sources.model import check_interval, check_name
from iocfeed.worker.sentinel import BEGINNING, SentinelPusher

app = typer.Typer(help="Uploads to a SIEM on a schedule: Microsoft Sentinel.")


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short unique name, e.g. sentinel-prod.")],
    tenant_id: Annotated[str, typer.Option(help="Entra ID tenant (directory) id.")],
    client_id: Annotated[str, typer.Option(help="The app registration's client id.")],
    workspace_id: Annotated[str, typer.Option(help="The Sentinel workspace id.")],
    source_system: Annotated[str, typer.Option(help="The source name Sentinel shows.")] = "iocfeed",
    max_tlp: Annotated[Tlp, typer.Option(help="Highest TLP uploaded.")] = Tlp.AMBER,
    interval: Annotated[int, typer.Option(help="Seconds between runs (at least 60).")] = 3600,
) -> None:
    """Add a Sentinel pusher; the client secret is read from standard input."""
    secret = sys.stdin.readline().strip()
    if not secret:
        raise fail("give the client secret on standard input", 2)
    try:
        settings = SentinelSettings(
            tenant_id=tenant_id.strip(),
            client_id=client_id.strip(),
            workspace_id=workspace_id.strip(),
            source_system=check_source_system(source_system),
            max_tlp=max_tlp,
        )
        checked_name, seconds = check_name(name), check_interval(interval)
    except (ValueError, IocfeedError) as error:
        raise fail(getattr(error, "message", str(error)), 2) from error
    built = services(ctx)
    try:
        built.pushers.add(
            name=checked_name,
            settings=settings,
            client_secret=secret,
            interval_seconds=seconds,
            checkpoint=BEGINNING,
            now=built.clock.now(),
        )
    except IocfeedError as error:
        raise fail(error.message) from error
    out.print(f"added pusher {checked_name} (sentinel, every {seconds} s)")


@app.command("list")
def list_pushers(ctx: typer.Context) -> None:
    """Every pusher, with its last run (the client secret is never shown)."""
    built = services(ctx)
    table = Table("name", "workspace", "every (s)", "last run", "uploaded", "rejected", "error")
    for pusher in built.pushers.list_all():
        runs = built.pushers.runs(pusher.pusher_id, 1)
        last = runs[0] if runs else None
        table.add_row(
            pusher.name,
            pusher.settings.workspace_id,
            str(pusher.interval_seconds),
            f"{last.outcome.value} {last.started.isoformat(timespec='seconds')}"
            if last
            else "never",
            str(last.counts.uploaded) if last else "",
            str(last.counts.rejected) if last else "",
            (last.error or "") if last else "",
        )
    out.print(table)


@app.command("run")
def run(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The pusher.")]) -> None:
    """Run a pusher once now; exit 1 if the run failed, 3 if it is being run elsewhere."""
    built = services(ctx)
    try:
        pusher = built.pushers.get(name)
    except IocfeedError as error:
        raise fail(error.message) from error
    done = SentinelPusher(
        built.settings, built.clock, built.pushers, built.search, built.producer
    ).run(pusher)
    if done is None:
        raise fail(f"pusher {name} is being run elsewhere", 3)
    counts = done.counts
    out.print(
        f"{done.outcome.value}: {counts.uploaded} uploaded, {counts.rejected} rejected, "
        f"{counts.requests} requests, {counts.throttled} throttled",
        highlight=False,
    )
    for refused in done.record_errors:
        out.print(f"  refused {refused.object_id}: {'; '.join(refused.messages)}", highlight=False)
    if done.outcome is PushOutcome.FAILED:
        raise fail(done.error or "the run failed")


@app.command("remove")
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The pusher.")]) -> None:
    """Forget a pusher and its runs."""
    built = services(ctx)
    try:
        built.pushers.remove(name)
    except IocfeedError as error:
        raise fail(error.message) from error
    out.print(f"removed pusher {name}")
