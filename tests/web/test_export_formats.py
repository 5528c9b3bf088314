"""``GET /api/v1/export/{format}`` on SQLite and PostgreSQL: plan rules, ETag and 304, gzip,
caps, device keys in the URL, and each body as its consumer reads it."""

from __future__ import annotations

import gzip
import logging
import re
from datetime import timedelta

import orjson
import pytest
from pymisp import MISPEvent

from iocfeed.accounts.model import Narrowing
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType, Tlp
from iocfeed.portal.actors import OPERATOR
from tests.factories import ioc
from tests.web.conftest import NOW, Site

LIVE = [
    ioc(IocType.IPV4, "198.51.100.7", confidence=Confidence.HIGH, source="feodo"),
    ioc(IocType.IPV6, "2001:db8::7", source="feodo"),
    ioc(IocType.DOMAIN, "evil.example", tags=("c2",), source="urlhaus"),
    ioc(IocType.DOMAIN, "low.example", confidence=Confidence.LOW, source="urlhaus"),
    ioc(IocType.URL, "http://evil.example/x/payload.bin", source="urlhaus"),
    ioc(IocType.SHA256, "ab" * 32, source="urlhaus"),
]
SECRET = ioc(IocType.DOMAIN, "secret.example", tlp=Tlp.RED, source="urlhaus")
GONE = ioc(IocType.DOMAIN, "gone.example", source="urlhaus")


def load(site: Site) -> None:
    site.load([*LIVE, SECRET, GONE])
    site.load([IndicatorInput(IocType.DOMAIN, "gone.example", revoked=True)])


def lines(response: object) -> list[str]:
    return response.text.splitlines()  # type: ignore[attr-defined]


def test_txt_is_the_live_list_the_plan_may_see(site: Site) -> None:
    load(site)
    answer = site.get("/api/v1/export/txt?type=domain", "pro")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert sorted(lines(answer)) == ["evil.example", "low.example"]  # not red, not revoked
    assert sorted(lines(site.get("/api/v1/export/txt?type=domain", "admin"))) == [
        "evil.example",
        "low.example",
        "secret.example",
    ]
    urls = site.get("/api/v1/export/txt?type=url&flavor=paloalto", "pro")
    assert lines(urls) == ["evil.example/x/payload.bin"]
    assert lines(site.get("/api/v1/export/txt?type=ipv4,ipv6&min_confidence=high")) == [
        "198.51.100.7"
    ]
    assert lines(site.get("/api/v1/export/txt?type=domain&tag=C2")) == ["evil.example"]
    assert sorted(lines(site.get("/api/v1/export/txt?type=domain&max_tlp=amber"))) == [
        "evil.example",
        "low.example",
    ]


def test_etag_304_and_gzip(site: Site) -> None:
    load(site)
    url = "/api/v1/export/hosts"
    plain = site.client.get(url, headers={**site.headers("admin"), "Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "content-encoding" not in plain.headers
    tag = plain.headers["etag"]
    again = site.client.get(
        url,
        headers={**site.headers("admin"), "If-None-Match": tag, "Accept-Encoding": "identity"},
    )
    assert again.status_code == 304
    assert again.content == b""
    zipped = site.client.get(
        url, headers={**site.headers("admin"), "Accept-Encoding": "gzip"}, follow_redirects=False
    )
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # httpx decodes it
    site.load([ioc(IocType.DOMAIN, "new.example")], at=NOW + timedelta(seconds=1))
    changed = site.client.get(url, headers={**site.headers("admin"), "If-None-Match": tag})
    assert changed.status_code == 200
    assert "0.0.0.0 new.example" in lines(changed)


def test_since_is_clamped_to_the_lookback(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, "old.example")], at=NOW - timedelta(days=100))
    load(site)
    answer = site.get("/api/v1/export/txt?type=domain&since=2000-01-01", "pro")
    assert answer.headers["x-effective-since"] == "2025-03-03T12:00:00.000000Z"  # 90 days
    assert "old.example" not in lines(answer)
    assert "old.example" in lines(site.get("/api/v1/export/txt?type=domain", "admin"))


