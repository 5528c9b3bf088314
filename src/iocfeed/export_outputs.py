"""The formats out beside STIX (``GET /api/v1/export/{format}``, ``iocfeed export
--format``): the export's own parameters and plan rules, one list read, a strong ETag.

Theory of operation
-------------------
The request is parsed by ``iocfeed.export.parse_export_request`` (the STIX export's rules
for ``type``, ``since``, ``source``, ``tag``, ``min_confidence``, ``max_tlp``,
``include_flagged``, ``tlp`` and ``limit``) with the format's cap: a list is a whole
list, so ``limit`` defaults to the smaller of the format's cap and the plan's
``max_list_entries``. Format options (txt ``flavor``, csv ``lookup``, rpz ``zone``, misp
``group``, ``comments``) are parsed here.

:func:`run_output` pins a snapshot (the store's newest ``date_added``), then reads a
fingerprint of the rows (one narrow query: row numbers, in-place columns, count, newest
``date_added``): the ETag is SHA-256 over it, the options and :data:`OUTPUT_VERSION`, so a
caller holding it learns "not modified" before any row is decoded. The body is written
only when :meth:`OutputResult.chunks` is iterated, reading the same snapshot in keyset
batches: memory stays flat whatever the list's length. Lists hold what is live at the
time of the export (revoked and expired indicators leave them); MISP events keep them as
deleted attributes so that a subscribed MISP drops them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import orjson

from iocfeed.config import Settings
from iocfeed.errors import InvalidQuery, LimitExceeded, NotFound
from iocfeed.export import ExportRequest, parse_boolean, parse_export_request
from iocfeed.indicators.model import Indicator, IocType, Tlp
from iocfeed.indicators.query import IndicatorQuery, Status
from iocfeed.outputs import csvfile, hosts, misp, rpz, suricata, text
from iocfeed.outputs.catalogue import SPECS, OutputFormat
from iocfeed.outputs.listing import Listing
from iocfeed.stix.objects import Producer
from iocfeed.store.search import IndicatorSearch, ValueRow

# The formats that show what a version changes in place (``last_seen``, ``source``).
IN_PLACE = frozenset({OutputFormat.CSV, OutputFormat.MISP})

# Bumped whenever the same rows and options would be written differently.
OUTPUT_VERSION = "1"


class MispPart:
    """The documents of a MISP feed."""

    MANIFEST = "manifest.json"
    HASHES = "hashes.csv"


@dataclass(frozen=True, slots=True)
class OutputOptions:
    """The format's own options, already checked."""

    flavor: text.Flavor = text.Flavor.PLAIN
    comments: bool = False
    lookup: csvfile.Lookup = csvfile.Lookup.GENERIC
    zone: str = "rpz.iocfeed.local"
    group: misp.Grouping = misp.Grouping.DAY
    part: str = MispPart.MANIFEST
    """MISP: ``manifest.json``, ``hashes.csv`` or ``<event uuid>.json``."""


@dataclass(frozen=True, slots=True)
class OutputRequest:
    format: OutputFormat
    export: ExportRequest
    options: OutputOptions

    def parameters(self) -> dict[str, object]:
        """The request as plain JSON values, for the audit trail."""
        chosen = self.options
        return {
            **self.export.parameters(),
            "format": self.format.value,
            "flavor": chosen.flavor.value,
            "comments": chosen.comments,
            "lookup": chosen.lookup.value,
            "zone": chosen.zone,
            "group": chosen.group.value,
            "part": chosen.part,
        }


@dataclass(frozen=True, slots=True)
class ListSettings:
    """The operator's settings the writers need."""

    rpz: rpz.ZoneSettings
    sids: suricata.SidRange


def list_settings(settings: Settings) -> ListSettings:
    """The writers' settings from the operator's."""
    return ListSettings(
        rpz=rpz.ZoneSettings(name=settings.rpz_zone, refresh=settings.rpz_refresh_seconds),
        sids=suricata.SidRange(settings.suricata_sid_start, settings.suricata_sid_end),
    )


