"""IPv4, IPv6, domain, URL and email values: accepted forms, rejected forms and reasons."""

from __future__ import annotations

import ipaddress
import re

import idna
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.model import IocType
from iocfeed.indicators.normalize import canonicalize

ACCEPTED = [
    # ipv4
    (IocType.IPV4, "192.0.2.1", "192.0.2.1"),
    (IocType.IPV4, " 192.0.2.1\n", "192.0.2.1"),
    (IocType.IPV4, "5.252.178[.]140", "5.252.178.140"),
    (IocType.IPV4, "0.0.0.0", "0.0.0.0"),
    (IocType.IPV4, "255.255.255.255", "255.255.255.255"),
    (IocType.IPV4, "10.0.0.0/8", "10.0.0.0/8"),
    (IocType.IPV4, "10.0.0.5/24", "10.0.0.0/24"),
    (IocType.IPV4, "10.0.0.5/32", "10.0.0.5"),
    (IocType.IPV4, "198.51.100[.]7/31", "198.51.100.6/31"),
    # ipv6
    (IocType.IPV6, "2001:DB8::1", "2001:db8::1"),
    (IocType.IPV6, "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    (IocType.IPV6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    (IocType.IPV6, "[2001:db8::1]", "2001:db8::1"),
    (IocType.IPV6, "2001:db8::1/64", "2001:db8::/64"),
    (IocType.IPV6, "[2001:db8::1]/48", "2001:db8::/48"),
    (IocType.IPV6, "2001:db8::1/128", "2001:db8::1"),
    (IocType.IPV6, "2001[:]db8[:][:]1", "2001:db8::1"),
    (IocType.IPV6, "::", "::"),
    # domain
    (IocType.DOMAIN, "Evil.COM", "evil.com"),
    (IocType.DOMAIN, "evil.com.", "evil.com"),
    (IocType.DOMAIN, "nododru[.]ru", "nododru.ru"),
    (IocType.DOMAIN, "www.toorisugita[.]ru", "www.toorisugita.ru"),
    (IocType.DOMAIN, "evil . com", "evil.com"),
    (IocType.DOMAIN, "evil dot com", "evil.com"),
    (IocType.DOMAIN, "t[.]me", "t.me"),
    (IocType.DOMAIN, "Bücher.de", "xn--bcher-kva.de"),
    (IocType.DOMAIN, "xn--bcher-kva.de", "xn--bcher-kva.de"),
    (IocType.DOMAIN, "пример.рф", "xn--e1afmkfd.xn--p1ai"),
    (IocType.DOMAIN, "\uff45\uff56\uff49\uff4c\u3002com", "evil.com"),
    (IocType.DOMAIN, "faß.de", "xn--fa-hia.de"),
    (IocType.DOMAIN, "r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com"),
    (IocType.DOMAIN, "_dmarc.example.com", "_dmarc.example.com"),
    (IocType.DOMAIN, "actor-tv.ddns.net", "actor-tv.ddns.net"),
    (IocType.DOMAIN, "invoice.zip", "invoice.zip"),
    (IocType.DOMAIN, "bitsadmin1.space", "bitsadmin1.space"),
    # url
    (IocType.URL, "http://evil.com", "http://evil.com"),
    (IocType.URL, "HTTPS://EVIL.com/Path/A?Q=B#Frag", "https://evil.com/Path/A?Q=B#Frag"),
    (IocType.URL, "hxxps://evil[.]com/a(.)php", "https://evil.com/a.php"),
    (IocType.URL, "hxxp[:]//Evil[.]Com:8080/x", "http://evil.com:8080/x"),
    (IocType.URL, "http://user:Pass@Evil.com/", "http://user:Pass@evil.com/"),
    (IocType.URL, "http://Bücher.de/Ä?x=%41", "http://xn--bcher-kva.de/Ä?x=%41"),
    (IocType.URL, "http://192.0.2.1:80/a", "http://192.0.2.1:80/a"),
    (IocType.URL, "http://[2001:DB8::1]:443/", "http://[2001:db8::1]:443/"),
    (IocType.URL, "ldap://evil.com:1389/Exploit", "ldap://evil.com:1389/Exploit"),
    (IocType.URL, "evil.com/gate.php", "http://evil.com/gate.php"),
    (IocType.URL, "evil.com:8080/gate.php", "http://evil.com:8080/gate.php"),
    (IocType.URL, "evil.com", "http://evil.com"),
    (IocType.URL, "http://evil.com/a%20b/../c//d", "http://evil.com/a%20b/../c//d"),
    # email
    (IocType.EMAIL, "Bob.Smith@Evil.COM", "Bob.Smith@evil.com"),
    (IocType.EMAIL, "bob[at]evil[.]com", "bob@evil.com"),
    (IocType.EMAIL, "bob[@]evil[.]com", "bob@evil.com"),
    (IocType.EMAIL, "<bob@evil.com>", "bob@evil.com"),
    (IocType.EMAIL, "MAILTO:bob@evil.com", "bob@evil.com"),
    (IocType.EMAIL, "bob+tag@bücher.de", "bob+tag@xn--bcher-kva.de"),
]


@pytest.mark.parametrize(("ioc_type", "raw", "canonical"), ACCEPTED)
def test_accepted(ioc_type: IocType, raw: str, canonical: str) -> None:
    assert canonicalize(ioc_type, raw) == canonical


@pytest.mark.parametrize(("ioc_type", "raw", "canonical"), ACCEPTED)
def test_canonical_values_are_fixed_points(ioc_type: IocType, raw: str, canonical: str) -> None:
    assert canonicalize(ioc_type, canonical) == canonical


REJECTED = [
    # ipv4
    (IocType.IPV4, "256.1.1.1", "'256.1.1.1' is not a valid IPv4 address"),
    (IocType.IPV4, "1.2.3.999", "999 is above 255"),
    (IocType.IPV4, "010.1.1.1", "leading zero"),
    (IocType.IPV4, "192.168.001.1", "leading zero"),
    (IocType.IPV4, "1.2.3", "dotted quad"),
    (IocType.IPV4, "1.2.3.4.5", "dotted quad"),
    (IocType.IPV4, "3232235777", "dotted quad"),
    (IocType.IPV4, "0xC0.0xA8.1.1", "dotted quad"),
    (IocType.IPV4, "1.2.3.4/33", "above /32"),
    (IocType.IPV4, "1.2.3.4 5", "dotted quad"),
    (IocType.IPV4, "\u0661.\u0662.\u0663.\u0664", "dotted quad"),
    (IocType.IPV4, "", "empty IPv4"),
    (IocType.IPV4, "   ", "empty IPv4"),
    # ipv6
    (IocType.IPV6, "2001:db8::g", "not a valid IPv6 address"),
    (IocType.IPV6, "2001:db8:::1", "not a valid IPv6 address"),
    (IocType.IPV6, "1.2.3.4", "looks like IPv4"),
    (IocType.IPV6, "fe80::1%eth0", "zone index"),
    (IocType.IPV6, "2001:db8::/129", "not a valid IPv6 address"),
    (IocType.IPV6, "2001:db8::/x", "not a number"),
    (IocType.IPV6, "", "empty IPv6"),
    # domain
    (IocType.DOMAIN, "localhost", "at least one dot"),
    (IocType.DOMAIN, "1.2.3.4", "is an IP address or number, not a domain"),
    (IocType.DOMAIN, "1.2.3", "is an IP address or number, not a domain"),
    (IocType.DOMAIN, "invoice.pdf", "'.pdf' is not a top-level domain"),
    (IocType.DOMAIN, "report.docx", "'.docx' is not a top-level domain"),
    (IocType.DOMAIN, "payload.dat", "not in the Public Suffix List"),
    (IocType.DOMAIN, "evil.notatld", "'.notatld' is not a top-level domain"),
    (IocType.DOMAIN, "script.ps1", "top-level label"),
    (IocType.DOMAIN, "evil.c", "top-level label"),
    (IocType.DOMAIN, "evil..com", "empty label"),
    (IocType.DOMAIN, ".evil.com", "empty label"),
    (IocType.DOMAIN, "-evil.com", "not starting or ending with a hyphen"),
    (IocType.DOMAIN, "*.evil.com", "label '*'"),
    (IocType.DOMAIN, "evil com", "whitespace"),
    (IocType.DOMAIN, "evil\x00.com", "control character"),
    (IocType.DOMAIN, "evil\u200b.com", "control character"),
    (IocType.DOMAIN, "xn--zz.com", "label 'xn--zz'"),
    (IocType.DOMAIN, "a" * 64 + ".com", "1 to 63"),
    (IocType.DOMAIN, ".".join(["a" * 60] * 5) + ".com", "above the DNS limit of 253"),
    (IocType.DOMAIN, "", "empty domain"),
    # url
    (IocType.URL, "mailto:bob@evil.com", "scheme 'mailto' is not one of"),
    (IocType.URL, "javascript:alert(1)", "scheme 'javascript'"),
    (IocType.URL, "gopher://evil.com/", "scheme 'gopher'"),
    (IocType.URL, "http://evil.com/a b", "whitespace"),
    (IocType.URL, "http:///path", "no host"),
    (IocType.URL, "http://localhost/", "bad host"),
    (IocType.URL, "http://evil.com:99999/", "port '99999' is not 1 to 65535"),
    (IocType.URL, "http://evil.com:0/", "port '0'"),
    (IocType.URL, "http://evil.com:http/", "port 'http'"),
    (IocType.URL, "http://256.1.1.1/", "256 is above 255"),
    (IocType.URL, "http://[2001:db8::1/", "bad IPv6 host"),
    (IocType.URL, "http://[2001:db8::1]x/", "bad IPv6 host"),
    (IocType.URL, "http://invoice.pdf/", "is it a file name?"),
    (IocType.URL, "", "empty URL"),
    # email
    (IocType.EMAIL, "Bob <bob@evil.com>", "whitespace"),
    (IocType.EMAIL, "bob", "exactly one '@', found 0"),
    (IocType.EMAIL, "bob@evil@com", "exactly one '@', found 2"),
    (IocType.EMAIL, "@evil.com", "1 to 64 characters"),
    (IocType.EMAIL, "a" * 65 + "@evil.com", "1 to 64 characters"),
    (IocType.EMAIL, "bob@localhost", "at least one dot"),
    (IocType.EMAIL, '"bob"@evil.com', "without a display name"),
    (IocType.EMAIL, "", "empty email"),
]


@pytest.mark.parametrize(("ioc_type", "raw", "reason"), REJECTED)
def test_rejected_with_reason(ioc_type: IocType, raw: str, reason: str) -> None:
    with pytest.raises(InvalidIndicator) as caught:
        canonicalize(ioc_type, raw)
    assert reason in caught.value.message


def test_reasons_quote_long_values_briefly() -> None:
    with pytest.raises(InvalidIndicator) as caught:
        canonicalize(IocType.DOMAIN, "x" * 500)
    assert len(caught.value.message) < 200
    assert "…" in caught.value.message


# --- properties -----------------------------------------------------------------------


@given(st.ip_addresses(v=4))
def test_ipv4_addresses_canonicalise_as_ipaddress_writes_them(
    address: ipaddress.IPv4Address,
) -> None:
    assert canonicalize(IocType.IPV4, str(address)) == str(address)


@given(st.ip_addresses(v=4), st.integers(min_value=0, max_value=32))
def test_ipv4_networks_canonicalise_to_their_network(
    address: ipaddress.IPv4Address, prefix: int
) -> None:
    network = ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)
    expected = str(network.network_address) if prefix == 32 else str(network)
    assert canonicalize(IocType.IPV4, f"{address}/{prefix}") == expected


