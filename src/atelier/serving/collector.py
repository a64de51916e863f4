"""Model data collection: an endpoint's inputs and predictions, as Parquet, by day.

When a deployment's config says ``collect_model_data=True``, the router hands each
answered ``/score`` request to :class:`ModelDataCollector`, which only appends it to a
buffer. A background task writes the buffer every few seconds (or once it holds
``batch_rows`` rows) as one Parquet file per deployment and day into the workspace's
storage, ``.../modeldata/<endpoint>/<deployment>/date=YYYY-MM-DD/part-*.parquet``
(see :func:`atelier.core.endpoints.model_data_prefix`), and once more at shutdown.

Columns: ``timestamp`` (UTC), ``request_id``, ``status`` (the HTTP status), ``input``
(the request body as text) and ``prediction`` (the response body as text).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from atelier.core.errors import AtelierError

if TYPE_CHECKING:
    from atelier.client.api import EndpointReportingAPI

__all__ = ["ModelDataCollector"]

FLUSH_SECONDS = 2.0
BATCH_ROWS = 2000
#: at most this many rows wait in memory; beyond it new rows are dropped (and counted)
MAX_BUFFERED_ROWS = 100_000


class ModelDataCollector:
    """Buffers scored requests and writes them in Parquet batches."""

    def __init__(
        self, reporting: EndpointReportingAPI, workspace: str, endpoint: str, log: Any
    ) -> None:
        self.reporting = reporting
        self.workspace = workspace
        self.endpoint = endpoint
        self.log = log
        self.rows: list[tuple[str, float, str, int, bytes, bytes]] = []
        self.dropped = 0
        self.written = 0
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def add(
        self, deployment: str, request_id: str, status: int, body: bytes, answer: bytes
    ) -> None:
        """Remember one request (called by the router, on its event loop)."""
        if len(self.rows) >= MAX_BUFFERED_ROWS:
            self.dropped += 1
            return
        self.rows.append((deployment, time.time(), request_id, status, body, answer))
        if len(self.rows) >= BATCH_ROWS:
            self._wake.set()

    async def run(self) -> None:
        """Flush every :data:`FLUSH_SECONDS`, or sooner when a batch is full."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            rows, self.rows = self.rows, []
            if not rows:
                return
            try:
                await asyncio.to_thread(self._write, rows)
            except (AtelierError, OSError, ValueError) as exc:
                self.dropped += len(rows)
                self.log(f"model data: could not write {len(rows)} rows: {exc}")

    def _write(self, rows: list[tuple[str, float, str, int, bytes, bytes]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        groups: dict[tuple[str, str], list[tuple[str, float, str, int, bytes, bytes]]] = {}
        for row in rows:
            day = datetime.fromtimestamp(row[1], UTC).strftime("%Y-%m-%d")
            groups.setdefault((row[0], day), []).append(row)
        for (deployment, day), group in groups.items():
            table = pa.table(
                {
                    "timestamp": pa.array(
                        [datetime.fromtimestamp(r[1], UTC) for r in group],
                        pa.timestamp("ms", tz="UTC"),
                    ),
                    "request_id": [r[2] for r in group],
                    "status": pa.array([r[3] for r in group], pa.int16()),
                    "input": [r[4].decode("utf-8", "replace") for r in group],
                    "prediction": [r[5].decode("utf-8", "replace") for r in group],
                }
            )
            sink = io.BytesIO()
            pq.write_table(table, sink, compression="zstd")
            self.reporting.write_model_data(
                self.workspace, self.endpoint, deployment, day, sink.getvalue()
            )
            self.written += len(group)
