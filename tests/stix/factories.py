"""Indicator versions built directly, as the store would hand them to the STIX builder."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from iocfeed.indicators.model import Confidence, Indicator, IocType
from iocfeed.stix.ids import new_stix_id
from iocfeed.stix.objects import Producer

T0 = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)

# One canonical value of each IOC type.
SAMPLE_VALUES: dict[IocType, str] = {
    IocType.IPV4: "198.51.100.7",
    IocType.IPV6: "2001:db8::7",
    IocType.DOMAIN: "evil.example",
    IocType.URL: "http://evil.example/login?next=/x",
    IocType.MD5: hashlib.md5(b"evil").hexdigest(),
    IocType.SHA1: hashlib.sha1(b"evil").hexdigest(),
    IocType.SHA256: hashlib.sha256(b"evil").hexdigest(),
    IocType.SHA512: hashlib.sha512(b"evil").hexdigest(),
    IocType.EMAIL: "phish@evil.example",
    IocType.CVE: "CVE-2021-44228",
    IocType.MITRE_ATTACK: "T1566.001",
}

OBSERVABLE_TYPES: tuple[IocType, ...] = tuple(
    ioc_type for ioc_type in IocType if ioc_type not in {IocType.CVE, IocType.MITRE_ATTACK}
)

PRODUCER = Producer(identity_id="identity--3f1b7c2e-9a4d-4e8b-8f1a-2c5d6e7f8a9b")


def make_indicator(
    ioc_type: IocType = IocType.DOMAIN, value: str | None = None, **changes: Any
) -> Indicator:
    """A stored indicator version; any field can be overridden by keyword."""
    indicator = Indicator(
        stix_id=new_stix_id(ioc_type),
        type=ioc_type,
        value=SAMPLE_VALUES[ioc_type] if value is None else value,
        confidence=Confidence.HIGH,
        tags=("phishing", "apt28"),
        techniques=(),
        description="",
        source="unit-test",
        tlp=None,
        first_seen=T0,
        last_seen=T0 + timedelta(days=1),
        valid_until=None,
        revoked=False,
        created=T0,
        modified=T0 + timedelta(hours=1),
        date_added=T0 + timedelta(hours=1),
    )
    return dataclasses.replace(indicator, **changes)


def one_of_each(**changes: Any) -> list[Indicator]:
    """One indicator of every IOC type, newest ``modified`` first as exports order them."""
    return [
        make_indicator(ioc_type, modified=T0 + timedelta(hours=20 - index), **changes)
        for index, ioc_type in enumerate(IocType)
    ]


def bundle_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
