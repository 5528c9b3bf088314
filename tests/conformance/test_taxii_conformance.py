"""The shared TAXII 2.1 conformance tool (OASIS client plus raw HTTP checks) against a live server.

With writes, it runs on the writable Submissions collection after a client has posted more
than a page of indicators there (Submissions serves only what was posted to it). Read-only,
it runs on the collection of every indicator, where one check disagrees by design: SPEC §3
puts the producer identity and the TLP marking definitions on the first page of every walk,
so an ``added_after`` poll repeats those reference objects (never a stored version).

The tool is not ours to redistribute (it carries no licence), so it is looked for in the
``shared`` folder beside the repository, or at ``IOCFEED_TAXII_CONFORMANCE``. Without it the
tests are skipped with that reason, except under CI (``CI`` set), where a missing tool is a
failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from taxii2client.v21 import Collection

from iocfeed.indicators.model import IocType
from iocfeed.taxii.collections import ALL_COLLECTION_ID, SUBMISSIONS_COLLECTION_ID
from tests.conformance.conftest import REFERENCES, LiveServer

TOOL = Path(
    os.environ.get("IOCFEED_TAXII_CONFORMANCE")
    or Path(__file__).resolve().parents[3] / "shared" / "tools" / "taxii_conformance.py"
)
MISSING = f"the TAXII conformance tool is not at {TOOL} (set IOCFEED_TAXII_CONFORMANCE)"
CHECKS = 43
POSTED = 150  # more than the tool's page of 100, so that its paging checks run


if not TOOL.is_file() and not os.environ.get("CI"):
    pytest.skip(MISSING, allow_module_level=True)


def run_tool(live: LiveServer, collection_id: str, *extra: str) -> subprocess.CompletedProcess[str]:
    assert TOOL.is_file(), f"{MISSING}; CI must run it"
    return subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "--discovery",
            live.discovery,
            "--api-root",
            live.api_root,
            "--collection",
            collection_id,
            "--user",
            "sentinel",
            "--password",
            live.key,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def summary(run: subprocess.CompletedProcess[str]) -> tuple[str, ...]:
    found = re.search(r"(\d+) checks: (\d+) passed, (\d+) failed, (\d+) warnings", run.stdout)
    assert found is not None, run.stdout + run.stderr
    return found.groups()


def test_every_conformance_check_passes_on_submissions(live: LiveServer) -> None:
    posted_value = "198.51.100.7"  # the tool posts this address; it must be new here
    assert live.services.search.current(IocType.IPV4, posted_value) is None
    submissions = Collection(
        f"{live.api_root}collections/{SUBMISSIONS_COLLECTION_ID}/", user="u", password=live.key
    )
    status = submissions.add_objects(
        {"objects": [_indicator(f"posted-{n}.example") for n in range(POSTED)]}
    )
    assert status.success_count == POSTED
    run = run_tool(live, SUBMISSIONS_COLLECTION_ID, "--write")
    assert summary(run) == (str(CHECKS), str(CHECKS), "0", "0"), run.stdout
    assert run.returncode == 0


def test_read_checks_on_the_all_collection(live: LiveServer) -> None:
    run = run_tool(live, ALL_COLLECTION_ID)
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAIL")]
    assert failed == [
        "FAIL added_after=<Date-Added-Last of page 1> returns no page-1 object "
        f"-- {REFERENCES} overlap"
    ], run.stdout
    checks, passed, _, warnings = summary(run)
    assert (int(checks), int(passed), warnings) == (CHECKS - 4, CHECKS - 5, "0"), run.stdout


def _indicator(domain: str) -> dict[str, str]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
        "name": domain,
        "pattern": f"[domain-name:value = '{domain}']",
        "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z",
    }
