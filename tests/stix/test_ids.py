"""STIX ids: UUIDv4 SDO ids, UUIDv5 SCO ids as the stix2 library derives them, stable SRO ids."""

from __future__ import annotations

import uuid

import pytest
import stix2
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.indicators.model import IocType
from iocfeed.stix.ids import SCO_NAMESPACE, derived_id, new_stix_id, relationship_id, sco_id

from .factories import OBSERVABLE_TYPES

EXPECTED_PREFIX = {
    **dict.fromkeys(OBSERVABLE_TYPES, "indicator"),
    IocType.CVE: "vulnerability",
    IocType.MITRE_ATTACK: "attack-pattern",
}

VALUE_SCOS = {
    "ipv4-addr": stix2.IPv4Address,
    "ipv6-addr": stix2.IPv6Address,
    "domain-name": stix2.DomainName,
    "url": stix2.URL,
    "email-addr": stix2.EmailAddress,
}

HEX_LENGTH = {"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128}


def _uuid(stix_id: str) -> uuid.UUID:
    return uuid.UUID(stix_id.partition("--")[2])


@pytest.mark.parametrize("ioc_type", list(IocType))
def test_new_stix_id_is_a_random_uuid4_of_the_right_sdo(ioc_type: IocType) -> None:
    first, second = new_stix_id(ioc_type), new_stix_id(ioc_type)
    assert first.partition("--")[0] == EXPECTED_PREFIX[ioc_type]
    assert _uuid(first).version == 4
    assert first != second


def test_sco_namespace_is_the_one_stix_defines() -> None:
    assert str(SCO_NAMESPACE) == "00abedb4-aa42-466c-9c01-fed23315a9b7"


def test_sco_id_of_a_known_domain() -> None:
    # Computed by the stix2 library; pinned so a change of canonical form is caught.
    assert (
        sco_id("domain-name", {"value": "evil.example"})
        == "domain-name--69228563-c8d2-54ae-aeca-5f4134cb59aa"
    )


@given(sco_type=st.sampled_from(sorted(VALUE_SCOS)), value=st.text(min_size=1))
def test_sco_id_matches_the_stix2_library(sco_type: str, value: str) -> None:
    expected = VALUE_SCOS[sco_type](value=value).id
    assert sco_id(sco_type, {"value": value}) == expected
    assert _uuid(expected).version == 5


HASHES = st.fixed_dictionaries(
    {},
    optional={
        name: st.text("0123456789abcdef", min_size=length, max_size=length)
        for name, length in HEX_LENGTH.items()
    },
).filter(bool)


@given(hashes=HASHES)
def test_file_sco_id_uses_the_preferred_hash_as_stix2_does(hashes: dict[str, str]) -> None:
    assert sco_id("file", {"hashes": hashes}) == stix2.File(hashes=hashes).id


def test_file_sco_id_prefers_md5_over_later_hashes() -> None:
    md5, sha256 = "a" * 32, "b" * 64
    both = sco_id("file", {"hashes": {"SHA-256": sha256, "MD5": md5}})
    assert both == sco_id("file", {"hashes": {"MD5": md5}})
    assert both != sco_id("file", {"hashes": {"SHA-256": sha256}})


def test_file_sco_id_needs_a_hash() -> None:
    with pytest.raises(ValueError, match="at least one hash"):
        sco_id("file", {"hashes": {}})


def test_relationship_id_is_stable_and_shaped_as_uuid4() -> None:
    source, target = new_stix_id(IocType.DOMAIN), new_stix_id(IocType.MITRE_ATTACK)
    rel_id = relationship_id(source, "indicates", target)
    assert rel_id == relationship_id(source, "indicates", target)
    assert rel_id.startswith("relationship--")
    parsed = _uuid(rel_id)
    assert parsed.version == 4
    assert parsed.variant == uuid.RFC_4122


@given(parts=st.lists(st.text(), min_size=3, max_size=3, unique=True))
def test_relationship_id_depends_on_each_part_and_its_place(parts: list[str]) -> None:
    source, kind, target = parts
    ids = {
        relationship_id(source, kind, target),
        relationship_id(target, kind, source),
        relationship_id(source, kind + "x", target),
        relationship_id(source, kind, target + "x"),
    }
    assert len(ids) == 4


def test_derived_ids_of_different_object_types_differ() -> None:
    indicator_id = new_stix_id(IocType.URL)
    assert (
        derived_id("observed-data", indicator_id).partition("--")[2]
        != (derived_id("relationship", indicator_id).partition("--")[2])
    )


def test_new_stix_ids_are_unique_uuid4s_across_pool_refills() -> None:
    ids = [new_stix_id(IocType.SHA256) for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for stix_id in ids:
        parsed = uuid.UUID(stix_id.removeprefix("indicator--"))
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == stix_id.removeprefix("indicator--")
