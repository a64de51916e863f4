"""Running one AutoML iteration under a wall-time limit.

A scikit-learn fit cannot be interrupted inside the process, so each iteration is computed
in a forked child that sends its result back through a pipe; at the limit the child is
killed. That keeps the experiment's budget (and ``iteration_timeout_minutes``) as wall
time. The child starts from a copy of this process (the featurized data is shared, not
sent) and runs on ``threads`` threads; where ``fork`` does not exist the iteration runs
here, unbounded.
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
from typing import Any

__all__ = ["TimedOut", "run_bounded"]


class TimedOut(Exception):  # noqa: N818 - an outcome, not an error the user meets
    """The iteration was still running at its limit and was stopped."""


def _child(work: Callable[[], Any], write_end: int) -> None:
    try:
        payload = pickle.dumps((True, work()))
    except BaseException as exc:  # the parent re-raises it as the iteration's failure
        payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
    with contextlib.suppress(OSError), os.fdopen(write_end, "wb") as pipe:
        pipe.write(payload)
    os._exit(0)


def _read(read_end: int, deadline: float, seconds: float) -> list[bytes]:
    """Everything the child writes, until it closes the pipe; ``TimedOut`` at the deadline."""
    chunks: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        selector.register(read_end, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimedOut(f"stopped after {seconds:.1f} s")
            if not selector.select(timeout=left):
                continue
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                return chunks
            chunks.append(chunk)


def run_bounded(work: Callable[[], Any], seconds: float) -> Any:
    """``work()``'s result, computed in a child process stopped after ``seconds``.
    Raises ``TimedOut`` at the limit, ``RuntimeError`` with the child's error otherwise."""
    if not hasattr(os, "fork"):
        return work()
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        _child(work, write_end)
    os.close(write_end)
    try:
        chunks = _read(read_end, time.monotonic() + max(seconds, 0.0), seconds)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(read_end)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    if not chunks:
        raise RuntimeError("the iteration's process ended without a result")
    ok, value = pickle.loads(b"".join(chunks))  # our own child's answer
    if not ok:
        raise RuntimeError(value)
    return value
