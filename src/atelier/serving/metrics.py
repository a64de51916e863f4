"""Prometheus metrics of one scoring app, kept in the app's own registry.

An endpoint's router and its replicas share one set of numbers: the endpoint process sets
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) for itself and its
replicas, each process writes its own files there, and ``/metrics`` anywhere sums them.
Requests of replicas that have stopped keep counting; in-flight gauges count live
processes only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

__all__ = ["MULTIPROCESS_DIR", "CountedRequest", "ScoringMetrics", "process_gone", "summarize"]

_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Label values are limited to the app's own routes so a scan of random URLs cannot
# grow the series without bound.
KNOWN_PATHS = frozenset({"/score", "/healthz", "/readyz", "/metrics", "/swagger.json"})


class ScoringMetrics:
    """Request count by status, latency, errors and in-flight requests of one app.

    Each app has its own :class:`CollectorRegistry`, so several apps in one process (tests)
    do not share counters. With several workers each process reports its own numbers.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "atelier_scoring_requests",
            "HTTP requests answered, by path, method and status code.",
            ["path", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "atelier_scoring_request_duration_seconds",
            "Time from receiving a request to sending its response.",
            ["path"],
            registry=self.registry,
        )
        self.errors = Counter(
            "atelier_scoring_errors",
            "Scoring requests that failed on the server side, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "atelier_scoring_requests_in_flight",
            "Requests being handled right now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    @staticmethod
    def path_label(path: str) -> str:
        """``path`` if it is one of the app's routes, else ``other``."""
        return path if path in KNOWN_PATHS else "other"

    def render(self) -> bytes:
        """The registry in the Prometheus text format (every process's, in multiprocess mode)."""
        if os.environ.get(MULTIPROCESS_DIR):
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class CountedRequest:
    """One request as ``metrics`` counts it: in flight from now, then counted (status,
    latency) just before its last body chunk is sent, so that a client that has its
    answer and then reads ``/metrics`` finds it there (counted after the send, it could
    be missing for a moment); a request that ends without a body is counted by
    :meth:`finish`, with status 500 if no response was started."""

    def __init__(self, metrics: ScoringMetrics, path: str, method: str) -> None:
        self._metrics = metrics
        self._path = ScoringMetrics.path_label(path)
        self._method = method
        self._started = time.perf_counter()
        self._status = 500
        self._counted = False
        metrics.in_flight.inc()

    def sending(self, send: _Send) -> _Send:
        """``send``, counting the request before the response's last body chunk."""

        async def counted(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self._status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                self.finish()
            await send(message)

        return counted

    def finish(self) -> None:
        if self._counted:
            return
        self._counted = True
        metrics = self._metrics
        metrics.in_flight.dec()
        metrics.latency.labels(self._path).observe(time.perf_counter() - self._started)
        metrics.requests.labels(self._path, self._method, str(self._status)).inc()


def process_gone(pid: int) -> None:
    """Drop a stopped process's in-flight gauge from the shared numbers (multiprocess mode)."""
    if os.environ.get(MULTIPROCESS_DIR):
        from prometheus_client.multiprocess import mark_process_dead

        mark_process_dead(pid)  # type: ignore[no-untyped-call]


def summarize(text: str, path: str = "/score") -> dict[str, object]:
    """What the Studio shows of an endpoint's ``/metrics`` text: the requests to ``path``
    by status code, their count, and latency (mean, and p50/p95/p99 estimated from the
    histogram's buckets, in milliseconds; None before the first request)."""
    from prometheus_client.parser import text_string_to_metric_families

    by_status: dict[str, float] = {}
    buckets: list[tuple[float, float]] = []
    total_seconds = 0.0
    observed = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("path") != path:
                continue
            if sample.name == "atelier_scoring_requests_total":
                status = sample.labels.get("status", "")
                by_status[status] = by_status.get(status, 0.0) + sample.value
            elif sample.name == "atelier_scoring_request_duration_seconds_bucket":
                bound = float(sample.labels.get("le", "inf"))
                buckets.append((bound, sample.value))
            elif sample.name == "atelier_scoring_request_duration_seconds_sum":
                total_seconds += sample.value
            elif sample.name == "atelier_scoring_request_duration_seconds_count":
                observed += sample.value
    merged: dict[float, float] = {}
    for bound, count in buckets:  # several processes' buckets add up
        merged[bound] = merged.get(bound, 0.0) + count
    ordered = sorted(merged.items())

    def quantile(q: float) -> float | None:
        if not observed or not ordered:
            return None
        wanted = q * observed
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in ordered:
            if count >= wanted:
                if bound == float("inf"):
                    return lower_bound * 1000  # beyond the last finite bucket
                share = (wanted - lower_count) / (count - lower_count) if count > lower_count else 1
                return (lower_bound + (bound - lower_bound) * share) * 1000
            lower_bound, lower_count = bound, count
        return lower_bound * 1000

    return {
        "requests": int(sum(by_status.values())),
        "by_status": {k: int(v) for k, v in sorted(by_status.items())},
        "errors": int(sum(v for k, v in by_status.items() if not k.startswith(("2", "3")))),
        "mean_ms": total_seconds / observed * 1000 if observed else None,
        "p50_ms": quantile(0.5),
        "p95_ms": quantile(0.95),
        "p99_ms": quantile(0.99),
    }
