"""TAXII 2.1 use cases: a collection's pages, manifests and versions as response bodies, and
Add Objects, Delete and Status.

Reads join pre-serialised objects into the envelope (``resources.envelope_bytes``); each
stored version is served as its stored JSON finished with the default export options
(``stix.stored``), so TAXII and the STIX export publish the same object for the same
version. A walk's first page starts with the
reference objects (``taxii.references``); the walk continues with stored versions in
``date_added`` order from the store's keyset walk, pinned at the snapshot its first page saw.

Writes (Add Objects) go through the same reader and normalisation as ``iocfeed import``
of a STIX bundle, then the same merge. A new indicator keeps the id its producer gave it
when that is a UUIDv4 STIX id of the right type that names nothing else here, so a client
can read back what it posted; a value already known keeps its existing id (one id per
``(type, value)``), which the status resource reports. Delete revokes (SPEC §1).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import orjson

from iocfeed.errors import Forbidden, NotFound
from iocfeed.export import parse_boolean
from iocfeed.formats.stixbundle import records_from_objects
from iocfeed.indicators.merge import Outcome, Writer
from iocfeed.indicators.model import IndicatorInput, IocType, Rejected, Tlp
from iocfeed.indicators.normalize import RecordDefaults
from iocfeed.indicators.query import IndicatorQuery, Keyset, Page
from iocfeed.ingest import validate
from iocfeed.services import Services
from iocfeed.stix.ids import SDO_TYPE
from iocfeed.stix.markings import marking_id
from iocfeed.stix.objects import ExportOptions, Marked
from iocfeed.stix.sightings import report_objects
from iocfeed.stix.stored import StoredObject, StoredVersion, object_tlps, served_objects
from iocfeed.stix.timestamps import stix_timestamp
from iocfeed.taxii import collections, resources
from iocfeed.taxii.collections import Collection, FeedSource
from iocfeed.taxii.query import Endpoint, ObjectsRequest, Params
from iocfeed.taxii.references import DATE_ADDED as REFERENCE_DATE_ADDED
from iocfeed.taxii.references import Reference, fitted, reference_objects, selected
from iocfeed.taxii.status import StatusDetails, status_resource

OPTIONS = ExportOptions()
"""TAXII serves each version as the default export does: producer identity, one TLP marking."""

SOURCE = "taxii"
"""The source recorded for posted objects whose bundle names no author identity."""

STORED_TYPES = frozenset(SDO_TYPE.values())


@dataclass(frozen=True, slots=True)
class Reply:
    """A response body and its headers (``X-TAXII-Date-Added-First``/``-Last``)."""

    body: bytes
    headers: dict[str, str]
    objects: int = 0
    """How many STIX objects (or manifest records, versions) the body holds."""


class _Item(Marked, Protocol):
    """What a walk's page needs of each stored version, whether served or listed: its
    keyset and what decides its TLP."""

    @property
    def seq(self) -> int: ...

    @property
    def date_added(self) -> datetime: ...


_I = TypeVar("_I", bound=_Item)
_Reader = Callable[..., tuple[Page[_I], datetime]]


@dataclass(frozen=True, slots=True)
class _Selection(Generic[_I]):
    """One page of a walk: reference objects, then stored versions, and the next token."""

    references: list[Reference]
    items: list[_I]
    next_token: str | None

    @property
    def more(self) -> bool:
        return self.next_token is not None

    @property
    def empty(self) -> bool:
        return not self.references and not self.items

    def headers(self) -> dict[str, str]:
        first = REFERENCE_DATE_ADDED if self.references else None
        last = REFERENCE_DATE_ADDED if self.references else None
        if self.items:
            first = first or self.items[0].date_added
            last = self.items[-1].date_added
        return resources.date_added_headers(first, last)


class TaxiiService:
    """The TAXII operations over the store, for one app's services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.references = reference_objects(orjson.dumps(services.producer.identity()))

    # -- collections --------------------------------------------------------------------

    def collections(self) -> tuple[Collection, ...]:
        """Every collection: the fixed ones, then one per enabled source when configured."""
        return collections.listed(self._sources())

    def collection(self, collection_id: str) -> Collection:
        """The collection with this id or alias; a removed or disabled source's is gone.

        The sources are read only when the id names no fixed collection.
        """
        return collections.collection_by_id(collection_id, self._sources())

    def _sources(self) -> Iterator[FeedSource]:
        """The enabled sources when per-source collections are on, read when iterated."""
        if self.services.settings.taxii_collection_per_source:
            for name, kind in self.services.search.enabled_sources():
                yield FeedSource(name=name, kind=kind)

    # -- reads --------------------------------------------------------------------------

    def objects(self, request: ObjectsRequest, params: Params) -> Reply:
        """Get Objects (§5.4): an envelope of whole objects."""
        sightings = _include_sightings(params)
        page = self._select(request, params, Endpoint.OBJECTS, self._objects)
        return Reply(
            self._envelope(page, sightings=sightings),
            page.headers(),
            len(page.references) + len(page.items),
        )

    def object(self, request: ObjectsRequest, params: Params, object_id: str) -> Reply:
        """Get an Object (§5.6): its selected versions; 404 when the collection has none."""
        sightings = _include_sightings(params)
        page = self._select(request, params, Endpoint.OBJECT, self._objects)
        self._found(page, request, object_id)
        return Reply(
            self._envelope(page, sightings=sightings),
            page.headers(),
            len(page.references) + len(page.items),
        )

    def manifest(self, request: ObjectsRequest, params: Params) -> Reply:
        """Get Object Manifests (§5.3): one record per selected version."""
        page = self._select(request, params, Endpoint.MANIFEST, self._versions)
        records = [
            resources.manifest_record(
                id=reference.id, date_added=REFERENCE_DATE_ADDED, version=reference.version
            )
            for reference in page.references
        ]
        records += [
            resources.manifest_record(
                id=item.stix_id, date_added=item.date_added, version=stix_timestamp(item.modified)
            )
            for item in page.items
        ]
        body = resources.manifest(records, more=page.more, next_token=page.next_token)
        return Reply(orjson.dumps(body), page.headers(), len(records))

    def versions(self, request: ObjectsRequest, params: Params, object_id: str) -> Reply:
        """Get Object Versions (§5.8): the ``modified`` of each version, oldest first."""
        page = self._select(request, params, Endpoint.VERSIONS, self._versions)
        self._found(page, request, object_id)
        modified = [reference.version for reference in page.references]
        modified += [stix_timestamp(item.modified) for item in page.items]
        body = resources.versions(modified, more=page.more, next_token=page.next_token)
        return Reply(orjson.dumps(body), page.headers(), len(modified))

    @property
    def _objects(self) -> _Reader[StoredObject]:
        """Pages of objects read with their JSON, to serve."""
        return self.services.search.objects_in_added_order

    @property
    def _versions(self) -> _Reader[StoredVersion]:
        """Pages of versions read without their JSON, to list."""
        return self.services.search.versions_in_added_order

    def _select(
        self, request: ObjectsRequest, params: Params, endpoint: Endpoint, read: _Reader[_I]
    ) -> _Selection[_I]:
        references = selected(self.references, params, request, endpoint)
        if request.matches_nothing:
            return _Selection(references, [], None)
        page, as_of = read(
            self._snapshot_query(request),
            limit=request.limit,
            after=request.after,
            now=self.services.clock.now(),
        )
        # A first page carries the references within its limit (``taxii.references``).
        shown, kept = fitted(references, page.items, request.limit)
        items, position = page.items[:kept], page.next
        if kept < len(page.items):
            position = Keyset(items[-1].date_added, items[-1].seq)
        token = request.next_token(position, as_of)
        return _Selection(shown, items, token)

    @staticmethod
    def _snapshot_query(request: ObjectsRequest) -> IndicatorQuery:
        """The query to run: a walk's first page pins its snapshot at the newest version.

        The parser sets ``as_of`` to the request time, but the store's write clock can run
        a little ahead of the wall clock (a batch takes one microsecond per version), so a
        first page lets the store pin the snapshot at the last ``date_added`` it handed
        out; later pages keep the snapshot their token carries.
        """
        return replace(request.query, as_of=None) if request.after is None else request.query

    def _envelope(self, page: _Selection[StoredObject], *, sightings: bool = False) -> bytes:
        creator = self.services.producer.identity_id
        objects = [reference.json for reference in page.references]
        objects += served_objects(page.items, OPTIONS, creator)
        if sightings and page.items:
            objects += [orjson.dumps(obj) for obj in self._reports(page.items)]
        return resources.envelope_bytes(objects, page.more, page.next_token)

    def _reports(self, items: Sequence[StoredObject]) -> list[Any]:
        """The sightings and opinions of the page's indicators (``include_sightings``), after
        its objects: each once per page, however many versions of its indicator it holds."""
        built = self.services
        markings = {
            item.decode().stix_id: marking_id(tlp, OPTIONS.tlp_version)
            for item, tlp in zip(items, object_tlps(items, OPTIONS), strict=True)
        }
        reports = built.sightings.of(markings)
        named = frozenset(built.settings.sightings_named_accounts)
        return report_objects(reports, markings, built.producer.identity_id, named)

    @staticmethod
    def _found(page: _Selection[Any], request: ObjectsRequest, object_id: str) -> None:
        if page.empty and request.after is None:
            raise NotFound(f"No object {object_id!r} in this collection (or none you may read)")

    # -- writes -------------------------------------------------------------------------

    def add_objects(self, objects: Sequence[Any], *, key_id: str, max_tlp: Tlp) -> dict[str, Any]:
        """Add Objects (§5.5): import the posted objects, keep and return the status resource.

        ``max_tlp`` is the key's ceiling: an object whose indicator is stored above it
        changes nothing and is reported as the key's shadow of the value answers, exactly as
        had the value been new to the key, so the status never reveals that the value
        exists (``indicators.merge``).
        """
        now = self.services.clock.now()
        records = {record.line: record for record in records_from_objects(objects)}
        failures: list[StatusDetails] = []
        accepted: list[tuple[Mapping[str, Any], IndicatorInput]] = []
        defaults = RecordDefaults(source=SOURCE)
        screen = self.services.warninglists.screen()
        for number, obj in enumerate(objects, start=1):
            problem = _shape_problem(obj)
            if problem is not None:
                failures.append(_details(obj, problem))
                continue
            record = records.get(number)
            if record is None:
                failures.append(_details(obj, _not_stored(obj)))
                continue
            checked = next(validate([record], defaults, screen))
            if isinstance(checked, Rejected):
                failures.append(_details(obj, checked.reason))
                continue
            accepted.append((obj, checked))
        successes, withheld = self._write(accepted, now, Writer(key_id, max_tlp))
        self.services.audit.record(
            key_id=key_id,
            action="taxii.add_objects",
            parameters={"objects": len(objects), "withheld": withheld},
            result_count=len(successes) - withheld,
            now=now,
        )
        status = status_resource(
            id=str(uuid.uuid4()),
            request_timestamp=now,
            successes=successes,
            failures=failures,
        )
        self.services.statuses.save(status["id"], key_id, status, now)
        return status

    def _write(
        self,
        accepted: list[tuple[Mapping[str, Any], IndicatorInput]],
        now: datetime,
        writer: Writer,
    ) -> tuple[list[StatusDetails], int]:
        """Store the inputs, keeping posted ids for new indicators: one success each, and
        how many were withheld.

        An input withheld because its indicator is above the key's ceiling is reported as
        its merge into the key's shadow of the value: a first one as a fresh add (under the
        id it would have got, with the same message), a repeat as merged into that id.
        """
        search = self.services.search
        keep: list[int] = []
        plain: list[int] = []
        claimed: dict[str, tuple[IocType, str]] = {}
        for number, (obj, item) in enumerate(accepted):
            posted = str(obj["id"]).lower()
            owner = claimed.setdefault(posted, (item.type, item.value))
            if owner == (item.type, item.value) and _keepable(posted, item.type):
                stored = search.by_stix_id(posted)
                if stored is None or (stored.type, stored.value) == owner:
                    keep.append(number)
                    continue
            plain.append(number)
        order = plain + keep
        preferred = {
            (accepted[n][1].type, accepted[n][1].value): str(accepted[n][0]["id"]).lower()
            for n in keep
        }
        inputs = [accepted[n][1] for n in order]
        loaded = self.services.indicators.load(
            inputs, now, writer=writer, preferred_ids=preferred, submitted=True
        )
        shown: dict[int, tuple[Outcome, str | None]] = {}
        for position, number in enumerate(order):
            shadow = loaded.withheld.get(position)
            shown[number] = (
                (shadow.outcome, shadow.indicator.stix_id)
                if shadow is not None
                else (loaded.outcomes[position], None)
            )
        successes = []
        for number, (obj, item) in enumerate(accepted):
            outcome, stix_id = shown[number]
            if stix_id is None:
                current = search.current(item.type, item.value)
                stix_id = current.stix_id if current is not None else None
            successes.append(_details(obj, _success_message(obj, outcome, stix_id)))
        return successes, len(loaded.withheld)

    def delete(self, object_id: str, *, max_tlp: Tlp) -> None:
        """Delete an Object (§5.7) by revoking it: a SIEM that polls drops it (SPEC §1).

        Removing rows would leave every consumer matching on its last copy for ever; a
        revoked version is what tells them to stop. Revoking twice changes nothing.
        """
        if any(reference.id == object_id.lower() for reference in self.references):
            raise Forbidden(
                f"{object_id} is published by this server and cannot be deleted",
                scope="write:iocs",
            )
        found = self.services.search.by_stix_id(object_id.lower())
        if found is None or found.effective_tlp > max_tlp:
            raise NotFound(f"No object {object_id!r} in this collection")
        self.services.indicators.revoke(found.type, found.value, self.services.clock.now())

    def status(self, status_id: str, *, key_id: str) -> dict[str, Any]:
        """Get Status (§4.3): only the key that made the request may read it."""
        found = self.services.statuses.find(status_id.lower(), key_id)
        if found is None:
            raise NotFound(f"No status {status_id!r}")
        return found


