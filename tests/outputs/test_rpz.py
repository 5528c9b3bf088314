"""RPZ zones: triggers per the RPZ rules, SOA serial from the data, loaded by
``named-checkzone`` (BIND)."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import IocType
from iocfeed.outputs.rpz import ZoneSettings, ip_trigger, parse_zone, render, serial
from tests.outputs.conftest import NOW, debian_tool, listing
from tests.stix.factories import make_indicator

DATA = Path(__file__).parents[1] / "data" / "feeds" / "rpz"

# (address or network, rpz-ip owner) as the RPZ draft and Unbound's manual write them.
TRIGGERS = [
    ("198.51.100.7", "32.7.100.51.198.rpz-ip"),
    ("203.0.113.0/24", "24.0.113.0.203.rpz-ip"),
    ("2001:db8::7", "128.7.zz.db8.2001.rpz-ip"),
    ("2001:db8:0:1::/64", "64.zz.1.0.db8.2001.rpz-ip"),
    ("2001:db8:1:0:0:1::/96", "96.0.0.1.zz.1.db8.2001.rpz-ip"),  # first longest run, RFC 5952
    # Single addresses, reversed without parsing: the same owners as for networks.
    ("2001:db8:1::1:0:0", "128.0.0.1.zz.1.db8.2001.rpz-ip"),
    ("2001:db8:a:b:c:d:e:f", "128.f.e.d.c.b.a.db8.2001.rpz-ip"),
    ("::1", "128.1.zz.rpz-ip"),
    ("fe80::", "128.zz.fe80.rpz-ip"),
    ("::ffff:192.0.2.1", "128.201.c000.ffff.zz.rpz-ip"),
]


@pytest.mark.parametrize(("value", "owner"), TRIGGERS)
def test_ip_triggers(value: str, owner: str) -> None:
    assert ip_trigger(value) == owner


def zone_text(rows: list) -> str:  # type: ignore[type-arg]
    return b"".join(render(rows, listing(len(rows)), ZoneSettings(name="rpz.test"))).decode()


def check(tmp_path: Path, zone: str, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "zone.rpz"
    path.write_text(text)
    tool = debian_tool("named-checkzone", "bind9-utils")
    return subprocess.run(
        [tool, "-i", "local", zone, str(path)], capture_output=True, text=True, check=False
    )


def test_the_judge_loads_a_real_published_zone_and_refuses_a_broken_one(tmp_path: Path) -> None:
    real = (DATA / "urlhaus-filter-rpz-online.head.conf").read_text()
    assert check(tmp_path, "rpz.urlhaus", real).returncode == 0
    without_ns = "\n".join(line for line in real.splitlines() if " NS " not in line)
    assert check(tmp_path, "rpz.urlhaus", without_ns).returncode != 0


def test_named_checkzone_loads_our_zone(tmp_path: Path) -> None:
    rows = [
        make_indicator(IocType.DOMAIN, "evil.example"),
        make_indicator(IocType.DOMAIN, "xn--bcher-kva.example"),
        *(make_indicator(IocType.IPV4 if "." in v else IocType.IPV6, v) for v, _ in TRIGGERS),
    ]
    text = zone_text(rows)
    result = check(tmp_path, "rpz.test", text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "evil.example CNAME ." in text.splitlines()
    assert "*.evil.example CNAME ." in text.splitlines()
    loaded = int(result.stdout.split("loaded serial ")[1].split()[0])
    assert loaded == serial(listing(len(rows)))


def test_serial_grows_with_the_newest_change() -> None:
    assert serial(listing(1, NOW + timedelta(seconds=5))) > serial(listing(1, NOW))
    assert serial(listing(0, None)) == 1


def test_a_name_too_long_for_the_zone_is_left_out(tmp_path: Path) -> None:
    long_name = ".".join(["a" * 60] * 4) + ".example"
    text = zone_text([make_indicator(IocType.DOMAIN, long_name)])
    assert long_name not in text
    assert check(tmp_path, "rpz.test", text).returncode == 0


@pytest.mark.parametrize("bad", ["", "a..b", "bad zone", "x" * 64 + ".example", "ex;ample"])
def test_zone_names_are_dns_names(bad: str) -> None:
    with pytest.raises(InvalidQuery):
        parse_zone(bad, "")
    assert parse_zone("RPZ.Example.", "") == "rpz.example"
