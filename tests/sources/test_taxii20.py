"""The taxii kind against a TAXII 2.0 server on loopback (the collection and objects endpoints
of TAXII 2.0: its media types, Range/Content-Range paging of a STIX 2.0 bundle, the
added_after filter and X-TAXII-Date-Added-Last), pulled with taxii2-client's v20 client."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from iocfeed.indicators.model import IocType
from iocfeed.sources.model import CredentialKind, Credentials, RunOutcome, SourceKind
from iocfeed.sources.taxii_versions import newest_modified, next_start, version_of
from tests.sources.conftest import FeedServer, Pulling

TAXII20 = "application/vnd.oasis.taxii+json; version=2.0"
STIX20 = "application/vnd.oasis.stix+json; version=2.0"
COLLECTION = "/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/"
USER, PASSWORD = "reader", "s3cret"
PAGE_LIMIT = 2


class Taxii20Server:
    """A TAXII 2.0 API root with one readable collection, Basic auth, at most PAGE_LIMIT
    objects a page whatever the Range asks."""

    def __init__(self) -> None:
        self.added: list[tuple[str, dict[str, Any]]] = []
        self.queries: list[dict[str, list[str]]] = []
        self.date_headers = True
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._json(401, {"title": "unauthorized"}, TAXII20)
                elif parts.path == COLLECTION:
                    if "application/vnd.oasis.taxii+json" not in self.headers.get("Accept", ""):
                        self._json(406, {"title": "TAXII 2.0 only"}, TAXII20)
                        return
                    info = {"id": COLLECTION.split("/")[-2], "title": "Indicators"}
                    self._json(200, {**info, "can_read": True, "can_write": False}, TAXII20)
                elif parts.path == COLLECTION + "objects/":
                    if "application/vnd.oasis.stix+json" not in self.headers.get("Accept", ""):
                        self._json(406, {"title": "STIX 2.0 only"}, TAXII20)
                        return
                    query = parse_qs(parts.query)
                    server.queries.append(query)
                    self._objects(query.get("added_after", [""])[0])
                else:
                    self._json(404, {"title": "not found"}, TAXII20)

            def _objects(self, added_after: str) -> None:
                rows = [(d, o) for d, o in server.added if not added_after or d > added_after]
                wanted = (self.headers.get("Range") or "").replace("=", " ").split()
                first, last = 0, len(rows) - 1
                if len(wanted) == 2 and wanted[0] == "items":
                    low, high = wanted[1].split("-")
                    first, last = int(low), min(int(high), len(rows) - 1)
                last = min(last, first + PAGE_LIMIT - 1)
                page = rows[first : last + 1]
                bundle = {
                    "type": "bundle",
                    "id": f"bundle--{uuid.uuid4()}",
                    "spec_version": "2.0",
                    "objects": [o for _, o in page],
                }
                headers = {"Content-Range": f"items {first}-{last}/{len(rows)}"}
                if page and server.date_headers:
                    headers["X-TAXII-Date-Added-First"] = page[0][0]
                    headers["X-TAXII-Date-Added-Last"] = page[-1][0]
                self._json(206 if self.headers.get("Range") else 200, bundle, STIX20, headers)

            def _json(
                self, status: int, body: Any, media: str, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def collection(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{COLLECTION}"

    def add(self, *domains: str, modified: str = "2026-03-01T00:00:00.000Z") -> None:
        for domain in domains:
            stamp = f"2026-03-02T00:00:{len(self.added):02d}.000000Z"
            self.added.append((stamp, _indicator(domain, modified)))


def _indicator(domain: str, modified: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": modified,
        "labels": ["malicious-activity"],
        "pattern": f"[domain-name:value = '{domain}']",
        "valid_from": "2026-03-01T00:00:00Z",
    }


@pytest.fixture
def taxii20() -> Iterator[Taxii20Server]:
    server = Taxii20Server()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _source(pulling: Pulling, server: Taxii20Server, password: str = PASSWORD) -> Any:
    credentials = Credentials(CredentialKind.BASIC, USER, password)
    return pulling.add("t20", SourceKind.TAXII, server.collection, credentials=credentials)


def test_pulls_a_taxii20_collection_page_by_page_then_only_what_is_new(
    pulling: Pulling, taxii20: Taxii20Server
) -> None:
    first = [f"host{n}.example.com" for n in range(5)]
    taxii20.add(*first)
    run = pulling.runner.run(_source(pulling, taxii20))
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    assert (run.counts.added, run.counts.rejected) == (5, 0)  # three pages of at most 2
    assert len(taxii20.queries) == 3
    for domain in first:
        assert pulling.search.current(IocType.DOMAIN, domain) is not None
    assert pulling.sources.get("t20").checkpoint["added_after"] == taxii20.added[-1][0]
    taxii20.add("late.example.com")
    pulling.clock.advance(hours=1)
    again = pulling.runner.run(pulling.sources.get("t20"))
    assert again is not None
    assert again.outcome is RunOutcome.SUCCEEDED, again.error
    assert (again.counts.added, again.counts.unchanged) == (1, 0)
    assert taxii20.queries[-1]["added_after"] == [taxii20.added[-2][0]]


def test_without_date_added_headers_the_newest_modified_is_the_checkpoint(
    pulling: Pulling, taxii20: Taxii20Server
) -> None:
    taxii20.date_headers = False
    taxii20.add("old.example.com", modified="2026-02-01T00:00:00.000Z")
    taxii20.add("newer.example.com", modified="2026-02-03T00:00:00.000Z")
    run = pulling.runner.run(_source(pulling, taxii20))
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    assert run.counts.added == 2
    assert pulling.sources.get("t20").checkpoint["added_after"] == "2026-02-03T00:00:00.000Z"


def test_refused_credentials_fail_the_run_in_words(
    pulling: Pulling, taxii20: Taxii20Server
) -> None:
    taxii20.add("one.example.com")
    run = pulling.runner.run(_source(pulling, taxii20, password="wrong"))
    assert run is not None and run.failed
    assert run.error == "the TAXII server answered HTTP 401"
    assert pulling.search.current(IocType.DOMAIN, "one.example.com") is None


def test_a_url_that_is_no_taxii_collection_fails_the_run_in_words(
    pulling: Pulling, feeds: FeedServer
) -> None:
    url = feeds.serve("/collections/x/", "<html></html>", headers={"Content-Type": "text/html"})
    run = pulling.runner.run(pulling.add("html", SourceKind.TAXII, url))
    assert run is not None and run.failed
    assert run.error is not None
    assert run.error.startswith("the URL is not a TAXII 2.1 or 2.0 collection")
    assert "'text/html'" in run.error


@pytest.mark.parametrize(
    ("content_type", "version"),
    [
        ("application/taxii+json;version=2.1", "2.1"),
        ("application/taxii+json", "2.1"),
        ("application/vnd.oasis.taxii+json; version=2.0", "2.0"),
        ("application/vnd.oasis.taxii+json; version=2.1", None),
        ("application/json", None),
        (None, None),
    ],
)
def test_version_of_a_media_type(content_type: str | None, version: str | None) -> None:
    assert version_of(content_type) == version


def test_next_page_starts_after_the_last_item_sent() -> None:
    assert next_start("items 0-1/5", 2) == 2
    assert next_start("items 4-4/5", 1) is None
    assert next_start("items 0-99/*", 100) == 100
    assert next_start(None, 3) is None
    assert next_start("items 0-1/5", 0) is None
    with pytest.raises(ValueError, match="Content-Range"):
        next_start("bytes 0-1/5", 2)


def test_newest_modified_never_goes_back() -> None:
    objects = [{"modified": "2026-01-02T00:00:00Z"}, {"created": "2026-01-03T00:00:00Z"}]
    assert newest_modified(objects, None) == "2026-01-03T00:00:00Z"
    assert newest_modified(objects, "2026-02-01T00:00:00Z") == "2026-02-01T00:00:00Z"
