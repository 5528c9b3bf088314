"""``iocfeed import``: load indicator files of any supported format.

Exit status: 0 when every file was read, even if some of its lines were rejected (each is
reported with its line and reason, and the good ones are stored); 1 when a file could not
be opened, was rejected whole (a CSV without a value column, a JSON document that does not
parse), or had records of which none could be stored. The other files are still imported;
the reason is on stderr. 2 is a bad option.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, BinaryIO, TextIO

import orjson
import typer

from iocfeed.cli.context import err, fail, services
from iocfeed.cli.summary import print_summary, progress_bar
from iocfeed.errors import InvalidIndicator
from iocfeed.formats.detect import Format, detect_format
from iocfeed.heap import settled
from iocfeed.indicators.model import Rejected
from iocfeed.indicators.normalize import (
    RecordDefaults,
    normalize_tags,
    parse_confidence,
    parse_tlp,
)
from iocfeed.ingest import ImportSummary, ingest_stream
from iocfeed.services import Services

app = typer.Typer()

_SNIFF_BYTES = 64 * 1024


def _defaults(confidence: str, tags: list[str], source: str, tlp: str | None) -> RecordDefaults:
    try:
        return RecordDefaults(
            confidence=parse_confidence(confidence),
            tags=normalize_tags(tags),
            source=source,
            tlp=parse_tlp(tlp) if tlp else None,
        )
    except InvalidIndicator as error:
        raise fail(error.message, 2) from error


def _open(path: Path) -> tuple[BinaryIO, int | None]:
    if str(path) == "-":
        return sys.stdin.buffer, None
    try:
        return path.open("rb"), path.stat().st_size
    except OSError as error:
        raise fail(f"cannot open {path}: {error.strerror}") from error


def _peek(binary: BinaryIO) -> bytes:
    """The first bytes of the stream, for format detection, without consuming them."""
    peek = getattr(binary, "peek", None)
    return peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if peek is not None else b""


def _text(binary: BinaryIO, advance: Callable[[int], None]) -> TextIO:
    # A stray undecodable byte must cost one line, not the file: it becomes U+FFFD and the
    # value carrying it is rejected by its validator.
    tracked = io.BufferedReader(_Tracked(binary, advance))
    return io.TextIOWrapper(tracked, encoding="utf-8-sig", errors="replace", newline="")


@app.command("import")
def import_files(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Files to load; - reads stdin.")],
    format: Annotated[
        Format | None, typer.Option("--format", "-f", help="Override format detection.")
    ] = None,
    confidence: Annotated[
        str, typer.Option(help="Confidence for records that state none: high, medium, low.")
    ] = "medium",
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Tag added to every record.")
    ] = None,
    source: Annotated[str, typer.Option(help="Source name for records that state none.")] = "",
    tlp: Annotated[str | None, typer.Option(help="TLP for records that state none.")] = None,
    errors: Annotated[
        Path | None, typer.Option(help="Write every rejected record here, as JSON Lines.")
    ] = None,
) -> None:
    """Load CSV, JSON, JSON Lines, STIX bundles or plain/defanged text; report bad lines."""
    defaults = _defaults(confidence, tag or [], source, tlp)
    built = services(ctx)
    error_report = errors.open("wb") if errors else None
    try:
        with settled():
            failed = sum(
                not _import_file(path, format, defaults, built, error_report) for path in files
            )
    finally:
        if error_report is not None:
            error_report.close()
    if failed:
        raise typer.Exit(1)


def _import_file(
    path: Path,
    format: Format | None,
    defaults: RecordDefaults,
    built: Services,
    error_report: BinaryIO | None,
) -> bool:
    """Import one file and print its summary; whether it counts as imported (see the module
    docstring)."""
    binary, size = _open(path)
    with binary:
        head = _peek(binary)
        fmt = format or detect_format(path.name, head.decode("utf-8", errors="replace"))

        def report(rejection: Rejected) -> None:
            if error_report is not None:
                error_report.write(
                    orjson.dumps(
                        {
                            "file": str(path),
                            "line": rejection.line,
                            "reason": rejection.reason,
                            "text": rejection.text,
                        },
                        option=orjson.OPT_APPEND_NEWLINE,
                    )
                )

        with progress_bar(size, f"{path.name} ({fmt.value})") as advance:
            summary = ingest_stream(
                _text(binary, advance),
                fmt,
                built.indicators,
                built.clock,
                defaults=defaults,
                on_rejected=report,
                screen=built.warninglists.screen(),
            )
    print_summary(summary, f"{path} ({fmt.value})")
    problem = _nothing_imported(summary)
    if problem is not None:
        err.print(f"[red]error:[/red] {path}: {problem}", highlight=False)
    return problem is None


def _nothing_imported(summary: ImportSummary) -> str | None:
    """Why a file counts as failed (see the module docstring), or ``None`` if it does not."""
    whole = summary.file_rejected
    if whole is not None:
        return f"rejected whole at line {whole.line}: {whole.reason}"
    if summary.rejected and not summary.stored:
        return f"none of its {summary.rejected} records could be stored"
    return None


class _Tracked(io.RawIOBase):
    """A binary stream that reports how many bytes have been read, for the progress bar."""

    def __init__(self, inner: BinaryIO, advance: Callable[[int], None]) -> None:
        self.inner = inner
        self.advance = advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.advance(len(data))
        return len(data)
