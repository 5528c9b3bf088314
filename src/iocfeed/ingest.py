"""Loading indicators: records from any reader → validated inputs → the store, in batches.

Good records are stored even when others are bad; each bad one is reported with its line
number and reason. A reader that gives up on a whole file (a CSV header without a value
column, a document that is not JSON) says so with a ``Rejected`` marked ``whole_file``, and
what a reader says once about a file (the CSV columns it ignores) arrives as a ``Notice``;
the summary keeps both. Records stream through in fixed-size batches, so a file of any length
imports in bounded memory.

Every path that loads indicators (``iocfeed import``, the REST bulk upsert, TAXII POST,
source runs) hands ``validate`` the warninglists ``Screen``: each normalised value is
checked in the same pass against its matcher, in memory (a worker process builds its own
from the screen, once); a value on a block list is rejected with the list's
name, one on a flag list gains the list's tag (``warninglist:<name>``), which the store
keeps as the version's ``flagged`` mark.

A load made with an API key passes the key as ``writer``: a record whose indicator is stored
above the key's highest TLP changes nothing and is counted as the writer's shadow of the
value answers, as if the value had been new to it, so the summary never tells the writer
that a value it may not read exists (``indicators.merge``). Such records are counted apart
in ``ImportSummary.withheld``, for the audit trail only.

Theory of operation: large files
--------------------------------
Reading and validating a record costs over half as much CPU as merging and writing it,
and writing must happen in one process, in file order. So ``ingest_stream`` hands reading
and validation to a worker process: this process cuts the input into chunks of lines, the
worker turns each chunk into validated inputs (or rejections, numbered with the file's own
line numbers), and this process writes the results in the order the chunks were cut. At
most ``Parallelism.window`` chunks are in flight, so memory stays bounded whatever the
length, and a worker that is ahead waits for the writer.

The batches handed to the store are the very batches ``ingest`` would make, so both paths
store the same rows and report the same summary. Per format:

* JSON Lines and text: every line stands alone; a chunk is raw lines plus the number of
  its first line.
* CSV: a quoted cell may span lines and every row needs the header, so this process runs
  the (C) CSV parser itself and a chunk is parsed rows; workers build and validate records.
* JSON arrays and STIX bundles are parsed whole, so they are read in this process.

* A source's feed read line by line (URLhaus, text lists: ``ingest_lines``): its head is
  read here to choose the reader, and a chunk is raw lines handed to that reader.

Inputs of fewer than ``Parallelism.min_lines`` lines are read here too: starting a worker
costs more than it would save. Validated inputs travel back as plain tuples of their
fields, which pickle several times faster than the dataclass.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, fields, replace
from itertools import chain, islice
from operator import attrgetter
from typing import TYPE_CHECKING, Any, overload

from iocfeed.clock import Clock
from iocfeed.errors import InvalidIndicator
from iocfeed.formats.delimited import csv_records, csv_rows
from iocfeed.formats.detect import Format
from iocfeed.formats.jsonlines import read_jsonl
from iocfeed.formats.reader import READERS
from iocfeed.formats.text import read_text
from iocfeed.indicators.merge import Outcome, Writer
from iocfeed.indicators.model import IndicatorInput, Notice, RawIndicator, Rejected
from iocfeed.indicators.normalize import RecordDefaults, normalize_record
from iocfeed.lifecycle.warninglist_screen import Screen
from iocfeed.lifecycle.warninglists import NO_MATCH
from iocfeed.lifeline import watch_owner

if TYPE_CHECKING:  # the store is only handed in; workers need not import SQLAlchemy
    from iocfeed.store.indicators import IndicatorStore

BATCH_SIZE = 5000
# Added indicators after which a bulk load first refreshes the store's query statistics.
FIRST_STATISTICS = 50_000
# The summary keeps this many rejections for display; all of them reach ``on_rejected``.
KEPT_REJECTIONS = 1000

# Workers are started afresh rather than forked: the importing process may run threads (the
# progress bar does), and a forked child would inherit their locks in whatever state.
_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


@dataclass(slots=True)
class ImportSummary:
    """What one import did: counts per outcome and the first rejections."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejected] = field(default_factory=list)
    withheld: int = 0
    """Records not stored because their indicator is above the writer's TLP ceiling; each is
    also counted as the fresh add it was answered as. Never shown to the writer."""
    written: int = 0
    """Records that stored a new version (added or updated and not withheld)."""
    file_rejected: Rejected | None = None
    """Why the reader gave up on the whole file, if it did."""
    notices: list[Notice] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.added + self.updated + self.unchanged + self.rejected

    def count(self, outcome: Outcome, *, withheld: bool = False) -> None:
        """Count one record as ``outcome``; ``withheld``: not stored, answered as ``outcome``."""
        if outcome is Outcome.ADDED:
            self.added += 1
        elif outcome is Outcome.UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1
        if withheld:
            self.withheld += 1
        elif outcome is not Outcome.UNCHANGED:
            self.written += 1

    @property
    def stored(self) -> int:
        return self.added + self.updated + self.unchanged

    def reject(self, rejection: Rejected) -> None:
        self.rejected += 1
        if rejection.whole_file:
            self.file_rejected = rejection
        if len(self.rejections) < KEPT_REJECTIONS:
            self.rejections.append(rejection)

    def as_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [
                {"line": r.line, "reason": r.reason, "text": r.text} for r in self.rejections
            ],
        }


