"""The opaque ``next`` token of every paging walk: where it stands, what it sees, whose it is.

TAXII's ``next`` (TAXII 2.1 §3.4, §3.5) and the REST search's ``next`` are both this token;
the REST walk runs newest first, the TAXII walk oldest first, on the same keys.

Theory of operation
-------------------
TAXII 2.1 §3.3 sorts objects by the server's ``date_added``, oldest first. iocfeed walks
that order with keyset pagination on ``date_added``, which the store's write clock makes
unique and equal to commit order (``seq``, the version row's number, rides along for the
record). Each page asks the store for rows strictly after the last ``date_added`` served --
one indexed range read, never an OFFSET, so the millionth page costs what the first does.

Position alone is not enough while writers are busy. With ``match[version]=last`` an
object whose newer version lands mid-walk would move to the end of the order and be
served twice, and its old version would vanish from the pages already passed. So the
first page pins a snapshot, ``as_of`` (the newest ``date_added`` when the walk began), and
every later page of the walk sees the store as it was then: versions added after ``as_of``
are invisible and a version superseded after ``as_of`` still counts as the latest.
Concurrent adds and changes therefore neither skip nor repeat an object; the walk ends
with ``more: false`` and the client's next poll (``added_after`` = the last
``X-TAXII-Date-Added-Last``) picks up everything written since.

Integrity. A snapshot in the past is a view of the past, so the server must never read a
position or a snapshot it did not hand out itself. Every token is signed: an HMAC-SHA256
tag (truncated to 16 bytes) over its whole content, keyed with the server secret (the
``secret_key`` setting, else one secret made once and kept in the database, so every
worker and every host of one store accepts the others' tokens). A token that was forged,
altered, or signed with another secret is a 400 (TAXII 2.1 Appendix B: never trust
``next`` blindly).

Scope (SPEC §3 "Tokens"). A token belongs to where it was issued. It carries keyed
digests of the API key it was issued to, of the collection (and object) the walk reads,
and of every filter except ``limit``, ``next`` and ``added_after``, and names the endpoint
(REST search, TAXII objects, manifest, object by id, versions) in clear. It also records
the walk's own ``added_after`` as the client asked it (or none). The TLP ceiling and
lookback are applied afresh on every page, from the key that calls. A valid token is then
read by these rules, in this order:

1. Another key: 400. Tokens are never shared between keys.
2. The request brings an ``added_after`` other than the one the token records: the token
   is *stale*. It is ignored and a fresh walk starts from the request's ``added_after``,
   wherever the token was issued. OpenCTI's TAXII2 connector keeps its last token for
   ever and sends it with every later run's ``added_after``; it still receives every
   object added after that time.
3. Another endpoint, or other filters: 400, saying which.
4. Another collection (or object), with no ``added_after`` in the request: when the
   token's walk had an ``added_after``, a fresh walk of this collection starts from that
   ``added_after``; when it had none, 400. The same connector pops ``added_after`` while
   paging and sends the last token of one collection, alone, to the next collection of
   the same run; a 400 there would make it drop everything the run had read (the client
   library raises an HTTP error the connector's collection loop does not catch), so this
   walk starts where the client's walk of the run started.
5. Otherwise the walk continues, whether the request repeats the token's ``added_after``
   (taxii2-client's ``as_pages`` does) or sends none (OpenCTI, while paging). Later tokens
   of the walk keep recording its original ``added_after``.

The token is ``base64url(version, date_added µs, seq, as_of µs, added_after µs, endpoint,
key digest, place digest, filters digest, tag)`` without padding: 62 bytes, 83
characters, URL-safe, valid on any worker, never expiring.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.query import Keyset

PARAMETER = "next"
_VERSION = 2
# version, date_added µs, seq, as_of µs, added_after µs, endpoint, key, place, filters
_BODY = struct.Struct(">BqqqqB4s4s4s")
_TAG = 16
_SIZE = _BODY.size + _TAG
_NO_TIME = -(2**63)
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
_MAX_TOKEN = 128
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_PURPOSE = b"iocfeed paging tokens"


class Endpoint(enum.Enum):
    """Where a walk runs: each token is valid only on the endpoint that issued it."""

    SEARCH = 1
    OBJECTS = 2
    MANIFEST = 3
    OBJECT = 4
    VERSIONS = 5
    STREAM = 6

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    Endpoint.SEARCH: "the REST search",
    Endpoint.OBJECTS: "TAXII Get Objects",
    Endpoint.MANIFEST: "TAXII Get Object Manifests",
    Endpoint.OBJECT: "TAXII Get an Object",
    Endpoint.VERSIONS: "TAXII Get Object Versions",
    Endpoint.STREAM: "the event stream",
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a request reads: the key, the endpoint, the collection or object, the filters.

    ``filters`` holds every filter but ``limit``, ``next`` and ``added_after``, each with
    its values (their order does not count). ``added_after`` is the one the client sent,
    before any lookback clamp.
    """

    key_id: str
    endpoint: Endpoint
    place: str = ""
    filters: Mapping[str, Iterable[str]] = field(default_factory=dict)
    added_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    """How a request's walk goes on.

    ``after`` is ``None`` when the walk starts afresh (no token, or a stale one); then
    ``as_of`` is ``None`` too. ``added_after`` is the walk's own: the request's, else the
    one its token records.
    """

    after: Keyset | None
    as_of: datetime | None
    added_after: datetime | None


