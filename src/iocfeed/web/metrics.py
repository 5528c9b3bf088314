"""Prometheus metrics: requests by route and status, latency, indicators by type.

Under ``iocfeed serve --workers N`` every worker counts into files in one shared directory
(``PROMETHEUS_MULTIPROC_DIR``, which ``serve`` makes, empties at start and removes at exit)
and ``/metrics`` answers with the sum over every worker that has run, whichever worker the
scrape reaches: the client library's multiprocess mode. A worker's counts stay in the sum
after it exits or is replaced, so totals never go back. Indicator counts come from the
database and are the same from any worker.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from iocfeed.indicators.model import IocType

# Counting a million rows per scrape is wasteful; indicator counts may be this old.
COUNTS_MAX_AGE_SECONDS = 30.0
# The client library's own switch to its multiprocess mode, read when it is imported.
SHARED_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class _IndicatorCounts(Collector):
    def __init__(self, count: Callable[[], dict[IocType, int]]) -> None:
        self.count = count
        self.cached: tuple[float, dict[IocType, int]] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = time.monotonic()
        if self.cached is None or now - self.cached[0] > COUNTS_MAX_AGE_SECONDS:
            self.cached = (now, self.count())
        family = GaugeMetricFamily(
            "iocfeed_indicators", "Indicators stored, by type (latest versions).", labels=["type"]
        )
        for ioc_type, value in self.cached[1].items():
            family.add_metric([ioc_type.value], value)
        yield family


def shared_dir() -> str | None:
    """The directory all workers count into, when the multiprocess mode is on."""
    return os.environ.get(SHARED_DIR_VARIABLE) or None


class Metrics:
    """One registry per app, so that several apps (tests, workers) never share state,
    unless the multiprocess mode is on (``shared``), where all workers add up."""

    def __init__(
        self,
        count_indicators: Callable[[], dict[IocType, int]],
        limiter_failures: Callable[[], int] = lambda: 0,
        *,
        shared: str | None = None,
    ) -> None:
        self.shared = shared
        self.registry = CollectorRegistry()
        # In multiprocess mode the values live in the shared files and are read from there.
        own = None if shared else self.registry
        self.requests = Counter(
            "iocfeed_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=own,
        )
        self.latency = Histogram(
            "iocfeed_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route"],
            registry=own,
        )
        self.limiter_failures = Counter(
            "iocfeed_rate_limiter_redis_failures",
            "Redis errors of the rate limiter (counted in the database instead).",
            registry=own,
        )
        self._failures = limiter_failures
        self._failures_counted = 0
        self._lock = threading.Lock()
        if shared:
            multiprocess.MultiProcessCollector(self.registry, path=shared)  # type: ignore[no-untyped-call]
        self.registry.register(_IndicatorCounts(count_indicators))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        self._count_failures()

    def _count_failures(self) -> None:
        """Carry the limiter's own failure count into the (possibly shared) counter."""
        with self._lock:
            failures = self._failures()
            if failures > self._failures_counted:
                self.limiter_failures.inc(failures - self._failures_counted)
                self._failures_counted = failures

    def render(self) -> bytes:
        self._count_failures()
        return generate_latest(self.registry)

    def close(self) -> None:
        """This worker is exiting: drop its live-only files (its counts stay in the sum)."""
        if self.shared:
            multiprocess.mark_process_dead(os.getpid(), self.shared)  # type: ignore[no-untyped-call]
