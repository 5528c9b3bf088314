"""The OASIS client (taxii2-client) adding objects: a value above the key's TLP cannot be
declassified, revoked or detected through Add Objects (SPEC §4)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from requests.exceptions import HTTPError
from taxii2client.v21 import Collection

from iocfeed.indicators.model import Confidence, IocType, Tlp
from iocfeed.stix.markings import TLP_2
from iocfeed.taxii.collections import ALL_COLLECTION_ID, SUBMISSIONS_COLLECTION_ID
from tests.conformance.conftest import LiveServer, serve
from tests.factories import ioc

SECRET = ioc(IocType.DOMAIN, "redsecret.example", confidence=Confidence.HIGH, tlp=Tlp.RED)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own: this module writes."""
    for server in serve(tmp_path_factory.mktemp("live-writes")):
        server.services.indicators.write([SECRET], datetime.now(UTC))
        yield server


def envelope(value: str, number: int, **extra: Any) -> dict[str, Any]:
    return {
        "objects": [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--21111111-2222-4333-8444-{number:012d}",
                "created": "2026-01-01T00:00:00.000Z",
                "modified": "2026-01-01T00:00:00.000Z",
                "pattern": f"[domain-name:value = '{value}']",
                "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00Z",
                **extra,
            }
        ]
    }


def answer(status: Any) -> str:
    """The status as the client read it, without what differs between any two fresh adds."""
    seen = {key: getattr(status, key) for key in ("status", "total_count", "success_count",
            "failure_count", "pending_count", "successes", "failures", "pendings")}  # fmt: skip
    return _UUID.sub("<uuid>", repr(seen))


@pytest.mark.parametrize(
    ("number", "extra"),
    [(10, {"object_marking_refs": [TLP_2[Tlp.CLEAR][0]]}), (20, {"revoked": True})],
    ids=["clear-marking", "revoked"],
)
def test_add_objects_cannot_touch_or_detect_a_red_indicator(
    live: LiveServer, number: int, extra: dict[str, Any]
) -> None:
    before = live.services.search.current(SECRET.type, SECRET.value)
    submissions = Collection(
        f"{live.api_root}collections/{SUBMISSIONS_COLLECTION_ID}/", user="u", password=live.key
    )
    hidden = submissions.add_objects(envelope(SECRET.value, number, **extra))
    fresh = submissions.add_objects(envelope("fresh.example", number + 1, **extra))
    assert hidden.status == "complete" and hidden.success_count == 1
    assert answer(hidden) == answer(fresh)
    assert live.services.search.current(SECRET.type, SECRET.value) == before
    reader = Collection(
        f"{live.api_root}collections/{ALL_COLLECTION_ID}/", user="u", password=live.key
    )
    assert before is not None
    with pytest.raises(HTTPError) as refused:
        reader.get_object(before.stix_id)
    assert refused.value.response.status_code == 404
