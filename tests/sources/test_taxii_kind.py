"""The taxii kind: one iocfeed pulling another over TAXII 2.1 with taxii2-client, only what
was added since its checkpoint (X-TAXII-Date-Added-Last)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from iocfeed.config import Settings
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType
from iocfeed.services import Services
from iocfeed.sources.model import CredentialKind, Credentials, RunOutcome, SourceKind
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import upgrade
from iocfeed.taxii.collections import ALL_COLLECTION_ID
from iocfeed.web.app import create_app
from tests.conformance.conftest import serving
from tests.conftest import sqlite_url
from tests.sources.conftest import Pulling


class Upstream:
    def __init__(self, services: Services, base: str, key: str) -> None:
        self.services = services
        self.base = base
        self.key = key

    @property
    def collection(self) -> str:
        return f"{self.base}/taxii2/api/collections/{ALL_COLLECTION_ID}/"

    def load(self, *domains: str) -> None:
        inputs = [IndicatorInput(IocType.DOMAIN, d, Confidence.HIGH) for d in domains]
        self.services.indicators.write(inputs, datetime.now(UTC) - timedelta(seconds=1))


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    url = sqlite_url(tmp_path / "upstream")
    (tmp_path / "upstream").mkdir()
    engine = open_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(Settings(database_url=url, expiry_sweep_seconds=0, access_log=False))
    built: Services = app.state.services
    _, key = built.keys.create(name="puller", plan="admin", now=datetime.now(UTC))
    with serving(app) as base:
        yield Upstream(built, base, key)


def test_one_iocfeed_pulls_another_over_taxii(pulling: Pulling, upstream: Upstream) -> None:
    upstream.load("one.example.com", "two.example.com")
    credentials = Credentials(CredentialKind.BASIC, "puller", upstream.key)
    source = pulling.add("peer", SourceKind.TAXII, upstream.collection, credentials=credentials)
    run = pulling.runner.run(source)
    assert run is not None
    assert run.outcome is RunOutcome.SUCCEEDED, run.error
    assert (run.counts.added, run.counts.rejected) == (2, 0)
    # The indicator names its producer (as on import); provenance names the source.
    found = pulling.search.current(IocType.DOMAIN, "one.example.com")
    assert found is not None
    assert found.source == "SOC Defenders"
    reporters = pulling.sources.reporters(IocType.DOMAIN, "one.example.com")
    assert [r["source"] for r in reporters] == ["peer"]
    checkpoint = pulling.sources.get("peer").checkpoint
    assert isinstance(checkpoint["added_after"], str)
    # Only what was added since comes next time.
    upstream.load("three.example.com")
    again = pulling.runner.run(pulling.sources.get("peer"))
    assert again is not None
    assert again.outcome is RunOutcome.SUCCEEDED, again.error
    assert (again.counts.added, again.counts.unchanged) == (1, 0)


def test_a_wrong_key_fails_the_run(pulling: Pulling, upstream: Upstream) -> None:
    credentials = Credentials(CredentialKind.BASIC, "puller", "iocf_wrong")
    source = pulling.add("peer", SourceKind.TAXII, upstream.collection, credentials=credentials)
    run = pulling.runner.run(source)
    assert run is not None
    assert run.outcome is RunOutcome.FAILED
    assert run.error == "the TAXII server answered HTTP 401"
