"""The collection table is pinned: consumers store these ids in their settings."""

from __future__ import annotations

import uuid

import pytest

from iocfeed.errors import NotFound
from iocfeed.indicators.model import IocType
from iocfeed.taxii.collections import (
    ALL_TYPES,
    COLLECTIONS,
    Collection,
    FeedSource,
    collection_by_id,
    listed,
    resource,
    source_collection,
)
from iocfeed.taxii.media import STIX_MEDIA_TYPE

# Never edit these: a changed id silently breaks every configured consumer.
PINNED: dict[str, str] = {
    "all": "7ff2bd85-d16c-4fde-97f0-39c8b8aceda1",
    "ipv4": "021f9b9b-015e-4e52-a7bb-4d5f5536d166",
    "ipv6": "9a1d6454-4da1-45e1-b498-48608a2973c1",
    "domain": "0d03e50e-8e1a-4fa4-8e22-262baf6e1e71",
    "url": "d760ae04-fda6-4075-89f9-57f690d93907",
    "md5": "2a76be92-506d-4193-9f01-fca3b56713d5",
    "sha1": "8f8c188b-aa85-4c5d-b009-c287c466b3b6",
    "sha256": "b18365c9-001c-4b0e-aa40-9a0fe556d369",
    "sha512": "132e43da-d2a0-4ef8-8c23-8dfcd35813e3",
    "email": "41cf9d31-9deb-4f86-b19a-187cc588bdea",
    "cve": "3b34278c-732f-4425-ada5-f7c1d6cac361",
    "mitre-attack": "d9b06982-e923-47f5-8532-dbe771ad67ff",
    "submissions": "c0428b8b-b0c6-4be9-a91e-6c0d2242bcd0",
}


def test_ids_are_pinned() -> None:
    assert {c.alias: c.id for c in COLLECTIONS} == PINNED


def test_ids_and_aliases_are_unique_uuid4s() -> None:
    ids = [c.id for c in COLLECTIONS]
    aliases = [c.alias for c in COLLECTIONS]
    assert len(set(ids)) == len(ids) == 13
    assert len(set(aliases)) == len(aliases)
    for collection_id in ids:
        assert uuid.UUID(collection_id).version == 4
        assert str(uuid.UUID(collection_id)) == collection_id


def test_one_collection_per_type_plus_all_and_submissions() -> None:
    single = [c for c in COLLECTIONS if len(c.types) == 1]
    assert sorted(next(iter(c.types)) for c in single) == sorted(IocType)
    everything = [c for c in COLLECTIONS if c.types == ALL_TYPES]
    assert [c.alias for c in everything] == ["all", "submissions"]


def test_only_submissions_accepts_writes() -> None:
    assert [c.alias for c in COLLECTIONS if c.can_write] == ["submissions"]


def test_every_collection_has_a_title_and_description() -> None:
    for collection in COLLECTIONS:
        assert collection.title
        assert collection.description


@pytest.mark.parametrize("collection", COLLECTIONS, ids=lambda c: c.alias)
def test_lookup_by_id_alias_and_upper_case_id(collection: Collection) -> None:
    assert collection_by_id(collection.id) is collection
    assert collection_by_id(collection.id.upper()) is collection
    assert collection_by_id(collection.alias) is collection


@pytest.mark.parametrize(
    "unknown", ["", "nope", "00000000-0000-4000-8000-000000000000", PINNED["all"] + "x"]
)
def test_unknown_collection_is_not_found(unknown: str) -> None:
    with pytest.raises(NotFound):
        collection_by_id(unknown)


def test_resource_has_the_required_properties() -> None:
    body = resource(collection_by_id("ipv4"), can_read=True, can_write=False)
    assert body == {
        "id": PINNED["ipv4"],
        "title": "IPv4 addresses",
        "description": "Indicators of type ipv4 only.",
        "alias": "ipv4",
        "can_read": True,
        "can_write": False,
        "media_types": [STIX_MEDIA_TYPE],
    }


@pytest.mark.parametrize(
    ("alias", "key_may_write", "expected"),
    [
        ("submissions", True, True),
        ("submissions", False, False),
        ("all", True, False),  # a read-only collection stays read-only
        ("ipv4", True, False),
    ],
)
def test_can_write_needs_both_key_and_collection(
    alias: str, key_may_write: bool, expected: bool
) -> None:
    body = resource(collection_by_id(alias), can_read=True, can_write=key_may_write)
    assert body["can_write"] is expected


# -- one collection per source ----------------------------------------------------------

URLHAUS = FeedSource(name="abuse.ch-urlhaus", kind="urlhaus")
# Pinned like the fixed ids: uuid5 of the source namespace and the name.
URLHAUS_ID = "70935ae7-500d-5fba-b819-abf0a2576f3e"


def test_a_source_collection_id_is_pinned_by_the_name_alone() -> None:
    collection = source_collection(URLHAUS)
    assert collection.id == URLHAUS_ID
    assert uuid.UUID(collection.id).version == 5
    assert source_collection(FeedSource(name=URLHAUS.name, kind="csv")).id == URLHAUS_ID
    assert source_collection(FeedSource(name="abuse.ch-URLhaus", kind="urlhaus")).id != URLHAUS_ID


def test_a_source_collection_is_read_only_and_serves_what_the_source_reported() -> None:
    collection = source_collection(URLHAUS)
    assert (collection.can_write, collection.submitted_only) == (False, False)
    assert collection.types == ALL_TYPES
    assert collection.reported_by == "abuse.ch-urlhaus"
    assert "urlhaus source abuse.ch-urlhaus" in collection.description


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("abuse.ch-urlhaus", "Source abuse ch-urlhaus"),
        ("abuse-ch-urlhaus", "Source abuse-ch-urlhaus"),
        ("a.b.c", "Source a b c"),
        ("partner,list", "Source partner list"),
    ],
)
def test_a_source_collection_title_has_no_dot_or_comma(name: str, title: str) -> None:
    assert source_collection(FeedSource(name=name, kind="csv")).title == title


def test_source_collections_follow_the_fixed_ones_and_are_found_by_id() -> None:
    other = FeedSource(name="partner", kind="csv")
    everything = listed([URLHAUS, other])
    assert everything[: len(COLLECTIONS)] == COLLECTIONS
    assert [c.reported_by for c in everything[len(COLLECTIONS) :]] == [
        "abuse.ch-urlhaus",
        "partner",
    ]
    assert listed() == COLLECTIONS
    found = collection_by_id(URLHAUS_ID.upper(), [other, URLHAUS])
    assert found == source_collection(URLHAUS)
    with pytest.raises(NotFound):
        collection_by_id(URLHAUS_ID)  # no such source (removed or disabled): no collection
    with pytest.raises(NotFound):
        collection_by_id(URLHAUS_ID, [other])


def test_a_source_collection_resource_has_no_alias() -> None:
    body = resource(source_collection(URLHAUS), can_read=True, can_write=True)
    assert body == {
        "id": URLHAUS_ID,
        "title": "Source abuse ch-urlhaus",
        "description": body["description"],
        "can_read": True,
        "can_write": False,
        "media_types": [STIX_MEDIA_TYPE],
    }
