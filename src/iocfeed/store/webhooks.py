"""Webhooks at rest: definitions, where each one's event walk stands, leases, deliveries.

A webhook is worked on by whoever holds its lease (``claim``: one UPDATE that succeeds only
when no unexpired lease is held, as sources do), so each delivery is attempted by one
worker of the cluster at a time. Taking events (``enqueue``) stores the delivery and moves
the webhook's position in one transaction: a crash after it retries the stored delivery,
never loses or repeats the events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, delete, func, insert, or_, select, update

from iocfeed.errors import LimitExceeded, NotFound
from iocfeed.push.events import EventKind
from iocfeed.push.model import Delivery, DeliveryStatus, Webhook
from iocfeed.store.rows import from_us, to_us
from iocfeed.store.schema import webhook_deliveries, webhooks

w = webhooks.c
d = webhook_deliveries.c


def _webhook(row: Any) -> Webhook:
    return Webhook(
        webhook_id=row.webhook_id,
        account_id=row.account_id,
        key_id=row.key_id,
        url=row.url,
        events=frozenset(EventKind(kind) for kind in orjson.loads(row.events)),
        secret_salt=row.secret_salt,
        created=from_us(row.created),
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        failures=row.failures,
        position=from_us(row.position),
        next_attempt=from_us(row.next_attempt),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        delivery_id=row.delivery_id,
        webhook_id=row.webhook_id,
        created=from_us(row.created),
        status=DeliveryStatus(row.status),
        events=row.events,
        payload=row.payload.encode("utf-8"),
        attempts=row.attempts,
        last_attempt=from_us(row.last_attempt) if row.last_attempt is not None else None,
        response_status=row.response_status,
        last_error=row.last_error,
        delivered=from_us(row.delivered) if row.delivered is not None else None,
    )


class WebhookStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- definitions ---------------------------------------------------------------------

    def add(
        self,
        *,
        account_id: int,
        key_id: str,
        url: str,
        events: frozenset[EventKind],
        secret_salt: str,
        position: datetime,
        now: datetime,
        most: int,
    ) -> Webhook:
        """A new webhook whose events start after ``position``; LimitExceeded past ``most``."""
        with self.engine.begin() as connection:
            count = connection.execute(
                select(func.count()).select_from(webhooks).where(w.account_id == account_id)
            ).scalar_one()
            if count >= most:
                raise LimitExceeded(f"at most {most} webhooks per account; delete one first")
            webhook_id = connection.execute(
                insert(webhooks)
                .values(
                    account_id=account_id,
                    key_id=key_id,
                    url=url,
                    events=orjson.dumps(sorted(kind.value for kind in events)).decode(),
                    secret_salt=secret_salt,
                    created=to_us(now),
                    enabled=True,
                    disabled_reason=None,
                    failures=0,
                    position=to_us(position),
                    next_attempt=to_us(now),
                    lease_until=None,
                )
                .returning(w.webhook_id)
            ).scalar_one()
        return self.get(int(webhook_id))

    def get(self, webhook_id: int, account_id: int | None = None) -> Webhook:
        """The webhook; NotFound when it does not exist or belongs to another account."""
        statement = select(webhooks).where(w.webhook_id == webhook_id)
        if account_id is not None:
            statement = statement.where(w.account_id == account_id)
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            raise NotFound(f"no webhook {webhook_id}")
        return _webhook(row)

    def of_account(self, account_id: int) -> list[Webhook]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(webhooks).where(w.account_id == account_id).order_by(w.webhook_id)
            )
            return [_webhook(row) for row in rows]

    def remove(self, webhook_id: int, account_id: int) -> None:
        self.get(webhook_id, account_id)
        with self.engine.begin() as connection:
            connection.execute(delete(webhook_deliveries).where(d.webhook_id == webhook_id))
            connection.execute(delete(webhooks).where(w.webhook_id == webhook_id))

    def due(self, now: datetime) -> list[Webhook]:
        """Enabled webhooks whose next attempt is due, most overdue first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(webhooks)
                .where(w.enabled.is_(True), w.next_attempt <= to_us(now))
                .order_by(w.next_attempt, w.webhook_id)
            )
            return [_webhook(row) for row in rows]

    def enable(self, webhook_id: int, account_id: int, now: datetime) -> Webhook:
        """Enable again (after it was disabled); its pending delivery is tried at once."""
        self.get(webhook_id, account_id)
        with self.engine.begin() as connection:
            connection.execute(
                update(webhooks)
                .where(w.webhook_id == webhook_id)
                .values(enabled=True, disabled_reason=None, failures=0, next_attempt=to_us(now))
            )
        return self.get(webhook_id)

    # --- leases --------------------------------------------------------------------------

    def claim(self, webhook_id: int, now: datetime, lease: timedelta) -> bool:
        """Take the webhook's lease if it is enabled, due and nobody holds it."""
        with self.engine.begin() as connection:
            claimed = connection.execute(
                update(webhooks)
                .where(
                    w.webhook_id == webhook_id,
                    w.enabled.is_(True),
                    w.next_attempt <= to_us(now),
                    or_(w.lease_until.is_(None), w.lease_until < to_us(now)),
                )
                .values(lease_until=to_us(now + lease))
            )
            return claimed.rowcount == 1

    def release(self, webhook_id: int, next_attempt: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(webhooks)
                .where(w.webhook_id == webhook_id)
                .values(lease_until=None, next_attempt=to_us(next_attempt))
            )

    # --- deliveries ----------------------------------------------------------------------

    def pending(self, webhook_id: int) -> Delivery | None:
        """The oldest delivery not yet accepted (deliveries go out in order)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(webhook_deliveries)
                .where(d.webhook_id == webhook_id, d.status == DeliveryStatus.PENDING.value)
                .order_by(d.delivery_id)
                .limit(1)
            ).first()
        return _delivery(row) if row is not None else None

    def advance(self, webhook_id: int, position: datetime) -> None:
        """Move the position past events the webhook does not want (nothing to send)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(webhooks).where(w.webhook_id == webhook_id).values(position=to_us(position))
            )

    def enqueue(
        self, webhook_id: int, payload: bytes, events: int, position: datetime, now: datetime
    ) -> Delivery:
        """Store a delivery of ``events`` events and move the position to ``position``."""
        with self.engine.begin() as connection:
            delivery_id = connection.execute(
                insert(webhook_deliveries)
                .values(
                    webhook_id=webhook_id,
                    created=to_us(now),
                    status=DeliveryStatus.PENDING.value,
                    events=events,
                    payload=payload.decode("utf-8"),
                    attempts=0,
                    last_attempt=None,
                    response_status=None,
                    last_error=None,
                    delivered=None,
                )
                .returning(d.delivery_id)
            ).scalar_one()
            connection.execute(
                update(webhooks).where(w.webhook_id == webhook_id).values(position=to_us(position))
            )
            row = connection.execute(
                select(webhook_deliveries).where(d.delivery_id == delivery_id)
            ).one()
        return _delivery(row)

    def delivered(self, delivery: Delivery, now: datetime, response_status: int) -> Delivery:
        """Record the attempt that succeeded; the webhook's failure count starts over."""
        with self.engine.begin() as connection:
            connection.execute(
                update(webhook_deliveries)
                .where(d.delivery_id == delivery.delivery_id)
                .values(
                    status=DeliveryStatus.DELIVERED.value,
                    attempts=d.attempts + 1,
                    last_attempt=to_us(now),
                    response_status=response_status,
                    delivered=to_us(now),
                )
            )
            connection.execute(
                update(webhooks).where(w.webhook_id == delivery.webhook_id).values(failures=0)
            )
        return self.delivery(delivery.delivery_id)

    def failed(
        self,
        delivery: Delivery,
        now: datetime,
        error: str,
        response_status: int | None,
        *,
        disable_after: int,
    ) -> Webhook:
        """Record a failed attempt; the webhook is disabled, with the reason, once
        ``disable_after`` attempts in a row have failed."""
        with self.engine.begin() as connection:
            connection.execute(
                update(webhook_deliveries)
                .where(d.delivery_id == delivery.delivery_id)
                .values(
                    attempts=d.attempts + 1,
                    last_attempt=to_us(now),
                    response_status=response_status,
                    last_error=error[:1000],
                )
            )
            failures = connection.execute(
                update(webhooks)
                .where(w.webhook_id == delivery.webhook_id)
                .values(failures=w.failures + 1)
                .returning(w.failures)
            ).scalar_one()
            if failures >= disable_after:
                connection.execute(
                    update(webhooks)
                    .where(w.webhook_id == delivery.webhook_id)
                    .values(
                        enabled=False,
                        disabled_reason=(
                            f"disabled after {failures} failed delivery attempts in a row; "
                            f"the last: {error[:300]}"
                        ),
                    )
                )
        return self.get(delivery.webhook_id)

    def disable(self, webhook_id: int, reason: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(webhooks)
                .where(w.webhook_id == webhook_id)
                .values(enabled=False, disabled_reason=reason)
            )

    def delivery(self, delivery_id: int) -> Delivery:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(webhook_deliveries).where(d.delivery_id == delivery_id)
            ).first()
        if row is None:
            raise NotFound(f"no delivery {delivery_id}")
        return _delivery(row)

    def deliveries(
        self, webhook_id: int, *, limit: int, before: int | None = None
    ) -> list[Delivery]:
        """The webhook's deliveries, newest first, keyset-paged by ``before`` (an id)."""
        statement = select(webhook_deliveries).where(d.webhook_id == webhook_id)
        if before is not None:
            statement = statement.where(d.delivery_id < before)
        with self.engine.connect() as connection:
            rows = connection.execute(statement.order_by(d.delivery_id.desc()).limit(limit))
            return [_delivery(row) for row in rows]

    def prune(self, before: datetime) -> int:
        """Forget delivered deliveries made before ``before``; how many there were."""
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(webhook_deliveries).where(
                    d.status == DeliveryStatus.DELIVERED.value, d.created < to_us(before)
                )
            )
            return int(result.rowcount)
