"""Failed sign-ins: free, then slowed (doubling), then locked; forgotten after a quiet window."""

from __future__ import annotations

import pytest

from iocfeed.accounts.people import canonical_email
from iocfeed.accounts.throttle import ThrottlePolicy, block_seconds, failures_now

POLICY = ThrottlePolicy(
    free_failures=3, first_delay=1.0, lock_failures=10, lock_seconds=900, window_seconds=3600
)


@pytest.mark.parametrize(
    ("failures", "wait"),
    [(0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 4), (9, 64), (10, 900), (50, 900)],
)
def test_failures_are_free_then_slowed_then_locked(failures: int, wait: float) -> None:
    assert block_seconds(failures, POLICY) == wait


def test_a_delay_never_exceeds_the_lock() -> None:
    steep = ThrottlePolicy(0, 100.0, 100, 300, 3600)
    assert block_seconds(5, steep) == 300


def test_failures_are_forgotten_after_a_quiet_window() -> None:
    assert failures_now(7, 3599, POLICY) == 7
    assert failures_now(7, 3600, POLICY) == 0


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Alice@Example.ORG", "alice@example.org"),
        ("  bob@example.org ", "bob@example.org"),
        ("no-at-sign.example.org", None),
        ("two@@example.org", None),
        ("space in@example.org", None),
        ("nodot@localhost", None),
        ("a" * 65 + "@example.org", None),
    ],
)
def test_email_addresses_are_stored_in_one_case(typed: str, stored: str | None) -> None:
    assert canonical_email(typed) == stored
