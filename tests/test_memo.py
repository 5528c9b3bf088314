"""The bounded memo: made once per key, emptied when full."""

from __future__ import annotations

from iocfeed.memo import Memo


def test_values_are_made_once_per_key_and_the_memo_stays_bounded() -> None:
    made: list[int] = []
    memo: Memo[str] = Memo(capacity=3)

    def make(n: int) -> str:
        made.append(n)
        return f"value {n}"

    assert [memo.get(n, lambda n=n: make(n)) for n in (1, 2, 1, 3, 2)] == [
        "value 1",
        "value 2",
        "value 1",
        "value 3",
        "value 2",
    ]
    assert made == [1, 2, 3]
    memo.get(4, lambda: make(4))  # full: emptied, then 4 kept
    memo.get(1, lambda: make(1))
    assert made == [1, 2, 3, 4, 1]
