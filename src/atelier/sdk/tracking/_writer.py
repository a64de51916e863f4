"""Batched metric writing: ``run.log`` appends to memory, a background thread stores.

A script that calls ``run.log`` in a tight loop pays for a list append, not a database
round trip. The buffer is written every ``interval`` seconds, when it grows past
``batch_points``, before any read or status change of the run, and at interpreter exit.
A crash loses at most what was not yet written; each write is one transaction.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Any

from atelier.client.backend import Backend, ScalarBatch
from atelier.core.errors import AtelierError
from atelier.core.timeutil import now_ms

_live: weakref.WeakSet[MetricWriter] = weakref.WeakSet()


class MetricWriter:
    def __init__(
        self,
        backend: Backend,
        workspace: str,
        run_id: str,
        *,
        interval: float = 0.5,
        batch_points: int = 200_000,
    ) -> None:
        self._backend = backend
        self._workspace = workspace
        self._run_id = run_id
        self._interval = interval
        self._batch_points = batch_points
        self._series: dict[str, tuple[list[int], list[float], list[int]]] = {}
        self._documents: list[tuple[str, str, Any]] = []
        self._next_step: dict[str, int] = {}
        self._pending = 0
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.error: AtelierError | None = None
        _live.add(self)

    def add_scalar(self, name: str, value: float, step: int | None) -> None:
        with self._buffer_lock:
            if step is None:
                step = self._next_step.get(name, 0)
            self._next_step[name] = step + 1
            columns = self._series.get(name)
            if columns is None:
                columns = self._series[name] = ([], [], [])
            columns[0].append(step)
            columns[1].append(value)
            columns[2].append(now_ms())
            self._pending += 1
            pending = self._pending
        if self._thread is None:
            self._start()
        if pending >= self._batch_points:
            self._wake.set()

    def add_document(self, name: str, kind: str, value: Any) -> None:
        with self._buffer_lock:
            self._documents.append((name, kind, value))
            self._pending += 1
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._buffer_lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(
                target=self._loop, name=f"atelier-metrics-{self._run_id}", daemon=True
            )
            self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush(raise_error=False)
            except Exception:
                continue

    def flush(self, raise_error: bool = True) -> None:
        """Write everything buffered so far; raise the last background error, if any."""
        with self._write_lock:
            with self._buffer_lock:
                series, self._series = self._series, {}
                documents, self._documents = self._documents, []
                self._pending = 0
            try:
                if series:
                    batches: dict[str, ScalarBatch] = dict(series)
                    self._backend.metrics.log_scalars(self._workspace, self._run_id, batches)
                if documents:
                    self._backend.metrics.log_documents(self._workspace, self._run_id, documents)
            except AtelierError as exc:
                self.error = exc
        if raise_error and self.error is not None:
            error, self.error = self.error, None
            raise error

    def close(self) -> None:
        """Write what is left and stop the background thread."""
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self.flush()


def flush_all() -> None:
    """Write every live writer's buffer (before reads that may span several runs)."""
    for writer in list(_live):
        writer.flush(raise_error=False)


@atexit.register
def _flush_at_exit() -> None:
    for writer in list(_live):
        writer._closed = True
        writer.flush(raise_error=False)
