"""Scoring actors on a Ray cluster, for a ParallelRunStep on an ``AmlCompute`` target.

The driver runs as the run's Ray job, so ``ray.init()`` joins the cluster the job runs on.
``node_count × process_count_per_node`` actors (one CPU each) are spread over the nodes;
each loads the entry script and calls ``init()`` once, then scores the mini-batches it is
handed one at a time. Like the run's folder itself (see ``atelier.execution.ray_compute``),
the source folder, the inputs' Arrow files and the output folder are read at the same
paths on every node: the local head, or a cluster on a shared filesystem.
"""

from __future__ import annotations

import logging
from typing import Any

from atelier.sdk.parallel_run._worker import BatchError, Scorer, WorkerSetup, _describe

Event = tuple[int, tuple[Any, ...]]


class _Actor:
    def __init__(self, setup: WorkerSetup) -> None:
        self.setup = setup
        self.scorer: Scorer | None = None

    def init(self) -> tuple[Any, ...]:
        try:
            self.scorer = Scorer(self.setup)
            self.scorer.init()
        except BaseException as exc:
            return ("init_failed", _describe(exc))
        return ("ready",)

    def score(self, batch_id: int, task: tuple[Any, ...]) -> tuple[Any, ...]:
        assert self.scorer is not None
        try:
            count, data = self.scorer.score(task)
        except BatchError as exc:
            return ("failed", batch_id, str(exc))
        except Exception as exc:
            return ("failed", batch_id, _describe(exc))
        return ("done", batch_id, count, data)


class RayWorkers:
    """``size`` actors, addressed by slot number, with the same events as local workers."""

    def __init__(self, size: int, setup: WorkerSetup) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(logging_level=logging.WARNING, log_to_driver=True)
        self._ray = ray
        self.size = size
        self._setup = setup
        self._remote: Any = ray.remote(num_cpus=1, max_restarts=0)(_Actor)
        self._actors: dict[int, Any] = {}
        self._pending: dict[Any, int] = {}

    def start(self, slot: int) -> None:
        actor = self._remote.options(scheduling_strategy="SPREAD").remote(self._setup)
        self._actors[slot] = actor
        self._pending[actor.init.remote()] = slot

    def send(self, slot: int, batch_id: int, task: tuple[Any, ...]) -> None:
        self._pending[self._actors[slot].score.remote(batch_id, task)] = slot

    def wait(self, timeout: float) -> list[Event]:
        if not self._pending:
            return []
        done, _ = self._ray.wait(list(self._pending), num_returns=1, timeout=timeout)
        events: list[Event] = []
        for ref in done:
            slot = self._pending.pop(ref)
            try:
                events.append((slot, self._ray.get(ref)))
            except self._ray.exceptions.RayActorError as exc:
                self._actors.pop(slot, None)
                events.append((slot, ("died", f"the scoring actor died: {exc}")))
        return events

    def kill(self, slot: int) -> None:
        actor = self._actors.pop(slot, None)
        for ref in [r for r, s in self._pending.items() if s == slot]:
            del self._pending[ref]
        if actor is not None:
            self._ray.kill(actor, no_restart=True)

    def close(self) -> None:
        for slot in list(self._actors):
            self.kill(slot)
