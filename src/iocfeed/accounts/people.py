"""Pure: who signs in (users, roles, site roles) and what a well-formed e-mail address is."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    """A person's role in their account: owners manage its people and keys."""

    OWNER = "owner"
    MEMBER = "member"


class SiteRole(enum.StrEnum):
    """A person's role on the service itself (SPEC §4)."""

    ADMIN = "admin"  # runs the service: accounts, users, audit trail, health
    ANALYST = "analyst"  # curates indicators
    NONE = "none"


@dataclass(frozen=True, slots=True)
class User:
    """A person who signs in to the pages; never carries the password hash or TOTP secret."""

    user_id: int
    email: str
    account_id: int
    role: Role
    site_role: SiteRole
    totp_enabled: bool
    disabled: bool
    created: datetime

    @property
    def is_admin(self) -> bool:
        return self.site_role is SiteRole.ADMIN


MAX_EMAIL = 320
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


def canonical_email(text: str) -> str | None:
    """The e-mail address as stored (trimmed, lower case: unique whatever the case it is
    typed in), or None if it is not a plausible address."""
    email = text.strip().lower()
    if len(email) > MAX_EMAIL or not email.isprintable() or not _EMAIL.fullmatch(email):
        return None
    return email
