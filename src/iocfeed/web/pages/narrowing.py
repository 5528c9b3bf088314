"""Reading a key's narrowing from a form: scopes ticked, highest TLP, expiry date, client
networks and the device flag, as the keys pages send them. The use case judges the values
(never past the plan); this only turns form text into a ``Narrowing``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from iocfeed.accounts.model import Narrowing
from iocfeed.config import Plan, Scope
from iocfeed.errors import InvalidInput
from iocfeed.indicators.model import Tlp


def read_narrowing(
    plan: Plan, *, scopes: list[str], max_tlp: str, expires: str, networks: str, device: bool
) -> Narrowing:
    """The narrowing asked for; InvalidInput naming the field that cannot be read.

    Every scope of the plan ticked means "the plan's scopes" (None), so that the key follows
    the plan when the account moves to another one.
    """
    ticked = frozenset(scopes)
    unknown = ticked - set(Scope.ALL)
    if unknown:
        raise InvalidInput(f"unknown scope {sorted(unknown)[0][:64]!r}", parameter="scopes")
    return Narrowing(
        scopes=None if ticked == plan.scopes else ticked,
        max_tlp=_tlp(max_tlp),
        expires=_date(expires),
        networks=tuple(part for part in networks.replace(",", " ").split() if part),
        device=device,
    )


def _tlp(text: str) -> Tlp | None:
    if not text.strip():
        return None
    try:
        return Tlp(text.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"highest TLP must be one of {', '.join(t.value for t in Tlp)}", parameter="max_tlp"
        ) from None


def _date(text: str) -> datetime | None:
    """``YYYY-MM-DD`` (a date field): the key expires at the start of that day, UTC."""
    if not text.strip():
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d")
    except ValueError:
        raise InvalidInput(
            f"expires must be a date as YYYY-MM-DD, got {text[:32]!r}", parameter="expires"
        ) from None
    return day.replace(tzinfo=UTC)
