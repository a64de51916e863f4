"""Handing mini-batches to workers: retries, time limits, failure limits, ordered output.

Each worker has at most one mini-batch at a time (so a time limit is the batch's own).
A mini-batch that raises, times out, or whose worker dies goes back to the front of the
queue until it has been tried ``run_max_try`` times; then it has failed for good and its
items count against ``error_threshold``. Results are appended to a temporary file in
mini-batch order as soon as the batches before them are settled, and the file takes its
final name only when the whole input succeeded within the limits.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from atelier.core.errors import EntryScriptError, RunFailedError

PROGRESS_SECONDS = 1.0


class Workers(Protocol):
    size: int

    def start(self, slot: int) -> None: ...
    def send(self, slot: int, batch_id: int, task: tuple[Any, ...]) -> None: ...
    def wait(self, timeout: float) -> list[tuple[int, tuple[Any, ...]]]: ...
    def kill(self, slot: int) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Limits:
    run_max_try: int
    run_invocation_timeout: float
    error_threshold: int
    allowed_failed_count: int | None
    allowed_failed_percent: float | None


@dataclass
class Progress:
    """Counts as the step goes; ``report`` is called with it about once a second."""

    total_batches: int
    total_items: int
    succeeded_batches: int = 0
    failed_batches: int = 0
    processed_items: int = 0
    failed_items: int = 0
    retries: int = 0
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_mini_batches": self.total_batches,
            "succeeded_mini_batches": self.succeeded_batches,
            "failed_mini_batches": self.failed_batches,
            "total_items": self.total_items,
            "processed_items": self.processed_items,
            "failed_items": self.failed_items,
            "retries": self.retries,
            "elapsed_seconds": round(time.monotonic() - self.started, 3),
        }


class _Ordered:
    """Writes each settled mini-batch's bytes in batch order."""

    def __init__(self, sink: IO[bytes] | None) -> None:
        self.sink = sink
        self.next = 0
        self.held: dict[int, bytes] = {}

    def settle(self, batch_id: int, data: bytes) -> None:
        self.held[batch_id] = data
        while self.next in self.held:
            chunk = self.held.pop(self.next)
            if chunk and self.sink is not None:
                self.sink.write(chunk)
            self.next += 1


