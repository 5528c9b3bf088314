"""When to try a failed delivery again: exponential backoff with jitter.

The n-th retry (n = 1, 2, …) waits ``min(cap, base × 2^(n-1))``, of which the upper half
is random ("equal jitter"): waits grow, yet receivers that failed together are not all
hit again at the same instant.
"""

from __future__ import annotations


def retry_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait before retry ``attempt`` (1-based); ``jitter`` is uniform in [0, 1)."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return ceiling / 2 + ceiling / 2 * jitter
