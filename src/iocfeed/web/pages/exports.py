"""The export pages: the builder (``/export``), its download (``/export/download``) and the
documentation of ``GET /api/v1/export/stix`` (``/export/docs``).

The builder is a GET form whose fields carry the endpoint's own parameter names, so the
page's query string is the export's: the page checks it with the endpoint's parser
(``export.parse_export_request``: the same messages, naming the parameter), shows the URL
and the ``curl`` command a script would use, and, for a signed-in subscriber, a preview of
the first objects and a download made under the account's plan (its lookback and highest
TLP), exactly as a key of that account would get them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool

from iocfeed.errors import IocfeedError
from iocfeed.export import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MEDIA_TYPE,
    ExportFormat,
    ExportRequest,
    ExportResult,
    parse_export_request,
    run_export,
)
from iocfeed.indicators.model import IocType, Tlp
from iocfeed.services import Services
from iocfeed.web.auth import services
from iocfeed.web.export import AUDIT_ACTION, download_name
from iocfeed.web.pages.rendering import public_base, render
from iocfeed.web.pages.viewer import MaybeViewer, SignedIn, Viewer

router = APIRouter(include_in_schema=False)

PREVIEW_ROWS = 3
"""Indicators built for the preview (the identity and markings come on top)."""

# The endpoint's parameters in its documented order: (name, repeatable, default as sent).
PARAMETERS: tuple[tuple[str, bool, str], ...] = (
    ("type", True, ""),
    ("since", False, ""),
    ("source", True, ""),
    ("limit", False, str(DEFAULT_LIMIT)),
    ("format", False, ExportFormat.BUNDLE.value),
    ("include_identity", False, "true"),
    ("include_markings", False, "true"),
    ("tlp", False, ""),
    ("tlp_version", False, "2"),
    ("include_observables", False, "false"),
)


def _asked(request: Request) -> dict[str, list[str]]:
    """The builder's fields as given, blanks and defaults dropped (the URL leaves them out)."""
    query = request.query_params
    asked: dict[str, list[str]] = {}
    for name, repeatable, default in PARAMETERS:
        values = [value.strip() for value in query.getlist(name)]
        if name == "source":  # one text field, names separated by commas
            values = [part.strip() for value in values for part in value.split(",")]
        values = [value for value in values if value and value != default]
        if values:
            asked[name] = values if repeatable else values[-1:]
    return asked


def _parse(asked: dict[str, list[str]], max_limit: int) -> ExportRequest:
    single: dict[str, Any] = {
        name: values[0] for name, values in asked.items() if name not in ("type", "source")
    }
    return parse_export_request(
        type=asked.get("type"), source=asked.get("source"), max_limit=max_limit, **single
    )


def _run(viewer: Viewer, request: Request, wanted: ExportRequest) -> ExportResult:
    built = services(request)
    now = built.clock.now()
    days = viewer.plan.lookback_days
    return run_export(
        wanted,
        built.search,
        built.producer,
        max_tlp=viewer.plan.max_tlp,
        lookback_start=None if days is None else now - timedelta(days=days),
        now=now,
    )


def _preview(viewer: Viewer, request: Request, wanted: ExportRequest) -> tuple[str, int]:
    """The first objects of the export, pretty-printed, and how many IOCs it would hold."""
    result = _run(viewer, request, wanted)
    sample = dataclasses.replace(wanted, limit=min(wanted.limit, PREVIEW_ROWS))
    objects = _run(viewer, request, sample).objects()
    shown = orjson.dumps(objects, option=orjson.OPT_INDENT_2).decode("utf-8")
    return shown, result.count


@router.get("/export", response_class=HTMLResponse)
def builder(request: Request, viewer: MaybeViewer) -> HTMLResponse:
    built = services(request)
    asked = _asked(request)
    query = urlencode([(name, value) for name, values in asked.items() for value in values])
    api_url = f"{public_base(request)}/api/v1/export/stix" + (f"?{query}" if query else "")
    problem = None
    preview = None
    total = None
    try:
        wanted = _parse(asked, built.settings.max_page_size)
        if viewer is not None and request.query_params:
            preview, total = _preview(viewer, request, wanted)
    except IocfeedError as error:
        problem = (getattr(error, "parameter", None), error.message)
    return render(
        request,
        "export_builder.html",
        {
            "asked": asked,
            "types": [kind.value for kind in IocType],
            "tlps": [level.value for level in Tlp],
            "max_limit": min(MAX_LIMIT, built.settings.max_page_size),
            "default_limit": DEFAULT_LIMIT,
            "api_url": api_url,
            "curl": f"curl -H \"X-API-Key: $IOCFEED_KEY\" --compressed -o iocfeed.json '{api_url}'",
            "download_query": query,
            "problem": problem,
            "preview": preview,
            "total": total,
            "submitted": bool(request.query_params),
        },
        viewer=viewer,
        section="export",
    )


@router.get("/export/download")
async def download(request: Request, viewer: SignedIn) -> StreamingResponse:
    built = services(request)
    wanted = _parse(_asked(request), built.settings.max_page_size)
    result = _run(viewer, request, wanted)
    return StreamingResponse(
        _chunks(result),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{download_name(result.now)}"',
            "Cache-Control": "no-store",
        },
        background=BackgroundTask(_audit, built, viewer, result),
    )


def _audit(built: Services, viewer: Viewer, result: ExportResult) -> None:
    """The download in the audit trail, as the person who made it (after it is sent)."""
    built.audit.record(
        key_id=None,
        action=AUDIT_ACTION,
        parameters=result.request.parameters(),
        result_count=result.count,
        now=result.now,
        account_id=viewer.account_id,
        user_id=viewer.user.user_id,
    )


async def _chunks(result: ExportResult) -> AsyncIterator[bytes]:
    chunks: Iterator[bytes] = result.chunks()
    async for chunk in iterate_in_threadpool(chunks):
        yield chunk


@router.get("/export/docs", response_class=HTMLResponse)
def documentation(request: Request, viewer: MaybeViewer) -> HTMLResponse:
    built = services(request)
    plans = list(built.settings.plans.items())
    return render(
        request,
        "export_docs.html",
        {
            "endpoint": f"{public_base(request)}/api/v1/export/stix",
            "types": [kind.value for kind in IocType],
            "tlps": [level.value for level in Tlp],
            "max_limit": min(MAX_LIMIT, built.settings.max_page_size),
            "default_limit": DEFAULT_LIMIT,
            "plans": plans,
            "identity_name": built.settings.identity_name,
        },
        viewer=viewer,
        section="export-docs",
    )
