"""The Microsoft Sentinel pusher: uploads indicator events as STIX objects, on a schedule.

Theory of operation
-------------------
A run (under the pusher's lease, ``store.pushers``) gets an Entra ID token by client
credentials, then reads the versions added after the checkpoint, as the pusher's highest
TLP allows (``event_feed``; no lookback: what was missed is caught up), 100 at a time
(Sentinel's cap per request), and uploads each batch's STIX objects (``push.sentinel``):
created and updated versions as they are, revoked ones with ``revoked: true``, which
Sentinel drops from matching. Objects carry the TLP 1.0 marking ids Sentinel documents and
no ``created_by_ref`` (the producer identity is not uploaded).

Pacing. Requests go out at most ``sentinel_requests_per_window`` per
``sentinel_window_seconds`` (``push.pacing.Window``: 100 a minute by default), each counted
from the moment its answer came back, so that network latency cannot squeeze two requests
into one of Sentinel's windows. A 429 is
waited out for as long as it asks (``Retry-After``, else the "Try again in N seconds" of
its message) and the same batch is sent again; so is a batch after a 401 (with a new
token). Any other failure ends the run as failed, with the checkpoint at the last batch
Sentinel took, so the next run goes on from there.

Per-record errors. A 200 may list refused objects (``errors[].recordIndex``); they are
counted as rejected and kept, with Sentinel's messages, in the run record (outcome
``partial``). They are not sent again: Sentinel's validation would refuse them again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from iocfeed.clock import Clock
from iocfeed.config import Settings
from iocfeed.errors import SourceFailed
from iocfeed.event_feed import Audience, events_after
from iocfeed.push import sentinel
from iocfeed.push.model import PushCounts, Pusher, PushOutcome, PushRun, RecordError
from iocfeed.push.pacing import Window, retry_after
from iocfeed.stix.objects import ExportOptions, Producer, sdo_for
from iocfeed.store.pushers import PusherStore
from iocfeed.store.search import IndicatorSearch

log = logging.getLogger("iocfeed.pushers")

BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
"""A new pusher's checkpoint: its first runs upload everything stored, oldest first."""
MAX_THROTTLED_PER_BATCH = 20
"""429s in a row on one batch before the run gives up (the next run goes on)."""
OPTIONS = ExportOptions(include_identity=False, include_markings=False, tlp_version=1)


@dataclass
class _Token:
    value: str
    expires: float


