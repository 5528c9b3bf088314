"""Loading indicators: records from any reader → validated inputs → the store, in batches.

Good records are stored even when others are bad; each bad one is reported with its line
number and reason. Records stream through in fixed-size batches, so a file of any length
imports in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from iocfeed.clock import Clock
from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.merge import Outcome
from iocfeed.indicators.model import IndicatorInput, RawIndicator, Rejected
from iocfeed.indicators.normalize import RecordDefaults, normalize_record
from iocfeed.store.indicators import IndicatorStore

BATCH_SIZE = 5000
# The summary keeps this many rejections for display; all of them reach ``on_rejected``.
KEPT_REJECTIONS = 1000


@dataclass(slots=True)
class ImportSummary:
    """What one import did: counts per outcome and the first rejections."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejected] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.added + self.updated + self.unchanged + self.rejected

    def count(self, outcome: Outcome) -> None:
        if outcome is Outcome.ADDED:
            self.added += 1
        elif outcome is Outcome.UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1

    def reject(self, rejection: Rejected) -> None:
        self.rejected += 1
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


def validate(
    records: Iterable[RawIndicator | Rejected], defaults: RecordDefaults
) -> Iterator[IndicatorInput | Rejected]:
    """Each record normalised into an input, or a rejection carrying its line and reason."""
    for record in records:
        if isinstance(record, Rejected):
            yield record
            continue
        try:
            yield normalize_record(record, defaults)
        except InvalidIndicator as error:
            yield Rejected(record.line, error.message, record.value)


def ingest(
    records: Iterable[RawIndicator | Rejected],
    store: IndicatorStore,
    clock: Clock,
    *,
    defaults: RecordDefaults | None = None,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[ImportSummary], None] | None = None,
    on_rejected: Callable[[Rejected], None] | None = None,
) -> ImportSummary:
    """Validate and store every record; one transaction per batch."""
    summary = ImportSummary()
    batch: list[IndicatorInput] = []

    def flush() -> None:
        for outcome in store.write(batch, clock.now()):
            summary.count(outcome)
        batch.clear()
        if on_progress is not None:
            on_progress(summary)

    for item in validate(records, defaults or RecordDefaults()):
        if isinstance(item, Rejected):
            summary.reject(item)
            if on_rejected is not None:
                on_rejected(item)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return summary