def _default_workers() -> int:
    """One worker when there is a core to spare: it reads and validates faster than this
    process merges and writes, so a second would only wait."""
    return 1 if (os.cpu_count() or 1) > 1 else 0


@dataclass(frozen=True, slots=True)
class Parallelism:
    """How ``ingest_stream`` spreads reading and validation over worker processes."""

    workers: int = field(default_factory=_default_workers)
    """Worker processes; 0 reads everything in this process."""
    min_lines: int = 20_000
    """Inputs shorter than this are read in this process (a worker takes ~0.3 s to start)."""
    chunk_lines: int = 4000
    """Lines (CSV: rows) per chunk sent to a worker."""
    window: int = 4
    """Chunks in flight at once: what bounds memory."""


@overload
def validate(
    records: Iterable[RawIndicator | Rejected],
    defaults: RecordDefaults,
    screen: Screen | None = None,
) -> Iterator[IndicatorInput | Rejected]: ...
@overload
def validate(
    records: Iterable[RawIndicator | Rejected | Notice],
    defaults: RecordDefaults,
    screen: Screen | None = None,
) -> Iterator[IndicatorInput | Rejected | Notice]: ...
def validate(
    records: Iterable[RawIndicator | Rejected | Notice],
    defaults: RecordDefaults,
    screen: Screen | None = None,
) -> Iterator[IndicatorInput | Rejected | Notice]:
    """Each record normalised into an input, or a rejection carrying its line and reason;
    with a ``screen``, checked against the warninglists (see the module docstring)."""
    matcher = screen.matcher() if screen is not None else None
    for record in records:
        if isinstance(record, Rejected | Notice):
            yield record
            continue
        try:
            item = normalize_record(record, defaults)
        except InvalidIndicator as error:
            yield Rejected(record.line, error.message, record.value)
            continue
        if matcher is None:
            yield item
            continue
        verdict = matcher.check(item.type, item.value)
        if verdict is NO_MATCH or not (verdict.blocked_by or verdict.flagged_by):
            yield item
        elif verdict.blocked_by is not None:
            yield Rejected(
                record.line,
                f"{item.value} is on the warninglist {verdict.blocked_by} (policy block)",
                record.value,
            )
        else:
            tags = item.tags + tuple(
                tag
                for tag in (matcher.tag(name) for name in verdict.flagged_by)
                if tag not in item.tags
            )
            yield replace(item, tags=tags)


def ingest(
    records: Iterable[RawIndicator | Rejected | Notice],
    store: IndicatorStore,
    clock: Clock,
    *,
    defaults: RecordDefaults | None = None,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[ImportSummary], None] | None = None,
    on_rejected: Callable[[Rejected], None] | None = None,
    writer: Writer | None = None,
    screen: Screen | None = None,
) -> ImportSummary:
    """Validate and store every record; one transaction per batch.

    ``writer`` is the key that loads (see the module docstring); ``None`` for operators.
    ``screen``: the warninglists every value is checked against.
    """
    loader = _Loader(store, clock, batch_size, on_progress, on_rejected, writer=writer)
    loader.load(validate(records, defaults or RecordDefaults(), screen))
    return loader.finish()


