"""MISP events and feed documents, loaded by PyMISP (the library MISP's own feed tools use)."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta

import orjson
from pymisp import MISPEvent

from iocfeed.indicators.model import IocType, Tlp
from iocfeed.outputs.misp import Grouping, event, hashes, manifest, summarise
from tests.outputs.conftest import NOW, listing
from tests.stix.factories import PRODUCER, SAMPLE_VALUES, make_indicator

PRODUCER_ID = PRODUCER.identity_id


def rows() -> list:  # type: ignore[type-arg]
    made = []
    for offset, kind in enumerate(IocType):
        made.append(
            make_indicator(
                kind,
                SAMPLE_VALUES[kind],
                date_added=NOW - timedelta(days=offset % 2, minutes=offset),
                source="urlhaus" if offset % 3 else "feodo",
                description="seen\nin a campaign",
                tags=("c2",),
                revoked=kind is IocType.DOMAIN,
            )
        )
    return made


def test_pymisp_loads_every_event_of_the_feed_with_every_attribute() -> None:
    items = rows()
    for grouping in Grouping:
        events = summarise(items, listing(len(items)), grouping, PRODUCER_ID)
        loaded_values = set()
        for summary in events.values():
            body = b"".join(event(summary, items, listing(len(items)), grouping, PRODUCER_ID))
            misp_event = MISPEvent()
            misp_event.load(body)
            assert misp_event.uuid == summary.uuid
            assert misp_event.timestamp.timestamp() == summary.timestamp
            assert {tag.name for tag in misp_event.tags} == {f"tlp:{summary.tlp.value}"}
            for attribute in misp_event.attributes:
                loaded_values.add(attribute.value)
                assert attribute.to_ids
        # Every type MISP has an attribute type for; ATT&CK techniques are not attributes.
        expected = {row.value for row in items if row.type is not IocType.MITRE_ATTACK}
        assert loaded_values == expected


def test_withdrawn_indicators_stay_as_deleted_attributes() -> None:
    items = rows()
    (summary,) = [
        s
        for s in summarise(items, listing(len(items)), Grouping.DAY, PRODUCER_ID).values()
        if s.key == NOW.date().isoformat()
    ]
    misp_event = MISPEvent()
    misp_event.load(b"".join(event(summary, items, listing(len(items)), Grouping.DAY, PRODUCER_ID)))
    deleted = {a.value for a in misp_event.attributes if a.deleted}
    assert deleted == {SAMPLE_VALUES[IocType.DOMAIN]}


def test_manifest_and_hashes_describe_the_events() -> None:
    items = rows()
    events = summarise(items, listing(len(items)), Grouping.SOURCE, PRODUCER_ID)
    document = orjson.loads(
        manifest(events.values(), listing(len(items)), Grouping.SOURCE, PRODUCER_ID)
    )
    assert set(document) == set(events)
    for uuid, entry in document.items():
        assert isinstance(entry["timestamp"], int)
        assert entry["timestamp"] == events[uuid].timestamp
        assert entry["Orgc"]["name"] == "SOC Defenders"
        assert entry["Tag"][0]["name"].startswith("tlp:")
    lines = list(
        csv.reader(io.StringIO(b"".join(hashes(items, Grouping.SOURCE, PRODUCER_ID)).decode()))
    )
    value = SAMPLE_VALUES[IocType.IPV4]
    digest = hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()
    assert all(len(line) == 2 and line[1] in events for line in lines)
    assert digest in {line[0] for line in lines}


def test_event_ids_are_stable_and_tlp_is_the_highest() -> None:
    items = rows()
    first = summarise(items, listing(len(items)), Grouping.DAY, PRODUCER_ID)
    again = summarise(list(reversed(items)), listing(len(items)), Grouping.DAY, PRODUCER_ID)
    assert set(first) == set(again)
    red = [*items, make_indicator(IocType.IPV4, "192.0.2.1", tlp=Tlp.RED, date_added=NOW)]
    tlps = {
        s.key: s.tlp for s in summarise(red, listing(len(red)), Grouping.DAY, PRODUCER_ID).values()
    }
    assert tlps[NOW.date().isoformat()] is Tlp.RED
