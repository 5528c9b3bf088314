"""Use case: the expiry and decay sweeps, each run once per interval across every process
and host.

Web workers (with ``sweep_in_server``) and ``iocfeed worker`` processes all call
:func:`sweep_expired` and :func:`sweep_decayed` on their own timers; the leases in the store
(``store.leases``) let exactly one of them run each due sweep.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from iocfeed.services import Services
from iocfeed.store.indicators import DecaySweep
from iocfeed.store.leases import DECAY_SWEEP, EXPIRY_SWEEP


def holder_name() -> str:
    """Who claims a lease: this host and process, for the ``sweep_leases`` row."""
    return f"{socket.gethostname()}:{os.getpid()}"


def sweep_expired(services: Services, holder: str) -> int | None:
    """Revoke the indicators past ``valid_until`` if this process wins the sweep due now.

    Returns how many were revoked, or ``None`` when the sweep is off
    (``expiry_sweep_seconds`` = 0) or not due or run by another process.
    """
    interval = services.settings.expiry_sweep_seconds
    if interval <= 0:
        return None
    now = services.clock.now()
    if not services.leases.claim(EXPIRY_SWEEP, holder, now, timedelta(seconds=interval)):
        return None
    return services.indicators.expire_due(now)


def sweep_decayed(services: Services, holder: str) -> DecaySweep | None:
    """Publish decayed scores and revoke decayed indicators (``lifecycle.decay``) if this
    process wins the sweep due now; ``None`` when it is off, not due or run elsewhere."""
    settings = services.settings
    interval = settings.decay_sweep_seconds
    if interval <= 0:
        return None
    now = services.clock.now()
    if not services.leases.claim(DECAY_SWEEP, holder, now, timedelta(seconds=interval)):
        return None
    return services.indicators.decay_due(
        now, batch_size=settings.decay_sweep_batch, max_batches=settings.decay_sweep_max_batches
    )
