"""Scoring processes on this machine, each a child with a pipe to the driver.

Processes are forked where the platform allows (the driver has already imported pandas
and pyarrow, so a new worker starts at once), spawned elsewhere. A worker that must be
stopped (a mini-batch past ``run_invocation_timeout``) is killed and replaced.
"""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.connection import Connection, wait
from typing import Any

from atelier.sdk.parallel_run._worker import WorkerSetup, serve

#: an event from a slot: the worker's message, or ("died", exit code text)
Event = tuple[int, tuple[Any, ...]]


class LocalWorkers:
    """``size`` worker processes, addressed by slot number."""

    def __init__(self, size: int, setup: WorkerSetup) -> None:
        self.size = size
        self._setup = setup
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._context: Any = multiprocessing.get_context(method)
        self._processes: dict[int, Any] = {}
        self._pipes: dict[int, Connection] = {}

    def start(self, slot: int) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(child, self._setup), name=f"atelier-scorer-{slot}", daemon=True
        )
        process.start()
        child.close()
        self._processes[slot] = process
        self._pipes[slot] = parent

    def send(self, slot: int, batch_id: int, task: tuple[Any, ...]) -> None:
        self._pipes[slot].send((batch_id, task))

    def wait(self, timeout: float) -> list[Event]:
        by_pipe = {id(pipe): slot for slot, pipe in self._pipes.items()}
        events: list[Event] = []
        ready: list[Any] = wait(list(self._pipes.values()), timeout)
        for pipe in ready:
            slot = by_pipe[id(pipe)]
            try:
                events.append((slot, pipe.recv()))
            except (EOFError, OSError):
                process = self._processes[slot]
                process.join(timeout=5)
                events.append((slot, ("died", f"the scoring process exited ({process.exitcode})")))
                self._forget(slot)
        return events

    def kill(self, slot: int) -> None:
        process = self._processes.get(slot)
        if process is not None:
            process.kill()
            process.join(timeout=5)
        self._forget(slot)

    def _forget(self, slot: int) -> None:
        pipe = self._pipes.pop(slot, None)
        if pipe is not None:
            pipe.close()
        self._processes.pop(slot, None)

    def close(self) -> None:
        for pipe in list(self._pipes.values()):
            try:
                pipe.send(None)
            except OSError:
                continue
        for slot, process in list(self._processes.items()):
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
            self._forget(slot)
