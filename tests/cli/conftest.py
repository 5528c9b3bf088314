from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from iocfeed.cli.main import app


@pytest.fixture
def iocfeed(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the ``iocfeed`` command against a fresh database of each kind."""
    monkeypatch.setenv("IOCFEED_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run
