"""STIX 2.1 bundles and object lists for an export, and their streamed JSON (SPEC §2)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from iocfeed.indicators.model import Indicator, IocType, Tlp
from iocfeed.lifecycle.sightings import Report
from iocfeed.stix.markings import marking_definition, marking_id
from iocfeed.stix.objects import (
    SCO_TYPE,
    ExportOptions,
    Producer,
    StixObject,
    build_observables,
    build_sdo,
    object_tlp,
    relationship,
)
from iocfeed.stix.sightings import report_objects
from iocfeed.stix.stored import StoredObject, object_tlps, spliced, tails

CHUNK_SIZE = 100  # objects per ``orjson.dumps`` call and per yielded chunk


def new_bundle_id() -> str:
    """A fresh ``bundle--<uuid4>`` (STIX 2.1 §8: bundles are not versioned)."""
    return f"bundle--{uuid.uuid4()}"


def build_objects(
    indicators: Sequence[Indicator],
    options: ExportOptions,
    producer: Producer,
    *,
    now: datetime,
    reports: Sequence[Report] = (),
    named: frozenset[str] = frozenset(),
) -> list[StixObject]:
    """Every object of an export made at ``now``, in SPEC §2 order.

    The producer identity (``include_identity``), the marking definitions the objects
    reference (``include_markings``), one SDO per indicator in the order given (the
    caller passes them newest ``modified`` first), then with ``include_observables`` the
    SCOs, observed-data and ``based-on`` relationships, and last the ``indicates``
    relationships from indicators to the attack-patterns of their techniques that are in
    ``indicators`` too, and last, with ``include_sightings``, the sightings and opinions of
    ``reports`` (``stix.sightings``; accounts in ``named`` are named, the rest anonymous).

    An indicator that is withdrawn (revoked, or past ``valid_until`` at ``now``) ships
    without observables: its revoked version tells a consumer that reads patterns to stop
    matching, but one that reads only observables (Splunk ES before 8.2) cannot see
    revocation on an SCO, which STIX does not version, and would take it as live.
    """
    creator = producer.identity_id if options.include_identity else None
    tlps = [object_tlp(indicator, options) for indicator in indicators]
    markings = {tlp: marking_id(tlp, options.tlp_version) for tlp in set(tlps)}

    objects: list[StixObject] = []
    if options.include_identity:
        objects.append(producer.identity())
    if options.include_markings:
        objects.extend(marking_definition(tlp, options.tlp_version) for tlp in sorted(markings))
    objects.extend(
        build_sdo(indicator, markings[tlp], creator)
        for indicator, tlp in zip(indicators, tlps, strict=True)
    )
    if options.include_observables:
        # Two stored URLs can share one URI form, and so one SCO; it is listed once.
        seen: set[str] = set()
        for indicator, tlp in zip(indicators, tlps, strict=True):
            if indicator.type in SCO_TYPE and not indicator.withdrawn(now):
                for obj in build_observables(indicator, markings[tlp], creator):
                    if obj["id"] not in seen:
                        seen.add(obj["id"])
                        objects.append(obj)
    objects.extend(_indicates(indicators, tlps, markings, creator))
    if options.include_sightings and reports:
        by_id = {
            indicator.stix_id: markings[tlp]
            for indicator, tlp in zip(indicators, tlps, strict=True)
        }
        objects.extend(report_objects(reports, by_id, creator, named))
    return objects


def _indicates(
    indicators: Sequence[Indicator],
    tlps: Sequence[Tlp],
    markings: Mapping[Tlp, str],
    creator: str | None,
) -> Iterator[StixObject]:
    """``indicator indicates attack-pattern`` for techniques whose SDO is in the export.

    The relationship is marked with the more restrictive TLP of its two ends.
    """
    patterns = {
        indicator.value: (indicator.stix_id, tlp)
        for indicator, tlp in zip(indicators, tlps, strict=True)
        if indicator.type is IocType.MITRE_ATTACK
    }
    if not patterns:
        return
    for indicator, tlp in zip(indicators, tlps, strict=True):
        if indicator.type not in SCO_TYPE:
            continue
        for technique_id in dict.fromkeys(indicator.techniques):
            target = patterns.get(technique_id)
            if target is not None:
                target_ref, target_tlp = target
                marking = markings[max(tlp, target_tlp)]
                yield relationship(indicator, "indicates", target_ref, marking, creator)


def stored_object_chunks(
    rows: Sequence[StoredObject],
    options: ExportOptions,
    producer: Producer,
    *,
    now: datetime,
    reports: Sequence[Report] = (),
    named: frozenset[str] = frozenset(),
) -> Iterator[bytes]:
    """``build_objects`` for stored versions, in the same order, as JSON chunks of at most
    :data:`CHUNK_SIZE` comma-separated objects (for ``join_bundle`` and ``join_array``).

    The SDOs are the stored JSON finished by a splice (``stix.stored``), a chunk at a time:
    passing a thousand objects one by one through generators costs as much again, and
    splicing them all at once keeps a page of copies alive, which the allocator then hands
    back to the system after each export and faults in again. Only observables and
    ``indicates`` relationships, which depend on more than one version or on columns
    changed in place, are built, from the rows decoded, and only when the export has any.
    """
    creator = producer.identity_id if options.include_identity else None
    tlps = object_tlps(rows, options)
    markings = {tlp: marking_id(tlp, options.tlp_version) for tlp in set(tlps)}
    head = [orjson.dumps(producer.identity())] if options.include_identity else []
    if options.include_markings:
        head += [
            orjson.dumps(marking_definition(tlp, options.tlp_version)) for tlp in sorted(markings)
        ]
    if head:
        yield b",".join(head)
    tail_of = tails(markings, creator)
    for start in range(0, len(rows), CHUNK_SIZE):
        end = start + CHUNK_SIZE
        yield b",".join(spliced(rows[start:end], tlps[start:end], tail_of))
    built = _built_objects(
        rows,
        tlps,
        options,
        markings=markings,
        creator=creator,
        now=now,
        reports=reports,
        named=named,
    )
    yield from _chunks(_dumped(built))


def _built_objects(
    rows: Sequence[StoredObject],
    tlps: Sequence[Tlp],
    options: ExportOptions,
    *,
    markings: Mapping[Tlp, str],
    creator: str | None,
    now: datetime,
    reports: Sequence[Report],
    named: frozenset[str],
) -> Iterator[StixObject]:
    """What a stored export builds after its SDOs, from the rows decoded: observables,
    ``indicates`` relationships and sightings."""
    if options.include_observables:
        seen: set[str] = set()
        for row, tlp in zip(rows, tlps, strict=True):
            indicator = row.decode() if row.type in SCO_TYPE else None
            if indicator is not None and not indicator.withdrawn(now):
                for obj in build_observables(indicator, markings[tlp], creator):
                    if obj["id"] not in seen:
                        seen.add(obj["id"])
                        yield obj
    attack = IocType.MITRE_ATTACK  # read from the enum once, not once per row
    patterns = {row.decode().value for row in rows if row.type is attack}
    if patterns:
        # Only versions that name a technique of the export can have relationships.
        decoded = zip((row.decode() for row in rows), tlps, strict=True)
        linked = [
            (indicator, tlp)
            for indicator, tlp in decoded
            if indicator.type is attack or not patterns.isdisjoint(indicator.techniques)
        ]
        indicators = [indicator for indicator, _ in linked]
        linked_tlps = [tlp for _, tlp in linked]
        yield from _indicates(indicators, linked_tlps, markings, creator)
    if options.include_sightings and reports:
        by_id = {row.decode().stix_id: markings[tlp] for row, tlp in zip(rows, tlps, strict=True)}
        yield from report_objects(reports, by_id, creator, named)


def serialize_bundle(objects: Iterable[Mapping[str, Any]], bundle_id: str) -> Iterator[bytes]:
    """The JSON of a STIX bundle (STIX 2.1 §8) in chunks a web layer can stream.

    ``objects`` is always present, ``[]`` when there are none, for consumers that index it.
    """
    return join_bundle(_chunks(_dumped(objects)), bundle_id)


def serialize_objects(objects: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """The objects as one bare JSON array (SPEC §2, ``format=objects``), in chunks."""
    return join_array(_chunks(_dumped(objects)))


def join_bundle(chunks: Iterable[bytes], bundle_id: str) -> Iterator[bytes]:
    """``serialize_bundle`` for objects that are JSON already, in chunks of one or more
    comma-separated objects."""
    yield b'{"type":"bundle","id":' + orjson.dumps(bundle_id) + b',"objects":['
    yield from _separated(chunks)
    yield b"]}"


def join_array(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``serialize_objects`` for objects that are JSON already, in chunks as for
    ``join_bundle``."""
    yield b"["
    yield from _separated(chunks)
    yield b"]"


def _separated(chunks: Iterable[bytes]) -> Iterator[bytes]:
    for index, chunk in enumerate(chunks):
        yield b"," + chunk if index else chunk


def _dumped(objects: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    return (orjson.dumps(obj) for obj in objects)


def _chunks(objects: Iterable[bytes]) -> Iterator[bytes]:
    """Up to ``CHUNK_SIZE`` objects at a time, comma-separated, without brackets."""
    iterator = iter(objects)
    while batch := list(itertools.islice(iterator, CHUNK_SIZE)):
        yield b",".join(batch)
