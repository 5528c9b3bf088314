"""Who performs a change, as the audit trail records it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """A person signed in to the pages (``user_id``), a key (``key_id``) or the operator at
    the command line (neither)."""

    user_id: int | None = None
    key_id: str | None = None


OPERATOR = Actor()
"""The operator running ``iocfeed`` commands on the server."""
