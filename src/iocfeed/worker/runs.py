"""One run of a source: claim it, download, read, store, remember provenance, revoke what
a full dump dropped, and record the run. Also ``run_due``: every due source, one at a time.

A run fails (and changes nothing) when the download fails or the feed cannot be read as a
whole; its error is kept in words. A run of a full-dump kind that lists nothing, fails, or
was not modified (HTTP 304) revokes nothing. Otherwise an indicator the source has not
listed for ``source_missing_runs`` successful runs in a row is revoked, unless another
source's latest run still lists it.

Provenance is written after each batch of indicators is stored, in its own transaction: a
crash between the two leaves an indicator without that source's row until the next run.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import orjson

from iocfeed.clock import Clock
from iocfeed.config import Settings
from iocfeed.errors import IocfeedError, NotFound, SourceFailed
from iocfeed.formats.stixbundle import read_stix
from iocfeed.indicators.merge import Writer
from iocfeed.indicators.model import IndicatorInput, IocType, Notice, RawIndicator, Rejected
from iocfeed.indicators.normalize import RecordDefaults
from iocfeed.ingest import ImportSummary, Parallelism, ingest, ingest_lines
from iocfeed.lifecycle.warninglist_screen import Screen
from iocfeed.sources.kinds import READERS, line_reader, of_types
from iocfeed.sources.misp import changed_events, read_event
from iocfeed.sources.model import (
    FULL_DUMP_KINDS,
    RunCounts,
    RunOutcome,
    Source,
    SourceKind,
    SourceRun,
    redact,
)
from iocfeed.stix.ids import new_stix_id
from iocfeed.store.indicators import IndicatorStore, Loaded
from iocfeed.store.sources import SourceStore
from iocfeed.warninglists import Warninglists
from iocfeed.worker import taxii_pull
from iocfeed.worker.downloads import Limits, download

log = logging.getLogger("iocfeed.sources")


class _Redacting(logging.Filter):
    """Log records, tracebacks included, without the credentials a URL may carry: those
    of this module and of the HTTP clients that log the URLs they fetch."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


