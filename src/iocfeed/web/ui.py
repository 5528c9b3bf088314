"""The landing page: where to point a browser, a script and a TAXII client (no key needed).

It shows only what is not secret: the URLs and collection ids a SOC engineer pastes into
Sentinel, Splunk or a script. Everything behind them asks for a key.
"""

from __future__ import annotations

import functools
from html import escape
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from iocfeed import __version__
from iocfeed.taxii.collections import COLLECTIONS

router = APIRouter(include_in_schema=False)


@functools.cache
def _page() -> str:
    return resources.files("iocfeed.web").joinpath("templates", "landing.html").read_text("utf-8")


@router.get("/", response_class=HTMLResponse)
def landing(request: Request) -> HTMLResponse:
    base = escape(str(request.base_url))
    rows = "".join(
        f"<tr><td><code>{escape(c.id)}</code></td><td>{escape(c.title)}</td></tr>"
        for c in COLLECTIONS
    )
    return HTMLResponse(_page().format(version=__version__, base=base, collections=rows))
