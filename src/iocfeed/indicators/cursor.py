"""The opaque ``next`` token of every paging walk: where it stands and what it sees.

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
every later page of the
walk sees the store as it was then: versions added after ``as_of`` are invisible and a
version superseded after ``as_of`` still counts as the latest. Concurrent adds and changes
therefore neither skip nor repeat an object; the walk ends with ``more: false`` and the
client's next poll (``added_after`` = the last ``X-TAXII-Date-Added-Last``) picks up
everything written since.

The token is ``base64url(version byte, date_added µs, seq, as_of µs, CRC-32)`` without
padding: 29 bytes, 39 characters, stateless, valid on any worker and never expiring.

Integrity: the token is not signed. TAXII 2.1 Appendix B asks that ``next`` never be
trusted blindly but re-evaluated against the query, and it is: the cursor carries only a
position and a snapshot time, while the collection, the key's TLP ceiling, the plan's
lookback and every filter are applied afresh on each request. A forged cursor can
therefore only move within what the key may already read -- as ``added_after``, a
parameter the client chooses freely, already allows. The CRC-32 catches a token damaged
in copy and paste, which would otherwise resume a walk at the wrong place silently.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from datetime import UTC, datetime, timedelta

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.query import Keyset

PARAMETER = "next"
_VERSION = 1
_BODY = struct.Struct(">Bqqq")  # version, date_added µs, seq, as_of µs
_CHECK = struct.Struct(">I")
_SIZE = _BODY.size + _CHECK.size
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
_MAX_TOKEN = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(position: Keyset, as_of: datetime) -> str:
    """The ``next`` token resuming a walk after ``position`` in the snapshot ``as_of``."""
    body = _BODY.pack(_VERSION, _micros(position.at), position.seq, _micros(as_of))
    return _canonical(body + _CHECK.pack(zlib.crc32(body)))


def decode_cursor(token: str) -> tuple[Keyset, datetime]:
    """The position and snapshot a token names; :class:`InvalidQuery` on anything else."""
    if len(token) > _MAX_TOKEN or _ALPHABET.fullmatch(token) is None:
        raise _invalid()
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc
    if len(raw) != _SIZE or _canonical(raw) != token:
        raise _invalid()
    body, (check,) = raw[: _BODY.size], _CHECK.unpack(raw[_BODY.size :])
    version, at, seq, as_of = _BODY.unpack(body)
    if version != _VERSION or check != zlib.crc32(body) or seq < 0 or at > as_of:
        raise _invalid()
    try:
        return Keyset(at=_moment(at), seq=seq), _moment(as_of)
    except OverflowError as exc:
        raise _invalid() from exc


def _canonical(raw: bytes) -> str:
    """The one spelling of raw token bytes (unpadded base64url)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("cursor times must be aware datetimes")
    return (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _invalid() -> InvalidQuery:
    return InvalidQuery(
        "next is not a token this server issued; start again without it", parameter=PARAMETER
    )
