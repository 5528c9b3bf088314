"""How reasons quote values, and the whitespace / control-character check."""

from __future__ import annotations

import pytest

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.reasons import is_printable, reject_empty, reject_unprintable, shown


def test_shown_quotes_and_shortens() -> None:
    assert shown("evil.com") == "'evil.com'"
    assert shown("x" * 81) == repr("x" * 80 + "…")


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("a b", "whitespace (' ' at position 1)"),
        ("a\u00a0b", "whitespace ('\\xa0' at position 1)"),
        ("a\x00b", "a control character ('\\x00' at position 1)"),
        ("ab\x7f", "a control character ('\\x7f' at position 2)"),
        ("a\u200bb", "a control character ('\\u200b' at position 1)"),
        ("\ufeffab", "a control character ('\\ufeff' at position 0)"),
    ],
)
def test_unprintable_values_are_rejected(value: str, what: str) -> None:
    assert not is_printable(value)
    with pytest.raises(InvalidIndicator) as caught:
        reject_unprintable("domain", value)
    assert caught.value.message == f"{value!r} is not a valid domain: it contains {what}"


def test_printable_values_pass() -> None:
    assert is_printable("hxxp://bücher.de/ä?x=1")
    reject_unprintable("URL", "http://evil.com/")


def test_empty() -> None:
    with pytest.raises(InvalidIndicator, match=r"^empty md5 value$"):
        reject_empty("md5", "")
    reject_empty("md5", "0")
