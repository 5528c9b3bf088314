"""txt lists against each firewall vendor's documented rules (table-driven)."""

from __future__ import annotations

import pytest

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import IocType
from iocfeed.outputs.text import Flavor, check_types, entry, render
from tests.outputs.conftest import listing
from tests.stix.factories import SAMPLE_VALUES, make_indicator

# (flavor, type, stored value, line) — PAN-OS EDL URL lists: no scheme ("do not prefix
# http:// or https://"), host-only entries end with "/"; FortiGate category feeds alike;
# plain keeps the canonical value (Cisco Security Intelligence reads it as is).
ENTRIES = [
    (
        Flavor.PALOALTO,
        IocType.URL,
        "http://evil.example/x/payload.bin",
        "evil.example/x/payload.bin",
    ),
    (Flavor.PALOALTO, IocType.URL, "https://evil.example", "evil.example/"),
    (Flavor.PALOALTO, IocType.URL, "https://evil.example?a=1", "evil.example/?a=1"),
    (Flavor.PALOALTO, IocType.URL, "http://evil.example:8080/a", "evil.example:8080/a"),
    (Flavor.PALOALTO, IocType.IPV4, "203.0.113.0/24", "203.0.113.0/24"),
    (Flavor.PALOALTO, IocType.IPV6, "2001:db8::7", "2001:db8::7"),
    (Flavor.PALOALTO, IocType.DOMAIN, "xn--bcher-kva.example", "xn--bcher-kva.example"),
    (Flavor.FORTIGATE, IocType.URL, "https://evil.example/a?b", "evil.example/a?b"),
    (
        Flavor.FORTIGATE,
        IocType.SHA256,
        SAMPLE_VALUES[IocType.SHA256],
        SAMPLE_VALUES[IocType.SHA256],
    ),
    (Flavor.PLAIN, IocType.URL, "http://evil.example/x", "http://evil.example/x"),
    (Flavor.SURICATA, IocType.MD5, SAMPLE_VALUES[IocType.MD5], SAMPLE_VALUES[IocType.MD5]),
]


@pytest.mark.parametrize(("flavor", "kind", "value", "line"), ENTRIES)
def test_each_vendor_gets_its_documented_form(
    flavor: Flavor, kind: IocType, value: str, line: str
) -> None:
    assert entry(make_indicator(kind, value), flavor) == line


# (flavor, types, comments, refused parameter or None)
CHECKS = [
    (Flavor.PLAIN, set(), False, "type"),  # a list is one family: say which
    (Flavor.PLAIN, {IocType.IPV4, IocType.IPV6}, False, None),
    (Flavor.PLAIN, {IocType.IPV4, IocType.DOMAIN}, False, "type"),  # two families
    (Flavor.PLAIN, {IocType.CVE}, False, "type"),  # no firewall lists CVEs
    (Flavor.PALOALTO, {IocType.SHA256}, False, "type"),  # EDLs hold IPs, domains, URLs
    (Flavor.PALOALTO, {IocType.URL}, True, "comments"),  # whole-line comments undocumented
    (Flavor.FORTIGATE, {IocType.MD5, IocType.SHA256}, False, "type"),  # do not mix hashes
    (Flavor.FORTIGATE, {IocType.SHA512}, False, "type"),  # MD5, SHA-1 or SHA-256 only
    (Flavor.FORTIGATE, {IocType.DOMAIN}, True, None),
    (Flavor.SURICATA, {IocType.SHA1}, False, None),
    (Flavor.SURICATA, {IocType.SHA256}, True, "comments"),  # filesha256 lists: hashes only
    (Flavor.SURICATA, {IocType.SHA512}, False, "type"),  # no filesha512 keyword
]


@pytest.mark.parametrize(("flavor", "types", "comments", "refused"), CHECKS)
def test_a_list_holds_what_its_consumer_reads(
    flavor: Flavor, types: set[IocType], comments: bool, refused: str | None
) -> None:
    if refused is None:
        check_types(frozenset(types), flavor, comments=comments)
        return
    with pytest.raises(InvalidQuery) as caught:
        check_types(frozenset(types), flavor, comments=comments)
    assert caught.value.parameter == refused


def test_lines_are_lf_ended_without_comments_by_default_and_unique_once_stripped() -> None:
    rows = [
        make_indicator(IocType.URL, "http://evil.example/x"),
        make_indicator(IocType.URL, "https://evil.example/x"),
        make_indicator(IocType.URL, "https://evil.example/y"),
    ]
    body = b"".join(render(rows, listing(3), Flavor.PALOALTO))
    assert body == b"evil.example/x\nevil.example/y\n"
    with_comments = b"".join(render(rows, listing(3), Flavor.PLAIN, comments=True)).decode()
    head, *values = with_comments.splitlines()
    assert head.startswith("# Title:")
    assert [line for line in values if not line.startswith("#")] == [r.value for r in rows]


def test_an_empty_list_is_empty() -> None:
    assert b"".join(render([], listing(0, None), Flavor.PLAIN)) == b""