class Scheduler:
    def __init__(
        self,
        workers: Workers,
        tasks: list[tuple[Any, ...]],
        sizes: list[int],
        limits: Limits,
        say: Callable[[str], None],
        report: Callable[[Progress], None],
    ) -> None:
        self.workers = workers
        self.tasks = tasks
        self.sizes = sizes
        self.limits = limits
        self.say = say
        self.report = report
        self.progress = Progress(len(tasks), sum(sizes))
        self.pending: collections.deque[int] = collections.deque(range(len(tasks)))
        self.tries = [0] * len(tasks)
        self.idle: list[int] = []
        self.ready: set[int] = set()
        self.busy: dict[int, tuple[int, float]] = {}

    def run(self, sink: IO[bytes] | None) -> Progress:
        """Score every mini-batch; raises :class:`RunFailedError` past a failure limit and
        :class:`EntryScriptError` when ``init()`` fails."""
        ordered = _Ordered(sink)
        for slot in range(min(self.workers.size, max(1, len(self.tasks)))):
            self.workers.start(slot)
        last_report, reported = time.monotonic(), 0
        try:
            while ordered.next < len(self.tasks):
                self._dispatch()
                for slot, message in self.workers.wait(self._wait_seconds()):
                    self._handle(slot, message, ordered)
                self._expire(ordered)
                settled = self.progress.succeeded_batches + self.progress.failed_batches
                if time.monotonic() - last_report >= PROGRESS_SECONDS and settled != reported:
                    self.report(self.progress)
                    last_report, reported = time.monotonic(), settled
        finally:
            for slot in list(self.busy):
                self.workers.kill(slot)
            self.workers.close()
        self.report(self.progress)
        return self.progress

    def _dispatch(self) -> None:
        while self.idle and self.pending:
            slot = self.idle.pop()
            batch_id = self.pending.popleft()
            self.tries[batch_id] += 1
            self.workers.send(slot, batch_id, self.tasks[batch_id])
            self.busy[slot] = (batch_id, time.monotonic())

    def _wait_seconds(self) -> float:
        if not self.busy:
            return PROGRESS_SECONDS
        oldest = min(started for _, started in self.busy.values())
        left = oldest + self.limits.run_invocation_timeout - time.monotonic()
        return max(0.0, min(PROGRESS_SECONDS, left))

    def _handle(self, slot: int, message: tuple[Any, ...], ordered: _Ordered) -> None:
        kind = message[0]
        if kind == "ready":
            self.ready.add(slot)
            self.idle.append(slot)
        elif kind == "init_failed":
            raise EntryScriptError(f"init() of the entry script failed:\n{message[1]}")
        elif kind == "done":
            _, batch_id, count, data = message
            self.busy.pop(slot, None)
            self.idle.append(slot)
            self.progress.succeeded_batches += 1
            self.progress.processed_items += min(count, self.sizes[batch_id])
            short = self.sizes[batch_id] - count
            if short > 0:
                self.say(
                    f"mini-batch {batch_id}: run() returned {count} results for "
                    f"{self.sizes[batch_id]} items; {short} count as failed"
                )
                self._failed_items(short)
            ordered.settle(batch_id, data)
        elif kind == "failed":
            batch_id = self.busy.pop(slot)[0]
            self.idle.append(slot)
            self._failed_try(batch_id, message[2], ordered)
        elif kind == "died":
            entry = self.busy.pop(slot, None)
            if slot not in self.ready:  # died before it was ready: init() crashed it
                raise EntryScriptError(f"init() of the entry script failed: {message[1]}")
            self._restart(slot)
            if entry is not None:
                self._failed_try(entry[0], str(message[1]), ordered)

    def _expire(self, ordered: _Ordered) -> None:
        now = time.monotonic()
        for slot, (batch_id, started) in list(self.busy.items()):
            if now - started >= self.limits.run_invocation_timeout:
                self.workers.kill(slot)
                del self.busy[slot]
                self._restart(slot)
                limit = self.limits.run_invocation_timeout
                reason = f"run() took longer than run_invocation_timeout ({limit:g} s)"
                self._failed_try(batch_id, reason, ordered)

    def _restart(self, slot: int) -> None:
        self.ready.discard(slot)
        if slot in self.idle:
            self.idle.remove(slot)
        self.workers.start(slot)

    def _failed_try(self, batch_id: int, reason: str, ordered: _Ordered) -> None:
        tries = self.tries[batch_id]
        self.say(
            f"mini-batch {batch_id} failed (try {tries} of {self.limits.run_max_try}): {reason}"
        )
        if tries < self.limits.run_max_try:
            self.progress.retries += 1
            self.pending.appendleft(batch_id)
            return
        self.progress.failed_batches += 1
        ordered.settle(batch_id, b"")
        self._failed_items(self.sizes[batch_id])
        limit_count = self.limits.allowed_failed_count
        if (
            limit_count is not None
            and limit_count != -1
            and self.progress.failed_batches > limit_count
        ):
            self._abort(
                f"{self.progress.failed_batches} mini-batches failed, more than "
                f"allowed_failed_count={limit_count}"
            )
        percent = self.limits.allowed_failed_percent
        if percent is not None:
            share = 100.0 * self.progress.failed_batches / max(1, self.progress.total_batches)
            if share > percent:
                self._abort(
                    f"{share:.1f}% of the mini-batches failed, more than "
                    f"allowed_failed_percent={percent:g}"
                )

    def _failed_items(self, count: int) -> None:
        self.progress.failed_items += count
        threshold = self.limits.error_threshold
        if threshold != -1 and self.progress.failed_items > threshold:
            self._abort(
                f"{self.progress.failed_items} items failed, more than error_threshold={threshold}"
            )

    def _abort(self, why: str) -> None:
        self.report(self.progress)
        raise RunFailedError(
            f"batch scoring stopped: {why}. Fix the entry script or the data, or raise the "
            "limit (-1 ignores failures)"
        )
