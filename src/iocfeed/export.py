"""The STIX 2.1 export use case (SPEC §2), shared by ``GET /api/v1/export/stix``, ``iocfeed
export`` and the tests: parameters in, one keyset read, a strong ETag, streamed JSON out.

Theory of operation
-------------------
``parse_export_request`` turns the parameters, as the endpoint or the command line got
them, into an :class:`ExportRequest`; every rule about them (names, ranges, the limit's
cap) is said here once, as :class:`~iocfeed.errors.InvalidQuery` or
:class:`~iocfeed.errors.LimitExceeded` naming the parameter.

``run_export`` applies the caller's plan (lookback clamp, highest TLP), reads at most
``limit`` latest versions newest ``modified`` first in one indexed query, and fingerprints
them: the ETag is SHA-256 over the rows' numbers (each names one version, and a version's
stored JSON never changes), the options, the producer and :data:`EXPORT_FORMAT_VERSION`;
with observables also each row's ``last_seen`` (observed-data shows it, and the store
updates it in place) and whether it is withdrawn at the time of the export (revoked or
expired rows ship no observables). Nothing else goes into the output, so equal ETags mean
equal bytes: the bundle id is derived from the same digest, which keeps a re-download of
unchanged data byte for byte identical and the ETag honestly strong. A caller holding the
ETag learns "not modified" without a single object being built.

Output is made only when :meth:`ExportResult.chunks` is iterated, a hundred objects at a
time, from each version's JSON stored when it was written (``stix.stored``), so memory is
bounded by ``limit`` rows plus one chunk.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import Confidence, Indicator, IocType, Tlp
from iocfeed.indicators.query import IndicatorQuery, clamp_to_lookback
from iocfeed.lifecycle.sightings import Report
from iocfeed.parameters import parse_limit, parse_time, parse_types
from iocfeed.stix.bundle import build_objects, join_array, join_bundle, stored_object_chunks
from iocfeed.stix.ids import derived_id
from iocfeed.stix.markings import TLP_VERSIONS
from iocfeed.stix.objects import ExportOptions, Producer, StixObject
from iocfeed.stix.stored import StoredObject
from iocfeed.store.search import IndicatorSearch

DEFAULT_LIMIT = 500  # SPEC §2
MAX_LIMIT = 1000  # SPEC §2: "above 1000 is a 400 error naming the cap"

# Bumped whenever the same rows and options would serialise differently (a change to the
# STIX builders), so that no client keeps a stale copy on a 304.
EXPORT_FORMAT_VERSION = "3"

MEDIA_TYPE = "application/stix+json;version=2.1"


class ExportFormat(enum.StrEnum):
    """SPEC §2 ``format``: a STIX Bundle, or the bare JSON array of its objects."""

    BUNDLE = "bundle"
    OBJECTS = "objects"


FORMAT_NAMES = ", ".join(kind.value for kind in ExportFormat)
TLP_NAMES = ", ".join(level.value for level in Tlp)

# ``+`` in a query string is a space, so ``tlp=amber+strict`` typed into a URL arrives as
# "amber strict"; both spellings mean the same level.
_TLP_WORDS: dict[str, Tlp] = {
    **{level.value: level for level in Tlp},
    "amber strict": Tlp.AMBER_STRICT,
}
_BOOLEAN_WORDS: dict[str, bool] = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What one export asks for, every value already checked (SPEC §2)."""

    types: frozenset[IocType] = frozenset()
    since: datetime | None = None
    sources: frozenset[str] = frozenset()
    """Only indicators any of these sources reported (empty: every indicator)."""
    limit: int = DEFAULT_LIMIT
    format: ExportFormat = ExportFormat.BUNDLE
    options: ExportOptions = field(default_factory=ExportOptions)
    tag: str | None = None
    """Only indicators carrying this tag."""
    min_confidence: Confidence | None = None
    """Only indicators of this confidence or higher."""
    max_tlp: Tlp | None = None
    """Only indicators whose own TLP is at most this (below the plan's highest TLP)."""

    include_flagged: bool = False
    """Also export indicators a warninglist flagged (left out by default)."""

    def query(self, *, plan_max_tlp: Tlp, lookback_start: datetime | None) -> IndicatorQuery:
        """The store query for a caller who may see up to ``plan_max_tlp`` back to
        ``lookback_start`` (SPEC §4): ``since`` clamped, the lower TLP ceiling wins."""
        ceiling = plan_max_tlp if self.max_tlp is None else min(plan_max_tlp, self.max_tlp)
        return IndicatorQuery(
            types=self.types,
            modified_since=clamp_to_lookback(self.since, lookback_start),
            sources=self.sources,
            tag=self.tag,
            confidences=CONFIDENCE_FLOORS[self.min_confidence]
            if self.min_confidence
            else frozenset(),
            max_tlp=ceiling,
            include_flagged=self.include_flagged,
        )

    def parameters(self) -> dict[str, Any]:
        """The request as plain JSON values, for the audit trail."""
        return {
            "type": sorted(kind.value for kind in self.types),
            "since": self.since.isoformat() if self.since is not None else None,
            "source": sorted(self.sources),
            "limit": self.limit,
            "format": self.format.value,
            "include_identity": self.options.include_identity,
            "include_markings": self.options.include_markings,
            "tlp": self.options.tlp.value if self.options.tlp is not None else None,
            "tlp_version": self.options.tlp_version,
            "include_observables": self.options.include_observables,
            "tag": self.tag,
            "min_confidence": self.min_confidence.value if self.min_confidence else None,
            "max_tlp": self.max_tlp.value if self.max_tlp else None,
            "include_flagged": self.include_flagged,
            "include_sightings": self.options.include_sightings,
        }


