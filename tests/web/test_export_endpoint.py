"""``GET /api/v1/export/stix`` end to end: every parameter and combination, every IOC type,
the outside judges, plans, errors, gzip, ETag, download headers and the audit trail."""

from __future__ import annotations

import gzip
import io
import itertools
import re
import sys
import uuid
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
import stix2
from stix2patterns.validator import run_validator

from iocfeed.formats.detect import Format
from iocfeed.formats.jsonlines import read_jsonl
from iocfeed.formats.reader import read_records
from iocfeed.indicators.model import IndicatorInput, IocType, Tlp
from iocfeed.indicators.normalize import RecordDefaults
from iocfeed.ingest import ingest, validate
from iocfeed.stix.markings import TLP_1, marking_id
from tests.conftest import sqlite_url
from tests.factories import ioc
from tests.stix.judges import assert_stix_clean
from tests.web.conftest import NOW, Site, migrated, start_site
from tests.web.test_errors import assert_error

URL = "/api/v1/export/stix"
MEDIA_TYPE = "application/stix+json;version=2.1"
PLAIN = {"Accept-Encoding": "identity"}
SDO_TYPES = {"indicator", "vulnerability", "attack-pattern"}

# Every IOC type, as a source would send them: defanged, IDN, quotes and backslashes.
SAMPLE: list[dict[str, Any]] = [
    {"value": "198.51.100[.]7", "confidence": "high", "techniques": ["T1566.001"]},
    {"value": "198.51.100.0/24", "type": "ipv4", "confidence": "low"},
    {"value": "2001:DB8::7", "tags": ["Scanner", "scanner"]},
    {"value": "bücher[.]example", "confidence": "high", "description": "IDN C2"},
    {"value": "hxxp://bücher[.]example/o'brien\\dir?q=\"x\"&r=%41", "type": "url"},
    {"value": "http://evil.example/back\\\\slash'quote", "type": "url", "tlp": "red"},
    {"value": "o'brien[@]bücher[.]example", "type": "email"},
    {"value": "d41d8cd98f00b204e9800998ecf8427e", "tlp": "amber+strict"},
    {"value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"value": "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
              "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
    {"value": "CVE-2021-44228", "confidence": "high"},
    {"value": "T1566.001", "confidence": "high"},
    {"value": "expiring[.]example", "valid_until": "2025-06-02T00:00:00Z"},
]  # fmt: skip


# The TLPs the operator set in SAMPLE, by a piece of the pattern.
OPERATOR_TLP = {"d41d8cd98f00b204e9800998ecf8427e": Tlp.AMBER_STRICT, "back": Tlp.RED}
# How many of SAMPLE each type filter finds.
PER_TYPE = {IocType.IPV4: 2, IocType.DOMAIN: 2, IocType.URL: 2}
CHANGED_DOMAIN = IndicatorInput(IocType.DOMAIN, "xn--bcher-kva.example", tags=("emotet",))


def load_sample(site: Site) -> set[tuple[IocType, str]]:
    """Load SAMPLE through the real import path; returns the canonical (type, value) pairs."""
    lines = [orjson.dumps(item).decode() for item in SAMPLE]
    summary = ingest(read_jsonl(lines), site.services.indicators, site.clock)
    assert summary.added == len(SAMPLE), summary.rejections
    inputs = validate(read_jsonl(lines), RecordDefaults())
    return {(item.type, item.value) for item in inputs if isinstance(item, IndicatorInput)}


def unescaped(pattern: str) -> str:
    """The string literal of a single-comparison pattern, unescaped (STIX 2.1 §9)."""
    literal = pattern.split(" = ", 1)[1].removesuffix("]")[1:-1]
    return re.sub(r"\\(.)", r"\1", literal)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One app on SQLite with SAMPLE loaded, for the many read-only requests below."""
    url = migrated(sqlite_url(tmp_path_factory.mktemp("export")))
    for site in start_site(url):
        load_sample(site)
        yield site


def export(
    site: Site, who: str = "admin", headers: dict[str, str] | None = None, **params: Any
) -> Any:
    """GET the export as ``who``, uncompressed unless ``headers`` say otherwise."""
    sent = {**site.headers(who), **PLAIN, **(headers or {})}
    return site.client.get(URL, params=params, headers=sent)


def objects_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    document = orjson.loads(response.content)
    return document["objects"] if isinstance(document, dict) else document


def as_bundle(response: Any) -> dict[str, Any]:
    document = orjson.loads(response.content)
    if isinstance(document, list):
        return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": document}
    return document  # type: ignore[no-any-return]


def sdos(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["type"] in SDO_TYPES]


# --- every IOC type, judged --------------------------------------------------------------------


def test_every_ioc_type_is_exported_clean_and_round_trips(site: Site) -> None:
    loaded = load_sample(site)
    response = export(site, limit=1000)
    assert response.headers["content-type"] == MEDIA_TYPE
    bundle = orjson.loads(response.content)
    assert_stix_clean(bundle)
    exported = sdos(bundle["objects"])
    assert len(exported) == len(SAMPLE)
    assert {obj["type"] for obj in exported} == SDO_TYPES
    # Newest modified first (the load stamped them in order, so the last loaded leads).
    modified = [obj["modified"] for obj in exported]
    assert modified == sorted(modified, reverse=True)

    # Read back through our own STIX importer: the same (type, value) pairs.
    records = read_records(io.StringIO(response.text), Format.STIX)
    back = {(item.type, item.value) for item in validate(records, RecordDefaults())}
    assert back == loaded
    for obj in exported:
        if obj["type"] == "indicator":
            assert run_validator(obj["pattern"]) == []
    patterns = {obj["pattern"] for obj in exported if obj["type"] == "indicator"}
    assert "[url:value = 'http://xn--bcher-kva.example/o\\'brien\\\\dir?q=\"x\"&r=%41']" in patterns
    assert "[email-addr:value = 'o\\'brien@xn--bcher-kva.example']" in patterns
    assert "[url:value = 'http://evil.example/back\\\\\\\\slash\\'quote']" in patterns
    assert "[ipv4-addr:value = '198.51.100.0/24']" in patterns


@pytest.mark.parametrize("ioc_type", list(IocType))
def test_type_filter_gives_only_that_type(shared: Site, ioc_type: IocType) -> None:
    exported = sdos(objects_of(export(shared, type=ioc_type.value, limit=1000)))
    assert len(exported) == PER_TYPE.get(ioc_type, 1)
    expected_sdo = {IocType.CVE: "vulnerability", IocType.MITRE_ATTACK: "attack-pattern"}
    assert {obj["type"] for obj in exported} == {expected_sdo.get(ioc_type, "indicator")}
    for obj in exported:
        if obj["type"] == "indicator":
            assert run_validator(obj["pattern"]) == []


@pytest.mark.parametrize(
    "query", ["type=ipv4&type=domain", "type=ipv4,domain", "type=IPV4,%20domain,"]
)
def test_type_repeated_or_comma_separated(shared: Site, query: str) -> None:
    response = shared.client.get(f"{URL}?{query}", headers={**shared.headers("admin"), **PLAIN})
    patterns = [obj["pattern"] for obj in sdos(objects_of(response))]
    assert len(patterns) == 4  # two IPv4 values, two domains
    assert all(p.startswith(("[ipv4-addr:", "[domain-name:")) for p in patterns)


# --- every combination of the switches -------------------------------------------------------

COMBINATIONS = list(
    itertools.product(
        ("bundle", "objects"),
        (True, False),  # include_identity
        (True, False),  # include_markings
        (None, "clear", "amber+strict"),  # tlp
        (1, 2),  # tlp_version
        (False, True),  # include_observables
    )
)
# A handful that the OASIS validator judges in full (it costs ~3 ms per object).
JUDGED = {
    ("bundle", True, True, None, 2, False),
    ("bundle", True, True, "amber+strict", 1, True),
    ("objects", False, False, "clear", 2, True),
    ("bundle", False, True, "clear", 1, False),
}


@pytest.mark.parametrize(
    ("fmt", "identity", "markings", "tlp", "version", "observables"),
    COMBINATIONS,
    ids=str,
)
def test_every_combination(
    shared: Site,
    fmt: str,
    identity: bool,
    markings: bool,
    tlp: str | None,
    version: int,
    observables: bool,
) -> None:
    params: dict[str, Any] = {
        "format": fmt,
        "include_identity": str(identity).lower(),
        "include_markings": str(markings).lower(),
        "tlp_version": version,
        "include_observables": str(observables).lower(),
        "limit": 1000,
    }
    if tlp is not None:
        params["tlp"] = tlp
    response = export(shared, **params)
    assert response.headers["content-type"] == MEDIA_TYPE
    document = orjson.loads(response.content)
    assert isinstance(document, dict if fmt == "bundle" else list)
    objects = objects_of(response)
    types = [obj["type"] for obj in objects]

    assert (types[0] == "identity") == identity
    assert types.count("identity") == int(identity)
    referenced = {ref for obj in objects for ref in obj.get("object_marking_refs", ())}
    definitions = {obj["id"] for obj in objects if obj["type"] == "marking-definition"}
    assert definitions == (referenced if markings else set())
    assert ("observed-data" in types) == observables
    if observables:
        # Every indicator but the quoted e-mail address, which no email-addr SCO may hold.
        assert types.count("observed-data") == types.count("indicator") - 1
        based_on = [obj for obj in objects if obj.get("relationship_type") == "based-on"]
        assert len(based_on) == types.count("observed-data")

    for obj in sdos(objects):
        assert ("created_by_ref" in obj) == identity
        (mark,) = obj["object_marking_refs"]
        if obj["type"] == "indicator":
            assert run_validator(obj["pattern"]) == []
        # tlp= replaces the confidence default; the operator's own TLP, if higher, stays.
        own = [level for needle, level in OPERATOR_TLP.items() if needle in obj.get("pattern", "")]
        levels = [*own, *([Tlp(tlp)] if tlp else [])]
        if levels:
            assert mark == marking_id(max(levels), version)
    if version == 1:
        tlp_1 = set(TLP_1.values())
        assert referenced - tlp_1 <= {marking_id(Tlp.AMBER_STRICT)}
    else:
        assert not referenced & set(TLP_1.values())
    if tlp == "clear":
        # Only operator-set TLPs (red url, amber+strict hash) escape the forced level.
        assert len(referenced) == 3

    if (fmt, identity, markings, tlp, version, observables) in JUDGED:
        assert_stix_clean(as_bundle(response))


def test_tlp_never_lowers_the_operators_tlp(shared: Site) -> None:
    objects = objects_of(export(shared, tlp="clear", limit=1000))
    red = next(o for o in sdos(objects) if "back" in o.get("pattern", ""))
    assert red["object_marking_refs"] == [marking_id(Tlp.RED)]
    # '+' in a query string is a space; "amber strict" is read as amber+strict.
    headers = {**shared.headers("admin"), **PLAIN}
    response = shared.client.get(f"{URL}?tlp=amber+strict", headers=headers)
    marks = {o["object_marking_refs"][0] for o in sdos(objects_of(response))}
    assert marks == {marking_id(Tlp.AMBER_STRICT), marking_id(Tlp.RED)}


def test_limit_and_default_limit(shared: Site) -> None:
    assert len(sdos(objects_of(export(shared, limit=3)))) == 3
    assert len(sdos(objects_of(export(shared)))) == len(SAMPLE)  # default 500 holds them all


# --- plans -------------------------------------------------------------------------------------


def test_free_key_gets_the_403_of_the_spec(shared: Site) -> None:
    response = export(shared, "free")
    assert_error(response, 403, "forbidden", message="Requires the Pro plan (read:stix scope)")
    assert response.json()["message"] == "Requires the Pro plan (read:stix scope)"
    assert_error(export(shared, "none"), 401, "unauthenticated")


def test_plan_lookback_clamps_since_and_hides_tlps_above_the_plan(site: Site) -> None:
    site.load([IndicatorInput(IocType.DOMAIN, "old.example")], at=NOW - timedelta(days=120))
    load_sample(site)

    response = export(site, "pro", limit=1000)
    lookback = NOW - timedelta(days=90)
    assert response.headers["X-Effective-Since"] == "2025-03-03T12:00:00.000000Z"
    values = {o.get("pattern", o.get("name")) for o in sdos(objects_of(response))}
    assert "[domain-name:value = 'old.example']" not in values
    # Pro's highest TLP is amber: the operator's red and amber+strict stay hidden, whatever tlp=.
    assert len(values) == len(SAMPLE) - 2
    assert len(sdos(objects_of(export(site, "pro", tlp="red")))) == len(SAMPLE) - 2

    asked = (NOW - timedelta(days=400)).isoformat()
    assert export(site, "pro", since=asked).headers["X-Effective-Since"] == (
        lookback.isoformat().replace("+00:00", ".000000Z")
    )
    recent = export(site, "enterprise", since="2025-06-01T11:00:00Z")
    assert recent.headers["X-Effective-Since"] == "2025-06-01T11:00:00.000000Z"
    everything = export(site, "admin", limit=1000)
    assert "X-Effective-Since" not in everything.headers
    assert len(sdos(objects_of(everything))) == len(SAMPLE) + 1


# --- versions ----------------------------------------------------------------------------------


def test_stable_ids_later_modified_and_revocations(site: Site) -> None:
    load_sample(site)
    before = {o["id"]: o for o in sdos(objects_of(export(site, limit=1000)))}
    site.clock.advance(hours=1)
    site.load([CHANGED_DOMAIN])
    site.services.indicators.revoke(IocType.IPV6, "2001:db8::7", site.clock.now())
    after = {o["id"]: o for o in sdos(objects_of(export(site, limit=1000)))}
    assert set(after) == set(before)
    changed = [i for i in after if after[i]["modified"] != before[i]["modified"]]
    assert len(changed) == 2
    for stix_id in changed:
        assert after[stix_id]["modified"] > before[stix_id]["modified"]
        assert after[stix_id]["created"] == before[stix_id]["created"]
    revoked = [after[i] for i in changed if after[i].get("revoked")]
    assert [o["pattern"] for o in revoked] == ["[ipv6-addr:value = '2001:db8::7']"]
    window = export(site, since=(NOW + timedelta(minutes=30)).isoformat())
    in_window = sdos(objects_of(window))
    assert {o["id"] for o in in_window} == set(changed)
    assert_stix_clean(orjson.loads(window.content))


def test_withdrawn_indicators_ship_without_observables(site: Site) -> None:
    """A reader of observables only cannot see `revoked`: revoked and expired indicators
    ship their revoked or expiring version, and no SCO, observed-data or based-on."""
    live = [ioc(IocType.IPV4, "198.51.100.7"), ioc(IocType.SHA256, "a" * 64)]
    revoked = ioc(IocType.URL, "http://revoked.example/x")
    expired = ioc(IocType.DOMAIN, "expired.example", valid_until=NOW + timedelta(hours=1))
    site.load([*live, revoked, expired])
    site.services.indicators.revoke(revoked.type, revoked.value, NOW + timedelta(minutes=1))
    early = export(site, include_observables="true")
    site.clock.advance(hours=2)  # expired.example is past valid_until; no sweep has run
    response = export(site, include_observables="true")
    assert response.headers["etag"] != early.headers["etag"]
    bundle = orjson.loads(response.content)
    assert_stix_clean(bundle)
    objects = bundle["objects"]
    by_value = {unescaped(o["pattern"]): o for o in objects if o["type"] == "indicator"}
    assert set(by_value) == {"198.51.100.7", "a" * 64, revoked.value, expired.value}
    assert by_value[revoked.value]["revoked"] is True
    assert by_value[expired.value]["valid_until"] == "2025-06-01T13:00:00.000Z"
    scos = [o for o in objects if o["type"] in {"ipv4-addr", "url", "domain-name", "file"}]
    assert sorted(o.get("value") or o["hashes"]["SHA-256"] for o in scos) == [
        "198.51.100.7", "a" * 64
    ]  # fmt: skip
    live_ids = {by_value["198.51.100.7"]["id"], by_value["a" * 64]["id"]}
    based_on = [o for o in objects if o.get("relationship_type") == "based-on"]
    assert {o["source_ref"] for o in based_on} == live_ids
    assert len([o for o in objects if o["type"] == "observed-data"]) == 2
    # Without observables nothing is held back: the withdrawn versions still ship.
    plain = objects_of(export(site))
    assert len([o for o in plain if o["type"] == "indicator"]) == 4


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status", "code", "parameter", "message"),
    [
        ("limit=1001", 400, "limit_exceeded", "limit", "limit must be at most 1000, got 1001"),
        ("limit=0", 400, "invalid_query", "limit", "between 1 and 1000"),
        ("limit=many", 422, "invalid_request", "limit", "integer"),
        ("type=ipv4,hostname", 400, "invalid_query", "type", "type must be one of ipv4"),
        ("since=last+week", 400, "invalid_query", "since", "ISO 8601"),
        ("format=csv", 400, "invalid_query", "format", "bundle, objects"),
        ("tlp=white", 400, "invalid_query", "tlp", "clear, green, amber, amber+strict, red"),
        ("tlp_version=3", 400, "invalid_query", "tlp_version", "1 or 2"),
        ("tlp_version=one", 422, "invalid_request", "tlp_version", "integer"),
        ("include_identity=maybe", 422, "invalid_request", "include_identity", "boolean"),
        ("include_markings=2", 422, "invalid_request", "include_markings", "boolean"),
        ("include_observables=sure", 422, "invalid_request", "include_observables", "boolean"),
    ],
)
def test_bad_values_get_the_one_error_shape(
    shared: Site, query: str, status: int, code: str, parameter: str, message: str
) -> None:
    response = shared.client.get(f"{URL}?{query}", headers=shared.headers("admin"))
    assert_error(response, status, code, parameter=parameter, message=message)


# --- download: headers, gzip, ETag ----------------------------------------------------------------


def test_download_headers(shared: Site) -> None:
    response = export(shared)
    assert response.headers["content-type"] == MEDIA_TYPE
    assert response.headers["content-disposition"] == (
        'attachment; filename="iocfeed-20250601T120000Z.json"'
    )
    assert response.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in response.headers
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0, *", False),
        ("identity", False),
        ("deflate", False),
    ],
)
def test_gzip_when_accepted(shared: Site, accept: str, gzipped: bool) -> None:
    plain = export(shared, limit=1000).content
    headers = {**shared.headers("admin"), "Accept-Encoding": accept}
    with shared.client.stream("GET", URL, params={"limit": 1000}, headers=headers) as response:
        raw = b"".join(response.iter_raw())
        assert response.status_code == 200
        assert (response.headers.get("content-encoding") == "gzip") == gzipped
        etag = response.headers["etag"]
    assert (gzip.decompress(raw) if gzipped else raw) == plain
    assert etag.endswith('-gzip"') == gzipped
    if gzipped:
        assert len(raw) < len(plain) / 4


def test_etag_and_if_none_match(site: Site) -> None:
    load_sample(site)
    first = export(site)
    etag = first.headers["etag"]
    again = export(site)
    assert again.headers["etag"] == etag
    assert again.content == first.content  # a strong ETag: the very same bytes

    gzip_etag = etag[:-1] + '-gzip"'
    for sent in (etag, f"W/{etag}", f'"nope", {etag}', "*", gzip_etag):
        cached = export(site, headers={"If-None-Match": sent})
        assert cached.status_code == 304, sent
        assert cached.content == b""
        assert cached.headers["etag"] == etag
    assert export(site, headers={"If-None-Match": '"other"'}).status_code == 200
    assert (
        export(site, headers={"If-None-Match": etag}, include_identity="false").status_code == 200
    )

    site.clock.advance(minutes=1)
    site.load([CHANGED_DOMAIN])
    changed = export(site, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


# --- the judges of other tools -------------------------------------------------------------------


@pytest.fixture
def misp_parser() -> Iterator[Any]:
    """misp-stix's STIX 2 reader, imported for one test; its ``six`` import hook is taken
    out again afterwards (see ``tests/stix/test_bundle.py``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImportWarning)
        from misp_stix_converter import ExternalSTIX2toMISPParser
    yield ExternalSTIX2toMISPParser()
    sys.meta_path[:] = [
        finder for finder in sys.meta_path if not type(finder).__module__.startswith("mixbox.")
    ]


@pytest.mark.filterwarnings("ignore::ImportWarning")
def test_bundle_imports_into_stix2_and_misp_without_loss(shared: Site, misp_parser: Any) -> None:
    bundle = orjson.loads(export(shared, limit=1000).content)
    parsed = stix2.parse(bundle, allow_custom=False, version="2.1")
    indicators = [obj for obj in parsed.objects if obj.type == "indicator"]
    assert len(indicators) == sum(1 for obj in bundle["objects"] if obj["type"] == "indicator")

    misp_parser.load_stix_bundle(stix2.parse(bundle, allow_custom=True))
    misp_parser.parse_stix_bundle()
    values = {attribute.value for attribute in misp_parser.misp_event.attributes}
    assert {unescaped(indicator.pattern) for indicator in indicators} <= values
    assert len(misp_parser.misp_event.attributes) == len(indicators)


# --- audit and documentation ---------------------------------------------------------------------


def test_each_export_is_audited(shared: Site) -> None:
    export(shared, "pro", type="ipv4", tlp="amber", limit=5)
    (record,) = shared.services.audit.recent(1)
    assert record.action == "export.stix"
    assert record.key_id is not None and shared.keys["pro"].startswith(f"iocf_{record.key_id}_")
    assert record.parameters["type"] == ["ipv4"]
    assert record.parameters["tlp"] == "amber"
    assert record.parameters["limit"] == 5
    assert record.parameters["effective_since"] == "2025-03-03T12:00:00.000000Z"
    assert record.result_count == 2


def test_openapi_documents_every_parameter(shared: Site) -> None:
    operation = shared.client.get("/openapi.json").json()["paths"][URL]["get"]
    documented = {p["name"]: p for p in operation["parameters"]}
    assert set(documented) == {
        "type", "since", "source", "limit", "format", "include_identity", "include_markings", "tlp",
        "include_observables", "tlp_version", "tag", "min_confidence", "max_tlp",
        "include_flagged", "include_sightings",
    }  # fmt: skip
    assert all(p["description"] for p in documented.values())
    assert "Capped at 1000 per request" in documented["limit"]["description"]
    assert "Clamped to tier lookback" in documented["since"]["description"]
    assert documented["tlp"]["schema"]["enum"] == ["clear", "green", "amber", "amber+strict", "red"]
    assert documented["format"]["schema"]["enum"] == ["bundle", "objects"]
    assert "Requires the Pro plan (read:stix scope)." in operation["description"]
    assert MEDIA_TYPE in operation["responses"]["200"]["content"]
    assert {"304", "400", "401", "403", "422", "429"} <= set(operation["responses"])
    # What TLP 1.0 consumers and readers of observables get is said where they look.
    assert "AMBER+STRICT" in documented["tlp_version"]["description"]
    assert "stix2-slider" in documented["tlp_version"]["description"]
    assert "revoked or expired" in documented["include_observables"]["description"]
