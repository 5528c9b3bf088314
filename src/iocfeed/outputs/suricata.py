"""``suricata``: Suricata 7 rules, one or more per indicator, each with a stable ``sid``.

Rule forms (loaded cleanly by ``suricata -T``, Suricata 7.0 keyword docs):

- IP or network: ``alert ip $HOME_NET any -> <ip> any`` (traffic to it).
- Domain: three rules, on ``dns.query``, ``tls.sni`` and ``http.host``, each an exact match
  (``content`` + ``bsize``) or, for a subdomain, ``dotprefix; content:".<domain>";
  endswith``. A domain and its subdomains are both covered.
- URL (http or https; https matches only where TLS is inspected): ``http.host`` exact and
  ``http.uri.raw`` exact, on established flows to the server.
- File hashes: ``filemd5``/``filesha1``/``filesha256`` read lists, not rule text; the export
  adds one rule per hash type naming ``iocfeed-<type>.lst`` beside the rules file, and the
  ``txt`` export with ``flavor=suricata`` writes those lists. SHA-512 has no keyword.

``sid`` is stable per indicator: ``sid_start + SLOTS × number + slot``, where ``number`` is
the store's number of the indicator's first version (it never changes) and ``slot`` the
rule's place among the indicator's rules; slots 0-2 of number 0 are the hash-list rules.
An indicator whose sids would pass ``sid_end`` is left out, and a comment says how many.
``rev`` is the indicator's STIX version number (1 for the first version). ``metadata``
carries the STIX id, the TLP and the confidence. Content bytes outside printable ASCII,
and ``"``, ``;``, ``\\`` and ``|``, are written as ``|hex|``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from iocfeed.indicators.model import Indicator, IocType
from iocfeed.outputs.listing import Listing, chunked

TYPES = frozenset(
    {IocType.IPV4, IocType.IPV6, IocType.DOMAIN, IocType.URL, IocType.MD5, IocType.SHA1}
    | {IocType.SHA256}
)
SLOTS = 3  # a domain has three rules

HASH_KEYWORDS: dict[IocType, tuple[str, int]] = {
    IocType.MD5: ("filemd5", 0),
    IocType.SHA1: ("filesha1", 1),
    IocType.SHA256: ("filesha256", 2),
}

_PLAIN = frozenset(range(0x20, 0x7F)) - {ord(c) for c in '";\\|'}


@dataclass(frozen=True, slots=True)
class SidRange:
    """The block of sids the rules take (1,000,000-1,999,999 is the local-use block)."""

    start: int = 1_000_000
    end: int = 1_999_999


@dataclass(frozen=True, slots=True)
class Numbered:
    """An indicator with the store's numbers for it: its first version's row number and
    its STIX version number."""

    indicator: Indicator
    number: int
    version: int


def hash_list_name(kind: IocType) -> str:
    """The list file a hash rule loads, beside the rules file: ``iocfeed-md5.lst``."""
    return f"iocfeed-{kind.value}.lst"


def content(text: str) -> str:
    """A ``content`` string: printable ASCII as is, every other byte as ``|hex|``."""
    out: list[str] = []
    for byte in text.encode():
        out.append(chr(byte) if byte in _PLAIN else f"|{byte:02X}|")
    return "".join(out).replace("||", " ")


def message(text: str) -> str:
    """A ``msg`` string: ``"``, ``;`` and ``\\`` escaped with a backslash."""
    escaped = "".join("\\" + c if c in '";\\' else c for c in text)
    return "".join(c if 0x20 <= ord(c) < 0x7F else "?" for c in escaped)


def _exact(buffer: str, value: str) -> str:
    return f'{buffer}; content:"{content(value)}"; bsize:{len(value.encode())};'


def _options(item: Numbered, listing: Listing, sid: int) -> str:
    ind = item.indicator
    return (
        f"metadata: iocfeed_id {ind.stix_id}, tlp {listing.tlp_of(ind).value}, "
        f"confidence {ind.confidence.value}; sid:{sid}; rev:{item.version};"
    )


def _domain_rules(item: Numbered, listing: Listing, sids: list[int]) -> list[str]:
    value = item.indicator.value
    match = f'dotprefix; content:"{content("." + value)}"; endswith; nocase;'
    rules = []
    for (proto, buffer), sid in zip(
        (("dns", "dns.query"), ("tls", "tls.sni"), ("http", "http.host")), sids, strict=True
    ):
        rules.append(
            f"alert {proto} $HOME_NET any -> any any "
            f'(msg:"{message(f"iocfeed domain {value} ({buffer})")}"; {buffer}; {match} '
            f"{_options(item, listing, sid)})"
        )
    return rules


def _url_rule(item: Numbered, listing: Listing, sid: int) -> list[str]:
    value = item.indicator.value
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https"):
        return []
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    host, path = rest[:cut], rest[cut:].partition("#")[0] or "/"
    if not path.startswith("/"):
        path = "/" + path
    host = _without_port(host)
    return [
        "alert http $HOME_NET any -> $EXTERNAL_NET any "
        f'(msg:"{message("iocfeed url " + value)}"; flow:established,to_server; '
        f"{_exact('http.host', host)} {_exact('http.uri.raw', path)} "
        f"{_options(item, listing, sid)})"
    ]


def _without_port(host: str) -> str:
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _ip_rule(item: Numbered, listing: Listing, sid: int) -> list[str]:
    value = item.indicator.value
    return [
        f"alert ip $HOME_NET any -> {value} any "
        f'(msg:"{message(f"iocfeed {item.indicator.type.value} {value}")}"; '
        f"{_options(item, listing, sid)})"
    ]


def rules(item: Numbered, listing: Listing, sid_range: SidRange) -> list[str] | None:
    """The rules of one indicator; ``None`` when its sids fall outside ``sid_range``."""
    first = sid_range.start + SLOTS * item.number
    if first + SLOTS - 1 > sid_range.end:
        return None
    kind = item.indicator.type
    if kind is IocType.DOMAIN:
        return _domain_rules(item, listing, [first, first + 1, first + 2])
    if kind is IocType.URL:
        return _url_rule(item, listing, first)
    if kind in (IocType.IPV4, IocType.IPV6):
        return _ip_rule(item, listing, first)
    return []


def hash_rules(kinds: Iterable[IocType], sid_range: SidRange) -> list[str]:
    """One rule per hash type, loading that type's list (see :func:`hash_list_name`)."""
    lines = []
    for kind in sorted(set(kinds) & set(HASH_KEYWORDS), key=lambda k: HASH_KEYWORDS[k][1]):
        keyword, slot = HASH_KEYWORDS[kind]
        lines.append(
            f'alert http any any -> any any (msg:"iocfeed {kind.value} file hash list"; '
            f"{keyword}:{hash_list_name(kind)}; sid:{sid_range.start + slot}; rev:1;)"
        )
    return lines


def render(
    items: Iterable[Numbered],
    listing: Listing,
    sid_range: SidRange,
    hash_types: Iterable[IocType] = (),
) -> Iterator[bytes]:
    """The rules file: a comment header, the hash-list rules, then each indicator's rules."""
    left_out = 0

    def lines() -> Iterator[str]:
        nonlocal left_out
        yield f"# iocfeed Suricata rules: {listing.count} indicators, sids from {sid_range.start}"
        yield from hash_rules(hash_types, sid_range)
        for item in items:
            found = rules(item, listing, sid_range)
            if found is None:
                left_out += 1
            else:
                yield from found

    yield from chunked(lines())
    if left_out:
        yield (
            f"# {left_out} indicators left out: their sids would pass {sid_range.end}; "
            "widen suricata_sid_end\n"
        ).encode()