# ``min_confidence``: the levels at or above each floor.
CONFIDENCE_FLOORS: dict[Confidence, frozenset[Confidence]] = {
    Confidence.LOW: frozenset(Confidence),
    Confidence.MEDIUM: frozenset({Confidence.MEDIUM, Confidence.HIGH}),
    Confidence.HIGH: frozenset({Confidence.HIGH}),
}
CONFIDENCE_NAMES = ", ".join(level.value for level in Confidence)
MAX_TAG_LENGTH = 200

MAX_SOURCES = 50
MAX_SOURCE_LENGTH = 200


def parse_sources(raw: str | Sequence[str] | None) -> frozenset[str]:
    """``source``, repeatable: source names, each matched exactly."""
    if raw is None:
        return frozenset()
    names = [raw] if isinstance(raw, str) else list(raw)
    if len(names) > MAX_SOURCES:
        raise InvalidQuery(
            f"source may be given at most {MAX_SOURCES} times, got {len(names)}",
            parameter="source",
        )
    for name in names:
        if "\x00" in name:  # cannot be stored, so cannot match (and PostgreSQL refuses it)
            raise InvalidQuery("source must not contain NUL (%00)", parameter="source")
        if not name.strip() or len(name) > MAX_SOURCE_LENGTH:
            raise InvalidQuery(
                f"source must be a source name of 1 to {MAX_SOURCE_LENGTH} characters, "
                f"got {name[:64]!r}",
                parameter="source",
            )
    return frozenset(name.strip() for name in names)


def parse_tag(raw: str | None) -> str | None:
    """``tag``: one tag, matched exactly (tags are stored lower-cased)."""
    if raw is None or not raw.strip():
        return None
    if "\x00" in raw or len(raw) > MAX_TAG_LENGTH:
        raise InvalidQuery(
            f"tag must be 1 to {MAX_TAG_LENGTH} characters without NUL", parameter="tag"
        )
    return raw.strip().lower()


def parse_min_confidence(raw: str | Confidence | None) -> Confidence | None:
    """``min_confidence``: low, medium or high; that level and the ones above it."""
    if isinstance(raw, Confidence):
        return raw
    if raw is None or not raw.strip():
        return None
    try:
        return Confidence(raw.strip().lower())
    except ValueError:
        raise InvalidQuery(
            f"min_confidence must be one of {CONFIDENCE_NAMES}, got {raw[:64]!r}",
            parameter="min_confidence",
        ) from None


