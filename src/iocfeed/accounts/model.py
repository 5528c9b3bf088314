"""What an account is, and how one of its keys may be narrowed below the account's plan."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from iocfeed.indicators.model import Tlp


class AccountStatus(enum.StrEnum):
    """An account's keys work while it is active; a suspended account's keys get 403."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Account:
    """A subscribing organisation: it owns the plan; its keys and people belong to it."""

    account_id: int
    name: str
    plan: str
    status: AccountStatus
    created: datetime

    @property
    def suspended(self) -> bool:
        return self.status is AccountStatus.SUSPENDED


@dataclass(frozen=True, slots=True)
class Narrowing:
    """How one key is narrowed below its account's plan; the defaults narrow nothing.

    ``scopes`` None keeps every scope of the plan; ``max_tlp`` None keeps the plan's highest
    TLP; ``networks`` empty allows every client address; ``device`` marks a key that may
    only read exports (and may be sent as a ``key=`` query parameter there).
    """

    scopes: frozenset[str] | None = None
    max_tlp: Tlp | None = None
    expires: datetime | None = None
    networks: tuple[str, ...] = ()
    device: bool = False

    @property
    def narrows(self) -> bool:
        return self != Narrowing()
