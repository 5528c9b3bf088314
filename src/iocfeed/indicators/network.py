"""Canonical values of the network indicators: IPv4, IPv6, domain, URL and email (SPEC §1).

Each function takes a refanged, stripped value and returns its canonical form or raises
:class:`~iocfeed.errors.InvalidIndicator` with a reason a person can act on.

Decisions a SOC would otherwise have to guess:

- **IPv4 leading zeros are rejected**, not stripped. ``010.1.1.1`` means 10.1.1.1 to a
  person but 8.1.1.1 to ``inet_aton`` and to the malware that carries it (the ambiguity
  behind CVE-2021-29921); storing either guess would put the wrong address on a
  blocklist, so the reason asks for the intended address instead.
- **CIDR with host bits set is normalised to its network** (``10.0.0.5/24`` →
  ``10.0.0.0/24``): firewall exports write interface addresses that way and mean the
  network. A full-length prefix (``/32``, ``/128``) is the address itself.
- **Domains** follow UTS 46 then IDNA 2008 for non-ASCII labels. ASCII labels are checked
  as DNS labels (letters, digits, hyphen, and underscore outside the top-level label),
  not as strict IDNA, because real malicious hosts such as ``r3---sn-x.example.net`` and
  ``_dmarc.example.com`` must not be refused.
- **A name whose last label is not a top-level domain** (``invoice.pdf``) is rejected:
  what is a TLD comes from the Public Suffix List (:mod:`iocfeed.indicators.suffixes`).
  Extensions that are also real TLDs (``.zip``, ``.mov``, ``.py``) are valid domains here;
  free-text extraction treats them with more care (:mod:`iocfeed.indicators.extract`).
- **A URL without a scheme** (``evil.com/gate.php``, given as type ``url``) gets
  ``http://``, which is what a browser or proxy would assume; the rest is kept byte for
  byte. A value that names a scheme we do not serve (``mailto:``) is rejected.
"""

from __future__ import annotations

import ipaddress
import re

import idna

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.reasons import reject_empty, reject_unprintable, shown
from iocfeed.indicators.suffixes import is_top_level_domain

# --- IP addresses ---------------------------------------------------------------------

_IPV4 = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(?:/([0-9]{1,2}))?")


def canonical_ipv4(value: str) -> str:
    """``192.0.2.1`` or ``192.0.2.0/24``: dotted quad without leading zeros."""
    reject_empty("IPv4", value)
    match = _IPV4.fullmatch(value)
    if match is None:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid IPv4 address (expected a dotted quad like 192.0.2.1)"
        )
    for octet in match.group(1, 2, 3, 4):
        if len(octet) > 1 and octet[0] == "0":
            raise InvalidIndicator(
                f"{shown(value)} is not a valid IPv4 address: octet {octet!r} has a leading "
                "zero, which some tools read as octal; write the address you mean without it"
            )
        if int(octet) > 255:
            raise InvalidIndicator(
                f"{shown(value)} is not a valid IPv4 address: {octet} is above 255"
            )
    prefix = match.group(5)
    if prefix is None:
        # The checks above leave only the canonical spelling: no parsing needed.
        return value
    if int(prefix) > 32:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid IPv4 network: prefix /{prefix} is above /32"
        )
    address = value[: match.start(5) - 1]
    if int(prefix) == 32:
        return address
    return str(ipaddress.IPv4Network(f"{address}/{int(prefix)}", strict=False))


def canonical_ipv6(value: str) -> str:
    """RFC 5952 form as :mod:`ipaddress` writes it (lower case, longest zero run as ``::``)."""
    reject_empty("IPv6", value)
    address, slash, prefix = value.partition("/")
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    if ":" not in address:
        hint = " (it looks like IPv4)" if _IPV4.fullmatch(value) else ""
        raise InvalidIndicator(f"{shown(value)} is not a valid IPv6 address{hint}")
    if "%" in address:
        raise InvalidIndicator(
            f"{shown(value)} is not a usable IPv6 indicator: a zone index (%...) is local "
            "to one host"
        )
    try:
        if not slash:
            return ipaddress.IPv6Address(address).compressed
        if not prefix.isdigit() or not prefix.isascii():
            raise ValueError(f"prefix {prefix!r} is not a number")
        if int(prefix) == 128:
            return ipaddress.IPv6Address(address).compressed
        return ipaddress.IPv6Network(f"{address}/{int(prefix)}", strict=False).compressed
    except ValueError as error:
        raise InvalidIndicator(f"{shown(value)} is not a valid IPv6 address: {error}") from None


