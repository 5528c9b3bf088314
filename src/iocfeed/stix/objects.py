"""STIX 2.1 objects for stored indicators: the SDO of each IOC, its observables, relationships.

Objects are plain dicts in the order and shape the STIX 2.1 specification gives, ready
for ``orjson``; the ``stix2`` library judges them in the tests but is too slow to build
them on the read path. Everything here is a pure function of one stored ``Indicator``
version, the export options and the producer, so the same version exports identically
every time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeAlias

from iocfeed.indicators import attack
from iocfeed.indicators.model import TLP_BY_CONFIDENCE, Confidence, Indicator, IocType, Tlp
from iocfeed.stix.ids import SDO_TYPE, derived_id, relationship_id, sco_id
from iocfeed.stix.markings import TLP_VERSIONS, marking_id
from iocfeed.stix.patterns import pattern_for
from iocfeed.stix.sco_values import email_sco_value, url_sco_value
from iocfeed.stix.timestamps import MILLISECOND, stix_timestamp, to_milliseconds

StixObject: TypeAlias = dict[str, Any]

# SPEC §1: confidence → STIX 2.1 confidence (the spec's High/Medium/Low scale, §A).
confidence_score: dict[Confidence, int] = {
    Confidence.HIGH: 85,
    Confidence.MEDIUM: 50,
    Confidence.LOW: 15,
}

# How names and generated descriptions speak of each observable IOC type.
OBSERVABLE_NOUN: dict[IocType, str] = {
    IocType.IPV4: "IPv4 address",
    IocType.IPV6: "IPv6 address",
    IocType.DOMAIN: "domain",
    IocType.URL: "URL",
    IocType.EMAIL: "email address",
    IocType.MD5: "file with MD5",
    IocType.SHA1: "file with SHA-1",
    IocType.SHA256: "file with SHA-256",
    IocType.SHA512: "file with SHA-512",
}

# STIX 2.1 §6: the cyber-observable object each observable IOC type describes.
SCO_TYPE: dict[IocType, str] = {
    IocType.IPV4: "ipv4-addr",
    IocType.IPV6: "ipv6-addr",
    IocType.DOMAIN: "domain-name",
    IocType.URL: "url",
    IocType.EMAIL: "email-addr",
    IocType.MD5: "file",
    IocType.SHA1: "file",
    IocType.SHA256: "file",
    IocType.SHA512: "file",
}

# STIX 2.1 §10.7 hashing-algorithm-ov: the ``hashes`` key of each hash IOC type.
HASH_ALGORITHM: dict[IocType, str] = {
    IocType.MD5: "MD5",
    IocType.SHA1: "SHA-1",
    IocType.SHA256: "SHA-256",
    IocType.SHA512: "SHA-512",
}

KILL_CHAIN_NAME = "mitre-attack"
INDICATOR_TYPES: tuple[str, ...] = ("malicious-activity",)  # indicator-type-ov


@dataclass(frozen=True, slots=True)
class Producer:
    """The identity that publishes the feed (SPEC §2); its id is fixed in configuration."""

    identity_id: str
    name: str = "SOC Defenders"
    identity_class: str = "organization"
    created: str = "2024-01-01T00:00:00.000Z"

    def identity(self) -> StixObject:
        """The producer's Identity SDO (STIX 2.1 §4.5)."""
        return {
            "type": "identity",
            "spec_version": "2.1",
            "id": self.identity_id,
            "created": self.created,
            "modified": self.created,
            "name": self.name,
            "identity_class": self.identity_class,
        }


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """The export switches of SPEC §2 that change the objects themselves."""

    include_identity: bool = True
    include_markings: bool = True
    tlp: Tlp | None = None
    tlp_version: int = 2
    include_observables: bool = False
    include_sightings: bool = False

    def __post_init__(self) -> None:
        if self.tlp_version not in TLP_VERSIONS:
            raise ValueError(f"tlp_version must be 1 or 2, got {self.tlp_version}")


class Marked(Protocol):
    """What decides a version's TLP: an ``Indicator``, or a stored object's columns."""

    @property
    def tlp(self) -> Tlp | None: ...
    @property
    def confidence(self) -> Confidence: ...


def object_tlp(indicator: Marked, options: ExportOptions) -> Tlp:
    """The TLP an indicator's objects are marked with (SPEC §4).

    The operator's TLP if set, else ``options.tlp``, else the confidence default. The
    ``tlp`` option replaces only that default: it never lowers an operator's TLP, and
    when it is the more restrictive of the two it wins.
    """
    if indicator.tlp is None:
        return options.tlp if options.tlp is not None else TLP_BY_CONFIDENCE[indicator.confidence]
    if options.tlp is not None and options.tlp > indicator.tlp:
        return options.tlp
    return indicator.tlp