def list_cap(format: OutputFormat, plan_entries: int | None) -> int:
    """The most indicators one download of ``format`` may hold for a plan."""
    cap = SPECS[format].max_limit
    return cap if plan_entries is None else min(cap, plan_entries)


def parse_output_request(
    format: OutputFormat,
    *,
    plan_entries: int | None,
    rpz_zone: str,
    flavor: str | None = None,
    comments: bool | str | None = None,
    lookup: str | None = None,
    zone: str | None = None,
    group: str | None = None,
    part: str | None = None,
    type: str | Sequence[str] | None = None,
    since: str | datetime | None = None,
    source: str | Sequence[str] | None = None,
    limit: int | str | None = None,
    tag: str | None = None,
    min_confidence: str | None = None,
    max_tlp: str | None = None,
    include_flagged: bool | str | None = None,
    tlp: str | None = None,
) -> OutputRequest:
    """The download the parameters ask for; InvalidQuery or LimitExceeded naming the first
    parameter that cannot be used."""
    cap = list_cap(format, plan_entries)
    try:
        asked = parse_export_request(
            type=type,
            since=since,
            source=source,
            limit=limit,
            tag=tag,
            min_confidence=min_confidence,
            max_tlp=max_tlp,
            include_flagged=include_flagged,
            tlp=tlp,
            max_limit=cap,
            default_limit=cap,
        )
    except LimitExceeded as error:
        own = f"the {format.value} export holds at most {SPECS[format].max_limit} indicators"
        if plan_entries is not None and plan_entries < SPECS[format].max_limit:
            own += f", and your plan's lists at most {plan_entries}"
        raise LimitExceeded(f"{error.message}: {own}", parameter="limit") from None
    options = OutputOptions(
        flavor=text.parse_flavor(flavor),
        comments=parse_boolean(comments, "comments", default=False),
        lookup=csvfile.parse_lookup(lookup),
        zone=rpz.parse_zone(zone, rpz_zone),
        group=misp.parse_grouping(group),
        part=part or MispPart.MANIFEST,
    )
    types = _types(format, asked.types, options)
    return OutputRequest(format, replace(asked, types=types), options)


def _types(
    format: OutputFormat, types: frozenset[IocType], options: OutputOptions
) -> frozenset[IocType]:
    """The types the download holds: the asked ones, which the format must be able to hold,
    else every type it can."""
    if format is OutputFormat.TXT:
        text.check_types(types, options.flavor, comments=options.comments)
        return types
    if format is OutputFormat.CSV:
        return csvfile.check_types(types, options.lookup)
    allowed = SPECS[format].types
    outside = sorted(kind.value for kind in types - allowed)
    if outside:
        raise InvalidQuery(
            f"the {format.value} export cannot hold {', '.join(outside)}; it holds "
            + ", ".join(sorted(kind.value for kind in allowed)),
            parameter="type",
        )
    return types or allowed