for _logger in (log, *map(logging.getLogger, ("httpx", "urllib3", "taxii2client"))):
    _logger.addFilter(_Redacting())
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True, slots=True)
class SourceRunner:
    settings: Settings
    clock: Clock
    indicators: IndicatorStore
    sources: SourceStore
    parallel: Parallelism = field(default_factory=Parallelism)
    """How large line-by-line feeds are spread over worker processes (``ingest_lines``)."""
    warninglists: Warninglists | None = None
    """The false-positive lists every value is screened against (``None``: none)."""

    def _screen(self) -> Screen | None:
        return self.warninglists.screen() if self.warninglists is not None else None

    @property
    def lease(self) -> timedelta:
        """Long enough for a download at its time limit, plus room to store it."""
        return timedelta(seconds=2 * self.settings.source_timeout_seconds + 600)

    def run(self, source: Source, *, only_if_due: bool = False) -> SourceRun | None:
        """Run ``source`` once now; None when another process is running it (or, with
        ``only_if_due``, has run it since it was found due)."""
        now = self.clock.now()
        if not self.sources.claim(source.source_id, now, self.lease, only_if_due=only_if_due):
            return None
        # Holding the lease, no other run of this source is live: any open run is a crash's.
        self.sources.abandon_running(source.source_id, now)
        checkpoint: dict[str, object] | None = None
        run_id = self.sources.start_run(source.source_id, self.clock.now())
        try:
            outcome, counts, checkpoint = self._pull(source, run_id)
            return self.sources.finish_run(run_id, self.clock.now(), outcome, counts)
        except IocfeedError as error:
            return self._failed(run_id, error.message)
        except Exception as error:  # one source's bug must not stop the others
            log.exception("source %s failed", source.name)
            return self._failed(run_id, f"unexpected error: {type(error).__name__}: {error}")
        finally:
            next_run = self.clock.now() + timedelta(seconds=source.interval_seconds)
            self.sources.release(source.source_id, checkpoint, next_run)

    def run_due(self) -> list[SourceRun]:
        """Run every due, enabled source once; a failing source never stops the others."""
        finished = []
        for source in self.sources.due(self.clock.now()):
            try:
                run = self.run(source, only_if_due=True)
            except Exception:
                log.exception("source %s could not be run", source.name)
                continue
            if run is not None:
                finished.append(run)
        return finished

    def _failed(self, run_id: int, message: str) -> SourceRun:
        return self.sources.finish_run(
            run_id, self.clock.now(), RunOutcome.FAILED, RunCounts(), redact(message)
        )

    def _pull(
        self, source: Source, run_id: int
    ) -> tuple[RunOutcome, RunCounts, dict[str, object] | None]:
        settings = self.settings
        limits = Limits(
            settings.source_max_bytes,
            settings.source_timeout_seconds,
            settings.source_retries,
            settings.source_backoff_seconds,
        )
        if source.kind is SourceKind.MISP:
            return self._pull_misp(source, run_id, limits)
        if source.kind is SourceKind.TAXII:
            return self._pull_taxii(source, run_id)
        if source.kind not in READERS:
            raise SourceFailed(f"sources of kind {source.kind.value} cannot be run yet")
        checkpoint = source.checkpoint
        with download(
            source.url,
            limits,
            credentials=source.credentials,
            etag=_text(checkpoint.get("etag")),
            last_modified=_text(checkpoint.get("last_modified")),
        ) as got:
            if got.path is None:
                return RunOutcome.NOT_MODIFIED, RunCounts(), None
            summary = self._store(source, run_id, got.path)
            new_checkpoint = {
                **checkpoint,
                "etag": got.etag,
                "last_modified": got.last_modified,
            }
        if summary.file_rejected is not None:
            whole = summary.file_rejected
            raise SourceFailed(
                f"the feed could not be read as {source.kind.value}: line {whole.line}: "
                f"{whole.reason}"
            )
        if summary.rejected and not summary.stored:
            raise SourceFailed(
                f"none of the feed's {summary.rejected} records is a valid indicator "
                f"(first: line {summary.rejections[0].line}: {summary.rejections[0].reason})"
            )
        revoked = 0
        if source.kind in FULL_DUMP_KINDS and summary.stored:
            revoked = self._revoke_dropped(source, run_id)
        counts = RunCounts(
            summary.added, summary.updated, summary.unchanged, summary.rejected, revoked
        )
        return RunOutcome.SUCCEEDED, counts, new_checkpoint

    def _pull_misp(
        self, source: Source, run_id: int, limits: Limits
    ) -> tuple[RunOutcome, RunCounts, dict[str, object] | None]:
        """The manifest (conditionally), then each new or changed event (see ``misp``)."""
        base = source.url.removesuffix("manifest.json").rstrip("/")
        checkpoint = source.checkpoint
        with download(
            f"{base}/manifest.json",
            limits,
            credentials=source.credentials,
            etag=_text(checkpoint.get("etag")),
            last_modified=_text(checkpoint.get("last_modified")),
        ) as got:
            if got.path is None:
                return RunOutcome.NOT_MODIFIED, RunCounts(), None
            manifest = got.path.read_bytes()
        known = checkpoint.get("events")
        seen: dict[str, int] = dict(known) if isinstance(known, dict) else {}
        try:
            changed = changed_events(manifest, seen)
        except ValueError as error:
            raise SourceFailed(str(error)) from None
        totals = ImportSummary()
        for uuid, stamp in changed:
            if not _UUID.fullmatch(uuid):
                raise SourceFailed(f"manifest.json names an event {uuid[:64]!r} that is no uuid")
            with download(
                f"{base}/{uuid}.json", limits, credentials=source.credentials, conditional=False
            ) as event:
                if event.path is None:
                    raise SourceFailed(f"event {uuid}: the feed answered 304 to a plain GET")
                body = event.path.read_bytes()
            summary = self._ingest(source, run_id, read_event(body))
            if summary.file_rejected is not None:
                raise SourceFailed(f"event {uuid}: {summary.file_rejected.reason}")
            totals.added += summary.added
            totals.updated += summary.updated
            totals.unchanged += summary.unchanged
            totals.rejected += summary.rejected
            seen[uuid] = stamp
        counts = RunCounts(totals.added, totals.updated, totals.unchanged, totals.rejected)
        new_checkpoint: dict[str, object] = {
            "etag": got.etag,
            "last_modified": got.last_modified,
            "events": seen,
        }
        return RunOutcome.SUCCEEDED, counts, new_checkpoint

    def _pull_taxii(
        self, source: Source, run_id: int
    ) -> tuple[RunOutcome, RunCounts, dict[str, object] | None]:
        """Every object added since the checkpoint's ``added_after``, page by page."""
        added_after = _text(source.checkpoint.get("added_after"))
        totals = ImportSummary()
        newest = added_after
        for objects, date_added_last in taxii_pull.pages(
            source.url, source.credentials, added_after, self.settings.source_timeout_seconds
        ):
            envelope = orjson.dumps({"objects": objects}).decode()
            summary = self._ingest(source, run_id, read_stix([envelope]))
            if summary.file_rejected is not None:
                raise SourceFailed(f"a TAXII page cannot be read: {summary.file_rejected.reason}")
            totals.added += summary.added
            totals.updated += summary.updated
            totals.unchanged += summary.unchanged
            totals.rejected += summary.rejected
            newest = date_added_last or newest
        counts = RunCounts(totals.added, totals.updated, totals.unchanged, totals.rejected)
        return RunOutcome.SUCCEEDED, counts, {**source.checkpoint, "added_after": newest}

    def _store(self, source: Source, run_id: int, path: Path) -> ImportSummary:
        """A downloaded feed into the store; feeds read line by line (URLhaus, text) are read
        and validated by worker processes when large, as ``iocfeed import`` does."""
        with path.open("rb") as binary:
            text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")
            split = line_reader(source.kind, text, source.settings)
            if split is None:
                return self._ingest(source, run_id, READERS[source.kind](text, source.settings))
            read, lines = split
            return ingest_lines(
                lines,
                read,
                _RecordingStore(self.indicators, self.sources, source.source_id, run_id),
                self.clock,
                defaults=_defaults(source),
                parallel=self.parallel,
                screen=self._screen(),
            )

    def _ingest(
        self, source: Source, run_id: int, records: Iterable[RawIndicator | Rejected | Notice]
    ) -> ImportSummary:
        store = _RecordingStore(self.indicators, self.sources, source.source_id, run_id)
        wanted = source.settings.types
        return ingest(
            of_types(records, wanted) if wanted else records,
            store,
            self.clock,
            defaults=_defaults(source),
            screen=self._screen(),
        )

    def _revoke_dropped(self, source: Source, run_id: int) -> int:
        dropped = self.sources.missing_after_run(
            source.source_id, run_id, self.settings.source_missing_runs
        )
        revoked = 0
        for ioc_type, value in dropped:
            try:
                self.indicators.revoke(ioc_type, value, self.clock.now())
            except NotFound:  # provenance of an indicator no longer stored
                log.warning("source %s: %s %s is gone", source.name, ioc_type.value, value)
                continue
            revoked += 1
        return revoked


def _defaults(source: Source) -> RecordDefaults:
    return RecordDefaults(
        confidence=source.settings.confidence,
        tags=source.settings.tags,
        source=source.name,
        tlp=source.settings.tlp,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class _RecordingStore(IndicatorStore):
    """The indicator store, remembering after each batch that this source listed it."""

    def __init__(
        self, inner: IndicatorStore, sources: SourceStore, source_id: int, run_id: int
    ) -> None:
        super().__init__(inner.engine, new_stix_id)
        self._inner = inner
        self._sources = sources
        self._source_id = source_id
        self._run_id = run_id

    def load(
        self,
        inputs: Sequence[IndicatorInput],
        now: datetime,
        *,
        writer: Writer | None = None,
        preferred_ids: Mapping[tuple[IocType, str], str] | None = None,
        submitted: bool = False,
    ) -> Loaded:
        loaded = self._inner.load(
            inputs, now, writer=writer, preferred_ids=preferred_ids, submitted=submitted
        )
        self._sources.record_seen(
            self._source_id,
            self._run_id,
            (
                (item.type, item.value, item.first_seen or now, item.last_seen or now)
                for item in inputs
            ),
        )
        return loaded
