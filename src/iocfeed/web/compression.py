"""gzip for every response the client accepts it for (TAXII pages, REST JSON, OpenAPI).

Starlette's GZipMiddleware, compressing with the export's ISA-L compressor (about five
times zlib's speed for the same size, ``export.GZIP_LEVEL``) and deciding with the same
``Accept-Encoding`` reading as the STIX export (``gzip;q=0`` means no), so the export's own
gzip and its per-encoding ETag agree with what is sent. Responses that already carry
``Content-Encoding`` (the export) pass untouched; either way a response large enough to
compress says ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

from isal import isal_zlib
from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder
from starlette.types import Message, Receive, Scope, Send

from iocfeed.web.export import accepts_gzip, gzip_compressor


class Compression(GZipMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        responder: IdentityResponder
        if accepts_gzip(Headers(scope=scope).get("accept-encoding")):
            responder = _Responder(
                self.app,
                self.minimum_size,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
        else:
            responder = IdentityResponder(
                self.app, self.minimum_size, exclude_content_types=self.exclude_content_types
            )
        await responder(scope, receive, _one_vary(send))


class _Responder(GZipResponder):
    """Starlette's gzip responder with the ISA-L compressor, kept apart from Starlette's
    own (typed as zlib's)."""

    _gzip: isal_zlib.Compress | None = None

    def _compress_body(self, body: bytes, more_body: bool) -> bytes:
        if self._gzip is None:
            self._gzip = gzip_compressor()
        if more_body:
            return self._gzip.compress(body) + self._gzip.flush(isal_zlib.Z_SYNC_FLUSH)
        return self._gzip.compress(body) + self._gzip.flush()


def _one_vary(send: Send) -> Send:
    """``send`` with each ``Vary`` entry once (a response that set its own gets one more)."""

    async def deduplicated(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", [])
            values = [value for name, value in headers if name.lower() == b"vary"]
            if len(values) > 1 or (values and b"," in values[0]):
                entries = dict.fromkeys(
                    entry.strip() for value in values for entry in value.split(b",")
                )
                message["headers"] = [
                    *((n, v) for n, v in headers if n.lower() != b"vary"),
                    (b"vary", b", ".join(entries)),
                ]
        await send(message)

    return deduplicated
