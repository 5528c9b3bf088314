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
them: the ETag is SHA-256 over the rows' ids, ``modified`` and ``last_seen`` (observed-data
shows ``last_seen``, which the store updates in place), whether each row is withdrawn at the
time of the export (revoked or expired rows ship no observables), the options, the producer and
:data:`EXPORT_FORMAT_VERSION`. Nothing else goes into the output, so equal ETags mean
equal bytes: the bundle id is derived from the same digest, which keeps a re-download of
unchanged data byte for byte identical and the ETag honestly strong. A caller holding the
ETag learns "not modified" without a single object being built.

Objects are built and serialised only when :meth:`ExportResult.chunks` is iterated, a
hundred at a time, so memory is bounded by ``limit`` rows plus one chunk.
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
from iocfeed.indicators.model import Indicator, IocType, Tlp
from iocfeed.indicators.query import IndicatorQuery, clamp_to_lookback
from iocfeed.lifecycle.sightings import Report
from iocfeed.parameters import parse_limit, parse_time, parse_types
from iocfeed.stix.bundle import build_objects, serialize_bundle, serialize_objects
from iocfeed.stix.ids import derived_id
from iocfeed.stix.markings import TLP_VERSIONS
from iocfeed.stix.objects import ExportOptions, Producer, StixObject
from iocfeed.store.search import IndicatorSearch

DEFAULT_LIMIT = 500  # SPEC §2
MAX_LIMIT = 1000  # SPEC §2: "above 1000 is a 400 error naming the cap"

# Bumped whenever the same rows and options would serialise differently (a change to the
# STIX builders), so that no client keeps a stale copy on a 304.
EXPORT_FORMAT_VERSION = "2"

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
            "include_sightings": self.options.include_sightings,
        }


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


def parse_tlp(raw: str | Tlp | None) -> Tlp | None:
    """``tlp``: clear, green, amber, amber+strict or red; ``None`` keeps the default."""
    if isinstance(raw, Tlp):
        return raw
    if raw is None or not raw.strip():
        return None
    level = _TLP_WORDS.get(raw.strip().lower())
    if level is None:
        raise InvalidQuery(f"tlp must be one of {TLP_NAMES}, got {raw[:64]!r}", parameter="tlp")
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
    include_sightings: bool | str | None = None,
    max_limit: int = MAX_LIMIT,
) -> ExportRequest:
    """The export the parameters of SPEC §2 ask for; each takes its documented text or value.

    Raises InvalidQuery (or LimitExceeded for ``limit`` over ``max_limit``) naming the
    first parameter that cannot be used.
    """
    return ExportRequest(
        types=parse_types(type),
        since=parse_time(since, "since"),
        sources=parse_sources(source),
        limit=parse_limit(limit, default=DEFAULT_LIMIT, maximum=max_limit),
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
    )


@dataclass(frozen=True, slots=True)
class ExportResult:
    """One export's rows and fingerprint; its objects are built only when iterated."""

    request: ExportRequest
    producer: Producer
    effective_since: datetime | None
    indicators: Sequence[Indicator]
    etag: str
    """Hex SHA-256 of everything the output is made of (see the module docstring)."""
    now: datetime
    """When the export was made: indicators past ``valid_until`` then ship no observables."""
    reports: Sequence[Report] = ()
    """With ``include_sightings``: the sightings reported on the exported indicators."""
    named: frozenset[str] = frozenset()
    """Accounts named in their sightings; every other account's are anonymous."""

    @property
    def count(self) -> int:
        """How many IOCs the export holds (one SDO each)."""
        return len(self.indicators)

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
        objects = self.objects()
        if self.request.format is ExportFormat.OBJECTS:
            return serialize_objects(objects)
        return serialize_bundle(objects, self.bundle_id)


def fingerprint(
    indicators: Sequence[Indicator],
    request: ExportRequest,
    producer: Producer,
    now: datetime,
    *,
    reports: Sequence[Report] = (),
    named: frozenset[str] = frozenset(),
) -> str:
    """The strong ETag of an export made at ``now``: hex SHA-256 over what its bytes are
    made of, including which rows are withdrawn (they ship without observables).

    orjson writes each datetime exactly (to the microsecond), and fast: the whole
    fingerprint of a thousand rows costs about a quarter of a millisecond.
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
        producer.identity_id,
        producer.name,
        producer.identity_class,
        producer.created,
    )
    rows = [(row.stix_id, row.modified, row.last_seen, row.withdrawn(now)) for row in indicators]
    if not options.include_sightings:
        return hashlib.sha256(orjson.dumps([head, rows])).hexdigest()
    # Reports never change once stored; which exist, and who is named, is what can.
    sightings = [report.object_id for report in reports]
    return hashlib.sha256(orjson.dumps([head, rows, sightings, sorted(named)])).hexdigest()


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
    effective_since = clamp_to_lookback(request.since, lookback_start)
    query = IndicatorQuery(
        types=request.types,
        modified_since=effective_since,
        sources=request.sources,
        max_tlp=max_tlp,
    )
    page = search.newest_first(query, limit=request.limit, after=None, now=now)
    reports: Sequence[Report] = ()
    if request.options.include_sightings and reports_of is not None:
        reports = reports_of(item.stix_id for item in page.items)
    return ExportResult(
        request=request,
        producer=producer,
        effective_since=effective_since,
        indicators=page.items,
        etag=fingerprint(page.items, request, producer, now, reports=reports, named=named),
        now=now,
        reports=reports,
        named=named,
    )
