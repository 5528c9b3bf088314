"""The reference objects every collection serves before its indicators: the producer identity
and the five TLP 2.0 marking definitions that ``created_by_ref`` and ``object_marking_refs``
point at.

Theory of operation
-------------------
Consumers that resolve references (OpenCTI refuses an object whose ``created_by_ref`` or
marking it cannot find) need these objects in the feed; consumers that do not (Sentinel)
ignore them. They are not stored versions: they never change, so they carry one fixed
``date_added``, the Unix epoch, earlier than any stored version, and sit at the head of
every collection's ``date_added`` order, at cursor positions ``(epoch, 0..5)``.

Being first in that order, they obey ``added_after`` as TAXII defines it (strictly after):
a full synchronisation (no ``added_after``) receives them on its first page, an incremental
poll (``added_after`` = the last ``X-TAXII-Date-Added-Last``) never receives them again, so
paging neither repeats nor skips them. The plan's lookback does not hide them: it limits
how old the intelligence a key may read is, and these objects are not intelligence.

Filters apply as to any object: ``match[type]``, ``match[id]``, ``match[spec_version]`` and
``match[version]`` (each has exactly one version, which is both ``first`` and ``last``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from iocfeed.indicators.model import Tlp
from iocfeed.indicators.query import Keyset
from iocfeed.stix.markings import marking_definition
from iocfeed.taxii.query import (
    ADDED_AFTER,
    ENDPOINT_PARAMETERS,
    MATCH_SPEC_VERSION,
    MATCH_TYPE,
    SPEC_VERSION,
    Endpoint,
    ObjectsRequest,
    Params,
)
from iocfeed.taxii.timestamps import parse_timestamp

DATE_ADDED = datetime(1970, 1, 1, tzinfo=UTC)
"""The ``date_added`` of every reference object: before anything the store hands out."""


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference object, pre-serialised, and its place at the head of every collection."""

    position: int
    id: str
    type: str
    version: str
    """The STIX ``modified`` (``created`` for objects without one, as marking definitions)."""
    json: bytes

    @property
    def keyset(self) -> Keyset:
        return Keyset(at=DATE_ADDED, seq=self.position)


@functools.cache
def reference_objects(identity_json: bytes) -> tuple[Reference, ...]:
    """The identity (given as JSON, so that the result can be cached) and TLP 2.0 markings."""
    objects: list[Mapping[str, Any]] = [
        orjson.loads(identity_json),
        *(marking_definition(tlp) for tlp in Tlp),
    ]
    return tuple(
        Reference(
            position=position,
            id=obj["id"],
            type=obj["type"],
            version=obj.get("modified") or obj["created"],
            json=orjson.dumps(obj),
        )
        for position, obj in enumerate(objects)
    )


def is_reference_position(position: Keyset | None) -> bool:
    """Whether a walk's cursor still stands among the reference objects."""
    return position is not None and position.at == DATE_ADDED


def selected(
    references: tuple[Reference, ...],
    params: Params,
    request: ObjectsRequest,
    endpoint: Endpoint,
) -> list[Reference]:
    """The reference objects a request selects after its cursor, in order.

    ``params`` are the raw query parameters: ``match[type]`` and ``match[spec_version]``
    may name types and versions that no stored indicator has, which the parsed
    ``request`` (a query on indicators) cannot carry. ``parse_*_request`` has already
    validated them.
    """
    if request.after is not None and not is_reference_position(request.after):
        return []
    allowed = ENDPOINT_PARAMETERS[endpoint]
    present = {name: values for name, values in params.items() if name in allowed}
    if (asked := _first(present, ADDED_AFTER)) is not None and (
        parse_timestamp(asked, parameter=ADDED_AFTER) >= DATE_ADDED
    ):
        return []
    spec_versions = _values(present, MATCH_SPEC_VERSION)
    if spec_versions is not None and SPEC_VERSION not in spec_versions:
        return []
    types = _values(present, MATCH_TYPE)
    start = request.after.seq + 1 if request.after is not None else 0
    return [
        reference
        for reference in references[start:]
        if (types is None or reference.type in types)
        and (not request.query.stix_ids or reference.id in request.query.stix_ids)
        and _version_selected(reference, request)
    ]


def _version_selected(reference: Reference, request: ObjectsRequest) -> bool:
    versions = request.query.versions
    if versions.keywords:  # last, first or all: the one version is each of them
        return True
    return parse_timestamp(reference.version, parameter="version") in versions.timestamps


def _first(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _values(params: Params, name: str) -> frozenset[str] | None:
    raw = params.get(name)
    if raw is None:
        return None
    return frozenset(item.strip().lower() for value in raw for item in value.split(","))