def ingest_stream(
    lines: Iterable[str],
    fmt: Format,
    store: IndicatorStore,
    clock: Clock,
    *,
    defaults: RecordDefaults | None = None,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[ImportSummary], None] | None = None,
    on_rejected: Callable[[Rejected], None] | None = None,
    parallel: Parallelism | None = None,
    screen: Screen | None = None,
) -> ImportSummary:
    """Read ``lines`` (an open text stream) in format ``fmt``, then validate and store it.

    The result is that of ``ingest(read_records(lines, fmt), …)``; large CSV, JSON Lines
    and text inputs are read and validated by worker processes meanwhile (see the module
    docstring). ``parallel`` defaults to ``Parallelism()``.
    """
    defaults = defaults or RecordDefaults()
    return _ingest_in_chunks(
        lines,
        READERS[fmt],
        lambda rest, size: _chunks(
            csv_rows(rest) if fmt is Format.CSV else rest, _CHUNK_READERS[fmt], defaults, size
        ),
        store,
        clock,
        defaults=defaults,
        batch_size=batch_size,
        on_progress=on_progress,
        on_rejected=on_rejected,
        screen=screen,
        # Formats that cannot be cut (a JSON document, a STIX bundle) are read here.
        parallel=(parallel or Parallelism()) if fmt in _CHUNK_READERS else Parallelism(workers=0),
    )


def ingest_lines(
    lines: Iterable[str],
    read: ChunkReader,
    store: IndicatorStore,
    clock: Clock,
    *,
    defaults: RecordDefaults | None = None,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[ImportSummary], None] | None = None,
    on_rejected: Callable[[Rejected], None] | None = None,
    parallel: Parallelism | None = None,
    screen: Screen | None = None,
) -> ImportSummary:
    """Like ``ingest_stream`` for a reader of one's own: ``read(lines, first_line)`` must
    read any run of consecutive lines on its own (numbering them from ``first_line``), and
    be picklable (a module-level function, or a ``functools.partial`` of one), since large
    inputs are read and validated by worker processes in chunks of lines."""
    defaults = defaults or RecordDefaults()
    return _ingest_in_chunks(
        lines,
        lambda rest: read(rest, 1),
        lambda rest, size: _chunks(rest, read, defaults, size),
        store,
        clock,
        defaults=defaults,
        batch_size=batch_size,
        on_progress=on_progress,
        on_rejected=on_rejected,
        parallel=parallel or Parallelism(),
        screen=screen,
    )


def _ingest_in_chunks(
    lines: Iterable[str],
    read_all: Callable[[Iterable[str]], Iterable[RawIndicator | Rejected | Notice]],
    chunks: Callable[[Iterator[str], int], Iterator[_Chunk]],
    store: IndicatorStore,
    clock: Clock,
    *,
    defaults: RecordDefaults,
    batch_size: int,
    on_progress: Callable[[ImportSummary], None] | None,
    on_rejected: Callable[[Rejected], None] | None,
    parallel: Parallelism,
    screen: Screen | None,
) -> ImportSummary:
    """Small inputs read in this process with ``read_all``; large ones cut by ``chunks``
    into pieces of ``parallel.chunk_lines`` that worker processes read and validate."""
    stream = iter(lines)
    head = list(islice(stream, parallel.min_lines)) if parallel.workers > 0 else []
    rest = chain(head, stream)
    if parallel.workers == 0 or len(head) < parallel.min_lines:
        return ingest(
            read_all(rest),
            store,
            clock,
            defaults=defaults,
            batch_size=batch_size,
            on_progress=on_progress,
            on_rejected=on_rejected,
            screen=screen,
        )
    loader = _Loader(store, clock, batch_size, on_progress, on_rejected)
    _load_in_parallel(chunks(rest, parallel.chunk_lines), loader, parallel, screen)
    return loader.finish()


def _load_in_parallel(
    chunks: Iterable[_Chunk], loader: _Loader, parallel: Parallelism, screen: Screen | None
) -> None:
    """Each chunk read and validated by a worker; the results loaded in the chunks' order.
    The screen is sent to each worker once, when it starts."""
    context = multiprocessing.get_context(_START_METHOD)
    with ProcessPoolExecutor(
        parallel.workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), screen),
    ) as pool:
        in_flight: deque[Future[list[_Validated]]] = deque()
        try:
            for chunk in chunks:
                in_flight.append(pool.submit(_validate_chunk, chunk))
                if len(in_flight) >= parallel.window:
                    loader.load(_unpacked(in_flight.popleft().result()))
            while in_flight:
                loader.load(_unpacked(in_flight.popleft().result()))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