@given(st.ip_addresses(v=6))
def test_ipv6_addresses_canonicalise_as_ipaddress_writes_them(
    address: ipaddress.IPv6Address,
) -> None:
    assert canonicalize(IocType.IPV6, address.exploded.upper()) == address.compressed


@given(st.ip_addresses(v=6), st.integers(min_value=0, max_value=127))
def test_ipv6_networks_canonicalise_to_their_network(
    address: ipaddress.IPv6Address, prefix: int
) -> None:
    network = ipaddress.IPv6Network(f"{address}/{prefix}", strict=False)
    assert canonicalize(IocType.IPV6, f"{address.exploded}/{prefix}") == network.compressed


@given(st.ip_addresses(v=4).map(str).map(lambda text: text.replace(".", "[.]")))
def test_defanged_ipv4_refangs(defanged: str) -> None:
    assert canonicalize(IocType.IPV4, defanged) == defanged.replace("[.]", ".")


_ASCII_LABEL = st.from_regex(re.compile(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?"), fullmatch=True)
# Real top-level domains of every kind: generic, country, new, IDN, special-use.
_TLD = st.sampled_from(
    ["com", "net", "ru", "de", "cr", "io", "zip", "save", "space", "museum", "test"]
)
_UNICODE_LABEL = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzäöüéèñçøåžščłß", min_size=1, max_size=15
)


@given(st.lists(_UNICODE_LABEL, min_size=1, max_size=3), _TLD)
def test_idn_domains_round_trip_to_punycode(labels: list[str], tld: str) -> None:
    name = ".".join([*labels, tld])
    try:
        expected = idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError:
        assume(False)
        raise
    canonical = canonicalize(IocType.DOMAIN, name)
    assert canonical == expected
    assert canonical.isascii()
    assert idna.decode(canonical) == idna.uts46_remap(name, std3_rules=False, transitional=False)
    assert canonicalize(IocType.DOMAIN, canonical) == canonical


@given(st.lists(_ASCII_LABEL, min_size=1, max_size=4), _TLD, st.booleans())
def test_ascii_domains_are_lower_cased(labels: list[str], tld: str, upper: bool) -> None:
    name = ".".join([*labels, tld])
    assume("--" not in name[2:4] or not name.startswith("xn"))
    written = name.upper() if upper else name
    assert canonicalize(IocType.DOMAIN, written) == name


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("tcp://C2.Example:4444", "tcp://c2.example:4444"),
        ("udp://198.51.100.7:53/x", "udp://198.51.100.7:53/x"),
        (
            "file://Share.Example@SSL/DavWWWRoot/Modelo-34.pdf.lnk",
            "file://share.example@SSL/DavWWWRoot/Modelo-34.pdf.lnk",
        ),
        (
            "file://198.51.100.9@8789/DavWWWRoot/file.bat",
            "file://198.51.100.9@8789/DavWWWRoot/file.bat",
        ),
    ],
)
def test_c2_and_webdav_urls_seen_in_real_reports(raw: str, canonical: str) -> None:
    assert canonicalize(IocType.URL, raw) == canonical


def test_webdav_url_with_a_bad_host_is_rejected() -> None:
    with pytest.raises(InvalidIndicator, match="bad host"):
        canonicalize(IocType.URL, "file://bad_host!@SSL/x")
