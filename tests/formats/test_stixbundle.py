"""STIX 2.0 / 2.1 import, on Unit 42's published bundles and on bundles built here."""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import stix2
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.formats.stixbundle import TLP_MARKINGS, read_stix, records_from_objects
from iocfeed.indicators.model import RawIndicator, Rejected, Tlp
from tests.conftest import SAMPLES

UNIT42 = SAMPLES / "unit42"
GANDCRAB_TECHNIQUES = (
    "T1016", "T1036.005", "T1057", "T1071.001", "T1095", "T1112", "T1211", "T1485",
    "T1486", "T1490", "T1497.001", "T1497.003", "T1547.001", "T1562.001",
)  # fmt: skip


def read_sample(name: str) -> list[RawIndicator | Rejected]:
    with (UNIT42 / name).open(encoding="utf-8") as stream:
        return list(read_stix(stream))


def read_bundle(*objects: object) -> list[RawIndicator | Rejected]:
    bundle = {"type": "bundle", "id": "bundle--0d9f8b57-7d0b-4c4d-8c6c-1c1c1c1c1c1c"}
    return list(read_stix(io.StringIO(json.dumps({**bundle, "objects": list(objects)}))))


def indicator(pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        **extra,
    }


def test_asyncrat_bundle_gives_its_28_indicators() -> None:
    records = read_sample("2024-03-14-AsyncRAT-and-XWorm.json")
    assert len(records) == 28
    assert all(isinstance(record, RawIndicator) for record in records)
    types = [record.type for record in records if isinstance(record, RawIndicator)]
    assert Counter(types) == {"sha256": 14, "url": 13, "domain": 1}
    first = records[0]
    assert first == RawIndicator(
        line=2,  # the report is item 1
        value="3cb36ce8561f55afe94f6d715ce84bf29e88e80e09390a2879d0183bee852a50",
        type="sha256",
        description="aktuelle Rechnung.zip: This is a description of the file.",
        first_seen="2024-03-14T13:01:22.001Z",
    )
    values = {record.value for record in records if isinstance(record, RawIndicator)}
    assert "sunshine-bizrate-inc-software.trycloudflare.com" in values
    assert "tcp://91.134.150.150:7000/" in values


def test_stix20_indicator_type_labels_are_not_tags() -> None:
    records = read_sample("2024-03-14-AsyncRAT-and-XWorm.json")
    assert all(record.tags == () for record in records if isinstance(record, RawIndicator))


def test_cybersquatting_bundle_gives_26_urls_and_13_domains() -> None:
    records = read_sample("2024-10-17-cybersquatting-domains-from-new-TLDs.json")
    raw = [record for record in records if isinstance(record, RawIndicator)]
    assert len(records) == len(raw) == 39
    assert [record.type for record in raw].count("url") == 26
    assert [record.value for record in raw if record.type == "domain"][:2] == [
        "betano.diy",
        "betano.food",
    ]
    url = raw[0]
    assert url.value == "https://choto.click/vx/38sa4zcebspir7lt"
    # The name only repeats the value, so the description is the description alone.
    assert url.description == "Redirection URL leading to online gambling site."


def test_gandcrab_hashes_inherit_the_campaigns_techniques() -> None:
    records = read_sample("GandCrab.json")
    assert not [record for record in records if isinstance(record, Rejected)]
    hashes = [
        record for record in records if isinstance(record, RawIndicator) and record.type == "sha256"
    ]
    techniques = [
        record
        for record in records
        if isinstance(record, RawIndicator) and record.type == "mitre_attack"
    ]
    assert len(hashes) == 50
    assert len(techniques) == 14
    assert all(record.techniques == GANDCRAB_TECHNIQUES for record in hashes)
    assert sorted(record.value for record in techniques) == list(GANDCRAB_TECHNIQUES)
    registry = next(record for record in techniques if record.value == "T1112")
    assert registry.description == "T1112: Modify Registry"
    assert hashes[0].value == "2d73925d4b6efd9821dd70e6e4bb730188b6f2d3018b79399975d4cbe802af38"
    assert hashes[0].description is None  # its name is the hash itself


