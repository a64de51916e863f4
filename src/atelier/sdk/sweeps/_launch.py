"""Starting a sweep's controller, and telling whether one is driving a sweep now.

A controller holds an exclusive lock on ``<home>/sweeps/<run id>.lock`` for as long as it
lives, so the lock being free means no controller is driving that sweep on this host (it
ended, or was killed): starting one then resumes the sweep where it stopped.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from atelier.client.backend import Backend
from atelier.execution.sweep_start import start_controller

__all__ = [
    "acquire",
    "controller_alive",
    "controller_pid",
    "home_of",
    "lock_path",
    "start_controller",
]


def lock_path(home: Path, run_id: str) -> Path:
    folder = home / "sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{run_id}.lock"


def home_of(backend: Backend) -> Path:
    return Path(backend.child_environment()["ATELIER_HOME"])


def acquire(home: Path, run_id: str) -> IO[str] | None:
    """The controller's lock for the sweep, or None if another controller holds it. The
    lock file then holds the holder's pid (:func:`controller_pid`)."""
    handle = lock_path(home, run_id).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def controller_pid(backend: Backend, run_id: str) -> int | None:
    """The pid of the process driving the sweep on this host (a controller may be a fork
    of the home's agent, named like it), or None when none does."""
    if not controller_alive(backend, run_id):
        return None
    try:
        return int(lock_path(home_of(backend), run_id).read_text() or 0) or None
    except (OSError, ValueError):
        return None


def controller_alive(backend: Backend, run_id: str) -> bool:
    """True while a controller on this host drives the sweep."""
    handle = lock_path(home_of(backend), run_id).open("a")
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False
