"""The request window and the 429 wait."""

from __future__ import annotations

from iocfeed.push.pacing import Window, retry_after


def test_window_waits_for_the_oldest_request_to_leave() -> None:
    window = Window(limit=3, window=60)
    for at in (0.0, 1.0, 2.0):
        assert window.wait(at) == 0
        window.sent(at)
    assert window.wait(10.0) == 50.0
    assert window.wait(60.0) == 0
    window.sent(60.0)
    assert window.wait(60.5) == 0.5


def test_retry_after() -> None:
    assert retry_after({"retry-after": "7"}, "", default=1) == 7
    message = '{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 12 seconds."}'
    assert retry_after({}, message, default=1) == 12
    assert retry_after({"retry-after": "soon"}, "", default=3) == 3
    assert retry_after({"retry-after": "99999"}, "", default=3) == 3600
