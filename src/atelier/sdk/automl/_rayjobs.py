"""AutoML iterations as Ray tasks on a workspace's Ray target (``AmlCompute``).

The search stays in the calling process and joins the cluster as a Ray driver (the
target's GCS address: a head Atelier started); each iteration is a task of
``max_cores_per_iteration`` CPUs, so ``max_concurrent_iterations`` of them spread over the
cluster's nodes. The featurized data go to the object store once, as a copy of the search
without its run; a task past its limit is cancelled (forced), as a forked iteration is
killed, and counts as timed out. Jobs are :class:`_bounded.Job`, read by its ``result``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from atelier.sdk.automl._bounded import Job
from atelier.sdk.automl._remote import iterate, worker_copy

__all__ = ["RayJobs"]


class RayJobs:
    """Start, wait for and stop iterations on the cluster at ``address``."""

    def __init__(self, address: str, search: Any) -> None:
        import ray

        self._ray = ray
        self._joined = not ray.is_initialized()
        if self._joined:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        self._worker = ray.put(worker_copy(search))
        cores = search.cores if search.cores > 0 else 1
        self._remote = ray.remote(num_cpus=cores, max_retries=0)(iterate)

    def spawn(
        self, name: str, params: dict[str, Any], scores: list[float], seconds: float, tag: Any
    ) -> Job:
        job = Job(tag, seconds, time.monotonic() + max(seconds, 0.0))
        job.ref = self._remote.remote(self._worker, name, params, scores)
        return job

    def kill(self, job: Job) -> None:
        if not job.done:
            self._ray.cancel(job.ref, force=True)
            job.timed_out = True

    def wait(self, jobs: list[Job], timeout: float) -> list[Job]:
        """Like ``_bounded.wait``: the jobs that ended within ``timeout`` (or passed
        their limit and were stopped)."""
        ended = [job for job in jobs if job.done]
        running = [job for job in jobs if not job.done]
        if ended or not running:
            return ended
        until = min(time.monotonic() + timeout, *(job.deadline for job in running))
        by_ref = {job.ref: job for job in running}
        ready, _ = self._ray.wait(
            list(by_ref), num_returns=1, timeout=max(0.0, until - time.monotonic())
        )
        for ref in ready:
            job = by_ref[ref]
            try:
                job.answer = (True, self._ray.get(ref))
            except Exception as exc:  # the task's error, as a forked iteration reports it
                cause = getattr(exc, "cause", None) or exc
                job.answer = (False, f"{type(cause).__name__}: {cause}")
            ended.append(job)
        now = time.monotonic()
        for job in running:
            if not job.done and now >= job.deadline:
                self.kill(job)
                ended.append(job)
        return ended

    def close(self) -> None:
        if self._joined:
            self._ray.shutdown()
