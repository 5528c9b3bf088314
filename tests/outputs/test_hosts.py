"""hosts blocklists: ``0.0.0.0 name`` lines, comments only on their own lines."""

from __future__ import annotations

import re
from pathlib import Path

from iocfeed.indicators.model import IocType
from iocfeed.outputs.hosts import render
from tests.outputs.conftest import listing
from tests.stix.factories import make_indicator

# The line form of real hosts blocklists (curbengh's urlhaus-filter hosts list).
DATA = Path(__file__).parents[1] / "data" / "feeds" / "blocklists"
HOSTS_LINE = re.compile(r"^0\.0\.0\.0 [a-z0-9.-]+$")


def test_hosts_lines_match_real_blocklists() -> None:
    rows = [
        make_indicator(IocType.DOMAIN, name) for name in ("evil.example", "xn--bcher-kva.example")
    ]
    lines = b"".join(render(rows, listing(2))).decode().splitlines()
    assert lines == ["0.0.0.0 evil.example", "0.0.0.0 xn--bcher-kva.example"]
    assert all(HOSTS_LINE.match(line) for line in lines)


def test_comments_are_whole_lines_and_off_by_default() -> None:
    rows = [make_indicator(IocType.DOMAIN, "evil.example")]
    assert not b"".join(render(rows, listing(1))).startswith(b"#")
    lines = b"".join(render(rows, listing(1), comments=True)).decode().splitlines()
    assert all(line.startswith("#") or HOSTS_LINE.match(line) for line in lines)
    assert lines[-1] == "0.0.0.0 evil.example"


def test_the_line_rule_holds_for_a_real_published_hosts_list() -> None:
    real = DATA / "urlhaus-filter-hosts-online.head.txt"
    entries = [line for line in real.read_text().splitlines() if not line.startswith("#")]
    assert entries
    assert all(HOSTS_LINE.match(line) for line in entries)
