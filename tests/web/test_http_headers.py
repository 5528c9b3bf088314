"""HTTP hygiene: gzip where the client accepts it, security headers everywhere, a key response
no cache keeps, and API docs that load nothing from another host."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

import orjson
import pytest

from iocfeed.demo import generate
from iocfeed.web.headers import HTML_POLICY
from tests.web.conftest import NOW, Site

TAXII = "application/taxii+json;version=2.1"
SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def raw_get(site: Site, url: str, **headers: str) -> tuple[dict[str, str], bytes]:
    """Headers and the body exactly as sent (not decoded)."""
    with site.client.stream("GET", url, headers={**site.headers("admin"), **headers}) as reply:
        body = b"".join(reply.iter_raw())
        return dict(reply.headers), body


@pytest.fixture
def loaded(sqlite_site: Site) -> Site:
    sqlite_site.load(generate(300, seed=3, now=NOW), NOW - timedelta(hours=1))
    return sqlite_site


@pytest.mark.parametrize(
    ("url", "accept"),
    [
        ("/api/v1/iocs?limit=200", "application/json"),
        ("/taxii2/api/collections/all/objects/?limit=200", TAXII),
        ("/taxii2/api/collections/all/manifest/", TAXII),
        ("/openapi.json", "application/json"),
    ],
)
def test_json_is_gzipped_when_accepted(loaded: Site, url: str, accept: str) -> None:
    plain_headers, plain = raw_get(loaded, url, Accept=accept, **{"Accept-Encoding": "identity"})
    headers, body = raw_get(loaded, url, Accept=accept, **{"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in plain_headers
    assert headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in headers["vary"]
    assert "Accept-Encoding" in plain_headers["vary"]
    assert len(body) < len(plain) / 3
    assert orjson.loads(gzip.decompress(body)) == orjson.loads(plain)
    refused, _ = raw_get(loaded, url, Accept=accept, **{"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused


def test_the_export_is_compressed_once(loaded: Site) -> None:
    headers, body = raw_get(loaded, "/api/v1/export/stix?limit=300", **{"Accept-Encoding": "gzip"})
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    bundle = orjson.loads(gzip.decompress(body))  # one layer, then JSON
    assert bundle["type"] == "bundle"
    assert headers["etag"].endswith('-gzip"')


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/"),
        ("GET", "/docs"),
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        ("GET", "/api/v1/iocs"),
        ("GET", "/api/v1/nope"),
        ("GET", "/taxii2/"),
        ("GET", "/taxii2/api/collections/all/objects/"),
        ("POST", "/api/v1/iocs"),
    ],
)
def test_security_headers_on_every_response(sqlite_site: Site, method: str, url: str) -> None:
    for who in ("admin", "none"):
        response = sqlite_site.client.request(method, url, headers=sqlite_site.headers(who))
        for name, value in SECURITY.items():
            assert response.headers[name] == value, (url, who, name)
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        if response.headers["content-type"].startswith("text/html"):
            assert policy == HTML_POLICY
        else:
            assert policy.startswith("default-src 'none'")


def test_the_new_key_is_not_cached(sqlite_site: Site) -> None:
    response = sqlite_site.client.post(
        "/api/v1/keys", json={"name": "x", "plan": "free"}, headers=sqlite_site.headers("admin")
    )
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"


def test_docs_load_only_same_origin_assets_and_those_are_served(sqlite_site: Site) -> None:
    page = sqlite_site.client.get("/docs")
    assert page.status_code == 200
    html = page.text
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert referenced, html
    assert "swagger-ui-bundle.js" in html and "swagger-ui.css" in html
    for url in referenced:
        # Relative URLs only: same origin, and right under a proxy prefix too.
        assert not re.match(r"^(?:[a-z]+:)?//", url) and not url.startswith("/"), url
        asset = sqlite_site.client.get(f"/{url}")
        assert asset.status_code == 200, url
        assert len(asset.content) > 50, url
    start = sqlite_site.client.get("/docs/start.js")
    assert "openapi.json" in start.text and "validatorUrl: null" in start.text
    # Nothing in the page or its start script names another host.
    assert "http" not in html.replace('lang="en"', "")
    assert "//" not in start.text
    assert "<script>" not in html  # no inline script: the policy allows 'self' only