# --- domains --------------------------------------------------------------------------

# Real top-level domains that are also everyday file extensions (the Public Suffix List
# cannot say which TLDs people also use as extensions). As values they are domains; in
# free text only a defanged or subdomain-bearing name counts (see extract).
# fmt: off
AMBIGUOUS_TLDS: frozenset[str] = frozenset({
    "ai", "md", "mov", "one", "pl", "pm", "ps", "py", "rs", "sh", "so", "tf", "zip",
})
# fmt: on

# A DNS label in lower case: letters, digits, hyphen inside, underscore for service labels.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_TOP_LABEL = r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
_ASCII_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+{_TOP_LABEL}")
_ASCII_LABEL = re.compile(_LABEL)
_TOP_LABEL_SHAPE = re.compile(_TOP_LABEL)
_NUMERIC_NAME = re.compile(r"[0-9.]+")
_MAX_NAME = 253


def canonical_domain(value: str) -> str:
    """Lower case, IDNA A-labels, no trailing dot; must have a dot and a real-looking TLD."""
    reject_empty("domain", value)
    name = value[:-1] if value.endswith(".") else value
    lowered = name.lower()
    if lowered.isascii() and _ASCII_DOMAIN.fullmatch(lowered) and "xn--" not in lowered:
        canonical = lowered
    else:
        reject_unprintable("domain", value)
        canonical = _encode_labels(value, name)
    if len(canonical) > _MAX_NAME:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid domain: {len(canonical)} characters, "
            f"above the DNS limit of {_MAX_NAME}"
        )
    tld = canonical.rpartition(".")[2]
    if not is_top_level_domain(tld):
        raise InvalidIndicator(
            f"{shown(value)} is not a valid domain: '.{tld}' is not a top-level domain "
            "(not in the Public Suffix List); is it a file name?"
        )
    return canonical


def _encode_labels(value: str, name: str) -> str:
    """The slow path: map with UTS 46, then check or encode label by label."""
    if _NUMERIC_NAME.fullmatch(name):
        raise InvalidIndicator(f"{shown(value)} is an IP address or number, not a domain")
    try:
        mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
    except idna.IDNAError as error:
        raise InvalidIndicator(f"{shown(value)} is not a valid domain: {error}") from None
    mapped = mapped.removesuffix(".")
    labels = mapped.split(".")
    if len(labels) < 2:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid domain: it needs at least one dot (e.g. example.com)"
        )
    encoded = [_encode_label(value, label) for label in labels]
    if not _TOP_LABEL_SHAPE.fullmatch(encoded[-1]):
        raise InvalidIndicator(
            f"{shown(value)} is not a valid domain: top-level label {encoded[-1]!r} must be "
            "letters only or an xn-- A-label"
        )
    return ".".join(encoded)


def _encode_label(value: str, label: str) -> str:
    if not label:
        raise InvalidIndicator(f"{shown(value)} is not a valid domain: it has an empty label")
    try:
        if not label.isascii():
            return idna.alabel(label).decode("ascii")
        if label.startswith("xn--"):
            idna.ulabel(label)  # proves the punycode decodes to a valid U-label
    except idna.IDNAError as error:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid domain: label {label!r}: {error}"
        ) from None
    if not _ASCII_LABEL.fullmatch(label):
        raise InvalidIndicator(
            f"{shown(value)} is not a valid domain: label {label!r} must be 1 to 63 letters, "
            "digits or hyphens, not starting or ending with a hyphen"
        )
    return label


# --- URLs -----------------------------------------------------------------------------

# Schemes an indicator URL may carry: web, file transfer, the directory and remote object
# protocols seen in exploitation chains (Log4Shell's ldap:// and rmi://), raw C2 channels as
# RAT configurations write them (tcp://), and Windows WebDAV shares (file://host@SSL/...).
# fmt: off
URL_SCHEMES: frozenset[str] = frozenset({
    "file", "ftp", "ftps", "http", "https", "irc", "ircs", "ldap", "ldaps", "rmi", "sftp", "smb",
    "ssh", "tcp", "telnet", "tftp", "udp", "ws", "wss",
})
# fmt: on

_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)")
# "name:" not followed by a digit is a scheme (mailto:x); "host:8080" is a port.
_SCHEME_WITHOUT_SLASHES = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?![0-9])")
_MAX_PORT = 65535


