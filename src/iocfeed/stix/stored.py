"""Each version's SDO serialised once, when it is written, and finished per request by a splice.

A stored version never changes in anything its SDO shows, so the store keeps the SDO's JSON
beside the row (``stored_json``), built without the two parts a request decides:
``created_by_ref`` (``include_identity``) and ``object_marking_refs`` (the TLP, which the
``tlp`` option and ``tlp_version`` can change). Serving a version appends those two members
to the stored bytes (``spliced``): no row is decoded and no object is built on the read path.
JSON members are unordered (RFC 8259 §4), so the appended members are the same object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import orjson

from iocfeed.indicators.model import Confidence, Indicator, IocType, Tlp
from iocfeed.stix.markings import marking_id
from iocfeed.stix.objects import ExportOptions, build_sdo, object_tlp
from iocfeed.stix.timestamps import stix_timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stored_json(
    indicator: Indicator, *, created: datetime | None = None, modified: datetime | None = None
) -> bytes:
    """The JSON a version is stored with: its SDO without ``created_by_ref`` and markings;
    ``created`` and ``modified``, when given, are the times the store stamped on it."""
    sdo = build_sdo(indicator, None, None)
    if created is not None:
        sdo["created"] = stix_timestamp(created)
    if modified is not None:
        sdo["modified"] = stix_timestamp(modified)
    return orjson.dumps(sdo)


def object_tlps(rows: Iterable[StoredObject], options: ExportOptions) -> list[Tlp]:
    """The TLP each row is served with (``objects.object_tlp``), deciding each (TLP,
    confidence) pair once: a page holds a thousand rows and a handful of pairs."""
    decided: dict[tuple[Tlp | None, Confidence], Tlp] = {}
    tlps = []
    for row in rows:
        pair = (row.tlp, row.confidence)
        tlp = decided.get(pair)
        if tlp is None:
            tlp = decided[pair] = object_tlp(row, options)
        tlps.append(tlp)
    return tlps


def served_objects(
    rows: Sequence[StoredObject], options: ExportOptions, creator: str | None
) -> list[bytes]:
    """Each row's SDO as a request with ``options`` (and producer id ``creator``) gets it."""
    tlps = object_tlps(rows, options)
    markings = {tlp: marking_id(tlp, options.tlp_version) for tlp in set(tlps)}
    return spliced(rows, tlps, tails(markings, creator))


def tails(markings: Mapping[Tlp, str], creator: str | None) -> dict[Tlp, bytes]:
    """What :func:`spliced` appends to an object of each TLP, given each TLP's marking id:
    ``created_by_ref`` (when ``creator`` is given) and ``object_marking_refs``, as JSON
    members after a comma."""
    appended = {}
    for tlp, marking in markings.items():
        members: dict[str, object] = {"object_marking_refs": [marking]}
        if creator is not None:
            members = {"created_by_ref": creator, **members}
        appended[tlp] = b"," + orjson.dumps(members)[1:]
    return appended


def spliced(
    rows: Iterable[StoredObject], tlps: Iterable[Tlp], tail_of: Mapping[Tlp, bytes]
) -> list[bytes]:
    """The served SDOs: each row's stored JSON (an object with at least one member) with
    the tail of its TLP (:func:`tails`) appended before its closing brace."""
    return [row.json[:-1] + tail_of[tlp] for row, tlp in zip(rows, tlps, strict=True)]


class StoredObject(NamedTuple):
    """One stored version as the read path serves it: its stored JSON and the few columns a
    request's choices depend on (the marking, relationships, the keyset), nothing else.

    Everything else comes with the whole version, from :meth:`decode`: ids and times the
    JSON already holds, the columns changed in place (``last_seen``) and those only
    observables, relationships and sightings need. A tuple, because a page makes a thousand
    of them: building one costs a third of a frozen dataclass, and each column read costs
    about 0.2 ms per thousand rows on SQLite.
    """

    seq: int
    """The row number, which names one version: a version never changes once written."""
    type: IocType
    confidence: Confidence
    tlp: Tlp | None
    date_added_us: int
    json: bytes
    decoder: Callable[[int], Indicator]
    """Reads the whole version of a row number, when first asked (``decode``)."""

    @property
    def date_added(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.date_added_us)

    def decode(self) -> Indicator:
        """The whole version; the first call reads every version of the page at once."""
        return self.decoder(self.seq)


class StoredVersion(NamedTuple):
    """One stored version as a manifest lists it: its id, ``modified`` and ``date_added``
    (and what decides its TLP), without its JSON."""

    seq: int
    stix_id: str
    confidence: Confidence
    tlp: Tlp | None
    modified_us: int
    date_added_us: int

    @property
    def date_added(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.date_added_us)

    @property
    def modified(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.modified_us)