def parse_format(raw: str | ExportFormat | None) -> ExportFormat:
    """``format``: ``bundle`` (default) or ``objects``."""
    if raw is None or not raw.strip():
        return ExportFormat.BUNDLE
    try:
        return ExportFormat(raw.strip().lower())
    except ValueError:
        raise InvalidQuery(
            f"format must be one of {FORMAT_NAMES}, got {raw[:64]!r}", parameter="format"
        ) from None


def parse_tlp(raw: str | Tlp | None, parameter: str = "tlp") -> Tlp | None:
    """``tlp`` (or ``max_tlp``): clear, green, amber, amber+strict or red; ``None`` when
    absent."""
    if isinstance(raw, Tlp):
        return raw
    if raw is None or not raw.strip():
        return None
    level = _TLP_WORDS.get(raw.strip().lower())
    if level is None:
        raise InvalidQuery(
            f"{parameter} must be one of {TLP_NAMES}, got {raw[:64]!r}", parameter=parameter
        )
    return level


def parse_tlp_version(raw: int | str | None) -> int:
    """``tlp_version``: 2 (TLP 2.0, default) or 1 (TLP 1.0 marking definitions)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 2
    try:
        version = int(raw)
    except ValueError:
        version = None
    if version not in TLP_VERSIONS:
        raise InvalidQuery(f"tlp_version must be 1 or 2, got {raw!r}", parameter="tlp_version")
    return version


def parse_boolean(raw: bool | str | None, parameter: str, *, default: bool) -> bool:
    """A ``true``/``false`` switch."""
    if isinstance(raw, bool):
        return raw
    if raw is None or not raw.strip():
        return default
    value = _BOOLEAN_WORDS.get(raw.strip().lower())
    if value is None:
        raise InvalidQuery(
            f"{parameter} must be true or false, got {raw[:64]!r}", parameter=parameter
        )
    return value


def parse_export_request(
    *,
    type: str | Sequence[str] | None = None,
    since: str | datetime | None = None,
    source: str | Sequence[str] | None = None,
    limit: int | str | None = None,
    format: str | ExportFormat | None = None,
    include_identity: bool | str | None = None,
    include_markings: bool | str | None = None,
    tlp: str | Tlp | None = None,
    tlp_version: int | str | None = None,
    include_observables: bool | str | None = None,
    tag: str | None = None,
    min_confidence: str | Confidence | None = None,
    max_tlp: str | Tlp | None = None,
    include_flagged: bool | str | None = None,
    include_sightings: bool | str | None = None,
    max_limit: int = MAX_LIMIT,
    default_limit: int = DEFAULT_LIMIT,
) -> ExportRequest:
    """The export the parameters of SPEC §2 ask for; each takes its documented text or value.

    Raises InvalidQuery (or LimitExceeded for ``limit`` over ``max_limit``) naming the
    first parameter that cannot be used.
    """
    return ExportRequest(
        types=parse_types(type),
        since=parse_time(since, "since"),
        sources=parse_sources(source),
        limit=parse_limit(limit, default=default_limit, maximum=max_limit),
        format=parse_format(format),
        options=ExportOptions(
            include_identity=parse_boolean(include_identity, "include_identity", default=True),
            include_markings=parse_boolean(include_markings, "include_markings", default=True),
            tlp=parse_tlp(tlp),
            tlp_version=parse_tlp_version(tlp_version),
            include_observables=parse_boolean(
                include_observables, "include_observables", default=False
            ),
            include_sightings=parse_boolean(include_sightings, "include_sightings", default=False),
        ),
        tag=parse_tag(tag),
        min_confidence=parse_min_confidence(min_confidence),
        max_tlp=parse_tlp(max_tlp, "max_tlp"),
        include_flagged=parse_boolean(include_flagged, "include_flagged", default=False),
    )


@dataclass(frozen=True, slots=True)
class ExportResult:
    """One export's rows and fingerprint; its objects are built only when iterated."""

    request: ExportRequest
    producer: Producer
    effective_since: datetime | None
    rows: Sequence[StoredObject]
    etag: str
    """Hex SHA-256 of everything the output is made of (see the module docstring)."""
    now: datetime
    """When the export was made: indicators past ``valid_until`` then ship no observables."""
    reports: Sequence[Report] = ()
    """With ``include_sightings``: the sightings reported on the exported indicators."""
    named: frozenset[str] = frozenset()
    """Accounts named in their sightings; every other account's are anonymous."""

    @property
    def indicators(self) -> list[Indicator]:
        """The export's versions, decoded from their rows."""
        return [row.decode() for row in self.rows]

    @property
    def count(self) -> int:
        """How many IOCs the export holds (one SDO each)."""
        return len(self.rows)

    @property
    def bundle_id(self) -> str:
        """``bundle--<uuid4 shape>`` derived from the ETag: same content, same bytes."""
        return derived_id("bundle", self.etag)

    def objects(self) -> list[StixObject]:
        """Every STIX object of the export, in SPEC §2 order."""
        return build_objects(
            self.indicators,
            self.request.options,
            self.producer,
            now=self.now,
            reports=self.reports,
            named=self.named,
        )

    def chunks(self) -> Iterator[bytes]:
        """The export's JSON, a hundred objects per chunk (bundle or bare array)."""
        chunks = stored_object_chunks(
            self.rows,
            self.request.options,
            self.producer,
            now=self.now,
            reports=self.reports,
            named=self.named,
        )
        if self.request.format is ExportFormat.OBJECTS:
            return join_array(chunks)
        return join_bundle(chunks, self.bundle_id)


