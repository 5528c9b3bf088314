"""``normalize_record``: type names, defaults, field parsing and errors that name the field."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType, RawIndicator, Tlp
from iocfeed.indicators.normalize import RecordDefaults, normalize_record, resolve_type

DEFAULTS = RecordDefaults()


def test_a_full_record_is_normalised() -> None:
    raw = RawIndicator(
        line=7,
        value="hxxps://Evil[.]com/Gate.php",
        type="url",
        confidence="85",
        tags=(" Phishing ", "c2"),
        techniques=("t1566.001", "T1566.001", " "),
        description="  landing page  ",
        source=" CERT-X ",
        tlp="TLP:AMBER+STRICT",
        first_seen="2024-03-14",
        last_seen="2024-03-15T10:00:00+02:00",
        valid_until="2024-06-01T00:00:00Z",
        revoked=True,
    )
    defaults = RecordDefaults(Confidence.LOW, ("feed-a", "phishing"), "default", Tlp.GREEN)
    assert normalize_record(raw, defaults) == IndicatorInput(
        type=IocType.URL,
        value="https://evil.com/Gate.php",
        confidence=Confidence.HIGH,
        tags=("phishing", "c2", "feed-a"),
        techniques=("T1566.001",),
        description="landing page",
        source="CERT-X",
        tlp=Tlp.AMBER_STRICT,
        first_seen=datetime(2024, 3, 14, tzinfo=UTC),
        last_seen=datetime(2024, 3, 15, 8, 0, tzinfo=UTC),
        valid_until=datetime(2024, 6, 1, tzinfo=UTC),
        revoked=True,
    )


def test_missing_fields_take_the_defaults() -> None:
    defaults = RecordDefaults(Confidence.HIGH, ("Feed-A",), " feed ", Tlp.RED)
    record = normalize_record(RawIndicator(line=1, value="evil.com", confidence=" "), defaults)
    assert record == IndicatorInput(
        type=IocType.DOMAIN,
        value="evil.com",
        confidence=Confidence.HIGH,
        tags=("feed-a",),
        source="feed",
        tlp=Tlp.RED,
    )


def test_record_defaults_are_the_documented_ones() -> None:
    assert RecordDefaults() == RecordDefaults(Confidence.MEDIUM, (), "", None)
    record = normalize_record(RawIndicator(line=1, value="1.2.3.4"), DEFAULTS)
    assert (record.confidence, record.tags, record.source, record.tlp) == (
        Confidence.MEDIUM,
        (),
        "",
        None,
    )


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        (None, "5.252.178[.]140", IocType.IPV4),
        ("", "evil[.]com", IocType.DOMAIN),
        ("  ", "CVE-2021-44228", IocType.CVE),
        ("IPv4", "1.2.3.4", IocType.IPV4),
        ("ipv4-addr", "1.2.3.4", IocType.IPV4),
        ("ipv6-addr", "::1", IocType.IPV6),
        ("ip", "1.2.3.4", IocType.IPV4),
        ("ip", "2001:db8::1", IocType.IPV6),
        ("ip-dst", "1.2.3.4", IocType.IPV4),
        ("ip-src", "2001:db8::1", IocType.IPV6),
        ("host", "evil.com", IocType.DOMAIN),
        ("host", "1.2.3.4", IocType.IPV4),
        ("hostname", "evil.com", IocType.DOMAIN),
        ("domain-name", "evil.com", IocType.DOMAIN),
        ("FQDN", "evil.com", IocType.DOMAIN),
        ("URI", "http://evil.com/", IocType.URL),
        ("sha-256", "a" * 64, IocType.SHA256),
        ("SHA_1", "a" * 40, IocType.SHA1),
        ("FileHash-SHA256", "a" * 64, IocType.SHA256),
        ("hash", "a" * 32, IocType.MD5),
        ("email-addr", "bob@evil.com", IocType.EMAIL),
        ("email_src", "bob@evil.com", IocType.EMAIL),
        ("vulnerability", "CVE-2021-44228", IocType.CVE),
        ("technique", "T1059", IocType.MITRE_ATTACK),
        ("attack-pattern", "T1059", IocType.MITRE_ATTACK),
        ("mitre_attack", "T1059", IocType.MITRE_ATTACK),
        ("Mitre ATTACK", "T1059", IocType.MITRE_ATTACK),
    ],
)
def test_type_names_and_detection(type_name: str | None, value: str, expected: IocType) -> None:
    assert resolve_type(type_name, value) is expected
    record = normalize_record(RawIndicator(line=1, value=value, type=type_name), DEFAULTS)
    assert record.type is expected


def _reason(raw: RawIndicator) -> str:
    with pytest.raises(InvalidIndicator) as caught:
        normalize_record(raw, DEFAULTS)
    return caught.value.message


GOOD = RawIndicator(line=3, value="evil.com", type="domain")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            replace(GOOD, type="registry-key"),
            "type: unknown indicator type 'registry-key'; valid types are ipv4, ipv6, domain",
        ),
        (replace(GOOD, type=None, value="hello"), "type: cannot tell the type of 'hello'"),
        (replace(GOOD, type=None, value=""), "type: cannot tell the type of ''"),
        (replace(GOOD, type="ip", value="evil.com"), "value: 'evil.com' is not an IP address"),
        (replace(GOOD, type="hash", value="abc"), "value: 'abc' is not a file hash"),
        (
            replace(GOOD, type="sha256", value="a" * 63),
            "value: sha256 must be 64 hex characters, got 63",
        ),
        (replace(GOOD, value="invoice.pdf"), "value: 'invoice.pdf' is not a valid domain"),
        (replace(GOOD, type="ipv4", value="256.1.1.1"), "value: '256.1.1.1' is not a valid IPv4"),
        (replace(GOOD, confidence="sure"), "confidence: confidence must be high, medium, low"),
        (replace(GOOD, tlp="blue"), "tlp: TLP must be one of"),
        (
            replace(GOOD, techniques=("T1059", "T9999")),
            "techniques: unknown ATT&CK technique T9999",
        ),
        (replace(GOOD, techniques=("phishing",)), "techniques: ATT&CK technique id must look like"),
        (replace(GOOD, first_seen="yesterday"), "first_seen: cannot read 'yesterday'"),
        (replace(GOOD, last_seen="14/03/2024"), "last_seen: cannot read '14/03/2024'"),
        (replace(GOOD, valid_until="soon"), "valid_until: cannot read 'soon'"),
        (
            replace(GOOD, first_seen="2024-03-14", last_seen="2024-03-13"),
            "last_seen: 2024-03-13T00:00:00+00:00 is before first_seen 2024-03-14T00:00:00+00:00",
        ),
        (
            replace(GOOD, first_seen="2024-03-14", valid_until="2024-03-14T00:00:00Z"),
            "valid_until: 2024-03-14T00:00:00+00:00 is not later than first_seen",
        ),
    ],
)
def test_errors_name_the_field(raw: RawIndicator, reason: str) -> None:
    assert _reason(raw).startswith(reason)


def test_time_order_is_checked_on_instants_not_text() -> None:
    raw = replace(GOOD, first_seen="2024-03-14T10:00:00+02:00", last_seen="2024-03-14T08:30:00Z")
    record = normalize_record(raw, DEFAULTS)
    assert record.last_seen is not None and record.first_seen is not None
    assert record.last_seen > record.first_seen


def test_time_order_needs_first_seen() -> None:
    raw = replace(GOOD, last_seen="2020-01-01", valid_until="2019-01-01")
    record = normalize_record(raw, DEFAULTS)
    assert record.valid_until == datetime(2019, 1, 1, tzinfo=UTC)


def test_blank_source_falls_back_and_description_defaults_empty() -> None:
    record = normalize_record(replace(GOOD, source="  "), RecordDefaults(source="feed"))
    assert (record.source, record.description) == ("feed", "")
