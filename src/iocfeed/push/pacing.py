"""Keeping under a request rate (Sentinel's upload API: 100 requests per minute) and reading
how long a throttled answer asks to wait.

A sliding window: a request may go when fewer than ``limit`` were sent in the last
``window`` seconds; else it waits until the oldest of them leaves the window.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping

_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


class Window:
    """The times of the requests sent in the last ``window`` seconds (monotonic clock)."""

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a window needs a positive limit and length")
        self.limit = limit
        self.window = window
        self._sent: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds to wait from ``now`` before the next request may go."""
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        if len(self._sent) < self.limit:
            return 0.0
        return self._sent[0] + self.window - now

    def sent(self, now: float) -> None:
        """Record a request sent at ``now``."""
        self._sent.append(now)


def retry_after(headers: Mapping[str, str], body: str, *, default: float) -> float:
    """The wait a 429 asks for: ``Retry-After`` seconds, else "Try again in N seconds" in the
    body (Sentinel's message), else ``default``; never negative, at most an hour."""
    raw = headers.get("retry-after", "").strip()
    seconds: float | None = None
    try:
        seconds = float(raw) if raw else None
    except ValueError:
        seconds = None
    if seconds is None:
        found = _TRY_AGAIN.search(body)
        seconds = float(found.group(1)) if found else default
    return max(0.0, min(seconds, 3600.0))
