"""TAXII 2.1 filter parameters (§3.4, §3.4.1) parsed once into the shared :class:`IndicatorQuery`.

Each endpoint takes the parameters its table in §5 lists (``ENDPOINT_PARAMETERS``) and
ignores the rest, as §3.4 allows. Malformed values raise :class:`InvalidQuery` naming the
parameter (a 400, §3.4). A well-formed filter that can select nothing in the collection --
an unknown STIX type, a type the collection does not hold, ``match[spec_version]=2.0`` --
is not an error (§3.4.1: valid STIX types MUST NOT cause one); the request then has
``matches_nothing`` set and the store need not be asked.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from iocfeed.errors import InvalidQuery, NotFound
from iocfeed.indicators import cursor
from iocfeed.indicators.model import HASH_TYPES, IocType, Tlp
from iocfeed.indicators.query import (
    LATEST,
    IndicatorQuery,
    Keyset,
    VersionMatch,
    VersionSelector,
)
from iocfeed.taxii.collections import ALL_TYPES, Collection
from iocfeed.taxii.timestamps import parse_timestamp

Params = Mapping[str, Sequence[str]]
"""Query parameters as a web framework hands them over: each name with all its values."""

ADDED_AFTER = "added_after"
LIMIT = "limit"
NEXT = "next"
MATCH_ID = "match[id]"
MATCH_TYPE = "match[type]"
MATCH_VERSION = "match[version]"
MATCH_SPEC_VERSION = "match[spec_version]"
INCLUDE_FLAGGED = "include_flagged"
"""Not TAXII: also serve indicators a warninglist flagged (``true``; default ``false``)."""

SPEC_VERSION = "2.1"
"""The only STIX specification version iocfeed stores (every object is STIX 2.1)."""

# Which IOC types each STIX object type is built from (SPEC §1).
STIX_TYPES: dict[str, frozenset[IocType]] = {
    "indicator": frozenset(
        {IocType.IPV4, IocType.IPV6, IocType.DOMAIN, IocType.URL, IocType.EMAIL} | HASH_TYPES
    ),
    "vulnerability": frozenset({IocType.CVE}),
    "attack-pattern": frozenset({IocType.MITRE_ATTACK}),
}

MAX_PAGE = 1000
"""The largest page a TAXII request gets (the server maximum); larger ``limit``s are lowered."""


class Endpoint(enum.Enum):
    """The TAXII 2.1 read endpoints that take filters."""

    OBJECTS = "objects"  # §5.4 Get Objects
    MANIFEST = "manifest"  # §5.3 Get Object Manifests
    OBJECT = "object"  # §5.6 Get an Object
    VERSIONS = "versions"  # §5.8 Get Object Versions


_PAGING = frozenset({ADDED_AFTER, LIMIT, NEXT})
_FLAGS = frozenset({INCLUDE_FLAGGED})
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

# The endpoint each token names (a token is valid only where it was issued).
TOKEN_ENDPOINTS: dict[Endpoint, cursor.Endpoint] = {
    Endpoint.OBJECTS: cursor.Endpoint.OBJECTS,
    Endpoint.MANIFEST: cursor.Endpoint.MANIFEST,
    Endpoint.OBJECT: cursor.Endpoint.OBJECT,
    Endpoint.VERSIONS: cursor.Endpoint.VERSIONS,
}

# The "URL Filtering Parameters" of each endpoint's table in §5.
ENDPOINT_PARAMETERS: dict[Endpoint, frozenset[str]] = {
    Endpoint.OBJECTS: _PAGING | _FLAGS | {MATCH_ID, MATCH_TYPE, MATCH_VERSION, MATCH_SPEC_VERSION},
    Endpoint.MANIFEST: _PAGING | _FLAGS | {MATCH_ID, MATCH_TYPE, MATCH_VERSION, MATCH_SPEC_VERSION},
    Endpoint.OBJECT: _PAGING | _FLAGS | {MATCH_VERSION, MATCH_SPEC_VERSION},
    Endpoint.VERSIONS: _PAGING | _FLAGS | {MATCH_SPEC_VERSION},
}

ALL_VERSIONS = VersionMatch(keywords=frozenset({VersionSelector.ALL}))

# §3.4.1: ``last`` unless asked otherwise; the versions endpoint lists every version.
DEFAULT_VERSIONS: dict[Endpoint, VersionMatch] = {
    Endpoint.OBJECTS: LATEST,
    Endpoint.MANIFEST: LATEST,
    Endpoint.OBJECT: LATEST,
    Endpoint.VERSIONS: ALL_VERSIONS,
}

# STIX 2.1 §2.9/§3.1: type names are a-z, 0-9 and hyphens, 3 to 250 characters.
_STIX_TYPE = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-?"
_TYPE_NAME = re.compile(_STIX_TYPE)
_STIX_ID = re.compile(
    rf"(?P<type>{_STIX_TYPE})--[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}"
)
_SPEC_VERSION = re.compile(r"[0-9]+\.[0-9]+")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class ObjectsRequest:
    """One filtered, paged read of a collection, ready for the store.

    ``query.added_after`` is the effective lower bound after the plan's lookback clamp
    (``lookback_applied`` says the plan, not the client, set it); ``query.as_of`` is the
    walk's snapshot, pinned at its first page. ``after`` is where this page starts.

    ``matches_nothing`` means the filters exclude every object this collection can hold;
    serve an empty response without asking the store (``query.types`` is then empty,
    which in an :class:`IndicatorQuery` would mean "every type").

    ``scope`` is where the walk's tokens are valid (with the walk's own ``added_after``),
    ``tokens`` the codec that signs them.
    """

    query: IndicatorQuery
    limit: int
    after: Keyset | None
    scope: cursor.Scope
    tokens: cursor.CursorCodec
    matches_nothing: bool = False
    lookback_applied: bool = False

    @property
    def as_of(self) -> datetime:
        """The snapshot this walk reads (always set by the parsers here)."""
        if self.query.as_of is None:
            raise ValueError("an ObjectsRequest always has a snapshot time")
        return self.query.as_of

    @property
    def effective_added_after(self) -> datetime | None:
        """The strict ``date_added`` bound actually applied, for reporting to the client."""
        return self.query.added_after

    def next_token(self, position: Keyset | None, as_of: datetime) -> str | None:
        """The envelope's ``next`` for a page of the snapshot ``as_of`` that ended at
        ``position`` (``None``: no more)."""
        return None if position is None else self.tokens.issue(position, as_of, self.scope)


def parse_request(
    endpoint: Endpoint,
    params: Params,
    *,
    collection: Collection,
    object_id: str | None = None,
    max_tlp: Tlp,
    lookback_start: datetime | None,
    now: datetime,
    tokens: cursor.CursorCodec,
    key_id: str,
    max_limit: int = MAX_PAGE,
    default_limit: int = MAX_PAGE,
) -> ObjectsRequest:
    """The filters ``endpoint`` takes (``ENDPOINT_PARAMETERS``), parsed into one request.

    Get Objects (§5.4) and Get Object Manifests (§5.3) take paging and every ``match[...]``;
    Get an Object (§5.6) takes paging, ``match[version]`` and ``match[spec_version]`` for
    the path's ``object_id``; Get Object Versions (§5.8) takes paging and
    ``match[spec_version]`` and always selects every version. A path ``object_id`` that is
    not a STIX id names no object: :class:`NotFound`. Other parameters are ignored (§3.4).

    ``next`` is read for the key ``key_id``, this endpoint, collection and object, and these
    filters, by the rules of :mod:`iocfeed.indicators.cursor` (a stale token with a fresh
    ``added_after`` starts a fresh walk).
    """
    allowed = ENDPOINT_PARAMETERS[endpoint]
    present = {name: values for name, values in params.items() if name in allowed}
    nothing = False

    raw_after = _single(present, ADDED_AFTER)
    asked = None if raw_after is None else parse_timestamp(raw_after, parameter=ADDED_AFTER)
    limit = _limit(present, max_limit=max_limit, default_limit=default_limit)
    scope = cursor.Scope(
        key_id=key_id,
        endpoint=TOKEN_ENDPOINTS[endpoint],
        place=f"{collection.id}/{(object_id or '').lower()}",
        filters={name: _list(present, name) or [] for name in sorted(present.keys() - _PAGING)},
        added_after=asked,
    )
    resume = tokens.resume(_single(present, NEXT), scope)
    added_after, lookback_applied = _clamped(resume.added_after, lookback_start)
    after = resume.after
    as_of = resume.as_of if resume.as_of is not None else now

    types = collection.types
    if (type_names := _list(present, MATCH_TYPE)) is not None:
        types &= _types(type_names)

    stix_ids: frozenset[str] = frozenset()
    if object_id is not None:
        if _STIX_ID.fullmatch(object_id.lower()) is None:
            raise NotFound(f"No object {object_id!r}")
        stix_ids = frozenset({object_id.lower()})
    elif (ids := _list(present, MATCH_ID)) is not None:
        stix_ids = _ids(ids)
    if stix_ids:
        types &= _types([stix_id.rpartition("--")[0] for stix_id in stix_ids])

    versions = DEFAULT_VERSIONS[endpoint]
    if (version_values := _list(present, MATCH_VERSION)) is not None:
        versions = _versions(version_values)

    if (spec_versions := _list(present, MATCH_SPEC_VERSION)) is not None:
        nothing |= SPEC_VERSION not in _spec_versions(spec_versions)

    include_flagged = False
    if (flag := _single(present, INCLUDE_FLAGGED)) is not None:
        if flag.strip().lower() not in _BOOLEANS:
            raise InvalidQuery(
                f"{INCLUDE_FLAGGED} must be true or false, got {flag!r}", parameter=INCLUDE_FLAGGED
            )
        include_flagged = _BOOLEANS[flag.strip().lower()]

    nothing |= not types
    query = IndicatorQuery(
        include_flagged=include_flagged,
        types=frozenset() if types == ALL_TYPES or nothing else types,
        stix_ids=stix_ids,
        added_after=added_after,
        max_tlp=max_tlp,
        submitted_only=collection.submitted_only,
        reported_by=collection.reported_by,
        versions=versions,
        as_of=as_of,
    )
    return ObjectsRequest(
        query=query,
        limit=limit,
        after=after,
        scope=replace(scope, added_after=resume.added_after),
        tokens=tokens,
        matches_nothing=nothing,
        lookback_applied=lookback_applied,
    )


def _single(params: Params, name: str) -> str | None:
    """A parameter TAXII allows once (§3.4: ``added_after``, ``limit``, ``next``)."""
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidQuery(f"{name} may be given only once", parameter=name)
    return values[0]


def _list(params: Params, name: str) -> list[str] | None:
    """A ``match[...]`` field's values: repeated parameters and commas both accumulate."""
    raw = params.get(name)
    if raw is None:
        return None
    values = [item.strip() for value in raw for item in value.split(",") if item.strip()]
    if not values:
        raise InvalidQuery(f"{name} needs at least one value", parameter=name)
    return values


