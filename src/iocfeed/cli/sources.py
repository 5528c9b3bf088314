"""``iocfeed sources``: feeds pulled on a schedule (add, list, show, run, enable, disable,
remove). ``run`` pulls one source now, in the foreground, and exits 1 if the run failed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from iocfeed.cli.context import err, fail, out, services
from iocfeed.errors import IocfeedError
from iocfeed.indicators.model import IocType
from iocfeed.indicators.normalize import normalize_tags, parse_confidence, parse_tlp
from iocfeed.sources.model import (
    DEFAULT_API_KEY_HEADER,
    DEFAULT_INTERVAL_SECONDS,
    NewSource,
    RunCounts,
    SourceKind,
    SourceSettings,
    check_columns,
    check_interval,
    check_name,
    check_url,
    describe,
    parse_credentials,
    redact,
)
from iocfeed.worker.runs import SourceRunner

app = typer.Typer(help="Feeds pulled on a schedule: TAXII, MISP, abuse.ch, CSV and text lists.")


@contextmanager
def _exit_on_error(code: int = 1) -> Iterator[None]:
    """An iocfeed error inside becomes the command's exit ``code`` with its message."""
    try:
        yield
    except IocfeedError as error:
        raise fail(error.message, code) from error


def _counts(counts: RunCounts) -> str:
    return (
        f"{counts.added} added, {counts.updated} updated, {counts.unchanged} unchanged, "
        f"{counts.rejected} rejected, {counts.revoked} revoked"
    )


def _columns(pairs: list[str]) -> dict[str, int | str]:
    columns: dict[str, int | str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not column:
            raise fail(f"--column takes FIELD=NUMBER or FIELD=TITLE, got {pair!r}", 2)
        columns[name.strip()] = int(column) if column.isdigit() else column.strip()
    return columns


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short unique name, e.g. urlhaus-recent.")],
    kind: Annotated[SourceKind, typer.Option(help="What the URL serves.")],
    url: Annotated[str, typer.Option(help="The feed's URL (http or https).")],
    interval: Annotated[
        int, typer.Option(help="Seconds between runs (at least 60).")
    ] = DEFAULT_INTERVAL_SECONDS,
    header: Annotated[
        str | None, typer.Option(help="Credential sent as a header: 'Name: value'.")
    ] = None,
    basic: Annotated[
        str | None, typer.Option(help="HTTP Basic credential: 'user:password'.")
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="API key, sent in --api-key-header.")] = None,
    api_key_header: Annotated[
        str, typer.Option(help="Header that carries --api-key (abuse.ch: Auth-Key).")
    ] = DEFAULT_API_KEY_HEADER,
    confidence: Annotated[
        str, typer.Option(help="Confidence of indicators that state none.")
    ] = "medium",
    tlp: Annotated[str | None, typer.Option(help="TLP of indicators that state none.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Tag added to every indicator.")
    ] = None,
    type: Annotated[
        list[IocType] | None, typer.Option("--type", help="Keep only this type (repeatable).")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="CSV kind: FIELD=NUMBER (1-based) or FIELD=TITLE, e.g. value=3."),
    ] = None,
) -> None:
    """Add a source; it runs when next due (or now with `iocfeed sources run NAME`)."""
    with _exit_on_error(2):
        new = NewSource(
            name=check_name(name),
            kind=kind,
            url=check_url(url),
            interval_seconds=check_interval(interval),
            credentials=parse_credentials(
                header=header, basic=basic, api_key=api_key, api_key_header=api_key_header
            ),
            settings=SourceSettings(
                confidence=parse_confidence(confidence),
                tlp=parse_tlp(tlp) if tlp else None,
                tags=normalize_tags(tag or []),
                types=frozenset(type or ()),
                columns=check_columns(_columns(column or [])),
            ),
        )
    built = services(ctx)
    with _exit_on_error():
        source = built.sources.add(new, built.clock.now())
    out.print(
        f"added source {source.name} ({source.kind.value}, every {source.interval_seconds} s)"
    )


@app.command("list")
def list_sources(ctx: typer.Context) -> None:
    """Every source, with its last run (credentials are never shown)."""
    built = services(ctx)
    table = Table("name", "kind", "url", "every (s)", "state", "last run", "error")
    for source in built.sources.list_all():
        runs = built.sources.runs(source.source_id, limit=1)
        last = runs[0] if runs else None
        table.add_row(
            source.name,
            source.kind.value,
            redact(source.url),
            str(source.interval_seconds),
            "enabled" if source.enabled else "disabled",
            f"{last.outcome.value} {last.started.isoformat(timespec='seconds')}"
            if last
            else "never",
            redact(last.error or "") if last else "",
        )
    out.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source's name.")],
    runs: Annotated[int, typer.Option(help="How many of the latest runs to show.")] = 10,
) -> None:
    """A source's settings and its latest runs."""
    built = services(ctx)
    with _exit_on_error():
        source = built.sources.get(name)
    body = describe(source)
    for key, value in body.items():
        out.print(f"{key}: {value}", highlight=False)
    out.print("runs (newest first):")
    for run in built.sources.runs(source.source_id, limit=runs):
        out.print(
            f"  {run.started.isoformat(timespec='seconds')} {run.outcome.value}: "
            f"{_counts(run.counts)}" + (f" — {redact(run.error)}" if run.error else ""),
            highlight=False,
            soft_wrap=True,
        )


@app.command("run")
def run(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source's name.")]
) -> None:
    """Run the source once now, in the foreground; exit 1 if the run failed."""
    built = services(ctx)
    with _exit_on_error():
        source = built.sources.get(name)
    runner = SourceRunner(
        built.settings,
        built.clock,
        built.indicators,
        built.sources,
        warninglists=built.warninglists,
    )
    result = runner.run(source)
    if result is None:
        raise fail(f"source {name} is being run by another process")
    out.print(
        f"{source.name}: {result.outcome.value}: {_counts(result.counts)}",
        highlight=False,
    )
    if result.failed:
        raise fail(f"{source.name}: {redact(result.error or '')}")


def _toggle(ctx: typer.Context, name: str, enabled: bool) -> None:
    built = services(ctx)
    with _exit_on_error():
        source = built.sources.set_enabled(name, enabled)
    out.print(f"{source.name} {'enabled' if enabled else 'disabled'}")


@app.command("enable")
def enable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source's name.")]
) -> None:
    """Let the source run on its schedule again."""
    _toggle(ctx, name, True)


@app.command("disable")
def disable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source's name.")]
) -> None:
    """Stop running the source on its schedule (`run` still runs it)."""
    _toggle(ctx, name, False)


@app.command("remove")
def remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source's name.")]
) -> None:
    """Forget the source and its runs; the indicators it brought stay."""
    built = services(ctx)
    with _exit_on_error():
        source = built.sources.remove(name)
    err.print(f"removed source {source.name}")
