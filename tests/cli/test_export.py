"""``iocfeed export``: stdout and files, every switch, the endpoint's bytes, errors, audit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from pymisp import MISPEvent
from typer.testing import Result

from iocfeed.indicators.model import Tlp
from iocfeed.stix.markings import marking_id
from iocfeed.store.audit import AuditLog
from iocfeed.store.engine import open_engine
from tests.stix.judges import assert_stix_clean
from tests.web.conftest import start_site

Iocfeed = Callable[..., Result]

JSONL = "\n".join(
    orjson.dumps(item).decode()
    for item in [
        {"value": "198.51.100[.]7", "confidence": "high", "techniques": ["T1566.001"]},
        {"value": "2001:db8::7", "confidence": "low"},
        {"value": "bücher[.]example", "tlp": "red"},
        {"value": "hxxp://evil[.]example/o'brien\\x", "type": "url"},
        {"value": "CVE-2021-44228"},
        {"value": "T1566.001", "confidence": "high"},
    ]
)


@pytest.fixture
def loaded(iocfeed: Iocfeed, tmp_path: Path) -> Iocfeed:
    source = tmp_path / "sample.jsonl"
    source.write_text(JSONL, encoding="utf-8")
    assert iocfeed("import", str(source)).exit_code == 0
    return iocfeed


def document(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout_bytes)


def test_stdout_and_file_hold_the_same_bundle(loaded: Iocfeed, tmp_path: Path) -> None:
    printed = loaded("export")
    bundle = document(printed)
    assert bundle["type"] == "bundle"
    assert_stix_clean(bundle)
    types = [obj["type"] for obj in bundle["objects"]]
    assert types.count("indicator") == 4
    assert {"identity", "vulnerability", "attack-pattern", "relationship"} <= set(types)
    assert "export: 6 indicators written to stdout" in printed.stderr

    target = tmp_path / "out.json"
    written = loaded("export", "--output", str(target))
    assert written.exit_code == 0
    assert written.stdout_bytes == b""
    assert target.read_bytes() == printed.stdout_bytes
    # The console wraps long paths anywhere, so compare without white space.
    assert f"writtento{target}" in "".join(written.stderr.split())


def test_every_switch(loaded: Iocfeed) -> None:
    objects = document(
        loaded(
            "export",
            "--type",
            "ipv4",
            "-t",
            "ipv6,domain",
            "--format",
            "objects",
            "--no-identity",
            "--no-markings",
            "--tlp",
            "amber+strict",
            "--tlp-version",
            "1",
            "--include-observables",
            "--limit",
            "3",
            "--since",
            "2000-01-01",
        )
    )
    assert isinstance(objects, list)
    types = {obj["type"] for obj in objects}
    assert types == {"indicator", "ipv4-addr", "ipv6-addr", "domain-name", "observed-data",
                     "relationship"}  # fmt: skip
    sdos = [obj for obj in objects if obj["type"] == "indicator"]
    assert len(sdos) == 3
    assert all("created_by_ref" not in obj for obj in sdos)
    marks = {obj["object_marking_refs"][0] for obj in sdos}
    # The operator's red domain stays red (TLP 1.0 id); the others are forced to AMBER+STRICT.
    assert marks == {marking_id(Tlp.AMBER_STRICT, 1), marking_id(Tlp.RED, 1)}
    future = document(loaded("export", "--since", "2999-01-01", "--no-identity"))
    assert future["objects"] == []


def test_the_operator_sees_every_tlp(loaded: Iocfeed) -> None:
    bundle = document(loaded("export", "--type", "domain"))
    (domain,) = [obj for obj in bundle["objects"] if obj["type"] == "indicator"]
    assert domain["object_marking_refs"] == [marking_id(Tlp.RED)]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--limit", "1001"), "limit must be at most 1000, got 1001"),
        (("--limit", "0"), "between 1 and 1000"),
        (("--type", "hostname"), "type must be one of"),
        (("--since", "yesterday"), "ISO 8601"),
        (("--format", "xml"), "format must be one of bundle, objects"),
        (("--tlp", "purple"), "tlp must be one of"),
        (("--tlp-version", "3"), "tlp_version must be 1 or 2"),
    ],
)
def test_bad_options_fail_with_the_rule(
    iocfeed: Iocfeed, arguments: tuple[str, ...], message: str
) -> None:
    result = iocfeed("export", *arguments)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert result.stdout_bytes == b""


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"type": "ipv4,url", "tlp": "green", "format": "objects"},
        {"include_observables": "true", "tlp_version": "1", "include_identity": "false"},
    ],
)
def test_same_bytes_as_the_endpoint(
    loaded: Iocfeed, database_url: str, options: dict[str, str]
) -> None:
    flags: list[str] = []
    for name, value in options.items():
        if name == "include_identity":
            flags.append("--no-identity")
        elif name == "include_observables":
            flags.append("--include-observables")
        else:
            flags += [f"--{name.replace('_', '-')}", value]
    printed = loaded("export", *flags)
    assert printed.exit_code == 0, printed.output
    for site in start_site(database_url):
        response = site.get("/api/v1/export/stix", params=options)
        assert response.status_code == 200
        # The bundle id follows the content, so even it is the same.
        assert response.content == printed.stdout_bytes


def test_each_export_is_audited(loaded: Iocfeed, database_url: str) -> None:
    assert loaded("export", "--type", "ipv4", "--limit", "7").exit_code == 0
    engine = open_engine(database_url)
    (record,) = AuditLog(engine).recent(1)
    engine.dispose()
    assert record.action == "export.stix"
    assert record.key_id is None
    assert record.parameters["type"] == ["ipv4"]
    assert record.parameters["limit"] == 7
    assert record.parameters["output"] == "-"
    assert record.result_count == 1


def test_lists_in_every_format(loaded: Iocfeed, tmp_path: Path) -> None:
    txt = loaded("export", "--format", "txt", "--type", "url", "--flavor", "paloalto")
    assert txt.exit_code == 0, txt.output
    assert txt.stdout_bytes == b"evil.example/o'brien\\x\n"
    assert "export: 1 indicators written to stdout" in txt.stderr
    hosts = loaded("export", "--format", "hosts")
    assert hosts.stdout_bytes.decode().splitlines() == ["0.0.0.0 xn--bcher-kva.example"]
    rpz = loaded("export", "--format", "rpz", "--zone", "rpz.example")
    assert "xn--bcher-kva.example CNAME ." in rpz.stdout_bytes.decode().splitlines()
    splunk = loaded("export", "--format", "csv", "--lookup", "local_ip_intel")
    assert splunk.stdout_bytes.decode().split("\r\n")[0] == "description,ip,weight"
    rules = loaded("export", "--format", "suricata", "--type", "ipv4")
    assert "alert ip $HOME_NET any -> 198.51.100.7 any" in rules.stdout_bytes.decode()
    refused = loaded("export", "--format", "txt")
    assert refused.exit_code == 2
    assert "type is required" in refused.stderr


def test_misp_writes_a_feed_directory(loaded: Iocfeed, tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    written = loaded("export", "--format", "misp", "--output", str(feed))
    assert written.exit_code == 0, written.output
    manifest = orjson.loads((feed / "manifest.json").read_bytes())
    assert manifest
    for uuid in manifest:
        event = MISPEvent()
        event.load((feed / f"{uuid}.json").read_bytes())
        assert event.attributes
    assert (feed / "hashes.csv").read_text().count("\n") == 5  # every type but ATT&CK
    assert loaded("export", "--format", "misp").exit_code == 2  # needs a directory
