"""``detect_type``: which IOC type an untyped value (plain or defanged) is.

Detection looks at shape, not validity: ``256.1.1.1`` is detected as ipv4 so that
canonicalising it gives the useful reason ("256 is above 255") rather than "cannot tell
the type". The checks run from the most specific shape to the least:

1. hex of a hash length (32 md5, 40 sha1, 64 sha256, 128 sha512), CVE id, ATT&CK id;
2. after refanging: a URL with a known scheme (``hxxp://`` included);
3. a valid email address;
4. a dotted quad (with an optional ``/n``), then anything :mod:`ipaddress` reads as IPv6;
5. ``host/path`` with a valid host: a URL written without its scheme;
6. a valid domain. Names ending in a file extension that is not a TLD (``invoice.pdf``)
   are not domains; names ending in a TLD that is also an extension (``invoice.zip``)
   are, because a value given on its own in a feed is an indicator, and those TLDs are
   registered precisely to be confused with files.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.canonical import HASH_BY_LENGTH
from iocfeed.indicators.model import IocType
from iocfeed.indicators.network import (
    URL_SCHEMES,
    canonical_domain,
    canonical_email,
    canonical_ipv6,
)
from iocfeed.indicators.reasons import is_printable
from iocfeed.indicators.refang import refang

_HEX = re.compile(r"[0-9a-fA-F]+")
_CVE_SHAPE = re.compile(r"CVE[-\u2010-\u2014\u2212][0-9]{4}[-\u2010-\u2014\u2212][0-9]{4,}", re.I)
_TECHNIQUE_SHAPE = re.compile(r"T[0-9]{4}(?:\.[0-9]{3})?", re.I)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_IPV4_SHAPE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:/[0-9]{1,2})?")


def detect_type(raw: str) -> IocType | None:
    """The IOC type ``raw`` looks like, or ``None`` when it looks like none of them."""
    value = raw.strip()
    if not value:
        return None
    hash_type = HASH_BY_LENGTH.get(len(value))
    if hash_type is not None and _HEX.fullmatch(value):
        return hash_type
    if _CVE_SHAPE.fullmatch(value):
        return IocType.CVE
    if _TECHNIQUE_SHAPE.fullmatch(value):
        return IocType.MITRE_ATTACK
    value = refang(value).strip()
    if not is_printable(value):
        return None
    scheme = _SCHEME.match(value)
    if scheme is not None:
        return IocType.URL if scheme.group(1).lower() in URL_SCHEMES else None
    if "@" in value:
        return IocType.EMAIL if _is_valid(canonical_email, value) else None
    if _IPV4_SHAPE.fullmatch(value):
        return IocType.IPV4
    if ":" in value and _is_valid(canonical_ipv6, value):
        return IocType.IPV6
    if "/" in value:
        host = value.partition("/")[0].partition(":")[0]
        is_host = _IPV4_SHAPE.fullmatch(host) is not None or _is_domain(host)
        return IocType.URL if is_host else None
    return IocType.DOMAIN if _is_domain(value) else None


def _is_domain(value: str) -> bool:
    return "." in value and _is_valid(canonical_domain, value)


def _is_valid(canonicalise: Callable[[str], str], value: str) -> bool:
    try:
        canonicalise(value)
    except InvalidIndicator:
        return False
    return True