@dataclass
class SentinelPusher:
    settings: Settings
    clock: Clock
    pushers: PusherStore
    search: IndicatorSearch
    producer: Producer
    sleep: Callable[[float], None] = field(default=time.sleep)
    monotonic: Callable[[], float] = field(default=time.monotonic)
    _token: _Token | None = field(default=None, init=False)

    @property
    def lease(self) -> timedelta:
        window = self.settings.sentinel_window_seconds
        per_window = self.settings.sentinel_requests_per_window
        requests = self.settings.sentinel_max_requests_per_run
        return timedelta(seconds=requests / per_window * window + 600)

    def run_due(self) -> list[PushRun]:
        finished = []
        for pusher in self.pushers.due(self.clock.now()):
            try:
                run = self.run(pusher, only_if_due=True)
            except Exception:
                log.exception("pusher %s could not be run", pusher.name)
                continue
            if run is not None:
                finished.append(run)
        return finished

    def run(self, pusher: Pusher, *, only_if_due: bool = False) -> PushRun | None:
        """One run now; None when another process holds the pusher's lease."""
        now = self.clock.now()
        if not self.pushers.claim(pusher.pusher_id, now, self.lease, only_if_due=only_if_due):
            return None
        run_id = self.pushers.start_run(pusher.pusher_id, now)
        progress = _Progress()
        self._token = None
        try:
            with httpx.Client(
                timeout=self.settings.webhook_timeout_seconds * 3, follow_redirects=False
            ) as client:
                self._push(client, pusher, progress)
            outcome = PushOutcome.PARTIAL if progress.errors else PushOutcome.SUCCEEDED
            return self._finish(run_id, outcome, progress)
        except SourceFailed as failure:
            return self._finish(run_id, PushOutcome.FAILED, progress, failure.message)
        except httpx.HTTPError as failure:
            message = f"cannot reach Sentinel: {failure or type(failure).__name__}"
            return self._finish(run_id, PushOutcome.FAILED, progress, message)
        except Exception as failure:  # one pusher's bug must not stop the worker
            log.exception("pusher %s failed", pusher.name)
            message = f"unexpected error: {type(failure).__name__}: {failure}"
            return self._finish(run_id, PushOutcome.FAILED, progress, message)
        finally:
            next_run = self.clock.now() + timedelta(seconds=pusher.interval_seconds)
            self.pushers.release(pusher.pusher_id, next_run)

    def _finish(
        self, run_id: int, outcome: PushOutcome, progress: _Progress, error: str | None = None
    ) -> PushRun:
        return self.pushers.finish_run(
            run_id,
            self.clock.now(),
            outcome,
            progress.counts(),
            record_errors=progress.errors,
            error=error,
        )

    def _push(self, client: httpx.Client, pusher: Pusher, progress: _Progress) -> None:
        audience = Audience(max_tlp=pusher.settings.max_tlp)
        window = Window(
            self.settings.sentinel_requests_per_window, self.settings.sentinel_window_seconds
        )
        position = pusher.checkpoint
        while progress.requests < self.settings.sentinel_max_requests_per_run:
            batch = events_after(
                self.search,
                position,
                audience,
                limit=sentinel.OBJECTS_PER_REQUEST,
                now=self.clock.now(),
            )
            objects = [sdo_for(event.version, OPTIONS, self.producer) for event in batch.events]
            if objects:
                self._upload(client, pusher, objects, window, progress)
            if batch.position > position:
                position = batch.position
                self.pushers.checkpoint(pusher.pusher_id, position)
            if not batch.more:
                return

    def _upload(
        self,
        client: httpx.Client,
        pusher: Pusher,
        objects: list[dict[str, Any]],
        window: Window,
        progress: _Progress,
    ) -> None:
        """Send one batch until Sentinel takes it (module notes)."""
        url = sentinel.upload_url(self.settings.sentinel_api_url, pusher.settings.workspace_id)
        body = orjson.dumps(sentinel.upload_body(pusher.settings.source_system, objects))
        throttled_in_a_row = 0
        renewed = False
        while True:
            wait = window.wait(self.monotonic())
            if wait > 0:
                self.sleep(wait)
            token = self._access_token(client, pusher)
            progress.requests += 1
            try:
                response = client.post(
                    url,
                    content=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )
            finally:
                # Counted from the answer, the latest moment Sentinel can have counted the
                # request at: the window then holds on Sentinel's side whatever the latency.
                window.sent(self.monotonic())
            if response.status_code == 429:
                progress.throttled += 1
                throttled_in_a_row += 1
                if throttled_in_a_row > MAX_THROTTLED_PER_BATCH:
                    raise SourceFailed(
                        f"Sentinel kept answering 429 ({throttled_in_a_row} times in a row)"
                    )
                self.sleep(retry_after(response.headers, response.text, default=60))
                continue
            if response.status_code == 401 and not renewed:
                self._token, renewed = None, True
                continue
            if response.status_code != 200:
                raise SourceFailed(
                    f"Sentinel answered {response.status_code} to an upload: {response.text[:300]}"
                )
            answer = orjson.loads(response.content) if response.content.strip() else None
            refused = sentinel.record_errors(answer, objects)
            progress.errors += refused
            progress.rejected += len(refused)
            progress.uploaded += len(objects) - len(refused)
            return

    def _access_token(self, client: httpx.Client, pusher: Pusher) -> str:
        """An Entra ID token (client credentials), kept until a minute before it expires."""
        if self._token is not None and self.monotonic() < self._token.expires:
            return self._token.value
        response = client.post(
            sentinel.token_url(self.settings.sentinel_login_url, pusher.settings.tenant_id),
            data=sentinel.token_form(pusher.settings.client_id, pusher.client_secret),
        )
        if response.status_code != 200:
            raise SourceFailed(
                f"Entra ID refused the client credentials ({response.status_code}): "
                f"{_oauth_error(response)}"
            )
        granted = response.json()
        lifetime = float(granted.get("expires_in", 3600))
        self._token = _Token(
            str(granted["access_token"]), self.monotonic() + max(0.0, lifetime - 60)
        )
        return self._token.value


@dataclass
class _Progress:
    uploaded: int = 0
    rejected: int = 0
    requests: int = 0
    throttled: int = 0
    errors: list[RecordError] = field(default_factory=list)

    def counts(self) -> PushCounts:
        return PushCounts(self.uploaded, self.rejected, self.requests, self.throttled)


def _oauth_error(response: httpx.Response) -> str:
    """The OAuth2 error's code and description (never the request, which has the secret)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        return f"{body.get('error', '')}: {str(body.get('error_description', ''))[:200]}"
    return response.reason_phrase


def describe(pusher: Pusher, runs: list[PushRun] | None = None) -> dict[str, Any]:
    """A pusher for people: settings, never the client secret."""
    described: dict[str, Any] = {
        "name": pusher.name,
        "kind": pusher.kind.value,
        **pusher.settings.as_json(),
        "client_secret": "(set; never shown)",
        "interval": pusher.interval_seconds,
        "enabled": pusher.enabled,
        "checkpoint": pusher.checkpoint,
        "next_run": pusher.next_run,
    }
    if runs is not None:
        described["runs"] = [describe_run(run) for run in runs]
    return described


def describe_run(run: PushRun) -> dict[str, Any]:
    return {
        "id": run.run_id,
        "started": run.started,
        "finished": run.finished,
        "outcome": run.outcome.value,
        "uploaded": run.counts.uploaded,
        "rejected": run.counts.rejected,
        "requests": run.counts.requests,
        "throttled": run.counts.throttled,
        "record_errors": [item.as_json() for item in run.record_errors],
        "error": run.error,
    }
