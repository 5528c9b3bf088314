"""API key material: generation, parsing and constant-time verification.

A key reads ``iocf_<key id>_<secret>``: the prefix makes leaked keys greppable (secret
scanners can match it), the key id finds the stored row without scanning, and the secret
carries 256 random bits. Only SHA-256 of the secret is stored. A slow password hash buys
nothing for 256-bit random secrets and would cost every request (TAXII clients send the key
on each poll), so a plain cryptographic hash is the right tool here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from iocfeed.accounts.model import Narrowing
from iocfeed.indicators.model import Tlp

KEY_PREFIX = "iocf_"
_KEY_FORMAT = re.compile(r"iocf_([a-z0-9]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, without its secret: its account (whose plan it takes) and narrowing.

    ``last_used`` and ``last_address`` are recorded in batches, a few seconds late.
    """

    key_id: str
    name: str
    plan: str
    created: datetime
    expires: datetime | None
    revoked: datetime | None
    account_id: int = 0
    account_name: str = ""
    scopes: frozenset[str] | None = None
    max_tlp: Tlp | None = None
    networks: tuple[str, ...] = ()
    device: bool = False
    last_used: datetime | None = None
    last_address: str | None = None

    def is_usable(self, now: datetime) -> bool:
        return self.revoked is None and (self.expires is None or self.expires > now)

    @property
    def narrowing(self) -> Narrowing:
        return Narrowing(self.scopes, self.max_tlp, self.expires, self.networks, self.device)


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key: the plaintext is shown once and never stored."""

    key_id: str
    plaintext: str
    secret_hash: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key() -> NewKey:
    key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)  # 32 bytes = 256 bits → 43 URL-safe characters
    return NewKey(key_id, f"{KEY_PREFIX}{key_id}_{secret}", hash_secret(secret))


def parse_key(presented: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a well-formed key, else ``None``."""
    match = _KEY_FORMAT.fullmatch(presented.strip())
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


# The latest expiry a key may have: the last second every datetime library can represent.
LATEST_EXPIRY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def expiry_problem(expires: datetime, now: datetime) -> str | None:
    """Why ``expires`` (aware) cannot be a new key's expiry, or None if it can.

    It must lie after ``now`` (a key born expired is useless) and, in UTC, no later than
    ``LATEST_EXPIRY``; offsets that push a year-1 or year-9999 time out of range are refused
    here rather than stored.
    """
    allowed = f"after now and at most {LATEST_EXPIRY.isoformat().replace('+00:00', 'Z')}"
    try:
        utc = expires.astimezone(UTC)
    except OverflowError:
        return f"expires must be {allowed}; {expires.isoformat()} is out of range in UTC"
    if utc > LATEST_EXPIRY:
        return f"expires must be {allowed}; got {expires.isoformat()}"
    if utc <= now:
        return f"expires must be {allowed}; {expires.isoformat()} has already passed"
    return None
