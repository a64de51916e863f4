"""Running AutoML iterations under a wall-time limit, several at once.

A scikit-learn fit cannot be interrupted inside the process, so each iteration is computed
in a forked child that sends its result back through a pipe; at its limit the child is
killed. That keeps the experiment's budget (and ``iteration_timeout_minutes``) as wall
time, and lets ``max_concurrent_iterations`` children run side by side. A child starts
from a copy of this process (the featurized data is shared, not sent). Where ``fork`` does
not exist, the iteration runs here, unbounded.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Job", "TimedOut", "kill", "result", "spawn", "wait"]


class TimedOut(Exception):  # noqa: N818 - an outcome, not an error the user meets
    """The iteration was still running at its limit and was stopped."""


@dataclass
class Job:
    """One iteration being computed: its child process, or its answer once known."""

    tag: Any
    seconds: float
    deadline: float
    pid: int = 0
    fd: int = -1
    chunks: list[bytes] = field(default_factory=list)
    answer: tuple[bool, Any] | None = None
    timed_out: bool = False
    #: the Ray task computing it, on a Ray target (``_rayjobs``)
    ref: Any = None

    @property
    def done(self) -> bool:
        return self.answer is not None or self.timed_out


def _child(work: Callable[[], Any], write_end: int) -> None:
    try:
        payload = pickle.dumps((True, work()))
    except BaseException as exc:  # the parent raises it as the iteration's failure
        payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
    with contextlib.suppress(OSError), os.fdopen(write_end, "wb") as pipe:
        pipe.write(payload)
    os._exit(0)


def spawn(work: Callable[[], Any], seconds: float, tag: Any = None) -> Job:
    """Start computing ``work()`` in a child process that may run ``seconds``."""
    job = Job(tag, seconds, time.monotonic() + max(seconds, 0.0))
    if not hasattr(os, "fork"):
        try:
            job.answer = (True, work())
        except Exception as exc:
            job.answer = (False, f"{type(exc).__name__}: {exc}")
        return job
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        _child(work, write_end)
    os.close(write_end)
    job.pid, job.fd = pid, read_end
    return job


def _close(job: Job) -> None:
    if job.fd >= 0:
        os.close(job.fd)
        job.fd = -1
    if job.pid:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(job.pid, 0)
        job.pid = 0


def kill(job: Job) -> None:
    """Stop the job's child now (it counts as timed out)."""
    if job.pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(job.pid, signal.SIGKILL)
    if not job.done:
        job.timed_out = True
    _close(job)


def _finish(job: Job) -> None:
    data = b"".join(job.chunks)
    job.chunks = []
    _close(job)
    # our own child's answer, through our own pipe
    job.answer = pickle.loads(data) if data else (False, "the iteration's process died")


def wait(jobs: list[Job], timeout: float) -> list[Job]:
    """Wait up to ``timeout`` seconds for any of ``jobs`` to end (answered, or past its
    limit and killed); the ones that ended."""
    ended = [job for job in jobs if job.done]
    running = [job for job in jobs if not job.done]
    if ended or not running:
        return ended
    until = min(time.monotonic() + timeout, *(job.deadline for job in running))
    with selectors.DefaultSelector() as selector:
        for job in running:
            selector.register(job.fd, selectors.EVENT_READ, job)
        while not ended:
            left = until - time.monotonic()
            if left <= 0:
                break
            for key, _ in selector.select(timeout=left):
                job = key.data
                chunk = os.read(job.fd, 1 << 20)
                if chunk:
                    job.chunks.append(chunk)
                    continue
                selector.unregister(job.fd)
                _finish(job)
                ended.append(job)
    now = time.monotonic()
    for job in running:
        if not job.done and now >= job.deadline:
            kill(job)
            ended.append(job)
    return ended


def result(job: Job) -> Any:
    """The job's value; ``TimedOut`` if it was stopped, ``RuntimeError`` if it failed."""
    if job.timed_out:
        raise TimedOut(f"stopped after {job.seconds:.1f} s")
    if job.answer is None:
        raise RuntimeError("the iteration has not ended")
    ok, value = job.answer
    if not ok:
        raise RuntimeError(value)
    return value