def sdo_for(indicator: Indicator, options: ExportOptions, producer: Producer) -> StixObject:
    """The SDO an indicator becomes (SPEC §1, §2): indicator, vulnerability or attack-pattern."""
    marking = marking_id(object_tlp(indicator, options), options.tlp_version)
    creator = producer.identity_id if options.include_identity else None
    return build_sdo(indicator, marking, creator)


def build_sdo(indicator: Indicator, marking: str | None, creator: str | None) -> StixObject:
    """``sdo_for`` with the marking id and ``created_by_ref`` already decided; without a
    marking the object has no ``object_marking_refs`` (the stored form, ``stix.stored``)."""
    sdo = _common(indicator, creator)
    if indicator.type is IocType.CVE:
        _vulnerability(sdo, indicator)
    elif indicator.type is IocType.MITRE_ATTACK:
        _attack_pattern(sdo, indicator)
    else:
        _indicator(sdo, indicator)
    if marking is not None:
        sdo["object_marking_refs"] = [marking]
    return sdo


def observables_for(
    indicator: Indicator, options: ExportOptions, producer: Producer
) -> list[StixObject]:
    """The observables behind an observable IOC (SPEC §2, ``include_observables``).

    Returns the SCO, an observed-data SDO that holds it and the indicator's ``based-on``
    relationship to that observed-data; ``[]`` for CVE and ATT&CK rows and for values the
    SCO's schema cannot hold. STIX 2.1 §4.7 defines ``based-on`` from an indicator to
    observed-data; pointing it straight at an SCO is "permitted, but not suggested" and
    draws a validator warning, so the SCO is reached through observed-data.
    """
    marking = marking_id(object_tlp(indicator, options), options.tlp_version)
    creator = producer.identity_id if options.include_identity else None
    return build_observables(indicator, marking, creator)


def build_observables(indicator: Indicator, marking: str, creator: str | None) -> list[StixObject]:
    """``observables_for`` with the marking id and ``created_by_ref`` already decided."""
    sco = _sco(indicator)
    if sco is None:
        return []
    sco["object_marking_refs"] = [marking]
    observed_id = derived_id("observed-data", indicator.stix_id)
    observed = _derived_common("observed-data", observed_id, indicator, creator)
    first = to_milliseconds(indicator.first_seen)
    last = max(first, to_milliseconds(indicator.last_seen))
    # A later last_seen must reach consumers as a new version of the observed-data.
    observed["modified"] = stix_timestamp(max(to_milliseconds(indicator.modified), last))
    observed["first_observed"] = stix_timestamp(first)
    observed["last_observed"] = stix_timestamp(last)
    observed["number_observed"] = 1
    observed["object_refs"] = [sco["id"]]
    observed["object_marking_refs"] = [marking]
    based_on = relationship(indicator, "based-on", observed_id, marking, creator)
    return [sco, observed, based_on]


def relationship(
    indicator: Indicator, relationship_type: str, target_ref: str, marking: str, creator: str | None
) -> StixObject:
    """The SRO ``indicator --relationship_type--> target_ref`` (STIX 2.1 §5.1).

    Its id comes from its three defining parts (``ids.relationship_id``) so it is the same
    in every export; ``created`` and ``modified`` follow the indicator's, so the
    relationship gets a new version when the indicator does and ``created`` never moves.
    """
    rel_id = relationship_id(indicator.stix_id, relationship_type, target_ref)
    sro = _derived_common("relationship", rel_id, indicator, creator)
    sro["relationship_type"] = relationship_type
    sro["source_ref"] = indicator.stix_id
    sro["target_ref"] = target_ref
    sro["object_marking_refs"] = [marking]
    return sro


def _common(indicator: Indicator, creator: str | None) -> StixObject:
    sdo: StixObject = {
        "type": SDO_TYPE[indicator.type],
        "spec_version": "2.1",
        "id": indicator.stix_id,
    }
    if creator is not None:
        sdo["created_by_ref"] = creator
    sdo["created"] = stix_timestamp(indicator.created)
    sdo["modified"] = stix_timestamp(indicator.modified)
    if indicator.revoked:
        sdo["revoked"] = True
    labels = [tag for tag in indicator.tags if tag.strip()]
    if labels:
        sdo["labels"] = labels
    score = indicator.score
    sdo["confidence"] = score if score is not None else confidence_score[indicator.confidence]
    return sdo