def fingerprint(
    rows: Sequence[StoredObject],
    request: ExportRequest,
    producer: Producer,
    now: datetime,
    *,
    reports: Sequence[Report] = (),
    named: frozenset[str] = frozenset(),
) -> str:
    """The strong ETag of an export made at ``now``: hex SHA-256 over what its bytes are
    made of, including which rows are withdrawn (they ship without observables).

    orjson writes each datetime exactly (to the microsecond), and fast: the fingerprint of a
    thousand rows costs about a tenth of a millisecond (plus their decoding with
    observables).
    """
    options = request.options
    head = (
        EXPORT_FORMAT_VERSION,
        request.format.value,
        options.include_identity,
        options.include_markings,
        options.tlp,
        options.tlp_version,
        options.include_observables,
        request.include_flagged,
        producer.identity_id,
        producer.name,
        producer.identity_class,
        producer.created,
    )
    parts: list[object] = [row.seq for row in rows]
    if options.include_observables:
        # Observables show ``last_seen`` and leave out withdrawn versions, so they need the
        # whole versions (decoded once per page, the same ones the objects are built from).
        decoded = [(row.seq, row.decode()) for row in rows]
        parts = [(seq, i.last_seen, i.withdrawn(now)) for seq, i in decoded]
    if not options.include_sightings:
        return hashlib.sha256(orjson.dumps([head, parts])).hexdigest()
    # Reports never change once stored; which exist, and who is named, is what can.
    sightings = [report.object_id for report in reports]
    return hashlib.sha256(orjson.dumps([head, parts, sightings, sorted(named)])).hexdigest()


def run_export(
    request: ExportRequest,
    search: IndicatorSearch,
    producer: Producer,
    *,
    max_tlp: Tlp,
    lookback_start: datetime | None,
    now: datetime,
    reports_of: Callable[[Iterable[str]], Sequence[Report]] | None = None,
    named: frozenset[str] = frozenset(),
) -> ExportResult:
    """Read the export's rows for a caller who may see up to ``max_tlp`` back to
    ``lookback_start`` (SPEC §4), and fingerprint them; nothing is built yet.

    With ``include_sightings``, ``reports_of`` reads the sightings of the exported
    indicators (at most a bounded number); accounts in ``named`` are named in them."""
    query = request.query(plan_max_tlp=max_tlp, lookback_start=lookback_start)
    effective_since = query.modified_since
    page = search.objects_newest_first(query, limit=request.limit, after=None, now=now)
    reports: Sequence[Report] = ()
    if request.options.include_sightings and reports_of is not None:
        reports = reports_of(item.decode().stix_id for item in page.items)
    return ExportResult(
        request=request,
        producer=producer,
        effective_since=effective_since,
        rows=page.items,
        etag=fingerprint(page.items, request, producer, now, reports=reports, named=named),
        now=now,
        reports=reports,
        named=named,
    )
