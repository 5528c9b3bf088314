"""Security headers on every response (pure ASGI, so streamed exports pass through).

* ``X-Content-Type-Options: nosniff``: a browser never reinterprets JSON or STIX as HTML.
* ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: no page of ours in a frame.
* ``Referrer-Policy: no-referrer``: links out of the docs or landing page carry no URL.
* ``Content-Security-Policy``: HTML pages (landing page, ``/docs``) may load scripts, styles
  and images from this origin only (inline styles allowed: the landing page has a style
  block and Swagger UI sets style attributes); every other response may load nothing.

A header the response already sets wins (e.g. the key endpoints' own ``Cache-Control``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTML_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

_ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower(): value for name, value in headers}
                html = present.get(b"content-type", b"").startswith(b"text/html")
                policy = (HTML_POLICY if html else OTHER_POLICY).encode()
                headers += [
                    (name, value)
                    for name, value in (*_ALWAYS, (b"content-security-policy", policy))
                    if name not in present
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
