"""Prometheus metrics: requests by route and status, latency, indicators by type."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from iocfeed.indicators.model import IocType

# Counting a million rows per scrape is wasteful; indicator counts may be this old.
COUNTS_MAX_AGE_SECONDS = 30.0


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


class _LimiterFailures(Collector):
    def __init__(self, failures: Callable[[], int]) -> None:
        self.failures = failures

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "iocfeed_rate_limiter_redis_failures",
            "Redis errors of the rate limiter (counted in the database instead).",
            value=self.failures(),
        )


class Metrics:
    """One registry per app, so that several apps (tests, workers) never share state."""

    def __init__(
        self,
        count_indicators: Callable[[], dict[IocType, int]],
        limiter_failures: Callable[[], int] = lambda: 0,
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "iocfeed_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "iocfeed_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route"],
            registry=self.registry,
        )
        self.registry.register(_IndicatorCounts(count_indicators))
        self.registry.register(_LimiterFailures(limiter_failures))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
