"""STIX 2.1 identifiers: random SDO ids, deterministic SCO ids, stable relationship ids.

Three kinds of id, three rules (STIX 2.1 §2.9):

* SDOs get a random UUIDv4 once, when the indicator is first stored; the store keeps it
  for ever, so every export of the same IOC carries the same id (``new_stix_id``).
* SCOs get a UUIDv5 in the OASIS namespace over the canonical JSON of their
  id-contributing properties, so every producer names the same observable alike
  (``sco_id``).
* Objects iocfeed derives at export time and never stores (relationships, observed-data)
  must still keep one id across exports, or a consumer sees a new object each time. A
  UUIDv5 would say "deterministic" to the validator, which warns on anything but UUIDv4
  outside SCOs, so ``derived_id`` takes SHA-256 of the object's defining parts and sets
  the version-4 and variant bits: stable, and shaped as the spec asks.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from iocfeed.indicators.model import IocType

# STIX 2.1 §2.9: the namespace of every SCO's UUIDv5; nothing else may use it.
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

# SPEC §1: the STIX object each IOC type becomes.
SDO_TYPE: dict[IocType, str] = {
    IocType.IPV4: "indicator",
    IocType.IPV6: "indicator",
    IocType.DOMAIN: "indicator",
    IocType.URL: "indicator",
    IocType.MD5: "indicator",
    IocType.SHA1: "indicator",
    IocType.SHA256: "indicator",
    IocType.SHA512: "indicator",
    IocType.EMAIL: "indicator",
    IocType.CVE: "vulnerability",
    IocType.MITRE_ATTACK: "attack-pattern",
}

# STIX 2.1 §2.9: when ``hashes`` contributes to an SCO id, one hash is used, chosen in
# this order of preference.
HASH_PREFERENCE: tuple[str, ...] = ("MD5", "SHA-1", "SHA-256", "SHA-512")


class _RandomUuids:
    """UUIDv4 strings from the OS's CSPRNG, drawn 4 KiB at a time.

    ``uuid.uuid4()`` makes one system call and one ``UUID`` object per id, which is most of
    the cost of storing a new indicator on a bulk import; this is the same randomness.
    """

    _BATCH = 256

    def __init__(self) -> None:
        self._pool: list[str] = []

    def next(self) -> str:
        if not self._pool:
            raw = os.urandom(16 * self._BATCH).hex()
            self._pool = [self._format(raw[i : i + 32]) for i in range(0, len(raw), 32)]
        return self._pool.pop()

    @staticmethod
    def _format(hex32: str) -> str:
        variant = "89ab"[int(hex32[16], 16) & 3]  # RFC 9562 variant bits 10xx
        return f"{hex32[:8]}-{hex32[8:12]}-4{hex32[13:16]}-{variant}{hex32[17:20]}-{hex32[20:]}"


_uuids = _RandomUuids()


def new_stix_id(ioc_type: IocType) -> str:
    """A fresh ``<sdo-type>--<uuid4>`` for an IOC stored for the first time (SPEC §1)."""
    return f"{SDO_TYPE[ioc_type]}--{_uuids.next()}"


def new_object_id(object_type: str) -> str:
    """A fresh ``<object_type>--<uuid4>`` for an object stored once, such as a sighting."""
    return f"{object_type}--{_uuids.next()}"


def sco_id(sco_type: str, value_properties: Mapping[str, Any]) -> str:
    """The deterministic id of an SCO (STIX 2.1 §2.9).

    ``value_properties`` holds the SCO's id-contributing properties that are present,
    e.g. ``{"value": "evil.example"}`` or ``{"hashes": {"SHA-256": "…"}}``. They are
    serialised as RFC 8785 canonical JSON (sorted keys, no whitespace, no escaping beyond
    what JSON requires) and hashed with UUIDv5 in ``SCO_NAMESPACE``.
    """
    contributing = dict(value_properties)
    hashes = contributing.get("hashes")
    if hashes is not None:
        contributing["hashes"] = _one_hash(hashes)
    # orjson writes RFC 8785 form for these values: compact, and only ``"``, ``\\`` and
    # control characters escaped, the short escapes where JSON has them. (RFC 8785 orders
    # keys by UTF-16 code unit, orjson by code point; STIX property names are ASCII.)
    canonical = orjson.dumps(contributing, option=orjson.OPT_SORT_KEYS).decode()
    return f"{sco_type}--{uuid.uuid5(SCO_NAMESPACE, canonical)}"


def derived_id(object_type: str, *parts: str) -> str:
    """A stable UUIDv4-shaped id for an object built from ``parts`` at export time.

    Used for relationships (``source_ref``, ``relationship_type``, ``target_ref``) and
    observed-data (the indicator id): the same parts give the same id in every export.
    """
    digest = hashlib.sha256("\x1f".join((object_type, *parts)).encode()).digest()
    return f"{object_type}--{uuid.UUID(bytes=digest[:16], version=4)}"


def relationship_id(source_ref: str, relationship_type: str, target_ref: str) -> str:
    """The id of the relationship ``source_ref --relationship_type--> target_ref``."""
    return derived_id("relationship", source_ref, relationship_type, target_ref)


def _one_hash(hashes: Mapping[str, str]) -> dict[str, str]:
    for algorithm in HASH_PREFERENCE:
        if algorithm in hashes:
            return {algorithm: hashes[algorithm]}
    if not hashes:
        raise ValueError("an SCO id from hashes needs at least one hash")
    algorithm = next(iter(hashes))
    return {algorithm: hashes[algorithm]}
