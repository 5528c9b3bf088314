"""ASGI middleware: body-size limit, per-request headers, access log and metrics.

Pure ASGI (not ``BaseHTTPMiddleware``) so that streamed exports pass through untouched.
Endpoints that take a body read it with ``await request.body()`` so that ``BodyTooLarge``
raised here while streaming reaches the error handlers (413) as itself.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import unquote_plus

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iocfeed.errors import BodyTooLarge
from iocfeed.web.errors import error_response
from iocfeed.web.metrics import Metrics

access_log = logging.getLogger("iocfeed.access")


def _route_template(scope: Scope) -> str:
    """The matched route's template, router prefix included (``/api/v1/iocs``, not ``/iocs``).

    FastAPI puts the route as declared on its router in ``scope["route"]`` and the route as
    mounted (prefixed) in its effective route context; plain Starlette routes have only the
    former.
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path", None) or getattr(scope.get("route"), "path", None)
    return str(template) if template else "unmatched"


# Query parameters that carry a secret (a device key in a feed URL): logged as ``***``.
SECRET_PARAMETERS = frozenset({"key"})


def masked_query(raw: bytes) -> str:
    """The query string as logged: each secret parameter's value replaced by ``***``."""
    if not raw:
        return ""
    parts = []
    for part in raw.decode("latin-1").split("&"):
        name, equals, _value = part.partition("=")
        secret = equals and unquote_plus(name).lower() in SECRET_PARAMETERS
        parts.append(f"{name}=***" if secret else part)
    return "&".join(parts)


class RequestMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics, log_access: bool
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.log_access = log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        received = 0
        limit = self.max_body_bytes

        declared = dict(scope["headers"]).get(b"content-length")
        too_large = f"Request body is larger than the limit of {limit} bytes"
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # Refuse before reading a byte of it.
            response = error_response(Request(scope), 413, "body_too_large", too_large)
            await response(scope, receive, send)
            self.metrics.observe(scope["method"], "unmatched", 413, time.perf_counter() - started)
            return

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(too_large, parameter="body")
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = state.get("response_headers") or {}
                if extra:
                    # A header the response already carries (e.g. the 429's own rate
                    # headers) wins; repeating it would send "0, 0".
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    message["headers"] = [
                        *message.get("headers", []),
                        *(
                            (k.lower().encode(), v.encode())
                            for k, v in extra.items()
                            if k.lower().encode() not in present
                        ),
                    ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            template = _route_template(scope)
            self.metrics.observe(scope["method"], template, status, elapsed)
            if self.log_access:
                access_log.info(
                    orjson.dumps(
                        {
                            "method": scope["method"],
                            "path": scope["path"],
                            "query": masked_query(scope.get("query_string", b"")),
                            "route": template,
                            "status": status,
                            "ms": round(elapsed * 1000, 2),
                            "key_id": state.get("key_id"),
                            "client": (scope.get("client") or ("", 0))[0],
                        }
                    ).decode()
                )
