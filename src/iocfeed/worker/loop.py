"""The worker: runs due sources and the expiry and decay sweeps, on a short poll, until stopped.

The expiry sweep runs here, not in the web process (unless ``sweep_in_server``): at the
first pass, then every ``expiry_sweep_seconds``. The decay sweep (``lifecycle.decay``)
runs at the first pass, then every ``decay_sweep_seconds``, in bounded batches.

Any number of workers may share one database: a source is run by whichever worker claims
its lease first (``store.sources``), and only while it is still due, so each due source
runs once; a crashed worker's lease expires and the source is picked up again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from iocfeed.services import Services
from iocfeed.sources.model import SourceRun
from iocfeed.worker.runs import SourceRunner

log = logging.getLogger("iocfeed.worker")


@dataclass
class Worker:
    services: Services
    _last_sweep: float | None = field(default=None, init=False)
    _last_decay: float | None = field(default=None, init=False)

    @property
    def runner(self) -> SourceRunner:
        built = self.services
        return SourceRunner(built.settings, built.clock, built.indicators, built.sources)

    def run_once(self) -> list[SourceRun]:
        """One pass: every due source once, then the expiry sweep."""
        runs = self.runner.run_due()
        for run in runs:
            log.info(
                "source run %d %s: %d added, %d updated, %d revoked%s",
                run.run_id,
                run.outcome.value,
                run.counts.added,
                run.counts.updated,
                run.counts.revoked,
                f" ({run.error})" if run.error else "",
            )
        self._sweep()
        self._decay()
        return runs

    def _sweep(self) -> None:
        """Revoke indicators past ``valid_until``, when the sweep is due (SPEC §1)."""
        interval = self.services.settings.expiry_sweep_seconds
        started = time.monotonic()
        if interval <= 0 or (
            self._last_sweep is not None and started - self._last_sweep < interval
        ):
            return
        self._last_sweep = started
        try:
            expired = self.services.indicators.expire_due(self.services.clock.now())
            if expired:
                log.info("revoked %d expired indicators", expired)
        except Exception:  # the sweep must outlive a database hiccup
            log.exception("expiry sweep failed")

    def _decay(self) -> None:
        """Publish lower scores and revoke decayed indicators, when the sweep is due."""
        settings = self.services.settings
        interval = settings.decay_sweep_seconds
        started = time.monotonic()
        if interval <= 0 or (
            self._last_decay is not None and started - self._last_decay < interval
        ):
            return
        self._last_decay = started
        try:
            swept = self.services.indicators.decay_due(
                self.services.clock.now(),
                batch_size=settings.decay_sweep_batch,
                max_batches=settings.decay_sweep_max_batches,
            )
            if swept.published or swept.revoked:
                log.info(
                    "decay: %d lower scores published, %d indicators revoked",
                    swept.published,
                    swept.revoked,
                )
        except Exception:  # the sweep must outlive a database hiccup
            log.exception("decay sweep failed")

    def run_forever(self, stop: threading.Event, poll_seconds: float) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # e.g. the database is down: try again at the next poll
                log.exception("worker pass failed")
            stop.wait(poll_seconds)