def _include_sightings(params: Params) -> bool:
    """The ``include_sightings`` switch (not TAXII's own: iocfeed's, as on the export)."""
    values = params.get("include_sightings") or []
    return parse_boolean(values[-1] if values else None, "include_sightings", default=False)


def _shape_problem(obj: Any) -> str | None:
    """What makes a posted item not a STIX 2.1 object at all, if anything."""
    if not isinstance(obj, Mapping):
        return "not a JSON object"
    kind, object_id = obj.get("type"), obj.get("id")
    if not isinstance(kind, str) or not kind:
        return "a STIX object needs a type"
    if not isinstance(object_id, str) or not object_id.startswith(f"{kind}--"):
        return f"a STIX object needs an id of the form {kind}--<UUID>"
    try:
        uuid.UUID(object_id[len(kind) + 2 :])
    except ValueError:
        return f"id {object_id[:120]!r} does not end in a UUID"
    if obj.get("spec_version", "2.0") not in ("2.0", "2.1"):
        return f"spec_version {obj.get('spec_version')!r} is not a STIX version read here"
    return None


def _not_stored(obj: Mapping[str, Any]) -> str:
    kind = obj.get("type")
    if kind in STORED_TYPES:
        return (
            f"a {kind} is stored only with a cve (vulnerability) or mitre-attack "
            "(attack-pattern) external reference"
        )
    return (
        f"{kind} objects are not stored; only indicator, vulnerability and attack-pattern "
        "objects are (markings, identities and relationships in the same request are read "
        "for TLP, source and techniques)"
    )


def _success_message(obj: Mapping[str, Any], outcome: Outcome, stix_id: str | None) -> str | None:
    """Where a stored item went, when that is not under the id it was posted with."""
    if stix_id is None or stix_id == str(obj["id"]).lower():
        return None
    if outcome is Outcome.ADDED:
        return f"stored as {stix_id}"
    return f"merged into {stix_id} (this value was already known)"


def _details(obj: Any, message: str | None) -> StatusDetails:
    """The status-details entry of one posted item (§4.3.1)."""
    if not isinstance(obj, Mapping):
        return StatusDetails(id="", version="", message=message)
    object_id = obj.get("id")
    version = obj.get("modified") or obj.get("created")
    return StatusDetails(
        id=object_id if isinstance(object_id, str) else "",
        version=version if isinstance(version, str) else "",
        message=message,
    )


def _keepable(posted: str, ioc_type: IocType) -> bool:
    """A producer's id can be kept when it is a UUIDv4 id of the SDO type we publish."""
    kind, _, raw = posted.partition("--")
    if kind != SDO_TYPE[ioc_type]:
        return False
    try:
        return uuid.UUID(raw).version == 4
    except ValueError:
        return False
