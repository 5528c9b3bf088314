"""The TAXII 2.1 collections of the one API root, and their Collection resource (§5.2.1).

Every fixed collection id is a UUIDv4 pinned here for ever: consumers such as Microsoft
Sentinel store the id in their connector settings, so changing one breaks every feed.

Optionally (``taxii_collection_per_source``) each enabled source also gets a read-only
collection of the indicators it reported. Its id is a UUIDv5 of a pinned namespace and the
source's name, so it is the same on every host, after every restart, and after the source
is removed and added again under the same name; the caller passes the sources in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from iocfeed.errors import NotFound
from iocfeed.indicators.model import IocType
from iocfeed.taxii.media import STIX_MEDIA_TYPE


@dataclass(frozen=True, slots=True)
class Collection:
    """One TAXII collection: which IOC types it serves and whether it accepts objects.

    ``can_write`` says whether the collection takes Add Objects at all; whether a given
    key may write is decided per request (scope ``write:iocs``). ``submitted_only``: reading
    it serves only the versions that were posted to it (SPEC §3: Submissions is write-only
    for pollers, which find everything else in the read collections). ``reported_by``:
    reading it serves only the indicators the source of that name reported (provenance).
    """

    id: str
    title: str
    description: str
    types: frozenset[IocType]
    can_write: bool
    alias: str | None
    submitted_only: bool = False
    reported_by: str | None = None


@dataclass(frozen=True, slots=True)
class FeedSource:
    """What a per-source collection needs to know of an enabled source."""

    name: str
    kind: str


ALL_TYPES: frozenset[IocType] = frozenset(IocType)

# Pinned ids: never change, never reuse (tests/taxii/test_collections.py holds them too).
ALL_COLLECTION_ID = "7ff2bd85-d16c-4fde-97f0-39c8b8aceda1"
SUBMISSIONS_COLLECTION_ID = "c0428b8b-b0c6-4be9-a91e-6c0d2242bcd0"

_PER_TYPE: tuple[tuple[IocType, str, str], ...] = (
    # (type, pinned id, title)
    (IocType.IPV4, "021f9b9b-015e-4e52-a7bb-4d5f5536d166", "IPv4 addresses"),
    (IocType.IPV6, "9a1d6454-4da1-45e1-b498-48608a2973c1", "IPv6 addresses"),
    (IocType.DOMAIN, "0d03e50e-8e1a-4fa4-8e22-262baf6e1e71", "Domain names"),
    (IocType.URL, "d760ae04-fda6-4075-89f9-57f690d93907", "URLs"),
    (IocType.MD5, "2a76be92-506d-4193-9f01-fca3b56713d5", "MD5 file hashes"),
    (IocType.SHA1, "8f8c188b-aa85-4c5d-b009-c287c466b3b6", "SHA-1 file hashes"),
    (IocType.SHA256, "b18365c9-001c-4b0e-aa40-9a0fe556d369", "SHA-256 file hashes"),
    (IocType.SHA512, "132e43da-d2a0-4ef8-8c23-8dfcd35813e3", "SHA-512 file hashes"),
    (IocType.EMAIL, "41cf9d31-9deb-4f86-b19a-187cc588bdea", "Email addresses"),
    (IocType.CVE, "3b34278c-732f-4425-ada5-f7c1d6cac361", "Vulnerabilities (CVE)"),
    (IocType.MITRE_ATTACK, "d9b06982-e923-47f5-8532-dbe771ad67ff", "ATT&CK techniques"),
)

COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        id=ALL_COLLECTION_ID,
        title="All indicators",
        description="Every indicator of compromise, vulnerability and ATT&CK technique.",
        types=ALL_TYPES,
        can_write=False,
        alias="all",
    ),
    *(
        Collection(
            id=collection_id,
            title=title,
            description=f"Indicators of type {ioc_type.value} only.",
            types=frozenset({ioc_type}),
            can_write=False,
            alias=ioc_type.value.replace("_", "-"),
        )
        for ioc_type, collection_id, title in _PER_TYPE
    ),
    Collection(
        id=SUBMISSIONS_COLLECTION_ID,
        title="Submissions",
        description=(
            "Write STIX 2.1 indicators here (keys with write:iocs). They are imported like "
            "any other source and then appear in the read collections; reading this "
            "collection serves only the versions posted to it, so a writer can read back "
            "what it posted and a poller of every collection gets nothing twice from here."
        ),
        types=ALL_TYPES,
        can_write=True,
        alias="submissions",
        submitted_only=True,
    ),
)

_BY_KEY: dict[str, Collection] = {
    **{collection.id: collection for collection in COLLECTIONS},
    **{collection.alias: collection for collection in COLLECTIONS if collection.alias},
}

SOURCE_NAMESPACE = uuid.UUID("5d0c8a3e-2f4b-4c7e-9a61-3b8e0f9d2c47")
"""Pinned: the namespace of per-source collection ids (``uuid5(SOURCE_NAMESPACE, name)``)."""

# Characters a collection title must not contain (SPEC §3: some clients split on them).
_TITLE_UNSAFE = str.maketrans({".": " ", ",": " "})


def source_collection(source: FeedSource) -> Collection:
    """The read-only collection of what ``source`` reported.

    The title replaces ``.`` and ``,`` with spaces; source names never contain spaces, so
    two sources never share a title.
    """
    return Collection(
        id=str(uuid.uuid5(SOURCE_NAMESPACE, source.name)),
        title=f"Source {source.name.translate(_TITLE_UNSAFE)}",
        description=(
            f"Indicators reported by the {source.kind} source {source.name}, each with "
            "all its versions; read-only."
        ),
        types=ALL_TYPES,
        can_write=False,
        alias=None,
        reported_by=source.name,
    )


def listed(sources: Iterable[FeedSource] = ()) -> tuple[Collection, ...]:
    """The fixed collections, then one per source in the order given."""
    return (*COLLECTIONS, *(source_collection(source) for source in sources))


def collection_by_id(collection_id: str, sources: Iterable[FeedSource] = ()) -> Collection:
    """The collection with this id (or alias, §5.2.1), fixed or one of ``sources``', else
    :class:`NotFound`."""
    key = collection_id.lower()
    found = _BY_KEY.get(key)
    if found is None:
        found = next((c for c in map(source_collection, sources) if c.id == key), None)
    if found is None:
        raise NotFound(f"No collection {collection_id!r}")
    return found


def resource(collection: Collection, *, can_read: bool, can_write: bool) -> dict[str, Any]:
    """The Collection resource (§5.2.1) as the requesting key sees it.

    ``can_read``/``can_write`` are the key's rights; a key can write only to a collection
    that accepts writes.
    """
    body: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
    }
    if collection.alias is not None:
        body["alias"] = collection.alias
    return body | {
        "can_read": can_read,
        "can_write": can_write and collection.can_write,
        "media_types": [STIX_MEDIA_TYPE],
    }
