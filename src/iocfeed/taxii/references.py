"""The reference objects every collection serves before its indicators: the producer identity
and the five TLP 2.0 marking definitions that ``created_by_ref`` and ``object_marking_refs``
point at.

Theory of operation
-------------------
Consumers that resolve references (OpenCTI refuses an object whose ``created_by_ref`` or
marking it cannot find) need these objects in the feed; consumers that do not (Sentinel)
ignore them. They are not stored versions and never change, so they sit outside the
stored walk: the first page of every walk (a request without ``next``) that serves at
least one stored object carries them first, whatever its ``added_after``, so a poller
that starts at any time, or polls from ``X-TAXII-Date-Added-Last`` after a short page,
can resolve every reference it receives. They come in addition to ``limit`` stored
objects; the ``next`` token and ``X-TAXII-Date-Added-Last`` always stand on a stored
object, so paging and polling neither skip nor repeat a stored version. A first page with
no stored object carries no reference either: an idle poll stays empty and a client keeps
its ``added_after``. A request that can select only reference objects (``match[type]``
naming only identity or marking-definition, or their ids) gets them alone.

The markings served are those of the TLPs the key may receive: its objects can reference
no other. Each has one fixed ``date_added``, the Unix epoch. The plan's lookback does not
hide them: it limits how old the intelligence a key may read is, and these objects are not
intelligence. Filters apply as to any object: ``match[type]``, ``match[id]``,
``match[spec_version]`` and ``match[version]`` (each has exactly one version, which is both
``first`` and ``last``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from iocfeed.indicators.model import Tlp, effective_tlp
from iocfeed.stix.markings import marking_definition
from iocfeed.stix.objects import Marked
from iocfeed.taxii.query import (
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
    tlp: Tlp | None = None
    """The TLP a marking definition stands for (``None`` for the identity)."""


@functools.cache
def reference_objects(identity_json: bytes) -> tuple[Reference, ...]:
    """The identity (given as JSON, so that the result can be cached) and TLP 2.0 markings."""
    objects: list[tuple[Mapping[str, Any], Tlp | None]] = [
        (orjson.loads(identity_json), None),
        *((marking_definition(tlp), tlp) for tlp in Tlp),
    ]
    return tuple(
        Reference(
            position=position,
            id=obj["id"],
            type=obj["type"],
            version=obj.get("modified") or obj["created"],
            json=orjson.dumps(obj),
            tlp=tlp,
        )
        for position, (obj, tlp) in enumerate(objects)
    )


def selected(
    references: tuple[Reference, ...],
    params: Params,
    request: ObjectsRequest,
    endpoint: Endpoint,
) -> list[Reference]:
    """The reference objects a walk's first page may carry, in order (none on later pages).

    ``params`` are the raw query parameters: ``match[type]`` and ``match[spec_version]``
    may name types and versions that no stored indicator has, which the parsed
    ``request`` (a query on indicators) cannot carry. ``parse_request`` has already
    validated them. Markings above the key's highest TLP are left out.
    """
    if request.after is not None or request.query.submitted_only:
        return []
    allowed = ENDPOINT_PARAMETERS[endpoint]
    present = {name: values for name, values in params.items() if name in allowed}
    spec_versions = _values(present, MATCH_SPEC_VERSION)
    if spec_versions is not None and SPEC_VERSION not in spec_versions:
        return []
    types = _values(present, MATCH_TYPE)
    max_tlp = request.query.max_tlp
    return [
        reference
        for reference in references
        if (reference.tlp is None or reference.tlp <= max_tlp)
        and (types is None or reference.type in types)
        and (not request.query.stix_ids or reference.id in request.query.stix_ids)
        and _version_selected(reference, request)
    ]


def fitted(
    references: Sequence[Reference], stored: Sequence[Marked], limit: int
) -> tuple[list[Reference], int]:
    """The references a first page of at most ``limit`` objects carries, and how many of its
    ``stored`` objects (in walk order) still fit beside them.

    All of them and ``limit - len(references)`` stored objects when that leaves room for
    one. A smaller limit keeps at least one stored object (so the walk and an
    ``added_after`` poll always move on) and, in the room left, the identity and the
    markings that the kept objects reference.
    """
    if not stored:
        return [], 0
    if len(references) < limit:
        return list(references), min(len(stored), limit - len(references))
    chosen: set[str] = set()
    kept = 0
    for item in stored:
        tlp = effective_tlp(item.tlp, item.confidence)
        wanted = chosen | {r.id for r in references if r.tlp is None or r.tlp == tlp}
        if len(wanted) + kept + 1 > limit:
            if kept == 0:
                chosen = {r.id for r in references if r.id in wanted}
                chosen = set(sorted(chosen, key=_order(references))[: limit - 1])
                kept = 1
            break
        chosen, kept = wanted, kept + 1
    return [r for r in references if r.id in chosen], kept


def _order(references: Sequence[Reference]) -> Callable[[str], int]:
    positions = {reference.id: reference.position for reference in references}
    return positions.__getitem__


def _version_selected(reference: Reference, request: ObjectsRequest) -> bool:
    versions = request.query.versions
    if versions.keywords:  # last, first or all: the one version is each of them
        return True
    return parse_timestamp(reference.version, parameter="version") in versions.timestamps


def _values(params: Params, name: str) -> frozenset[str] | None:
    raw = params.get(name)
    if raw is None:
        return None
    return frozenset(item.strip().lower() for value in raw for item in value.split(","))
