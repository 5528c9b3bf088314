"""Source runs against a real HTTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import pytest
from sqlalchemy import Engine, func, select

from iocfeed.indicators.model import IocType
from iocfeed.ingest import Parallelism
from iocfeed.sources.model import (
    CredentialKind,
    Credentials,
    RunOutcome,
    SourceKind,
    SourceRun,
    SourceSettings,
)
from iocfeed.store.schema import indicator_versions
from tests.sources.conftest import FEEDS, FeedServer, Pulling, make_pulling

URLHAUS = FEEDS / "urlhaus" / "csv_recent.sample.csv"


def stored(pulling: Pulling) -> int:
    with pulling.sources.engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(indicator_versions)).scalar_one()
        )


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_urlhaus_run_stores_every_row_then_304_changes_nothing(
    pulling: Pulling, feeds: FeedServer
) -> None:
    source = pulling.add("urlhaus", SourceKind.URLHAUS, feeds.serve("/csv_recent/", URLHAUS))
    run = pulling.runner.run(source)
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    assert (run.counts.added, run.counts.rejected) == (40, 0)
    found = pulling.search.current(IocType.URL, "http://27.215.214.134:60116/i")
    assert found is not None
    assert found.source == "urlhaus"
    versions = stored(pulling)
    # The ETag is in the checkpoint: the second run asks conditionally and gets a 304.
    pulling.clock.advance(hours=1)
    again = pulling.runner.run(pulling.sources.get("urlhaus"))
    assert again is not None
    assert again.outcome is RunOutcome.NOT_MODIFIED
    assert again.counts.added == again.counts.updated == 0
    assert feeds.requests[-1].get("If-None-Match", "").startswith('"')
    assert stored(pulling) == versions
    runs = pulling.sources.runs(source.source_id)
    assert [r.outcome for r in runs] == [RunOutcome.NOT_MODIFIED, RunOutcome.SUCCEEDED]
    assert runs[1].finished is not None


def test_zipped_dump_is_unpacked(pulling: Pulling, feeds: FeedServer) -> None:
    url = feeds.serve("/csv/", zipped("csv.txt", URLHAUS.read_bytes()))
    run = pulling.runner.run(pulling.add("urlhaus-full", SourceKind.URLHAUS, url))
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    assert run.counts.added == 40


def test_every_kind_read_from_a_url(pulling: Pulling, feeds: FeedServer) -> None:
    cases = [
        ("feodo", SourceKind.FEODO, FEEDS / "written" / "feodo-ipblocklist.csv", 3, 0),
        ("threatfox", SourceKind.THREATFOX, FEEDS / "written" / "threatfox-recent.csv", 5, 1),
        ("threatfox-json", SourceKind.THREATFOX, FEEDS / "written" / "threatfox-recent.json", 0, 0),
        (
            "domains",
            SourceKind.TEXT,
            FEEDS / "blocklists" / "urlhaus-filter-domains-online.head.txt",
            30,
            0,
        ),
    ]
    for name, kind, path, added, rejected in cases:
        run = pulling.runner.run(pulling.add(name, kind, feeds.serve(f"/{name}", path)))
        assert run is not None
        assert run.outcome is RunOutcome.SUCCEEDED, (name, run.error)
        assert (run.counts.added, run.counts.rejected) == (added, rejected), name
    # The JSON export lists two indicators the CSV brought: both sources report them.
    reporters = pulling.sources.reporters(IocType.IPV4, "8.223.20.63")
    assert [r["source"] for r in reporters] == ["threatfox", "threatfox-json"]


def test_csv_source_with_mapping_defaults_and_type_filter(
    pulling: Pulling, feeds: FeedServer
) -> None:
    from iocfeed.indicators.model import Confidence, Tlp

    settings = SourceSettings(
        confidence=Confidence.HIGH,
        tlp=Tlp.AMBER,
        tags=("partner",),
        types=frozenset({IocType.DOMAIN, IocType.URL}),
        columns={"value": "indicator", "type": "kind", "first_seen": "when"},
    )
    url = feeds.serve("/partner.csv", FEEDS / "written" / "partner.csv")
    run = pulling.runner.run(pulling.add("partner", SourceKind.CSV, url, settings=settings))
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    assert run.counts.added == 2
    assert pulling.search.current(IocType.IPV4, "198.51.100.77") is None
    domain = pulling.search.current(IocType.DOMAIN, "evil-partner.example.net")
    assert domain is not None
    assert (domain.confidence, domain.tlp, domain.tags) == (
        Confidence.HIGH,
        Tlp.AMBER,
        ("partner",),
    )


def test_stix_bundle_at_a_url(pulling: Pulling, feeds: FeedServer) -> None:
    bundle = (
        FEEDS.parent / "real" / "unit42" / "2024-10-17-cybersquatting-domains-from-new-TLDs.json"
    )
    run = pulling.runner.run(pulling.add("unit42", SourceKind.STIX, feeds.serve("/b.json", bundle)))
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    assert run.counts.added > 30


def test_credentials_are_sent(pulling: Pulling, feeds: FeedServer) -> None:
    url = feeds.serve("/auth.txt", "evil.example.com\n")
    header = Credentials(CredentialKind.API_KEY, "Auth-Key", "s3cret-value")
    pulling.runner.run(pulling.add("keyed", SourceKind.TEXT, url, credentials=header))
    assert feeds.requests[-1]["Auth-Key"] == "s3cret-value"
    basic = Credentials(CredentialKind.BASIC, "user", "pw")
    pulling.runner.run(pulling.add("basic", SourceKind.TEXT, url, credentials=basic))
    assert feeds.requests[-1]["Authorization"] == "Basic dXNlcjpwdw=="
    assert "s3cret-value" not in repr(pulling.sources.get("keyed"))


# --- faults: each fails its run with a clear error and changes nothing --------------------


def failed(pulling: Pulling, name: str, url: str, kind: SourceKind = SourceKind.URLHAUS) -> str:
    run = pulling.runner.run(pulling.add(name, kind, url))
    assert run is not None
    assert run.outcome is RunOutcome.FAILED
    assert stored(pulling) == 0
    assert run.error is not None
    return run.error


def test_timeout_fails_the_run(engine: object, feeds: FeedServer) -> None:
    pulling = make_pulling(engine, source_timeout_seconds=0.5)  # type: ignore[arg-type]
    error = failed(pulling, "slow", feeds.serve("/slow", URLHAUS, delay=3))
    assert "longer than 0.5 seconds" in error


def test_server_error_is_retried_with_backoff_then_fails(
    pulling: Pulling, feeds: FeedServer
) -> None:
    error = failed(pulling, "broken", feeds.serve("/broken", "oops", status=500))
    assert error == "the feed answered HTTP 500 (after 3 attempts)"
    assert feeds.hits["/broken"] == 3  # the first try and source_retries = 2


def test_client_error_is_not_retried(pulling: Pulling, feeds: FeedServer) -> None:
    error = failed(pulling, "gone", feeds.url("/nothing-here"))
    assert error == "the feed answered HTTP 404 Not Found"
    assert feeds.hits["/nothing-here"] == 1


def test_unreachable_feed_fails(pulling: Pulling, feeds: FeedServer) -> None:
    error = failed(pulling, "down", "http://127.0.0.1:9/feed")
    assert error.startswith("cannot reach the feed")


def test_html_instead_of_csv_fails(pulling: Pulling, feeds: FeedServer) -> None:
    page = "<!DOCTYPE html><html><body>Please sign in</body></html>"
    error = failed(
        pulling, "login", feeds.serve("/login", page, headers={"Content-Type": "text/html"})
    )
    assert "HTML page instead of data" in error


def test_truncated_zip_fails(pulling: Pulling, feeds: FeedServer) -> None:
    archive = zipped("csv.txt", URLHAUS.read_bytes())
    error = failed(pulling, "cut", feeds.serve("/cut.zip", archive[: len(archive) // 2]))
    assert "zip archive is truncated or corrupt" in error


def test_dump_over_the_size_limit_fails(engine: object, feeds: FeedServer) -> None:
    limit = URLHAUS.stat().st_size
    pulling = make_pulling(engine, source_max_bytes=limit)  # type: ignore[arg-type]
    ten_times = URLHAUS.read_bytes() * 10
    error = failed(pulling, "big", feeds.serve("/big", ten_times))
    assert error == f"the feed is larger than the limit of {limit} bytes (source_max_bytes)"
    # Without a Content-Length the limit holds while streaming, and once unpacked from a zip.
    error = failed(pulling, "streamed", feeds.serve("/streamed", ten_times, length=False))
    assert error == f"the feed is larger than the limit of {limit} bytes (source_max_bytes)"
    archive = zipped("csv.txt", ten_times)
    assert len(archive) < limit
    error = failed(pulling, "bomb", feeds.serve("/bomb.zip", archive))
    assert error.endswith("once unpacked")


def test_a_feed_none_of_whose_lines_is_an_indicator_fails(
    pulling: Pulling, feeds: FeedServer
) -> None:
    error = failed(
        pulling, "junk", feeds.serve("/junk.csv", "not,a,feed\n1,2,3\n"), SourceKind.FEODO
    )
    assert "none of the feed's" in error


def test_one_failing_source_does_not_stop_the_others(pulling: Pulling, feeds: FeedServer) -> None:
    pulling.add("a-broken", SourceKind.URLHAUS, feeds.serve("/broken", "x", status=500))
    pulling.add("b-good", SourceKind.URLHAUS, feeds.serve("/good", URLHAUS))
    runs = pulling.runner.run_due()
    assert [r.outcome for r in runs] == [RunOutcome.FAILED, RunOutcome.SUCCEEDED]
    assert runs[1].counts.added == 40
    # Both ran: neither is due again before its interval.
    assert pulling.runner.run_due() == []


def test_a_leased_source_is_not_run_twice(pulling: Pulling, feeds: FeedServer) -> None:
    source = pulling.add("leased", SourceKind.URLHAUS, feeds.serve("/good", URLHAUS))
    assert pulling.sources.claim(source.source_id, pulling.clock.now(), pulling.runner.lease)
    assert pulling.runner.run(source) is None
    # A lease that expired (its holder crashed) is taken over.
    pulling.clock.advance(seconds=pulling.runner.lease.total_seconds() + 1)
    run = pulling.runner.run(source)
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED


def _run_in_pieces(
    engine: Engine, feeds: FeedServer, kind: SourceKind, body: bytes, settings: SourceSettings
) -> tuple[SourceRun, Pulling]:
    """One run with the feed read by worker processes in pieces of 7 lines."""
    pulling = make_pulling(engine)
    pieces = Parallelism(workers=1, min_lines=1, chunk_lines=7, window=2)
    runner = dataclasses.replace(pulling.runner, parallel=pieces)
    url = feeds.serve(f"/{kind.value}-pieces", body)
    run = runner.run(pulling.add(f"{kind.value}-pieces", kind, url, settings=settings))
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    return run, pulling


def test_large_feeds_are_read_by_worker_processes_with_the_same_result(
    engine: Engine, feeds: FeedServer
) -> None:
    body = URLHAUS.read_bytes() + b"99,2026-03-10 11:00:00,,online\n"
    run, pulling = _run_in_pieces(engine, feeds, SourceKind.URLHAUS, body, SourceSettings())
    serial = pulling.runner.run(
        pulling.add("urlhaus-serial", SourceKind.URLHAUS, feeds.serve("/serial", body))
    )
    assert serial is not None
    assert (run.counts.added, run.counts.rejected) == (40, 1)
    assert (serial.counts.unchanged, serial.counts.rejected) == (40, 1)
    reporters = pulling.sources.reporters(IocType.URL, "http://27.215.214.134:60116/i")
    assert [r["source"] for r in reporters] == ["urlhaus-pieces", "urlhaus-serial"]
    # The source's type filter applies in the worker processes too.
    listed = b"# list\nevil.example.com\n198.51.100.9\n" * 5
    only_ip = SourceSettings(types=frozenset({IocType.IPV4}))
    filtered, _ = _run_in_pieces(engine, feeds, SourceKind.TEXT, listed, only_ip)
    assert (filtered.counts.added, filtered.counts.unchanged) == (1, 4)


def test_credentials_in_a_source_url_are_never_shown_or_recorded(
    pulling: Pulling, feeds: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    from iocfeed.sources.model import describe, describe_run, redact

    assert redact("https://bob:hunter2@feeds.example/x?apikey=s3cret&day=1&auth_token=t0k") == (
        "https://***@feeds.example/x?apikey=***&day=1&auth_token=***"
    )
    url = feeds.url("/gone").replace("://", "://bob:hunter2@") + "?apikey=s3cret&day=1"
    source = pulling.add("secretive", SourceKind.TEXT, url)
    with caplog.at_level("DEBUG"):
        run = pulling.runner.run(source)
    assert run is not None and run.failed
    shown = str(describe(source, [run])) + (run.error or "") + caplog.text
    assert "hunter2" not in shown and "s3cret" not in shown
    assert describe(source)["url"].endswith("?apikey=***&day=1")
    assert describe_run(run)["error"] == run.error
    # What the run logs of an unexpected failure, traceback included, is redacted too.
    from iocfeed.worker import runs

    try:
        raise RuntimeError(f"cannot fetch {url}")
    except RuntimeError:
        with caplog.at_level("ERROR"):
            runs.log.exception("source %s failed at %s", "secretive", url)
    assert "hunter2" not in caplog.text and "s3cret" not in caplog.text
    assert "https://" not in caplog.text or "***@" in caplog.text


def test_confidence_from_several_sources_is_the_newer_reports(
    pulling: Pulling, feeds: FeedServer
) -> None:
    from iocfeed.indicators.model import Confidence

    listed = feeds.serve("/shared.txt", "shared.example.com\n", etag=False)
    trusted = pulling.add(
        "trusted", SourceKind.TEXT, listed, settings=SourceSettings(confidence=Confidence.HIGH)
    )
    loose = pulling.add(
        "loose", SourceKind.TEXT, listed, settings=SourceSettings(confidence=Confidence.LOW)
    )

    def confidence_after(source_name: str) -> tuple[Confidence, int]:
        pulling.clock.advance(hours=1)
        run = pulling.runner.run(pulling.sources.get(source_name))
        assert run is not None and run.outcome is RunOutcome.SUCCEEDED, run
        found = pulling.search.current(IocType.DOMAIN, "shared.example.com")
        assert found is not None
        return found.confidence, run.counts.updated

    assert confidence_after(trusted.name) == (Confidence.HIGH, 0)
    assert confidence_after(loose.name) == (Confidence.LOW, 1)
    assert confidence_after(trusted.name) == (Confidence.HIGH, 1)
    reporters = pulling.sources.reporters(IocType.DOMAIN, "shared.example.com")
    assert sorted(r["source"] for r in reporters) == ["loose", "trusted"]
