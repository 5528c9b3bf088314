"""Advertised URLs and client addresses behind reverse proxies.

Forwarding headers are believed only from ``trusted_proxies``; ``public_url`` overrides them.
Every test checks TAXII discovery (what taxii2-client and OpenCTI follow), the landing page
and the client address in the access log.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import pytest

from iocfeed.config import Settings, load_settings
from iocfeed.errors import ConfigurationError
from iocfeed.forwarding import parse_forwarded, resolve, trusted_networks
from iocfeed.web.app import create_app
from tests.conftest import sqlite_url
from tests.web.conftest import NOW, migrated

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PROXY = "10.0.0.5"
OUTSIDER = "203.0.113.9"


class Server:
    def __init__(self, directory: Path, peer: str, **settings: Any) -> None:
        directory.mkdir(exist_ok=True)
        url = migrated(sqlite_url(directory))
        app = create_app(Settings(database_url=url, expiry_sweep_seconds=0, **settings))
        self.key = app.state.services.keys.create(name="t", plan="admin", now=NOW)[1]
        self.client = TestClient(app, client=(peer, 40000), base_url="http://internal:8000")

    def api_root(self, **headers: str) -> str:
        response = self.client.get("/taxii2/", headers={"X-API-Key": self.key, **headers})
        assert response.status_code == 200, response.text
        [root] = response.json()["api_roots"]
        assert response.json()["default"] == root
        return str(root)

    def landing(self, **headers: str) -> str:
        return self.client.get("/", headers=headers).text


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Server:
    return Server(tmp_path, PROXY, trusted_proxies=["10.0.0.0/24"])


@pytest.fixture
def exposed(tmp_path: Path) -> Server:
    return Server(tmp_path, OUTSIDER, trusted_proxies=["10.0.0.0/24"])


def test_without_proxy_headers_the_request_url_is_advertised(behind_proxy: Server) -> None:
    assert behind_proxy.api_root() == "http://internal:8000/taxii2/api/"


def test_x_forwarded_host_proto_and_prefix_from_a_trusted_proxy(behind_proxy: Server) -> None:
    headers = {
        "X-Forwarded-Host": "intel.example.org",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Prefix": "/feeds/",
    }
    expected = "https://intel.example.org/feeds/taxii2/api/"
    assert behind_proxy.api_root(**headers) == expected
    assert expected in behind_proxy.landing(**headers)
    # Each header alone changes only its own part.
    assert behind_proxy.api_root(**{"X-Forwarded-Host": "intel.example.org:8443"}) == (
        "http://intel.example.org:8443/taxii2/api/"
    )
    assert behind_proxy.api_root(**{"X-Forwarded-Proto": "https"}) == (
        "https://internal:8000/taxii2/api/"
    )
    assert behind_proxy.api_root(**{"X-Forwarded-Prefix": "/feeds"}) == (
        "http://internal:8000/feeds/taxii2/api/"
    )


def test_the_prefixed_paths_still_route(behind_proxy: Server) -> None:
    """A proxy that forwards /feeds/taxii2/... as is (without stripping) reaches the API too."""
    headers = {"X-Forwarded-Prefix": "/feeds", "X-API-Key": behind_proxy.key}
    assert behind_proxy.client.get("/taxii2/api/", headers=headers).status_code == 200
    missing = behind_proxy.client.get(
        "/taxii2/api/collections/nope/", headers={**headers, "Accept": "application/taxii+json"}
    )
    assert missing.status_code == 404
    assert missing.json()["http_status"] == "404"  # still the TAXII error shape


def test_rfc_7239_forwarded_from_a_trusted_proxy(behind_proxy: Server) -> None:
    forwarded = 'for="[2001:db8::7]:4711";proto=https;host="intel.example.org"'
    assert behind_proxy.api_root(Forwarded=forwarded) == "https://intel.example.org/taxii2/api/"


def test_forwarding_headers_from_an_untrusted_peer_are_ignored(exposed: Server) -> None:
    headers = {
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Prefix": "/x",
        "Forwarded": "for=198.51.100.1;proto=https;host=evil.example",
        "X-Forwarded-For": "198.51.100.1",
    }
    assert exposed.api_root(**headers) == "http://internal:8000/taxii2/api/"
    assert "evil.example" not in exposed.landing(**headers)


def test_malformed_forwarding_values_are_ignored(behind_proxy: Server) -> None:
    assert behind_proxy.api_root(
        **{
            "X-Forwarded-Host": "evil.example/path?x",
            "X-Forwarded-Proto": "javascript",
            "X-Forwarded-Prefix": "no-slash",
        }
    ) == ("http://internal:8000/taxii2/api/")


def test_public_url_wins_over_everything(tmp_path: Path) -> None:
    server = Server(
        tmp_path,
        PROXY,
        trusted_proxies=["10.0.0.0/24"],
        public_url="https://intel.example.org/prefix/",
    )
    expected = "https://intel.example.org/prefix/taxii2/api/"
    assert server.api_root() == expected
    assert server.api_root(**{"X-Forwarded-Host": "other.example"}) == expected
    assert expected in server.landing()


def test_default_trusts_loopback_only(tmp_path: Path) -> None:
    local = Server(tmp_path / "a", "127.0.0.1")
    assert local.api_root(**{"X-Forwarded-Proto": "https"}).startswith("https://")
    remote = Server(tmp_path / "b", "192.0.2.1")
    assert remote.api_root(**{"X-Forwarded-Proto": "https"}).startswith("http://")


def test_client_address_comes_from_the_trusted_chain(
    behind_proxy: Server, exposed: Server, caplog: pytest.LogCaptureFixture
) -> None:
    def logged_client(server: Server, **headers: str) -> str:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="iocfeed.access"):
            server.client.get("/healthz", headers=headers)
        [line] = [r.getMessage() for r in caplog.records if r.name == "iocfeed.access"]
        return str(json.loads(line)["client"])

    # The proxy appends the peer it saw; a client may have put anything in front.
    chain = "6.6.6.6, 198.51.100.23, 10.0.0.7"
    assert logged_client(behind_proxy, **{"X-Forwarded-For": chain}) == "198.51.100.23"
    forwarded = 'for=6.6.6.6, for="[2001:db8::1]:80", for=10.0.0.7'
    assert logged_client(behind_proxy, Forwarded=forwarded) == "2001:db8::1"
    assert logged_client(behind_proxy) == PROXY
    assert logged_client(exposed, **{"X-Forwarded-For": "198.51.100.23"}) == OUTSIDER


@pytest.mark.parametrize(
    ("value", "elements"),
    [
        (
            "for=192.0.2.60;proto=http;by=203.0.113.43",
            [{"for": "192.0.2.60", "proto": "http", "by": "203.0.113.43"}],
        ),
        ('For="[2001:db8:cafe::17]:4711"', [{"for": "[2001:db8:cafe::17]:4711"}]),
        ("for=192.0.2.43, for=198.51.100.17", [{"for": "192.0.2.43"}, {"for": "198.51.100.17"}]),
        ('host="a\\"b"', [{"host": 'a"b'}]),
        ("for=1.2.3.4 junk", None),
        ("=x", None),
    ],
)
def test_forwarded_parser(value: str, elements: list[dict[str, str]] | None) -> None:
    assert parse_forwarded(value) == elements


def test_all_trusted_hops_give_the_leftmost_and_star_trusts_everyone() -> None:
    trusted = trusted_networks(["10.0.0.0/8"])
    origin = resolve("10.0.0.1", {"x-forwarded-for": "10.1.1.1, 10.2.2.2"}, trusted)
    assert origin.client == "10.1.1.1"
    anyone = resolve("192.0.2.1", {"x-forwarded-proto": "https"}, trusted_networks(["*"]))
    assert anyone.scheme == "https"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("public_url", "ftp://intel.example"),
        ("public_url", "https://"),
        ("public_url", "https://intel.example/p?q=1"),
        ("trusted_proxies", ["10.0.0.0/33"]),
        ("trusted_proxies", ["proxy.local"]),
    ],
)
def test_bad_proxy_settings_fail_at_start(setting: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        load_settings(**{setting: value})
