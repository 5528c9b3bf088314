"""``GET /api/v1/export/{txt,csv,suricata,rpz,misp,hosts}``: lists for firewalls, resolvers,
IDSs, Splunk ES and MISP (SPEC §5, §7), with the STIX export's parameters and plan rules.

Handlers parse (``iocfeed.export_outputs.parse_output_request``), run the use case under
the key's plan and stream, with the STIX export's HTTP helpers: ETag and ``If-None-Match``
(304 before any row is decoded), gzip as it streams, download headers. A device key may
come as ``key=`` here (see ``web.auth.require_export_scope``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from iocfeed.auth.access import Principal
from iocfeed.config import Scope
from iocfeed.export import CONFIDENCE_NAMES, TLP_NAMES
from iocfeed.export_outputs import (
    MispPart,
    OutputResult,
    list_settings,
    parse_output_request,
    run_output,
)
from iocfeed.indicators.model import IocType
from iocfeed.outputs.catalogue import SPECS, OutputFormat
from iocfeed.outputs.csvfile import LOOKUP_NAMES
from iocfeed.outputs.text import FLAVOR_NAMES
from iocfeed.parameters import TYPE_NAMES
from iocfeed.services import Services
from iocfeed.web.auth import require_export_scope, services
from iocfeed.web.bulk import BULK
from iocfeed.web.export import EFFECTIVE_SINCE, download
from iocfeed.web.schemas import RATE_HEADERS, error_responses, timestamp

router = APIRouter(tags=["export"], dependencies=[BULK])

Reader = Annotated[Principal, Depends(require_export_scope(Scope.READ_STIX))]


class ListParameters:
    """The parameters every list download shares with the STIX export."""

    def __init__(
        self,
        *,
        type: Annotated[
            list[str] | None,
            Query(
                description=f"IOC types ({TYPE_NAMES}); repeat or comma-separate. Default: "
                "every type the format holds (txt: required, one family).",
                json_schema_extra={"items": {"type": "string", "enum": list(IocType)}},
            ),
        ] = None,
        since: Annotated[
            str | None,
            Query(
                description="Lower bound (ISO 8601) on `modified`, clamped to your plan's "
                "lookback; the value applied is in `X-Effective-Since`.",
                json_schema_extra={"format": "date-time"},
            ),
        ] = None,
        source: Annotated[
            list[str] | None,
            Query(description="Only indicators one of these sources reported (repeatable)."),
        ] = None,
        tag: Annotated[str | None, Query(description="Only indicators with this tag.")] = None,
        min_confidence: Annotated[
            str | None,
            Query(description=f"Confidence floor: {CONFIDENCE_NAMES} (that level and above)."),
        ] = None,
        max_tlp: Annotated[
            str | None,
            Query(
                description=f"TLP ceiling below your plan's highest TLP ({TLP_NAMES}): only "
                "indicators whose TLP is at most this."
            ),
        ] = None,
        include_flagged: Annotated[
            bool,
            Query(
                description="Also list indicators that a warninglist with policy `flag` "
                "matched (left out by default: they are usually false positives)."
            ),
        ] = False,
        tlp: Annotated[
            str | None,
            Query(
                description="The TLP shown for indicators whose operator set none (Suricata "
                "metadata, CSV, MISP tags), replacing the confidence-based default."
            ),
        ] = None,
        limit: Annotated[
            int | None,
            Query(
                ge=1,
                description="Most indicators in the download. A list is a whole list: the "
                "default is the cap, the smaller of the format's (txt, csv, rpz, hosts "
                "1,000,000; suricata, misp 100,000) and your plan's `max_list_entries`; "
                "more is a 400 naming the cap.",
            ),
        ] = None,
    ) -> None:
        self.values: dict[str, Any] = {
            "type": type,
            "since": since,
            "source": source,
            "tag": tag,
            "min_confidence": min_confidence,
            "max_tlp": max_tlp,
            "include_flagged": include_flagged,
            "tlp": tlp,
            "limit": limit,
        }


Params = Annotated[ListParameters, Depends()]

Comments = Annotated[
    bool, Query(description="Add `#` header lines (title, time, count). Off by default.")
]

_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "Strong validator; send it back in `If-None-Match`.",
        "schema": {"type": "string"},
    },
    "Content-Disposition": {
        "description": "The download's file name.",
        "schema": {"type": "string"},
    },
    EFFECTIVE_SINCE: {
        "description": "The lower bound on `modified` applied (your plan's lookback).",
        "schema": {"type": "string", "format": "date-time"},
    },
}


def _responses(format: OutputFormat, media_type: str | None = None) -> dict[int | str, Any]:
    media_type = media_type or SPECS[format].media_type
    schema = {"type": "object"} if media_type == "application/json" else {"type": "string"}
    return {
        200: {
            "description": f"The {format.value} download, streamed.",
            "content": {media_type: {"schema": schema}},
            "headers": {**_HEADERS, **RATE_HEADERS},
        },
        304: {"description": "Not modified: `If-None-Match` names the current content."},
        **error_responses(400, 401, 403, 404, 422, 429),
    }


def _serve(
    request: Request,
    principal: Principal,
    format: OutputFormat,
    params: ListParameters,
    **options: Any,
) -> Response:
    built = services(request)
    now = built.clock.now()
    asked = parse_output_request(
        format,
        plan_entries=principal.plan.max_list_entries,
        rpz_zone=built.settings.rpz_zone,
        **options,
        **params.values,
    )
    result = run_output(
        asked,
        built.search,
        built.producer,
        list_settings(built.settings),
        max_tlp=principal.plan.max_tlp,
        lookback_start=principal.lookback_start(now),
        now=now,
    )
    return download(
        request,
        etag=result.etag,
        effective_since=result.effective_since,
        filename=result.filename(),
        chunks=result.chunks,
        media_type=result.media_type,
        background=BackgroundTask(_audit, built, principal, result),
    )


def _audit(built: Services, principal: Principal, result: OutputResult) -> None:
    parameters: dict[str, Any] = result.request.parameters()
    parameters["effective_since"] = (
        timestamp(result.effective_since) if result.effective_since else None
    )
    built.audit.record(
        key_id=principal.key.key_id,
        action=f"export.{result.request.format.value}",
        parameters=parameters,
        result_count=result.count,
        now=result.now,
    )


@router.get(
    "/export/txt",
    summary="Plain list for firewalls (PAN-OS EDL, FortiGate, Cisco, Suricata hash lists)",
    description="One value per line for one type family (ip, domain, url or one hash type), "
    "in the form the `flavor`'s consumer documents: `paloalto` writes URLs without the "
    "scheme (PAN-OS External Dynamic Lists), `fortigate` a threat feed, `suricata` the lists "
    "`filemd5`/`filesha1`/`filesha256` load, `plain` the canonical values. Live indicators "
    "only; `#` comment lines are off by default. Requires the Pro plan (read:stix scope).",
    response_class=Response,
    responses=_responses(OutputFormat.TXT),
)
def export_txt(
    request: Request,
    principal: Reader,
    params: Params,
    flavor: Annotated[str | None, Query(description=f"One of {FLAVOR_NAMES}.")] = None,
    comments: Comments = False,
) -> Response:
    return _serve(request, principal, OutputFormat.TXT, params, flavor=flavor, comments=comments)


@router.get(
    "/export/csv",
    summary="Splunk ES threat-intelligence lookup, or a generic CSV",
    description="`lookup` picks the layout: a Splunk ES local lookup with its documented "
    "header (`local_ip_intel`: description,ip,weight; `local_domain_intel`; "
    "`local_file_intel`; `local_http_intel`; `local_email_intel`), weight from confidence "
    "(85/50/15), or `generic` (every field; `iocfeed import` reads it back). Live "
    "indicators only. Requires the Pro plan (read:stix scope).",
    response_class=Response,
    responses=_responses(OutputFormat.CSV),
)
def export_csv(
    request: Request,
    principal: Reader,
    params: Params,
    lookup: Annotated[str | None, Query(description=f"One of {LOOKUP_NAMES}.")] = None,
) -> Response:
    return _serve(request, principal, OutputFormat.CSV, params, lookup=lookup)


@router.get(
    "/export/suricata",
    summary="Suricata rules",
    description="Rules for IPs, domains (dns.query, tls.sni and http.host, subdomains "
    "included), URLs (http.host and http.uri.raw) and, for md5/sha1/sha256, one "
    "`filemd5`/`filesha1`/`filesha256` rule per type loading `iocfeed-<type>.lst` (download it "
    "from `/api/v1/export/txt?type=<type>&flavor=suricata` into the rules directory). Each "
    "indicator keeps its `sid` in every download, `rev` is its STIX version, and `metadata` "
    "carries its STIX id, TLP and confidence. Requires the Pro plan (read:stix scope).",
    response_class=Response,
    responses=_responses(OutputFormat.SURICATA),
)
def export_suricata(request: Request, principal: Reader, params: Params) -> Response:
    return _serve(request, principal, OutputFormat.SURICATA, params)


@router.get(
    "/export/rpz",
    summary="DNS Response Policy Zone (BIND, Unbound, PowerDNS)",
    description="NXDOMAIN for each domain and its subdomains, and `rpz-ip` triggers for IPs "
    "and networks; the SOA serial is the newest change's time in epoch seconds, so it grows "
    "with the data. Live indicators only. Requires the Pro plan (read:stix scope).",
    response_class=Response,
    responses=_responses(OutputFormat.RPZ),
)
def export_rpz(
    request: Request,
    principal: Reader,
    params: Params,
    zone: Annotated[
        str | None, Query(description="The zone's name (default: the `rpz_zone` setting).")
    ] = None,
) -> Response:
    return _serve(request, principal, OutputFormat.RPZ, params, zone=zone)


@router.get(
    "/export/hosts",
    summary="Hosts-file blocklist",
    description="`0.0.0.0 <domain>` per line, for hosts files, Pi-hole, AdGuard Home and "
    "blocky. Live indicators only; comments off by default. Requires the Pro plan "
    "(read:stix scope).",
    response_class=Response,
    responses=_responses(OutputFormat.HOSTS),
)
def export_hosts(
    request: Request, principal: Reader, params: Params, comments: Comments = False
) -> Response:
    return _serve(request, principal, OutputFormat.HOSTS, params, comments=comments)


Group = Annotated[
    str | None, Query(description="`day` (default): an event per day added; `source`: per source.")
]

MISP_DESCRIPTION = (
    'A MISP feed: subscribe MISP (feed format "MISP Feed") to `/api/v1/export/misp` with '
    "your key in an `X-API-Key` header; it reads `manifest.json`, each `<event uuid>.json` "
    "and `hashes.csv` below it. Events are per day or per source (`group`), ids are stable, "
    "an event's `timestamp` grows when it changes, and withdrawn indicators stay as deleted "
    "attributes. Requires the Pro plan (read:stix scope)."
)


@router.get(
    "/export/misp",
    summary="MISP feed manifest",
    description=MISP_DESCRIPTION,
    response_class=Response,
    responses=_responses(OutputFormat.MISP),
)
def export_misp(
    request: Request, principal: Reader, params: Params, group: Group = None
) -> Response:
    return _serve(request, principal, OutputFormat.MISP, params, group=group)


@router.get(
    "/export/misp/manifest.json",
    summary="MISP feed manifest",
    description=MISP_DESCRIPTION,
    response_class=Response,
    responses=_responses(OutputFormat.MISP),
)
def export_misp_manifest(
    request: Request, principal: Reader, params: Params, group: Group = None
) -> Response:
    return _serve(request, principal, OutputFormat.MISP, params, group=group)


@router.get(
    "/export/misp/hashes.csv",
    summary="MISP feed hashes",
    description=MISP_DESCRIPTION,
    response_class=Response,
    responses=_responses(OutputFormat.MISP, "text/csv; charset=utf-8"),
)
def export_misp_hashes(
    request: Request, principal: Reader, params: Params, group: Group = None
) -> Response:
    return _serve(request, principal, OutputFormat.MISP, params, group=group, part=MispPart.HASHES)


@router.get(
    "/export/misp/{event}.json",
    summary="MISP feed event",
    description=MISP_DESCRIPTION,
    response_class=Response,
    responses=_responses(OutputFormat.MISP),
)
def export_misp_event(
    request: Request,
    principal: Reader,
    params: Params,
    event: Annotated[str, Path(description="The event's uuid, as the manifest lists it.")],
    group: Group = None,
) -> Response:
    return _serve(request, principal, OutputFormat.MISP, params, group=group, part=f"{event}.json")