def _clamped(
    asked: datetime | None, lookback_start: datetime | None
) -> tuple[datetime | None, bool]:
    """§3.4 ``added_after``, clamped to the plan's lookback (SPEC §3); and whether it was."""
    if lookback_start is not None and (asked is None or asked < lookback_start):
        return lookback_start, True
    return asked, False


def _limit(params: Params, *, max_limit: int, default_limit: int) -> int:
    """§3.4 ``limit``: a positive integer; above the server's maximum it is lowered to it.

    §3.4 lets a server return fewer objects than asked, so an over-large limit is served
    (with ``more``/``next``) rather than refused.
    """
    raw = _single(params, LIMIT)
    if raw is None:
        return min(default_limit, max_limit)
    text = raw.strip()
    significant = text.lstrip("0")
    if _DIGITS.fullmatch(text) is None or not significant:
        raise InvalidQuery(
            f"limit must be a positive integer (at most {max_limit} are served), got {raw!r:.40}",
            parameter=LIMIT,
        )
    if len(significant) > len(str(max_limit)):
        return max_limit  # also keeps int() away from a megabyte of digits
    return min(int(significant), max_limit)


def _types(names: Iterable[str]) -> frozenset[IocType]:
    """The IOC types behind STIX type names; unknown names contribute none (§3.4.1)."""
    found: set[IocType] = set()
    for name in names:
        lowered = name.lower()
        if not 3 <= len(lowered) <= 250 or _TYPE_NAME.fullmatch(lowered) is None:
            raise InvalidQuery(
                f"match[type] values are STIX type names such as indicator, got {name!r:.80}",
                parameter=MATCH_TYPE,
            )
        found |= STIX_TYPES.get(lowered, frozenset())
    return frozenset(found)


