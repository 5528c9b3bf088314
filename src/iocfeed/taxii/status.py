"""The TAXII 2.1 status resource (§4.3.1) that answers Add Objects (§5.5) and Get Status (§4.3)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iocfeed.taxii.timestamps import format_timestamp


class Status(enum.StrEnum):
    """§4.3.1 ``status``: whether the resource may still change."""

    COMPLETE = "complete"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class StatusDetails:
    """§4.3.1 ``status-details``: one posted object, its ``modified`` version and a note."""

    id: str
    version: str
    message: str | None = None

    def to_json(self) -> dict[str, str]:
        body = {"id": self.id, "version": self.version}
        if self.message:
            body["message"] = self.message
        return body


def status_resource(
    *,
    id: str,
    request_timestamp: datetime | None,
    successes: Sequence[StatusDetails] = (),
    failures: Sequence[StatusDetails] = (),
    pendings: Sequence[StatusDetails] = (),
    total_count: int | None = None,
) -> dict[str, Any]:
    """The status resource (§4.3.1); ``complete`` once nothing is pending.

    Counts come from the lists. ``total_count`` defaults to their sum; when it is larger,
    the objects not yet accounted for count as pending. Empty lists are omitted (§2
    forbids them).
    """
    counted = len(successes) + len(failures) + len(pendings)
    total = counted if total_count is None else total_count
    if total < counted:
        raise ValueError("total_count cannot be below the objects accounted for")
    pending_count = total - len(successes) - len(failures)
    body: dict[str, Any] = {
        "id": id,
        "status": (Status.PENDING if pending_count else Status.COMPLETE).value,
    }
    if request_timestamp is not None:
        body["request_timestamp"] = format_timestamp(request_timestamp)
    body["total_count"] = total
    body["success_count"] = len(successes)
    if successes:
        body["successes"] = [item.to_json() for item in successes]
    body["failure_count"] = len(failures)
    if failures:
        body["failures"] = [item.to_json() for item in failures]
    body["pending_count"] = pending_count
    if pendings:
        body["pendings"] = [item.to_json() for item in pendings]
    return body
