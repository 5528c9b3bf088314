"""The shared TAXII 2.1 conformance tool (OASIS client plus raw HTTP checks) passes every check.

It runs as a subprocess against a live server, with writes, on the writable collection
(which serves every indicator, so the read checks cover the whole feed). The tool is not
ours to redistribute (it carries no licence), so it is looked for in the ``shared`` folder
beside the repository, or at ``IOCFEED_TAXII_CONFORMANCE``. Without it the test is skipped
with that reason, except under CI (``CI`` set), where a missing tool is a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from iocfeed.indicators.model import IocType
from iocfeed.taxii.collections import SUBMISSIONS_COLLECTION_ID
from tests.conformance.conftest import LiveServer

TOOL = Path(
    os.environ.get("IOCFEED_TAXII_CONFORMANCE")
    or Path(__file__).resolve().parents[3] / "shared" / "tools" / "taxii_conformance.py"
)
CHECKS = 43
MISSING = f"the TAXII conformance tool is not at {TOOL} (set IOCFEED_TAXII_CONFORMANCE)"

if not TOOL.is_file() and not os.environ.get("CI"):
    pytest.skip(MISSING, allow_module_level=True)


def test_every_conformance_check_passes(live: LiveServer) -> None:
    assert TOOL.is_file(), f"{MISSING}; CI must run it"
    posted_value = "198.51.100.7"  # the tool posts this address; it must be new here
    assert live.services.search.current(IocType.IPV4, posted_value) is None
    run = subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "--discovery",
            live.discovery,
            "--api-root",
            live.api_root,
            "--collection",
            SUBMISSIONS_COLLECTION_ID,
            "--user",
            "sentinel",
            "--password",
            live.key,
            "--write",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    summary = re.search(r"(\d+) checks: (\d+) passed, (\d+) failed, (\d+) warnings", run.stdout)
    assert summary is not None, run.stdout + run.stderr
    assert summary.groups() == (str(CHECKS), str(CHECKS), "0", "0"), run.stdout
    assert run.returncode == 0
