"""The import use case: good records stored, bad ones reported, batches, bounded reports."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from iocfeed.clock import FixedClock
from iocfeed.formats.detect import Format
from iocfeed.formats.reader import read_records
from iocfeed.indicators.model import Confidence, IocType, Rejected
from iocfeed.indicators.normalize import RecordDefaults
from iocfeed.ingest import KEPT_REJECTIONS, ImportSummary, Parallelism, ingest, ingest_stream
from iocfeed.lifecycle.warninglist_screen import Screen
from iocfeed.lifecycle.warninglists import Policy, entries_from
from iocfeed.stix.ids import new_stix_id
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.schema import indicator_versions, write_clock
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


# Small chunks and batches, so that chunks, batches and repeated values cross each other.
SPLIT = Parallelism(workers=1, min_lines=0, chunk_lines=7, window=2)
ONE_PROCESS = Parallelism(workers=0)


def _jsonl_input() -> str:
    lines = ["\ufeff" + '{"value": "198.51.100.1", "tags": "scan"}']
    for n in range(2, 60):
        if n % 11 == 0:
            lines.append('{"type": "md5", "value": "not-a-hash"}')
        elif n % 13 == 0:
            lines.append("{broken")
        elif n % 17 == 0:
            lines.append("")
        else:  # each value comes twice: the second time with other tags or confidence
            confidence = "high" if n % 3 else "low"
            value = f"198.51.100.{n // 2}"
            lines.append(f'{{"value": "{value}", "confidence": "{confidence}", "tags": ["t{n}"]}}')
    return "\n".join(lines) + "\n"


def _csv_input() -> str:
    rows = ["\ufeff# exported feed", "Indicator,Type,Description,Tags,Revoked"]
    for n in range(1, 60):
        if n % 9 == 0:
            rows.append(f'evil{n}.example,domain,"first line\nsecond line of {n}",x,false')
        elif n % 10 == 0:
            rows.append(f"evil{n}.example,domain,,,maybe")
        elif n % 14 == 0:
            rows.append(",domain,empty value,,")
        else:
            rows.append(f"evil{n // 2}.example,,seen {n},t{n % 4},")
    return "\r\n".join(rows) + "\r\n"


def _text_input() -> str:
    lines = []
    for n in range(1, 60):
        if n % 8 == 0:
            lines.append(f"999.1.1.{n}")
        elif n % 5 == 0:
            lines.append(f"- hxxp://bad{n // 2}[.]example/x and 203.0.113.{n}")
        else:
            lines.append(f"Seen contacting 203.0.113.{n // 3}")
    return "\n".join(lines)


INPUTS = {Format.JSONL: _jsonl_input, Format.CSV: _csv_input, Format.TEXT: _text_input}


def _stored_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every stored version, STIX ids (in the row and its stored JSON) replaced by their order
    of first appearance."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(indicator_versions).order_by(indicator_versions.c.date_added)
        ).mappings()
        ids: dict[str, int] = {}
        return [
            {
                **row,
                "seq": None,
                "stix_id": ids.setdefault(row["stix_id"], len(ids)),
                "stix_json": bytes(row["stix_json"]).replace(
                    row["stix_id"].encode(), str(ids[row["stix_id"]]).encode()
                ),
            }
            for row in rows
        ]


def _import(
    engine: Engine, fmt: Format, parallel: Parallelism | None
) -> tuple[ImportSummary, list[Any]]:
    """Import ``INPUTS[fmt]`` into an emptied store: by ``ingest_stream``, or (``parallel``
    None) by the reference path, ``ingest`` over ``read_records``."""
    with engine.begin() as connection:
        connection.execute(indicator_versions.delete())
        connection.execute(write_clock.update().values(last_date_added=0))
    store = IndicatorStore(engine, new_stix_id)
    stream = io.StringIO(INPUTS[fmt](), newline="")
    seen: list[Rejected] = []
    options: dict[str, Any] = {
        "defaults": RecordDefaults(tags=("feed",)),
        "batch_size": 6,
        "on_rejected": seen.append,
    }
    if parallel is None:
        summary = ingest(read_records(stream, fmt), store, FixedClock(T0), **options)
    else:
        summary = ingest_stream(stream, fmt, store, FixedClock(T0), parallel=parallel, **options)
    assert seen == summary.rejections
    return summary, _stored_rows(engine)


@pytest.mark.parametrize("fmt", list(INPUTS))
def test_worker_processes_store_what_one_process_stores(engine: Engine, fmt: Format) -> None:
    reference, reference_rows = _import(engine, fmt, None)
    assert reference.added and reference.rejected and (reference.updated or reference.unchanged)
    for parallel in (ONE_PROCESS, SPLIT):
        summary, rows = _import(engine, fmt, parallel)
        assert summary == reference
        assert rows == reference_rows


def test_rejections_carry_the_line_numbers_of_the_whole_file(sqlite_engine: Engine) -> None:
    for fmt in INPUTS:
        reference, _ = _import(sqlite_engine, fmt, None)
        split, _ = _import(sqlite_engine, fmt, SPLIT)
        assert [r.line for r in split.rejections] == [r.line for r in reference.rejections]
        assert max(r.line for r in split.rejections) > 4 * SPLIT.chunk_lines
    jsonl, _ = _import(sqlite_engine, Format.JSONL, SPLIT)
    assert [r.line for r in jsonl.rejections] == [11, 13, 22, 26, 33, 39, 44, 52, 55]
    csv, _ = _import(sqlite_engine, Format.CSV, SPLIT)
    # Each quoted two-line cell (rows 9, 18, …) moves the later rows' lines on by one.
    assert [(r.line, r.text) for r in csv.rejections][:3] == [
        (13, "evil10.example,domain,,,maybe"),
        (17, ",domain,empty value,,"),
        (24, "evil20.example,domain,,,maybe"),
    ]


def test_the_reader_stays_a_bounded_window_ahead_of_the_writer(sqlite_engine: Engine) -> None:
    parallel = Parallelism(workers=1, min_lines=0, chunk_lines=10, window=3)
    read = 0
    ahead: list[int] = []

    def lines() -> Iterator[str]:
        nonlocal read
        for n in range(1000):
            read += 1
            yield f"10.0.{n // 250}.{n % 250}\n"

    summary = ingest_stream(
        lines(),
        Format.TEXT,
        IndicatorStore(sqlite_engine, new_stix_id),
        FixedClock(T0),
        batch_size=25,
        on_progress=lambda s: ahead.append(read - s.processed),
        parallel=parallel,
    )
    assert summary.added == 1000
    # Read but not yet written: the chunks in flight, plus the one and the batch being written.
    assert 0 < max(ahead) <= (parallel.window + 1) * parallel.chunk_lines + 25


def test_small_inputs_and_whole_documents_stay_in_this_process(sqlite_engine: Engine) -> None:
    store = IndicatorStore(sqlite_engine, new_stix_id)
    # A pool that could not start would fail the import: these never start one.
    never = Parallelism(workers=1, min_lines=100, chunk_lines=1, window=1)
    small = ingest_stream(
        io.StringIO("198.51.100.7\n"), Format.TEXT, store, FixedClock(T0), parallel=never
    )
    whole = ingest_stream(
        io.StringIO('[{"value": "198.51.100.8"}]'),
        Format.JSON,
        store,
        FixedClock(T0),
        parallel=Parallelism(workers=1, min_lines=0),
    )
    assert (small.added, whole.added) == (1, 1)


def test_bulk_load_refreshes_statistics_at_each_doubling(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    refreshed: list[int] = []

    class Counting(IndicatorStore):
        def refresh_statistics(self) -> None:
            refreshed.append(summary_added())

    store = Counting(sqlite_engine, new_stix_id)

    def summary_added() -> int:
        return IndicatorSearch(sqlite_engine).counts_by_type()[IocType.IPV4]

    monkeypatch.setattr("iocfeed.ingest.FIRST_STATISTICS", 10)
    lines = "\n".join(f"198.51.{n // 250}.{n % 250}" for n in range(100))
    ingest(read_records(io.StringIO(lines), Format.TEXT), store, FixedClock(T0), batch_size=10)
    assert refreshed == [10, 20, 40, 80]


def test_worker_processes_screen_with_the_lists_they_are_sent(sqlite_engine: Engine) -> None:
    screen = Screen(
        (
            ("empty-hashes", Policy.BLOCK, None),
            ("ours", Policy.FLAG, entries_from(["flagged.example"])),
        )
    )
    lines = [
        "d41d8cd98f00b204e9800998ecf8427e\n",
        "kept.example\n",
        "flagged.example\n",
    ] * 5
    summary = ingest_stream(
        io.StringIO("".join(lines)),
        Format.TEXT,
        IndicatorStore(sqlite_engine, new_stix_id),
        FixedClock(T0),
        parallel=Parallelism(workers=1, min_lines=0, chunk_lines=4, window=2),
        screen=screen,
    )
    assert (summary.added, summary.rejected) == (2, 5)
    assert [r.line for r in summary.rejections] == [1, 4, 7, 10, 13]
    assert summary.rejections[0].reason == (
        "d41d8cd98f00b204e9800998ecf8427e is on the warninglist empty-hashes (policy block)"
    )
    flagged = IndicatorSearch(sqlite_engine).current(IocType.DOMAIN, "flagged.example")
    assert flagged is not None and flagged.tags == ("warninglist:ours",)
