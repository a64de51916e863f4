"""Starting a sweep's controller: a detached process per sweep (it outlives the caller).

Both ``Experiment.submit(HyperDriveConfig)`` and the pipeline runner (for a
HyperDriveStep) start one here, and the trials' supervisors wake it here when a trial
ends. The controller's code sits in the SDK, the sweep's domain
(:mod:`atelier.sdk.sweeps._controller_process`); it is started by module name (forked by
the home's warm agent, which imports it then, or in a fresh interpreter), so nothing here
imports it.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import time
from pathlib import Path

from atelier.client.backend import Backend
from atelier.execution.agent import hand_over


def start_controller(backend: Backend, workspace: str, run_id: str) -> None:
    """Start the sweep's controller in a detached process. A second controller for the
    same sweep exits at once (it cannot take the sweep's lock), so this is safe to repeat."""
    env = {**os.environ, **backend.child_environment()}
    payload = {"workspace": workspace, "run_id": run_id, "env": env, "kind": "sweep"}
    hand_over(Path(env["ATELIER_HOME"]), payload, env)


def _wake_address(run_id: str) -> str:
    # the abstract namespace (Linux): no file to leave behind, no path length to mind
    return f"\0atelier-sweep-{os.getuid()}-{run_id}"


class Waker:
    """What a sweep's controller waits on between passes: a trial's supervisor, once the
    trial has ended, wakes it at once (:func:`wake_controller`) instead of leaving it to
    notice at its next poll. Where the system has no abstract sockets it just sleeps."""

    def __init__(self, run_id: str) -> None:
        self.sock: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.bind(_wake_address(run_id))
        except OSError:  # not Linux, or another controller of this sweep holds it
            self.sock.close()
            self.sock = None

    def wait(self, seconds: float) -> None:
        if self.sock is None:
            time.sleep(seconds)
            return
        if select.select([self.sock], [], [], seconds)[0]:
            with contextlib.suppress(OSError):
                while True:  # every wake-up that came meanwhile counts as one
                    self.sock.recv(64, socket.MSG_DONTWAIT)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


def wake_controller(run_id: str) -> None:
    """Tell the sweep ``run_id``'s controller (if one listens here) that a trial ended."""
    with (
        contextlib.suppress(OSError),
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock,
    ):
        sock.sendto(b"1", _wake_address(run_id))
