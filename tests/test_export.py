"""The export use case: parameter rules, the plan's limits, order, versions and the ETag,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from iocfeed.errors import InvalidQuery, LimitExceeded
from iocfeed.export import (
    DEFAULT_LIMIT,
    ExportFormat,
    ExportRequest,
    ExportResult,
    parse_export_request,
    run_export,
)
from iocfeed.indicators.model import Confidence, IocType, Tlp
from iocfeed.stix.ids import new_stix_id
from iocfeed.stix.objects import ExportOptions, Producer
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.search import IndicatorSearch
from tests.factories import T0, ioc

PRODUCER = Producer(identity_id="identity--6a8f9f3e-4c1b-4d63-9a57-2f3d9b0c7e21")
LATER = T0 + timedelta(days=10)

# --- parameters -------------------------------------------------------------------------------


def test_defaults() -> None:
    assert parse_export_request() == ExportRequest(
        types=frozenset(),
        since=None,
        limit=DEFAULT_LIMIT,
        format=ExportFormat.BUNDLE,
        options=ExportOptions(
            include_identity=True,
            include_markings=True,
            tlp=None,
            tlp_version=2,
            include_observables=False,
        ),
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"type": ["ipv4"]}, {"types": frozenset({IocType.IPV4})}),
        ({"type": "ipv4, DOMAIN"}, {"types": frozenset({IocType.IPV4, IocType.DOMAIN})}),
        ({"type": ["url", "md5,sha1", ""]}, {"types": {IocType.URL, IocType.MD5, IocType.SHA1}}),
        ({"since": "2026-05-15"}, {"since": datetime(2026, 5, 15, tzinfo=UTC)}),
        ({"since": "2026-05-15T02:00:00+02:00"}, {"since": datetime(2026, 5, 15, tzinfo=UTC)}),
        ({"limit": "1"}, {"limit": 1}),
        ({"limit": 1000}, {"limit": 1000}),
        ({"format": "objects"}, {"format": ExportFormat.OBJECTS}),
        ({"format": "BUNDLE"}, {"format": ExportFormat.BUNDLE}),
        ({"include_identity": "false"}, {"include_identity": False}),
        ({"include_markings": False}, {"include_markings": False}),
        ({"include_observables": "TRUE"}, {"include_observables": True}),
        ({"tlp": "amber+strict"}, {"tlp": Tlp.AMBER_STRICT}),
        ({"tlp": "amber strict"}, {"tlp": Tlp.AMBER_STRICT}),  # '+' decoded as a space
        ({"tlp": "Clear"}, {"tlp": Tlp.CLEAR}),
        ({"tlp_version": "1"}, {"tlp_version": 1}),
        ({"tlp_version": 2}, {"tlp_version": 2}),
    ],
)
def test_good_values(given: dict[str, Any], expected: dict[str, Any]) -> None:
    parsed = parse_export_request(**given)
    for name, value in expected.items():
        holder = parsed.options if hasattr(parsed.options, name) else parsed
        found = getattr(holder, name)
        assert found == (frozenset(value) if isinstance(value, set) else value)


@pytest.mark.parametrize(
    ("given", "parameter", "words"),
    [
        ({"type": "ipv4,hash"}, "type", "type must be one of ipv4, ipv6"),
        ({"since": "yesterday"}, "since", "ISO 8601"),
        ({"since": "99999-01-01"}, "since", "since"),
        ({"limit": 0}, "limit", "between 1 and 1000"),
        ({"limit": "-5"}, "limit", "between 1 and 1000"),
        ({"limit": "ten"}, "limit", "integer"),
        ({"format": "xml"}, "format", "bundle, objects"),
        ({"include_identity": "yes please"}, "include_identity", "true or false"),
        ({"include_markings": "1"}, "include_markings", "true or false"),
        ({"include_observables": "no"}, "include_observables", "true or false"),
        ({"tlp": "white"}, "tlp", "clear, green, amber, amber+strict, red"),
        ({"tlp_version": "3"}, "tlp_version", "1 or 2"),
        ({"tlp_version": "two"}, "tlp_version", "1 or 2"),
        ({"min_confidence": "certain"}, "min_confidence", "high, medium, low"),
        ({"max_tlp": "white"}, "max_tlp", "clear, green"),
        ({"tag": "x" * 201}, "tag", "1 to 200"),
        ({"tag": "a\x00b"}, "tag", "without NUL"),
    ],
)
def test_bad_values_name_the_parameter(given: dict[str, Any], parameter: str, words: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        parse_export_request(**given)
    assert raised.value.parameter == parameter
    assert words in raised.value.message


@pytest.mark.parametrize(("limit", "cap"), [(1001, 1000), ("5000", 1000), (11, 10)])
def test_limit_over_the_cap_names_the_cap(limit: int | str, cap: int) -> None:
    with pytest.raises(LimitExceeded) as raised:
        parse_export_request(limit=limit, max_limit=cap)
    assert raised.value.parameter == "limit"
    assert raised.value.message == f"limit must be at most {cap}, got {limit}"


def test_parameters_for_the_audit_trail() -> None:
    asked = parse_export_request(
        type="domain,ipv4",
        since="2026-05-01",
        source=["b", "a"],
        tlp="red",
        limit=7,
        tag="C2",
        min_confidence="medium",
        max_tlp="amber strict",
    )
    assert orjson.loads(orjson.dumps(asked.parameters())) == {
        "type": ["domain", "ipv4"],
        "since": "2026-05-01T00:00:00+00:00",
        "source": ["a", "b"],
        "limit": 7,
        "format": "bundle",
        "include_identity": True,
        "include_markings": True,
        "tlp": "red",
        "tlp_version": 2,
        "include_observables": False,
        "tag": "c2",
        "min_confidence": "medium",
        "max_tlp": "amber+strict",
        "include_flagged": False,
        "include_sightings": False,
    }


# --- running it on both databases -------------------------------------------------------------


@pytest.fixture
def store(engine: Engine) -> IndicatorStore:
    return IndicatorStore(engine, new_stix_id)


@pytest.fixture
def search(engine: Engine) -> IndicatorSearch:
    return IndicatorSearch(engine)


def export(
    search: IndicatorSearch,
    *,
    max_tlp: Tlp = Tlp.RED,
    lookback_start: datetime | None = None,
    **parameters: Any,
) -> ExportResult:
    return run_export(
        parse_export_request(**parameters),
        search,
        PRODUCER,
        max_tlp=max_tlp,
        lookback_start=lookback_start,
        now=LATER,
    )


def body(result: ExportResult) -> Any:
    return orjson.loads(b"".join(result.chunks()))


def load(store: IndicatorStore) -> None:
    """Four indicators a day apart: the oldest first."""
    store.write([ioc("ipv4", "198.51.100.1", confidence=Confidence.HIGH)], T0)
    store.write([ioc("domain", "c2.example", confidence=Confidence.LOW)], T0 + timedelta(days=1))
    store.write([ioc("url", "http://c2.example/x", tlp=Tlp.RED)], T0 + timedelta(days=2))
    store.write([ioc("cve", "CVE-2021-44228")], T0 + timedelta(days=3))


def test_newest_modified_first_up_to_the_limit(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    load(store)
    result = export(search)
    assert [row.value for row in result.indicators] == [
        "CVE-2021-44228",
        "http://c2.example/x",
        "c2.example",
        "198.51.100.1",
    ]
    exported = body(result)
    sdos = [obj for obj in exported["objects"] if obj["type"] in {"indicator", "vulnerability"}]
    assert [sdo["id"] for sdo in sdos] == [row.stix_id for row in result.indicators]
    assert exported["id"] == result.bundle_id
    assert [row.value for row in export(search, limit=2).indicators] == [
        "CVE-2021-44228",
        "http://c2.example/x",
    ]
    assert export(search, type="ipv4,domain").count == 2


def test_lookback_clamps_since_and_max_tlp_hides(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    load(store)
    lookback = T0 + timedelta(days=1, hours=12)
    clamped = export(search, since="2026-01-01", lookback_start=lookback)
    assert clamped.effective_since == lookback
    assert clamped.count == 2
    later = T0 + timedelta(days=2, hours=12)
    kept = export(search, since=later.isoformat(), lookback_start=lookback)
    assert kept.effective_since == later
    assert [row.value for row in kept.indicators] == ["CVE-2021-44228"]
    assert export(search).effective_since is None
    # The operator's RED url is above an amber plan; the rest stay.
    amber = export(search, max_tlp=Tlp.AMBER)
    assert "http://c2.example/x" not in {row.value for row in amber.indicators}
    assert amber.count == 3


def test_the_same_indicator_keeps_its_id_and_gets_a_later_modified(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    store.write([ioc("domain", "c2.example", tags=("a",))], T0)
    first = body(export(search))["objects"][-1]
    assert body(export(search))["objects"][-1] == first  # nothing changed, nothing differs
    store.write([ioc("domain", "c2.example", tags=("b",))], T0 + timedelta(hours=1))
    second = body(export(search))["objects"][-1]
    assert second["id"] == first["id"]
    assert second["modified"] > first["modified"]
    assert second["created"] == first["created"]
    assert second["labels"] == ["a", "b"]


def test_revoked_versions_are_exported_inside_the_window(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    load(store)
    store.revoke(IocType.DOMAIN, "c2.example", T0 + timedelta(days=5))
    windowed = export(search, since=(T0 + timedelta(days=4)).isoformat())
    (revoked,) = [obj for obj in body(windowed)["objects"] if obj["type"] == "indicator"]
    assert revoked["pattern"] == "[domain-name:value = 'c2.example']"
    assert revoked["revoked"] is True


def test_etag_follows_the_content(store: IndicatorStore, search: IndicatorSearch) -> None:
    load(store)
    first = export(search)
    assert export(search).etag == first.etag
    assert b"".join(export(search).chunks()) == b"".join(first.chunks())
    variants = [
        export(search, format="objects"),
        export(search, include_identity=False),
        export(search, include_markings=False),
        export(search, tlp="red"),
        export(search, tlp_version=1),
        export(search, include_observables=True),
        export(search, limit=3),
    ]
    tags = {first.etag, *(variant.etag for variant in variants)}
    assert len(tags) == 1 + len(variants)
    # A later sighting changes observed-data (last_observed) without a new version; the
    # indicators alone do not show it, so their bytes and ETag stay.
    observed, plain = export(search, include_observables=True), export(search)
    store.write(
        [ioc("ipv4", "198.51.100.1", confidence=Confidence.HIGH, last_seen=LATER)],
        T0 + timedelta(days=4),
    )
    assert export(search, include_observables=True).etag != observed.etag
    assert export(search).etag == plain.etag
    assert b"".join(export(search).chunks()) == b"".join(plain.chunks())


def test_bundle_id_is_uuid4_shaped_and_follows_the_etag(
    store: IndicatorStore, search: IndicatorSearch
) -> None:
    load(store)
    first, again = export(search), export(search)
    assert first.bundle_id == again.bundle_id
    assert first.bundle_id.startswith("bundle--")
    assert first.bundle_id[len("bundle--") :][14] == "4"
    store.write([ioc("ipv4", "198.51.100.9")], T0 + timedelta(days=6))
    assert export(search).bundle_id != first.bundle_id


def test_objects_format_is_the_bare_array(store: IndicatorStore, search: IndicatorSearch) -> None:
    load(store)
    bundle = body(export(search))
    objects = body(export(search, format="objects"))
    assert objects == bundle["objects"]


def test_an_empty_store_exports_the_identity_alone(search: IndicatorSearch) -> None:
    result = export(search)
    assert result.count == 0
    assert body(result)["objects"] == [PRODUCER.identity()]
    assert body(export(search, include_identity=False))["objects"] == []
