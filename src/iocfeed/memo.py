"""A bounded memo for values derived from data that never changes once written.

Stored versions are immutable, so what is derived from them (decoded rows, built STIX
objects) can be kept and reused while a feed's consumers keep asking for the same newest
objects. When the memo is full it is emptied at once: cheaper per call than an LRU's
bookkeeping, which costs more than it saves on a walk that never repeats itself.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._values: dict[Hashable, V] = {}
        # Bound once: these run for every row of every page.
        self.get = self._values.get

    def put(self, key: Hashable, value: V) -> V:
        """Keep ``value`` for ``key`` (emptying the memo first when it is full)."""
        if len(self._values) >= self.capacity:
            self._values.clear()
        self._values[key] = value
        return value