def _derived_common(
    object_type: str, object_id: str, indicator: Indicator, creator: str | None
) -> StixObject:
    sdo: StixObject = {"type": object_type, "spec_version": "2.1", "id": object_id}
    if creator is not None:
        sdo["created_by_ref"] = creator
    sdo["created"] = stix_timestamp(indicator.created)
    sdo["modified"] = stix_timestamp(indicator.modified)
    if indicator.revoked:
        sdo["revoked"] = True
    return sdo


def _indicator(sdo: StixObject, indicator: Indicator) -> None:
    """Fill an Indicator SDO (STIX 2.1 §4.7; SPEC §2)."""
    noun = OBSERVABLE_NOUN[indicator.type]
    sdo["name"] = f"Malicious {noun} {indicator.value}"
    sdo["description"] = indicator.description or (
        f"The {noun} {indicator.value} is associated with malicious activity "
        f"({indicator.confidence.value} confidence)."
    )
    sdo["indicator_types"] = list(INDICATOR_TYPES)
    sdo["pattern"] = pattern_for(indicator.type, indicator.value)
    sdo["pattern_type"] = "stix"
    sdo["pattern_version"] = "2.1"
    valid_from = indicator.first_seen
    sdo["valid_from"] = stix_timestamp(valid_from)
    expires = indicator.expires
    if expires is not None:
        sdo["valid_until"] = stix_timestamp(_valid_until(valid_from, expires))
    phases = _kill_chain_phases(indicator.techniques)
    if phases:
        sdo["kill_chain_phases"] = [
            {"kill_chain_name": KILL_CHAIN_NAME, "phase_name": phase} for phase in phases
        ]


def _valid_until(valid_from: datetime, valid_until: datetime) -> datetime:
    """``valid_until``, kept strictly after ``valid_from`` as STIX 2.1 §4.7 requires.

    A stored expiry at or before first_seen (both cut to milliseconds) means "already
    expired"; dropping it would make the indicator valid for ever, so it becomes the
    earliest legal value, one millisecond after ``valid_from``.
    """
    if valid_until - valid_from >= MILLISECOND:
        return valid_until  # still later once both are cut to milliseconds
    until, start = to_milliseconds(valid_until), to_milliseconds(valid_from)
    return until if until > start else start + MILLISECOND


def _vulnerability(sdo: StixObject, indicator: Indicator) -> None:
    """Fill a Vulnerability SDO (STIX 2.1 §4.19; SPEC §1)."""
    sdo["name"] = indicator.value
    sdo["description"] = indicator.description or f"Vulnerability {indicator.value}."
    sdo["external_references"] = [{"source_name": "cve", "external_id": indicator.value}]


def _attack_pattern(sdo: StixObject, indicator: Indicator) -> None:
    """Fill an Attack Pattern SDO (STIX 2.1 §4.1; SPEC §1).

    The ATT&CK reference carries no ``url``: a url without ``hashes`` draws a validator
    warning, and the external_id is what consumers match on.
    """
    technique = attack.technique(indicator.value)
    name = technique.name if technique is not None else indicator.value
    sdo["name"] = name
    sdo["description"] = indicator.description or (
        f"MITRE ATT&CK technique {indicator.value}: {name}."
    )
    sdo["external_references"] = [{"source_name": "mitre-attack", "external_id": indicator.value}]
    phases = _kill_chain_phases((indicator.value,))
    if phases:
        sdo["kill_chain_phases"] = [
            {"kill_chain_name": KILL_CHAIN_NAME, "phase_name": phase} for phase in phases
        ]


@functools.lru_cache(maxsize=4096)
def _kill_chain_phases(techniques: tuple[str, ...]) -> tuple[str, ...]:
    """The ATT&CK tactics of ``techniques``, in order, each once; unknown ids add none."""
    phases: dict[str, None] = {}
    for technique_id in techniques:
        technique = attack.technique(technique_id)
        if technique is not None:
            phases.update(dict.fromkeys(technique.tactics))
    return tuple(phases)


def _sco(indicator: Indicator) -> StixObject | None:
    """The SCO an observable IOC names (STIX 2.1 §6), without markings."""
    sco_type = SCO_TYPE.get(indicator.type)
    if sco_type is None:
        return None
    properties: StixObject
    algorithm = HASH_ALGORITHM.get(indicator.type)
    if algorithm is not None:
        properties = {"hashes": {algorithm: indicator.value}}
    elif indicator.type is IocType.URL:
        properties = {"value": url_sco_value(indicator.value)}
    elif indicator.type is IocType.EMAIL:
        email = email_sco_value(indicator.value)
        if email is None:
            return None
        properties = {"value": email}
    else:
        properties = {"value": indicator.value}
    return {
        "type": sco_type,
        "spec_version": "2.1",
        "id": sco_id(sco_type, properties),
        **properties,
    }
