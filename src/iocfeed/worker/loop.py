"""The worker: runs due sources, the expiry sweep and warninglist re-checks, until stopped.

The expiry sweep runs here, not in the web process (unless ``sweep_in_server``): at the
first pass, then every ``expiry_sweep_seconds``.

Any number of workers may share one database: a source is run by whichever worker claims
its lease first (``store.sources``), and only while it is still due, so each due source
runs once; a crashed worker's lease expires and the source is picked up again.

A warninglist policy change asks for a re-check of stored indicators; each pass runs the
re-checks asked for (``iocfeed.warninglists``). Two workers re-checking at once publish
each change once: every change is re-read under the write lock.
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

    @property
    def runner(self) -> SourceRunner:
        built = self.services
        return SourceRunner(
            built.settings,
            built.clock,
            built.indicators,
            built.sources,
            warninglists=built.warninglists,
        )

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
        self._recheck()
        return runs

    def _recheck(self) -> None:
        """Publish revoked or flagged versions for lists whose policy changed."""
        try:
            published = self.services.warninglists.recheck_due()
            if published:
                log.info("warninglist re-check published %d versions", published)
        except Exception:  # like the sweep, must outlive a database hiccup
            log.exception("warninglist re-check failed")

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

    def run_forever(self, stop: threading.Event, poll_seconds: float) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # e.g. the database is down: try again at the next poll
                log.exception("worker pass failed")
            stop.wait(poll_seconds)
