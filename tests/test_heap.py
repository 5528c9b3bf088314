"""The collector of a settled process: what it holds frozen, rarer passes, cycles still freed."""

from __future__ import annotations

import gc
import weakref

from iocfeed.heap import YOUNG_THRESHOLD, settled


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_settled_freezes_what_exists_and_restores_the_threshold() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    with settled():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before


def test_cycles_made_while_settled_are_still_collected() -> None:
    with settled():
        first, second = _Node(), _Node()
        first.other, second.other = second, first
        freed = weakref.ref(first)
        del first, second
        assert freed() is not None  # a cycle: reference counting alone cannot free it
        kept = [[] for _ in range(2 * YOUNG_THRESHOLD)]  # noqa: F841 (allocations count)
        assert freed() is None
