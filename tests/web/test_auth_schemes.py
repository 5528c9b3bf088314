"""Every way a key may be presented (SPEC §3 "Auth", §4), on REST and TAXII; a malformed
``Authorization`` header next to a valid ``X-API-Key``; failed authentications limited per
client address on every limiter backend."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import pytest

from iocfeed.taxii.media import TAXII_MEDIA_TYPE
from tests.conftest import REDIS_URL
from tests.web.conftest import WRONG_KEY, Site, TestClient, start_site

REST = "/api/v1/me"
TAXII = "/taxii2/api/collections/"
PATHS = (REST, TAXII)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def presentations(key: str) -> dict[str, dict[str, str]]:
    """Every accepted way to present ``key``, by name."""
    return {
        "x-api-key": {"X-API-Key": key},
        "bearer": {"Authorization": f"Bearer {key}"},
        "bearer, upper case": {"Authorization": f"BEARER {key}"},
        "token": {"Authorization": f"Token {key}"},
        "token, lower case": {"Authorization": f"token {key}"},
        "basic password": {"Authorization": basic("sentinel", key)},
        "basic username, empty password": {"Authorization": basic(key, "")},
        "basic, lower case": {"Authorization": basic(key, "").replace("Basic", "basic")},
    }


@pytest.mark.parametrize("path", PATHS)
def test_every_presentation_of_a_key_is_accepted(sqlite_site: Site, path: str) -> None:
    key = sqlite_site.keys["pro"]
    for name, headers in presentations(key).items():
        response = sqlite_site.client.get(path, headers=headers)
        assert response.status_code == 200, (name, response.text)


@pytest.mark.parametrize("path", PATHS)
def test_every_presentation_of_a_wrong_key_is_refused(sqlite_site: Site, path: str) -> None:
    for name, headers in presentations(WRONG_KEY).items():
        response = sqlite_site.client.get(path, headers=headers)
        assert response.status_code == 401, name
        assert response.headers["WWW-Authenticate"].startswith('Basic realm="iocfeed"')


MALFORMED = (
    "Basic !!!!",
    "Basic",
    "Basic " + base64.b64encode(b"no colon here").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    "Bearer",
    "Token a b",
)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("authorization", MALFORMED)
def test_a_malformed_authorization_never_spoils_a_valid_x_api_key(
    sqlite_site: Site, path: str, authorization: str
) -> None:
    headers = {"X-API-Key": sqlite_site.keys["admin"], "Authorization": authorization}
    assert sqlite_site.client.get(path, headers=headers).status_code == 200


@pytest.mark.parametrize("authorization", MALFORMED)
def test_a_malformed_authorization_alone_is_a_401_saying_so(
    sqlite_site: Site, authorization: str
) -> None:
    response = sqlite_site.client.get(REST, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="iocfeed"')
    body = response.json()
    assert body["error"] == "unauthenticated"
    assert body["message"].startswith("Malformed Authorization header")

    taxii = sqlite_site.client.get(TAXII, headers={"Authorization": authorization})
    assert taxii.status_code == 401
    assert taxii.headers["content-type"].startswith(TAXII_MEDIA_TYPE)
    assert taxii.json()["http_status"] == "401"
    assert taxii.json()["description"].startswith("Malformed Authorization header")


def test_another_scheme_is_no_key(sqlite_site: Site) -> None:
    key = sqlite_site.keys["pro"]
    response = sqlite_site.client.get(REST, headers={"Authorization": f"Digest {key}"})
    assert response.status_code == 401
    assert response.json()["message"].startswith("An API key is required")


# --- failed authentications per client address -----------------------------------------


LIMIT = 5


@pytest.fixture(params=["database", "redis"])
def guarded(request: pytest.FixtureRequest, database_url: str) -> Iterator[Site]:
    """A site limiting failed authentications to LIMIT per address, on each backend."""
    redis_url = REDIS_URL if request.param == "redis" else None
    yield from start_site(database_url, redis_url=redis_url, failed_auth_per_minute=LIMIT)


def client_at(site: Site, address: str) -> TestClient:
    return TestClient(site.client.app, raise_server_exceptions=False, client=(address, 40000))


def test_failed_authentications_are_limited_per_address(guarded: Site) -> None:
    # Addresses of their own: the Redis counters are shared with other test runs.
    attacker = client_at(guarded, f"2001:db8::{uuid.uuid4().hex[:4]}")
    neighbour = client_at(guarded, f"2001:db8:1::{uuid.uuid4().hex[:4]}")
    bad = {"X-API-Key": WRONG_KEY}
    answers = [attacker.get(REST, headers=bad).status_code for _ in range(LIMIT)]
    answers += [attacker.get(REST).status_code, attacker.get(TAXII, headers=bad).status_code]
    assert answers == [401] * LIMIT + [429, 429]

    refused = attacker.get(REST, headers={"X-API-Key": guarded.keys["admin"]})
    assert refused.status_code == 429  # the address is blocked before any key lookup
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"] == "rate_limited"
    assert "without a valid API key" in refused.json()["message"]

    # A key that authenticated lately still works from the blocked address (a SIEM behind
    # the same NAT as the noisy client); a revoked one is refused all the same.
    assert neighbour.get(REST, headers={"X-API-Key": guarded.keys["pro"]}).status_code == 200
    assert attacker.get(REST, headers={"X-API-Key": guarded.keys["pro"]}).status_code == 200
    pro_id = guarded.keys["pro"].split("_")[1]
    guarded.services.keys.revoke(pro_id, guarded.clock.now())
    assert attacker.get(REST, headers={"X-API-Key": guarded.keys["pro"]}).status_code == 429

    # Another address is unaffected, and valid keys do not count.
    for _ in range(LIMIT + 2):
        assert neighbour.get(REST, headers={"X-API-Key": guarded.keys["admin"]}).status_code == 200
    assert neighbour.get(REST, headers=bad).status_code == 401

    # The next window lets the address try again.
    guarded.clock.advance(minutes=1)
    assert attacker.get(REST, headers=bad).status_code == 401
    assert attacker.get(REST, headers={"X-API-Key": guarded.keys["admin"]}).status_code == 200


def test_the_limit_is_shared_by_workers(guarded: Site) -> None:
    """A second app on the same counters, as another worker would be."""
    from iocfeed.web.app import create_app

    address = f"2001:db8:2::{uuid.uuid4().hex[:4]}"
    first = client_at(guarded, address)
    settings = guarded.services.settings
    other = create_app(settings, clock=guarded.clock)
    second = TestClient(other, raise_server_exceptions=False, client=(address, 40001))
    bad = {"X-API-Key": WRONG_KEY}
    answers = [
        (first if n % 2 else second).get(REST, headers=bad).status_code for n in range(LIMIT + 1)
    ]
    assert answers == [401] * LIMIT + [429]
    assert first.get(REST, headers=bad).status_code == 429
    other.state.services.close()
