"""The bounded memo: values kept per key, emptied when full."""

from __future__ import annotations

from iocfeed.memo import Memo


def test_values_are_kept_per_key_and_the_memo_stays_bounded() -> None:
    memo: Memo[str] = Memo(capacity=2)
    assert memo.get(1) is None
    assert memo.put(1, "one") == "one"
    memo.put(2, "two")
    assert (memo.get(1), memo.get(2)) == ("one", "two")
    memo.put(3, "three")  # full: emptied first, then 3 kept
    assert (memo.get(1), memo.get(2), memo.get(3)) == (None, None, "three")
