"""Reading the one kind of STIX pattern iocfeed accepts: a single ``=`` comparison on a value.

STIX Patterning (STIX 2.1 §9, https://docs.oasis-open.org/cti/stix/v2.1/stix-v2.1.html)
allows boolean expressions, qualifiers and many object paths; an IOC is exactly one
``[object-type:property = 'literal']``. Anything else (``AND``/``OR``, ``WITHIN``, registry
keys, processes, ``network-traffic``) is refused here, so the caller can reject the indicator.
"""

from __future__ import annotations

import re

from iocfeed.indicators.model import IocType

# SPEC §1's pattern table, read from pattern to IOC type.
VALUE_PATHS: dict[str, IocType] = {
    "ipv4-addr:value": IocType.IPV4,
    "ipv6-addr:value": IocType.IPV6,
    "domain-name:value": IocType.DOMAIN,
    "url:value": IocType.URL,
    "email-addr:value": IocType.EMAIL,
}

# file:hashes keys, upper-cased. STIX's vocabulary is MD5, SHA-1, SHA-256, SHA-512; producers
# also write them without the hyphen, so both spellings are read.
HASH_KEYS: dict[str, IocType] = {
    "MD5": IocType.MD5,
    "SHA-1": IocType.SHA1,
    "SHA1": IocType.SHA1,
    "SHA-256": IocType.SHA256,
    "SHA256": IocType.SHA256,
    "SHA-512": IocType.SHA512,
    "SHA512": IocType.SHA512,
}

_COMPARISON = re.compile(
    r"""
    \A \s* \[ \s*
    (?:
        (?P<path> [a-z0-9-]+ : value )
      | file : hashes \. (?: '(?P<quoted_key> [A-Za-z0-9_-]+ )' | (?P<key> [A-Za-z0-9_-]+ ) )
    )
    \s* = \s*
    ' (?P<literal> (?: [^'\\] | \\['\\] )* ) '
    \s* \] \s* \Z
    """,
    re.VERBOSE,
)
# String literals know exactly two escapes, \' and \\ (STIX 2.1 §9, constants).
_ESCAPE = re.compile(r"\\(['\\])")


def parse_pattern(pattern: str) -> tuple[IocType, str] | None:
    """``[file:hashes.'SHA-256' = 'ab…']`` → ``(IocType.SHA256, 'ab…')``; anything else → ``None``.

    The literal is unescaped but not validated: ``iocfeed.indicators.normalize`` does that.
    """
    match = _COMPARISON.match(pattern)
    if match is None:
        return None
    if match["path"] is not None:
        ioc_type = VALUE_PATHS.get(match["path"])
    else:
        ioc_type = HASH_KEYS.get((match["quoted_key"] or match["key"]).upper())
    if ioc_type is None:
        return None
    return ioc_type, _ESCAPE.sub(r"\1", match["literal"])
