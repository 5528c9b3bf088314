"""``deploy/``: the compose wiring, run with local processes (containers cannot run here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import replication

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
IOCFEED = Path(sys.executable).with_name("iocfeed")
SERVICES = ("migrate", "iocfeed-web", "iocfeed-worker")


def compose() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_the_local_script_sets_what_compose_sets() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    script = (DEPLOY / "local-cluster.sh").read_text()
    exported = set(re.findall(r"^export (IOCFEED_[A-Z_]+)=", script, re.MULTILINE))
    for name in SERVICES:
        service = services[name]
        assert service["env_file"] == "iocfeed.env"
        assert set(service["environment"]) <= exported, name
    assert '"$here/iocfeed.env"' in script  # the same env file, else its example
    example = (DEPLOY / "iocfeed.env.example").read_text()
    assert {"IOCFEED_SECRET_KEY", "IOCFEED_PUBLIC_URL", "IOCFEED_TRUSTED_PROXIES"} <= set(
        re.findall(r"^(IOCFEED_[A-Z_]+)=", example, re.MULTILINE)
    )
    commands = {name: services[name]["command"] for name in SERVICES}
    assert commands["iocfeed-web"][:2] == ["iocfeed", "serve"]
    assert "--workers" in commands["iocfeed-web"]
    assert commands["iocfeed-worker"] == ["iocfeed", "worker"]


def test_the_compose_wiring_runs_with_local_processes() -> None:
    reason = replication.missing()
    if reason is None and shutil.which("redis-server") is None:
        reason = "redis-server is not installed"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run(
        [str(DEPLOY / "local-cluster.sh"), "check"],
        env={**os.environ, "IOCFEED": str(IOCFEED), "PGBIN": str(replication.BINARIES)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check passed" in done.stderr
    assert "iocfeed reads the replica" in done.stderr
