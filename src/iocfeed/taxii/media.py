"""TAXII 2.1 content negotiation (§1.6.8, §3.1): which Accept and Content-Type headers we serve.

A request is acceptable when its ``Accept`` header admits the one media type every TAXII
response carries, ``application/taxii+json;version=2.1``. Following RFC 7231 §5.3.2, the
most specific media range that matches decides, and ``q=0`` means "not acceptable":
``application/taxii+json;q=0, */*`` is refused although ``*/*`` alone is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"

_TYPE = "application"
_SUBTYPE = "taxii+json"
_VERSION = "2.1"


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One parsed ``type/subtype;params`` entry; names lower-cased, values unquoted."""

    type: str
    subtype: str
    params: dict[str, str]
    q: float = 1.0


def parse_media_range(text: str) -> MediaRange | None:
    """Parse one comma-free media range (RFC 7231 §5.3.2); ``None`` if it is malformed.

    Parameters after ``q`` are accept-extensions and are dropped.
    """
    head, *raw_params = text.split(";")
    kind, slash, subtype = head.strip().lower().partition("/")
    if not slash or not kind or not subtype or " " in kind or " " in subtype:
        return None
    params: dict[str, str] = {}
    q = 1.0
    for raw in raw_params:
        name, equals, value = raw.strip().partition("=")
        name = name.strip().lower()
        value = value.strip()
        if not equals or not name:
            return None
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if name == "q":
            try:
                q = float(value)
            except ValueError:
                return None
            if not 0.0 <= q <= 1.0:
                return None
            break
        params[name] = value
    return MediaRange(kind, subtype, params, q)


def _specificity(media: MediaRange) -> int | None:
    """How precisely ``media`` names the TAXII 2.1 media type; ``None`` if it does not match it."""
    if media.type == "*" and media.subtype == "*":
        return 0
    if media.type != _TYPE:
        return None
    if media.subtype == "*":
        return 1
    if media.subtype != _SUBTYPE:
        return None
    version = media.params.get("version")
    if version is None:
        return 2  # §1.6.8.2: no version means the latest the server supports, i.e. 2.1.
    return 3 if version == _VERSION else None


def acceptable(accept_header: str | None) -> bool:
    """Whether a response of type ``application/taxii+json;version=2.1`` satisfies ``Accept``.

    A missing or blank header accepts anything (RFC 7231 §5.3.2). Otherwise a 406 is due
    when no range admits TAXII 2.1 (e.g. ``application/json``, ``text/html``,
    ``application/taxii+json;version=2.0``) or the most specific one has ``q=0``.
    """
    if accept_header is None or not accept_header.strip():
        return True
    best: tuple[int, float] | None = None
    for entry in accept_header.split(","):
        if not entry.strip():
            continue
        media = parse_media_range(entry)
        if media is None:
            continue
        specificity = _specificity(media)
        if specificity is None:
            continue
        if best is None or specificity > best[0]:
            best = (specificity, media.q)
        elif specificity == best[0]:
            best = (specificity, max(best[1], media.q))
    return best is not None and best[1] > 0.0


def content_type_ok(content_type: str | None) -> bool:
    """Whether a POST body's ``Content-Type`` is a TAXII 2.1 envelope (§5.5), else 415.

    Add Objects takes only ``application/taxii+json`` (version 2.1, or none meaning the
    latest); a bare STIX media type or a bundle is not an envelope. A ``charset`` parameter
    is tolerated.
    """
    if content_type is None or "," in content_type:
        return False
    media = parse_media_range(content_type)
    if media is None or (media.type, media.subtype) != (_TYPE, _SUBTYPE):
        return False
    return media.params.get("version", _VERSION) == _VERSION
