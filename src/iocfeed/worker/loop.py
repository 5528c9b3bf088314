"""The worker: runs due sources, delivers webhooks, runs SIEM pushers, the expiry and decay
sweeps and warninglist re-checks, on a short poll, until stopped.

The sweeps run here, not in the web process (unless ``sweep_in_server``): the expiry sweep
every ``expiry_sweep_seconds`` and the decay sweep (``lifecycle.decay``, in bounded batches)
every ``decay_sweep_seconds``, each once across all workers and hosts (a lease,
``iocfeed.sweeps``).

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
from dataclasses import dataclass, field

from iocfeed.services import Services
from iocfeed.sources.model import SourceRun
from iocfeed.sweeps import holder_name, sweep_decayed, sweep_expired
from iocfeed.worker.runs import SourceRunner
from iocfeed.worker.sentinel import SentinelPusher
from iocfeed.worker.webhooks import WebhookDispatcher

log = logging.getLogger("iocfeed.worker")


@dataclass
class Worker:
    services: Services
    holder: str = field(default_factory=holder_name)
    _dispatcher: WebhookDispatcher | None = field(default=None, init=False)

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

    @property
    def dispatcher(self) -> WebhookDispatcher:
        if self._dispatcher is None:
            built = self.services
            self._dispatcher = WebhookDispatcher(
                built.settings,
                built.clock,
                built.webhooks,
                built.keys,
                built.search,
                built.producer,
                built.tokens.secret,
            )
        return self._dispatcher

    def run_once(self) -> list[SourceRun]:
        """One pass: every due source once, the due webhooks, then the expiry sweep."""
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
        self._push()
        self._sweep()
        self._decay()
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

    @property
    def pusher(self) -> SentinelPusher:
        built = self.services
        return SentinelPusher(
            built.settings, built.clock, built.pushers, built.search, built.producer
        )

    def _push(self) -> None:
        """Deliver what due webhooks are owed (``worker.webhooks``), run due pushers
        (``worker.sentinel``)."""
        try:
            self.dispatcher.run_due()
        except Exception:  # e.g. the database is down: try again at the next pass
            log.exception("webhook deliveries failed")
        try:
            for run in self.pusher.run_due():
                log.info(
                    "pusher run %d %s: %d uploaded, %d rejected, %d throttled%s",
                    run.run_id,
                    run.outcome.value,
                    run.counts.uploaded,
                    run.counts.rejected,
                    run.counts.throttled,
                    f" ({run.error})" if run.error else "",
                )
        except Exception:
            log.exception("pusher runs failed")

    def _sweep(self) -> None:
        """Revoke indicators past ``valid_until`` when this worker wins the due sweep
        (SPEC §1; once per interval across the cluster, ``iocfeed.sweeps``)."""
        try:
            expired = sweep_expired(self.services, self.holder)
            if expired:
                log.info("revoked %d expired indicators", expired)
        except Exception:  # the sweep must outlive a database hiccup
            log.exception("expiry sweep failed")

    def _decay(self) -> None:
        """Publish lower scores and revoke decayed indicators when this worker wins the due
        decay sweep (once per interval across the cluster, ``iocfeed.sweeps``)."""
        try:
            swept = sweep_decayed(self.services, self.holder)
            if swept is not None and (swept.published or swept.revoked):
                log.info(
                    "decay: %d lower scores published, %d indicators revoked",
                    swept.published,
                    swept.revoked,
                )
        except Exception:  # the sweep must outlive a database hiccup
            log.exception("decay sweep failed")

    def run_forever(self, stop: threading.Event, poll_seconds: float) -> None:
        try:
            while not stop.is_set():
                try:
                    self.run_once()
                except Exception:  # e.g. the database is down: try again at the next poll
                    log.exception("worker pass failed")
                stop.wait(poll_seconds)
        finally:
            self.close()

    def close(self) -> None:
        """Close the outbound connections the worker keeps."""
        if self._dispatcher is not None:
            self._dispatcher.close()
