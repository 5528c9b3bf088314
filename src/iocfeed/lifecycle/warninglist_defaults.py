"""The policy each MISP list starts with, and the operator lists every store starts with.

Block what can never be an indicator worth sending to a SIEM (addresses that are not on
the public Internet, the big public resolvers, the hashes of empty files, bare TLDs);
flag what is usually a false positive but sometimes an indicator (the most popular sites,
cloud and CDN ranges, hashes of well-known benign files), so it is stored and searchable
but stays out of exports unless a consumer asks; leave the rest off (scanner ranges, VPN
exits, dynamic DNS and parking are telemetry, not noise, and the million-name lists
would flag too much). Every list not named here is off.
"""

from __future__ import annotations

from iocfeed.lifecycle.warninglists import Entries, Origin, Policy, WarningList, entries_from

DEFAULT_POLICIES: dict[str, Policy] = {
    # Not on the public Internet, or not an indicator at all.
    "rfc1918": Policy.BLOCK,
    "rfc5735": Policy.BLOCK,
    "rfc6598": Policy.BLOCK,
    "rfc3849": Policy.BLOCK,
    "rfc6761": Policy.BLOCK,
    "ipv6-linklocal": Policy.BLOCK,
    "multicast": Policy.BLOCK,
    "tlds": Policy.BLOCK,
    "second-level-tlds": Policy.BLOCK,
    # Resolvers every network talks to.
    "public-dns-v4": Policy.BLOCK,
    "public-dns-v6": Policy.BLOCK,
    "public-dns-hostname": Policy.BLOCK,
    # Hashes of empty files.
    "empty-hashes": Policy.BLOCK,
    # Top sites.
    "tranco10k": Policy.FLAG,
    "cisco_top1000": Policy.FLAG,
    "moz-top500": Policy.FLAG,
    "google": Policy.FLAG,
    "microsoft": Policy.FLAG,
    "microsoft-office365": Policy.FLAG,
    "microsoft-win10-connection-endpoints": Policy.FLAG,
    # Cloud and CDN ranges: shared by everyone, abused by some.
    "amazon-aws": Policy.FLAG,
    "akamai": Policy.FLAG,
    "cloudflare": Policy.FLAG,
    "fastly": Policy.FLAG,
    "google-gcp": Policy.FLAG,
    "microsoft-azure": Policy.FLAG,
    "microsoft-office365-ip": Policy.FLAG,
    "stackpath": Policy.FLAG,
    "github": Policy.FLAG,
    # Well-known services and benign files.
    "captive-portals": Policy.FLAG,
    "crl-hostname": Policy.FLAG,
    "crl-ip": Policy.FLAG,
    "whats-my-ip": Policy.FLAG,
    "url-shortener": Policy.FLAG,
    "sinkholes": Policy.FLAG,
    "common-ioc-false-positive": Policy.FLAG,
    "ti-falsepositives": Policy.FLAG,
    "eicar.com": Policy.FLAG,
    "mozilla-ca": Policy.FLAG,
}

DOCUMENTATION = "documentation"
"""An operator list present from the start: the address blocks and names reserved for
documentation and examples (RFC 5737, RFC 3849, RFC 2606), allowed back from the
special-use lists that block them, so examples, demos and tests can use them. Set it off
to block them like the rest of the special-use space."""

BUILTIN_OPERATOR_LISTS: tuple[WarningList, ...] = (
    WarningList(
        name=DOCUMENTATION,
        policy=Policy.ALLOW,
        origin=Origin.OPERATOR,
        description="Addresses and names reserved for documentation (RFC 5737, 3849, 2606)",
        entries=entries_from(
            [
                "192.0.2.0/24",
                "198.51.100.0/24",
                "203.0.113.0/24",
                "2001:db8::/32",
                "example",
                "example.com",
                "example.net",
                "example.org",
                "test",
                "invalid",
            ]
        ),
    ),
)


def default_policy(name: str) -> Policy:
    return DEFAULT_POLICIES.get(name, Policy.OFF)


__all__ = ["BUILTIN_OPERATOR_LISTS", "DEFAULT_POLICIES", "DOCUMENTATION", "Entries"]
