"""The status resource (§4.3.1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from iocfeed.taxii.status import StatusDetails, status_resource

STATUS_ID = "2d086da7-4bdc-4f91-900e-d77486753710"
WHEN = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
OK = StatusDetails("indicator--c410e480-e42b-47d1-9476-85307c12bcbf", "2026-05-01T11:00:00.000Z")
BAD = StatusDetails(
    "indicator--664fa29d-bf65-4f28-a667-bdb76f29ec98",
    "2026-05-01T11:00:00.000Z",
    "sha256 must be 64 hex characters, got 63",
)


def test_complete_request() -> None:
    body = status_resource(id=STATUS_ID, request_timestamp=WHEN, successes=[OK], failures=[BAD])
    assert body == {
        "id": STATUS_ID,
        "status": "complete",
        "request_timestamp": "2026-05-01T12:00:00.000000Z",
        "total_count": 2,
        "success_count": 1,
        "successes": [{"id": OK.id, "version": OK.version}],
        "failure_count": 1,
        "failures": [{"id": BAD.id, "version": BAD.version, "message": BAD.message}],
        "pending_count": 0,
    }


def test_empty_lists_are_omitted() -> None:
    body = status_resource(id=STATUS_ID, request_timestamp=None)
    assert body == {
        "id": STATUS_ID,
        "status": "complete",
        "total_count": 0,
        "success_count": 0,
        "failure_count": 0,
        "pending_count": 0,
    }


def test_pendings_make_it_pending() -> None:
    body = status_resource(id=STATUS_ID, request_timestamp=WHEN, pendings=[OK])
    assert body["status"] == "pending"
    assert body["pending_count"] == 1
    assert body["pendings"] == [{"id": OK.id, "version": OK.version}]


def test_objects_not_yet_accounted_for_are_pending() -> None:
    body = status_resource(id=STATUS_ID, request_timestamp=WHEN, successes=[OK], total_count=4)
    assert (body["status"], body["total_count"], body["pending_count"]) == ("pending", 4, 3)


def test_total_cannot_be_below_the_details() -> None:
    with pytest.raises(ValueError, match="total_count"):
        status_resource(id=STATUS_ID, request_timestamp=WHEN, successes=[OK, OK], total_count=1)
