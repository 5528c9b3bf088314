"""``iocfeed pushers``: add (secret from stdin, never printed), list, run against the
Sentinel stand-in (exit 1 on a failed run), remove."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import Result

from tests.worker.test_sentinel import (
    CLIENT,
    SECRET,
    TENANT,
    WORKSPACE,
    SentinelStandIn,
    stand_in_fixture,
)

__all__ = ["stand_in_fixture"]


def test_add_list_run_remove(
    iocfeed: Callable[..., Result],
    stand_in: tuple[SentinelStandIn, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sentinel, base = stand_in
    monkeypatch.setenv("IOCFEED_SENTINEL_LOGIN_URL", base)
    monkeypatch.setenv("IOCFEED_SENTINEL_API_URL", base)
    options = ["--tenant-id", TENANT, "--client-id", CLIENT, "--workspace-id", WORKSPACE]
    added = iocfeed(
        "pushers", "add", "sentinel", *options, "--source-system", "iocfeed-test", input=SECRET
    )
    assert added.exit_code == 0, added.output
    assert SECRET not in added.output
    wrong = iocfeed("pushers", "add", "wrong", *options, input="not-the-secret\n")
    assert wrong.exit_code == 0
    iocfeed("demo", "--count", "30")
    ran = iocfeed("pushers", "run", "sentinel")
    assert ran.exit_code == 0, ran.output
    # The demo has an email address, which the stand-in refuses per record.
    assert ran.output.startswith("partial: ")
    assert "refused indicator--" in ran.output
    assert "email-addr is not supported" in ran.output.replace("\n", " ")
    assert len(sentinel.received) >= 1
    failed = iocfeed("pushers", "run", "wrong")
    assert failed.exit_code == 1
    assert "invalid_client" in failed.output
    listed = iocfeed("pushers", "list")
    assert "sentinel" in listed.output
    assert SECRET not in listed.output
    assert "not-the-secret" not in listed.output + failed.output
    assert iocfeed("pushers", "remove", "sentinel").exit_code == 0
    assert iocfeed("pushers", "run", "sentinel").exit_code == 1


def test_reserved_source_name_and_missing_secret(iocfeed: Callable[..., Result]) -> None:
    options = ["--tenant-id", TENANT, "--client-id", CLIENT, "--workspace-id", WORKSPACE]
    reserved = iocfeed(
        "pushers", "add", "s", *options, "--source-system", "Microsoft Sentinel", input=SECRET
    )
    assert reserved.exit_code == 2
    assert "reserved" in reserved.output
    assert iocfeed("pushers", "add", "s", *options, input="").exit_code == 2