def canonical_url(value: str) -> str:
    """Scheme and host lower-cased, host IDNA-encoded or a canonical IP, the rest untouched."""
    reject_empty("URL", value)
    reject_unprintable("URL", value)
    match = _URL.fullmatch(value)
    if match is None:
        if _SCHEME_WITHOUT_SLASHES.match(value):
            scheme = value.partition(":")[0].lower()
            raise InvalidIndicator(f"{shown(value)} is not a valid URL: {_scheme_reason(scheme)}")
        match = _URL.fullmatch("http://" + value)
        if match is None:  # pragma: no cover - any printable text matches after a scheme
            raise InvalidIndicator(f"{shown(value)} is not a valid URL")
    scheme = match.group("scheme").lower()
    if scheme not in URL_SCHEMES:
        raise InvalidIndicator(f"{shown(value)} is not a valid URL: {_scheme_reason(scheme)}")
    authority = match.group("authority")
    if scheme == "file" and "@" in authority:
        # Windows WebDAV form: file://host@SSL@8443/DavWWWRoot/... names the host first.
        host_port, at, userinfo = authority.partition("@")
        canonical = _canonical_host_for(value, host_port)
        return f"{scheme}://{canonical}{at}{userinfo}{match.group('rest')}"
    userinfo, at, host_port = authority.rpartition("@")
    host, port = _split_port(value, host_port)
    canonical_host = _canonical_host_for(value, host)
    return f"{scheme}://{userinfo}{at}{canonical_host}{port}{match.group('rest')}"


def _canonical_host_for(value: str, host: str) -> str:
    try:
        return _canonical_host(host)
    except InvalidIndicator as error:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid URL: bad host: {error.message}"
        ) from None


def _scheme_reason(scheme: str) -> str:
    return f"scheme {scheme!r} is not one of {', '.join(sorted(URL_SCHEMES))}"


def _split_port(value: str, host_port: str) -> tuple[str, str]:
    """``host:8080`` → (``host``, ``:8080``); the port is validated, kept as written."""
    if host_port.startswith("["):
        end = host_port.find("]")
        host, port = host_port[: end + 1], host_port[end + 1 :]
        if end < 0 or (port and not port.startswith(":")):
            raise InvalidIndicator(f"{shown(value)} is not a valid URL: bad IPv6 host")
    else:
        host, colon, number = host_port.partition(":")
        port = colon + number
    if not host:
        raise InvalidIndicator(f"{shown(value)} is not a valid URL: it has no host")
    if port:
        number = port[1:]
        if not (number.isascii() and number.isdigit() and 0 < int(number) <= _MAX_PORT):
            raise InvalidIndicator(
                f"{shown(value)} is not a valid URL: port {number!r} is not 1 to {_MAX_PORT}"
            )
    return host, port


def _canonical_host(host: str) -> str:
    if host.startswith("["):
        return f"[{canonical_ipv6(host[1:-1])}]"
    if _NUMERIC_NAME.fullmatch(host):
        return canonical_ipv4(host)
    return canonical_domain(host)


# --- email addresses ------------------------------------------------------------------

_MAX_LOCAL_PART = 64
_LOCAL_PART_FORBIDDEN = frozenset('<>(),;:"[]\\')


def canonical_email(value: str) -> str:
    """``Local.Part@example.com``: local part as given, domain canonical; one ``@``.

    A bare address in angle brackets or after ``mailto:`` is read as the address.
    """
    reject_empty("email", value)
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    if value[:7].lower() == "mailto:":
        value = value[7:]
    reject_unprintable("email address", value)
    if value.count("@") != 1:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid email address: it needs exactly one '@', "
            f"found {value.count('@')}"
        )
    local, _, domain = value.partition("@")
    if not local or len(local) > _MAX_LOCAL_PART:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid email address: the part before '@' must be "
            f"1 to {_MAX_LOCAL_PART} characters"
        )
    bad = _LOCAL_PART_FORBIDDEN.intersection(local)
    if bad:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid email address: {''.join(sorted(bad))!r} in the "
            "local part (give the bare address, without a display name)"
        )
    try:
        return f"{local}@{canonical_domain(domain)}"
    except InvalidIndicator as error:
        raise InvalidIndicator(
            f"{shown(value)} is not a valid email address: {error.message}"
        ) from None
