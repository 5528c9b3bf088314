"""Full dumps: what a source stops listing is revoked after N successful runs without it,
unless another source still lists it; failed, empty and unchanged runs revoke nothing."""

from __future__ import annotations

from iocfeed.indicators.model import IocType
from iocfeed.sources.model import RunOutcome, SourceKind
from tests.sources.conftest import FeedServer, Pulling

# Served without an ETag, so that every run downloads the dump again (a 304 is no new
# evidence that an entry was dropped, and counts for nothing).
NO_ETAG = {"etag": False}
BOTH = "kept.example.com\ndropped.example.com\n"
ONE = "kept.example.com\n"


def run(pulling: Pulling, name: str) -> tuple[RunOutcome, int]:
    pulling.clock.advance(hours=1)
    result = pulling.runner.run(pulling.sources.get(name))
    assert result is not None
    return result.outcome, result.counts.revoked


def revoked(pulling: Pulling, value: str) -> bool:
    found = pulling.search.current(IocType.DOMAIN, value)
    assert found is not None
    return found.revoked


def test_dropped_entry_is_revoked_after_two_runs_without_it(
    pulling: Pulling, feeds: FeedServer
) -> None:
    pulling.add("list", SourceKind.TEXT, feeds.serve("/list.txt", BOTH, **NO_ETAG))
    assert run(pulling, "list") == (RunOutcome.SUCCEEDED, 0)
    feeds.serve("/list.txt", ONE, **NO_ETAG)
    assert run(pulling, "list") == (RunOutcome.SUCCEEDED, 0)
    assert not revoked(pulling, "dropped.example.com")
    assert run(pulling, "list") == (RunOutcome.SUCCEEDED, 1)
    assert revoked(pulling, "dropped.example.com")
    assert not revoked(pulling, "kept.example.com")
    # Counted once: later runs do not revoke it again.
    assert run(pulling, "list") == (RunOutcome.SUCCEEDED, 0)


def test_failed_empty_and_unchanged_runs_revoke_nothing(
    pulling: Pulling, feeds: FeedServer
) -> None:
    pulling.add("list", SourceKind.TEXT, feeds.serve("/list.txt", BOTH, **NO_ETAG))
    run(pulling, "list")
    feeds.serve("/list.txt", "oops", status=500)
    assert run(pulling, "list")[0] is RunOutcome.FAILED
    feeds.serve("/list.txt", "# nothing listed today\n", **NO_ETAG)
    assert run(pulling, "list") == (RunOutcome.SUCCEEDED, 0)
    assert run(pulling, "list") == (RunOutcome.SUCCEEDED, 0)
    feeds.serve("/list.txt", ONE)
    assert run(pulling, "list") == (RunOutcome.SUCCEEDED, 0)
    assert run(pulling, "list") == (RunOutcome.NOT_MODIFIED, 0)
    assert run(pulling, "list") == (RunOutcome.NOT_MODIFIED, 0)
    assert not revoked(pulling, "dropped.example.com")
    assert not revoked(pulling, "kept.example.com")


def test_an_entry_another_source_still_lists_is_not_revoked(
    pulling: Pulling, feeds: FeedServer
) -> None:
    pulling.add("first", SourceKind.TEXT, feeds.serve("/first.txt", BOTH, **NO_ETAG))
    pulling.add("second", SourceKind.TEXT, feeds.serve("/second.txt", "dropped.example.com\n"))
    run(pulling, "first")
    run(pulling, "second")
    feeds.serve("/first.txt", ONE, **NO_ETAG)
    run(pulling, "first")
    assert run(pulling, "first") == (RunOutcome.SUCCEEDED, 0)
    assert not revoked(pulling, "dropped.example.com")
    reporters = pulling.sources.reporters(IocType.DOMAIN, "dropped.example.com")
    assert [(r["source"], r["listed"]) for r in reporters] == [
        ("first", False),
        ("second", True),
    ]


def test_a_download_cut_short_fails_and_revokes_nothing(
    pulling: Pulling, feeds: FeedServer
) -> None:
    pulling.add("list", SourceKind.TEXT, feeds.serve("/list.txt", BOTH, **NO_ETAG))
    run(pulling, "list")
    for _ in range(3):
        feeds.serve("/list.txt", ONE + "x" * 5000, cut=len(ONE), **NO_ETAG)
        assert run(pulling, "list") == (RunOutcome.FAILED, 0)
    assert not revoked(pulling, "dropped.example.com")
    runs = pulling.sources.runs(pulling.sources.get("list").source_id, limit=1)
    assert runs[0].error is not None
    assert runs[0].error.startswith("the download was cut short")
