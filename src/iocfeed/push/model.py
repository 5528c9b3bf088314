"""What push delivery keeps: webhooks, their deliveries, SIEM pushers and their runs."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from iocfeed.indicators.model import Tlp
from iocfeed.push.events import EventKind


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    """Not yet accepted by the receiver; retried with backoff."""
    DELIVERED = "delivered"
    """The receiver answered 2xx."""


@dataclass(frozen=True, slots=True)
class Webhook:
    webhook_id: int
    account_id: int
    key_id: str
    url: str
    events: frozenset[EventKind]
    secret_salt: str
    created: datetime
    enabled: bool
    disabled_reason: str | None
    failures: int
    position: datetime
    next_attempt: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: int
    webhook_id: int
    created: datetime
    status: DeliveryStatus
    events: int
    payload: bytes
    attempts: int
    last_attempt: datetime | None
    response_status: int | None
    last_error: str | None
    delivered: datetime | None


class PusherKind(enum.StrEnum):
    SENTINEL = "sentinel"


@dataclass(frozen=True, slots=True)
class SentinelSettings:
    """Where a Sentinel pusher uploads (the client secret is kept apart, never shown)."""

    tenant_id: str
    client_id: str
    workspace_id: str
    source_system: str = "iocfeed"
    max_tlp: Tlp = Tlp.AMBER

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "workspace_id": self.workspace_id,
            "source_system": self.source_system,
            "max_tlp": self.max_tlp.value,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SentinelSettings:
        return cls(
            tenant_id=data["tenant_id"],
            client_id=data["client_id"],
            workspace_id=data["workspace_id"],
            source_system=data.get("source_system", "iocfeed"),
            max_tlp=Tlp(data.get("max_tlp", Tlp.AMBER.value)),
        )


@dataclass(frozen=True, slots=True)
class Pusher:
    pusher_id: int
    name: str
    kind: PusherKind
    settings: SentinelSettings
    client_secret: str = field(repr=False)
    interval_seconds: int
    enabled: bool
    checkpoint: datetime
    created: datetime
    next_run: datetime


class PushOutcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    """Every batch was sent, and the SIEM refused some objects (``record_errors``)."""
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RecordError:
    """One object the SIEM refused: its id and the SIEM's messages."""

    object_id: str
    messages: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"object_id": self.object_id, "messages": list(self.messages)}


@dataclass(frozen=True, slots=True)
class PushCounts:
    uploaded: int = 0
    rejected: int = 0
    requests: int = 0
    throttled: int = 0


@dataclass(frozen=True, slots=True)
class PushRun:
    run_id: int
    pusher_id: int
    started: datetime
    finished: datetime | None
    outcome: PushOutcome
    counts: PushCounts
    record_errors: tuple[RecordError, ...]
    error: str | None
