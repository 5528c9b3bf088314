"""The values that SCOs may hold, where STIX asks more of them than an IOC value gives.

An indicator's pattern carries the IOC exactly as stored. The ``url`` and ``email-addr``
SCOs, though, are typed by the STIX 2.1 schemas: a url ``value`` must be an RFC 3986
URI (§6.14) and an email-addr ``value`` an address the OASIS validator recognises
(§6.5). A stored URL may hold spaces, non-ASCII text or stray ``%``; its SCO gets the URI
form of RFC 3987 §3.1 (UTF-8, percent-encoded, component by component). An address that
no STIX tool accepts gets no SCO at all; its indicator still carries it.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# RFC 3986 Appendix B, with each delimiter kept in its group.
_URI_PARTS = re.compile(r"([^:/?#]+:)?(//[^/?#]*)?([^?#]*)(\?[^#]*)?(#.*)?", re.DOTALL)
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

# RFC 3986 §2.2 / §3: characters each component keeps as they are (``quote`` always keeps
# ALPHA, DIGIT and ``-._~``; ``%`` is kept because stray ones are encoded beforehand).
_SUB_DELIMS = "!$&'()*+,;="
_SAFE_AUTHORITY = _SUB_DELIMS + ":@[]%"
_SAFE_PATH = _SUB_DELIMS + ":@/%"
_SAFE_QUERY = _SUB_DELIMS + ":@/?%"

# The address form the OASIS stix2-validator accepts for ``email-addr:value``.
_EMAIL_SCO_FORM = re.compile(r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9.-]+")


def url_sco_value(url: str) -> str:
    """``url`` as an RFC 3986 URI: unchanged when it is one, else percent-encoded."""
    match = _URI_PARTS.fullmatch(url)
    assert match is not None  # every string matches: each group is optional
    scheme, authority, path, query, fragment = match.groups("")
    return "".join(
        (
            scheme,
            "//" + _encode(authority[2:], _SAFE_AUTHORITY) if authority else "",
            _encode(path, _SAFE_PATH),
            "?" + _encode(query[1:], _SAFE_QUERY) if query else "",
            "#" + _encode(fragment[1:], _SAFE_QUERY) if fragment else "",
        )
    )


def email_sco_value(address: str) -> str | None:
    """``address`` when an ``email-addr`` SCO may hold it, else ``None``."""
    return address if _EMAIL_SCO_FORM.fullmatch(address) else None


def _encode(component: str, safe: str) -> str:
    return quote(_STRAY_PERCENT.sub("%25", component), safe=safe)
