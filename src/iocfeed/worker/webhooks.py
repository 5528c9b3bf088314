"""Delivering webhooks: ``iocfeed worker`` takes each due webhook's lease, sends its pending
delivery (or batches the next events into one), and records the attempt.

Theory of operation
-------------------
Per webhook, deliveries go out one at a time and in order. A pass over a due webhook:

1. claims its lease (``store.webhooks``), so one worker of the cluster works on it;
2. reads the grant of the key that made it (its account's plan, narrowed by the key), as
   a request by that key would: a key that was revoked or has expired, a plan that is
   gone or lacks ``write:webhooks``, disable the webhook with that reason; a suspended
   account's webhook waits (nothing is sent, nothing is lost) until it is reactivated;
3. takes the oldest pending delivery, or else reads up to ``webhook_batch_size`` events
   after the webhook's position as the plan may see them (``event_feed``) and stores them
   as a delivery, moving the position in the same transaction;
4. POSTs the delivery's stored body with a fresh signature (``push.signatures``) through
   the guarded client (``worker.guard``: no private addresses, no redirects);
5. on a 2xx, marks it delivered and goes on (a few deliveries per pass); on anything else
   records the error, and waits ``push.backoff`` before the next attempt; after
   ``webhook_disable_after`` failed attempts in a row the webhook is disabled, with the
   reason shown to its account. The pending delivery stays: enabling the webhook again
   resumes where it stopped.

A receiver may see one delivery more than once (its 2xx lost on the way back): each body
carries its ``delivery_id`` and each event its ``id``, so it can drop repeats.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import orjson

from iocfeed.accounts.grant import effective_grant
from iocfeed.clock import Clock
from iocfeed.config import Plan, Scope, Settings
from iocfeed.event_feed import Audience, events_after
from iocfeed.push.addresses import parse_networks
from iocfeed.push.backoff import retry_delay
from iocfeed.push.events import Event
from iocfeed.push.model import Delivery, Webhook
from iocfeed.push.signatures import HEADER, sign, webhook_secret
from iocfeed.stix.objects import ExportOptions, Producer, sdo_for
from iocfeed.stix.timestamps import stix_timestamp
from iocfeed.store.keys import KeyStore
from iocfeed.store.search import IndicatorSearch
from iocfeed.store.webhooks import WebhookStore
from iocfeed.worker.guard import guarded_client

log = logging.getLogger("iocfeed.webhooks")

USER_AGENT = "iocfeed-webhooks"
PRUNE_SECONDS = 3600
DELIVERIES_PER_PASS = 10
"""Deliveries sent to one webhook in one pass before the others get their turn."""


def delivery_body(
    delivery_id: int, events: list[Event], producer: Producer, now: datetime
) -> bytes:
    """The JSON body of one delivery: its id, when it was made, and its events."""
    options = ExportOptions()
    return orjson.dumps(
        {
            "delivery_id": delivery_id,
            "created": stix_timestamp(now),
            "events": [
                event.document(sdo_for(event.version, options, producer)) for event in events
            ],
        }
    )


@dataclass
class WebhookDispatcher:
    settings: Settings
    clock: Clock
    webhooks: WebhookStore
    keys: KeyStore
    search: IndicatorSearch
    producer: Producer
    server_secret: Callable[[], bytes]
    jitter: Callable[[], float] = field(default=random.random)
    wall: Callable[[], float] = field(default=time.time)
    """The signature's time: the real one, which receivers compare with their own clocks."""
    client: httpx.Client | None = None
    _pruned: float | None = field(default=None, init=False)

    @property
    def lease(self) -> timedelta:
        per_delivery = self.settings.webhook_timeout_seconds + 30
        return timedelta(seconds=DELIVERIES_PER_PASS * per_delivery)

    def _client(self) -> httpx.Client:
        if self.client is None:
            allowed = parse_networks(self.settings.webhook_allowed_networks)
            self.client = guarded_client(allowed, self.settings.webhook_timeout_seconds)
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def run_due(self) -> int:
        """One pass over every due webhook; the number of deliveries accepted. At most once
        an hour, the delivery log forgets deliveries older than ``webhook_log_days``."""
        if self._pruned is None or time.monotonic() - self._pruned > PRUNE_SECONDS:
            self._pruned = time.monotonic()
            cutoff = self.clock.now() - timedelta(days=self.settings.webhook_log_days)
            self.webhooks.prune(cutoff)
        accepted = 0
        for webhook in self.webhooks.due(self.clock.now()):
            try:
                accepted += self.run(webhook)
            except Exception:  # one webhook's trouble must not stop the others
                log.exception("webhook %d could not be served", webhook.webhook_id)
        return accepted

    def run(self, webhook: Webhook) -> int:
        """Serve one webhook under its lease (module notes); deliveries accepted."""
        now = self.clock.now()
        if not self.webhooks.claim(webhook.webhook_id, now, self.lease):
            return 0
        next_attempt = now
        accepted = 0
        try:
            plan = self._plan(webhook, now)
            if plan is None:
                next_attempt = now + timedelta(seconds=self.settings.webhook_backoff_seconds)
                return 0
            audience = Audience.of_plan(plan, webhook.events)
            for _ in range(DELIVERIES_PER_PASS):
                delivery = self.webhooks.pending(webhook.webhook_id) or self._enqueue(
                    webhook, audience
                )
                if delivery is None:
                    break
                if not self._attempt(delivery, webhook):
                    failed = self.webhooks.pending(webhook.webhook_id)
                    attempts = failed.attempts if failed is not None else 1
                    wait = retry_delay(
                        attempts,
                        base=self.settings.webhook_backoff_seconds,
                        cap=self.settings.webhook_backoff_max_seconds,
                        jitter=self.jitter(),
                    )
                    next_attempt = self.clock.now() + timedelta(seconds=wait)
                    break
                accepted += 1
            return accepted
        finally:
            self.webhooks.release(webhook.webhook_id, next_attempt)

    def _plan(self, webhook: Webhook, now: datetime) -> Plan | None:
        """The plan events go out under (module notes); None: nothing to send now."""
        found = self.keys.find_with_account(webhook.key_id)
        if found is None:
            return self._disable(webhook, "the API key that made it no longer exists")
        key, _hash, account = found
        plan = self.settings.plans.get(account.plan)
        if key.revoked is not None:
            return self._disable(webhook, "the API key that made it was revoked")
        if key.expires is not None and key.expires <= now:
            return self._disable(webhook, "the API key that made it has expired")
        if plan is None:
            return self._disable(webhook, f"its account's plan {account.plan!r} no longer exists")
        grant = effective_grant(account.plan, plan, key.narrowing)
        if Scope.WEBHOOKS not in grant.plan.scopes:
            return self._disable(webhook, f"its key's grant lacks the {Scope.WEBHOOKS} scope")
        if account.suspended:
            return None
        return grant.plan

    def _disable(self, webhook: Webhook, reason: str) -> Plan | None:
        """Disable the webhook with ``reason``; no plan to send under."""
        self.webhooks.disable(webhook.webhook_id, f"disabled: {reason}")
        return None

    def _enqueue(self, webhook: Webhook, audience: Audience) -> Delivery | None:
        """The next events as a stored delivery; None when there are none to send."""
        position = self.webhooks.get(webhook.webhook_id).position
        while True:
            now = self.clock.now()
            batch = events_after(
                self.search, position, audience, limit=self.settings.webhook_batch_size, now=now
            )
            if batch.events:
                body = delivery_body(0, batch.events, self.producer, now)
                return self.webhooks.enqueue(
                    webhook.webhook_id, body, len(batch.events), batch.position, now
                )
            if batch.position > position:
                self.webhooks.advance(webhook.webhook_id, batch.position)
                position = batch.position
            if not batch.more:
                return None

    def ping(self, webhook: Webhook) -> tuple[int | None, str | None]:
        """POST a signed ``ping`` (no events) now: the answer's status and error, if any.
        Not logged, not counted as a failure."""
        body = orjson.dumps(
            {"delivery_id": None, "created": stix_timestamp(self.clock.now()), "events": []}
        )
        status, error = self._post(webhook, body, "ping")
        return status, error

    def _post(self, webhook: Webhook, body: bytes, delivery: str) -> tuple[int | None, str | None]:
        """One signed POST: the status (if an answer came) and the error (None on a 2xx)."""
        secret = webhook_secret(self.server_secret(), webhook.secret_salt)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            HEADER: sign(secret, int(self.wall()), body),
            "X-Iocfeed-Delivery": delivery,
        }
        try:
            response = self._client().post(webhook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, str(exc) or type(exc).__name__
        status = response.status_code
        if 200 <= status < 300:
            return status, None
        error = f"HTTP {status} {response.reason_phrase}".strip()
        if 300 <= status < 400:
            error += " (redirects are not followed)"
        return status, error

    def _attempt(self, delivery: Delivery, webhook: Webhook) -> bool:
        """One POST of the delivery; True when the receiver accepted it."""
        status, error = self._post(webhook, _with_id(delivery), str(delivery.delivery_id))
        if error is None and status is not None:
            self.webhooks.delivered(delivery, self.clock.now(), status)
            return True
        error = error or "no answer"
        state = self.webhooks.failed(
            delivery,
            self.clock.now(),
            error,
            status,
            disable_after=self.settings.webhook_disable_after,
        )
        log.info(
            "webhook %d delivery %d failed: %s", webhook.webhook_id, delivery.delivery_id, error
        )
        if not state.enabled:
            log.warning("webhook %d %s", webhook.webhook_id, state.disabled_reason)
        return False


def _with_id(delivery: Delivery) -> bytes:
    """The stored body with its delivery id (known only once the row exists)."""
    document = orjson.loads(delivery.payload)
    document["delivery_id"] = delivery.delivery_id
    return orjson.dumps(document)
