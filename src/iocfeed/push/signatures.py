"""Webhook signatures: HMAC-SHA256 over a timestamp and the body, in one header.

The scheme (Stripe's): the header ``X-Iocfeed-Signature: t=<unix seconds>,v1=<hex>``,
where ``<hex>`` is HMAC-SHA256, keyed with the webhook's secret (its text, UTF-8), of
``"<t>." + body``. A receiver recomputes it over the raw body, compares in constant time,
and refuses a ``t`` more than a few minutes from its clock (replays). Several ``v1``
entries may appear while a secret is being changed; any one matching is enough.

The secret is shown once, when the webhook is made. It is not stored: the store keeps a
random salt and the secret is derived from it and the server secret
(``HMAC-SHA256(server secret, "iocfeed webhook secret" 0 salt)``), so a copy of the
database alone (without a configured ``secret_key``) does not reveal it, and the worker
that signs derives it again when it needs it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

HEADER = "X-Iocfeed-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
TOLERANCE_SECONDS = 300
_PURPOSE = b"iocfeed webhook secret\0"


def new_salt() -> str:
    """A random salt (256 bits) for a new webhook's secret."""
    return secrets.token_hex(32)


def webhook_secret(server_secret: bytes, salt: str) -> str:
    """The secret of the webhook with ``salt`` (module notes)."""
    digest = hmac.new(server_secret, _PURPOSE + salt.encode("ascii"), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(
    header: str, secret: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` at a time within ``tolerance`` of
    ``now``: what a receiver does (the tests' receivers use it)."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
