"""Use cases: accounts (create, list, change plan, suspend) and their keys (create, list,
narrow, revoke). Every change is written to the audit trail.

A key is never widened past its account's plan: a narrowing that asks for more is refused
here with the reason; a later plan downgrade is applied by ``accounts.grant`` on each
request, whatever the key's stored narrowing says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iocfeed.accounts.grant import Grant, effective_grant, widening_problem
from iocfeed.accounts.model import Account, AccountStatus, Narrowing
from iocfeed.auth.keys import ApiKey, expiry_problem
from iocfeed.clock import Clock
from iocfeed.config import Plan
from iocfeed.errors import AccountSuspended, InvalidInput, NotFound
from iocfeed.portal.actors import Actor
from iocfeed.store.accounts import MAX_NAME, AccountStore
from iocfeed.store.audit import AuditLog
from iocfeed.store.keys import KeyStore

MAX_KEY_NAME = 200


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: ``plaintext`` exists only here, to be shown once."""

    key: ApiKey
    plaintext: str


def _name(text: str, parameter: str, longest: int) -> str:
    name = text.strip()
    if not name or len(name) > longest or not name.isprintable():
        raise InvalidInput(
            f"{parameter} must be 1 to {longest} printable characters", parameter=parameter
        )
    return name


class Accounts:
    """Accounts and their keys, for the pages and the CLI."""

    def __init__(
        self,
        plans: Mapping[str, Plan],
        accounts: AccountStore,
        keys: KeyStore,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self.plans = plans
        self.accounts = accounts
        self.keys = keys
        self.audit = audit
        self.clock = clock

    # --- accounts ---------------------------------------------------------------------------

    def plan(self, name: str) -> Plan:
        """The configured plan ``name``; InvalidInput listing the plans otherwise."""
        found = self.plans.get(name)
        if found is None:
            raise InvalidInput(
                f"unknown plan {name[:64]!r}; plans: {', '.join(self.plans)}", parameter="plan"
            )
        return found

    def create(self, name: str, plan: str, actor: Actor) -> Account:
        """A new active account on ``plan``; Conflict if the name is taken."""
        self.plan(plan)
        now = self.clock.now()
        account = self.accounts.create(name=_name(name, "name", MAX_NAME), plan=plan, now=now)
        self._audit(actor, "accounts.create", account.account_id, {"name": name, "plan": plan})
        return account

    def get(self, account_id: int) -> Account:
        return self.accounts.get(account_id)

    def named(self, name: str) -> Account:
        return self.accounts.named(name)

    def list_accounts(self, *, after: str | None = None, limit: int = 100) -> list[Account]:
        """Accounts by name, keyset-paged (pass the last name of a page as ``after``)."""
        return self.accounts.list(after=after, limit=limit)

    def set_plan(self, account_id: int, plan: str, actor: Actor) -> Account:
        """Move the account to ``plan``; its keys get the new plan on their next request."""
        self.plan(plan)
        before = self.accounts.get(account_id)
        account = self.accounts.set_plan(account_id, plan)
        self._audit(actor, "accounts.set_plan", account_id, {"from": before.plan, "to": plan})
        return account

    def suspend(self, account_id: int, actor: Actor) -> Account:
        """Suspend the account: its keys get 403 from the next request on."""
        return self._set_status(account_id, AccountStatus.SUSPENDED, actor)

    def activate(self, account_id: int, actor: Actor) -> Account:
        """Reactivate a suspended account."""
        return self._set_status(account_id, AccountStatus.ACTIVE, actor)

    def _set_status(self, account_id: int, status: AccountStatus, actor: Actor) -> Account:
        self.accounts.get(account_id)
        account = self.accounts.set_status(account_id, status)
        action = "accounts.suspend" if status is AccountStatus.SUSPENDED else "accounts.activate"
        self._audit(actor, action, account_id, {"name": account.name})
        return account

    # --- keys -------------------------------------------------------------------------------

    def grant(self, key: ApiKey) -> Grant:
        """What ``key`` may do now: its account's plan narrowed by the key."""
        return effective_grant(key.plan, self.plan(key.plan), key.narrowing)

    def check_narrowing(self, account: Account, narrowing: Narrowing) -> None:
        """InvalidInput unless ``narrowing`` stays within the account's plan and its expiry
        (if any) is in the future."""
        self._check_narrowing(self.plan(account.plan), narrowing)

    def _check_narrowing(self, plan: Plan, narrowing: Narrowing) -> None:
        problem = widening_problem(plan, narrowing)
        if problem is not None:
            raise InvalidInput(problem[1], parameter=problem[0])
        if narrowing.expires is not None:
            expiry = expiry_problem(narrowing.expires, self.clock.now())
            if expiry is not None:
                raise InvalidInput(expiry, parameter="expires")

    def create_key(
        self, account_id: int, name: str, actor: Actor, narrowing: Narrowing | None = None
    ) -> CreatedKey:
        """A new key of the account, narrowed as asked; its secret is in the reply only."""
        account = self.accounts.get(account_id)
        if account.suspended:
            raise AccountSuspended(f"The account {account.name!r} is suspended")
        narrowing = narrowing or Narrowing()
        self.check_narrowing(account, narrowing)
        key, plaintext = self.keys.create(
            name=_name(name, "name", MAX_KEY_NAME),
            account_id=account_id,
            now=self.clock.now(),
            narrowing=narrowing,
        )
        self._audit(
            actor, "keys.create", account_id, {"key_id": key.key_id, **_described(key)}, key
        )
        return CreatedKey(key, plaintext)

    def create_key_on_plan(
        self, name: str, plan: str, actor: Actor, narrowing: Narrowing | None = None
    ) -> CreatedKey:
        """The quick start's key: in the account named after the key if that account is on
        ``plan``, else in a new account (``NAME (2)``, …) on ``plan``."""
        narrowing = narrowing or Narrowing()
        self._check_narrowing(self.plan(plan), narrowing)
        key, plaintext = self.keys.create(
            name=_name(name, "name", MAX_KEY_NAME),
            plan=plan,
            now=self.clock.now(),
            narrowing=narrowing,
        )
        self._audit(
            actor, "keys.create", key.account_id, {"key_id": key.key_id, **_described(key)}, key
        )
        return CreatedKey(key, plaintext)

    def list_keys(self, account_id: int | None = None) -> list[ApiKey]:
        """The account's keys (every key if None), oldest first, with last use and address."""
        return self.keys.list(account_id)

    def key(self, key_id: str, account_id: int | None = None) -> ApiKey:
        """The key ``key_id``; NotFound if it does not exist or is not ``account_id``'s."""
        key = self.keys.get(key_id)
        if account_id is not None and key.account_id != account_id:
            raise NotFound(f"no API key {key_id[:64]!r}")
        return key

    def narrow_key(
        self, key_id: str, narrowing: Narrowing, actor: Actor, account_id: int | None = None
    ) -> ApiKey:
        """Replace the key's narrowing (never past the plan); applies to its next request."""
        key = self.key(key_id, account_id)
        self.check_narrowing(self.accounts.get(key.account_id), narrowing)
        narrowed = self.keys.narrow(key_id, narrowing)
        self._audit(
            actor, "keys.narrow", key.account_id, {"key_id": key_id, **_described(narrowed)}, key
        )
        return narrowed

    def revoke_key(self, key_id: str, actor: Actor, account_id: int | None = None) -> ApiKey:
        """Revoke at once: requests with the key get 401 from then on."""
        key = self.key(key_id, account_id)
        revoked = self.keys.revoke(key_id, self.clock.now())
        self._audit(actor, "keys.revoke", key.account_id, {"key_id": key_id}, key)
        return revoked

    def _audit(
        self,
        actor: Actor,
        action: str,
        account_id: int,
        parameters: dict[str, Any],
        key: ApiKey | None = None,
    ) -> None:
        self.audit.record(
            # The key that acted; for a change a person or the operator made, the key changed.
            key_id=actor.key_id or (key.key_id if key is not None else None),
            action=action,
            parameters=parameters,
            result_count=1,
            now=self.clock.now(),
            account_id=account_id,
            user_id=actor.user_id,
        )


def _described(key: ApiKey) -> dict[str, Any]:
    return {
        "name": key.name,
        "scopes": sorted(key.scopes) if key.scopes is not None else None,
        "max_tlp": key.max_tlp.value if key.max_tlp is not None else None,
        "expires": key.expires.isoformat() if key.expires else None,
        "networks": list(key.networks),
        "device": key.device,
    }