@dataclass(frozen=True, slots=True)
class OutputResult:
    """One download's fingerprint; its body is read and written only when iterated."""

    request: OutputRequest
    query: IndicatorQuery
    listing: Listing
    etag: str
    search: IndicatorSearch
    settings: ListSettings
    producer_id: str
    now: datetime

    @property
    def count(self) -> int:
        return self.listing.count

    @property
    def effective_since(self) -> datetime | None:
        return self.query.modified_since

    @property
    def media_type(self) -> str:
        if (
            self.request.format is OutputFormat.MISP
            and self.request.options.part == MispPart.HASHES
        ):
            return "text/csv; charset=utf-8"
        return SPECS[self.request.format].media_type

    def filename(self) -> str:
        """``iocfeed-<UTC timestamp>.<extension>``, or the MISP feed document's own name."""
        if self.request.format is OutputFormat.MISP:
            return self.request.options.part
        stamp = f"{self.now:%Y%m%dT%H%M%SZ}"
        return f"iocfeed-{stamp}.{SPECS[self.request.format].extension}"

    def _rows(self) -> Iterator[Indicator]:
        return self.search.stream_newest_first(
            self.query, limit=self.request.export.limit, now=self.now
        )

    def _values(self) -> Iterator[ValueRow]:
        return self.search.stream_values(self.query, limit=self.request.export.limit, now=self.now)

    def chunks(self) -> Iterator[bytes]:
        """The body, a few thousand lines per chunk."""
        request, listing = self.request, self.listing
        options = request.options
        fmt = request.format
        if fmt is OutputFormat.TXT:
            return text.render(self._values(), listing, options.flavor, comments=options.comments)
        if fmt is OutputFormat.HOSTS:
            return hosts.render(self._values(), listing, comments=options.comments)
        if fmt is OutputFormat.CSV:
            return csvfile.render(self._rows(), listing, options.lookup)
        if fmt is OutputFormat.RPZ:
            zone = replace(self.settings.rpz, name=options.zone)
            return rpz.render(self._values(), listing, zone)
        if fmt is OutputFormat.SURICATA:
            numbered = (
                suricata.Numbered(indicator, number, version)
                for indicator, number, version in self.search.stream_numbered(
                    self.query, limit=request.export.limit, now=self.now
                )
            )
            return suricata.render(numbered, listing, self.settings.sids, request.export.types)
        return self._misp()

    def event_ids(self) -> list[str]:
        """MISP: the uuid of every event of the feed (one pass over the rows)."""
        options = self.request.options
        return sorted(misp.summarise(self._rows(), self.listing, options.group, self.producer_id))

    def _misp(self) -> Iterator[bytes]:
        options = self.request.options
        if options.part == MispPart.HASHES:
            return misp.hashes(self._rows(), options.group, self.producer_id)
        events = misp.summarise(self._rows(), self.listing, options.group, self.producer_id)
        if options.part == MispPart.MANIFEST:
            document = misp.manifest(events.values(), self.listing, options.group, self.producer_id)
            return iter([document])
        summary = events.get(options.part.removesuffix(".json"))
        if summary is None:
            raise NotFound(f"No MISP event {options.part} in this feed")
        return misp.event(summary, self._rows(), self.listing, options.group, self.producer_id)


def run_output(
    request: OutputRequest,
    search: IndicatorSearch,
    producer: Producer,
    settings: ListSettings,
    *,
    max_tlp: Tlp,
    lookback_start: datetime | None,
    now: datetime,
) -> OutputResult:
    """Pin a snapshot and fingerprint the download for a caller who may see up to
    ``max_tlp`` back to ``lookback_start`` (SPEC §4); nothing is written yet."""
    query = request.export.query(plan_max_tlp=max_tlp, lookback_start=lookback_start)
    live = None if request.format is OutputFormat.MISP else Status.ACTIVE
    query = replace(query, status=live, as_of=search.last_added())
    rows, count, newest = search.list_fingerprint(
        query, limit=request.export.limit, now=now, in_place=request.format in IN_PLACE
    )
    listing = Listing(
        generated=now,
        count=count,
        newest=newest,
        producer=producer.name,
        tlp=request.export.options.tlp,
    )
    options = request.options
    head = [
        OUTPUT_VERSION,
        request.format.value,
        sorted(kind.value for kind in request.export.types),
        options.flavor.value,
        options.comments,
        options.lookup.value,
        options.zone,
        options.group.value,
        options.part,
        listing.tlp.value if listing.tlp else None,
        producer.name,
        producer.identity_id,
        settings.rpz.refresh,
        settings.sids.start,
        settings.sids.end,
        # The header comments show the time of the export: no two such downloads are equal.
        now.isoformat() if options.comments else None,
    ]
    etag = hashlib.sha256(orjson.dumps([head, rows])).hexdigest()
    return OutputResult(request, query, listing, etag, search, settings, producer.identity_id, now)
