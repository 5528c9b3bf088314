"""Patterns: one comparison per IOC, judged and read back by the stix2-patterns parser."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from stix2patterns.v21.pattern import Pattern
from stix2patterns.validator import run_validator

from iocfeed.indicators.model import IocType
from iocfeed.stix.patterns import pattern_for, string_literal

from .factories import OBSERVABLE_TYPES, SAMPLE_VALUES

# SPEC §1, written out by hand.
EXPECTED = {
    IocType.IPV4: "[ipv4-addr:value = '198.51.100.7']",
    IocType.IPV6: "[ipv6-addr:value = '2001:db8::7']",
    IocType.DOMAIN: "[domain-name:value = 'evil.example']",
    IocType.URL: "[url:value = 'http://evil.example/login?next=/x']",
    IocType.EMAIL: "[email-addr:value = 'phish@evil.example']",
    IocType.MD5: f"[file:hashes.MD5 = '{SAMPLE_VALUES[IocType.MD5]}']",
    IocType.SHA1: f"[file:hashes.'SHA-1' = '{SAMPLE_VALUES[IocType.SHA1]}']",
    IocType.SHA256: f"[file:hashes.'SHA-256' = '{SAMPLE_VALUES[IocType.SHA256]}']",
    IocType.SHA512: f"[file:hashes.'SHA-512' = '{SAMPLE_VALUES[IocType.SHA512]}']",
}

# What the parser reports as the compared object and property path.
EXPECTED_PATH = {
    IocType.IPV4: ("ipv4-addr", ["value"]),
    IocType.IPV6: ("ipv6-addr", ["value"]),
    IocType.DOMAIN: ("domain-name", ["value"]),
    IocType.URL: ("url", ["value"]),
    IocType.EMAIL: ("email-addr", ["value"]),
    IocType.MD5: ("file", ["hashes", "MD5"]),
    IocType.SHA1: ("file", ["hashes", "SHA-1"]),
    IocType.SHA256: ("file", ["hashes", "SHA-256"]),
    IocType.SHA512: ("file", ["hashes", "SHA-512"]),
}


def read_back(pattern: str) -> tuple[str, list[str], str]:
    """The object type, property path and string value the parser finds in ``pattern``."""
    comparisons = Pattern(pattern).inspect().comparisons
    assert len(comparisons) == 1
    ((object_type, [(path, operator, literal)]),) = comparisons.items()
    assert operator == "="
    assert literal.startswith("'")
    assert literal.endswith("'")
    # The grammar admits exactly two escapes, \' and \\, so this undoes them all.
    value = re.sub(r"\\(.)", r"\1", literal[1:-1], flags=re.DOTALL)
    return object_type, [part.strip("'") for part in path], value


@pytest.mark.parametrize("ioc_type", OBSERVABLE_TYPES)
def test_pattern_for_each_observable_type(ioc_type: IocType) -> None:
    pattern = pattern_for(ioc_type, SAMPLE_VALUES[ioc_type])
    assert pattern == EXPECTED[ioc_type]
    assert run_validator(pattern) == []
    object_type, path, value = read_back(pattern)
    assert (object_type, path) == EXPECTED_PATH[ioc_type]
    assert value == SAMPLE_VALUES[ioc_type]


@pytest.mark.parametrize("ioc_type", [IocType.CVE, IocType.MITRE_ATTACK])
def test_cve_and_attack_ids_have_no_pattern(ioc_type: IocType) -> None:
    with pytest.raises(ValueError, match="not an observable"):
        pattern_for(ioc_type, SAMPLE_VALUES[ioc_type])


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("o'brien", r"'o\'brien'"),
        ("c:\\temp", r"'c:\\temp'"),
        ("\\'", r"'\\\''"),
        ("'\\", r"'\'\\'"),
        ("", "''"),
    ],
)
def test_string_literal_escapes_backslash_first_then_quote(value: str, literal: str) -> None:
    assert string_literal(value) == literal


HEX_LENGTH = {IocType.MD5: 32, IocType.SHA1: 40, IocType.SHA256: 64, IocType.SHA512: 128}


@given(
    ioc_type=st.sampled_from([t for t in OBSERVABLE_TYPES if t not in HEX_LENGTH]),
    value=st.text(),
)
@example(ioc_type=IocType.URL, value="http://evil.example/a'b\\c?q='\\'")
@example(ioc_type=IocType.DOMAIN, value="xn--bcher-kva.example")
@example(ioc_type=IocType.EMAIL, value="o'brien@xn--mnchen-3ya.example")
@example(ioc_type=IocType.URL, value="http://xn--80ak6aa92e.com/путь?q=日本語")
@example(ioc_type=IocType.URL, value="\\\\\\'''")
def test_any_value_makes_a_valid_pattern_that_reads_back_exactly(
    ioc_type: IocType, value: str
) -> None:
    pattern = pattern_for(ioc_type, value)
    assert run_validator(pattern) == []
    object_type, path, read = read_back(pattern)
    assert (object_type, path) == EXPECTED_PATH[ioc_type]
    assert read == value


@given(
    ioc_type=st.sampled_from(sorted(HEX_LENGTH)),
    data=st.data(),
)
def test_any_hash_makes_a_valid_pattern_that_reads_back_exactly(
    ioc_type: IocType, data: st.DataObject
) -> None:
    # stix2-patterns checks the length and alphabet of the four hashes.
    length = HEX_LENGTH[ioc_type]
    value = data.draw(st.text("0123456789abcdef", min_size=length, max_size=length))
    pattern = pattern_for(ioc_type, value)
    assert run_validator(pattern) == []
    assert read_back(pattern) == (*EXPECTED_PATH[ioc_type], value)
