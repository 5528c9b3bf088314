"""SSRF rules: every refused class, with its reason; the operator's networks exempt."""

from __future__ import annotations

import ipaddress

import pytest

from iocfeed.push.addresses import embedded_ipv4, parse_networks, refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("168.63.129.16", "cloud metadata"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::a00:1", "private"),
        ("198.18.0.1", "private"),
    ],
)
def test_refused_classes_name_the_reason(address: str, reason: str) -> None:
    found = refusal(ipaddress.ip_address(address))
    assert found is not None
    assert reason in found


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_allowed_networks_are_exempt() -> None:
    allowed = parse_networks(["127.0.0.0/8", "10.1.0.0/16"])
    assert refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert refusal(ipaddress.ip_address("10.1.2.3"), allowed) is None
    assert refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert refusal(ipaddress.ip_address("10.2.0.1"), allowed) is not None
    assert refusal(ipaddress.ip_address("169.254.169.254"), allowed) is not None


def test_embedded_ipv4() -> None:
    assert str(embedded_ipv4(ipaddress.ip_address("::ffff:10.0.0.1"))) == "10.0.0.1"
    assert str(embedded_ipv4(ipaddress.ip_address("64:ff9b::808:808"))) == "8.8.8.8"
    assert str(embedded_ipv4(ipaddress.ip_address("2001:db8::1"))) == "2001:db8::1"


def test_bad_network_is_refused() -> None:
    with pytest.raises(ValueError, match="not a network"):
        parse_networks(["10.0.0.0/33"])
