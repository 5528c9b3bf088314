"""The OASIS client (taxii2-client) finds and walks a per-source collection, on SQLite and
PostgreSQL, and gets exactly the indicators that source reported."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from taxii2client.v21 import Server, as_pages

from iocfeed.config import Settings
from iocfeed.demo import generate
from iocfeed.indicators.model import IndicatorInput
from iocfeed.services import Services
from iocfeed.sources.model import NewSource, SourceKind
from iocfeed.taxii.collections import COLLECTIONS, FeedSource, source_collection
from iocfeed.web.app import create_app
from tests.conformance.conftest import KEY_TLP, REFERENCES, serving

COUNT = 600
PAGE = 100
URLHAUS = FeedSource(name="abuse.ch-urlhaus", kind="urlhaus")
FEODO = FeedSource(name="feodo", kind="feodo")


@dataclass
class Served:
    base: str
    key: str
    services: Services
    reported: dict[str, list[IndicatorInput]]

    def expected(self, name: str) -> set[str]:
        """The ids a walk must serve: the source's indicators the key's TLP allows."""
        found = set()
        for item in self.reported[name]:
            current = self.services.search.current(item.type, item.value)
            assert current is not None
            if current.effective_tlp <= KEY_TLP:
                found.add(current.stix_id)
        return found


@pytest.fixture
def served(database_url: str) -> Iterator[Served]:
    settings = Settings(
        database_url=database_url,
        expiry_sweep_seconds=0,
        access_log=False,
        taxii_collection_per_source=True,
    )
    app = create_app(settings)
    services: Services = app.state.services
    now = datetime.now(UTC)
    demo = list(generate(COUNT, seed=5, now=now))
    services.indicators.write(demo, now)
    reported = {URLHAUS.name: demo[::2][:250], FEODO.name: demo[1::4]}
    for source in (URLHAUS, FEODO):
        added = services.sources.add(
            NewSource(source.name, SourceKind(source.kind), "https://feeds.example/"), now
        )
        run_id = services.sources.start_run(added.source_id, now)
        seen = [(item.type, item.value, now, now) for item in reported[source.name]]
        services.sources.record_seen(added.source_id, run_id, seen)
    key = services.keys.create(name="conformance", plan="enterprise", now=now)[1]
    with serving(app) as base:
        yield Served(base, key, services, reported)


def test_the_client_lists_and_walks_each_source_collection(served: Served) -> None:
    server = Server(f"{served.base}/taxii2/", user="sentinel", password=served.key)
    collections = server.default.collections
    per_source = [source_collection(URLHAUS), source_collection(FEODO)]
    assert [c.id for c in collections] == [c.id for c in (*COLLECTIONS, *per_source)]
    by_id = {c.id: c for c in collections}
    for source, expected in zip((URLHAUS, FEODO), per_source, strict=True):
        collection = by_id[expected.id]
        assert collection.title == expected.title
        assert (collection.can_read, collection.can_write) == (True, False)
        objects = [
            obj["id"]
            for page in as_pages(collection.get_objects, per_request=PAGE)
            for obj in page.get("objects", [])
        ]
        wanted = served.expected(source.name)
        assert len(wanted) > PAGE  # several pages
        assert len(objects) == len(set(objects)) == REFERENCES + len(wanted)
        assert set(objects[REFERENCES:]) == wanted
        manifest = [
            record["id"]
            for page in as_pages(collection.get_manifest, per_request=PAGE)
            for record in page.get("objects", [])
        ]
        assert manifest == objects
        one = objects[-1]
        assert [o["id"] for o in collection.get_object(one)["objects"]] == [one]
