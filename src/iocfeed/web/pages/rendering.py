"""Rendering a page: the Jinja2 environment, what every template may use, and the CSRF cookie.

Templates live in ``iocfeed/web/templates`` and extend ``base.html``, the one layout (header,
navigation, footer) that every page group shares. Autoescaping is on for every template.
Links to this server's own pages and assets are absolute paths under the request's root path
(``base_path``), so that the pages work behind a proxy prefix and name no host.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from iocfeed import __version__
from iocfeed.web.pages import csrf
from iocfeed.web.pages.cookies import BINDING, SESSION, read_cookie, set_cookie


@functools.cache
def templates() -> Jinja2Templates:
    directory = str(resources.files("iocfeed.web").joinpath("templates"))
    environment = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = when
    environment.filters["count"] = count
    environment.filters["size"] = size
    return Jinja2Templates(env=environment)


def when(value: datetime | None) -> str:
    """A UTC time as ``2026-11-29 19:05 UTC``; an em dash for none."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def size(value: int | None) -> str:
    """Bytes for a person: ``12.3 MB``."""
    if value is None:
        return "—"
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} GB"  # pragma: no cover (the loop returns)


def base_path(request: Request) -> str:
    """The path this service is mounted at, ending in ``/`` (``/`` or ``/feeds/``)."""
    return request.base_url.path


def public_base(request: Request) -> str:
    """This service's public URL without the trailing slash (``https://intel.example.org``),
    as a TAXII client must be given it: from ``public_url`` or trusted proxy headers."""
    return str(request.base_url).rstrip("/")


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    viewer: Any = None,
    section: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The page ``template`` with ``context``, the signed-in ``viewer`` (or None), the
    navigation ``section`` to mark as current, and a CSRF token for its forms."""
    binding = read_cookie(request, BINDING)
    fresh = binding is None
    if binding is None:
        binding = csrf.new_binding()
    token = csrf.token_for(request, binding, read_cookie(request, SESSION))
    response = templates().TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "section": section,
            "csrf_field": csrf.FIELD,
            "csrf_token": token,
            "base": base_path(request),
            "public_base": public_base(request),
            "version": __version__,
            "notice": getattr(request.state, "notice", None),
            **(context or {}),
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
    if fresh:
        set_cookie(request, response, BINDING, binding)
    return response
