"""The effective grant of a key: its account's plan intersected with the key's narrowing.

Computed on every request from the stored account and key (nothing cached), so a plan
change, a suspension or a narrowing applies to the next request. A key's narrowing can only
take away: scopes are intersected, the highest TLP is the lower of the two, so a key
narrowed while its account was on a richer plan never exceeds the account's current plan.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from iocfeed.accounts.model import Narrowing
from iocfeed.config import Plan, Scope

# The scopes a device key keeps: exports are read with these and nothing else.
DEVICE_SCOPES = frozenset({Scope.READ_IOCS, Scope.READ_STIX})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Grant:
    """What a key may do right now: the plan's limits with the key's narrowing applied."""

    plan_name: str
    plan: Plan
    """The effective plan: the account plan's title, lookback and rate; narrowed scopes and
    highest TLP. Code that asks ``plan.scopes`` or ``plan.max_tlp`` sees the narrowed ones."""
    narrowed_scopes: frozenset[str]
    """Scopes of the plan the key's narrowing took away (for 403 messages)."""
    networks: tuple[Network, ...]
    device: bool
    expires: datetime | None


def effective_grant(plan_name: str, plan: Plan, narrowing: Narrowing) -> Grant:
    """The grant of a key on ``plan`` narrowed by ``narrowing`` (never wider than ``plan``)."""
    scopes = plan.scopes if narrowing.scopes is None else plan.scopes & narrowing.scopes
    if narrowing.device:
        scopes &= DEVICE_SCOPES
    max_tlp = plan.max_tlp if narrowing.max_tlp is None else min(plan.max_tlp, narrowing.max_tlp)
    effective = Plan.model_construct(
        title=plan.title,
        scopes=frozenset(scopes),
        lookback_days=plan.lookback_days,
        requests_per_minute=plan.requests_per_minute,
        max_tlp=max_tlp,
    )
    return Grant(
        plan_name=plan_name,
        plan=effective,
        narrowed_scopes=plan.scopes - scopes,
        networks=parse_networks(narrowing.networks),
        device=narrowing.device,
        expires=narrowing.expires,
    )


def widening_problem(plan: Plan, narrowing: Narrowing) -> tuple[str, str] | None:
    """``(field, why)`` if ``narrowing`` asks for more than ``plan`` gives, else None.

    Checked when a key is created or narrowed, so a request for more is refused with a
    reason rather than silently cut; later plan changes are cut by ``effective_grant``.
    """
    if narrowing.scopes is not None:
        unknown = narrowing.scopes - set(Scope.ALL)
        if unknown:
            return "scopes", f"unknown scopes {sorted(unknown)}; valid: {list(Scope.ALL)}"
        beyond = narrowing.scopes - plan.scopes
        if beyond:
            return "scopes", (
                f"the {plan.title} plan does not include {', '.join(sorted(beyond))}; "
                f"a key may have at most {', '.join(sorted(plan.scopes))}"
            )
    if narrowing.max_tlp is not None and narrowing.max_tlp > plan.max_tlp:
        return "max_tlp", (
            f"the {plan.title} plan's highest TLP is {plan.max_tlp.value}; "
            f"a key cannot be given {narrowing.max_tlp.value}"
        )
    try:
        parse_networks(narrowing.networks)
    except ValueError as error:
        return "networks", str(error)
    return None


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; ValueError naming the first bad one."""
    networks: list[Network] = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"network {text[:64]!r} is not an IP address or CIDR (e.g. 192.0.2.0/24)"
            ) from None
    return tuple(networks)


def address_allowed(networks: tuple[Network, ...], address: str | None) -> bool:
    """Whether ``address`` lies in one of ``networks``; no networks allows every address."""
    if not networks:
        return True
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == network.version and ip in network for network in networks)
