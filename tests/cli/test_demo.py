"""``iocfeed demo``: the same indicators for the same seed, every type present."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import Result

from tests.cli.test_import import stored

Iocfeed = Callable[..., Result]


def test_demo_loads_every_type_deterministically(iocfeed: Iocfeed, database_url: str) -> None:
    result = iocfeed("demo", "--count", "300", "--seed", "5")
    assert result.exit_code == 0, result.output
    first = stored(database_url)
    assert len(first) == 300
    assert len(set(first.values())) == 11
    again = iocfeed("demo", "--count", "300", "--seed", "5")
    assert again.exit_code == 0
    assert stored(database_url) == first
    assert "total" in result.output


def test_db_upgrade(iocfeed: Iocfeed) -> None:
    result = iocfeed("db", "upgrade")
    assert result.exit_code == 0
    assert "revision" in result.output
