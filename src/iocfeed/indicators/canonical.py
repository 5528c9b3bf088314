"""``canonicalize``: the one entry point from an IOC type and raw text to the canonical value.

This is the import hot path, so every pattern is compiled once, the common case of each
type is a single regular-expression match, and refanging is skipped for the types whose
values cannot carry defanging (hashes, CVE and ATT&CK ids).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.attack import canonical_technique_id
from iocfeed.indicators.model import IocType
from iocfeed.indicators.network import (
    canonical_domain,
    canonical_email,
    canonical_ipv4,
    canonical_ipv6,
    canonical_url,
)
from iocfeed.indicators.reasons import reject_empty, reject_unprintable, shown
from iocfeed.indicators.refang import refang

HASH_LENGTHS: dict[IocType, int] = {
    IocType.MD5: 32,
    IocType.SHA1: 40,
    IocType.SHA256: 64,
    IocType.SHA512: 128,
}
HASH_BY_LENGTH: dict[int, IocType] = {length: kind for kind, length in HASH_LENGTHS.items()}

_HEX = re.compile(r"[0-9a-fA-F]+")
_NOT_HEX = re.compile(r"[^0-9a-fA-F]")

# MITRE's CVE id syntax: a 4-digit sequence may be zero-padded, a longer one may not.
_CVE = re.compile(r"CVE-(?P<year>[0-9]{4})-(?:0[0-9]{3}|[1-9][0-9]{3,})", re.IGNORECASE)
_FIRST_CVE_YEAR = 1999
# Reports pasted from word processors carry typographic dashes inside CVE ids.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))


def _hash_canonicaliser(kind: IocType) -> Callable[[str], str]:
    length = HASH_LENGTHS[kind]

    def canonical_hash(value: str) -> str:
        if len(value) == length and _HEX.fullmatch(value):
            return value.lower()
        reject_empty(kind.value, value)
        reject_unprintable(kind.value, value)
        if len(value) != length:
            raise InvalidIndicator(
                f"{kind.value} must be {length} hex characters, got {len(value)}"
            )
        bad = _NOT_HEX.search(value)
        position = bad.start() if bad else 0
        raise InvalidIndicator(
            f"{kind.value} must be {length} hex characters, got {value[position]!r} at "
            f"position {position} of {shown(value)}"
        )

    return canonical_hash


def canonical_cve(value: str) -> str:
    """``cve-2021-44228`` → ``CVE-2021-44228``; year 1999 or later."""
    reject_empty("CVE", value)
    reject_unprintable("CVE", value)
    candidate = value.translate(_DASHES)
    match = _CVE.fullmatch(candidate)
    if match is None:
        raise InvalidIndicator(
            f"{shown(value)} is not a CVE id (expected CVE-YYYY-NNNN with 4 or more digits)"
        )
    if int(match.group("year")) < _FIRST_CVE_YEAR:
        raise InvalidIndicator(
            f"{shown(value)} is not a CVE id: CVE years start at {_FIRST_CVE_YEAR}"
        )
    return candidate.upper()


def canonical_attack(value: str) -> str:
    """A known ATT&CK technique id, upper case (``t1566.001`` → ``T1566.001``)."""
    reject_empty("ATT&CK technique", value)
    return canonical_technique_id(value)


# Types whose values are refanged before validation; the others cannot carry markers.
_REFANGED: frozenset[IocType] = frozenset(
    {IocType.IPV4, IocType.IPV6, IocType.DOMAIN, IocType.URL, IocType.EMAIL}
)

_CANONICALISERS: dict[IocType, Callable[[str], str]] = {
    IocType.IPV4: canonical_ipv4,
    IocType.IPV6: canonical_ipv6,
    IocType.DOMAIN: canonical_domain,
    IocType.URL: canonical_url,
    IocType.MD5: _hash_canonicaliser(IocType.MD5),
    IocType.SHA1: _hash_canonicaliser(IocType.SHA1),
    IocType.SHA256: _hash_canonicaliser(IocType.SHA256),
    IocType.SHA512: _hash_canonicaliser(IocType.SHA512),
    IocType.EMAIL: canonical_email,
    IocType.CVE: canonical_cve,
    IocType.MITRE_ATTACK: canonical_attack,
}


def canonicalize(ioc_type: IocType, raw: str) -> str:
    """The canonical value of ``raw`` as an ``ioc_type`` (SPEC §1), refanged first.

    Raises :class:`~iocfeed.errors.InvalidIndicator` saying why the value is not one.
    Surrounding whitespace is ignored; whitespace or control characters inside are not,
    except for the spaces that refanging removes (``evil . com``).
    """
    value = raw.strip()
    if ioc_type in _REFANGED:
        value = refang(value).strip()
    return _CANONICALISERS[ioc_type](value)
