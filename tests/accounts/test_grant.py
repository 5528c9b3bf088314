"""The effective grant: the account's plan narrowed by the key, never widened (SPEC §4)."""

from __future__ import annotations

import pytest

from iocfeed.accounts.grant import (
    DEVICE_SCOPES,
    address_allowed,
    effective_grant,
    parse_networks,
    widening_problem,
)
from iocfeed.accounts.model import Narrowing
from iocfeed.config import DEFAULT_PLANS, Scope
from iocfeed.indicators.model import Tlp

PRO = DEFAULT_PLANS["pro"]
FREE = DEFAULT_PLANS["free"]
ADMIN = DEFAULT_PLANS["admin"]


def test_no_narrowing_is_the_plan() -> None:
    grant = effective_grant("pro", PRO, Narrowing())
    assert grant.plan.scopes == PRO.scopes
    assert grant.plan.max_tlp is PRO.max_tlp
    assert grant.plan.lookback_days == PRO.lookback_days
    assert grant.plan.requests_per_minute == PRO.requests_per_minute
    assert grant.plan.title == "Pro"
    assert grant.narrowed_scopes == frozenset()
    assert not grant.device
    assert grant.networks == ()


def test_narrowing_takes_scopes_and_tlp_away() -> None:
    grant = effective_grant(
        "pro", PRO, Narrowing(scopes=frozenset({Scope.READ_IOCS}), max_tlp=Tlp.GREEN)
    )
    assert grant.plan.scopes == {Scope.READ_IOCS}
    assert grant.plan.max_tlp is Tlp.GREEN
    assert grant.narrowed_scopes == {Scope.READ_STIX, Scope.READ_TAXII}


def test_a_narrowing_wider_than_a_downgraded_plan_is_cut_to_the_plan() -> None:
    # Narrowed on Enterprise, then the account moved to Free: the plan wins.
    narrowing = Narrowing(
        scopes=frozenset({Scope.READ_IOCS, Scope.READ_STIX, Scope.WRITE_IOCS}),
        max_tlp=Tlp.AMBER_STRICT,
    )
    grant = effective_grant("free", FREE, narrowing)
    assert grant.plan.scopes == {Scope.READ_IOCS}
    assert grant.plan.max_tlp is Tlp.GREEN


def test_a_device_key_keeps_only_export_scopes() -> None:
    grant = effective_grant("admin", ADMIN, Narrowing(device=True))
    assert grant.device
    assert grant.plan.scopes == DEVICE_SCOPES
    assert Scope.READ_TAXII in grant.narrowed_scopes
    assert effective_grant("free", FREE, Narrowing(device=True)).plan.scopes == {Scope.READ_IOCS}


@pytest.mark.parametrize(
    ("narrowing", "field", "words"),
    [
        (Narrowing(scopes=frozenset({Scope.WRITE_IOCS})), "scopes", "does not include write:iocs"),
        (Narrowing(scopes=frozenset({"read:everything"})), "scopes", "unknown scopes"),
        (Narrowing(max_tlp=Tlp.RED), "max_tlp", "highest TLP is amber"),
        (Narrowing(networks=("10.0.0.0/33",)), "networks", "not an IP address or CIDR"),
        (Narrowing(networks=("example.org",)), "networks", "not an IP address or CIDR"),
    ],
)
def test_widening_is_refused_with_the_reason(narrowing: Narrowing, field: str, words: str) -> None:
    problem = widening_problem(PRO, narrowing)
    assert problem is not None
    assert problem[0] == field
    assert words in problem[1]


@pytest.mark.parametrize(
    "narrowing",
    [
        Narrowing(),
        Narrowing(scopes=frozenset({Scope.READ_STIX}), max_tlp=Tlp.CLEAR),
        Narrowing(max_tlp=Tlp.AMBER, networks=("192.0.2.0/24", "2001:db8::/32", "198.51.100.7")),
        Narrowing(device=True),
    ],
)
def test_narrowing_within_the_plan_is_accepted(narrowing: Narrowing) -> None:
    assert widening_problem(PRO, narrowing) is None


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("192.0.2.10", True),
        ("192.0.3.10", False),
        ("::ffff:192.0.2.10", True),
        ("2001:db8::1", True),
        ("2001:db9::1", False),
        ("198.51.100.7", True),
        ("198.51.100.8", False),
        ("unknown", False),
        (None, False),
    ],
)
def test_client_address_must_lie_in_an_allowed_network(address: str | None, allowed: bool) -> None:
    networks = parse_networks(["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"])
    assert address_allowed(networks, address) is allowed


def test_no_networks_allow_every_address() -> None:
    assert address_allowed((), "203.0.113.1")
    assert address_allowed((), None)
