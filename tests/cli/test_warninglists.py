"""``iocfeed import`` screens every value, and ``iocfeed warninglists`` list, check, set, save."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

from iocfeed.config import Settings
from iocfeed.indicators.model import IocType
from iocfeed.services import build_services
from tests.web.test_warninglists import BLOCKED, FLAGGED, PLAIN

Iocfeed = Callable[..., Result]


def test_import_blocks_and_flags(iocfeed: Iocfeed, database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "report.txt"
    values = [*BLOCKED, *FLAGGED, PLAIN]
    source.write_text("".join(f"{value}\n" for value in values))
    errors = tmp_path / "errors.jsonl"
    result = iocfeed("import", str(source), "--format", "text", "--errors", str(errors))
    assert result.exit_code == 0, result.output
    reported = errors.read_text()
    for number, value in enumerate(values, start=1):
        if value in BLOCKED:
            reason = f"{value} is on the warninglist {BLOCKED[value]} (policy block)"
            assert f'"line":{number},"reason":"{reason}"' in reported
    built = build_services(Settings(database_url=database_url))
    try:
        for value, name in FLAGGED.items():
            stored = built.search.current(IocType.DOMAIN, value)
            assert stored is not None and f"warninglist:{name}" in stored.tags
        assert built.search.current(IocType.IPV4, "8.8.8.8") is None
    finally:
        built.close()


def test_list_check_set_and_save(iocfeed: Iocfeed) -> None:
    listed = iocfeed("warninglists", "list", "--enabled")
    assert listed.exit_code == 0
    assert "public-dns-v4" in listed.output and "tranco10k" in listed.output
    assert "│ tranco " not in listed.output  # off by default

    checked = iocfeed("warninglists", "check", "8.8.8.8")
    assert checked.output.splitlines()[:2] == ["ipv4 8.8.8.8: block", "  blocked by public-dns-v4"]
    assert iocfeed("warninglists", "check", "google[.]com").output.startswith(
        "domain google.com: flag"
    )
    assert iocfeed("warninglists", "check", "payload-host.xyz").output.endswith(
        "on no enabled list\n"
    )

    assert iocfeed("warninglists", "set", "public-dns-v4", "off").output == "public-dns-v4: off\n"
    assert iocfeed("warninglists", "check", "8.8.8.8").output.startswith("ipv4 8.8.8.8: store")

    saved = iocfeed("warninglists", "save", "lab", "10.1.0.0/16", "--policy", "allow")
    assert saved.output == "lab: allow, 1 entries\n"
    assert iocfeed("warninglists", "check", "10.1.2.3").output.startswith("ipv4 10.1.2.3: store")
    assert iocfeed("warninglists", "check", "10.2.0.1").output.startswith("ipv4 10.2.0.1: block")


def test_bad_names_and_policies_exit_non_zero(iocfeed: Iocfeed) -> None:
    assert iocfeed("warninglists", "set", "nope", "block").exit_code == 1
    assert iocfeed("warninglists", "set", "tranco", "maybe").exit_code == 2
    assert iocfeed("warninglists", "save", "Bad Name!", "1.2.3.4").exit_code == 2
    assert iocfeed("warninglists", "check", "abc", "--type", "md5").exit_code == 2
