"""``detect_type`` on plain and defanged values of every type, and on values of none."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.indicators.canonical import HASH_LENGTHS
from iocfeed.indicators.model import IocType
from iocfeed.indicators.normalize import detect_type

DETECTED = [
    ("192.0.2.1", IocType.IPV4),
    ("5.252.178[.]140", IocType.IPV4),
    ("10.0.0.0/8", IocType.IPV4),
    ("256.1.1.1", IocType.IPV4),  # shaped like one: canonicalising explains what is wrong
    ("2001:db8::1", IocType.IPV6),
    ("[2001:db8::1]", IocType.IPV6),
    ("2001:db8::/32", IocType.IPV6),
    ("2001[:]db8[:][:]1", IocType.IPV6),
    ("::1", IocType.IPV6),
    ("evil.com", IocType.DOMAIN),
    ("nododru[.]ru", IocType.DOMAIN),
    ("evil[dot]com", IocType.DOMAIN),
    ("evil . com", IocType.DOMAIN),
    ("Bücher.de", IocType.DOMAIN),
    ("xn--bcher-kva.de", IocType.DOMAIN),
    ("invoice.zip", IocType.DOMAIN),  # a real TLD: a value on its own is an indicator
    ("http://evil.com/a", IocType.URL),
    ("hxxps://evil[.]com/a", IocType.URL),
    ("hxxp[:]//1.2.3[.]4:8080/", IocType.URL),
    ("LDAP://evil.com:1389/x", IocType.URL),
    ("evil.com/gate.php", IocType.URL),
    ("evil[.]com/gate.php", IocType.URL),
    ("1.2.3.4/admin", IocType.URL),
    ("bob@evil.com", IocType.EMAIL),
    ("bob[at]evil[.]com", IocType.EMAIL),
    ("bob[@]evil[.]com", IocType.EMAIL),
    ("mailto:bob@evil.com", IocType.EMAIL),
    ("d41d8cd98f00b204e9800998ecf8427e", IocType.MD5),
    ("DF1C0A70E7A02B839AB3AAC3FC410E61EEFB58EB", IocType.SHA1),
    ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", IocType.SHA256),
    ("ab" * 64, IocType.SHA512),
    ("CVE-2021-44228", IocType.CVE),
    ("cve-2021-44228", IocType.CVE),
    ("T1566", IocType.MITRE_ATTACK),
    ("t1566.001", IocType.MITRE_ATTACK),
]


@pytest.mark.parametrize(("raw", "expected"), DETECTED)
def test_detected(raw: str, expected: IocType) -> None:
    assert detect_type(raw) is expected
    assert detect_type(f"  {raw}\t") is expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "hello",
        "invoice.pdf",
        "document.docx",
        "script.ps1",
        "1.2.3",
        "10.0.19041.1",
        "d41d8cd98f00b204e9800998ecf8427",  # 31 hex digits: no hash has that length
        "evil com",
        "a:b@evil.com",
        "bob@evil.com@x.com",
        "gopher://evil.com/",
        "bob@localhost",
        "Win32/Pterodo.CEZ",
        "folder/file.txt",
        "evil.com:8080",
        "TA0001",
        "2023-12-20",
    ],
)
def test_not_detected(raw: str) -> None:
    assert detect_type(raw) is None


@given(st.sampled_from(sorted(HASH_LENGTHS)), st.data())
def test_hex_of_a_hash_length_is_that_hash(ioc_type: IocType, data: st.DataObject) -> None:
    length = HASH_LENGTHS[ioc_type]
    value = data.draw(st.text("0123456789abcdefABCDEF", min_size=length, max_size=length))
    assert detect_type(value) is ioc_type


@given(st.ip_addresses())
def test_ip_addresses_are_detected_by_family(address: object) -> None:
    expected = IocType.IPV4 if ":" not in str(address) else IocType.IPV6
    assert detect_type(str(address)) is expected
    assert detect_type(str(address).replace(".", "[.]")) is expected