def test_unsupported_patterns_are_rejected_by_item_number_and_the_rest_is_read() -> None:
    records = read_bundle(
        {"type": "identity", "id": "identity--1", "name": "Example CERT"},
        indicator("[process:name = 'evil.exe']"),
        indicator("[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '198.51.100.2']"),
        indicator("[domain-name:value = 'evil.example']"),
        indicator("rule x { condition: true }", pattern_type="yara"),
        {k: v for k, v in indicator("").items() if k != "pattern"},
        "not an object",
    )
    assert [type(record).__name__ for record in records] == [
        "Rejected", "Rejected", "RawIndicator", "Rejected", "Rejected", "Rejected",
    ]  # fmt: skip
    process, either, _, yara, bare, junk = records
    assert isinstance(process, Rejected)
    assert process.line == 2
    assert "[process:name = 'evil.exe']" in process.reason
    assert isinstance(either, Rejected)
    assert "OR" in either.reason
    assert isinstance(yara, Rejected)
    assert "yara" in yara.reason
    assert isinstance(bare, Rejected)
    assert bare.reason == "indicator without a pattern"
    assert isinstance(junk, Rejected)
    assert junk.line == 7


def test_stix21_fields_are_carried_as_text() -> None:
    (record,) = read_bundle(
        {"type": "identity", "spec_version": "2.1", "id": "identity--a", "name": "Example CERT",
         "identity_class": "organization"},
        indicator(
            "[email-addr:value = 'o\\'brien@evil.example']",
            name="Phishing sender",
            description="Sent the invoice lure.",
            confidence=85,
            labels=["malicious-activity", "emotet"],
            valid_until="2027-01-01T00:00:00Z",
            revoked=True,
            created_by_ref="identity--a",
            kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
        ),
    )  # fmt: skip
    assert record == RawIndicator(
        line=2,
        value="o'brien@evil.example",
        type="email",
        confidence="85",
        tags=("malicious-activity", "emotet"),  # 2.1 labels are free tags
        description="Phishing sender: Sent the invoice lure.",
        source="Example CERT",
        first_seen="2026-01-01T00:00:00Z",
        valid_until="2027-01-01T00:00:00Z",
        revoked=True,
    )


def test_tlp_comes_from_official_and_bundled_marking_definitions() -> None:
    tlp2_red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    tlp1_white = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
    custom = "marking-definition--4e1a4c6e-31e4-4a2c-9fb8-000000000001"
    unknown = "marking-definition--4e1a4c6e-31e4-4a2c-9fb8-000000000002"
    records = read_bundle(
        {"type": "marking-definition", "id": custom, "definition_type": "tlp",
         "definition": {"tlp": "amber"}, "created": "2017-01-20T00:00:00.000Z"},
        indicator("[domain-name:value = 'a.example']", object_marking_refs=[tlp1_white]),
        indicator("[domain-name:value = 'b.example']", object_marking_refs=[tlp1_white, tlp2_red]),
        indicator("[domain-name:value = 'c.example']", object_marking_refs=[custom]),
        indicator("[domain-name:value = 'd.example']", object_marking_refs=[unknown]),
    )  # fmt: skip
    assert [record.tlp for record in records if isinstance(record, RawIndicator)] == [
        "clear", "red", "amber", None,
    ]  # fmt: skip


def test_tlp_table_holds_the_nine_official_ids() -> None:
    assert len(TLP_MARKINGS) == 9
    assert TLP_MARKINGS[stix2.TLP_GREEN.id] == Tlp.GREEN  # TLP 1.0, as the stix2 library has it
    assert TLP_MARKINGS[stix2.TLP_AMBER.id] == Tlp.AMBER
    assert TLP_MARKINGS[stix2.TLP_WHITE.id] == Tlp.CLEAR
    assert TLP_MARKINGS[stix2.TLP_RED.id] == Tlp.RED