class _Loader:
    """Validated inputs into the store, one transaction per batch; rejections counted."""

    def __init__(
        self,
        store: IndicatorStore,
        clock: Clock,
        batch_size: int,
        on_progress: Callable[[ImportSummary], None] | None,
        on_rejected: Callable[[Rejected], None] | None,
        *,
        writer: Writer | None = None,
    ) -> None:
        self.writer = writer
        self.store = store
        self.clock = clock
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.on_rejected = on_rejected
        self.summary = ImportSummary()
        self.batch: list[IndicatorInput] = []
        self.next_statistics = FIRST_STATISTICS

    def load(self, items: Iterable[IndicatorInput | Rejected | Notice]) -> None:
        batch = self.batch
        for item in items:
            if isinstance(item, Notice):
                self.summary.notices.append(item)
                continue
            if isinstance(item, Rejected):
                self.summary.reject(item)
                if self.on_rejected is not None:
                    self.on_rejected(item)
                continue
            batch.append(item)
            if len(batch) >= self.batch_size:
                self._flush()

    def finish(self) -> ImportSummary:
        if self.batch:
            self._flush()
        return self.summary

    def _flush(self) -> None:
        now = self.clock.now()
        loaded = self.store.load(self.batch, now, writer=self.writer)
        if loaded.withheld:
            for number, outcome in enumerate(loaded.outcomes):
                self.summary.count(loaded.answered(number), withheld=outcome is Outcome.WITHHELD)
        else:
            for outcome in loaded.outcomes:
                self.summary.count(outcome)
        self.batch.clear()
        if self.summary.added >= self.next_statistics:
            # A bulk load outgrows the planner's statistics; refreshed at each doubling they
            # stay within 2x of the truth (see IndicatorStore.refresh_statistics).
            self.store.refresh_statistics()
            self.next_statistics = 2 * self.summary.added
        if self.on_progress is not None:
            self.on_progress(self.summary)


# --- worker side -----------------------------------------------------------------------------


ChunkReader = Callable[[Iterable[Any], int], Iterator[RawIndicator | Rejected | Notice]]
"""Reads a run of lines (CSV: parsed rows) numbered from its second argument."""


def _read_csv_chunk(
    rows: Iterable[Any], _first_line: int
) -> Iterator[RawIndicator | Rejected | Notice]:
    return csv_records(rows)


# The formats a worker can read a piece of: each turns a chunk's items into records.
_CHUNK_READERS: dict[Format, ChunkReader] = {
    Format.CSV: _read_csv_chunk,
    Format.JSONL: read_jsonl,
    Format.TEXT: read_text,
}


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One piece of the input for a worker: raw lines (CSV: parsed rows), and their reader."""

    read: ChunkReader
    first_line: int
    items: list[Any]  # str for line formats, CsvRow | Rejected for CSV
    defaults: RecordDefaults


# An IndicatorInput as the tuple of its fields, in constructor order: cheap to pickle.
_Validated = tuple[Any, ...] | Rejected | Notice
_input_fields = attrgetter(*(f.name for f in fields(IndicatorInput)))


def _chunks(
    items: Iterator[Any], read: ChunkReader, defaults: RecordDefaults, size: int
) -> Iterator[_Chunk]:
    """The input cut into chunks of ``size`` items (lines; CSV: parsed rows)."""
    first_line = 1
    while piece := list(islice(items, size)):
        yield _Chunk(read, first_line, piece, defaults)
        first_line += len(piece)


# The warninglists of the load a worker serves, sent once when the worker starts.
_worker_screen: Screen | None = None


def _start_worker(owner: int, screen: Screen | None = None) -> None:
    """Ctrl-C reaches the whole process group: leave it to the importing process, which stops
    the pool. A ``kill -9`` of that process reaches no worker: each exits when it sees it gone.
    """
    global _worker_screen  # noqa: PLW0603 (one per worker process, set before any chunk)
    _worker_screen = screen
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_owner(owner)


def _validate_chunk(chunk: _Chunk) -> list[_Validated]:
    """Run in a worker: one chunk read and validated, inputs flattened to tuples."""
    return [
        item if isinstance(item, Rejected | Notice) else _input_fields(item)
        for item in validate(
            chunk.read(chunk.items, chunk.first_line), chunk.defaults, _worker_screen
        )
    ]


def _unpacked(results: list[_Validated]) -> Iterator[IndicatorInput | Rejected | Notice]:
    for item in results:
        yield item if isinstance(item, Rejected | Notice) else IndicatorInput(*item)
