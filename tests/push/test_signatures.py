"""The webhook signature scheme, checked the way a receiver checks it."""

from __future__ import annotations

import hashlib
import hmac

from iocfeed.push.signatures import sign, verify, webhook_secret

SECRET = "whsec_test"
BODY = b'{"delivery_id": 1}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_receiver_accepts_and_refuses() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert verify(header, SECRET, BODY, now=1_700_000_010)
    assert not verify(header, "whsec_other", BODY, now=1_700_000_010)
    assert not verify(header, SECRET, BODY + b" ", now=1_700_000_010)
    assert not verify(header, SECRET, BODY, now=1_700_000_000 + 301)  # a replay
    assert not verify("v1=abc", SECRET, BODY, now=1_700_000_000)
    rotated = header + ",v1=" + "0" * 64
    assert verify(rotated, SECRET, BODY, now=1_700_000_000)


def test_secret_derives_from_server_secret_and_salt() -> None:
    first = webhook_secret(b"s" * 32, "aa")
    assert first.startswith("whsec_")
    assert first == webhook_secret(b"s" * 32, "aa")
    assert first != webhook_secret(b"s" * 32, "ab")
    assert first != webhook_secret(b"t" * 32, "aa")