def _ids(values: Sequence[str]) -> frozenset[str]:
    """``match[id]``: STIX identifiers ``<type>--<uuid>``, compared in lower case."""
    ids: set[str] = set()
    for value in values:
        lowered = value.lower()
        if _STIX_ID.fullmatch(lowered) is None:
            raise InvalidQuery(
                "match[id] values are STIX ids such as "
                f"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f, got {value!r:.80}",
                parameter=MATCH_ID,
            )
        ids.add(lowered)
    return frozenset(ids)


def _versions(values: Sequence[str]) -> VersionMatch:
    """§3.4.1 ``match[version]``: ``last``, ``first``, ``all`` and ``modified`` timestamps."""
    keywords: set[VersionSelector] = set()
    timestamps: set[datetime] = set()
    for value in values:
        try:
            keywords.add(VersionSelector(value.lower()))
        except ValueError:
            timestamps.add(_version_timestamp(value))
    if VersionSelector.ALL in keywords and (len(keywords) > 1 or timestamps):
        raise InvalidQuery(
            "match[version]=all cannot be combined with other versions", parameter=MATCH_VERSION
        )
    return VersionMatch(keywords=frozenset(keywords), timestamps=frozenset(timestamps))


def _version_timestamp(value: str) -> datetime:
    try:
        return parse_timestamp(value, parameter=MATCH_VERSION)
    except InvalidQuery as exc:
        raise InvalidQuery(
            f"match[version] values are last, first, all or a STIX modified timestamp "
            f"such as 2024-01-31T12:00:00.000Z, got {value!r:.80}",
            parameter=MATCH_VERSION,
        ) from exc


def _spec_versions(values: Sequence[str]) -> frozenset[str]:
    """§3.4.1 ``match[spec_version]``: ``n.m`` version numbers."""
    for value in values:
        if _SPEC_VERSION.fullmatch(value) is None:
            raise InvalidQuery(
                f"match[spec_version] values are versions such as 2.1, got {value!r:.40}",
                parameter=MATCH_SPEC_VERSION,
            )
    return frozenset(values)