@pytest.mark.parametrize(
    ("url", "who", "status", "words"),
    [
        ("/api/v1/export/txt?type=domain", "free", 403, "read:stix"),
        ("/api/v1/export/txt?type=domain", "none", 401, "API key"),
        ("/api/v1/export/txt", "pro", 400, "type is required"),
        ("/api/v1/export/txt?type=domain,url", "pro", 400, "one family"),
        ("/api/v1/export/txt?type=domain&limit=100001", "pro", 400, "at most 100000"),
        ("/api/v1/export/suricata?limit=100001", "admin", 400, "at most 100000"),
        ("/api/v1/export/rpz?type=url", "pro", 400, "cannot hold url"),
        ("/api/v1/export/rpz?zone=bad%20zone", "pro", 400, "zone must be"),
        ("/api/v1/export/csv?lookup=nope", "pro", 400, "lookup must be"),
        ("/api/v1/export/misp?group=week", "pro", 400, "group must be"),
        ("/api/v1/export/misp/00000000-0000-0000-0000-000000000000.json", "pro", 404, "No MISP"),
    ],
)
def test_errors_name_what_is_wrong(site: Site, url: str, who: str, status: int, words: str) -> None:
    answer = site.get(url, who)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["message"]


def test_basic_auth_works_and_key_in_the_url_only_for_device_keys(
    sqlite_site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    load(sqlite_site)
    key = sqlite_site.keys["pro"]
    by_basic = sqlite_site.client.get("/api/v1/export/txt?type=domain", auth=(key, ""))
    assert by_basic.status_code == 200
    with caplog.at_level(logging.INFO, logger="iocfeed.access"):
        in_url = sqlite_site.client.get(f"/api/v1/export/txt?type=domain&key={key}")
        elsewhere = sqlite_site.client.get(f"/api/v1/iocs?key={key}")
    assert in_url.status_code == 403  # not a device key
    assert "device" in in_url.json()["message"]
    assert elsewhere.status_code == 401  # key= means nothing outside the exports
    assert key not in caplog.text
    entries = [orjson.loads(r.getMessage()) for r in caplog.records if r.name == "iocfeed.access"]
    assert entries[0]["query"] == "type=domain&key=***"


def test_a_device_key_in_the_url_reads_every_export_and_nothing_else(
    sqlite_site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    load(sqlite_site)
    accounts = sqlite_site.services.accounts
    made = accounts.create("Branch office", "pro", OPERATOR)
    key = accounts.create_key(made.account_id, "pa-440", OPERATOR, Narrowing(device=True)).plaintext
    with caplog.at_level(logging.INFO, logger="iocfeed.access"):
        for url in (
            "/api/v1/export/txt?type=domain",
            "/api/v1/export/rpz",
            "/api/v1/export/hosts",
            "/api/v1/export/stix",
        ):
            answer = sqlite_site.client.get(f"{url}{'&' if '?' in url else '?'}key={key}")
            assert answer.status_code == 200, (url, answer.text)
        assert sorted(
            lines(sqlite_site.client.get(f"/api/v1/export/txt?type=domain&key={key}"))
        ) == ["evil.example", "low.example"]
        # Outside the exports key= is no credential, and a device key in a header is refused.
        assert sqlite_site.client.get(f"/api/v1/iocs?key={key}").status_code == 401
        refused = sqlite_site.client.get("/api/v1/iocs", headers={"X-API-Key": key})
        assert refused.status_code == 403
    assert key not in caplog.text
    assert key.split("_", 2)[2] not in caplog.text


def test_csv_lookup_and_generic(site: Site) -> None:
    load(site)
    splunk = site.get("/api/v1/export/csv?lookup=local_domain_intel", "pro")
    assert splunk.headers["content-type"] == "text/csv; charset=utf-8"
    rows = splunk.text.split("\r\n")
    assert rows[0] == "description,domain,weight"
    assert sorted(row.split(",")[1] for row in rows[1:] if row) == ["evil.example", "low.example"]
    generic = site.get("/api/v1/export/csv?type=ipv4", "pro").text.split("\r\n")
    assert generic[0].startswith("type,value,confidence,tlp")
    assert generic[1].startswith("ipv4,198.51.100.7,high,green")


def test_suricata_sids_stay_and_rev_follows_the_version(site: Site) -> None:
    load(site)
    first = site.get("/api/v1/export/suricata?type=domain,ipv4", "pro").text
    sid_of = dict(re.findall(r'msg:"iocfeed \w+ ([^ "]+)[^"]*"; .*? sid:(\d+);', first))
    assert set(sid_of) == {"evil.example", "low.example", "198.51.100.7"}
    site.load([ioc(IocType.DOMAIN, "evil.example", tags=("c2", "new"))], at=NOW + timedelta(1))
    later = site.get("/api/v1/export/suricata?type=domain,ipv4", "pro").text
    assert dict(re.findall(r'msg:"iocfeed \w+ ([^ "]+)[^"]*"; .*? sid:(\d+);', later)) == sid_of
    evil = [line for line in later.splitlines() if "evil.example" in line]
    assert len(evil) == 3 and all("rev:2;" in line for line in evil)
    assert all(
        "rev:1;" in line for line in first.splitlines() if "sid:" in line and "list" not in line
    )


def test_rpz_serial_grows_with_the_data(site: Site) -> None:
    load(site)

    def serial() -> int:
        text = site.get("/api/v1/export/rpz", "pro").text
        found = re.search(r"SOA \S+ \S+ \( (\d+) ", text)
        assert found is not None, text
        return int(found[1])

    before = serial()
    site.load([ioc(IocType.DOMAIN, "later.example")], at=NOW + timedelta(minutes=5))
    assert serial() == before + 300


def test_misp_feed_is_walked_as_misp_walks_it(site: Site) -> None:
    load(site)
    manifest = site.get("/api/v1/export/misp/manifest.json", "pro")
    assert manifest.status_code == 200
    assert manifest.json() == site.get("/api/v1/export/misp", "pro").json()
    values = set()
    for uuid, entry in manifest.json().items():
        event = MISPEvent()
        event.load(site.get(f"/api/v1/export/misp/{uuid}.json", "pro").content)
        assert int(event.timestamp.timestamp()) == entry["timestamp"]
        values |= {(a.value, a.deleted) for a in event.attributes}
    assert ("gone.example", True) in values  # withdrawn: a deleted attribute
    assert ("evil.example", False) in values
    assert not any(value == "secret.example" for value, _ in values)
    hashes = site.get("/api/v1/export/misp/hashes.csv", "pro").text.splitlines()
    assert len(hashes) == len(values)
    assert {line.split(",")[1] for line in hashes} <= set(manifest.json())


def test_gzip_body_is_one_gzip_member(sqlite_site: Site) -> None:
    load(sqlite_site)
    raw = sqlite_site.client.stream(
        "GET",
        "/api/v1/export/txt?type=domain",
        headers={**sqlite_site.headers("admin"), "Accept-Encoding": "gzip"},
    )
    with raw as response:
        body = b"".join(response.iter_raw())
    assert sorted(gzip.decompress(body).decode().splitlines()) == [
        "evil.example",
        "low.example",
        "secret.example",
    ]


def test_the_etag_follows_revocation_and_expiry(site: Site) -> None:
    site.load([ioc(IocType.DOMAIN, "short.example", valid_until=NOW + timedelta(hours=1))])
    load(site)

    def tag() -> str:
        answer = site.get("/api/v1/export/txt?type=domain", "pro")
        assert answer.status_code == 200
        return str(answer.headers["etag"])

    first = tag()
    assert tag() == first
    site.load([IndicatorInput(IocType.DOMAIN, "low.example", revoked=True)], at=NOW)
    revoked = tag()
    assert revoked != first
    site.clock.at = NOW + timedelta(hours=2)  # short.example expires, nothing is written
    assert tag() != revoked
    assert "short.example" not in lines(site.get("/api/v1/export/txt?type=domain", "pro"))


def test_the_stix_export_takes_the_same_filters(site: Site) -> None:
    load(site)
    bundle = site.get("/api/v1/export/stix?type=domain&tag=c2&min_confidence=medium", "pro")
    assert bundle.status_code == 200
    patterns = [o["pattern"] for o in bundle.json()["objects"] if o["type"] == "indicator"]
    assert patterns == ["[domain-name:value = 'evil.example']"]
    ceiling = site.get("/api/v1/export/stix?type=domain&max_tlp=amber")
    names = [o["pattern"] for o in ceiling.json()["objects"] if o["type"] == "indicator"]
    assert "[domain-name:value = 'secret.example']" not in names
