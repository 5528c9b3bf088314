"""MISP feeds: manifest plus event files, only to_ids attributes, only changed events."""

from __future__ import annotations

import json

from iocfeed.indicators.model import IocType, Tlp
from iocfeed.sources.misp import changed_events, read_event
from iocfeed.sources.model import RunOutcome, SourceKind
from tests.sources.conftest import FEEDS, FeedServer, Pulling

FEED = FEEDS / "misp" / "feed"
XORIST = "57c4445b-c548-4654-af0b-4be3950d210f"
SEDNIT = "5a3c2fcd-8328-42bb-a95e-4f4402de0b81"


def serve_feed(feeds: FeedServer, manifest: bytes | None = None) -> str:
    for uuid in (XORIST, SEDNIT):
        feeds.serve(f"/feed/{uuid}.json", FEED / f"{uuid}.json")
    feeds.serve("/feed/manifest.json", manifest or (FEED / "manifest.json").read_bytes())
    return feeds.url("/feed/")


def test_only_to_ids_attributes_of_known_types_from_events_and_objects() -> None:
    records = list(read_event((FEED / f"{SEDNIT}.json").read_bytes()))
    # 7 domains flagged to_ids, and 3 sha1 of file objects; file names, links, text are not.
    assert [r.type for r in records] == ["domain"] * 7 + ["sha1"] * 3
    assert all(getattr(r, "tlp", None) == "tlp:white" for r in records)
    assert read_event(b"[]").__next__().whole_file  # type: ignore[union-attr]


def test_changed_events_by_manifest_timestamp() -> None:
    manifest = (FEED / "manifest.json").read_bytes()
    assert [u for u, _ in changed_events(manifest, {})] == [XORIST, SEDNIT]
    assert changed_events(manifest, {XORIST: 1472541011, SEDNIT: 1513948642}) == []
    assert [u for u, _ in changed_events(manifest, {XORIST: 1472541011, SEDNIT: 1})] == [SEDNIT]


def test_misp_feed_run_then_only_changed_events(pulling: Pulling, feeds: FeedServer) -> None:
    source = pulling.add("circl", SourceKind.MISP, serve_feed(feeds))
    run = pulling.runner.run(source)
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    assert (run.counts.added, run.counts.rejected) == (13, 0)
    found = pulling.search.current(IocType.MD5, "0749bae92ca336a02c83d126e04ec628")
    assert found is not None
    assert found.tlp is Tlp.CLEAR
    assert found.description == "Ransomware - Xorist: Imported via the Freetext Import Tool"
    pulling.clock.advance(hours=1)
    again = pulling.runner.run(pulling.sources.get("circl"))
    assert again is not None
    assert again.outcome is RunOutcome.NOT_MODIFIED
    # A newer timestamp for one event in the manifest: only that event is fetched again.
    manifest = json.loads((FEED / "manifest.json").read_text())
    manifest[SEDNIT]["timestamp"] += 60
    serve_feed(feeds, json.dumps(manifest).encode())
    hits = dict(feeds.hits)
    third = pulling.runner.run(pulling.sources.get("circl"))
    assert third is not None
    assert third.outcome is RunOutcome.SUCCEEDED, third.error
    assert (third.counts.added, third.counts.unchanged) == (0, 10)
    assert feeds.hits[f"/feed/{SEDNIT}.json"] == hits[f"/feed/{SEDNIT}.json"] + 1
    assert feeds.hits[f"/feed/{XORIST}.json"] == hits[f"/feed/{XORIST}.json"]


def test_a_missing_event_fails_the_run(pulling: Pulling, feeds: FeedServer) -> None:
    feeds.serve("/feed/manifest.json", FEED / "manifest.json")
    feeds.serve(f"/feed/{XORIST}.json", FEED / f"{XORIST}.json")
    run = pulling.runner.run(pulling.add("broken", SourceKind.MISP, feeds.url("/feed")))
    assert run is not None
    assert run.outcome is RunOutcome.FAILED
    assert run.error == "the feed answered HTTP 404 Not Found"
