"""``/docs``: Swagger UI served from this server (assets from the fastapi-offline package).

Nothing on the page comes from another host: the page, its script and style sheet and the
OpenAPI document are all same-origin, with relative URLs so the page also works under a
reverse proxy's path prefix. The online validator badge is off, since it would load an image
from swagger.io. The HTML page policy (``iocfeed.web.headers``) allows scripts from this
origin only, so the page has no inline script.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
_ASSET_DIRECTORY = Path(fastapi_offline.__file__).parent / "static"

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>iocfeed API</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" href="docs/assets/favicon.png">
</head><body><div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/start.js"></script>
</body></html>
"""

_START = """window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null,
});
"""


@router.get("/docs")
def docs_page() -> HTMLResponse:
    return HTMLResponse(_PAGE)


@router.get("/docs/start.js")
def docs_start() -> Response:
    return Response(_START, media_type="text/javascript")


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` (build the app with ``docs_url=None``)."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=_ASSET_DIRECTORY), name="docs-assets")
