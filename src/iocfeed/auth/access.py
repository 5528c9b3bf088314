"""Deciding access: which key is calling, on which plan, and whether it has a scope (SPEC §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from iocfeed.auth.keys import ApiKey, parse_key, secret_matches
from iocfeed.config import Plan
from iocfeed.errors import Forbidden, Unauthenticated
from iocfeed.store.keys import KeyStore


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the key (never its secret) and its plan."""

    key: ApiKey
    plan: Plan

    def lookback_start(self, now: datetime) -> datetime | None:
        """The earliest time this plan may look back to, or ``None`` for unlimited."""
        days = self.plan.lookback_days
        return None if days is None else now - timedelta(days=days)


def authenticate(
    presented: str | None, keys: KeyStore, plans: Mapping[str, Plan], now: datetime
) -> Principal:
    """The caller behind ``presented``; Unauthenticated: missing, bad, expired or revoked key."""
    if not presented:
        raise Unauthenticated(
            "An API key is required (X-API-Key, Authorization: Bearer, or HTTP Basic)"
        )
    parsed = parse_key(presented)
    found = keys.find(parsed[0]) if parsed else None
    if parsed is None or found is None or not secret_matches(parsed[1], found[1]):
        raise Unauthenticated("Invalid API key")
    key = found[0]
    if key.revoked is not None:
        raise Unauthenticated("This API key has been revoked")
    if key.expires is not None and key.expires <= now:
        raise Unauthenticated("This API key has expired")
    plan = plans.get(key.plan)
    if plan is None:
        raise Unauthenticated(f"This API key's plan {key.plan!r} no longer exists")
    return Principal(key, plan)


def require(principal: Principal, scope: str, plans: Mapping[str, Plan]) -> None:
    """Forbidden, naming the first plan that has ``scope``, unless the caller's plan has it."""
    if scope in principal.plan.scopes:
        return
    offering = next((plan.title for plan in plans.values() if scope in plan.scopes), None)
    needed = f"the {offering} plan" if offering else "a plan"
    raise Forbidden(f"Requires {needed} ({scope} scope)", scope=scope)
