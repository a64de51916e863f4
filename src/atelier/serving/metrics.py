"""Prometheus metrics of one scoring app, kept in the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["ScoringMetrics"]

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
        )

    @staticmethod
    def path_label(path: str) -> str:
        """``path`` if it is one of the app's routes, else ``other``."""
        return path if path in KNOWN_PATHS else "other"

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)
