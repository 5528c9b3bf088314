"""Every TAXII filter parameter, valid and malformed (§3.4, §3.4.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.errors import InvalidQuery, NotFound
from iocfeed.indicators.cursor import CursorCodec
from iocfeed.indicators.model import HASH_TYPES, IocType, Tlp
from iocfeed.indicators.query import LATEST, Keyset, VersionMatch, VersionSelector
from iocfeed.taxii.collections import collection_by_id
from iocfeed.taxii.query import (
    ALL_VERSIONS,
    Endpoint,
    ObjectsRequest,
    parse_request,
)
from iocfeed.taxii.timestamps import format_timestamp

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LOOKBACK = NOW - timedelta(days=90)
TOKENS = CursorCodec(b"a test secret of 32 bytes.......")
KEY_ID = "k1"
ID_A = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
ID_B = "vulnerability--4600ad1b-fff1-4c58-bcc9-4de3bc5e2ffd"
OBSERVABLES = frozenset(IocType) - {IocType.CVE, IocType.MITRE_ATTACK}

Raw = dict[str, str | list[str]]


def _params(raw: Raw) -> dict[str, list[str]]:
    return {name: [value] if isinstance(value, str) else value for name, value in raw.items()}


def objects(
    raw: Raw | None = None,
    *,
    collection: str = "all",
    lookback: datetime | None = None,
    max_limit: int = 1000,
    default_limit: int = 1000,
) -> ObjectsRequest:
    return parse_request(
        Endpoint.OBJECTS,
        _params(raw or {}),
        collection=collection_by_id(collection),
        max_tlp=Tlp.AMBER,
        lookback_start=lookback,
        now=NOW,
        tokens=TOKENS,
        key_id=KEY_ID,
        max_limit=max_limit,
        default_limit=default_limit,
    )


def rejected(raw: Raw, parameter: str, **kwargs: object) -> InvalidQuery:
    with pytest.raises(InvalidQuery) as caught:
        objects(raw, **kwargs)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert parameter in caught.value.message
    return caught.value


# --- defaults -----------------------------------------------------------------------------


def test_defaults() -> None:
    request = objects()
    assert request.limit == 1000
    assert request.after is None
    assert request.matches_nothing is False
    assert request.lookback_applied is False
    assert request.as_of == NOW
    query = request.query
    assert query.types == frozenset()  # the whole store
    assert query.stix_ids == frozenset()
    assert query.added_after is None
    assert query.versions == LATEST
    assert query.max_tlp is Tlp.AMBER
    assert query.as_of == NOW


def test_per_type_collection_narrows_types() -> None:
    assert objects(collection="sha256").query.types == {IocType.SHA256}


def test_unknown_parameters_are_ignored() -> None:
    assert objects({"foo": "bar", "match[foo]": "x", "match[ID]": "nonsense"}) == objects()


# --- added_after and the lookback clamp ---------------------------------------------------


def test_added_after() -> None:
    request = objects({"added_after": "2026-04-30T00:00:00.000001Z"})
    assert request.query.added_after == datetime(2026, 4, 30, 0, 0, 0, 1, tzinfo=UTC)
    assert request.effective_added_after == request.query.added_after


@pytest.mark.parametrize("raw", ["", "yesterday", "2026-04-30", "2026-04-30T00:00:00", "0"])
def test_added_after_malformed(raw: str) -> None:
    rejected({"added_after": raw}, "added_after")


def test_added_after_only_once() -> None:
    rejected({"added_after": ["2026-04-30T00:00:00Z"] * 2}, "added_after")


def test_lookback_replaces_an_older_added_after() -> None:
    request = objects({"added_after": "2020-01-01T00:00:00Z"}, lookback=LOOKBACK)
    assert request.query.added_after == LOOKBACK
    assert request.lookback_applied is True


def test_lookback_applies_without_added_after() -> None:
    request = objects(lookback=LOOKBACK)
    assert request.effective_added_after == LOOKBACK
    assert request.lookback_applied is True


def test_later_added_after_is_kept() -> None:
    later = LOOKBACK + timedelta(days=1)
    request = objects({"added_after": format_timestamp(later)}, lookback=LOOKBACK)
    assert request.query.added_after == later
    assert request.lookback_applied is False


def test_unlimited_plan_has_no_clamp() -> None:
    request = objects({"added_after": "1999-01-01T00:00:00Z"}, lookback=None)
    assert request.query.added_after == datetime(1999, 1, 1, tzinfo=UTC)
    assert request.lookback_applied is False


# --- limit --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("500", 500),
        ("0500", 500),
        ("1000", 1000),
        ("1001", 1000),  # clamped: §3.4 lets a server return fewer than asked
        ("99999999999999999999999999999999999999", 1000),
        ("9" * 5000, 1000),
    ],
)
def test_limit(raw: str, expected: int) -> None:
    assert objects({"limit": raw}).limit == expected


@pytest.mark.parametrize("raw", ["0", "000", "-1", "abc", "1.5", "", " ", "0x10", "+5", "1e3", "٣"])
def test_limit_malformed(raw: str) -> None:
    error = rejected({"limit": raw}, "limit")
    assert "positive integer" in error.message


def test_limit_only_once() -> None:
    rejected({"limit": ["10", "10"]}, "limit")


def test_configured_limits() -> None:
    assert objects(max_limit=100, default_limit=50).limit == 50
    assert objects({"limit": "500"}, max_limit=100).limit == 100
    assert objects(max_limit=100, default_limit=500).limit == 100


# --- next ---------------------------------------------------------------------------------


def test_next_resumes_position_and_snapshot() -> None:
    position = Keyset(at=NOW - timedelta(hours=2), seq=41)
    snapshot = NOW - timedelta(hours=1)
    request = objects({"next": _token(position, snapshot)})
    assert request.after == position
    assert request.as_of == snapshot == request.query.as_of


def _token(position: Keyset, snapshot: datetime, raw: Raw | None = None) -> str:
    """The token a page of ``objects(raw)`` ending at ``position`` carries."""
    token = objects(raw).next_token(position, snapshot)
    assert token is not None
    return token


def test_next_with_the_same_filters() -> None:
    position = Keyset(at=NOW - timedelta(hours=2), seq=41)
    token = _token(position, NOW, {"match[type]": "indicator"})
    request = objects({"next": token, "match[type]": "indicator", "limit": "10"})
    assert (request.after, request.limit, request.query.types) == (position, 10, OBSERVABLES)


@pytest.mark.parametrize("raw", ["", "abc", "2026-05-01T00:00:00Z", "1", "%%%"])
def test_next_malformed(raw: str) -> None:
    rejected({"next": raw}, "next")


def test_next_only_once() -> None:
    token = _token(Keyset(at=NOW, seq=1), NOW)
    rejected({"next": [token, token]}, "next")


def test_next_token_round_trips_through_the_request() -> None:
    request = objects()
    position = Keyset(at=NOW - timedelta(minutes=5), seq=9)
    token = request.next_token(position, NOW)
    assert token is not None
    assert request.next_token(None, NOW) is None
    follow_up = objects({"next": token})
    assert (follow_up.after, follow_up.as_of) == (position, NOW)


# --- match[id] ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        (ID_A, {ID_A}),
        (ID_A.upper(), {ID_A}),
        (f"{ID_A},{ID_B}", {ID_A, ID_B}),
        ([ID_A, ID_B], {ID_A, ID_B}),
        (f"{ID_A}, {ID_B},", {ID_A, ID_B}),
    ],
)
def test_match_id(raw: str | list[str], ids: set[str]) -> None:
    assert objects({"match[id]": raw}).query.stix_ids == ids


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ",",
        "indicator",
        "indicator--123",
        "indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        ID_A + "0",
        "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "indi cator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f",
    ],
)
def test_match_id_malformed(raw: str) -> None:
    rejected({"match[id]": raw}, "match[id]")


def test_match_id_narrows_types_to_the_ids_object_types() -> None:
    assert objects({"match[id]": ID_B}).query.types == {IocType.CVE}
    assert objects({"match[id]": ID_A}, collection="ipv4").query.types == {IocType.IPV4}


@pytest.mark.parametrize(
    ("raw", "collection"),
    [
        ("malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "all"),
        (ID_B, "ipv4"),
        (ID_A, "cve"),
    ],
)
def test_match_id_outside_the_collection_matches_nothing(raw: str, collection: str) -> None:
    assert objects({"match[id]": raw}, collection=collection).matches_nothing is True


# --- match[type] --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "collection", "types"),
    [
        ("indicator", "all", OBSERVABLES),
        ("vulnerability", "all", {IocType.CVE}),
        ("attack-pattern", "all", {IocType.MITRE_ATTACK}),
        ("indicator,vulnerability", "all", OBSERVABLES | {IocType.CVE}),
        (["indicator", "vulnerability"], "all", OBSERVABLES | {IocType.CVE}),
        ("indicator,vulnerability,attack-pattern", "all", frozenset()),  # everything
        ("indicator,malware", "all", OBSERVABLES),  # unknown types add nothing
        ("Indicator", "all", OBSERVABLES),
        ("indicator", "md5", {IocType.MD5}),
        ("indicator", "submissions", OBSERVABLES),
    ],
)
def test_match_type(raw: str | list[str], collection: str, types: set[IocType]) -> None:
    request = objects({"match[type]": raw}, collection=collection)
    assert request.matches_nothing is False
    assert request.query.types == types


def test_indicator_type_covers_every_observable_type() -> None:
    assert (
        HASH_TYPES
        | {
            IocType.IPV4,
            IocType.IPV6,
            IocType.DOMAIN,
            IocType.URL,
            IocType.EMAIL,
        }
        == OBSERVABLES
    )


@pytest.mark.parametrize(
    ("raw", "collection"),
    [
        ("malware", "all"),
        ("identity,marking-definition,relationship", "all"),
        ("x-acme-widget", "all"),
        ("vulnerability", "ipv4"),
        ("indicator", "cve"),
        ("attack-pattern", "domain"),
    ],
)
def test_match_type_outside_the_collection_matches_nothing(raw: str, collection: str) -> None:
    request = objects({"match[type]": raw}, collection=collection)
    assert request.matches_nothing is True


@pytest.mark.parametrize("raw", ["", ",,", "in", "indicator!", "1ndicator", "a b c", "x" * 251])
def test_match_type_malformed(raw: str) -> None:
    rejected({"match[type]": raw}, "match[type]")


# --- match[version] -----------------------------------------------------------------------

T1 = datetime(2016, 1, 1, 1, 1, 1, tzinfo=UTC)
T2 = datetime(2018, 3, 2, 1, 1, 1, 123000, tzinfo=UTC)
LAST, FIRST, ALL = VersionSelector.LAST, VersionSelector.FIRST, VersionSelector.ALL


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("last", VersionMatch(frozenset({LAST}))),
        ("first", VersionMatch(frozenset({FIRST}))),
        ("all", VersionMatch(frozenset({ALL}))),
        ("ALL", VersionMatch(frozenset({ALL}))),
        ("last,first", VersionMatch(frozenset({LAST, FIRST}))),
        (["last", "first"], VersionMatch(frozenset({LAST, FIRST}))),
        ("last,last", VersionMatch(frozenset({LAST}))),
        ("2016-01-01T01:01:01.000Z", VersionMatch(frozenset(), frozenset({T1}))),
        (
            "first,2018-03-02T01:01:01.123Z,last",
            VersionMatch(frozenset({FIRST, LAST}), frozenset({T2})),
        ),
        (
            "2016-01-01T01:01:01.000Z,2018-03-02T01:01:01.123Z",
            VersionMatch(frozenset(), frozenset({T1, T2})),
        ),
    ],
)
def test_match_version(raw: str | list[str], expected: VersionMatch) -> None:
    assert objects({"match[version]": raw}).query.versions == expected


@pytest.mark.parametrize(
    "raw",
    ["", "latest", "newest", "all,last", "all,2016-01-01T01:01:01.000Z", "2016-01-01", "1"],
)
def test_match_version_malformed(raw: str) -> None:
    rejected({"match[version]": raw}, "match[version]")


# --- match[spec_version] ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "nothing"),
    [("2.1", False), ("2.0,2.1", False), (["2.0", "2.1"], False), ("2.0", True), ("3.0", True)],
)
def test_match_spec_version(raw: str | list[str], nothing: bool) -> None:
    assert objects({"match[spec_version]": raw}).matches_nothing is nothing


@pytest.mark.parametrize("raw", ["", "2", "v2.1", "2.1.0", "two"])
def test_match_spec_version_malformed(raw: str) -> None:
    rejected({"match[spec_version]": raw}, "match[spec_version]")


# --- the other endpoints ------------------------------------------------------------------


def test_manifest_takes_the_same_filters() -> None:
    raw: Raw = {"match[type]": "vulnerability", "match[version]": "all", "limit": "5"}
    manifest = parse_request(
        Endpoint.MANIFEST,
        _params(raw),
        collection=collection_by_id("all"),
        max_tlp=Tlp.AMBER,
        lookback_start=LOOKBACK,
        now=NOW,
        tokens=TOKENS,
        key_id=KEY_ID,
    )
    expected = objects(raw, lookback=LOOKBACK)
    assert (manifest.query, manifest.limit) == (expected.query, expected.limit)
    assert manifest.query.types == {IocType.CVE}


def _by_id(endpoint: Endpoint, raw: Raw, object_id: str = ID_A) -> ObjectsRequest:
    return parse_request(
        endpoint,
        _params(raw),
        collection=collection_by_id("all"),
        object_id=object_id,
        max_tlp=Tlp.GREEN,
        lookback_start=None,
        now=NOW,
        tokens=TOKENS,
        key_id=KEY_ID,
    )


def test_object_by_id() -> None:
    request = _by_id(Endpoint.OBJECT, {"match[version]": "first", "match[id]": ID_B})
    assert request.query.stix_ids == {ID_A}  # the path names the object
    assert request.query.versions == VersionMatch(frozenset({FIRST}))
    assert request.query.types == OBSERVABLES


def test_object_by_id_ignores_type_filter() -> None:
    request = _by_id(Endpoint.OBJECT, {"match[type]": "vulnerability"})
    assert request.matches_nothing is False


def test_versions_default_to_all_and_ignore_version_filters() -> None:
    request = _by_id(Endpoint.VERSIONS, {"match[version]": "last", "match[type]": "x"})
    assert request.query.versions == ALL_VERSIONS
    assert request.query.stix_ids == {ID_A}
    assert request.query.max_tlp is Tlp.GREEN


def test_versions_take_paging_and_spec_version() -> None:
    request = _by_id(Endpoint.VERSIONS, {"limit": "2", "match[spec_version]": "2.0"})
    assert (request.limit, request.matches_nothing) == (2, True)


@pytest.mark.parametrize("endpoint", [Endpoint.OBJECT, Endpoint.VERSIONS])
@pytest.mark.parametrize("object_id", ["", "nope", "indicator--1", "../../etc/passwd"])
def test_malformed_object_id_is_not_found(endpoint: Endpoint, object_id: str) -> None:
    with pytest.raises(NotFound):
        _by_id(endpoint, {}, object_id=object_id)


# --- fuzz ---------------------------------------------------------------------------------

NAMES = st.sampled_from(
    [
        "added_after",
        "limit",
        "next",
        "match[id]",
        "match[type]",
        "match[version]",
        "match[spec_version]",
        "other",
    ]
)


@given(st.dictionaries(NAMES, st.lists(st.text(max_size=60), min_size=1, max_size=3)))
def test_any_parameters_parse_or_raise_invalid_query(params: dict[str, list[str]]) -> None:
    failure: InvalidQuery | None = None
    try:
        request = parse_request(
            Endpoint.OBJECTS,
            params,
            collection=collection_by_id("all"),
            max_tlp=Tlp.CLEAR,
            lookback_start=LOOKBACK,
            now=NOW,
            tokens=TOKENS,
            key_id=KEY_ID,
        )
    except InvalidQuery as exc:
        failure = exc
    else:
        assert 1 <= request.limit <= 1000
        assert request.query.added_after is not None
        assert request.query.added_after >= LOOKBACK
    assert failure is None or failure.parameter in params
