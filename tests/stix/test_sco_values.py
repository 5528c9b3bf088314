"""SCO values: URLs in URI form and email addresses the STIX tools accept."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rfc3986_validator import validate_rfc3986  # type: ignore[import-untyped]

from iocfeed.stix.sco_values import email_sco_value, url_sco_value

from .factories import bundle_of
from .judges import validation_messages


def sco(sco_type: str, value: str) -> dict[str, str]:
    # The id is shaped as a UUIDv5; the validator does not recompute it.
    uuid5 = "00000000-0000-5000-8000-000000000000"
    return {"type": sco_type, "spec_version": "2.1", "id": f"{sco_type}--{uuid5}", "value": value}


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example/",
        "https://user:pw@evil.example:8443/a/b;c?d=e&f=%20#frag",
        "http://[2001:db8::1]/x",
        "ftp://evil.example/o'brien(1)*",
    ],
)
def test_uris_are_kept_as_they_are(url: str) -> None:
    assert url_sco_value(url) == url


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        ("http://evil.example/a b", "http://evil.example/a%20b"),
        ("http://evil.example/путь", "http://evil.example/%D0%BF%D1%83%D1%82%D1%8C"),
        ("http://evil.example/100%", "http://evil.example/100%25"),
        ("http://evil.example/a\\b", "http://evil.example/a%5Cb"),
        ('http://evil.example/?q="<x>"', "http://evil.example/?q=%22%3Cx%3E%22"),
        ("http://evil.example/#a#b", "http://evil.example/#a%23b"),
        ("http://evil.example/x[1]", "http://evil.example/x%5B1%5D"),
    ],
)
def test_non_uri_characters_are_percent_encoded(url: str, uri: str) -> None:
    assert url_sco_value(url) == uri


@given(
    scheme=st.sampled_from(["http", "https", "ftp"]),
    host=st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}", fullmatch=True),
    rest=st.tuples(st.sampled_from("/?#"), st.text()).map("".join),
)
@example(scheme="http", host="evil.example", rest="/%zz%4\x00 '\"\\?#?#")
def test_every_url_becomes_a_uri_the_validator_accepts(scheme: str, host: str, rest: str) -> None:
    # rfc3986-validator is what stix2-validator checks url values with.
    uri = url_sco_value(f"{scheme}://{host}{rest}")
    assert validate_rfc3986(uri, rule="URI")


def test_the_validator_needs_the_uri_form() -> None:
    # Why url SCOs do not carry a stored URL with a space as it is.
    assert validation_messages(bundle_of([sco("url", "http://evil.example/a b")])) != []
    assert validation_messages(bundle_of([sco("url", "http://evil.example/a%20b")])) == []


@pytest.mark.parametrize(
    "address", ["phish@evil.example", "first.last+tag@xn--mnchen-3ya.example", "a_b-c@x-y.example"]
)
def test_plain_addresses_have_an_sco(address: str) -> None:
    assert email_sco_value(address) == address
    assert validation_messages(bundle_of([sco("email-addr", address)])) == []


@pytest.mark.parametrize("address", ["o'brien@evil.example", "ü@evil.example", "a@[192.0.2.1]"])
def test_addresses_the_validator_refuses_have_none(address: str) -> None:
    assert email_sco_value(address) is None
    assert validation_messages(bundle_of([sco("email-addr", address)])) != []
