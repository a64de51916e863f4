"""Prometheus metrics of one scoring app, kept in the app's own registry.

An endpoint's router and its replicas share one set of numbers: the endpoint process sets
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode) for itself and its
replicas, each process writes its own files there, and ``/metrics`` anywhere sums them.
Requests of replicas that have stopped keep counting; in-flight gauges count live
processes only.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

__all__ = ["MULTIPROCESS_DIR", "ScoringMetrics", "process_gone"]

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


def process_gone(pid: int) -> None:
    """Drop a stopped process's in-flight gauge from the shared numbers (multiprocess mode)."""
    if os.environ.get(MULTIPROCESS_DIR):
        from prometheus_client.multiprocess import mark_process_dead

        mark_process_dead(pid)  # type: ignore[no-untyped-call]
