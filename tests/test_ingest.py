"""The import use case: good records stored, bad ones reported, batches, bounded reports."""

from __future__ import annotations

import io

from sqlalchemy import Engine

from iocfeed.clock import FixedClock
from iocfeed.formats.detect import Format
from iocfeed.formats.reader import read_records
from iocfeed.indicators.model import Confidence, IocType, Rejected
from iocfeed.indicators.normalize import RecordDefaults
from iocfeed.ingest import KEPT_REJECTIONS, ingest
from iocfeed.stix.ids import new_stix_id
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.search import IndicatorSearch
from tests.factories import T0


def test_summary_counts_and_line_numbers_across_batches(engine: Engine) -> None:
    lines = [f"198.51.100.{n}" if n % 3 else f"198.51.100.{n}00" for n in range(1, 30)]
    store = IndicatorStore(engine, new_stix_id)
    seen: list[Rejected] = []
    progress: list[int] = []
    summary = ingest(
        read_records(io.StringIO("\n".join(lines)), Format.TEXT),
        store,
        FixedClock(T0),
        defaults=RecordDefaults(confidence=Confidence.HIGH, tags=("scan",)),
        batch_size=4,
        on_rejected=seen.append,
        on_progress=lambda s: progress.append(s.processed),
    )
    bad_lines = [n for n in range(1, 30) if n % 3 == 0]
    assert (summary.added, summary.rejected) == (29 - len(bad_lines), len(bad_lines))
    assert [r.line for r in summary.rejections] == bad_lines
    assert [r.line for r in seen] == bad_lines
    assert progress == sorted(progress)
    stored = IndicatorSearch(engine).current(IocType.IPV4, "198.51.100.1")
    assert stored is not None
    assert stored.tags == ("scan",)
    assert stored.confidence is Confidence.HIGH

    again = ingest(
        read_records(io.StringIO("\n".join(lines)), Format.TEXT),
        store,
        FixedClock(T0),
        defaults=RecordDefaults(confidence=Confidence.HIGH, tags=("scan",)),
    )
    assert (again.added, again.updated, again.unchanged) == (0, 0, summary.added)
    lower = ingest(read_records(io.StringIO("198.51.100.1"), Format.TEXT), store, FixedClock(T0))
    assert lower.updated == 1  # the newer source's confidence (the default, medium) wins


def test_report_keeps_a_bounded_number_of_rejections(sqlite_engine: Engine) -> None:
    bad = "\n".join('{"type": "md5", "value": "xyz"}' for _ in range(KEPT_REJECTIONS + 50))
    summary = ingest(
        read_records(io.StringIO(bad), Format.JSONL),
        IndicatorStore(sqlite_engine, new_stix_id),
        FixedClock(T0),
    )
    assert summary.rejected == KEPT_REJECTIONS + 50
    assert len(summary.rejections) == KEPT_REJECTIONS
    assert summary.as_dict()["rejected"] == KEPT_REJECTIONS + 50
