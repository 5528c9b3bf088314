"""Suricata rules loaded by ``suricata -T`` (Suricata 7, Debian bookworm-backports)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from iocfeed.indicators.model import IocType
from iocfeed.outputs.listing import Listing
from iocfeed.outputs.suricata import (
    Numbered,
    SidRange,
    content,
    hash_list_name,
    render,
    rules,
)
from iocfeed.outputs.text import Flavor
from iocfeed.outputs.text import render as render_list
from tests.outputs.conftest import debian_tool, listing
from tests.stix.factories import SAMPLE_VALUES, make_indicator

DATA = Path(__file__).parents[1] / "data" / "feeds" / "suricata"
CONFIG = Path("/etc/suricata/suricata.yaml")

HARD_VALUES = [
    (IocType.IPV4, "198.51.100.7"),
    (IocType.IPV4, "203.0.113.0/24"),
    (IocType.IPV6, "2001:db8::7"),
    (IocType.IPV6, "2001:db8:1::/48"),
    (IocType.DOMAIN, "evil.example"),
    (IocType.DOMAIN, "xn--bcher-kva.example"),
    (IocType.URL, 'http://evil.example/a;b"c|d\\e?x=%20&y'),
    (IocType.URL, "https://evil.example:8443"),
    (IocType.URL, "http://[2001:db8::1]:8080/x"),
    (IocType.URL, "http://198.51.100.7/é"),
    (IocType.MD5, SAMPLE_VALUES[IocType.MD5]),
    (IocType.SHA256, SAMPLE_VALUES[IocType.SHA256]),
]


def suricata_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    tool = debian_tool("suricata", "suricata (bookworm-backports)")
    if not CONFIG.is_file():
        pytest.fail(f"{CONFIG} is missing: the suricata package installs it")
    rules_file = tmp_path / "iocfeed.rules"
    rules_file.write_text(text)
    logs = tmp_path / "log"
    logs.mkdir(exist_ok=True)
    return subprocess.run(
        [tool, "-T", "-c", str(CONFIG), "-S", str(rules_file), "-l", str(logs)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def numbered(rows: list) -> list[Numbered]:  # type: ignore[type-arg]
    return [Numbered(row, number, 1 + number % 3) for number, row in enumerate(rows, start=1)]


def test_the_judge_refuses_real_published_rules_that_are_broken(tmp_path: Path) -> None:
    broken = (DATA / "urlhaus-filter-suricata-online.head.rules").read_text()
    assert suricata_check(tmp_path, broken).returncode != 0


def test_suricata_loads_every_rule_form(tmp_path: Path) -> None:
    rows = [make_indicator(kind, value) for kind, value in HARD_VALUES]
    hash_types = {IocType.MD5, IocType.SHA256}
    text = b"".join(render(numbered(rows), listing(len(rows)), SidRange(), hash_types)).decode()
    for kind in hash_types:  # the lists the hash rules load, as the txt export writes them
        hashes = [row for row in rows if row.type is kind]
        lines = b"".join(render_list(hashes, listing(len(hashes)), Flavor.SURICATA))
        (tmp_path / hash_list_name(kind)).write_bytes(lines)
    result = suricata_check(tmp_path, text)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sids = re.findall(r"sid:(\d+);", text)
    assert len(sids) == len(set(sids)) == 2 + 2 + 3 * 2 + 4 + 2  # ips, domains, urls, hashes
    assert "iocfeed_id " + rows[0].stix_id in text


def test_sids_are_stable_and_rev_is_the_version() -> None:
    row = make_indicator(IocType.DOMAIN, "evil.example")
    first = rules(Numbered(row, 7, 1), listing(1), SidRange())
    later = rules(Numbered(row, 7, 3), listing(1), SidRange())
    assert first is not None and later is not None
    assert [re.search(r"sid:(\d+)", r)[1] for r in first] == ["1000021", "1000022", "1000023"]  # type: ignore[index]
    assert [re.search(r"sid:(\d+)", r)[1] for r in later] == ["1000021", "1000022", "1000023"]  # type: ignore[index]
    assert all("rev:3;" in r for r in later)


def test_tlp_and_confidence_ride_in_metadata() -> None:
    row = make_indicator(IocType.IPV4, "198.51.100.7")
    forced = Listing(generated=row.created, count=1, newest=None, producer="x", tlp=None)
    (rule,) = rules(Numbered(row, 1, 1), forced, SidRange()) or []
    assert f"tlp {row.effective_tlp.value}, confidence {row.confidence.value}" in rule


def test_indicators_past_the_sid_range_are_left_out_and_said_so() -> None:
    rows = [make_indicator(IocType.IPV4, "198.51.100.7")]
    text = b"".join(render([Numbered(rows[0], 10, 1)], listing(1), SidRange(1000, 1020))).decode()
    assert "sid:" not in text
    assert "1 indicators left out" in text


@pytest.mark.parametrize(
    ("raw", "written"),
    [("a;b", "a|3B|b"), ('"', "|22|"), ("\\|", "|5C 7C|"), ("é", "|C3 A9|"), ("ok/x", "ok/x")],
)
def test_content_escapes(raw: str, written: str) -> None:
    assert content(raw) == written
