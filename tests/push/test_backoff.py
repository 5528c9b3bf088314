"""Retry waits grow exponentially to a cap, with jitter in the upper half."""

from __future__ import annotations

import pytest

from iocfeed.push.backoff import retry_delay


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 5, 10), (2, 10, 20), (3, 20, 40), (4, 40, 80), (10, 50, 100), (500, 50, 100)],
)
def test_bounds(attempt: int, low: float, high: float) -> None:
    assert retry_delay(attempt, base=10, cap=100, jitter=0.0) == low
    assert retry_delay(attempt, base=10, cap=100, jitter=0.999999) == pytest.approx(high, 1e-5)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(0, base=1, cap=2, jitter=0.5)
