"""Pure: how repeated failed sign-ins are slowed, then locked (per user and per address).

Each subject (a user's e-mail, a client address) has a count of recent failures. The first
``free_failures`` cost nothing; each later one blocks the subject's next attempt for
``first_delay`` seconds, doubling per failure; at ``lock_failures`` the subject is locked
for ``lock_seconds``. Failures older than ``window_seconds`` are forgotten, and a successful
sign-in clears the user's count. Nothing sleeps on the server: an attempt inside a block is
refused at once with the seconds to wait, so an attacker cannot tie up workers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free_failures: int
    first_delay: float
    lock_failures: int
    lock_seconds: float
    window_seconds: float


def failures_now(failures: int, since_last_failure: float, policy: ThrottlePolicy) -> int:
    """The count still remembered ``since_last_failure`` seconds after the last failure."""
    return 0 if since_last_failure >= policy.window_seconds else failures


def block_seconds(failures: int, policy: ThrottlePolicy) -> float:
    """How long a subject with ``failures`` recent failures must wait before trying again."""
    if failures >= policy.lock_failures:
        return policy.lock_seconds
    if failures < policy.free_failures:
        return 0.0
    return min(policy.first_delay * 2.0 ** (failures - policy.free_failures), policy.lock_seconds)
