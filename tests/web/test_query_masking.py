"""The access log's query string: a key given in the URL never reaches the log."""

from __future__ import annotations

import pytest

from iocfeed.web.middleware import masked_query


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        (b"", ""),
        (b"type=domain", "type=domain"),
        (b"type=domain&key=iocf_abc_secret", "type=domain&key=***"),
        (b"KEY=iocf_abc_secret&limit=5", "KEY=***&limit=5"),
        (b"%6Bey=iocf_abc_secret", "%6Bey=***"),  # percent-encoded name
        (b"key=a&key=b", "key=***&key=***"),
        (b"monkey=1&key", "monkey=1&key"),  # no value, nothing to hide
    ],
)
def test_key_values_are_masked(raw: bytes, logged: str) -> None:
    assert masked_query(raw) == logged
