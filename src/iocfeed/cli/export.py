"""``iocfeed export``: write a STIX 2.1 bundle, or a list in another format, to a file or
stdout (SPEC §2, §5, §7).

The same use cases as ``GET /api/v1/export/stix`` and ``GET /api/v1/export/{format}`` with
the operator's own rights: every TLP, no lookback, each format's own cap. For the same rows
and options the bytes are the endpoint's. ``--format misp`` writes a whole MISP feed
directory (manifest, events, hashes) that a web server can publish as it is.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

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
from iocfeed.export_outputs import (
    MispPart,
    OutputResult,
    list_settings,
    parse_output_request,
    run_output,
)
from iocfeed.indicators.model import Tlp
from iocfeed.outputs.catalogue import OUTPUT_NAMES, OutputFormat
from iocfeed.outputs.csvfile import LOOKUP_NAMES
from iocfeed.outputs.text import FLAVOR_NAMES
from iocfeed.parameters import TYPE_NAMES
from iocfeed.services import Services

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
        int | None,
        typer.Option(
            help=f"Maximum number of IOCs: STIX 1 to 1000 (default {DEFAULT_LIMIT}); a list "
            "defaults to its format's cap."
        ),
    ] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help=f"STIX ({FORMAT_NAMES}: a Bundle or a bare array) or a list: {OUTPUT_NAMES}.",
        ),
    ] = "bundle",
    tag: Annotated[str | None, typer.Option(help="Only indicators with this tag.")] = None,
    min_confidence: Annotated[
        str | None, typer.Option(help="Confidence floor: low, medium or high.")
    ] = None,
    max_tlp: Annotated[
        str | None, typer.Option(help=f"Only indicators whose TLP is at most this ({TLP_NAMES}).")
    ] = None,
    flavor: Annotated[
        str | None, typer.Option(help=f"txt: whose list form ({FLAVOR_NAMES}).")
    ] = None,
    lookup: Annotated[
        str | None, typer.Option(help=f"csv: generic or a Splunk ES lookup ({LOOKUP_NAMES}).")
    ] = None,
    zone: Annotated[str | None, typer.Option(help="rpz: the zone's name.")] = None,
    group: Annotated[str | None, typer.Option(help="misp: one event per day or source.")] = None,
    comments: Annotated[
        bool, typer.Option("--comments", help="txt, hosts: add # header lines.")
    ] = False,
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
    """Write a STIX 2.1 bundle (or a list: txt, csv, suricata, rpz, misp, hosts) of the
    newest indicators, with every TLP and no lookback."""
    built = services(ctx)
    if format.strip().lower() in OUTPUT_NAMES.split(", "):
        try:
            _export_list(
                built,
                OutputFormat(format.strip().lower()),
                output,
                {
                    "type": type,
                    "since": since,
                    "source": source,
                    "limit": limit,
                    "tag": tag,
                    "min_confidence": min_confidence,
                    "max_tlp": max_tlp,
                    "include_flagged": include_flagged,
                    "tlp": tlp,
                    "flavor": flavor,
                    "lookup": lookup,
                    "zone": zone,
                    "group": group,
                    "comments": comments,
                },
            )
        finally:
            built.close()
        return
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
                tag=tag,
                min_confidence=min_confidence,
                max_tlp=max_tlp,
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


def _export_list(
    built: Services, fmt: OutputFormat, output: Path, parameters: dict[str, Any]
) -> None:
    """One list download, as the endpoint makes it; MISP: a feed directory at ``output``."""
    now = built.clock.now()
    settings = list_settings(built.settings)

    def run(part: str | None = None) -> OutputResult:
        try:
            asked = parse_output_request(
                fmt, plan_entries=None, rpz_zone=built.settings.rpz_zone, part=part, **parameters
            )
        except (InvalidQuery, LimitExceeded) as error:
            raise fail(error.message, 2) from error
        return run_output(
            asked,
            built.search,
            built.producer,
            settings,
            max_tlp=Tlp.RED,
            lookback_start=None,
            now=now,
        )

    if fmt is OutputFormat.MISP:
        if str(output) == "-":
            raise fail("--format misp writes a feed directory: give it with --output DIR", 2)
        manifest = run()
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise fail(f"cannot write {output}: {error.strerror}") from error
        parts = [MispPart.MANIFEST, MispPart.HASHES, *(f"{u}.json" for u in manifest.event_ids())]
        for part in parts:
            with _output(output / part) as sink:
                for chunk in run(part).chunks():
                    sink.write(chunk)
        result = manifest
    else:
        result = run()
        with _output(output) as sink:
            for chunk in result.chunks():
                sink.write(chunk)
    built.audit.record(
        key_id=None,
        action=f"export.{fmt.value}",
        parameters={**result.request.parameters(), "output": str(output)},
        result_count=result.count,
        now=now,
    )
    target = "stdout" if str(output) == "-" else str(output)
    err.print(f"export: {result.count} indicators written to {target}")