class CursorCodec:
    """Signs and reads ``next`` tokens with one server secret."""

    __slots__ = ("_key",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the paging-token secret needs at least 16 bytes")
        self._key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()

    def issue(self, position: Keyset, as_of: datetime, scope: Scope) -> str:
        """The token resuming ``scope``'s walk after ``position`` in the snapshot ``as_of``."""
        body = _BODY.pack(
            _VERSION,
            _micros(position.at),
            position.seq,
            _micros(as_of),
            _NO_TIME if scope.added_after is None else _micros(scope.added_after),
            scope.endpoint.value,
            *self._digests(scope),
        )
        return _canonical(body + self._tag(body))

    def resume(self, token: str | None, scope: Scope) -> Resume:
        """Where ``scope``'s walk stands; :class:`InvalidQuery` for a token not valid here."""
        if token is None:
            return Resume(None, None, scope.added_after)
        raw = _raw(token)
        body, tag = raw[: _BODY.size], raw[_BODY.size :]
        if not hmac.compare_digest(tag, self._tag(body)):
            raise _invalid("is not a token this server issued")
        version, at, seq, as_of, added, endpoint, key, place, filters = _BODY.unpack(body)
        if version != _VERSION or seq < 0 or at > as_of:
            raise _invalid("is not a token this server issued")
        recorded = None if added == _NO_TIME else _moment(added)
        asked_key, asked_place, asked_filters = self._digests(scope)
        if not hmac.compare_digest(key, asked_key):
            raise _invalid("was issued to another API key")
        if scope.added_after is not None and _micros(scope.added_after) != added:
            return Resume(None, None, scope.added_after)  # stale: a fresh walk
        if endpoint != scope.endpoint.value:
            issued = Endpoint(endpoint).title if endpoint in _ENDPOINT_VALUES else "elsewhere"
            raise _invalid(f"was issued for {issued}, not {scope.endpoint.title}")
        if not hmac.compare_digest(filters, asked_filters):
            raise _invalid(
                "was issued with other filters",
                "send the filters of the request that returned it, or start again without it",
            )
        if not hmac.compare_digest(place, asked_place):
            if recorded is not None:
                return Resume(None, None, recorded)  # the walk of this run, in this collection
            where = "object" if scope.endpoint in _BY_OBJECT else "collection"
            raise _invalid(f"was issued for another {where}")
        return Resume(Keyset(at=_moment(at), seq=seq), _moment(as_of), recorded)

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, b"tag\0" + body, hashlib.sha256).digest()[:_TAG]

    def _digests(self, scope: Scope) -> tuple[bytes, bytes, bytes]:
        filters = json.dumps(
            sorted((name, sorted(set(values))) for name, values in scope.filters.items()),
            separators=(",", ":"),
        )
        return (
            self._digest(b"key", scope.key_id),
            self._digest(b"place", scope.place),
            self._digest(b"filters", filters),
        )

    def _digest(self, label: bytes, text: str) -> bytes:
        message = label + b"\0" + text.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()[:4]


_ENDPOINT_VALUES = frozenset(endpoint.value for endpoint in Endpoint)
_BY_OBJECT = frozenset({Endpoint.OBJECT, Endpoint.VERSIONS})


def _raw(token: str) -> bytes:
    """The bytes of a well-formed token (its one spelling); :class:`InvalidQuery` else."""
    if len(token) > _MAX_TOKEN or _ALPHABET.fullmatch(token) is None:
        raise _invalid("is not a token this server issued")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid("is not a token this server issued") from exc
    if len(raw) != _SIZE or _canonical(raw) != token:
        raise _invalid("is not a token this server issued")
    return raw


def _canonical(raw: bytes) -> str:
    """The one spelling of raw token bytes (unpadded base64url)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("cursor times must be aware datetimes")
    return (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> datetime:
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError as exc:
        raise _invalid("is not a token this server issued") from exc


def _invalid(why: str, advice: str = "start again without it") -> InvalidQuery:
    return InvalidQuery(f"next {why}; {advice}", parameter=PARAMETER)
