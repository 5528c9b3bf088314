"""A bounded memo for values derived from data that never changes once written.

Stored versions are immutable, so what is derived from them (decoded rows, built STIX
objects) can be kept and reused while a feed's consumers keep asking for the same newest
objects. When the memo is full it is emptied at once: cheaper per call than an LRU's
bookkeeping, which costs more than it saves on a walk that never repeats itself.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._values: dict[Hashable, V] = {}

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value kept for ``key``, made (and kept) on first use."""
        value = self._values.get(key)
        if value is None:
            if len(self._values) >= self.capacity:
                self._values.clear()
            value = self._values[key] = make()
        return value
