"""TAXII resource bodies carry the spec's required properties and never an empty list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.taxii.collections import COLLECTIONS, resource
from iocfeed.taxii.media import STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE
from iocfeed.taxii.resources import (
    api_root,
    collections,
    date_added_headers,
    discovery,
    envelope,
    envelope_bytes,
    error,
    manifest,
    manifest_record,
    versions,
)
from iocfeed.taxii.timestamps import parse_timestamp

T0 = datetime(2026, 5, 1, 12, 0, 0, 5, tzinfo=UTC)
T1 = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
OBJECT = {"type": "indicator", "id": "indicator--252c7c11-daf2-42bd-843b-be65edca9f61"}

# (body, its required properties) per the property tables of TAXII 2.1.
REQUIRED: list[tuple[str, dict[str, Any], set[str]]] = [
    ("discovery §4.1.1", discovery(title="iocfeed", api_root="/taxii2/api/"), {"title"}),
    (
        "api-root §4.2.1",
        api_root(title="iocfeed", max_content_length=10_485_760),
        {"title", "versions", "max_content_length"},
    ),
    (
        "collection §5.2.1",
        resource(COLLECTIONS[0], can_read=True, can_write=False),
        {"id", "title", "can_read", "can_write"},
    ),
    (
        "manifest-record §5.3.1",
        manifest_record(id=OBJECT["id"], date_added=T0, version="2026-05-01T11:00:00.000Z"),
        {"id", "date_added", "version"},
    ),
    ("error §3.6.1", error(title="Bad request", http_status=400), {"title"}),
]


@pytest.mark.parametrize(("name", "body", "required"), REQUIRED, ids=[r[0] for r in REQUIRED])
def test_required_properties(name: str, body: dict[str, Any], required: set[str]) -> None:
    assert required <= body.keys(), name
    orjson.dumps(body)  # JSON-ready as it is


def _no_empty_lists(value: object) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_no_empty_lists(item) for item in value)
    if isinstance(value, dict):
        return all(_no_empty_lists(item) for item in value.values())
    return True


def test_discovery() -> None:
    body = discovery(
        title="iocfeed",
        description="SOC feed",
        contact="soc@example.com",
        api_root="https://feed.example.com/taxii2/api/",
    )
    assert body == {
        "title": "iocfeed",
        "description": "SOC feed",
        "contact": "soc@example.com",
        "default": "https://feed.example.com/taxii2/api/",
        "api_roots": ["https://feed.example.com/taxii2/api/"],
    }


@pytest.mark.parametrize("bad", ["//evil.example/api/", "../api/", "/api/?x=1"])
def test_discovery_refuses_invalid_api_roots(bad: str) -> None:
    with pytest.raises(ValueError, match="API root"):
        discovery(title="iocfeed", api_root=bad)


def test_api_root_speaks_taxii_2_1() -> None:
    body = api_root(title="iocfeed", description="Indicators", max_content_length=1024)
    assert body == {
        "title": "iocfeed",
        "description": "Indicators",
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": 1024,
    }
    with pytest.raises(ValueError, match="positive"):
        api_root(title="iocfeed", max_content_length=0)


def test_collections_wrapper() -> None:
    listed = [resource(c, can_read=True, can_write=False) for c in COLLECTIONS]
    assert collections(listed) == {"collections": listed}
    assert collections([]) == {}


@pytest.mark.parametrize(
    ("objects", "more", "token", "expected"),
    [
        ([], False, None, {"more": False}),
        ([], True, "abc", {"more": True, "next": "abc"}),
        ([OBJECT], False, "ignored", {"more": False, "objects": [OBJECT]}),
        ([OBJECT], True, None, {"more": True, "objects": [OBJECT]}),
        ([OBJECT], True, "abc", {"more": True, "next": "abc", "objects": [OBJECT]}),
    ],
)
def test_envelope(
    objects: list[dict[str, str]], more: bool, token: str | None, expected: dict[str, Any]
) -> None:
    assert envelope(objects, more=more, next_token=token) == expected
    joined = envelope_bytes([orjson.dumps(o) for o in objects], more, token)
    assert orjson.loads(joined) == expected


def test_envelope_bytes_escapes_the_token() -> None:
    joined = envelope_bytes([], True, 'a"b\\c')
    assert orjson.loads(joined) == {"more": True, "next": 'a"b\\c'}


json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text()
stix_like = st.dictionaries(st.text(min_size=1), json_scalars, max_size=5)


@given(st.lists(stix_like, max_size=20), st.booleans(), st.none() | st.text(max_size=40))
def test_envelope_bytes_matches_envelope(
    objects: list[dict[str, Any]], more: bool, token: str | None
) -> None:
    joined = envelope_bytes([orjson.dumps(o) for o in objects], more, token)
    assert orjson.loads(joined) == envelope(objects, more=more, next_token=token)


def test_manifest() -> None:
    record = manifest_record(id=OBJECT["id"], date_added=T0, version="2026-05-01T11:00:00.000Z")
    assert record == {
        "id": OBJECT["id"],
        "date_added": "2026-05-01T12:00:00.000005Z",
        "version": "2026-05-01T11:00:00.000Z",
        "media_type": STIX_MEDIA_TYPE,
    }
    assert manifest([record], more=True, next_token="t") == {
        "more": True,
        "next": "t",
        "objects": [record],
    }
    assert manifest([], more=False, next_token=None) == {"more": False}


def test_versions() -> None:
    listed = ["2016-11-03T12:30:59.000Z", "2016-11-03T12:31:00.000Z"]
    assert versions(listed, more=False, next_token=None) == {"more": False, "versions": listed}
    assert versions([], more=True, next_token="t") == {"more": True, "next": "t"}


def test_error_resource() -> None:
    body = error(
        title="Invalid query",
        http_status=400,
        description="limit must be a positive integer",
        error_id="e-1",
        error_code="invalid_query",
        external_details="https://docs.example.com/errors#invalid_query",
        details={"parameter": "limit"},
    )
    assert body == {
        "title": "Invalid query",
        "description": "limit must be a positive integer",
        "error_id": "e-1",
        "error_code": "invalid_query",
        "http_status": "400",
        "external_details": "https://docs.example.com/errors#invalid_query",
        "details": {"parameter": "limit"},
    }
    assert error(title="Not found", http_status=404) == {
        "title": "Not found",
        "http_status": "404",
    }


def test_date_added_headers() -> None:
    headers = date_added_headers(T0, T1)
    assert headers == {
        "X-TAXII-Date-Added-First": "2026-05-01T12:00:00.000005Z",
        "X-TAXII-Date-Added-Last": "2026-05-01T12:30:00.000000Z",
    }
    last = headers["X-TAXII-Date-Added-Last"]
    assert parse_timestamp(last, parameter="added_after") == T1
    assert date_added_headers(None, None) == {}


def test_no_builder_emits_an_empty_list() -> None:
    bodies = [body for _, body, _ in REQUIRED] + [
        envelope([], more=False, next_token=None),
        manifest([], more=False, next_token=None),
        versions([], more=False, next_token=None),
        collections([]),
    ]
    assert all(_no_empty_lists(body) for body in bodies)
