"""STIX 2.1 patterning for IOCs: one single-comparison pattern per indicator (SPEC §1)."""

from __future__ import annotations

from iocfeed.indicators.model import IocType

# SPEC §1 / STIX 2.1 §9: the object path each observable IOC type is compared on.
# Hash algorithm names with a hyphen must be quoted inside the path.
PATTERN_PATH: dict[IocType, str] = {
    IocType.IPV4: "ipv4-addr:value",
    IocType.IPV6: "ipv6-addr:value",
    IocType.DOMAIN: "domain-name:value",
    IocType.URL: "url:value",
    IocType.EMAIL: "email-addr:value",
    IocType.MD5: "file:hashes.MD5",
    IocType.SHA1: "file:hashes.'SHA-1'",
    IocType.SHA256: "file:hashes.'SHA-256'",
    IocType.SHA512: "file:hashes.'SHA-512'",
}


def string_literal(value: str) -> str:
    """``value`` as a STIX pattern string literal (STIX 2.1 §9.2, "Constants").

    The grammar knows two escapes, ``\\'`` and ``\\\\``; backslashes are escaped first so
    that the backslash added before a quote is not doubled again.
    """
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern_for(ioc_type: IocType, value: str) -> str:
    """``[<object path> = '<value>']`` for an observable IOC (SPEC §1, §2).

    CVE and ATT&CK ids are not observables: they become vulnerability and
    attack-pattern SDOs, so asking for their pattern is a ``ValueError``.
    """
    path = PATTERN_PATH.get(ioc_type)
    if path is None:
        raise ValueError(f"{ioc_type.value} is not an observable and has no STIX pattern")
    return f"[{path} = {string_literal(value)}]"
