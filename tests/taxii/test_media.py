"""Content negotiation: which Accept and Content-Type headers get TAXII 2.1 (§1.6.8, §3.1)."""

from __future__ import annotations

import pytest

from iocfeed.taxii.media import (
    STIX_MEDIA_TYPE,
    TAXII_MEDIA_TYPE,
    acceptable,
    content_type_ok,
    parse_media_range,
)

ACCEPTED = [
    None,
    "",
    "   ",
    TAXII_MEDIA_TYPE,
    "application/taxii+json",
    "application/taxii+json; version=2.1",
    "application/taxii+json ; version = 2.1",
    'application/taxii+json;version="2.1"',
    "Application/TAXII+JSON;Version=2.1",
    "application/taxii+json;charset=utf-8;version=2.1",
    "*/*",
    "application/*",
    "text/html, */*;q=0.1",
    "application/json, application/taxii+json;version=2.1",
    "application/taxii+json;version=2.1,application/stix+json;version=2.1",
    "application/taxii+json;version=2.0, application/taxii+json;version=2.1;q=0.5",
    "application/taxii+json;version=2.1;q=0.001",
    "application/taxii+json;q=1.0",
    "garbage, application/taxii+json",
    "application/taxii+json;version=2.1;q=0.5;ext=1",
    "*/*;q=0, application/taxii+json",  # the more specific range decides
    "application/taxii+json;q=0.5, application/taxii+json;q=0",  # same specificity: best q
]

REFUSED = [
    "application/json",
    "text/html",
    "application/xml, text/plain",
    "application/taxii+json;version=2.0",
    "application/taxii+json;version=3.0",
    "application/taxii+json;version=2",
    "application/stix+json;version=2.1",
    "application/vnd.oasis.stix+json; version=2.0",
    "application/vnd.oasis.taxii+json; version=2.0",
    "application/taxii+json;q=0",
    "application/taxii+json;version=2.1;q=0",
    "application/taxii+json;q=0, */*",  # explicitly refused, although */* would do
    "application/taxii+json;version=2.1;q=0, application/*",
    "*/*;q=0",
    "text/*",
    "application",
    "taxii+json",
    "application/taxii+json;q=2",  # an invalid weight makes the range malformed
    "application/taxii+json;q=abc",
    "application/taxii+json;version",
    ",,,",
]


@pytest.mark.parametrize("header", ACCEPTED)
def test_accepted(header: str | None) -> None:
    assert acceptable(header) is True


@pytest.mark.parametrize("header", REFUSED)
def test_refused(header: str) -> None:
    assert acceptable(header) is False


def test_the_table_is_big_enough() -> None:
    assert len(ACCEPTED) + len(REFUSED) >= 40


@pytest.mark.parametrize(
    "content_type",
    [
        TAXII_MEDIA_TYPE,
        "application/taxii+json",
        "application/taxii+json; version=2.1",
        "application/taxii+json;charset=utf-8;version=2.1",
        "APPLICATION/TAXII+JSON;VERSION=2.1",
        'application/taxii+json;version="2.1"',
    ],
)
def test_post_bodies_accepted(content_type: str) -> None:
    assert content_type_ok(content_type) is True


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        STIX_MEDIA_TYPE,  # a bundle is not an envelope (§5.5)
        "application/json",
        "application/taxii+json;version=2.0",
        "*/*",
        "application/*",
        "text/plain",
        "application/taxii+json, application/json",
        "multipart/form-data; boundary=x",
    ],
)
def test_post_bodies_refused(content_type: str | None) -> None:
    assert content_type_ok(content_type) is False


def test_media_range_parsing() -> None:
    media = parse_media_range(' Application/Taxii+JSON ; Version="2.1" ; q=0.4 ; foo=bar')
    assert media is not None
    assert (media.type, media.subtype, media.params, media.q) == (
        "application",
        "taxii+json",
        {"version": "2.1"},
        0.4,
    )
