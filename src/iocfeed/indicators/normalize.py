"""Normalisation of indicators: one raw record from any source into an ``IndicatorInput``.

The per-field rules live in small modules and are re-exported here, so callers need one
import: :func:`canonicalize` (``canonical``), :func:`detect_type` (``detect``) and the
field parsers (``fields``). This module adds what joins them: the type names sources use,
record defaults, and the checks between fields.

Every rejection is an :class:`~iocfeed.errors.InvalidIndicator` whose message starts with
the field it is about (``value: sha256 must be 64 hex characters, got 63``).

Time order: ``valid_until`` must be later than ``first_seen`` (STIX requires
``valid_until`` after ``valid_from``), and a ``last_seen`` before ``first_seen`` is
rejected rather than swapped: the source has mixed up its columns or its clocks, and
guessing which would publish a sighting window nobody reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.attack import canonical_technique_id
from iocfeed.indicators.canonical import canonicalize
from iocfeed.indicators.detect import detect_type
from iocfeed.indicators.fields import (
    normalize_tags,
    parse_confidence,
    parse_timestamp,
    parse_tlp,
)
from iocfeed.indicators.model import (
    HASH_TYPES,
    Confidence,
    IndicatorInput,
    IocType,
    RawIndicator,
    Tlp,
)
from iocfeed.indicators.reasons import shown

__all__ = [
    "RecordDefaults",
    "canonicalize",
    "detect_type",
    "normalize_record",
    "normalize_tags",
    "parse_confidence",
    "parse_timestamp",
    "parse_tlp",
    "resolve_type",
]


@dataclass(frozen=True)
class RecordDefaults:
    """What a record gets for the fields its source left out (e.g. set per import)."""

    confidence: Confidence = Confidence.MEDIUM
    tags: tuple[str, ...] = ()
    source: str = ""
    tlp: Tlp | None = None


# Type names used by STIX (cyber-observable names), MISP attribute types, AlienVault OTX
# and common CSV headers. Keys are lower case with "_" and " " written as "-".
_TYPE_NAMES: dict[str, IocType] = {
    **{kind.value.replace("_", "-"): kind for kind in IocType},
    "ipv4-addr": IocType.IPV4,
    "ipv6-addr": IocType.IPV6,
    "domain-name": IocType.DOMAIN,
    "hostname": IocType.DOMAIN,
    "fqdn": IocType.DOMAIN,
    "uri": IocType.URL,
    "link": IocType.URL,
    "sha-1": IocType.SHA1,
    "sha-256": IocType.SHA256,
    "sha-512": IocType.SHA512,
    "filehash-md5": IocType.MD5,
    "filehash-sha1": IocType.SHA1,
    "filehash-sha256": IocType.SHA256,
    "filehash-sha512": IocType.SHA512,
    "email-addr": IocType.EMAIL,
    "email-src": IocType.EMAIL,
    "email-dst": IocType.EMAIL,
    "e-mail": IocType.EMAIL,
    "vulnerability": IocType.CVE,
    "technique": IocType.MITRE_ATTACK,
    "attack-pattern": IocType.MITRE_ATTACK,
}

# Names that say "an IP" or "a hash" without the family or algorithm: the value decides.
_FAMILY_NAMES: dict[str, tuple[str, frozenset[IocType]]] = {
    "ip": ("an IP address", frozenset({IocType.IPV4, IocType.IPV6})),
    "ip-dst": ("an IP address", frozenset({IocType.IPV4, IocType.IPV6})),
    "ip-src": ("an IP address", frozenset({IocType.IPV4, IocType.IPV6})),
    "ip-addr": ("an IP address", frozenset({IocType.IPV4, IocType.IPV6})),
    "ip-address": ("an IP address", frozenset({IocType.IPV4, IocType.IPV6})),
    "host": (
        "a host name or IP address",
        frozenset({IocType.DOMAIN, IocType.IPV4, IocType.IPV6}),
    ),
    "hash": ("a file hash", HASH_TYPES),
    "filehash": ("a file hash", HASH_TYPES),
    "file-hash": ("a file hash", HASH_TYPES),
}

_VALID_TYPES = ", ".join(kind.value for kind in IocType)


def resolve_type(type_name: str | None, value: str) -> IocType:
    """The IOC type a record's type name (or, when it has none, its value) stands for."""
    if type_name is None or not type_name.strip():
        detected = detect_type(value)
        if detected is None:
            raise InvalidIndicator(
                f"type: cannot tell the type of {shown(value.strip())}; give one of {_VALID_TYPES}"
            )
        return detected
    key = type_name.strip().lower().replace("_", "-").replace(" ", "-")
    known = _TYPE_NAMES.get(key)
    if known is not None:
        return known
    family = _FAMILY_NAMES.get(key)
    if family is not None:
        description, members = family
        detected = detect_type(value)
        if detected is None or detected not in members:
            raise InvalidIndicator(
                f"value: {shown(value.strip())} is not {description} (type {type_name!r})"
            )
        return detected
    raise InvalidIndicator(
        f"type: unknown indicator type {type_name!r}; valid types are {_VALID_TYPES}"
    )


