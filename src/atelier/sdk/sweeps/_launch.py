"""Starting a sweep's controller, and telling whether one is driving a sweep now.

A controller holds an exclusive lock on ``<home>/sweeps/<run id>.lock`` for as long as it
lives, so the lock being free means no controller is driving that sweep on this host (it
ended, or was killed): starting one then resumes the sweep where it stopped.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

from atelier.client.backend import Backend
from atelier.execution.sweep_start import start_controller

__all__ = ["acquire", "controller_alive", "home_of", "lock_path", "start_controller"]


def lock_path(home: Path, run_id: str) -> Path:
    folder = home / "sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{run_id}.lock"


def home_of(backend: Backend) -> Path:
    return Path(backend.child_environment()["ATELIER_HOME"])


def acquire(home: Path, run_id: str) -> IO[str] | None:
    """The controller's lock for the sweep, or None if another controller holds it."""
    handle = lock_path(home, run_id).open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def controller_alive(backend: Backend, run_id: str) -> bool:
    """True while a controller on this host drives the sweep."""
    handle = acquire(home_of(backend), run_id)
    if handle is None:
        return True
    handle.close()
    return False
