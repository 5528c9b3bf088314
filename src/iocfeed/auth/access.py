"""Deciding access: which key is calling, for which account, with what grant (SPEC §4).

The grant is the account's plan narrowed by the key (``accounts.grant``), worked out on
every request from one read of the key joined with its account: there is no cache, so a
plan change, a suspension or a narrowing applies to the very next request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from iocfeed.accounts.grant import Grant, address_allowed, effective_grant
from iocfeed.accounts.model import Account
from iocfeed.auth.keys import ApiKey, parse_key, secret_matches
from iocfeed.config import Plan
from iocfeed.errors import AccountSuspended, Forbidden, NetworkRefused, Unauthenticated
from iocfeed.store.keys import KeyStore

SUSPENDED = "This account is suspended: its keys are refused until an administrator reactivates it"
DEVICE_ONLY = "This is a device key: it may only read exports"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the key (never its secret), its account and its grant."""

    key: ApiKey
    account: Account
    grant: Grant

    @property
    def plan(self) -> Plan:
        """The effective plan: the account's, with the key's narrowing applied."""
        return self.grant.plan

    @property
    def account_id(self) -> int:
        return self.account.account_id

    @property
    def account_name(self) -> str:
        return self.account.name

    def lookback_start(self, now: datetime) -> datetime | None:
        """The earliest time this plan may look back to, or ``None`` for unlimited."""
        days = self.plan.lookback_days
        return None if days is None else now - timedelta(days=days)


def authenticate(
    presented: str | None,
    keys: KeyStore,
    plans: Mapping[str, Plan],
    now: datetime,
    address: str | None = None,
) -> Principal:
    """The caller behind ``presented``, used from client ``address``.

    Unauthenticated (401): missing, bad, expired or revoked key. AccountSuspended (403): the
    key's account is suspended. NetworkRefused (403): ``address`` is outside the networks
    the key is allowed from.
    """
    if not presented:
        raise Unauthenticated(
            "An API key is required (X-API-Key, Authorization: Bearer, or HTTP Basic)"
        )
    parsed = parse_key(presented)
    found = keys.find_with_account(parsed[0]) if parsed else None
    if parsed is None or found is None or not secret_matches(parsed[1], found[1]):
        raise Unauthenticated("Invalid API key")
    key, _, account = found
    if key.revoked is not None:
        raise Unauthenticated("This API key has been revoked")
    if key.expires is not None and key.expires <= now:
        raise Unauthenticated("This API key has expired")
    plan = plans.get(account.plan)
    if plan is None:
        raise Unauthenticated(f"This API key's plan {account.plan!r} no longer exists")
    if account.suspended:
        raise AccountSuspended(SUSPENDED)
    grant = effective_grant(account.plan, plan, key.narrowing)
    if not address_allowed(grant.networks, address):
        raise NetworkRefused(
            f"This API key may not be used from {address or 'an unknown address'}: "
            "it is allowed only from its configured networks"
        )
    return Principal(key, account, grant)


def require(
    principal: Principal, scope: str, plans: Mapping[str, Plan], *, export: bool = False
) -> None:
    """Forbidden unless the caller's grant has ``scope``; the message names what is missing:
    the first plan that has the scope, or the key's own narrowing when the plan has it.

    A device key is refused everywhere but exports (``export``).
    """
    if principal.grant.device and not export:
        raise Forbidden(DEVICE_ONLY, scope=scope)
    if scope in principal.plan.scopes:
        return
    if scope in principal.grant.narrowed_scopes:
        raise Forbidden(
            f"This key is narrowed: it lacks the {scope} scope of the {principal.plan.title} plan",
            scope=scope,
        )
    offering = next((plan.title for plan in plans.values() if scope in plan.scopes), None)
    needed = f"the {offering} plan" if offering else "a plan"
    raise Forbidden(f"Requires {needed} ({scope} scope)", scope=scope)
