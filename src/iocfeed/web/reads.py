"""Read-only requests (GET, HEAD) may read from a replica; all others use the primary
(``store.replicas``). Pure ASGI, so a streamed export reads its replica to the last byte."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from iocfeed.store.replicas import ReadRouting

READ_ONLY = frozenset({"GET", "HEAD"})


class ReplicaReadsMiddleware:
    def __init__(self, app: ASGIApp, *, routing: ReadRouting) -> None:
        self.app = app
        self.routing = routing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in READ_ONLY:
            await self.app(scope, receive, send)
            return
        with self.routing.replica_reads():
            await self.app(scope, receive, send)
