"""The worker's database pool in ``/metrics``, and the thread count it is sized to.

Each worker process serves blocking work (routes, the Gate's audit, the reaper) on
``ATELIER_SERVER_THREADS`` threads, and its PostgreSQL pool keeps as many connections: a
thread that needs one finds one open instead of opening (and then closing) its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import anyio.to_thread
from fastapi import FastAPI
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from atelier.server.reaper import lifespan as reaper_lifespan
from atelier.store.database import Database


class PoolCollector(Collector):
    """Reads the pool's use when Prometheus scrapes (nothing is counted per request)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        status = self.database.pool_status()
        gauges = (
            ("size", "Connections the worker's database pool keeps open for reuse."),
            ("checked_out", "Database connections in use by a request now."),
            ("overflow", "Connections open beyond the pool's size now (closed after use)."),
        )
        for key, text in gauges:
            yield GaugeMetricFamily(f"atelier_db_pool_{key}", text, value=status[key])
        yield CounterMetricFamily(
            "atelier_db_connections_opened",
            "Database connections this worker has opened since it started.",
            value=status["opened"],
        )


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The app's lifespan: the worker's thread count, then the reaper."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = app.state.settings.server_threads
    async with reaper_lifespan(app):
        yield
