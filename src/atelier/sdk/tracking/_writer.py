"""Batched metric writing: ``run.log`` appends to memory, a background thread stores.

A script that calls ``run.log`` in a tight loop pays for a list append, not a database
round trip. The buffer is written every ``interval`` seconds, when it grows past
``batch_points``, before any read or status change of the run, and at interpreter exit.
A crash loses at most what was not yet written; each write is one transaction.

A write that fails keeps its points: they go back to the front of the buffer, the
background thread tries again at its next tick, and the failure is raised (as an
``AtelierError``; anything else as a ``StoreError``) by ``flush()``, ``complete()`` and the
next ``run.log`` until a write succeeds. Points still unwritten at interpreter exit are
reported on stderr, never dropped in silence.
"""

from __future__ import annotations

import atexit
import os
import socket
import sys
import threading
import time
import weakref
from typing import Any

from atelier.client.api.supervision import SupervisionAPI
from atelier.client.backend import Backend, ScalarBatch
from atelier.core.errors import AtelierError, StoreError
from atelier.core.processes import process_start
from atelier.core.status import TERMINAL_STATUSES
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
        self._supervision: SupervisionAPI | None = None
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
            self.flush(raise_error=False)  # a failure keeps the points for the next tick

    @property
    def pending(self) -> int:
        """Points (scalars and documents) logged but not yet written."""
        return self._pending

    def flush(self, raise_error: bool = True) -> None:
        """Write everything buffered so far. When the write fails its points stay buffered
        and, with ``raise_error``, the failure is raised; it is raised again at each flush
        until a write succeeds."""
        with self._write_lock:
            with self._buffer_lock:
                series, self._series = self._series, {}
                documents, self._documents = self._documents, []
                self._pending = 0
            try:
                if series:
                    batches: dict[str, ScalarBatch] = dict(series)
                    self._backend.metrics.log_scalars(self._workspace, self._run_id, batches)
                    series = {}  # written: a failure of the documents must not repeat them
                if documents:
                    self._backend.metrics.log_documents(self._workspace, self._run_id, documents)
                self.error = None
            except BaseException as exc:
                self._keep(series, documents)
                if not isinstance(exc, Exception):
                    raise  # KeyboardInterrupt, SystemExit: the points are kept all the same
                self.error = self._typed(exc)
        if raise_error and self.error is not None:
            raise self.error

    def _keep(
        self,
        series: dict[str, tuple[list[int], list[float], list[int]]],
        documents: list[tuple[str, str, Any]],
    ) -> None:
        """Put points whose write failed back before those logged meanwhile."""
        with self._buffer_lock:
            for name, (steps, values, times) in series.items():
                newer = self._series.get(name)
                if newer is not None:
                    steps.extend(newer[0])
                    values.extend(newer[1])
                    times.extend(newer[2])
                self._series[name] = (steps, values, times)
            self._documents[:0] = documents
            self._pending += sum(len(columns[0]) for columns in series.values()) + len(documents)

    def _typed(self, exc: Exception) -> AtelierError:
        if isinstance(exc, AtelierError):
            return exc
        error = StoreError(
            f"the metrics of run {self._run_id!r} could not be written "
            f"({type(exc).__name__}: {exc}); they are kept and written again at the next "
            "flush: call run.flush() or run.complete() once the store answers"
        )
        error.__cause__ = exc
        return error

    def keep_alive(self) -> None:
        """Heartbeat the run from this process every few seconds until it ends, naming this
        process as its supervisor: if the process dies, the reaper (a polling client, the
        agent or the server) fails the run instead of leaving it Running for ever."""
        supervisor = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pid_start": process_start(os.getpid()),
            "kind": "interactive",
        }
        # the SDK's Backend leaves supervision out; the connection behind it provides it
        supervision: SupervisionAPI | None = getattr(self._backend, "supervision", None)
        if supervision is None:
            return
        try:
            supervision.heartbeat(self._workspace, self._run_id, supervisor)
        except AtelierError:
            return  # a backend that refuses heartbeats (a narrow token): no reaping then
        self._supervision = supervision
        _heartbeats.add(self)

    def close(self) -> None:
        """Write what is left and stop the background thread."""
        _heartbeats.discard(self)
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self.flush()


class _Heartbeats:
    """One thread per process heartbeats every unfinished interactive run it started."""

    SECONDS = 5.0

    def __init__(self) -> None:
        self._writers: set[MetricWriter] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, writer: MetricWriter) -> None:
        with self._lock:
            self._writers.add(writer)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="atelier-heartbeats", daemon=True
                )
                self._thread.start()

    def discard(self, writer: MetricWriter) -> None:
        with self._lock:
            self._writers.discard(writer)

    def _loop(self) -> None:
        while True:
            time.sleep(self.SECONDS)
            with self._lock:
                writers = list(self._writers)
            for writer in writers:
                if writer._supervision is None:
                    continue
                try:
                    status = writer._supervision.heartbeat(writer._workspace, writer._run_id)
                except Exception:
                    continue
                if status in TERMINAL_STATUSES:
                    self.discard(writer)


_heartbeats = _Heartbeats()


def flush_all() -> None:
    """Write every live writer's buffer (before reads that may span several runs)."""
    for writer in list(_live):
        writer.flush(raise_error=False)


@atexit.register
def _flush_at_exit() -> None:
    for writer in list(_live):
        writer._closed = True
        writer.flush(raise_error=False)
        if writer.error is not None and writer.pending:
            print(
                f"atelier: {writer.pending} metric points of run {writer._run_id!r} were "
                f"not written: {writer.error}",
                file=sys.stderr,
            )
