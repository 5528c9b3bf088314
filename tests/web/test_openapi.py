"""The OpenAPI document is the contract: schemathesis drives every operation with generated
requests (a bounded, derandomised number per operation) and checks that nothing answers
with a 5xx, and that every status, content type, header and body is the one documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from iocfeed.config import Settings
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType, Tlp
from iocfeed.web.app import create_app
from tests.conftest import postgres_url, sqlite_url
from tests.web.conftest import PLAN_NAMES, Site, migrated, start_site

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

SEED = [
    IndicatorInput(IocType.IPV4, "198.51.100.7", Confidence.HIGH, tags=("c2",)),
    IndicatorInput(IocType.DOMAIN, "evil.example", techniques=("T1566.001",), tlp=Tlp.RED),
    IndicatorInput(IocType.URL, "http://evil.example/a", Confidence.LOW, description="lure"),
    IndicatorInput(IocType.CVE, "CVE-2021-44228"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def fuzzed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The app on each database (PostgreSQL refuses some input SQLite takes, e.g. NUL)."""
    if request.param == "sqlite":
        url = migrated(sqlite_url(tmp_path))
    else:
        url = migrated(postgres_url(request.getfixturevalue("postgres_schema")))
    # A stream lasts a moment here (a client that reads to the end would wait an hour), and
    # the Sentinel pusher's run-now meets a closed loopback port rather than the internet.
    closed = "http://127.0.0.1:9"
    for site in start_site(
        url,
        access_log=False,
        stream_max_seconds=0.2,
        sentinel_login_url=closed,
        sentinel_api_url=closed,
    ):
        site.load(SEED)
        yield site


# The operations to generate tests for are known at collection time, so the schema comes
# from an app that is never started (building one opens nothing); each test then sends its
# requests to its own app on its own database.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(Settings(database_url="sqlite:///:memory:", expiry_sweep_seconds=0)),
)


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_keeps_its_documented_contract(
    case: schemathesis.Case, fuzzed: Site
) -> None:
    case.call_and_validate(app=fuzzed.client.app, headers=fuzzed.headers("admin"), checks=CHECKS)


def test_every_parameter_is_described(sqlite_site: Site) -> None:
    document = sqlite_site.client.get("/openapi.json").json()
    undescribed = [
        f"{method.upper()} {path} {parameter['name']}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert undescribed == []
    api = {p: o for p, o in document["paths"].items() if p.startswith("/api/v1/")}
    for path, operations in api.items():
        for method, operation in operations.items():
            assert operation.get("summary") and operation.get("description"), (method, path)
            error = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    assert sqlite_site.client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("url", "methods"),
    [
        ("/api/v1/iocs", {"GET", "POST"}),
        ("/api/v1/iocs/domain/evil.example", {"GET", "DELETE"}),
        ("/api/v1/keys", {"GET", "POST"}),
        ("/taxii2/api/collections/all/objects/", {"GET", "POST"}),
    ],
)
def test_405_allow_lists_every_method_of_the_path(
    sqlite_site: Site, url: str, methods: set[str]
) -> None:
    response = sqlite_site.client.options(url, headers=sqlite_site.headers("admin"))
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == methods


def test_constraints_are_declared(sqlite_site: Site) -> None:
    document = sqlite_site.client.get("/openapi.json").json()

    def parameter(path: str, name: str) -> dict[str, object]:
        [found] = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
        schema: dict[str, object] = found["schema"]
        return schema

    types = sorted(t.value for t in IocType)
    for path in ("/api/v1/iocs", "/api/v1/export/stix"):
        limit = parameter(path, "limit")
        assert (limit["minimum"], limit["maximum"]) == (1, 1000), path
        assert sorted(parameter(path, "type")["items"]["enum"]) == types, path  # type: ignore[index]
    confidence = parameter("/api/v1/iocs", "confidence")["items"]
    assert sorted(confidence["enum"]) == sorted(c.value for c in Confidence)  # type: ignore[index]
    key = document["paths"]["/api/v1/keys"]["post"]["requestBody"]["content"]["application/json"]
    assert key["schema"]["properties"]["plan"]["enum"] == [*PLAN_NAMES, "tiny"]


@pytest.mark.parametrize("parameter", ["since", "until", "confidence"])
def test_empty_filters_are_rejected_naming_them(sqlite_site: Site, parameter: str) -> None:
    response = sqlite_site.get(f"/api/v1/iocs?{parameter}=")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["parameter"] == parameter
    assert "empty" in body["message"]
    export = sqlite_site.get("/api/v1/export/stix?since=")
    assert export.status_code == 400 and export.json()["parameter"] == "since"
