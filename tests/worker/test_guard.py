"""The guarded transport: names are resolved and checked, and the request goes to the checked
address with the name kept in ``Host`` (no second lookup to rebind)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from iocfeed.push.addresses import parse_networks
from iocfeed.worker.guard import Refused, checked_address, guarded_client, resolve
from tests.conformance.conftest import serving


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"host": request.headers["host"], "peer": request.client.host})  # type: ignore[union-attr]


@pytest.fixture
def port() -> Iterator[int]:
    with serving(Starlette(routes=[Route("/", echo)])) as base:
        yield int(base.rsplit(":", 1)[1])


def test_name_is_sent_to_the_checked_address_with_its_host(port: int) -> None:
    with guarded_client(parse_networks(["127.0.0.0/8"]), 5) as client:
        answer = client.get(f"http://localhost:{port}/").json()
    assert answer == {"host": f"localhost:{port}", "peer": "127.0.0.1"}


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("localhost", "loopback"),
        ("127.0.0.1", "loopback"),
        ("[::1]", "loopback"),
        ("169.254.169.254", "cloud metadata"),
        ("10.0.0.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("[fe80::1]", "link-local"),
        ("0.0.0.0", "unspecified"),
    ],
)
def test_refused_before_connecting(port: int, host: str, reason: str) -> None:
    with guarded_client((), 5) as client, pytest.raises(Refused, match=reason):
        client.get(f"http://{host}:{port}/")


def test_resolver_answers_are_each_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name whose answers mix a refused and an allowed address goes to the allowed one;
    a name with only refused answers is refused (the system resolver is replaced by one that
    gives fixed answers: no test name resolves to a public address offline)."""
    answers = {
        "mixed.test": ["10.0.0.5", "93.184.216.34"],
        "inside.test": ["192.168.0.1", "127.0.0.1"],
    }

    def fake_getaddrinfo(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert resolve("mixed.test", 80) == [
        ipaddress.ip_address("10.0.0.5"),
        ipaddress.ip_address("93.184.216.34"),
    ]
    assert str(checked_address("mixed.test", 80, ())) == "93.184.216.34"
    with pytest.raises(Refused, match="private"):
        checked_address("inside.test", 80, ())
    with pytest.raises(Refused, match="does not resolve"):
        checked_address("nowhere.test", 80, ())


def test_only_http_and_https() -> None:
    with guarded_client((), 5) as client, pytest.raises(Refused, match="only http and https"):
        client.get("ftp://example.org/")