_T = TypeVar("_T")


def _field(name: str, parse: Callable[[str], _T], raw: str) -> _T:
    """``parse(raw)``, with the field's name put in front of any rejection reason."""
    try:
        return parse(raw)
    except InvalidIndicator as error:
        raise InvalidIndicator(f"{name}: {error.message}") from None


def _optional(name: str, parse: Callable[[str], _T], raw: str | None) -> _T | None:
    if raw is None or not raw.strip():
        return None
    return _field(name, parse, raw)


def _free_text(name: str, raw: str | None) -> str:
    """A free-text field, stripped. NUL is refused: no text column (PostgreSQL's least of
    all) can store it, and no feed means it."""
    text = (raw or "").strip()
    if "\x00" in text:
        raise InvalidIndicator(f"{name}: contains a NUL character (\\x00)")
    return text


def normalize_record(raw: RawIndicator, defaults: RecordDefaults) -> IndicatorInput:
    """``raw`` validated and canonicalised, missing fields taken from ``defaults``."""
    ioc_type = resolve_type(raw.type, raw.value)
    value = _field("value", lambda text: canonicalize(ioc_type, text), raw.value)
    confidence = _optional("confidence", parse_confidence, raw.confidence)
    tlp = _optional("tlp", parse_tlp, raw.tlp)
    techniques = tuple(
        dict.fromkeys(
            _field("techniques", canonical_technique_id, technique)
            for technique in raw.techniques
            if technique.strip()
        )
    )
    first_seen = _optional("first_seen", parse_timestamp, raw.first_seen)
    last_seen = _optional("last_seen", parse_timestamp, raw.last_seen)
    valid_until = _optional("valid_until", parse_timestamp, raw.valid_until)
    _check_time_order(first_seen, last_seen, valid_until)
    source = _free_text("source", raw.source) or defaults.source.strip()
    return IndicatorInput(
        type=ioc_type,
        value=value,
        confidence=defaults.confidence if confidence is None else confidence,
        tags=normalize_tags((*raw.tags, *defaults.tags)),
        techniques=techniques,
        description=_free_text("description", raw.description),
        source=source,
        tlp=defaults.tlp if tlp is None else tlp,
        first_seen=first_seen,
        last_seen=last_seen,
        valid_until=valid_until,
        revoked=raw.revoked,
    )


def _check_time_order(
    first_seen: datetime | None, last_seen: datetime | None, valid_until: datetime | None
) -> None:
    if first_seen is None:
        return
    if last_seen is not None and last_seen < first_seen:
        raise InvalidIndicator(
            f"last_seen: {last_seen.isoformat()} is before first_seen {first_seen.isoformat()}"
        )
    if valid_until is not None and valid_until <= first_seen:
        raise InvalidIndicator(
            f"valid_until: {valid_until.isoformat()} is not later than first_seen "
            f"{first_seen.isoformat()}"
        )
