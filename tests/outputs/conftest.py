"""Outside judges for the writers: Debian tools, found on PATH or the test is skipped (and
fails under CI, which installs them: see ``.ci/run``)."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime

import pytest

from iocfeed.outputs.listing import Listing

NOW = datetime(2026, 5, 2, 8, 30, tzinfo=UTC)


def debian_tool(name: str, package: str) -> str:
    """The path of ``name``; skip (or fail under CI) when the package is missing."""
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if found is None:
        message = f"{name} is not installed (Debian package {package})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it")
        pytest.skip(message)
    return found


def listing(count: int, newest: datetime | None = NOW) -> Listing:
    return Listing(generated=NOW, count=count, newest=newest, producer="SOC Defenders")
