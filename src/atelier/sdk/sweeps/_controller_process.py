"""The sweep controller's process (``python -m atelier.sdk.sweeps._controller_process``, or
forked by the home's agent: :data:`atelier.execution.agent.ENTRY_MODULES`): it takes the
sweep's lock and drives the sweep (:class:`._controller.Controller`) until it ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from atelier.client.registry import backend_for
from atelier.core.status import RunStatus
from atelier.execution.agent import enter_fork
from atelier.sdk.sweeps import _launch
from atelier.sdk.sweeps._controller import Controller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Drive one Atelier sweep.")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args(argv)
    return _drive_sweep(args.workspace, args.run_id)


def run_forked(workspace: str, run_id: str, env: dict[str, str]) -> int:
    """The controller in a process forked by the home's agent
    (:mod:`atelier.execution.agent_process`): take the submitter's variables, leave the
    agent's standard streams, drive the sweep."""
    enter_fork(env)
    try:
        return _drive_sweep(workspace, run_id)
    except BaseException:
        return 1


def _drive_sweep(workspace: str, run_id: str) -> int:
    backend = backend_for(os.environ.get("ATELIER_TRACKING_URI"))
    lock = _launch.acquire(_launch.home_of(backend), run_id)
    if lock is None:
        return 0  # another controller drives this sweep
    try:
        controller = Controller(backend, workspace, run_id)
        controller.drive()
    except Exception as exc:  # the sweep must end truthfully
        with contextlib.suppress(Exception):
            backend.runs.transition(
                workspace,
                run_id,
                RunStatus.FAILED,
                {"code": "SweepControllerError", "message": f"{type(exc).__name__}: {exc}"},
            )
        raise
    finally:
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
