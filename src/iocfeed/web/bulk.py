"""Bulk requests take turns, so that small ones never queue behind a crowd of them.

A server process answers every request from one event loop and a thread pool that share
one interpreter lock. When sixteen SIEMs each ask for a page of 1000 objects, a lookup
that needs a millisecond of CPU gets a sixteenth of the process and waits behind all of
them. So bulk requests (TAXII object and manifest pages, exports, REST searches, imports)
take turns: each process builds at most ``bulk_slots`` of them at once, first come first
served, and every other request goes straight through.

A bulk read takes its turn before it authenticates and gives it back when its endpoint
returns (``Depends(..., scope="function")``): a TAXII page is built by then, an export has
read and fingerprinted its rows. A slow client reading the response holds no turn. An
import takes its turn only once its body has arrived, so a slow upload holds none either.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, Request


class BulkTurns:
    """At most ``slots`` holders at once, in arrival order; ``0``: no limit."""

    def __init__(self, slots: int) -> None:
        self._slots = asyncio.Semaphore(slots) if slots else None
        self.waiting = 0
        """Requests waiting for their turn now."""

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._slots is None:
            yield
            return
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()


def bulk_turns(request: Request) -> BulkTurns:
    """The process's turns (made by ``create_app`` from ``bulk_slots``)."""
    turns: BulkTurns = request.app.state.bulk_turns
    return turns


async def _bulk_turn(request: Request) -> AsyncIterator[None]:
    async with bulk_turns(request).turn():
        yield


BULK = Depends(_bulk_turn, scope="function")
"""The dependency of a bulk read: its endpoint runs in its turn (declare it first)."""
