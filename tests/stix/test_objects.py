"""STIX objects of one indicator: SDO per IOC type, TLP choice, observables."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import stix2
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.indicators.model import Confidence, IocType, Tlp
from iocfeed.stix.ids import sco_id
from iocfeed.stix.markings import marking_id
from iocfeed.stix.objects import (
    ExportOptions,
    Producer,
    confidence_score,
    object_tlp,
    observables_for,
    sdo_for,
)
from iocfeed.stix.patterns import pattern_for

from .factories import OBSERVABLE_TYPES, PRODUCER, SAMPLE_VALUES, T0, bundle_of, make_indicator
from .judges import assert_stix_clean

MILLISECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DEFAULTS = ExportOptions()

# What stix2 builds for the same observable, to compare SCO ids with.
LIBRARY_SCO: dict[IocType, Any] = {
    IocType.IPV4: lambda v: stix2.IPv4Address(value=v),
    IocType.IPV6: lambda v: stix2.IPv6Address(value=v),
    IocType.DOMAIN: lambda v: stix2.DomainName(value=v),
    IocType.URL: lambda v: stix2.URL(value=v),
    IocType.EMAIL: lambda v: stix2.EmailAddress(value=v),
    IocType.MD5: lambda v: stix2.File(hashes={"MD5": v}),
    IocType.SHA1: lambda v: stix2.File(hashes={"SHA-1": v}),
    IocType.SHA256: lambda v: stix2.File(hashes={"SHA-256": v}),
    IocType.SHA512: lambda v: stix2.File(hashes={"SHA-512": v}),
}


def test_confidence_scores_are_the_stix_scale() -> None:
    assert confidence_score == {Confidence.HIGH: 85, Confidence.MEDIUM: 50, Confidence.LOW: 15}


# ---- TLP (SPEC §4) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "override", "confidence", "expected"),
    [
        (None, None, Confidence.HIGH, Tlp.GREEN),
        (None, None, Confidence.MEDIUM, Tlp.AMBER),
        (None, None, Confidence.LOW, Tlp.CLEAR),
        (None, Tlp.RED, Confidence.LOW, Tlp.RED),
        (None, Tlp.CLEAR, Confidence.MEDIUM, Tlp.CLEAR),  # replaces the default, even lower
        (Tlp.RED, Tlp.GREEN, Confidence.HIGH, Tlp.RED),  # never lowers the operator's
        (Tlp.AMBER, Tlp.CLEAR, Confidence.LOW, Tlp.AMBER),
        (Tlp.GREEN, Tlp.AMBER_STRICT, Confidence.HIGH, Tlp.AMBER_STRICT),  # higher wins
        (Tlp.CLEAR, None, Confidence.MEDIUM, Tlp.CLEAR),  # operator beats the default
    ],
)
def test_object_tlp(
    operator: Tlp | None, override: Tlp | None, confidence: Confidence, expected: Tlp
) -> None:
    indicator = make_indicator(tlp=operator, confidence=confidence)
    assert object_tlp(indicator, ExportOptions(tlp=override)) == expected


@given(
    operator=st.none() | st.sampled_from(Tlp),
    override=st.none() | st.sampled_from(Tlp),
    confidence=st.sampled_from(Confidence),
)
def test_tlp_override_never_lowers_an_operator_tlp(
    operator: Tlp | None, override: Tlp | None, confidence: Confidence
) -> None:
    indicator = make_indicator(tlp=operator, confidence=confidence)
    tlp = object_tlp(indicator, ExportOptions(tlp=override))
    if operator is not None:
        assert tlp >= operator
        assert tlp in {operator, override}
    elif override is not None:
        assert tlp == override
    else:
        assert tlp == indicator.effective_tlp


def test_export_options_refuse_unknown_tlp_versions() -> None:
    with pytest.raises(ValueError, match="tlp_version"):
        ExportOptions(tlp_version=3)


# ---- SDOs ------------------------------------------------------------------------------


@pytest.mark.parametrize("ioc_type", OBSERVABLE_TYPES)
def test_indicator_sdo(ioc_type: IocType) -> None:
    indicator = make_indicator(ioc_type, techniques=("T1566.001", "T1059"))
    sdo = sdo_for(indicator, DEFAULTS, PRODUCER)
    assert sdo["type"] == "indicator"
    assert sdo["spec_version"] == "2.1"
    assert sdo["id"] == indicator.stix_id
    assert sdo["created_by_ref"] == PRODUCER.identity_id
    assert sdo["created"] == "2026-05-01T12:00:00.123Z"
    assert sdo["modified"] == "2026-05-01T13:00:00.123Z"
    assert sdo["valid_from"] == "2026-05-01T12:00:00.123Z"
    assert sdo["pattern"] == pattern_for(ioc_type, SAMPLE_VALUES[ioc_type])
    assert (sdo["pattern_type"], sdo["pattern_version"]) == ("stix", "2.1")
    assert sdo["indicator_types"] == ["malicious-activity"]
    assert sdo["confidence"] == 85
    assert sdo["labels"] == ["phishing", "apt28"]
    assert sdo["name"].startswith("Malicious ")
    assert sdo["name"].endswith(SAMPLE_VALUES[ioc_type])
    assert SAMPLE_VALUES[ioc_type] in sdo["description"]
    assert sdo["kill_chain_phases"] == [
        {"kill_chain_name": "mitre-attack", "phase_name": "initial-access"},
        {"kill_chain_name": "mitre-attack", "phase_name": "execution"},
    ]
    assert sdo["object_marking_refs"] == [marking_id(Tlp.GREEN)]
    assert {"revoked", "valid_until", "external_references"}.isdisjoint(sdo)
    assert stix2.parse(sdo, allow_custom=False).pattern == sdo["pattern"]


def test_indicator_name_reads_well() -> None:
    sdo = sdo_for(make_indicator(IocType.DOMAIN), DEFAULTS, PRODUCER)
    assert sdo["name"] == "Malicious domain evil.example"


def test_a_stored_description_is_used() -> None:
    sdo = sdo_for(make_indicator(description="Seen in the May campaign."), DEFAULTS, PRODUCER)
    assert sdo["description"] == "Seen in the May campaign."


def test_empty_tags_leave_labels_out() -> None:
    sdo = sdo_for(make_indicator(tags=()), DEFAULTS, PRODUCER)
    assert "labels" not in sdo


def test_kill_chain_phases_are_deduplicated_and_unknown_techniques_ignored() -> None:
    # T1566.001 and T1566.002 are both initial-access; T9999 is no technique.
    indicator = make_indicator(techniques=("T1566.001", "T9999", "T1566.002"))
    sdo = sdo_for(indicator, DEFAULTS, PRODUCER)
    assert sdo["kill_chain_phases"] == [
        {"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}
    ]


def test_no_techniques_no_kill_chain_phases() -> None:
    assert "kill_chain_phases" not in sdo_for(make_indicator(), DEFAULTS, PRODUCER)


def test_without_identity_there_is_no_created_by_ref() -> None:
    sdo = sdo_for(make_indicator(), ExportOptions(include_identity=False), PRODUCER)
    assert "created_by_ref" not in sdo


def test_revoked_version() -> None:
    sdo = sdo_for(make_indicator(revoked=True), DEFAULTS, PRODUCER)
    assert sdo["revoked"] is True
    assert_stix_clean(bundle_of([sdo]))


@pytest.mark.parametrize(
    ("valid_until", "expected"),
    [
        (T0 + timedelta(days=30), "2026-05-31T12:00:00.123Z"),
        (T0 + timedelta(microseconds=500), "2026-05-01T12:00:00.124Z"),  # same millisecond
        (T0, "2026-05-01T12:00:00.124Z"),
        (T0 - timedelta(days=1), "2026-05-01T12:00:00.124Z"),
    ],
)
def test_valid_until_is_always_after_valid_from(valid_until: Any, expected: str) -> None:
    sdo = sdo_for(make_indicator(valid_until=valid_until), DEFAULTS, PRODUCER)
    assert sdo["valid_until"] == expected
    assert sdo["valid_until"] > sdo["valid_from"]
    assert_stix_clean(bundle_of([sdo]))


def test_vulnerability_sdo() -> None:
    indicator = make_indicator(IocType.CVE, techniques=("T1190",))
    sdo = sdo_for(indicator, DEFAULTS, PRODUCER)
    assert sdo["type"] == "vulnerability"
    assert sdo["id"] == indicator.stix_id
    assert sdo["name"] == "CVE-2021-44228"
    assert sdo["external_references"] == [{"source_name": "cve", "external_id": "CVE-2021-44228"}]
    assert sdo["description"]
    assert {"pattern", "kill_chain_phases", "valid_from"}.isdisjoint(sdo)
    assert_stix_clean(bundle_of([sdo]))


def test_attack_pattern_sdo() -> None:
    indicator = make_indicator(IocType.MITRE_ATTACK, value="T1566.001")
    sdo = sdo_for(indicator, DEFAULTS, PRODUCER)
    assert sdo["type"] == "attack-pattern"
    assert sdo["name"] == "Spearphishing Attachment"
    assert sdo["external_references"] == [
        {"source_name": "mitre-attack", "external_id": "T1566.001"}
    ]
    assert sdo["kill_chain_phases"] == [
        {"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}
    ]
    assert "T1566.001" in sdo["description"]
    assert_stix_clean(bundle_of([sdo]))


def test_attack_pattern_of_a_technique_in_several_tactics() -> None:
    sdo = sdo_for(make_indicator(IocType.MITRE_ATTACK, value="T1078"), DEFAULTS, PRODUCER)
    phases = [phase["phase_name"] for phase in sdo["kill_chain_phases"]]
    assert phases == ["initial-access", "persistence", "privilege-escalation", "defense-evasion"]


@pytest.mark.parametrize(
    "value",
    ["http://evil.example/o'brien\\x", "http://xn--bcher-kva.example/ä?q='", "http://e.example/'"],
)
def test_quotes_backslashes_and_idn_survive_into_a_clean_indicator(value: str) -> None:
    sdo = sdo_for(make_indicator(IocType.URL, value=value), DEFAULTS, PRODUCER)
    assert_stix_clean(bundle_of([sdo]))
    parsed = stix2.parse(sdo, allow_custom=False)
    assert parsed.pattern == pattern_for(IocType.URL, value)


def test_every_timestamp_has_milliseconds() -> None:
    indicator = make_indicator(valid_until=T0 + timedelta(days=1))
    objects = [
        sdo_for(indicator, DEFAULTS, PRODUCER),
        *observables_for(indicator, DEFAULTS, PRODUCER),
    ]
    for obj in objects:
        for key in ("created", "modified", "valid_from", "valid_until", "first_observed"):
            if key in obj:
                assert MILLISECONDS.fullmatch(obj[key]), (obj["type"], key)


# ---- Observables -----------------------------------------------------------------------


@pytest.mark.parametrize("ioc_type", OBSERVABLE_TYPES)
def test_observables_of_each_type(ioc_type: IocType) -> None:
    indicator = make_indicator(ioc_type)
    sco, observed, based_on = observables_for(indicator, DEFAULTS, PRODUCER)
    library = json.loads(LIBRARY_SCO[ioc_type](SAMPLE_VALUES[ioc_type]).serialize())
    assert {key: sco[key] for key in library} == library
    assert sco["object_marking_refs"] == [marking_id(Tlp.GREEN)]
    assert observed["type"] == "observed-data"
    assert observed["object_refs"] == [sco["id"]]
    assert observed["first_observed"] == "2026-05-01T12:00:00.123Z"
    assert observed["last_observed"] == "2026-05-02T12:00:00.123Z"
    assert observed["modified"] == "2026-05-02T12:00:00.123Z"  # last_seen is its news
    assert based_on["relationship_type"] == "based-on"
    assert (based_on["source_ref"], based_on["target_ref"]) == (indicator.stix_id, observed["id"])
    assert_stix_clean(bundle_of([sdo_for(indicator, DEFAULTS, PRODUCER), sco, observed, based_on]))


def test_observable_ids_are_stable_across_exports() -> None:
    indicator = make_indicator(IocType.IPV4)
    first = [obj["id"] for obj in observables_for(indicator, DEFAULTS, PRODUCER)]
    later = make_indicator(IocType.IPV4, stix_id=indicator.stix_id, modified=T0 + timedelta(days=9))
    assert [obj["id"] for obj in observables_for(later, DEFAULTS, PRODUCER)] == first
    assert first[0] == sco_id("ipv4-addr", {"value": SAMPLE_VALUES[IocType.IPV4]})


def test_last_seen_before_first_seen_is_clamped() -> None:
    indicator = make_indicator(last_seen=T0 - timedelta(days=2))
    _, observed, _ = observables_for(indicator, DEFAULTS, PRODUCER)
    assert observed["last_observed"] == observed["first_observed"]


def test_revoked_observables_are_revoked_too() -> None:
    sco, observed, based_on = observables_for(make_indicator(revoked=True), DEFAULTS, PRODUCER)
    assert "revoked" not in sco  # SCOs are not versioned
    assert observed["revoked"] is True
    assert based_on["revoked"] is True


def test_url_sco_carries_the_uri_form_and_the_pattern_the_stored_value() -> None:
    indicator = make_indicator(IocType.URL, value="http://evil.example/a b")
    sdo = sdo_for(indicator, DEFAULTS, PRODUCER)
    sco, *_ = observables_for(indicator, DEFAULTS, PRODUCER)
    assert sco["value"] == "http://evil.example/a%20b"
    assert sdo["pattern"] == "[url:value = 'http://evil.example/a b']"


def test_an_address_no_sco_can_hold_has_no_observables() -> None:
    indicator = make_indicator(IocType.EMAIL, value="o'brien@evil.example")
    assert observables_for(indicator, DEFAULTS, PRODUCER) == []


@pytest.mark.parametrize("ioc_type", [IocType.CVE, IocType.MITRE_ATTACK])
def test_cve_and_attack_rows_have_no_observables(ioc_type: IocType) -> None:
    assert observables_for(make_indicator(ioc_type), DEFAULTS, PRODUCER) == []


def test_based_on_straight_to_an_sco_would_draw_a_warning() -> None:
    # Why observables are reached through observed-data (see objects.observables_for).
    indicator = make_indicator()
    sdo = sdo_for(indicator, DEFAULTS, PRODUCER)
    sco, _, based_on = observables_for(indicator, DEFAULTS, PRODUCER)
    direct = {**based_on, "target_ref": sco["id"]}
    with pytest.raises(AssertionError):
        assert_stix_clean(bundle_of([sdo, sco, direct]))


# ---- Producer --------------------------------------------------------------------------


def test_producer_identity() -> None:
    producer = Producer(identity_id="identity--7b0e6a55-2f7e-4f54-9d1e-0c7a4d8f2b11")
    identity = producer.identity()
    assert identity["name"] == "SOC Defenders"
    assert identity["identity_class"] == "organization"
    assert identity["created"] == identity["modified"]
    assert_stix_clean(bundle_of([identity]))


def test_built_objects_are_not_shared_between_callers() -> None:
    """Objects are built once per version; each caller still gets its own to change."""
    from iocfeed.stix.objects import build_sdo

    indicator = make_indicator(IocType.DOMAIN, "cached.example")
    first = build_sdo(indicator, "marking-definition--x", None)
    first["name"] = "changed by a caller"
    assert build_sdo(indicator, "marking-definition--x", None)["name"] != "changed by a caller"


def test_versions_with_one_id_and_time_but_other_values_build_their_own_objects() -> None:
    """Two stores may hold a posted id at the same instant; their objects must not mix."""
    from dataclasses import replace

    from iocfeed.stix.objects import build_sdo

    first = make_indicator(IocType.DOMAIN, "first.example")
    second = replace(first, value="second.example")
    built = [build_sdo(i, "marking-definition--x", None)["pattern"] for i in (first, second)]
    assert built == [
        "[domain-name:value = 'first.example']",
        "[domain-name:value = 'second.example']",
    ]
