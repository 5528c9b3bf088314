"""The taxii kind against medallion, the OASIS TAXII 2.1 reference server (memory backend),
served over real HTTP on loopback: paged pulls, then only what was added since."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from taxii2client.v21 import Collection
from werkzeug.serving import make_server

from iocfeed.indicators.model import IocType
from iocfeed.sources.model import CredentialKind, Credentials, RunOutcome, SourceKind
from tests.sources.conftest import Pulling

COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
USER, PASSWORD = "puller", "medallion-secret"


def _collection(collection_id: str) -> dict[str, Any]:
    return {
        "id": collection_id,
        "title": "Indicators",
        "can_read": True,
        "can_write": True,
        "media_types": ["application/stix+json;version=2.1"],
        "objects": [],
        "manifest": [],
    }


def _data() -> dict[str, Any]:
    info = {
        "title": "Test root",
        "description": "",
        "versions": ["application/taxii+json;version=2.1"],
        "max_content_length": 10_000_000,
    }
    return {
        "/discovery": {"title": "medallion", "api_roots": [], "default": ""},
        "feeds": {
            "information": info,
            "status": [],
            "collections": [_collection(COLLECTION)],
        },
    }


@pytest.fixture(scope="module")
def medallion_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """medallion on a loopback port (one per module: its app is global); yields the app and
    the URL of its API root."""
    from medallion import load_app

    folder: Path = tmp_path_factory.mktemp("medallion")
    (folder / "data.json").write_text(json.dumps(_data()))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(folder / "data.json"),
        },
        "users": {USER: PASSWORD},
        "taxii": {"max_page_size": 2},
    }
    (folder / "config.json").write_text(json.dumps(config))
    app = load_app(str(folder / "config.json"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}/feeds/"
    server.shutdown()


@pytest.fixture
def medallion(medallion_server: tuple[Any, str]) -> str:
    """The URL of a new, empty collection on the medallion server."""
    app, root = medallion_server
    collection_id = str(uuid.uuid4())
    app.medallion_backend.data["feeds"]["collections"].append(_collection(collection_id))
    return f"{root}collections/{collection_id}/"


def _indicator(domain: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "pattern": f"[domain-name:value = '{domain}']",
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
    }


def _publish(url: str, *domains: str) -> None:
    collection = Collection(url, user=USER, password=PASSWORD)
    envelope = {"objects": [_indicator(domain) for domain in domains]}
    status = collection.add_objects(json.dumps(envelope))
    assert status.status == "complete" and status.success_count == len(domains)


def test_pulls_a_medallion_collection_page_by_page_then_only_what_is_new(
    pulling: Pulling, medallion: str
) -> None:
    first = [f"{n}.example.com" for n in ("one", "two", "three")]
    _publish(medallion, *first)
    credentials = Credentials(CredentialKind.BASIC, USER, PASSWORD)
    source = pulling.add("medallion", SourceKind.TAXII, medallion, credentials=credentials)
    run = pulling.runner.run(source)
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    assert (run.counts.added, run.counts.rejected) == (3, 0)  # over two pages of at most 2
    for domain in first:
        assert pulling.search.current(IocType.DOMAIN, domain) is not None
    assert pulling.sources.get("medallion").checkpoint["added_after"]
    _publish(medallion, "four.example.com")
    pulling.clock.advance(hours=1)
    again = pulling.runner.run(pulling.sources.get("medallion"))
    assert again is not None
    assert again.outcome is RunOutcome.SUCCEEDED, again.error
    assert (again.counts.added, again.counts.unchanged) == (1, 0)


def test_wrong_credentials_fail_the_run_in_words(pulling: Pulling, medallion: str) -> None:
    credentials = Credentials(CredentialKind.BASIC, USER, "wrong")
    source = pulling.add("medallion-bad", SourceKind.TAXII, medallion, credentials=credentials)
    run = pulling.runner.run(source)
    assert run is not None and run.failed
    assert run.error == "the TAXII server answered HTTP 401"