def test_a_bundle_made_by_the_stix2_library_is_read() -> None:
    pattern_for = stix2.AttackPattern(
        name="Phishing: Spearphishing Attachment",
        external_references=[{"source_name": "mitre-attack", "external_id": "T1566.001"}],
    )
    vulnerability = stix2.Vulnerability(
        name="CVE-2021-44228",
        description="Log4Shell.",
        external_references=[{"source_name": "cve", "external_id": "CVE-2021-44228"}],
    )
    ioc = stix2.Indicator(
        pattern="[url:value = 'http://evil.example/gate.php']",
        pattern_type="stix",
        object_marking_refs=[stix2.TLP_GREEN],
        confidence=50,
    )
    links = stix2.Relationship(ioc, "indicates", pattern_for)
    bundle = stix2.Bundle(ioc, pattern_for, vulnerability, links, stix2.TLP_GREEN)
    records = list(read_stix(io.StringIO(bundle.serialize())))
    assert [
        (record.type, record.value) for record in records if isinstance(record, RawIndicator)
    ] == [
        ("url", "http://evil.example/gate.php"),
        ("mitre_attack", "T1566.001"),
        ("cve", "CVE-2021-44228"),
    ]
    url, technique, cve = records
    assert isinstance(url, RawIndicator)
    assert url.techniques == ("T1566.001",)
    assert url.tlp == "green"
    assert url.confidence == "50"
    assert isinstance(cve, RawIndicator)
    assert cve.description == "Log4Shell."
    assert isinstance(technique, RawIndicator)
    assert technique.description == "Phishing: Spearphishing Attachment"


def test_objects_without_ioc_ids_are_skipped_silently() -> None:
    records = list(
        records_from_objects(
            [
                {"type": "vulnerability", "id": "vulnerability--1", "name": "Vendor bug 17"},
                {"type": "attack-pattern", "id": "attack-pattern--1", "name": "CAPEC-66",
                 "external_references": [{"source_name": "capec", "external_id": "CAPEC-66"}]},
                {"type": "report", "id": "report--1", "name": "Weekly"},
                {"type": "course-of-action", "id": "course-of-action--1", "name": "Patch"},
                {"type": "x-custom-thing", "id": "x-custom-thing--1"},
            ]
        )
    )  # fmt: skip
    assert records == []


def test_records_from_objects_takes_a_generator_of_objects() -> None:
    objects = (indicator(f"[ipv4-addr:value = '203.0.113.{n}']") for n in range(1, 4))
    values = [
        record.value for record in records_from_objects(objects) if isinstance(record, RawIndicator)
    ]
    assert values == ["203.0.113.1", "203.0.113.2", "203.0.113.3"]


def test_documents_that_are_not_bundles() -> None:
    (broken,) = read_stix(io.StringIO('{\n  "type": "bundle",\n  "objects": [\n}'))
    assert isinstance(broken, Rejected)
    assert broken.line == 4
    assert broken.reason.startswith("not valid JSON")
    (number,) = read_stix(io.StringIO("42"))
    assert isinstance(number, Rejected)
    assert number.reason == "expected a STIX bundle, got a number"
    envelope = {"more": False, "objects": [indicator("[domain-name:value = 'taxii.example']")]}
    (record,) = read_stix(io.StringIO(json.dumps(envelope)))
    assert isinstance(record, RawIndicator)
    assert record.value == "taxii.example"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["type", "id", "pattern", "pattern_type", "labels", "object_marking_refs", "created_by_ref",
     "external_references", "relationship_type", "source_ref", "target_ref", "confidence",
     "definition", "extensions", "name", "spec_version", "revoked"]
)  # fmt: skip
OBJECT_TYPES = st.sampled_from(
    ["indicator", "vulnerability", "attack-pattern", "relationship", "marking-definition",
     "identity"]
)  # fmt: skip
STIX_LIKE = st.fixed_dictionaries({"type": OBJECT_TYPES}, optional={"id": st.text(max_size=8)})
MALFORMED = st.builds(
    lambda base, extra: {**base, **extra}, STIX_LIKE, st.dictionaries(FIELDS, JSON)
)


@given(st.lists(MALFORMED | JSON, max_size=8))
def test_malformed_objects_are_rejected_or_skipped_never_raised(objects: list[Any]) -> None:
    for record in records_from_objects(objects):
        assert isinstance(record, RawIndicator | Rejected)
