"""``canonicalize`` across all types: hashes, CVE and ATT&CK forms, and idempotence."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.attack import catalogue
from iocfeed.indicators.canonical import HASH_LENGTHS
from iocfeed.indicators.model import IocType
from iocfeed.indicators.normalize import canonicalize

# Loaded once here, not inside the first hypothesis example (where it would eat the deadline).
TECHNIQUES = sorted(catalogue())
SHA1 = "DF1C0A70E7A02B839AB3AAC3FC410E61EEFB58EB"
SHA256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"

ACCEPTED = [
    (IocType.MD5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
    (IocType.MD5, " d41d8cd98f00b204e9800998ecf8427e ", "d41d8cd98f00b204e9800998ecf8427e"),
    (IocType.SHA1, SHA1, SHA1.lower()),
    (IocType.SHA256, SHA256, SHA256.lower()),
    (IocType.SHA512, "Ab" * 64, "ab" * 64),
    (IocType.CVE, "CVE-2021-44228", "CVE-2021-44228"),
    (IocType.CVE, "cve-2021-44228", "CVE-2021-44228"),
    (IocType.CVE, "CVE-1999-0001", "CVE-1999-0001"),
    (IocType.CVE, "CVE-2024-1234567", "CVE-2024-1234567"),
    (IocType.CVE, "CVE\u20112021\u201144228", "CVE-2021-44228"),
    (IocType.MITRE_ATTACK, "T1566.001", "T1566.001"),
    (IocType.MITRE_ATTACK, "t1059", "T1059"),
]


@pytest.mark.parametrize(("ioc_type", "raw", "canonical"), ACCEPTED)
def test_accepted(ioc_type: IocType, raw: str, canonical: str) -> None:
    assert canonicalize(ioc_type, raw) == canonical


REJECTED = [
    (IocType.SHA256, SHA256[:-1], "sha256 must be 64 hex characters, got 63"),
    (IocType.SHA256, SHA256 + "0", "sha256 must be 64 hex characters, got 65"),
    (IocType.SHA256, "Z" + SHA256[1:], "got 'Z' at position 0"),
    (IocType.SHA1, SHA1[:20] + " " + SHA1[21:], "whitespace"),
    (IocType.MD5, "d41d8cd98f00b204e9800998ecf8427", "md5 must be 32 hex characters, got 31"),
    (IocType.MD5, "0x41d8cd98f00b204e9800998ecf8427", "got 'x' at position 1"),
    (IocType.SHA512, "a" * 64, "sha512 must be 128 hex characters, got 64"),
    (IocType.MD5, "", "empty md5"),
    (IocType.CVE, "CVE-21-44228", "expected CVE-YYYY-NNNN"),
    (IocType.CVE, "CVE-2021-123", "expected CVE-YYYY-NNNN"),
    (IocType.CVE, "CVE-2021-01234", "expected CVE-YYYY-NNNN"),
    (IocType.CVE, "2021-44228", "expected CVE-YYYY-NNNN"),
    (IocType.CVE, "CVE-1998-0001", "CVE years start at 1999"),
    (IocType.CVE, "CVE 2021 44228", "whitespace"),
    (IocType.CVE, "", "empty CVE"),
    (IocType.MITRE_ATTACK, "T9999", "unknown ATT&CK technique T9999"),
    (IocType.MITRE_ATTACK, "TA0001", "must look like T1234"),
    (IocType.MITRE_ATTACK, "", "empty ATT&CK technique"),
]


@pytest.mark.parametrize(("ioc_type", "raw", "reason"), REJECTED)
def test_rejected_with_reason(ioc_type: IocType, raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator) as caught:
        canonicalize(ioc_type, raw)
    assert reason in caught.value.message


_HEX = "0123456789abcdefABCDEF"
_HASH_TYPES = st.sampled_from(sorted(HASH_LENGTHS))


@given(_HASH_TYPES, st.data())
def test_hashes_of_the_right_length_are_lower_cased(ioc_type: IocType, data: st.DataObject) -> None:
    length = HASH_LENGTHS[ioc_type]
    value = data.draw(st.text(alphabet=_HEX, min_size=length, max_size=length))
    assert canonicalize(ioc_type, value) == value.lower()


@given(_HASH_TYPES, st.text(alphabet=_HEX, min_size=1, max_size=200))
def test_hashes_of_the_wrong_length_are_rejected_with_the_count(
    ioc_type: IocType, value: str
) -> None:
    length = HASH_LENGTHS[ioc_type]
    if len(value) == length:
        value += "0"
    with pytest.raises(InvalidIndicator) as caught:
        canonicalize(ioc_type, value)
    assert caught.value.message == (
        f"{ioc_type.value} must be {length} hex characters, got {len(value)}"
    )


# --- idempotence over every type ------------------------------------------------------

_DOT_MARKERS = st.sampled_from([".", ".", "[.]", "(.)", "[dot]"])
_LABEL_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-äöüßñ"


@st.composite
def _names(draw: st.DrawFn) -> str:
    labels = draw(st.lists(st.text(_LABEL_ALPHABET, min_size=1, max_size=12), min_size=1))
    tld = draw(st.sampled_from(["com", "RU", "space", "xn--p1ai", "рф", "zip", "De"]))
    return "".join(label + draw(_DOT_MARKERS) for label in labels) + tld


_PRINTABLE_PATH = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x2FF, blacklist_characters="\x7f"),
    max_size=30,
)


@st.composite
def _raw_values(draw: st.DrawFn, ioc_type: IocType) -> str:
    """Plausible raw text for ``ioc_type``: right-ish shapes, odd case, defanging."""
    if ioc_type is IocType.IPV4:
        address = str(draw(st.ip_addresses(v=4)))
        prefix = draw(st.sampled_from(["", "/8", "/24", "/32"]))
        return address.replace(".", draw(_DOT_MARKERS)) + prefix
    if ioc_type is IocType.IPV6:
        address6 = draw(st.ip_addresses(v=6))
        text = draw(st.sampled_from([address6.exploded, address6.compressed])).upper()
        return text + draw(st.sampled_from(["", "/64", "/128"]))
    if ioc_type is IocType.DOMAIN:
        return draw(_names())
    if ioc_type is IocType.URL:
        scheme = draw(st.sampled_from(["http://", "HXXPS://", "hxxp[:]//", "ftp://", ""]))
        port = draw(st.sampled_from(["", ":8080"]))
        return scheme + draw(_names()) + port + "/" + draw(_PRINTABLE_PATH)
    if ioc_type is IocType.EMAIL:
        local = draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1))
        return local + draw(st.sampled_from(["@", "[at]", "[@]"])) + draw(_names())
    if ioc_type is IocType.CVE:
        year = draw(st.integers(1990, 2100))
        sequence = draw(st.integers(0, 10**7))
        return draw(st.sampled_from(["CVE", "cve"])) + f"-{year}-{sequence:04d}"
    if ioc_type is IocType.MITRE_ATTACK:
        technique = draw(st.sampled_from(TECHNIQUES))
        return draw(st.sampled_from([technique, technique.lower()]))
    length = HASH_LENGTHS[ioc_type]
    hex_text: str = draw(st.text(alphabet=_HEX, min_size=length - 1, max_size=length))
    return hex_text


@given(st.data())
def test_canonicalize_is_idempotent(data: st.DataObject) -> None:
    ioc_type = data.draw(st.sampled_from(list(IocType)))
    raw = data.draw(_raw_values(ioc_type))
    try:
        canonical = canonicalize(ioc_type, raw)
    except InvalidIndicator:
        return
    assert canonicalize(ioc_type, canonical) == canonical


@given(st.sampled_from(list(IocType)), st.text(max_size=40))
def test_canonicalize_accepts_or_explains_any_text(ioc_type: IocType, raw: str) -> None:
    outcome: str | InvalidIndicator
    try:
        outcome = canonicalize(ioc_type, raw)
    except InvalidIndicator as error:
        outcome = error
    if isinstance(outcome, InvalidIndicator):
        assert outcome.message
        return
    assert outcome
    assert not re.search(r"\s", outcome)
    assert canonicalize(ioc_type, outcome) == outcome
