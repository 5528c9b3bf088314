"""``iocfeed export``: write a STIX 2.1 bundle to a file or stdout (SPEC §2, §5).

The same use case as ``GET /api/v1/export/stix`` with the operator's own rights: every TLP,
no lookback. For the same rows and options the bytes are the endpoint's.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from iocfeed.cli.context import err, fail, services
from iocfeed.errors import InvalidQuery, LimitExceeded
from iocfeed.export import (
    DEFAULT_LIMIT,
    FORMAT_NAMES,
    TLP_NAMES,
    parse_export_request,
    run_export,
)
from iocfeed.indicators.model import Tlp
from iocfeed.parameters import TYPE_NAMES

app = typer.Typer()

AUDIT_ACTION = "export.stix"


@contextlib.contextmanager
def _output(path: Path) -> Iterator[BinaryIO]:
    if str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    try:
        with path.open("wb") as file:
            yield file
    except OSError as error:
        raise fail(f"cannot write {path}: {error.strerror}") from error


@app.command("export")
def export(
    ctx: typer.Context,
    type: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            "-t",
            help=f"Only these IOC types ({TYPE_NAMES}); repeat or comma-separate.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only indicators changed at or after this ISO 8601 time."),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="Only indicators one of these sources reported (exact name; repeatable).",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(help="Maximum number of IOCs (1 to the server's maximum, 1000).")
    ] = DEFAULT_LIMIT,
    format: Annotated[
        str, typer.Option("--format", "-f", help=f"{FORMAT_NAMES}: a Bundle or a bare array.")
    ] = "bundle",
    identity: Annotated[
        bool, typer.Option("--identity/--no-identity", help="Add the producer Identity SDO.")
    ] = True,
    markings: Annotated[
        bool,
        typer.Option("--markings/--no-markings", help="Add the TLP marking-definition SDOs."),
    ] = True,
    tlp: Annotated[
        str | None,
        typer.Option(help=f"Force one TLP on every object ({TLP_NAMES})."),
    ] = None,
    tlp_version: Annotated[
        int, typer.Option(help="2: TLP 2.0 markings; 1: TLP 1.0 (clear as WHITE).")
    ] = 2,
    include_observables: Annotated[
        bool,
        typer.Option(
            "--include-observables",
            help="Add SCOs in observed-data linked by based-on (Splunk ES before 8.2).",
        ),
    ] = False,
    include_flagged: Annotated[
        bool,
        typer.Option(
            "--include-flagged",
            help="Also export indicators a warninglist flagged (left out by default).",
        ),
    ] = False,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write; - for stdout.")
    ] = Path("-"),
) -> None:
    """Write a STIX 2.1 bundle of the newest indicators, with every TLP and no lookback."""
    built = services(ctx)
    try:
        now = built.clock.now()
        try:
            asked = parse_export_request(
                type=type,
                since=since,
                source=source,
                limit=limit,
                format=format,
                include_identity=identity,
                include_markings=markings,
                tlp=tlp,
                tlp_version=tlp_version,
                include_observables=include_observables,
                include_flagged=include_flagged,
                max_limit=built.settings.max_page_size,
            )
        except (InvalidQuery, LimitExceeded) as error:
            raise fail(error.message, 2) from error
        result = run_export(
            asked, built.search, built.producer, max_tlp=Tlp.RED, lookback_start=None, now=now
        )
        with _output(output) as sink:
            for chunk in result.chunks():
                sink.write(chunk)
        built.audit.record(
            key_id=None,
            action=AUDIT_ACTION,
            parameters={**asked.parameters(), "output": str(output)},
            result_count=result.count,
            now=now,
        )
    finally:
        built.close()
    target = "stdout" if str(output) == "-" else str(output)
    err.print(f"export: {result.count} indicators written to {target}")
