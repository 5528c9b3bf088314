"""STIX 2.1 objects for sightings reported back: a hit is a Sighting (STIX 2.1 §5.2), a false
positive an Opinion (§4.11, ``strongly-disagree``).

Reporting accounts are anonymous unless they chose to be named (``sightings_named_accounts``):
an anonymous report carries no reference to who made it (no ``where_sighted_refs``, no
``authors``), and is created by the producer identity, which publishes it. A named
account gets an Identity SDO of its own, with an id derived from its name, so every export
names it alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from iocfeed.lifecycle.sightings import Report, SightingKind
from iocfeed.stix.ids import derived_id
from iocfeed.stix.objects import StixObject
from iocfeed.stix.timestamps import stix_timestamp, to_milliseconds

FALSE_POSITIVE_EXPLANATION = "Reported as a false positive by a consumer of this feed."
IDENTITY_CREATED = "2024-01-01T00:00:00.000Z"


def account_identity_id(name: str) -> str:
    """The stable id of a named account's Identity."""
    return derived_id("identity", "sighting account", name)


def account_identity(name: str) -> StixObject:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": account_identity_id(name),
        "created": IDENTITY_CREATED,
        "modified": IDENTITY_CREATED,
        "name": name,
        "identity_class": "organization",
    }


def report_objects(
    reports: Iterable[Report],
    markings: Mapping[str, str],
    creator: str | None,
    named: frozenset[str],
) -> list[StixObject]:
    """The identities of named accounts, then one sighting or opinion per report.

    ``markings`` gives the marking id of each indicator's STIX id (a report is marked as
    the indicator it is about); reports on other indicators are left out.
    """
    identities: dict[str, StixObject] = {}
    objects: list[StixObject] = []
    for report in reports:
        marking = markings.get(report.stix_id)
        if marking is None:
            continue
        name = report.account_name if report.account_name in named else None
        if name is not None and name not in identities:
            identities[name] = account_identity(name)
        objects.append(_report_object(report, marking, creator, name))
    return [*identities.values(), *objects]


def _report_object(
    report: Report, marking: str, creator: str | None, name: str | None
) -> StixObject:
    created = stix_timestamp(to_milliseconds(report.created))
    sdo: dict[str, Any] = {
        "type": "sighting" if report.kind is SightingKind.HIT else "opinion",
        "spec_version": "2.1",
        "id": report.object_id,
    }
    if creator is not None:
        sdo["created_by_ref"] = creator
    sdo["created"] = created
    sdo["modified"] = created
    if report.kind is SightingKind.HIT:
        first = to_milliseconds(report.first_seen)
        sdo["first_seen"] = stix_timestamp(first)
        sdo["last_seen"] = stix_timestamp(max(first, to_milliseconds(report.last_seen)))
        sdo["count"] = report.count
        sdo["sighting_of_ref"] = report.stix_id
        if name is not None:
            sdo["where_sighted_refs"] = [account_identity_id(name)]
    else:
        sdo["explanation"] = FALSE_POSITIVE_EXPLANATION
        if name is not None:
            sdo["authors"] = [name]
        sdo["opinion"] = "strongly-disagree"
        sdo["object_refs"] = [report.stix_id]
    sdo["object_marking_refs"] = [marking]
    return sdo
