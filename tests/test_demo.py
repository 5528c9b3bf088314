"""Demo indicators: reproducible, distinct, valid, realistic and fast enough for benchmarks."""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocfeed import demo
from iocfeed.demo import generate
from iocfeed.indicators.attack import catalogue
from iocfeed.indicators.model import HASH_TYPES, Confidence, IndicatorInput, IocType
from iocfeed.indicators.normalize import canonicalize

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
IPV4_RANGES = tuple(
    ipaddress.ip_network(cidr)
    for cidr in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15")
)
IPV6_RANGE = ipaddress.ip_network("2001:db8::/32")
RESERVED_NAME = re.compile(r"(?:^|\.)(?:example|test|invalid|example\.(?:com|net|org))$")


@pytest.fixture(scope="module")
def sample() -> list[IndicatorInput]:
    return list(generate(50_000, now=NOW))


def test_the_same_seed_gives_the_same_indicators() -> None:
    first = list(generate(2_000, seed=7, now=NOW))
    assert list(generate(2_000, seed=7, now=NOW)) == first
    assert list(generate(2_000, seed=8, now=NOW)) != first


def test_dates_move_with_now_and_nothing_else_does() -> None:
    later = NOW + timedelta(days=30)
    for early, late in zip(generate(500, now=NOW), generate(500, now=later), strict=True):
        assert (early.type, early.value, early.tags, early.description) == (
            late.type,
            late.value,
            late.tags,
            late.description,
        )
        assert early.first_seen is not None
        assert late.first_seen == early.first_seen + timedelta(days=30)


def test_a_shorter_run_is_the_start_of_a_longer_one() -> None:
    assert list(generate(100, now=NOW)) == list(itertools.islice(generate(10_000, now=NOW), 100))


@given(st.integers(min_value=11, max_value=200), st.integers(min_value=0, max_value=2**32))
@settings(max_examples=30, deadline=None)
def test_every_type_appears_from_eleven_indicators(count: int, seed: int) -> None:
    indicators = list(generate(count, seed=seed, now=NOW))
    assert len(indicators) == count
    assert {indicator.type for indicator in indicators} == set(IocType)


@pytest.fixture(scope="module")
def long_run() -> list[tuple[IocType, str]]:
    # Long enough to use up the ATT&CK catalogue and fall back to SHA-256.
    return [(indicator.type, indicator.value) for indicator in generate(300_000, now=NOW)]


def test_values_are_distinct_over_a_long_run(long_run: list[tuple[IocType, str]]) -> None:
    assert len(set(long_run)) == len(long_run) == 300_000
    assert sum(kind is IocType.MITRE_ATTACK for kind, _ in long_run) == len(catalogue())


def test_the_ipv4_ranges_are_used_up_without_a_repeat_then_left() -> None:
    values = demo._Values(Random(1))
    addresses = list(iter(lambda: values.make(IocType.IPV4), None))
    assert len(set(addresses)) == len(addresses) > 190_000
    assert all(
        any(ipaddress.ip_network(address).subnet_of(net) for net in IPV4_RANGES)
        for address in addresses[::97]
    )


def test_every_value_is_already_canonical(sample: list[IndicatorInput]) -> None:
    for indicator in sample:
        assert canonicalize(indicator.type, indicator.value) == indicator.value


def test_addresses_stay_in_documentation_and_benchmark_ranges(
    long_run: list[tuple[IocType, str]],
) -> None:
    for kind, value in long_run:
        if kind is IocType.IPV4:
            network = ipaddress.ip_network(value)
            assert any(network.subnet_of(allowed) for allowed in IPV4_RANGES), value
        elif kind is IocType.IPV6:
            assert ipaddress.ip_network(value).subnet_of(IPV6_RANGE), value


def test_names_are_reserved_ones(sample: list[IndicatorInput]) -> None:
    for indicator in sample:
        if indicator.type is IocType.DOMAIN:
            host = indicator.value
        elif indicator.type is IocType.EMAIL:
            host = indicator.value.split("@", 1)[1]
        elif indicator.type is IocType.URL:
            host = indicator.value.split("/")[2].split(":")[0]
            if host[0].isdigit():
                assert any(ipaddress.ip_address(host) in net for net in IPV4_RANGES)
                continue
        else:
            continue
        assert RESERVED_NAME.search(host), indicator.value


def test_the_mix_is_realistic(sample: list[IndicatorInput]) -> None:
    counts = Counter(indicator.type for indicator in sample)
    hashes = sum(counts[kind] for kind in HASH_TYPES)
    assert hashes > 0.3 * len(sample)
    for common in (IocType.DOMAIN, IocType.URL, IocType.IPV4):
        assert counts[common] > 3 * counts[IocType.CVE]
    assert counts[IocType.MITRE_ATTACK] < 0.05 * len(sample)
    confidences = Counter(indicator.confidence for indicator in sample)
    assert all(confidences[level] > 0.15 * len(sample) for level in Confidence)
    overrides = sum(indicator.tlp is not None for indicator in sample)
    assert 0.02 * len(sample) < overrides < 0.2 * len(sample)


def test_fields_are_plausible(sample: list[IndicatorInput]) -> None:
    known = catalogue()
    expiring = expired = 0
    for indicator in sample:
        assert indicator.first_seen is not None
        assert indicator.last_seen is not None
        assert NOW - timedelta(days=400) <= indicator.first_seen <= indicator.last_seen <= NOW
        if indicator.valid_until is not None:
            assert indicator.valid_until > indicator.last_seen
            expiring += indicator.valid_until > NOW
            expired += indicator.valid_until <= NOW
        assert all(technique in known for technique in indicator.techniques)
        assert indicator.tags
        assert indicator.tags[0] in demo.FAMILIES
        assert len(set(indicator.tags)) == len(indicator.tags)
        assert all(tag == tag.lower() for tag in indicator.tags)
        assert indicator.description.endswith(".")
        assert indicator.source in demo.SOURCES
        if indicator.type is IocType.MITRE_ATTACK:
            assert indicator.value in known
        if indicator.type is IocType.CVE:
            assert re.fullmatch(r"CVE-20\d\d-\d{5,}", indicator.value)
    assert expiring > 3 * expired > 0


def test_word_tables_keep_names_distinct() -> None:
    # The mixed-radix naming is one-to-one only if no table repeats a word or holds a digit.
    for table in (demo._PREFIXES, demo._NOUNS, demo._FIRST_NAMES, demo._LAST_NAMES):
        assert len(set(table)) == len(table)
        assert all(word.isalpha() and word.islower() for word in table)


def test_generation_is_lazy() -> None:
    indicators = generate(10**12, now=NOW)
    assert isinstance(next(indicators), IndicatorInput)
